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


def reachable_facility_data(root, names: set[str], limit: int = 3_000_000) -> list[str]:
    """What, reachable from ``root`` through Python references (not through modules, classes
    or function globals), still holds facility data: frames or strings with a facility name,
    GeoPackage bytes with one, or a protection key. Qt item models are checked separately."""
    import gc
    import types

    import pandas as pd

    from coverage_app.core.data.protect import Key

    encoded = [n.encode("utf-8") for n in names]
    skip = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.CodeType,
            types.FrameType)
    seen, found, todo = set(), [], [root]
    parent: dict[int, object] = {}

    def chain(obj) -> str:  # the types on the way from root, for the failure message
        names_, cur = [], id(obj)
        while cur in parent and len(names_) < 12:
            up = parent[cur]
            names_.append(type(up).__name__ + (f"[{_key_of(up, cur)}]" if isinstance(up, dict) else ""))
            cur = id(up)
        return " <- ".join(names_)

    while todo and len(seen) < limit:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        if isinstance(obj, Key):
            found.append(f"a protection key via {chain(obj)}")
            continue
        if isinstance(obj, pd.DataFrame):
            for col in obj.columns:
                column = obj[col]
                if isinstance(column, pd.Series) and (column.dtype == object or pd.api.types.is_string_dtype(column)) \
                        and column.isin(names).any():
                    found.append(f"a frame with facility names in {col!r} ({len(obj)} rows) via {chain(obj)}")
                    break
            continue
        if isinstance(obj, str):
            if obj in names:
                found.append(f"the string {obj!r} via {chain(obj)}")
            continue
        if isinstance(obj, (bytes, bytearray)):
            if len(obj) > 64 and any(n in obj for n in encoded[:20]):
                found.append(f"{len(obj)} bytes holding facility names via {chain(obj)}")
            continue
        for child in gc.get_referents(obj):
            if id(child) not in seen:
                parent.setdefault(id(child), obj)
                todo.append(child)
    return found


def _key_of(d: dict, child_id: int) -> str:
    for k, v in d.items():
        if id(v) == child_id:
            return repr(k)[:40]
    return "?"


def qt_texts(widget) -> list[str]:
    """Every text shown by the item models, labels and line edits under ``widget``."""
    from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
    from PySide6.QtWidgets import QLabel, QLineEdit

    texts = []
    for model in widget.findChildren(QAbstractItemModel):
        try:
            rows, cols = model.rowCount(QModelIndex()), model.columnCount(QModelIndex())
        except TypeError:  # list models hide columnCount
            rows, cols = model.rowCount(QModelIndex()), 1
        for r in range(min(rows, 5000)):
            for c in range(cols):
                value = model.data(model.index(r, c), Qt.DisplayRole)
                if value is not None:
                    texts.append(str(value))
    texts += [w.text() for w in widget.findChildren(QLabel)] + [w.text() for w in widget.findChildren(QLineEdit)]
    return texts
