"""Hostile values that used to crash ("unexpected failure") or were silently read as something
else: project options and ledger, scenario edits, true/false and amount fields, NaN
coordinates, speed / friction and population rasters, sweep specs. Every bad input is a real
file written into tmp_path; each case asserts the message names the field or file.
"""

import copy
import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.analysis.siting import check_siting_options
from coverage_app.core.analysis.sweep import run_sweep
from coverage_app.core.analysis.sweep_spec import load_spec
from coverage_app.core.data.layers import check_file, convert_zawgyi, load_layer, read_vector
from coverage_app.core.data.population import resample_population
from coverage_app.core.data.project import ProjectError, load_project, save_project
from coverage_app.core.errors import InputError, errors_of
from coverage_app.core.grid import Grid
from coverage_app.core.outputs.briefing.writer import check_dpi
from coverage_app.core.params import AnalysisParams
from coverage_app.core.travel.friction import friction_from_raster
from tests.synthetic import facility, load, make_project, ring, village, X0, Y0, UTM


def _project(tmp_path, **extra):
    body = {"format": "coverage-app-project", "version": 1, "name": "t", "layers": []} | extra
    path = tmp_path / "p.covproj"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def _landcover(options):
    return [{"path": "lc.tif", "role": "landcover", "options": options}]


# ----------------------------------------------------------------------------- project file

@pytest.mark.parametrize("extra, message", [
    ({"layers": _landcover({"classes": "water,forest"})}, "'layers[0].options.classes' must be an object"),
    ({"layers": _landcover({"classes": {"abc": "water"}})}, "codes must be whole numbers such as \"3\""),
    ({"layers": _landcover({"classes": {"1.5": "water"}})}, "not '1.5'"),
    ({"layers": _landcover({"classes": {"0": "water", "00": "forest"}})}, "lists the code 0 twice"),
    ({"layers": _landcover({"classes": {"0": 5}})}, "'layers[0].options.classes.0' must be a class name"),
    ({"layers": _landcover({"enabled": "no"})}, "'layers[0].options.enabled' must be true or false"),
    ({"layers": [{"path": "r.gpkg", "role": "roads", "options": {"road_classes": "osm"}}]},
     "'layers[0].options.road_classes' must be an object"),
    ({"options": "census2014"}, "'options' must be an object"),
    ({"status_ledger": [1]}, "'status_ledger[0]' must be an object with fac_id, status and date"),
    ({"status_ledger": [{"path": 3}]}, "'status_ledger[0].fac_id' must be a facility id"),
    ({"status_ledger": [{"fac_id": "F1", "status": "zombie", "date": "2024-01-01"}]}, "'status_ledger[0].status'"),
    ({"status_ledger": [{"fac_id": "F1", "status": "closed", "date": "2024-01-01 noon"}]},
     "'status_ledger[0].date' must be a date"),
    ({"analysis": {"speeds_kmh": {"walking": {"off_road": None}}}},
     "speeds_kmh.walking.off_road must be a walking speed in km/h"),
    ({"analysis": {"unmapped_kmh": 5}}, "unmapped_kmh must be a table of km/h by mode"),
])
def test_bad_project_values_name_the_field(tmp_path, extra, message):
    with pytest.raises(ProjectError) as err:
        load_project(_project(tmp_path, **extra))
    assert message in str(err.value) and "left untouched" in str(err.value)


def test_a_good_legend_and_ledger_still_load(tmp_path):
    project = load_project(_project(
        tmp_path, layers=_landcover({"classes": {"0": "water", "1": "forest"}, "enabled": False}),
        status_ledger=[{"fac_id": "F1", "status": "closed", "date": "2024-01-01", "source": "x", "file": "s.csv"}]))
    assert project.layers[0].options["classes"] == {"0": "water", "1": "forest"}
    assert project.status_ledger[0]["status"] == "closed"


@pytest.mark.parametrize("value, message", [
    (float("nan"), "must be a finite number of people (people_per_bed), not nan"),
    (float("inf"), "must be a finite number"),
    (0.5, "must be between 1 and 1e+06 people"),
])
def test_people_per_bed_must_be_finite(value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        AnalysisParams(people_per_bed=value)


# ----------------------------------------------------------------------------- scenario edits

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    project = make_project(folder, facilities=[facility("F1", 0, 0)], villages=[village("V1", 3000, 0)],
                           half_m=6000.0, params=AnalysisParams(cell_size_m=500.0))
    return load(project)


NEW = {"type": "add_facility", "fac_id": "N1", "name": "New", "lon": 95.5, "lat": 22.0}
SQUARE = "POLYGON ((95.49 21.99, 95.51 21.99, 95.51 22.01, 95.49 21.99))"


@pytest.mark.parametrize("edit, message", [
    (NEW | {"lon": "abc"}, "'lon' must be a longitude in Myanmar (91 to 102.5), not 'abc'"),
    (NEW | {"lon": 500}, "'lon' must be a longitude in Myanmar"),
    (NEW | {"lat": float("nan")}, "'lat' must be a latitude in Myanmar (8.5 to 29.5), not nan"),
    (NEW | {"lon": [95.5]}, "not [95.5]"),
    (NEW | {"capacity": "lots"}, "'capacity' must be a number of people"),
    (NEW | {"status": "zombie"}, "the new facility's status must be one of"),
    ({"type": "add_zone", "zone_id": "Z"}, "'wkt' must be the zone's polygon as WKT"),
    ({"type": "add_zone", "zone_id": "Z", "wkt": "POLYGON((garbage"}, "not 'POLYGON((garbage'"),
    ({"type": "add_zone", "zone_id": "Z", "wkt": "POINT (95.5 22)"}, "'wkt' must be the zone's polygon"),
    ({"type": "add_zone", "zone_id": "Z", "wkt": SQUARE, "speed_factor": "slow"}, "'speed_factor' must be a speed"),
    ({"type": "add_zone", "zone_id": "Z", "wkt": SQUARE, "speed_factor": -3}, "from 0 (impassable) to 1"),
    ({"type": "add_zone", "zone_id": "Z", "wkt": SQUARE, "delay_minutes": -5}, "'delay_minutes' must be minutes"),
    ({"type": "set_status", "status": "closed"}, "a status change needs the 'fac_id'"),
])
def test_bad_scenario_edits_are_refused_naming_the_key(small, tmp_path, edit, message):
    project = copy.deepcopy(small.project)
    project.scenarios = [{"name": "s", "edits": [edit]}]
    path = save_project(project, tmp_path / "s.covproj")  # written and read back as a user's file
    scenario = load_project(path).scenario("s")
    with pytest.raises(InputError) as err:
        run_analysis(small, small.project.params, scenario)
    assert message in str(err.value)


def test_good_scenario_edits_still_run(small):
    scenario = {"name": "s", "edits": [NEW, {"type": "add_zone", "zone_id": "Z", "wkt": SQUARE,
                                             "speed_factor": 0.5, "delay_minutes": 5}]}
    result = run_analysis(small, small.project.params, scenario)
    assert "N1" in set(result.facilities["fac_id"])


# ----------------------------------------------------------------------------- layer values

def _write(tmp_path, name, rows, crs=4326):
    path = tmp_path / f"{name}.gpkg"
    gpd.GeoDataFrame(rows, geometry="geometry", crs=crs).to_file(path, engine="pyogrio")
    return path


def _fac(i, **cols):
    return {"fac_id": f"F{i}", "name": f"C{i}", "level": "rhc", "geometry": shapely.Point(95 + i / 10, 22)} | cols


@pytest.mark.parametrize("role, rows, field, message", [
    ("facilities", [_fac(0, provides_primary="maybe"), _fac(1, provides_primary="yes")], "provides_primary",
     "'provides_primary' must be true or false (also yes/no, 1/0), found 'maybe'"),
    ("rivers", [{"major": "sometimes", "geometry": shapely.LineString([(95, 22), (95.2, 22.1)])}], "major",
     "'major' must be true or false"),
    ("facilities", [_fac(0, beds=-5.0), _fac(1, beds=3.0)], "beds", "'beds' cannot be negative, found -5"),
    ("crossings", [{"kind": "ferry", "delay_minutes": -30.0, "geometry": shapely.Point(95, 22)}], "delay_minutes",
     "'delay_minutes' cannot be negative"),
    ("conflict_zones", [{"zone_id": "Z1", "kind": "risk", "speed_factor": 0.5, "delay_minutes": 5.0,
                         "valid_from": "2024-01-01", "valid_to": "2023-01-01", "geometry": shapely.box(95, 22, 95.1, 22.1)}],
     "valid_from", "valid_from is after valid_to, so the zone is never in force"),
])
def test_values_that_were_read_as_something_else(tmp_path, role, rows, field, message):
    layer = load_layer(_write(tmp_path, role, rows), role, strict=False)
    [err] = errors_of(layer.problems)
    assert err.field == field and message in err.message and err.rows == (1,)


def test_true_false_words_are_read(tmp_path):
    rows = [_fac(i, provides_primary=v) for i, v in enumerate(["yes", "No", "1", "0", "TRUE", "f", ""])]
    layer = load_layer(_write(tmp_path, "f", rows), "facilities")
    assert list(layer.data["provides_primary"]) == [True, False, True, False, True, False, None]


def test_nan_coordinates_are_left_out_by_row(tmp_path):
    rows = [_fac(0), _fac(1) | {"geometry": shapely.Point(float("nan"), 22)}, _fac(2)]
    layer = load_layer(_write(tmp_path, "f", rows), "facilities")
    assert list(layer.data["fac_id"]) == ["F0", "F2"]
    [p] = [p for p in layer.problems if "not numbers" in p.message]
    assert p.severity == "warning" and p.rows == (2,) and "left out" in p.message
    every = load_layer(_write(tmp_path, "g", [rows[1]]), "facilities", strict=False)
    assert "coordinates that are not numbers (NaN or infinity)" in errors_of(every.problems)[0].message


def _tif(path, data, crs="EPSG:4326", west=95.4, north=22.1, step=0.002, nodata=None):
    data = np.asarray(data, "float32")
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype="float32", crs=crs, nodata=nodata, transform=from_origin(west, north, step, step)) as dst:
        dst.write(data, 1)
    return path


def test_validate_refuses_a_raster_given_a_vector_role_and_back(tmp_path):
    tif = _tif(tmp_path / "dem.tif", np.ones((10, 10)))
    [(_, _, problems)] = check_file(tif, role="facilities")
    assert "a facilities layer must be a vector layer" in problems[0].message
    gpkg = _write(tmp_path, "v", [_fac(0)])
    [(_, _, problems)] = check_file(gpkg, role="population")
    assert "a population layer must be a raster (GeoTIFF)" in problems[0].message


def test_convert_zawgyi_names_a_missing_field(tmp_path):
    gdf = read_vector(_write(tmp_path, "f", [_fac(0)]))
    with pytest.raises(InputError, match="no field 'nope' in the layer; its text fields are: fac_id, name"):
        convert_zawgyi(gdf, ["nope"])


# ----------------------------------------------------------------------------- rasters

GRID = Grid.covering((X0 - 5000, Y0 - 5000, X0 + 5000, Y0 + 5000), f"EPSG:{UTM}", 500.0)


@pytest.mark.parametrize("kind, make, message", [
    ("speed", lambda p: _tif(p, np.full((100, 100), 5.0), crs=None), "the speed raster has no CRS"),
    ("speed", lambda p: _tif(p, np.full((100, 100), np.nan)), "no cell with a finite speed above 0"),
    ("speed", lambda p: _tif(p, np.zeros((100, 100))), "no cell with a finite speed above 0"),
    ("speed", lambda p: _tif(p, np.full((100, 100), 5.0), west=10, north=50), "the raster covers another place"),
    ("friction", lambda p: _tif(p, np.full((100, 100), np.inf)), "no cell with a finite friction above 0"),
])
def test_unusable_speed_or_friction_raster_is_refused(tmp_path, kind, make, message):
    with pytest.raises(InputError, match=message):
        friction_from_raster(make(tmp_path / "s.tif"), kind=kind, grid=GRID)


def test_negative_speeds_are_warned(tmp_path):
    values = np.full((100, 100), 5.0)
    values[:50] = -1.0
    friction = friction_from_raster(_tif(tmp_path / "s.tif", values), kind="speed", grid=GRID)
    [p] = friction.problems
    assert p.severity == "warning" and "negative speed" in p.message and np.isfinite(friction.cost_s_per_m).any()


STUDY = ring(4000.0)


@pytest.mark.parametrize("values, kw, message", [
    (np.full((100, 100), -99999.0), {}, "cells on the study area hold negative or infinite people per cell"),
    (np.full((100, 100), np.inf), {}, "negative or infinite people per cell"),
    (np.full((100, 100), np.nan), {}, "holds no people on the study area"),
    (np.full((100, 100), 50.0), {"west": 10, "north": 50}, "holds no people on the study area"),
    (np.full((100, 100), 1e30), {}, "more than all of Myanmar"),
])
def test_unusable_population_raster_is_refused(tmp_path, values, kw, message):
    study = gpd.GeoSeries([STUDY], crs=4326).to_crs(UTM).iloc[0]
    with pytest.raises(InputError, match=message):
        resample_population(_tif(tmp_path / "pop.tif", values, **kw), GRID, study)


def test_declared_nodata_and_nan_cells_are_still_no_people(tmp_path):
    values = np.full((100, 100), 10.0)
    values[:10] = -99999.0
    values[10:20] = np.nan
    study = gpd.GeoSeries([STUDY], crs=4326).to_crs(UTM).iloc[0]
    people, record = resample_population(_tif(tmp_path / "pop.tif", values, nodata=-99999.0), GRID, study)
    assert people.min() >= 0 and record["people_in_study_area"] > 0


# ----------------------------------------------------------------------------- sweep specs, options

HEAD = 'version = 1\nproject = "{project}"\ndraws = 2\nseed = 1\n[analysis]\ncell_size_m = 1000.0\n'


def _spec_file(tmp_path, small, body):
    """A sweep spec on the small project with ``body`` after its head."""
    project = save_project(small.project, tmp_path / "small.covproj")
    spec = tmp_path / "spec.toml"
    spec.write_text(HEAD.format(project=project.as_posix()) + body, encoding="utf-8")
    return spec


@pytest.mark.parametrize("body, message", [
    ('[cases]\nmodes = [["walking"]]\n', "sweep spec key 'cases.modes': unknown travel mode ['walking']"),
    ("[cases]\nmonthly = { start = 9999-06-01, months = 12 }\n", "12 months from 9999-06-01 go past the year 9999"),
    ("[vary]\nspeeds = { uniform = [0.5, inf] }\n", "'vary.speeds': values must be finite numbers"),
    ("[vary]\nspeeds = nan\n", "'vary.speeds': must be a finite number of 0 or more, not nan"),
    ("[vary]\nzone_delay = inf\n", "'vary.zone_delay': must be a finite number"),
    ("[vary.params]\nprimary_minutes = { choice = [nan] }\n", "values must be finite numbers"),
])
def test_bad_sweep_values_name_the_key(tmp_path, small, body, message):
    with pytest.raises(InputError) as err:
        load_spec(_spec_file(tmp_path, small, body))
    assert message in str(err.value)


@pytest.mark.parametrize("body, message", [
    ("[vary.params]\nprimary_minutes = 0\n", "Primary care threshold must be a positive number"),
    ("[vary.params]\nprimary_minutes = { uniform = [1000, 3000] }\n", "must be between 1 and 1440 minutes"),
    ("[vary]\nspeeds = 100\n", "must be a speed from 0 to 300 km/h"),
])
def test_draws_past_the_parameter_limits_are_refused_before_running(tmp_path, small, body, message):
    with pytest.raises(InputError) as err:
        run_sweep(load_spec(_spec_file(tmp_path, small, body)), scheduler="serial")
    text = str(err.value)
    assert "draw 0 of the sweep gives parameters that cannot be used" in text and message in text
    assert "narrow the ranges" in text


def test_a_folder_as_sweep_spec(tmp_path):
    with pytest.raises(InputError, match="the sweep spec cannot be used: it is a folder, not a file; give the path of a .toml file"):
        load_spec(tmp_path)


@pytest.mark.parametrize("count, spacing, message", [
    (5, float("nan"), "spacing must be a positive number of metres"),
    (5, 0.0, "spacing must be a positive number of metres"),
    (0, 5000.0, "the number of sites must be at least 1"),
])
def test_siting_options(count, spacing, message):
    with pytest.raises(InputError, match=message):
        check_siting_options(count, spacing)


@pytest.mark.parametrize("dpi", [0, -5, 100_000, 49, 601])
def test_png_resolution_limits(dpi):
    with pytest.raises(InputError, match="--dpi.*from 50 to 600"):
        check_dpi(dpi)
    check_dpi(200)
