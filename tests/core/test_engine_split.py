"""Split search (``travel_time(threads=N)``): the same minutes as one thread bit for bit, the
same allocation except on exact ties, with every option; edits of a split result equal edits
of a one-thread result; cancellation and errors stop every band thread."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from coverage_app.core.feedback import Cancelled
from coverage_app.core.travel import engine
from coverage_app.core.travel.search import row_cuts


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    engine.warm_up()


def band_threads():
    return [t for t in threading.enumerate() if t.name.startswith("travel-band")]


def case(seed, shape=(64, 75), barriers=0.08, n_sources=7, rows_from=0, rows_to=None):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0.05, 1.0, shape).astype(np.float32)
    cost[rng.random(shape) < barriers] = np.inf
    rows_to = shape[0] if rows_to is None else rows_to
    cand = np.flatnonzero(np.isfinite(cost[rows_from:rows_to]).ravel())
    pick = rng.choice(cand, min(n_sources, cand.size), replace=False)
    r, c = np.unravel_index(pick, (rows_to - rows_from, shape[1]))
    return cost, r + rows_from, c, np.arange(10, 10 + len(r))


def assert_same(split, one, cost, cell, kw):
    """Minutes bit for bit; allocation equal except where the other source is exactly as near
    (checked with a one-source run of each source involved)."""
    assert np.array_equal(split.minutes, one.minutes, equal_nan=True)
    assert np.array_equal(split.seconds, one.seconds)
    diff = np.argwhere(split.allocation != one.allocation)
    assert len(diff) <= 20, f"{len(diff)} allocations differ"
    alone = {}
    for r, c in diff:
        for sid in (split.allocation[r, c], one.allocation[r, c]):
            if sid not in alone:
                i = int(np.flatnonzero(one.source_ids == sid)[0])
                alone[sid] = engine.travel_time(cost, cell, [one.source_rows[i]],
                                                [one.source_cols[i]], [sid], threads=1,
                                                **kw).seconds
            assert alone[sid][r, c] == one.seconds[r, c]


def run_both(cost, r, c, ids, threads=2, cell=100.0, **kw):
    one = engine.travel_time(cost, cell, r, c, ids, threads=1, **kw)
    split = engine.travel_time(cost, cell, r, c, ids, threads=threads, **kw)
    assert_same(split, one, cost, cell, kw)
    # the records were filled alike by several threads: same cell count and queue parameters
    assert (split.n_passable, split.bucket_width_s, split.n_buckets) == (
        one.n_passable, one.bucket_width_s, one.n_buckets)
    return split, one


def zones_and_slope(shape, seed):
    rng = np.random.default_rng(seed)
    zone = np.zeros(shape, np.int32)
    zone[10:30, 20:50] = 1  # straddles the cut
    zone[shape[0] // 2 - 3: shape[0] // 2 + 2, :] = 2  # a band along the cut
    delay = np.where(zone > 0, rng.uniform(0, 900, shape), 0).astype(np.float32)
    elev = np.cumsum(rng.normal(0, 40, shape), axis=0).astype(np.float32)
    mask = rng.random(shape) < 0.8
    return dict(zone_label=zone, entry_delay_s=delay, elevation_m=elev, tobler_mask=mask)


@pytest.mark.parametrize("neighbours", [8, 16])
@pytest.mark.parametrize("threads", [2, 3, 7])
@pytest.mark.parametrize("seed", range(3))
def test_split_equals_one_thread_on_random_grids(neighbours, threads, seed):
    cost, r, c, ids = case(seed)
    run_both(cost, r, c, ids, threads, neighbours=neighbours)


@pytest.mark.parametrize("neighbours", [8, 16])
@pytest.mark.parametrize("options", ["zones", "slope", "both", "cutoff", "all"])
def test_split_equals_one_thread_with_zones_slope_and_cutoff(neighbours, options):
    cost, r, c, ids = case(5, n_sources=4)
    extra = zones_and_slope(cost.shape, 5)
    kw = {"neighbours": neighbours}
    if options in ("zones", "both", "all"):
        kw.update(zone_label=extra["zone_label"], entry_delay_s=extra["entry_delay_s"])
    if options in ("slope", "both", "all"):
        kw.update(elevation_m=extra["elevation_m"], tobler_mask=extra["tobler_mask"])
    if options in ("cutoff", "all"):
        kw["max_minutes"] = 8.0
    split, one = run_both(cost, r, c, ids, 2, **kw)
    if "max_minutes" in kw:  # the cut-off really cuts
        assert np.isnan(one.minutes[np.isfinite(cost)]).any()


@pytest.mark.parametrize("neighbours", [8, 16])
@pytest.mark.parametrize("half", ["top", "bottom"])
def test_sources_in_one_band_reach_the_other_through_the_repair(neighbours, half):
    shape = (60, 50)
    lo, hi = (0, 20) if half == "top" else (40, 60)
    cost, r, c, ids = case(2, shape, rows_from=lo, rows_to=hi, n_sources=3)
    split, one = run_both(cost, r, c, ids, 2, neighbours=neighbours)
    far = slice(40, 60) if half == "top" else slice(0, 20)
    assert np.isfinite(split.minutes[far]).any()


@pytest.mark.parametrize("neighbours", [8, 16])
@pytest.mark.parametrize("offset", [-2, -1, 0, 1])
def test_barrier_row_at_the_cut_with_one_gap(neighbours, offset):
    shape = (50, 40)
    cost = np.random.default_rng(1).uniform(0.1, 1.0, shape).astype(np.float32)
    m = int(row_cuts(np.isfinite(cost).sum(1), 2)[0])
    cost[m + offset, :] = np.inf
    cost[m + offset, 33] = 0.5  # the only way across
    split, one = run_both(cost, [3, 5], [4, 20], [1, 2], 2, neighbours=neighbours)
    below = split.minutes[m + offset + 1:]
    assert np.isfinite(below).all() and (below > 0).all()


@pytest.mark.parametrize("neighbours", [8, 16])
def test_sources_on_the_cut_rows(neighbours):
    shape = (40, 45)
    cost, _, _, _ = case(3, shape, barriers=0.0)
    m = int(row_cuts(np.isfinite(cost).sum(1), 2)[0])
    r = [m - 2, m - 1, m, m + 1, m, m]
    c = [5, 12, 20, 30, 40, 20]  # the last one shares a cell with an earlier one
    run_both(cost, r, c, [1, 2, 3, 4, 5, 6], 2, neighbours=neighbours)


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (2, 2), (3, 5), (5, 1), (4, 4)])
@pytest.mark.parametrize("threads", [2, 4])
def test_tiny_grids(shape, threads):
    cost = np.ones(shape, np.float32)
    for neighbours in (8, 16):
        run_both(cost, [shape[0] - 1], [0], [7], threads, neighbours=neighbours)


def test_row_cuts_balance_passable_cells():
    row_n = np.array([0, 0, 10, 10, 10, 10, 0, 0])
    assert row_cuts(row_n, 2).tolist() == [4]
    assert row_cuts(row_n, 1).tolist() == []
    assert row_cuts(np.array([5]), 2).tolist() == []
    assert row_cuts(np.zeros(6, int), 2).tolist() == []
    cuts = row_cuts(np.ones(3, int), 8)  # more bands than rows: one band a row at most
    assert cuts.tolist() == [1, 2]


@pytest.mark.parametrize("neighbours", [8, 16])
@pytest.mark.parametrize("max_minutes", [None, 30.0])
def test_edits_of_a_split_result_equal_edits_of_a_one_thread_result(neighbours, max_minutes):
    cost, r, c, ids = case(4, n_sources=12)
    split, one = run_both(cost, r, c, ids, 2, neighbours=neighbours, max_minutes=max_minutes)
    kw = dict(neighbours=neighbours, max_minutes=max_minutes)
    for sid in ids[:4]:
        split = engine.remove_source(split, sid, cost, 100.0, **kw)
        one = engine.remove_source(one, sid, cost, 100.0, **kw)
        assert np.array_equal(split.minutes, one.minutes, equal_nan=True)
        assert np.array_equal(split.seconds, one.seconds)
    col = int(np.flatnonzero(np.isfinite(cost[32]))[0])  # on the cut row of 64
    split = engine.add_source(split, 32, col, 99, cost, 100.0, **kw)
    one = engine.add_source(one, 32, col, 99, cost, 100.0, **kw)
    assert np.array_equal(split.minutes, one.minutes, equal_nan=True)
    assert np.array_equal(split.allocation, one.allocation)
    full = engine.travel_time(cost, 100.0, split.source_rows, split.source_cols,
                              split.source_ids, threads=1, **kw)
    assert np.array_equal(split.minutes, full.minutes, equal_nan=True)


def test_bad_threads_raise_value_error():
    cost = np.ones((5, 5), np.float32)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads"):
            engine.travel_time(cost, 10.0, [0], [0], [1], threads=bad)


class Stopper:
    """Feedback that records which band threads run at each progress call and cancels (or
    raises ``error``) at the first one."""

    def __init__(self, error=None):
        self.alive, self.error = [], error

    def progress(self, fraction, message=""):
        self.alive.append(len(band_threads()))
        if self.error is not None:
            raise self.error

    def cancelled(self):
        return bool(self.alive)


def big_case():
    rng = np.random.default_rng(0)
    cost = rng.uniform(0.05, 1.0, (1200, 1200)).astype(np.float32)
    return cost, rng.integers(0, 1200, 20), rng.integers(0, 1200, 20), np.arange(20)


@pytest.mark.parametrize("error", [None, RuntimeError("listener broke")])
def test_cancel_or_error_during_a_split_search_stops_every_band(error):
    cost, r, c, ids = big_case()
    fb = Stopper(error)
    with pytest.raises(Cancelled if error is None else RuntimeError):
        engine.travel_time(cost, 100.0, r, c, ids, neighbours=8, threads=2, feedback=fb)
    assert fb.alive[0] == 2  # the bands were running when it stopped
    assert band_threads() == []


class Recorder:
    def __init__(self):
        self.fractions, self.alive = [], []

    def progress(self, fraction, message=""):
        self.fractions.append(fraction)
        self.alive.append(len(band_threads()))

    def cancelled(self):
        return False


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one CPU: threads=None means one thread")
def test_default_splits_large_grids_and_reports_progress_in_order(monkeypatch):
    monkeypatch.setattr(engine, "SPLIT_MIN_CELLS", 1_000_000)  # the 1.44 M-cell case is large
    cost, r, c, ids = big_case()
    fb = Recorder()
    res = engine.travel_time(cost, 100.0, r, c, ids, neighbours=8, feedback=fb)
    assert max(fb.alive) == 2 and band_threads() == []
    assert fb.fractions == sorted(fb.fractions) and fb.fractions[-1] == 1.0
    assert 0.0 <= fb.fractions[0]
    one = engine.travel_time(cost, 100.0, r, c, ids, neighbours=8, threads=1)
    assert np.array_equal(res.minutes, one.minutes, equal_nan=True)
    small = Recorder()
    engine.travel_time(cost[:100], 100.0, [0], [0], [1], feedback=small)  # below the threshold
    assert max(small.alive) == 0


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_bad_cells_found_by_several_fill_threads_are_named_in_raster_order(threads):
    cost = np.ones((40, 30), np.float32)
    cost[31, 4] = -1.0
    cost[12, 20] = -2.0
    with pytest.raises(ValueError, match="row 12, col 20"):
        engine.travel_time(cost, 10.0, [0], [0], [1], threads=threads)
    zone = np.zeros(cost.shape, np.int32)
    zone[25:, :] = 1
    zone[5, 7] = 2
    delay = np.ones(cost.shape, np.float32)
    delay[5, 7] = np.nan
    delay[33, 3] = -1.0
    with pytest.raises(ValueError, match="row 5, col 7"):
        engine.travel_time(np.ones_like(cost), 10.0, [0], [0], [1], zone_label=zone,
                           entry_delay_s=delay, threads=threads)
