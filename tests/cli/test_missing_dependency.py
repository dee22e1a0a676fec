"""A package the app needs that is not installed (a broken or partial install): the command line
and the app say which one and how to install it (exit code 3), never "unexpected failure" or a
traceback. Real processes of the console script, with the package made unimportable the way a
missing one is (``sys.modules[name] = None`` makes ``import name`` raise ModuleNotFoundError)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coverage_app.core.errors import MISSING_DEPENDENCY_EXIT, missing_dependency

REPO = Path(__file__).resolve().parents[2]


def console_without(package: str, *args, env=None):
    code = (f"import sys; sys.modules[{package!r}] = None; sys.argv = ['coverage-app', *{list(map(str, args))!r}]; "
            "from coverage_app.__main__ import console_main; raise SystemExit(console_main())")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env=env)


def assert_told(proc, package):
    assert proc.returncode == MISSING_DEPENDENCY_EXIT, proc.stderr
    assert f"the Python module '{package}' that coverage-app needs is not installed" in proc.stderr
    assert "pip install -e ." in proc.stderr and sys.executable in proc.stderr
    assert "unexpected failure" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("package", ["geopandas", "numba"])
def test_analyse_without_a_package_it_needs_names_the_package(tmp_path, package):
    proc = console_without(package, "analyse", "--out", tmp_path / "out", "--cell-size", "5000", "--quiet")
    assert_told(proc, package)
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_the_app_without_pyside6_names_it():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    assert_told(console_without("PySide6", "--no-restore", env=env), "PySide6")


def test_only_a_missing_third_party_module_counts():
    assert "'pyogrio'" in missing_dependency(ModuleNotFoundError("No module named 'pyogrio._io'", name="pyogrio._io"))
    assert missing_dependency(ModuleNotFoundError("x", name="coverage_app.core.gone")) is None  # our own code
    assert missing_dependency(ImportError("cannot import name 'x' from 'numpy'", name="numpy")) is None
    assert missing_dependency(ModuleNotFoundError("no name")) is None
    assert missing_dependency(ValueError("geopandas")) is None
