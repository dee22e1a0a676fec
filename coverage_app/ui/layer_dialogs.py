"""Dialogs for layers: add (role and field mapping, pre-filled by the core's guesses) and
properties (style, labels, source information)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QCheckBox, QColorDialog, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPlainTextEdit,
                               QPushButton, QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from coverage_app.core.data.roles import ROLES, guess_mapping

from .maplayers import LABEL_FIELDS, POINT, POLYGON, RASTER, MapLayer

NONE = "(not in this file)"


class AddLayerDialog(QDialog):
    """Choose the layer of a file, its role and which file field feeds each canonical field."""

    def __init__(self, infos, parent=None, problems=None):
        super().__init__(parent)
        self.setWindowTitle(f"Add layer — {Path(infos[0].path).name}")
        self.setObjectName("add_layer_dialog")
        self.infos = list(infos)
        self.raster = bool(self.infos[0].raster)
        form = QFormLayout()
        self.layer_combo = QComboBox()
        for info in self.infos:
            text = info.layer or Path(info.path).name
            if info.count is not None:
                text += f"  ({info.count:,} features, {', '.join(info.geom_types) or 'no geometry'})"
            self.layer_combo.addItem(text)
        self.layer_combo.setEnabled(len(self.infos) > 1)
        form.addRow("Layer in file", self.layer_combo)
        self.name_edit = QLineEdit()
        form.addRow("Name on the map", self.name_edit)
        self.role_combo = QComboBox()
        for name, spec in ROLES.items():
            if spec.raster == self.raster:
                self.role_combo.addItem(f"{spec.title} ({name})", name)
        form.addRow("Role", self.role_combo)
        self.role_hint = QLabel()
        self.role_hint.setWordWrap(True)
        form.addRow("", self.role_hint)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Field (role)", "Field in the file"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.problems = QPlainTextEdit()
        self.problems.setReadOnly(True)
        self.problems.setMaximumHeight(90)
        self.problems.setVisible(bool(problems))
        if problems:
            self.problems.setPlainText("\n".join(str(p) for p in problems))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Add layer")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        if not self.raster:
            layout.addWidget(QLabel("Field mapping (guessed from the field names; required fields are marked *):"))
            layout.addWidget(self.table)
        layout.addWidget(self.problems)
        layout.addWidget(buttons)
        self.layer_combo.currentIndexChanged.connect(self._layer_changed)
        self.role_combo.currentIndexChanged.connect(self._role_changed)
        self._layer_changed(0)
        self.resize(560, 520 if not self.raster else 240)

    @property
    def info(self):
        return self.infos[max(0, self.layer_combo.currentIndex())]

    def _layer_changed(self, _index) -> None:
        info = self.info
        self.name_edit.setText(info.layer or Path(info.path).stem)
        role = info.role or ("landcover" if self.raster else "reference")
        index = self.role_combo.findData(role)
        if index >= 0 and index != self.role_combo.currentIndex():
            self.role_combo.setCurrentIndex(index)  # (fills the mapping through _role_changed)
        else:
            self._role_changed()

    def _role_changed(self, *_):
        role = self.role_combo.currentData()
        spec = ROLES[role]
        guessed = self.info.role == role
        self.role_hint.setText("Role guessed from the file's fields." if guessed else
                               "Choose the file field for each role field below.")
        if self.raster:
            return
        mapping = guess_mapping(role, self.info.columns)
        # drop the previous drop-downs now: a replaced cell widget lingers until deleted later
        # and was drawn over the first field's name
        for row in range(self.table.rowCount()):
            old = self.table.cellWidget(row, 1)
            if old is not None:
                self.table.removeCellWidget(row, 1)
                old.hide()
                old.deleteLater()
        self.table.setRowCount(len(spec.fields))
        for row, f in enumerate(spec.fields):
            label = QTableWidgetItem(f"{f.name}{' *' if f.required else ''}")
            label.setFlags(Qt.ItemIsEnabled)
            label.setToolTip(f.description or f.kind)
            self.table.setItem(row, 0, label)
            combo = QComboBox()
            combo.addItem(NONE, None)
            for column in self.info.columns:
                combo.addItem(column, column)
            if f.name in mapping:
                combo.setCurrentIndex(combo.findData(mapping[f.name]))
            self.table.setCellWidget(row, 1, combo)

    def mapping(self) -> dict[str, str]:
        if self.raster:
            return {}
        spec = ROLES[self.role_combo.currentData()]
        out = {}
        for row, f in enumerate(spec.fields):
            combo = self.table.cellWidget(row, 1)
            if combo is not None and combo.currentData():
                out[f.name] = combo.currentData()
        return out

    def set_field(self, canonical: str, column: str | None) -> None:
        spec = ROLES[self.role_combo.currentData()]
        row = [f.name for f in spec.fields].index(canonical)
        combo = self.table.cellWidget(row, 1)
        combo.setCurrentIndex(combo.findData(column) if column else 0)

    def set_role(self, role: str) -> None:
        self.role_combo.setCurrentIndex(self.role_combo.findData(role))

    def choice(self) -> dict:
        return {"path": self.info.path, "layer": self.info.layer, "role": self.role_combo.currentData(),
                "mapping": self.mapping(), "name": self.name_edit.text().strip() or Path(self.info.path).stem}


class ColourButton(QPushButton):
    def __init__(self, colour: str | None, parent=None):
        super().__init__(parent)
        self.colour = colour
        self.clicked.connect(self._choose)
        self._show()

    def _show(self) -> None:
        self.setText(self.colour or "none")
        if self.colour:
            q = QColor(self.colour)
            text = "#000000" if q.lightness() > 128 else "#ffffff"
            self.setStyleSheet(f"background:{self.colour}; color:{text}")
        else:
            self.setStyleSheet("")

    def _choose(self) -> None:
        colour = QColorDialog.getColor(QColor(self.colour or "#888888"), self, "Colour")
        if colour.isValid():
            self.set_colour(colour.name())

    def set_colour(self, colour: str | None) -> None:
        self.colour = colour
        self._show()


class LayerPropertiesDialog(QDialog):
    """Style (automatic / single / categorised / graduated), labels, opacity, and source info."""

    MODES = (("auto", "Automatic (by role: status, kind, class, gap…)"), ("single", "Single symbol"),
             ("categorised", "Categorised by a field"), ("graduated", "Graduated by a number field"))

    def __init__(self, layer: MapLayer, parent=None):
        super().__init__(parent)
        self.layer = layer
        self.setWindowTitle(f"Layer properties — {layer.title}")
        self.setObjectName("layer_properties_dialog")
        style = dict(layer.style)
        base = layer.base_style() if hasattr(layer, "base_style") else None
        tabs = QTabWidget()
        # style tab
        page = QWidget()
        form = QFormLayout(page)
        self.title_edit = QLineEdit(layer.title)
        form.addRow("Name", self.title_edit)
        self.mode = QComboBox()
        for key, text in self.MODES:
            self.mode.addItem(text, key)
        self.mode.setCurrentIndex(max(0, self.mode.findData(style.get("mode", "auto"))))
        self.field = QComboBox()
        for name in layer.fields():
            self.field.addItem(name, name)
        if style.get("field"):
            self.field.setCurrentIndex(max(0, self.field.findData(style["field"])))
        self.fill = ColourButton(style.get("fill", base.fill if base else None))
        self.no_fill = QCheckBox("no fill")
        self.no_fill.setChecked(bool(style.get("no_fill", base is not None and base.fill is None)))
        fill_row = QHBoxLayout()
        fill_row.addWidget(self.fill)
        fill_row.addWidget(self.no_fill)
        self.stroke = ColourButton(style.get("stroke", base.stroke if base else None))
        self.stroke_width = QDoubleSpinBox()
        self.stroke_width.setRange(0.0, 10.0)
        self.stroke_width.setSingleStep(0.1)
        self.stroke_width.setSuffix(" pt")
        self.stroke_width.setValue(float(style.get("stroke_width", base.stroke_width if base else 0.5)))
        self.size = QDoubleSpinBox()
        self.size.setRange(0.5, 30.0)
        self.size.setSingleStep(0.5)
        self.size.setSuffix(" pt")
        self.size.setValue(float(style.get("size", base.size if base else 4.0)))
        self.opacity = QDoubleSpinBox()
        self.opacity.setRange(0.05, 1.0)
        self.opacity.setSingleStep(0.05)
        self.opacity.setValue(float(style.get("opacity", 1.0)))
        self.labels = QComboBox()
        self.labels.addItem("No labels", None)
        for text, candidates in LABEL_FIELDS.items():
            found = next((c for c in candidates if c in layer.fields()), None)
            if found:
                self.labels.addItem(f"{text} ({found})", found)
        for name in layer.fields():
            if self.labels.findData(name) < 0:
                self.labels.addItem(name, name)
        self.labels.setCurrentIndex(max(0, self.labels.findData(style.get("label_field"))))
        self.label_size = QDoubleSpinBox()
        self.label_size.setRange(5, 24)
        self.label_size.setSuffix(" pt")
        self.label_size.setValue(float(style.get("label_size", 8.0)))
        if layer.geometry != RASTER:
            form.addRow("Style", self.mode)
            form.addRow("Field", self.field)
            form.addRow("Fill", fill_row)
            form.addRow("Outline / line colour", self.stroke)
            form.addRow("Outline / line width", self.stroke_width)
            if layer.geometry == POINT:
                form.addRow("Marker size", self.size)
        form.addRow("Opacity", self.opacity)
        if layer.geometry != RASTER:
            form.addRow("Labels", self.labels)
            form.addRow("Label size", self.label_size)
        tabs.addTab(page, "Style")
        # info tab
        info = QPlainTextEdit()
        info.setReadOnly(True)
        info.setPlainText(self._info_text())
        tabs.addTab(info, "Information")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel | QDialogButtonBox.Apply)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.apply_button = buttons.button(QDialogButtonBox.Apply)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self._mode_changed()
        self._initial = {"stroke_width": round(self.stroke_width.value(), 2), "size": round(self.size.value(), 2)}
        self._base_size = base.size if base is not None else None
        self.resize(480, 460)

    def _mode_changed(self, *_):
        mode = self.mode.currentData()
        self.field.setEnabled(mode in ("categorised", "graduated"))
        single = mode == "single"
        for w in (self.fill, self.no_fill, self.stroke):
            w.setEnabled(single)
        self.no_fill.setVisible(self.layer.geometry == POLYGON)

    def _info_text(self) -> str:
        layer = self.layer
        lines = [f"Name: {layer.title}", f"Role: {layer.role}",
                 f"Features: {layer.count():,}" if layer.geometry != RASTER else f"Cells with values: {layer.count():,}"]
        if layer.ref is not None:
            lines += [f"File: {layer.ref.path}", f"Layer in file: {layer.ref.layer or '-'}"]
            if layer.ref.mapping:
                lines.append("Field mapping: " + ", ".join(f"{k} ← {v}" for k, v in layer.ref.mapping.items()))
        if getattr(layer, "map_crs", None) is not None and hasattr(layer, "frame") and layer.frame.crs is not None:
            lines.append(f"Source CRS: {layer.frame.crs.to_string()}")
        if layer.result:
            lines.append("Result of the last analysis (not saved in the project; export it with File ▸ Export).")
        if layer.problems:
            lines.append("")
            lines.append("Problems found when loading:")
            lines += [f"  {p}" for p in layer.problems]
        return "\n".join(lines)

    def style(self) -> dict:
        """The new style dict (also keeps keys this dialog does not edit)."""
        style = dict(self.layer.style)
        style["mode"] = self.mode.currentData()
        if self.field.currentData():
            style["field"] = self.field.currentData()
        if self.mode.currentData() == "single":
            style["fill"] = self.fill.colour
            style["no_fill"] = self.no_fill.isChecked()
            style["stroke"] = self.stroke.colour
        if round(self.stroke_width.value(), 2) != self._initial["stroke_width"]:
            style["stroke_width"] = round(self.stroke_width.value(), 2)
        if self.layer.geometry == POINT and round(self.size.value(), 2) != self._initial["size"]:
            style["size"] = round(self.size.value(), 2)
            if self._base_size:
                style["size_scale"] = round(self.size.value() / self._base_size, 3)
        style["opacity"] = round(self.opacity.value(), 2)
        style["label_field"] = self.labels.currentData()
        style["label_size"] = round(self.label_size.value(), 1)
        return style
