"""Project lifecycle: start (requested, recovered, last or bundled project), open, new,
save / save as, recent projects, unsaved-changes state and autosave with crash recovery.

Loading a project's layers runs through the task runner; when the data is in,
:attr:`ProjectController.data_ready` is emitted (the layer controller puts the layers on the
map) and then :attr:`ProjectController.project_loaded`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QTimer, Signal

from coverage_app.core import startup
from coverage_app.core.data import protect
from coverage_app.core.data.model import ProjectData, load_project_data
from coverage_app.core.data.project import (PROJECT_SUFFIX, PROTECTED_SUFFIX, Project, ProjectError,
                                            bundled_project_path, load_project, save_project)

from . import dialogs, jobs, settings
from .autosave import Autosave
from .session import Controller

log = logging.getLogger("coverage_app.ui")


class ProjectController(Controller):
    project_set = Signal(object)    # a project is about to be shown: clear what the last one left
    data_ready = Signal(object)     # its ProjectData is loaded (layers not yet reported)
    load_problems = Signal(list)    # problems found while loading its layers
    project_loaded = Signal()       # loaded and on the map

    def __init__(self, session, tasks, widget, status=None, autosave: Autosave | None = None):
        super().__init__(session, tasks, widget, status)
        self.autosave = autosave or Autosave(settings.app_data_dir(),
                                             interval_min=float(settings.value("autosave_minutes", 2.0) or 2.0),
                                             parent=self)
        self.autosave.project_getter = lambda: self.session.project
        self.autosave.dirty_getter = lambda: self.session.dirty
        self.session.dirty_changed.connect(lambda dirty: self.autosave.changed() if dirty else None)
        self._load_task = None
        self._warmed = False
        self._warm_pending = False  # data is in, the engine waits for the first paint
        self._warm_timer = None
        self.protection = None  # the ProtectController: opens and saves protected projects

    # ---------------------------------------------------------------------------------
    def start(self, project_path=None, restore: bool = True) -> None:
        """Open the requested, recovered, last or bundled project (in that order)."""
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
        if dialogs.ask(self.widget, "Recover project", text):
            try:
                project = self.autosave.recover()
                self.status("Recovered the autosaved project; save it to keep it.")
                return project
            except ProjectError as exc:
                dialogs.show_error(self.widget, "Recover project", f"The autosave could not be read: {exc}")
        self.autosave.discard()
        return None

    def open_project(self, path) -> bool:
        if self.protection is not None and protect.is_protected(path):
            return self.protection.open_protected(path)  # asks the passphrase; never a recent project
        try:
            project = load_project(path)
        except ProjectError as exc:
            dialogs.show_error(self.widget, "Open project", str(exc))
            return False
        self.set_project(project)
        try:
            settings.add_recent_project(path)
        except Exception:  # settings are a convenience
            pass
        return True

    def open_project_dialog(self) -> None:
        if not self.maybe_save():
            return
        project = self.project
        path = dialogs.get_open_file(self.widget, "Open project",
                                     f"Projects (*{PROJECT_SUFFIX} *{PROTECTED_SUFFIX});;All files (*)",
                                     str(Path(project.path).parent) if project and project.path else "")
        if path:
            self.open_project(path)

    def new_project(self) -> None:
        if not self.maybe_save():
            return
        self.set_project(Project(name="Untitled"))

    def set_project(self, project: Project, dirty: bool = False) -> None:
        """Show ``project``: clear the map and results, load its layers in the background."""
        if self._load_task is not None:
            self._load_task.cancel()
        self.tasks.cancel_all()
        self.session.reset(project)
        self.project_set.emit(project)
        self.session.set_dirty(dirty)
        self.status(f"Loading {project.name}…")
        self._load_task = self.tasks.start(load_project_data, project, label=f"Loading {project.name}",
                                           on_done=self._data_loaded, on_error=self._load_failed, group="load")

    def _load_failed(self, exc) -> None:
        self._load_task = None
        self.task_error("Open project", exc)

    def _data_loaded(self, data: ProjectData) -> None:
        if data.project is not self.project:
            return
        self._load_task = None
        self.session.data = data
        self.data_ready.emit(data)
        self.status(f"{self.project.name}: {len(data.layers) + len(data.rasters)} of "
                    f"{len(self.project.layers)} layers loaded")
        if data.problems:
            self.load_problems.emit(list(data.problems))
        if not self._warmed:
            # the engine (numba, scipy: ~0.5 s of imports holding the GIL) is warmed after the
            # first painted map (map_painted), or after WARM_UP_FALLBACK_MS if no paint comes
            self._warm_pending = True
            if self._warm_timer is None:  # owned by the controller: gone with the window
                self._warm_timer = QTimer(self)
                self._warm_timer.setSingleShot(True)
                self._warm_timer.timeout.connect(self.map_painted)
            self._warm_timer.start(self.WARM_UP_FALLBACK_MS)
        self.project_loaded.emit()

    # a hidden window is never painted; a loaded laptop may take over 2 s to paint the first map, and
    # a warm-up started before it would hold the GIL while the map paints (seen at 2 s): wait longer
    WARM_UP_FALLBACK_MS = 5000

    def cancel_warm_up(self) -> None:
        """Start no warm-up from now on (the window is closing)."""
        self._warm_pending = False
        if self._warm_timer is not None:
            self._warm_timer.stop()

    def map_painted(self, *_args) -> None:
        """The map was painted: import the analysis and load the compiled engine now, off the GUI
        thread, so the first Run is quick (once per window)."""
        if self._warmed or not self._warm_pending:
            return
        self._warmed, self._warm_pending = True, False
        if self._warm_timer is not None:
            self._warm_timer.stop()
        # what the first paint needed is in: freeze it; no collections until the warm-up's imports
        # are in too (jobs.warm_up resumes them; a console-script start only)
        startup.imports_done(resume=False)
        self.tasks.start(jobs.warm_up, label="Preparing the engine", cancellable=False, group="warmup")

    # ---------------------------------------------------------------------------------
    def save(self) -> bool:
        if self.project is None:
            return False
        if self.project.path is None or Path(self.project.path).name == "":
            return self.save_as()
        if self._is_bundled(self.project.path):
            return self.save_as()
        return self._save_to(self.project.path)

    @staticmethod
    def _is_bundled(path) -> bool:
        try:
            return Path(path).resolve() == bundled_project_path().resolve()
        except ProjectError:
            return False

    def save_as(self) -> bool:
        project = self.project
        if project is not None and project.protected and self.protection is not None:
            return self.protection.save_protected_as()
        start = str(Path(project.path).parent / f"{Path(project.path).stem}-copy{PROJECT_SUFFIX}") \
            if project and project.path else f"project{PROJECT_SUFFIX}"
        path = dialogs.get_save_file(self.widget, "Save project as", f"Projects (*{PROJECT_SUFFIX})", start)
        if not path:
            return False
        if not path.endswith(PROJECT_SUFFIX):
            path += PROJECT_SUFFIX
        return self._save_to(path)

    def _save_to(self, path) -> bool:
        if self.project.protected and self.protection is not None:
            return self.protection.save_to(path)  # encrypted, same key
        try:
            save_project(self.project, path)
        except ProjectError as exc:
            dialogs.show_error(self.widget, "Save project", str(exc))
            return False
        self.session.set_dirty(False)
        self.autosave.discard()
        try:
            settings.add_recent_project(path)
        except Exception:
            pass
        self.status(f"Saved {path}")
        return True

    def maybe_save(self) -> bool:
        """Ask to save unsaved changes; False if the user cancelled."""
        if not self.session.dirty or self.project is None:
            return True
        answer = dialogs.ask_save_changes(self.widget, self.project.name)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def fill_recent_menu(self, menu) -> None:
        menu.clear()
        recent = settings.recent_projects()
        if not recent:
            action = menu.addAction("(none yet)")
            action.setEnabled(False)
        for path in recent:
            action = menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_recent(p))

    def open_recent(self, path: str) -> None:
        if self.maybe_save():
            self.open_project(path)

    def open_dropped_project(self, path) -> None:
        if self.maybe_save():
            self.open_project(path)
