"""Friction surfaces kept between runs (in :mod:`coverage_app.core.runcache`), so that running the
same analysis again does not rebuild an identical surface: the bundled Sagaing project's at 250 m
takes 0.2 s to build (rasterising roads, water, crossings, conflict zones and the study area) and
0.02-0.03 s to read back.

**When an entry is used.** Its key is a digest of everything the surface is built from: the grid
(CRS, transform, shape), the analysis parameters it reads (:data:`FRICTION_PARAMS`: mode,
speeds, unmapped-track speeds and the date; a test records every field ``build_friction`` reads
and fails on any other), the contents of the layers the surface is built from
(geometry as WKB, every field, the index, the CRS; as loaded, after zone edits and before their
reprojection onto the grid), the land-cover and DEM files (their bytes, path and any sidecar GDAL
reads with them; a raster that is not a GeoTIFF, e.g. a VRT, is not cached), the source code of
``coverage_app.core`` and the versions of numpy, pandas, geopandas, shapely / GEOS, rasterio /
GDAL, pyproj / PROJ and numba / llvmlite. A change to any of them is a different key.

**What is stored.** Each surface is encoded compactly and exactly: costs only on passable cells
(where every other cell is checked to cost +inf), the study mask rebuilt from the barrier causes
(where it is checked to equal them), grid-shaped arrays with few non-zero cells as cell indices
and values, anything else as it is. The tests decode entries and compare them array by array
with the surfaces built. Grids over :data:`MAX_CELLS` cells are not cached (the surface is then a
small share of a run, and an entry would be large).

Nothing here holds facilities: the surface does not depend on them. A project whose friction
layers are protected or marked sensitive is not cached, by the caller
(:func:`coverage_app.core.analysis.pipeline.build_project_friction`).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from coverage_app.core import runcache

KIND = "friction"
# The analysis parameters a surface is built from (build_friction reads no other: a test records the
# fields it reads): a new threshold, band, cut-off or neighbourhood still finds the surface.
FRICTION_PARAMS = ("mode", "speeds_kmh", "unmapped_kmh", "as_of")
MAX_CELLS = 12_000_000
SPARSE_BELOW = 0.2  # a grid-shaped array with fewer non-zero cells than this share is kept as indices
# what the key names the versions of: reading, reprojecting, rasterising, the jitted kernels
LIBRARIES = ("numpy", "pandas", "geopandas", "shapely", "rasterio", "pyproj", "numba", "llvmlite")


# ----------------------------------------------------------------------------- key

RASTER_SIDECARS = (".aux.xml", ".msk", ".ovr")  # beside a GeoTIFF, they change how GDAL reads it


def _raster_digest(key: runcache.KeyBuilder, path) -> bool:
    """Add a land-cover or DEM file (and any sidecar GDAL reads with it) to ``key``; False for a raster
    whose bytes are not all in those files (a VRT, a format with its own side files): not cached."""
    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff"):
        return False
    key.add(str(path).encode(), runcache.file_digest(path))
    for side in RASTER_SIDECARS:
        sidecar = Path(f"{path}{side}")
        key.add(side.encode(), runcache.file_digest(sidecar) if sidecar.exists() else b"none")
    return True


def _frame_digest(key: runcache.KeyBuilder, frame) -> None:
    """Every field, the index, the CRS and the geometries (WKB) of a GeoDataFrame (or None)."""
    import shapely

    if frame is None:
        key.add(b"none")
        return
    geometry = frame.geometry.name
    key.add_json([[str(c) for c in frame.columns], [str(t) for t in frame.dtypes], geometry,
                  frame.crs.to_wkt() if frame.crs is not None else None, frame.index.tolist()])
    wkb = shapely.to_wkb(np.asarray(frame.geometry.values, dtype=object))
    key.add(b"".join(len(w).to_bytes(4, "little") + w if w is not None else b"\xff\xff\xff\xff" for w in wkb))
    for name in frame.columns:
        if name == geometry:
            continue
        values = frame[name]
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf":
            key.add(values.dtype.str.encode(), np.ascontiguousarray(values.to_numpy()).tobytes())
        else:
            key.add(json.dumps(values.astype(object).tolist(), default=repr).encode())


def friction_key(grid, params, frames: dict, files: dict, options: dict) -> str | None:
    """The key of the surface built on ``grid`` with ``params`` from ``frames`` (name -> a
    GeoDataFrame the surface is built from, in any CRS, or None), ``files`` (name -> raster path or
    None) and ``options`` (any other JSON-able argument, e.g. the land-cover class table); None if a
    raster is not a GeoTIFF (a VRT's sources are other files: such a surface is not cached)."""
    key = runcache.KeyBuilder(KIND).add(runcache.library_versions(*LIBRARIES).encode())
    key.add_json([grid.crs.to_wkt(), tuple(grid.transform)[:6], list(grid.shape)])
    every = params.to_dict()
    key.add_json({name: every[name] for name in FRICTION_PARAMS})
    key.add_json(options)
    for name in sorted(frames):
        key.add(name.encode())
        _frame_digest(key, frames[name])
    for name in sorted(files):
        key.add(name.encode())
        path = files[name]
        if path is None:
            key.add(b"none")
        elif not _raster_digest(key, path):
            return None
    return key.hexdigest()


# ----------------------------------------------------------------------------- encoding

def _encode(friction) -> tuple[dict, dict]:
    """(metadata, arrays) of a surface: costs only on passable cells, the study mask left out when the
    barrier causes give it, grid-shaped arrays with few non-zero cells as indices and values."""
    shape = friction.grid.shape
    meta = {"shape": list(shape), "scalars": {}, "arrays": {}}
    arrays = {}
    cause = friction.barrier_cause
    for field in dataclasses.fields(friction):
        name, value = field.name, getattr(friction, field.name)
        if name in ("grid", "source"):
            continue
        if name == "problems":
            meta["problems"] = [dataclasses.asdict(p) for p in (value or [])]
            meta["problems_none"] = value is None
            continue
        if not isinstance(value, np.ndarray):
            meta["scalars"][name] = value
            continue
        info = {"dtype": value.dtype.str, "shape": list(value.shape)}
        if name == "cost_s_per_m" and cause is not None and value.shape == shape and _inf_where_barred(value, cause):
            info["how"] = "passable"
            arrays[name] = np.ascontiguousarray(value[cause == 0])
        elif name == "study_mask" and cause is not None and value.shape == shape and value.dtype == bool \
                and np.array_equal(value, cause != 3):
            info["how"] = "outside_is_cause_3"
        elif value.shape == shape and value.size and np.count_nonzero(_bits(value)) < SPARSE_BELOW * value.size:
            where = np.flatnonzero(_bits(value))  # by the bits: -0.0 is kept as it is
            info["how"] = "sparse"
            arrays[name + ".index"] = where.astype(np.int32 if value.size < 2 ** 31 else np.int64)
            arrays[name] = np.ascontiguousarray(value.reshape(-1)[where])
        else:
            info["how"] = "dense"
            arrays[name] = np.ascontiguousarray(value)
        meta["arrays"][name] = info
    return meta, arrays


def _bits(value: np.ndarray) -> np.ndarray:
    """The array's values as unsigned integers of the same width (floats: their bit patterns)."""
    return value.view(f"u{value.dtype.itemsize}") if value.dtype.kind == "f" else value


def _inf_where_barred(cost: np.ndarray, cause: np.ndarray) -> bool:
    """True if every cell with a barrier cause costs +inf (so only passable cells need storing)."""
    barred = cost[cause != 0]
    return bool(np.all(barred == np.inf))


def _decode(meta: dict, arrays: dict, grid):
    from coverage_app.core.errors import Problem
    from coverage_app.core.travel.friction import Friction

    shape = tuple(meta["shape"])
    if shape != tuple(grid.shape):
        raise ValueError("grid shape")
    fields = dict(meta["scalars"])
    cause = None
    if "barrier_cause" in meta["arrays"]:
        cause = _decode_array(meta["arrays"]["barrier_cause"], arrays, "barrier_cause", shape, None)
    for name, info in meta["arrays"].items():
        fields[name] = cause if name == "barrier_cause" else _decode_array(info, arrays, name, shape, cause)
    problems = [Problem(**{**p, "rows": tuple(p.get("rows") or ())}) for p in meta.get("problems", [])]
    fields["problems"] = None if meta.get("problems_none") else problems
    return Friction(grid=grid, **fields, source="cache")


def _decode_array(info: dict, arrays: dict, name: str, shape, cause) -> np.ndarray:
    dtype, how = np.dtype(info["dtype"]), info["how"]
    full = tuple(info["shape"])
    if how == "passable":
        out = np.full(full, np.inf, dtype=dtype)
        out[cause == 0] = arrays[name]
    elif how == "outside_is_cause_3":
        out = cause != 3
    elif how == "sparse":
        out = np.zeros(full, dtype=dtype)
        out.reshape(-1)[arrays[name + ".index"]] = arrays[name]
    elif how == "dense":
        out = np.array(arrays[name], dtype=dtype, copy=True).reshape(full)
    else:
        raise ValueError(f"unknown encoding {how}")
    if out.dtype != dtype or out.shape != full:
        raise ValueError(f"{name}: type or shape")
    return out


def same_friction(a, b) -> bool:
    """True if two surfaces hold the same arrays (type, shape, values, NaN in the same cells),
    scalars and problems."""
    for field in dataclasses.fields(a):
        if field.name in ("grid", "source"):
            continue
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)) or x.dtype != y.dtype \
                    or x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                return False
        elif x != y:
            return False
    return True


# ----------------------------------------------------------------------------- entries

def load(key: str, grid):
    """The cached surface of ``key`` on ``grid``, or None (no entry, or one that fails a check)."""
    entry = runcache.read(KIND, key)
    if entry is None:
        return None
    meta, parts = entry
    try:
        arrays = {name: np.frombuffer(part, dtype=dtype) for (name, dtype), part in zip(meta["buffers"], parts,
                                                                                    strict=True)}
        return _decode(meta, arrays, grid)
    except Exception:  # noqa: BLE001  (an entry its checks passed but that does not decode: rebuilt)
        runcache.discard(KIND, key)
        return None


def store(key: str, friction) -> bool:
    """Write ``friction`` as the entry of ``key``; True if written (a full disk skips it)."""
    if np.prod(friction.grid.shape) > MAX_CELLS:
        return False
    try:
        meta, arrays = _encode(friction)  # exact: each shortcut is checked on the surface (the tests decode it)
        meta["buffers"] = [[name, array.dtype.str] for name, array in arrays.items()]
        meta = json.loads(json.dumps(meta, default=_json_scalar))
    except Exception:  # noqa: BLE001  (a surface this encoding cannot hold, e.g. a value JSON refuses: not kept)
        return False
    return runcache.write(KIND, key, meta, arrays.values())


def _json_scalar(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")
