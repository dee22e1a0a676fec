"""The bucket queue and the search driver of the travel-time engine: the move stencil (padded
offsets, lengths in metres, knight-blocking cells), queue parameters (bucket width in seconds),
:class:`Queue` (circular window of 64-entry block stacks + overflow heap + change log),
:func:`search`, which runs the kernel in chunks with progress and cancellation, and
:func:`split_search`, the same search over row domains on several threads.

Split search (exact): phase 1 cuts the grid into bands of rows and searches each band on its
own thread, with its own queue and the sources inside it, on the one shared padded grid; a
band's search relaxes only its own cells, so the threads never write the same record, and each
cell ends with the shortest time over paths inside its band. Phase 2 (one thread) seeds every
reached cell within the stencil radius of a cut at its current time and allocation, without
assigning (as :func:`~coverage_app.core.travel.engine.remove_source` seeds its boundary), and
runs the ordinary whole-grid search: only moves across a cut can still lower a time, their
cells are the seeds, and the search only ever lowers times. Since a cell's time is the minimum
over paths of the left-to-right float sum of the move costs whatever the order of the search,
the minutes equal a one-thread run's bit for bit, the allocation too except on exact ties.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np

from coverage_app.core.feedback import report, sub
from coverage_app.core.travel.kernels import (AUX, BLOCK, EXPANDED, FREE, HSIZE, LIVE, NLOG, PAD,
                                              flat_view, run_chunk, seed_kernel)


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
              np.asarray(assign, np.bool_), flat_view(cells), self.inv_w, self.nb, self.heads,
              self.b_next, self.b_n, self.b_d, self.b_cell, self.b_a, self.h_d, self.h_cell,
              self.h_a, self.st, self.log_on, self.l_idx, self.l_d, self.l_a)


NO_AUX = np.zeros((1, 1), AUX)
NO_FERRIES = np.zeros(1, np.float64)  # boarding delays without ferries: label 0 only
NO_PAIRS = np.zeros((1, 1), np.float64)  # zones that do not overlap: each cell's own entry delay


def _chunk(shared, q, neighbours, moves, uses_slope, uses_zones, cutoff_s, vlo, vhi, minutes,
           allocation, write_out, chunk):
    """Run :func:`run_chunk` over padded flat cells [vlo, vhi) for up to ``chunk`` expansions,
    growing the queue when the kernel asks for it (``moves``: :func:`stencil`'s arrays).
    Returns the kernel's status (0 done, 1 chunk of expansions done)."""
    doff, dlen, bo1, bo2 = moves
    aux = shared.aux if shared.aux is not None else NO_AUX
    ferry_s = shared.ferry_s if shared.ferry_s is not None else NO_FERRIES
    zone_pair = shared.zone_pair if shared.zone_pair is not None else NO_PAIRS
    flat, xflat, om, oa = flat_view(shared.cells), flat_view(aux), flat_view(minutes), flat_view(allocation)
    pc, ocols = shared.cells.shape[1], minutes.shape[1]
    while True:
        status = run_chunk(flat, xflat, pc, ferry_s, zone_pair, uses_slope, uses_zones, neighbours, doff, dlen, bo1,
                           bo2, cutoff_s, vlo, vhi, om, oa, ocols, write_out, q.inv_w, q.nb,
                           q.heads, q.b_next, q.b_n, q.b_d, q.b_cell, q.b_a, q.h_d, q.h_cell,
                           q.h_a, q.st, chunk, q.log_on, q.l_idx, q.l_d, q.l_a)
        if status <= 1:
            return status
        q.reserve(neighbours + 1, neighbours + 1, neighbours + 1)


def search(shared, q, neighbours, cell_size_m, uses_slope, uses_zones, cutoff_s, minutes,
            allocation, write_out, feedback, total, message):
    """Drive :func:`run_chunk` over the whole grid in chunks of ~1/50 of ``total``
    expansions, reporting progress and checking for cancellation between chunks."""
    chunk = max(int(total) // 50, 20_000)
    size = shared.cells.size
    moves = stencil(neighbours, shared.cells.shape[1], cell_size_m)
    while _chunk(shared, q, neighbours, moves, uses_slope, uses_zones, cutoff_s, 0, size,
                 minutes, allocation, write_out, chunk):
        report(feedback, min(1.0, q.st[EXPANDED] / max(total, 1)), message)
    report(feedback, 1.0, message)


def row_cuts(row_n, parts):
    """First rows (unpadded) of bands 2..``parts`` that hold about equal numbers of passable
    cells (``row_n``: passable cells per row); sorted, unique, within 1..rows-1 (fewer cuts
    than ``parts - 1`` on grids with too few rows)."""
    cum = np.cumsum(row_n)
    if parts < 2 or row_n.shape[0] < 2 or cum[-1] == 0:
        return np.zeros(0, np.int64)
    want = cum[-1] * np.arange(1, parts) / parts
    cuts = np.searchsorted(cum, want, side="left") + 1
    return np.unique(np.clip(cuts, 1, row_n.shape[0] - 1)).astype(np.int64)


# seconds between two progress reports (and cancellation checks) of a split search
POLL_S = 0.1


def split_search(shared, width, nb, pflat, ids, cuts, neighbours, cell_size_m, uses_slope,
                 uses_zones, cutoff_s, minutes, allocation, feedback, total, message):
    """Full-run search from sources at padded flat cells ``pflat`` (ids ``ids``) on
    ``len(cuts) + 1`` threads, one per band of rows split at the unpadded rows ``cuts``, then
    the repair across the cuts (see the module docstring). ``width`` (s) and ``nb`` are the
    queue parameters; ``total`` the expected expansions (passable cells). The calling thread
    reports progress (about every :data:`POLL_S` seconds) and, if ``feedback`` cancels or a
    band's search raises, stops every band and re-raises once no band thread runs."""
    cells = shared.cells
    pc = cells.shape[1]
    bounds = [0] + [int(m + PAD) * pc for m in cuts] + [cells.size]
    queues = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        q = Queue(width, nb)
        inside = (pflat >= lo) & (pflat < hi)
        q.seed(pflat[inside], np.zeros(int(inside.sum())), ids[inside],
               np.ones(int(inside.sum()), bool), cells)
        queues.append((q, lo, hi))
    chunk = max(int(total) // (50 * len(queues)), 20_000)
    stop = threading.Event()
    moves = stencil(neighbours, pc, cell_size_m)

    def band(q, lo, hi):
        while not stop.is_set():
            if _chunk(shared, q, neighbours, moves, uses_slope, uses_zones, cutoff_s, lo,
                      hi, minutes, allocation, False, chunk) == 0:
                return

    done_frac = 0.0
    with ThreadPoolExecutor(max_workers=len(queues), thread_name_prefix="travel-band") as ex:
        pending = {ex.submit(band, *qb) for qb in queues}
        try:
            while pending:
                done, pending = wait(pending, timeout=None if feedback is None else POLL_S,
                                     return_when=FIRST_COMPLETED)
                for f in done:
                    f.result()  # re-raises a band's exception
                done_frac = min(1.0, sum(int(q.st[EXPANDED]) for q, _, _ in queues) / max(total, 1))
                report(feedback, done_frac, message)
        except BaseException:
            stop.set()  # the executor's exit waits for the bands to stop
            raise
    # Phase 2: reached cells within the stencil radius of a cut, at their times.
    rad = 2 if neighbours > 8 else 1
    nrows = cells.shape[0] - 2 * PAD
    rows = np.unique(np.clip((cuts[:, None] + np.arange(-rad, rad)).ravel(), 0, nrows - 1))
    prow = rows + PAD
    d = cells["d"][prow]
    rr, cc = np.nonzero(d < np.inf)
    seeds = prow[rr] * pc + cc
    flat = cells.reshape(-1)
    q = Queue(width, nb)
    q.seed(seeds, flat["d"][seeds], flat["a"][seeds], np.zeros(seeds.shape[0], bool), cells)
    search(shared, q, neighbours, cell_size_m, uses_slope, uses_zones, cutoff_s, minutes,
           allocation, False, sub(feedback, done_frac, 1.0), max(total, 1) // 50, message)


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
