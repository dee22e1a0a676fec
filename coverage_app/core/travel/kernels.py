"""Numba kernels of the travel-time engine (see :mod:`coverage_app.core.travel.engine` for the
algorithm and cost model): filling the padded cell records, seeding and running the bucket
queue search and the change-log diffs of incremental edits (the repair kernels of
:func:`~coverage_app.core.travel.engine.remove_source` are in :mod:`.repair`).

Every jitted function of the engine lives here (or in :mod:`.repair`): :func:`~.jit.jit_kernel`
(``njit(cache=True, nogil=True)``), so the compiled code is cached on disk next to this file (or in
NUMBA_CACHE_DIR) and a worker thread does not hold the GIL. The packaging spec collects the modules that use ``jit_kernel``
or ``cache=True`` as plain .py files and hashes their sources into the cache key.

Layout: the grid is padded with :data:`PAD` rows/columns of barriers; :data:`CELL` records hold
time (float64 s), cost (float32 s/m) and allocation (int32); :data:`AUX` records elevation (m,
NaN outside the Tobler mask), zone and ferry label (packed, :func:`pack_label`) and the zone's entry
delay (float32 s); ferries' boarding delays are a table indexed by ferry label. Queue state indices into
the int64 ``st`` array: :data:`FREE` ... :data:`NLOG`.
"""

from __future__ import annotations

import math

import numpy as np

from coverage_app.core.travel.jit import jit_kernel, numba_start_without_scipy

with numba_start_without_scipy():
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic


PAD = 2  # barrier border, wide enough for knight's moves
BLOCK = 64  # entries per queue block
_KEY_CLAMP = 4.0e18  # bucket keys are int64; absurdly large times share the last key

CELL = np.dtype([("d", np.float64), ("c", np.float32), ("a", np.int32)])
AUX = np.dtype([("z", np.float32), ("label", np.int32), ("delay", np.float32)])
_LOOKAHEAD = 4  # queue entries between a cell's prefetch and its expansion
# An AUX label packs a cell's conflict-zone label (low 16 bits) and its ferry label (the 15 above):
# a ferry inside a zone is both, so boarding it costs the ferry's delay and leaving it for the zone
# around costs nothing (one label for both lost the ferry's delay, or charged the zone's twice).
ZONE_MAX = 0xFFFF
FERRY_MAX = 0x7FFF
_ZONE_BITS = 16

# Indices into the int64 queue state array ``st``.
FREE, BUMP, LIVE, CUR, WIN, HSIZE, EXPANDED, NLOG = range(8)


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
    with numba_start_without_scipy():  # numba's first dispatch (where it compiles: its registries load here)
        _prefetch_probe(np.zeros(1, np.float64))
    _prefetch = _prefetch_intrinsic
except Exception:  # pragma: no cover

    @jit_kernel
    def _prefetch(arr, idx):
        pass


@jit_kernel
def pack_label(zone, ferry):
    """The AUX label of a cell with zone label ``zone`` (0..ZONE_MAX) and ferry label ``ferry``
    (0..FERRY_MAX); 0 = neither."""
    return np.int32(np.int64(zone) | (np.int64(ferry) << _ZONE_BITS))


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
    if b < 0 or b_n[b] == BLOCK:
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
def fill_cells(cost, elev, tmask, use_tobler, zone, delay, use_zones, ferry, use_ferries, cells, aux, use_aux,
               row_n, p0, p1):
    """Copy the rasters into the padded records of padded rows [``p0``, ``p1``) (barrier
    border, times +inf, allocation -1; several threads may fill disjoint row ranges) and
    count the passable cells of each row into ``row_n`` (int64, one per unpadded row); return
    (smallest finite cost, smallest positive finite cost, largest finite cost, passable cells,
    flat index of a negative cost or -1, flat index of a zone cell with a bad delay or -1, flat
    index of a zone or ferry label out of range or -1). The record's label packs both
    (:func:`pack_label`)."""
    rows, cols = cost.shape
    pr, pc = cells.shape
    cmin = np.inf
    cpos = np.inf
    cmax = 0.0
    n = 0
    neg = -1
    bad_delay = -1
    bad_label = -1
    for pr_ in range(p0, p1):
        r = pr_ - PAD
        inside_r = 0 <= r < rows
        for pc_ in range(pc):
            c = pc_ - PAD
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
                        row_n[r] += 1
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
                    fl = ferry[r, c] if use_ferries else 0
                    if not (0 <= lab <= ZONE_MAX and 0 <= fl <= FERRY_MAX) and bad_label < 0:
                        bad_label = r * cols + c
                    ax.label = pack_label(lab, fl)
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
    return cmin, cpos, cmax, n, neg, bad_delay, bad_label


@jit_kernel
def fill_aux_cells(elev, tmask, use_tobler, zone, delay, use_zones, ferry, use_ferries, aux):
    """Fill the padded auxiliary records alone (as :func:`fill_cells` does) into ``aux``, which
    must start all zero: only cells whose record is not all zero are written (without slope,
    the zone and ferry cells), so untouched pages stay unallocated (the elevation is read only
    with slope). Returns the flat indices of a zone cell with a bad delay and of a label out of
    range (or -1 each)."""
    rows, cols = zone.shape if use_zones else ferry.shape if use_ferries else elev.shape
    pr, pc = aux.shape
    bad_delay = -1
    bad_label = -1
    for pr_ in range(pr):
        r = pr_ - PAD
        inside_r = 0 <= r < rows
        for pc_ in range(pc):
            c = pc_ - PAD
            if use_tobler:
                aux[pr_, pc_].z = np.nan
            if inside_r and 0 <= c < cols:
                if use_tobler and tmask[r, c]:
                    aux[pr_, pc_].z = elev[r, c]
                lab = zone[r, c] if use_zones else 0
                fl = ferry[r, c] if use_ferries else 0
                if lab != 0 or fl != 0:
                    if not (0 <= lab <= ZONE_MAX and 0 <= fl <= FERRY_MAX) and bad_label < 0:
                        bad_label = r * cols + c
                    ax = aux[pr_, pc_]
                    ax.label = pack_label(lab, fl)
                if lab != 0:
                    dl = delay[r, c]
                    if not (dl >= 0.0 and dl < np.inf) and bad_delay < 0:
                        bad_delay = r * cols + c
                    aux[pr_, pc_].delay = dl
    return bad_delay, bad_label


@jit_kernel
def finish_outputs(cells, minutes, allocation, r0, r1):
    """Write the outputs of rows [``r0``, ``r1``) from the padded records (full run)."""
    cols = minutes.shape[1]
    for r in range(r0, r1):
        for c in range(cols):
            rec = cells[r + PAD, c + PAD]
            d = rec.d
            if d < np.inf:
                minutes[r, c] = d / 60.0
                allocation[r, c] = rec.a
            else:
                minutes[r, c] = np.nan
                allocation[r, c] = -1


def flat_view(a: np.ndarray) -> np.ndarray:
    """``a`` as a 1-D view (no copy) for the kernels, which index grids by flat cell. Reshaping
    in Python, not inside the kernels, keeps numba's array module (~0.03 s to import) out of a
    run's kernel loading."""
    if not a.flags.c_contiguous:
        raise ValueError("kernel arrays must be C-contiguous")
    return a.reshape(-1)


@jit_kernel
def seed_kernel(pcells, times, ids, assign, flat, inv_w, nb, heads, b_next, b_n, b_d, b_cell, b_a,
          h_d, h_cell, h_a, st, log_on, l_idx, l_d, l_a):
    """Queue start cells (padded flat indices into ``flat``, the padded cells, :func:`flat_view`).
    Where ``assign[i]`` the cell's time is set to ``times[i]`` unless it already has one that is
    not larger (the first source wins a tie); elsewhere it keeps its time (boundary seeds of
    :func:`remove_source`). Entries carry ``ids[i]``. The block pool, heap and log must have room
    for all seeds. With ``log_on`` every change is logged (cell, old time, old allocation)."""
    n = pcells.shape[0]
    if n == 0:
        return
    if st[LIVE] == 0 and st[HSIZE] == 0:
        tmin = np.inf
        for i in range(n):
            if times[i] < tmin:
                tmin = times[i]
        st[CUR] = _bucket(tmin, inv_w)
    free = st[FREE]
    bump = st[BUMP]
    live = st[LIVE]
    mask = nb - 1
    for i in range(n):
        v = pcells[i]
        d = times[i]
        if assign[i]:
            if not (d < flat[v].d):
                continue
            if log_on:
                j = st[NLOG]
                l_idx[j] = v
                l_d[j] = flat[v].d
                l_a[j] = flat[v].a
                st[NLOG] = j + 1
            flat[v].d = d
        k = _bucket(d, inv_w)
        cur = st[CUR]
        if k < cur:
            k = cur
        if k - cur < nb:
            free, bump, live = _push(k & mask, v, d, ids[i], heads, b_next, b_n, b_d, b_cell,
                                     b_a, free, bump, live)
            st[WIN] += 1
        else:
            st[HSIZE] = _heap_push(h_d, h_cell, h_a, st[HSIZE], d, v, ids[i])
    st[FREE] = free
    st[BUMP] = bump
    st[LIVE] = live


@jit_kernel
def run_chunk(flat, xflat, pc, ferry_s, zone_pair, use_tobler, use_zones, nk, doff, dlen, bo1, bo2, cutoff, vlo,
         vhi, om, oa, ocols, write_out,
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
    Only the padded cells of the flat range [``vlo``, ``vhi``) are relaxed (a search of one
    row domain beside others, see :func:`~coverage_app.core.travel.search.split_search`):
    a neighbour outside it is skipped before its time is read. The costs of all cells are
    read (knight's-move blocking), but they never change during a search.

    Entering ``u`` from a cell outside its zone adds ``u``'s entry delay, or where zones overlap
    (``zone_pair`` larger than 1 x 1) ``zone_pair[zone label of the cell left, zone label of u]``;
    entering it from a cell off its ferry adds the ferry's boarding delay ``ferry_s[ferry label]``
    (seconds).

    ``flat`` / ``xflat`` are the padded cells and their aux records, ``pc`` padded columns; ``om`` /
    ``oa`` the unpadded minutes and allocation, ``ocols`` columns: all flat views
    (:func:`flat_view`).
    """
    free = st[FREE]
    bump = st[BUMP]
    live = st[LIVE]
    cur = st[CUR]
    win = st[WIN]
    hsize = st[HSIZE]
    nlog = st[NLOG]
    cap = b_n.shape[0]
    hcap = h_d.shape[0]
    lcap = l_idx.shape[0]
    mask = nb - 1
    rad = 2 if nk > 8 else 1  # stencil radius, for prefetching
    use_pairs = zone_pair.shape[0] > 1
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
            o = (r - PAD) * ocols + (u - r * pc - PAD)
            om[o] = d / 60.0
            oa[o] = au
        cu = np.float64(flat[u].c)
        zu = np.nan
        lu = 0
        zone_u = 0
        ferry_u = 0
        delay_u = 0.0
        board_u = 0.0
        if use_tobler:
            zu = np.float64(xflat[u].z)
        if use_zones:
            lu = xflat[u].label
            zone_u = lu & ZONE_MAX
            ferry_u = lu >> _ZONE_BITS
            delay_u = np.float64(xflat[u].delay)
            board_u = ferry_s[ferry_u]
        for k in range(nk):
            v = u + doff[k]
            if v < vlo or v >= vhi:  # another domain's cell (never, in a whole-grid search)
                continue
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
                if lu != 0:
                    lv = xflat[v].label
                    if lv != lu:
                        if zone_u != 0 and (lv & ZONE_MAX) != zone_u:
                            w = w + (zone_pair[lv & ZONE_MAX, zone_u] if use_pairs else delay_u)
                        if ferry_u != 0 and (lv >> _ZONE_BITS) != ferry_u:
                            w = w + board_u
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
                    if b < 0 or b_n[b] == BLOCK:
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
    st[FREE] = free
    st[BUMP] = bump
    st[LIVE] = live
    st[CUR] = cur
    st[WIN] = win
    st[HSIZE] = hsize
    st[NLOG] = nlog
    st[EXPANDED] += expanded
    return status


@jit_kernel
def apply_diff(flat, idx, d, a):
    """Write the logged (time, allocation) values into their cells (``flat``: the padded cells,
    :func:`flat_view`), last entry first, and keep the values they replace in their place:
    applied again (after reversing the arrays) the diff undoes itself."""
    for i in range(idx.shape[0] - 1, -1, -1):
        rec = flat[idx[i]]
        td = rec.d
        ta = rec.a
        rec.d = d[i]
        rec.a = a[i]
        d[i] = td
        a[i] = ta
