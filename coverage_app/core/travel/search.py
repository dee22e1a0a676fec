"""The bucket queue and the search driver of the travel-time engine: the move stencil (padded
offsets, lengths in metres, knight-blocking cells), queue parameters (bucket width in seconds),
:class:`Queue` (circular window of 64-entry block stacks + overflow heap + change log) and
:func:`search`, which runs the kernel in chunks with progress and cancellation.
"""

from __future__ import annotations

import math

import numpy as np

from coverage_app.core.feedback import report
from coverage_app.core.travel.kernels import (AUX, BLOCK, EXPANDED, FREE, HSIZE, LIVE, NLOG, run_chunk,
                                              seed_kernel)


_SQRT2 = math.sqrt(2.0)
_SQRT5 = math.sqrt(5.0)
_TOBLER_MIN = math.exp(-0.175)  # smallest Tobler multiplier (5 % downhill)
_MAX_BUCKETS = 1 << 18
_MIN_BUCKETS = 64

# 8-neighbour stencil first, then the 8 knight's moves.
_STENCIL = (
    (-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1),
    (-2, -1), (-2, 1), (-1, -2), (-1, 2), (1, -2), (1, 2), (2, -1), (2, 1),
)


def stencil(neighbours, pcols, cell_size_m):
    """Padded flat offsets, lengths (m) and knight-blocking cells of the stencil."""
    if neighbours not in (8, 16):
        raise ValueError(f"neighbours must be 8 or 16, not {neighbours!r}")
    st = _STENCIL[:neighbours]
    doff = np.array([r * pcols + c for r, c in st], np.int64)
    base = np.array([1.0] * 4 + [_SQRT2] * 4 + [_SQRT5] * 8, np.float64)
    dlen = base[:neighbours] * float(cell_size_m)
    bo1 = np.zeros(neighbours, np.int64)
    bo2 = np.zeros(neighbours, np.int64)
    for k in range(8, neighbours):
        r, c = st[k]
        if abs(c) == 2:  # passes between (0, c/2) and (r, c/2)
            bo1[k] = c // 2
            bo2[k] = r * pcols + c // 2
        else:  # passes between (r/2, 0) and (r/2, c)
            bo1[k] = (r // 2) * pcols
            bo2[k] = (r // 2) * pcols + c
    return doff, dlen, bo1, bo2


class Queue:
    """Bucket queue (circular window of block stacks + overflow heap) and its state."""

    def __init__(self, bucket_width_s, n_buckets, blocks=256, heap=1024, log=0):
        self.inv_w = 1.0 / bucket_width_s
        self.nb = int(n_buckets)
        self.heads = np.full(self.nb, -1, np.int32)
        self.b_next = np.empty(blocks, np.int32)
        self.b_n = np.zeros(blocks, np.int32)
        self.b_d = np.empty((blocks, BLOCK), np.float64)
        self.b_cell = np.empty((blocks, BLOCK), np.int32)
        self.b_a = np.empty((blocks, BLOCK), np.int32)
        self.h_d = np.empty(heap, np.float64)
        self.h_cell = np.empty(heap, np.int64)
        self.h_a = np.empty(heap, np.int32)
        self.st = np.zeros(8, np.int64)
        self.st[FREE] = -1
        # change log of incremental edits: padded cell, old time, old allocation
        self.log_on = log > 0
        self.l_idx = np.empty(max(log, 1), np.int64)
        self.l_d = np.empty(max(log, 1), np.float64)
        self.l_a = np.empty(max(log, 1), np.int32)

    @staticmethod
    def _grow(arr, size):
        new = np.empty((size,) + arr.shape[1:], arr.dtype)
        new[: arr.shape[0]] = arr
        return new

    def reserve(self, n_blocks, n_heap, n_log=0):
        need = int(self.st[LIVE]) + n_blocks
        if need > self.b_n.shape[0]:
            size = max(2 * self.b_n.shape[0], need)
            if size >= 2**31:
                raise MemoryError("travel-time queue too large")
            for name in ("b_next", "b_n", "b_d", "b_cell", "b_a"):
                setattr(self, name, self._grow(getattr(self, name), size))
        need = int(self.st[HSIZE]) + n_heap
        if need > self.h_d.shape[0]:
            size = max(2 * self.h_d.shape[0], need)
            for name in ("h_d", "h_cell", "h_a"):
                setattr(self, name, self._grow(getattr(self, name), size))
        need = int(self.st[NLOG]) + n_log
        if self.log_on and need > self.l_idx.shape[0]:
            size = max(2 * self.l_idx.shape[0], need)
            for name in ("l_idx", "l_d", "l_a"):
                setattr(self, name, self._grow(getattr(self, name), size))

    def log(self):
        """The change log so far, as trimmed copies (idx, d, a)."""
        n = int(self.st[NLOG])
        return self.l_idx[:n].copy(), self.l_d[:n].copy(), self.l_a[:n].copy()

    def seed(self, pcells, times, ids, assign, cells):
        pcells = np.asarray(pcells, np.int64)
        n = pcells.shape[0]
        # worst case one block per seed (seeds spread over many buckets)
        self.reserve(n + 17, n + 17, n)
        seed_kernel(pcells, np.asarray(times, np.float64), np.asarray(ids, np.int32),
              np.asarray(assign, np.bool_), cells, self.inv_w, self.nb, self.heads,
              self.b_next, self.b_n, self.b_d, self.b_cell, self.b_a, self.h_d, self.h_cell,
              self.h_a, self.st, self.log_on, self.l_idx, self.l_d, self.l_a)


NO_AUX = np.zeros((1, 1), AUX)


def search(shared, q, neighbours, cell_size_m, uses_slope, uses_zones, cutoff_s, minutes,
            allocation, write_out, feedback, total, message):
    """Drive :func:`run_chunk` in chunks of ~1/50 of ``total`` expansions, reporting progress
    and checking for cancellation between chunks."""
    doff, dlen, bo1, bo2 = stencil(neighbours, shared.cells.shape[1], cell_size_m)
    aux = shared.aux if shared.aux is not None else NO_AUX
    chunk = max(int(total) // 50, 20_000)
    while True:
        status = run_chunk(shared.cells, aux, uses_slope, uses_zones, neighbours, doff, dlen, bo1,
                      bo2, cutoff_s, minutes, allocation, write_out, q.inv_w, q.nb, q.heads,
                      q.b_next, q.b_n, q.b_d, q.b_cell, q.b_a, q.h_d, q.h_cell, q.h_a, q.st,
                      chunk, q.log_on, q.l_idx, q.l_d, q.l_a)
        if status == 0:
            break
        if status == 1:
            report(feedback, min(1.0, q.st[EXPANDED] / max(total, 1)), message)
        else:
            q.reserve(neighbours + 1, neighbours + 1, neighbours + 1)
    report(feedback, 1.0, message)


def queue_params(cell_size_m, neighbours, uses_slope, cmin, cpos, cmax):
    """Bucket width (s) = smallest possible move cost; enough buckets to cover the
    largest plain move cost (larger ones wait in the overflow heap)."""
    c_low = cmin if cmin > 0 else cpos / 2.0
    width = cell_size_m * c_low * (_TOBLER_MIN if uses_slope else 1.0)
    if not (width > 0 and math.isfinite(width)):
        width = 1.0
    width = max(width, 1e-9)
    longest = cell_size_m * (_SQRT5 if neighbours == 16 else _SQRT2)
    span = longest * cmax / width + 2.0
    nb = _MIN_BUCKETS
    while nb < span and nb < _MAX_BUCKETS:
        nb *= 2
    return width, nb
