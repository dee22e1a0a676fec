"""Smaller pieces of the window: identify panel, export dialog, about text."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from coverage_app import __version__
from coverage_app.core.outputs.fonts import FONT_DIR

from . import dialogs


def format_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    return str(value)


class IdentifyPanel(QWidget):
    """Attributes of the features found under a click (one branch per feature)."""

    feature_activated = Signal(object, int)  # layer, row

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setObjectName("identify_tree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Field", "Value"])
        # sized to the field names, not to the layer titles of the top rows (see _fit_field_column)
        self.tree.header().setSectionResizeMode(0, QHeaderView.Interactive)
        self.tree.header().setStretchLastSection(True)
        self.tree.itemClicked.connect(self._clicked)
        self.hint = QLabel("Click a feature on the map to see its attributes.")
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.hint)
        layout.addWidget(self.tree)
        self.hits = []

    def show_hits(self, hits) -> None:
        """``hits``: list of (layer, row)."""
        self.hits = list(hits)
        self.tree.clear()
        if not hits:
            self.hint.setText("Nothing here. Click a feature on the map to see its attributes.")
            return
        self.hint.setText(f"{len(hits)} feature{'s' if len(hits) > 1 else ''} found.")
        for i, (layer, row) in enumerate(hits):
            attrs = layer.attributes(row)
            label = next((format_value(v) for k, v in attrs if k in ("name", "name_en", "fac_name") and v), "")
            if not label and getattr(layer, "geometry", "") == "raster" and attrs:
                label = format_value(attrs[0][1]) + (f" {layer.unit}" if getattr(layer, "unit", "") else "")
            top = QTreeWidgetItem([layer.title, label])
            top.setData(0, Qt.UserRole, i)
            top.setToolTip(0, layer.title)
            top.setToolTip(1, label)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            for name, value in attrs:
                text = format_value(value)
                child = QTreeWidgetItem([name, text])
                child.setData(0, Qt.UserRole, i)
                child.setToolTip(1, text)
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(i == 0)
        self._fit_field_column()

    def _fit_field_column(self) -> None:
        """The Field column as wide as the field names, at most 55% of the panel: sized to a layer's
        title ("Travel time to primary care (min) — Scenario 1", in bold) it pushed the values out of
        a dock ~300 px wide (a 1366 x 768 laptop). Long titles and values are elided, whole in tooltips."""
        metrics = self.tree.fontMetrics()
        widest = 0
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                widest = max(widest, metrics.horizontalAdvance(top.child(j).text(0)))
        if not widest:
            return
        margins = 2 * self.tree.indentation() + 12  # a child's indent and the cell's padding
        room = self.tree.viewport().width() if self.tree.isVisible() else self.width() - 24
        self.tree.setColumnWidth(0, min(widest + margins, max(int(0.55 * room), 80)))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_field_column()

    def values(self, index: int = 0) -> dict:
        layer, row = self.hits[index]
        return dict(layer.attributes(row))

    def _clicked(self, item, column) -> None:
        index = item.data(0, Qt.UserRole)
        if index is not None and index < len(self.hits):
            self.feature_activated.emit(*self.hits[index])


class ExportDialog(QDialog):
    """Export coverage: formats, safe sharing, folder."""

    def __init__(self, folder: str, parent=None, scenario_text: str = ""):
        super().__init__(parent)
        self.setObjectName("export_dialog")
        self.setWindowTitle("Export coverage")
        # which scenario the files hold (run.json records it with its edits)
        self.scenario_label = QLabel(scenario_text)
        self.scenario_label.setObjectName("export_scenario")
        self.scenario_label.setWordWrap(True)
        self.scenario_label.setStyleSheet("font-weight:bold")
        self.gpkg = QCheckBox("GeoPackage (coverage.gpkg, all layers in one file)")
        self.gpkg.setChecked(True)
        self.shp = QCheckBox("Shapefiles (villages, catchments, townships, facilities; UTF-8 .cpg)")
        self.shp.setChecked(True)
        self.rasters = QCheckBox("Travel-time GeoTIFFs")
        self.rasters.setChecked(True)
        self.csv = QCheckBox("CSV tables (townships, villages, coverage curve)")
        self.csv.setChecked(True)
        self.safe = QCheckBox("Safe sharing: drop facility names, generalise facility locations")
        self.safe.toggled.connect(lambda on: self.rasters.setEnabled(not on))
        self.folder = QLineEdit(folder)
        self.folder.setObjectName("folder")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow(self.gpkg)
        form.addRow(self.shp)
        form.addRow(self.rasters)
        form.addRow(self.csv)
        form.addRow(self.safe)
        form.addRow("Folder", row)
        note = QLabel("Exports contain health facility locations: share them only within the team, or use safe "
                      "sharing. Files are written atomically: an interrupted export leaves the previous files intact.")
        note.setWordWrap(True)
        note.setStyleSheet("color:#8e0152")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Export")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        if scenario_text:
            layout.addWidget(self.scenario_label)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        folder = dialogs.get_directory(self, "Export coverage to folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _accept(self) -> None:
        if not self.formats():
            dialogs.show_warning(self, "Export coverage", "Choose at least one format (GeoPackage or Shapefile).")
            return
        if not self.folder.text().strip():
            dialogs.show_warning(self, "Export coverage", "Choose the folder to export to.")
            return
        self.accept()

    def formats(self) -> tuple[str, ...]:
        return tuple(f for f, box in (("gpkg", self.gpkg), ("shp", self.shp)) if box.isChecked())

    def options(self) -> dict:
        return {"out_dir": self.folder.text().strip(), "formats": self.formats(), "safe_share": self.safe.isChecked(),
                "rasters": self.rasters.isChecked() and not self.safe.isChecked(), "csv": self.csv.isChecked()}


def about_html(project) -> str:
    credits = list(getattr(project, "credits", []) or [])
    items = "".join(f"<li>{c}</li>" for c in credits) or "<li>(this project lists no data sources)</li>"
    fonts = sorted({p.stem.split("-")[0] for p in FONT_DIR.glob("*.ttf")})
    font_names = ", ".join({"NotoSans": "Noto Sans", "NotoSansMyanmar": "Noto Sans Myanmar"}.get(f, f) for f in fonts)
    return (
        f"<h3>Coverage analyser {__version__}</h3>"
        "<p>Health-care access and coverage for planners in Sagaing Region, Myanmar: travel-time catchments, "
        "villages and people without primary or secondary care, scenarios and briefing maps. "
        "Works offline; makes no network connection.</p>"
        f"<p><b>Data sources of “{getattr(project, 'name', '')}”</b></p><ul>{items}</ul>"
        f"<p><b>Fonts</b>: {font_names} © Google and the Noto project authors, under the SIL Open Font "
        "License 1.1 (OFL.txt is shipped with the app).</p>"
        "<p><b>Software</b>: Qt for Python (PySide6, LGPL), NumPy, pandas, GeoPandas, Shapely, pyogrio, "
        "GDAL, PROJ, rasterio, numba, Matplotlib, myanmartools.</p>"
        "<p style='color:#8e0152'>Facility locations are sensitive. Do not share exports or maps outside the "
        "team unless made with the safe-sharing option.</p>")


def scrolling(inner: QWidget, sideways: bool = True):
    """``inner`` inside a frameless, resizable scroll area (returned). ``sideways=False``: no
    horizontal scroll bar (``inner``'s widgets must then wrap or shrink to the area's width)."""
    from PySide6.QtWidgets import QScrollArea

    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.NoFrame)
    scroll.setWidget(inner)
    if not sideways:
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    return scroll


def fill_with_scrolling(owner: QWidget, inner: QWidget, sideways: bool = True):
    """Lay ``inner`` into ``owner`` inside a :func:`scrolling` area, so a panel never widens or
    lengthens its dock (small screens). Returns the scroll area."""
    scroll = scrolling(inner, sideways)
    outer = QVBoxLayout(owner)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    return scroll
