"""Readers shared by the cross-check tests (tests/core/test_cross_check_*.py): the files an export
writes, read with geopandas / rasterio only, so that no function of the app computes an expected value."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import rasterio

TIERS = (("primary", "prim"), ("secondary", "sec"))


def read_layer(path, layer=None) -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gpd.read_file(path, layer=layer)


def read_tier_rasters(out) -> dict:
    """tier -> (minutes float64 with NaN for nodata, allocation int64 with -1, transform, crs) of the
    export folder ``out``; the two rasters of a tier share their grid."""
    got = {}
    for tier, _ in TIERS:
        with rasterio.open(out / f"travel_time_{tier}.tif") as src:
            minutes = src.read(1).astype("float64")
            minutes[minutes == src.nodata] = np.nan
            transform, crs = src.transform, src.crs
        with rasterio.open(out / f"allocation_{tier}.tif") as src:
            alloc = src.read(1).astype("int64")
            assert src.transform == transform and src.crs == crs
        got[tier] = (minutes, alloc, transform, crs)
    return got
