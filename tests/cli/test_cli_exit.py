"""The console-script path (:func:`coverage_app.__main__.console_main`): garbage collections
held during the start-up imports, and the fast exit after a command (``os._exit``, no teardown).
Real processes: every output of a command run that way is read back and compared with the same
command run in-process, and the exit codes are the command's."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import rasterio

REPO = Path(__file__).resolve().parents[2]


def console(*args, **kw):
    """``python -m coverage_app ARGS`` in a fresh interpreter (what ``coverage-app`` runs)."""
    return subprocess.run([sys.executable, "-m", "coverage_app", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, **kw)


def test_console_script_is_console_main():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["coverage-app"] == "coverage_app.__main__:console_main"
    from coverage_app.__main__ import console_main

    assert callable(console_main)


def test_analyse_outputs_are_complete_after_the_fast_exit(tmp_path):
    """Every file the console-script run wrote reads back whole and equals the in-process run's;
    the summary printed to a pipe (block-buffered stdout) is all there."""
    from coverage_app.cli import main

    fast, slow = tmp_path / "fast", tmp_path / "slow"
    common = ["--cell-size", "2000", "--format", "both"]
    run = console("analyse", "--out", fast, *common)
    assert run.returncode == 0, run.stderr
    assert main(["analyse", "--out", str(slow), "--quiet", *common]) == 0
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith("analysis ") and last.endswith(f"files to {fast}"), run.stdout
    names = sorted(p.relative_to(slow).as_posix() for p in slow.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(fast).as_posix() for p in fast.rglob("*") if p.is_file())
    assert int(last.split(" wrote ")[1].split()[0]) >= 1
    for name in names:
        a, b = fast / name, slow / name
        if name.endswith(".tif"):
            with rasterio.open(a) as ra, rasterio.open(b) as rb:
                assert np.array_equal(ra.read(), rb.read()), name
        elif name.endswith((".gpkg", ".shp")):
            for layer, _ in pyogrio.list_layers(a):
                fa, fb = pyogrio.read_dataframe(a, layer=layer), pyogrio.read_dataframe(b, layer=layer)
                assert len(fa) == len(fb) and list(fa.columns) == list(fb.columns), (name, layer)
                if "geometry" in fa:
                    assert fa.geometry.to_wkb().tolist() == fb.geometry.to_wkb().tolist(), (name, layer)
        elif name.endswith(".csv"):
            pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b))
        elif name.endswith(".json"):
            assert json.loads(a.read_text()).keys() == json.loads(b.read_text()).keys()
        else:
            assert a.stat().st_size == b.stat().st_size, name


def test_exit_codes_are_kept():
    bad = console("validate", REPO / "no-such-layer.gpkg")
    assert bad.returncode == 2 and "file not found" in bad.stdout, (bad.returncode, bad.stdout)
    assert console("--version").returncode == 0  # argparse's SystemExit path
    assert console("analyse").returncode == 2  # argparse: --out missing


PROBE = r"""
import atexit, gc, os, sys, threading, time
from coverage_app.core import startup
returned = threading.Event()
fast_exit = startup.fast_exit
def exit_now(code):  # the command has returned
    returned.set()
    fast_exit(code)
startup.fast_exit = exit_now
def late_writer():  # a non-daemon thread still writing when the command returns
    returned.wait()
    time.sleep(0.3)
    with open(os.environ["LATE_FILE"], "w") as fh:
        fh.write("complete")
threading.Thread(target=late_writer).start()
class Teardown:
    def __del__(self):
        print("teardown ran", flush=True)
keep = Teardown()  # freed only if the interpreter tears its modules down
atexit.register(lambda: print("atexit ran"))  # block-buffered: fast_exit must flush after the handlers
sys.argv = ["coverage-app"] + sys.argv[1:]
from coverage_app.__main__ import console_main
console_main()
print("not reached")
"""


def test_fast_exit_runs_atexit_waits_for_threads_and_skips_teardown(tmp_path):
    import os

    late = tmp_path / "late.txt"
    env = {**os.environ, "LATE_FILE": str(late)}
    run = subprocess.run([sys.executable, "-c", PROBE, "info"], cwd=REPO, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert late.read_text() == "complete"
    assert "Project: Sagaing Region" in run.stdout
    assert run.stdout.rstrip().endswith("atexit ran")
    assert "teardown ran" not in run.stdout and "not reached" not in run.stdout
    bad = subprocess.run([sys.executable, "-c", PROBE, "validate", "missing.gpkg"], cwd=REPO, capture_output=True,
                         text=True, env=env)
    assert bad.returncode == 2 and "atexit ran" in bad.stdout


GC_PROBE = r"""
import gc, sys
from coverage_app.core import startup
runs = []
gc.callbacks.append(lambda phase, info: phase == "start" and runs.append(info["generation"]))
assert not startup.imports_done() and gc.get_freeze_count() == 0  # nothing held: a no-op
startup.hold()
assert startup.held() and not gc.isenabled()
import pandas, geopandas, shapely, rasterio  # the heavy start-up imports
held_runs = len(runs)
assert startup.imports_done(resume=False) and startup.held() and not gc.isenabled()  # the app's first paint
import numba  # the app's warm-up imports
assert gc.get_freeze_count() > 0 and len(runs) == held_runs
assert startup.imports_done() and not startup.held()
frozen = gc.get_freeze_count()
junk = [[i] for i in range(10_000)]  # collections run again, and not through the frozen objects
print(held_runs, frozen > 10**4, gc.isenabled(), len(runs) > held_runs)
"""


def test_hold_stops_collections_until_imports_done_freezes_them():
    run = subprocess.run([sys.executable, "-c", GC_PROBE], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "True", "True", "True"]


def _python(code: str, **env) -> str:
    import os

    environ = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"} | env
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env=environ)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_console_script_keeps_numpy_arrays_out_of_huge_pages_unless_the_user_chose():
    """console_main sets NUMPY_MADVISE_HUGEPAGE=0 before NumPy is imported (startup.small_pages_for_numpy:
    huge-page faults slowed the first search of a process by ~50% on the benchmark machine); a value
    the user set is kept, and NumPy follows it."""
    shown = ("import os, sys, coverage_app.__main__ as m\n"
             "m.main = lambda argv: print(os.environ.get('NUMPY_MADVISE_HUGEPAGE'), 'numpy' in sys.modules) or 0\n"
             "m.console_main()\n")
    assert _python(shown) == "0 False"
    assert _python(shown, NUMPY_MADVISE_HUGEPAGE="1") == "1 False"
    numpy_flag = ("from coverage_app.core import startup\nstartup.small_pages_for_numpy()\nimport numpy\n"
                  "from numpy._core.multiarray import _set_madvise_hugepage\nprint(_set_madvise_hugepage(False))\n")
    assert _python(numpy_flag) == "False"
    assert _python(numpy_flag, NUMPY_MADVISE_HUGEPAGE="1") == "True"
