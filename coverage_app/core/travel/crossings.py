"""Water and crossings on the friction surface: which rivers are major, burning water into a grid, where
roads cut major rivers and which cuts a bridge or ferry crosses (snapping crossings onto roads), and the
cells where boarding a ferry costs its delay. Geometries in the working CRS (metres) unless said.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage_app.core.grid import Grid
from coverage_app.core.travel.burn import burn, geojson_many, outline_of

CROSSING_SNAP_M = 500.0    # a crossing snaps to a road-river cut, else a road, this close (metres)
CUT_MERGE_M = 500.0        # road-river intersections closer than this are one cut (metres)


def major_water(rivers: gpd.GeoDataFrame) -> np.ndarray:
    """Which water features are major (crossed only at a mapped bridge or ferry). The ``major`` field
    decides (empty = major); without the field every feature is major."""
    if "major" not in rivers or rivers["major"].isna().all():
        return np.ones(len(rivers), bool)
    text = rivers["major"].astype("string").str.strip().str.lower()
    return (~text.isin(["false", "0", "no", "n", "f"])).fillna(True).to_numpy(bool)


def burn_water(water: gpd.GeoDataFrame, grid: Grid, out: np.ndarray) -> np.ndarray:
    """Burn 1 where ``water`` (working CRS) lies: polygons' cells (centre inside), and every cell their
    outlines and the lines touch, so a river narrower than a cell still cuts the surface."""
    mappings = geojson_many(water.geometry.values)
    polygonal = np.isin(shapely.get_type_id(water.geometry.values), (3, 6))
    polys = [m for m, p in zip(mappings, polygonal) if p]
    touched = [outline_of(m) for m in polys] + [m for m, p in zip(mappings, polygonal) if not p]
    burn(polys, [1] * len(polys), out, grid.transform)
    burn(touched, [1] * len(touched), out, grid.transform, all_touched=True)
    return out


def road_river_cuts(roads: gpd.GeoDataFrame, rivers: gpd.GeoDataFrame | None,
                    merge_m: float = CUT_MERGE_M) -> gpd.GeoDataFrame:
    """Places where a road crosses major water (metric CRS of the inputs): one point per cut (the
    middle of the road's stretch inside a river polygon, or where it meets a river line; pieces
    closer than ``merge_m`` are one cut), with ``water`` (name), ``road_class`` and ``piece`` (the
    road's geometry inside the water, for lifting the barrier along it)."""
    empty = gpd.GeoDataFrame({"water": [], "road_class": [], "piece": []}, geometry=[], crs=roads.crs)
    if rivers is None or len(rivers) == 0 or len(roads) == 0:
        return empty
    water = rivers[major_water(rivers)]
    if len(water) == 0:
        return empty
    rg, wg = roads.geometry.values, water.geometry.values
    ri, wi = shapely.STRtree(wg).query(rg, predicate="intersects")
    if len(ri) == 0:
        return empty
    polygonal = np.isin(shapely.get_type_id(wg[wi]), (3, 6))
    inter = shapely.intersection(rg[ri], wg[wi])
    parts, index = shapely.get_parts(inter, return_index=True)
    kind = shapely.get_type_id(parts)
    keep = np.isin(kind, (0, 1)) & ~shapely.is_empty(parts)  # points (river lines), lines (in polygons)
    parts, index = parts[keep], index[keep]
    if len(parts) == 0:
        return empty
    is_line = shapely.get_type_id(parts) == 1
    mid = parts.copy()
    mid[is_line] = shapely.line_interpolate_point(parts[is_line], 0.5, normalized=True)
    piece = parts.copy()
    piece[~is_line] = shapely.buffer(parts[~is_line], 1.0)
    # merge pieces of one crossing (a road crossing a polygon's outline and its centreline, islands)
    blobs = shapely.get_parts(shapely.union_all(shapely.buffer(mid, merge_m / 2)))
    blob_of = shapely.STRtree(blobs).query(mid, predicate="intersects")
    which = np.full(len(mid), -1)
    which[blob_of[0]] = blob_of[1]
    names = water["name"].to_numpy(object) if "name" in water else np.full(len(water), None, object)
    klass = roads["road_class"].to_numpy(object) if "road_class" in roads else np.full(len(roads), None, object)
    rows = []
    for b in np.unique(which):
        members = np.flatnonzero(which == b)
        centre = shapely.centroid(shapely.multipoints(mid[members]))
        first = members[np.argmin(shapely.distance(mid[members], centre))]
        rows.append({"water": names[wi[index[first]]], "road_class": klass[ri[index[first]]],
                     "piece": shapely.union_all(piece[members]), "geometry": mid[first],
                     "in_polygon": bool(polygonal[index[first]])})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=roads.crs).drop(columns="in_polygon")


def snap_crossings(crossings: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, cuts: gpd.GeoDataFrame | None,
                   tolerance_m: float = CROSSING_SNAP_M) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Crossings moved onto their road (metric CRS): to the nearest road-river cut within
    ``tolerance_m``, else the nearest point of a road within it; farther ones stay (footbridges,
    ferries off the network). Returns the moved crossings (``snapped``: cut / road / none,
    ``snap_m``: metres moved) and, per crossing, the index of the cut it took (NaN if none)."""
    out = crossings.copy()
    geom = out.geometry.values.copy()
    snapped = np.full(len(out), "none", dtype=object)
    moved = np.zeros(len(out))
    cut_of = pd.Series(np.nan, index=out.index)
    if cuts is not None and len(cuts):
        ci, ki = shapely.STRtree(cuts.geometry.values).query_nearest(geom, max_distance=tolerance_m,
                                                                     return_distance=False, all_matches=False)
        moved[ci] = shapely.distance(geom[ci], cuts.geometry.values[ki])
        geom[ci] = cuts.geometry.values[ki]
        snapped[ci] = "cut"
        cut_of.iloc[ci] = cuts.index.to_numpy()[ki]
    rest = np.flatnonzero(snapped == "none")
    if len(rest) and len(roads):
        rg = roads.geometry.values
        ci, ri = shapely.STRtree(rg).query_nearest(geom[rest], max_distance=tolerance_m, return_distance=False,
                                                   all_matches=False)
        on = shapely.get_point(shapely.shortest_line(geom[rest][ci], rg[ri]), 1)  # nearest point on the road
        idx = rest[ci]
        moved[idx] = shapely.distance(geom[idx], on)
        geom[idx] = on
        snapped[idx] = "road"
    out = out.set_geometry(gpd.GeoSeries(geom, crs=out.crs, index=out.index))
    out["snapped"] = snapped
    out["snap_m"] = np.round(moved, 1)
    return out, cut_of


def open_cuts(roads, rivers, crossings, tolerance_m: float = CROSSING_SNAP_M) -> gpd.GeoDataFrame:
    """Road-river cuts (see :func:`road_river_cuts`) with ``crossed`` (a crossing, once snapped, lies
    within ``tolerance_m``) and ``nearest_crossing_m``; inputs in one metric CRS."""
    if roads is None or len(roads) == 0:
        return gpd.GeoDataFrame({"water": [], "road_class": [], "crossed": [], "nearest_crossing_m": []},
                                geometry=[], crs=None)
    cuts = road_river_cuts(roads, rivers)
    cuts["nearest_crossing_m"] = np.inf
    if crossings is not None and len(crossings) and len(cuts):
        moved, _ = snap_crossings(crossings, roads, cuts, tolerance_m)
        _, d = shapely.STRtree(moved.geometry.values).query_nearest(cuts.geometry.values, return_distance=True,
                                                                    all_matches=False)
        cuts["nearest_crossing_m"] = np.round(d, 0)
    cuts["crossed"] = cuts["nearest_crossing_m"] <= tolerance_m
    return cuts.drop(columns="piece")


def project_cuts(data) -> gpd.GeoDataFrame | None:
    """Road-river cuts of a loaded project (:class:`~coverage_app.core.data.model.ProjectData`), in
    EPSG:4326, with ``crossed``, ``nearest_crossing_m`` and ``lon``/``lat``; None without roads or water."""
    from coverage_app.core.data.crs import working_crs_for

    roads, rivers = data.role("roads"), data.role("rivers")
    if roads is None or rivers is None or len(roads) == 0 or len(rivers) == 0:
        return None
    crs = working_crs_for(tuple(roads.total_bounds), 4326)
    crossings = data.role("crossings")
    cuts = open_cuts(roads.to_crs(crs), rivers.to_crs(crs), None if crossings is None else crossings.to_crs(crs))
    cuts = cuts.set_crs(crs, allow_override=True).to_crs(4326)
    cuts["lon"], cuts["lat"] = cuts.geometry.x.round(5), cuts.geometry.y.round(5)
    return cuts


def cut_lines(cuts: gpd.GeoDataFrame | None) -> list[str]:
    """Plain lines for the command line: how many cuts lack a crossing, and where."""
    if cuts is None:
        return []
    left = cuts[~cuts["crossed"]]
    out = [f"road-river cuts: {len(cuts)} where a road meets a major river; {len(left)} without a bridge or "
           f"ferry within {CROSSING_SNAP_M:g} m (add the crossing if one exists: a ferry with its delay)"]
    for _, c in left.iterrows():
        water = c["water"] if isinstance(c["water"], str) and c["water"] else "unnamed river"
        out.append(f"  cut at {c['lat']:.5f} N, {c['lon']:.5f} E: {c['road_class'] or 'road'} road x {water}, "
                   f"nearest crossing {c['nearest_crossing_m'] / 1000:.1f} km")
    return out


def board_at_the_water(ferry_label, opened):
    """Keep a ferry's label only on the water its disk opened (``opened``: flat indices) and the cells
    beside it (8 neighbours: no knight's move steps over a band 3 cells wide), so that a landing village
    on the far bank boards on its way like everyone else; a cell beside the water boards for free."""
    rows = np.flatnonzero(ferry_label.any(axis=1))
    cols = np.flatnonzero(ferry_label.any(axis=0))
    if not len(rows):
        return
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    water = np.zeros(ferry_label.shape, bool)
    water.reshape(-1)[opened] = True
    water = water[r0:r1, c0:c1]
    near = water.copy()
    h, w = water.shape
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:  # near[i, j] |= water[i + dr, j + dc]
                near[max(-dr, 0):h - max(dr, 0), max(-dc, 0):w - max(dc, 0)] |= \
                    water[max(dr, 0):h - max(-dr, 0), max(dc, 0):w - max(-dc, 0)]
    ferry_label[r0:r1, c0:c1][~near] = 0
