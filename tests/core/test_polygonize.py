"""The catchments' polygon tracer (core/analysis/polygonize.py) against GDAL's polygonising
(rasterio.features.shapes, 4-connectivity): the same polygons for every label, valid for GEOS."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from affine import Affine
from rasterio import features

from coverage_app.core.analysis.polygonize import polygons_of_labels

T = Affine(250.0, 0.0, 591750.0, 0.0, -250.0, 3038250.0)  # a UTM 46N grid of 250 m cells


def gdal_polygons(label, transform=T) -> dict[int, list]:
    """label -> the polygons GDAL makes of it (each 4-connected region one polygon)."""
    out: dict[int, list] = {}
    for geom, value in features.shapes(label, mask=label != 0, transform=transform, connectivity=4):
        out.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    return out


def assert_same_as_gdal(label, transform=T):
    labels, geoms = polygons_of_labels(label, transform)
    ref = gdal_polygons(np.ascontiguousarray(label), transform)
    assert labels.tolist() == sorted(ref)
    for value, geom in zip(labels.tolist(), geoms):
        assert shapely.is_valid(geom), (value, shapely.is_valid_reason(geom))
        assert shapely.get_num_geometries(geom) == len(ref[value])
        assert shapely.equals(geom, shapely.union_all(ref[value])), value
        # only corners: as many vertices as GDAL's polygons
        assert shapely.get_num_coordinates(geom) == sum(shapely.get_num_coordinates(g) for g in ref[value])
    return labels, geoms


@pytest.mark.parametrize("seed", range(6))
def test_random_label_rasters_give_gdals_polygons(seed):
    rng = np.random.default_rng(seed)
    for _ in range(150):
        rows, cols = rng.integers(1, 30, size=2)
        if rng.random() < 0.5:  # speckle: many corner contacts, pinches and holes
            label = rng.integers(0, int(rng.integers(2, 6)), size=(rows, cols)).astype(np.int32)
        else:  # blobs of one label with holes and islands
            label = (rng.random((rows, cols)) < rng.uniform(0.3, 0.8)).astype(np.int32) * int(rng.integers(1, 9))
        assert_same_as_gdal(label)


def test_cells_touching_at_a_corner_are_two_polygons():
    label = np.array([[1, 0], [0, 1]], dtype=np.int32)
    labels, geoms = assert_same_as_gdal(label)
    assert labels.tolist() == [1] and shapely.get_num_geometries(geoms[0]) == 2
    assert geoms[0].area == pytest.approx(2 * 250.0 ** 2)


def test_a_hole_touching_its_outer_ring_at_a_corner_is_valid():
    # one region of 1s around a hole of 0s that meets the outside only at a corner (top right)
    label = np.array([[1, 1, 1, 0],
                      [1, 1, 0, 1],
                      [1, 1, 1, 1]], dtype=np.int32)
    labels, geoms = assert_same_as_gdal(label)
    polygon = geoms[0]
    assert polygon.geom_type == "Polygon" and len(polygon.interiors) == 1
    assert polygon.area == pytest.approx(10 * 250.0 ** 2)


def test_nested_regions_holes_and_islands():
    label = np.ones((7, 7), dtype=np.int32)
    label[1:6, 1:6] = 2  # a hole in 1 filled by 2 ...
    label[2:5, 2:5] = 0  # ... with a hole of its own ...
    label[3, 3] = 1      # ... holding an island of 1
    labels, geoms = assert_same_as_gdal(label)
    one, two = geoms
    assert shapely.get_num_geometries(one) == 2 and len(two.interiors) == 1
    assert one.area == pytest.approx((49 - 25 + 1) * 250.0 ** 2) and two.area == pytest.approx(16 * 250.0 ** 2)


def test_coordinates_are_the_grid_corners_and_views_are_taken():
    big = np.zeros((6, 8), dtype=np.int32)
    big[2:4, 3:6] = 7
    view = big[1:5, 2:7]  # not contiguous
    transform = T @ Affine.translation(2, 1)
    labels, geoms = assert_same_as_gdal(view, transform)
    assert labels.tolist() == [7]
    x0, y0 = T.c + 3 * T.a, T.f + 2 * T.e  # the corners of cells (2, 3) and (3, 5)
    x1, y1 = T.c + 6 * T.a, T.f + 4 * T.e
    assert shapely.equals(geoms[0], shapely.box(x0, y1, x1, y0))
    assert set(shapely.get_coordinates(geoms[0])[:, 0]) == {x0, x1}


def test_no_labelled_cell_gives_no_polygon():
    labels, geoms = polygons_of_labels(np.zeros((3, 4), dtype=np.int32), T)
    assert len(labels) == 0 and len(geoms) == 0
