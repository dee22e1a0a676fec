"""The layout's rules (docs/ARCHITECTURE.md), checked on the real source tree.

* The import-linter contracts in pyproject.toml ([tool.importlinter]) hold: core imports no
  Qt, pyplot, ui or cli; ui and cli never import each other; core's sub-packages (and the
  briefing and travel modules) only import downwards. Imports inside functions count.
* They can fail: a copy of the package with one rule broken on purpose is reported broken.
* No module imports a ``_private`` name of another module.
* No .py file is over 600 lines unless its module docstring says why ("Long because:").
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "coverage_app"
MAX_LINES = 600

# Files wave/ui is splitting (branch wave/ui, "Window split:"): still long on this branch.
# The lead removes this allow-list when the branches merge.
# main_window.py and maplayers.py are short since wave/ui's window split; canvas.py (605 lines
# after wave/ui's map tools) is wave/ui's to split or give its "Long because:" reason
WAVE_UI_OWNED = {"coverage_app/ui/canvas.py"}


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """Run ``lint-imports`` on the pyproject.toml in ``cwd``, importing the package found there."""
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "250"}  # no wrapped report lines
    code = "from importlinter.cli import lint_imports_command; lint_imports_command()"
    return subprocess.run([sys.executable, "-c", code, "--no-cache"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept():
    out = lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "6 kept, 0 broken" in out.stdout, out.stdout


def _inject(path: Path, code: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8")


BREAKS = {  # module -> a lazy import breaking one rule, the contract that must catch it, the chain
    "core-imports-ui": ("core/grid.py", "def _leak():\n    import coverage_app.ui.tasks",
                        "core imports no Qt, no ui and no cli BROKEN",
                        "coverage_app.core.grid -> coverage_app.ui.tasks"),
    "core-imports-pyplot": ("core/outputs/symbology.py", "def _plot():\n    import matplotlib.pyplot as plt",
                            "core never imports matplotlib.pyplot (global state, GUI backends) BROKEN",
                            "coverage_app.core.outputs.symbology -> matplotlib.pyplot"),
    "data-imports-analysis": ("core/data/crs.py", "def _up():\n    from coverage_app.core.analysis import pipeline",
                              "core layers import only downwards: outputs -> analysis -> travel -> data -> shared "
                              "modules BROKEN",
                              "coverage_app.core.data.crs -> coverage_app.core.analysis.pipeline"),
    "cli-imports-ui": ("cli/data.py", "def _gui():\n    from coverage_app.ui import tasks",
                       "ui and cli never import each other BROKEN",
                       "coverage_app.cli.data -> coverage_app.ui.tasks"),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_import_contracts_fail_when_a_rule_is_broken(tmp_path, case):
    """A copy of the package with one rule broken by an import inside a function: lint-imports
    fails and names the contract and the offending import."""
    module, code, contract, chain = BREAKS[case]
    shutil.copytree(PACKAGE, tmp_path / "coverage_app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    _inject(tmp_path / "coverage_app" / module, code)
    out = lint_imports(tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert contract in out.stdout, out.stdout
    assert chain in out.stdout, out.stdout
    assert "0 broken" not in out.stdout


# -- private names ----------------------------------------------------------------------------

def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(root: Path, path: Path) -> str:
    name = ".".join(path.relative_to(root).with_suffix("").parts)
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def private_imports(root: Path, package: str = "coverage_app") -> list[str]:
    """Every ``from m import _x``, ``import m._x`` and ``mod._x`` (``mod`` an imported module of
    the package, not the module itself) in the package under ``root``."""
    paths = sorted((root / package).rglob("*.py"))
    modules = {_module_name(root, p) for p in paths}
    found = []
    for path in paths:
        here = _module_name(root, path)
        parent = here if path.name == "__init__.py" else here.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(root).as_posix()
        aliases = {}  # local name -> module of the package it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = parent.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                for alias in node.names:
                    if _is_private(alias.name):
                        found.append(f"{where}:{node.lineno}: from {base} import {alias.name}")
                    if f"{base}.{alias.name}" in modules:
                        aliases[alias.asname or alias.name] = f"{base}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if any(_is_private(part) for part in alias.name.split(".")):
                        found.append(f"{where}:{node.lineno}: import {alias.name}")
                    if alias.asname and alias.name in modules:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and _is_private(node.attr) and isinstance(node.value, ast.Name)
                    and aliases.get(node.value.id, here) != here):
                found.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr} of {aliases[node.value.id]}")
    return found


def test_no_module_imports_a_private_name_of_another():
    assert private_imports(ROOT) == []


def test_private_import_scan_finds_each_form(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text("_hidden = 1\n__version__ = '1'\n\ndef _helper():\n    return 2\n")
    (pkg / "b.py").write_text(
        "from pkg.sub.a import _hidden, __version__\n"
        "from .sub import a\n"
        "import pkg.sub.a as alias\n\n"
        "def f():\n    from .sub.a import _helper\n    return a._helper() + alias._hidden\n")
    (pkg / "sub" / "c.py").write_text("from . import a\n\nx = a.__name__\n")  # dunders are fine
    found = sorted(private_imports(tmp_path, "pkg"))
    assert found == [
        "pkg/b.py:1: from pkg.sub.a import _hidden",
        "pkg/b.py:6: from pkg.sub.a import _helper",
        "pkg/b.py:7: a._helper of pkg.sub.a",
        "pkg/b.py:7: alias._hidden of pkg.sub.a",
    ]


# -- file length ------------------------------------------------------------------------------

def long_files(root: Path, allowed=frozenset()) -> list[str]:
    """Files over MAX_LINES lines whose module docstring has no "Long because:" line."""
    out = []
    for path in sorted((root / "coverage_app").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        if n <= MAX_LINES or rel in allowed:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if not any(line.strip().startswith("Long because:") for line in doc.splitlines()):
            out.append(f"{rel}: {n} lines")
    return out


def test_no_file_over_600_lines_without_its_reason():
    assert long_files(ROOT, WAVE_UI_OWNED) == []


def test_allow_list_names_only_files_that_exist_and_are_long():
    """Once wave/ui's split lands, the allow-list must go (or this fails, pointing at it)."""
    for rel in WAVE_UI_OWNED:
        path = ROOT / rel
        if not path.exists() or len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES:
            pytest.fail(f"{rel} is no longer long: remove it from WAVE_UI_OWNED")


def test_long_file_check_needs_the_reason_in_the_docstring(tmp_path):
    pkg = tmp_path / "coverage_app"
    pkg.mkdir()
    body = "x = 1\n" * MAX_LINES
    (pkg / "short.py").write_text('"""Short."""\n' + "x = 1\n" * (MAX_LINES - 1))
    (pkg / "long.py").write_text('"""Long."""\n' + body)
    (pkg / "reasoned.py").write_text('"""One algorithm.\n\nLong because: one cohesive search loop.\n"""\n' + body)
    (pkg / "comment.py").write_text('"""Long."""\n# Long because: a comment is not the docstring\n' + body)
    assert long_files(tmp_path) == ["coverage_app/comment.py: 602 lines", "coverage_app/long.py: 601 lines"]
