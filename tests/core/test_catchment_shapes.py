"""Catchment shapes (catchments.catchment_shapes): each (facility, band) polygon covers exactly its
cells. Checked against the cells themselves: area per label = cell count x cell area, valid
geometries, no overlap between labels, and the same polygons whether every cell is labelled
(polygonised without a mask) or some are not (with one)."""

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS

from coverage_app.core.analysis.catchments import catchment_shapes
from coverage_app.core.grid import Grid
from coverage_app.core.results import TierResult

CELL = 100.0  # metres
BANDS = (30.0, 60.0, 120.0)  # minutes


def tier_and_grid(rows=120, cols=150, n_fac=7, seed=3, unreachable=0.0):
    """Minutes and allocation of a random Voronoi-like field (EPSG:32646, 100 m cells)."""
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[0:rows, 0:cols]
    sites = rng.uniform([0, 0], [rows, cols], size=(n_fac, 2))
    d = np.hypot(rr[None] - sites[:, 0, None, None], cc[None] - sites[:, 1, None, None])
    alloc = d.argmin(0).astype("int32")
    minutes = (d.min(0) * 2.0 + rng.uniform(0, 9, (rows, cols))).astype("float32")  # ragged band edges
    if unreachable:
        off = rng.random((rows, cols)) < unreachable
        minutes[off], alloc[off] = np.nan, -1
    grid = Grid(CRS.from_epsg(32646), Affine(CELL, 0, 500_000.0, 0, -CELL, 2_400_000.0), (rows, cols))
    return TierResult("primary", minutes, alloc, [f"F{i:03d}" for i in range(n_fac)]), grid


def expected_cells(tier):
    """(fac_index, band_min) -> number of cells, from the rasters directly."""
    out = {}
    m, a = tier.minutes, tier.allocation
    inside = (a >= 0) & (m <= BANDS[-1])
    band = np.searchsorted(np.asarray(BANDS), m[inside], side="left")
    for fac, b in zip(a[inside], band):
        key = (int(fac), BANDS[b])
        out[key] = out.get(key, 0) + 1
    return out


def check(tier, grid):
    gdf = catchment_shapes(tier, grid, BANDS)
    want = expected_cells(tier)
    got = {(int(f), float(b)): g.area / CELL**2 for f, b, g in zip(gdf.fac_index, gdf.band_min, gdf.geometry)}
    assert got.keys() == want.keys()
    for key, cells in want.items():
        assert abs(got[key] - cells) < 1e-6 * cells, key
    assert shapely.is_valid(gdf.geometry.values).all()
    union = shapely.union_all(gdf.geometry.values)  # no overlap, no sliver: union area = sum of areas
    assert abs(union.area - gdf.geometry.area.sum()) < 1e-6 * union.area
    assert abs(union.area / CELL**2 - sum(want.values())) < 1e-6 * union.area
    return gdf


def test_every_cell_labelled_polygonised_without_a_mask():
    tier, grid = tier_and_grid()
    tier.minutes[:] = np.minimum(tier.minutes, BANDS[-1])  # all inside the last band: no mask needed
    gdf = check(tier, grid)
    assert len(gdf) > 7  # several bands of several facilities


def test_some_cells_unlabelled_polygonised_with_a_mask():
    tier, grid = tier_and_grid(unreachable=0.05)
    check(tier, grid)


def test_mask_and_no_mask_give_the_same_polygons():
    tier, grid = tier_and_grid()
    tier.minutes[:] = np.minimum(tier.minutes, BANDS[-1])
    whole = catchment_shapes(tier, grid, BANDS)
    # one unlabelled cell in a corner forces the masked path; the rest of the polygons are equal
    tier.allocation[0, 0], tier.minutes[0, 0] = -1, np.nan
    masked = catchment_shapes(tier, grid, BANDS)
    assert list(whole.label) == list(masked.label)
    cell = CELL**2
    diff = (whole.geometry.area.to_numpy() - masked.geometry.area.to_numpy()) / cell
    assert sorted(np.round(diff, 9)) == [0.0] * (len(diff) - 1) + [1.0]
