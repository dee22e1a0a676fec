"""Rasters read onto the working grid: continuous values (speeds, friction, elevation) by
bilinear resampling, class codes (land cover) by the majority of the source cells.

GDAL's majority ("mode") resampling counts the source values in a histogram when it works in
8- or 16-bit integers, and sorts them otherwise: 25x slower (the bundled 10 m land-cover sample
onto the 250 m grid: 0.2 s in its own uint8, 5.4 s in float32 or int32; the same codes). GDAL
works in the wider of the source and destination types, so class codes are read into an integer
array of the source's own type wherever it is 8 or 16 bits.
"""

from __future__ import annotations

import os
import warnings
from contextlib import contextmanager

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.warp import reproject

from coverage_app.core.errors import InputError, Problem
from coverage_app.core.grid import Grid

HISTOGRAM_DTYPES = ("uint8", "int8", "uint16", "int16")  # GDAL's fast (histogram) majority


def same_grid(src, grid: Grid) -> bool:
    """The raster's cells are exactly the grid's (same CRS, transform and shape)."""
    return ((src.height, src.width) == tuple(grid.shape) and src.crs is not None and src.crs == grid.crs
            and src.transform.almost_equals(grid.transform, precision=1e-9))


# GDAL threads per read: a GeoTIFF's compressed tiles are decoded (GDAL >= 3.6) and a warp is computed
# on this many threads (a 3000 x 3000 LZW float32 raster: 0.23 s on one, 0.14 s on two cores)
READ_THREADS = max(1, min(os.cpu_count() or 1, 4))


@contextmanager
def _opened(path):
    """The raster, opened quietly; any failure to read it becomes the one InputError of this module."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(path) as first:
                gtiff = first.driver == "GTiff"
            # NUM_THREADS: an open option of the GeoTIFF driver only (others log "does not support open
            # option"); the GDAL_NUM_THREADS config option does not speed the decoding here
            with rasterio.open(path, **({"NUM_THREADS": str(READ_THREADS)} if gtiff else {})) as src:
                yield src
    except InputError:
        raise
    except Exception as exc:
        raise InputError(Problem("error", f"cannot be read onto the analysis grid ({str(exc)[:160]})",
                                 file=str(path))) from None


def read_onto_grid(path, grid: Grid, resampling=Resampling.bilinear, dtype="float32", band: int = 1,
                   nodata_out=np.nan, src_nodata=None) -> np.ndarray:
    """Resample band ``band`` of a raster onto ``grid`` (any CRS; GDAL warps in chunks, so a raster
    larger than memory is fine: only the grid-sized result is held). ``src_nodata`` overrides the
    file's nodata value (one it does not declare)."""
    with _opened(path) as src:
        nodata = src.nodata if src_nodata is None else src_nodata
        if same_grid(src, grid):  # already on the grid: a plain read, no warp
            out = src.read(band, out_dtype=dtype)
            if nodata is not None:
                out[out == nodata] = nodata_out
            return out
        out = np.full(grid.shape, nodata_out, dtype=dtype)
        reproject(source=rasterio.band(src, band), destination=out, dst_transform=grid.transform,
                  dst_crs=grid.crs, dst_nodata=nodata_out, resampling=resampling, src_nodata=nodata,
                  num_threads=READ_THREADS)
    return out


def read_surface(path, grid: Grid, kind: str) -> tuple[np.ndarray, list[Problem]]:
    """A user's speed (km/h) or friction (minutes per metre) raster on ``grid`` (NaN outside it) and
    its warnings. Refused (InputError) without a CRS, or with no finite cell above 0 on the grid
    (all nodata, zero or negative, or a raster of another place)."""
    with _opened(path) as src:
        if src.crs is None:
            raise InputError(Problem("error", f"the {kind} raster has no CRS; assign one (e.g. gdal_edit.py "
                                     "-a_srs EPSG:4326) before using it", file=str(path)))
    values = read_onto_grid(path, grid, Resampling.bilinear)
    if not (np.isfinite(values) & (values > 0)).any():
        raise InputError(Problem("error", f"the {kind} raster has no cell with a finite {kind} above 0 on the "
                                 "analysis area: every cell there is nodata, NaN, infinite, zero or negative, or "
                                 "the raster covers another place; check its CRS, extent and nodata value",
                                 file=str(path)))
    negative = int((values < 0).sum())
    return values, [Problem("warning", f"{negative:,} cells hold a negative {kind}, which has no meaning; they are "
                            "treated as impassable (is it the nodata value? declare it in the file)",
                            file=str(path))] if negative else []


ELEVATION_RANGE_M = (-450.0, 8850.0)  # the Dead Sea shore to Everest's summit


def read_elevation(path, grid: Grid) -> tuple[np.ndarray, list[Problem]]:
    """A DEM on ``grid`` in metres (float32, NaN where there is none: the engine takes such cells as
    flat) and its warnings. Cells outside ELEVATION_RANGE_M or infinite are set to NaN with a warning:
    an undeclared nodata value such as -32768 (SRTM voids) would otherwise make cliffs thousands of
    metres high round every void, and Tobler's speed on them near zero."""
    values = read_onto_grid(path, grid, Resampling.bilinear)
    impossible = _impossible_elevations(values)
    if not impossible.any():
        return values, []
    fill = _undeclared_fill(path)
    if fill is not None:  # read again with it as nodata: no cliffs blended into the cells round the voids
        first, values = values, read_onto_grid(path, grid, Resampling.bilinear, src_nodata=fill)
        impossible = _impossible_elevations(values) | np.isnan(values) & ~np.isnan(first)  # counted as before
        del first
    n = int(impossible.sum())
    values[impossible] = np.nan
    lo, hi = ELEVATION_RANGE_M
    return values, [Problem("warning", f"{n:,} cells of the DEM hold elevations below {lo:g} m, above {hi:g} m or "
                            "infinite (an undeclared nodata value such as -32768?); they are taken as flat. "
                            "Declare the nodata value (gdal_edit.py -a_nodata VALUE) to silence this",
                            file=str(path))]


def _impossible_elevations(values: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return ~np.isnan(values) & ~((values >= ELEVATION_RANGE_M[0]) & (values <= ELEVATION_RANGE_M[1]))


def _undeclared_fill(path, most_cells: int = 1024) -> float | None:
    """The most common elevation outside ELEVATION_RANGE_M in the DEM (read at most ``most_cells``
    square, nearest cells: genuine source values), taken as its undeclared nodata value; None if none."""
    with _opened(path) as src:
        sample = src.read(1, out_shape=(min(src.height, most_cells), min(src.width, most_cells)), masked=True)
    values = sample.compressed().astype("float64")
    odd = values[~((values >= ELEVATION_RANGE_M[0]) & (values <= ELEVATION_RANGE_M[1])) & ~np.isnan(values)]
    if not len(odd):
        return None
    found, counts = np.unique(odd, return_counts=True)
    return float(found[np.argmax(counts)])


def read_class_codes(path, grid: Grid, classes=(), band: int = 1) -> tuple[np.ndarray, float | int | None]:
    """The class code of each grid cell: the most common code among the source cells it covers
    (GDAL's "mode"; source nodata cells do not count). Returns the codes and the value of cells
    with no class (outside the raster, or only nodata under them): never one of ``classes``
    unless it is the file's own nodata, which callers must skip. None: every cell has a class.

    An 8- or 16-bit integer raster is read in its own type. Without a nodata value in the file,
    cells with no class get the type's highest value that is not a class code and has no class
    code beside it (GDAL nudges a genuine code equal to it by one). Other types (32-bit, float)
    are read as float32 with NaN for no class, the slow path (exact for codes below 2**24)."""
    classes = {int(c) for c in classes}
    with _opened(path) as src:
        dtype, nodata = src.dtypes[band - 1], src.nodata
        if dtype in HISTOGRAM_DTYPES and (nodata is None or _fits(nodata, dtype)):
            if same_grid(src, grid):
                return src.read(band), (None if nodata is None else int(nodata))
            fill = int(nodata) if nodata is not None else _free_code(dtype, classes, path)
            codes = np.full(grid.shape, fill, dtype=dtype)
            reproject(source=rasterio.band(src, band), destination=codes, dst_transform=grid.transform,
                      dst_crs=grid.crs, dst_nodata=fill, resampling=Resampling.mode, src_nodata=nodata)
            return codes, fill
    return read_onto_grid(path, grid, Resampling.mode, dtype="float32", band=band), np.nan


def _fits(value, dtype) -> bool:
    info = np.iinfo(dtype)
    return bool(np.isfinite(value) and float(value).is_integer() and info.min <= value <= info.max)


def _free_code(dtype, classes: set, path) -> int:
    """The highest value of ``dtype`` that is not a class code and has no class code beside it."""
    info = np.iinfo(dtype)
    for value in range(int(info.max), int(info.min) - 1, -1):
        if not classes & {value - 1, value, value + 1}:
            return value
    raise InputError(Problem("error", f"the land-cover legend uses (nearly) every value of the raster's type "
                             f"({dtype}), leaving none for cells without land cover; give the raster a nodata "
                             "value", file=str(path)))
