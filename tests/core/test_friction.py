"""Friction surfaces: speeds by mode and road class, land cover, DEM (Tobler), zones, crossings."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from coverage_app.core.analysis.pipeline import analysis_grid, build_project_friction, run_analysis
from coverage_app.core.travel.friction import KMH_TO_MS, surface_speed_kmh
from coverage_app.core.data.model import load_project_data
from coverage_app.core.params import AnalysisParams
from coverage_app.core.data.project import LayerRef, load_project
from tests.synthetic import X0, Y0, facility, load, make_project, village


def test_speed_table_walk_fallback():
    p = AnalysisParams(mode="car")
    assert surface_speed_kmh(p, "main") == 50
    assert surface_speed_kmh(p, "path") == 4       # cars cannot use paths: people walk
    assert surface_speed_kmh(p, "off_road") == 3


def test_bundled_friction_at_1km(bundled_project_path):
    project = load_project(bundled_project_path)
    data = load_project_data(project)
    params = project.params.replace(cell_size_m=1000.0, mode="car")
    params = params.replace(unmapped_kmh=params.unmapped_kmh | {"car": None})  # cars' passengers walk off road
    grid = analysis_grid(data, params)
    assert grid.crs.to_epsg() == 32646
    f = build_project_friction(data, params, grid)
    finite = f.cost_s_per_m[np.isfinite(f.cost_s_per_m)]
    assert finite.min() == pytest.approx(1 / (50 * KMH_TO_MS), rel=1e-6)  # main road by car
    assert finite.max() == pytest.approx(1 / (3 * 0.5 * KMH_TO_MS), rel=1e-6)  # walking in a restricted zone
    assert (f.barrier_cause == 1).sum() > 100      # water
    assert (f.barrier_cause == 3).sum() > 0        # outside the study area
    assert f.zones_used > 0


def test_landcover_sets_off_road_speed_and_water_blocks(bundled_project_path):
    project = load_project(bundled_project_path)
    lc = next(ref for ref in project.layers if ref.role == "landcover")
    lc.options["enabled"] = True
    data = load_project_data(project)
    params = project.params.replace(cell_size_m=500.0)
    grid = analysis_grid(data, params)
    with_lc = build_project_friction(data, params, grid)
    lc.options["enabled"] = False
    without = build_project_friction(load_project_data(project), params, grid)
    changed = np.isfinite(with_lc.cost_s_per_m) & (with_lc.cost_s_per_m != without.cost_s_per_m)
    assert changed.sum() > 300  # the sample covers ~40 x 43 km, about half of it in Sagaing
    speeds = 1 / (with_lc.cost_s_per_m[changed].astype("float64") * KMH_TO_MS)
    # off-road walking speeds by class, times the conflict-zone factors (1, 0.8, 0.5) around Sagaing town
    table = {round(v * k, 2) for v in (2.5, 3.24, 4.2, 4.86, 5.0) for k in (1.0, 0.8, 0.5)}
    by_class = np.isin(np.round(speeds, 2), list(table))
    assert by_class.mean() > 0.9 and len(set(np.round(speeds[by_class], 2))) >= 3
    assert (with_lc.barrier_cause == 4).sum() + (with_lc.barrier_cause == 1).sum() > \
        (without.barrier_cause == 1).sum()


def synthetic_dem(path, slope):
    """A SYNTHETIC DEM (no real elevation data is bundled): a plane rising eastwards at ``slope``."""
    x = np.arange(400) * 100.0
    z = np.tile(x * slope, (400, 1)).astype("float32")
    with rasterio.open(path, "w", driver="GTiff", width=400, height=400, count=1, dtype="float32",
                       crs="EPSG:32646", transform=from_origin(X0 - 20_000, Y0 + 20_000, 100, 100)) as dst:
        dst.write(z[None])


def test_tobler_uphill_slower_than_downhill_by_the_formula(tmp_path):
    slope = 0.10
    dem = tmp_path / "synthetic_dem.tif"
    synthetic_dem(dem, slope)
    project = make_project(tmp_path, facilities=[facility("H", 0, 0, secondary=True)],
                           villages=[village("WEST", -5000, 0), village("EAST", 5000, 0)])
    project.layers.append(LayerRef("DEM", str(dem), "dem"))
    result = run_analysis(load(project), project.params)
    v = result.villages.set_index("pcode")
    # WEST walks uphill (east) to the facility, EAST walks downhill
    up, down = v.loc["WEST", "prim_min"], v.loc["EAST", "prim_min"]
    ratio = np.exp(-3.5 * abs(slope + 0.05)) / np.exp(-3.5 * abs(-slope + 0.05))
    assert up / down == pytest.approx(1 / ratio, rel=0.02)
    flat = 5000 / (3 * 1000 / 60)
    assert down == pytest.approx(flat * np.exp(-0.175) / np.exp(-3.5 * abs(-slope + 0.05)), rel=0.03)


def test_unmapped_track_speed_is_the_motorised_off_road_speed(bundled_project_path):
    """Issue 11: off the mapped roads a car moves at the unmapped-track speed (10 km/h by default),
    not at walking pace; walking is unchanged; the walk setting restores the walking fallback."""
    project = load_project(bundled_project_path)
    data = load_project_data(project)
    car = project.params.replace(cell_size_m=2000.0, mode="car")
    assert car.unmapped_kmh == {"walking": None, "motorbike": 15.0, "car": 10.0}
    grid = analysis_grid(data, car)
    f = build_project_friction(data, car, grid)
    off = f.study_mask & ~f.road_mask & (f.barrier_cause == 0) & (f.zone_label == 0 if f.zone_label is not None
                                                                  else True)
    values, counts = np.unique(f.cost_s_per_m[off], return_counts=True)
    assert values[np.argmax(counts)] == pytest.approx(1 / (10 * KMH_TO_MS), rel=1e-6)  # most off-road cells
    walked = build_project_friction(data, car.replace(unmapped_kmh=car.unmapped_kmh | {"car": None}), grid)
    values, counts = np.unique(walked.cost_s_per_m[off], return_counts=True)
    assert values[np.argmax(counts)] == pytest.approx(1 / (3 * KMH_TO_MS), rel=1e-6)
    assert car.replace(unmapped_kmh={"car": 1.0}).off_road_kmh() == 3  # never slower than walking
    assert car.replace(mode="walking").off_road_kmh() == 3


def test_unmapped_speed_round_trips_and_bad_values_are_refused():
    p = AnalysisParams(mode="motorbike", unmapped_kmh={"walking": None, "motorbike": 12.5, "car": None})
    back = AnalysisParams.from_dict(p.to_dict())
    assert back == p and back.off_road_kmh() == 12.5 and back.off_road_kmh("car") == 3
    assert AnalysisParams.from_dict({}).unmapped_kmh["car"] == 10.0  # older projects get the defaults
    with pytest.raises(ValueError, match="unmapped-track speed for car"):
        AnalysisParams(unmapped_kmh={"car": -4})


def test_sensitivity_cases_bracket_the_central_speeds():
    p = AnalysisParams(mode="car")
    low, high = p.sensitivity_case("low"), p.sensitivity_case("high")
    assert p.sensitivity_case("central") is p
    assert low.off_road_kmh() == 5 and high.off_road_kmh() == 15
    assert low.speeds_kmh["car"]["main"] == pytest.approx(40) and high.speeds_kmh["car"]["main"] == pytest.approx(60)
    assert low.speeds_kmh["walking"]["off_road"] == pytest.approx(2.4)
    w = AnalysisParams(mode="walking")
    assert w.sensitivity_case("high").off_road_kmh() == pytest.approx(3.6)
