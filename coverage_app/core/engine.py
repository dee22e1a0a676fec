"""Travel-time engine: multi-source least-cost search on a raster grid.

Given a friction raster ``cost_s_per_m`` (seconds needed to cross one metre of each
cell) and the cells of every facility of a tier, :func:`travel_time` gives for each
cell the travel time in minutes to the *nearest* facility and which facility that is
(the allocation). Patients travel *from* the cell *to* the facility, so every
direction-dependent part of a move (slope, zone entry) is taken in that direction.

Cost model (identical to scikit-image ``MCP_Geometric`` for isotropic costs): one
move between adjacent cells ``a`` and ``b`` costs ``length_m * (c[a] + c[b]) / 2``
seconds, with ``length_m = cell_size_m * {1, sqrt(2), sqrt(5)}`` for straight,
diagonal and knight's moves ((+-1, +-2) and (+-2, +-1)). Knight's moves (the
16-neighbour stencil) use the same formula and are refused if either of the two
cells the segment passes between is a barrier, so a wall one cell thick that is
closed for 8-neighbour moves stays closed. Diagonal moves are never refused for
corner cutting (as in scikit-image).

* Barriers: cells whose cost is +inf or NaN are never entered.
* Slope (optional, Tobler's hiking function): if both cells of a move are in
  ``tobler_mask``, its cost is multiplied by ``exp(-0.175) / exp(-3.5 * |s + 0.05|)``
  where ``s = (z_to - z_from) / length_m`` in the direction of travel. Walking at
  5 % downhill is fastest (multiplier 0.839); on the flat the multiplier is 1.
  A NaN slope (NaN elevation) counts as flat.
* Zone entry (optional): a move from ``a`` into ``b`` with ``zone_label[b] != 0``
  and ``zone_label[a] != zone_label[b]`` adds ``entry_delay_s[b]`` seconds
  (checkpoints, conflict zones, boarding a ferry).
* Cut-off (optional): cells farther than ``max_minutes`` stay unreached.

Unreached and barrier cells get ``minutes = NaN`` and ``allocation = -1``.

Algorithm: Dijkstra with a bucket queue (Dial's algorithm on real-valued keys). The
bucket width is the smallest possible move cost, so no cell in a bucket can improve
another cell of the same bucket and cells of one bucket may be settled in any order:
the result is exact. A circular window of buckets covers the usual move costs;
entries beyond it (large zone delays, steep Tobler moves) wait in a small binary heap.
A popped entry is expanded only if its time is still the cell's time (lazy deletion),
and a cell improved after its expansion is simply expanded again, so the search is
label-correcting: correctness never depends on the bucket width, only speed does.
Times are accumulated in float64 seconds; a cell's time is the minimum over paths of
the left-to-right float sum of the move costs, whatever the order of the search, so
incremental updates reproduce a full recomputation bit for bit.

All functions are pure (no global state). The inner loop is compiled with numba
(``cache=True, nogil=True``); call :func:`warm_up` once, e.g. in a background thread at
start-up, so the first real run does not pay for compilation or cache loading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from coverage_app.core.feedback import check, report

__all__ = ["TravelTimeResult", "travel_time", "remove_source", "add_source", "warm_up"]

_INF = np.inf
_SQRT2 = math.sqrt(2.0)
_SQRT5 = math.sqrt(5.0)
_TOBLER_MIN = math.exp(-0.175)  # smallest Tobler multiplier (5 % downhill)
_MAX_BUCKETS = 1 << 18
_MIN_BUCKETS = 64
_KEY_CLAMP = 4.0e18  # bucket keys are int64; absurdly large times share the last key

# 8-neighbour stencil first, then the 8 knight's moves.
_STENCIL = (
    (-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1),
    (-2, -1), (-2, 1), (-1, -2), (-1, 2), (1, -2), (1, 2), (2, -1), (2, 1),
)

# Indices into the int64 queue state array ``st``.
_FREE, _BUMP, _LIVE, _CUR, _WIN, _HSIZE, _EXPANDED = range(7)


# --------------------------------------------------------------------------- results


@dataclass
class TravelTimeResult:
    """Output of :func:`travel_time` and state for :func:`remove_source` / :func:`add_source`.

    Attributes
    ----------
    minutes : float32 (rows, cols)
        Minutes to the nearest facility; NaN where unreached or a barrier.
    allocation : int32 (rows, cols)
        ``source_id`` of that facility; -1 where unreached or a barrier.
    seconds : float64 (rows, cols)
        The same times in seconds, at full precision (+inf where unreached). The
        incremental functions need it to reproduce a full recomputation exactly.
    source_rows, source_cols, source_ids : int64 (n,)
        The sources the result was computed for (after incremental edits, the current
        ones; removed sources are dropped, added ones appended).
    cell_size_m, neighbours, max_minutes, uses_slope, uses_zones :
        Options of the computation; incremental edits must use the same ones.
    bucket_width_s, n_buckets, n_passable :
        Queue parameters (seconds, count) and the number of passable cells; reused by
        incremental edits (they affect speed only, never the result).
    """

    minutes: np.ndarray
    allocation: np.ndarray
    seconds: np.ndarray
    source_rows: np.ndarray
    source_cols: np.ndarray
    source_ids: np.ndarray
    cell_size_m: float
    neighbours: int
    max_minutes: float | None
    uses_slope: bool
    uses_zones: bool
    bucket_width_s: float
    n_buckets: int
    n_passable: int


# --------------------------------------------------------------------------- numba kernels


@njit(cache=True, nogil=True)
def _bucket(d, inv_w):
    x = d * inv_w
    if x > _KEY_CLAMP:
        x = _KEY_CLAMP
    return np.int64(x)


@njit(cache=True, nogil=True)
def _heap_push(h_d, h_cell, size, d, v):
    """Push (d, v) on the binary min-heap of the first ``size`` entries; return new size."""
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if h_d[p] <= d:
            break
        h_d[i] = h_d[p]
        h_cell[i] = h_cell[p]
        i = p
    h_d[i] = d
    h_cell[i] = v
    return size + 1


@njit(cache=True, nogil=True)
def _heap_pop(h_d, h_cell, size):
    """Remove the top of the heap (read it before calling); return the new size."""
    size -= 1
    d = h_d[size]
    v = h_cell[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and h_d[c + 1] < h_d[c]:
            c += 1
        if h_d[c] >= d:
            break
        h_d[i] = h_d[c]
        h_cell[i] = h_cell[c]
        i = c
    if size > 0:
        h_d[i] = d
        h_cell[i] = v
    return size


@njit(cache=True, nogil=True)
def _cost_stats(cost):
    """(smallest finite cost, smallest positive finite cost, largest finite cost,
    number of passable cells, index of a negative cost or -1)."""
    cmin = np.inf
    cpos = np.inf
    cmax = 0.0
    n = 0
    neg = -1
    for i in range(cost.size):
        x = np.float64(cost[i])
        if x < np.inf:
            if x < 0.0:
                if neg < 0:
                    neg = i
                continue
            n += 1
            if x < cmin:
                cmin = x
            if x > 0.0 and x < cpos:
                cpos = x
            if x > cmax:
                cmax = x
    return cmin, cpos, cmax, n, neg


@njit(cache=True, nogil=True)
def _check_delays(zone, delay):
    """Index of the first zone cell with a negative or non-finite delay, or -1."""
    for i in range(zone.size):
        if zone[i] != 0:
            x = delay[i]
            if not (x >= 0.0 and x < np.inf):
                return i
    return -1


@njit(cache=True, nogil=True)
def _seed(cells, times, ids, assign, dist, alloc, minutes, inv_w, nb, heads, p_cell, p_next,
          p_d, h_d, h_cell, st):
    """Put start cells in the queue. Where ``assign[i]`` the cell is set to ``times[i]``
    with allocation ``ids[i]`` unless it already has a time that is not larger (the
    first source wins a tie); elsewhere it keeps its current time and allocation
    (boundary seeds of :func:`remove_source`). The pool and heap must have room."""
    n = cells.shape[0]
    if n == 0:
        return
    tmin = np.inf
    for i in range(n):
        if times[i] < tmin:
            tmin = times[i]
    if st[_LIVE] == 0 and st[_HSIZE] == 0:
        st[_CUR] = _bucket(tmin, inv_w)
    mask = nb - 1
    for i in range(n):
        v = cells[i]
        d = times[i]
        if assign[i]:
            if not (d < dist[v]):
                continue
            dist[v] = d
            alloc[v] = ids[i]
            minutes[v] = d / 60.0
        k = _bucket(d, inv_w)
        cur = st[_CUR]
        if k < cur:
            k = cur
        if k - cur < nb:
            e = st[_FREE]
            if e >= 0:
                st[_FREE] = p_next[e]
            else:
                e = st[_BUMP]
                st[_BUMP] = e + 1
            st[_LIVE] += 1
            slot = k & mask
            p_cell[e] = v
            p_d[e] = d
            p_next[e] = heads[slot]
            heads[slot] = e
            st[_WIN] += 1
        else:
            st[_HSIZE] = _heap_push(h_d, h_cell, st[_HSIZE], d, v)


@njit(cache=True, nogil=True)
def _run(cost, elev, tmask, zone, delay, use_tobler, use_zones, rows, cols,
         nk, dr, dc, doff, dlen, bo1, bo2,
         dist, alloc, minutes, cutoff,
         inv_w, nb, heads, p_cell, p_next, p_d, h_d, h_cell, st, max_expand):
    """Run the search until the queue is empty (return 0), ``max_expand`` cells were
    expanded (1), the entry pool (2) or the overflow heap (3) needs to grow. All state
    lives in the arrays, so calling again resumes where it stopped.

    Relaxing neighbour ``v`` of expanded cell ``u`` prices the move v -> u (travel
    toward the facility)."""
    free_head = st[_FREE]
    bump = st[_BUMP]
    live = st[_LIVE]
    cur = st[_CUR]
    win = st[_WIN]
    hsize = st[_HSIZE]
    cap = p_cell.shape[0]
    hcap = h_d.shape[0]
    mask = nb - 1
    expanded = 0
    status = 0
    while True:
        if live + nk + 1 > cap:
            status = 2
            break
        if hsize + nk + 1 > hcap:
            status = 3
            break
        if expanded >= max_expand:
            status = 1
            break
        # Move one overflow entry into the window once its bucket is inside it.
        if hsize > 0:
            dh = h_d[0]
            kh = _bucket(dh, inv_w)
            if kh - cur < nb:
                vh = h_cell[0]
                hsize = _heap_pop(h_d, h_cell, hsize)
                if kh < cur:
                    kh = cur
                e = free_head
                if e >= 0:
                    free_head = p_next[e]
                else:
                    e = bump
                    bump += 1
                live += 1
                slot = kh & mask
                p_cell[e] = vh
                p_d[e] = dh
                p_next[e] = heads[slot]
                heads[slot] = e
                win += 1
                continue
        slot = cur & mask
        e = heads[slot]
        if e < 0:  # current bucket done: advance, or jump to the overflow heap
            if win == 0:
                if hsize == 0:
                    status = 0
                    break
                cur = _bucket(h_d[0], inv_w)
            else:
                cur += 1
            continue
        heads[slot] = p_next[e]
        p_next[e] = free_head
        free_head = e
        live -= 1
        win -= 1
        u = p_cell[e]
        d = p_d[e]
        if d != dist[u]:  # stale entry: the cell was improved since
            continue
        expanded += 1
        r = u // cols
        c = u - r * cols
        cu = np.float64(cost[u])
        au = alloc[u]
        for k in range(nk):
            rr = r + dr[k]
            cc = c + dc[k]
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            v = u + doff[k]
            cv = np.float64(cost[v])
            if not (cv < np.inf):  # barrier (inf or NaN)
                continue
            if k >= 8:  # knight's move: both straddled cells must be passable
                if not (cost[u + bo1[k]] < np.inf and cost[u + bo2[k]] < np.inf):
                    continue
            length = dlen[k]
            w = length * ((cv + cu) * 0.5)
            if use_tobler:
                if tmask[u] and tmask[v]:
                    s = (np.float64(elev[u]) - np.float64(elev[v])) / length
                    if s == s:
                        w = w * math.exp(3.5 * abs(s + 0.05) - 0.175)
            if use_zones:
                zu = zone[u]
                if zu != 0 and zone[v] != zu:
                    w = w + delay[u]
            nd = d + w
            if nd < dist[v] and nd <= cutoff:
                dist[v] = nd
                alloc[v] = au
                minutes[v] = nd / 60.0
                kb = _bucket(nd, inv_w)
                if kb < cur:
                    kb = cur
                if kb - cur < nb:
                    e = free_head
                    if e >= 0:
                        free_head = p_next[e]
                    else:
                        e = bump
                        bump += 1
                    live += 1
                    slot = kb & mask
                    p_cell[e] = v
                    p_d[e] = nd
                    p_next[e] = heads[slot]
                    heads[slot] = e
                    win += 1
                else:
                    hsize = _heap_push(h_d, h_cell, hsize, nd, v)
    st[_FREE] = free_head
    st[_BUMP] = bump
    st[_LIVE] = live
    st[_CUR] = cur
    st[_WIN] = win
    st[_HSIZE] = hsize
    st[_EXPANDED] += expanded
    return status


@njit(cache=True, nogil=True)
def _cells_of(alloc, source_id):
    """Flat indices of the cells allocated to ``source_id``."""
    n = 0
    for i in range(alloc.size):
        if alloc[i] == source_id:
            n += 1
    out = np.empty(n, np.int64)
    j = 0
    for i in range(alloc.size):
        if alloc[i] == source_id:
            out[j] = i
            j += 1
    return out


@njit(cache=True, nogil=True)
def _reset_and_boundary(cells, dist, alloc, minutes, rows, cols, nk, dr, dc, doff):
    """Reset ``cells`` to unreached and return the reached cells next to them
    (in the stencil) that were not reset: they seed the repair search."""
    for i in range(cells.shape[0]):
        v = cells[i]
        dist[v] = np.inf
        alloc[v] = -1
        minutes[v] = np.nan
    out = np.empty(16, np.int64)
    n = 0
    for i in range(cells.shape[0]):
        u = cells[i]
        r = u // cols
        c = u - r * cols
        for k in range(nk):
            rr = r + dr[k]
            cc = c + dc[k]
            if rr < 0 or rr >= rows or cc < 0 or cc >= cols:
                continue
            v = u + doff[k]
            if dist[v] < np.inf:
                if n == out.shape[0]:
                    grown = np.empty(2 * n, np.int64)
                    grown[:n] = out
                    out = grown
                out[n] = v
                n += 1
    return out[:n]


# --------------------------------------------------------------------------- helpers


def _stencil(neighbours, cols, cell_size_m):
    if neighbours not in (8, 16):
        raise ValueError(f"neighbours must be 8 or 16, not {neighbours!r}")
    st = _STENCIL[:neighbours]
    dr = np.array([o[0] for o in st], np.int64)
    dc = np.array([o[1] for o in st], np.int64)
    doff = dr * cols + dc
    base = np.array([1.0, 1.0, 1.0, 1.0] + [_SQRT2] * 4 + [_SQRT5] * 8, np.float64)
    dlen = base[:neighbours] * float(cell_size_m)
    bo1 = np.zeros(neighbours, np.int64)
    bo2 = np.zeros(neighbours, np.int64)
    for k in range(8, neighbours):
        r, c = st[k]
        if abs(c) == 2:  # passes between (0, c/2) and (r, c/2)
            bo1[k] = c // 2
            bo2[k] = r * cols + c // 2
        else:  # passes between (r/2, 0) and (r/2, c)
            bo1[k] = (r // 2) * cols
            bo2[k] = (r // 2) * cols + c
    return dr, dc, doff, dlen, bo1, bo2


def _flat(a, dtype, shape, name):
    a = np.asarray(a)
    if a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
    return np.ascontiguousarray(a, dtype=dtype).reshape(-1)


class _Inputs:
    """Flat, typed views of the rasters (copies only where a dtype or layout differs)."""

    def __init__(self, cost_s_per_m, cell_size_m, neighbours, elevation_m, tobler_mask,
                 zone_label, entry_delay_s):
        cost = np.asarray(cost_s_per_m)
        if cost.ndim != 2:
            raise ValueError(f"cost_s_per_m must be 2-D, not {cost.ndim}-D")
        if not (float(cell_size_m) > 0 and math.isfinite(float(cell_size_m))):
            raise ValueError(f"cell_size_m must be a positive number, not {cell_size_m!r}")
        self.shape = cost.shape
        self.rows, self.cols = cost.shape
        self.cost = _flat(cost, np.float32, self.shape, "cost_s_per_m")
        self.cell_size_m = float(cell_size_m)
        self.neighbours = int(neighbours)
        (self.dr, self.dc, self.doff, self.dlen,
         self.bo1, self.bo2) = _stencil(self.neighbours, self.cols, self.cell_size_m)
        if (elevation_m is None) != (tobler_mask is None):
            raise ValueError("elevation_m and tobler_mask must be given together")
        self.use_tobler = elevation_m is not None
        if self.use_tobler:
            self.elev = _flat(elevation_m, np.float32, self.shape, "elevation_m")
            self.tmask = _flat(tobler_mask, np.bool_, self.shape, "tobler_mask")
        else:
            self.elev = np.zeros(1, np.float32)
            self.tmask = np.zeros(1, np.bool_)
        if (zone_label is None) != (entry_delay_s is None):
            raise ValueError("zone_label and entry_delay_s must be given together")
        self.use_zones = zone_label is not None
        if self.use_zones:
            self.zone = _flat(zone_label, np.int32, self.shape, "zone_label")
            self.delay = _flat(entry_delay_s, np.float32, self.shape, "entry_delay_s")
        else:
            self.zone = np.zeros(1, np.int32)
            self.delay = np.zeros(1, np.float32)


class _Queue:
    """Bucket queue arrays (circular window + overflow heap) and their state."""

    def __init__(self, bucket_width_s, n_buckets, pool=1 << 15, heap=1 << 10):
        self.inv_w = 1.0 / bucket_width_s
        self.nb = int(n_buckets)
        self.heads = np.full(self.nb, -1, np.int32)
        self.p_cell = np.empty(pool, np.int64)
        self.p_next = np.empty(pool, np.int32)
        self.p_d = np.empty(pool, np.float64)
        self.h_d = np.empty(heap, np.float64)
        self.h_cell = np.empty(heap, np.int64)
        self.st = np.zeros(8, np.int64)
        self.st[_FREE] = -1

    def reserve(self, n_pool, n_heap):
        need = self.st[_LIVE] + n_pool
        if need > self.p_cell.shape[0]:
            size = max(2 * self.p_cell.shape[0], int(need))
            if size >= 2**31:
                raise MemoryError("travel-time queue too large")
            for name in ("p_cell", "p_next", "p_d"):
                old = getattr(self, name)
                new = np.empty(size, old.dtype)
                new[: old.shape[0]] = old
                setattr(self, name, new)
        need = self.st[_HSIZE] + n_heap
        if need > self.h_d.shape[0]:
            size = max(2 * self.h_d.shape[0], int(need))
            for name in ("h_d", "h_cell"):
                old = getattr(self, name)
                new = np.empty(size, old.dtype)
                new[: old.shape[0]] = old
                setattr(self, name, new)

    def seed(self, cells, times, ids, assign, dist, alloc, minutes):
        cells = np.asarray(cells, np.int64)
        self.reserve(cells.shape[0] + 17, cells.shape[0] + 17)
        _seed(cells, np.asarray(times, np.float64), np.asarray(ids, np.int64),
              np.asarray(assign, np.bool_), dist, alloc, minutes, self.inv_w, self.nb, self.heads, self.p_cell, self.p_next, self.p_d,
              self.h_d, self.h_cell, self.st)


def _search(inp, q, dist, alloc, minutes, cutoff_s, feedback, total, message):
    """Drive :func:`_run` in chunks of ~1/50 of ``total`` expansions, reporting progress
    and checking for cancellation between chunks."""
    chunk = max(int(total) // 50, 20_000)
    while True:
        status = _run(inp.cost, inp.elev, inp.tmask, inp.zone, inp.delay, inp.use_tobler,
                      inp.use_zones, inp.rows, inp.cols, inp.neighbours, inp.dr, inp.dc,
                      inp.doff, inp.dlen, inp.bo1, inp.bo2, dist, alloc, minutes, cutoff_s,
                      q.inv_w, q.nb, q.heads, q.p_cell, q.p_next, q.p_d, q.h_d, q.h_cell,
                      q.st, chunk)
        if status == 0:
            break
        if status == 1:
            report(feedback, min(1.0, q.st[_EXPANDED] / max(total, 1)), message)
        else:
            q.reserve(inp.neighbours + 1, inp.neighbours + 1)
    report(feedback, 1.0, message)


def _cutoff_s(max_minutes):
    if max_minutes is None:
        return np.inf
    m = float(max_minutes)
    if not m >= 0:
        raise ValueError(f"max_minutes must be >= 0 or None, not {max_minutes!r}")
    return m * 60.0


def _check_sources(cost_flat, shape, rows, cols, ids):
    rows = np.atleast_1d(np.asarray(rows)).astype(np.int64)
    cols = np.atleast_1d(np.asarray(cols)).astype(np.int64)
    ids = np.atleast_1d(np.asarray(ids))
    if not (rows.shape == cols.shape == ids.shape) or rows.ndim != 1:
        raise ValueError("source_rows, source_cols and source_ids must be 1-D and of equal length")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError("source_ids must be integers")
    ids = ids.astype(np.int64)
    if np.any((ids == -1) | (ids < np.iinfo(np.int32).min) | (ids > np.iinfo(np.int32).max)):
        raise ValueError("source_ids must fit in int32 and must not be -1 (-1 means unreached)")
    nr, nc = shape
    outside = (rows < 0) | (rows >= nr) | (cols < 0) | (cols >= nc)
    flat = np.where(outside, 0, rows * nc + cols)
    barrier = ~outside & ~(cost_flat[flat] < np.inf)
    bad = []
    for i in np.flatnonzero(outside | barrier):
        what = "outside the grid" if outside[i] else "on a barrier cell"
        bad.append(f"source index {i} (id {ids[i]}) at row {rows[i]}, col {cols[i]} is {what}")
    if bad:
        raise ValueError("; ".join(bad))
    return rows, cols, ids, flat


def _queue_params(inp, cmin, cpos, cmax):
    """Bucket width (seconds) = smallest possible move cost; enough buckets to cover the
    largest plain move cost (bigger ones go to the overflow heap)."""
    c_low = cmin if cmin > 0 else cpos / 2.0
    width = inp.cell_size_m * c_low * (_TOBLER_MIN if inp.use_tobler else 1.0)
    if not (width > 0 and math.isfinite(width)):
        width = 1.0
    width = max(width, 1e-9)
    span = inp.dlen[-1] * cmax / width + 2.0
    nb = _MIN_BUCKETS
    while nb < span and nb < _MAX_BUCKETS:
        nb *= 2
    return width, nb


# --------------------------------------------------------------------------- public API


def travel_time(cost_s_per_m, cell_size_m, source_rows, source_cols, source_ids, *,
                neighbours=16, max_minutes=None, elevation_m=None, tobler_mask=None,
                zone_label=None, entry_delay_s=None, feedback=None) -> TravelTimeResult:
    """Travel time to the nearest source and its allocation, for every cell.

    Parameters
    ----------
    cost_s_per_m : 2-D array (float32 preferred; other dtypes are copied)
        Seconds to cross one metre of each cell; +inf or NaN = barrier. Must be >= 0.
    cell_size_m : float
        Side of a (square) cell in metres.
    source_rows, source_cols, source_ids : 1-D integer arrays
        Source cells and the id reported in ``allocation`` (any int32 except -1).
        Two sources on one cell: the first listed wins.
    neighbours : 8 or 16
        Move stencil; 16 adds knight's moves (much closer to Euclidean distance).
    max_minutes : float or None
        Cut-off; cells farther away stay unreached.
    elevation_m, tobler_mask : 2-D float32 metres / bool, optional, together
        Slope-dependent walking (Tobler) on moves with both cells in the mask.
    zone_label, entry_delay_s : 2-D int32 / float32 seconds, optional, together
        Entering a zone (label != 0) from outside it adds that cell's delay.
    feedback : :class:`coverage_app.core.feedback.Feedback` or None
        Progress ~50 times per run; :class:`~coverage_app.core.feedback.Cancelled` is
        raised if it asks to stop.

    Raises ValueError for sources outside the grid or on barriers (naming their
    indices), negative costs, or inconsistent shapes/options.
    """
    inp = _Inputs(cost_s_per_m, cell_size_m, neighbours, elevation_m, tobler_mask,
                  zone_label, entry_delay_s)
    cutoff_s = _cutoff_s(max_minutes)
    check(feedback)
    cmin, cpos, cmax, n_pass, neg = _cost_stats(inp.cost)
    if neg >= 0:
        r, c = divmod(int(neg), inp.cols)
        raise ValueError(f"cost_s_per_m is negative at row {r}, col {c}")
    if inp.use_zones:
        bad = _check_delays(inp.zone, inp.delay)
        if bad >= 0:
            r, c = divmod(int(bad), inp.cols)
            raise ValueError(f"entry_delay_s must be finite and >= 0 in zones (row {r}, col {c})")
    rows, cols, ids, flat = _check_sources(inp.cost, inp.shape, source_rows, source_cols,
                                           source_ids)
    width, nb = _queue_params(inp, cmin, cpos, cmax)

    n = inp.rows * inp.cols
    dist = np.full(n, np.inf, np.float64)
    alloc = np.full(n, -1, np.int32)
    minutes = np.full(n, np.nan, np.float32)
    q = _Queue(width, nb)
    q.seed(flat, np.zeros(flat.shape[0]), ids, np.ones(flat.shape[0], bool), dist, alloc,
           minutes)
    _search(inp, q, dist, alloc, minutes, cutoff_s, feedback, n_pass, "Travel time")
    return TravelTimeResult(
        minutes=minutes.reshape(inp.shape), allocation=alloc.reshape(inp.shape),
        seconds=dist.reshape(inp.shape), source_rows=rows, source_cols=cols, source_ids=ids,
        cell_size_m=inp.cell_size_m, neighbours=inp.neighbours,
        max_minutes=None if max_minutes is None else float(max_minutes),
        uses_slope=inp.use_tobler, uses_zones=inp.use_zones, bucket_width_s=width,
        n_buckets=nb, n_passable=int(n_pass))


def _prepare_edit(result, cost_s_per_m, cell_size_m, neighbours, max_minutes, elevation_m,
                  tobler_mask, zone_label, entry_delay_s, inplace):
    inp = _Inputs(cost_s_per_m, cell_size_m, neighbours, elevation_m, tobler_mask,
                  zone_label, entry_delay_s)
    if inp.shape != result.seconds.shape:
        raise ValueError(f"cost_s_per_m has shape {inp.shape}, the result {result.seconds.shape}")
    mm = None if max_minutes is None else float(max_minutes)
    mismatched = [
        name for name, a, b in (
            ("cell_size_m", inp.cell_size_m, result.cell_size_m),
            ("neighbours", inp.neighbours, result.neighbours),
            ("max_minutes", mm, result.max_minutes),
            ("elevation_m/tobler_mask", inp.use_tobler, result.uses_slope),
            ("zone_label/entry_delay_s", inp.use_zones, result.uses_zones),
        ) if a != b
    ]
    if mismatched:
        raise ValueError("options differ from those of the result: " + ", ".join(mismatched))
    if inplace:
        dist, alloc, minutes = result.seconds, result.allocation, result.minutes
    else:
        dist, alloc, minutes = (result.seconds.copy(), result.allocation.copy(),
                                result.minutes.copy())
    for a in (dist, alloc, minutes):
        if not a.flags.c_contiguous:
            raise ValueError("result arrays must be C-contiguous")
    return inp, _cutoff_s(max_minutes), dist, alloc, minutes


def _edited(result, inplace, dist, alloc, minutes, rows, cols, ids):
    if inplace:
        result.source_rows, result.source_cols, result.source_ids = rows, cols, ids
        return result
    return TravelTimeResult(
        minutes=minutes, allocation=alloc, seconds=dist, source_rows=rows, source_cols=cols,
        source_ids=ids, cell_size_m=result.cell_size_m, neighbours=result.neighbours,
        max_minutes=result.max_minutes, uses_slope=result.uses_slope,
        uses_zones=result.uses_zones, bucket_width_s=result.bucket_width_s,
        n_buckets=result.n_buckets, n_passable=result.n_passable)


def remove_source(result, source_id, cost_s_per_m, cell_size_m, *, neighbours=16,
                  max_minutes=None, elevation_m=None, tobler_mask=None, zone_label=None,
                  entry_delay_s=None, feedback=None, inplace=False) -> TravelTimeResult:
    """Result of :func:`travel_time` without the source(s) with id ``source_id``.

    Only the cells allocated to ``source_id`` are recomputed: they are reset, the
    reached cells bordering them seed a search at their current times, and the search
    only ever lowers times. Times equal a full recomputation exactly; allocations too,
    except where two sources are exactly tied. The rasters and options must be those
    of ``result`` (checked for the options, not for the rasters' contents).

    With ``inplace=False`` (default) the result's arrays are copied first (three
    whole-grid copies, ~16 bytes a cell); ``inplace=True`` updates and returns
    ``result`` itself, touching only the affected cells plus one scan of the
    allocation raster.
    """
    inp, cutoff_s, dist, alloc, minutes = _prepare_edit(
        result, cost_s_per_m, cell_size_m, neighbours, max_minutes, elevation_m,
        tobler_mask, zone_label, entry_delay_s, inplace)
    check(feedback)
    ids = result.source_ids
    gone = ids == source_id
    if not gone.any():
        raise ValueError(f"no source with id {source_id}")
    keep = ~gone
    rows, cols, ids = result.source_rows[keep], result.source_cols[keep], ids[keep]
    d1, a1, m1 = dist.reshape(-1), alloc.reshape(-1), minutes.reshape(-1)
    cells = _cells_of(a1, np.int32(source_id))
    boundary = _reset_and_boundary(cells, d1, a1, m1, inp.rows, inp.cols, inp.neighbours,
                                   inp.dr, inp.dc, inp.doff)
    q = _Queue(result.bucket_width_s, result.n_buckets)
    # Boundary cells keep their time and allocation; remaining sources that lay in the
    # reset area (sharing a cell with the removed one) restart at 0.
    flat = rows * inp.cols + cols
    seed_cells = np.concatenate([boundary, flat])
    seed_times = np.concatenate([d1[boundary], np.zeros(flat.shape[0])])
    seed_ids = np.concatenate([a1[boundary].astype(np.int64), ids])
    assign = np.concatenate([np.zeros(boundary.shape[0], bool), np.ones(flat.shape[0], bool)])
    q.seed(seed_cells, seed_times, seed_ids, assign, d1, a1, m1)
    _search(inp, q, d1, a1, m1, cutoff_s, feedback, cells.shape[0] + boundary.shape[0],
            "Removing facility")
    return _edited(result, inplace, dist, alloc, minutes, rows, cols, ids)


def add_source(result, row, col, source_id, cost_s_per_m, cell_size_m, *, neighbours=16,
               max_minutes=None, elevation_m=None, tobler_mask=None, zone_label=None,
               entry_delay_s=None, feedback=None, inplace=False) -> TravelTimeResult:
    """Result of :func:`travel_time` with one more source at (``row``, ``col``).

    The new source starts at 0 s and the search only visits cells it makes strictly
    faster to reach, so the cost is proportional to the area it wins. Exact as for
    :func:`remove_source` (on an exact tie the existing allocation is kept); same
    ``inplace`` semantics. ``source_id`` may repeat an existing id (e.g. a second
    entrance of one facility) but not be -1.
    """
    inp, cutoff_s, dist, alloc, minutes = _prepare_edit(
        result, cost_s_per_m, cell_size_m, neighbours, max_minutes, elevation_m,
        tobler_mask, zone_label, entry_delay_s, inplace)
    check(feedback)
    r, c, i, flat = _check_sources(inp.cost, inp.shape, [row], [col], [source_id])
    rows = np.concatenate([result.source_rows, r])
    cols = np.concatenate([result.source_cols, c])
    ids = np.concatenate([result.source_ids, i])
    d1, a1, m1 = dist.reshape(-1), alloc.reshape(-1), minutes.reshape(-1)
    q = _Queue(result.bucket_width_s, result.n_buckets)
    q.seed(flat, np.zeros(1), i, np.ones(1, bool), d1, a1, m1)
    _search(inp, q, d1, a1, m1, cutoff_s, feedback, result.n_passable, "Adding facility")
    return _edited(result, inplace, dist, alloc, minutes, rows, cols, ids)


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel on a tiny grid, ~ms when cached."""
    cost = np.ones((6, 7), np.float32)
    cost[2, 3] = np.inf
    zone = np.zeros((6, 7), np.int32)
    zone[0, :] = 1
    delay = np.full((6, 7), 5.0, np.float32)
    opts = dict(neighbours=16, elevation_m=np.zeros((6, 7), np.float32),
                tobler_mask=np.ones((6, 7), bool), zone_label=zone, entry_delay_s=delay)
    res = travel_time(cost, 10.0, [0, 5], [0, 6], [1, 2], **opts)
    res = remove_source(res, 1, cost, 10.0, **opts)
    add_source(res, 0, 0, 1, cost, 10.0, **opts)
