"""Start the desktop app: QApplication, bundled fonts, crash guard, main window.

``run_app(argv)`` accepts a ``.covproj`` path, ``--project PATH`` and ``--no-restore``
(start on the bundled project instead of the last one).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from pathlib import Path

# The geodata stack before PySide6: once imported, PySide6 reads the source of every module
# imported after it (its import hook looks for ``from __feature__ import``), 0.2-0.3 s of the
# app's start for pandas, geopandas, shapely, pyproj, rasterio and pyogrio (~550 modules), which
# loading the first project needs anyway (benchmarks/ui.py; tests/ui/test_startup.py).
import geopandas  # noqa: F401
import pyogrio  # noqa: F401
import rasterio  # noqa: F401
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication, QIcon, QImageReader
from PySide6.QtWidgets import QApplication

from coverage_app.core import startup

from . import dialogs, settings
from .fonts import register_fonts, ui_font  # noqa: F401  (ui_font: the app's public name)

log = logging.getLogger("coverage_app.ui")
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
DESKTOP_FILE_NAME = "coverage-app"  # packaging/coverage-app.desktop: taskbar / dock grouping on Linux


def app_icon() -> QIcon:
    """The app icon (resources/icon.png, plus the SVG where Qt can draw it at any size)."""
    icon = QIcon()
    png = RESOURCES / "icon.png"
    if png.exists():
        icon.addFile(str(png))
    svg = RESOURCES / "icon.svg"
    if svg.exists() and b"svg" in [bytes(f) for f in QImageReader.supportedImageFormats()]:
        icon.addFile(str(svg))
    return icon


def set_app_identity(app=None) -> QIcon:
    """Icon for every window, and the desktop file name (Wayland/X11 match the launcher's icon)."""
    QGuiApplication.setDesktopFileName(DESKTOP_FILE_NAME)
    icon = app_icon()
    app = app or QApplication.instance()
    if app is not None and not icon.isNull():
        app.setWindowIcon(icon)
    return icon


def setup_logging() -> Path | None:
    root = logging.getLogger("coverage_app")
    if any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        return None
    try:
        path = settings.app_data_dir() / "coverage-app.log"
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def install_excepthook(window_getter=lambda: None) -> None:
    """Unexpected exceptions are logged and shown in a dialog; the app and the project stay."""

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unexpected error:\n%s", text)
        window = window_getter()
        try:
            if window is not None and hasattr(window, "on_unexpected_error"):
                window.on_unexpected_error(exc, text)
            else:
                title, what = dialogs.unexpected_error_text(exc)
                dialogs.show_error(None, title, f"{what}\n\nYour project is kept; the details are in the log file.",
                                   text)
        except Exception:  # never raise from the hook
            sys.__excepthook__(exc_type, exc, tb)

    sys.excepthook = hook


def parse_args(argv) -> dict:
    args = {"project": None, "restore": True}
    items = list(argv or [])
    i = 0
    while i < len(items):
        item = items[i]
        if item == "--no-restore":
            args["restore"] = False
        elif item == "--project" and i + 1 < len(items):
            args["project"] = items[i + 1]
            i += 1
        elif item.startswith("--project="):
            args["project"] = item.split("=", 1)[1]
        elif not item.startswith("-"):
            args["project"] = item
        i += 1
    return args


def create_window(argv=None):
    """Create (but do not show) the main window for ``argv``; the QApplication must exist."""
    from .main_window import MainWindow

    settings.init_names()
    register_fonts()
    icon = set_app_identity()
    args = parse_args(argv)
    window = MainWindow()
    if not icon.isNull():
        window.setWindowIcon(icon)
    window.start(args["project"], restore=args["restore"])
    return window


def run_app(argv=None) -> int:
    from coverage_app.core import runcache

    runcache.enable()  # layers and friction surfaces of earlier runs are read back (core/runcache.py)
    settings.init_names()
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "coverage-app"])
    set_app_identity(app)
    setup_logging()
    holder = {}
    install_excepthook(lambda: holder.get("window"))
    window = create_window(argv)
    holder["window"] = window
    window.show()
    # garbage collections are held from the console script's start until the first paint
    # (ProjectController.map_painted); should no project ever load, resume them anyway
    QTimer.singleShot(10_000, lambda: startup.held() and startup.imports_done())
    return app.exec()
