"""The analysis panel: parameters of :class:`AnalysisParams` (labels, units and limits from
its field metadata), the speed table editor, and Run."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QScrollArea,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from coverage_app.core.params import FIELDS, SURFACES, AnalysisParams, default_speeds

from .date_edit import DateEdit

SURFACE_LABELS = {"main": "Main road", "secondary": "Secondary road", "tertiary": "Tertiary road",
                  "track": "Track", "path": "Path", "off_road": "Off road"}
WALK_TEXT = "walk"


def _spin(name: str, decimals: int = 0, step: float = 1.0) -> QDoubleSpinBox:
    meta = FIELDS[name].metadata
    spin = QDoubleSpinBox()
    spin.setDecimals(decimals)
    spin.setRange(float(meta.get("min") or 0), float(meta.get("max") or 1e6))
    spin.setSingleStep(step)
    if meta.get("unit"):
        spin.setSuffix(f" {meta['unit']}")
    if meta.get("help"):
        spin.setToolTip(meta["help"])
    spin.setObjectName(name)
    return spin


class SpeedTable(QTableWidget):
    """Surfaces x modes, km/h; 'walk' means people walk there."""

    def __init__(self, parent=None):
        super().__init__(len(SURFACES), 0, parent)
        self.setObjectName("speed_table")
        self.setVerticalHeaderLabels([SURFACE_LABELS.get(s, s) for s in SURFACES])
        self.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.setMinimumHeight(self.verticalHeader().length() + 40)
        self.setToolTip("Travel speed (km/h) on each surface for each mode; type 'walk' where people walk")

    def set_speeds(self, speeds: dict) -> None:
        modes = list(speeds)
        self.setColumnCount(len(modes))
        self.setHorizontalHeaderLabels(modes)
        for c, mode in enumerate(modes):
            for r, surface in enumerate(SURFACES):
                value = speeds[mode].get(surface)
                self.setItem(r, c, QTableWidgetItem(WALK_TEXT if value is None else f"{float(value):g}"))

    def speeds(self) -> dict:
        out = {}
        problems = []
        for c in range(self.columnCount()):
            mode = self.horizontalHeaderItem(c).text()
            out[mode] = {}
            for r, surface in enumerate(SURFACES):
                text = (self.item(r, c).text() if self.item(r, c) else "").strip().lower()
                if text in ("", WALK_TEXT, "none", "-"):
                    out[mode][surface] = None
                    continue
                try:
                    value = float(text.replace(",", "."))
                    if value < 0:
                        raise ValueError
                except ValueError:
                    problems.append(f"speed for {mode} on {SURFACE_LABELS.get(surface, surface)} must be a number "
                                    f"of km/h or 'walk', not {text!r}")
                    continue
                out[mode][surface] = value
        if problems:
            raise ValueError("; ".join(problems))
        return out


class AnalysisPanel(QWidget):
    run_requested = Signal()
    params_edited = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._loading = False
        self.mode = QComboBox()
        self.mode.setObjectName("mode")
        self.primary = _spin("primary_minutes")
        self.secondary = _spin("secondary_minutes")
        self.cell = _spin("cell_size_m")
        self.cell.setSingleStep(50)
        self.bands = QLineEdit()
        self.bands.setObjectName("band_minutes")
        self.bands.setToolTip("Catchment time bands in minutes, separated by commas")
        self.as_of_today = QCheckBox("today")
        self.as_of_today.setObjectName("as_of_today")
        self.as_of = DateEdit()
        self.as_of.setObjectName("as_of")
        self.as_of_today.toggled.connect(lambda on: self.as_of.setEnabled(not on))
        self.neighbours = QComboBox()
        self.neighbours.addItem("16 (accurate)", 16)
        self.neighbours.addItem("8 (faster)", 8)
        self.neighbours.setToolTip("16: knight's moves as well as the 8 neighbours (accurate); 8: faster")
        # a check box's text never wraps: the box, and its label beside it wrapping in a narrow dock
        self.unknown = QCheckBox()
        self.unknown.setObjectName("unknown_counts")
        self.unknown_label = QLabel(FIELDS["unknown_counts"].metadata["label"])
        self.unknown_label.setWordWrap(True)
        self.unknown_label.setBuddy(self.unknown)
        self.unknown_label.mousePressEvent = lambda _e: self.unknown.toggle()
        self.cutoff = _spin("max_minutes")
        self.cutoff.setSpecialValueText("none")
        self.cutoff.setMinimum(0)
        self.speed_table = SpeedTable()
        self.speed_reset = QPushButton("Reset to defaults")
        self.speed_reset.clicked.connect(lambda: (self.speed_table.set_speeds(default_speeds()), self._edited()))
        self.run_button = QPushButton("Run analysis")
        self.run_button.setObjectName("run_analysis")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run_requested.emit)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("analysis_status")

        form = QFormLayout()
        # a narrow dock puts each label above its field instead of clipping the field
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        for combo in (self.mode, self.neighbours):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        form.addRow(FIELDS["mode"].metadata["label"], self.mode)
        form.addRow(FIELDS["primary_minutes"].metadata["label"], self.primary)
        form.addRow(FIELDS["secondary_minutes"].metadata["label"], self.secondary)
        form.addRow(FIELDS["band_minutes"].metadata["label"] + " (min)", self.bands)
        date_row = QVBoxLayout()  # "today" under the date: never pushed out of a narrow dock
        date_row.setSpacing(2)
        date_row.addWidget(self.as_of)
        date_row.addWidget(self.as_of_today)
        form.addRow(FIELDS["as_of"].metadata["label"], date_row)
        form.addRow(FIELDS["cell_size_m"].metadata["label"], self.cell)
        form.addRow(FIELDS["neighbours"].metadata["label"], self.neighbours)
        form.addRow(FIELDS["max_minutes"].metadata["label"], self.cutoff)
        unknown_row = QHBoxLayout()
        unknown_row.addWidget(self.unknown, 0, Qt.AlignTop)
        unknown_row.addWidget(self.unknown_label, 1)
        form.addRow(unknown_row)
        speeds = QGroupBox("Speeds (km/h)")  # a group box is never narrower than its title: kept short
        speeds.setToolTip(FIELDS["speeds_kmh"].metadata["label"] + " (km/h)")
        sl = QVBoxLayout(speeds)
        sl.addWidget(self.speed_table)
        sl.addWidget(self.speed_reset, 0, Qt.AlignRight)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.addLayout(form)
        layout.addWidget(speeds)
        layout.addWidget(self.run_button)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.speed_table.setMinimumWidth(120)
        scroll = QScrollArea()
        scroll.setObjectName("analysis_scroll")
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)  # fields wrap; the panel never scrolls sideways
        self.scroll = scroll
        scroll.setWidget(inner)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        for w in (self.primary, self.secondary, self.cell, self.cutoff):
            w.valueChanged.connect(self._edited)
        for w in (self.mode, self.neighbours):
            w.currentIndexChanged.connect(self._edited)
        self.bands.editingFinished.connect(self._edited)
        self.as_of.dateChanged.connect(self._edited)
        self.as_of_today.toggled.connect(self._edited)
        self.unknown.toggled.connect(self._edited)
        self.speed_table.itemChanged.connect(self._edited)

    def _edited(self, *_):
        if not self._loading:
            self.params_edited.emit()

    def set_params(self, params: AnalysisParams) -> None:
        self._loading = True
        try:
            self.mode.clear()
            for mode in params.speeds_kmh:
                self.mode.addItem(mode, mode)
            self.mode.setCurrentIndex(max(0, self.mode.findData(params.mode)))
            self.primary.setValue(params.primary_minutes)
            self.secondary.setValue(params.secondary_minutes)
            self.cell.setValue(params.cell_size_m)
            self.bands.setText(", ".join(f"{b:g}" for b in params.band_minutes))
            self.as_of_today.setChecked(params.as_of is None)
            day = params.as_of or dt.date.today()
            self.as_of.setDate(QDate(day.year, day.month, day.day))
            self.as_of.setEnabled(params.as_of is not None)
            self.neighbours.setCurrentIndex(max(0, self.neighbours.findData(params.neighbours)))
            self.unknown.setChecked(params.unknown_counts)
            self.cutoff.setValue(params.max_minutes or 0)
            self.speed_table.set_speeds(params.speeds_kmh)
        finally:
            self._loading = False

    def params(self, base: AnalysisParams | None = None) -> AnalysisParams:
        """The parameters shown; raises ValueError with a plain message if one is wrong."""
        try:
            bands = tuple(sorted(float(b) for b in self.bands.text().replace(";", ",").split(",") if b.strip()))
        except ValueError:
            raise ValueError("catchment bands must be minutes separated by commas, e.g. 30, 60, 120") from None
        if not bands:
            raise ValueError("give at least one catchment band in minutes, e.g. 30, 60, 120")
        date = None
        if not self.as_of_today.isChecked():
            if not self.as_of.is_valid():
                raise ValueError(f"{FIELDS['as_of'].metadata['label']}: “{self.as_of.text()}” is not a date; "
                                 "type it as YYYY-MM-DD, e.g. 2024-06-01, or tick “today”")
            q = self.as_of.date()
            date = dt.date(q.year(), q.month(), q.day())
        speeds = self.speed_table.speeds()
        base = base or AnalysisParams()
        return base.replace(mode=self.mode.currentData() or "walking", primary_minutes=self.primary.value(),
                            secondary_minutes=self.secondary.value(), cell_size_m=self.cell.value(),
                            band_minutes=bands, as_of=date, neighbours=int(self.neighbours.currentData()),
                            unknown_counts=self.unknown.isChecked(),
                            max_minutes=self.cutoff.value() or None, speeds_kmh=speeds)

    def set_running(self, running: bool) -> None:
        self.run_button.setText("Running…" if running else "Run analysis")
        self.run_button.setEnabled(not running)
