"""Catchments: the service area of each facility (cells nearer to it than to any other),
cut into time bands (minutes) and polygonised in the working CRS, returned in EPSG:4326.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage_app.core.grid import Grid
from coverage_app.core.analysis.polygonize import polygons_of_labels
from coverage_app.core.data.model import ProjectData
from coverage_app.core.results import TIERS, AnalysisResult, TierResult
from coverage_app.core.travel.jit import jit_kernel


_NOT_YET = object()  # catchment shapes not computed beforehand

def catchment_polygons(tier: TierResult, grid: Grid, bands, facilities: gpd.GeoDataFrame,
                       villages: gpd.GeoDataFrame, window=None, only=None, shapes=_NOT_YET) -> gpd.GeoDataFrame:
    """Each facility's allocated cells cut into time bands, as polygons (EPSG:4326) with area and
    population. ``window`` ((r0, r1), (c0, c1)) limits the work to part of the grid, ``only``
    (allocation indices) to some facilities; ``shapes``: :func:`catchment_shapes` of ``tier``
    computed beforehand (e.g. while the other tier's search runs)."""
    gdf = catchment_shapes(tier, grid, bands, window, only) if shapes is _NOT_YET else shapes
    if gdf is None:
        return empty_catchments()
    return _catchment_attributes(gdf, tier, bands, facilities, villages)


def catchment_shapes(tier: TierResult, grid: Grid, bands, window=None, only=None):
    """The geometric part of :func:`catchment_polygons` (needs only the tier's rasters): polygons
    in the grid's CRS with label, fac_index, band_min, fac_id and area_km2; None if empty."""
    bands = np.asarray(sorted(bands), dtype="float64")
    (r0, r1), (c0, c1) = window or ((0, grid.shape[0]), (0, grid.shape[1]))
    keep = np.ones(len(tier.facility_ids), bool)
    if only is not None:
        keep[:] = False
        keep[np.asarray(only, dtype="int64")] = True
    # shrink the window to the cells inside the last band: polygonising is linear in the window's size
    if only is None:  # most of the window: label it all in one pass, polygonise the extent (a view)
        label = np.empty((r1 - r0, c1 - c0), "int32")
        e0, e1, f0, f1 = _band_labels(tier.minutes, tier.allocation, bands, keep, r0, c0, label)
        if e0 < 0:
            return None
        label = np.ascontiguousarray(label[e0:e1, f0:f1])  # the extent only: the window's array goes
        r0, r1, c0, c1 = r0 + e0, r0 + e1, c0 + f0, c0 + f1
    else:  # a few facilities: find their extent first, label only that
        extent = _band_extent(tier.minutes, tier.allocation, bands[-1], keep, r0, r1, c0, c1)
        if extent[0] < 0:
            return None
        r0, r1, c0, c1 = extent
        label = np.empty((r1 - r0, c1 - c0), "int32")
        _band_labels(tier.minutes, tier.allocation, bands, keep, r0, c0, label)
    g = grid.transform
    transform = type(g)(g.a, 0.0, g.c + c0 * g.a, 0.0, g.e, g.f + r0 * g.e)
    uniq, merged = polygons_of_labels(label, transform)  # traced without the GIL; label 0 is left out
    del label
    if not len(uniq):
        return None
    gdf = gpd.GeoDataFrame({"label": uniq}, geometry=merged, crs=grid.crs)
    gdf["fac_index"] = (gdf["label"] - 1) // len(bands)
    gdf["band_min"] = bands[(gdf["label"] - 1) % len(bands)]
    gdf["fac_id"] = np.array(tier.facility_ids, dtype=object)[gdf["fac_index"]]
    gdf["area_km2"] = (gdf.geometry.area / 1e6).round(2)
    return gdf


def _catchment_attributes(gdf, tier: TierResult, bands, facilities, villages) -> gpd.GeoDataFrame:
    bands = np.asarray(sorted(bands), dtype="float64")
    gdf = gdf.copy()
    info = facilities.set_index("fac_id")
    gdf["fac_name"] = gdf["fac_id"].map(info["name"])
    gdf["level"] = gdf["fac_id"].map(info["level"])
    short = "prim" if tier.tier == "primary" else "sec"
    vb = np.searchsorted(bands, villages[f"{short}_min"].fillna(np.inf).to_numpy(), side="left")
    pops = (villages.assign(_band=vb, _pop=villages["population"].fillna(0.0))
            .loc[lambda d: d._band < len(bands)].groupby([f"{short}_fac", "_band"])["_pop"].sum())
    keys = list(zip(gdf["fac_id"], np.searchsorted(bands, gdf["band_min"].to_numpy())))
    pops = pops.to_dict()
    gdf["pop"] = [int(round(pops.get(k, 0.0))) for k in keys]
    gdf["tier"] = tier.tier
    gdf = gdf[["tier", "fac_id", "fac_name", "level", "band_min", "area_km2", "pop", "geometry"]]
    return gdf.to_crs(4326)


@jit_kernel
def _band_extent(minutes, alloc, last, keep, r0, r1, c0, c1):
    """(r0, r1, c0, c1) bounding the cells of the window with minutes <= ``last`` allocated to a
    facility with ``keep[allocation]``; (-1, -1, -1, -1) if none."""
    rmin, rmax, cmin, cmax = -1, -1, c1, -1
    for r in range(r0, r1):
        for c in range(c0, c1):
            a = alloc[r, c]
            if a >= 0 and minutes[r, c] <= last and keep[a]:
                if rmin < 0:
                    rmin = r
                rmax = r
                if c < cmin:
                    cmin = c
                if c > cmax:
                    cmax = c
    if rmin < 0:
        return -1, -1, -1, -1
    return rmin, rmax + 1, cmin, cmax + 1


@jit_kernel
def _band_labels(minutes, alloc, bands, keep, r0, c0, label):
    """Label of each cell of the window at (r0, c0): allocation * len(bands) + band + 1 where the
    cell is inside the last band (band i holds bands[i-1] < minutes <= bands[i]), else 0. Returns
    the extent (i0, i1, j0, j1) of the labelled cells in the window, (-1, -1, -1, -1) if none."""
    nb = np.int32(bands.shape[0])
    last = bands[nb - 1]
    imin, imax, jmin, jmax = -1, -1, label.shape[1], -1
    for i in range(label.shape[0]):
        for j in range(label.shape[1]):
            a = alloc[r0 + i, c0 + j]
            m = minutes[r0 + i, c0 + j]
            if a >= 0 and m <= last and keep[a]:
                b = np.int32(0)
                for k in range(nb - 1):
                    if m > bands[k]:
                        b += 1
                label[i, j] = a * nb + b + 1
                if imin < 0:
                    imin = i
                imax = i
                if j < jmin:
                    jmin = j
                if j > jmax:
                    jmax = j
            else:
                label[i, j] = 0
    if imin < 0:
        return -1, -1, -1, -1
    return imin, imax + 1, jmin, jmax + 1


def empty_catchments():
    return gpd.GeoDataFrame({c: [] for c in ("tier", "fac_id", "fac_name", "level", "band_min", "area_km2", "pop")},
                            geometry=[], crs=4326)



def all_catchments(result: AnalysisResult, data: ProjectData, shapes: dict | None = None) -> gpd.GeoDataFrame:
    """Both tiers' catchments; ``shapes`` (tier -> :func:`catchment_shapes`) where already computed."""
    shapes = shapes or {}
    parts = [catchment_polygons(result.tiers[t], result.grid, result.params.band_minutes, result.facilities,
                                result.villages, shapes=shapes.get(t, _NOT_YET)) for t in TIERS]
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_catchments()
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)


def warm_up() -> None:
    """Load the catchment kernels (band labels, extents, polygon tracing) from numba's cache on a
    tiny grid, as :func:`coverage_app.core.travel.engine.warm_up` does for the search's."""
    from affine import Affine

    minutes = np.array([[10.0, 50.0, np.nan], [70.0, 20.0, 5.0]], dtype=np.float32)
    allocation = np.array([[0, 0, -1], [1, 1, 1]], dtype=np.int32)
    tier = TierResult("primary", minutes, allocation, ["a", "b"])
    grid = Grid(None, Affine(100.0, 0.0, 0.0, 0.0, -100.0, 200.0), minutes.shape)
    catchment_shapes(tier, grid, (30.0, 60.0))
    catchment_shapes(tier, grid, (30.0, 60.0), only=[1])
