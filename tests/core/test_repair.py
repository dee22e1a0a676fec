"""The repair kernels of remove_source (core/travel/repair.py): the cells reset and the
boundary seeds, against a brute-force reading of the stencil."""

from __future__ import annotations

import numpy as np
import pytest

from coverage_app.core.travel import engine
from coverage_app.core.travel.kernels import PAD
from coverage_app.core.travel.repair import cells_of, reset_cells
from coverage_app.core.travel.search import Queue, stencil


@pytest.mark.parametrize("neighbours", [8, 16])
@pytest.mark.parametrize("seed", [1, 2])
def test_reset_seeds_are_exactly_the_reached_cells_in_the_stencil_of_the_reset_ones(neighbours, seed):
    rng = np.random.default_rng(seed)
    shape = (60, 75)
    cost = (rng.random(shape) * 0.05 + 0.01).astype(np.float32)
    cost[rng.random(shape) < 0.08] = np.inf
    free = np.flatnonzero(np.isfinite(cost))
    src = rng.choice(free, 9, replace=False)
    rows, cols = np.unravel_index(src, shape)
    res = engine.travel_time(cost, 30.0, rows, cols, np.arange(9), neighbours=neighbours, max_minutes=60.0)
    cells = res.state.shared.cells.copy()
    minutes, allocation = res.minutes.copy(), res.allocation.copy()
    pc = cells.shape[1]
    doff, _, _, _ = stencil(neighbours, pc, 30.0)
    idx = cells_of(allocation, np.int32(4))
    assert len(idx) > 20
    np.testing.assert_array_equal(idx, np.flatnonzero(res.allocation == 4))
    q = Queue(res.bucket_width_s, res.n_buckets, log=4096)
    q.reserve(0, 0, idx.shape[0])
    seeds, ids = reset_cells(idx, cells, minutes, allocation, neighbours, doff, q.st, q.l_idx, q.l_d, q.l_a)
    r, c = np.unravel_index(idx, shape)
    padded = (r + PAD) * pc + c + PAD
    assert np.isinf(cells.reshape(-1)[padded]["d"]).all() and (allocation.reshape(-1)[idx] == -1).all()
    assert np.isnan(minutes.reshape(-1)[idx]).all()
    d = cells.reshape(-1)["d"]
    expected = {int(u + k) for u in padded for k in doff if d[u + k] < np.inf}
    assert set(seeds.tolist()) == expected
    np.testing.assert_array_equal(ids, cells.reshape(-1)["a"][seeds])
    # the log holds the old state of every reset cell
    idx_log, d_log, a_log = q.log()
    np.testing.assert_array_equal(idx_log, padded)
    np.testing.assert_array_equal(a_log, np.full(len(idx), 4))
