"""Look for facility names and coordinates in files (tests of protected sessions)."""

from __future__ import annotations

import struct
from pathlib import Path

import pyogrio

from tests.conftest import BUNDLED_GPKG


def facility_needles(limit: int | None = None) -> list[bytes]:
    """Byte strings that would give a facility away: names (UTF-8 and UTF-16), coordinates as
    text (4 decimals) and as little-endian doubles (GeoPackage / WKB geometry)."""
    fac = pyogrio.read_dataframe(BUNDLED_GPKG, layer="facilities")
    rows = fac if limit is None else fac.head(limit)
    needles = []
    for name, geom in zip(rows["name"], rows.geometry):
        needles += [name.encode("utf-8"), name.encode("utf-16-le")]
        for v in (geom.x, geom.y):
            needles += [f"{v:.4f}".encode(), struct.pack("<d", v)]
    return needles


def leaks_in(folders, needles) -> list[tuple[str, bytes]]:
    """(file, needle) for every needle found in any file under ``folders``."""
    found = []
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            found += [(str(path), n) for n in needles if n in data]
    return found
