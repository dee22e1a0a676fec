"""Copy-on-write output arrays (``minutes``, ``allocation``) for results derived by edits.

An incremental edit (:func:`~coverage_app.core.travel.engine.remove_source`,
:func:`~coverage_app.core.travel.engine.add_source`) changes a small part of the grid, but
its result needs whole ``minutes`` / ``allocation`` ndarrays while the parent result stays
valid and unchanged. Plain copies cost two whole-grid arrays per edit (2 x 83 MB at 100 m
on Sagaing), and on fresh memory the page faults cost far more than the copying.

On Linux the two arrays of a result can instead live in an :class:`Image`: an anonymous
in-memory file (``os.memfd_create``) mapped read-only into the result. A result derived
from it maps the same file ``MAP_PRIVATE``: it shares every page with the image until it
writes one, and the kernel copies only the pages it writes. Each derived result records,
as :class:`Outputs`, the image and the cells (flat indices into ``minutes.reshape(-1)``)
where it may differ from it, so a result derived from a derived result is again the image
plus those cells: mapping costs ~1 ms and an edit pays only for the pages it touches.

Everything here is exact (the arrays hold the same values a copy would) and optional:
where ``memfd_create`` is missing (Windows, macOS), the arrays are small
(< :data:`MIN_BYTES`), or the system refuses (no file descriptors or maps left), callers
fall back to plain copies, which is the portable behaviour.

Arrays backed by an image are read-only (an image or a derived result's state must not
change under the results that share it); a derived array is made writable only by the
engine, under the lineage lock, while an edit writes it.
"""

from __future__ import annotations

import mmap
import os
import weakref

import numpy as np

__all__ = ["ENABLED", "MIN_BYTES", "Image", "Outputs", "available", "child", "derive", "share"]

MIN_BYTES = 1 << 22  # below 4 MB of minutes a plain copy is as cheap: keep file descriptors free
ENABLED = True  # False: always the portable plain copies (what systems without memfd get)


def available() -> bool:
    """Whether this system can share pages copy-on-write (Linux ``memfd_create``) and
    :data:`ENABLED` allows it."""
    return ENABLED and hasattr(os, "memfd_create") and hasattr(mmap, "MAP_PRIVATE") and hasattr(mmap, "PROT_READ")


class Image:
    """An in-memory file holding one ``minutes`` (float32) grid followed, at the next page
    boundary, by one ``allocation`` (int32) grid of ``shape`` (rows, cols). Written once by
    :func:`share`, never changed afterwards; the file descriptor is closed when the last
    :class:`Outputs` using it is dropped (the mappings keep their own)."""

    __slots__ = ("fd", "shape", "off_a", "size", "__weakref__")

    def __init__(self, shape):
        n = int(shape[0]) * int(shape[1])
        page = mmap.PAGESIZE
        self.shape = (int(shape[0]), int(shape[1]))
        self.off_a = -(-4 * n // page) * page
        self.size = self.off_a + max(-(-4 * n // page) * page, page)
        self.fd = os.memfd_create("coverage-app-outputs", os.MFD_CLOEXEC)
        weakref.finalize(self, os.close, self.fd)
        os.ftruncate(self.fd, self.size)

    def arrays(self, writable: bool):
        """``(minutes, allocation)`` mapped from the file: read-only and shared, or
        writable and private (copy-on-write: writes never reach the file)."""
        if writable:
            mm = mmap.mmap(self.fd, self.size, flags=mmap.MAP_PRIVATE,
                           prot=mmap.PROT_READ | mmap.PROT_WRITE)
        else:
            mm = mmap.mmap(self.fd, self.size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        n = self.shape[0] * self.shape[1]
        minutes = np.frombuffer(mm, np.float32, n, 0).reshape(self.shape)
        allocation = np.frombuffer(mm, np.int32, n, self.off_a).reshape(self.shape)
        return minutes, allocation


class Outputs:
    """How a result's ``minutes`` / ``allocation`` relate to an :class:`Image`: equal to it
    except (possibly) at ``diff`` (sorted unique flat indices, int64). ``minutes`` and
    ``allocation`` are the very arrays described: :func:`derive` checks them by identity,
    so a result whose arrays were replaced falls back to copies. Not picklable state:
    pickled or deep-copied it becomes None (the copied arrays are plain)."""

    __slots__ = ("image", "diff", "minutes", "allocation")

    def __init__(self, image, diff, minutes, allocation):
        self.image, self.diff, self.minutes, self.allocation = image, diff, minutes, allocation

    def describes(self, minutes, allocation) -> bool:
        return self.minutes is minutes and self.allocation is allocation

    def __reduce__(self):
        return (_none, ())

    def __deepcopy__(self, memo):
        return None


def _none():
    return None


def share(minutes: np.ndarray, allocation: np.ndarray) -> Outputs | None:
    """Copy ``minutes`` (float32) and ``allocation`` (int32), same 2-D shape, into a new
    :class:`Image`; returns its :class:`Outputs` (read-only views of the image, empty diff)
    for the caller to use instead of the two arrays, or None where sharing is unavailable,
    the grid small (< :data:`MIN_BYTES`) or the system refuses (then keep the arrays)."""
    if not available() or minutes.nbytes < MIN_BYTES:
        return None
    if minutes.dtype != np.float32 or allocation.dtype != np.int32 or minutes.shape != allocation.shape:
        raise ValueError("share: minutes must be float32 and allocation int32 of one shape")
    try:
        image = Image(minutes.shape)
        # pwrite: the kernel fills the file's pages directly (about 2x faster than faulting
        # them in through a writable mapping)
        _write(image.fd, minutes, 0)
        _write(image.fd, allocation, image.off_a)
    except OSError:
        return None
    try:
        m, a = image.arrays(writable=False)
    except OSError:
        return None
    return Outputs(image, np.zeros(0, np.int64), m, a)


def _write(fd, a, offset):
    view = memoryview(np.ascontiguousarray(a)).cast("B")
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)


def derive(out: Outputs):
    """Writable private ``(minutes, allocation)`` equal to the arrays ``out`` describes:
    the image mapped copy-on-write with ``out.diff``'s cells copied in. None if the system
    refuses the mapping (then copy). The caller records the cells it writes with
    :meth:`child`."""
    try:
        m, a = out.image.arrays(writable=True)
    except OSError:
        return None
    if out.diff.size:
        m.reshape(-1)[out.diff] = out.minutes.reshape(-1)[out.diff]
        a.reshape(-1)[out.diff] = out.allocation.reshape(-1)[out.diff]
    return m, a


def child(out: Outputs, minutes, allocation, written: np.ndarray) -> Outputs:
    """The :class:`Outputs` of arrays made by :func:`derive` from ``out`` and then written
    at (at most) the flat indices ``written`` (sorted unique int64); makes them read-only."""
    if out.diff.size and written.size:
        diff = np.union1d(out.diff, written) if out.diff.size + written.size < (minutes.size >> 6) \
            else _union_mark(out.diff, written, minutes.size)
    else:
        diff = written if written.size else out.diff
    minutes.flags.writeable = False
    allocation.flags.writeable = False
    return Outputs(out.image, diff.astype(np.int64, copy=False), minutes, allocation)


def _union_mark(a, b, size):
    mark = np.zeros(size, bool)
    mark[a] = True
    mark[b] = True
    return np.flatnonzero(mark)
