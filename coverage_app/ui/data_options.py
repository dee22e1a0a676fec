"""Data options of the project: the population basis (which total the shares are of) and the
road-class table of a roads layer (e.g. OpenStreetMap ``highway`` values -> road classes).

Both are saved in the project file (``options.population_total``; the layer's
``options.road_classes``). Changing one marks the shown result out of date; a changed road
table reloads its layer through the task runner.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHeaderView, QInputDialog,
                               QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout)

from coverage_app.core.data.model import load_layer_ref
from coverage_app.core.data.population import DEFAULT_TOTAL, POPULATION_TOTALS
from coverage_app.core.data.roles import OSM_HIGHWAY_CLASSES, ROAD_CLASSES

from . import dialogs
from .session import Controller

LEAVE_OUT = "(leave out)"


class PopulationBasisDialog(QDialog):
    """Choose ``options.population_total``: the villages as loaded, or scaled to a newer township total."""

    def __init__(self, current: str, have_kontur: bool, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Population basis")
        self.setObjectName("population_basis_dialog")
        layout = QVBoxLayout(self)
        note = QLabel("Every share in the results is a share of this population. The choice is saved in the "
                      "project and applied when the analysis runs (no rebuild of the data).")
        note.setWordWrap(True)
        layout.addWidget(note)
        form = QFormLayout()
        self.combo = QComboBox()
        self.combo.setObjectName("population_total")
        for key, (label, field) in POPULATION_TOTALS.items():
            self.combo.addItem(f"{key}: {label}", key)
            if field and not have_kontur:  # the townships lack the total: offer it, but say so
                self.combo.setItemData(self.combo.count() - 1, f"needs the townships field '{field}'",
                                       Qt.ToolTipRole)
        self.combo.setCurrentIndex(max(self.combo.findData(current), 0))
        form.addRow("Population total", self.combo)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choice(self) -> str:
        return self.combo.currentData()


class RoadClassesDialog(QDialog):
    """Edit a roads layer's value -> road class table (rows: the values found in the file, then the
    defaults for OSM ``highway`` values)."""

    def __init__(self, layer_name: str, table: dict, values, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Road classes — {layer_name}")
        self.setObjectName("road_classes_dialog")
        layout = QVBoxLayout(self)
        note = QLabel("Each value of the layer's road-class field travels at the speed of its road class "
                      "(speed table of the analysis). Values left out are not used as roads.")
        note.setWordWrap(True)
        layout.addWidget(note)
        keys = list(dict.fromkeys([*sorted(str(v) for v in values), *table]))
        self.grid = QTableWidget(len(keys), 2)
        self.grid.setObjectName("road_class_table")
        self.grid.setHorizontalHeaderLabels(["Value in the file", "Road class"])
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.grid.verticalHeader().setVisible(False)
        self.combos = {}
        for row, key in enumerate(keys):
            self.grid.setItem(row, 0, QTableWidgetItem(key))
            combo = QComboBox()
            combo.addItems([*ROAD_CLASSES, LEAVE_OUT])
            combo.setCurrentText(table.get(key) or LEAVE_OUT)
            self.grid.setCellWidget(row, 1, combo)
            self.combos[key] = combo
        layout.addWidget(self.grid)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(420, 480)

    def table(self) -> dict:
        return {k: c.currentText() for k, c in self.combos.items() if c.currentText() != LEAVE_OUT}


class DataOptionsController(Controller):
    """Project > Population basis… and Road classes…; emits ``inputs_changed`` when the analysis
    inputs change (the window marks the result out of date)."""

    inputs_changed = Signal()

    def population_basis(self) -> None:
        if self.project is None:
            return
        townships = self.data.role("townships") if self.data is not None else None
        have = townships is not None and "pop_kontur2023" in townships and townships["pop_kontur2023"].notna().any()
        current = (self.project.options or {}).get("population_total") or DEFAULT_TOTAL
        dialog = PopulationBasisDialog(current, have, self.widget)
        if not dialogs.run_dialog(dialog) or dialog.choice() == current:
            return
        self.project.options["population_total"] = dialog.choice()
        self.session.set_dirty(True)
        self.inputs_changed.emit()
        self.status(f"Population basis: {dialog.choice()} (run the analysis again)")

    def road_refs(self) -> list:
        return [] if self.project is None else self.project.layers_of("roads")

    def road_classes(self, ref=None) -> None:
        refs = self.road_refs()
        if ref is None:
            if not refs:
                dialogs.show_info(self.widget, "Road classes", "The project has no roads layer.")
                return
            ref = refs[0] if len(refs) == 1 else _choose(self.widget, refs)
            if ref is None:
                return
        layer = self.data.layers.get(ref.name) if self.data is not None else None
        table = dict(ref.options.get("road_classes") or (layer.road_classes if layer else None)
                     or {c: c for c in ROAD_CLASSES} | {k: v for k, v in OSM_HIGHWAY_CLASSES.items()})
        values = _source_values(ref)
        dialog = RoadClassesDialog(ref.name, table, values, self.widget)
        if not dialogs.run_dialog(dialog):
            return
        ref.options["road_classes"] = dialog.table()
        self.session.set_dirty(True)

        def done(loaded):
            self.data.layers[ref.name] = loaded
            self.inputs_changed.emit()
            self.status(f"Road classes of {ref.name} updated ({len(loaded.data):,} roads)")

        self.tasks.start(load_layer_ref, ref, pass_feedback=False, label=f"Reloading {ref.name}", on_done=done,
                         on_error=lambda exc: self.task_error(f"Road classes of {ref.name}", exc))


def _choose(parent, refs):
    names = [r.name for r in refs]
    name, ok = QInputDialog.getItem(parent, "Road classes", "Roads layer", names, 0, False)
    return refs[names.index(name)] if ok else None


def _source_values(ref) -> list:
    """The distinct values of the layer's road-class field in the file (empty if unreadable)."""
    from coverage_app.core.data.layers import read_vector
    from coverage_app.core.errors import InputError

    field = (ref.mapping or {}).get("road_class")
    try:
        frame = read_vector(ref.path, ref.layer)
    except InputError:
        return []
    if field is None or field not in frame:
        from coverage_app.core.data.roles import guess_mapping

        field = guess_mapping("roads", frame.columns).get("road_class")
    if field is None or field not in frame:
        return []
    return sorted({str(v).strip().lower() for v in frame[field].dropna()})
