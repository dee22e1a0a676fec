"""Raster inputs (DEM, land cover, population grids): header and content checks.

A raster is checked for georeferencing, readability (a truncated file fails ``validate``),
all-nodata content and overlap with the study area (lon/lat bounds, EPSG:4326).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from coverage_app.core.errors import InputError, Problem, errors_of
from coverage_app.core.data.files import check_input_file, gdal_reason


@dataclass
class RasterInfo:
    path: str
    crs: str | None
    shape: tuple[int, int]
    bounds: tuple[float, float, float, float]
    resolution: tuple[float, float]
    dtype: str
    nodata: float | None


def inspect_raster(path, *, written: str | None = None, full: bool = False,
                   study_bounds=None, study_name: str = "the study area",
                   role: str | None = None) -> tuple[RasterInfo | None, list[Problem]]:
    """Open a raster and check it: georeferenced, readable, not all nodata, on the study area.

    ``full`` reads every block (``validate``: a truncated file fails); otherwise one small
    window and a decimated overview (at most 512 x 512 cells) are read. ``study_bounds``
    (lon/lat, EPSG:4326) adds a warning when the raster does not overlap the study area. ``role``
    (e.g. "population") words what an empty or misplaced raster means for it.
    """
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    try:
        path = check_input_file(path, written=written)
    except InputError as err:
        return None, err.problems
    shown = written or str(path)
    valid = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                if src.count < 1:
                    return None, [Problem("error", "the raster has no bands", file=shown)]
                info = RasterInfo(str(path), src.crs.to_string() if src.crs else None, (src.height, src.width),
                                  tuple(src.bounds), src.res, src.dtypes[0], src.nodata)
                georeferenced = not src.transform.is_identity or src.gcps[0]
                # read one small window to catch truncated files early
                src.read(1, window=((0, min(1, src.height)), (0, min(64, src.width))))
                if full:
                    valid = 0
                    for _, window in src.block_windows(1):
                        valid += _valid_cells(src.read(1, window=window, masked=True))
                else:
                    shape = (min(src.height, 512), min(src.width, 512))
                    valid = _valid_cells(src.read(1, out_shape=shape, masked=True))
    except Exception as exc:
        return None, [Problem("error", f"cannot be read as a raster ({gdal_reason(exc)}); the file may be "
                              "damaged or truncated: export or download it again", file=shown)]
    problems = []
    if not georeferenced:
        problems.append(Problem("error", "the raster has no georeferencing (no geotransform): it cannot be "
                                "placed on the map; use a GeoTIFF with its position and CRS", file=shown))
    elif info.crs is None:
        problems.append(Problem("error", "the raster has no CRS; assign one (e.g. gdal_edit.py -a_srs "
                                "EPSG:4326) before loading it", file=shown))
    if valid == 0:
        problems.append(Problem("warning", f"every cell of the raster is nodata: {no_effect(role)}; check the "
                                "file (a failed download or clip?)", file=shown))
    if study_bounds is not None and info.crs and not errors_of(problems):
        problems += raster_overlap_problems(info, study_bounds, shown, study_name, role)
    return info, problems


def _valid_cells(band) -> int:
    data = np.ma.masked_invalid(band) if band.dtype.kind == "f" else band
    return int(np.ma.count(data))


def no_effect(role: str | None) -> str:
    """What a raster with nothing on the study area means for its role."""
    return "it gives the villages no population" if role == "population" else "it has no effect on travel times"


def raster_overlap_problems(info: RasterInfo, study_bounds, shown: str, what: str = "the study area",
                            role: str | None = None) -> list[Problem]:
    """A warning when the raster (its own CRS) misses the study area (lon/lat bounds)."""
    from rasterio.warp import transform_bounds

    try:
        x0, y0, x1, y1 = transform_bounds(info.crs, "EPSG:4326", *info.bounds)
    except Exception:
        return []
    a0, b0, a1, b1 = study_bounds
    if x1 < a0 or x0 > a1 or y1 < b0 or y0 > b1:
        return [Problem("warning", f"the raster (lon {x0:.2f} to {x1:.2f}, lat {y0:.2f} to {y1:.2f}) does not "
                        f"overlap {what} (lon {a0:.2f} to {a1:.2f}, lat {b0:.2f} to {b1:.2f}): "
                        f"{no_effect(role)}; check its CRS or use the right tile", file=shown)]
    return []
