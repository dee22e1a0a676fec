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
cells the segment passes between is a barrier, so a wall that is closed to
8-neighbour moves stays closed. Diagonal moves are never refused for corner cutting
(as in scikit-image), so a wall must be 4-connected to stop them.

* Barriers: cells whose cost is +inf or NaN are never entered.
* Slope (optional, Tobler's hiking function): if both cells of a move are in
  ``tobler_mask``, its cost is multiplied by ``exp(-0.175) / exp(-3.5 * |s + 0.05|)``
  where ``s = (z_to - z_from) / length_m`` in the direction of travel. Walking at
  5 % downhill is fastest (multiplier 0.839); on the flat the multiplier is 1. A cell
  with NaN elevation counts as outside the mask (multiplier 1, as on the flat).
* Zone entry (optional): a move from ``a`` into ``b`` with ``zone_label[b] != 0``
  and ``zone_label[a] != zone_label[b]`` adds ``entry_delay_s[b]`` seconds
  (checkpoints, conflict zones, boarding a ferry).
* Cut-off (optional): cells farther than ``max_minutes`` stay unreached.

Unreached and barrier cells get ``minutes = NaN`` and ``allocation = -1``.

Algorithm: Dijkstra with a bucket queue (Dial's algorithm on real-valued keys). The
bucket width is the smallest possible move cost, so no cell of a bucket can improve
another cell of the same bucket and the cells of one bucket may be settled in any
order: the result is exact. A circular window of buckets covers the usual move costs;
entries beyond it (large zone delays, steep Tobler moves) wait in a small binary heap.
Each bucket is a stack of 64-entry blocks, so pushes and pops touch memory
sequentially. A popped entry is expanded only if its time is still the cell's time
(lazy deletion), and a cell improved after its expansion is simply expanded again:
the search is label-correcting, so correctness never depends on the bucket width,
only speed does.

Times are accumulated in float64 seconds. A cell's time is the minimum over paths of
the left-to-right float sum of the move costs, whatever the order of the search, so
incremental updates reproduce a full recomputation bit for bit.

Memory layout: the search works on a private copy of the grid padded with two rows
and columns of barrier cells (so neighbours never need bounds checks), with one
16-byte record per cell holding the time (float64 s), the cost (float32 s/m) and the
allocation (int32), so that visiting a neighbour touches one cache line instead of
several; the cells a bucket will pop next are prefetched. Elevation (NaN outside the
Tobler mask), zone label and entry delay, when used, live in a second padded 12-byte
record array. With the float32 minutes and int32 allocation outputs that is 24 bytes
a cell (36 with slope or zones), about 220 MB for 3000 x 3000 cells; runs on the same
rasters can share the second array (:func:`prepare`). The private
copies stay in the result for the incremental functions; results derived from one
another by edits share them as a persistent array (each older result keeps only a
diff of the cells that changed, see :class:`_Version`), so an edit that returns a new
result does not copy them.

All functions are pure (no global state). The inner loop is compiled with numba
(``cache=True, nogil=True``, so a worker thread does not hold the GIL); call
:func:`warm_up` once, e.g. in a background thread at start-up, so the first real run
does not pay for compilation or cache loading.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from coverage_app.core.feedback import check, report

__all__ = ["TravelTimeResult", "Prepared", "prepare", "travel_time", "remove_source", "add_source",
           "changed_cells", "warm_up"]

_SQRT2 = math.sqrt(2.0)
_SQRT5 = math.sqrt(5.0)
_TOBLER_MIN = math.exp(-0.175)  # smallest Tobler multiplier (5 % downhill)
_PAD = 2  # barrier border, wide enough for knight's moves
_BLOCK = 64  # entries per queue block
_MAX_BUCKETS = 1 << 18
_MIN_BUCKETS = 64
_KEY_CLAMP = 4.0e18  # bucket keys are int64; absurdly large times share the last key

_CELL = np.dtype([("d", np.float64), ("c", np.float32), ("a", np.int32)])
_AUX = np.dtype([("z", np.float32), ("label", np.int32), ("delay", np.float32)])
_LOOKAHEAD = 4  # queue entries between a cell's prefetch and its expansion

# 8-neighbour stencil first, then the 8 knight's moves.
_STENCIL = (
    (-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1),
    (-2, -1), (-2, 1), (-1, -2), (-1, 2), (1, -2), (1, 2), (2, -1), (2, 1),
)

# Indices into the int64 queue state array ``st``.
_FREE, _BUMP, _LIVE, _CUR, _WIN, _HSIZE, _EXPANDED, _NLOG = range(8)


# --------------------------------------------------------------------------- results


class _Shared:
    """The padded rasters of one :func:`travel_time` run, shared by every result derived
    from it by incremental edits (see :class:`_Version`)."""

    __slots__ = ("cells", "aux", "lock")

    def __init__(self, cells, aux):
        self.cells = cells  # _CELL (rows + 4, cols + 4): time s, cost s/m, allocation
        self.aux = aux  # _AUX (rows + 4, cols + 4) or None: elevation m (NaN outside
        # the Tobler mask), zone label, entry delay s
        self.lock = threading.RLock()

    def __getstate__(self):  # picklable / deep-copyable, with a fresh lock
        return self.cells, self.aux

    def __setstate__(self, state):
        self.__init__(*state)


class _Version:
    """The times and allocations of one result, as a persistent array (Baker's trick).

    ``shared.cells`` holds the state of exactly one version, the one whose ``link`` is
    None. Any other version holds a diff (padded cell indices, times, allocations) that
    turns the state of the version it links to into its own. :func:`_reroot` walks the
    links, applying and reversing the diffs, to make a version current. So an edit that
    returns a new result costs only the cells it changes (plus copies of the two output
    arrays), not a copy of the whole grid, and every older result stays valid.
    """

    __slots__ = ("shared", "link", "idx", "d", "a")

    def __init__(self, shared, link=None, idx=None, d=None, a=None):
        self.shared, self.link, self.idx, self.d, self.a = shared, link, idx, d, a


def _reroot(v: _Version) -> None:
    """Make ``v`` the version whose state ``v.shared.cells`` holds (call under its lock)."""
    path = []
    while v.link is not None:
        path.append(v)
        v = v.link
    for w in reversed(path):  # w links to the current version
        cur = w.link
        _apply_diff(w.shared.cells, w.idx, w.d, w.a)  # arrays now hold cur's values
        cur.link, cur.idx, cur.d, cur.a = w, w.idx[::-1].copy(), w.d[::-1].copy(), w.a[::-1].copy()
        w.link = w.idx = w.d = w.a = None


@dataclass(eq=False)
class TravelTimeResult:
    """Output of :func:`travel_time`, and the state :func:`remove_source` and
    :func:`add_source` need.

    Attributes
    ----------
    minutes : float32 (rows, cols)
        Minutes to the nearest facility; NaN where unreached or a barrier.
    allocation : int32 (rows, cols)
        ``source_id`` of that facility; -1 where unreached or a barrier.
    source_rows, source_cols, source_ids : int64 (n,)
        The sources the result is for (after incremental edits the current ones:
        removed sources dropped, added ones appended).
    cell_size_m, neighbours, max_minutes, uses_slope, uses_zones :
        Options of the computation; incremental edits must be given the same ones.
    bucket_width_s, n_buckets, n_passable :
        Queue parameters (seconds, count) and number of passable cells; reused by
        incremental edits (they only affect speed, never the result).
    state :
        Internal: the padded rasters and float64 times, shared with the results derived
        from this one (see :attr:`seconds`). Results of one lineage may be used from
        several threads: access to the shared state is serialised by a lock.
    """

    minutes: np.ndarray
    allocation: np.ndarray
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
    state: _Version = field(repr=False)

    @property
    def seconds(self) -> np.ndarray:
        """Float64 seconds (rows, cols), +inf where unreached: the full-precision times
        incremental edits rely on. A new array on every access (a whole-grid copy)."""
        sh = self.state.shared
        with sh.lock:
            _reroot(self.state)
            return sh.cells["d"][_PAD:-_PAD, _PAD:-_PAD].copy()


# --------------------------------------------------------------------------- numba kernels


def jit_kernel(fn):
    """``njit(cache=True, nogil=True)``; without the on-disk cache where numba finds no
    place for it (e.g. a frozen app shipping no .py sources: numba raises at decoration).
    Setting NUMBA_CACHE_DIR to a writable folder and shipping engine.py keeps caching."""
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # pragma: no cover - "cannot cache function ... no locator"
        return njit(nogil=True)(fn)


@intrinsic
def _prefetch_intrinsic(typingctx, arr, idx):
    """Hint the CPU to fetch ``arr[idx]`` into cache (LLVM ``llvm.prefetch``)."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        # read access, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0),
                          ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@jit_kernel
def _prefetch_probe(a):
    _prefetch_intrinsic(a, 0)
    return a[0]


try:  # a speed hint only: fall back to nothing if this LLVM refuses it
    _prefetch_probe(np.zeros(1, np.float64))
    _prefetch = _prefetch_intrinsic
except Exception:  # pragma: no cover

    @jit_kernel
    def _prefetch(arr, idx):
        pass


@jit_kernel
def _bucket(d, inv_w):
    x = d * inv_w
    if x > _KEY_CLAMP:
        x = _KEY_CLAMP
    return np.int64(x)


@jit_kernel
def _heap_push(h_d, h_cell, h_a, size, d, v, a):
    """Push (d, v, a) on the binary min-heap of the first ``size`` entries; return the new size."""
    i = size
    while i > 0:
        p = (i - 1) >> 1
        if h_d[p] <= d:
            break
        h_d[i] = h_d[p]
        h_cell[i] = h_cell[p]
        h_a[i] = h_a[p]
        i = p
    h_d[i] = d
    h_cell[i] = v
    h_a[i] = a
    return size + 1


@jit_kernel
def _heap_pop(h_d, h_cell, h_a, size):
    """Remove the top of the heap (read it first); return the new size."""
    size -= 1
    d = h_d[size]
    v = h_cell[size]
    a = h_a[size]
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
        h_a[i] = h_a[c]
        i = c
    if size > 0:
        h_d[i] = d
        h_cell[i] = v
        h_a[i] = a
    return size


@jit_kernel
def _push(slot, v, d, a, heads, b_next, b_n, b_d, b_cell, b_a, free, bump, live):
    """Append (d, v, a) to the block stack of bucket ``slot``; a caller must have
    checked that a free block exists. Returns the updated (free, bump, live)."""
    b = heads[slot]
    if b < 0 or b_n[b] == _BLOCK:
        if free >= 0:
            nb = free
            free = b_next[nb]
        else:
            nb = bump
            bump += 1
        live += 1
        b_next[nb] = b
        b_n[nb] = 0
        heads[slot] = nb
        b = nb
    i = b_n[b]
    b_d[b, i] = d
    b_cell[b, i] = v
    b_a[b, i] = a
    b_n[b] = i + 1
    return free, bump, live


@jit_kernel
def _fill_grid(cost, elev, tmask, use_tobler, zone, delay, use_zones, cells, aux, use_aux):
    """Copy the rasters into the padded records (barrier border, times +inf,
    allocation -1); return (smallest finite cost, smallest positive finite cost,
    largest finite cost, passable cells, flat index of a negative cost or -1, flat
    index of a zone cell with a bad delay or -1)."""
    rows, cols = cost.shape
    pr, pc = cells.shape
    cmin = np.inf
    cpos = np.inf
    cmax = 0.0
    n = 0
    neg = -1
    bad_delay = -1
    for pr_ in range(pr):
        r = pr_ - _PAD
        inside_r = 0 <= r < rows
        for pc_ in range(pc):
            c = pc_ - _PAD
            rec = cells[pr_, pc_]
            rec.d = np.inf
            rec.a = -1
            x = np.inf
            if inside_r and 0 <= c < cols:
                x = np.float64(cost[r, c])
                if x < np.inf:
                    if x < 0.0:
                        if neg < 0:
                            neg = r * cols + c
                        x = np.inf
                    else:
                        n += 1
                        if x < cmin:
                            cmin = x
                        if x > 0.0 and x < cpos:
                            cpos = x
                        if x > cmax:
                            cmax = x
                else:
                    x = np.inf  # NaN barriers become inf
                if use_aux:
                    ax = aux[pr_, pc_]
                    ax.z = elev[r, c] if (use_tobler and tmask[r, c]) else np.nan
                    lab = zone[r, c] if use_zones else 0
                    ax.label = lab
                    ax.delay = 0.0
                    if lab != 0:
                        dl = delay[r, c]
                        if not (dl >= 0.0 and dl < np.inf) and bad_delay < 0:
                            bad_delay = r * cols + c
                        ax.delay = dl
            elif use_aux:
                ax = aux[pr_, pc_]
                ax.z = np.nan
                ax.label = 0
                ax.delay = 0.0
            rec.c = x
    return cmin, cpos, cmax, n, neg, bad_delay


@jit_kernel
def _fill_aux(elev, tmask, use_tobler, zone, delay, use_zones, aux):
    """Fill the padded auxiliary records alone (as :func:`_fill_grid` does) into ``aux``, which
    must start all zero: only cells whose record is not all zero are written (without slope,
    the zone cells), so untouched pages stay unallocated (the elevation is read only with
    slope). Returns the flat index of a zone cell with a bad delay or -1."""
    rows, cols = zone.shape if use_zones else elev.shape
    pr, pc = aux.shape
    bad_delay = -1
    for pr_ in range(pr):
        r = pr_ - _PAD
        inside_r = 0 <= r < rows
        for pc_ in range(pc):
            c = pc_ - _PAD
            if use_tobler:
                aux[pr_, pc_].z = np.nan
            if inside_r and 0 <= c < cols:
                if use_tobler and tmask[r, c]:
                    aux[pr_, pc_].z = elev[r, c]
                lab = zone[r, c] if use_zones else 0
                if lab != 0:
                    ax = aux[pr_, pc_]
                    ax.label = lab
                    dl = delay[r, c]
                    if not (dl >= 0.0 and dl < np.inf) and bad_delay < 0:
                        bad_delay = r * cols + c
                    ax.delay = dl
    return bad_delay


@jit_kernel
def _finish(cells, minutes, allocation):
    """Write the outputs from the padded records (full run)."""
    rows, cols = minutes.shape
    for r in range(rows):
        for c in range(cols):
            rec = cells[r + _PAD, c + _PAD]
            d = rec.d
            if d < np.inf:
                minutes[r, c] = d / 60.0
                allocation[r, c] = rec.a
            else:
                minutes[r, c] = np.nan
                allocation[r, c] = -1


@jit_kernel
def _seed(pcells, times, ids, assign, cells, inv_w, nb, heads, b_next, b_n, b_d, b_cell, b_a,
          h_d, h_cell, h_a, st, log_on, l_idx, l_d, l_a):
    """Queue start cells (padded flat indices). Where ``assign[i]`` the cell's time is
    set to ``times[i]`` unless it already has one that is not larger (the first source
    wins a tie); elsewhere it keeps its time (boundary seeds of :func:`remove_source`).
    Entries carry ``ids[i]``. The block pool, heap and log must have room for all seeds.
    With ``log_on`` every change is logged (cell, old time, old allocation)."""
    n = pcells.shape[0]
    if n == 0:
        return
    flat = cells.reshape(-1)
    if st[_LIVE] == 0 and st[_HSIZE] == 0:
        tmin = np.inf
        for i in range(n):
            if times[i] < tmin:
                tmin = times[i]
        st[_CUR] = _bucket(tmin, inv_w)
    free = st[_FREE]
    bump = st[_BUMP]
    live = st[_LIVE]
    mask = nb - 1
    for i in range(n):
        v = pcells[i]
        d = times[i]
        if assign[i]:
            if not (d < flat[v].d):
                continue
            if log_on:
                j = st[_NLOG]
                l_idx[j] = v
                l_d[j] = flat[v].d
                l_a[j] = flat[v].a
                st[_NLOG] = j + 1
            flat[v].d = d
        k = _bucket(d, inv_w)
        cur = st[_CUR]
        if k < cur:
            k = cur
        if k - cur < nb:
            free, bump, live = _push(k & mask, v, d, ids[i], heads, b_next, b_n, b_d, b_cell,
                                     b_a, free, bump, live)
            st[_WIN] += 1
        else:
            st[_HSIZE] = _heap_push(h_d, h_cell, h_a, st[_HSIZE], d, v, ids[i])
    st[_FREE] = free
    st[_BUMP] = bump
    st[_LIVE] = live


@jit_kernel
def _run(cells, aux, use_tobler, use_zones, nk, doff, dlen, bo1, bo2, cutoff,
         out_minutes, out_alloc, write_out,
         inv_w, nb, heads, b_next, b_n, b_d, b_cell, b_a, h_d, h_cell, h_a, st, max_expand,
         log_on, l_idx, l_d, l_a):
    """Run the search until the queue is empty (return 0), ``max_expand`` cells were
    expanded (1), or the block pool (2), overflow heap (3) or change log (4) must
    grow. All state is in the arrays, so calling again resumes where it stopped.
    With ``log_on`` (incremental edits) every lowered time is logged first (cell, old
    time, old allocation) so that the edit can be undone.

    Expanding cell ``u`` relaxes each neighbour ``v`` with the cost of the move
    v -> u (travel toward the facility). The allocation of ``u`` is written when it
    is expanded, and if ``write_out`` (incremental edits) also the unpadded outputs.
    """
    flat = cells.reshape(-1)
    xflat = aux.reshape(-1)
    pc = cells.shape[1]
    ocols = out_minutes.shape[1]
    om = out_minutes.reshape(-1)
    oa = out_alloc.reshape(-1)
    free = st[_FREE]
    bump = st[_BUMP]
    live = st[_LIVE]
    cur = st[_CUR]
    win = st[_WIN]
    hsize = st[_HSIZE]
    nlog = st[_NLOG]
    cap = b_n.shape[0]
    hcap = h_d.shape[0]
    lcap = l_idx.shape[0]
    mask = nb - 1
    rad = 2 if nk > 8 else 1  # stencil radius, for prefetching
    limit = np.nextafter(cutoff, np.inf)  # nd <= cutoff  <=>  nd < limit
    expanded = 0
    status = 0
    while True:
        if live + nk + 1 > cap:
            status = 2
            break
        if hsize + nk + 1 > hcap:
            status = 3
            break
        if log_on and nlog + nk + 1 > lcap:
            status = 4
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
                ah = h_a[0]
                hsize = _heap_pop(h_d, h_cell, h_a, hsize)
                if kh < cur:
                    kh = cur
                free, bump, live = _push(kh & mask, vh, dh, ah, heads, b_next, b_n, b_d,
                                         b_cell, b_a, free, bump, live)
                win += 1
                continue
        slot = cur & mask
        b = heads[slot]
        if b < 0:  # bucket done: advance, or jump to the overflow heap
            if win == 0:
                if hsize == 0:
                    status = 0
                    break
                cur = _bucket(h_d[0], inv_w)
            else:
                cur += 1
            continue
        # Pop the last entry of the bucket's top block.
        i = b_n[b] - 1
        d = b_d[b, i]
        u = np.int64(b_cell[b, i])
        au = b_a[b, i]
        if i >= _LOOKAHEAD:  # the cells popped soon: fetch their rows meanwhile
            f = np.int64(b_cell[b, i - _LOOKAHEAD])
            for rr in range(-rad, rad + 1):
                _prefetch(flat, f + rr * pc - rad)
                _prefetch(flat, f + rr * pc + rad)
        if i == 0:  # block empty: back to the free list
            heads[slot] = b_next[b]
            b_next[b] = free
            free = b
            live -= 1
        else:
            b_n[b] = i
        win -= 1
        if d != flat[u].d:  # stale: the cell was improved since
            continue
        expanded += 1
        flat[u].a = au
        if write_out:
            r = u // pc
            o = (r - _PAD) * ocols + (u - r * pc - _PAD)
            om[o] = d / 60.0
            oa[o] = au
        cu = np.float64(flat[u].c)
        zu = np.nan
        lu = 0
        delay_u = 0.0
        if use_tobler:
            zu = np.float64(xflat[u].z)
        if use_zones:
            lu = xflat[u].label
            delay_u = np.float64(xflat[u].delay)
        for k in range(nk):
            v = u + doff[k]
            dv = flat[v].d
            if use_tobler and dv <= d:  # saves the exp(); moves cost >= 0
                continue
            # Barriers and the padding cost inf, so nd = inf fails the test below:
            # cheaper than a branch per neighbour (which mispredicts often).
            length = dlen[k]
            w = length * ((np.float64(flat[v].c) + cu) * 0.5)
            if use_tobler:
                s = (zu - np.float64(xflat[v].z)) / length
                if s == s:  # both cells in the Tobler mask
                    w = w * math.exp(3.5 * abs(s + 0.05) - 0.175)
            if use_zones:
                if lu != 0 and xflat[v].label != lu:
                    w = w + delay_u
            nd = d + w
            if nd < min(dv, limit):
                if k >= 8:  # knight's move: both straddled cells must be passable
                    if not (flat[u + bo1[k]].c < np.inf and flat[u + bo2[k]].c < np.inf):
                        continue
                if log_on:
                    l_idx[nlog] = v
                    l_d[nlog] = dv
                    l_a[nlog] = flat[v].a
                    nlog += 1
                flat[v].d = nd
                kb = _bucket(nd, inv_w)
                if kb < cur:
                    kb = cur
                if kb - cur < nb:
                    # _push inlined by hand: in numba a call passing arrays costs
                    # atomic reference counting
                    slot = kb & mask
                    b = heads[slot]
                    if b < 0 or b_n[b] == _BLOCK:
                        if free >= 0:
                            nbk = free
                            free = b_next[nbk]
                        else:
                            nbk = bump
                            bump += 1
                        live += 1
                        b_next[nbk] = b
                        b_n[nbk] = 0
                        heads[slot] = nbk
                        b = nbk
                    i = b_n[b]
                    b_d[b, i] = nd
                    b_cell[b, i] = v
                    b_a[b, i] = au
                    b_n[b] = i + 1
                    win += 1
                else:
                    hsize = _heap_push(h_d, h_cell, h_a, hsize, nd, v, au)
    st[_FREE] = free
    st[_BUMP] = bump
    st[_LIVE] = live
    st[_CUR] = cur
    st[_WIN] = win
    st[_HSIZE] = hsize
    st[_NLOG] = nlog
    st[_EXPANDED] += expanded
    return status


@jit_kernel
def _cells_of(allocation, source_id):
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
def _reset(idx, cells, minutes, allocation, nk, doff, st, l_idx, l_d, l_a):
    """Reset the cells ``idx`` (unpadded flat) to unreached, logging their old values
    (the log must have room), and return the padded flat indices and allocations of
    the reached cells next to them (in the stencil) that were not reset: the seeds of
    the repair search."""
    flat = cells.reshape(-1)
    om = minutes.reshape(-1)
    oa = allocation.reshape(-1)
    cols = minutes.shape[1]
    pc = cells.shape[1]
    j = st[_NLOG]
    for i in range(idx.shape[0]):
        o = idx[i]
        r = o // cols
        p = (r + _PAD) * pc + (o - r * cols) + _PAD
        rec = flat[p]
        l_idx[j] = p
        l_d[j] = rec.d
        l_a[j] = rec.a
        j += 1
        rec.d = np.inf
        rec.a = -1
        om[o] = np.nan
        oa[o] = -1
    st[_NLOG] = j
    seeds = np.empty(64, np.int64)
    ids = np.empty(64, np.int64)
    n = 0
    for i in range(idx.shape[0]):
        o = idx[i]
        r = o // cols
        u = (r + _PAD) * pc + (o - r * cols) + _PAD
        for k in range(nk):
            v = u + doff[k]
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
def _apply_diff(cells, idx, d, a):
    """Write the logged (time, allocation) values into their cells, last entry first,
    and keep the values they replace in their place: applied again (after reversing
    the arrays) the diff undoes itself."""
    flat = cells.reshape(-1)
    for i in range(idx.shape[0] - 1, -1, -1):
        rec = flat[idx[i]]
        td = rec.d
        ta = rec.a
        rec.d = d[i]
        rec.a = a[i]
        d[i] = td
        a[i] = ta


@jit_kernel
def _refresh_outputs(cells, idx, minutes, allocation):
    """Rewrite the unpadded outputs of the padded cells ``idx`` from their records."""
    flat = cells.reshape(-1)
    pc = cells.shape[1]
    cols = minutes.shape[1]
    om = minutes.reshape(-1)
    oa = allocation.reshape(-1)
    for i in range(idx.shape[0]):
        p = idx[i]
        r = p // pc
        o = (r - _PAD) * cols + (p - r * pc - _PAD)
        d = flat[p].d
        if d < np.inf:
            om[o] = d / 60.0
            oa[o] = flat[p].a
        else:
            om[o] = np.nan
            oa[o] = -1


# --------------------------------------------------------------------------- helpers


def _stencil(neighbours, pcols, cell_size_m):
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


def _array(a, dtype, shape, name):
    a = np.asarray(a)
    if a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
    return np.ascontiguousarray(a, dtype=dtype)


def _options(cost_s_per_m, cell_size_m, neighbours, elevation_m, tobler_mask, zone_label,
             entry_delay_s):
    shape = np.shape(cost_s_per_m)
    if len(shape) != 2:
        raise ValueError(f"cost_s_per_m must be 2-D, not {len(shape)}-D")
    try:
        cell = float(cell_size_m)
    except (TypeError, ValueError):
        cell = float("nan")
    if not (cell > 0 and math.isfinite(cell)):
        raise ValueError(f"cell_size_m must be a positive number, not {cell_size_m!r}")
    if neighbours not in (8, 16):
        raise ValueError(f"neighbours must be 8 or 16, not {neighbours!r}")
    if (elevation_m is None) != (tobler_mask is None):
        raise ValueError("elevation_m and tobler_mask must be given together")
    if (zone_label is None) != (entry_delay_s is None):
        raise ValueError("zone_label and entry_delay_s must be given together")
    return shape, cell, int(neighbours), elevation_m is not None, zone_label is not None


class _Queue:
    """Bucket queue (circular window of block stacks + overflow heap) and its state."""

    def __init__(self, bucket_width_s, n_buckets, blocks=256, heap=1024, log=0):
        self.inv_w = 1.0 / bucket_width_s
        self.nb = int(n_buckets)
        self.heads = np.full(self.nb, -1, np.int32)
        self.b_next = np.empty(blocks, np.int32)
        self.b_n = np.zeros(blocks, np.int32)
        self.b_d = np.empty((blocks, _BLOCK), np.float64)
        self.b_cell = np.empty((blocks, _BLOCK), np.int32)
        self.b_a = np.empty((blocks, _BLOCK), np.int32)
        self.h_d = np.empty(heap, np.float64)
        self.h_cell = np.empty(heap, np.int64)
        self.h_a = np.empty(heap, np.int32)
        self.st = np.zeros(8, np.int64)
        self.st[_FREE] = -1
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
        need = int(self.st[_LIVE]) + n_blocks
        if need > self.b_n.shape[0]:
            size = max(2 * self.b_n.shape[0], need)
            if size >= 2**31:
                raise MemoryError("travel-time queue too large")
            for name in ("b_next", "b_n", "b_d", "b_cell", "b_a"):
                setattr(self, name, self._grow(getattr(self, name), size))
        need = int(self.st[_HSIZE]) + n_heap
        if need > self.h_d.shape[0]:
            size = max(2 * self.h_d.shape[0], need)
            for name in ("h_d", "h_cell", "h_a"):
                setattr(self, name, self._grow(getattr(self, name), size))
        need = int(self.st[_NLOG]) + n_log
        if self.log_on and need > self.l_idx.shape[0]:
            size = max(2 * self.l_idx.shape[0], need)
            for name in ("l_idx", "l_d", "l_a"):
                setattr(self, name, self._grow(getattr(self, name), size))

    def log(self):
        """The change log so far, as trimmed copies (idx, d, a)."""
        n = int(self.st[_NLOG])
        return self.l_idx[:n].copy(), self.l_d[:n].copy(), self.l_a[:n].copy()

    def seed(self, pcells, times, ids, assign, cells):
        pcells = np.asarray(pcells, np.int64)
        n = pcells.shape[0]
        # worst case one block per seed (seeds spread over many buckets)
        self.reserve(n + 17, n + 17, n)
        _seed(pcells, np.asarray(times, np.float64), np.asarray(ids, np.int32),
              np.asarray(assign, np.bool_), cells, self.inv_w, self.nb, self.heads,
              self.b_next, self.b_n, self.b_d, self.b_cell, self.b_a, self.h_d, self.h_cell,
              self.h_a, self.st, self.log_on, self.l_idx, self.l_d, self.l_a)


_NO_AUX = np.zeros((1, 1), _AUX)


def _search(shared, q, neighbours, cell_size_m, uses_slope, uses_zones, cutoff_s, minutes,
            allocation, write_out, feedback, total, message):
    """Drive :func:`_run` in chunks of ~1/50 of ``total`` expansions, reporting progress
    and checking for cancellation between chunks."""
    doff, dlen, bo1, bo2 = _stencil(neighbours, shared.cells.shape[1], cell_size_m)
    aux = shared.aux if shared.aux is not None else _NO_AUX
    chunk = max(int(total) // 50, 20_000)
    while True:
        status = _run(shared.cells, aux, uses_slope, uses_zones, neighbours, doff, dlen, bo1,
                      bo2, cutoff_s, minutes, allocation, write_out, q.inv_w, q.nb, q.heads,
                      q.b_next, q.b_n, q.b_d, q.b_cell, q.b_a, q.h_d, q.h_cell, q.h_a, q.st,
                      chunk, q.log_on, q.l_idx, q.l_d, q.l_a)
        if status == 0:
            break
        if status == 1:
            report(feedback, min(1.0, q.st[_EXPANDED] / max(total, 1)), message)
        else:
            q.reserve(neighbours + 1, neighbours + 1, neighbours + 1)
    report(feedback, 1.0, message)


def _cutoff_s(max_minutes):
    if max_minutes is None:
        return math.inf
    m = float(max_minutes)
    if not m >= 0:
        raise ValueError(f"max_minutes must be >= 0 or None, not {max_minutes!r}")
    return m * 60.0


def _check_sources(cells, rows, cols, ids):
    """Validate sources against the padded grid; return int64 rows, cols, ids and the
    padded flat indices. Raises ValueError naming every bad source."""
    rows = np.atleast_1d(np.asarray(rows))
    cols = np.atleast_1d(np.asarray(cols))
    ids = np.atleast_1d(np.asarray(ids))
    if not (rows.shape == cols.shape == ids.shape) or rows.ndim != 1:
        raise ValueError("source_rows, source_cols and source_ids must be 1-D and of equal length")
    for name, a in (("source_rows", rows), ("source_cols", cols), ("source_ids", ids)):
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{name} must be integers")
    rows, cols, ids = rows.astype(np.int64), cols.astype(np.int64), ids.astype(np.int64)
    if np.any((ids == -1) | (ids < np.iinfo(np.int32).min) | (ids > np.iinfo(np.int32).max)):
        raise ValueError("source_ids must fit in int32 and must not be -1 (-1 means unreached)")
    nr, nc = cells.shape[0] - 2 * _PAD, cells.shape[1] - 2 * _PAD
    outside = (rows < 0) | (rows >= nr) | (cols < 0) | (cols >= nc)
    pflat = np.where(outside, 0, (rows + _PAD) * cells.shape[1] + cols + _PAD)
    barrier = ~outside & ~(cells.reshape(-1)[pflat]["c"] < np.inf)
    bad = []
    for i in np.flatnonzero(outside | barrier):
        what = "outside the grid" if outside[i] else "on a barrier cell"
        bad.append(f"source index {i} (id {ids[i]}) at row {rows[i]}, col {cols[i]} is {what}")
    if bad:
        raise ValueError("; ".join(bad))
    return rows, cols, ids, pflat


def _queue_params(cell_size_m, neighbours, uses_slope, cmin, cpos, cmax):
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


# --------------------------------------------------------------------------- public API


class Prepared:
    """What :func:`travel_time` runs on the same rasters can share (from :func:`prepare`): the
    padded elevation / zone records, read-only during searches and edits."""

    __slots__ = ("shape", "uses_slope", "uses_zones", "aux")

    def __init__(self, shape, uses_slope, uses_zones, aux):
        self.shape, self.uses_slope, self.uses_zones, self.aux = shape, uses_slope, uses_zones, aux


def prepare(cost_s_per_m, *, elevation_m=None, tobler_mask=None, zone_label=None,
            entry_delay_s=None) -> Prepared:
    """Build once, for several :func:`travel_time` calls on the same rasters (e.g. one per tier
    of facilities), the padded elevation / zone records (12 bytes a cell; nothing without slope
    or zones). Pass the result as ``prepared=`` together with the same rasters: the runs and
    the results derived from them by edits share one copy instead of one each. Raises
    ValueError as :func:`travel_time` does for inconsistent options or bad delays."""
    shape, _, _, uses_slope, uses_zones = _options(
        cost_s_per_m, 1.0, 16, elevation_m, tobler_mask, zone_label, entry_delay_s)
    if not (uses_slope or uses_zones):
        return Prepared(shape, False, False, None)
    rows, cols = shape
    if uses_slope:
        elev = _array(elevation_m, np.float32, shape, "elevation_m")
        tmask = _array(tobler_mask, np.bool_, shape, "tobler_mask")
    else:
        elev, tmask = np.zeros((1, 1), np.float32), np.zeros((1, 1), np.bool_)
    if uses_zones:
        zone = _array(zone_label, np.int32, shape, "zone_label")
        delay = _array(entry_delay_s, np.float32, shape, "entry_delay_s")
    else:
        zone, delay = np.zeros((1, 1), np.int32), np.zeros((1, 1), np.float32)
    aux = np.zeros((rows + 2 * _PAD, cols + 2 * _PAD), _AUX)  # label 0, delay 0 (z unused without slope)
    bad_delay = _fill_aux(elev, tmask, uses_slope, zone, delay, uses_zones, aux)
    if bad_delay >= 0:
        raise ValueError("entry_delay_s must be finite and >= 0 in zones "
                         f"(row {bad_delay // cols}, col {bad_delay % cols})")
    return Prepared(shape, uses_slope, uses_zones, aux)


def travel_time(cost_s_per_m, cell_size_m, source_rows, source_cols, source_ids, *,
                neighbours=16, max_minutes=None, elevation_m=None, tobler_mask=None,
                zone_label=None, entry_delay_s=None, feedback=None,
                prepared: Prepared | None = None) -> TravelTimeResult:
    """Travel time to the nearest source and its allocation, for every cell.

    Parameters
    ----------
    cost_s_per_m : 2-D array (float32; other dtypes are converted)
        Seconds to cross one metre of each cell; +inf or NaN = barrier. Must be >= 0.
    cell_size_m : float
        Side of a (square) cell in metres.
    source_rows, source_cols, source_ids : 1-D integer arrays
        Source cells and the id reported in ``allocation`` (any int32 but -1).
        Several sources on one cell: the first listed wins.
    neighbours : 8 or 16
        Move stencil; 16 adds knight's moves (much closer to Euclidean distance:
        worst-case overestimate 2.7 % instead of 8.2 %).
    max_minutes : float or None
        Cut-off; cells farther away stay unreached.
    elevation_m, tobler_mask : 2-D (metres; bool), optional, given together
        Tobler slope factor on moves with both cells in the mask.
    zone_label, entry_delay_s : 2-D (int32; seconds), optional, given together
        Entering a zone (label != 0) from a cell with another label adds the entered
        cell's delay.
    feedback : :class:`coverage_app.core.feedback.Feedback` or None
        Told the progress ~50 times a run; raises
        :class:`~coverage_app.core.feedback.Cancelled` if it asks to stop.
    prepared : :class:`Prepared` or None
        From :func:`prepare` on the same rasters (given here too): its elevation / zone
        records are shared instead of built again.

    Raises ValueError for sources outside the grid or on barriers (naming their
    indices and ids), negative costs, bad delays, or inconsistent shapes/options.
    """
    shape, cell, nk, uses_slope, uses_zones = _options(
        cost_s_per_m, cell_size_m, neighbours, elevation_m, tobler_mask, zone_label,
        entry_delay_s)
    cutoff_s = _cutoff_s(max_minutes)
    rows, cols = shape
    pshape = (rows + 2 * _PAD, cols + 2 * _PAD)
    if pshape[0] * pshape[1] >= 2**31:
        raise ValueError(f"grid of {rows} x {cols} cells is too large")
    cost = _array(cost_s_per_m, np.float32, shape, "cost_s_per_m")
    if prepared is not None:
        if (tuple(prepared.shape), prepared.uses_slope, prepared.uses_zones) != (shape, uses_slope,
                                                                              uses_zones):
            raise ValueError("prepared was made for other rasters or options")
        uses_slope_fill = uses_zones_fill = False  # the records exist: fill the cells only
    else:
        uses_slope_fill, uses_zones_fill = uses_slope, uses_zones
    if uses_slope_fill:
        elev = _array(elevation_m, np.float32, shape, "elevation_m")
        tmask = _array(tobler_mask, np.bool_, shape, "tobler_mask")
    else:
        elev, tmask = np.zeros((1, 1), np.float32), np.zeros((1, 1), np.bool_)
    if uses_zones_fill:
        zone = _array(zone_label, np.int32, shape, "zone_label")
        delay = _array(entry_delay_s, np.float32, shape, "entry_delay_s")
    else:
        zone, delay = np.zeros((1, 1), np.int32), np.zeros((1, 1), np.float32)
    fill_aux = uses_slope_fill or uses_zones_fill
    aux = np.empty(pshape, _AUX) if fill_aux else (prepared.aux if prepared is not None else None)
    check(feedback)

    cells = np.empty(pshape, _CELL)
    cmin, cpos, cmax, n_pass, neg, bad_delay = _fill_grid(
        cost, elev, tmask, uses_slope_fill, zone, delay, uses_zones_fill, cells,
        aux if fill_aux else _NO_AUX, fill_aux)
    if neg >= 0:
        raise ValueError(f"cost_s_per_m is negative at row {neg // cols}, col {neg % cols}")
    if bad_delay >= 0:
        raise ValueError("entry_delay_s must be finite and >= 0 in zones "
                         f"(row {bad_delay // cols}, col {bad_delay % cols})")
    src_rows, src_cols, ids, pflat = _check_sources(cells, source_rows, source_cols,
                                                    source_ids)
    width, nb = _queue_params(cell, nk, uses_slope, cmin, cpos, cmax)
    shared = _Shared(cells, aux)

    minutes = np.empty(shape, np.float32)
    allocation = np.empty(shape, np.int32)
    q = _Queue(width, nb)
    q.seed(pflat, np.zeros(pflat.shape[0]), ids, np.ones(pflat.shape[0], bool), cells)
    _search(shared, q, nk, cell, uses_slope, uses_zones, cutoff_s, minutes, allocation, False,
            feedback, n_pass, "Travel time")
    _finish(cells, minutes, allocation)
    return TravelTimeResult(
        minutes=minutes, allocation=allocation, source_rows=src_rows, source_cols=src_cols,
        source_ids=ids, cell_size_m=cell, neighbours=nk,
        max_minutes=None if max_minutes is None else float(max_minutes),
        uses_slope=uses_slope, uses_zones=uses_zones, bucket_width_s=width, n_buckets=nb,
        n_passable=int(n_pass), state=_Version(shared))


def _check_edit(result, cost_s_per_m, cell_size_m, neighbours, max_minutes, elevation_m,
                tobler_mask, zone_label, entry_delay_s):
    shape, cell, nk, uses_slope, uses_zones = _options(
        cost_s_per_m, cell_size_m, neighbours, elevation_m, tobler_mask, zone_label,
        entry_delay_s)
    if shape != result.minutes.shape:
        raise ValueError(f"cost_s_per_m has shape {shape}, the result {result.minutes.shape}")
    mm = None if max_minutes is None else float(max_minutes)
    mismatched = [
        name for name, a, b in (
            ("cell_size_m", cell, result.cell_size_m),
            ("neighbours", nk, result.neighbours),
            ("max_minutes", mm, result.max_minutes),
            ("elevation_m/tobler_mask", uses_slope, result.uses_slope),
            ("zone_label/entry_delay_s", uses_zones, result.uses_zones),
        ) if a != b
    ]
    if mismatched:
        raise ValueError("options differ from those of the result: " + ", ".join(mismatched))
    return _cutoff_s(max_minutes)


def _edit(result, inplace, feedback, work):
    """Run ``work(minutes, allocation, queue)`` -> (rows, cols, ids) as an edit of
    ``result``'s state: logged, rolled back if it raises (e.g. Cancelled), and recorded
    as a new version. Returns the edited result (``result`` itself if ``inplace``)."""
    v0 = result.state
    sh = v0.shared
    check(feedback)
    if inplace:
        minutes, allocation = result.minutes, result.allocation
    else:
        minutes, allocation = result.minutes.copy(), result.allocation.copy()
    with sh.lock:
        _reroot(v0)
        q = _Queue(result.bucket_width_s, result.n_buckets, log=4096)
        try:
            rows, cols, ids = work(minutes, allocation, q)
        except BaseException:
            idx, d, a = q.log()
            _apply_diff(sh.cells, idx, d, a)
            if inplace:
                _refresh_outputs(sh.cells, idx, minutes, allocation)
            raise
        # the old version now differs from the new, current one by the logged changes
        v1 = _Version(sh)
        v0.link = v1
        v0.idx, v0.d, v0.a = q.log()
    if inplace:
        result.source_rows, result.source_cols, result.source_ids = rows, cols, ids
        result.state = v1
        return result
    return TravelTimeResult(**{
        **result.__dict__, "minutes": minutes, "allocation": allocation, "source_rows": rows,
        "source_cols": cols, "source_ids": ids, "state": v1})


def remove_source(result, source_id, cost_s_per_m, cell_size_m, *, neighbours=16,
                  max_minutes=None, elevation_m=None, tobler_mask=None, zone_label=None,
                  entry_delay_s=None, feedback=None, inplace=False) -> TravelTimeResult:
    """``result`` (from :func:`travel_time`) without the source(s) with id ``source_id``.

    Only the cells allocated to ``source_id`` are recomputed: they are reset, the
    reached cells bordering them seed a search at their current times, and that search
    only ever lowers times. Times equal a full recomputation's exactly, allocations too
    except where two sources are exactly tied.

    The rasters and options must be those ``result`` was computed with. Options are
    checked; the rasters only for shape, because the search uses the copies
    :func:`travel_time` keeps in the result (so an edit is always consistent with it).
    Raises ValueError if no source has the id.

    ``inplace=False`` (default): returns a new result; ``result`` stays valid and
    unchanged. The two share the internal grid (only the changed cells are logged), so
    the cost is the edit itself plus copies of ``minutes`` and ``allocation``.
    ``inplace=True``: updates and returns ``result`` itself (no copies at all).
    Either way the work is one scan of ``allocation`` plus the cells of the removed
    facility. If ``feedback`` cancels, the edit is rolled back and Cancelled raised.
    """
    cutoff_s = _check_edit(result, cost_s_per_m, cell_size_m, neighbours, max_minutes,
                           elevation_m, tobler_mask, zone_label, entry_delay_s)
    gone = result.source_ids == source_id
    if not gone.any():
        raise ValueError(f"no source with id {source_id}")
    keep = ~gone
    rows, cols, ids = result.source_rows[keep], result.source_cols[keep], result.source_ids[keep]
    sh = result.state.shared
    cells = sh.cells

    def work(minutes, allocation, q):
        doff, _, _, _ = _stencil(result.neighbours, cells.shape[1], result.cell_size_m)
        idx = _cells_of(allocation, np.int32(source_id))
        q.reserve(0, 0, idx.shape[0])
        bseeds, bids = _reset(idx, cells, minutes, allocation, result.neighbours, doff, q.st,
                              q.l_idx, q.l_d, q.l_a)
        # Boundary cells keep their times; remaining sources that lay in the reset area
        # (on the removed source's cell) restart at 0.
        pflat = (rows + _PAD) * cells.shape[1] + cols + _PAD
        q.seed(np.concatenate([bseeds, pflat]),
               np.concatenate([cells.reshape(-1)[bseeds]["d"], np.zeros(pflat.shape[0])]),
               np.concatenate([bids, ids]),
               np.concatenate([np.zeros(bseeds.shape[0], bool), np.ones(pflat.shape[0], bool)]),
               cells)
        _search(sh, q, result.neighbours, result.cell_size_m, result.uses_slope,
                result.uses_zones, cutoff_s, minutes, allocation, True, feedback,
                idx.shape[0] + bseeds.shape[0], "Removing facility")
        return rows, cols, ids

    return _edit(result, inplace, feedback, work)


def add_source(result, row, col, source_id, cost_s_per_m, cell_size_m, *, neighbours=16,
               max_minutes=None, elevation_m=None, tobler_mask=None, zone_label=None,
               entry_delay_s=None, feedback=None, inplace=False) -> TravelTimeResult:
    """``result`` (from :func:`travel_time`) with one more source at (``row``, ``col``).

    The new source starts at 0 s and the search only visits cells it makes strictly
    faster to reach, so the work is proportional to the area it wins. Exact as for
    :func:`remove_source` (on an exact tie the existing allocation is kept), with the
    same rules for rasters, options, ``inplace`` and cancellation. ``source_id`` may
    repeat an existing id (e.g. a second entrance of one facility) but must not be -1;
    raises ValueError if the cell is outside the grid or a barrier.
    """
    cutoff_s = _check_edit(result, cost_s_per_m, cell_size_m, neighbours, max_minutes,
                           elevation_m, tobler_mask, zone_label, entry_delay_s)
    sh = result.state.shared
    cells = sh.cells
    r, c, i, pflat = _check_sources(cells, [row], [col], [source_id])

    def work(minutes, allocation, q):
        q.seed(pflat, np.zeros(1), i, np.ones(1, bool), cells)
        _search(sh, q, result.neighbours, result.cell_size_m, result.uses_slope,
                result.uses_zones, cutoff_s, minutes, allocation, True, feedback,
                result.n_passable, "Adding facility")
        return (np.concatenate([result.source_rows, r]),
                np.concatenate([result.source_cols, c]),
                np.concatenate([result.source_ids, i]))

    return _edit(result, inplace, feedback, work)


def changed_cells(result, edited) -> np.ndarray | None:
    """Flat indices (into ``minutes.reshape(-1)``, sorted, unique) of the cells whose time or
    allocation may differ between ``result`` and ``edited``, a result made from it by one
    :func:`remove_source` or :func:`add_source` call (``inplace=False``). Read from the edit's
    change log, so it costs the changed cells, not a scan of the grid; a superset of the
    changed cells (a cell lowered twice or reset and restored is listed too). None if the two
    are not one edit apart (or a later edit of ``result`` has replaced the log)."""
    v0, v1 = result.state, edited.state
    sh = v0.shared
    if v1.shared is not sh:
        return None
    with sh.lock:
        if v0.link is v1:
            idx = v0.idx
        elif v1.link is v0:
            idx = v1.idx
        else:
            return None
        idx = np.unique(idx)
    pc = sh.cells.shape[1]
    rows = idx // pc - _PAD
    return rows * result.minutes.shape[1] + (idx - (rows + _PAD) * pc - _PAD)


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel on a tiny grid."""
    cost = np.ones((6, 7), np.float32)
    cost[2, 3] = np.inf
    zone = np.zeros((6, 7), np.int32)
    zone[0, :] = 1
    opts = dict(neighbours=16, elevation_m=np.zeros((6, 7), np.float32),
                tobler_mask=np.ones((6, 7), bool), zone_label=zone,
                entry_delay_s=np.full((6, 7), 5.0, np.float32))
    for o in (opts, {}):
        travel_time(cost, 10.0, [0, 5], [0, 6], [1, 2], prepared=prepare(cost, **{
            k: v for k, v in o.items() if k != "neighbours"}), **o)
        res = travel_time(cost, 10.0, [0, 5], [0, 6], [1, 2], **o)
        res = remove_source(res, 1, cost, 10.0, **o)
        add_source(res, 0, 0, 1, cost, 10.0, **o)
