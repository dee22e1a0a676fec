"""The analysis grid: a north-up raster in the metric working CRS (UTM), cells of ``cell_size_m``."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import CRS


@dataclass(frozen=True)
class Grid:
    crs: CRS            # metric working CRS, e.g. EPSG:32646
    transform: Affine   # pixel -> working CRS (metres), north-up
    shape: tuple[int, int]  # (rows, cols)

    @property
    def cell_size_m(self) -> float:
        return float(self.transform.a)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        rows, cols = self.shape
        x0, y1 = self.transform.c, self.transform.f
        return x0, y1 - rows * self.cell_size_m, x0 + cols * self.cell_size_m, y1

    @classmethod
    def covering(cls, bounds, crs, cell_size_m: float, margin_m: float = 0.0) -> "Grid":
        """Smallest grid, snapped to multiples of the cell size, covering ``bounds`` (working CRS)."""
        minx, miny, maxx, maxy = bounds
        s = float(cell_size_m)
        x0 = math.floor((minx - margin_m) / s) * s
        y0 = math.floor((miny - margin_m) / s) * s
        x1 = math.ceil((maxx + margin_m) / s) * s
        y1 = math.ceil((maxy + margin_m) / s) * s
        shape = (int(round((y1 - y0) / s)), int(round((x1 - x0) / s)))
        check_grid_memory(shape, s)
        return cls(CRS(crs), Affine(s, 0, x0, 0, -s, y1), shape)

    def cell_of(self, x, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, cols, inside) of points given in the working CRS (metres)."""
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        s = self.cell_size_m
        cols = np.floor((x - self.transform.c) / s).astype("int64")
        rows = np.floor((self.transform.f - y) / s).astype("int64")
        inside = (rows >= 0) & (rows < self.shape[0]) & (cols >= 0) & (cols < self.shape[1])
        return rows, cols, inside

    def centre_of(self, rows, cols) -> tuple[np.ndarray, np.ndarray]:
        s = self.cell_size_m
        return (self.transform.c + (np.asarray(cols) + 0.5) * s,
                self.transform.f - (np.asarray(rows) + 0.5) * s)

    @property
    def cell_area_km2(self) -> float:
        return self.cell_size_m ** 2 / 1e6


# Peak memory of one analysis per grid cell (friction, two tiers of minutes and allocation,
# search heap, catchment masks): measured 80 bytes at 250 m and 92 at 500 m on the Sagaing
# project (ru_maxrss); 100 leaves a margin.
BYTES_PER_CELL = 100
MEMORY_SHARE = 0.8  # of the memory available now


def available_memory_bytes() -> int | None:
    """Memory the analysis may use: ``COVERAGE_APP_MEMORY_LIMIT_MB`` if set, else what the OS reports
    as available (Linux MemAvailable, else free physical pages); None if unknown."""
    limit = os.environ.get("COVERAGE_APP_MEMORY_LIMIT_MB")
    if limit:
        try:
            return int(float(limit) * 1024 * 1024)
        except ValueError:
            pass
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_grid_memory(shape: tuple[int, int], cell_size_m: float) -> None:
    """Refuse, before allocating, a grid whose analysis would not fit in memory; the message gives
    the estimate and the smallest cell size (metres, a multiple of 10) that would fit."""
    from coverage_app.core.errors import InputError, Problem

    cells = int(shape[0]) * int(shape[1])
    need = cells * BYTES_PER_CELL
    avail = available_memory_bytes()
    if avail is None or need <= avail * MEMORY_SHARE:
        return
    fit = math.ceil(cell_size_m * math.sqrt(need / (avail * MEMORY_SHARE)) / 10.0) * 10.0
    raise InputError(Problem("error", f"a grid of {shape[1]:,} x {shape[0]:,} cells at {cell_size_m:g} m needs about "
                             f"{_size(need)} of memory, but only {_size(avail)} is available; use a cell size of "
                             f"{fit:g} m or more (or a smaller study area)", field="cell_size_m"))


def _size(n: float) -> str:
    return f"{n / 1024 ** 3:.1f} GB" if n >= 1024 ** 3 else f"{n / 1024 ** 2:.0f} MB"
