"""The attribute table of any vector layer (F6): every field, sorted by a header click,
filtered by typed text (any field), rows selected (highlighted on the map) and zoomed to.
Selecting features on the map with the Select tool selects their rows here too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout)

from .results_dock import FrameModel
from .tables import FrozenColumnView


class AttributeTable(QDialog):
    rows_selected = Signal(object, object)   # layer, np.ndarray of frame rows
    zoom_requested = Signal()

    def __init__(self, layer, parent=None):
        super().__init__(parent)
        self.setObjectName("attribute_table")
        self.layer = layer
        self.setWindowTitle(f"Attribute table — {layer.title}")
        fields = [f for f in layer.fields()]
        frame = pd.DataFrame(layer.frame.drop(columns=layer.frame.geometry.name, errors="ignore")) \
            if hasattr(layer.frame, "geometry") else pd.DataFrame(layer.frame)
        frame = frame[[f for f in fields if f in frame]].copy()
        frame["__row"] = np.arange(len(frame))
        self.model = FrameModel([(f, f) for f in fields], tuple(range(len(fields))), self)
        self.model.set_frame(frame)
        self.view = FrozenColumnView(self.model, None, self)
        self.view.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.view.frozen.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.view.fit_columns()
        self.filter = QLineEdit()
        self.filter.setObjectName("attribute_filter")
        self.filter.setPlaceholderText("Filter: rows where any field contains…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter)
        self.count = QLabel("")
        self.zoom_button = QPushButton("Zoom to selection")
        self.zoom_button.clicked.connect(self.zoom_requested.emit)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(self.zoom_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        self.resize(760, 460)
        self._update_count()

    def _filter(self, text: str) -> None:
        self.model.set_text(text)
        self._update_count()

    def _update_count(self) -> None:
        n = len(self.selected_rows())
        self.count.setText(f"{self.model.rowCount():,} of {len(self.model.frame):,} features shown"
                           + (f", {n:,} selected" if n else ""))

    def selected_rows(self) -> np.ndarray:
        """Frame rows (positions in the layer) of the selected table rows."""
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return np.array([int(self.model.row_value(r, "__row")) for r in rows], dtype=np.int64)

    def _selection_changed(self, *_):
        self._update_count()
        self.rows_selected.emit(self.layer, self.selected_rows())

    def select_frame_rows(self, rows) -> None:
        """Select these layer rows in the table (from a map selection)."""
        wanted = set(int(r) for r in rows)
        selection = QItemSelection()
        for r in range(self.model.rowCount()):
            if int(self.model.row_value(r, "__row")) in wanted:
                selection.select(self.model.index(r, 0), self.model.index(r, self.model.columnCount() - 1))
        sm = self.view.selectionModel()
        sm.blockSignals(True)
        sm.select(selection, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
        sm.blockSignals(False)
        self.view.viewport().update()
        self._update_count()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)
