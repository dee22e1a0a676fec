"""App start (issue 14): nothing heavy (numba, scipy, dask, cryptography, matplotlib) is
imported before the first painted map; the engine warm-up starts after that paint and still
runs. Each case is a fresh interpreter (the test session has imported everything already)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

_CHILD = r"""
import os, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from coverage_app.ui import settings
settings.use_settings_file(os.environ["TEST_SETTINGS"])
from coverage_app.ui.app import create_window
from coverage_app.ui.project_controller import ProjectController
# what is loaded when the first painted map starts the warm-up, taken before the warm-up's thread
# can import anything; the no-paint fallback (a loaded machine may paint later than it) is held off
ProjectController.WARM_UP_FALLBACK_MS = 60000
HEAVY = ("numba", "scipy", "dask", "distributed", "cryptography", "matplotlib", "skimage")
state = {}
real_map_painted = ProjectController.map_painted
def map_painted(self, *args):
    if self._warm_pending and "heavy" not in state:
        state["heavy"] = [m for m in HEAVY if m in sys.modules]
    return real_map_painted(self, *args)
ProjectController.map_painted = map_painted
window = create_window(["--no-restore"])
window.resize(1200, 800)
window.show()
def poll():
    if "heavy" in state and not any(t.group == "warmup" for t in window.tasks.running) \
            and window.projects._warmed:
        app.quit()
timer = QTimer(); timer.timeout.connect(poll); timer.start(20)
QTimer.singleShot(60000, app.quit)
app.exec()
window.dirty = False
window.close()
window.tasks.shutdown(20000)
print("HEAVY_AT_PAINT", ",".join(state.get("heavy", ["no-paint"])) or "-")
print("WARMED", window.projects._warmed, "numba" in sys.modules)
"""


def _run(code: str, tmp_path) -> str:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", COVERAGE_APP_DATA_DIR=str(tmp_path / "data"),
               TEST_SETTINGS=str(tmp_path / "settings.ini"), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow
def test_first_paint_before_heavy_imports_then_engine_warms(tmp_path):
    out = _run(_CHILD, tmp_path)
    heavy = next(line.split()[1] for line in out.splitlines() if line.startswith("HEAVY_AT_PAINT"))
    assert heavy == "-", f"imported before the first painted map: {heavy}"
    # the warm-up was not skipped: it ran after the paint and loaded the engine
    assert "WARMED True True" in out


def test_deferred_boto3_survives_inspect_probe(tmp_path):
    """PySide6 reads every module imported after it (inspect.getsource -> inspect.unwrap, which
    asks for ``__wrapped__``); that probe must not import the real boto3 (0.1-0.5 s)."""
    pytest.importorskip("boto3")
    code = ("import sys, inspect, coverage_app\n"
            "m = sys.modules['boto3']\n"
            "assert inspect.unwrap(m) is m\n"
            "print('LOADED', 'boto3.session' in sys.modules or 'botocore' in sys.modules)\n"
            "print('SESSION', m.Session.__name__)\n")  # a real use still gets the real boto3
    out = _run(code, tmp_path)
    assert "LOADED False" in out
    assert "SESSION Session" in out


def test_unpainted_window_warms_after_the_fallback_and_a_closed_one_does_not(qtbot, monkeypatch):
    """No paint (a hidden window): the engine still warms, after WARM_UP_FALLBACK_MS; a window
    closed before that starts no task on its stopped runner."""
    from coverage_app.ui.app import create_window
    from coverage_app.ui.project_controller import ProjectController

    monkeypatch.setattr(ProjectController, "WARM_UP_FALLBACK_MS", 300)
    started = []
    real = ProjectController.map_painted

    def spy(self, *a):
        started.append(self._warm_pending)
        return real(self, *a)

    monkeypatch.setattr(ProjectController, "map_painted", spy)
    win = create_window(["--no-restore"])  # never shown: no paint
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: win.data is not None, timeout=30000)
    qtbot.waitUntil(lambda: win.projects._warmed, timeout=30000)  # numba loads in the background: slow on a loaded host
    assert started and started[0] is True
    win.dirty = False
    win.close()
    win.tasks.shutdown(20000)

    win2 = create_window(["--no-restore"])
    qtbot.addWidget(win2)
    qtbot.waitUntil(lambda: win2.data is not None, timeout=30000)
    assert win2.projects._warm_pending and not win2.projects._warmed
    win2.dirty = False
    win2.close()
    qtbot.wait(600)  # past the fallback
    assert not win2.projects._warmed and not win2.tasks.running


def test_geodata_stack_is_imported_before_pyside6_so_its_import_hook_skips_it(tmp_path):
    """ui/app.py imports geopandas, pyogrio and rasterio before PySide6: PySide6's import hook reads
    the source of every module imported after PySide6 (0.2-0.3 s of the start for these ~550); a
    package's top module imported by name again later is read once, its submodules must not be."""
    code = ("import sys\nimport coverage_app.ui.app\nfrom coverage_app.ui import main_window\n"
            "order = list(sys.modules)\n"
            "print('ORDER', all(order.index(m) < order.index('PySide6') for m in "
            "('pandas', 'geopandas', 'shapely', 'pyproj', 'rasterio', 'pyogrio')))\n"
            "feature = sys.modules.get('shibokensupport.feature')\n"
            "seen = getattr(feature, 'pyside_feature_dict', None)\n"
            "print('SCANNED', '-' if seen is None else sorted({k.split('.')[0] for k in seen if '.' in k} & "
            "{'geopandas', 'shapely', 'pyproj', 'rasterio', 'pyogrio', 'numpy'}) or 'none')\n")
    out = _run(code, tmp_path)
    assert "ORDER True" in out
    assert "SCANNED none" in out or "SCANNED -" in out  # "-": a PySide6 without that hook
