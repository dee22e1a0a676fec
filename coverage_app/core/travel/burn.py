"""Burning vector features into grid-shaped arrays (rasterio / GDAL), with the geometries handed
over as GeoJSON-like mappings built from one coordinate array per layer.

rasterio takes geometries as GeoJSON-like mappings of nested Python lists. Built feature by
feature (shapely's ``__geo_interface__``, or one ``get_coordinates(...).tolist()`` per ring),
the conversion and the extra burns it led to took ~50 ms of the 250 m Sagaing friction
(0.24 s -> 0.19 s warm); here every coordinate of a layer is read in one call and the rings
are slices of one list. The mappings hold exactly the coordinates (float64, x and y) of the
geometries, part by part and ring by ring in their order, so GDAL burns exactly the same cells.
"""

from __future__ import annotations

import numpy as np
import shapely
from rasterio import features

# shapely type ids
_POINT, _LINE, _RING, _POLYGON, _MPOINT, _MLINE, _MPOLYGON = 0, 1, 2, 3, 4, 5, 6


def _mapping_of(g) -> dict:
    """One geometry's mapping, for the types :func:`geojson_many` does not assemble (points,
    collections, rings)."""
    return g.__geo_interface__


def geojson_many(geoms) -> list:
    """GeoJSON-like mappings of ``geoms`` (shapely geometries, metric or any CRS; None or empty
    give None): the same types and coordinates as shapely's ``__geo_interface__``, as lists."""
    geoms = np.asarray(geoms, dtype=object)
    out: list = [None] * len(geoms)
    if len(geoms) == 0:
        return out
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    kind = np.where(present, shapely.get_type_id(geoms), -1)
    simple = np.isin(kind, (_LINE, _POLYGON, _MLINE, _MPOLYGON))
    for i in np.flatnonzero(present & ~simple):
        out[i] = _mapping_of(geoms[i])
    which = np.flatnonzero(simple)
    if len(which) == 0:
        return out
    # leaves: the coordinate sequences in order (rings of polygons, lines), with their part and geometry
    parts, part_of = shapely.get_parts(geoms[which], return_index=True)
    part_kind = shapely.get_type_id(parts)
    poly = part_kind == _POLYGON
    ring_counts = np.where(poly, shapely.get_num_interior_rings(parts) + 1, 1)
    ring_counts[poly & shapely.is_empty(parts)] = 0
    leaves = np.empty(int(ring_counts.sum()), dtype=object)
    leaf_part = np.repeat(np.arange(len(parts)), ring_counts)
    if poly.any():
        rings, ring_part = shapely.get_rings(parts[poly], return_index=True)
        leaves[np.isin(leaf_part, np.flatnonzero(poly))] = rings
    leaves[np.isin(leaf_part, np.flatnonzero(~poly))] = parts[~poly]
    counts = shapely.get_num_coordinates(leaves)
    coords = shapely.get_coordinates(geoms[which]).tolist()
    if len(coords) != int(counts.sum()):  # a layout this does not expect: feature by feature
        for i in which:
            out[i] = _mapping_of(geoms[i])
        return out
    ends = np.cumsum(counts).tolist()
    starts = [0] + ends[:-1]
    seqs = [coords[a:b] for a, b in zip(starts, ends)]
    # group leaves by part, parts by geometry
    part_seqs: list[list] = [[] for _ in range(len(parts))]
    for p, s in zip(leaf_part.tolist(), seqs):
        part_seqs[p].append(s)
    geom_parts: list[list] = [[] for _ in range(len(which))]
    for g, p in zip(part_of.tolist(), range(len(parts))):
        geom_parts[g].append(p)
    for j, i in enumerate(which.tolist()):
        k = kind[i]
        ps = geom_parts[j]
        if k == _LINE:
            out[i] = {"type": "LineString", "coordinates": part_seqs[ps[0]][0]}
        elif k == _POLYGON:
            out[i] = {"type": "Polygon", "coordinates": part_seqs[ps[0]]}
        elif k == _MLINE:
            out[i] = {"type": "MultiLineString", "coordinates": [part_seqs[p][0] for p in ps]}
        else:
            out[i] = {"type": "MultiPolygon", "coordinates": [part_seqs[p] for p in ps]}
    return out


def outline_of(mapping: dict | None) -> dict | None:
    """The boundary of a polygon mapping from :func:`geojson_many`, as shapely's ``boundary`` gives
    it (a polygon without holes: its exterior as a LineString; else every ring, a MultiLineString),
    sharing the coordinate lists."""
    if mapping is None:
        return None
    if mapping["type"] == "Polygon":
        rings = mapping["coordinates"]
    elif mapping["type"] == "MultiPolygon":
        rings = [r for p in mapping["coordinates"] for r in p]
        return {"type": "MultiLineString", "coordinates": rings}
    else:
        raise ValueError(mapping["type"])
    if len(rings) == 1:
        return {"type": "LineString", "coordinates": rings[0]}
    return {"type": "MultiLineString", "coordinates": rings}


def burn(mappings, values, out: np.ndarray, transform, all_touched: bool = False) -> np.ndarray:
    """Burn ``mappings`` (from :func:`geojson_many`; None skipped) with ``values`` into ``out`` (grid-shaped,
    C-contiguous, cells of ``transform`` in the mappings' CRS); later features overwrite earlier ones."""
    shapes = [(m, v) for m, v in zip(mappings, values) if m is not None]
    if not shapes:
        return out
    return features.rasterize(shapes, out=out, transform=transform, all_touched=all_touched)
