"""Protected projects in the window: Save protected…, opening (asks the passphrase),
encrypted autosave recovery, exports that default to safe sharing, and Quick close.

The window keeps a few hook lines (``self.protection = ProtectController(self)`` and calls
from open/save/export/print); everything else lives here. While a protected project is open
its sensitive layers exist only in memory (``Project.embedded`` and the loaded frames), the
autosave is encrypted with the project's key, and its file name is kept out of the
recent-projects list.
"""

from __future__ import annotations

import functools
import gc
import logging
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QLabel, QProgressDialog

from coverage_app.core.data import protect
from coverage_app.core.data.project import PROJECT_SUFFIX, PROTECTED_SUFFIX, Project, ProjectError
from coverage_app.core.errors import InputError

from . import dialogs, jobs, protect_dialogs, settings

log = logging.getLogger("coverage_app.ui")
MAX_TRIES = 3


class ProtectController:
    def __init__(self, window):
        self.w = window
        a = window._action
        self.act_save_protected = a("Save &protected…", self.save_protected_as, None, "save_protected",
                                    tip="Save an encrypted copy of the project and its facility locations")
        self.act_quick_close = a("&Quick close", self.quick_close, "Ctrl+Shift+W", "quick_close",
                                 tip="Drop every decrypted layer, result and undo step now and show an empty window")
        self.act_open_archive = a("Open encrypted e&xport…", self.open_archive, None, "open_archive")
        self.last_quick_close_s: float | None = None
        self.last_task = None  # the latest passphrase/open/save task (tests look at its thread and timing)
        self._purging = False  # after a quick close: tasks still running are emptied when they end
        window.autosave.passphrase_getter = self._autosave_passphrase
        window.projects.protection = self  # open/save of protected projects
        window.outputs.protection = self   # export and print defaults
        window.tasks.task_ended.connect(self._task_ended)

    def install_menu(self) -> None:
        """Add the actions to the File menu (after Save as…) and the quick close to the window."""
        menu = self.w.file_menu
        actions = menu.actions()
        at = actions.index(self.w.act_add_layer) if self.w.act_add_layer in actions else -1
        before = actions[at - 1] if at > 0 and actions[at - 1].isSeparator() else self.w.act_add_layer
        menu.insertAction(before, self.act_save_protected)  # with Save and Save as
        menu.insertAction(self.w.act_quit, self.act_open_archive)
        menu.insertAction(self.w.act_quit, self.act_quick_close)
        menu.insertSeparator(self.w.act_quit)
        self.w.addAction(self.act_quick_close)  # the shortcut works with the menu closed

    @property
    def project(self) -> Project | None:
        return self.w.project

    @property
    def protected(self) -> bool:
        return self.project is not None and self.project.protected

    # -- open ----------------------------------------------------------------------------
    def open_file_filter(self) -> str:
        return f"Projects (*{PROJECT_SUFFIX} *{PROTECTED_SUFFIX});;All files (*)"

    def _background(self, title: str, message: str, fn, *args):
        """``fn(*args)`` on a worker thread (ui/tasks.py) while the window keeps painting.

        Key derivation (Argon2id, 0.15-0.7 s) and the decryption or writing of the file run
        there; this waits in a local event loop behind a window-modal busy dialog (no other
        menu action can start meanwhile), so the caller keeps a plain return value. Returns
        ``fn``'s result, re-raises its exception; None if the task was cancelled (quick close).
        """
        box = QProgressDialog(message, "", 0, 0, self.w)
        box.setObjectName("protect_progress")
        box.setWindowTitle(title)
        box.setCancelButton(None)  # a key derivation cannot stop half-way
        box.setWindowModality(Qt.WindowModal)
        box.setMinimumDuration(0)
        loop = QEventLoop()
        task = self.w.tasks.start(fn, *args, label=message, cancellable=False, pass_feedback=False,
                                  group="protect")
        task.progressed.connect(lambda fraction, text: box.setLabelText(text))
        task.ended.connect(loop.quit)
        self.last_task = task
        box.show()
        if task.state == "running":
            loop.exec()
        box.close()
        box.deleteLater()
        if task.state == "failed":
            raise task.error
        return task.result if task.state == "done" else None

    def _ask(self, title: str, text: str, verify, message: str = "Checking the passphrase…") -> object | None:
        """Ask until ``verify(passphrase)`` succeeds (its value is returned), at most 3 times.

        The dialog runs on the GUI thread; ``verify`` (a key derivation) on a worker.
        """
        for attempt in range(MAX_TRIES):
            secret = protect_dialogs.ask_passphrase(self.w, title, text)
            if secret is None:
                return None
            try:
                return self._background(title, message, verify, secret)
            except protect.WrongPassphrase:
                text = f"Wrong passphrase ({attempt + 1} of {MAX_TRIES} tries). Passphrases are case-sensitive."
        dialogs.show_error(self.w, title, "Wrong passphrase: nothing was opened, exported, printed or changed.")
        return None

    def open_protected(self, path) -> bool:
        path = Path(path)
        try:
            project = self._ask("Open protected project", f"“{path.name}” is protected. Type its passphrase.",
                                lambda secret: protect.load_protected(path, secret),
                                f"Opening {path.name}: deriving the key and decrypting…")
        except ProjectError as exc:
            dialogs.show_error(self.w, "Open project", str(exc))
            return False
        if project is None:
            return False
        self.w.projects.set_project(project)  # not added to the recent projects: its name stays off the disk
        self.w.status_message.setText(f"Opened protected project {path.name}")
        return True

    def _autosave_passphrase(self):
        path = self.w.autosave.protected_path

        def verify(secret):
            header, _ = protect.read_header(path.read_bytes(), str(path))
            protect.Key.for_header(secret, header)
            return secret

        try:
            return self._ask("Recover protected project", "The autosave is protected: type the project's "
                             "passphrase to recover it.", verify)
        except ProjectError as exc:
            log.warning("protected autosave: %s", exc)
            return None

    def open_archive(self) -> None:
        path = dialogs.get_open_file(self.w, "Open encrypted export", f"Encrypted exports (*{protect.ARCHIVE_SUFFIX})")
        if not path:
            return
        folder = dialogs.get_directory(self.w, "Decrypt the export into folder", str(Path(path).parent))
        if not folder:
            return
        try:
            files = self._ask("Open encrypted export", f"Type the passphrase of “{Path(path).name}”.",
                              lambda secret: protect.decrypt_archive(path, folder, secret))
        except ProjectError as exc:
            dialogs.show_error(self.w, "Open encrypted export", str(exc))
            return
        if files is not None:
            dialogs.show_info(self.w, "Open encrypted export", f"Decrypted {len(files)} files into {folder}.")

    # -- save ----------------------------------------------------------------------------
    def save_protected_as(self) -> bool:
        if self.project is None:
            return False
        stem = Path(self.project.path).stem if self.project.path else "project"
        start = str(Path(self.project.path).with_name(f"{stem}{PROTECTED_SUFFIX}")) if self.project.path \
            else f"{stem}{PROTECTED_SUFFIX}"
        path = dialogs.get_save_file(self.w, "Save protected", f"Protected projects (*{PROTECTED_SUFFIX})", start)
        if not path:
            return False
        if not path.endswith(PROTECTED_SUFFIX):
            path += PROTECTED_SUFFIX
        chosen = protect_dialogs.choose_sensitive_layers(self.w, self.project)
        if chosen is None:
            return False
        for ref in self.project.layers:
            if ref.name in chosen:
                ref.options["sensitive"] = True
            elif ref.options.get("sensitive") and not ref.options.get("embedded"):
                ref.options.pop("sensitive")  # un-ticked (an embedded copy stays protected)
        key, secret = None, None
        if self.protected and dialogs.ask(self.w, "Save protected", "Keep the current passphrase?"):
            key = self.project.protection
        if key is None:
            secret = protect_dialogs.ask_passphrase(
                self.w, "Save protected", "The project and its facility layer will be encrypted.", new=True)
            if secret is None:
                return False
        clear = sorted({r.path for r in self.project.layers if protect.is_sensitive(r) and not r.options.get("embedded")})
        if not self._write(path, key, secret):
            return False
        if clear:
            dialogs.show_info(self.w, "Save protected",
                              f"Saved {Path(path).name}. The facility locations are now inside it, encrypted.\n\n"
                              "The original files are still readable in clear:\n" + "\n".join(clear) +
                              "\n\nDelete them (or keep them off this laptop) if the protected project replaces them.")
        return True

    def save_to(self, path) -> bool:
        """Save of an open protected project (same key)."""
        if not str(path).endswith(PROTECTED_SUFFIX):
            return self.save_protected_as()
        return self._write(path, self.project.protection)

    def _write(self, path, key, secret: str | None = None) -> bool:
        """Encrypt and write on a worker (a new key from ``secret`` is derived there too)."""
        started = time.perf_counter()
        project = self.project
        try:
            written = self._background("Save protected", f"Saving {Path(path).name}: encrypting…",
                                       functools.partial(protect.write_protected, project, path, key=key,
                                                         passphrase=secret))
            if written is None:  # cancelled by a quick close
                return False
            protect.adopt(project, *written)  # on the GUI thread, which owns the project
        except ProjectError as exc:
            dialogs.show_error(self.w, "Save protected", str(exc))
            return False
        except InputError as err:  # a sensitive layer's file cannot be read: nothing was written
            dialogs.show_problems(self.w, "Save protected", "The protected file was not written: a layer to "
                                  "protect cannot be read.", err.problems)
            return False
        self.w.session.set_dirty(False)
        self.w.autosave.discard()
        self.w._update_title()
        self.w.status_message.setText(f"Saved protected {Path(path).name} "
                                      f"({time.perf_counter() - started:.1f} s)")
        return True

    # -- export and print ----------------------------------------------------------------
    def adapt_export_dialog(self, dialog) -> None:
        """Protected project: safe sharing on by default (and said), an encrypted-archive option."""
        if not self.protected:
            dialog.encrypt = None
            return
        dialog.safe.setChecked(True)
        note = QLabel("This project is protected, so safe sharing is on. A full export (with facility names "
                      "and exact locations) asks for the passphrase again; as an encrypted archive "
                      f"(coverage{protect.ARCHIVE_SUFFIX}) it stays protected with the project's passphrase.")
        note.setObjectName("protected_note")
        note.setWordWrap(True)
        note.setStyleSheet("color:#8e0152; font-weight:bold")
        dialog.encrypt = QCheckBox(f"Encrypted archive (coverage{protect.ARCHIVE_SUFFIX}, same passphrase)")
        dialog.encrypt.setObjectName("encrypt")
        dialog.encrypt.setChecked(True)
        dialog.layout().insertWidget(0, note)
        dialog.layout().insertWidget(2, dialog.encrypt)

    def export_options(self, dialog) -> dict | None:
        """The dialog's options, after the passphrase check a full protected export needs (None: stop)."""
        options = dialog.options()
        encrypt = getattr(dialog, "encrypt", None)
        options["encrypt"] = bool(encrypt is not None and encrypt.isChecked())
        if not self.protected or options["safe_share"]:
            return options
        key = self.project.protection

        def verify(secret):
            if not key.verify(secret):
                raise protect.WrongPassphrase("wrong passphrase")
            return True

        ok = self._ask("Full export", "A full export holds facility names and exact locations. Type the project's "
                       "passphrase to confirm.", verify)
        return options if ok is not None else None

    def export_job(self, options: dict):
        """The task function for ``options``: the plain export, or the encrypted archive."""
        if not options.get("encrypt"):
            return jobs.export
        return functools.partial(jobs.export_encrypted, key=self.project.protection)

    def adapt_print_dialog(self, dialog) -> None:
        """Protected project: the safe-share version first; a full print asks for the passphrase."""
        if not (self.protected and hasattr(dialog, "safe_share")):
            return
        dialog.safe_share.setChecked(True)
        key = self.project.protection

        def toggled(on: bool) -> None:
            if on:
                return

            def verify(secret):
                if not key.verify(secret):
                    raise protect.WrongPassphrase("wrong passphrase")
                return True

            if self._ask("Full print", "A full print shows facility names and exact locations. Type the "
                         "project's passphrase to confirm.", verify) is None:
                dialog.safe_share.setChecked(True)

        dialog.safe_share.toggled.connect(toggled)

    # -- quick close ---------------------------------------------------------------------
    def quick_close(self) -> float:
        """Drop every decrypted layer, result, undo step and protected recent name; empty window.

        Unsaved changes of a protected project are dropped too (its autosave is deleted), so
        the laptop keeps no trace of the session. Returns the seconds it took.
        """
        started = time.perf_counter()
        w = self.w
        old = w.project
        w.tasks.cancel_all()
        self._purging = True
        for task in self._finished_tasks():
            _purge(task)
        for stack in list(w.undo_group.stacks()) + list(w.scenarios.undo_stacks.values()):
            stack.clear()  # deletes the edit commands (they hold facility names and coordinates)
        for name in ("last_export_dialog", "last_print_dialog", "about_dialog"):
            dialog = getattr(w.outputs, name, None)
            if dialog is not None:
                dialog.close()
                dialog.deleteLater()
                setattr(w.outputs, name, None)
        gis = getattr(w, "gis", None)  # attribute tables and the map selection hold layer frames
        if gis is not None:
            for table in list(getattr(gis, "tables", [])):
                table.close()
                table.deleteLater()
            getattr(gis, "tables", []).clear()
            if getattr(gis, "select", None) is not None:
                gis.select.selection = {}
        dialogs.close_all()
        w.autosave.debounce.stop()
        if old is not None and old.protected:
            w.autosave.discard()
        protect.drop_secrets(old)
        w.dirty = False
        w.projects.set_project(Project(name="Untitled"))
        forget_protected_recent()
        self.last_quick_close_s = time.perf_counter() - started
        # frames caught in reference cycles go at the next full collection: run it right after
        # the window is empty (0.1-0.4 s on the bundled project) instead of before
        QTimer.singleShot(0, gc.collect)
        w.status_message.setText(f"Quick close: everything dropped in {self.last_quick_close_s:.2f} s")
        return self.last_quick_close_s


    def _finished_tasks(self):
        from .tasks import Task

        return [t for t in self.w.tasks.findChildren(Task) if t.state != "running"]

    def _task_ended(self, task, state: str) -> None:
        if self._purging:
            _purge(task)
            if not self.w.tasks.running:
                self._purging = False


def _purge(task) -> None:
    """Drop what a finished task still references (its arguments, result and callbacks)."""
    task.fn, task.args, task.kwargs, task.result = None, (), {}, None
    task._on_done = task._on_error = task._on_cancelled = None
    task.setParent(None)
    task.deleteLater()


def forget_protected_recent() -> None:
    """Remove protected projects (and the last-project entry if protected) from the settings."""
    try:
        items = [p for p in settings.recent_projects() if not p.endswith(PROTECTED_SUFFIX)]
        s = settings.settings()
        s.setValue("recent_projects", items)
        last = s.value("last_project")
        if last and (str(last).endswith(PROTECTED_SUFFIX) or protect.is_protected(last)):
            s.remove("last_project")
        s.sync()
    except Exception:  # settings are a convenience
        log.warning("could not tidy the recent projects list", exc_info=True)
