"""The engine's changed cells after an edit (issue 14: what-if at 100 m): sorted, unique, from the
edit's log, and the same whether numpy's unique or the mark array (large logs) computes them."""

import numpy as np
import pytest

from coverage_app.core.travel import engine


@pytest.mark.parametrize("n, size", [(10, 1000), (5000, 10_000), (300_000, 2_000_000)])
def test_unique_flat_equals_numpy_unique(n, size):
    idx = np.random.default_rng(n).integers(0, size, n)
    got = engine.unique_flat(idx, size)
    np.testing.assert_array_equal(got, np.unique(idx))
    assert got.dtype == np.int64


def test_changed_cells_of_a_large_removal_cover_every_changed_cell_and_only_logged_ones():
    rng = np.random.default_rng(1)
    cost = rng.uniform(0.05, 0.5, (300, 320)).astype(np.float32)  # s/m
    cost[100:110, 40:200] = np.inf  # a barrier
    base = engine.travel_time(cost, 100.0, [20, 250, 150], [30, 280, 160], [0, 1, 2], neighbours=16)
    edited = engine.remove_source(base, 2, cost, 100.0, neighbours=16)
    idx = engine.changed_cells(base, edited)
    assert idx.size > 4096  # the mark-array path
    assert np.all(np.diff(idx) > 0)
    differs = np.flatnonzero((base.allocation != edited.allocation).reshape(-1)
                             | ~np.isclose(base.minutes, edited.minutes, equal_nan=True).reshape(-1))
    assert differs.size > 0 and np.isin(differs, idx).all()
    # every cell of the removed facility was reset, so each is listed
    assert np.isin(np.flatnonzero(base.allocation.reshape(-1) == 2), idx).all()
    # and the listed cells are those of the edit's log, no others
    with base.state.shared.lock:
        log = base.state.idx if base.state.link is edited.state else edited.state.idx
        pc = base.state.shared.cells.shape[1]
        r = np.unique(log) // pc - engine.PAD
        expected = r * cost.shape[1] + (np.unique(log) - (r + engine.PAD) * pc - engine.PAD)
    np.testing.assert_array_equal(idx, expected)
    # the edit equals a full run without the facility
    full = engine.travel_time(cost, 100.0, [20, 250], [30, 280], [0, 1], neighbours=16)
    np.testing.assert_allclose(edited.minutes, full.minutes, rtol=1e-6, equal_nan=True)
