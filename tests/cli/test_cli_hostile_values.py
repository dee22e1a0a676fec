"""Hostile inputs through the command line that used to end in "unexpected failure" (exit 1) or
wrote a broken file: each now exits 2 with a message naming the flag, file or field."""

import json

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from tests.cli.test_cli_hostile import cli  # noqa: F401  (the fixture: runs the CLI, never a crash)


def _bundled_with(tmp_path, bundled_project_path, change):
    """A copy of the bundled project (its layers by absolute path) with ``change(dict)`` applied."""
    data = json.loads(bundled_project_path.read_text(encoding="utf-8"))
    for ref in data["layers"]:
        ref["path"] = str(bundled_project_path.parent / ref["path"])
    change(data)
    path = tmp_path / "p.covproj"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _landcover(data):
    return next(ref for ref in data["layers"] if ref["role"] == "landcover")


@pytest.mark.parametrize("change, message", [
    (lambda d: _landcover(d)["options"].update(classes="water", enabled=True),
     "'layers[10].options.classes' must be an object"),
    (lambda d: _landcover(d)["options"].update(classes={"1.5": "water"}, enabled=True), "not '1.5'"),
    (lambda d: d.update(status_ledger=[{"path": 3, "date": "x"}]), "'status_ledger[0].fac_id'"),
    (lambda d: d["analysis"]["speeds_kmh"]["walking"].update(off_road=None), "speeds_kmh.walking.off_road"),
    (lambda d: d.update(scenarios=[{"name": "s", "edits": [{"type": "add_zone", "zone_id": "Z"}]}]),
     "scenario edit (add_zone Z): 'wkt' must be the zone's polygon"),
    (lambda d: d.update(scenarios=[{"name": "s", "edits": [{"type": "add_facility", "fac_id": "N", "name": "n",
                                                             "lon": "abc", "lat": 22}]}]),
     "'lon' must be a longitude in Myanmar"),
])
def test_analyse_on_a_damaged_project(tmp_path, cli, bundled_project_path, change, message):
    project = _bundled_with(tmp_path, bundled_project_path, change)
    scenario = ["--scenario", "s"] if json.loads(project.read_text(encoding="utf-8"))["scenarios"] else []
    code, text = cli("analyse", project, "--out", tmp_path / "o", "--cell-size", "3000", "--quiet",
                     "--format", "gpkg", *scenario)
    assert code == 2 and message in text, text
    assert not (tmp_path / "o" / "run.json").exists()


def _tif(path, data, crs="EPSG:4326"):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype="float32", crs=crs, transform=from_origin(94.0, 24.5, 0.01, 0.01)) as dst:
        dst.write(data.astype("float32"), 1)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda p: _tif(p, np.full((300, 300), 5.0), crs=None), "the speed raster has no CRS"),
    (lambda p: _tif(p, np.full((300, 300), np.nan)), "has no cell with a finite speed above 0"),
])
def test_unusable_speed_raster(tmp_path, cli, make, message):
    code, text = cli("analyse", "--speed-raster", make(tmp_path / "speed.tif"), "--out", tmp_path / "o",
                     "--cell-size", "3000", "--quiet", "--format", "gpkg")
    assert code == 2 and message in text, text
    assert not list(tmp_path.glob(".o.rasters-*")) and not (tmp_path / "o").exists()  # nothing left of the run


@pytest.mark.parametrize("argv, message", [
    (["analyse", "--people-per-bed", "nan", "--out", "{tmp}/o"], "People served per bed must be a finite number"),
    (["sites", "--spacing", "nan", "--candidates", "grid", "--out", "{tmp}/s.gpkg"],
     "grid candidate spacing must be a positive number of metres"),
    (["brief", "--dpi", "0", "--out", "{tmp}/b.png"], "--dpi) must be a whole number from 50 to 600"),
    (["brief", "--dpi", "100000", "--out", "{tmp}/b.png"], "not 100000"),
    (["sweep", "{tmp}", "--out", "{tmp}/sw", "--serial"], "the sweep spec cannot be used: it is a folder"),
])
def test_bad_flags_are_refused_before_any_work(tmp_path, cli, argv, message):
    code, text = cli(*[a.replace("{tmp}", str(tmp_path)) for a in argv], "--quiet")
    assert code == 2 and message in text, text


def test_validate_a_raster_as_facilities(tmp_path, cli, bundled_project_path):
    tif = bundled_project_path.parent / "landcover_sentinel2_sample.tif"
    code, text = cli("validate", tif, "--role", "facilities")
    assert code == 2 and "a facilities layer must be a vector layer" in text and "usable" not in text


def test_validate_checks_the_scenario_edits(tmp_path, cli, bundled_project_path):
    edits = [{"type": "add_facility", "fac_id": "N1", "name": "New", "lon": 95.5, "lat": 22.5},
             {"type": "set_status", "fac_id": "N1", "status": "closed"},  # the facility added just before
             {"type": "set_status", "fac_id": "NOPE", "status": "closed"}]
    project = _bundled_with(tmp_path, bundled_project_path, lambda d: d.update(scenarios=[{"name": "s", "edits": edits}]))
    code, text = cli("validate", project)
    assert code == 2 and "scenario 's', edit 3: scenario edit: no facility with id 'NOPE'" in text, text
    assert "edit 1" not in text and "edit 2" not in text and "ok:" not in text


def test_convert_zawgyi_output_checks_and_a_complete_shapefile(tmp_path, cli):
    src = tmp_path / "v.gpkg"
    gpd.GeoDataFrame({"pcode": ["V1"], "name_en": ["Nay Kyar"], "name_my": ["ေနၾကာ"]},
                     geometry=[shapely.Point(95, 22)], crs=4326).to_file(src)
    code, text = cli("convert-zawgyi", src, "--out", tmp_path / "fixed.gpkg", "--field", "nope")
    assert code == 2 and "no field 'nope' in the layer; its text fields are: pcode, name_en, name_my" in text
    code, text = cli("convert-zawgyi", src, "--out", tmp_path / "fixed.xyz")
    assert code == 2 and "--out must end in .gpkg, .shp, .geojson or .json" in text
    assert not (tmp_path / "fixed.xyz").exists()
    code, text = cli("convert-zawgyi", src, "--out", tmp_path / "fixed.shp")
    shp = tmp_path / "fixed" / "fixed.shp"  # with its .shx and .dbf, in a folder as `sites` writes them
    assert code == 0 and str(shp) in text
    assert pyogrio.read_dataframe(shp)["name_my"].iloc[0] == "နေကြာ"
