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

_PROMOTES_MIXED = {"GPKG", "FlatGeobuf"}  # pyogrio.raw.DRIVERS_NO_MIXED_SINGLE_MULTI
_MULTI = {frozenset({"Polygon", "MultiPolygon"}): "MultiPolygon",
          frozenset({"LineString", "MultiLineString"}): "MultiLineString",
          frozenset({"Point", "MultiPoint"}): "MultiPoint"}


def write_arrow_table(table, path, driver: str | None = None, layer: str | None = None,
                      encoding: str | None = None) -> bool:
    """Write GeoDataFrame ``table`` to ``path`` (``driver`` "GPKG" or "ESRI Shapefile", ``layer``
    and ``encoding`` as for ``write_dataframe``) through GDAL's Arrow interface; False, having
    written nothing, if the table is not one this path covers."""
    if driver not in ("GPKG", "ESRI Shapefile") or len(table) == 0 or not _index_left_out(table):
        return False
    try:
        from arro3.core import Array, DataType, Field, Table
    except ImportError:
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
        array = _arrow_column(table[name], name, Array, DataType, Field)
        if array is None:
            return False
        arrays.append(array)
        names.append(name)
    shapes = np.asarray(geometry, dtype=object)
    if geometry_type.startswith("Multi") and driver in _PROMOTES_MIXED:
        single = shapely.get_type_id(shapes) == shapely.get_type_id(_SINGLE[geometry_type])
        shapes = shapes.copy()
        shapes[single] = _to_multi(shapes[single], geometry_type)
    wkb = shapely.to_wkb(shapes)
    arrays.append(Array(wkb.tolist(), type=Field("geometry", DataType.binary(), nullable=True)))
    names.append("geometry")
    import pyogrio

    pyogrio.write_arrow(Table.from_arrays(arrays, names=names), path, layer=layer, driver=driver,
                        geometry_name="geometry", geometry_type=geometry_type, crs=_crs_text(table.crs),
                        encoding=encoding)
    return True


_SINGLE = {"MultiPolygon": shapely.Polygon(), "MultiLineString": shapely.LineString(), "MultiPoint": shapely.Point()}


def _index_left_out(table) -> bool:
    """True if ``GeoDataFrame.to_file`` leaves the index out (unnamed integers, as here)."""
    return list(table.index.names) == [None] and pd.api.types.is_integer_dtype(table.index.dtype)


def _to_multi(shapes: np.ndarray, multi_type: str) -> np.ndarray:
    build = {"MultiPolygon": shapely.multipolygons, "MultiLineString": shapely.multilinestrings,
             "MultiPoint": shapely.multipoints}[multi_type]
    return build(shapes, indices=np.arange(len(shapes)))


def _layer_geometry_type(geometry, driver: str) -> str | None:
    """The layer type pyogrio's ``write_dataframe`` gives these (non-null, 2-D) geometries."""
    kinds = frozenset(pd.unique(np.asarray(geometry.geom_type, dtype=object)))
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds in _MULTI:
        return _MULTI[kinds] if driver in _PROMOTES_MIXED else "Unknown"
    return None


def _crs_text(crs) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt("WKT1_GDAL")


def _arrow_column(series: pd.Series, name: str, Array, DataType, Field):
    """An Arrow array of ``series`` as ``write_dataframe`` would write it (integers as int64 or
    int32, pandas' nullable ones with missing values as null, floats with NaN as null, text with
    missing values as null); None for any other kind."""
    dtype = series.dtype
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_integer_dtype(dtype):
        dtype = dtype.numpy_dtype  # pandas' nullable integers (Int64, ...): missing values as null
    if isinstance(dtype, np.dtype) and dtype.kind in "iu" and dtype.itemsize <= 8 and dtype != np.uint64:
        values = series.to_numpy(dtype=object, na_value=None)
        kind = DataType.int32() if dtype.itemsize <= 4 and dtype != np.uint32 else DataType.int64()
        return Array(values.tolist(), type=Field(name, kind, nullable=True))
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize in (4, 8):
        values = series.to_numpy()
        listed = np.where(np.isnan(values), None, values).tolist()
        kind = DataType.float32() if dtype.itemsize == 4 else DataType.float64()
        return Array(listed, type=Field(name, kind, nullable=True))
    if isinstance(dtype, pd.StringDtype) or dtype == object:
        values = series.to_numpy(dtype=object)
        missing = pd.isna(values)
        if not all(isinstance(v, str) for v in values[~missing]):
            return None
        listed = np.where(missing, None, values).tolist()
        return Array(listed, type=Field(name, DataType.string(), nullable=True))
    return None
