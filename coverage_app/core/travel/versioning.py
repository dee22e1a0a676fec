"""Persistent-array versioning of engine results: the padded rasters of one
:func:`~coverage_app.core.travel.engine.travel_time` run (:class:`Shared`) and the versions of
its times and allocations (:class:`Version`, Baker's trick), so results derived by incremental
edits share one grid and each older result keeps only a diff.
"""

from __future__ import annotations

import threading

from coverage_app.core.travel.kernels import apply_diff, flat_view


class Shared:
    """The padded rasters of one :func:`travel_time` run, shared by every result derived
    from it by incremental edits (see :class:`Version`)."""

    __slots__ = ("cells", "aux", "ferry_s", "zone_pair", "lock")

    def __init__(self, cells, aux, ferry_s=None, zone_pair=None):
        self.cells = cells  # CELL (rows + 4, cols + 4): time s, cost s/m, allocation
        self.aux = aux  # AUX (rows + 4, cols + 4) or None: elevation m (NaN outside
        # the Tobler mask), zone and ferry label, zone entry delay s
        self.ferry_s = ferry_s  # float64 boarding delay s of each ferry label (0: none), or None
        self.zone_pair = zone_pair  # float64 s entering zone label j from label i, where zones overlap
        self.lock = threading.RLock()

    def __getstate__(self):  # picklable / deep-copyable, with a fresh lock
        return self.cells, self.aux, self.ferry_s, self.zone_pair

    def __setstate__(self, state):
        self.__init__(*state)


class Version:
    """The times and allocations of one result, as a persistent array (Baker's trick).

    ``shared.cells`` holds the state of exactly one version, the one whose ``link`` is
    None. Any other version holds a diff (padded cell indices, times, allocations) that
    turns the state of the version it links to into its own. :func:`reroot` walks the
    links, applying and reversing the diffs, to make a version current. So an edit that
    returns a new result costs only the cells it changes (plus copies of the two output
    arrays), not a copy of the whole grid, and every older result stays valid.
    """

    __slots__ = ("shared", "link", "idx", "d", "a", "cells")

    def __init__(self, shared, link=None, idx=None, d=None, a=None):
        self.shared, self.link, self.idx, self.d, self.a = shared, link, idx, d, a
        self.cells = None  # the diff's cells, sorted unique (padded flat), once someone needed them


def reroot(v: Version) -> None:
    """Make ``v`` the version whose state ``v.shared.cells`` holds (call under its lock)."""
    path = []
    while v.link is not None:
        path.append(v)
        v = v.link
    for w in reversed(path):  # w links to the current version
        cur = w.link
        apply_diff(flat_view(w.shared.cells), w.idx, w.d, w.a)  # arrays now hold cur's values
        cur.link, cur.idx, cur.d, cur.a = w, w.idx[::-1].copy(), w.d[::-1].copy(), w.a[::-1].copy()
        cur.cells = w.cells  # the reversed diff has the same cells
        w.link = w.idx = w.d = w.a = w.cells = None
