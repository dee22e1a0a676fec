"""The engine against a second implementation of its cost model: every move of the stencil written out
as an edge of a directed graph (scipy.sparse.csgraph's Dijkstra), with barriers, knight's-move
blocking, conflict-zone entry delays and ferry boarding delays, on random grids. Patients travel
from a cell to the facility, so an edge a -> b is the move from a into b, and a cell's time is its
shortest path to any source (Dijkstra from the sources over the reversed edges)."""

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from coverage_app.core.travel import engine

CELL_M = 30.0
STRAIGHT = [(-1, 0), (1, 0), (0, -1), (0, 1)]
DIAGONAL = [(-1, -1), (-1, 1), (1, -1), (1, 1)]
KNIGHT = [(-1, -2), (-1, 2), (1, -2), (1, 2), (-2, -1), (-2, 1), (2, -1), (2, 1)]


def reference_seconds(cost, sources, neighbours, zone, zone_delay, ferry, ferry_delay, pair=None):
    """Seconds from each cell to the nearest source by the engine's documented cost model."""
    rows, cols = cost.shape
    moves = STRAIGHT + DIAGONAL + (KNIGHT if neighbours == 16 else [])
    passable = np.isfinite(cost)
    heads, tails, weights = [], [], []
    for dr, dc in moves:
        length = CELL_M * np.hypot(dr, dc)
        for r in range(rows):
            for c in range(cols):
                rb, cb = r + dr, c + dc
                if not (0 <= rb < rows and 0 <= cb < cols) or not (passable[r, c] and passable[rb, cb]):
                    continue
                if abs(dc) == 2 and not (passable[r, c + dc // 2] and passable[rb, c + dc // 2]):
                    continue  # a knight's move passes between two cells: both must be passable
                if abs(dr) == 2 and not (passable[r + dr // 2, c] and passable[r + dr // 2, cb]):
                    continue
                w = length * (float(cost[r, c]) + float(cost[rb, cb])) / 2
                if zone[rb, cb] != 0 and zone[r, c] != zone[rb, cb]:
                    w += float(zone_delay[rb, cb] if pair is None else pair[zone[r, c], zone[rb, cb]])
                if ferry[rb, cb] != 0 and ferry[r, c] != ferry[rb, cb]:
                    w += float(ferry_delay[ferry[rb, cb]])
                heads.append(r * cols + c)
                tails.append(rb * cols + cb)
                weights.append(w)
    n = rows * cols
    # reversed: from the facility back along each move (a -> b becomes b -> a)
    graph = csr_matrix((weights, (tails, heads)), shape=(n, n))
    dist = dijkstra(graph, directed=True, indices=[r * cols + c for r, c in sources], min_only=True)
    return dist.reshape(rows, cols)


def random_case(seed, shape=(36, 44)):
    rng = np.random.default_rng(seed)
    cost = (0.02 + rng.random(shape) * 0.4).astype(np.float32)
    cost[rng.random(shape) < 0.08] = np.inf
    zone = np.zeros(shape, np.int32)
    zone[5:25, 4:30] = 1
    zone[15:33, 20:40] = 2  # overlapping the first: the second wins there
    zone_delay = np.where(zone == 1, 300.0, np.where(zone == 2, 120.0, 0.0)).astype(np.float32)
    ferry = np.zeros(shape, np.int32)
    ferry[10:13, :] = 1   # across zone 1 and out of it
    ferry[28:30, 10:42] = 2
    ferry[20, 25] = 3     # one cell inside zone 2
    ferry_delay = np.array([0.0, 240.0, 75.0, 500.0])
    free = np.flatnonzero(np.isfinite(cost))
    picks = rng.choice(free, 5, replace=False)
    sources = list(zip(*np.unravel_index(picks, shape)))
    return cost, sources, zone, zone_delay, ferry, ferry_delay


@pytest.mark.parametrize("neighbours", [8, 16])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_engine_equals_a_graph_dijkstra_with_zones_and_ferries(neighbours, seed):
    cost, sources, zone, zone_delay, ferry, ferry_delay = random_case(seed)
    rows, cols = zip(*sources)
    res = engine.travel_time(cost, CELL_M, list(rows), list(cols), list(range(len(sources))),
                             neighbours=neighbours, zone_label=zone, entry_delay_s=zone_delay,
                             ferry_label=ferry, ferry_delay_s=ferry_delay)
    ref = reference_seconds(cost, sources, neighbours, zone, zone_delay, ferry, ferry_delay)
    got = res.seconds
    assert np.array_equal(np.isfinite(got), np.isfinite(ref))
    reached = np.isfinite(ref)
    assert reached.sum() > 0.8 * reached.size
    np.testing.assert_allclose(got[reached], ref[reached], rtol=1e-9)
    # the delays matter on these grids: without the ferries the times are lower somewhere
    plain = reference_seconds(cost, sources, neighbours, zone, zone_delay, np.zeros_like(ferry), ferry_delay)
    assert (ref[reached] > plain[reached] + 1).any()


@pytest.mark.parametrize("neighbours", [8, 16])
def test_engine_equals_a_graph_dijkstra_with_a_zone_entry_table(neighbours):
    """Overlapping zones: the seconds of a move between two zone labels come from a table (from, to)."""
    cost, sources, zone, zone_delay, ferry, ferry_delay = random_case(5)
    zone[15:25, 20:30] = 3  # the overlap of zones 1 and 2, labelled as a set of its own
    pair = np.random.default_rng(5).random((4, 4)) * 400
    rows, cols = zip(*sources)
    res = engine.travel_time(cost, CELL_M, list(rows), list(cols), list(range(len(sources))),
                             neighbours=neighbours, zone_label=zone, entry_delay_s=zone_delay,
                             ferry_label=ferry, ferry_delay_s=ferry_delay, zone_entry_s=pair)
    ref = reference_seconds(cost, sources, neighbours, zone, zone_delay, ferry, ferry_delay, pair)
    reached = np.isfinite(ref)
    assert np.array_equal(np.isfinite(res.seconds), reached)
    np.testing.assert_allclose(res.seconds[reached], ref[reached], rtol=1e-9)
    prepared = engine.prepare(cost, zone_label=zone, entry_delay_s=zone_delay, ferry_label=ferry,
                              ferry_delay_s=ferry_delay, zone_entry_s=pair)
    again = engine.travel_time(cost, CELL_M, list(rows), list(cols), list(range(len(sources))),
                               neighbours=neighbours, zone_label=zone, entry_delay_s=zone_delay, ferry_label=ferry,
                               ferry_delay_s=ferry_delay, zone_entry_s=pair, prepared=prepared, threads=2)
    np.testing.assert_array_equal(again.seconds, res.seconds)


@pytest.mark.parametrize("table, message", [
    (np.zeros((2, 3)), "zone_entry_s must be a square table"),
    (np.zeros((3, 3)), "zone_entry_s has 3 rows: zone label 3 has none"),
    (np.full((4, 4), -1.0), "zone_entry_s must be finite and >= 0"),
])
def test_bad_zone_entry_tables_are_refused(table, message):
    cost, sources, zone, zone_delay, _, _ = random_case(0)
    zone[15:25, 20:30] = 3
    with pytest.raises(ValueError, match=message):
        engine.travel_time(cost, CELL_M, [sources[0][0]], [sources[0][1]], [1], zone_label=zone,
                           entry_delay_s=zone_delay, zone_entry_s=table)
    with pytest.raises(ValueError, match="zone_entry_s needs zone_label"):
        engine.travel_time(cost, CELL_M, [sources[0][0]], [sources[0][1]], [1], zone_entry_s=np.zeros((4, 4)))
