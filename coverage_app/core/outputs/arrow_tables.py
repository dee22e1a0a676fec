"""Vector layers written through GDAL's Arrow interface (``pyogrio.write_arrow``): GDAL loops over
the rows in C instead of pyogrio setting each field of each feature from Python, which halves the
writes of the villages layer (6,829 points: GeoPackage 0.13 -> 0.05 s, Shapefile 0.20 -> 0.10 s,
see benchmarks/README.md). The Arrow table is built with arro3 (a 2 ms import; pyarrow, which
pyogrio's own ``use_arrow`` needs, costs 0.2-0.3 s to import, more than it saves).

The files are the ones ``pyogrio.write_dataframe`` writes (tested field by field): the same layer
geometry type (mixed Polygon / MultiPolygon promoted to MultiPolygon in a GeoPackage, as
pyogrio does), CRS (EPSG code, else WKT1_GDAL), field types, and NaN written as null. Tables this
path does not cover (no rows, no geometry, null, empty or 3-D geometries, columns other than
integers, floats and text) are left to ``write_dataframe``: :func:`write_arrow_table` returns False.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

try:
    from arro3.core import Array, DataType, Field, Table
except ImportError:  # then every table is written field by field
    Array = None

_PROMOTES_MIXED = {"GPKG", "FlatGeobuf"}  # pyogrio.raw.DRIVERS_NO_MIXED_SINGLE_MULTI
# each multi type: the single type it takes in, and how to wrap single parts into it
_MULTI_OF = {"MultiPolygon": (shapely.GeometryType.POLYGON, shapely.multipolygons),
             "MultiLineString": (shapely.GeometryType.LINESTRING, shapely.multilinestrings),
             "MultiPoint": (shapely.GeometryType.POINT, shapely.multipoints)}
_MIXED = {frozenset({multi, multi[len("Multi"):]}): multi for multi in _MULTI_OF}  # e.g. Polygon + MultiPolygon


def write_arrow_table(table, path, driver: str | None = None, layer: str | None = None,
                      encoding: str | None = None) -> bool:
    """Write GeoDataFrame ``table`` to ``path`` (``driver`` "GPKG" or "ESRI Shapefile", ``layer``
    and ``encoding`` as for ``write_dataframe``) through GDAL's Arrow interface; False, having
    written nothing, if the table is not one this path covers."""
    if Array is None or driver not in ("GPKG", "ESRI Shapefile") or len(table) == 0 or not _index_left_out(table):
        return False
    geometry = table.geometry.values
    if geometry.isna().any() or geometry.is_empty.any() or geometry.has_z.any():
        return False
    geometry_type = _layer_geometry_type(geometry, driver)
    if geometry_type is None:
        return False
    if table.geometry.name != "geometry" and "geometry" in table.columns:  # the name the WKB column takes
        return False
    arrays, names = [], []
    for name in table.columns:
        if name == table.geometry.name:
            continue
        column = _arrow_column(table[name])
        if column is None:
            return False
        arrays.append(_nullable(name, *column))
        names.append(name)
    shapes = np.asarray(geometry, dtype=object)
    if geometry_type in _MULTI_OF and driver in _PROMOTES_MIXED:
        single_type, wrap = _MULTI_OF[geometry_type]
        single = shapely.get_type_id(shapes) == single_type
        shapes = shapes.copy()
        shapes[single] = wrap(shapes[single], indices=np.arange(int(single.sum())))
    arrays.append(_nullable("geometry", shapely.to_wkb(shapes).tolist(), DataType.binary()))
    names.append("geometry")
    import pyogrio

    pyogrio.write_arrow(Table.from_arrays(arrays, names=names), path, layer=layer, driver=driver,
                        geometry_name="geometry", geometry_type=geometry_type, crs=_crs_text(table.crs),
                        encoding=encoding)
    return True


def _index_left_out(table) -> bool:
    """True if ``GeoDataFrame.to_file`` leaves the index out (unnamed integers, as here)."""
    return list(table.index.names) == [None] and pd.api.types.is_integer_dtype(table.index.dtype)


def _layer_geometry_type(geometry, driver: str) -> str | None:
    """The layer type pyogrio's ``write_dataframe`` gives these (non-null, 2-D) geometries."""
    kinds = frozenset(pd.unique(np.asarray(geometry.geom_type, dtype=object)))
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds in _MIXED:
        return _MIXED[kinds] if driver in _PROMOTES_MIXED else "Unknown"
    return None


def _crs_text(crs) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt("WKT1_GDAL")


def _nullable(name: str, values: list, kind):
    return Array(values, type=Field(name, kind, nullable=True))


def _arrow_column(series: pd.Series):
    """The values of ``series`` (a list, None for missing) and their Arrow type, as
    ``write_dataframe`` would write them: integers as int64 or int32 (pandas' nullable ones with
    missing values as null), floats with NaN as null, text with missing values as null; None for
    any other kind."""
    dtype = series.dtype
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_integer_dtype(dtype):
        dtype = dtype.numpy_dtype  # pandas' nullable integers (Int64, ...)
    if isinstance(dtype, np.dtype) and dtype.kind in "iu" and dtype.itemsize <= 8 and dtype != np.uint64:
        kind = DataType.int32() if dtype.itemsize <= 4 and dtype != np.uint32 else DataType.int64()
        return series.to_numpy(dtype=object, na_value=None).tolist(), kind
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize in (4, 8):
        values = series.to_numpy()
        return np.where(np.isnan(values), None, values).tolist(), \
            DataType.float32() if dtype.itemsize == 4 else DataType.float64()
    if isinstance(dtype, pd.StringDtype) or dtype == object:
        values = series.to_numpy(dtype=object)
        missing = pd.isna(values)
        if not all(isinstance(v, str) for v in values[~missing]):
            return None
        return np.where(missing, None, values).tolist(), DataType.string()
    return None
