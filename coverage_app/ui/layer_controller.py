"""The project's layers on the map: map layers made from the project's layer references,
rasters read on first show, add (dialog, drop, role and field mapping), remove, rename,
style, reorder, and the Zawgyi-text offer.

Map layers are in the canvas's working CRS (metres); see :mod:`coverage_app.ui.maplayers`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox

from coverage_app.core.data.crs import working_crs_for
from coverage_app.core.data.layers import RASTER_SUFFIXES, VECTOR_SUFFIXES, convert_zawgyi, inspect_raster, load_layer
from coverage_app.core.data.project import PROJECT_SUFFIX, LayerRef
from coverage_app.core.data.roles import ROLES
from coverage_app.core.data.viewmodel import inspect_file, raster_for_display
from coverage_app.core.errors import Problem, errors_of

from . import dialogs, settings
from .layer_dialogs import AddLayerDialog, LayerPropertiesDialog
from .maplayers import (LANDCOVER_COLOURS, MapLayer, RasterLayer, VectorLayer, category_colours,
                        grey_colours)
from .session import Controller

DEFAULT_LABELS = {"townships": "name_en"}
FILE_FILTER = ("Map data (" + " ".join(f"*{s}" for s in sorted(VECTOR_SUFFIXES | RASTER_SUFFIXES)) + ");;"
               "All files (*)")


class LayerController(Controller):
    layer_added = Signal(object)        # the MapLayer put on the map
    inputs_changed = Signal()           # a layer the analysis reads was added or removed
    facilities_changed = Signal()       # a facilities layer was added
    project_dropped = Signal(str)       # a .covproj among added files: open it

    def __init__(self, session, tasks, widget, stack, canvas, status=None):
        super().__init__(session, tasks, widget, status)
        self.stack = stack
        self.canvas = canvas
        stack.layer_changed.connect(self._layer_changed)
        stack.structure_changed.connect(self._structure_changed)

    # ---------------------------------------------------------------------------------
    # the project's layers
    def clear(self, _project=None) -> None:
        self.stack.clear()
        self.canvas.highlight = []

    def show_project_layers(self, data) -> None:
        """Set the map CRS for the data's extent and put every loaded layer on the map."""
        bounds = data.bounds()
        crs = working_crs_for(bounds, 4326) if bounds is not None else "EPSG:32646"
        self.canvas.set_crs(crs)
        for ref in self.project.layers:
            layer = self.make_layer(ref)
            if layer is not None:
                self.stack.layers.append(layer)
                self.session.map_layers[ref.name] = layer
        self.stack.bump()
        self.stack.structure_changed.emit()

    def make_layer(self, ref: LayerRef) -> MapLayer | None:
        data = self.data
        if ref.name in data.layers:
            frame = data.layers[ref.name].data
            if ref.role in DEFAULT_LABELS and "label_field" not in ref.style:
                ref.style["label_field"] = DEFAULT_LABELS[ref.role]
            layer = VectorLayer(ref.name, ref.role, frame, self.canvas.crs, ref=ref, visible=ref.visible)
            layer.problems = list(data.layers[ref.name].problems)
            return layer
        if ref.name in data.rasters:
            layer = RasterLayer(ref.name, ref.role, np.zeros((0, 0), np.float32), _identity(), ref=ref,
                                visible=ref.visible, colour=self._raster_colours(ref),
                                legend_items=self._raster_legend(ref), unit="m" if ref.role == "dem" else "class")
            layer.pending = True
            if ref.visible:
                QTimer.singleShot(0, lambda l=layer: self.load_raster(l))
            return layer
        return None

    @staticmethod
    def _raster_colours(ref: LayerRef):
        if ref.role == "landcover":
            classes = (ref.options or {}).get("classes", {})
            return category_colours({int(code): LANDCOVER_COLOURS.get(name, "#999999")
                                     for code, name in classes.items()})
        return grey_colours

    @staticmethod
    def _raster_legend(ref: LayerRef):
        if ref.role == "landcover":
            return [(name, LANDCOVER_COLOURS.get(name, "#999999"))
                    for name in (ref.options or {}).get("classes", {}).values()]
        return [("low", "#303030"), ("high", "#f0f0f0")]

    def load_raster(self, layer: RasterLayer) -> None:
        """Read a raster for display (in the background) the first time it is shown."""
        if not getattr(layer, "pending", False) or getattr(layer, "loading", False):
            return
        layer.loading = True

        def done(out):
            layer.loading = False
            layer.pending = False
            values, transform = out
            layer.set_values(values, transform)
            self.stack.changed(layer)

        def failed(exc):
            layer.loading = False
            self.task_error(f"Show {layer.title}", exc)

        def cancelled():
            layer.loading = False

        self.tasks.start(raster_for_display, layer.ref.path, self.canvas.crs, label=f"Reading {layer.title}",
                         on_done=done, on_error=failed, on_cancelled=cancelled)

    # ---------------------------------------------------------------------------------
    # problems and Zawgyi
    def report_load_problems(self, problems) -> None:
        zawgyi = [p for p in problems if p.fix == "zawgyi"]
        others = [p for p in problems if p.fix != "zawgyi"]
        if others:
            dialogs.show_problems(self.widget, "Problems in the project's layers",
                                  "Some layers have problems; layers with errors were left out:", others)
        for problem in zawgyi:
            self.offer_zawgyi(problem)

    def offer_zawgyi(self, problem: Problem) -> None:
        layers = self.project.layers
        ref = next((r for r in layers if r.path == problem.file and r.layer == problem.layer), None)
        if ref is None:
            ref = next((r for r in layers if Path(r.path).name == Path(problem.file or "").name
                        and r.layer == problem.layer), None)
        if ref is None or ref.convert_zawgyi:
            return
        declined_key = f"zawgyi_declined/{Path(ref.path).name}:{ref.layer or ''}"
        if settings.value(declined_key):
            self.status(f"{ref.name}: some Burmese text looks Zawgyi-encoded (conversion declined)")
            return
        box = QMessageBox(QMessageBox.Question, "Zawgyi text found",
                          f"{problem}\n\nConvert this text to Unicode for display and analysis? (The file itself "
                          "is not changed; the choice is saved in the project.)",
                          QMessageBox.Yes | QMessageBox.No, self.widget)
        box.setObjectName("zawgyi_offer")
        box.setAttribute(Qt.WA_DeleteOnClose, True)

        def answered(button_code):
            if button_code == QMessageBox.Yes:
                self.convert_layer_zawgyi(ref)
            elif self.project is not None and self.project.protected:
                ref.options["zawgyi"] = "keep"  # kept inside the encrypted project: no file name in the settings
                self.session.set_dirty(True)
            else:
                settings.set_value(declined_key, True)

        box.finished.connect(answered)
        if dialogs.create_boxes:
            box.open()
        self.zawgyi_box = box

    def convert_layer_zawgyi(self, ref: LayerRef) -> None:
        layer = self.data.layers.get(ref.name) if self.data else None
        if layer is None:
            return
        layer.data, changed = convert_zawgyi(layer.data)
        layer.problems = [p for p in layer.problems if p.fix != "zawgyi"]
        ref.convert_zawgyi = True
        map_layer = self.session.map_layers.get(ref.name)
        if isinstance(map_layer, VectorLayer):
            map_layer.set_frame(layer.data)
            self.stack.changed(map_layer)
        self.session.set_dirty(True)
        self.status(f"{ref.name}: {changed} Zawgyi value(s) converted to Unicode")

    # ---------------------------------------------------------------------------------
    # add, remove, style
    def add_layer_dialog(self) -> None:
        folder = settings.value("last_data_folder", "") or ""
        paths = dialogs.get_open_files(self.widget, "Add layer", FILE_FILTER, str(folder))
        if paths:
            settings.set_value("last_data_folder", str(Path(paths[0]).parent))
            self.add_layer_files(paths)

    def add_layer_files(self, paths) -> None:
        """Inspect files in the background, then ask role and field mapping for each."""
        projects = [p for p in paths if str(p).endswith(PROJECT_SUFFIX)]
        if projects:
            self.project_dropped.emit(str(projects[0]))
            return
        if self.data is None:
            dialogs.show_warning(self.widget, "Add layer", "Wait until the project has finished loading.")
            return
        for path in paths:
            self.tasks.start(inspect_file, path, label=f"Reading {Path(path).name}", pass_feedback=False,
                             on_done=lambda infos, p=path: self._ask_layer(p, infos),
                             on_error=lambda exc, p=path: self.task_error(f"Add layer {Path(p).name}", exc))

    def _ask_layer(self, path, infos) -> None:
        if not infos:
            dialogs.show_error(self.widget, "Add layer", f"{Path(path).name}: the file has no layers")
            return
        dialog = AddLayerDialog(infos, self.widget)
        self.last_add_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return
        self.add_layer(**dialog.choice())

    def unique_name(self, name: str) -> str:
        names = {r.name for r in self.project.layers}
        if name not in names:
            return name
        i = 2
        while f"{name} ({i})" in names:
            i += 1
        return f"{name} ({i})"

    def add_layer(self, path, role, layer=None, mapping=None, name=None) -> None:
        """Load a layer file with this role and mapping and put it on top of the map."""
        name = self.unique_name(name or layer or Path(path).stem)
        if ROLES[role].raster:
            _info, problems = inspect_raster(path)
            if errors_of(problems):
                dialogs.show_problems(self.widget, "Add layer", f"“{name}” cannot be added:", problems)
                self.status(f"“{name}” was not added")  # not the stale "Reading …" of its inspection
                return
            ref = LayerRef(name=name, path=str(Path(path).resolve()), role=role, layer=None, mapping={},
                           options={"enabled": True})
            self.project.layers.insert(0, ref)
            self.data.rasters[name] = ref
            self._insert_ref_layer(ref)
            return

        def done(loaded):
            for problem in loaded.problems:  # every message names the file it is about
                if not problem.file:
                    problem.file = str(path)
            if errors_of(loaded.problems):
                dialogs.show_problems(self.widget, "Add layer", f"“{name}” cannot be added:", loaded.problems)
                self.status(f"“{name}” was not added")
                return
            ref = LayerRef(name=name, path=str(Path(path).resolve()), role=role, layer=layer,
                           mapping=dict(mapping or loaded.mapping), style=self.added_style(role))
            if loaded.road_classes:  # e.g. OSM highway values: the table is kept (and editable) in the project
                ref.options["road_classes"] = dict(loaded.road_classes)
            self.project.layers.insert(0, ref)
            self.data.layers[name] = loaded
            self._insert_ref_layer(ref)
            warnings = [p for p in loaded.problems if p.fix != "zawgyi"]
            if warnings:
                dialogs.show_problems(self.widget, "Layer added with warnings",
                                      f"“{name}” was added from {Path(path).name}; note:", warnings)
            for problem in loaded.problems:
                if problem.fix == "zawgyi":
                    self.offer_zawgyi(problem)

        self.tasks.start(load_layer, path, role, layer=layer, mapping=mapping or None, name=name, strict=False,
                         pass_feedback=False, label=f"Loading {name}", on_done=done,
                         on_error=lambda exc: self.task_error(f"Add layer {name}", exc))

    #: outline colours that tell a second (third…) layer of a role from the project's own
    ADDED_OUTLINES = ("#ff7f00", "#6a3d9a", "#00a6a6", "#b15928")

    def added_style(self, role: str) -> dict:
        """A distinct look for a layer whose role the project already has (e.g. a second
        facilities file): a coloured, thicker outline and, for points, a diamond marker."""
        same = [r for r in self.project.layers if r.role == role]
        if not same or ROLES[role].raster:
            return {}
        colour = self.ADDED_OUTLINES[(len(same) - 1) % len(self.ADDED_OUTLINES)]
        style = {"stroke": colour, "stroke_width": 2.0}
        if role in ("facilities", "villages", "reference"):
            style["marker"] = "D"
        return style

    def _insert_ref_layer(self, ref: LayerRef) -> None:
        layer = self.make_layer(ref)
        if layer is None:
            return
        self.session.map_layers[ref.name] = layer
        self.stack.insert(0, layer)
        if len([l for l in self.stack if l.extent() is not None]) == 1:
            self.canvas.zoom_full()
        self.inputs_changed.emit()
        self.session.set_dirty(True)
        if ref.role == "facilities":
            self.facilities_changed.emit()
        self.status(f"Added {ref.name} ({ROLES[ref.role].title.lower()})")
        self.layer_added.emit(layer)

    def remove_layer(self, layer: MapLayer) -> None:
        if layer.ref is not None:
            if not dialogs.ask(self.widget, "Remove layer", f"Remove “{layer.title}” from the project? "
                                                             "(The file is not deleted.)"):
                return
            self.project.layers = [r for r in self.project.layers if r is not layer.ref]
            self.data.layers.pop(layer.ref.name, None)
            self.data.rasters.pop(layer.ref.name, None)
            self.session.map_layers.pop(layer.ref.name, None)
            self.inputs_changed.emit()
            self.session.set_dirty(True)
        else:
            self.session.result_layers = {k: v for k, v in self.session.result_layers.items() if v is not layer}
        self.stack.remove(layer)

    def layer_properties(self, layer: MapLayer) -> None:
        dialog = LayerPropertiesDialog(layer, self.widget)
        dialog.apply_button.clicked.connect(lambda: self._apply_style(layer, dialog))
        if dialogs.run_dialog(dialog):
            self._apply_style(layer, dialog)

    def _apply_style(self, layer: MapLayer, dialog: LayerPropertiesDialog) -> None:
        style = dialog.style()
        layer.style.clear()
        layer.style.update(style)
        title = dialog.title_edit.text().strip()
        if title and title != layer.title:
            self.rename_layer(layer, title)
        self.stack.changed(layer)
        if layer.ref is not None:
            self.session.set_dirty(True)

    def rename_layer(self, layer: MapLayer, title: str) -> None:
        if layer.ref is not None:
            title = self.unique_name(title)
            old = layer.ref.name
            layer.ref.name = title
            for store in (self.data.layers, self.data.rasters, self.session.map_layers):
                if old in store:
                    store[title] = store.pop(old)
        layer.title = title
        self.stack.structure_changed.emit()

    def _layer_changed(self, layer: MapLayer) -> None:
        # (the project becomes dirty through the user's actions: visibility, style, order)
        if isinstance(layer, RasterLayer) and layer.visible and getattr(layer, "pending", False):
            self.load_raster(layer)

    def _structure_changed(self) -> None:
        if self.project is None:
            return
        order = [l.ref for l in self.stack if l.ref is not None]
        others = [r for r in self.project.layers if r not in order]
        if order + others != self.project.layers:
            self.project.layers = order + others
            self.session.set_dirty(True)


def _identity():
    from affine import Affine

    return Affine.identity()
