"""Map layers of the canvas: what to draw and what a click on it finds (how features are
classified and coloured is :mod:`coverage_app.ui.layer_symbols`).

Coordinates: every layer is held in *map coordinates* = metres of the project's working CRS
(the UTM zone chosen by :func:`coverage_app.core.data.crs.working_crs_for`, EPSG:32646 for
Sagaing). That is also the CRS of the analysis grid, so travel-time rasters are placed by
the grid transform exactly, and scale (1:N) and the scale bar are plain arithmetic.
Geometries are reprojected once when a layer is created; drawing only applies the view
transform (a QTransform for paths, numpy arithmetic for points).

A :class:`LayerStack` holds the layers in drawing order (index 0 = drawn last, on top,
like the layer panel) and tells the canvas and the panel when something changed.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import shapely
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPainterPath, QPen, QPixmap, QTransform

from coverage_app.core.outputs import symbology as sym
from coverage_app.core.outputs.symbology import Style

from . import render
from .render import changed_window  # noqa: F401  (maplayers.changed_window, as before)
from .layer_symbols import (LANDCOVER_COLOURS, LINE, PALETTE, POINT, POLYGON, RAMP, RASTER,  # noqa: F401
                            SymbolClass, apply_overrides, category_colours, grey_colours, symbolise,
                            travel_time_colours)

MAX_LABELS = 300          # more features than this in view: no labels (level of detail)
LABEL_FIELDS = {"English name": ("name_en", "name"), "Burmese name": ("name_my",)}
_keys = itertools.count(1)


@dataclass
class RenderContext:
    painter: QPainter
    pixels: np.ndarray           # (h, w) uint32 view of the premultiplied ARGB32 map image
    world: QTransform            # map coordinates -> device pixels
    x0: float                    # map x of the left edge
    y1: float                    # map y of the top edge
    k: float                     # device pixels per metre
    width: int                   # device pixels
    height: int
    dpr: float
    view: tuple[float, float, float, float]  # minx, miny, maxx, maxy (map coordinates)
    labels: list                 # (priority, x_px, y_px, text, size_pt, colour, halo)


# ---------------------------------------------------------------------------------------

class MapLayer:
    """Base of every drawable layer. ``style`` is the dict saved in the project (LayerRef.style)."""

    geometry = POLYGON

    def __init__(self, title: str, role: str, *, ref=None, visible: bool = True, style: dict | None = None,
                 key: str | None = None, result: bool = False):
        self.key = key or f"layer{next(_keys)}"
        self.title = title
        self.role = role
        self.ref = ref
        self.result = result
        self._visible = bool(visible)
        self.style = style if style is not None else (ref.style if ref is not None else {})
        self.version = 0
        self.problems = []

    @property
    def visible(self) -> bool:
        return self._visible

    @visible.setter
    def visible(self, value: bool) -> None:
        self._visible = bool(value)
        if self.ref is not None:
            self.ref.visible = bool(value)

    @property
    def opacity(self) -> float:
        return float(self.style.get("opacity", 1.0))

    def touch(self) -> None:
        self.version += 1

    def count(self) -> int:
        return 0

    def extent(self):
        return None

    def draw(self, ctx: RenderContext) -> None:
        raise NotImplementedError

    def legend(self) -> list[tuple[str, QPixmap]]:
        return []

    def identify(self, x: float, y: float, tolerance: float) -> list[int]:
        return []

    def attributes(self, row: int) -> list[tuple[str, object]]:
        return []

    def feature_geometry(self, row: int):
        return None

    def fields(self) -> list[str]:
        return []


class VectorLayer(MapLayer):
    """Points, lines or polygons from a GeoDataFrame (any CRS), drawn in map coordinates."""

    def __init__(self, title: str, role: str, frame, map_crs, **kwargs):
        super().__init__(title, role, **kwargs)
        self.map_crs = map_crs
        self.set_frame(frame)

    # -- data --------------------------------------------------------------------------
    def set_frame(self, frame) -> None:
        frame = frame.reset_index(drop=True)
        self.frame = frame
        self.geoms = self._projected(frame.geometry)
        types = set(shapely.get_type_id(self.geoms[~shapely.is_missing(self.geoms)]).tolist())
        if types and types <= {0, 4}:
            self.geometry = POINT
            self.geoms = np.array([g if shapely.get_type_id(g) == 0 else shapely.get_geometry(g, 0)
                                   for g in self.geoms], dtype=object) if 4 in types else self.geoms
            self.xs = shapely.get_x(self.geoms).astype(np.float64)
            self.ys = shapely.get_y(self.geoms).astype(np.float64)
        elif types and types <= {1, 2, 5}:
            self.geometry = LINE
        else:
            self.geometry = POLYGON
        valid = self.geoms[~shapely.is_missing(self.geoms)]
        self._extent = tuple(shapely.total_bounds(valid)) if len(valid) else None
        self._tree = None
        self._anchors = None
        self.touch()

    def _projected(self, geoms) -> np.ndarray:
        """``geoms`` in the map CRS, reprojecting only geometries new to this layer
        (:func:`render.reproject_reusing`)."""
        out, self._source = render.reproject_reusing(geoms, self.map_crs, getattr(self, "_source", None))
        return out

    def touch(self) -> None:
        super().touch()
        self._classes = None
        self._paths: dict = {}

    def count(self) -> int:
        return len(self.frame)

    def extent(self):
        if self._extent is None or not all(map(math.isfinite, self._extent)):
            return None
        return self._extent

    def fields(self) -> list[str]:
        return [c for c in self.frame.columns if c != self.frame.geometry.name]

    # -- symbology ---------------------------------------------------------------------
    def classes(self) -> list[SymbolClass]:
        if self._classes is None:
            self._classes = symbolise(self)
        return self._classes

    def base_style(self) -> Style:
        """Single-symbol style: the role's default with the user's overrides."""
        default = sym.ROLE_STYLES.get(self.role, sym.ROLE_STYLES["reference"])
        if self.geometry == POINT and self.role in ("facilities",):
            default = sym.facility_style("functioning", False)
        return apply_overrides(default, self.style)

    def legend(self) -> list[tuple[str, QPixmap]]:
        out = []
        for c in self.classes():
            if c.rows is not None and len(c.rows) == 0 and self.style.get("mode", "auto") == "auto":
                continue
            out.append((c.label or self.title, render.style_icon(c.style, self.geometry)))
        return out

    # -- drawing -----------------------------------------------------------------------
    def draw(self, ctx: RenderContext) -> None:
        if self.geometry == POINT:
            self._draw_points(ctx)
        else:
            self._draw_paths(ctx)
        self._collect_labels(ctx)

    def _draw_points(self, ctx: RenderContext) -> None:
        if not len(self.frame):
            return
        px = np.rint((self.xs - ctx.x0) * ctx.k).astype(np.int64)
        py = np.rint((ctx.y1 - self.ys) * ctx.k).astype(np.int64)
        ok = np.isfinite(self.xs) & np.isfinite(self.ys)
        ok &= (px > -20) & (px < ctx.width + 20) & (py > -20) & (py < ctx.height + 20)
        single = self.style.get("mode", "auto") == "single"  # then "size" is in the style itself
        scale_size = 1.0 if single else float(self.style.get("size_scale", 1.0))
        for cls in self.classes():
            rows = cls.rows
            sel = ok if rows is None else np.zeros_like(ok)
            if rows is not None:
                sel[rows] = True
                sel &= ok
            if not sel.any():
                continue
            style = cls.style
            size = render.pt_to_px(style.size * scale_size, ctx.dpr)
            stroke = render.pt_to_px(style.stroke_width, ctx.dpr) if style.stroke else 0.0
            spr = render.sprite(style, size, stroke, self.opacity)
            render.stamp(ctx.pixels, px[sel], py[sel], spr)

    def _class_path(self, cls: SymbolClass, scale: float) -> QPainterPath:
        """The class's geometries as one path, simplified to half a pixel at this zoom (cached)."""
        lod = int(math.floor(math.log2(max(scale, 1e-3))))
        key = (cls.key, lod if lod >= 3 else None)
        path = self._paths.get(key)
        if path is None:
            geoms = self.geoms if cls.rows is None else self.geoms[cls.rows]
            if key[1] is not None:
                geoms = shapely.simplify(geoms, (2.0 ** lod) * 0.5, preserve_topology=False)
            path = render.path_from_geometries(geoms, closed=self.geometry == POLYGON)
            self._paths[key] = path
        return path

    def _draw_paths(self, ctx: RenderContext) -> None:
        painter = ctx.painter
        view = QRectF(ctx.view[0], ctx.view[1], ctx.view[2] - ctx.view[0], ctx.view[3] - ctx.view[1])
        for cls in self.classes():
            if cls.rows is not None and len(cls.rows) == 0:
                continue
            path = self._class_path(cls, 1.0 / ctx.k * ctx.dpr)
            if path.isEmpty() or not path.controlPointRect().intersects(view):
                continue
            style = cls.style
            painter.setTransform(ctx.world)
            if self.geometry == POLYGON and style.fill:
                painter.setBrush(QBrush(render.qcolor(style.fill, style.alpha * self.opacity)))
            else:
                painter.setBrush(Qt.NoBrush)
            if style.stroke and style.stroke_width > 0:
                width = render.pt_to_px(style.stroke_width, ctx.dpr)
                # Qt's fast path draws cosmetic pens up to 1 px; wider antialiased strokes cost 20x
                pen = QPen(render.qcolor(style.stroke, self.opacity), 1.0 if width < 1.4 else width)
                pen.setCosmetic(True)
                pen.setJoinStyle(Qt.RoundJoin)
                pen.setCapStyle(Qt.RoundCap)
                if style.dash:
                    pen.setDashPattern([max(0.5, d) for d in style.dash])
                painter.setPen(pen)
            else:
                painter.setPen(Qt.NoPen)
            painter.drawPath(path)
            if self.geometry == POLYGON and style.hatch in render.HATCHES:
                painter.resetTransform()
                painter.setPen(Qt.NoPen)
                painter.setBrush(QBrush(render.qcolor(style.stroke or "#000000", 0.55 * self.opacity),
                                        render.HATCHES[style.hatch]))
                painter.drawPath(ctx.world.map(path))
        painter.resetTransform()

    # -- labels ------------------------------------------------------------------------
    def label_field(self) -> str | None:
        field = self.style.get("label_field")
        if field and field in self.frame.columns:
            return field
        return None

    def anchors(self):
        if self._anchors is None:
            if self.geometry == POINT:
                self._anchors = (self.xs, self.ys)
            else:
                pts = shapely.point_on_surface(self.geoms) if self.geometry == POLYGON else \
                    shapely.line_interpolate_point(self.geoms, 0.5, normalized=True)
                self._anchors = (shapely.get_x(pts), shapely.get_y(pts))
        return self._anchors

    def _collect_labels(self, ctx: RenderContext) -> None:
        field = self.label_field()
        if field is None or not len(self.frame):
            return
        xs, ys = self.anchors()
        minx, miny, maxx, maxy = ctx.view
        inside = np.flatnonzero((xs >= minx) & (xs <= maxx) & (ys >= miny) & (ys <= maxy))
        if len(inside) > int(self.style.get("label_max", MAX_LABELS)):
            return
        values = self.frame[field].to_numpy()
        size = float(self.style.get("label_size", 8.0 if self.geometry == POLYGON else 7.0))
        colour = self.style.get("label_colour", "#222222")
        priority = {POLYGON: 2, LINE: 1, POINT: 0}[self.geometry]
        offset = 0.0 if self.geometry == POLYGON else render.pt_to_px(4.0, ctx.dpr)
        for i in inside.tolist():
            text = values[i]
            if text is None or (isinstance(text, float) and math.isnan(text)) or str(text).strip() == "":
                continue
            ctx.labels.append((priority, (xs[i] - ctx.x0) * ctx.k + offset, (ctx.y1 - ys[i]) * ctx.k,
                               str(text), size, colour, self.geometry == POLYGON))

    # -- identify ----------------------------------------------------------------------
    def identify(self, x: float, y: float, tolerance: float) -> list[int]:
        if not len(self.frame):
            return []
        if self.geometry == POINT:
            d = np.hypot(self.xs - x, self.ys - y)
            d[~np.isfinite(d)] = np.inf
            order = np.argsort(d)
            return [int(i) for i in order[:5] if d[i] <= tolerance]
        if self._tree is None:
            self._tree = shapely.STRtree(self.geoms)
        point = shapely.Point(x, y)
        if self.geometry == POLYGON:
            hits = self._tree.query(point, predicate="intersects")
            if len(hits) == 0:
                hits = self._tree.query(point.buffer(tolerance), predicate="intersects")
        else:
            hits = self._tree.query(point.buffer(tolerance), predicate="intersects")
        if len(hits) == 0:
            return []
        dist = shapely.distance(self.geoms[hits], point)
        return [int(hits[i]) for i in np.argsort(dist)[:5]]

    def attributes(self, row: int) -> list[tuple[str, object]]:
        record = self.frame.iloc[row]
        out = []
        for name in self.fields():
            value = record[name]
            if isinstance(value, float) and value.is_integer() and abs(value) < 1e15 and \
                    name in ("population", "pop", "census_pop"):
                value = int(value)
            out.append((name, value))
        return out

    def feature_geometry(self, row: int):
        return self.geoms[row]



class RasterLayer(MapLayer):
    """A grid drawn as an image placed by its affine transform (map coordinates)."""

    geometry = RASTER

    def __init__(self, title: str, role: str, values: np.ndarray, transform, *, legend_items=None,
                 colour: Callable[[np.ndarray, float], np.ndarray] | None = None, unit: str = "", **kwargs):
        super().__init__(title, role, **kwargs)
        self.unit = unit
        self._legend_items = legend_items or []
        self._colour = colour
        self._count = None
        self.set_values(values, transform)

    def set_values(self, values: np.ndarray, transform, edited=None) -> None:
        """New values; on the same grid the drawn image is updated in place, only in the window of
        the cells that changed (a what-if changes one facility's area: recolouring the whole
        grid took most of a repaint at 100 m). The same array again changes nothing.
        ``edited``: :attr:`TierResult.edited` of ``values`` ((weakref to the parent's values,
        window)); when the parent is the array on show, its window is used instead of comparing
        the two grids in full."""
        old, image = getattr(self, "values", None), getattr(self, "_image", None)
        same_grid = old is not None and old.shape == values.shape and transform == self.transform
        if same_grid and values is old:
            return
        if same_grid and values.dtype == old.dtype and (
                (image is not None and self._colour is not None) or self._count is not None):
            if edited is not None and edited[0]() is old:
                window = edited[1]
                if window[0][0] >= window[0][1] or window[1][0] >= window[1][1]:
                    window = None
            else:
                window = changed_window(old, values)
            self.values = values
            if window is not None:
                (r0, r1), (c0, c1) = window
                if self._count is not None and values.dtype.kind == "f":
                    self._count += int(np.isfinite(values[r0:r1, c0:c1]).sum()) - \
                        int(np.isfinite(old[r0:r1, c0:c1]).sum())
                if image is not None and self._colour is not None:
                    pixels = np.frombuffer(image.bits(), np.uint32).reshape(image.height(), image.width())
                    pixels[r0:r1, c0:c1] = self._colour(values[r0:r1, c0:c1], self._image_opacity)
                else:
                    self._image = None
            self.touch()
            return
        self.values = values
        self.transform = transform  # affine.Affine: (col, row) -> map coordinates
        self._image = None
        self._image_opacity = None
        self._count = None
        self.touch()

    def count(self) -> int:
        """Cells with a value (finite, for a float grid); kept up to date by an in-place update."""
        if self._count is None:
            self._count = int(np.isfinite(self.values).sum()) if self.values.dtype.kind == "f" \
                else int(self.values.size)
        return self._count

    def extent(self):
        rows, cols = self.values.shape
        t = self.transform
        xs = [t.c, t.c + cols * t.a]
        ys = [t.f, t.f + rows * t.e]
        return min(xs), min(ys), max(xs), max(ys)

    def image(self) -> QImage:
        opacity = self.opacity
        if self._image is None or self._image_opacity != opacity:
            argb = self._colour(self.values, opacity)
            self._image = render.image_from_argb(argb)
            self._image_opacity = opacity
        return self._image

    def draw(self, ctx: RenderContext) -> None:
        t = self.transform
        placed = QTransform(t.a, t.d, t.b, t.e, t.c, t.f) * ctx.world
        painter = ctx.painter
        painter.setTransform(placed)
        painter.setRenderHint(QPainter.SmoothPixmapTransform, False)
        painter.drawImage(QPointF(0, 0), self.image())
        painter.resetTransform()

    def legend(self) -> list[tuple[str, QPixmap]]:
        return [(label, render.style_icon(Style(fill=colour), RASTER)) for label, colour in self._legend_items]

    def identify(self, x: float, y: float, tolerance: float) -> list[int]:
        col, row = _apply(~self.transform, (x, y))
        row, col = int(math.floor(row)), int(math.floor(col))
        if 0 <= row < self.values.shape[0] and 0 <= col < self.values.shape[1]:
            return [row * self.values.shape[1] + col]
        return []

    def attributes(self, index: int) -> list[tuple[str, object]]:
        row, col = divmod(index, self.values.shape[1])
        value = self.values[row, col]
        if self.values.dtype.kind == "f":
            shown = "unreachable / outside" if not np.isfinite(value) else round(float(value), 1)
        else:
            shown = int(value)
        x, y = _apply(self.transform, (col + 0.5, row + 0.5))
        return [(f"value ({self.unit})" if self.unit else "value", shown), ("cell (row, col)", f"{row}, {col}"),
                ("cell centre (map x, y)", f"{x:.0f}, {y:.0f}")]

    def feature_geometry(self, index: int):
        row, col = divmod(index, self.values.shape[1])
        t = self.transform
        x0, y0 = _apply(t, (col, row))
        x1, y1 = _apply(t, (col + 1, row + 1))
        return shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _apply(transform, point):
    """An affine transform applied to a point (``@`` in affine >= 2.4, ``*`` before)."""
    try:
        return transform @ point
    except TypeError:  # pragma: no cover - older affine
        return transform * point


# ---------------------------------------------------------------------------------------

class LayerStack(QObject):
    """Layers in drawing order: index 0 is on top (drawn last), as in the layer panel."""

    structure_changed = Signal()      # added, removed or reordered
    layer_changed = Signal(object)    # style, visibility or data of one layer

    def __init__(self, parent=None):
        super().__init__(parent)
        self.layers: list[MapLayer] = []
        self.version = 0

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    def bump(self) -> None:
        self.version += 1

    def find(self, key: str) -> MapLayer | None:
        return next((l for l in self.layers if l.key == key), None)

    def by_title(self, title: str) -> MapLayer | None:
        return next((l for l in self.layers if l.title == title), None)

    def index(self, layer: MapLayer) -> int:
        return self.layers.index(layer)

    def insert(self, index: int, layer: MapLayer) -> None:
        index = max(0, min(index, len(self.layers)))
        self.layers.insert(index, layer)
        self.bump()
        self.structure_changed.emit()

    def append(self, layer: MapLayer) -> None:
        self.insert(len(self.layers), layer)

    def remove(self, layer: MapLayer) -> None:
        if layer in self.layers:
            self.layers.remove(layer)
            self.bump()
            self.structure_changed.emit()

    def move(self, layer: MapLayer, index: int) -> None:
        if layer not in self.layers:
            return
        self.layers.remove(layer)
        self.layers.insert(max(0, min(index, len(self.layers))), layer)
        self.bump()
        self.structure_changed.emit()

    def reorder(self, keys: list[str]) -> None:
        by_key = {l.key: l for l in self.layers}
        ordered = [by_key[k] for k in keys if k in by_key]
        ordered += [l for l in self.layers if l not in ordered]
        if ordered != self.layers:
            self.layers = ordered
            self.bump()
            self.structure_changed.emit()

    def changed(self, layer: MapLayer) -> None:
        layer.touch()
        self.bump()
        self.layer_changed.emit(layer)

    def set_visible(self, layer: MapLayer, visible: bool) -> None:
        if layer.visible != bool(visible):
            layer.visible = visible
            self.bump()
            self.layer_changed.emit(layer)

    def clear(self) -> None:
        self.layers = []
        self.bump()
        self.structure_changed.emit()

    def bottom_up(self, visible_only: bool = True) -> list[MapLayer]:
        return [l for l in reversed(self.layers) if l.visible or not visible_only]

    def extent(self, layers=None):
        boxes = [l.extent() for l in (layers or self.layers)]
        boxes = [b for b in boxes if b is not None]
        if not boxes:
            return None
        arr = np.array(boxes)
        return float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max())


def draw_labels(painter: QPainter, labels: list, width: int, height: int, dpr: float, font: QFont,
                blocked=()) -> None:
    """Draw collected labels on top, higher priority first, skipping overlapping ones and
    those that would run off the image or under ``blocked`` rectangles (legend, scale bar)."""
    if not labels:
        return
    taken: list[QRectF] = []
    grid: dict = {}
    cell = 64.0
    labels = sorted(labels, key=lambda l: -l[0])
    painter.resetTransform()
    halo_pen = QPen(QColor(255, 255, 255, 210), 2.6 * dpr)
    halo_pen.setJoinStyle(Qt.RoundJoin)
    for priority, x, y, text, size, colour, centred in labels:
        f = QFont(font)
        f.setPointSizeF(size)
        if centred:
            f.setBold(True)
        painter.setFont(f)
        metrics = painter.fontMetrics()
        w = metrics.horizontalAdvance(text)
        h = metrics.height()
        rx = x - w / 2 if centred else x
        rect = QRectF(rx, y - h / 2, w, h)
        if rect.left() < 0 or rect.right() > width or rect.top() < 0 or rect.bottom() > height:
            continue
        if any(b.intersects(rect) for b in blocked):
            continue
        keys = [(i, j) for i in range(int(rect.left() // cell), int(rect.right() // cell) + 1)
                for j in range(int(rect.top() // cell), int(rect.bottom() // cell) + 1)]
        if any(r.intersects(rect) for key in keys for r in grid.get(key, ())):
            continue
        for key in keys:
            grid.setdefault(key, []).append(rect)
        taken.append(rect)
        path = QPainterPath()
        path.addText(QPointF(rect.left(), rect.top() + metrics.ascent()), f, text)
        painter.strokePath(path, halo_pen)
        painter.fillPath(path, QBrush(QColor(colour)))
