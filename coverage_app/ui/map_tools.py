"""Map tools and view: the tool actions (pan / identify and the scenario tools), what a
click finds, identify, selection highlight, zooming to layers, selections, townships and
villages, the legend switch, and the cursor position and scale shown in the status bar.

Clicks with a tool other than pan are handed on through :attr:`MapTools.tool_clicked`
(the scenario controller handles "status" and "add"). Map coordinates are metres of the
canvas's working CRS; the status bar shows WGS84 degrees.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QLabel, QLineEdit

from . import settings
from .maplayers import MapLayer, RasterLayer, VectorLayer
from .session import Controller

IDENTIFY_TOLERANCE_PX = 7
TOOLS = (("pan", "Pan / identify", "Drag to pan, click a feature to see its attributes"),
         ("status", "Set facility status", "Click a facility to change its status"),
         ("add", "Add facility", "Click the map where a new facility opens"))
HINTS = {"pan": "Drag to pan, wheel to zoom, click a feature to identify it.",
         "status": "Click a facility to change its status (in the active scenario).",
         "add": "Click the map where the new facility is."}


class MapTools(Controller):
    tool_clicked = Signal(str, float, float)   # tool, map x, map y (metres, working CRS)
    identified = Signal(list)                  # [(layer, row)] found by an identify click

    def __init__(self, session, tasks, widget, stack, canvas, identify_panel, status=None, layer_panel=None):
        super().__init__(session, tasks, widget, status)
        self.stack = stack
        self.canvas = canvas
        self.identify_panel = identify_panel
        self.layer_panel = layer_panel
        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for tool, text, tip in TOOLS:
            self.add_tool_action(tool, text, tip, HINTS[tool])
        self.tool_actions["pan"].setChecked(True)
        self.coords_label = QLabel("")
        self.coords_label.setObjectName("coords")
        self.coords_label.setMinimumWidth(190)
        # the scale, as a box one can type a scale into (1:250,000 or 250000)
        self.scale_label = QLineEdit("")
        self.scale_label.setObjectName("scale")
        self.scale_label.setMaximumWidth(120)
        self.scale_label.setToolTip("Map scale: type one (e.g. 1:250000) and press Enter")
        self.scale_label.editingFinished.connect(lambda: self.set_scale_text(self.scale_label.text()))
        canvas.cursor_moved.connect(self._cursor_moved)
        canvas.scale_changed.connect(self._scale_changed)
        canvas.map_clicked.connect(self._map_clicked)
        # the user's choice to fold the on-map legend is remembered between sessions
        canvas.legend_collapsed = bool(settings.value("map/legend_collapsed", False) in (True, "true", "1", 1))
        canvas.legend_toggled.connect(lambda folded: settings.set_value("map/legend_collapsed", bool(folded)))
        identify_panel.feature_activated.connect(self._identify_activated)

    def add_tool_action(self, tool: str, text: str, tip: str, hint: str) -> QAction:
        """A checkable map-tool action (one of the group); its clicks go to tool_clicked."""
        action = QAction(text, self.widget)
        action.setObjectName(f"tool_{tool}")
        action.setCheckable(True)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda _=False, t=tool: self.set_tool(t))
        self.tool_group.addAction(action)
        self.tool_actions[tool] = action
        HINTS.setdefault(tool, hint)
        return action

    def reset(self, _project=None) -> None:
        self.identify_panel.show_hits([])

    # ---------------------------------------------------------------------------------
    # view
    def zoom_full(self, *_args) -> None:
        self.canvas.zoom_full()
        self.canvas.refresh()

    def zoom_to_layer(self, layer: MapLayer) -> None:
        self.canvas.zoom_to_extent(layer.extent())

    def zoom_to_selected_layer(self) -> None:
        layer = self.layer_panel.selected_layer() if self.layer_panel is not None else None
        if layer is not None:
            self.zoom_to_layer(layer)

    def zoom_to_selection(self) -> None:
        geoms = [g for g in self.canvas.highlight if g is not None and not g.is_empty]
        if not geoms:
            return
        minx, miny, maxx, maxy = shapely.total_bounds(np.array(geoms, dtype=object))
        pad = 2500.0 if (maxx - minx) < 1000 and (maxy - miny) < 1000 else 0.0
        self.canvas.zoom_to_extent((minx - pad, miny - pad, maxx + pad, maxy + pad))

    def select_features(self, geoms) -> None:
        self.canvas.highlight = [g for g in geoms if g is not None]
        self.canvas.update()

    def zoom_to_township(self, pcode: str) -> None:
        for layer in self.stack:
            if layer.role == "townships" and isinstance(layer, VectorLayer) and "pcode" in layer.frame:
                rows = np.flatnonzero(layer.frame["pcode"].astype(str).to_numpy() == pcode)
                if len(rows):
                    self.select_features([layer.geoms[i] for i in rows])
                    self.zoom_to_selection()
                    return

    def zoom_to_village(self, pcode: str) -> None:
        candidates = [self.session.result_layers.get("villages")] + [l for l in self.stack if l.role == "villages"]
        for layer in candidates:
            if isinstance(layer, VectorLayer) and "pcode" in layer.frame:
                rows = np.flatnonzero(layer.frame["pcode"].astype(str).to_numpy() == pcode)
                if len(rows):
                    self.select_features([layer.geoms[rows[0]]])
                    self.zoom_to_selection()
                    self.identify_panel.show_hits([(layer, int(rows[0]))])
                    return

    def toggle_legend(self, on: bool) -> None:
        self.canvas.show_legend = on
        self.canvas.refresh()

    def _cursor_moved(self, lon: float, lat: float) -> None:
        self.coords_label.setText(f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.5f}° "
                                  f"{'E' if lon >= 0 else 'W'}")

    def set_scale_text(self, text: str) -> bool:
        """Zoom to a typed scale "1:250,000" / "250000" about the map centre."""
        digits = text.replace(",", "").replace(" ", "").split(":")[-1]
        try:
            n = float(digits)
        except ValueError:
            n = 0.0
        if not n > 0:
            self.status(f"“{text}” is not a scale: type e.g. 1:250000")
            self._scale_changed(self.canvas.scale_denominator())
            return False
        metres_per_px = n * 0.0254 / self.canvas.logicalDpiX()
        self.canvas.set_view(self.canvas.cx, self.canvas.cy, metres_per_px)
        return True

    def _scale_changed(self, n: float) -> None:
        if not math.isfinite(n) or self.scale_label.hasFocus():
            return
        magnitude = 10 ** max(0, int(math.log10(max(n, 1))) - 1)
        self.scale_label.setText(f"1:{round(n / magnitude) * magnitude:,.0f}")

    # ---------------------------------------------------------------------------------
    # clicks
    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.tool_actions[tool].setChecked(True)
        self.status(HINTS.get(tool, ""))

    def _map_clicked(self, x: float, y: float, button) -> None:
        tool = self.canvas.tool
        if tool == "pan":
            self.identify(x, y)
        else:
            self.tool_clicked.emit(tool, x, y)

    def hits_at(self, x: float, y: float, roles=None) -> list[tuple[MapLayer, int]]:
        """Features within a few pixels of the map point (x, y): the nearest point or line
        first, then polygons containing the point, then raster cells; ties keep the layer
        order (top first)."""
        tolerance = IDENTIFY_TOLERANCE_PX * self.canvas.scale
        ranked = []
        click = shapely.Point(x, y)
        for order, layer in enumerate(self.stack):
            if not layer.visible or (roles and layer.role not in roles):
                continue
            if isinstance(layer, RasterLayer) and getattr(layer, "pending", False):
                continue
            for row in layer.identify(x, y, tolerance)[:3]:
                if isinstance(layer, RasterLayer):
                    rank = 3 * tolerance
                else:
                    geom = layer.feature_geometry(row)
                    if geom is None or geom.is_empty:
                        rank = 3 * tolerance
                    elif geom.geom_type.endswith("Polygon"):
                        rank = 2 * tolerance + (0 if geom.contains(click) else float(geom.distance(click)))
                    else:
                        rank = float(geom.distance(click))
                ranked.append((rank, order, layer, row))
        ranked.sort(key=lambda h: (h[0], h[1]))
        return [(layer, row) for _rank, _order, layer, row in ranked]

    def identify(self, x: float, y: float) -> list:
        hits = self.hits_at(x, y)
        self.identify_panel.show_hits(hits)
        self.select_features([hits[0][0].feature_geometry(hits[0][1])] if hits else [])
        if hits:
            self.identified.emit(hits)
        return hits

    def _identify_activated(self, layer, row) -> None:
        self.select_features([layer.feature_geometry(row)])
