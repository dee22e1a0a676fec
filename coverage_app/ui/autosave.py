"""Autosave and crash recovery.

While the app runs, a lock file (``session.lock``) sits in the data folder; a clean exit
removes it. The project is saved to ``autosave.covproj`` (atomic, through
:func:`coverage_app.core.data.project.save_project` on a copy, so the user's file and the
project's own path are untouched) every few minutes and shortly after each change; a sidecar
``autosave.json`` remembers which file it belongs to. If the next start finds the lock still
there and an autosave newer than the last clean save, it offers to recover it.

A protected project is autosaved encrypted with its own key (``autosave.covprojx``, see
:mod:`coverage_app.core.data.protect`): its original path travels inside the encrypted
file and the clear sidecar says only "protected" and when, so no name reaches the disk.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from coverage_app.core.data import protect
from coverage_app.core.data.project import ProjectError, load_project, save_project

log = logging.getLogger("coverage_app.ui")


class Autosave(QObject):
    saved = Signal(str)

    def __init__(self, folder: Path, interval_min: float = 2.0, debounce_s: float = 5.0, parent=None):
        super().__init__(parent)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "autosave.covproj"
        self.protected_path = self.folder / "autosave.covprojx"
        self.passphrase_getter = lambda: None  # asks for the passphrase of a protected autosave
        self.meta_path = self.folder / "autosave.json"
        self.lock_path = self.folder / "session.lock"
        self.project_getter = lambda: None
        self.dirty_getter = lambda: True
        self.timer = QTimer(self)
        self.timer.setInterval(int(interval_min * 60_000))
        self.timer.timeout.connect(self.save_now)
        self.debounce = QTimer(self)
        self.debounce.setSingleShot(True)
        self.debounce.setInterval(int(debounce_s * 1000))
        self.debounce.timeout.connect(self.save_now)
        self.last_error: str | None = None

    # -- session lock -------------------------------------------------------------------
    def crashed_before(self) -> bool:
        """True if the previous session did not end cleanly and left an autosave."""
        return self.lock_path.exists() and (self.path.exists() or self.protected_path.exists())

    def begin_session(self) -> None:
        try:
            self.lock_path.write_text(json.dumps({"pid": os.getpid(), "started": dt.datetime.now().isoformat()}),
                                      encoding="utf-8")
        except OSError as exc:
            log.warning("cannot write the session lock: %s", exc)
        self.timer.start()

    def end_session(self) -> None:
        """Clean exit: stop timers, remove the lock and the autosave (the user has chosen)."""
        self.timer.stop()
        self.debounce.stop()
        self.discard()
        try:
            self.lock_path.unlink(missing_ok=True)
        except OSError:
            pass

    # -- saving -------------------------------------------------------------------------
    def changed(self) -> None:
        """The project changed: save it soon (debounced)."""
        self.debounce.start()

    def save_now(self) -> Path | None:
        project = self.project_getter()
        if project is None or not self.dirty_getter():
            return None
        clone = copy.copy(project)
        clone.layers = [copy.copy(ref) for ref in project.layers]
        clone.scenarios = copy.deepcopy(project.scenarios)
        saved = dt.datetime.now().isoformat(timespec="seconds")
        try:
            if project.protected:
                extra = {"original_path": str(project.path) if project.path else None, "saved": saved}
                payload = protect.project_payload(clone, self.protected_path, extra=extra)
                protect.write_bytes_atomic(self.protected_path, project.protection.encrypt(payload, "project"))
                self.path.unlink(missing_ok=True)
                meta = {"protected": True, "saved": saved}
                target = self.protected_path
            else:
                save_project(clone, self.path)
                self.protected_path.unlink(missing_ok=True)
                meta = {"original_path": str(project.path) if project.path else None, "saved": saved,
                        "name": project.name}
                target = self.path
            self.meta_path.write_text(json.dumps(meta), encoding="utf-8")
            self.last_error = None
        except (ProjectError, OSError) as exc:
            self.last_error = str(exc)
            log.warning("autosave failed: %s", exc)
            return None
        self.saved.emit(str(target))
        return target

    def discard(self) -> None:
        for path in (self.path, self.protected_path, self.meta_path):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass

    def keep_damaged(self) -> Path | None:
        """Move a damaged autosave aside, never deleting it; returns where it now is.

        :meth:`recover` calls this when the autosave cannot be read: renamed to
        ``autosave-damaged-<time>.covproj`` in the same folder, neither the next autosave nor a
        discard removes it, and the error says where it is.
        """
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        kept = self.folder / f"autosave-damaged-{stamp}.covproj"
        try:
            os.replace(self.path, kept)
        except OSError as exc:
            log.warning("cannot keep the damaged autosave: %s", exc)
            return None
        return kept

    def meta(self) -> dict:
        try:
            return json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def recover(self):
        """The autosaved project, with its original path restored (raises ProjectError).

        A protected autosave asks :attr:`passphrase_getter` for the passphrase (None: cancelled).
        """
        if self.protected_path.exists() and (not self.path.exists() or self.meta().get("protected")):
            secret = self.passphrase_getter()
            if secret is None:  # keep it (encrypted) rather than lose the work
                kept = self.folder / f"unrecovered-{dt.datetime.now():%Y%m%d-%H%M%S}.covprojx"
                os.replace(self.protected_path, kept)
                raise protect.NeedsPassphrase(f"the autosave is protected and no passphrase was given; it was kept, "
                                              f"still encrypted, as {kept} (open it later with File > Open)")
            project = protect.load_protected(self.protected_path, secret)
            original = project.autosave_meta.get("original_path")
            project.path = Path(original) if original else None
            for ref in project.layers:
                if ref.options.get("embedded") and project.path is not None:
                    ref.path = str(project.path)
            return project
        try:
            project = load_project(self.path)
        except ProjectError as exc:
            kept = self.keep_damaged()
            reason = str(exc).replace(": restore a backup or the autosaved copy", "").rstrip(".")
            where = f" The damaged autosave was kept as {kept}." if kept else ""
            raise ProjectError(f"{reason}.{where}") from None
        original = self.meta().get("original_path")
        project.path = Path(original) if original else None
        return project
