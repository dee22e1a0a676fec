"""The bundled OFL fonts (Noto Sans with Noto Sans Myanmar) as the UI font.

A module of its own so the window and widgets can ask for the UI font without importing
:mod:`coverage_app.ui.app` (which imports the window: that was an import cycle).
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from coverage_app.core.outputs.fonts import LATIN_FAMILY, MYANMAR_FAMILY, font_files

_registered: list[str] = []


def register_fonts() -> list[str]:
    """Register the bundled OFL fonts; make Noto Sans (with Noto Sans Myanmar) the UI font."""
    if not _registered:
        for path in font_files():
            font_id = QFontDatabase.addApplicationFont(str(path))
            if font_id >= 0:
                _registered.extend(QFontDatabase.applicationFontFamilies(font_id))
        app = QApplication.instance()
        if app is not None and LATIN_FAMILY in _registered:
            font = QFont(LATIN_FAMILY)
            font.setFamilies([LATIN_FAMILY, MYANMAR_FAMILY])
            font.setPointSizeF(max(9.0, app.font().pointSizeF()))
            app.setFont(font)
    return sorted(set(_registered))


def ui_font(size: float | None = None) -> QFont:
    font = QFont(LATIN_FAMILY)
    font.setFamilies([LATIN_FAMILY, MYANMAR_FAMILY])
    if size:
        font.setPointSizeF(size)
    return font
