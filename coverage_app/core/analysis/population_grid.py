"""Shares from a population grid (role ``population``): people per cell x travel time of the cell.

Villages keep their own times (their table is unchanged); with a population raster in the
project, the region headline and the township populations and shares are the grid's: each
cell's people count as served when the cell's travel time (minutes) is within the threshold.
The raster is resampled onto the analysis grid (working CRS, metres) with its total conserved.
"""

from __future__ import annotations

import numpy as np
import shapely

from coverage_app.core.data.population import resample_population, township_cells
from coverage_app.core.travel.friction import STUDY_MARGIN_M


def apply_grid_population(result, data) -> None:
    """If the project has an enabled population raster, put its people on ``result`` (in place):
    ``population_grid`` (people per cell), township ``pop``/``pop_prim``/``pop_sec``/``pct_*`` and
    the population basis record."""
    ref = data.raster("population")
    if ref is None:
        return
    grid = result.grid
    townships = data.role("townships")
    frame = townships if townships is not None else data.role("villages")
    frame_w = frame.to_crs(grid.crs)
    study = shapely.union_all(frame_w.geometry.values).buffer(STUDY_MARGIN_M)
    people, record = _resampled(ref.path, grid, study)
    result.population_grid = people.astype("float32")
    p = result.params
    ok = {"prim": result.tiers["primary"].minutes <= p.primary_minutes,
          "sec": result.tiers["secondary"].minutes <= p.secondary_minutes}
    if townships is not None and len(result.townships):
        tw = townships.to_crs(grid.crs)
        label = township_cells(tw, grid).reshape(-1) + 1
        n = len(tw) + 1
        flat = people.reshape(-1)
        pop = np.bincount(label, weights=flat, minlength=n)[1:]
        by_pcode = dict(zip(tw["pcode"], range(len(tw))))
        idx = result.townships["pcode"].map(by_pcode)
        t = result.townships
        have = idx.notna().to_numpy()
        rows = idx[have].astype(int).to_numpy()
        t.loc[have, "pop"] = np.round(pop[rows]).astype("int64")
        for short in ("prim", "sec"):
            served = np.bincount(label, weights=np.where(ok[short].reshape(-1), flat, 0.0), minlength=n)[1:]
            t.loc[have, f"pop_{short}"] = np.round(served[rows]).astype("int64")
            with np.errstate(invalid="ignore", divide="ignore"):
                t.loc[have, f"pct_{short}"] = np.round(100 * served[rows] / pop[rows], 1)
    basis = dict(result.population_basis or {})
    basis.update(grid=True, label=f"population grid {record['file']} (people per cell, total conserved)",
                 population=round(float(people.sum())), grid_record=record,
                 villages_population=(result.population_basis or {}).get("population"))
    result.population_basis = basis


_CACHE: dict = {}  # (path, mtime, grid, study WKB) -> (people, record): what-if edits reuse the last one


def _resampled(path, grid, study):
    import os

    key = (str(path), os.path.getmtime(path), grid, shapely.to_wkb(study))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = resample_population(path, grid, study)
    people, record = _CACHE[key]
    return people.copy(), dict(record)
