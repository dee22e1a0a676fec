"""Two map tools a QGIS user reaches for: select features by clicking or dragging a box
(the layer chosen in the Layers panel, else every visible vector layer), and measure a
distance or an area by clicking vertices (double-click or Enter finishes, Esc clears).

Distances and areas are geodesic on the WGS84 ellipsoid (pyproj.Geod) from the map
coordinates (metres of the working UTM CRS) turned into longitude/latitude: kilometres and
square kilometres, the same figures whatever the map projection.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod
from PySide6.QtCore import Qt, Signal

from .maplayers import VectorLayer
from .session import Controller

GEOD = Geod(ellps="WGS84")


def geodesic_length_area(canvas, points) -> tuple[float, float]:
    """(length in km along the points, area in km² of the closed ring; 0 below 3 points)."""
    if len(points) < 2:
        return 0.0, 0.0
    lonlat = [canvas.map_to_lonlat(x, y) for x, y in points]
    lons, lats = [p[0] for p in lonlat], [p[1] for p in lonlat]
    length = GEOD.line_length(lons, lats) / 1000.0
    area = abs(GEOD.polygon_area_perimeter(lons, lats)[0]) / 1e6 if len(points) >= 3 else 0.0
    return length, area


class SelectTool(Controller):
    """Rows selected per layer; highlighted on the map."""

    selection_changed = Signal()

    def __init__(self, session, tasks, widget, stack, canvas, map_tools, layer_panel=None, status=None):
        super().__init__(session, tasks, widget, status)
        self.stack, self.canvas, self.map_tools, self.layer_panel = stack, canvas, map_tools, layer_panel
        self.selection: dict = {}   # MapLayer -> np.ndarray of frame rows
        self.action = map_tools.add_tool_action(
            "select", "Select", "Click a feature or drag a box to select features (of the layer chosen in "
            "the Layers panel, else of all visible layers)", "Click or drag a box to select; Esc clears.")
        self.action.setShortcut("S")
        canvas.rect_dragged.connect(self._box)
        map_tools.tool_clicked.connect(self._clicked)

    def _layers(self) -> list[VectorLayer]:
        chosen = self.layer_panel.selected_layer() if self.layer_panel is not None else None
        if isinstance(chosen, VectorLayer) and chosen.visible:
            return [chosen]
        return [l for l in self.stack if isinstance(l, VectorLayer) and l.visible]

    def _box(self, x0, y0, x1, y1) -> None:
        if self.canvas.tool != "select":
            return
        box = shapely.box(x0, y0, x1, y1)
        picked = {}
        for layer in self._layers():
            if not len(layer.frame):
                continue
            rows = np.flatnonzero(shapely.intersects(np.asarray(layer.geoms, dtype=object), box))
            if len(rows):
                picked[layer] = rows
        self.set_selection(picked)

    def _clicked(self, tool, x, y) -> None:
        if tool != "select":
            return
        layers = set(self._layers())
        hits = [(l, r) for l, r in self.map_tools.hits_at(x, y) if l in layers]
        self.set_selection({hits[0][0]: np.array([hits[0][1]])} if hits else {})

    def set_selection(self, selection: dict) -> None:
        self.selection = {l: np.asarray(r, dtype=np.int64) for l, r in selection.items() if len(r)}
        geoms = [layer.geoms[int(i)] for layer, rows in self.selection.items() for i in rows]
        self.map_tools.select_features(geoms)
        n = sum(len(r) for r in self.selection.values())
        where = ", ".join(f"{len(r)} in {l.title}" for l, r in self.selection.items())
        self.status(f"{n} feature{'s' if n != 1 else ''} selected" + (f" ({where})" if where else ""))
        self.selection_changed.emit()

    def count(self) -> int:
        return sum(len(r) for r in self.selection.values())


class MeasureTool(Controller):
    """Click vertices; the status line shows the length (km) and, from 3 points, the area (km²)."""

    measured = Signal(float, float)   # km, km²

    def __init__(self, session, tasks, widget, canvas, map_tools, status=None):
        super().__init__(session, tasks, widget, status)
        self.canvas, self.map_tools = canvas, map_tools
        self.action = map_tools.add_tool_action(
            "measure", "Measure", "Measure a distance or an area: click points, double-click to finish",
            "Click points to measure; double-click finishes, Esc clears.")
        self.action.setShortcut("M")
        self.points: list[tuple[float, float]] = []
        self.finished = False
        map_tools.tool_clicked.connect(self._clicked)
        canvas.map_double_clicked.connect(self._double)
        self.action.toggled.connect(lambda on: None if on else self.clear())
        self.length_km = self.area_km2 = 0.0

    def _clicked(self, tool, x, y) -> None:
        if tool != "measure":
            return
        if self.finished:
            self.clear()
        self.points.append((x, y))
        self._update()

    def _double(self, x, y) -> None:
        if self.canvas.tool != "measure" or not self.points:
            return
        self.finished = True
        self.canvas.sketch_cursor = None
        self._update(final=True)

    def clear(self) -> None:
        self.points = []
        self.finished = False
        self.canvas.sketch = []
        self.canvas.sketch_cursor = None
        self.canvas.update()

    def _update(self, final: bool = False) -> None:
        self.canvas.sketch = list(self.points)
        self.canvas.sketch_closed = final and len(self.points) >= 3
        self.length_km, self.area_km2 = geodesic_length_area(self.canvas, self.points)
        text = f"Distance {self.length_km:,.2f} km"
        if len(self.points) >= 3:
            ring = self.length_km + geodesic_length_area(self.canvas, [self.points[-1], self.points[0]])[0]
            text += f" · area {self.area_km2:,.2f} km² (perimeter {ring:,.2f} km)"
        self.status(text + ("" if final else " — double-click to finish"))
        self.canvas.update()
        self.measured.emit(self.length_km, self.area_km2)

    def key_pressed(self, key) -> bool:
        if key == Qt.Key_Escape and self.points:
            self.clear()
            return True
        return False
