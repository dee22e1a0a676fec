"""The main window: it builds the map canvas, docks, menus, toolbar and status bar, and
wires the controllers that do the work, each with one job:

* :class:`~coverage_app.ui.project_controller.ProjectController`: open / new / save, autosave;
* :class:`~coverage_app.ui.layer_controller.LayerController`: the project's layers on the map;
* :class:`~coverage_app.ui.map_tools.MapTools`: map tools, identify, zooming, cursor and scale;
* :class:`~coverage_app.ui.analysis_controller.AnalysisController`: runs and the result cache;
* :class:`~coverage_app.ui.scenario_controller.ScenarioController`: scenarios, edits, compare;
* :class:`~coverage_app.ui.output_controller.OutputController`: exports, prints, About.

They share one :class:`~coverage_app.ui.session.Session` (project, data, result, cache) and
run slow work through the window's :class:`~coverage_app.ui.tasks.TaskRunner`. The window
itself shows task progress and closes safely; it never computes anything.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QUndoGroup
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QProgressBar, QPushButton, QSizePolicy

from . import dialogs, settings
from .analysis_controller import AnalysisController
from .analysis_panel import AnalysisPanel
from .canvas import MapCanvas
from .data_options import DataOptionsController
from .fonts import ui_font
from .gis_tools import GisTools
from .layer_controller import LayerController
from .layer_panel import LayerPanel
from .map_tools import MapTools
from .maplayers import LayerStack
from .numbers_tools import NumbersController
from .output_controller import OutputController, print_dialog_available
from .project_controller import ProjectController
from .protect_controller import ProtectController
from .results_dock import ResultsDock
from .sweep_dialog import SweepController
from .scenario_controller import ScenarioController
from .scenario_panel import ScenarioPanel
from .session import Session
from .small_widgets import IdentifyPanel
from .tasks import TaskRunner

log = logging.getLogger("coverage_app.ui")


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
        self._closing = False
        self.session = Session(self)
        self.tasks = TaskRunner(self)
        self.tasks.task_started.connect(self._task_started)
        self.tasks.task_ended.connect(self._task_ended)
        self.stack = LayerStack(self)
        self.canvas = MapCanvas(self.stack, self)
        self.canvas.font_ui = ui_font(8)
        self.setCentralWidget(self.canvas)
        self.undo_group = QUndoGroup(self)
        self._build_statusbar()
        self._build_panels()
        self._build_controllers()
        self._build_actions()
        self._build_docks()
        self._build_menus()
        self._wire()
        self._update_title()

    # -- state the controllers share (read by tests and dialogs) ----------------------------
    project = property(lambda self: self.session.project)
    data = property(lambda self: self.session.data)
    result = property(lambda self: self.session.result)
    comparison = property(lambda self: self.session.comparison)
    result_layers = property(lambda self: self.session.result_layers)
    map_layers = property(lambda self: self.session.map_layers)

    @property
    def dirty(self) -> bool:
        return self.session.dirty

    @dirty.setter
    def dirty(self, value: bool) -> None:
        self.session.set_dirty(value)

    # =====================================================================================
    # construction
    def _build_panels(self) -> None:
        self.layer_panel = LayerPanel(self.stack, self)
        self.analysis_panel = AnalysisPanel(self)
        self.results = ResultsDock(self)
        self.identify_panel = IdentifyPanel(self)

    def _build_controllers(self) -> None:
        s, t, say = self.session, self.tasks, self.status_message.setText
        self.projects = ProjectController(s, t, self, say)
        self.autosave = self.projects.autosave
        self.layers = LayerController(s, t, self, self.stack, self.canvas, say)
        self.map_tools = MapTools(s, t, self, self.stack, self.canvas, self.identify_panel, say, self.layer_panel)
        self.analysis = AnalysisController(s, t, self, self.stack, self.canvas, self.analysis_panel, self.results,
                                           say)
        self.tool_actions = self.map_tools.tool_actions
        self.scenario_panel = ScenarioPanel(self.undo_group, [self.tool_actions["status"], self.tool_actions["add"]],
                                            self)
        self.scenarios = ScenarioController(s, t, self, self.stack, self.canvas, self.undo_group, self.scenario_panel,
                                            self.results, self.analysis, self.map_tools, say)
        self.outputs = OutputController(s, t, self, say)
        self.numbers = NumbersController(s, t, self, self.stack, self.canvas, self.results.extras, self.scenarios,
                                         self.analysis, say)  # ranges, sites, status import (issue 11)
        self.sweeps = SweepController(s, t, self, self.stack, self.canvas, say)
        self.gis = GisTools(s, t, self, self.stack, self.canvas, self.map_tools, self.scenarios, self.analysis,
                            self.layer_panel, say)
        self.protection = ProtectController(self)  # protected projects and quick close
        for bar in (self.map_tools.coords_label, self.gis.crs_label, self.map_tools.scale_label):
            self.statusBar().addPermanentWidget(bar)
        self.coords_label, self.scale_label = self.map_tools.coords_label, self.map_tools.scale_label

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
        a, pc, mt, oc = self._action, self.projects, self.map_tools, self.outputs
        self.act_new = a("&New project", pc.new_project, QKeySequence.New, "new")
        self.act_open = a("&Open project…", pc.open_project_dialog, QKeySequence.Open, "open")
        self.act_save = a("&Save project", pc.save, QKeySequence.Save, "save")
        self.act_save_as = a("Save project &as…", pc.save_as, QKeySequence.SaveAs, "save_as")
        self.act_add_layer = a("&Add layer…", self.layers.add_layer_dialog, "Ctrl+L", "add_layer")
        self.act_export = a("&Export coverage…", oc.export_dialog, "Ctrl+E", "export")
        self.act_print = a("&Print briefing map…", oc.print_dialog, "Ctrl+P", "print")
        self.act_quit = a("&Quit", self.close, QKeySequence.Quit, "quit")
        self.act_zoom_full = a("Zoom to &full extent", self.canvas.zoom_full, "Ctrl+0", "zoom_full")
        self.act_zoom_layer = a("Zoom to &layer", mt.zoom_to_selected_layer, None, "zoom_layer")
        self.act_zoom_selection = a("Zoom to &selection", mt.zoom_to_selection, "Ctrl+J", "zoom_selection")
        self.act_zoom_in = a("Zoom in", lambda: self.canvas.zoom_by(1.5), QKeySequence.ZoomIn, "zoom_in")
        self.act_zoom_out = a("Zoom out", lambda: self.canvas.zoom_by(1 / 1.5), QKeySequence.ZoomOut, "zoom_out")
        self.act_legend = a("Show &legend on map", mt.toggle_legend, None, "legend", checkable=True)
        self.act_legend.setChecked(True)
        self.act_run = a("&Run analysis", self.analysis.run_analysis, "F5", "run")
        self.act_cancel = a("&Cancel running work", self._escape, "Esc", "cancel")
        self.act_about = a("&About…", oc.about, None, "about")
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

    def _dock(self, title: str, widget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.layer_dock = self._dock("Layers", self.layer_panel, Qt.LeftDockWidgetArea, "layers_dock")
        self.analysis_dock = self._dock("Analysis", self.analysis_panel, Qt.LeftDockWidgetArea, "analysis_dock")
        self.scenario_dock = self._dock("Scenarios", self.scenario_panel, Qt.LeftDockWidgetArea, "scenario_dock")
        self.results_dock = self._dock("Results", self.results, Qt.RightDockWidgetArea, "results_dock")
        self.identify_dock = self._dock("Identify", self.identify_panel, Qt.RightDockWidgetArea, "identify_dock")
        self._docks_arranged = False
        self._saved_state = None

    def _wire(self) -> None:
        """Connect the controllers to each other and to the panels (the order matters)."""
        pc, lc, mt, ac, sc = self.projects, self.layers, self.map_tools, self.analysis, self.scenarios
        self.session.dirty_changed.connect(lambda _d: self._update_title())
        self.session.scenario_changed.connect(self._update_title)
        pc.project_set.connect(lc.clear)
        pc.project_set.connect(sc.reset)
        pc.project_set.connect(ac.reset)
        pc.project_set.connect(mt.reset)
        pc.data_ready.connect(lc.show_project_layers)
        pc.data_ready.connect(sc.refresh_facilities)
        pc.data_ready.connect(mt.zoom_full)
        pc.load_problems.connect(lc.report_load_problems)
        pc.project_loaded.connect(self.project_loaded)
        self.canvas.rendered.connect(pc.map_painted)  # engine warm-up waits for the first map
        lc.layer_added.connect(self.layer_added)
        lc.inputs_changed.connect(ac.mark_stale)
        lc.facilities_changed.connect(sc.refresh_facilities)
        lc.project_dropped.connect(pc.open_dropped_project)
        ac.result_shown.connect(self._update_actions)
        ac.result_shown.connect(self.result_shown)
        ac.result_shown.connect(self.results_dock.raise_)  # a finished run is shown, not left behind Identify
        sc.comparison_shown.connect(self.results_dock.raise_)
        mt.identified.connect(lambda _hits: self.identify_dock.raise_())
        lp = self.layer_panel
        lp.add_requested.connect(lc.add_layer_dialog)
        lp.remove_requested.connect(lc.remove_layer)
        lp.properties_requested.connect(lc.layer_properties)
        lp.zoom_requested.connect(mt.zoom_to_layer)
        lp.visibility_changed.connect(lambda layer: self.session.set_dirty(True) if layer.ref is not None else None)
        self.results.township_selected.connect(mt.zoom_to_township)
        self.results.village_selected.connect(mt.zoom_to_village)
        self.results.sweep_requested.connect(self.sweeps.open_dialog)
        self.canvas.files_dropped.connect(lc.add_layer_files)

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
        left, right = dock_widths(self.width())
        self.resizeDocks([self.layer_dock, self.results_dock], [left, right], Qt.Horizontal)
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
        self.recent_menu.aboutToShow.connect(lambda: self.projects.fill_recent_menu(self.recent_menu))
        for act in (None, self.act_save, self.act_save_as, None, self.act_add_layer, None, self.act_export,
                    self.act_print, None, self.act_quit):
            self.file_menu.addSeparator() if act is None else self.file_menu.addAction(act)
        self.file_menu.aboutToShow.connect(self._update_actions)
        self.numbers.install_menu(self.file_menu)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        for act in self.tool_actions.values():
            edit.addAction(act)
        self.edit_menu = edit
        view = bar.addMenu("&View")
        for act in (self.act_zoom_full, self.act_zoom_layer, self.act_zoom_selection, self.act_zoom_in,
                    self.act_zoom_out, self.gis.act_goto, None, self.gis.act_table, self.act_legend, None):
            view.addSeparator() if act is None else view.addAction(act)
        for dock in (self.layer_dock, self.analysis_dock, self.scenario_dock, self.results_dock, self.identify_dock):
            view.addAction(dock.toggleViewAction())
        self.view_menu = view
        analysis = bar.addMenu("&Analysis")
        analysis.addAction(self.act_run)
        analysis.addAction(self.act_cancel)
        self._data_options_menu(analysis)
        analysis.addSeparator()
        analysis.addAction(self.gis.act_landcover)
        self.analysis_menu = analysis
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.act_about)
        toolbar = self.addToolBar("Map")
        toolbar.setObjectName("map_toolbar")
        for act in (self.act_open, self.act_save, self.act_add_layer, None, self.act_zoom_full, self.act_zoom_in,
                    self.act_zoom_out, None, *self.tool_actions.values(), None, self.tb_undo, self.tb_redo, None,
                    self.act_run, self.act_export, self.act_print):
            toolbar.addSeparator() if act is None else toolbar.addAction(act)
        self.map_toolbar = toolbar
        self.protection.install_menu()
        self._update_actions()

    def _data_options_menu(self, menu) -> None:
        """Population basis and road classes (ui/data_options.py), at the end of ``menu``."""
        self.data_options = DataOptionsController(self.session, self.tasks, self, self.status_message.setText)
        self.data_options.inputs_changed.connect(self.analysis.mark_stale)
        menu.addSeparator()
        menu.addAction(self._action("&Population basis…", self.data_options.population_basis, name="pop_basis"))
        menu.addAction(self._action("&Road classes…", self.data_options.road_classes, name="road_classes"))

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
        self.progress.setTextVisible(True)  # "42%"
        self.progress.setFormat("%p%")
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_button")
        self.cancel_button.clicked.connect(self.tasks.cancel_all)
        self.cancel_button.hide()
        bar.addWidget(self.status_message, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)

    # =====================================================================================
    def start(self, project_path=None, restore: bool = True) -> None:
        """Restore the saved window layout, then open the requested, recovered, last or
        bundled project (in that order)."""
        geometry = settings.value("window/geometry")
        state = settings.value("window/state")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
            self.fit_to_screen()  # saved on a bigger screen (or a monitor since unplugged)
        self._saved_state = state  # restored once the docks are arranged (after show)
        self.projects.start(project_path, restore=restore)

    def _escape(self) -> None:
        """Esc: drop a half-drawn measurement or zone, and cancel running work."""
        self.gis.measure.clear()
        self.gis.zones.cancel()
        self.tasks.cancel_all()

    def _update_title(self) -> None:
        project = self.session.project
        name = project.name if project else "Coverage analyser"
        scenario = f" — {self.session.scenario_title()}" if project else ""  # "Baseline" or the scenario
        path = f" — {project.path}" if project and project.path else ""
        self.setWindowTitle(f"{'*' if self.session.dirty else ''}{name}{scenario}{path} — Coverage analyser")

    def _update_actions(self) -> None:
        self.act_export.setEnabled(self.session.result is not None)
        printable = print_dialog_available()
        self.act_print.setEnabled(printable and self.session.data is not None)
        self.act_print.setToolTip("Print briefing map" if printable else "Printing is not available in this build")
        self.act_run.setEnabled(self.session.data is not None)

    # =====================================================================================
    # tasks, errors
    def _task_started(self, task) -> None:
        task.started_at = time.perf_counter()
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
        text = f"{task.label}: {task.message}" if task.message != task.label else task.label
        self.status_message.setText(text + progress_note(task.fraction, time.perf_counter()
                                                          - getattr(task, "started_at", time.perf_counter())))

    def on_unexpected_error(self, exc, text: str) -> None:
        """Called by the app's excepthook: keep the project safe, tell the user, carry on."""
        try:
            if self.session.dirty:
                self.autosave.save_now()
        except Exception:
            pass
        title, what = dialogs.unexpected_error_text(exc)
        dialogs.show_error(self, title, f"{what}\n\nThe app keeps running and your project is kept "
                           "(an autosaved copy was written). The details are in the log file.", text)

    # =====================================================================================
    # window events
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.layers.add_layer_files(paths)
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        if not self._closing and not self.projects.maybe_save():
            event.ignore()
            return
        self._closing = True
        try:
            settings.set_value("window/geometry", self.saveGeometry())
            settings.set_value("window/state", self.saveState())
        except Exception:
            pass
        self.projects.cancel_warm_up()  # a window closed before its first paint starts no warm-up
        self.tasks.shutdown(15000)
        self.autosave.end_session()
        dialogs.close_all()
        event.accept()


def progress_note(fraction: float, elapsed_s: float) -> str:
    """ " — 42%, about 30 s left" once a task is far enough along to estimate (else " — 42%")."""
    if not 0 < fraction < 1:
        return ""
    note = f" — {fraction * 100:.0f}%"
    if fraction >= 0.05 and elapsed_s >= 2:
        left = elapsed_s * (1 - fraction) / fraction
        note += f", about {left:.0f} s left" if left < 90 else f", about {left / 60:.0f} min left"
    return note


def dock_widths(window_width: int) -> tuple[int, int]:
    """Left (layers, analysis, scenarios) and right (results, identify) dock widths in px for
    a first layout: the map keeps more than half the window (1366 px wide: 260 + 300)."""
    left = int(min(340, max(240, 0.19 * window_width)))
    right = int(min(460, max(280, 0.22 * window_width)))
    return left, right


def first_run_size(screen, fraction: float = 0.9, cap=(1400, 900)) -> QSize:
    """The window size without saved geometry: ``fraction`` of the screen's available area,
    at most ``cap`` (a 1366x768 laptop gets the whole layout, docks included, on screen)."""
    if screen is None:
        return QSize(*cap)
    area = screen.availableGeometry()
    return QSize(min(cap[0], int(area.width() * fraction)), min(cap[1], int(area.height() * fraction)))
