"""Safe opening of input files: local regular files only (no remote paths, FIFOs, devices),
and GDAL's error text made short enough for a one-line message."""

from __future__ import annotations

import stat
from pathlib import Path

from coverage_app.core.errors import InputError, Problem
from coverage_app.core.netguard import check_local_path


def gdal_reason(exc: Exception) -> str:
    if "see previous exception" in str(exc).lower() and exc.__cause__ is not None:
        exc = exc.__cause__  # rasterio's "Read failed." wraps GDAL's own message
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def check_input_file(path, *, written: str | None = None, folder_ok: bool = False) -> Path:
    """Refuse what cannot be read safely: remote paths, missing files, FIFOs and other special files.

    ``written`` is the path as the user wrote it (e.g. in a project file), shown in messages.
    A FIFO would block the reader forever, so anything but a regular file is refused.
    """
    shown = written or str(path)
    check_local_path(path, file=shown)
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        where = f"{shown}" + (f" (looked for {path})" if written and str(path) != written else "")
        raise InputError(Problem("error", f"file not found: {where}; check the path, or copy the data there",
                                 file=shown)) from None
    except OSError as exc:
        raise InputError(Problem("error", f"cannot be opened ({exc.strerror or exc}): {shown}", file=shown)) from None
    if stat.S_ISDIR(mode):
        if folder_ok:
            return path
        raise InputError(Problem("error", f"is a folder, not a data file: {shown}", file=shown))
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else \
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a special file"
        raise InputError(Problem("error", f"is {kind}, not a regular file: reading it could wait forever; "
                                 f"use the data file itself: {shown}", file=shown))
    return path
