"""Numba kernels of incremental edits: the repair that
:func:`~coverage_app.core.travel.engine.remove_source` runs (finding the removed facility's cells
and resetting them to unreached, with the boundary cells that seed the repair search) and the
rewrite of the outputs an edit rolled back (:func:`refresh_outputs`). Layout and queue state as
in :mod:`.kernels` (padded :data:`~.kernels.CELL` records; times float64 seconds; outputs float32
minutes and int32 allocation, unpadded).
"""

from __future__ import annotations

import numpy as np

from coverage_app.core.travel.jit import jit_kernel
from coverage_app.core.travel.kernels import NLOG, PAD

__all__ = ["cells_of", "refresh_outputs", "reset_cells"]


@jit_kernel
def cells_of(allocation, source_id):
    """Flat (unpadded) indices of the cells allocated to ``source_id``."""
    a = allocation.reshape(-1)
    n = 0
    for i in range(a.size):
        if a[i] == source_id:
            n += 1
    out = np.empty(n, np.int64)
    j = 0
    for i in range(a.size):
        if a[i] == source_id:
            out[j] = i
            j += 1
    return out


@jit_kernel
def reset_cells(idx, cells, minutes, allocation, nk, doff, st, l_idx, l_d, l_a):
    """Reset the cells ``idx`` (unpadded flat) to unreached, logging their old values
    (the log must have room), and return the padded flat indices and allocations of
    the reached cells next to them (in the stencil) that were not reset: the seeds of
    the repair search."""
    flat = cells.reshape(-1)
    om = minutes.reshape(-1)
    oa = allocation.reshape(-1)
    cols = minutes.shape[1]
    pc = cells.shape[1]
    j = st[NLOG]
    for i in range(idx.shape[0]):
        o = idx[i]
        r = o // cols
        p = (r + PAD) * pc + (o - r * cols) + PAD
        rec = flat[p]
        l_idx[j] = p
        l_d[j] = rec.d
        l_a[j] = rec.a
        j += 1
        rec.d = np.inf
        rec.a = -1
        om[o] = np.nan
        oa[o] = -1
    st[NLOG] = j
    # The seeds: reached cells that were not reset, in the stencil of a reset cell. ``idx``
    # is sorted, so the reset cells come as runs [c0, c1) along rows; for each run and each
    # row offset dr of the stencil the columns some offset (dr, dc) reaches from the run are
    # read once, instead of all nk neighbours of every cell (about 3x fewer reads and far
    # fewer duplicate seeds). Offsets (dr, dc): dr = 0 and dr = +-2 reach dc = +-1; dr = +-1
    # reaches |dc| <= 2 with 16 neighbours, |dc| <= 1 with 8.
    seeds = np.empty(64, np.int64)
    ids = np.empty(64, np.int64)
    n = 0
    wide = 2 if nk == 16 else 1
    m = idx.shape[0]
    i = 0
    while i < m:
        o = idx[i]
        r = o // cols
        c0 = o - r * cols
        c1 = c0 + 1
        i += 1
        while i < m and idx[i] == r * cols + c1 and c1 < cols:
            c1 += 1
            i += 1
        row0 = (r + PAD) * pc + PAD
        for dr in range(-2, 3):
            if dr == 1 or dr == -1:
                lo, hi, skip = c0 - wide, c1 + wide, -1000
            elif nk == 16 or dr == 0:
                lo, hi = c0 - 1, c1 + 1
                skip = c0 if c1 - c0 == 1 else -1000  # (dr, 0) is no offset of these rows
            else:
                continue
            base = row0 + dr * pc
            for x in range(lo, hi):
                if x == skip:
                    continue
                v = base + x
                if flat[v].d < np.inf:
                    if n == seeds.shape[0]:
                        s2 = np.empty(2 * n, np.int64)
                        s2[:n] = seeds
                        seeds = s2
                        i2 = np.empty(2 * n, np.int64)
                        i2[:n] = ids
                        ids = i2
                    seeds[n] = v
                    ids[n] = flat[v].a
                    n += 1
    return seeds[:n], ids[:n]


@jit_kernel
def refresh_outputs(cells, idx, minutes, allocation):
    """Rewrite the unpadded outputs of the padded cells ``idx`` from their records."""
    flat = cells.reshape(-1)
    pc = cells.shape[1]
    cols = minutes.shape[1]
    om = minutes.reshape(-1)
    oa = allocation.reshape(-1)
    for i in range(idx.shape[0]):
        p = idx[i]
        r = p // pc
        o = (r - PAD) * cols + (p - r * pc - PAD)
        d = flat[p].d
        if d < np.inf:
            om[o] = d / 60.0
            oa[o] = flat[p].a
        else:
            om[o] = np.nan
            oa[o] = -1
