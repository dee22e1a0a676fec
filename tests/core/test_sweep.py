"""Sweeps on the bundled Sagaing data (2000 m cells): a draw equals a full analysis, draws
re-run alone give the same numbers, and dask runs (a LocalCluster and a scheduler address)
equal a serial run with the same seed."""

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.analysis.sweep import numba_cache_stats, prepare_sweep, run_sweep
from coverage_app.core.analysis.sweep_spec import parse_spec
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.errors import InputError
from coverage_app.core.feedback import Cancelled
from coverage_app.core.outputs.sweep_export import export_sweep, read_run_record

COARSE = {"cell_size_m": 2000.0, "as_of": "2024-06-01"}
VARIED = {"version": 1, "draws": 6, "seed": 5, "analysis": COARSE,
          "cases": {"modes": ["walking", "motorbike"]},
          "vary": {"unknown_functioning": 0.7, "speeds": {"uniform": [0.8, 1.2]},
                   "zone_speed_factor": {"triangular": [0.6, 1.0, 1.2]}, "zone_delay": {"uniform": [0.5, 1.5]},
                   "params": {"primary_minutes": {"uniform": [50, 70]}}}}


@pytest.fixture(scope="module")
def data(bundled_project_path):
    return load_project_data(load_project(bundled_project_path))


def spec_of(raw, data):
    return parse_spec(raw, project=data.project)


@pytest.fixture(scope="module")
def serial(data):
    return run_sweep(spec_of(VARIED, data), scheduler="serial", data=data)


def assert_same(a, b):
    assert a.raw.keys() == b.raw.keys()
    for case in a.raw:
        for name in a.raw[case]:
            assert np.array_equal(a.raw[case][name], b.raw[case][name], equal_nan=True), (case, name)
    pd.testing.assert_frame_equal(a.series, b.series)
    pd.testing.assert_frame_equal(pd.DataFrame(a.villages.drop(columns="geometry")),
                                  pd.DataFrame(b.villages.drop(columns="geometry")))


def test_a_draw_with_nothing_varied_is_the_full_analysis(data):
    spec = spec_of({"version": 1, "draws": 2, "analysis": COARSE, "cases": {"modes": ["walking", "car"]}}, data)
    res = run_sweep(spec, scheduler="serial", data=data)
    for case in spec.cases:
        full = run_analysis(data, spec.base_params.replace(mode=case.mode))
        v = res.villages[res.villages["case"] == case.index]
        for short in ("prim", "sec"):
            expect = full.villages[f"{short}_min"].to_numpy()
            for q in (5, 50, 95):  # every draw is the same analysis
                assert np.array_equal(v[f"{short}_min{q}"].to_numpy(), expect, equal_nan=True)
        ok_p = full.villages["gap"].isin(["none", "secondary"]).to_numpy()
        assert np.array_equal(v["p_prim"].to_numpy(), ok_p.astype(float))
        h = full.headline()
        row = res.series.iloc[case.index]
        assert row["prim_pct50"] == round(100 * h["share_primary"], 2)
        assert row["sec_pct5"] == row["sec_pct95"] == round(100 * h["share_secondary"], 2)
        t = res.townships[res.townships["case"] == case.index].merge(full.townships[["pcode", "pct_prim"]],
                                                                     on="pcode")
        assert (t["prim_pct50"] == t["pct_prim"]).all()


def test_unmapped_track_speed_drawn_equals_a_full_run_at_that_speed(data):
    """The last-mile speed is the largest single uncertainty of motorised access: a draw that
    halves the car's unmapped-track speed gives exactly a full run at half that speed."""
    spec = spec_of({"version": 1, "draws": 1, "analysis": COARSE, "cases": {"modes": ["car"]},
                    "vary": {"unmapped.car": 0.5}}, data)
    res = run_sweep(spec, scheduler="serial", data=data)
    base = spec.base_params.replace(mode="car")
    slower = run_analysis(data, base.replace(unmapped_kmh={**base.unmapped_kmh, "car": base.unmapped_kmh["car"] * 0.5}))
    central = run_analysis(data, base)
    row = res.series.iloc[0]
    assert row["prim_pct50"] == round(100 * slower.headline()["share_primary"], 2)
    assert slower.headline()["share_primary"] < central.headline()["share_primary"]
    with pytest.raises(InputError, match="unmapped.walking"):
        spec_of({"version": 1, "draws": 1, "analysis": COARSE, "vary": {"unmapped.walking": 0.5}}, data)


def test_varied_draws_spread_and_probabilities(serial):
    d = serial.draw_table
    assert len(d) == 12 and d.groupby("case")["share_prim"].nunique().min() == 6  # the draws differ
    for case in serial.cases:
        r, s = serial.raw[case.index], serial.series.iloc[case.index]
        assert s["prim_pct5"] <= s["prim_pct50"] <= s["prim_pct95"]
        assert s["prim_pct5"] >= r["share_prim"].min() and s["prim_pct95"] <= r["share_prim"].max()
        v = serial.villages[serial.villages["case"] == case.index]
        # p_prim is the share of draws within the drawn threshold: recount by hand from the minutes
        thresholds = np.array([dp.params["primary_minutes"] for dp in serial.draws])
        # in tenths of a minute, as times and thresholds are given (the float32 minutes stored per draw
        # sit a hair above or below their tenth)
        tenths = np.round(r["prim"].astype("float64") * 10)
        hand = (tenths <= np.round(thresholds * 10)[:, None]).mean(axis=0).round(3)
        assert np.array_equal(v["p_prim"].to_numpy(), hand)
        # a village's 5th percentile minutes never exceed its 95th; NaN only where unreached
        lo, hi = v["prim_min5"].to_numpy(), v["prim_min95"].to_numpy()
        both = ~np.isnan(lo) & ~np.isnan(hi)
        assert (lo[both] <= hi[both]).all()
    # motorbikes reach more people than walking in every draw (same drawn parameters)
    walk, moto = d[d.case == 0]["share_prim"].to_numpy(), d[d.case == 1]["share_prim"].to_numpy()
    assert (moto > walk).all()


def test_one_draw_rerun_alone_gives_the_same_numbers(serial, data):
    again = run_sweep(spec_of(VARIED, data), scheduler="serial", data=data, only_draws=[4])
    assert again.draws[0] == serial.draws[4]
    for case in serial.raw:
        for name in ("prim", "sec", "ok_prim", "share_prim", "tsp_sec"):
            assert np.array_equal(again.raw[case][name][0], serial.raw[case][name][4], equal_nan=True)
    with pytest.raises(InputError, match="draw 6 is not in this sweep"):
        run_sweep(spec_of(VARIED, data), scheduler="serial", data=data, only_draws=[6])


def test_friction_prepared_once_per_distinct_input(data):
    raw = {"version": 1, "draws": 3, "seed": 1, "analysis": COARSE, "vary": {"unknown_functioning": 0.5},
           "cases": {"as_of": ["2021-06-01", "2021-07-01", "2024-06-01"]}}
    spec = spec_of(raw, data)
    groups, _ = prepare_sweep(spec, data)
    zones = data.role("conflict_zones")
    from coverage_app.core.travel.friction import zones_valid_on

    distinct = {tuple(sorted(zones_valid_on(zones, c.as_of)["zone_id"])) for c in spec.cases}
    assert len(groups) == len(distinct)  # dates with the same zones in force share one friction
    assert all(g.friction is not None and g.prepared is not None for g in groups)  # built before the draws
    assert all(ci.sources is not None for g in groups for ci in g.cases)
    varied, _ = prepare_sweep(spec_of(VARIED, data), data)
    assert all(g.friction is None for g in varied)  # drawn speeds: built in each draw


def test_export_written_and_read_back(serial, tmp_path):
    files = {p.name for p in export_sweep(serial, tmp_path)}
    assert {"sweep.gpkg", "villages.shp", "townships.shp", "villages.csv", "townships.csv", "series.csv",
            "draws.csv", "run.json"} <= files
    gp = gpd.read_file(tmp_path / "sweep.gpkg", layer="villages")
    shp = gpd.read_file(tmp_path / "villages.shp")
    csv = pd.read_csv(tmp_path / "villages.csv")
    assert len(gp) == len(shp) == len(csv) == len(serial.villages)
    for col in ("p_prim", "p_sec", "prim_min5", "prim_min50", "sec_min95"):
        assert np.allclose(gp[col], serial.villages[col], equal_nan=True)
        assert np.allclose(shp[col], serial.villages[col], equal_nan=True)
        assert np.allclose(csv[col], serial.villages[col], equal_nan=True)
    tsp = gpd.read_file(tmp_path / "townships.shp")
    assert set(tsp.columns) >= {"prim_pct5", "prim_pct50", "sec_pct95"} and len(tsp) == len(serial.townships)
    record = read_run_record(tmp_path)
    assert record["seed"] == 5 and len(record["draws"]) == 6 and record["spec"]["vary"]["unknown_functioning"] == 0.7
    assert record["draws"][2] == json.loads(json.dumps(serial.draws[2].to_dict()))
    series = pd.read_csv(tmp_path / "series.csv")
    assert list(series["mode"]) == ["walking", "motorbike"] and list(series["as_of"]) == ["2024-06-01"] * 2


def test_export_to_a_file_is_refused(serial, tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    with pytest.raises(InputError, match="the output folder is a file"):
        export_sweep(serial, target)
    assert target.read_text() == "keep me"


def test_bad_scheduler_address_is_a_clear_error(data):
    spec = spec_of({"version": 1, "draws": 1, "analysis": COARSE}, data)
    with pytest.raises(InputError, match="cannot reach the dask scheduler at tcp://127.0.0.1:9"):
        run_sweep(spec, scheduler="tcp://127.0.0.1:9", data=data)


# ----------------------------------------------------------------------------- dask

@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as c:
        yield c


def test_local_cluster_equals_serial(serial, data):
    res = run_sweep(spec_of(VARIED, data), workers=2, data=data)  # its own LocalCluster of 2 processes
    assert res.workers == 2 and res.scheduler.startswith("tcp://127.0.0.1:")
    assert_same(serial, res)
    # each worker loaded the engine's kernels from numba's disk cache: nothing recompiled
    assert len({c["pid"] for c in res.worker_cache}) == 2
    assert all(c["misses"] == 0 and c["hits"] > 0 for c in res.worker_cache), res.worker_cache


def test_scheduler_address_equals_serial(serial, data, cluster):
    res = run_sweep(spec_of(VARIED, data), scheduler=cluster.scheduler_address, data=data)
    assert res.scheduler == cluster.scheduler_address and res.workers == 2
    assert_same(serial, res)


def test_a_lost_worker_costs_only_its_tasks(serial, data, cluster):
    import os

    from distributed import Client

    def die_soon():  # the worker process exits a moment later, while it runs a task
        import threading

        threading.Timer(0.05, os._exit, args=(1,)).start()

    killer = Client(cluster.scheduler_address)
    first = sorted(killer.scheduler_info()["workers"])[0]
    state = {"killed": False}

    class KillOnce:
        def progress(self, fraction, message=""):
            # the first report of finished tasks, while most are still to run (two tasks may
            # finish in one wait, so the count can skip a number)
            finished = re.match(r"Draw (\d+) of (\d+)", message)
            if finished and int(finished[1]) <= int(finished[2]) // 2 and not state["killed"]:
                state["killed"] = True
                # the worker may die before its reply to run() is sent (a loaded host): that is
                # the point, so the broken reply is not an error of the test
                killer.run(die_soon, workers=[first], on_error="ignore")

        def cancelled(self):
            return False

    try:
        res = run_sweep(spec_of(VARIED, data), scheduler=cluster.scheduler_address, data=data, feedback=KillOnce())
    finally:
        killer.close()
    assert state["killed"]
    assert_same(serial, res)


def test_inputs_lost_with_a_worker_are_sent_again(serial, data, cluster):
    """dask's memory manager keeps one copy of a broadcast that no queued task needs elsewhere, so a
    worker can die with the only copy of a group's inputs: its draws are then cancelled. The sweep
    sends the inputs again and runs those draws (here the inputs are dropped on purpose)."""
    from distributed import Client, Future

    other = Client(cluster.scheduler_address)
    state = {"dropped": 0}

    class DropInputsOnce:
        def progress(self, fraction, message=""):
            if message.startswith("Draw ") and not state["dropped"]:
                keys = other.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks
                                                                      if str(k).startswith("Group-")])
                other.cancel([Future(k, client=other) for k in keys], force=True)
                state["dropped"] = len(keys)

        def cancelled(self):
            return False

    try:
        res = run_sweep(spec_of(VARIED, data), scheduler=cluster.scheduler_address, data=data,
                        feedback=DropInputsOnce())
    finally:
        other.close()
    assert state["dropped"] == 2  # both groups' inputs
    assert_same(serial, res)


def test_cancel_stops_the_tasks(data, cluster):
    from distributed import Client

    class CancelAfterFirst:
        seen = 0

        def progress(self, fraction, message=""):
            self.seen += message.startswith("Draw ")

        def cancelled(self):
            return self.seen >= 1

    spec = spec_of(VARIED | {"draws": 40}, data)
    with pytest.raises(Cancelled):
        run_sweep(spec, scheduler=cluster.scheduler_address, data=data, feedback=CancelAfterFirst())
    with Client(cluster.scheduler_address) as c:
        import time

        for _ in range(200):  # up to 20 s: a loaded host forgets the cancelled tasks slowly
            left = c.run_on_scheduler(lambda dask_scheduler: [k for k in dask_scheduler.tasks
                                                              if str(k).startswith("sweep-")])
            if not left:
                break
            time.sleep(0.1)
        assert left == []


def test_main_process_cache_is_warm():
    from coverage_app.core.travel import engine

    engine.warm_up()
    assert numba_cache_stats()["hits"] + numba_cache_stats()["misses"] > 0
