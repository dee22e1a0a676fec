"""Vector files written by GDAL (through pyogrio) into GDAL's in-memory file system
(``/vsimem/``) and taken out as bytes, to be written to disk in one go.

Why: GDAL's Shapefile driver writes each .dbf record with a seek, a 4 KiB read, another seek and
a write (the C library's buffered stream does the read for every backwards seek), so the 6829
villages at 250 m cost ~115,000 system calls and 0.2-0.4 s on disk, 0.1 s in memory. The bytes
are the ones GDAL writes to disk: the same driver code runs, only the file system under it
differs (tests/core/test_export_same_files.py compares the two byte for byte).

Reading a ``/vsimem/`` file back needs GDAL's ``VSIGetMemFileBuffer``, which pyogrio does not
expose: it is called through ctypes on the GDAL library that pyogrio itself loaded (pyogrio's
wheels bundle their own copy, separate from rasterio's, and each has its own ``/vsimem/``). The
library is found among the process's mapped files (Linux) and accepted only if it reports
pyogrio's GDAL version. Where it is not found (other systems, another packaging) or a file did
not land in it, :func:`available` is False or :func:`take_folder` returns None, and callers
write to disk as before.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import uuid

_LOCK = threading.Lock()
_LIB: list = []  # [library or None] once looked up


def _mapped_gdal_libraries() -> list[str]:
    """Paths of the GDAL libraries mapped into this process, pyogrio's first (Linux only)."""
    if not sys.platform.startswith("linux"):
        return []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {parts[5] for parts in (line.split(None, 5) for line in fh) if len(parts) == 6}
    except OSError:
        return []
    found = [p.strip() for p in paths if os.path.basename(p.strip()).startswith("libgdal")]
    return sorted(found, key=lambda p: ("pyogrio" not in p, p))


def _load():
    import pyogrio  # loads pyogrio's GDAL, so that it is mapped

    want = pyogrio.__gdal_version_string__.encode()
    for path in _mapped_gdal_libraries():
        try:
            lib = ctypes.CDLL(path)
            lib.GDALVersionInfo.restype = ctypes.c_char_p
            lib.GDALVersionInfo.argtypes = [ctypes.c_char_p]
            if lib.GDALVersionInfo(b"RELEASE_NAME") != want:
                continue
            lib.VSIGetMemFileBuffer.restype = ctypes.c_void_p
            lib.VSIGetMemFileBuffer.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint64), ctypes.c_int]
            lib.VSIFree.restype = None
            lib.VSIFree.argtypes = [ctypes.c_void_p]
        except (OSError, AttributeError):
            continue
        return lib
    return None


def _library():
    with _LOCK:
        if not _LIB:
            _LIB.append(_load())
        return _LIB[0]


def available() -> bool:
    """True where files written to ``/vsimem/`` by pyogrio can be read back here."""
    return _library() is not None


def new_folder() -> str:
    """A fresh ``/vsimem/`` folder name (nothing is created until GDAL writes into it)."""
    return f"/vsimem/coverage_app_{uuid.uuid4().hex}"


def take_folder(folder: str) -> dict[str, bytes] | None:
    """Every file GDAL wrote under ``folder``, as {file name: bytes}; the memory is released and the
    folder removed. None where the files cannot be read back (see module docstring)."""
    import pyogrio

    lib = _library()
    try:
        try:
            names = pyogrio.vsi_listtree(folder) if lib is not None else []
        except FileNotFoundError:  # nothing was written there
            return None
        out = {}
        for name in names:
            size = ctypes.c_uint64()
            buf = lib.VSIGetMemFileBuffer(name.encode(), ctypes.byref(size), 1)  # 1: unlink, we own it
            if not buf:
                return None
            try:
                out[name.rsplit("/", 1)[-1]] = ctypes.string_at(buf, size.value)
            finally:
                lib.VSIFree(buf)
        return out or None
    finally:
        discard(folder)


def discard(folder: str) -> None:
    """Remove ``folder`` from ``/vsimem/`` (nothing if it is not there)."""
    import pyogrio

    try:
        pyogrio.vsi_rmtree(folder)
    except Exception:  # noqa: BLE001  (pyogrio raises its own error for a folder that does not exist)
        pass
