"""Scenarios: the list (baseline + named scenarios), their as-of date, the edit tools'
dialogs (facility status, new facility), the undo commands, and comparison."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout,
                               QGridLayout, QGroupBox, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPushButton, QToolButton, QUndoView, QVBoxLayout, QWidget)

from coverage_app.core.data.roles import FACILITY_STATUSES  # noqa: F401

from .date_edit import DateEdit
from .small_widgets import fill_with_scrolling

EDIT_STATUSES = ("functioning", "partial", "closed", "destroyed")
DEFAULT_LEVELS = ("Mobile clinic", "Clinic", "Rural health centre", "Sub-rural health centre", "Station hospital",
                  "Township hospital", "General hospital")
BASELINE = "Baseline"


def _qdate(value: dt.date) -> QDate:
    return QDate(value.year, value.month, value.day)


def _pydate(q: QDate) -> dt.date:
    return dt.date(q.year(), q.month(), q.day())


def describe_edit(edit: dict) -> str:
    if edit.get("type") == "set_status":
        return f"{edit.get('name') or edit.get('fac_id')}: {edit.get('status')} ({edit.get('date') or 'no date'})"
    if edit.get("type") == "add_facility":
        return f"New {edit.get('level', 'facility').lower()} “{edit.get('name')}” ({edit.get('date') or 'no date'})"
    from coverage_app.core.outputs.scenario_label import describe_edit as describe

    return describe(edit)


class StatusDialog(QDialog):
    """Change a facility's status from a date."""

    def __init__(self, facility: dict, default_date: dt.date, parent=None):
        super().__init__(parent)
        self.setObjectName("status_dialog")
        self.setWindowTitle("Change facility status")
        self.status = QComboBox()
        self.status.setObjectName("status")
        for status in EDIT_STATUSES:
            self.status.addItem(status.capitalize(), status)
        current = str(facility.get("status") or "unknown")
        # default to the most likely change: a working facility closes, a closed one reopens
        proposal = "closed" if current in ("functioning", "partial", "unknown") else "functioning"
        self.status.setCurrentIndex(self.status.findData(proposal))
        self.date = DateEdit(_qdate(default_date))
        self.date.setObjectName("date")
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        form = QFormLayout()
        name = QLabel(f"<b>{facility.get('name', '')}</b><br>{facility.get('level', '')} — now "
                      f"<i>{current}</i> (id {facility.get('fac_id')})")
        name.setTextFormat(Qt.RichText)
        form.addRow(name)
        form.addRow("New status", self.status)
        form.addRow("From date", self.date)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> dict:
        return {"status": self.status.currentData(), "date": _pydate(self.date.date()).isoformat()}


class AddFacilityDialog(QDialog):
    """Name, level and services of a facility added at a clicked point."""

    def __init__(self, lon: float, lat: float, levels, default_date: dt.date, parent=None):
        super().__init__(parent)
        self.setObjectName("add_facility_dialog")
        self.setWindowTitle("Add a facility")
        self.name = QLineEdit("New mobile clinic")
        self.name.setObjectName("name")
        self.level = QComboBox()
        self.level.setObjectName("level")
        self.level.setEditable(True)
        for level in dict.fromkeys(list(DEFAULT_LEVELS) + [str(l) for l in levels if l]):
            self.level.addItem(level)
        self.primary = QCheckBox("provides primary care")
        self.primary.setChecked(True)
        self.secondary = QCheckBox("provides secondary care (hospital)")
        self.level.currentTextChanged.connect(self._level_changed)
        self.date = DateEdit(_qdate(default_date))
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Level", self.level)
        form.addRow("", self.primary)
        form.addRow("", self.secondary)
        form.addRow("Opens on", self.date)
        form.addRow("Location", QLabel(f"{lat:.5f}° N, {lon:.5f}° E"))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _level_changed(self, text: str) -> None:
        hospital = text.lower() in ("township hospital", "general hospital")
        self.secondary.setChecked(hospital)

    def values(self) -> dict:
        return {"name": self.name.text().strip() or "New facility", "level": self.level.currentText().strip(),
                "provides_primary": self.primary.isChecked(), "provides_secondary": self.secondary.isChecked(),
                "date": _pydate(self.date.date()).isoformat()}


class EditCommand(QUndoCommand):
    """One scenario edit; the window applies and removes it (and updates the results)."""

    def __init__(self, window, scenario_name: str, edit: dict):
        super().__init__(describe_edit(edit))
        self.window = window
        self.scenario_name = scenario_name
        self.edit = edit

    def redo(self) -> None:
        self.window.apply_scenario_edit(self.scenario_name, self.edit)

    def undo(self) -> None:
        self.window.remove_scenario_edit(self.scenario_name, self.edit)


class ScenarioPanel(QWidget):
    activated = Signal(object)          # scenario name or None (baseline)
    new_requested = Signal()
    duplicate_requested = Signal()
    rename_requested = Signal()
    delete_requested = Signal()
    compare_requested = Signal(object, object)  # names (None = baseline)
    as_of_changed = Signal(object)      # ISO date or None

    def __init__(self, undo_group, tool_actions, parent=None):
        super().__init__(parent)
        self._loading = False
        self.list = QListWidget()
        self.list.setObjectName("scenario_list")
        self.list.currentItemChanged.connect(self._current_changed)
        buttons = QGridLayout()  # two by two: four in a row are wider than a laptop's dock
        for i, (text, signal, name) in enumerate((
                ("New", self.new_requested, "new"), ("Duplicate", self.duplicate_requested, "dup"),
                ("Rename", self.rename_requested, "rename"), ("Delete", self.delete_requested, "delete"))):
            b = QPushButton(text)
            b.setObjectName(f"scenario_{name}")
            b.clicked.connect(signal.emit)
            buttons.addWidget(b, i // 2, i % 2)
        self.as_of_box = QCheckBox("Scenario date (as of)")
        self.as_of_box.setToolTip("Edits dated after this date are not yet in force; empty = the analysis date")
        self.as_of = DateEdit(_qdate(dt.date.today()))
        self.as_of.setCalendarPopup(True)
        self.as_of.setDisplayFormat("yyyy-MM-dd")
        self.as_of.setEnabled(False)
        self.as_of_box.toggled.connect(self.as_of.setEnabled)
        self.as_of_box.toggled.connect(self._as_of_edited)
        self.as_of.dateChanged.connect(self._as_of_edited)
        date_row = QVBoxLayout()  # the date under its check box: side by side wider than a laptop's dock
        date_row.addWidget(self.as_of_box)
        date_row.addWidget(self.as_of)
        tools = QVBoxLayout()  # one under another: side by side they ran past a laptop's dock
        for action in tool_actions:
            b = QToolButton()
            b.setDefaultAction(action)
            b.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
            tools.addWidget(b, 0, Qt.AlignLeft)
        self.undo_view = QUndoView(undo_group)
        self.undo_view.setEmptyLabel("(no edits)")
        self.undo_view.setObjectName("edit_history")
        compare = QGroupBox("Compare")
        self.compare_a = QComboBox()
        self.compare_b = QComboBox()
        for combo in (self.compare_a, self.compare_b):  # long scenario names elide, not widen the dock
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setObjectName("compare")
        self.compare_button.clicked.connect(
            lambda: self.compare_requested.emit(self.compare_a.currentData(), self.compare_b.currentData()))
        self.compare_state = QLabel("")
        self.compare_state.setObjectName("compare_state")
        self.compare_state.setWordWrap(True)
        self._compare_for = object()  # the active scenario the defaults were set for
        cl = QFormLayout(compare)
        cl.setRowWrapPolicy(QFormLayout.WrapLongRows)
        cl.addRow("From", self.compare_a)
        cl.addRow("To", self.compare_b)
        cl.addRow(self.compare_button)
        cl.addRow(self.compare_state)
        self.compare_box = compare
        inner = QWidget()  # in a scroll area: the dock can shrink on a small laptop screen
        layout = QVBoxLayout(inner)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(compare)  # where it is seen, not below the edit history
        layout.addLayout(date_row)
        for text in ("Edit on the map (click a facility / click a location):",
                     "Edits of this scenario (click one to step back; undo/redo in the Edit menu):"):
            label = QLabel(text)
            label.setWordWrap(True)  # the dock stays narrow on a laptop screen
            layout.addWidget(label)
            if text.startswith("Edit on"):
                layout.addLayout(tools)
        layout.addWidget(self.undo_view, 1)
        fill_with_scrolling(self, inner, sideways=False)

    def set_scenarios(self, scenarios: list[dict], active: str | None) -> None:
        self._loading = True
        try:
            self.list.clear()
            item = QListWidgetItem(f"{BASELINE} (data as loaded)")
            item.setData(Qt.UserRole, None)
            self.list.addItem(item)
            for s in scenarios:
                n = len(s.get("edits", []))
                item = QListWidgetItem(f"{s['name']}  ({n} edit{'s' if n != 1 else ''})")
                item.setData(Qt.UserRole, s["name"])
                self.list.addItem(item)
            for i in range(self.list.count()):
                if self.list.item(i).data(Qt.UserRole) == active:
                    self.list.setCurrentRow(i)
            current = next((s for s in scenarios if s["name"] == active), None)
            self.as_of_box.setEnabled(current is not None)
            self.as_of_box.setChecked(bool(current and current.get("as_of")))
            if current and current.get("as_of"):
                self.as_of.setDate(_qdate(dt.date.fromisoformat(current["as_of"])))
            self._fill_compare(scenarios, active)
        finally:
            self._loading = False

    def _fill_compare(self, scenarios: list[dict], active: str | None) -> None:
        """Compare defaults to Baseline -> the active scenario (or the first scenario while
        the baseline is active); a choice the user made is kept until the active scenario
        changes."""
        names = [s["name"] for s in scenarios]
        default_b = active if active else (names[0] if names else None)
        keep = active == self._compare_for and self.compare_a.count()
        previous = (self.compare_a.currentData(), self.compare_b.currentData()) if keep else (None, default_b)
        for combo, want in ((self.compare_a, previous[0]), (self.compare_b, previous[1])):
            combo.clear()
            combo.addItem(BASELINE, None)
            for name in names:
                combo.addItem(name, name)
            index = combo.findData(want) if want is not None else 0   # 0 = Baseline
            if index < 0:
                index = max(0, combo.findData(default_b)) if combo is self.compare_b and default_b else 0
            combo.setCurrentIndex(index)
        self._compare_for = active
        self.compare_button.setEnabled(bool(names))

    def set_compare_state(self, text: str, stale: bool = False) -> None:
        """A line under Compare: what is compared, or that it is out of date."""
        self.compare_state.setText(text)
        self.compare_state.setStyleSheet("color:#b2182b; font-weight:bold" if stale else "color:#555555")
        self.compare_button.setText("Compare again" if stale else "Compare")

    def _current_changed(self, current, previous) -> None:
        if self._loading or current is None:
            return
        self.activated.emit(current.data(Qt.UserRole))

    def _as_of_edited(self, *_):
        if self._loading:
            return
        self.as_of_changed.emit(_pydate(self.as_of.date()).isoformat() if self.as_of_box.isChecked() else None)
