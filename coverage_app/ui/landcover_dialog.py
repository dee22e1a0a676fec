"""Land cover in the analysis: which raster class code is which land-cover class, the
walking speed off road on each class (km/h; 0 = impassable, e.g. open water), and whether
the land-cover layer is used at all (the bundled Sentinel-2 sample is off by default).

Writes the project's ``landcover_speeds_kmh`` and the layer's ``options`` ("classes",
"enabled"), the fields :func:`coverage_app.core.travel.friction.build_friction` reads.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QHeaderView,
                               QLabel, QLineEdit, QTableWidget, QVBoxLayout)

from . import dialogs


class LandcoverDialog(QDialog):
    def __init__(self, project, parent=None):
        super().__init__(parent)
        self.setObjectName("landcover_dialog")
        self.setWindowTitle("Land cover and walking speeds")
        self.project = project
        self.refs = project.layers_of("landcover")
        self.layer_box = QComboBox()
        for ref in self.refs:
            self.layer_box.addItem(ref.name, ref.name)
        self.enabled = QCheckBox("Use this land cover in the analysis (off-road speed by class)")
        self.enabled.setObjectName("landcover_enabled")
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("landcover_table")
        self.table.setHorizontalHeaderLabels(["Code", "Class", "Walking speed (km/h)"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        note = QLabel("Speeds apply off road (roads keep their own speeds); 0 km/h makes a class impassable. "
                      "Classes not listed use the mode's off-road speed.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if len(self.refs) > 1:
            layout.addWidget(self.layer_box)
        layout.addWidget(self.enabled)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.layer_box.currentIndexChanged.connect(self._load)
        self.resize(460, 420)
        self._load()

    def ref(self):
        return self.refs[self.layer_box.currentIndex()] if self.refs else None

    def _load(self, *_):
        ref = self.ref()
        classes = (ref.options or {}).get("classes", {}) if ref else {}
        self.enabled.setChecked(bool(ref and (ref.options or {}).get("enabled", True)))
        self.table.setRowCount(len(classes))
        speeds = self.project.landcover_speeds_kmh or {}
        for r, (code, name) in enumerate(sorted(classes.items(), key=lambda kv: int(kv[0]))):
            code_item = QLabel(str(code))
            code_item.setAlignment(Qt.AlignCenter)
            self.table.setCellWidget(r, 0, code_item)
            self.table.setCellWidget(r, 1, QLineEdit(str(name)))
            spin = QDoubleSpinBox()
            spin.setRange(0.0, 60.0)
            spin.setDecimals(2)
            spin.setSuffix(" km/h")
            spin.setSpecialValueText("impassable")
            spin.setValue(float(speeds.get(name, 0.0) or 0.0))
            self.table.setCellWidget(r, 2, spin)

    def values(self) -> tuple[dict, dict, bool]:
        """({code: class name}, {class name: km/h}, enabled)."""
        classes, speeds = {}, {}
        for r in range(self.table.rowCount()):
            code = self.table.cellWidget(r, 0).text()
            name = self.table.cellWidget(r, 1).text().strip()
            classes[code] = name
            speeds[name] = float(self.table.cellWidget(r, 2).value())
        return classes, speeds, self.enabled.isChecked()

    def _accept(self) -> None:
        classes, _speeds, _on = self.values()
        names = list(classes.values())
        if any(not n for n in names) or len(set(names)) != len(names):
            dialogs.show_warning(self, "Land cover", "Give every class a name, each name once.")
            return
        self.accept()

    def apply(self) -> bool:
        """Write the choices into the project; True if anything changed."""
        ref = self.ref()
        if ref is None:
            return False
        classes, speeds, enabled = self.values()
        before = (dict(ref.options or {}), dict(self.project.landcover_speeds_kmh or {}))
        ref.options = {**(ref.options or {}), "classes": classes, "enabled": enabled}
        self.project.landcover_speeds_kmh = {**(self.project.landcover_speeds_kmh or {}), **speeds}
        return before != (ref.options, self.project.landcover_speeds_kmh)
