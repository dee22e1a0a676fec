"""How a ``coverage-app`` process starts and ends: no garbage collections while the heavy
modules are imported, NumPy's arrays in small pages (:func:`small_pages_for_numpy`), and an
exit that skips the interpreter's teardown. Qt-free; used by the console-script entry
(:func:`coverage_app.__main__.console_main`) and the app start.

Why: importing pandas, geopandas, shapely, rasterio and numba creates some millions of objects
that live as long as the process. CPython's collector runs a full (generation 2) collection each
time the long-lived objects grew by a quarter, each walking every tracked object, and young ones
every 700 allocations. Measured (gc.callbacks) on ``analyse`` of the 3000 x 3000 speed raster:
0.55-0.63 s in 3 full collections and 0.35 s in ~370 young ones during the imports; after a
freeze, all the command's collections add up to 0.03 s. :func:`hold` (first thing in the entry)
stops collecting; :func:`imports_done` (once the heavy modules are in) moves every object alive
into the permanent generation (``gc.freeze()``), so later collections never walk the modules
again, and collects as usual again. The price: cyclic garbage made by the imports themselves is
frozen with them and never freed (what CPython's documentation recommends before a fork; a few
MB at most). Nothing changes in a process that did not call :func:`hold` (tests calling
``main()`` in-process, an embedding script): :func:`imports_done` is then a no-op.

At the end of a command, tearing the interpreter down (freeing every module's objects one by
one) costs 0.3-1 s. :func:`fast_exit` flushes the standard streams, waits for non-daemon
threads, flushes the logging handlers, runs the ``atexit`` handlers (dask, multiprocessing, tempfile clean-up) and ends the process
with ``os._exit``. Every output file is closed before a command returns (``with`` blocks,
fsync'd by the export), so nothing written is lost; Python objects' finalisers are not run.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
import threading

_held: bool | None = None  # while held: whether the collector was enabled before
_frozen = False  # imports_done ran once in this process


def small_pages_for_numpy() -> None:
    """Ask NumPy not to ``madvise`` its large arrays into transparent huge pages (its default on
    Linux kernels with THP in "madvise" mode), for this process and its children, unless
    ``NUMPY_MADVISE_HUGEPAGE`` is already set. Before NumPy is imported (the console-script entry).

    Why: a run touches ~160 MB of fresh arrays at 250 m (each tier's search records, minutes and
    allocation), and the kernel fills a huge-page fault by zeroing (and, with defrag "madvise",
    compacting) 2 MB at a time under the process's memory lock, which the two search threads then
    wait for. Measured on the 2-core benchmark machine: the first search of a process took 0.29-0.35 s
    per tier with huge pages and 0.19-0.22 s without; the Sagaing ``analyse`` search stage went from
    0.33-0.55 s to 0.34 s every time (benchmarks/README.md). Elsewhere (THP "never" or
    "always", other systems) NumPy's setting changes nothing."""
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")


def hold() -> None:
    """No garbage collection from now until :func:`imports_done`: for the start of a process only
    (console-script entry)."""
    global _held
    if _held is None:
        _held = gc.isenabled()
        gc.disable()


def held() -> bool:
    """True between :func:`hold` and the first :func:`imports_done`."""
    return _held is not None


def imports_done(resume: bool = True) -> bool:
    """The heavy modules are imported: freeze every object alive into the permanent generation
    (later collections do not walk them) and collect as usual again (with ``resume=False``: stay
    held, more imports follow). Only in a process whose start called :func:`hold` (returns False
    and does nothing otherwise); may be called again later in that process (the app: after the
    first paint, then after the warm-up) to freeze what was added since."""
    global _held, _frozen
    if _held is not None:
        gc.freeze()
        _frozen = True
        if not resume:
            return True
        if _held:
            gc.enable()
        _held = None
        _frozen = True
        return True
    if _frozen:
        gc.freeze()
        return True
    return False


def fast_exit(code: int) -> None:
    """End the process now with exit status ``code`` (0-255), without the interpreter's teardown:
    flush stdout and stderr, wait for non-daemon threads (as the interpreter's exit does), shut
    logging down, run the ``atexit`` handlers, then ``os._exit``.
    Only for the console-script path, after the command returned; never call it in-process."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    # what Py_Finalize does first: wait for the threads that are not daemons (a file still being
    # written in the background is finished), after the hooks that wake idle pool workers
    shutdown_threads = getattr(threading, "_shutdown", None)
    if shutdown_threads is not None:
        shutdown_threads()
    logging.shutdown()
    try:
        atexit._run_exitfuncs()  # then the atexit handlers, as Py_Finalize runs them
    finally:
        for stream in (sys.stdout, sys.stderr):  # what the handlers printed
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(int(code) & 0xFF)
