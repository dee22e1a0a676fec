"""Issue 12, classes 4-6 through the core API: bad values, silent wrong data, hangs and paths.

Every bad file is written by the test into tmp_path; each case asserts the message names
the field / file / rows and what is wrong.
"""

import datetime as dt
import json
import math
import os
import shutil

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from coverage_app.core.data.layers import check_file, inspect_raster, load_layer, read_vector, shapefile_encoding
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import ProjectError, load_project
from coverage_app.core.errors import InputError, errors_of
from coverage_app.core.params import AnalysisParams


def _project(tmp_path, body: dict | str, name="p.covproj", bom=False):
    path = tmp_path / name
    text = body if isinstance(body, str) else json.dumps(body)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def _base(**extra):
    return {"format": "coverage-app-project", "version": 1, "name": "t", "layers": []} | extra


def _facilities(path, n=3, **cols):
    data = {"fac_id": [f"F{i}" for i in range(n)], "name": [f"Clinic {i}" for i in range(n)],
            "level": ["rhc"] * n, "provides_primary": [True] * n, "provides_secondary": [False] * n} | cols
    gdf = gpd.GeoDataFrame(data, geometry=[shapely.Point(95.0 + i * 0.1, 22.0) for i in range(n)], crs=4326)
    gdf.to_file(path, engine="pyogrio")
    return path


# ----------------------------------------------------------------------------- 4. values

@pytest.mark.parametrize("changes, field", [
    ({"cell_size_m": float("nan")}, "cell_size_m"),
    ({"cell_size_m": float("inf")}, "cell_size_m"),
    ({"cell_size_m": 1e-9}, "cell_size_m"),
    ({"cell_size_m": 5.0}, "cell_size_m"),           # below the documented 10 m minimum
    ({"primary_minutes": float("nan")}, "primary_minutes"),
    ({"secondary_minutes": -5.0}, "secondary_minutes"),
    ({"band_minutes": ()}, "band_minutes"),
    ({"band_minutes": (30.0, float("nan"))}, "band_minutes"),
    ({"max_minutes": float("inf")}, "max_minutes"),
    ({"speeds_kmh": {"walking": {"main": -4.0}}}, "speeds_kmh.walking.main"),
    ({"speeds_kmh": {"walking": {"main": float("nan")}}}, "speeds_kmh.walking.main"),
    ({"neighbours": 7}, "neighbours"),
])
def test_bad_parameters_are_refused_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        AnalysisParams(**changes)


def test_cell_size_message_states_the_documented_minimum():
    with pytest.raises(ValueError, match=r"between 10 and 5000 metres.*documented minimum is 10 m"):
        AnalysisParams(cell_size_m=2.0)


@pytest.mark.parametrize("analysis, field", [
    ({"cell_size_m": "fine"}, "cell_size_m"),
    ({"primary_minutes": [60]}, "primary_minutes"),
    ({"band_minutes": "30,60"}, "band_minutes"),
    ({"band_minutes": []}, "band_minutes"),
    ({"as_of": "next week"}, "as_of"),
    ({"speeds_kmh": {"walking": 5}}, "speeds_kmh"),
    ({"speeds_kmh": {"car": {"main": "fast"}}}, "speeds_kmh.car.main"),
])
def test_wrong_types_in_project_analysis_name_the_field(tmp_path, analysis, field):
    path = _project(tmp_path, _base(analysis=analysis))
    with pytest.raises(ProjectError, match=field.replace(".", r"\.")) as err:
        load_project(path)
    assert "left untouched" in str(err.value)


@pytest.mark.parametrize("extra, field", [
    ({"layers": "sagaing.gpkg"}, "'layers' must be a list"),
    ({"layers": [{"path": 3, "role": "villages"}]}, "layers[0].path"),
    ({"layers": [{"path": "x.gpkg"}]}, "layers[0].role"),
    ({"layers": [{"path": "x.gpkg", "role": "villages", "mapping": ["pop"]}]}, "layers[0].mapping"),
    ({"scenarios": [{"name": "s", "as_of": "soon"}]}, "scenarios[0].as_of"),
    ({"scenarios": [{"name": "s", "edits": [{"type": "close", "date": "31/02/2024"}]}]},
     "scenarios[0].edits[0].date"),
    ({"scenarios": {"name": "s"}}, "'scenarios' must be a list"),
    ({"landcover_speeds_kmh": {"forest": -1}}, "landcover_speeds_kmh.forest"),
    ({"credits": "me"}, "'credits' must be a list"),
])
def test_wrong_values_in_project_json_name_the_field(tmp_path, extra, field):
    path = _project(tmp_path, _base(**extra))
    with pytest.raises(ProjectError) as err:
        load_project(path)
    assert field in str(err.value)


def test_deeply_nested_project_json(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    path = _project(tmp_path, '{"format": "coverage-app-project", "version": 1, "credits": ' + deep + "}")
    with pytest.raises(ProjectError, match="nested too deeply|nested more than"):
        load_project(path)
    medium = {"format": "coverage-app-project", "version": 1, "scenarios": []}
    node = medium["scenarios"]
    for _ in range(60):
        node.append([])
        node = node[0]
    with pytest.raises(ProjectError, match="nested more than 32 levels"):
        load_project(_project(tmp_path, medium, "m.covproj"))


@pytest.mark.parametrize("population", ["inf", "1e12"])
def test_infinite_or_huge_population_is_refused(tmp_path, population):
    csv = tmp_path / "villages.csv"
    csv.write_text(f"pcode,name_en,pop,lon,lat\nV1,A,100,95.1,22.1\nV2,B,{population},95.2,22.2\n")
    layer = load_layer(csv, "villages", strict=False)
    errors = errors_of(layer.problems)
    assert errors and errors[0].field == "pop" and errors[0].rows == (3,)  # file line 3
    assert "finite" in errors[0].message or "more than all of Myanmar" in errors[0].message


# ----------------------------------------------------------------------------- 5. silent wrong data

def _shapefile(folder, names, encoding, ldid=0):
    folder.mkdir()
    gdf = gpd.GeoDataFrame({"fac_id": ["A", "B"], "name": names}, geometry=[shapely.Point(95, 22)] * 2, crs=4326)
    gdf.to_file(folder / "f.shp", engine="pyogrio", encoding=encoding)
    (folder / "f.cpg").unlink(missing_ok=True)
    dbf = bytearray((folder / "f.dbf").read_bytes())
    dbf[29] = ldid
    (folder / "f.dbf").write_bytes(bytes(dbf))
    return folder / "f.shp"


def test_shapefile_without_cpg_utf8_burmese_is_read_as_utf8(tmp_path):
    shp = _shapefile(tmp_path / "u", ["ဆေးရုံ", "Café"], "UTF-8")
    assert shapefile_encoding(shp) == ("UTF-8", [])
    assert list(read_vector(shp)["name"]) == ["ဆေးရုံ", "Café"]


def test_shapefile_without_cpg_uses_the_dbf_language_id(tmp_path):
    shp = _shapefile(tmp_path / "l", ["Mandalay", "Café"], "cp1252", ldid=0x57)
    assert shapefile_encoding(shp) == ("cp1252", [])
    assert list(read_vector(shp)["name"]) == ["Mandalay", "Café"]


def test_shapefile_without_cpg_or_language_id_warns(tmp_path):
    shp = _shapefile(tmp_path / "n", ["Mandalay", "Café"], "cp1252", ldid=0)
    gdf = read_vector(shp)
    assert list(gdf["name"]) == ["Mandalay", "Café"]
    [warning] = gdf.attrs["read_problems"]
    assert warning.severity == "warning" and "no .cpg" in warning.message and "Windows-1252" in warning.message


def test_null_geometries_are_counted_by_row(tmp_path):
    path = tmp_path / "fac.gpkg"
    gdf = gpd.GeoDataFrame({"fac_id": ["A", "B", "C", "D"], "name": list("abcd"), "level": ["rhc"] * 4},
                           geometry=[shapely.Point(95, 22), None, shapely.Point(95.1, 22), None], crs=4326)
    gdf.to_file(path, engine="pyogrio")
    layer = load_layer(path, "facilities")
    assert len(layer.data) == 2
    [p] = [p for p in layer.problems if "no geometry" in p.message]
    assert p.rows == (2, 4) and p.message.startswith("2 feature(s)")


@pytest.mark.parametrize("dates, expected, note", [
    (["01/02/2022", "31/12/2021"], [dt.date(2022, 2, 1), dt.date(2021, 12, 31)], None),
    (["02/01/2022", "12/31/2021"], [dt.date(2022, 2, 1), dt.date(2021, 12, 31)], None),
    (["01/02/2022", "03/04/2022"], [dt.date(2022, 2, 1), dt.date(2022, 4, 3)], "ambiguous dates"),
    (["2022", "2023-06-30"], [dt.date(2022, 1, 1), dt.date(2023, 6, 30)], "only a year"),
    # ISO dates whose day is 12 or less keep their order (dateutil's dayfirst would swap them)
    (["2025-06-01", "2020-01-02"], [dt.date(2025, 6, 1), dt.date(2020, 1, 2)], None),
])
def test_dates_one_order_per_column(tmp_path, dates, expected, note):
    csv = tmp_path / "f.csv"
    csv.write_text("fac_id,name,level,status_date,lon,lat\n" +
                   "".join(f"F{i},C{i},rhc,{d},95.{i},22.0\n" for i, d in enumerate(dates)))
    layer = load_layer(csv, "facilities")
    assert list(layer.data["status_date"]) == expected
    notes = [p for p in layer.problems if p.field == "status_date"]
    if note is None:
        assert notes == []
    else:
        assert [p.severity for p in notes] == ["warning"] and note in notes[0].message


def test_dates_in_two_orders_in_one_column_are_an_error(tmp_path):
    csv = tmp_path / "f.csv"
    csv.write_text("fac_id,name,level,status_date,lon,lat\nA,a,rhc,31/12/2021,95.1,22\nB,b,rhc,12/31/2021,95.2,22\n")
    layer = load_layer(csv, "facilities", strict=False)
    [err] = errors_of(layer.problems)
    assert err.field == "status_date" and "two orders" in err.message and err.rows == (2, 3)  # file lines


def test_villages_population_field_is_guessed_or_reported(tmp_path):
    csv = tmp_path / "v.csv"
    csv.write_text("pcode,name_en,pop_est_2014,lon,lat\nV1,A,120,95.1,22.1\n")
    layer = load_layer(csv, "villages")
    assert layer.mapping["population"] == "pop_est_2014" and layer.data["population"].iloc[0] == 120
    csv.write_text("pcode,name_en,households,lon,lat\nV1,A,12,95.1,22.1\n")
    layer = load_layer(csv, "villages")
    [p] = [p for p in layer.problems if p.field == "population"]
    assert p.severity == "warning" and "no population field was found" in p.message and "households" in p.message


def _dem(path, west=95.0, north=23.0, value=None, truncate=False):
    prof = dict(driver="GTiff", width=300, height=300, count=1, dtype="float32", crs="EPSG:4326", nodata=-9999,
                transform=from_origin(west, north, 0.01, 0.01), tiled=True, blockxsize=64, blockysize=64,
                compress="deflate")
    data = np.full((300, 300), -9999, "float32") if value == "nodata" else \
        np.random.default_rng(1).random((300, 300), dtype="float32") * 800
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data, 1)
    if truncate:
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) * 2 // 3])
    return path


def test_dem_checks_in_validate(tmp_path):
    [(_, _, ok)] = check_file(_dem(tmp_path / "ok.tif"), role="dem")
    assert ok == []
    [(_, _, nodata)] = check_file(_dem(tmp_path / "nd.tif", value="nodata"), role="dem")
    assert [p.severity for p in nodata] == ["warning"] and "every cell of the raster is nodata" in nodata[0].message
    [(_, _, off)] = check_file(_dem(tmp_path / "off.tif", west=10.0, north=50.0), role="dem")
    assert "does not overlap Myanmar" in off[0].message
    [(_, _, cut)] = check_file(_dem(tmp_path / "cut.tif", truncate=True), role="dem")
    assert errors_of(cut) and "damaged or truncated" in cut[0].message


def test_dem_off_the_study_area_is_warned_when_the_project_loads(tmp_path):
    fac = _facilities(tmp_path / "fac.gpkg")
    dem = _dem(tmp_path / "dem.tif", west=100.0, north=28.0)
    path = _project(tmp_path, _base(layers=[{"path": "fac.gpkg", "role": "facilities"},
                                            {"path": "v.csv", "role": "villages"},
                                            {"path": "dem.tif", "role": "dem"}]))
    (tmp_path / "v.csv").write_text("pcode,name_en,pop,lon,lat\nV1,A,10,95.05,22.05\nV2,B,10,95.2,22.1\n")
    data = load_project_data(load_project(path))
    [p] = [p for p in data.problems if "does not overlap the study area" in p.message]
    assert p.severity == "warning" and p.file == "dem.tif" and fac.exists() and dem.exists()


# ----------------------------------------------------------------------------- 6. hangs and paths

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
@pytest.mark.parametrize("name", ["layer.gpkg", "layer.shp", "dem.tif", "v.csv"])
def test_fifo_is_refused_without_hanging(tmp_path, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    [(_, _, problems)] = check_file(fifo)
    assert "FIFO" in problems[0].message and "not a regular file" in problems[0].message
    if name.endswith(".tif"):
        info, problems = inspect_raster(fifo)
        assert info is None and "FIFO" in problems[0].message
    else:
        with pytest.raises(InputError, match="FIFO"):
            read_vector(fifo)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_fifo_as_a_shapefile_sidecar_is_refused(tmp_path):
    _facilities(tmp_path / "f.shp")
    (tmp_path / "f.dbf").unlink()
    os.mkfifo(tmp_path / "f.dbf")
    with pytest.raises(InputError, match="FIFO"):
        read_vector(tmp_path / "f.shp")


def test_windows_paths_fall_back_to_the_file_beside_the_project(tmp_path):
    _facilities(tmp_path / "fac.gpkg")
    path = _project(tmp_path, _base(layers=[
        {"path": "C:\\Users\\aung\\Documents\\coverage\\fac.gpkg", "role": "facilities", "name": "Facilities"},
        {"path": "data\\sub\\fac.gpkg", "role": "facilities", "name": "Relative"}]))
    project = load_project(path)
    assert [ref.path for ref in project.layers] == [str(tmp_path / "fac.gpkg")] * 2
    data = load_project_data(project)
    assert set(data.layers) == {"Facilities", "Relative"}
    notes = [p for p in data.problems if "beside the project" in p.message]
    assert len(notes) == 2 and "C:\\Users\\aung\\Documents\\coverage\\fac.gpkg" in notes[0].message


def test_file_not_found_shows_the_path_as_written(tmp_path):
    path = _project(tmp_path, _base(layers=[{"path": "../elsewhere/data/fac.gpkg", "role": "facilities"},
                                            {"path": "D:\\gis\\dem.tif", "role": "dem"}]))
    data = load_project_data(load_project(path))
    messages = [p.message for p in errors_of(data.problems)]
    assert any("file not found: ../elsewhere/data/fac.gpkg" in m and "looked for" in m for m in messages)
    assert any("file not found: D:\\gis\\dem.tif" in m for m in messages)


def test_utf8_bom_project_opens(tmp_path):
    _facilities(tmp_path / "fac.gpkg")
    path = _project(tmp_path, _base(layers=[{"path": "fac.gpkg", "role": "facilities"}]), bom=True)
    assert load_project(path).layers[0].role == "facilities"


@pytest.mark.parametrize("version, message", [
    ("1", None),
    ("one", "'version' must be a whole number such as 1, not 'one'"),
    (1.5, "'version' must be a whole number"),
    (None, "'version' must be a whole number"),
    (7, "written by a newer version of the app (project format 7"),
])
def test_version_values(tmp_path, version, message):
    path = _project(tmp_path, _base(version=version))
    if message is None:
        assert load_project(path).name == "t"
    else:
        with pytest.raises(ProjectError) as err:
            load_project(path)
        assert message in str(err.value)
        assert "newer version" not in str(err.value) or version == 7


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_fifo_project_file_is_refused(tmp_path):
    os.mkfifo(tmp_path / "p.covproj")
    with pytest.raises(ProjectError, match="FIFO"):
        load_project(tmp_path / "p.covproj")


def test_bundled_project_still_loads_cleanly(bundled_project_path, tmp_path):
    project = load_project(bundled_project_path)
    assert project.load_notes == []
    assert math.isfinite(project.params.cell_size_m)
    copy = tmp_path / "copy"
    shutil.copytree(bundled_project_path.parent, copy, ignore=shutil.ignore_patterns("*.py", "README*"))
    assert load_project(copy / bundled_project_path.name).layers[0].path.startswith(str(copy))
