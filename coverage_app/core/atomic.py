"""Atomic writes: write to a temporary file beside the target, then rename over it.

An interrupted or failed write (full disk, crash, cancel) never leaves a half-written or
clobbered file: the previous version stays intact until the new one is complete.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target, suffix: str | None = None):
    """Yield a temporary path next to ``target``; on success rename it onto ``target``.

    The temporary file keeps the target's suffix so format drivers (GDAL) recognise it.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=suffix or target.suffix, dir=target.parent)
    os.close(fd)
    os.unlink(tmp)  # let the writer create it (some drivers refuse existing files)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.is_file():
            fsync_file(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(target):
    """Yield a temporary folder; on success it replaces ``target`` (a set of files, e.g. a shapefile)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            backup = target.with_name(f".{target.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            os.replace(target, backup)
            os.replace(tmp, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_text_atomic(target, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def fsync_file(path) -> None:
    """Flush one file's data to the disk (Windows' _commit needs a handle open for writing)."""
    with open(path, "r+b" if os.name == "nt" else "rb") as fh:
        os.fsync(fh.fileno())


def fsync_folder(path) -> None:
    """Flush a folder's entries (the names of the files in it) to the disk, where the system allows
    opening a folder (POSIX); elsewhere nothing."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- whole-folder switches (exports) -----------------------------------------------------

class FolderBusy(Exception):
    """Another process holds the lock of the folder being written."""


def try_lock(fh) -> bool:
    """Take an exclusive OS lock (fcntl/msvcrt) on the open file ``fh`` without waiting; False if
    another holder has it. Released when the file is closed or its process ends, even if killed."""
    try:
        if os.name == "nt":
            import msvcrt

            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


OWNER_FILE = ".owner"  # in a folder a running writer holds locked (see writer_alive)
UNOWNED_GRACE_S = 60.0  # a folder without its owner file yet may be a moment old


def hold_folder(folder: Path):
    """Lock ``folder``'s owner file for as long as the returned file stays open (its writer runs)."""
    fh = open(Path(folder) / OWNER_FILE, "a+")
    if not try_lock(fh):  # pragma: no cover - a new folder of our own
        fh.close()
        raise OSError(f"cannot lock {folder}")
    return fh


def writer_alive(folder: Path) -> bool:
    """Whether the process that made ``folder`` (:func:`hold_folder`) still runs, on this machine or on
    another one sharing the folder: its owner file is locked then."""
    owner = Path(folder) / OWNER_FILE
    try:
        fh = open(owner, "r+")
    except FileNotFoundError:
        try:
            return time.time() - Path(folder).stat().st_mtime < UNOWNED_GRACE_S
        except OSError:
            return False
    except OSError:
        return True  # cannot tell: leave it
    with fh:
        return not try_lock(fh)


@contextlib.contextmanager
def folder_lock(target):
    """Hold an exclusive lock for writing the folder ``target`` (a lock file beside it).

    The lock is an OS file lock (fcntl/msvcrt), so it is released when its holder ends, even
    if killed; a second writer gets :class:`FolderBusy` at once instead of interleaving.
    """
    target = Path(target)
    lock_path = target.parent / f".{target.name}.lock"
    fh = open(lock_path, "a+")
    try:
        if not try_lock(fh):
            fh.seek(0)
            holder = fh.read().strip()
            raise FolderBusy(holder) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield lock_path
    finally:
        fh.close()


def staging_dir_for(target) -> Path:
    """A new empty folder beside ``target`` (same file system, so it can be renamed onto it)."""
    target = Path(target)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.export-", dir=target.parent))


def clean_stale(target) -> list[Path]:
    """Remove what an interrupted switch of ``target`` left beside it; call with the lock held.

    A kill between the two renames of the fallback switch leaves ``target`` missing and the
    previous folder as ``.NAME.old-*``: it is put back first. Staging folders are removed, and so
    are early-raster folders (``.NAME.rasters-PID-*``, see early_rasters.EarlyRasters) whose writer has
    ended (:func:`writer_alive`: a running one's folder is still being written).
    """
    target = Path(target)
    removed = []
    olds = sorted(target.parent.glob(f".{target.name}.old-*"))
    if olds and not target.exists():
        os.replace(olds[-1], target)
        olds = olds[:-1]
    early = [path for path in sorted(target.parent.glob(f".{target.name}.rasters-*")) if not writer_alive(path)]
    for path in olds + sorted(target.parent.glob(f".{target.name}.export-*")) + early:
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    if target.is_dir():  # staging folders of the earlier design lived inside the export folder
        for path in target.glob(".export-*"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two folders (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP if hasattr(errno, "ENOTSUP") else errno.EINVAL):
        return False
    raise OSError(err, os.strerror(err))


def switch_folder(new: Path, target: Path) -> None:
    """Make the complete folder ``new`` become ``target`` in one step; the old one is removed.

    With no previous folder this is one rename. Otherwise the two folders are exchanged by a
    single atomic system call where the OS offers one (Linux); elsewhere the old folder is
    renamed aside first and put back by :func:`clean_stale` if the process dies in between.
    """
    new, target = Path(new), Path(target)
    if not target.exists():
        os.replace(new, target)
        return
    if _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the previous export
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(old)
    os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (no space, no time), copying where links are not possible."""
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True, copy_function=_link_file)
    elif src.is_symlink():
        os.symlink(os.readlink(src), dst)
    else:
        _link_file(src, dst)


def _link_file(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
