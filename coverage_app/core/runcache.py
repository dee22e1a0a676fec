"""A folder of results kept between runs, so that running the same analysis again (the command
line, the app opening a project) does not redo work whose inputs have not changed: the friction
surface (:mod:`coverage_app.core.travel.friction_cache`) and the checked layers
(:mod:`coverage_app.core.data.layer_cache`).

**Keys.** An entry is found by a BLAKE2b digest of everything its value is computed from; each
user of this module builds its own. Every key includes :func:`code_digest` (the source of
``coverage_app.core``), so a change to the code is a new key. An entry is never updated, only
written whole or read.

**Entries** are files ``KEY.entry`` in one folder per kind: ``MAGIC``, an 8-byte header length,
the header's CRC-32 (4 bytes), a JSON header (format, kind, key, and the offset, size and CRC-32 of
each part), then the parts, each starting at a multiple of 64 bytes. They are written under a
temporary name and renamed, so a crash or a full disk leaves no entry or a whole one; :func:`read`
returns None for an entry that fails any check (and removes it), and for one another user could
have written (:func:`private`). The newest entries within a kind's count and size limits are kept
(:func:`write` evicts the oldest; reading one refreshes it).

**Where.** ``COVERAGE_APP_CACHE_DIR`` if set ("off" or empty: no cache), else the user's cache
folder: ``$XDG_CACHE_HOME`` or ``~/.cache`` (Linux), ``~/Library/Caches`` (macOS),
``%LOCALAPPDATA%`` (Windows), then ``coverage-app``. It is the user's own folder, like their
project files: its folders are made readable by the user only (0700, entries 0600), and an entry
holding a pickle is read only where no other user can write (:func:`private`). Protecting a
project clears it (:func:`clear`), and layers marked sensitive (facilities always) are never
written into it.

The app switches the cache on at start-up (:func:`enable`), the command line for each analysis
(:func:`used`); library use, tests and sweep workers compute everything.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
import zlib
from pathlib import Path
from stat import S_ISREG

MAGIC = b"COVERAGE-APP-CACHE\n"
FORMAT = 2
_ALIGN = 64
_STALE_TEMP_S = 3600.0  # a temporary file older than this was left by a killed run
LIMITS = {"friction": (8, 400_000_000), "layers": (64, 200_000_000)}  # kind -> (entries, bytes) kept

_enabled = False


def enable(on: bool = True) -> bool:
    """Use the cache in this process (the app calls this at start-up); returns the previous setting."""
    global _enabled
    before, _enabled = _enabled, bool(on)
    return before


@contextlib.contextmanager
def used():
    """The cache switched on inside the block (a command-line analysis), then as it was before."""
    before = enable(True)
    try:
        yield
    finally:
        enable(before)


def enabled() -> bool:
    return _enabled and root() is not None and code_digest() is not None


def root() -> Path | None:
    """The cache folder, or None when ``COVERAGE_APP_CACHE_DIR`` switches it off."""
    env = os.environ.get("COVERAGE_APP_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "no") else Path(env).expanduser()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "coverage-app" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "coverage-app"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "coverage-app"


def clear() -> None:
    """Remove every entry (a project is being protected: no clear copy of its layers may stay)."""
    folder = root()
    if folder is None:
        return
    for kind in LIMITS:
        shutil.rmtree(folder / kind, ignore_errors=True)


# ----------------------------------------------------------------------------- digests

_CODE_DIGEST: list = []
_FILE_DIGESTS: dict = {}  # (path, *settled_state) -> digest, for this process


CODE_DIGEST_FILE = "core_code_digest.txt"  # in a frozen bundle (packaging/coverage_app.spec writes it)


def code_digest() -> bytes | None:
    """BLAKE2b of the source of ``coverage_app.core`` (every ``.py`` file, with its relative path);
    computed once per process (~2 ms). A frozen bundle keeps most modules in its archive, so it
    reads the digest its build wrote (:data:`CODE_DIGEST_FILE`, the same computation); None (the
    cache stays off) where neither is at hand."""
    if not _CODE_DIGEST:
        _CODE_DIGEST.append(_frozen_code_digest() if getattr(sys, "frozen", False) else
                            source_digest(Path(__file__).resolve().parent))
    return _CODE_DIGEST[0]


def source_digest(core: Path) -> bytes:
    """The digest of the ``.py`` files under ``core`` (the folder of ``coverage_app.core``)."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(core.rglob("*.py")):
        h.update(str(path.relative_to(core).as_posix()).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.digest()


def _frozen_code_digest() -> bytes | None:
    try:
        text = (Path(getattr(sys, "_MEIPASS", "")) / CODE_DIGEST_FILE).read_text(encoding="ascii").strip()
        return bytes.fromhex(text) if len(text) == 32 else None
    except (OSError, ValueError):
        return None


SETTLED_S = 3.0  # a file last modified longer ago than this (> FAT's 2 s timestamps) may be memoised


def settled_state(path) -> tuple | None:
    """(size, modification and change times, inode) of a file last changed over :data:`SETTLED_S`
    ago, else None: a later change then shows in these even on a file system with coarse times (an
    SQLite edit often keeps the file's size), as git trusts its index. Raises OSError for anything
    but a regular file (a FIFO would block its reader for ever)."""
    stat = Path(path).stat()
    if not S_ISREG(stat.st_mode):
        raise OSError(f"not a regular file: {path}")
    if time.time() - max(stat.st_mtime, stat.st_ctime) <= SETTLED_S:
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino


def file_digest(path) -> bytes:
    """BLAKE2b of a file's bytes (2.7 MB: ~3 ms). Within one process a settled file
    (:func:`settled_state`) whose state is unchanged is not read again."""
    path = Path(path)
    state = settled_state(path)
    memo = None if state is None else (str(path.resolve()), *state)
    digest = _FILE_DIGESTS.get(memo) if memo is not None else None
    if digest is None:
        h = hashlib.blake2b(digest_size=20)
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digest = h.digest()
        if memo is not None:
            if len(_FILE_DIGESTS) > 256:
                _FILE_DIGESTS.clear()
            _FILE_DIGESTS[memo] = digest
    return digest


# the C libraries of a Python package, whose version is not the package's: attribute, label
_NATIVE = {"shapely": ("geos_version_string", "GEOS"), "pyogrio": ("__gdal_version_string__", "GDAL"),
           "rasterio": ("__gdal_version__", "GDAL"), "pyproj": ("proj_version_str", "PROJ")}


@functools.lru_cache(maxsize=8)
def library_versions(*names: str) -> str:
    """The versions of the packages ``names`` (and of the C libraries they wrap) for a key: a value
    computed by other library versions is another entry."""
    from importlib import import_module, metadata

    parts = []
    for name in names:
        module = import_module(name)
        version = getattr(module, "__version__", None)
        if version is None:
            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                pass
        parts.append(f"{name} {version}")
        if name in _NATIVE:
            attribute, label = _NATIVE[name]
            parts.append(f"{label} {getattr(module, attribute)}")
    return "; ".join(parts)


class KeyBuilder:
    """A BLAKE2b key of length-prefixed parts, starting with the kind, format and code digest."""

    def __init__(self, kind: str):
        self._h = hashlib.blake2b(digest_size=20)
        self.add(f"{kind} {FORMAT}".encode(), code_digest())

    def add(self, *parts: bytes) -> "KeyBuilder":
        for part in parts:
            self._h.update(len(part).to_bytes(8, "little"))
            self._h.update(part)
        return self

    def add_json(self, value) -> "KeyBuilder":
        # in its own order: a consumer may depend on it (the later of two equal land-cover codes wins)
        return self.add(json.dumps(value, default=repr).encode())

    def hexdigest(self) -> str:
        return self._h.hexdigest()


# ----------------------------------------------------------------------------- entries

def _entry(kind: str, key: str) -> Path | None:
    folder = root()
    return None if folder is None else folder / kind / f"{key}.entry"


def _parts_start(header_bytes: int) -> int:
    return -(-(len(MAGIC) + 12 + header_bytes) // _ALIGN) * _ALIGN


def private(path: Path) -> bool:
    """True if the entry ``path``, its kind's folder and the cache folder belong to this user and
    nobody else may write them (POSIX; on Windows the default folder is the user's own
    ``%LOCALAPPDATA%``). Entries are read only from there: a pickle runs code, and a friction
    surface planted by someone else would give wrong travel times."""
    if os.name != "posix":
        return True
    try:
        return all(st.st_uid == os.getuid() and not st.st_mode & 0o022
                   for st in (os.lstat(path), path.parent.stat(), path.parent.parent.stat()))
    except OSError:
        return False


def read(kind: str, key: str) -> tuple[dict, list[memoryview]] | None:
    """(header ``meta``, parts) of the entry ``key`` of ``kind``, or None: no entry, one another user
    could have written (:func:`private`; left in place, it is not ours to remove), or one that fails
    a check (then removed)."""
    path = _entry(kind, key)
    if path is None or not path.exists() or not private(path):
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        header, parts = _parse(data, kind, key)
    except Exception:  # noqa: BLE001  (damaged in any way: a miss, never a crash)
        _remove(path)
        return None
    try:
        os.utime(path)  # the entries read most recently are the ones kept
    except OSError:
        pass
    return header.get("meta", {}), parts


def _parse(data: bytes, kind: str, key: str) -> tuple[dict, list[memoryview]]:
    if not data.startswith(MAGIC):
        raise ValueError("not an entry")
    at = len(MAGIC)
    size = int.from_bytes(data[at:at + 8], "little")
    crc = int.from_bytes(data[at + 8:at + 12], "little")
    raw = data[at + 12:at + 12 + size]
    if len(raw) != size or zlib.crc32(raw) != crc:
        raise ValueError("damaged header")
    header = json.loads(raw.decode("utf-8"))
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("kind") != kind \
            or header.get("key") != key or not isinstance(header.get("meta", {}), dict):
        raise ValueError("another entry")
    start = _parts_start(size)
    parts = []
    for offset, length, part_crc in header["parts"]:
        part = memoryview(data)[start + offset:start + offset + length]
        if len(part) != length or zlib.crc32(part) != part_crc:
            raise ValueError("damaged")
        parts.append(part)
    return header, parts


def discard(kind: str, key: str) -> None:
    """Remove the entry ``key`` of ``kind`` (one its reader could not use)."""
    path = _entry(kind, key)
    if path is not None:
        _remove(path)


def write(kind: str, key: str, meta: dict, parts) -> bool:
    """Write the entry ``key`` of ``kind``: JSON-able ``meta`` and ``parts`` (bytes-like, each
    C-contiguous). True if written; a file-system problem (full disk, no permission) skips it, and
    so does an entry larger than half the kind's size limit."""
    path = _entry(kind, key)
    if path is None:
        return False
    views = [memoryview(p).cast("B") for p in parts]
    max_entries, max_bytes = LIMITS.get(kind, (8, 100_000_000))
    if sum(v.nbytes for v in views) > max_bytes // 2:  # it would push out the rest and soon itself
        return False
    table, offset = [], 0
    for view in views:
        table.append([offset, view.nbytes, zlib.crc32(view)])
        offset += -(-view.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"format": FORMAT, "kind": kind, "key": key, "meta": meta, "parts": table}).encode("utf-8")
    start = _parts_start(len(header))
    temp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # only the user reads and writes
        path.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + len(header).to_bytes(8, "little") + zlib.crc32(header).to_bytes(4, "little") + header)
            fh.write(b"\0" * (start - len(MAGIC) - 12 - len(header)))
            for view in views:
                fh.write(view)
                fh.write(b"\0" * (-view.nbytes % _ALIGN))
        os.replace(temp, path)
    except OSError:
        _remove(temp)
        return False
    _evict(path.parent, max_entries, max_bytes)
    return True


def _evict(folder: Path, max_entries: int, max_bytes: int) -> None:
    """Keep the newest ``max_entries`` entries within ``max_bytes``; remove killed runs' temporary files."""
    entries = []
    now = time.time()
    try:
        for path in folder.iterdir():
            try:
                stat = path.stat()
            except OSError:
                continue
            if path.name.endswith(".tmp"):
                if now - stat.st_mtime > _STALE_TEMP_S:
                    _remove(path)
            elif path.suffix == ".entry":
                entries.append((stat.st_mtime, stat.st_size, path))
    except OSError:
        return
    entries.sort(reverse=True)
    total = 0
    for count, (_, size, path) in enumerate(entries):
        total += size
        if count >= max_entries or total > max_bytes:
            _remove(path)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
