"""Geometries handed to GDAL as mappings built from one coordinate array: the same types and
coordinates as shapely's own ``__geo_interface__``, so the same cells are burnt."""

from __future__ import annotations

import numpy as np
import shapely
from affine import Affine
from rasterio import features

from coverage_app.core.travel.burn import burn, geojson_many, outline_of


def _lists(x):
    """A mapping's coordinates with tuples as lists (shapely gives tuples, geojson_many lists)."""
    if isinstance(x, dict):
        return {k: _lists(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_lists(v) for v in x]
    return x


def _geometries():
    square = shapely.box(0, 0, 10, 10)
    holed = shapely.Polygon(shapely.box(20, 0, 40, 20).exterior.coords,
                            [shapely.box(25, 5, 28, 8).exterior.coords, shapely.box(30, 10, 35, 15).exterior.coords])
    return [
        square,
        None,
        holed,
        shapely.LineString([(0, 0), (3.5, 7.25), (9, 1)]),
        shapely.Polygon(),
        shapely.MultiPolygon([square, holed]),
        shapely.MultiLineString([[(0, 0), (1, 1)], [(5, 5), (6, 7), (8, 8)]]),
        shapely.Point(3, 4),
        shapely.GeometryCollection([shapely.Point(1, 1), shapely.LineString([(0, 0), (2, 2)])]),
        shapely.LineString(),
        shapely.box(50, 50, 51.5, 52.25),
    ]


def test_mappings_equal_shapely_geo_interface():
    geoms = _geometries()
    out = geojson_many(geoms)
    assert len(out) == len(geoms)
    for g, m in zip(geoms, out):
        if g is None or g.is_empty:
            assert m is None
        else:
            assert _lists(m) == _lists(g.__geo_interface__), g.geom_type


def test_outline_equals_shapely_boundary():
    geoms = [g for g in _geometries() if g is not None and not g.is_empty and g.geom_type.endswith("Polygon")]
    for g, m in zip(geoms, geojson_many(geoms)):
        assert _lists(outline_of(m)) == _lists(g.boundary.__geo_interface__), g.geom_type


def test_burn_matches_rasterio_on_shapely_geometries():
    """Cell for cell the same as rasterio given the shapely geometries themselves, with and
    without all_touched, later features overwriting earlier ones."""
    geoms = [g for g in _geometries() if g is not None and not g.is_empty and g.geom_type != "GeometryCollection"]
    values = np.arange(1, len(geoms) + 1)
    transform = Affine(0.7, 0, -1, 0, -0.7, 60)
    for touched in (False, True):
        ours = burn(geojson_many(geoms), values, np.zeros((90, 90), "uint8"), transform, all_touched=touched)
        theirs = features.rasterize(list(zip(geoms, values)), out=np.zeros((90, 90), "uint8"), transform=transform,
                                    all_touched=touched)
        assert ours.any()
        assert np.array_equal(ours, theirs)
