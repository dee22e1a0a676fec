"""Draw a conflict zone on the map: click the corners, double-click to close, then give
its kind, speed factor (travel speed multiplied by it; 0 = impassable), delay (minutes
added to cross it) and dates. The zone becomes an ``add_zone`` edit of the active
scenario (created from the baseline if needed), undoable like any edit; the geometry is
stored as WKT in EPSG:4326 (see :mod:`coverage_app.core.analysis.edits`).
"""

from __future__ import annotations

import datetime as dt

import shapely
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QLabel, QVBoxLayout)

from coverage_app.core.analysis.edits import new_edit_id
from coverage_app.core.data.roles import ZONE_KINDS

from . import dialogs
from .date_edit import DateEdit
from .session import Controller

KIND_LABELS = {"risk": "Risk (slower travel)", "restricted": "Restricted (much slower, delays)",
               "no_go": "No-go (impassable)"}
DEFAULT_FACTORS = {"risk": 0.7, "restricted": 0.3, "no_go": 0.0}


class ZoneDialog(QDialog):
    def __init__(self, area_km2: float, default_date: dt.date, parent=None):
        super().__init__(parent)
        self.setObjectName("zone_dialog")
        self.setWindowTitle("New conflict zone")
        self.kind = QComboBox()
        for kind in ZONE_KINDS:
            self.kind.addItem(KIND_LABELS.get(kind, kind), kind)
        self.factor = QDoubleSpinBox()
        self.factor.setRange(0.0, 1.0)
        self.factor.setSingleStep(0.05)
        self.factor.setDecimals(2)
        self.factor.setToolTip("Travel speed inside the zone is multiplied by this (0 = impassable)")
        self.delay = QDoubleSpinBox()
        self.delay.setRange(0.0, 24 * 60)
        self.delay.setSuffix(" min")
        self.delay.setToolTip("Minutes added to a journey that crosses the zone (checkpoints)")
        self.valid_from = DateEdit(default_date)
        self.has_end = QCheckBox("ends on")
        self.valid_to = DateEdit(default_date + dt.timedelta(days=90))
        self.valid_to.setEnabled(False)
        self.has_end.toggled.connect(self.valid_to.setEnabled)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.kind.setCurrentIndex(self.kind.findData("restricted"))
        self._kind_changed()
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        form.addRow("Kind", self.kind)
        form.addRow("Speed factor", self.factor)
        form.addRow("Delay", self.delay)
        form.addRow("In force from", self.valid_from)
        form.addRow(self.has_end, self.valid_to)
        note = QLabel(f"Area about {area_km2:,.1f} km². The zone is added to the active scenario (undo removes it).")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def _kind_changed(self, *_):
        kind = self.kind.currentData()
        self.factor.setValue(DEFAULT_FACTORS.get(kind, 0.5))
        self.factor.setEnabled(kind != "no_go")

    def _accept(self) -> None:
        if not self.valid_from.is_valid() or (self.has_end.isChecked() and not self.valid_to.is_valid()):
            dialogs.show_warning(self, "New conflict zone", "Type the dates as YYYY-MM-DD, e.g. 2024-06-01.")
            return
        if self.has_end.isChecked() and self.valid_to.py_date() < self.valid_from.py_date():
            dialogs.show_warning(self, "New conflict zone", "The zone cannot end before it starts.")
            return
        self.accept()

    def values(self) -> dict:
        return {"kind": self.kind.currentData(), "speed_factor": round(self.factor.value(), 3),
                "delay_minutes": round(self.delay.value(), 1), "valid_from": self.valid_from.py_date().isoformat(),
                "valid_to": self.valid_to.py_date().isoformat() if self.has_end.isChecked() else None}


class ZoneTool(Controller):
    zone_drawn = Signal(dict)   # the add_zone edit pushed

    def __init__(self, session, tasks, widget, canvas, map_tools, scenarios, status=None):
        super().__init__(session, tasks, widget, status)
        self.canvas, self.map_tools, self.scenarios = canvas, map_tools, scenarios
        self.action = map_tools.add_tool_action(
            "zone", "Draw conflict zone", "Draw a conflict zone: click its corners, double-click to close",
            "Click the zone's corners; double-click closes it, Esc cancels.")
        self.action.setShortcut("Z")
        self.points: list[tuple[float, float]] = []
        map_tools.tool_clicked.connect(self._clicked)
        canvas.map_double_clicked.connect(self._finish)
        self.action.toggled.connect(lambda on: None if on else self.cancel())

    def _clicked(self, tool, x, y) -> None:
        if tool != "zone":
            return
        self.points.append((x, y))
        self.canvas.sketch = list(self.points)
        self.canvas.sketch_closed = True
        self.canvas.update()
        self.status(f"{len(self.points)} corner{'s' if len(self.points) != 1 else ''}; double-click to close the zone")

    def cancel(self) -> None:
        self.points = []
        if self.canvas.tool in ("zone", "pan"):
            self.canvas.sketch = []
            self.canvas.sketch_cursor = None
            self.canvas.update()

    def _finish(self, x, y) -> None:
        if self.canvas.tool != "zone" or not self.points:
            return
        points = list(self.points)
        self.cancel()
        if len(points) < 3:
            self.status("A zone needs at least three corners.")
            return
        ring = [self.canvas.map_to_lonlat(px, py) for px, py in points]
        polygon = shapely.make_valid(shapely.Polygon(ring))
        if polygon.is_empty or polygon.area == 0:
            self.status("That shape has no area; draw the zone again.")
            return
        self.add_zone(polygon)

    def add_zone(self, polygon_4326) -> dict | None:
        """Ask the zone's attributes and push it as an add_zone edit; returns the edit."""
        from .measure_select import GEOD

        wkt = shapely.to_wkt(polygon_4326, rounding_precision=6)
        if not shapely.from_wkt(wkt).area > 0:  # the project keeps 6 decimals (~0.1 m): nothing is left of it
            self.status("That zone is too small to keep (under a metre across); zoom out and draw it again.")
            return None
        area = abs(GEOD.geometry_area_perimeter(polygon_4326)[0]) / 1e6
        dialog = ZoneDialog(area, self.scenarios.default_edit_date(), self.widget)
        self.last_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return None
        edit = {"type": "add_zone", "zone_id": self.new_zone_id(), **dialog.values(), "wkt": wkt}
        if not self.scenarios.push_edit(edit):
            return None
        self.zone_drawn.emit(edit)
        return edit

    def new_zone_id(self) -> str:
        existing = set()
        for ref in self.project.layers_of("conflict_zones"):
            layer = self.data.layers.get(ref.name) if self.data else None
            if layer is not None and "zone_id" in layer.data:
                existing |= set(layer.data["zone_id"].astype(str))
        return new_edit_id("ZONE-NEW-", "zone_id", existing, self.project.scenarios)
