"""Shared fixtures. Qt runs offscreen: set before any test imports PySide6."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
# The cache of earlier runs (core/runcache.py) is off in tests, and for the commands they run as
# subprocesses: every test computes everything, whatever ran before it. Tests of the cache switch it
# on in a folder of their own.
os.environ["COVERAGE_APP_CACHE_DIR"] = "off"

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
