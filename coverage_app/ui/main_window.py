"""The main window: map canvas, layer / analysis / results / scenario / identify docks,
menus, status bar with progress and Cancel, autosave and recovery.

The window holds the state (project, loaded data, current result) and wires widgets to
core calls run through :class:`coverage_app.ui.tasks.TaskRunner`. It never computes an
analysis itself.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence, QUndoGroup, QUndoStack
from PySide6.QtWidgets import (QApplication, QDockWidget, QLabel, QMainWindow, QMessageBox, QProgressBar,
                               QPushButton, QSizePolicy, QTextBrowser, QDialog, QVBoxLayout, QDialogButtonBox)

from coverage_app.core.analysis.edits import apply_facility_edits
from coverage_app.core.outputs import symbology as sym
from coverage_app.core.data.crs import working_crs_for
from coverage_app.core.errors import InputError, Problem, errors_of
from coverage_app.core.feedback import Cancelled
from coverage_app.core.data.layers import RASTER_SUFFIXES, VECTOR_SUFFIXES, convert_zawgyi, inspect_raster, load_layer
from coverage_app.core.data import protect
from coverage_app.core.data.model import ProjectData, load_project_data
from coverage_app.core.data.project import (PROJECT_SUFFIX, LayerRef, Project, ProjectError, bundled_project_path,
                                       load_project, save_project)
from coverage_app.core.data.roles import ROLES
from coverage_app.core.data.viewmodel import inspect_file, raster_for_display, result_key

from . import dialogs, jobs, settings
from .analysis_panel import AnalysisPanel
from .autosave import Autosave
from .canvas import MapCanvas
from .layer_dialogs import AddLayerDialog, LayerPropertiesDialog
from .layer_panel import LayerPanel
from .maplayers import (LANDCOVER_COLOURS, POINT, LayerStack, MapLayer, RasterLayer, VectorLayer,
                        category_colours, grey_colours, travel_time_colours)
from .results_dock import ResultsDock
from .scenario_panel import AddFacilityDialog, EditCommand, ScenarioPanel, StatusDialog
from .small_widgets import ExportDialog, IdentifyPanel, about_html
from .tasks import TaskRunner

log = logging.getLogger("coverage_app.ui")
CACHE_SIZE = 6                 # results kept for undo, scenario switching and comparison…
CACHE_BYTES = 1_500_000_000    # …within this estimate of their memory (always the last two)
IDENTIFY_TOLERANCE_PX = 7
DEFAULT_LABELS = {"townships": "name_en"}
FILE_FILTER = ("Map data (" + " ".join(f"*{s}" for s in sorted(VECTOR_SUFFIXES | RASTER_SUFFIXES)) + ");;"
               "All files (*)")


class MainWindow(QMainWindow):
    project_loaded = Signal()
    result_shown = Signal()
    layer_added = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("main_window")
        self.setAcceptDrops(True)
        self.resize(first_run_size(self.screen() or QGuiApplication.primaryScreen()))
        self._auto_size = self.size()  # a size we chose (refitted once the frame is known)
        self.project: Project | None = None
        self.data: ProjectData | None = None
        self.result = None
        self.result_key: str | None = None
        self.result_stale = False
        self.comparison = None
        self.cache: OrderedDict = OrderedDict()
        self.dirty = False
        self.map_layers: dict[str, MapLayer] = {}     # LayerRef.name -> map layer
        self.result_layers: dict[str, MapLayer] = {}  # kind -> map layer
        self._closing = False
        self._load_task = None
        self._warmed = False
        self.tasks = TaskRunner(self)
        self.tasks.task_started.connect(self._task_started)
        self.tasks.task_ended.connect(self._task_ended)
        self.stack = LayerStack(self)
        self.canvas = MapCanvas(self.stack, self)
        from .app import ui_font

        self.canvas.font_ui = ui_font(8)
        self.setCentralWidget(self.canvas)
        self.undo_group = QUndoGroup(self)
        self.undo_stacks: dict[str, QUndoStack] = {}
        self._build_actions()
        self._build_docks()
        self._build_menus()
        self._build_statusbar()
        self.canvas.cursor_moved.connect(self._cursor_moved)
        self.canvas.scale_changed.connect(self._scale_changed)
        self.canvas.map_clicked.connect(self._map_clicked)
        self.canvas.files_dropped.connect(self.add_layer_files)
        self.autosave = Autosave(settings.app_data_dir(),
                                 interval_min=float(settings.value("autosave_minutes", 2.0) or 2.0), parent=self)
        self.autosave.project_getter = lambda: self.project
        self.autosave.dirty_getter = lambda: self.dirty
        from .protect_controller import ProtectController

        self.protection = ProtectController(self)  # protected projects, quick close
        self.protection.install_menu()
        self._update_title()

    # =====================================================================================
    # construction
    def _action(self, text, slot=None, shortcut=None, name=None, checkable=False, tip=None) -> QAction:
        action = QAction(text, self)
        if slot is not None:
            action.triggered.connect(slot)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        if name:
            action.setObjectName(name)
        action.setCheckable(checkable)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        return action

    def _build_actions(self) -> None:
        a = self._action
        self.act_new = a("&New project", self.new_project, QKeySequence.New, "new")
        self.act_open = a("&Open project…", self.open_project_dialog, QKeySequence.Open, "open")
        self.act_save = a("&Save project", self.save, QKeySequence.Save, "save")
        self.act_save_as = a("Save project &as…", self.save_as, QKeySequence.SaveAs, "save_as")
        self.act_add_layer = a("&Add layer…", self.add_layer_dialog, "Ctrl+L", "add_layer")
        self.act_export = a("&Export coverage…", self.export_dialog, "Ctrl+E", "export")
        self.act_print = a("&Print briefing map…", self.print_dialog, "Ctrl+P", "print")
        self.act_quit = a("&Quit", self.close, QKeySequence.Quit, "quit")
        self.act_zoom_full = a("Zoom to &full extent", self.canvas.zoom_full, "Ctrl+0", "zoom_full")
        self.act_zoom_layer = a("Zoom to &layer", self.zoom_to_selected_layer, None, "zoom_layer")
        self.act_zoom_selection = a("Zoom to &selection", self.zoom_to_selection, "Ctrl+J", "zoom_selection")
        self.act_zoom_in = a("Zoom in", lambda: self.canvas.zoom_by(1.5), QKeySequence.ZoomIn, "zoom_in")
        self.act_zoom_out = a("Zoom out", lambda: self.canvas.zoom_by(1 / 1.5), QKeySequence.ZoomOut, "zoom_out")
        self.act_legend = a("Show &legend on map", self._toggle_legend, None, "legend", checkable=True)
        self.act_legend.setChecked(True)
        self.act_run = a("&Run analysis", self.run_analysis, "F5", "run")
        self.act_cancel = a("&Cancel running work", self.tasks.cancel_all, "Esc", "cancel")
        self.act_about = a("&About…", self.about, None, "about")
        self.act_undo = self.undo_group.createUndoAction(self, "&Undo")
        self.act_undo.setShortcut(QKeySequence.Undo)
        self.act_redo = self.undo_group.createRedoAction(self, "&Redo")
        self.act_redo.setShortcut(QKeySequence.Redo)
        # short toolbar twins (the menu's actions carry the edit's description)
        self.tb_undo = a("Undo", self.undo_group.undo, None, "toolbar_undo")
        self.tb_redo = a("Redo", self.undo_group.redo, None, "toolbar_redo")
        self.tb_undo.setEnabled(False)
        self.tb_redo.setEnabled(False)
        self.undo_group.canUndoChanged.connect(self.tb_undo.setEnabled)
        self.undo_group.canRedoChanged.connect(self.tb_redo.setEnabled)
        self.undo_group.undoTextChanged.connect(lambda t: self.tb_undo.setToolTip(f"Undo {t}" if t else "Undo"))
        self.undo_group.redoTextChanged.connect(lambda t: self.tb_redo.setToolTip(f"Redo {t}" if t else "Redo"))
        # map tools
        self.tool_group = QActionGroup(self)
        self.tool_actions = {}
        for tool, text, tip in (("pan", "Pan / identify", "Drag to pan, click a feature to see its attributes"),
                                ("status", "Set facility status", "Click a facility to change its status"),
                                ("add", "Add facility", "Click the map where a new facility opens")):
            action = a(text, lambda _=False, t=tool: self.set_tool(t), None, f"tool_{tool}", checkable=True, tip=tip)
            self.tool_group.addAction(action)
            self.tool_actions[tool] = action
        self.tool_actions["pan"].setChecked(True)

    def _dock(self, title: str, widget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.layer_panel = LayerPanel(self.stack, self)
        self.layer_panel.add_requested.connect(self.add_layer_dialog)
        self.layer_panel.remove_requested.connect(self.remove_layer)
        self.layer_panel.properties_requested.connect(self.layer_properties)
        self.layer_panel.zoom_requested.connect(self.zoom_to_layer)
        self.layer_panel.visibility_changed.connect(
            lambda layer: self._set_dirty(True) if layer.ref is not None else None)
        self.stack.layer_changed.connect(self._layer_changed)
        self.stack.structure_changed.connect(self._structure_changed)
        self.analysis_panel = AnalysisPanel(self)
        self.analysis_panel.run_requested.connect(self.run_analysis)
        self.analysis_panel.params_edited.connect(self._params_edited)
        self.results = ResultsDock(self)
        self.results.township_selected.connect(self.zoom_to_township)
        self.results.village_selected.connect(self.zoom_to_village)
        self.scenario_panel = ScenarioPanel(self.undo_group, [self.tool_actions["status"], self.tool_actions["add"]],
                                            self)
        self.scenario_panel.activated.connect(self.activate_scenario)
        self.scenario_panel.new_requested.connect(lambda: self.new_scenario())
        self.scenario_panel.duplicate_requested.connect(lambda: self.new_scenario(duplicate=True))
        self.scenario_panel.rename_requested.connect(self.rename_scenario)
        self.scenario_panel.delete_requested.connect(self.delete_scenario)
        self.scenario_panel.compare_requested.connect(self.compare_scenarios)
        self.scenario_panel.as_of_changed.connect(self._scenario_as_of_changed)
        self.identify_panel = IdentifyPanel(self)
        self.identify_panel.feature_activated.connect(self._identify_activated)
        self.layer_dock = self._dock("Layers", self.layer_panel, Qt.LeftDockWidgetArea, "layers_dock")
        self.analysis_dock = self._dock("Analysis", self.analysis_panel, Qt.LeftDockWidgetArea, "analysis_dock")
        self.scenario_dock = self._dock("Scenarios", self.scenario_panel, Qt.LeftDockWidgetArea, "scenario_dock")
        self.results_dock = self._dock("Results", self.results, Qt.RightDockWidgetArea, "results_dock")
        self.identify_dock = self._dock("Identify", self.identify_panel, Qt.RightDockWidgetArea, "identify_dock")
        self._docks_arranged = False
        self._saved_state = None

    def _arrange_docks(self) -> None:
        """Tabify and size the docks once the window is shown, then restore the saved layout.

        (Qt 6.12: tabifying a second group of docks before the window is shown leaves a
        stale duplicate tab bar painted over the map.)"""
        if self._docks_arranged:
            return
        self._docks_arranged = True
        if self.size() == self._auto_size:  # not resized by the caller since: fit with the frame now known
            self.fit_to_screen()
        self.tabifyDockWidget(self.analysis_dock, self.scenario_dock)
        self.tabifyDockWidget(self.results_dock, self.identify_dock)
        self.analysis_dock.raise_()
        self.results_dock.raise_()
        self.resizeDocks([self.layer_dock, self.results_dock], [320, 420], Qt.Horizontal)
        self.resizeDocks([self.layer_dock, self.analysis_dock], [420, 480], Qt.Vertical)
        if isinstance(self._saved_state, QByteArray) and not self._saved_state.isEmpty():
            self.restoreState(self._saved_state)

    def fit_to_screen(self) -> None:
        """Keep the window (frame included) inside the available area of its screen."""
        if self.isMaximized() or self.isFullScreen():
            return
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        frame = self.frameGeometry()
        extra_w = max(0, frame.width() - self.width())
        extra_h = max(0, frame.height() - self.height())
        width = min(self.width(), area.width() - extra_w)
        height = min(self.height(), area.height() - extra_h)
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        frame = self.frameGeometry()
        x = min(max(frame.x(), area.left()), area.right() + 1 - frame.width())
        y = min(max(frame.y(), area.top()), area.bottom() + 1 - frame.height())
        if (x, y) != (frame.x(), frame.y()):
            self.move(max(x, area.left()), max(y, area.top()))
        self._auto_size = self.size()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._docks_arranged:
            QTimer.singleShot(0, self._arrange_docks)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        for act in (self.act_new, self.act_open):
            self.file_menu.addAction(act)
        self.recent_menu = self.file_menu.addMenu("Recent projects")
        self.recent_menu.setObjectName("recent_menu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        for act in (None, self.act_save, self.act_save_as, None, self.act_add_layer, None, self.act_export,
                    self.act_print, None, self.act_quit):
            self.file_menu.addSeparator() if act is None else self.file_menu.addAction(act)
        self.file_menu.aboutToShow.connect(self._update_actions)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        for act in self.tool_actions.values():
            edit.addAction(act)
        view = bar.addMenu("&View")
        for act in (self.act_zoom_full, self.act_zoom_layer, self.act_zoom_selection, self.act_zoom_in,
                    self.act_zoom_out, None, self.act_legend, None):
            view.addSeparator() if act is None else view.addAction(act)
        for dock in (self.layer_dock, self.analysis_dock, self.scenario_dock, self.results_dock, self.identify_dock):
            view.addAction(dock.toggleViewAction())
        analysis = bar.addMenu("&Analysis")
        analysis.addAction(self.act_run)
        analysis.addAction(self.act_cancel)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_about)
        toolbar = self.addToolBar("Map")
        toolbar.setObjectName("map_toolbar")
        for act in (self.act_open, self.act_save, self.act_add_layer, None, self.act_zoom_full, self.act_zoom_in,
                    self.act_zoom_out, None, *self.tool_actions.values(), None, self.tb_undo, self.tb_redo, None,
                    self.act_run, self.act_export, self.act_print):
            toolbar.addSeparator() if act is None else toolbar.addAction(act)
        self._update_actions()

    def _build_statusbar(self) -> None:
        bar = self.statusBar()
        self.status_message = QLabel("")
        self.status_message.setObjectName("status_message")
        # a long message is cut, it never widens the window beyond a laptop screen
        self.status_message.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.status_message.setMinimumWidth(80)
        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_button")
        self.cancel_button.clicked.connect(self.tasks.cancel_all)
        self.cancel_button.hide()
        self.coords_label = QLabel("")
        self.coords_label.setObjectName("coords")
        self.coords_label.setMinimumWidth(190)
        self.scale_label = QLabel("")
        self.scale_label.setObjectName("scale")
        self.scale_label.setMinimumWidth(110)
        bar.addWidget(self.status_message, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.coords_label)
        bar.addPermanentWidget(self.scale_label)

    # =====================================================================================
    # start, open, save
    def start(self, project_path=None, restore: bool = True) -> None:
        """Open the requested, recovered, last or bundled project (in that order)."""
        geometry = settings.value("window/geometry")
        state = settings.value("window/state")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
            self.fit_to_screen()  # saved on a bigger screen (or a monitor since unplugged)
        self._saved_state = state  # restored once the docks are arranged (after show)
        recovered = self._offer_recovery()
        self.autosave.begin_session()
        if recovered is not None:
            self.set_project(recovered, dirty=True)
            return
        candidates = []
        if project_path:
            candidates.append(project_path)
        elif restore and settings.value("last_project"):
            candidates.append(settings.value("last_project"))
        try:
            candidates.append(str(bundled_project_path()))
        except ProjectError as exc:
            log.warning("%s", exc)
        for path in candidates:
            if path and Path(path).exists() or path == project_path:
                if self.open_project(path):
                    return
        self.set_project(Project(name="Untitled"))

    def _offer_recovery(self):
        if not self.autosave.crashed_before():
            return None
        meta = self.autosave.meta()
        text = ("The app did not close normally last time. An autosaved copy of "
                f"“{meta.get('name', 'your project')}” from {meta.get('saved', 'the last session')} exists.\n\n"
                "Recover it? (No discards the autosave.)")
        if dialogs.ask(self, "Recover project", text):
            try:
                project = self.autosave.recover()
                self.status_message.setText("Recovered the autosaved project; save it to keep it.")
                return project
            except ProjectError as exc:
                dialogs.show_error(self, "Recover project", f"The autosave could not be read: {exc}")
        self.autosave.discard()
        return None

    def open_project(self, path) -> bool:
        if protect.is_protected(path):
            return self.protection.open_protected(path)
        try:
            project = load_project(path)
        except ProjectError as exc:
            dialogs.show_error(self, "Open project", str(exc))
            return False
        self.set_project(project)
        try:
            settings.add_recent_project(path)
        except Exception:  # settings are a convenience
            pass
        return True

    def open_project_dialog(self) -> None:
        if not self._maybe_save():
            return
        path = dialogs.get_open_file(self, "Open project", self.protection.open_file_filter(),
                                     str(Path(self.project.path).parent) if self.project and self.project.path else "")
        if path:
            self.open_project(path)

    def new_project(self) -> None:
        if not self._maybe_save():
            return
        self.set_project(Project(name="Untitled"))

    def set_project(self, project: Project, dirty: bool = False) -> None:
        """Show ``project``: clear the map and results, load its layers in the background."""
        if self._load_task is not None:
            self._load_task.cancel()
        self.tasks.cancel_all()
        self.project = project
        self.data = None
        self.result = None
        self.result_key = None
        self.comparison = None
        self.cache.clear()
        self.map_layers.clear()
        self.result_layers.clear()
        self.stack.clear()
        self.canvas.highlight = []
        self.undo_stacks.clear()
        for stack in list(self.undo_group.stacks()):
            self.undo_group.removeStack(stack)
        self.results.show_result(None)
        self.results.show_comparison(None, "", "")
        self.identify_panel.show_hits([])
        self.analysis_panel.set_params(project.params)
        self._refresh_scenarios()
        self._set_dirty(dirty)
        self.status_message.setText(f"Loading {project.name}…")
        self._load_task = self.tasks.start(load_project_data, project, label=f"Loading {project.name}",
                                           on_done=self._data_loaded, on_error=self._load_failed, group="load")

    def _load_failed(self, exc) -> None:
        self._load_task = None
        self._task_error("Open project", exc)

    def _data_loaded(self, data: ProjectData) -> None:
        if data.project is not self.project:
            return
        self._load_task = None
        self.data = data
        bounds = data.bounds()
        crs = working_crs_for(bounds, 4326) if bounds is not None else "EPSG:32646"
        self.canvas.set_crs(crs)
        for ref in self.project.layers:
            layer = self._make_layer(ref)
            if layer is not None:
                self.stack.layers.append(layer)
                self.map_layers[ref.name] = layer
        self.stack.bump()
        self.stack.structure_changed.emit()
        self._refresh_facilities()
        self.canvas.zoom_full()
        self.canvas.refresh()
        self.status_message.setText(f"{self.project.name}: {len(data.layers) + len(data.rasters)} of "
                                    f"{len(self.project.layers)} layers loaded")
        if data.problems:
            self._report_load_problems(data.problems)
        if not self._warmed:
            # import the analysis and load the compiled engine now, so the first Run is quick
            self._warmed = True
            self.tasks.start(jobs.warm_up, label="Preparing the engine", cancellable=False, group="warmup")
        self.project_loaded.emit()

    def _report_load_problems(self, problems) -> None:
        zawgyi = [p for p in problems if p.fix == "zawgyi"]
        others = [p for p in problems if p.fix != "zawgyi"]
        if others:
            dialogs.show_problems(self, "Problems in the project's layers",
                                  "Some layers have problems; layers with errors were left out:", others)
        for problem in zawgyi:
            self._offer_zawgyi(problem)

    def _offer_zawgyi(self, problem: Problem) -> None:
        ref = next((r for r in self.project.layers if r.path == problem.file and r.layer == problem.layer), None)
        if ref is None:
            ref = next((r for r in self.project.layers if Path(r.path).name == Path(problem.file or "").name
                        and r.layer == problem.layer), None)
        if ref is None or ref.convert_zawgyi:
            return
        declined_key = f"zawgyi_declined/{Path(ref.path).name}:{ref.layer or ''}"
        if settings.value(declined_key):
            self.status_message.setText(f"{ref.name}: some Burmese text looks Zawgyi-encoded (conversion declined)")
            return
        box = QMessageBox(QMessageBox.Question, "Zawgyi text found",
                          f"{problem}\n\nConvert this text to Unicode for display and analysis? (The file itself "
                          "is not changed; the choice is saved in the project.)",
                          QMessageBox.Yes | QMessageBox.No, self)
        box.setObjectName("zawgyi_offer")
        box.setAttribute(Qt.WA_DeleteOnClose, True)

        def answered(button_code):
            if button_code == QMessageBox.Yes:
                self.convert_layer_zawgyi(ref)
            else:
                settings.set_value(declined_key, True)

        box.finished.connect(answered)
        if dialogs.create_boxes:
            box.open()
        self._zawgyi_box = box

    def convert_layer_zawgyi(self, ref: LayerRef) -> None:
        layer = self.data.layers.get(ref.name) if self.data else None
        if layer is None:
            return
        layer.data, changed = convert_zawgyi(layer.data)
        layer.problems = [p for p in layer.problems if p.fix != "zawgyi"]
        ref.convert_zawgyi = True
        map_layer = self.map_layers.get(ref.name)
        if isinstance(map_layer, VectorLayer):
            map_layer.set_frame(layer.data)
            self.stack.changed(map_layer)
        self._set_dirty(True)
        self.status_message.setText(f"{ref.name}: {changed} Zawgyi value(s) converted to Unicode")

    def _make_layer(self, ref: LayerRef) -> MapLayer | None:
        if ref.name in self.data.layers:
            frame = self.data.layers[ref.name].data
            if ref.role in DEFAULT_LABELS and "label_field" not in ref.style:
                ref.style["label_field"] = DEFAULT_LABELS[ref.role]
            layer = VectorLayer(ref.name, ref.role, frame, self.canvas.crs, ref=ref, visible=ref.visible)
            layer.problems = list(self.data.layers[ref.name].problems)
            return layer
        if ref.name in self.data.rasters:
            layer = RasterLayer(ref.name, ref.role, np.zeros((0, 0), np.float32), _identity(), ref=ref,
                                visible=ref.visible, colour=self._raster_colours(ref),
                                legend_items=self._raster_legend(ref), unit="m" if ref.role == "dem" else "class")
            layer.pending = True
            if ref.visible:
                QTimer.singleShot(0, lambda l=layer: self._load_raster(l))
            return layer
        return None

    def _raster_colours(self, ref: LayerRef):
        if ref.role == "landcover":
            classes = (ref.options or {}).get("classes", {})
            return category_colours({int(code): LANDCOVER_COLOURS.get(name, "#999999")
                                     for code, name in classes.items()})
        return grey_colours

    def _raster_legend(self, ref: LayerRef):
        if ref.role == "landcover":
            return [(name, LANDCOVER_COLOURS.get(name, "#999999"))
                    for name in (ref.options or {}).get("classes", {}).values()]
        return [("low", "#303030"), ("high", "#f0f0f0")]

    def _load_raster(self, layer: RasterLayer) -> None:
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
            self._task_error(f"Show {layer.title}", exc)

        def cancelled():
            layer.loading = False

        self.tasks.start(raster_for_display, layer.ref.path, self.canvas.crs, label=f"Reading {layer.title}",
                         on_done=done, on_error=failed, on_cancelled=cancelled)

    def save(self) -> bool:
        if self.project is None:
            return False
        if self.project.path is None or Path(self.project.path).name == "":
            return self.save_as()
        if self._is_bundled(self.project.path):
            return self.save_as()
        return self._save_to(self.project.path)

    def _is_bundled(self, path) -> bool:
        try:
            return Path(path).resolve() == bundled_project_path().resolve()
        except ProjectError:
            return False

    def save_as(self) -> bool:
        if self.project is not None and self.project.protected:
            return self.protection.save_protected_as()
        start = str(Path(self.project.path).parent / f"{Path(self.project.path).stem}-copy{PROJECT_SUFFIX}") \
            if self.project and self.project.path else f"project{PROJECT_SUFFIX}"
        path = dialogs.get_save_file(self, "Save project as", f"Projects (*{PROJECT_SUFFIX})", start)
        if not path:
            return False
        if not path.endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX
        return self._save_to(path)

    def _save_to(self, path) -> bool:
        if self.project.protected:
            return self.protection.save_to(path)
        try:
            save_project(self.project, path)
        except ProjectError as exc:
            dialogs.show_error(self, "Save project", str(exc))
            return False
        self._set_dirty(False)
        self.autosave.discard()
        try:
            settings.add_recent_project(path)
        except Exception:
            pass
        self.status_message.setText(f"Saved {path}")
        return True

    def _maybe_save(self) -> bool:
        if not self.dirty or self.project is None:
            return True
        answer = dialogs.ask_save_changes(self, self.project.name)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = settings.recent_projects()
        if not recent:
            action = self.recent_menu.addAction("(none yet)")
            action.setEnabled(False)
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self._open_recent(p))

    def _open_recent(self, path: str) -> None:
        if self._maybe_save():
            self.open_project(path)

    def _set_dirty(self, dirty: bool) -> None:
        self.dirty = bool(dirty)
        self._update_title()
        if dirty:
            self.autosave.changed()

    def _update_title(self) -> None:
        name = self.project.name if self.project else "Coverage analyser"
        path = f" — {self.project.path}" if self.project and self.project.path else ""
        self.setWindowTitle(f"{'*' if self.dirty else ''}{name}{path} — Coverage analyser")

    def _update_actions(self) -> None:
        self.act_export.setEnabled(self.result is not None)
        printable = _print_dialog_available()
        self.act_print.setEnabled(printable and self.data is not None)
        self.act_print.setToolTip("Print briefing map" if printable else "Printing is not available in this build")
        self.act_run.setEnabled(self.data is not None)

    # =====================================================================================
    # layers
    def add_layer_dialog(self) -> None:
        folder = settings.value("last_data_folder", "") or ""
        paths = dialogs.get_open_files(self, "Add layer", FILE_FILTER, str(folder))
        if paths:
            settings.set_value("last_data_folder", str(Path(paths[0]).parent))
            self.add_layer_files(paths)

    def add_layer_files(self, paths) -> None:
        """Inspect files in the background, then ask role and field mapping for each."""
        projects = [p for p in paths if str(p).endswith(PROJECT_SUFFIX)]
        if projects:
            if self._maybe_save():
                self.open_project(projects[0])
            return
        if self.data is None:
            dialogs.show_warning(self, "Add layer", "Wait until the project has finished loading.")
            return
        for path in paths:
            self.tasks.start(inspect_file, path, label=f"Reading {Path(path).name}", pass_feedback=False,
                             on_done=lambda infos, p=path: self._ask_layer(p, infos),
                             on_error=lambda exc, p=path: self._task_error(f"Add layer {Path(p).name}", exc))

    def _ask_layer(self, path, infos) -> None:
        if not infos:
            dialogs.show_error(self, "Add layer", f"{Path(path).name}: the file has no layers")
            return
        dialog = AddLayerDialog(infos, self)
        self.last_add_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return
        self.add_layer(**dialog.choice())

    def _unique_name(self, name: str) -> str:
        names = {r.name for r in self.project.layers}
        if name not in names:
            return name
        i = 2
        while f"{name} ({i})" in names:
            i += 1
        return f"{name} ({i})"

    def add_layer(self, path, role, layer=None, mapping=None, name=None) -> None:
        """Load a layer file with this role and mapping and put it on top of the map."""
        name = self._unique_name(name or layer or Path(path).stem)
        if ROLES[role].raster:
            _info, problems = inspect_raster(path)
            if errors_of(problems):
                dialogs.show_problems(self, "Add layer", f"“{name}” cannot be added:", problems)
                return
            ref = LayerRef(name=name, path=str(Path(path).resolve()), role=role, layer=None, mapping={},
                           options={"enabled": True})
            self.project.layers.insert(0, ref)
            self.data.rasters[name] = ref
            self._insert_ref_layer(ref)
            return

        def done(loaded):
            if errors_of(loaded.problems):
                dialogs.show_problems(self, "Add layer", f"“{name}” cannot be added:", loaded.problems)
                return
            ref = LayerRef(name=name, path=str(Path(path).resolve()), role=role, layer=layer,
                           mapping=dict(mapping or loaded.mapping))
            self.project.layers.insert(0, ref)
            self.data.layers[name] = loaded
            self._insert_ref_layer(ref)
            warnings = [p for p in loaded.problems if p.fix != "zawgyi"]
            if warnings:
                dialogs.show_problems(self, "Layer added with warnings", f"“{name}” was added; note:", warnings)
            for problem in loaded.problems:
                if problem.fix == "zawgyi":
                    self._offer_zawgyi(problem)

        self.tasks.start(load_layer, path, role, layer=layer, mapping=mapping or None, name=name, strict=False,
                         pass_feedback=False, label=f"Loading {name}", on_done=done,
                         on_error=lambda exc: self._task_error(f"Add layer {name}", exc))

    def _insert_ref_layer(self, ref: LayerRef) -> None:
        layer = self._make_layer(ref)
        if layer is None:
            return
        self.map_layers[ref.name] = layer
        self.stack.insert(0, layer)
        if len([l for l in self.stack if l.extent() is not None]) == 1:
            self.canvas.zoom_full()
        self._mark_results_stale()
        self._set_dirty(True)
        if ref.role == "facilities":
            self._refresh_facilities()
        self.status_message.setText(f"Added {ref.name} ({ROLES[ref.role].title.lower()})")
        self.layer_added.emit(layer)

    def remove_layer(self, layer: MapLayer) -> None:
        if layer.ref is not None:
            if not dialogs.ask(self, "Remove layer", f"Remove “{layer.title}” from the project? "
                                                      "(The file is not deleted.)"):
                return
            self.project.layers = [r for r in self.project.layers if r is not layer.ref]
            self.data.layers.pop(layer.ref.name, None)
            self.data.rasters.pop(layer.ref.name, None)
            self.map_layers.pop(layer.ref.name, None)
            self._mark_results_stale()
            self._set_dirty(True)
        else:
            self.result_layers = {k: v for k, v in self.result_layers.items() if v is not layer}
        self.stack.remove(layer)

    def layer_properties(self, layer: MapLayer) -> None:
        dialog = LayerPropertiesDialog(layer, self)
        dialog.apply_button.clicked.connect(lambda: self._apply_style(layer, dialog))
        if dialogs.run_dialog(dialog):
            self._apply_style(layer, dialog)

    def _apply_style(self, layer: MapLayer, dialog: LayerPropertiesDialog) -> None:
        style = dialog.style()
        layer.style.clear()
        layer.style.update(style)
        title = dialog.title_edit.text().strip()
        if title and title != layer.title:
            self._rename_layer(layer, title)
        self.stack.changed(layer)
        if layer.ref is not None:
            self._set_dirty(True)

    def _rename_layer(self, layer: MapLayer, title: str) -> None:
        if layer.ref is not None:
            title = self._unique_name(title)
            old = layer.ref.name
            layer.ref.name = title
            for store in (self.data.layers, self.data.rasters, self.map_layers):
                if old in store:
                    store[title] = store.pop(old)
        layer.title = title
        self.stack.structure_changed.emit()

    def _layer_changed(self, layer: MapLayer) -> None:
        # (the project becomes dirty through the user's actions: visibility, style, order)
        if isinstance(layer, RasterLayer) and layer.visible and getattr(layer, "pending", False):
            self._load_raster(layer)

    def _structure_changed(self) -> None:
        if self.project is None:
            return
        order = [l.ref for l in self.stack if l.ref is not None]
        others = [r for r in self.project.layers if r not in order]
        if order + others != self.project.layers:
            self.project.layers = order + others
            self._set_dirty(True)

    # =====================================================================================
    # view
    def zoom_to_layer(self, layer: MapLayer) -> None:
        self.canvas.zoom_to_extent(layer.extent())

    def zoom_to_selected_layer(self) -> None:
        layer = self.layer_panel.selected_layer()
        if layer is not None:
            self.zoom_to_layer(layer)

    def zoom_to_selection(self) -> None:
        geoms = [g for g in self.canvas.highlight if g is not None and not g.is_empty]
        if not geoms:
            return
        minx, miny, maxx, maxy = shapely.total_bounds(np.array(geoms, dtype=object))
        pad = 2500.0 if (maxx - minx) < 1000 and (maxy - miny) < 1000 else 0.0
        self.canvas.zoom_to_extent((minx - pad, miny - pad, maxx + pad, maxy + pad))

    def _select_features(self, geoms) -> None:
        self.canvas.highlight = [g for g in geoms if g is not None]
        self.canvas.update()

    def zoom_to_township(self, pcode: str) -> None:
        for layer in self.stack:
            if layer.role == "townships" and isinstance(layer, VectorLayer) and "pcode" in layer.frame:
                rows = np.flatnonzero(layer.frame["pcode"].astype(str).to_numpy() == pcode)
                if len(rows):
                    geoms = [layer.geoms[i] for i in rows]
                    self._select_features(geoms)
                    self.zoom_to_selection()
                    return

    def zoom_to_village(self, pcode: str) -> None:
        candidates = [self.result_layers.get("villages")] + [l for l in self.stack if l.role == "villages"]
        for layer in candidates:
            if isinstance(layer, VectorLayer) and "pcode" in layer.frame:
                rows = np.flatnonzero(layer.frame["pcode"].astype(str).to_numpy() == pcode)
                if len(rows):
                    self._select_features([layer.geoms[rows[0]]])
                    self.zoom_to_selection()
                    self.identify_panel.show_hits([(layer, int(rows[0]))])
                    return

    def _toggle_legend(self, on: bool) -> None:
        self.canvas.show_legend = on
        self.canvas.refresh()

    def _cursor_moved(self, lon: float, lat: float) -> None:
        self.coords_label.setText(f"{abs(lat):.5f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.5f}° "
                                  f"{'E' if lon >= 0 else 'W'}")

    def _scale_changed(self, n: float) -> None:
        if not math.isfinite(n):
            return
        magnitude = 10 ** max(0, int(math.log10(max(n, 1))) - 1)
        self.scale_label.setText(f"1:{round(n / magnitude) * magnitude:,.0f}")

    # =====================================================================================
    # map clicks: identify and scenario tools
    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        self.tool_actions[tool].setChecked(True)
        hints = {"pan": "Drag to pan, wheel to zoom, click a feature to identify it.",
                 "status": "Click a facility to change its status (in the active scenario).",
                 "add": "Click the map where the new facility is."}
        self.status_message.setText(hints[tool])

    def _map_clicked(self, x: float, y: float, button) -> None:
        tool = self.canvas.tool
        if tool == "status":
            self._status_tool(x, y)
        elif tool == "add":
            self._add_tool(x, y)
        else:
            self.identify(x, y)

    def hits_at(self, x: float, y: float, roles=None) -> list[tuple[MapLayer, int]]:
        tolerance = IDENTIFY_TOLERANCE_PX * self.canvas.scale
        hits = []
        for layer in self.stack:
            if not layer.visible or (roles and layer.role not in roles):
                continue
            if isinstance(layer, RasterLayer) and getattr(layer, "pending", False):
                continue
            for row in layer.identify(x, y, tolerance)[:3]:
                hits.append((layer, row))
        return hits

    def identify(self, x: float, y: float) -> list:
        hits = self.hits_at(x, y)
        self.identify_panel.show_hits(hits)
        self._select_features([hits[0][0].feature_geometry(hits[0][1])] if hits else [])
        if hits:
            self.identify_dock.raise_()
        return hits

    def _identify_activated(self, layer, row) -> None:
        self._select_features([layer.feature_geometry(row)])

    def _status_tool(self, x: float, y: float) -> None:
        hits = [(l, r) for l, r in self.hits_at(x, y, roles=("facilities",)) if isinstance(l, VectorLayer)]
        if not hits:
            self.status_message.setText("No facility there: click on a facility symbol.")
            return
        layer, row = hits[0]
        facility = dict(layer.attributes(row))
        self._select_features([layer.feature_geometry(row)])
        dialog = StatusDialog(facility, self._default_edit_date(), self)
        self.last_status_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return
        values = dialog.values()
        edit = {"type": "set_status", "fac_id": str(facility["fac_id"]), "status": values["status"],
                "date": values["date"], "name": facility.get("name")}
        self.push_edit(edit)

    def _add_tool(self, x: float, y: float) -> None:
        lon, lat = self.canvas.map_to_lonlat(x, y)
        levels = []
        for layer in self.stack:
            if layer.role == "facilities" and isinstance(layer, VectorLayer) and "level" in layer.frame:
                levels += sorted(set(layer.frame["level"].dropna().astype(str)))
        dialog = AddFacilityDialog(lon, lat, levels, self._default_edit_date(), self)
        self.last_add_facility_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return
        values = dialog.values()
        edit = {"type": "add_facility", "fac_id": self._new_facility_id(), **values,
                "lon": round(float(lon), 6), "lat": round(float(lat), 6), "status": "functioning"}
        self.push_edit(edit)

    def _default_edit_date(self) -> dt.date:
        scenario = self.active_scenario()
        if scenario and scenario.get("as_of"):
            return dt.date.fromisoformat(scenario["as_of"])
        return self.project.params.as_of or dt.date.today()

    def _new_facility_id(self) -> str:
        used = set()
        for layer in self.stack:
            if layer.role == "facilities" and isinstance(layer, VectorLayer) and "fac_id" in layer.frame:
                used |= set(layer.frame["fac_id"].astype(str))
        for s in self.project.scenarios:
            used |= {str(e.get("fac_id")) for e in s.get("edits", [])}
        i = 1
        while f"NEW-{i:03d}" in used:
            i += 1
        return f"NEW-{i:03d}"

    # =====================================================================================
    # scenarios
    def active_scenario(self) -> dict | None:
        return self.project.scenario(self.project.active_scenario) if self.project else None

    def _undo_stack(self, name: str) -> QUndoStack:
        stack = self.undo_stacks.get(name)
        if stack is None:
            stack = QUndoStack(self)
            self.undo_stacks[name] = stack
            self.undo_group.addStack(stack)
        return stack

    def _refresh_scenarios(self) -> None:
        if self.project is None:
            return
        self.scenario_panel.set_scenarios(self.project.scenarios, self.project.active_scenario)
        active = self.project.active_scenario
        self.undo_group.setActiveStack(self._undo_stack(active) if active else None)

    def new_scenario(self, duplicate: bool = False, name: str | None = None) -> dict:
        base = self.active_scenario() if duplicate else None
        existing = {s["name"] for s in self.project.scenarios}
        if name is None:
            i = len(self.project.scenarios) + 1
            name = f"Scenario {i}"
            while name in existing:
                i += 1
                name = f"Scenario {i}"
        scenario = copy.deepcopy(base) if base else {"name": name, "as_of": None, "edits": []}
        scenario["name"] = name if not base else self._unique_scenario_name(f"{base['name']} (copy)")
        self.project.scenarios.append(scenario)
        self._set_dirty(True)
        self.activate_scenario(scenario["name"])
        return scenario

    def _unique_scenario_name(self, name: str) -> str:
        existing = {s["name"] for s in self.project.scenarios}
        candidate, i = name, 2
        while candidate in existing:
            candidate = f"{name} {i}"
            i += 1
        return candidate

    def rename_scenario(self) -> None:
        scenario = self.active_scenario()
        if scenario is None:
            dialogs.show_info(self, "Rename scenario", "The baseline cannot be renamed; select a scenario.")
            return
        name = dialogs.get_text(self, "Rename scenario", "Name", scenario["name"])
        if not name or name == scenario["name"]:
            return
        name = self._unique_scenario_name(name.strip())
        old = scenario["name"]
        scenario["name"] = name
        self.project.active_scenario = name
        if old in self.undo_stacks:
            stack = self.undo_stacks.pop(old)
            self.undo_stacks[name] = stack
            for i in range(stack.count()):
                command = stack.command(i)
                if isinstance(command, EditCommand):
                    command.scenario_name = name
        self.cache = OrderedDict((k, v) for k, v in self.cache.items())  # keys hold content, renamed ones miss
        self._set_dirty(True)
        self._refresh_scenarios()

    def delete_scenario(self) -> None:
        scenario = self.active_scenario()
        if scenario is None:
            return
        if not dialogs.ask(self, "Delete scenario", f"Delete the scenario “{scenario['name']}” and its edits?"):
            return
        self.project.scenarios = [s for s in self.project.scenarios if s is not scenario]
        stack = self.undo_stacks.pop(scenario["name"], None)
        if stack is not None:
            self.undo_group.removeStack(stack)
        self._set_dirty(True)
        self.activate_scenario(None)

    def activate_scenario(self, name: str | None) -> None:
        if self.project is None:
            return
        if name is not None and self.project.scenario(name) is None:
            name = None
        changed = name != self.project.active_scenario
        self.project.active_scenario = name
        if changed:
            self._set_dirty(True)
        self._refresh_scenarios()
        self._refresh_facilities()
        self._results_for_current_state()

    def _scenario_as_of_changed(self, value) -> None:
        scenario = self.active_scenario()
        if scenario is None or scenario.get("as_of") == value:
            return
        scenario["as_of"] = value
        self._set_dirty(True)
        self._refresh_facilities()
        self._results_for_current_state()

    def push_edit(self, edit: dict) -> None:
        """Add a scenario edit through the undo stack (creating a scenario from the baseline)."""
        scenario = self.active_scenario()
        if scenario is None:
            scenario = self.new_scenario()
            self.status_message.setText(f"Created “{scenario['name']}” for your edits (the baseline stays as loaded)")
        self._undo_stack(scenario["name"]).push(EditCommand(self, scenario["name"], edit))

    def apply_scenario_edit(self, name: str, edit: dict) -> None:
        scenario = self.project.scenario(name)
        if scenario is None:
            return
        before = copy.deepcopy(scenario)
        scenario.setdefault("edits", []).append(edit)
        self._set_dirty(True)
        self._refresh_scenarios()
        self._refresh_facilities()
        if name != self.project.active_scenario:
            return
        key = self._key(scenario)
        if key in self.cache:
            self._show_result(self.cache[key], key)
            return
        previous = self.cache.get(self._key(before))
        if previous is not None and self.data is not None:
            self._start_update(previous, copy.deepcopy(scenario), edit, key)
        elif self.result is not None:
            self._start_analysis(copy.deepcopy(scenario), key, label="Updating results")

    def remove_scenario_edit(self, name: str, edit: dict) -> None:
        scenario = self.project.scenario(name)
        if scenario is None:
            return
        edits = scenario.get("edits", [])
        for i in range(len(edits) - 1, -1, -1):
            if edits[i] is edit or edits[i] == edit:
                del edits[i]
                break
        self._set_dirty(True)
        self._refresh_scenarios()
        self._refresh_facilities()
        if name == self.project.active_scenario:
            self._results_for_current_state()

    def _results_for_current_state(self) -> None:
        """Show the cached result of the current state, or recompute if results were on show."""
        if self.data is None:
            return
        scenario = self.active_scenario()
        key = self._key(scenario)
        if key in self.cache:
            self._show_result(self.cache[key], key)
        elif self.result is not None:
            self._start_analysis(copy.deepcopy(scenario) if scenario else None, key, label="Updating results")

    def _refresh_facilities(self) -> None:
        """Draw facilities as the active scenario has them (statuses changed, new ones added)."""
        if self.data is None:
            return
        scenario = self.active_scenario()
        # as core.analysis.scenario_as_of (not imported here: it loads the numba engine)
        as_of = dt.date.fromisoformat(str(scenario["as_of"])) if scenario and scenario.get("as_of") else \
            self.project.params.as_of_date
        first = True
        for ref in self.project.layers_of("facilities"):
            layer = self.map_layers.get(ref.name)
            base = self.data.layers.get(ref.name)
            if not isinstance(layer, VectorLayer) or base is None:
                continue
            frame = base.data
            if scenario:
                ids = set(frame["fac_id"].astype(str))
                edits = []
                for e in scenario.get("edits", []):
                    if e.get("type") == "add_facility" and first:
                        edits.append(e)
                        ids.add(str(e.get("fac_id")))
                    elif e.get("type") == "set_status" and str(e.get("fac_id")) in ids:
                        edits.append(e)
                try:
                    frame = apply_facility_edits(frame, {**scenario, "edits": edits}, as_of)
                except InputError as exc:
                    log.warning("scenario edits not shown: %s", exc)
            first = False
            layer.set_frame(frame)
            self.stack.changed(layer)

    def compare_scenarios(self, name_a, name_b) -> None:
        if self.data is None:
            return
        if name_a == name_b:
            dialogs.show_info(self, "Compare", "Choose two different scenarios to compare.")
            return
        try:
            params = self._params_from_panel()
        except ValueError as exc:
            dialogs.show_error(self, "Compare scenarios", str(exc))
            return
        sa = copy.deepcopy(self.project.scenario(name_a)) if name_a else None
        sb = copy.deepcopy(self.project.scenario(name_b)) if name_b else None
        ka, kb = result_key(params, sa), result_key(params, sb)

        project = self.project

        def done(out):
            if self.project is not project:
                return
            ra, rb, comparison = out
            self._remember(ka, ra)
            self._remember(kb, rb)
            self.comparison = comparison
            self._show_comparison(comparison, name_a or "Baseline", name_b or "Baseline")

        self.tasks.start(jobs.compare, jobs.snapshot(self.data), params, sa, sb, self.cache.get(ka),
                         self.cache.get(kb), label="Comparing scenarios", group="analysis", replace=True,
                         on_done=done, on_error=lambda exc: self._task_error("Compare scenarios", exc),
                         on_cancelled=lambda: self.status_message.setText("Comparison cancelled"))

    def _show_comparison(self, comparison, name_a: str, name_b: str) -> None:
        self.results.show_comparison(comparison, name_a, name_b)
        self.results_dock.raise_()
        frame = comparison.villages
        layer = self.result_layers.get("compare")
        title = f"Access changes: {name_a} → {name_b}"
        if frame is None or not len(frame):
            if layer is not None:
                self.stack.remove(layer)
                self.result_layers.pop("compare", None)
            self.status_message.setText(f"No village changes access between {name_a} and {name_b}")
            return
        if layer is None:
            layer = VectorLayer(title, "comparison", frame, self.canvas.crs, result=True, style={})
            self.result_layers["compare"] = layer
            self.stack.insert(0, layer)
        else:
            layer.title = title
            layer.set_frame(frame)
            self.stack.changed(layer)
            self.stack.structure_changed.emit()
        self.stack.set_visible(layer, True)

    # =====================================================================================
    # analysis
    def _params_from_panel(self):
        return self.analysis_panel.params(self.project.params)

    def _params_edited(self) -> None:
        try:
            params = self._params_from_panel()
        except ValueError:
            return
        if params != self.project.params:
            self.project.params = params
            self._set_dirty(True)
            self._mark_results_stale()

    def _mark_results_stale(self) -> None:
        self.cache.clear()
        if self.result is not None and not self.result_stale:
            self.result_stale = True
            self.results.show_result(self.result, stale=True, scenario_name=self.project.active_scenario)

    def _key(self, scenario) -> str:
        return result_key(self.project.params, copy.deepcopy(scenario) if scenario else None)

    def _remember(self, key: str, result) -> None:
        self.cache[key] = result
        self.cache.move_to_end(key)

        def size(r) -> int:  # rasters, engine state and friction: ~80 bytes a cell
            rows, cols = r.grid.shape
            return rows * cols * 80

        while len(self.cache) > 2 and (len(self.cache) > CACHE_SIZE
                                       or sum(size(r) for r in self.cache.values()) > CACHE_BYTES):
            oldest = next(iter(self.cache))
            if self.cache[oldest] is self.result:
                self.cache.move_to_end(oldest)
                oldest = next(iter(self.cache))
            self.cache.pop(oldest)

    def run_analysis(self):
        if self.data is None:
            dialogs.show_info(self, "Run analysis", "The project is still loading.")
            return None
        try:
            params = self._params_from_panel()
        except ValueError as exc:
            dialogs.show_error(self, "Analysis parameters", str(exc))
            return None
        if params != self.project.params:
            self.project.params = params
            self._set_dirty(True)
        scenario = self.active_scenario()
        return self._start_analysis(copy.deepcopy(scenario) if scenario else None, self._key(scenario))

    def _start_analysis(self, scenario, key, label: str = "Running analysis"):
        self.analysis_panel.set_running(True)
        self.analysis_panel.status.setText("Running…")
        t0 = _now()
        project = self.project

        def done(result):
            if self.project is not project:  # another project was opened meanwhile
                return
            self._remember(key, result)
            if key == self._key(self.active_scenario()):
                self._show_result(result, key)
            self.analysis_panel.status.setText(f"Finished in {_now() - t0:.1f} s")

        def cancelled():
            self.analysis_panel.status.setText("Cancelled")
            self.status_message.setText("Analysis cancelled")

        def failed(exc):
            self.analysis_panel.status.setText("Failed: see the message")
            self._task_error("Analysis", exc)

        task = self.tasks.start(jobs.run_analysis, jobs.snapshot(self.data), self.project.params, scenario,
                                label=label, group="analysis", replace=True, on_done=done,
                                on_cancelled=cancelled, on_error=failed)
        task.ended.connect(lambda _state: self.analysis_panel.set_running(self.tasks.busy("analysis")))
        return task

    def _start_update(self, previous, scenario, edit, key):
        t0 = _now()
        project = self.project

        def done(result):
            if self.project is not project:
                return
            self._remember(key, result)
            if key == self._key(self.active_scenario()):
                self._show_result(result, key)
            self.status_message.setText(f"Results updated in {_now() - t0:.2f} s")

        return self.tasks.start(jobs.update_result, previous, jobs.snapshot(self.data), scenario, edit,
                                label="Updating results", group="analysis", replace=True, on_done=done,
                                on_error=lambda exc: self._task_error("Update results", exc),
                                on_cancelled=lambda: self.status_message.setText("Update cancelled"))

    def _show_result(self, result, key) -> None:
        self.result = result
        self.result_key = key
        self.result_stale = False
        if result.grid.crs is not None and not result.grid.crs.equals(self.canvas.crs):
            log.info("result grid CRS differs from the map CRS; travel-time rasters are placed approximately")
        self._update_result_layers(result)
        self.results.show_result(result, scenario_name=self.project.active_scenario)
        self._update_actions()
        h = result.headline()
        self.status_message.setText(
            f"{h['pop_no_primary']:,.0f} people without primary care within {result.params.primary_minutes:g} min; "
            f"{h['pop_no_secondary']:,.0f} without secondary within {result.params.secondary_minutes:g} min")
        self.result_shown.emit()

    def _update_result_layers(self, result) -> None:
        """Travel-time rasters, catchments and villages by gap as layers (created once, then updated)."""
        first_time = not self.result_layers
        specs = []
        for tier in ("primary", "secondary"):
            t = result.tiers.get(tier)
            if t is not None:
                specs.append((f"tt_{tier}", f"Travel time to {tier} care (min)", "raster", t.minutes, tier == "primary"))
        catchments = result.catchments
        for tier in ("primary", "secondary"):
            if catchments is not None and len(catchments) and "tier" in catchments:
                part = catchments[catchments["tier"] == tier]
                specs.append((f"catch_{tier}", f"Catchments, {tier} care (bands)", "catchments", part, False))
        specs.append(("villages", "Villages by access gap", "villages", result.villages, True))
        transform = result.grid.transform
        # where new result layers go: villages above the base villages, rasters at the bottom
        for kind, title, what, payload, visible in specs:
            layer = self.result_layers.get(kind)
            if what == "raster":
                if layer is None:
                    layer = RasterLayer(title, "travel_time", payload, transform, result=True, visible=visible,
                                        colour=travel_time_colours, legend_items=sym.travel_time_legend(),
                                        unit="min", style={"opacity": 0.85})
                    self.result_layers[kind] = layer
                    self.stack.insert(self._bottom_index(raster=True), layer)
                else:
                    layer.set_values(payload, transform)
                    self.stack.changed(layer)
            else:
                if payload is None:
                    continue
                role = "catchments" if what == "catchments" else "villages"
                if layer is None:
                    layer = VectorLayer(title, role, payload, self.canvas.crs, result=True, visible=visible,
                                        style={})
                    self.result_layers[kind] = layer
                    index = self._gap_villages_index() if what == "villages" else self._bottom_index()
                    self.stack.insert(index, layer)
                else:
                    layer.set_frame(payload)
                    self.stack.changed(layer)
        if first_time:
            for layer in self.stack:
                if layer.role == "villages" and not layer.result and layer.visible:
                    self.stack.set_visible(layer, False)

    def _bottom_index(self, raster: bool = False) -> int:
        """Travel-time rasters go to the bottom (township outlines and everything else stay
        visible above them); catchments just above the rasters."""
        if raster:
            return len(self.stack)
        for i, layer in enumerate(self.stack):
            if layer.result and isinstance(layer, RasterLayer):
                return i
        return len(self.stack)

    def _gap_villages_index(self) -> int:
        """Villages by gap go where the villages are, but below the facilities."""
        villages = next((i for i, l in enumerate(self.stack) if l.role == "villages" and not l.result), 0)
        facilities = next((i + 1 for i, l in enumerate(self.stack) if l.role == "facilities"), 0)
        return max(villages, facilities)

    # =====================================================================================
    # export, print, about
    def export_dialog(self) -> None:
        if self.result is None:
            dialogs.show_info(self, "Export coverage", "Run an analysis first: the export writes its results.")
            return
        folder = settings.value("last_export_folder", "") or str(Path.home() / "coverage-export")
        dialog = ExportDialog(str(folder), self)
        self.protection.adapt_export_dialog(dialog)
        self.last_export_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return
        options = self.protection.export_options(dialog)  # a full protected export asks the passphrase
        if options is not None:
            self.export(options)

    def export(self, options: dict):
        settings.set_value("last_export_folder", options["out_dir"])

        def done(paths):
            names = ", ".join(Path(p).name for p in paths[:12]) + (" …" if len(paths) > 12 else "")
            self.status_message.setText(f"Exported {len(paths)} files to {options['out_dir']}")
            dialogs.show_info(self, "Export coverage", f"Exported {len(paths)} files to {options['out_dir']}:\n{names}")

        return self.tasks.start(self.protection.export_job(options), self.result, options, self.project,
                                label="Exporting coverage",
                                group="export", on_done=done, on_error=lambda exc: self._task_error("Export", exc),
                                on_cancelled=lambda: self.status_message.setText(
                                    "Export cancelled; the folder's previous files are unchanged"))

    def print_dialog(self) -> None:
        if not _print_dialog_available():
            dialogs.show_info(self, "Print briefing map", "Printing is not available in this build yet.")
            return
        from .print_dialog import PrintDialog  # written by the briefing-map work

        dialog = PrintDialog(self, self.project, self.data, self.result)
        self.protection.adapt_print_dialog(dialog)
        self.last_print_dialog = dialog
        if hasattr(dialog, "open"):
            dialog.open()
        else:  # pragma: no cover
            dialog.show()

    def about(self) -> None:
        dialog = QDialog(self)
        dialog.setObjectName("about_dialog")
        dialog.setWindowTitle("About Coverage analyser")
        browser = QTextBrowser()
        browser.setOpenLinks(False)
        browser.setHtml(about_html(self.project))
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(browser)
        layout.addWidget(buttons)
        dialog.resize(560, 480)
        self.about_dialog = dialog
        dialog.open()

    # =====================================================================================
    # tasks, errors
    def _task_started(self, task) -> None:
        task.progressed.connect(self._task_progress)
        self._update_progress()

    def _task_progress(self, fraction: float, message: str) -> None:
        self._update_progress()

    def _task_ended(self, task, state: str) -> None:
        if state == "cancelled" and task.group not in ("warmup",):
            self.status_message.setText(f"{task.label}: cancelled")
        self._update_progress()
        self._update_actions()

    def _update_progress(self) -> None:
        visible = [t for t in self.tasks.running if t.group != "warmup"]
        if not visible:
            self.progress.hide()
            self.cancel_button.hide()
            return
        task = visible[-1]
        self.progress.show()
        self.progress.setValue(int(task.fraction * 1000))
        self.cancel_button.setVisible(any(t.cancellable for t in visible))
        self.status_message.setText(f"{task.label}: {task.message}" if task.message != task.label else task.label)

    def _task_error(self, title: str, exc) -> None:
        if isinstance(exc, Cancelled):
            self.status_message.setText(f"{title}: cancelled")
            return
        if isinstance(exc, InputError):
            dialogs.show_problems(self, title, "", exc.problems)
        elif isinstance(exc, ProjectError):
            dialogs.show_error(self, title, str(exc))
        elif isinstance(exc, (ValueError, OSError)) and str(exc):
            dialogs.show_error(self, title, str(exc))
        else:
            text = getattr(exc, "__traceback__", None)
            import traceback

            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            dialogs.show_error(self, title, f"Something went wrong: {exc}\n\nYour project is kept; the details "
                                            "are in the log file.", details)
        self.status_message.setText(f"{title}: failed")

    def on_unexpected_error(self, exc, text: str) -> None:
        """Called by the app's excepthook: keep the project safe, tell the user, carry on."""
        try:
            if self.dirty:
                self.autosave.save_now()
        except Exception:
            pass
        dialogs.show_error(self, "Unexpected error",
                           f"Something went wrong: {exc}\n\nThe app keeps running and your project is kept "
                           "(an autosaved copy was written). The details are in the log file.", text)

    # =====================================================================================
    # window events
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.add_layer_files(paths)
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        if not self._closing and not self._maybe_save():
            event.ignore()
            return
        self._closing = True
        try:
            settings.set_value("window/geometry", self.saveGeometry())
            settings.set_value("window/state", self.saveState())
        except Exception:
            pass
        self.tasks.shutdown(15000)
        self.autosave.end_session()
        dialogs.close_all()
        event.accept()


def first_run_size(screen, fraction: float = 0.9, cap=(1400, 900)) -> QSize:
    """The window size without saved geometry: ``fraction`` of the screen's available area,
    at most ``cap`` (a 1366x768 laptop gets the whole layout, docks included, on screen)."""
    if screen is None:
        return QSize(*cap)
    area = screen.availableGeometry()
    return QSize(min(cap[0], int(area.width() * fraction)), min(cap[1], int(area.height() * fraction)))


def _identity():
    from affine import Affine

    return Affine.identity()


def _now() -> float:
    import time

    return time.perf_counter()


def _print_dialog_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("coverage_app.ui.print_dialog") is not None
    except (ImportError, ValueError):
        return False
