"""Qt drawing primitives of the map canvas: markers, sprites, paths, colour look-up.

Point layers are drawn by *stamping* a pre-rendered marker sprite (drawn once with QPainter,
antialiased, fill and stroke) into the map image with numpy: one vectorised write per sprite
pixel for all points at once. That draws 55k villages in ~15 ms, where QPainter.drawPoints
with round pens needs 100-300 ms. Lines and polygons are QPainterPaths built once per layer in
map coordinates (metres of the working CRS) and drawn through the view transform with
cosmetic pens. Sizes in :mod:`coverage_app.core.outputs.symbology` are points (1/72 inch); the canvas
converts them with :func:`pt_to_px` so the screen matches the printed map.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from PySide6.QtCore import QByteArray, QDataStream, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from coverage_app.core.outputs.symbology import Style

SCREEN_DPI = 96.0
HATCHES = {"xx": Qt.DiagCrossPattern, "x": Qt.DiagCrossPattern, "//": Qt.BDiagPattern, "/": Qt.BDiagPattern,
           "\\\\": Qt.FDiagPattern, "\\": Qt.FDiagPattern, "++": Qt.CrossPattern, "+": Qt.CrossPattern,
           "--": Qt.HorPattern, "||": Qt.VerPattern}


def pt_to_px(points: float, dpr: float = 1.0) -> float:
    return float(points) * SCREEN_DPI / 72.0 * dpr


def qcolor(colour: str | None, alpha: float = 1.0) -> QColor:
    if not colour:
        return QColor(0, 0, 0, 0)
    c = QColor(colour)
    c.setAlphaF(max(0.0, min(1.0, alpha * c.alphaF())))
    return c


def qpolygonf(xy: np.ndarray) -> QPolygonF:
    """A QPolygonF from an (n, 2) float array without a Python loop (through QDataStream).

    (Writing into ``QPolygonF.data()`` through a shiboken VoidPtr is faster still but
    corrupts reference counts in PySide6 6.12 and crashes the interpreter.)
    """
    xy = np.ascontiguousarray(xy, dtype=np.float64).reshape(-1, 2)
    poly = QPolygonF()
    if len(xy) == 0:
        return poly
    header = np.array([len(xy)], dtype=">u4").view(np.uint8)
    payload = np.concatenate([header, xy.astype(">f8").view(np.uint8).reshape(-1)])
    stream = QDataStream(QByteArray(payload.tobytes()))
    stream >> poly
    return poly


_ELEMENT = np.dtype([("type", ">i4"), ("x", ">f8"), ("y", ">f8")])


def path_from_geometries(geoms, closed: bool) -> QPainterPath:
    """One QPainterPath (odd-even fill) from shapely lines or polygons (map coordinates).

    All rings or lines become move-to/line-to elements in one numpy array that QDataStream
    reads as a QPainterPath in one call, however many features there are.
    """
    path = QPainterPath()
    path.setFillRule(Qt.OddEvenFill)
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms):
        geoms = geoms[~shapely.is_missing(geoms)]
    if len(geoms) == 0:
        return path
    parts = shapely.get_parts(geoms)
    if closed:
        polys = parts[shapely.get_type_id(parts) == 3]
        lines = shapely.get_rings(polys) if len(polys) else np.array([], dtype=object)
    else:
        lines = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
    if len(lines) == 0:
        return path
    coords, index = shapely.get_coordinates(lines, return_index=True)
    if len(coords) < 2:
        return path
    starts = np.r_[True, index[1:] != index[:-1]]
    counts = np.bincount(index)
    keep = (counts >= 2)[index]  # a part needs two points
    coords, starts = coords[keep], starts[keep]
    if len(coords) < 2:
        return path
    elements = np.empty(len(coords), dtype=_ELEMENT)
    elements["type"] = np.where(starts, 0, 1)  # MoveToElement, LineToElement
    elements["x"] = coords[:, 0]
    elements["y"] = coords[:, 1]
    last_start = int(np.flatnonzero(starts)[-1])
    payload = b"".join([np.array([len(elements)], ">i4").tobytes(), elements.tobytes(),
                        np.array([last_start, 0], ">i4").tobytes()])  # cStart, fill rule (odd-even)
    stream = QDataStream(QByteArray(payload))
    stream >> path
    if path.elementCount() != len(elements):  # pragma: no cover - a Qt without this stream format
        path = QPainterPath()
        path.setFillRule(Qt.OddEvenFill)
        ends = np.r_[np.flatnonzero(starts)[1:], len(coords)]
        for s, e in zip(np.flatnonzero(starts).tolist(), ends.tolist()):
            path.addPolygon(qpolygonf(coords[s:e]))
    return path


# -- markers -----------------------------------------------------------------------------

def marker_path(marker: str, size: float) -> QPainterPath:
    """A marker outline centred on (0, 0), ``size`` pixels across."""
    r = size / 2.0
    path = QPainterPath()
    if marker == "s":
        path.addRect(QRectF(-r, -r, size, size))
    elif marker == "^":
        path.addPolygon(QPolygonF([QPointF(0, -r * 1.15), QPointF(r * 1.1, r * 0.85), QPointF(-r * 1.1, r * 0.85)]))
        path.closeSubpath()
    elif marker == "D":
        path.addPolygon(QPolygonF([QPointF(0, -r * 1.2), QPointF(r * 1.2, 0), QPointF(0, r * 1.2), QPointF(-r * 1.2, 0)]))
        path.closeSubpath()
    elif marker == "P":
        t = size / 3.0
        path.addRect(QRectF(-t / 2, -r, t, size))
        path.addRect(QRectF(-r, -t / 2, size, t))
        path = path.simplified()
    elif marker == "x":
        t = size / 4.0
        for angle in (45, -45):
            p = QPainterPath()
            p.addRect(QRectF(-r, -t / 2, size, t))
            from PySide6.QtGui import QTransform

            path = path.united(QTransform().rotate(angle).map(p))
    else:
        path.addEllipse(QPointF(0, 0), r, r)
    return path


def draw_marker(painter: QPainter, style: Style, x: float, y: float, size_px: float, stroke_px: float,
                opacity: float = 1.0) -> None:
    path = marker_path(style.marker, size_px).translated(x, y)
    painter.setBrush(QBrush(qcolor(style.fill, style.alpha * opacity)) if style.fill else Qt.NoBrush)
    if style.stroke and stroke_px > 0:
        pen = QPen(qcolor(style.stroke, opacity), stroke_px)
        pen.setJoinStyle(Qt.MiterJoin)
        painter.setPen(pen)
    else:
        painter.setPen(Qt.NoPen)
    painter.drawPath(path)


@lru_cache(maxsize=256)
def _sprite_cached(style: Style, size_px: float, stroke_px: float, opacity: float):
    extent = int(np.ceil(size_px * 1.3 + 2 * stroke_px)) + 2
    if extent % 2 == 0:
        extent += 1
    image = QImage(extent, extent, QImage.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing, True)
    draw_marker(painter, style, extent / 2.0, extent / 2.0, size_px, stroke_px, opacity)
    painter.end()
    arr = np.frombuffer(image.constBits(), np.uint32).reshape(extent, extent).copy()
    ys, xs = np.nonzero(arr >> 24)
    half = extent // 2
    values = arr[ys, xs]
    alphas = (values >> 24).astype(np.uint32)
    return image, (ys - half).astype(np.int64), (xs - half).astype(np.int64), values, alphas


def sprite(style: Style, size_px: float, stroke_px: float, opacity: float = 1.0):
    """(QImage, dy, dx, premultiplied ARGB values, alphas) of a marker, cached."""
    return _sprite_cached(style, round(float(size_px), 2), round(float(stroke_px), 2), round(float(opacity), 3))


_MASK = np.uint32(0x00FF00FF)
_EIGHT = np.uint32(8)


def stamp(pixels: np.ndarray, px: np.ndarray, py: np.ndarray, spr) -> None:
    """Composite sprite ``spr`` (from :func:`sprite`) at integer pixel positions (source-over).

    ``pixels`` is the (h, w) uint32 view of a premultiplied ARGB32 image. Points sharing a pixel
    are drawn once.
    """
    _, dys, dxs, values, alphas = spr
    if len(values) == 0 or len(px) == 0:
        return
    h, w = pixels.shape
    reach = int(max(np.abs(dys).max(), np.abs(dxs).max()))
    inside = (px >= reach) & (px < w - reach) & (py >= reach) & (py < h - reach)
    flat = pixels.reshape(-1)
    base = np.unique(py[inside] * w + px[inside])
    edge = ~inside & (px > -reach - 1) & (px < w + reach + 1) & (py > -reach - 1) & (py < h + reach + 1)
    ex, ey = px[edge], py[edge]
    for dy, dx, value, alpha in zip(dys.tolist(), dxs.tolist(), values.tolist(), alphas.tolist()):
        idx = base + (dy * w + dx)
        if len(ex):  # points near the border: clip per sprite pixel
            x, y = ex + dx, ey + dy
            ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            if ok.any():
                idx = np.concatenate([idx, np.unique(y[ok] * w + x[ok])])
        if alpha >= 255:
            flat[idx] = value
        else:
            inv = np.uint32(255 - alpha)
            d = flat[idx]
            rb = ((d & _MASK) * inv >> _EIGHT) & _MASK
            ag = (((d >> _EIGHT) & _MASK) * inv >> _EIGHT) & _MASK
            flat[idx] = np.uint32(value) + (rb | (ag << _EIGHT))


# -- icons -------------------------------------------------------------------------------

def style_icon(style: Style, geometry: str, size: int = 16) -> QPixmap:
    """A legend swatch for a point ("point"), line ("line") or polygon ("polygon") style. Drawn
    once per style (the layer panel refills the legends of every result layer on each what-if
    edit: ~100 swatches); a QPixmap is implicitly shared, so handing out the same one is safe."""
    return _style_icon_cached(style, geometry, size)


@lru_cache(maxsize=512)
def _style_icon_cached(style: Style, geometry: str, size: int) -> QPixmap:
    image = QImage(size, size, QImage.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing, True)
    if geometry == "point":
        draw_marker(painter, style, size / 2, size / 2, min(size - 4, max(5.0, pt_to_px(style.size) * 1.3)),
                    max(0.8, pt_to_px(style.stroke_width)))
    elif geometry == "line":
        pen = QPen(qcolor(style.stroke or style.fill or "#333333", style.alpha), max(1.2, pt_to_px(style.stroke_width)))
        if style.dash:
            pen.setDashPattern([max(0.5, d) for d in style.dash])
        painter.setPen(pen)
        painter.drawLine(QPointF(2, size - 4), QPointF(size - 2, 4))
    elif geometry == "raster":
        painter.fillRect(QRectF(1, 1, size - 2, size - 2), qcolor(style.fill, 1.0))
    else:
        painter.setBrush(QBrush(qcolor(style.fill, style.alpha)) if style.fill else Qt.NoBrush)
        painter.setPen(QPen(qcolor(style.stroke, 1.0), max(1.0, pt_to_px(style.stroke_width))) if style.stroke
                       else Qt.NoPen)
        painter.drawRect(QRectF(2, 2, size - 4, size - 4))
        if style.hatch in HATCHES:
            painter.setBrush(QBrush(qcolor(style.stroke or "#000000", 0.8), HATCHES[style.hatch]))
            painter.setPen(Qt.NoPen)
            painter.drawRect(QRectF(2, 2, size - 4, size - 4))
    painter.end()
    return QPixmap.fromImage(image)


def colour_lut(breaks, colours, beyond: str | None, n: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(breaks array, premultiplied ARGB uint32 per class incl. 'beyond') for np.digitize."""
    values = []
    for c in list(colours) + [beyond or colours[-1]]:
        q = QColor(c)
        values.append((255 << 24) | (q.red() << 16) | (q.green() << 8) | q.blue())
    return np.asarray(breaks, dtype=np.float64), np.asarray(values, dtype=np.uint32)


def classify_to_argb(values: np.ndarray, breaks: np.ndarray, argb: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Map a float grid to premultiplied ARGB pixels by class breaks; NaN -> transparent.

    Class i covers (breaks[i], breaks[i+1]]; values above the last break get ``argb[-1]``.
    """
    # the colour table is premultiplied, not the pixels, and NaN looks up a transparent entry:
    # one pass over the grid and one uint32 image (a what-if repaints the whole raster)
    lut = np.asarray(argb, dtype=np.uint32)
    if alpha < 1.0:
        lut = premultiply(lut, alpha)
    lut = np.append(lut, np.uint32(0))
    edges = np.asarray(breaks[1:], dtype=np.float64)
    if values.dtype == np.float32 and np.array_equal(edges.astype(np.float32), edges):
        edges = edges.astype(np.float32)  # the same comparisons without a float64 copy of the grid
    idx = np.searchsorted(edges, values, side="left")
    np.minimum(idx, len(lut) - 2, out=idx)
    idx[np.isnan(values)] = len(lut) - 1
    return lut[idx]


def premultiply(argb: np.ndarray, alpha: float) -> np.ndarray:
    a = np.uint32(int(round(alpha * 255)))
    rb = ((argb & _MASK) * a >> _EIGHT) & _MASK
    ag = (((argb >> _EIGHT) & _MASK) * a >> _EIGHT) & _MASK
    return (rb | (ag << _EIGHT)).astype(np.uint32)


def image_from_argb(argb: np.ndarray) -> QImage:
    """A QImage owning a copy of an (h, w) premultiplied ARGB32 array."""
    argb = np.ascontiguousarray(argb, dtype=np.uint32)
    h, w = argb.shape
    image = QImage(w, h, QImage.Format_ARGB32_Premultiplied)
    np.frombuffer(image.bits(), np.uint32).reshape(h, w)[:] = argb
    return image


def reproject_reusing(geoms, map_crs, previous):
    """``geoms`` (a GeoSeries) in ``map_crs`` as an object array, and the record to pass as
    ``previous`` next time. A geometry object also in the previous call's series (shapely
    geometries are immutable; a what-if result's villages and untouched catchments are the
    same objects as its parent's) keeps its projected copy, so only the new ones are
    reprojected; the record keeps the previous geometries alive for that."""
    source = np.asarray(geoms.values, dtype=object)
    if geoms.crs is None or map_crs is None or geoms.crs.equals(map_crs):
        return source, None
    out = None
    if previous is not None and (previous[0] is geoms.crs or previous[0] == geoms.crs) and len(source):
        where = {id(g): i for i, g in enumerate(previous[1])}
        hit = np.fromiter((where.get(id(g), -1) for g in source), dtype=np.int64, count=len(source))
        known = hit >= 0
        if known.any():
            out = np.empty(len(source), dtype=object)
            out[known] = previous[2][hit[known]]
            if not known.all():
                out[~known] = np.asarray(geoms[~known].to_crs(map_crs).values, dtype=object)
    if out is None:
        out = np.asarray(geoms.to_crs(map_crs).values, dtype=object)
    return out, (geoms.crs, source, out)


def changed_window(old: np.ndarray, new: np.ndarray):
    """((r0, r1), (c0, c1)) bounding the cells where two grids differ (NaN equals NaN); None if none."""
    diff = old != new
    if old.dtype.kind == "f":
        diff &= ~(np.isnan(old) & np.isnan(new))
    rows = np.flatnonzero(diff.any(axis=1))
    if not len(rows):
        return None
    cols = np.flatnonzero(diff.any(axis=0))
    return (int(rows[0]), int(rows[-1]) + 1), (int(cols[0]), int(cols[-1]) + 1)
