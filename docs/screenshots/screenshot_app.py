"""The real app for the screenshot scripts of this folder: settings and autosave in a temporary
folder, no message boxes, and waits that keep Qt's event loop running.

    from screenshot_app import start_app, wait, settle, idle
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def start_app(offscreen: bool | None = None):
    """Create the QApplication and return ``(create_window, tmp)``. ``offscreen`` None renders
    offscreen only without a DISPLAY (then the real window is grabbed from the screen); True always."""
    if offscreen or not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = tempfile.mkdtemp()
    os.environ["COVERAGE_APP_DATA_DIR"] = tmp
    from PySide6.QtWidgets import QApplication

    start_app.app = QApplication.instance() or QApplication(sys.argv[:1])  # kept alive with the module
    from coverage_app.ui import dialogs, settings

    settings.use_settings_file(Path(tmp) / "settings.ini")
    dialogs.create_boxes = False
    from coverage_app.ui.app import create_window

    return create_window, tmp


def wait(predicate, timeout: float = 300.0) -> None:
    """Run the event loop until ``predicate()`` holds (seconds; exits the script on a timeout)."""
    from PySide6.QtCore import QEventLoop, QTimer

    end = time.time() + timeout
    while not predicate():
        if time.time() > end:
            raise SystemExit("timed out")
        loop = QEventLoop()
        QTimer.singleShot(30, loop.quit)
        loop.exec()


def settle(seconds: float = 0.5) -> None:
    """Let the docks and the map settle for ``seconds``."""
    end = time.time() + seconds
    wait(lambda: time.time() > end)


def idle(window, timeout: float = 300.0) -> None:
    """Wait until the window runs no task but its engine warm-up."""
    wait(lambda: not [t for t in window.tasks.running if t.group != "warmup"], timeout)


def close_window(window) -> None:
    """Close ``window`` without the unsaved-changes question and stop its task threads."""
    window.dirty = False
    window.close()
    window.tasks.shutdown(20000)
