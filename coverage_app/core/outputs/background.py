"""Export work done on threads beside the main one: GeoTIFF writes, input hashes, writing
prepared bytes and fsyncing each file as soon as it is closed.

Why threads help here: GDAL's GeoTIFF writes (rasterio), ``os.fsync``, file writes and SHA-256
hashing release the GIL, so they overlap the vector writes (pyogrio, which holds the GIL) on the
main thread. Durability is unchanged: :meth:`Background.wait` returns only when every job has
finished, and the export fsyncs whatever file was not fsynced by a job before it switches the
folder in (see :func:`coverage_app.core.outputs.export._write_export`). An error in a job (disk
full) is raised by :meth:`wait` in the main thread; leaving the ``with`` block cancels the jobs
not yet started and waits for the running ones, so none writes into a removed staging folder.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from coverage_app.core.atomic import fsync_file


class Background:
    """Jobs on ``workers`` threads; seconds per job name go to ``stages`` as overlapped stages."""

    def __init__(self, stages=None, workers: int = 2):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export")
        self._futures: list[Future] = []
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = {}
        self._stages = stages
        self.fsynced: set[str] = set()  # names of the files fsynced by a job

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._flush_seconds()
        return False

    def submit(self, name: str, fn, *args, **kwargs) -> Future:
        """Run ``fn(*args, **kwargs)`` on a thread; its seconds are added to stage ``name``."""
        def job():
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self._seconds[name] = self._seconds.get(name, 0.0) + time.perf_counter() - t

        future = self._pool.submit(job)
        self._futures.append(future)
        return future

    def fsync(self, *paths) -> None:
        """fsync each of ``paths`` (closed files) on a thread."""
        self.submit("export: fsync (background)", self._fsync_all, [Path(p) for p in paths])

    def write_file(self, path, data: bytes) -> None:
        """Write ``data`` as the new file ``path``, then fsync it, on a thread."""
        self.submit("export: write prepared files (background)", self._write_and_fsync, Path(path), data)

    def _fsync_all(self, paths) -> None:
        for path in paths:
            fsync_file(path)
            with self._lock:
                self.fsynced.add(path.name)

    def _write_and_fsync(self, path: Path, data: bytes) -> None:
        with open(path, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        with self._lock:
            self.fsynced.add(path.name)

    def wait(self) -> None:
        """Wait for every job submitted so far; raise the first error (in the order submitted)."""
        for future in list(self._futures):
            future.result()
        self._flush_seconds()

    def _flush_seconds(self) -> None:
        with self._lock:
            seconds, self._seconds = self._seconds, {}
        if self._stages is not None:
            for name, s in seconds.items():
                self._stages.add(name, s, overlapped=True)
