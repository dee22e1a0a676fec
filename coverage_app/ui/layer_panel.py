"""The layer panel: visibility, drawing order (drag), legend, style and properties."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QMenu, QToolButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from .maplayers import LayerStack, MapLayer

KEY_ROLE = Qt.UserRole + 1


class LayerTree(QTreeWidget):
    order_changed = Signal(list)  # layer keys, top first

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragDropMode(QAbstractItemView.InternalMove)
        self.setDefaultDropAction(Qt.MoveAction)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setIconSize(QSize(16, 16))
        self.setIndentation(14)
        self.setObjectName("layer_tree")

    def dropEvent(self, event) -> None:
        super().dropEvent(event)
        # a layer dropped onto another becomes its child: lift it back to the top level
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            for j in reversed(range(item.childCount())):
                child = item.child(j)
                if child.data(0, KEY_ROLE):
                    item.takeChild(j)
                    self.insertTopLevelItem(i + 1, child)
        self.order_changed.emit(self.keys())

    def keys(self) -> list[str]:
        return [self.topLevelItem(i).data(0, KEY_ROLE) for i in range(self.topLevelItemCount())
                if self.topLevelItem(i).data(0, KEY_ROLE)]


class LayerPanel(QWidget):
    """Tree of layers (top = drawn on top) with their legend entries as children."""

    properties_requested = Signal(object)
    remove_requested = Signal(object)
    zoom_requested = Signal(object)
    add_requested = Signal()
    visibility_changed = Signal(object)  # the user ticked or unticked a layer

    def __init__(self, stack: LayerStack, parent=None):
        super().__init__(parent)
        self.stack = stack
        self.tree = LayerTree(self)
        self._updating = False
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.order_changed.connect(self.stack.reorder)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.tree.setContextMenuPolicy(Qt.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        self.buttons = {}
        for name, tip, slot in (("add", "Add layer…", self.add_requested.emit),
                                ("remove", "Remove the selected layer", self._remove_selected),
                                ("up", "Move up (draw later)", lambda: self._move_selected(-1)),
                                ("down", "Move down (draw earlier)", lambda: self._move_selected(1)),
                                ("props", "Layer properties and style…", self._props_selected),
                                ("zoom", "Zoom to layer", self._zoom_selected)):
            button = QToolButton(self)
            button.setText({"add": "+", "remove": "−", "up": "▲", "down": "▼", "props": "Style…",
                            "zoom": "Zoom"}[name])
            button.setToolTip(tip)
            button.setObjectName(f"layer_{name}")
            button.clicked.connect(slot)
            buttons.addWidget(button)
            self.buttons[name] = button
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree)
        layout.addLayout(buttons)
        stack.structure_changed.connect(self.rebuild)
        stack.layer_changed.connect(self._layer_changed)
        self.rebuild()

    # -- model -> view ------------------------------------------------------------------
    def rebuild(self) -> None:
        selected = self.selected_layer()
        self._updating = True
        expanded = {self.tree.topLevelItem(i).data(0, KEY_ROLE) for i in range(self.tree.topLevelItemCount())
                    if self.tree.topLevelItem(i).isExpanded()}
        self.tree.clear()
        for layer in self.stack:
            item = QTreeWidgetItem([self._title(layer)])
            item.setData(0, KEY_ROLE, layer.key)
            item.setFlags(Qt.ItemIsEnabled | Qt.ItemIsSelectable | Qt.ItemIsUserCheckable | Qt.ItemIsDragEnabled)
            item.setCheckState(0, Qt.Checked if layer.visible else Qt.Unchecked)
            item.setToolTip(0, self._tooltip(layer))
            self._fill_legend(item, layer)
            self.tree.addTopLevelItem(item)
            item.setExpanded(layer.key in expanded or (layer.result and layer.visible))
            if selected is layer:
                item.setSelected(True)
        self._updating = False

    def _title(self, layer: MapLayer) -> str:
        return layer.title

    def _tooltip(self, layer: MapLayer) -> str:
        parts = [layer.title, f"role: {layer.role}", f"{layer.count():,} features" if layer.geometry != "raster"
                 else f"{layer.count():,} cells with values"]
        if layer.ref is not None:
            parts.append(layer.ref.path + (f" (layer {layer.ref.layer})" if layer.ref.layer else ""))
        return "\n".join(parts)

    def _fill_legend(self, item: QTreeWidgetItem, layer: MapLayer) -> None:
        entries = layer.legend()
        if len(entries) == 1 and not layer.result:
            item.setIcon(0, QIcon(entries[0][1]))
            return
        for label, pixmap in entries:
            child = QTreeWidgetItem([label])
            child.setIcon(0, QIcon(pixmap))
            child.setFlags(Qt.ItemIsEnabled)
            item.addChild(child)

    def _layer_changed(self, layer: MapLayer) -> None:
        item = self.item_of(layer)
        if item is None:
            return
        self._updating = True
        item.setCheckState(0, Qt.Checked if layer.visible else Qt.Unchecked)
        item.setText(0, self._title(layer))
        item.takeChildren()
        item.setIcon(0, QIcon())
        self._fill_legend(item, layer)
        item.setToolTip(0, self._tooltip(layer))
        self._updating = False

    def item_of(self, layer: MapLayer) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, KEY_ROLE) == layer.key:
                return item
        return None

    # -- view -> model ------------------------------------------------------------------
    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating:
            return
        key = item.data(0, KEY_ROLE)
        layer = self.stack.find(key) if key else None
        if layer is not None and layer.visible != (item.checkState(0) == Qt.Checked):
            self.stack.set_visible(layer, item.checkState(0) == Qt.Checked)
            self.visibility_changed.emit(layer)

    def set_layer_visible(self, layer: MapLayer, visible: bool) -> None:
        """Same as clicking the check box."""
        item = self.item_of(layer)
        item.setCheckState(0, Qt.Checked if visible else Qt.Unchecked)

    def selected_layer(self) -> MapLayer | None:
        items = self.tree.selectedItems()
        if not items:
            return None
        item = items[0]
        while item.parent() is not None:
            item = item.parent()
        return self.stack.find(item.data(0, KEY_ROLE))

    def select(self, layer: MapLayer) -> None:
        item = self.item_of(layer)
        if item is not None:
            self.tree.setCurrentItem(item)

    def _move_selected(self, delta: int) -> None:
        layer = self.selected_layer()
        if layer is None:
            return
        index = self.stack.index(layer) + delta
        self.stack.move(layer, index)
        self.select(layer)

    def _remove_selected(self) -> None:
        layer = self.selected_layer()
        if layer is not None:
            self.remove_requested.emit(layer)

    def _props_selected(self) -> None:
        layer = self.selected_layer()
        if layer is not None:
            self.properties_requested.emit(layer)

    def _zoom_selected(self) -> None:
        layer = self.selected_layer()
        if layer is not None:
            self.zoom_requested.emit(layer)

    def _double_clicked(self, item, column) -> None:
        while item.parent() is not None:
            item = item.parent()
        layer = self.stack.find(item.data(0, KEY_ROLE))
        if layer is not None:
            self.properties_requested.emit(layer)

    def _context_menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        while item.parent() is not None:
            item = item.parent()
        layer = self.stack.find(item.data(0, KEY_ROLE))
        if layer is None:
            return
        menu = QMenu(self)
        for text, signal in (("Zoom to layer", self.zoom_requested), ("Properties and style…", self.properties_requested),
                             ("Remove layer", self.remove_requested)):
            action = QAction(text, menu)
            action.triggered.connect(lambda _=False, s=signal, l=layer: s.emit(l))
            menu.addAction(action)
        menu.popup(self.tree.viewport().mapToGlobal(pos))
