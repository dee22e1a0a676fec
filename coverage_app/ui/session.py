"""What the window is showing: the project, its loaded data, the current result and the
result cache, the map layers made for them, and whether there are unsaved changes.

One :class:`Session` is shared by the window's controllers (project, layers, map tools,
analysis, scenarios, outputs); each controller changes only its own part and tells the
others through signals, which :class:`coverage_app.ui.main_window.MainWindow` wires.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, Signal


class Session(QObject):
    dirty_changed = Signal(bool)
    scenario_changed = Signal()   # the active scenario, or its name or edits, changed

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project = None           # core.data.project.Project
        self.data = None              # core.data.model.ProjectData once loaded
        self.result = None            # core.results result on show
        self.result_key: str | None = None
        self.result_stale = False
        # the last result shown and the data it came from, while no input has changed since: a run
        # that differs from it only in thresholds, bands or people per bed re-counts its travel times
        self.searched: tuple | None = None
        self.comparison = None
        self.cache: OrderedDict = OrderedDict()  # result_key -> result
        self.map_layers: dict = {}     # LayerRef.name -> MapLayer
        self.result_layers: dict = {}  # kind ("tt_primary", "villages", "compare", …) -> MapLayer
        self.dirty = False

    def set_dirty(self, dirty: bool) -> None:
        self.dirty = bool(dirty)
        self.dirty_changed.emit(self.dirty)

    def active_scenario(self) -> dict | None:
        return self.project.scenario(self.project.active_scenario) if self.project else None

    def scenario_title(self) -> str:
        """The active scenario's name, or "Baseline"."""
        scenario = self.active_scenario()
        return scenario["name"] if scenario else "Baseline"

    def reset(self, project) -> None:
        """Forget everything shown for the previous project."""
        self.project = project
        self.data = None
        self.result = None
        self.result_key = None
        self.result_stale = False
        self.searched = None
        self.comparison = None
        self.cache.clear()
        self.map_layers.clear()
        self.result_layers.clear()


class Controller(QObject):
    """Base of the window's controllers: the shared session, the task runner (the only way
    to run slow work), the widget that parents their dialogs, and a status-line callback."""

    def __init__(self, session: Session, tasks, widget, status=None):
        super().__init__(widget)
        self.session = session
        self.tasks = tasks
        self.widget = widget
        self._status = status

    @property
    def project(self):
        return self.session.project

    @property
    def data(self):
        return self.session.data

    def status(self, text: str) -> None:
        if self._status is not None:
            self._status(text)

    def task_error(self, title: str, exc) -> None:
        from . import dialogs

        dialogs.show_task_error(self.widget, title, exc, self.status)
