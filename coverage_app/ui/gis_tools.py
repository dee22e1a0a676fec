"""What a QGIS user reaches for, gathered in one controller the window wires with a few
lines: attribute tables (F6), the Select / Measure / Draw-zone map tools, go to a
coordinate (Ctrl+G), the land-cover speeds dialog, and the map CRS in the status bar.
"""

from __future__ import annotations

import math
import re

import numpy as np
import shapely
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel

from . import dialogs
from .attribute_table import AttributeTable
from .landcover_dialog import LandcoverDialog
from .maplayers import VectorLayer
from .measure_select import MeasureTool, SelectTool
from .session import Controller
from .zone_tool import ZoneTool

TOOL_SHORTCUTS = {"pan": "P", "status": "T", "add": "A"}  # select S, measure M, zone Z: set by the tools


def parse_coordinate(text: str) -> tuple[float, float] | None:
    """(lon, lat) in degrees from "22.5, 95.1" (lat, lon), "95.1E 22.5N" or "22.5N 95.1E"."""
    t = text.strip().upper().replace("°", " ")
    hemi = re.findall(r"(-?\d+(?:\.\d+)?)\s*([NSEW])", t)
    if len(hemi) == 2:
        lat = lon = None
        for value, h in hemi:
            v = float(value) * (-1 if h in "SW" else 1)
            if h in "NS":
                lat = v
            else:
                lon = v
        if lat is not None and lon is not None and abs(lat) <= 90 and abs(lon) <= 180:
            return lon, lat
        return None
    numbers = re.findall(r"-?\d+(?:\.\d+)?", t)
    if len(numbers) != 2:
        return None
    lat, lon = float(numbers[0]), float(numbers[1])
    if abs(lat) > 90 and abs(lon) <= 90:  # given as lon, lat
        lat, lon = lon, lat
    if abs(lat) > 90 or abs(lon) > 180:
        return None
    return lon, lat


class GisTools(Controller):
    def __init__(self, session, tasks, widget, stack, canvas, map_tools, scenarios, analysis, layer_panel,
                 status=None):
        super().__init__(session, tasks, widget, status)
        self.stack, self.canvas, self.map_tools, self.layer_panel = stack, canvas, map_tools, layer_panel
        self.analysis = analysis
        self.select = SelectTool(session, tasks, widget, stack, canvas, map_tools, layer_panel, status)
        self.measure = MeasureTool(session, tasks, widget, canvas, map_tools, status)
        self.zones = ZoneTool(session, tasks, widget, canvas, map_tools, scenarios, status)
        for tool, key in TOOL_SHORTCUTS.items():
            map_tools.tool_actions[tool].setShortcut(QKeySequence(key))
        for action in map_tools.tool_actions.values():
            key = action.shortcut().toString()
            if key and f"({key})" not in action.toolTip():
                action.setToolTip(f"{action.toolTip()} ({key})")
        self.act_table = QAction("Open attribute &table", widget)
        self.act_table.setObjectName("attribute_table")
        self.act_table.setShortcut(QKeySequence("F6"))
        self.act_table.triggered.connect(lambda: self.open_table())
        self.act_goto = QAction("&Go to coordinate…", widget)
        self.act_goto.setObjectName("goto")
        self.act_goto.setShortcut(QKeySequence("Ctrl+G"))
        self.act_goto.triggered.connect(self.goto_dialog)
        self.act_landcover = QAction("&Land cover and speeds…", widget)
        self.act_landcover.setObjectName("landcover")
        self.act_landcover.triggered.connect(self.landcover_dialog)
        self.crs_label = QLabel("")
        self.crs_label.setObjectName("map_crs")
        self.crs_label.setToolTip("The map's coordinate reference system (metres); the cursor is shown in degrees")
        canvas.crs_changed.connect(self._crs_changed)
        self._crs_changed(canvas.crs)
        self.tables: list[AttributeTable] = []
        self.select.selection_changed.connect(self._map_selection_to_tables)

    # -- attribute tables -----------------------------------------------------------------
    def open_table(self, layer=None) -> AttributeTable | None:
        layer = layer or (self.layer_panel.selected_layer() if self.layer_panel is not None else None)
        if not isinstance(layer, VectorLayer):
            dialogs.show_info(self.widget, "Attribute table", "Choose a vector layer in the Layers panel first.")
            return None
        table = AttributeTable(layer, self.widget)
        table.rows_selected.connect(self._table_selection)
        table.zoom_requested.connect(self.map_tools.zoom_to_selection)
        table.finished.connect(lambda _r, t=table: self.tables.remove(t) if t in self.tables else None)
        self.tables.append(table)
        table.show()
        return table

    def _table_selection(self, layer, rows) -> None:
        self.select.selection = {layer: np.asarray(rows)} if len(rows) else {}
        self.map_tools.select_features([layer.geoms[int(i)] for i in rows])

    def _map_selection_to_tables(self) -> None:
        for table in self.tables:
            table.select_frame_rows(self.select.selection.get(table.layer, []))

    # -- go to, CRS, land cover -----------------------------------------------------------------
    def goto(self, text: str) -> bool:
        """Centre the map on a typed coordinate and mark it; False (and a message) if unreadable."""
        point = parse_coordinate(text)
        if point is None:
            dialogs.show_warning(self.widget, "Go to coordinate",
                                 f"“{text}” is not a coordinate: type latitude, longitude in degrees, e.g. "
                                 "22.5, 95.1 or 22.5N 95.1E.")
            return False
        x, y = self.canvas.lonlat_to_map(*point)
        if not (math.isfinite(x) and math.isfinite(y)):  # far outside the map's projection: the view went to inf
            dialogs.show_warning(self.widget, "Go to coordinate",
                                 f"{abs(point[1]):g}° {'N' if point[1] >= 0 else 'S'}, {abs(point[0]):g}° "
                                 f"{'E' if point[0] >= 0 else 'W'} is too far from the project's area for this map "
                                 f"({self.crs_label.text()}); check the coordinate (latitude first, e.g. 22.5, 95.1).")
            return False
        self.canvas.set_view(x, y, min(self.canvas.scale, 50.0))
        self.map_tools.select_features([shapely.Point(x, y)])
        self.status(f"Centred on {abs(point[1]):.5f}° {'N' if point[1] >= 0 else 'S'}, "
                    f"{abs(point[0]):.5f}° {'E' if point[0] >= 0 else 'W'}")
        return True

    def goto_dialog(self) -> None:
        text = dialogs.get_text(self.widget, "Go to coordinate", "Latitude, longitude (degrees)", "")
        if text:
            self.goto(text)

    def _crs_changed(self, crs) -> None:
        epsg = crs.to_epsg() if crs is not None else None
        self.crs_label.setText(f"EPSG:{epsg}" if epsg else (crs.name if crs is not None else ""))
        self.crs_label.setToolTip(f"Map CRS: {crs.name}" if crs is not None else "")

    def landcover_dialog(self) -> bool:
        if self.project is None or not self.project.layers_of("landcover"):
            dialogs.show_info(self.widget, "Land cover", "The project has no land-cover layer: add one with the "
                                                          "land-cover role (File ▸ Add layer).")
            return False
        dialog = LandcoverDialog(self.project, self.widget)
        self.last_landcover_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return False
        if dialog.apply():
            self.session.set_dirty(True)
            self.analysis.mark_stale()
            self.status("Land-cover speeds changed: run the analysis again to use them")
        return True
