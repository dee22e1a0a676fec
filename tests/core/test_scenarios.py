"""Scenarios on the real bundled Sagaing data: closures, new clinics, comparison, incremental edits."""

import numpy as np
import pytest
import shapely

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.errors import InputError
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.analysis.scenarios import compare, share_outputs, update_result
from tests.synthetic import facility, load, make_project, village

COARSE_M = 1000.0


@pytest.fixture(scope="module")
def sagaing(bundled_project_path):
    project = load_project(bundled_project_path)
    data = load_project_data(project)
    params = project.params.replace(cell_size_m=COARSE_M, mode="motorbike")
    return project, data, params, run_analysis(data, params)


def secondary_ids(result, n):
    f = result.facilities
    return list(f.loc[f.counts_secondary & f.on_grid, "fac_id"].iloc[:n])


def test_closing_three_secondary_hospitals_shows_villages_losing_access(sagaing):
    project, data, params, base = sagaing
    closed = secondary_ids(base, 3)
    scenario = {"name": "three hospitals closed", "as_of": None,
                "edits": [{"type": "set_status", "fac_id": f, "status": "closed", "date": "2025-01-01"}
                          for f in closed]}
    after = run_analysis(data, params, scenario)
    diff = compare(base, after)
    losing = diff.villages[diff.villages.change == "loses_secondary"]
    assert len(losing) > 0
    assert (losing.gap_a.isin(["none", "primary"])).all()
    assert diff.summary()["pop_lose_sec"] == pytest.approx(losing.population.sum())
    assert diff.summary()["pop_gain_sec"] == 0
    by_ts = diff.townships.set_index("pcode")
    assert by_ts["pop_lose_sec"].sum() == pytest.approx(losing.population.sum())
    assert after.headline()["facilities_counted_secondary"] == base.headline()["facilities_counted_secondary"] - 3


def test_edit_dated_after_the_analysis_date_is_not_applied(sagaing):
    project, data, params, base = sagaing
    scenario = {"name": "future", "as_of": "2025-06-01",
                "edits": [{"type": "set_status", "fac_id": f, "status": "destroyed", "date": "2026-01-01"}
                          for f in secondary_ids(base, 3)]}
    later = run_analysis(data, params, scenario)
    assert later.headline()["facilities_counted_secondary"] == base.headline()["facilities_counted_secondary"]


def test_unknown_facility_in_scenario(sagaing):
    project, data, params, base = sagaing
    with pytest.raises(InputError, match="no facility with id 'NOPE'"):
        run_analysis(data, params, {"name": "x", "edits": [{"type": "set_status", "fac_id": "NOPE",
                                                             "status": "closed"}]})


def test_bad_status_in_scenario(sagaing):
    project, data, params, base = sagaing
    with pytest.raises(InputError, match="status must be one of"):
        run_analysis(data, params, {"name": "x", "edits": [{"type": "set_status", "fac_id": "X", "status": "gone"}]})


def assert_same(incremental, full):
    for tier in ("primary", "secondary"):
        a, b = incremental.tiers[tier], full.tiers[tier]
        np.testing.assert_array_equal(np.isnan(a.minutes), np.isnan(b.minutes))
        np.testing.assert_allclose(a.minutes, b.minutes, rtol=1e-6, equal_nan=True)
    cols = ["pcode", "prim_min", "sec_min", "gap"]
    assert incremental.villages[cols].equals(full.villages[cols])
    assert incremental.townships.drop(columns="geometry").equals(full.townships.drop(columns="geometry"))
    key = ["tier", "fac_id", "band_min"]
    ci = incremental.catchments.sort_values(key).reset_index(drop=True)
    cf = full.catchments.sort_values(key).reset_index(drop=True)
    assert ci[key + ["pop"]].equals(cf[key + ["pop"]])
    np.testing.assert_allclose(ci.area_km2, cf.area_km2, rtol=1e-6)


def test_incremental_close_equals_full_run(sagaing):
    project, data, params, base = sagaing
    fac = secondary_ids(base, 1)[0]
    edit = {"type": "set_status", "fac_id": fac, "status": "destroyed", "date": "2025-01-01"}
    scenario = {"name": "s", "as_of": None, "edits": [edit]}
    assert_same(update_result(base, data, scenario, edit), run_analysis(data, params, scenario))


def test_incremental_add_then_reopen_equals_full_run(sagaing):
    project, data, params, base = sagaing
    add = {"type": "add_facility", "fac_id": "MOBILE-1", "name": "Mobile clinic 1", "level": "Mobile clinic",
           "provides_primary": True, "provides_secondary": False, "lon": 95.3, "lat": 22.5, "date": "2025-01-01"}
    s1 = {"name": "s", "as_of": None, "edits": [add]}
    step1 = update_result(base, data, s1, add)
    assert_same(step1, run_analysis(data, params, s1))
    assert "MOBILE-1" in set(step1.villages.prim_fac)
    # the new clinic is placed in the township it lies in (it has no township code of its own)
    towns = data.role("townships")
    inside = towns[towns.contains(shapely.Point(95.3, 22.5))]["pcode"].tolist()
    assert len(inside) == 1
    new = step1.facilities.set_index("fac_id").loc["MOBILE-1"]
    assert new["township_pcode"] == inside[0]
    kept = step1.facilities[~step1.facilities["is_new"]]
    assert kept["township_pcode"].tolist() == base.facilities["township_pcode"].tolist()  # theirs unchanged
    from coverage_app.core.outputs.export import facility_table_out
    out = facility_table_out(step1).set_index("fac_id")["ts_pcode"]  # and the export says so
    assert out.loc["MOBILE-1"] == inside[0] and out.notna().all()
    close = {"type": "set_status", "fac_id": "MOBILE-1", "status": "closed", "date": "2025-02-01"}
    s2 = {"name": "s", "as_of": None, "edits": [add, close]}
    step2 = update_result(step1, data, s2, close)
    assert_same(step2, run_analysis(data, params, s2))


def tier_bits(result):
    return {t: (r.minutes.view(np.uint32).copy(), r.allocation.copy()) for t, r in result.tiers.items()}


def assert_tier_bits(result, bits):
    for t, (m, a) in bits.items():
        np.testing.assert_array_equal(result.tiers[t].minutes.view(np.uint32), m)
        np.testing.assert_array_equal(result.tiers[t].allocation, a)


def test_what_if_chain_leaves_earlier_results_bitwise_unchanged(sagaing, sharing):
    project, data, params, _ = sagaing
    base = run_analysis(data, params)
    share_outputs(base)  # what the app does after a full run
    b0 = tier_bits(base)
    f1, f2 = secondary_ids(base, 2)
    e1 = {"type": "set_status", "fac_id": f1, "status": "closed", "date": "2025-01-01"}
    e2 = {"type": "set_status", "fac_id": f2, "status": "destroyed", "date": "2025-01-01"}
    s1 = {"name": "s", "as_of": None, "edits": [e1]}
    s2 = {"name": "s", "as_of": None, "edits": [e1, e2]}
    step1 = update_result(base, data, s1, e1)
    assert_tier_bits(base, b0)
    one = tier_bits(step1)
    step2 = update_result(step1, data, s2, e2)  # the child edited again
    assert_tier_bits(base, b0)
    assert_tier_bits(step1, one)
    full = run_analysis(data, params, s2)
    assert_same(step2, full)
    for t in ("primary", "secondary"):
        np.testing.assert_array_equal(step2.tiers[t].minutes, full.tiers[t].minutes)  # exact
    state = step2.tiers["secondary"].engine_state
    if sharing == "cow":  # the chain shares the baseline's pages
        assert state.outputs.image is base.tiers["secondary"].engine_state.outputs.image
        assert base.tiers["secondary"].minutes is base.tiers["secondary"].engine_state.minutes
    else:
        assert state.outputs is None


def assert_tables_identical(incremental, full):
    """Every table of an edited result equals the full run's: values, dtypes, column order, index."""
    import pandas as pd

    for name in ("villages", "townships", "facilities", "curve", "capacity"):
        a, b = getattr(incremental, name), getattr(full, name)
        assert (a is None) == (b is None), name
        if a is not None:
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    key = ["tier", "fac_id", "band_min"]
    ci = incremental.catchments.sort_values(key).reset_index(drop=True)
    cf = full.catchments.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(ci.drop(columns="geometry"), cf.drop(columns="geometry"), check_exact=True)
    assert incremental.problems == full.problems
    assert incremental.population_basis == full.population_basis
    assert incremental.assumed_unknown == full.assumed_unknown


def test_what_if_chain_tables_equal_full_runs_exactly(sagaing):
    """Edited results reuse their parent's village table (and its township sums when no village
    crossed a threshold): each step of a chain of edits equals a full run of its scenario."""
    project, data, params, base = sagaing
    f = base.facilities
    primary = list(f.loc[f.counts_primary & f.on_grid, "fac_id"].iloc[:2])
    add = {"type": "add_facility", "fac_id": "MOBILE-1", "name": "Mobile clinic 1", "level": "Mobile clinic",
           "provides_primary": True, "provides_secondary": False, "lon": 95.3, "lat": 22.5, "date": "2025-01-01"}
    chain = [
        {"type": "set_status", "fac_id": primary[0], "status": "closed", "date": "2025-01-01"},
        {"type": "set_status", "fac_id": primary[1], "status": "partial", "date": "2025-01-01"},  # still counts
        add,
        {"type": "set_status", "fac_id": "MOBILE-1", "status": "closed", "date": "2025-02-01"},
    ]
    result, edits, reused = base, [], []
    for edit in chain:
        edits.append(edit)
        scenario = {"name": "s", "as_of": None, "edits": list(edits)}
        previous, result = result, update_result(result, data, scenario, edit)
        assert_tables_identical(result, run_analysis(data, params, scenario))
        reused.append(result.village_cells is previous.village_cells)
    assert all(reused)  # the parent's village cells, not a reprojection of the villages
    assert result.villages is not base.villages and base.villages["prim_fac"].notna().any()


def test_new_facility_gains_access_in_comparison(tmp_path):
    project = make_project(tmp_path, facilities=[facility("H", 0, 0, secondary=True)],
                           villages=[village("NEAR", 1000, 0), village("FAR", 12_000, 0, 250)])
    data = load(project)
    base = run_analysis(data, project.params)
    add = {"type": "add_facility", "fac_id": "NEW", "name": "New clinic", "lon": float(data.role("villages")
           .geometry.iloc[1].x), "lat": float(data.role("villages").geometry.iloc[1].y)}
    after = run_analysis(data, project.params, {"name": "s", "edits": [add]})
    diff = compare(base, after)
    assert list(diff.villages.pcode) == ["FAR"] and diff.villages.change.iloc[0] == "gains_primary"
    assert diff.summary()["pop_gain_prim"] == 250


def test_new_edit_id_skips_layer_ids_and_ids_of_every_scenario():
    from coverage_app.core.analysis.edits import new_edit_id

    scenarios = [{"edits": [{"type": "add_facility", "fac_id": "NEW-002"}]},
                 {"edits": [{"type": "add_zone", "zone_id": "NEW-003"}]}]
    assert new_edit_id("NEW-", "fac_id", {"NEW-001"}, scenarios) == "NEW-003"  # a zone id does not count
    assert new_edit_id("NEW-", "zone_id", {"NEW-001", "NEW-002"}, scenarios) == "NEW-004"
    assert new_edit_id("ZONE-NEW-", "zone_id", set(), []) == "ZONE-NEW-001"


def test_township_sums_by_counting_equal_the_group_by_path(sagaing, monkeypatch):
    """township_summary counts into the townships' rows (numpy) where populations are whole
    numbers; the table equals the pandas group-by and merge, including villages without a
    township or with an unknown one, a township without villages and missing populations."""
    import pandas as pd

    from coverage_app.core.analysis import tables

    project, data, params, base = sagaing
    townships = data.role("townships")
    v = base.villages.copy()
    v.loc[v.index[:50], "township_pcode"] = None
    v.loc[v.index[50:60], "township_pcode"] = "NOT-A-TOWNSHIP"
    v.loc[v.index[60:70], "population"] = np.nan
    v.loc[v["township_pcode"] == townships["pcode"].iloc[3], "township_pcode"] = "NOT-A-TOWNSHIP"
    counted = {name: tables.township_summary(frame, townships, params) for name, frame in
               (("bundled", base.villages), ("edge cases", v))}
    monkeypatch.setattr(tables, "_township_summary_counts", lambda *a: None)
    for name, frame in (("bundled", base.villages), ("edge cases", v)):
        pd.testing.assert_frame_equal(counted[name], tables.township_summary(frame, townships, params),
                                      check_exact=True, obj=name)
    assert counted["edge cases"]["n_villages"].iloc[3] == 0
    assert np.isnan(counted["edge cases"]["pct_prim"].iloc[3])


@pytest.mark.parametrize("change", [
    {"primary_minutes": 90.0},  # villages cross the threshold: the township sums are new
    {"secondary_minutes": 45.0, "band_minutes": (15.0, 45.0, 90.0, 180.0)},  # new catchment bands
    {"people_per_bed": 200.0},
    {"people_per_bed": None, "primary_minutes": 30.0},
])
def test_new_thresholds_on_a_result_equal_a_full_run(sagaing, change):
    """retabulate: the same searches (grids shared with the result), every table a full run's."""
    from coverage_app.core.analysis.scenarios import retabulate

    _, data, params, base = sagaing
    new = params.replace(**change)
    out = retabulate(base, data, new)
    full = run_analysis(data, new)
    for t in ("primary", "secondary"):
        assert out.tiers[t].minutes is base.tiers[t].minutes and out.tiers[t].allocation is base.tiers[t].allocation
    assert out.friction is base.friction and out.params == new
    assert_tables_identical(out, full)
    assert out.headline() == full.headline()
    key = ["tier", "fac_id", "band_min"]
    geoms = [r.catchments.sort_values(key).geometry.reset_index(drop=True) for r in (out, full)]
    assert geoms[0].geom_equals_exact(geoms[1], 1e-9).all()
    if "band_minutes" in change:
        assert sorted(out.catchments["band_min"].unique()) == [15.0, 45.0, 90.0, 180.0]
    if "primary_minutes" in change:  # the township table is not the one counted with the old threshold
        assert not out.townships["pop_prim"].equals(base.townships["pop_prim"])


def test_new_thresholds_search_again_when_anything_else_changed(sagaing):
    """A change the searches depend on (mode, date, scenario) or a result of another day: a full run."""
    import dataclasses
    import datetime as dt

    from coverage_app.core.analysis.scenarios import retabulate, same_searches

    _, data, params, base = sagaing
    assert same_searches(base, params.replace(primary_minutes=45.0), None)
    closed = {"name": "s", "edits": [{"type": "set_status", "fac_id": secondary_ids(base, 1)[0], "status": "closed"}]}
    yesterday = dataclasses.replace(base, as_of_date=base.as_of_date - dt.timedelta(days=1))
    for result, new, scenario in ((base, params.replace(mode="walking", primary_minutes=45.0), None),
                                  (base, params.replace(as_of=dt.date(2024, 6, 1)), None),
                                  (base, params, closed),
                                  (yesterday, params.replace(primary_minutes=45.0), None)):
        assert not same_searches(result, new, scenario)
    walking = params.replace(mode="walking", primary_minutes=45.0)
    out = retabulate(base, data, walking)
    assert out.tiers["primary"].minutes is not base.tiers["primary"].minutes
    assert_tables_identical(out, run_analysis(data, walking))


def test_an_edit_on_a_result_of_another_day_runs_in_full(sagaing):
    """A result "as of today" counted yesterday: statuses and zones may have changed since, so a
    facility edit on it is a full run on today's date, not an update of yesterday's grids."""
    import dataclasses
    import datetime as dt

    _, data, params, base = sagaing
    f = base.facilities
    fid = str(f.loc[f.counts_primary & ~f.counts_secondary & f.on_grid, "fac_id"].iloc[0])
    scenario = {"name": "s", "edits": [{"type": "set_status", "fac_id": fid, "status": "closed"}]}
    today = update_result(base, data, scenario, scenario["edits"][0])
    assert today.tiers["secondary"].minutes is base.tiers["secondary"].minutes  # the quick path
    assert today.as_of_date == dt.date.today()
    yesterday = dataclasses.replace(base, as_of_date=base.as_of_date - dt.timedelta(days=1))
    again = update_result(yesterday, data, scenario, scenario["edits"][0])
    assert again.tiers["secondary"].minutes is not base.tiers["secondary"].minutes
    assert again.as_of_date == dt.date.today()
    assert_tables_identical(again, today)


def test_a_result_key_names_the_day_it_counts_on(monkeypatch):
    """The app's cache of results: "as of today" computed yesterday is not today's result."""
    import datetime as dt

    from coverage_app.core.data.viewmodel import result_key
    from coverage_app.core.params import AnalysisParams

    params = AnalysisParams()
    today = result_key(params, None)
    assert result_key(params, None) == today
    assert result_key(params.replace(as_of=dt.date.today()), None) != today  # other parameters
    scenario = {"name": "s", "as_of": "2025-06-01", "edits": []}
    dated = result_key(params, scenario)
    monkeypatch.setattr(AnalysisParams, "as_of_date", property(lambda self: self.as_of or dt.date(2031, 1, 2)))
    assert result_key(params, None) != today  # the next day
    assert result_key(params, scenario) == dated  # a scenario's own date does not move


def test_new_thresholds_recount_the_speed_ranges_without_the_two_runs(sagaing, monkeypatch):
    """A result with speed-sensitivity ranges, re-counted for new thresholds: the ranges equal
    those of the low and high runs done again (add_sensitivity on a full run), and no search runs.
    Without the kept village minutes, or for other villages, there are no ranges (the app runs the
    two cases again)."""
    import dataclasses

    import pandas as pd

    from coverage_app.core.analysis import pipeline, scenarios
    from coverage_app.core.analysis.sensitivity import add_sensitivity, recount_sensitivity

    _, data, params, base = sagaing
    with_ranges = add_sensitivity(dataclasses.replace(base), data)
    for change in ({"primary_minutes": 30.0}, {"secondary_minutes": 200.0, "primary_minutes": 90.0}):
        new = params.replace(**change)
        expected = add_sensitivity(run_analysis(data, new), data).sensitivity
        monkeypatch.setattr(pipeline, "run_analysis", lambda *a, **k: pytest.fail("searched again"))
        out = scenarios.retabulate(with_ranges, data, new)
        monkeypatch.undo()
        got = out.sensitivity
        assert got["headline"] == expected["headline"] and got["cases"] == expected["cases"]
        pd.testing.assert_frame_equal(got["townships"], expected["townships"], check_exact=True)
        assert got["headline"] != with_ranges.sensitivity["headline"]  # the thresholds moved the ranges
        for case in ("low", "high"):
            for col in ("prim_min", "sec_min"):
                assert np.array_equal(got["village_minutes"][case][col], expected["village_minutes"][case][col],
                                      equal_nan=True)
    kept = with_ranges.sensitivity
    assert recount_sensitivity({k: v for k, v in kept.items() if k != "village_minutes"}, base, data) is None
    fewer = dataclasses.replace(base, villages=base.villages.iloc[1:])
    assert recount_sensitivity(kept, fewer, data) is None
    assert recount_sensitivity(None, base, data) is None
