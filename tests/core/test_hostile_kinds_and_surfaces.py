"""Hostile values found by the command-line fuzz pass that ran to a misleading message or a
wrong drawing rather than a crash: zone and crossing kinds outside the known ones, a DEM with
an undeclared nodata value, a speed raster that is 0 km/h under a facility, a travel mode at
0 km/h everywhere, an empty population raster described as a travel surface, and scenario
edits that `validate` did not look at. Each input is a real file written into tmp_path."""

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from coverage_app.core.analysis.edits import scenario_problems
from coverage_app.core.analysis.pipeline import run_on_friction_raster
from coverage_app.core.data.layers import check_file, load_layer
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.grid import Grid
from coverage_app.core.outputs import symbology as sym
from coverage_app.core.outputs.briefing.layers import prepare_layers
from coverage_app.core.outputs.briefing.legend import legend_entries
from coverage_app.core.params import AnalysisParams
from coverage_app.core.travel.onto_grid import read_elevation
from tests.synthetic import UTM, X0, Y0, at, facility, load, make_project, village


def _tif(path, data, west=95.4, north=22.1, step=0.002, nodata=None):
    data = np.asarray(data, "float32")
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype="float32", crs="EPSG:4326", nodata=nodata,
                       transform=from_origin(west, north, step, step)) as dst:
        dst.write(data, 1)
    return path


def _zone(zone_id, kind, box_m=(-1000, -1000, 1000, 1000)):
    x0, y0, x1, y1 = box_m
    square = shapely.Polygon([at(x0, y0).coords[0], at(x1, y0).coords[0], at(x1, y1).coords[0],
                              at(x0, y1).coords[0]])
    return {"zone_id": zone_id, "kind": kind, "speed_factor": 0.5, "delay_minutes": 0.0,
            "valid_from": "2020-01-01", "valid_to": "2030-01-01", "geometry": square}


# ----------------------------------------------------------------------------- kinds

def test_unknown_zone_kinds_are_warned_and_drawn_as_other_zones(tmp_path):
    path = tmp_path / "zones.gpkg"
    gpd.GeoDataFrame([_zone("Z1", " No_Go "), _zone("Z2", "checkpoint"), _zone("Z3", "risk")],
                     geometry="geometry", crs=4326).to_file(path, engine="pyogrio")
    layer = load_layer(path, "conflict_zones")
    assert list(layer.data["kind"]) == ["no_go", "checkpoint", "risk"]  # case and spaces do not matter
    [p] = [p for p in layer.problems if p.field == "kind"]
    assert p.severity == "warning" and p.rows == (2,)
    assert "kind 'checkpoint' is not one of no_go, restricted, risk" in p.message
    assert "still slow travel by their speed_factor" in p.message and "'Other zone'" in p.message
    assert sym.zone_style_keys(layer.data["kind"]) == ["no_go", "other", "risk"]


def test_the_printed_legend_lists_other_zones(bundled_project_path):
    data = load_project_data(load_project(bundled_project_path))
    layers = prepare_layers(data, None)
    kinds = ["checkpoint"] + ["no_go"] * (len(layers.zones) - 1)
    layers.zones = layers.zones.assign(kind=kinds)
    labels = [label for _kind, _style, label in legend_entries(layers, None)]
    start = next(i for i, label in enumerate(labels) if label.startswith("Conflict zones on"))
    assert labels[start + 1:start + 3] == ["No-go zone", "Other zone"]  # the most restrictive first
    assert "အခြား ဇုန်" in [label for *_, label in legend_entries(layers, None, "my")]


def test_unknown_crossing_kinds_are_warned(tmp_path):
    path = tmp_path / "crossings.gpkg"
    gpd.GeoDataFrame([{"kind": "Ferry", "delay_minutes": 10.0, "geometry": shapely.Point(95.5, 22.0)},
                      {"kind": "ford", "delay_minutes": 0.0, "geometry": shapely.Point(95.6, 22.0)}],
                     geometry="geometry", crs=4326).to_file(path, engine="pyogrio")
    layer = load_layer(path, "crossings")
    assert list(layer.data["kind"]) == ["ferry", "ford"]
    [p] = [p for p in layer.problems if p.field == "kind"]
    assert p.rows == (2,) and "kind 'ford' is not one of bridge, ferry: they are crossed as bridges" in p.message


# ----------------------------------------------------------------------------- surfaces

GRID = Grid.covering((X0 - 5000, Y0 - 5000, X0 + 5000, Y0 + 5000), f"EPSG:{UTM}", 500.0)


@pytest.mark.parametrize("bad", [-32768.0, np.inf, 20000.0])
def test_impossible_dem_values_are_flat_with_a_warning(tmp_path, bad):
    values = np.full((100, 100), 300.0)
    values[40:60, 40:60] = bad  # an undeclared SRTM void in the middle
    elevation, problems = read_elevation(_tif(tmp_path / "dem.tif", values), GRID)
    middle = elevation[GRID.shape[0] // 2, GRID.shape[1] // 2]
    assert np.isnan(middle) and np.nanmin(elevation) >= 299.0 and np.nanmax(elevation) <= 301.0
    [p] = problems
    assert "cells of the DEM hold elevations below -450 m, above 8850 m or infinite" in p.message
    assert "gdal_edit.py -a_nodata" in p.message


def test_a_plausible_dem_gives_no_warning(tmp_path):
    values = np.linspace(-20.0, 5800.0, 10_000).reshape(100, 100)
    elevation, problems = read_elevation(_tif(tmp_path / "dem.tif", values), GRID)
    assert problems == [] and np.isfinite(elevation).all()


def test_a_facility_on_a_zero_speed_cell_is_moved_and_told_why(tmp_path):
    project = make_project(tmp_path, facilities=[facility("F1", 0, 0)], villages=[village("V1", 3000, 0)],
                           half_m=6000.0, params=AnalysisParams(cell_size_m=500.0))
    data = load(project)
    speed = np.full((100, 100), 5.0)
    r, c = rasterio.transform.rowcol(from_origin(95.4, 22.1, 0.002, 0.002), 95.5, 22.0)
    speed[r - 3:r + 4, c - 3:c + 4] = 0.0  # a river of the raster, 1.5 km wide, under the facility
    result = run_on_friction_raster(data, project.params, _tif(tmp_path / "speed.tif", speed), "speed")
    [p] = [p for p in result.problems if "F1" in p.message]
    assert "lies on a cell the speed or friction raster makes impassable at 500 m resolution" in p.message
    assert "moved to the nearest passable cell" in p.message
    assert np.isfinite(result.villages["prim_min"].iloc[0])


def test_a_mode_at_zero_speed_everywhere_is_refused():
    speeds = {m: dict(t) for m, t in AnalysisParams().speeds_kmh.items()}
    speeds["walking"] = {surface: 0 for surface in speeds["walking"]}
    with pytest.raises(ValueError, match="speeds_kmh.walking is 0 km/h on every surface, so nothing can be reached"):
        AnalysisParams(speeds_kmh=speeds)
    AnalysisParams(speeds_kmh=speeds | {"walking": speeds["walking"] | {"path": 4}})  # one surface is enough


def test_an_empty_population_raster_is_described_as_population(tmp_path):
    [(_, _, problems)] = check_file(_tif(tmp_path / "pop.tif", np.full((10, 10), -1.0), nodata=-1.0),
                                    role="population")
    [p] = problems
    assert "every cell of the raster is nodata: it gives the villages no population" in p.message
    [(_, _, problems)] = check_file(_tif(tmp_path / "dem.tif", np.full((10, 10), -1.0), nodata=-1.0), role="dem")
    assert "it has no effect on travel times" in problems[0].message


# ----------------------------------------------------------------------------- scenarios

def test_scenario_problems_name_the_scenario_and_the_edit():
    new = {"type": "add_facility", "fac_id": "N1", "name": "New", "lon": 95.5, "lat": 22.0}
    scenarios = [{"name": "good", "edits": [new, {"type": "set_status", "fac_id": "N1", "status": "closed"}]},
                 {"name": "bad", "edits": [{"type": "set_status", "fac_id": "F9", "status": "closed"},
                                           new | {"lat": 95.0}, "not an edit"]}]
    problems = scenario_problems(scenarios, {"F1"})
    assert [p.message.split(":")[0] for p in problems] == ["scenario 'bad', edit 1", "scenario 'bad', edit 2",
                                                           "scenario 'bad', edit 3"]
    assert "no facility with id 'F9'" in problems[0].message
    assert "'lat' must be a latitude in Myanmar" in problems[1].message
    assert "must be an object, not str" in problems[2].message
