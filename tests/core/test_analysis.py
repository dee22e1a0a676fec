"""The analysis on synthetic grids with known answers, and its bad-input cases."""

import datetime as dt

import numpy as np
import pytest
import shapely

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.errors import InputError
from coverage_app.core.params import AnalysisParams
from tests.synthetic import at, facility, line, load, make_project, village

WALK_OFF_ROAD_KMH = 3.0


def minutes_for(metres, kmh=WALK_OFF_ROAD_KMH):
    return metres / (kmh * 1000 / 60)


@pytest.fixture
def simple(tmp_path):
    """One secondary hospital at the centre, villages 1, 3, 6 and 9 km east (walking 3 km/h: 20, 60, 120,
    180 min)."""
    project = make_project(tmp_path, facilities=[facility("H", 0, 0, secondary=True)],
                           villages=[village(f"V{k}", k * 1000, 0) for k in (1, 3, 6, 9)])
    return project, load(project)


def test_uniform_walking_times_equal_distance_over_speed(simple):
    project, data = simple
    result = run_analysis(data, project.params)
    v = result.villages.set_index("pcode")
    for k in (1, 3, 6, 9):
        expected = minutes_for(k * 1000)
        assert v.loc[f"V{k}", "prim_min"] == pytest.approx(expected, rel=0.03)
        assert v.loc[f"V{k}", "sec_min"] == pytest.approx(expected, rel=0.03)
        assert v.loc[f"V{k}", "prim_fac"] == "H"


def test_gap_classes_against_thresholds(simple):
    project, data = simple
    params = AnalysisParams(cell_size_m=100, primary_minutes=45, secondary_minutes=150)
    v = run_analysis(data, params).villages.set_index("pcode")
    assert v.loc["V1", "gap"] == "none"        # 20 min
    assert v.loc["V3", "gap"] == "primary"     # 60 min > 45, < 150
    assert v.loc["V6", "gap"] == "primary"     # 120 min
    assert v.loc["V9", "gap"] == "both"        # 180 min


def test_township_summary_and_curve(simple):
    project, data = simple
    result = run_analysis(data, project.params)  # thresholds 60 / 120
    t = result.townships.iloc[0]
    # V1 (20 min) is covered for primary; V3 sits on the 60-min threshold (within 3%)
    assert t["n_villages"] == 4 and t["pop"] == 400
    assert t["vil_noprim"] in (2, 3) and t["pop_prim"] in (100, 200)
    assert t["census_pop"] == 1000
    curve = result.curve
    assert list(curve.minutes[[0, 240]]) == [0, 240]
    assert np.all(np.diff(curve.primary_share) >= 0)
    assert curve.primary_share.iloc[-1] == pytest.approx(1.0)
    assert curve.loc[curve.minutes == 30, "primary_share"].item() == pytest.approx(0.25)


def test_catchment_bands_have_area_and_population(simple):
    project, data = simple
    c = run_analysis(data, project.params).catchments
    prim = c[c.tier == "primary"].set_index("band_min")
    assert list(prim.index) == [30, 60, 120]
    # band 0-30 min at 3 km/h is a disc of radius 1.5 km: about 7.07 km2 (16-neighbour stencil within 3%)
    assert prim.loc[30, "area_km2"] == pytest.approx(np.pi * 1.5 ** 2, rel=0.07)
    assert prim.loc[30, "pop"] == 100
    assert set(c.fac_id) == {"H"}


def test_closed_and_unknown_status(tmp_path):
    project = make_project(tmp_path, facilities=[
        facility("OPEN", 0, 0), facility("SHUT", 5000, 0, status="closed"),
        facility("UNK", -5000, 0, status="unknown")], villages=[village("V", 5000, 1000)])
    data = load(project)
    result = run_analysis(data, project.params)
    v = result.villages.iloc[0]
    assert v["prim_fac"] == "OPEN"
    assert result.assumed_unknown == 1
    assert result.headline()["facilities_counted_primary"] == 2
    strict = run_analysis(data, project.params.replace(unknown_counts=False))
    assert strict.assumed_unknown == 0 and strict.headline()["facilities_counted_primary"] == 1


def test_as_of_before_every_status_date(simple):
    project, data = simple
    with pytest.raises(InputError, match="before every facility status date"):
        run_analysis(data, project.params.replace(as_of=dt.date(2020, 1, 1)))


@pytest.mark.parametrize("field", ["primary_minutes", "secondary_minutes", "cell_size_m"])
@pytest.mark.parametrize("value", [0, -10])
def test_zero_or_negative_parameters(field, value):
    with pytest.raises(ValueError, match="must be a positive number"):
        AnalysisParams(**{field: value})


def test_no_counting_secondary_facility(tmp_path):
    project = make_project(tmp_path, facilities=[facility("P", 0, 0)], villages=[village("V", 500, 0)])
    result = run_analysis(load(project), project.params)
    assert result.villages.iloc[0]["gap"] == "secondary"
    assert any("no secondary care facility counts" in p.message for p in result.problems)
    assert np.isnan(result.villages.iloc[0]["sec_min"])


def test_village_off_grid_is_flagged_not_dropped(tmp_path):
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("IN", 1000, 0), village("FAR", 90_000, 0)])
    result = run_analysis(load(project), project.params)
    v = result.villages.set_index("pcode")
    assert len(v) == 2
    assert not v.loc["FAR", "on_grid"] and np.isnan(v.loc["FAR", "prim_min"]) and v.loc["FAR", "gap"] == "both"
    assert any("outside the analysis grid" in p.message for p in result.problems)


def test_facility_outside_grid_is_reported(tmp_path):
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True),
                                                 facility("AWAY", 80_000, 0)], villages=[village("V", 100, 0)])
    result = run_analysis(load(project), project.params)
    assert any("AWAY" in p.message and "outside the analysis grid" in p.message for p in result.problems)
    assert not result.facilities.set_index("fac_id").loc["AWAY", "on_grid"]


def test_no_go_zone_blocks_and_only_counts_when_valid(tmp_path):
    # a no-go band from north to south edge, between the facility and the village
    wall = line([(2000, -40000), (2000, 40000)]).buffer(0.01)  # crosses the whole study area
    zone = {"zone_id": "Z", "kind": "no_go", "speed_factor": 0.0, "delay_minutes": 0.0,
            "valid_from": "2024-01-01", "valid_to": "2024-12-31", "geometry": wall}
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("V", 4000, 0)], zones=[zone])
    data = load(project)
    during = run_analysis(data, project.params.replace(as_of=dt.date(2024, 6, 1)))
    assert np.isnan(during.villages.iloc[0]["prim_min"])
    after = run_analysis(data, project.params.replace(as_of=dt.date(2025, 6, 1)))
    assert after.villages.iloc[0]["prim_min"] == pytest.approx(minutes_for(4000), rel=0.03)


def test_restricted_zone_slows_and_delays(tmp_path):
    zone = {"zone_id": "R", "kind": "restricted", "speed_factor": 0.5, "delay_minutes": 30.0,
            "valid_from": None, "valid_to": None, "geometry": line([(4500, -40000), (4500, 40000)]).buffer(0.015)}
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("V", 6000, 0)], zones=[zone])
    result = run_analysis(load(project), project.params)
    # a band about 3 km wide around x = 4.5 km: half speed there plus a 30 min entry delay
    got = result.villages.iloc[0]["prim_min"]
    assert got > minutes_for(6000) + 30


def test_river_is_a_barrier_except_at_a_bridge(tmp_path):
    river = {"name": "River", "geometry": line([(2000, -40000), (2000, 40000)])}
    kwargs = dict(facilities=[facility("P", 0, 0, secondary=True)], villages=[village("V", 4000, 0)],
                  rivers=[river])
    cut = run_analysis(load(make_project(tmp_path / "a", **kwargs)), AnalysisParams(cell_size_m=100))
    assert np.isnan(cut.villages.iloc[0]["prim_min"])
    bridge = {"name": "Bridge", "kind": "bridge", "delay_minutes": 0.0, "geometry": at(2000, 5000)}
    joined = run_analysis(load(make_project(tmp_path / "b", crossings=[bridge], **kwargs)),
                          AnalysisParams(cell_size_m=100))
    detour = 2 * np.hypot(2000, 5000)  # via the bridge 5 km north
    assert joined.villages.iloc[0]["prim_min"] == pytest.approx(minutes_for(detour), rel=0.05)


def test_ferry_adds_its_delay(tmp_path):
    river = {"name": "River", "geometry": line([(2000, -40000), (2000, 40000)])}
    ferry = {"name": "Ferry", "kind": "ferry", "delay_minutes": 45.0, "geometry": at(2000, 0)}
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("V", 4000, 0)], rivers=[river], crossings=[ferry])
    got = run_analysis(load(project), project.params).villages.iloc[0]["prim_min"]
    assert got == pytest.approx(minutes_for(4000) + 45, rel=0.05)


def test_a_landing_village_on_the_far_bank_boards_the_ferry(tmp_path):
    """A village 600 m from a 1 km ferry, on the far bank (inside the ferry's 750 m disk, 2 cells of 250 m
    from the water): it pays the 45 min to board like one beyond the disk (the whole disk used to be the
    ferry, so its people paid nothing); a village on the facility's bank pays none."""
    river = {"name": "River", "geometry": line([(2000, -40000), (2000, 40000)])}
    ferry = {"name": "Ferry", "kind": "ferry", "delay_minutes": 45.0, "length_m": 1000.0, "geometry": at(2000, 0)}
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("LANDING", 2600, 0), village("NEAR", 1400, 0)], rivers=[river],
                           crossings=[ferry])
    v = run_analysis(load(project), project.params).villages.set_index("pcode")
    assert v.loc["LANDING", "prim_min"] == pytest.approx(minutes_for(2600) + 45, rel=0.05)
    assert v.loc["NEAR", "prim_min"] == pytest.approx(minutes_for(1400), rel=0.05)


def test_a_ferry_off_the_water_is_named_in_a_warning(tmp_path):
    """A ferry 3 km from the river opens no water: the run warns by name that its delay is never paid."""
    river = {"name": "River", "geometry": line([(2000, -40000), (2000, 40000)])}
    ferries = [{"name": "Lost ferry", "kind": "ferry", "delay_minutes": 30.0, "geometry": at(5000, 3000)},
               {"name": "Good ferry", "kind": "ferry", "delay_minutes": 45.0, "geometry": at(2000, 0)}]
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("V", 4000, 0)], rivers=[river], crossings=ferries)
    result = run_analysis(load(project), project.params)
    lost = [p.message for p in result.problems if "opens no mapped water" in p.message]
    assert len(lost) == 1 and "ferry Lost ferry at" in lost[0] and "30 min boarding delay is never paid" in lost[0]
    assert result.villages.iloc[0]["prim_min"] == pytest.approx(minutes_for(4000) + 45, rel=0.05)


def test_ferry_inside_a_conflict_zone_keeps_its_delay(tmp_path):
    """A risk zone (10 min to enter, speed unchanged) over the whole area, facility and village in it: the
    village pays the ferry's 45 min (the zone's label used to overwrite the ferry's and lose it) and no
    zone delay (it never enters the zone; stepping off the ferry into it costs nothing)."""
    river = {"name": "River", "geometry": line([(2000, -40000), (2000, 40000)])}
    ferry = {"name": "Ferry", "kind": "ferry", "delay_minutes": 45.0, "geometry": at(2000, 0)}
    zone = {"zone_id": "RISK", "kind": "risk", "speed_factor": 1.0, "delay_minutes": 10.0, "valid_from": None,
            "valid_to": None, "geometry": line([(0, -40000), (0, 40000)]).buffer(1.0)}
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("V", 4000, 0)], rivers=[river], crossings=[ferry], zones=[zone])
    result = run_analysis(load(project), project.params)
    assert result.friction.zone_label.all() and result.friction.ferry_label.any()
    assert result.villages.iloc[0]["prim_min"] == pytest.approx(minutes_for(4000) + 45, rel=0.05)


def test_roads_are_faster_by_mode(tmp_path):
    road = {"road_class": "main", "geometry": line([(-15000, 0), (15000, 0)])}
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("V", 10_000, 0)], roads=[road])
    data = load(project)
    times = {mode: run_analysis(data, project.params.replace(mode=mode)).villages.iloc[0]["prim_min"]
             for mode in ("walking", "motorbike", "car")}
    assert times["walking"] == pytest.approx(minutes_for(10_000, 5), rel=0.03)    # 5 km/h on a main road
    assert times["motorbike"] == pytest.approx(minutes_for(10_000, 40), rel=0.05)
    assert times["car"] == pytest.approx(minutes_for(10_000, 50), rel=0.05)


def test_referral_minutes(tmp_path):
    project = make_project(tmp_path, facilities=[facility("H", 0, 0, secondary=True), facility("P", 6000, 0)],
                           villages=[village("V", 100, 0)])
    f = run_analysis(load(project), project.params).facilities.set_index("fac_id")
    assert f.loc["H", "ref_min"] == 0
    assert f.loc["P", "ref_min"] == pytest.approx(minutes_for(6000), rel=0.03)


def test_capacity_aware_coverage(tmp_path):
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True, capacity=150)],
                           villages=[village("NEAR", 1000, 0, 100), village("FAR", 2000, 0, 100)])
    result = run_analysis(load(project), project.params)
    v = result.villages.set_index("pcode")
    assert v.loc["NEAR", "served_pop"] == 100 and v.loc["FAR", "served_pop"] == 50
    assert result.capacity["unserved_pop"].sum() == 50


def test_no_facilities_layer(tmp_path):
    project = make_project(tmp_path, facilities=[facility("P", 0, 0)], villages=[village("V", 100, 0)])
    project.layers = [ref for ref in project.layers if ref.role != "facilities"]
    with pytest.raises(InputError, match="no health facilities layer"):
        run_analysis(load(project), project.params)


def test_user_defined_mode(tmp_path):
    road = {"road_class": "main", "geometry": line([(-15000, 0), (15000, 0)])}
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("V", 10_000, 0)], roads=[road])
    speeds = AnalysisParams().speeds_kmh | {"bicycle": {"main": 15, "secondary": 12, "tertiary": 10, "track": 8,
                                                         "path": 6, "off_road": None}}
    params = project.params.replace(mode="bicycle", speeds_kmh=speeds)
    got = run_analysis(load(project), params).villages.iloc[0]["prim_min"]
    assert got == pytest.approx(minutes_for(10_000, 15), rel=0.03)
    with pytest.raises(ValueError, match="unknown travel mode 'boat'"):
        project.params.replace(mode="boat")


def test_facility_in_a_no_go_zone_is_reported_not_dropped_silently(tmp_path):
    zone = {"zone_id": "Z", "kind": "no_go", "speed_factor": 0.0, "delay_minutes": 0.0, "valid_from": None,
            "valid_to": None, "geometry": at(5000, 0).buffer(0.01)}
    project = make_project(tmp_path, facilities=[facility("OK", 0, 0, secondary=True), facility("INZONE", 5000, 0)],
                           villages=[village("V", 1000, 0)], zones=[zone])
    result = run_analysis(load(project), project.params)
    assert any("INZONE" in p.message and "no-go zone" in p.message for p in result.problems)
    f = result.facilities.set_index("fac_id")
    assert not f.loc["INZONE", "on_grid"] and f.loc["OK", "on_grid"]


def test_villages_without_any_reach_are_counted_with_their_people_and_why(tmp_path):
    """A 1 km wide river (a polygon) with no crossing: a village in its middle lies on water (500 m from
    either bank, beyond the 354 m a village on water borrows from), one beyond it on land cut off."""
    band = shapely.Polygon([at(x, y).coords[0] for x, y in
                            [(1500, -40000), (2500, -40000), (2500, 40000), (1500, 40000)]])
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("NEAR", 1000, 0, 50.0), village("MID", 2000, 0, 120.0),
                                     village("FAR", 5000, 0, 300.0)],
                           rivers=[{"name": "Wide river", "geometry": band}])
    result = run_analysis(load(project), AnalysisParams(cell_size_m=100))
    v = result.villages.set_index("pcode")
    assert np.isfinite(v.loc["NEAR", "prim_min"]) and v.loc[["MID", "FAR"], "prim_min"].isna().all()
    warning = next(p.message for p in result.problems if "cannot reach any counting facility" in p.message)
    assert warning.startswith("2 villages (420 people) cannot reach any counting facility")
    assert "1 lie on water at 100 m resolution" in warning and "1 lie on land cut off by water" in warning


def _box(x0, y0, x1, y1):
    return shapely.Polygon([(p.x, p.y) for p in (at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1))])


NESTED = [{"zone_id": "RISK", "kind": "risk", "speed_factor": 1.0, "delay_minutes": 10.0, "valid_from": None,
           "valid_to": None, "geometry": _box(3000, -15000, 9000, 15000)},
          {"zone_id": "CORE", "kind": "restricted", "speed_factor": 1.0, "delay_minutes": 30.0, "valid_from": None,
           "valid_to": None, "geometry": _box(5000, -15000, 7000, 15000)}]


@pytest.mark.parametrize("facility_x, village_x, delays", [
    (0, 6000, 0),        # from the core out: leaving zones costs nothing (the risk zone's 10 min was charged)
    (6000, 0, 10 + 30),  # into the core: the risk zone's delay, then the core's
    (6000, 8000, 30),    # from the risk zone into the core: the core's only
])
def test_nested_zones_cost_each_entry_once_and_no_exit(tmp_path, facility_x, village_x, delays):
    """A restricted core (30 min) inside a risk zone (10 min), speeds unchanged: a patient pays each zone's
    delay on entering it, nothing on leaving one for the other."""
    project = make_project(tmp_path, facilities=[facility("P", facility_x, 0, secondary=True)],
                           villages=[village("V", village_x, 0)], zones=NESTED)
    result = run_analysis(load(project), project.params)
    assert result.friction.zone_entry_s is not None
    expected = minutes_for(abs(village_x - facility_x)) + delays
    assert result.villages.iloc[0]["prim_min"] == pytest.approx(expected, rel=0.03)


def test_zones_overlapping_in_part_cost_the_largest_delay_entered_at_once(tmp_path):
    """Entering the overlap of two zones straight from outside costs the larger delay (30 min), as the cell's
    entry delay says; walking on from it into either zone alone costs nothing."""
    zones = [dict(NESTED[0], geometry=_box(3000, -15000, 9000, 500)),
             dict(NESTED[1], geometry=_box(3000, 0, 9000, 15000))]
    project = make_project(tmp_path, facilities=[facility("P", 6000, 250, secondary=True)],
                           villages=[village("V", 0, 250)], zones=zones)
    result = run_analysis(load(project), project.params)
    assert result.villages.iloc[0]["prim_min"] == pytest.approx(minutes_for(6000) + 30, rel=0.03)
