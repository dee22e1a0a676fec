"""The analysis grid: a north-up raster in the metric working CRS (UTM), cells of ``cell_size_m``."""

from __future__ import annotations

import math
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
