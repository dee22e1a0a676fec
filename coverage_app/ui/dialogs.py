"""Every message box and file chooser of the app goes through this module.

Messages (errors, warnings, information) are *non-blocking*: the box is opened window-modal
with ``open()`` and the call returns at once, so a background failure never stops the event
loop and tests can inspect what was shown (:data:`shown`). Questions and file choosers must
block for an answer; tests replace them (``monkeypatch.setattr(dialogs, "ask", ...)``).
Callers use the module attribute (``dialogs.show_error(...)``), never ``from ... import``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

log = logging.getLogger("coverage_app.ui")


@dataclass
class Shown:
    kind: str        # "error", "warning", "info"
    title: str
    text: str
    details: str
    box: QMessageBox | None


#: every message shown since start (tests read and clear it)
shown: list[Shown] = []
#: set False (tests) to record messages without creating boxes
create_boxes = True
_open_boxes: list[QMessageBox] = []


def problems_text(problems) -> str:
    """Plain lines for core problems (``str(Problem)``), errors first."""
    items = list(problems or [])
    items.sort(key=lambda p: 0 if getattr(p, "severity", "error") == "error" else 1)
    return "\n".join(f"• {p}" for p in items)


def _message(kind: str, parent: QWidget | None, title: str, text: str, details: str = "") -> QMessageBox | None:
    getattr(log, "error" if kind == "error" else "info")("%s: %s%s", title, text, f"\n{details}" if details else "")
    box = None
    if create_boxes:
        icon = {"error": QMessageBox.Critical, "warning": QMessageBox.Warning}.get(kind, QMessageBox.Information)
        box = QMessageBox(icon, title, text, QMessageBox.Ok, parent)
        box.setTextInteractionFlags(Qt.TextSelectableByMouse)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WA_DeleteOnClose, True)
        box.setObjectName(f"{kind}_message")
        _open_boxes.append(box)
        box.finished.connect(lambda _=0, b=box: _open_boxes.remove(b) if b in _open_boxes else None)
        box.open()
    shown.append(Shown(kind, title, text, details, box))
    return box


def show_error(parent, title: str, text: str, details: str = ""):
    return _message("error", parent, title, text, details)


def show_warning(parent, title: str, text: str, details: str = ""):
    return _message("warning", parent, title, text, details)


def show_info(parent, title: str, text: str, details: str = ""):
    return _message("info", parent, title, text, details)


def show_problems(parent, title: str, intro: str, problems, details: str = ""):
    """Errors and warnings from the core, one plain line each."""
    kind = "error" if any(getattr(p, "severity", "error") == "error" for p in problems) else "warning"
    text = f"{intro}\n\n{problems_text(problems)}" if intro else problems_text(problems)
    return _message(kind, parent, title, text, details)


def close_all() -> None:
    for box in list(_open_boxes):
        box.close()


# -- blocking questions (tests monkeypatch these) -----------------------------------------

def ask(parent, title: str, text: str, default_yes: bool = True) -> bool:
    buttons = QMessageBox.Yes | QMessageBox.No
    answer = QMessageBox.question(parent, title, text, buttons, QMessageBox.Yes if default_yes else QMessageBox.No)
    return answer == QMessageBox.Yes


def ask_save_changes(parent, name: str) -> str:
    """"save", "discard" or "cancel" for unsaved changes."""
    box = QMessageBox(QMessageBox.Warning, "Unsaved changes", f"Save the changes to “{name}”?",
                      QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel, parent)
    box.setDefaultButton(QMessageBox.Save)
    answer = box.exec()
    return {QMessageBox.Save: "save", QMessageBox.Discard: "discard"}.get(answer, "cancel")


def get_open_files(parent, title: str, filter: str, directory: str = "") -> list[str]:
    files, _ = QFileDialog.getOpenFileNames(parent, title, directory, filter)
    return files


def get_open_file(parent, title: str, filter: str, directory: str = "") -> str:
    path, _ = QFileDialog.getOpenFileName(parent, title, directory, filter)
    return path


def get_save_file(parent, title: str, filter: str, directory: str = "") -> str:
    path, _ = QFileDialog.getSaveFileName(parent, title, directory, filter)
    return path


def get_directory(parent, title: str, directory: str = "") -> str:
    return QFileDialog.getExistingDirectory(parent, title, directory)


def get_text(parent, title: str, label: str, text: str = "") -> str | None:
    value, ok = QInputDialog.getText(parent, title, label, text=text)
    return value if ok else None


def run_dialog(dialog) -> bool:
    """Run a custom dialog modally; tests replace this to accept dialogs without blocking."""
    return bool(dialog.exec())


def unexpected_error_text(exc) -> tuple[str, str]:
    """Title and first sentence of the dialog for an exception nothing else handled: a package the
    app needs that is not installed is named, with how to install it."""
    from coverage_app.core.errors import missing_dependency

    missing = missing_dependency(exc)
    if missing:
        return "A package is missing", f"This part of the app cannot run: {missing}."
    return "Unexpected error", f"Something went wrong: {exc}"


def show_task_error(parent, title: str, exc, status=None) -> None:
    """Tell the user a background task failed: input problems as a list, known errors as
    their message, anything else as "Something went wrong" with the traceback as details.
    ``status(text)`` (the status bar) gets a one-line note."""
    from coverage_app.core.data.project import ProjectError
    from coverage_app.core.errors import InputError
    from coverage_app.core.feedback import Cancelled

    if isinstance(exc, Cancelled):
        if status:
            status(f"{title}: cancelled")
        return
    if isinstance(exc, InputError):
        show_problems(parent, title, "", exc.problems)
    elif isinstance(exc, ProjectError):
        show_error(parent, title, str(exc))
    elif isinstance(exc, (ValueError, OSError)) and str(exc):
        show_error(parent, title, str(exc))
    else:
        import traceback

        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        what = unexpected_error_text(exc)[1]
        show_error(parent, title, f"{what}\n\nYour project is kept; the details are in the log file.", details)
    if status:
        status(f"{title}: failed")
