"""coverage_app.core must load without Qt or pyplot (DESIGN.md section 1, rule 1)."""

import pkgutil
import subprocess
import sys

import coverage_app.core


def test_core_imports_without_pyside6_or_pyplot():
    modules = [m.name for m in pkgutil.walk_packages(coverage_app.core.__path__, "coverage_app.core.")]
    assert "coverage_app.core.data.layers" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = [m for m in sys.modules if m.startswith('PySide6') or m == 'matplotlib.pyplot']\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core pulled in: {out.stdout}"


def test_cli_does_not_import_the_ui():
    code = ("import sys, coverage_app.cli\n"
            "print(any(m.startswith(('PySide6', 'coverage_app.ui')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
