"""The map canvas: a QWidget painting the layer stack with QPainter.

View state: centre (map metres) and scale (metres per logical pixel). The layers are
rendered into one cached QImage per view; a paint that does not change the view (cursor
moves, overlays) only blits it. Panning and wheel zooming show the previous image moved or
scaled at once (a few milliseconds), and the full image is rendered when the render is fast
(< 40 ms, the usual case) in the same frame, otherwise after a short pause in the gesture —
the way QGIS keeps interaction smooth with big layers.

Coordinates in the status bar are longitude/latitude; the scale is 1:N at the screen's
logical DPI. A scale bar and a compact legend are drawn over the map.

Long because: one widget whose view state, render cache, gestures and overlays share the same
fields and timing; split, each part would reach into the others.
"""

from __future__ import annotations

import math
import time

import numpy as np
from pyproj import CRS, Transformer
from PySide6.QtCore import QElapsedTimer, QPoint, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPainterPath, QPen, QTransform
from PySide6.QtWidgets import QSizePolicy, QWidget

from . import render
from .maplayers import LayerStack, RenderContext, draw_labels

BACKGROUND = QColor("#f4f1ea")
MIN_SCALE = 0.25        # metres per pixel (closest zoom)
MAX_SCALE = 50_000.0    # metres per pixel (widest zoom)
FAST_RENDER_MS = 40.0
DRAG_THRESHOLD = 4      # pixels before a press becomes a pan


class MapCanvas(QWidget):
    cursor_moved = Signal(float, float)        # lon, lat
    scale_changed = Signal(float)              # N of 1:N
    view_changed = Signal()
    map_clicked = Signal(float, float, object)  # map x, map y, Qt.MouseButton
    files_dropped = Signal(list)
    rendered = Signal(float)                   # milliseconds of the last full render
    legend_toggled = Signal(bool)              # the legend was folded (True) or unfolded
    rect_dragged = Signal(float, float, float, float)  # a box drawn by a drag tool (map x0, y0, x1, y1)
    map_double_clicked = Signal(float, float)  # finishes a sketch (measure, zone polygon)
    crs_changed = Signal(object)

    def __init__(self, stack: LayerStack, parent=None):
        super().__init__(parent)
        self.stack = stack
        self.setObjectName("map_canvas")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setAcceptDrops(True)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(200, 150)
        self.setAttribute(Qt.WA_OpaquePaintEvent, True)
        self.cx, self.cy, self.scale = 0.0, 0.0, 100.0
        self._have_view = False
        self.crs = CRS.from_epsg(32646)
        self._to_lonlat = Transformer.from_crs(self.crs, 4326, always_xy=True)
        self.tool = "pan"
        self.show_legend = True
        self.legend_collapsed = False  # the legend folds to its title chip (click its title)
        self.show_scalebar = True
        self.highlight = []            # shapely geometries in map coordinates
        self.sketch: list[tuple[float, float]] = []   # vertices being drawn (measure, zone), map coordinates
        self.sketch_closed = False     # draw the sketch as a polygon
        self.sketch_cursor = None      # (x, y) map point following the mouse while sketching
        self._rubber = None            # (QPoint, QPoint) of a box drag, screen px
        self.highlight_colour = QColor("#00e5ff")
        self.font_ui = QFont()
        # render cache
        self._image: QImage | None = None
        self._image_view = None         # (cx, cy, scale, w, h, version) the image was drawn for
        self.last_render_ms = 0.0
        self.render_times: list[float] = []
        self.frame_times: list[float] = []
        self._interacting = False
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(120)
        self._idle.timeout.connect(self._end_interaction)
        # mouse state
        self._press_pos: QPoint | None = None
        self._press_view = None
        self._dragging = False
        stack.structure_changed.connect(self.refresh)
        stack.layer_changed.connect(lambda _layer: self.refresh())

    # -- CRS and view -----------------------------------------------------------------------
    def set_crs(self, crs) -> None:
        self.crs = CRS(crs)
        self._to_lonlat = Transformer.from_crs(self.crs, 4326, always_xy=True)
        self._from_lonlat = Transformer.from_crs(4326, self.crs, always_xy=True)
        self.crs_changed.emit(self.crs)
        self.refresh()

    def lonlat_to_map(self, lon: float, lat: float) -> tuple[float, float]:
        if not hasattr(self, "_from_lonlat"):
            self._from_lonlat = Transformer.from_crs(4326, self.crs, always_xy=True)
        return self._from_lonlat.transform(lon, lat)

    def map_to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        return self._to_lonlat.transform(x, y)

    def view_state(self) -> tuple[float, float, float]:
        return self.cx, self.cy, self.scale

    def set_view(self, cx: float, cy: float, scale: float) -> None:
        scale = float(min(max(scale, MIN_SCALE), MAX_SCALE))
        if (cx, cy, scale) == (self.cx, self.cy, self.scale) and self._have_view:
            return
        self.cx, self.cy, self.scale = float(cx), float(cy), scale
        self._have_view = True
        self.scale_changed.emit(self.scale_denominator())
        self.view_changed.emit()
        self.update()

    def visible_extent(self) -> tuple[float, float, float, float]:
        w, h = self.width() * self.scale / 2, self.height() * self.scale / 2
        return self.cx - w, self.cy - h, self.cx + w, self.cy + h

    def zoom_to_extent(self, extent, margin: float = 0.05) -> None:
        if extent is None:
            return
        minx, miny, maxx, maxy = extent
        if not all(map(math.isfinite, extent)):
            return
        w = max(maxx - minx, 200.0) * (1 + 2 * margin)
        h = max(maxy - miny, 200.0) * (1 + 2 * margin)
        scale = max(w / max(self.width(), 1), h / max(self.height(), 1))
        self.set_view((minx + maxx) / 2, (miny + maxy) / 2, scale)

    def zoom_full(self) -> None:
        self.zoom_to_extent(self.stack.extent([l for l in self.stack if l.visible]) or self.stack.extent())

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom in (factor > 1) or out, keeping the map point under ``anchor`` fixed."""
        if anchor is None:
            anchor = QPointF(self.width() / 2, self.height() / 2)
        ax, ay = self.to_map(anchor.x(), anchor.y())
        scale = min(max(self.scale / factor, MIN_SCALE), MAX_SCALE)
        cx = ax - (anchor.x() - self.width() / 2) * scale
        cy = ay + (anchor.y() - self.height() / 2) * scale
        self._begin_interaction()
        self.set_view(cx, cy, scale)

    def pan_by(self, dx_px: float, dy_px: float) -> None:
        self.set_view(self.cx - dx_px * self.scale, self.cy + dy_px * self.scale, self.scale)

    def to_map(self, px: float, py: float) -> tuple[float, float]:
        return (self.cx + (px - self.width() / 2) * self.scale,
                self.cy - (py - self.height() / 2) * self.scale)

    def to_screen(self, x: float, y: float) -> tuple[float, float]:
        return ((x - self.cx) / self.scale + self.width() / 2, (self.cy - y) / self.scale + self.height() / 2)

    def scale_denominator(self) -> float:
        return self.scale * self.logicalDpiX() / 0.0254

    # -- rendering ----------------------------------------------------------------------
    def refresh(self) -> None:
        """The layers changed: draw them again on the next paint."""
        self._image_view = None
        self.update()

    def _view_key(self, w: int, h: int):
        return (self.cx, self.cy, self.scale, w, h, self.stack.version)

    def render_image(self, width: int, height: int, dpr: float = 1.0, view=None, overlays: bool | None = None) -> QImage:
        """Render the visible layers into a new image of ``width`` x ``height`` logical pixels."""
        cx, cy, scale = view or (self.cx, self.cy, self.scale)
        wd, hd = max(1, int(round(width * dpr))), max(1, int(round(height * dpr)))
        image = QImage(wd, hd, QImage.Format_ARGB32_Premultiplied)
        image.fill(BACKGROUND)
        pixels = np.frombuffer(image.bits(), np.uint32).reshape(hd, wd)
        k = dpr / scale
        x0 = cx - width / 2 * scale
        y1 = cy + height / 2 * scale
        world = QTransform(k, 0, 0, -k, -x0 * k, y1 * k)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.Antialiasing, True)
        painter.setRenderHint(QPainter.TextAntialiasing, True)
        view_box = (x0, y1 - height * scale, x0 + width * scale, y1)
        ctx = RenderContext(painter, pixels, world, x0, y1, k, wd, hd, dpr, view_box, [])
        for layer in self.stack.bottom_up():
            try:
                layer.draw(ctx)
            except Exception as exc:  # a broken layer must not stop the others
                import logging

                logging.getLogger("coverage_app.ui").exception("drawing layer %s failed: %s", layer.title, exc)
            painter.resetTransform()
            painter.setOpacity(1.0)
        blocked = []
        if overlays is not False and view is None and width == self.width() and height == self.height():
            blocked = [QRectF(r.x() * dpr, r.y() * dpr, r.width() * dpr, r.height() * dpr)
                       for r in self.overlay_rects()]
        draw_labels(painter, ctx.labels, wd, hd, dpr, self.font_ui, blocked)
        painter.end()
        image.setDevicePixelRatio(dpr)
        return image

    def _render_now(self) -> None:
        timer = QElapsedTimer()
        timer.start()
        dpr = self.devicePixelRatioF()
        self._image = self.render_image(self.width(), self.height(), dpr)
        self._image_view = self._view_key(self.width(), self.height())
        self.last_render_ms = timer.nsecsElapsed() / 1e6
        self.render_times.append(self.last_render_ms)
        del self.render_times[:-200]
        self.rendered.emit(self.last_render_ms)

    def _begin_interaction(self) -> None:
        self._interacting = True
        self._idle.start()

    def _end_interaction(self) -> None:
        if self._dragging:
            self._idle.start()
            return
        self._interacting = False
        if self._image_view != self._view_key(self.width(), self.height()):
            self.update()

    def paintEvent(self, event) -> None:
        timer = QElapsedTimer()
        timer.start()
        painter = QPainter(self)
        key = self._view_key(self.width(), self.height())
        if self._image_view != key:
            stale_ok = (self._image is not None and self._interacting and self.last_render_ms > FAST_RENDER_MS
                        and self._image_view is not None and self._image_view[5] == self.stack.version
                        and self._image_view[3:5] == key[3:5])
            if stale_ok:
                self._draw_preview(painter)
            else:
                self._render_now()
        if self._image_view == key and self._image is not None:
            painter.drawImage(QPointF(0, 0), self._image)
        painter.setRenderHint(QPainter.Antialiasing, True)
        self._draw_highlight(painter)
        self._draw_sketch(painter)
        if self.show_scalebar:
            self._draw_scalebar(painter)
        if self.show_legend:
            self._draw_legend(painter)
        if not len(self.stack):
            painter.setPen(QColor("#666666"))
            painter.drawText(self.rect(), Qt.AlignCenter, "No layers yet — File ▸ Add layer… or drop files here")
        painter.end()
        self.frame_times.append(timer.nsecsElapsed() / 1e6)
        del self.frame_times[:-200]

    def _draw_preview(self, painter: QPainter) -> None:
        """The last image moved/scaled to the current view (during a gesture)."""
        painter.fillRect(self.rect(), BACKGROUND)
        cx, cy, scale = self._image_view[:3]
        f = scale / self.scale
        w, h = self.width(), self.height()
        # where the old image's top-left lands in the current view
        ox, oy = self.to_screen(cx - w / 2 * scale, cy + h / 2 * scale)
        painter.setRenderHint(QPainter.SmoothPixmapTransform, False)
        painter.drawImage(QRectF(ox, oy, w * f, h * f), self._image)

    def _draw_highlight(self, painter: QPainter) -> None:
        if not self.highlight:
            return
        import shapely

        k = 1.0 / self.scale
        x0, _, _, y1 = self.visible_extent()
        world = QTransform(k, 0, 0, -k, -x0 * k, y1 * k)
        pen = QPen(self.highlight_colour, 3)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(QColor(0, 229, 255, 50))
        for geom in self.highlight:
            if geom is None or geom.is_empty:
                continue
            if geom.geom_type == "Point":
                x, y = self.to_screen(geom.x, geom.y)
                painter.drawEllipse(QPointF(x, y), 9, 9)
                continue
            path = render.path_from_geometries([geom], closed=geom.geom_type.endswith("Polygon"))
            if not geom.geom_type.endswith("Polygon"):
                painter.setBrush(Qt.NoBrush)
            painter.drawPath(world.map(path))

    #: tools whose left-button drag draws a box instead of panning (pan with the middle button)
    BOX_TOOLS = ("select",)

    def _draw_sketch(self, painter: QPainter) -> None:
        if self._rubber is not None:
            a, b = self._rubber
            painter.setPen(QPen(QColor("#1f4e79"), 1, Qt.DashLine))
            painter.setBrush(QColor(31, 78, 121, 40))
            painter.drawRect(QRectF(QPointF(a), QPointF(b)).normalized())
        points = list(self.sketch) + ([self.sketch_cursor] if self.sketch and self.sketch_cursor else [])
        if not points:
            return
        screen = [QPointF(*self.to_screen(x, y)) for x, y in points]
        pen = QPen(QColor("#d7301f"), 2)
        painter.setPen(pen)
        if self.sketch_closed and len(screen) >= 3:
            painter.setBrush(QColor(215, 48, 31, 50))
            painter.drawPolygon(screen)
        else:
            painter.setBrush(Qt.NoBrush)
            painter.drawPolyline(screen)
        painter.setBrush(QColor("#d7301f"))
        for pt in screen[: len(self.sketch)]:
            painter.drawEllipse(pt, 3, 3)

    def _draw_scalebar(self, painter: QPainter) -> None:
        target_px = 120
        metres = target_px * self.scale
        if metres <= 0 or not math.isfinite(metres):
            return
        exp = 10 ** math.floor(math.log10(metres))
        nice = max(m * exp for m in (1, 2, 5) if m * exp <= metres) if metres >= exp else exp
        length = nice / self.scale
        x, y = 14, self.height() - 22
        text = f"{nice / 1000:g} km" if nice >= 1000 else f"{nice:g} m"
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(255, 255, 255, 200))
        painter.drawRoundedRect(QRectF(x - 6, y - 20, length + 60, 32), 4, 4)
        painter.setBrush(QColor("#222222"))
        painter.drawRect(QRectF(x, y, length / 2, 5))
        painter.setBrush(QColor("#ffffff"))
        painter.setPen(QPen(QColor("#222222"), 1))
        painter.drawRect(QRectF(x + length / 2, y, length / 2, 5))
        painter.drawRect(QRectF(x, y, length, 5))
        font = QFont(self.font_ui)
        font.setPointSizeF(8)
        painter.setFont(font)
        painter.drawText(QPointF(x, y - 5), "0")
        painter.drawText(QPointF(x + length + 4, y + 6), text)
        # north arrow
        nx, ny = self.width() - 26, 18
        painter.setBrush(QColor("#222222"))
        arrow = QPainterPath()
        arrow.moveTo(nx, ny)
        arrow.lineTo(nx + 7, ny + 18)
        arrow.lineTo(nx, ny + 13)
        arrow.lineTo(nx - 7, ny + 18)
        arrow.closeSubpath()
        painter.drawPath(arrow)
        painter.drawText(QRectF(nx - 10, ny + 18, 20, 16), Qt.AlignCenter, "N")

    #: roles whose classes the on-map legend explains (the layer panel lists every layer)
    LEGEND_ROLES = ("facilities", "conflict_zones", "villages", "catchments", "comparison", "travel_time")

    def legend_entries(self) -> list[tuple[str, list]]:
        out = []
        for layer in self.stack:
            wanted = layer.style.get("in_legend", layer.result or layer.role in self.LEGEND_ROLES)
            if not layer.visible or not wanted:
                continue
            items = layer.legend()
            if items:
                out.append((layer.title, items))
        return out

    def _legend_layout(self):
        """(rows, rect, fonts, line height) of the on-map legend, or None (cached per view)."""
        key = (self.stack.version, self.width(), self.height(), self.legend_collapsed)
        cached = getattr(self, "_legend_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        layout = self._compute_legend_layout()
        self._legend_cache = (key, layout)
        return layout

    def _compute_legend_layout(self):
        """Rows of the legend, cut to fit its corner; the first row is its title, which folds
        and unfolds it; long layer titles wrap (legend_layout.compute_layout)."""
        from .legend_layout import compute_layout

        return compute_layout(self.legend_entries(), self.font_ui, self.width(), self.height(),
                              self.legend_collapsed)

    def legend_header_rect(self) -> QRectF | None:
        """Where a click folds or unfolds the legend (logical px), or None."""
        if not self.show_legend:
            return None
        layout = self._legend_layout()
        if layout is None:
            return None
        rect, line = layout[1], layout[4]
        return QRectF(rect.x(), rect.y(), rect.width(), line + 5)

    def set_legend_collapsed(self, collapsed: bool) -> None:
        self.legend_collapsed = bool(collapsed)
        self._legend_cache = None
        self.legend_toggled.emit(self.legend_collapsed)
        self.update()

    def overlay_rects(self) -> list[QRectF]:
        """Parts of the canvas covered by the legend, scale bar and north arrow (logical px),
        extended to the canvas edge: map labels are not placed there."""
        out = [QRectF(0, self.height() - 48, 200, 48), QRectF(self.width() - 44, 0, 44, 44)]
        if self.show_legend:
            layout = self._legend_layout()
            if layout is not None:
                rect = layout[1]
                out.append(QRectF(rect.left() - 4, rect.top() - 4, self.width() - rect.left() + 4,
                                  self.height() - rect.top() + 4))
        return out

    def _draw_legend(self, painter: QPainter) -> None:
        from .legend_layout import draw_layout

        layout = self._legend_layout()
        if layout is not None:
            draw_layout(painter, layout)

    # -- events ---------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        """Keep what was in view in view: a bigger window shows the same extent larger
        (maximising re-fits the map), a smaller one zooms out to keep it."""
        old = event.oldSize()
        if not self._have_view and len(self.stack):
            self.zoom_full()
        elif self._have_view and old.isValid() and old.width() > 0 and old.height() > 0 \
                and self.width() > 0 and self.height() > 0:
            scale = max(old.width() * self.scale / self.width(), old.height() * self.scale / self.height())
            self.set_view(self.cx, self.cy, scale)
        super().resizeEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() in (Qt.LeftButton, Qt.MiddleButton):
            self._press_pos = event.position().toPoint()
            self._press_view = (self.cx, self.cy, self.scale)
            self._dragging = False
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        pos = event.position()
        x, y = self.to_map(pos.x(), pos.y())
        try:
            lon, lat = self._to_lonlat.transform(x, y)
            self.cursor_moved.emit(float(lon), float(lat))
        except Exception:
            pass
        if self.sketch:
            self.sketch_cursor = (x, y)
            self.update()
        if self._press_pos is not None and self.tool in self.BOX_TOOLS and event.buttons() & Qt.LeftButton:
            self._rubber = (self._press_pos, pos.toPoint())
            self.update()
            super().mouseMoveEvent(event)
            return
        if self._press_pos is not None and event.buttons() & (Qt.LeftButton | Qt.MiddleButton):
            delta = pos.toPoint() - self._press_pos
            if not self._dragging and (abs(delta.x()) > DRAG_THRESHOLD or abs(delta.y()) > DRAG_THRESHOLD):
                self._dragging = True
                self.setCursor(Qt.ClosedHandCursor)
            if self._dragging:
                cx, cy, scale = self._press_view
                self._begin_interaction()
                self.set_view(cx - delta.x() * scale, cy + delta.y() * scale, scale)
        super().mouseMoveEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        # (not QWidget's default, which would press again: the first click already added the vertex)
        if event.button() == Qt.LeftButton:
            self._press_pos = None
            pos = event.position()
            self.map_double_clicked.emit(*self.to_map(pos.x(), pos.y()))
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        if self._rubber is not None and event.button() == Qt.LeftButton:
            a, b = self._rubber
            self._rubber = None
            self._press_pos = None
            self.update()
            if (a - b).manhattanLength() > DRAG_THRESHOLD:
                x0, y0 = self.to_map(a.x(), a.y())
                x1, y1 = self.to_map(b.x(), b.y())
                self.rect_dragged.emit(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
                super().mouseReleaseEvent(event)
                return
        if self._press_pos is not None:
            header = self.legend_header_rect()
            if not self._dragging and event.button() == Qt.LeftButton and header is not None \
                    and header.contains(event.position()):
                self.set_legend_collapsed(not self.legend_collapsed)
            elif not self._dragging and event.button() == Qt.LeftButton:
                pos = event.position()
                x, y = self.to_map(pos.x(), pos.y())
                self.map_clicked.emit(x, y, event.button())
            was_dragging = self._dragging
            self._press_pos = None
            self._dragging = False
            self._apply_tool_cursor()
            if was_dragging:
                self._interacting = False
                self.update()
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.25 ** steps, event.position())
        event.accept()

    def keyPressEvent(self, event) -> None:
        key = event.key()
        step = 80
        if key in (Qt.Key_Plus, Qt.Key_Equal):
            self.zoom_by(1.5)
        elif key == Qt.Key_Minus:
            self.zoom_by(1 / 1.5)
        elif key == Qt.Key_Left:
            self.pan_by(step, 0)
        elif key == Qt.Key_Right:
            self.pan_by(-step, 0)
        elif key == Qt.Key_Up:
            self.pan_by(0, step)
        elif key == Qt.Key_Down:
            self.pan_by(0, -step)
        else:
            super().keyPressEvent(event)

    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self._apply_tool_cursor()

    def _apply_tool_cursor(self) -> None:
        self.setCursor({"pan": Qt.OpenHandCursor, "identify": Qt.WhatsThisCursor, "status": Qt.PointingHandCursor,
                        "add": Qt.CrossCursor, "select": Qt.CrossCursor, "measure": Qt.CrossCursor,
                        "zone": Qt.CrossCursor}.get(self.tool, Qt.ArrowCursor))

    def leaveEvent(self, event) -> None:
        super().leaveEvent(event)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.files_dropped.emit(paths)
            event.acceptProposedAction()

    def sizeHint(self) -> QSize:
        return QSize(900, 700)
