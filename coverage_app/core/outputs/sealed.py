"""Encrypted export archives (``export.zip.enc``): the export zipped and sealed with the
protected project's key (the AES-256-GCM format of :mod:`coverage_app.core.data.protect`).

The export is staged in a memory-backed folder (``/dev/shm`` on Linux) when the system has
one, so the clear files never reach the disk; elsewhere the staging folder sits beside the
archive and is deleted as soon as the archive is written. The recipient opens it with
``coverage-app decrypt FILE --out DIR --passphrase-env VAR`` (or File > Open export archive).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from coverage_app.core.data import protect
from coverage_app.core.feedback import report, sub

ARCHIVE_SUFFIX = protect.ARCHIVE_SUFFIX


def memory_folder() -> str | None:
    """A RAM-backed folder for staging clear files, or None."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def export_encrypted(result, out_file, key: protect.Key, *, formats=("gpkg",), safe_share=False, project=None,
                     rasters=True, csv=True, feedback=None) -> Path:
    """Export ``result`` as one encrypted archive ``out_file``; returns its path."""
    from coverage_app.core.outputs.export import export_coverage

    out_file = Path(out_file)
    if not out_file.name.endswith(ARCHIVE_SUFFIX):
        out_file = out_file.with_name(out_file.name + ARCHIVE_SUFFIX)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=memory_folder() or out_file.parent))
    try:
        export_coverage(result, staging / "export", formats=formats, safe_share=safe_share, project=project,
                        rasters=rasters, csv=csv, feedback=sub(feedback, 0.0, 0.9))
        report(feedback, 0.92, "Encrypting the archive")
        protect.encrypt_folder(staging / "export", out_file, key)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report(feedback, 1.0, "Archive written")
    return out_file
