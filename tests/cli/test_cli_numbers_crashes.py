"""Issue 11 item 8: inputs that used to crash the command line, each fed for real."""

import copy
import json

import geopandas as gpd
import pyogrio
import pytest

from coverage_app.cli import main
from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project, save_project
from coverage_app.core.errors import InputError

FAST = ["--cell-size", "2000", "--quiet"]


@pytest.mark.parametrize("fmt", ["shp", "both"])
def test_safe_share_with_shapefiles_writes_short_field_names(tmp_path, capsys, fmt):
    out = tmp_path / "out"
    assert main(["analyse", "--out", str(out), "--safe-share", "--format", fmt, *FAST]) == 0
    assert "unexpected failure" not in capsys.readouterr().err
    info = pyogrio.read_info(out / "facilities.shp")
    fields = list(info["fields"])
    assert all(len(f) <= 10 for f in fields), fields
    assert {"n_fac", "n_sec", "n_prim_onl"} <= set(fields)
    assert "name" not in fields and "fac_id" not in fields  # still generalised
    shp = gpd.read_file(out / "facilities.shp")
    assert shp["n_fac"].sum() == 141  # every bundled facility counted once
    if fmt == "both":  # the GeoPackage keeps the long names
        gpkg = gpd.read_file(out / "coverage.gpkg", layer="facilities")
        assert gpkg["n_facilities"].sum() == 141


def _project_with_villages(tmp_path, bundled_project_path, villages_path):
    project = load_project(bundled_project_path)
    ref = project.layers_of("villages")[0]
    ref.path, ref.layer, ref.mapping = str(villages_path), None, {}
    return save_project(project, tmp_path / "p.covproj")


def test_villages_shapefile_with_cut_township_name(tmp_path, capsys, bundled_gpkg, bundled_project_path):
    v = gpd.read_file(bundled_gpkg, layer="villages")
    v.to_file(tmp_path / "villages.shp", engine="pyogrio")  # township_pcode -> township_p
    assert "township_p" in pyogrio.read_info(tmp_path / "villages.shp")["fields"]
    project = _project_with_villages(tmp_path, bundled_project_path, tmp_path / "villages.shp")
    out = tmp_path / "out"
    assert main(["analyse", str(project), "--out", str(out), "--format", "gpkg", *FAST]) == 0
    assert "unexpected failure" not in capsys.readouterr().err
    vil = gpd.read_file(out / "coverage.gpkg", layer="villages")
    assert (vil["ts_pcode"].to_numpy() == v["township_pcode"].to_numpy()).all()  # the cut name was mapped
    assert vil["pop"].sum() == pytest.approx(v["pop_est_2014"].sum(), abs=len(v))


def test_villages_without_township_field_are_placed_by_location(tmp_path, capsys, bundled_gpkg,
                                                                bundled_project_path):
    v = gpd.read_file(bundled_gpkg, layer="villages").drop(columns=["township_pcode"])
    v.to_file(tmp_path / "villages.gpkg", engine="pyogrio")
    project = _project_with_villages(tmp_path, bundled_project_path, tmp_path / "villages.gpkg")
    out = tmp_path / "out"
    assert main(["analyse", str(project), "--out", str(out), "--format", "gpkg", *FAST]) == 0
    assert "unexpected failure" not in capsys.readouterr().err
    vil = gpd.read_file(out / "coverage.gpkg", layer="villages")
    truth = gpd.read_file(bundled_gpkg, layer="villages")["township_pcode"]
    assert vil["ts_pcode"].notna().mean() > 0.99
    assert (vil["ts_pcode"] == truth).mean() > 0.98  # the township each lies in


def test_two_facility_layers_sharing_ids(tmp_path, capsys, bundled_project_path):
    project = load_project(bundled_project_path)
    twin = copy.deepcopy(project.layers_of("facilities")[0])
    twin.name = "Facilities (copy)"
    project.layers.append(twin)
    path = save_project(project, tmp_path / "twin.covproj")
    assert main(["analyse", str(path), "--out", str(tmp_path / "o"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "unexpected failure" not in err
    assert "layer Health facilities" in err and "layer Facilities (copy)" in err
    assert "MMR005001-H01" in err and "141 facility ids" in err
    with pytest.raises(InputError):
        run_analysis(load_project_data(load_project(path)), project.params.replace(cell_size_m=3000))
