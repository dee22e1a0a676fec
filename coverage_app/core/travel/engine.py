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
  (checkpoints, conflict zones).
  Where zones overlap, a table ``zone_entry_s[i, j]`` (optional) gives the seconds of a move
  from a cell labelled ``i`` into one labelled ``j != i`` instead (a label then stands for a set
  of overlapping zones: leaving one of them costs nothing, entering costs what the table says).
* Ferries (optional): a move from ``a`` into ``b`` with ``ferry_label[b] != 0`` and
  ``ferry_label[a] != ferry_label[b]`` adds ``ferry_delay_s[ferry_label[b]]`` seconds (boarding),
  independently of zones: a ferry inside a zone costs its delay to board, and stepping off it
  into the zone around costs nothing more.
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
Tobler mask), zone and ferry label and entry delay, when used, live in a second padded 12-byte
record array. With the float32 minutes and int32 allocation outputs that is 24 bytes
a cell (36 with slope or zones), about 220 MB for 3000 x 3000 cells; runs on the same
rasters can share the second array (:func:`prepare`). The private
copies stay in the result for the incremental functions; results derived from one
another by edits share them as a persistent array (each older result keeps only a
diff of the cells that changed, see :class:`~coverage_app.core.travel.versioning.Version`),
so an edit that returns a new result does not copy them.

Threads: on large grids :func:`travel_time` cuts the grid into bands of rows, searches each
on its own thread, then repairs the times across the cuts in one more search seeded beside
them; the result is the same (see :mod:`.search`). Edits always search the whole grid.

Where the code lives: this module is the Python API (argument checks, the four entry
points, :func:`warm_up`); :mod:`.search` the bucket queue and the chunked search drivers;
:mod:`.versioning` the persistent-array versions; :mod:`.cow` the copy-on-write output pages
of edits; :mod:`.kernels` and :mod:`.repair` the numba kernels.

Long because: this docstring is the engine's specification (cost model, algorithm, memory),
and the four entry points share their argument checks here, where they are read together.

All functions are pure (no global state). The inner loop is compiled with numba
(``cache=True, nogil=True``, so a worker thread does not hold the GIL); call
:func:`warm_up` once, e.g. in a background thread at start-up, so the first real run
does not pay for compilation or cache loading.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from coverage_app.core.feedback import check
from coverage_app.core.travel import cow
from coverage_app.core.travel.kernels import (AUX, CELL, FERRY_MAX, PAD, ZONE_MAX, apply_diff, fill_aux_cells,
                                              fill_cells, finish_outputs, flat_view, jit_kernel)
from coverage_app.core.travel.repair import cells_of, refresh_outputs, reset_cells
from coverage_app.core.travel.search import (NO_AUX, Queue, queue_params, row_cuts, search,
                                             split_search, stencil)
from coverage_app.core.travel.versioning import Shared, Version, reroot

__all__ = ["TravelTimeResult", "Prepared", "prepare", "travel_time", "remove_source", "add_source",
           "changed_cells", "share_outputs", "warm_up", "jit_kernel"]  # jit_kernel: re-exported from .kernels


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
    outputs :
        Internal: None, or how ``minutes`` / ``allocation`` share pages copy-on-write with
        the other results of the lineage (:mod:`.cow`, :func:`share_outputs`); then the two
        arrays are read-only.
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
    state: Version = field(repr=False)
    outputs: cow.Outputs | None = field(default=None, repr=False, compare=False)

    @property
    def seconds(self) -> np.ndarray:
        """Float64 seconds (rows, cols), +inf where unreached: the full-precision times
        incremental edits rely on. A new array on every access (a whole-grid copy)."""
        sh = self.state.shared
        with sh.lock:
            reroot(self.state)
            return sh.cells["d"][PAD:-PAD, PAD:-PAD].copy()


def _array(a, dtype, shape, name):
    a = np.asarray(a)
    if a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")
    return np.ascontiguousarray(a, dtype=dtype)


def _options(cost_s_per_m, cell_size_m, neighbours, elevation_m, tobler_mask, zone_label,
             entry_delay_s, ferry_label=None, ferry_delay_s=None, zone_entry_s=None):
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
    if (ferry_label is None) != (ferry_delay_s is None):
        raise ValueError("ferry_label and ferry_delay_s must be given together")
    if zone_entry_s is not None and zone_label is None:
        raise ValueError("zone_entry_s needs zone_label and entry_delay_s")
    return (shape, cell, int(neighbours), elevation_m is not None,
            zone_label is not None or ferry_label is not None)


def _ferries(ferry_label, ferry_delay_s, shape):
    """(int32 ferry labels, float64 boarding delays indexed by label) checked, or dummies."""
    if ferry_label is None:
        return np.zeros((1, 1), np.int32), None
    ferry = _array(ferry_label, np.int32, shape, "ferry_label")
    table = np.array(ferry_delay_s, dtype=np.float64, ndmin=1).copy()
    if table.ndim != 1:
        raise ValueError("ferry_delay_s must be 1-D: the boarding delay (s) of each ferry label")
    top = int(ferry.max()) if ferry.size else 0
    if top >= table.shape[0]:
        raise ValueError(f"ferry_delay_s has {table.shape[0]} entries: ferry label {top} has no delay")
    if table.shape[0] > 1 and not np.all((table[1:] >= 0) & np.isfinite(table[1:])):
        raise ValueError("ferry_delay_s must be finite and >= 0")
    table[0] = 0.0
    return ferry, table


def _zone_pairs(zone_entry_s, zone):
    """The checked float64 table of seconds entering zone label j from label i, or None."""
    if zone_entry_s is None:
        return None
    table = np.array(zone_entry_s, dtype=np.float64, ndmin=2)
    if table.ndim != 2 or table.shape[0] != table.shape[1] or table.shape[0] < 2:
        raise ValueError(f"zone_entry_s must be a square table (from label, to label), not {table.shape}")
    top = int(zone.max()) if zone.size else 0
    if top >= table.shape[0]:
        raise ValueError(f"zone_entry_s has {table.shape[0]} rows: zone label {top} has none")
    if not np.all((table >= 0) & np.isfinite(table)):
        raise ValueError("zone_entry_s must be finite and >= 0")
    return table


def _label_error(flat, cols):
    return ValueError(f"zone_label must be 0..{ZONE_MAX} and ferry_label 0..{FERRY_MAX} "
                      f"(row {flat // cols}, col {flat % cols})")


def _delay_error(flat, cols):
    return ValueError(f"entry_delay_s must be finite and >= 0 in zones (row {flat // cols}, col {flat % cols})")


def _aux_inputs(shape, slope: bool, zones: bool, elevation_m, tobler_mask, zone_label, entry_delay_s):
    """The elevation (m), Tobler mask, zone label and entry delay (s) rasters to fill the AUX
    records from, checked and converted; a 1 x 1 placeholder for each part not filled."""
    if slope:
        elev = _array(elevation_m, np.float32, shape, "elevation_m")
        tmask = _array(tobler_mask, np.bool_, shape, "tobler_mask")
    else:
        elev, tmask = np.zeros((1, 1), np.float32), np.zeros((1, 1), np.bool_)
    if zones:
        zone = _array(zone_label, np.int32, shape, "zone_label")
        delay = _array(entry_delay_s, np.float32, shape, "entry_delay_s")
    else:
        zone, delay = np.zeros((1, 1), np.int32), np.zeros((1, 1), np.float32)
    return elev, tmask, zone, delay


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
    nr, nc = cells.shape[0] - 2 * PAD, cells.shape[1] - 2 * PAD
    outside = (rows < 0) | (rows >= nr) | (cols < 0) | (cols >= nc)
    pflat = np.where(outside, 0, (rows + PAD) * cells.shape[1] + cols + PAD)
    barrier = ~outside & ~(cells.reshape(-1)[pflat]["c"] < np.inf)
    bad = []
    for i in np.flatnonzero(outside | barrier):
        what = "outside the grid" if outside[i] else "on a barrier cell"
        bad.append(f"source index {i} (id {ids[i]}) at row {rows[i]}, col {cols[i]} is {what}")
    if bad:
        raise ValueError("; ".join(bad))
    return rows, cols, ids, pflat


# Passable cells from which travel_time(threads=None) searches on two threads. The Sagaing
# analysis runs both tiers side by side: at 250 m (1.5 M passable cells) splitting each tier
# too was 0.0-0.2 s slower, at 100 m (9.6 M) 0.8 s faster (6.7-6.9 s vs 7.5-7.7 s, quiet VM).
SPLIT_MIN_CELLS = 2_000_000


def _n_threads(threads, n_passable):
    if threads is None:
        return 2 if (os.cpu_count() or 1) >= 2 and n_passable >= SPLIT_MIN_CELLS else 1
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer or None, not {threads!r}")
    return int(threads)


def _row_ranges(n_rows, parts):
    """``parts`` (or fewer) consecutive, about equal, non-empty ranges (lo, hi) of ``n_rows``."""
    edges = np.unique(np.linspace(0, n_rows, max(1, min(parts, n_rows)) + 1).astype(np.int64))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def _in_threads(fn, ranges):
    """``[fn(lo, hi) for (lo, hi) in ranges]``, one thread per range when there are several
    (for nogil kernels on disjoint rows: filling the records, writing the outputs)."""
    if len(ranges) <= 1:
        return [fn(lo, hi) for lo, hi in ranges]
    with ThreadPoolExecutor(max_workers=len(ranges), thread_name_prefix="travel-band") as ex:
        return list(ex.map(lambda r: fn(*r), ranges))


# --------------------------------------------------------------------------- public API


class Prepared:
    """What :func:`travel_time` runs on the same rasters can share (from :func:`prepare`): the
    padded elevation / zone records, read-only during searches and edits."""

    __slots__ = ("shape", "uses_slope", "uses_zones", "aux", "ferry_s", "zone_pair")

    def __init__(self, shape, uses_slope, uses_zones, aux, ferry_s=None, zone_pair=None):
        self.shape, self.uses_slope, self.uses_zones, self.aux = shape, uses_slope, uses_zones, aux
        self.ferry_s, self.zone_pair = ferry_s, zone_pair


def prepare(cost_s_per_m, *, elevation_m=None, tobler_mask=None, zone_label=None,
            entry_delay_s=None, ferry_label=None, ferry_delay_s=None, zone_entry_s=None) -> Prepared:
    """Build once, for several :func:`travel_time` calls on the same rasters (e.g. one per tier
    of facilities), the padded elevation / zone records (12 bytes a cell; nothing without slope
    or zones). Pass the result as ``prepared=`` together with the same rasters: the runs and
    the results derived from them by edits share one copy instead of one each. Raises
    ValueError as :func:`travel_time` does for inconsistent options or bad delays."""
    shape, _, _, uses_slope, uses_zones = _options(
        cost_s_per_m, 1.0, 16, elevation_m, tobler_mask, zone_label, entry_delay_s, ferry_label,
        ferry_delay_s, zone_entry_s)
    if not (uses_slope or uses_zones):
        return Prepared(shape, False, False, None)
    rows, cols = shape
    elev, tmask, zone, delay = _aux_inputs(shape, uses_slope, zone_label is not None, elevation_m, tobler_mask,
                                           zone_label, entry_delay_s)
    ferry, ferry_s = _ferries(ferry_label, ferry_delay_s, shape)
    zone_pair = _zone_pairs(zone_entry_s, zone)
    aux = np.zeros((rows + 2 * PAD, cols + 2 * PAD), AUX)  # label 0, delay 0 (z unused without slope)
    bad_delay, bad_label = fill_aux_cells(elev, tmask, uses_slope, zone, delay, zone_label is not None, ferry,
                                          ferry_s is not None, aux)
    if bad_label >= 0:
        raise _label_error(bad_label, cols)
    if bad_delay >= 0:
        raise _delay_error(bad_delay, cols)
    return Prepared(shape, uses_slope, uses_zones, aux, ferry_s, zone_pair)


def travel_time(cost_s_per_m, cell_size_m, source_rows, source_cols, source_ids, *,
                neighbours=16, max_minutes=None, elevation_m=None, tobler_mask=None,
                zone_label=None, entry_delay_s=None, ferry_label=None, ferry_delay_s=None, zone_entry_s=None,
                feedback=None, prepared: Prepared | None = None, threads: int | None = None) -> TravelTimeResult:
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
        Entering a zone (label != 0, at most 65535) from a cell with another label adds
        the entered cell's delay.
    ferry_label, ferry_delay_s : 2-D int32 (0 = no ferry, at most 32767); 1-D seconds, optional,
        given together. Boarding ferry ``k`` (entering a cell labelled ``k`` from one that is
        not) adds ``ferry_delay_s[k]`` seconds, whatever zone the cell is in.
    zone_entry_s : 2-D (seconds), optional, with ``zone_label``
        Where zones overlap: ``zone_entry_s[i, j]`` seconds for a move from a cell labelled ``i``
        into one labelled ``j`` (``j != 0``, ``i != j``) instead of ``entry_delay_s``.
    feedback : :class:`coverage_app.core.feedback.Feedback` or None
        Told the progress ~50 times a run (see ``threads``); raises
        :class:`~coverage_app.core.feedback.Cancelled` if it asks to stop.
    prepared : :class:`Prepared` or None
        From :func:`prepare` on the same rasters (given here too): its elevation / zone
        records are shared instead of built again.
    threads : int or None
        Search threads: the grid is cut into that many bands of rows with about equal
        numbers of passable cells, searched side by side, then repaired across the cuts
        (:func:`~coverage_app.core.travel.search.split_search`); the result is the same
        (minutes bit for bit, allocation except on exact ties) and edits work on it alike.
        1: one thread. None: 2 when the machine has 2 or more CPUs and the grid at least
        :data:`SPLIT_MIN_CELLS` passable cells, else 1. With several threads ``feedback``
        is told the progress about every 0.1 s, from the calling thread.

    Raises ValueError for sources outside the grid or on barriers (naming their
    indices and ids), negative costs, bad delays, or inconsistent shapes/options.
    """
    shape, cell, nk, uses_slope, uses_zones = _options(
        cost_s_per_m, cell_size_m, neighbours, elevation_m, tobler_mask, zone_label,
        entry_delay_s, ferry_label, ferry_delay_s, zone_entry_s)
    cutoff_s = _cutoff_s(max_minutes)
    rows, cols = shape
    pshape = (rows + 2 * PAD, cols + 2 * PAD)
    if pshape[0] * pshape[1] >= 2**31:
        raise ValueError(f"grid of {rows} x {cols} cells is too large")
    cost = _array(cost_s_per_m, np.float32, shape, "cost_s_per_m")
    if prepared is not None:
        if (tuple(prepared.shape), prepared.uses_slope, prepared.uses_zones) != (shape, uses_slope,
                                                                              uses_zones):
            raise ValueError("prepared was made for other rasters or options")
        uses_slope_fill = uses_zones_fill = uses_ferries_fill = False  # the records exist: fill the cells only
        ferry, ferry_s, zone_pair = np.zeros((1, 1), np.int32), prepared.ferry_s, prepared.zone_pair
    else:
        uses_slope_fill, uses_zones_fill = uses_slope, zone_label is not None
        ferry, ferry_s = _ferries(ferry_label, ferry_delay_s, shape)
        uses_ferries_fill = ferry_s is not None
    elev, tmask, zone, delay = _aux_inputs(shape, uses_slope_fill, uses_zones_fill, elevation_m, tobler_mask,
                                           zone_label, entry_delay_s)
    if prepared is None:
        zone_pair = _zone_pairs(zone_entry_s, zone)
    fill_aux = uses_slope_fill or uses_zones_fill or uses_ferries_fill
    aux = np.empty(pshape, AUX) if fill_aux else (prepared.aux if prepared is not None else None)
    check(feedback)

    cells = np.empty(pshape, CELL)
    row_n = np.zeros(rows, np.int64)
    parts = _row_ranges(pshape[0], _n_threads(threads, rows * cols))
    filled = _in_threads(lambda p0, p1: fill_cells(
        cost, elev, tmask, uses_slope_fill, zone, delay, uses_zones_fill, ferry, uses_ferries_fill, cells,
        aux if fill_aux else NO_AUX, fill_aux, row_n, p0, p1), parts)
    cmin, cpos = min(f[0] for f in filled), min(f[1] for f in filled)
    cmax, n_pass = max(f[2] for f in filled), sum(f[3] for f in filled)
    # the first in raster order, as one thread would find it
    neg = next((f[4] for f in filled if f[4] >= 0), -1)
    bad_delay = next((f[5] for f in filled if f[5] >= 0), -1)
    bad_label = next((f[6] for f in filled if f[6] >= 0), -1)
    if bad_label >= 0:
        raise _label_error(bad_label, cols)
    if neg >= 0:
        raise ValueError(f"cost_s_per_m is negative at row {neg // cols}, col {neg % cols}")
    if bad_delay >= 0:
        raise _delay_error(bad_delay, cols)
    src_rows, src_cols, ids, pflat = _check_sources(cells, source_rows, source_cols,
                                                    source_ids)
    width, nb = queue_params(cell, nk, uses_slope, cmin, cpos, cmax)
    shared = Shared(cells, aux, ferry_s, zone_pair)

    minutes = np.empty(shape, np.float32)
    allocation = np.empty(shape, np.int32)
    cuts = row_cuts(row_n, _n_threads(threads, n_pass))
    if cuts.shape[0]:
        split_search(shared, width, nb, pflat, ids, cuts, nk, cell, uses_slope, uses_zones,
                     cutoff_s, minutes, allocation, feedback, n_pass, "Travel time")
    else:
        q = Queue(width, nb)
        q.seed(pflat, np.zeros(pflat.shape[0]), ids, np.ones(pflat.shape[0], bool), cells)
        search(shared, q, nk, cell, uses_slope, uses_zones, cutoff_s, minutes, allocation,
               False, feedback, n_pass, "Travel time")
    _in_threads(lambda r0, r1: finish_outputs(cells, minutes, allocation, r0, r1),
                _row_ranges(rows, len(parts)))
    return TravelTimeResult(
        minutes=minutes, allocation=allocation, source_rows=src_rows, source_cols=src_cols,
        source_ids=ids, cell_size_m=cell, neighbours=nk,
        max_minutes=None if max_minutes is None else float(max_minutes),
        uses_slope=uses_slope, uses_zones=uses_zones, bucket_width_s=width, n_buckets=nb,
        n_passable=int(n_pass), state=Version(shared))


def _check_edit(result, cost_s_per_m, cell_size_m, neighbours, max_minutes, elevation_m,
                tobler_mask, zone_label, entry_delay_s, ferry_label, ferry_delay_s, zone_entry_s):
    shape, cell, nk, uses_slope, uses_zones = _options(
        cost_s_per_m, cell_size_m, neighbours, elevation_m, tobler_mask, zone_label,
        entry_delay_s, ferry_label, ferry_delay_s, zone_entry_s)
    if shape != result.minutes.shape:
        raise ValueError(f"cost_s_per_m has shape {shape}, the result {result.minutes.shape}")
    mm = None if max_minutes is None else float(max_minutes)
    mismatched = [
        name for name, a, b in (
            ("cell_size_m", cell, result.cell_size_m),
            ("neighbours", nk, result.neighbours),
            ("max_minutes", mm, result.max_minutes),
            ("elevation_m/tobler_mask", uses_slope, result.uses_slope),
            ("zone_label/entry_delay_s or ferry_label/ferry_delay_s", uses_zones, result.uses_zones),
        ) if a != b
    ]
    if mismatched:
        raise ValueError("options differ from those of the result: " + ", ".join(mismatched))
    return _cutoff_s(max_minutes)


def _edit(result, inplace, feedback, work):
    """Run ``work(minutes, allocation, queue)`` -> (rows, cols, ids) as an edit of
    ``result``'s state: logged, rolled back if it raises (e.g. Cancelled), and recorded
    as a new version. Returns the edited result (``result`` itself if ``inplace``).

    The edited ``minutes`` / ``allocation`` share every page they do not write with
    ``result``'s where the system allows (:mod:`.cow`: the parent is shared first if it is
    not yet, large grids only); elsewhere they are copies (or, ``inplace``, the arrays
    themselves)."""
    v0 = result.state
    sh = v0.shared
    check(feedback)
    with sh.lock:
        out = result.outputs
        if out is None or not out.describes(result.minutes, result.allocation):
            out = share_outputs(result)
        arrays = cow.derive(out) if out is not None else None
        if arrays is not None:
            minutes, allocation = arrays
        elif inplace and result.minutes.flags.writeable and result.allocation.flags.writeable:
            minutes, allocation = result.minutes, result.allocation
        else:
            minutes, allocation = result.minutes.copy(), result.allocation.copy()
        reroot(v0)
        q = Queue(result.bucket_width_s, result.n_buckets, log=4096)
        try:
            rows, cols, ids = work(minutes, allocation, q)
        except BaseException:
            idx, d, a = q.log()
            apply_diff(flat_view(sh.cells), idx, d, a)
            if minutes is result.minutes:  # written in place: put the old values back
                refresh_outputs(sh.cells, idx, minutes, allocation)
            raise
        # the old version now differs from the new, current one by the logged changes
        v1 = Version(sh)
        v0.link = v1
        v0.idx, v0.d, v0.a = q.log()
        if arrays is not None:  # the outputs were written at the logged cells only
            v0.cells = unique_flat(v0.idx, sh.cells.size)  # kept for changed_cells
            new_out = cow.child(out, minutes, allocation,
                                _output_flat(v0.cells, sh.cells.shape[1], minutes.shape[1]))
        else:
            new_out = None
    if inplace:
        result.minutes, result.allocation, result.outputs = minutes, allocation, new_out
        result.source_rows, result.source_cols, result.source_ids = rows, cols, ids
        result.state = v1
        return result
    return TravelTimeResult(**{
        **result.__dict__, "minutes": minutes, "allocation": allocation, "source_rows": rows,
        "source_cols": cols, "source_ids": ids, "state": v1, "outputs": new_out})


def share_outputs(result) -> cow.Outputs | None:
    """Move ``result``'s ``minutes`` / ``allocation`` into memory that the results edits
    derive from it can share copy-on-write (:mod:`.cow`; Linux, grids of 4 MB of minutes
    or more): afterwards ``result.minutes`` / ``result.allocation`` are read-only arrays
    with the same values (the old arrays are left as they were for whoever holds them).
    Costs about one copy of the two arrays; every later edit of the lineage then costs the
    pages it writes instead of two whole-grid copies. Call it ahead of the first edit (e.g.
    in the background after a full run); :func:`remove_source` / :func:`add_source` call
    it themselves otherwise. Returns the sharing record, or None (nothing changed) where
    unavailable; idempotent."""
    with result.state.shared.lock:
        out = result.outputs
        if out is not None and out.describes(result.minutes, result.allocation):
            return out
        out = cow.share(result.minutes, result.allocation)
        if out is not None:
            result.minutes, result.allocation, result.outputs = out.minutes, out.allocation, out
        else:
            result.outputs = None
        return out


def remove_source(result, source_id, cost_s_per_m, cell_size_m, *, neighbours=16,
                  max_minutes=None, elevation_m=None, tobler_mask=None, zone_label=None,
                  entry_delay_s=None, ferry_label=None, ferry_delay_s=None, zone_entry_s=None,
                  feedback=None, inplace=False) -> TravelTimeResult:
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
    unchanged. The two share the internal grid (only the changed cells are logged) and,
    on Linux for grids of 4 MB of minutes or more, the pages of ``minutes`` and
    ``allocation`` the edit does not write (copy-on-write, :mod:`.cow`; the arrays are then
    read-only); elsewhere the new result gets copies of the two arrays.
    ``inplace=True``: updates and returns ``result`` itself (no copies; where pages are
    shared its ``minutes`` / ``allocation`` become new arrays, the old ones unchanged).
    Either way the work is one scan of ``allocation`` plus the cells of the removed
    facility. If ``feedback`` cancels, the edit is rolled back and Cancelled raised.
    """
    cutoff_s = _check_edit(result, cost_s_per_m, cell_size_m, neighbours, max_minutes,
                           elevation_m, tobler_mask, zone_label, entry_delay_s, ferry_label, ferry_delay_s,
                           zone_entry_s)
    gone = result.source_ids == source_id
    if not gone.any():
        raise ValueError(f"no source with id {source_id}")
    keep = ~gone
    rows, cols, ids = result.source_rows[keep], result.source_cols[keep], result.source_ids[keep]
    sh = result.state.shared
    cells = sh.cells

    def work(minutes, allocation, q):
        doff, _, _, _ = stencil(result.neighbours, cells.shape[1], result.cell_size_m)
        idx = cells_of(allocation, np.int32(source_id))
        q.reserve(0, 0, idx.shape[0])
        bseeds, bids = reset_cells(idx, cells, minutes, allocation, result.neighbours, doff, q.st,
                              q.l_idx, q.l_d, q.l_a)
        # Boundary cells keep their times; remaining sources that lay in the reset area
        # (on the removed source's cell) restart at 0.
        pflat = (rows + PAD) * cells.shape[1] + cols + PAD
        q.seed(np.concatenate([bseeds, pflat]),
               np.concatenate([cells.reshape(-1)[bseeds]["d"], np.zeros(pflat.shape[0])]),
               np.concatenate([bids, ids]),
               np.concatenate([np.zeros(bseeds.shape[0], bool), np.ones(pflat.shape[0], bool)]),
               cells)
        search(sh, q, result.neighbours, result.cell_size_m, result.uses_slope,
                result.uses_zones, cutoff_s, minutes, allocation, True, feedback,
                idx.shape[0] + bseeds.shape[0], "Removing facility")
        return rows, cols, ids

    return _edit(result, inplace, feedback, work)


def add_source(result, row, col, source_id, cost_s_per_m, cell_size_m, *, neighbours=16,
               max_minutes=None, elevation_m=None, tobler_mask=None, zone_label=None,
               entry_delay_s=None, ferry_label=None, ferry_delay_s=None, zone_entry_s=None,
               feedback=None, inplace=False) -> TravelTimeResult:
    """``result`` (from :func:`travel_time`) with one more source at (``row``, ``col``).

    The new source starts at 0 s and the search only visits cells it makes strictly
    faster to reach, so the work is proportional to the area it wins. Exact as for
    :func:`remove_source` (on an exact tie the existing allocation is kept), with the
    same rules for rasters, options, ``inplace`` and cancellation. ``source_id`` may
    repeat an existing id (e.g. a second entrance of one facility) but must not be -1;
    raises ValueError if the cell is outside the grid or a barrier.
    """
    cutoff_s = _check_edit(result, cost_s_per_m, cell_size_m, neighbours, max_minutes,
                           elevation_m, tobler_mask, zone_label, entry_delay_s, ferry_label, ferry_delay_s,
                           zone_entry_s)
    sh = result.state.shared
    cells = sh.cells
    r, c, i, pflat = _check_sources(cells, [row], [col], [source_id])

    def work(minutes, allocation, q):
        q.seed(pflat, np.zeros(1), i, np.ones(1, bool), cells)
        search(sh, q, result.neighbours, result.cell_size_m, result.uses_slope,
                result.uses_zones, cutoff_s, minutes, allocation, True, feedback,
                result.n_passable, "Adding facility")
        return (np.concatenate([result.source_rows, r]),
                np.concatenate([result.source_cols, c]),
                np.concatenate([result.source_ids, i]))

    return _edit(result, inplace, feedback, work)


def unique_flat(idx: np.ndarray, size: int) -> np.ndarray:
    """Sorted unique values of ``idx`` (int, 0 <= idx < ``size``, e.g. flat cell indices).
    numpy's hash-based ``np.unique`` costs ~1 us per element (3 s for 3 M); past a few
    thousand elements a mark array over ``size`` (one byte per cell, a linear scan) is ~80x
    faster at 3 M of 21 M cells."""
    idx = np.asarray(idx)
    if idx.size < max(4096, size >> 10):
        return np.unique(idx).astype(np.int64, copy=False)
    mark = np.zeros(size, bool)
    mark[idx] = True
    return np.flatnonzero(mark)


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
            diff = v0
        elif v1.link is v0:
            diff = v1
        else:
            return None
        if diff.cells is None:
            diff.cells = unique_flat(diff.idx, sh.cells.size)
        idx = diff.cells
    return _output_flat(idx, sh.cells.shape[1], result.minutes.shape[1])


def _output_flat(idx, pc, cols):
    """Padded flat indices (``pc`` padded columns) as flat indices of a (rows, ``cols``)
    output array; keeps the order."""
    rows = idx // pc - PAD
    return rows * cols + (idx - (rows + PAD) * pc - PAD)


def warm_up(edits: bool = True) -> None:
    """Compile (or load from numba's cache) every kernel on a tiny grid; with ``edits=False`` only
    those of full searches (:func:`travel_time`), not those of :func:`remove_source` /
    :func:`add_source` (a command-line run or a sweep worker never edits)."""
    cost = np.ones((6, 7), np.float32)
    cost[2, 3] = np.inf
    zone = np.zeros((6, 7), np.int32)
    zone[0, :] = 1
    ferry = np.zeros((6, 7), np.int32)
    ferry[:, 2] = 1
    opts = dict(neighbours=16, elevation_m=np.zeros((6, 7), np.float32),
                tobler_mask=np.ones((6, 7), bool), zone_label=zone,
                entry_delay_s=np.full((6, 7), 5.0, np.float32), ferry_label=ferry,
                ferry_delay_s=np.array([0.0, 7.0]))
    for o in (opts, {}):
        travel_time(cost, 10.0, [0, 5], [0, 6], [1, 2], prepared=prepare(cost, **{
            k: v for k, v in o.items() if k != "neighbours"}), **o)
        res = travel_time(cost, 10.0, [0, 5], [0, 6], [1, 2], **o)
        if edits:
            res = remove_source(res, 1, cost, 10.0, **o)
            add_source(res, 0, 0, 1, cost, 10.0, **o)
