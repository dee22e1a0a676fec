"""Travel-time engine: known answers, scikit-image equivalence, barriers, slope, zones,
cut-off, incremental edits equal to full runs, errors, progress and cancellation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coverage_app.core.travel import engine
from coverage_app.core.feedback import Cancelled

graph = pytest.importorskip("skimage.graph")

KNIGHTS = [(-2, -1), (-2, 1), (-1, -2), (-1, 2), (1, -2), (1, 2), (2, -1), (2, 1)]
EIGHT = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def tobler(s):
    """Time multiplier of the engine's slope model (slope in the direction of travel)."""
    return math.exp(-0.175) / math.exp(-3.5 * abs(s + 0.05))


def skimage_minutes(cost, cell, rows, cols, offsets=None):
    """Minutes to the nearest source with scikit-image (inf/NaN = barrier)."""
    c = np.where(np.isfinite(cost), cost, np.inf).astype(np.float64)
    mcp = (graph.MCP_Geometric(c, fully_connected=True) if offsets is None
           else graph.MCP_Geometric(c, offsets=offsets))
    cum, _ = mcp.find_costs(list(zip(rows, cols)))
    return cum * cell / 60.0


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    engine.warm_up()


# --------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("neighbours,bound", [(16, 0.03), (8, 0.0825)])
def test_uniform_friction_gives_distance_over_speed(neighbours, bound):
    # 8 neighbours overestimate by up to (cos 22.5 + (sqrt2 - 1) sin 22.5) - 1 = 8.24 %
    n, cell, speed = 201, 100.0, 5000 / 3600  # walking 5 km/h
    cost = np.full((n, n), 1 / speed, np.float32)
    res = engine.travel_time(cost, cell, [100], [100], [3], neighbours=neighbours)
    r, c = np.mgrid[:n, :n]
    expected = np.hypot(r - 100, c - 100) * cell / speed / 60
    ratio = res.minutes[expected > 0] / expected[expected > 0]
    assert res.minutes[100, 100] == 0
    assert ratio.min() >= 1 - 1e-6  # a grid path is never shorter than the straight line
    assert ratio.max() - 1 <= bound
    assert (res.allocation == 3).all()
    assert res.minutes.dtype == np.float32 and res.allocation.dtype == np.int32
    # exact along the axes and diagonals
    assert res.minutes[100, 0] == pytest.approx(100 * cell / speed / 60, rel=1e-6)
    assert res.minutes[0, 0] == pytest.approx(100 * math.sqrt(2) * cell / speed / 60, rel=1e-6)


def test_sixteen_neighbours_are_closer_to_euclidean_than_eight():
    n = 121
    cost = np.ones((n, n), np.float32)
    r, c = np.mgrid[:n, :n]
    d = np.hypot(r - 60, c - 60)
    err = {}
    for k in (8, 16):
        m = engine.travel_time(cost, 1.0, [60], [60], [0], neighbours=k).minutes * 60
        err[k] = np.max(m[d > 0] / d[d > 0]) - 1
    assert err[16] < 0.03 < err[8]


# --------------------------------------------------------------------------- scikit-image


def random_case(seed, shape=(90, 110), barriers=0.08, n_sources=6):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0.02, 1.5, shape).astype(np.float32)
    wall = rng.random(shape) < barriers
    cost[wall] = np.inf
    cost[wall & (rng.random(shape) < 0.5)] = np.nan  # NaN is a barrier too
    cells = rng.choice(np.flatnonzero(np.isfinite(cost)), n_sources, replace=False)
    rows, cols = np.unravel_index(cells, shape)
    return cost, rows, cols


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_skimage_mcp_geometric_8_neighbours(seed):
    cost, rows, cols = random_case(seed)
    cell = 30.0
    ids = np.arange(len(rows)) * 10 + 5
    res = engine.travel_time(cost, cell, rows, cols, ids, neighbours=8)
    ref = skimage_minutes(cost, cell, rows, cols)
    reached = np.isfinite(ref)
    assert np.array_equal(reached, np.isfinite(res.minutes))
    np.testing.assert_allclose(res.minutes[reached], ref[reached], rtol=1e-5, atol=1e-9)
    assert (res.allocation[~reached] == -1).all()
    # allocation = the source with the smallest time, computed one source at a time
    per_source = np.stack([skimage_minutes(cost, cell, [r], [c]) for r, c in zip(rows, cols)])
    order = np.sort(per_source, axis=0)
    with np.errstate(invalid="ignore"):
        clear = reached & (order[1] - order[0] > 1e-6 * order[0] + 1e-9)
    assert np.array_equal(res.allocation[clear], ids[np.argmin(per_source, axis=0)][clear])


def scipy_minutes(cost, cell, rows, cols, offsets, block_knights=True):
    """Independent reference for any stencil: scipy's Dijkstra on an explicit graph,
    with the engine's rule that a knight's move needs both straddled cells open."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    n_r, n_c = cost.shape
    ok = np.isfinite(cost)
    r, c = np.nonzero(ok)
    src, dst, w = [], [], []
    for dr, dc in offsets:
        r2, c2 = r + dr, c + dc
        keep = (r2 >= 0) & (r2 < n_r) & (c2 >= 0) & (c2 < n_c)
        a_r, a_c, b_r, b_c = r[keep], c[keep], r2[keep], c2[keep]
        keep = ok[b_r, b_c]
        if block_knights and abs(dr) + abs(dc) == 3:  # straddled cells
            if abs(dc) == 2:
                s1 = (a_r, a_c + dc // 2)
                s2 = (a_r + dr, a_c + dc // 2)
            else:
                s1 = (a_r + dr // 2, a_c)
                s2 = (a_r + dr // 2, a_c + dc)
            keep &= ok[s1] & ok[s2]
        a_r, a_c, b_r, b_c = a_r[keep], a_c[keep], b_r[keep], b_c[keep]
        length = math.hypot(dr, dc) * cell
        src.append(a_r * n_c + a_c)
        dst.append(b_r * n_c + b_c)
        w.append(length * (cost[a_r, a_c].astype(float) + cost[b_r, b_c]) / 2)
    g = coo_matrix((np.concatenate(w), (np.concatenate(src), np.concatenate(dst))),
                   shape=(cost.size, cost.size)).tocsr()
    d = dijkstra(g, indices=np.asarray(rows) * n_c + np.asarray(cols), min_only=True)
    return d.reshape(cost.shape) / 60.0


@pytest.mark.parametrize("seed", [4, 5])
def test_16_neighbours_match_a_reference_dijkstra_with_barriers(seed):
    cost, rows, cols = random_case(seed, shape=(60, 75), barriers=0.15)
    res = engine.travel_time(cost, 10.0, rows, cols, np.arange(len(rows)), neighbours=16)
    ref = scipy_minutes(cost, 10.0, rows, cols, EIGHT + KNIGHTS)
    reached = np.isfinite(ref)
    assert np.array_equal(reached, np.isfinite(res.minutes))
    np.testing.assert_allclose(res.seconds[reached], ref[reached] * 60, rtol=1e-9)
    # ... and the 8-neighbour reference agrees with scikit-image
    np.testing.assert_allclose(scipy_minutes(cost, 10.0, rows, cols, EIGHT),
                               skimage_minutes(cost, 10.0, rows, cols), rtol=1e-9)


# --------------------------------------------------------------------------- barriers


@pytest.mark.parametrize("neighbours", [8, 16])
def test_wall_with_one_gap_forces_the_path_through_it(neighbours):
    n = 61
    cost = np.ones((n, n), np.float32)
    cost[:, 30] = np.inf
    cost[10, 30] = 1.0  # the gap
    src, target, gap = (50, 20), (50, 40), (10, 30)
    res = engine.travel_time(cost, 1.0, [src[0]], [src[1]], [1], neighbours=neighbours)
    open_ = np.ones((n, n), np.float32)
    to_gap = engine.travel_time(open_, 1.0, [src[0]], [src[1]], [1], neighbours=neighbours)
    from_gap = engine.travel_time(open_, 1.0, [gap[0]], [gap[1]], [1], neighbours=neighbours)
    # Every path lands on the gap cell (a knight's move across the wall would pass
    # between the gap and a wall cell), so the time is at least the two legs' sum...
    detour = to_gap.seconds[gap] + from_gap.seconds[target]
    assert res.seconds[target] >= detour * (1 - 1e-12)
    assert res.seconds[target] > 1.8 * to_gap.seconds[target]
    if neighbours == 8:  # ...and exactly that with 8 neighbours (straight octile legs)
        assert res.seconds[target] == pytest.approx(detour, rel=1e-12)
    offsets = EIGHT + (KNIGHTS if neighbours == 16 else [])
    ref = scipy_minutes(cost, 1.0, [src[0]], [src[1]], offsets) * 60
    assert res.seconds[target] == pytest.approx(ref[target], rel=1e-12)
    assert np.isnan(res.minutes[:, 30][np.arange(n) != 10]).all()
    assert (res.allocation[:, 30][np.arange(n) != 10] == -1).all()


@pytest.mark.parametrize("shape", ["diagonal", "shallow", "steep"])
def test_thin_staircase_wall_is_not_crossed_by_knight_moves(shape):
    # A 4-connected wall one cell thick, at 45 degrees or along a knight's direction:
    # 8-neighbour moves cannot cross it, and knight's moves must not either.
    from scipy import ndimage

    n = 60
    cost = np.ones((n, n), np.float32)
    for i in range(n):
        cells = {"diagonal": [(i, i), (i, i + 1)],
                 "shallow": [(i, 2 * i), (i, 2 * i + 1), (i, 2 * i + 2)],
                 "steep": [(2 * i, i), (2 * i + 1, i), (2 * i + 2, i)]}[shape]
        for r, c in cells:
            if r < n and c < n:
                cost[r, c] = np.inf
    labels, count = ndimage.label(np.isfinite(cost), structure=np.ones((3, 3)))
    assert count == 2
    src = (n - 1, 0)
    side = labels == labels[src]
    for k in (8, 16):
        res = engine.travel_time(cost, 1.0, [src[0]], [src[1]], [4], neighbours=k)
        assert np.array_equal(np.isfinite(res.minutes), side)
        assert (res.allocation[~side] == -1).all()
    # the wall is really thin: without the rule knight's moves would get across
    leaky = scipy_minutes(cost, 1.0, [src[0]], [src[1]], EIGHT + KNIGHTS, block_knights=False)
    assert np.isfinite(leaky[~side & np.isfinite(cost)]).all()


def test_unreachable_enclosed_region_and_barrier_cells_are_nan_and_minus_one():
    cost = np.ones((30, 30), np.float32)
    cost[10, 10:20] = cost[19, 10:20] = np.inf
    cost[10:20, 10] = cost[10:20, 19] = np.nan
    res = engine.travel_time(cost, 5.0, [0], [0], [1], neighbours=16)
    inside = np.zeros_like(cost, bool)
    inside[11:19, 11:19] = True
    blocked = inside | ~np.isfinite(cost)
    assert np.isnan(res.minutes[blocked]).all() and (res.allocation[blocked] == -1).all()
    assert np.isfinite(res.minutes[~blocked]).all() and (res.allocation[~blocked] == 1).all()
    assert np.isinf(res.seconds[blocked]).all()


def test_two_equal_sources_meet_halfway():
    cost = np.full((21, 41), 0.5, np.float32)
    res = engine.travel_time(cost, 10.0, [10, 10], [5, 35], [7, 9], neighbours=16)
    assert (res.allocation[:, :20] == 7).all()
    assert (res.allocation[:, 21:] == 9).all()
    assert np.isin(res.allocation[:, 20], [7, 9]).all()
    np.testing.assert_array_equal(res.minutes, res.minutes[:, ::-1])


# --------------------------------------------------------------------------- slope, zones, cut-off


@pytest.mark.parametrize("neighbours", [8, 16])
def test_tobler_uphill_and_downhill_follow_the_formula(neighbours):
    rows, cols, cell, g = 7, 101, 20.0, 0.05
    cost = np.full((rows, cols), 0.72, np.float32)  # 5 km/h on the flat
    elev = np.broadcast_to(np.arange(cols) * cell * g, (rows, cols)).astype(np.float32)
    mask = np.ones((rows, cols), bool)
    res = engine.travel_time(cost, cell, [3], [50], [1], neighbours=neighbours,
                             elevation_m=elev, tobler_mask=mask)
    flat = 50 * cell * 0.72
    up = res.seconds[3, 0]  # walks east, uphill, to the facility
    down = res.seconds[3, 100]  # walks west, downhill
    assert up == pytest.approx(flat * tobler(g), rel=1e-6)
    assert down == pytest.approx(flat * tobler(-g), rel=1e-6)
    assert up / down == pytest.approx(tobler(g) / tobler(-g), rel=1e-9)
    # outside the mask the slope is ignored
    plain = engine.travel_time(cost, cell, [3], [50], [1], neighbours=neighbours,
                               elevation_m=elev, tobler_mask=np.zeros_like(mask))
    assert plain.seconds[3, 0] == pytest.approx(flat, rel=1e-6)


@pytest.mark.parametrize("neighbours", [8, 16])
def test_entering_a_zone_adds_its_delay_once(neighbours):
    rows, cols = 90, 40
    cost = np.full((rows, cols), 0.1, np.float32)
    zone = np.zeros((rows, cols), np.int32)
    zone[40:46, :] = 3  # a strip across the whole grid
    delay = np.where(zone > 0, 600.0, 0.0).astype(np.float32)
    base = engine.travel_time(cost, 50.0, [80], [20], [1], neighbours=neighbours)
    res = engine.travel_time(cost, 50.0, [80], [20], [1], neighbours=neighbours,
                             zone_label=zone, entry_delay_s=delay)
    # beyond the strip: one entry, +600 s; inside and on the facility's side: unchanged
    np.testing.assert_allclose(res.seconds[:40], base.seconds[:40] + 600.0, rtol=1e-12)
    np.testing.assert_allclose(res.seconds[40:], base.seconds[40:], rtol=1e-12)
    # a facility inside a zone: everyone outside pays the entry once
    res2 = engine.travel_time(cost, 50.0, [43], [20], [1], neighbours=neighbours,
                              zone_label=zone, entry_delay_s=delay)
    base2 = engine.travel_time(cost, 50.0, [43], [20], [1], neighbours=neighbours)
    outside = zone == 0
    np.testing.assert_allclose(res2.seconds[outside], base2.seconds[outside] + 600, rtol=1e-12)
    np.testing.assert_allclose(res2.seconds[~outside], base2.seconds[~outside], rtol=1e-12)


def test_big_delays_use_the_overflow_heap_and_stay_exact():
    # delays far larger than the bucket window; compare with skimage-free reasoning
    cost = np.full((50, 50), 0.01, np.float32)
    zone = np.zeros((50, 50), np.int32)
    zone[:, 25:] = 1
    delay = np.full((50, 50), 1e6, np.float32)
    res = engine.travel_time(cost, 10.0, [10, 10], [5, 45], [1, 2], neighbours=16,
                             zone_label=zone, entry_delay_s=delay)
    base = engine.travel_time(cost, 10.0, [10], [5], [1], neighbours=16)
    # cells of the zone-free half go to facility 1 unless facility 2 is closer
    assert (res.allocation[:, :25] == 1).all()
    np.testing.assert_allclose(res.seconds[:, :25], base.seconds[:, :25], rtol=1e-12)


def test_max_minutes_cut_off():
    cost = np.full((80, 80), 0.72, np.float32)
    full = engine.travel_time(cost, 100.0, [40], [40], [1])
    cut = engine.travel_time(cost, 100.0, [40], [40], [1], max_minutes=20)
    inside = full.minutes <= 20
    assert inside.sum() > 100 and (~inside).sum() > 100
    np.testing.assert_array_equal(cut.minutes[inside], full.minutes[inside])
    assert np.isnan(cut.minutes[~inside]).all() and (cut.allocation[~inside] == -1).all()
    assert (cut.allocation[inside] == 1).all()


# --------------------------------------------------------------------------- incremental


def incremental_case(seed, shape=(70, 85), n_sources=20):
    rng = np.random.default_rng(seed)
    cost, _, _ = random_case(seed, shape, barriers=0.05, n_sources=1)
    elev = (rng.random(shape) * 300).astype(np.float32)
    mask = rng.random(shape) < 0.5
    zone = np.zeros(shape, np.int32)
    zone[20:35, 10:40] = 1
    zone[50:60, :] = 2
    delay = np.where(zone == 1, 900.0, np.where(zone == 2, 300.0, 0.0)).astype(np.float32)
    free = np.flatnonzero(np.isfinite(cost))
    cells = rng.choice(free, n_sources + 6, replace=False)
    rows, cols = np.unravel_index(cells, shape)
    opts = dict(elevation_m=elev, tobler_mask=mask, zone_label=zone, entry_delay_s=delay)
    return cost, rows, cols, opts


def assert_same(inc, full):
    np.testing.assert_array_equal(inc.seconds, full.seconds)
    np.testing.assert_array_equal(inc.minutes, full.minutes)
    np.testing.assert_array_equal(inc.allocation, full.allocation)


@pytest.mark.parametrize("neighbours", [8, 16])
@pytest.mark.parametrize("max_minutes", [None, 90.0])
@pytest.mark.parametrize("with_options", [False, True])
@pytest.mark.usefixtures("sharing")
def test_incremental_edits_equal_full_recompute(neighbours, max_minutes, with_options):
    cost, rows, cols, opts = incremental_case(neighbours + int(max_minutes or 0))
    if not with_options:
        opts = {}
    opts = dict(opts, neighbours=neighbours, max_minutes=max_minutes)
    cell = 50.0
    active = list(range(20))  # ids are indices into rows/cols; 20..25 are spares

    def full():
        return engine.travel_time(cost, cell, rows[active], cols[active], active, **opts)

    res = full()
    for step in ["rm 3", "rm 11", "add 21", "rm 0", "add 3", "add 24", "rm 21", "add 25"]:
        op, sid = step.split()
        sid = int(sid)
        before = (res.minutes.copy(), res.allocation.copy(), res.seconds.copy())
        if op == "rm":
            new = engine.remove_source(res, sid, cost, cell, **opts)
            active.remove(sid)
        else:
            new = engine.add_source(res, rows[sid], cols[sid], sid, cost, cell, **opts)
            active.append(sid)
        # the input result is left alone
        np.testing.assert_array_equal(res.minutes, before[0])
        np.testing.assert_array_equal(res.allocation, before[1])
        np.testing.assert_array_equal(res.seconds, before[2])
        ref = full()
        assert_same(new, ref)
        assert sorted(new.source_ids.tolist()) == sorted(active)
        res = new


@pytest.mark.usefixtures("sharing")
def test_inplace_edits_update_the_result_itself():
    cost, rows, cols, opts = incremental_case(5)
    res = engine.travel_time(cost, 50.0, rows[:20], cols[:20], np.arange(20), **opts)
    minutes = res.minutes
    out = engine.remove_source(res, 4, cost, 50.0, inplace=True, **opts)
    assert out is res
    if res.outputs is None:  # copies: the arrays themselves were updated
        assert out.minutes is minutes
    else:  # shared: new arrays; the old ones (still the full run's) were left alone
        np.testing.assert_array_equal(minutes, engine.travel_time(cost, 50.0, rows[:20], cols[:20],
                                                                  np.arange(20), **opts).minutes)
    out = engine.add_source(res, rows[22], cols[22], 22, cost, 50.0, inplace=True, **opts)
    ids = [i for i in range(20) if i != 4] + [22]
    ref = engine.travel_time(cost, 50.0, rows[ids], cols[ids], ids, **opts)
    assert_same(out, ref)


@pytest.mark.usefixtures("sharing")
def test_results_of_one_lineage_stay_valid_in_any_order():
    # Edits share the internal grid (persistent-array diffs): branch and revisit.
    cost, rows, cols, opts = incremental_case(9)
    cell = 50.0

    def full(ids):
        return engine.travel_time(cost, cell, rows[ids], cols[ids], ids, **opts)

    base_ids = list(range(20))
    r = full(base_ids)
    a = engine.remove_source(r, 3, cost, cell, **opts)
    b = engine.add_source(r, rows[21], cols[21], 21, cost, cell, **opts)
    a2 = engine.add_source(a, rows[22], cols[22], 22, cost, cell, **opts)
    b2 = engine.remove_source(b, 7, cost, cell, **opts)
    expected = {
        "r": (r, base_ids),
        "a": (a, [i for i in base_ids if i != 3]),
        "b": (b, base_ids + [21]),
        "a2": (a2, [i for i in base_ids if i != 3] + [22]),
        "b2": (b2, [i for i in base_ids if i != 7] + [21]),
    }
    for name in ["a", "b2", "r", "a2", "b", "r", "b2"]:
        res, ids = expected[name]
        assert_same(res, full(ids))
    # editing an old result again, in place, still leaves the others intact
    engine.add_source(a, rows[23], cols[23], 23, cost, cell, inplace=True, **opts)
    assert_same(a, full([i for i in base_ids if i != 3] + [23]))
    for name in ["a2", "r", "b2"]:
        res, ids = expected[name]
        assert_same(res, full(ids))


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.usefixtures("sharing")
def test_cancelled_edit_is_rolled_back(inplace):
    cost = np.ones((300, 300), np.float32)
    res = engine.travel_time(cost, 10.0, [20, 280], [20, 280], [1, 2])
    before = (res.minutes.copy(), res.allocation.copy(), res.seconds)
    for edit in (lambda fb: engine.remove_source(res, 2, cost, 10.0, inplace=inplace, feedback=fb),
                 lambda fb: engine.add_source(res, 150, 150, 3, cost, 10.0, inplace=inplace,
                                              feedback=fb)):
        fb = Recorder(cancel_after=1)
        with pytest.raises(Cancelled):
            edit(fb)
        assert len(fb.fractions) == 1  # it was stopped midway
        np.testing.assert_array_equal(res.minutes, before[0])
        np.testing.assert_array_equal(res.allocation, before[1])
        np.testing.assert_array_equal(res.seconds, before[2])
    out = engine.remove_source(res, 2, cost, 10.0, inplace=inplace)
    assert_same(out, engine.travel_time(cost, 10.0, [20], [20], [1]))


@pytest.mark.usefixtures("sharing")
def test_removing_one_of_two_sources_on_a_cell_keeps_the_other():
    cost = np.ones((40, 40), np.float32)
    res = engine.travel_time(cost, 10.0, [5, 5, 30], [5, 5, 30], [1, 2, 3])
    out = engine.remove_source(res, 1, cost, 10.0)
    ref = engine.travel_time(cost, 10.0, [5, 30], [5, 30], [2, 3])
    assert_same(out, ref)


def test_remove_the_only_source_leaves_nothing_reached():
    cost = np.ones((20, 20), np.float32)
    res = engine.travel_time(cost, 10.0, [5], [5], [1])
    out = engine.remove_source(res, 1, cost, 10.0)
    assert np.isnan(out.minutes).all() and (out.allocation == -1).all()
    back = engine.add_source(out, 5, 5, 1, cost, 10.0)
    assert_same(back, res)


# --------------------------------------------------------------------------- errors


def test_sources_on_barriers_or_outside_are_named():
    cost = np.ones((10, 10), np.float32)
    cost[2, 2] = np.inf
    cost[3, 3] = np.nan
    with pytest.raises(ValueError) as err:
        engine.travel_time(cost, 1.0, [0, 2, 10, 3, -1], [0, 2, 0, 3, 5], [1, 2, 3, 4, 5])
    msg = str(err.value)
    for i in (1, 2, 3, 4):
        assert f"source index {i} " in msg
    assert "source index 0 " not in msg
    assert "barrier" in msg and "outside" in msg
    res = engine.travel_time(cost, 1.0, [0], [0], [1])
    with pytest.raises(ValueError, match="source index 0"):
        engine.add_source(res, 2, 2, 9, cost, 1.0)
    with pytest.raises(ValueError, match="no source with id 42"):
        engine.remove_source(res, 42, cost, 1.0)


def test_bad_inputs_raise_value_error():
    cost = np.ones((10, 10), np.float32)
    with pytest.raises(ValueError, match="negative"):
        bad = cost.copy()
        bad[4, 5] = -1
        engine.travel_time(bad, 1.0, [0], [0], [1])
    with pytest.raises(ValueError, match="neighbours"):
        engine.travel_time(cost, 1.0, [0], [0], [1], neighbours=4)
    with pytest.raises(ValueError, match="together"):
        engine.travel_time(cost, 1.0, [0], [0], [1], elevation_m=cost)
    with pytest.raises(ValueError, match="shape"):
        engine.travel_time(cost, 1.0, [0], [0], [1], zone_label=np.zeros((3, 3), np.int32),
                           entry_delay_s=np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="-1"):
        engine.travel_time(cost, 1.0, [0], [0], [-1])
    res = engine.travel_time(cost, 1.0, [0], [0], [1], neighbours=16)
    with pytest.raises(ValueError, match="neighbours"):
        engine.remove_source(res, 1, cost, 1.0, neighbours=8)
    with pytest.raises(ValueError, match="max_minutes"):
        engine.add_source(res, 5, 5, 2, cost, 1.0, max_minutes=10)


def test_no_sources_reaches_nothing():
    res = engine.travel_time(np.ones((5, 6), np.float32), 1.0, [], [], np.array([], int))
    assert np.isnan(res.minutes).all() and (res.allocation == -1).all()


# --------------------------------------------------------------------------- feedback


class Recorder:
    def __init__(self, cancel_after=None):
        self.fractions, self.cancel_after = [], cancel_after

    def progress(self, fraction, message=""):
        self.fractions.append(fraction)

    def cancelled(self):
        return self.cancel_after is not None and len(self.fractions) >= self.cancel_after


def test_progress_is_reported_in_order_within_0_and_1():
    cost = np.ones((400, 400), np.float32)
    fb = Recorder()
    engine.travel_time(cost, 1.0, [0, 399], [0, 399], [1, 2], feedback=fb)
    assert len(fb.fractions) >= 5
    assert all(0.0 <= f <= 1.0 for f in fb.fractions)
    assert fb.fractions == sorted(fb.fractions) and fb.fractions[-1] == 1.0


def test_cancellation_raises_cancelled():
    cost = np.ones((400, 400), np.float32)
    fb = Recorder(cancel_after=2)
    with pytest.raises(Cancelled):
        engine.travel_time(cost, 1.0, [0], [0], [1], feedback=fb)
    assert len(fb.fractions) == 2
    res = engine.travel_time(cost, 1.0, [0], [0], [1])
    with pytest.raises(Cancelled):
        engine.remove_source(res, 1, cost, 1.0, feedback=Recorder(cancel_after=0))
