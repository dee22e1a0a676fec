"""Shared fixtures. Qt runs offscreen: set before any test imports PySide6."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LAYERS = REPO / "layers"
BUNDLED_PROJECT = LAYERS / "sagaing.covproj"
BUNDLED_GPKG = LAYERS / "sagaing.gpkg"


@pytest.fixture(scope="session")
def bundled_project_path():
    return BUNDLED_PROJECT


@pytest.fixture(scope="session")
def bundled_gpkg():
    return BUNDLED_GPKG
