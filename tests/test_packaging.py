"""Quick checks of packaging/ without building the bundle (that takes minutes: see
packaging/README.md, `bash packaging/build.sh && bash packaging/smoke.sh`).

The spec must compile, every file or folder it bundles from this repository must exist, and the
runtime hook must point GDAL/PROJ at bundled copies and numba at a user cache folder.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "coverage_app.spec"


def spec_source() -> str:
    return SPEC.read_text(encoding="utf-8")


def test_spec_compiles():
    compile(spec_source(), str(SPEC), "exec")


def test_spec_bundles_files_that_exist():
    tree = ast.parse(spec_source())
    # Every `ROOT / "a" / "b"` and `SPEC_DIR / "x"` the spec names must exist.
    paths = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            parts, cur = [], node
            while isinstance(cur, ast.BinOp) and isinstance(cur.op, ast.Div) and isinstance(cur.right, ast.Constant):
                parts.insert(0, cur.right.value)
                cur = cur.left
            if isinstance(cur, ast.Name) and cur.id in ("ROOT", "SPEC_DIR") and parts:
                base = ROOT if cur.id == "ROOT" else PACKAGING
                paths.append(base.joinpath(*parts))
    wanted = {p.relative_to(ROOT).as_posix() for p in paths}
    assert {"coverage_app/resources", "layers", "packaging/entry.py", "packaging/rthook_geodata.py"} <= wanted
    missing = [str(p) for p in paths if not p.exists() and p.name != "icon.png"]
    assert not missing, f"the spec bundles missing files: {missing}"
    assert (ROOT / "layers" / "sagaing.covproj").is_file()
    assert list((ROOT / "coverage_app" / "resources" / "fonts").glob("NotoSansMyanmar-*.ttf"))


def test_spec_collects_geodata_and_excludes_test_stacks():
    source = spec_source()
    for dest in ("pyogrio/gdal_data", "pyogrio/proj_data", "rasterio/gdal_data", "rasterio/proj_data",
                 "coverage_app/resources", '"layers"'):
        assert dest in source, dest
    assert 'collect_data_files("pyproj")' in source
    excludes = re.search(r"excludes = \[(.*?)\n\]", source, re.S).group(1)
    for name in ("pytest", "skimage", "IPython", "tkinter"):
        assert f'"{name}"' in excludes, name
    assert "rthook_geodata.py" in source and "module_collection_mode" in source
    assert "numba_cache_key.txt" in source
    # the cache of earlier runs keys on the core's source, which the bundle keeps in its archive
    assert "_runcache.CODE_DIGEST_FILE" in source and "source_digest" in source


def needed_modules() -> set[str]:
    """Top-level modules of every distribution the project depends on (pyproject.toml), with
    their own requirements, transitively (as installed here; extras left out)."""
    import importlib.metadata as md
    import tomllib

    from packaging.requirements import Requirement

    def key(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    todo = [Requirement(d).name for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    seen = set()
    while todo:
        name = todo.pop()
        if key(name) in seen:
            continue
        seen.add(key(name))
        try:
            requires = md.distribution(name).requires or []
        except md.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return {module for module, dists in md.packages_distributions().items() if any(key(d) in seen for d in dists)}


def test_spec_excludes_nothing_the_app_or_its_dependencies_import():
    """A package left out of the bundle that the app needs breaks that part only in the bundle:
    cryptography (protected projects), PyYAML (dask's configuration), Jinja2 (distributed)."""
    excludes = set(re.findall(r'"([^"]+)"', re.search(r"excludes = \[(.*?)\n\]", spec_source(), re.S).group(1)))
    wrongly = excludes & needed_modules()
    assert not wrongly, f"the spec excludes modules the app needs: {sorted(wrongly)}"
    assert {"cryptography", "yaml", "numba", "dask", "arro3"} <= needed_modules()  # the walk sees them


def test_packaging_files_present_and_scripts_parse():
    for name in ("build.sh", "smoke.sh", "install-linux.sh", "coverage-app.desktop", "icon.svg", "icon.png",
                 "README.md", "entry.py"):
        assert (PACKAGING / name).is_file(), name
    assert (PACKAGING / "icon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    desktop = (PACKAGING / "coverage-app.desktop").read_text(encoding="utf-8")
    assert desktop.startswith("[Desktop Entry]") and "Exec=coverage-app" in desktop
    for script in ("build.sh", "smoke.sh", "install-linux.sh"):
        result = subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_runtime_hook_sets_bundled_geodata_and_numba_cache(tmp_path):
    bundle = tmp_path / "bundle"
    for rel in ("pyogrio/gdal_data", "pyogrio/proj_data", "rasterio/gdal_data", "rasterio/proj_data"):
        (bundle / rel).mkdir(parents=True)
    (bundle / "numba_cache_key.txt").write_text("0123abcd\n", encoding="ascii")
    home = tmp_path / "home"
    code = (f"import sys, os; sys._MEIPASS = {str(bundle)!r}; "
            f"exec(compile(open({str(PACKAGING / 'rthook_geodata.py')!r}).read(), 'rthook', 'exec')); "
            "print('\\n'.join(os.environ.get(k, '') for k in "
            "('GDAL_DATA', 'PROJ_DATA', 'PROJ_LIB', 'PROJ_NETWORK', 'NUMBA_CACHE_DIR')))")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "PROJ_LIB": "/elsewhere/proj",
           "GDAL_DATA": "/elsewhere/gdal", "SYSTEMROOT": os.environ.get("SYSTEMROOT", "")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    gdal, proj, proj_lib, network, cache = out.stdout.splitlines()
    assert Path(gdal) == bundle / "pyogrio" / "gdal_data"
    assert Path(proj) == Path(proj_lib) == bundle / "pyogrio" / "proj_data"
    assert network == "OFF"
    assert Path(cache).is_dir() and not Path(cache).is_relative_to(bundle)
    if sys.platform.startswith("linux"):
        assert Path(cache) == home / ".cache" / "coverage-app" / "numba" / "0123abcd"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux launcher")
def test_install_linux_refuses_a_missing_bundle(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    result = subprocess.run(["bash", str(PACKAGING / "install-linux.sh"), str(tmp_path / "nothing")],
                            env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert not (tmp_path / ".local" / "opt" / "coverage-app").exists()


def test_spec_collects_every_module_with_numba_kernels_as_source():
    """Run the spec's own collection loop: every module that defines a jitted function (with
    ``jit_kernel`` or ``njit``/``jit`` with cache=True) must be collected as a .py file, or a
    frozen app loses numba's on-disk cache for it and compiles its kernels on every start."""
    source = spec_source()
    start = source.index("numba_modules = {}")
    end = source.index("print(", start)
    scope = {"ROOT": ROOT, "Path": Path}
    exec(source[start:end], scope)
    collected = set(scope["numba_modules"])

    jitted = set()
    for path in (ROOT / "coverage_app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                for dec in node.decorator_list:
                    target = dec.func if isinstance(dec, ast.Call) else dec
                    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                    if name in ("jit_kernel", "njit", "jit"):
                        jitted.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    assert {"coverage_app.core.travel.kernels", "coverage_app.core.travel.friction",
            "coverage_app.core.analysis.catchments"} <= jitted
    assert jitted <= collected, f"jitted modules the spec would put in the PYZ: {sorted(jitted - collected)}"
