"""Shared fixtures. Qt runs offscreen: set before any test imports PySide6."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
if "COVERAGE_APP_CACHE_DIR" not in os.environ:  # the cache of earlier runs (core/runcache.py): never the
    import atexit  # noqa: E402  (user's own; the commands run as subprocesses, and xdist's workers, share it)
    import shutil  # noqa: E402
    import tempfile  # noqa: E402

    os.environ["COVERAGE_APP_CACHE_DIR"] = tempfile.mkdtemp(prefix="coverage-app-test-cache-")
    atexit.register(shutil.rmtree, os.environ["COVERAGE_APP_CACHE_DIR"], True)

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
