"""Matplotlib primitives in map units (metric CRS): shapely geometries to path/line
collections, clipping, point symbols, text halos and count symbols.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import shapely
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.path import Path as MplPath
from matplotlib.patheffects import withStroke


def _flatten(geom) -> list:
    """The simple parts (Polygon, LineString, Point) of any geometry, collections included."""
    if hasattr(geom, "geoms"):
        out = []
        for part in geom.geoms:
            out += _flatten(part)
        return out
    return [geom]


def _polygon_paths(geoms) -> list:
    paths = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        parts = _flatten(geom)
        verts, codes = [], []
        for poly in parts:
            if poly.geom_type != "Polygon" or poly.is_empty:
                continue
            for ring in (poly.exterior, *poly.interiors):
                xy = np.asarray(ring.coords)[:, :2]
                if len(xy) < 3:
                    continue
                verts.append(xy)
                c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
                c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
                codes.append(c)
        if verts:
            paths.append(MplPath(np.concatenate(verts), np.concatenate(codes)))
    return paths


def _line_parts(geoms) -> list:
    out = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        for part in _flatten(geom):
            if part.geom_type in ("LineString", "LinearRing") and not part.is_empty:
                out.append(np.asarray(part.coords)[:, :2])
            elif part.geom_type in ("Polygon",):
                out.append(np.asarray(part.exterior.coords)[:, :2])
    return out


def clip_to(geoms, bbox, tolerance=0.0):
    arr = np.asarray(list(geoms), dtype=object)
    if arr.size == 0:
        return arr
    try:
        arr = shapely.clip_by_rect(arr, *bbox)
    except shapely.errors.GEOSException:  # a degenerate ring (e.g. from a raster-derived union)
        fixed = shapely.make_valid(shapely.set_precision(arr, 0.01))
        arr = shapely.intersection(fixed, shapely.box(*bbox))
    if tolerance > 0:
        arr = shapely.simplify(arr, tolerance, preserve_topology=True)
    return arr[~shapely.is_empty(arr)]


def rgba(colour, alpha=1.0):
    return matplotlib.colors.to_rgba(colour, alpha) if colour else (0, 0, 0, 0)


def add_polygons(ax, geoms, *, face=None, edge=None, lw=0.5, alpha=1.0, hatch="", zorder=1, dash=None):
    paths = _polygon_paths(geoms)
    if not paths:
        return None
    coll = PathCollection(paths, facecolors=[rgba(face, alpha)] if face else "none",
                          edgecolors=[rgba(edge)] if edge else "none", linewidths=lw, zorder=zorder,
                          hatch=hatch or None)
    if dash:
        coll.set_linestyle((0, dash))
    ax.add_collection(coll, autolim=False)
    return coll


def add_lines(ax, geoms, *, colour, lw, zorder=2, dash=None, alpha=1.0, capstyle="round"):
    parts = _line_parts(geoms)
    if not parts:
        return None
    coll = LineCollection(parts, colors=[rgba(colour, alpha)], linewidths=lw, zorder=zorder,
                          capstyle=capstyle, joinstyle="round")
    if dash:
        coll.set_linestyle((0, dash))
    ax.add_collection(coll, autolim=False)
    return coll


def scatter(ax, x, y, style, size_pt, zorder):
    """Markers in ``style`` (filled markers with their outline; line markers with a white halo)."""
    filled = style.marker not in ("x", "+", "1", "2", "3", "4", "|", "_")
    if filled:
        return ax.scatter(x, y, s=size_pt ** 2, marker=style.marker, c=[rgba(style.fill)],
                          edgecolors=[rgba(style.stroke)] if style.stroke else "none",
                          linewidths=style.stroke_width if style.stroke else 0, zorder=zorder)
    ax.scatter(x, y, s=size_pt ** 2, marker=style.marker, c=[rgba(style.stroke or "#ffffff")],
               linewidths=2.2, zorder=zorder)
    return ax.scatter(x, y, s=size_pt ** 2, marker=style.marker, c=[rgba(style.fill)], linewidths=1.0,
                      zorder=zorder + 0.01)


def halo_only(width=1.6, colour="white"):
    from matplotlib.patheffects import Stroke

    return [Stroke(linewidth=width, foreground=colour)]


def stroke_halo(width=1.6, colour="white"):
    return [withStroke(linewidth=width, foreground=colour)]


def count_symbol(ax, x, y, text, page, size=None, fontsize=5.6, zorder=8):
    size = size or 9.5 * page.k
    ax.scatter([x], [y], s=size ** 2, marker="o", c=["#ffffff"], edgecolors=["#1f2d3d"], linewidths=0.9,
               zorder=zorder)
    ax.text(x, y, str(text), fontproperties=page.font(fontsize, "bold"), color="#1f2d3d", ha="center",
            va="center_baseline", zorder=zorder + 1)
