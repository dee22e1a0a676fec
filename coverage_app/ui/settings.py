"""Persistent settings (QSettings) and the app's data folder (autosave, log).

Tests isolate both: ``COVERAGE_APP_DATA_DIR`` moves the data folder and
:func:`use_settings_file` points QSettings at an INI file in a temporary folder, so a test
run never touches the user's settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths

ORGANISATION = "coverage-app"
APPLICATION = "Coverage analyser"
MAX_RECENT = 8
_settings_file: str | None = None


def init_names() -> None:
    QCoreApplication.setOrganizationName(ORGANISATION)
    QCoreApplication.setApplicationName(APPLICATION)


def use_settings_file(path) -> None:
    """Store settings in this INI file (tests)."""
    global _settings_file
    _settings_file = str(path) if path else None


def settings() -> QSettings:
    path = _settings_file or os.environ.get("COVERAGE_APP_SETTINGS")
    if path:
        return QSettings(str(path), QSettings.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


def app_data_dir() -> Path:
    env = os.environ.get("COVERAGE_APP_DATA_DIR")
    if env:
        folder = Path(env)
    else:
        location = QStandardPaths.writableLocation(QStandardPaths.AppDataLocation)
        folder = Path(location) if location else Path.home() / ".coverage-app"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def recent_projects() -> list[str]:
    value = settings().value("recent_projects", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or []) if v]


def add_recent_project(path) -> list[str]:
    if str(path).endswith(".covprojx"):  # protected projects' names never reach the settings file
        return recent_projects()
    path = str(Path(path).resolve())
    items = [p for p in recent_projects() if p != path]
    items.insert(0, path)
    items = items[:MAX_RECENT]
    s = settings()
    s.setValue("recent_projects", items)
    s.setValue("last_project", path)
    s.sync()
    return items


def value(key: str, default=None, type=None):
    s = settings()
    if type is not None:
        try:
            return s.value(key, default, type=type)
        except TypeError:
            return default
    return s.value(key, default)


def set_value(key: str, val) -> None:
    s = settings()
    s.setValue(key, val)
    s.sync()
