"""Small pure helpers the front ends use to *show* data (no analysis, no Qt).

* :func:`inspect_vector` — a file's layers, fields and geometry types without reading every
  feature (for the "add layer" and field-mapping dialog).
* :func:`raster_for_display` — a raster file resampled onto the map CRS at screen resolution.
* :func:`result_key` — a stable key for caching analysis results per (parameters, scenario).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from coverage_app.core.errors import InputError, Problem
from coverage_app.core.data.layers import is_raster_path, list_layers, read_vector
from coverage_app.core.data.roles import guess_mapping, guess_role


@dataclass
class VectorInfo:
    """What the add-layer dialog needs to know about one layer of a file."""

    path: str
    layer: str | None
    columns: list[str]
    geom_types: list[str]
    count: int | None
    crs: str | None
    role: str | None = None            # guessed
    mapping: dict = field(default_factory=dict)  # guessed for ``role``
    raster: bool = False


def inspect_vector(path, layer: str | None = None) -> VectorInfo:
    """Fields and geometry types of one layer; raises InputError if the file is unreadable."""
    path = Path(path)
    if is_raster_path(path):
        return VectorInfo(str(path), None, [], [], None, None, role=None, raster=True)
    if not path.exists():
        raise InputError(Problem("error", "file not found", file=str(path)))
    columns: list[str] = []
    geom_types: list[str] = []
    count = None
    crs = None
    try:
        if path.suffix.lower() == ".csv":
            raise ValueError("csv")
        import pyogrio

        info = pyogrio.read_info(path, layer=layer)
        columns = [str(c) for c in info["fields"]]
        gtype = info.get("geometry_type")
        count = int(info.get("features") or 0)
        crs = info.get("crs")
        if gtype and "Unknown" not in gtype:
            geom_types = [gtype.replace(" Z", "").replace("25D", "")]
        else:
            sample = read_vector(path, layer)
            geom_types = sorted({str(g) for g in sample.geom_type.dropna().unique()})
    except InputError:
        raise
    except Exception:
        gdf = read_vector(path, layer)  # raises InputError with a plain message
        columns = [c for c in gdf.columns if c != gdf.geometry.name]
        geom_types = sorted({str(g) for g in gdf.geom_type.dropna().unique()})
        count = len(gdf)
        crs = gdf.crs.to_string() if gdf.crs is not None else None
    role = guess_role(columns, set(geom_types))
    mapping = guess_mapping(role, columns) if role else {}
    return VectorInfo(str(path), layer, columns, geom_types, count, crs, role, mapping)


def inspect_file(path) -> list[VectorInfo]:
    """One :class:`VectorInfo` per layer of ``path`` (every layer of a GeoPackage)."""
    path = Path(path)
    if is_raster_path(path):
        return [inspect_vector(path)]
    if path.suffix.lower() == ".gpkg":
        return [inspect_vector(path, name) for name in list_layers(path)]
    return [inspect_vector(path)]


def result_key(params, scenario: dict | None) -> str:
    """A stable text key for (analysis parameters, scenario content, the day counted on): "as of
    today" is another key tomorrow, so a result cached yesterday is not shown as today's."""
    from coverage_app.core.params import scenario_as_of

    return json.dumps({"params": params.to_dict(), "scenario": scenario,
                       "day": scenario_as_of(params, scenario).isoformat()}, sort_keys=True, default=str)


def raster_for_display(path, dst_crs, max_pixels: int = 1600, feedback=None):
    """Band 1 of a raster warped to ``dst_crs`` with at most ``max_pixels`` per side.

    Returns ``(values, transform)``: a float32 array (NaN = no data) and its affine transform
    (column, row -> ``dst_crs`` coordinates). Reads through overviews/decimation, never the
    full-resolution raster into memory.
    """
    import numpy as np
    import rasterio
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    from coverage_app.core.feedback import report

    try:
        with rasterio.open(path) as src:
            report(feedback, 0.1, f"Reading {Path(path).name}")
            transform, width, height = calculate_default_transform(src.crs, dst_crs, src.width, src.height,
                                                                   *src.bounds)
            factor = max(width / max_pixels, height / max_pixels, 1.0)
            width, height = max(1, int(width / factor)), max(1, int(height / factor))
            transform = transform @ transform.scale(factor, factor) if hasattr(transform, "__matmul__") \
                else transform * transform.scale(factor, factor)
            out = np.full((height, width), np.nan, dtype=np.float32)
            categorical = src.dtypes[0].startswith(("uint", "int"))
            reproject(rasterio.band(src, 1), out, src_nodata=src.nodata, dst_transform=transform,
                      dst_crs=dst_crs, dst_nodata=np.nan,
                      resampling=Resampling.nearest if categorical else Resampling.average)
    except Exception as exc:  # GDAL raises many types
        raise InputError(Problem("error", f"cannot be displayed ({str(exc).splitlines()[0][:200]})",
                                 file=str(path))) from None
    report(feedback, 1.0, "Raster ready")
    return out, transform
