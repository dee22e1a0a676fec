"""Ferries in the engine: boarding a ferry costs its delay whatever zone it lies in (a ferry inside a
conflict zone used to take the zone's label and lose its delay), and stepping off it into the zone
around costs nothing more. Hand-computed on uniform grids: the answer is the plain search's seconds
plus the delays the path must pay."""

import numpy as np
import pytest

from coverage_app.core.travel import engine

ROWS, COLS, CELL_M = 90, 40, 50.0
ZONE_S, FERRY_S = 900.0, 600.0


def _plain(rows=(80,), **kw):
    cost = np.full((ROWS, COLS), 0.1, np.float32)
    return cost, engine.travel_time(cost, CELL_M, list(rows), [20] * len(rows), [1] * len(rows), **kw)


def _strip(r0, r1, value=1):
    a = np.zeros((ROWS, COLS), np.int32)
    a[r0:r1, :] = value
    return a


def _opts(zone, ferry, ferry_delays=(0.0, FERRY_S)):
    return dict(zone_label=zone, entry_delay_s=np.where(zone > 0, ZONE_S, 0.0).astype(np.float32),
                ferry_label=ferry, ferry_delay_s=np.asarray(ferry_delays))


@pytest.mark.parametrize("neighbours", [8, 16])
def test_a_ferry_inside_a_zone_costs_its_boarding_delay_once(neighbours):
    """Zone over the whole grid (the facility in it), a ferry across rows 40-45, the facility south of it
    (row 80): north of the ferry the plain time plus the ferry's delay (boarding it on the way south); no
    zone delay (nobody enters the zone), none for stepping off the ferry into the zone around it. From
    the ferry's own cells nobody boards (the delay is paid entering its cells in the direction of
    travel). One label for both lost the ferry's delay; charging the zone on leaving the ferry adds 900 s."""
    cost, base = _plain(neighbours=neighbours)
    res = engine.travel_time(cost, CELL_M, [80], [20], [1], neighbours=neighbours,
                             **_opts(np.ones((ROWS, COLS), np.int32), _strip(40, 46)))
    np.testing.assert_allclose(res.seconds[:40], base.seconds[:40] + FERRY_S, rtol=1e-12)
    np.testing.assert_allclose(res.seconds[40:], base.seconds[40:], rtol=1e-12)


@pytest.mark.parametrize("neighbours", [8, 16])
def test_a_ferry_across_a_zone_boundary_costs_each_delay_once(neighbours):
    """Zone over rows 0-42 with the facility in it (row 10), ferry over rows 40-45: from south of the ferry
    both delays (boarding, then entering the zone while on the ferry), from the ferry's half off the zone
    the zone's, from its half in the zone and from the zone nothing."""
    cost, base = _plain(rows=(10,), neighbours=neighbours)
    res = engine.travel_time(cost, CELL_M, [10], [20], [1], neighbours=neighbours,
                             **_opts(_strip(0, 43, 5), _strip(40, 46)))
    s, b = res.seconds, base.seconds
    np.testing.assert_allclose(s[46:], b[46:] + FERRY_S + ZONE_S, rtol=1e-12)
    np.testing.assert_allclose(s[43:46], b[43:46] + ZONE_S, rtol=1e-12)
    np.testing.assert_allclose(s[:43], b[:43], rtol=1e-12)


def test_two_ferries_side_by_side_each_cost_their_own_delay():
    ferry = _strip(40, 43, 1) + _strip(43, 46, 2)
    cost, base = _plain()
    res = engine.travel_time(cost, CELL_M, [80], [20], [1], ferry_label=ferry,
                             ferry_delay_s=np.array([0.0, 100.0, 250.0]))
    np.testing.assert_allclose(res.seconds[:40], base.seconds[:40] + 350.0, rtol=1e-12)
    np.testing.assert_allclose(res.seconds[40:43], base.seconds[40:43] + 250.0, rtol=1e-12)
    np.testing.assert_allclose(res.seconds[43:], base.seconds[43:], rtol=1e-12)


def _random_case(seed):
    rng = np.random.default_rng(seed)
    cost = (0.05 + rng.random((ROWS, COLS)) * 0.5).astype(np.float32)
    cost[rng.random((ROWS, COLS)) < 0.05] = np.inf
    zone = _strip(10, 60, 3)
    zone[:, 30:] = 0
    ferry = _strip(30, 34, 1) + _strip(70, 73, 2)
    opts = _opts(zone, ferry, (0.0, 420.0, 95.0))
    free = np.flatnonzero(np.isfinite(cost))
    rows, cols = np.unravel_index(rng.choice(free, 12, replace=False), cost.shape)
    return cost, rows, cols, opts


@pytest.mark.parametrize("neighbours", [8, 16])
def test_ferries_alike_on_two_threads_prepared_and_after_edits(neighbours):
    """Split search, prepared records and incremental edits give the full run's times bit for bit."""
    cost, rows, cols, opts = _random_case(3)
    ids = np.arange(len(rows))
    one = engine.travel_time(cost, CELL_M, rows, cols, ids, neighbours=neighbours, threads=1, **opts)
    two = engine.travel_time(cost, CELL_M, rows, cols, ids, neighbours=neighbours, threads=2, **opts)
    prep = engine.travel_time(cost, CELL_M, rows, cols, ids, neighbours=neighbours, threads=1,
                              prepared=engine.prepare(cost, **opts), **opts)
    for other in (two, prep):
        np.testing.assert_array_equal(other.seconds, one.seconds)
    removed = engine.remove_source(one, 4, cost, CELL_M, neighbours=neighbours, **opts)
    keep = ids != 4
    full = engine.travel_time(cost, CELL_M, rows[keep], cols[keep], ids[keep], neighbours=neighbours, **opts)
    np.testing.assert_array_equal(removed.seconds, full.seconds)
    np.testing.assert_array_equal(removed.allocation, full.allocation)
    added = engine.add_source(removed, int(rows[4]), int(cols[4]), 4, cost, CELL_M, neighbours=neighbours,
                              **opts)
    np.testing.assert_array_equal(added.seconds, one.seconds)
    # and the ferries count: without them the times differ
    plain = engine.travel_time(cost, CELL_M, rows, cols, ids, neighbours=neighbours,
                               zone_label=opts["zone_label"], entry_delay_s=opts["entry_delay_s"])
    assert (one.seconds > plain.seconds).any()


@pytest.mark.parametrize("change, message", [
    (dict(ferry_delay_s=None), "ferry_label and ferry_delay_s must be given together"),
    (dict(ferry_delay_s=np.array([0.0])), "ferry_delay_s has 1 entries: ferry label 1 has no delay"),
    (dict(ferry_delay_s=np.array([0.0, -5.0])), "ferry_delay_s must be finite and >= 0"),
    (dict(ferry_delay_s=np.array([0.0, np.nan])), "ferry_delay_s must be finite and >= 0"),
    (dict(ferry_delay_s=np.zeros((2, 2))), "ferry_delay_s must be 1-D"),
    (dict(ferry_label=_strip(40, 46, 40_000), ferry_delay_s=np.zeros(40_001)),
     r"ferry_label 0..32767 \(row 40, col 0\)"),
    (dict(ferry_label=_strip(40, 46, -1)), r"ferry_label 0..32767 \(row 40, col 0\)"),
    (dict(zone_label=_strip(5, 6, 70_000)), r"zone_label must be 0..65535 .*\(row 5, col 0\)"),
    (dict(ferry_label=np.zeros((3, 3), np.int32)), "ferry_label has shape"),
])
@pytest.mark.parametrize("prepared", [False, True])
def test_bad_ferry_inputs_are_refused_by_name(change, message, prepared):
    cost = np.ones((ROWS, COLS), np.float32)
    opts = _opts(_strip(0, 10, 2), _strip(40, 46)) | change
    with pytest.raises(ValueError, match=message):
        if prepared:
            engine.prepare(cost, **opts)
        else:
            engine.travel_time(cost, CELL_M, [80], [20], [1], **opts)
