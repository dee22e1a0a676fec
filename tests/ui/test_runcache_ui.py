"""The app with the cache of earlier runs on (as ``run_app`` starts it): opening the project again
reads the checked layers back and a run the friction surface, with the same numbers as without it."""

import numpy as np

from coverage_app.core import runcache
from coverage_app.core.data import model
from coverage_app.core.data.project import bundled_project_path
from tests.ui.conftest import run_analysis, wait_idle


def reopen(qtbot, window):
    with qtbot.waitSignal(window.projects.data_ready, timeout=30000):
        assert window.projects.open_project(str(bundled_project_path()))
    wait_idle(qtbot, window)


def test_opening_again_and_running_again_read_the_first_ones_work_back(window, qtbot, tmp_path, monkeypatch):
    from coverage_app.ui import project_controller

    # the app's own loader, not the UI tests' per-session copy of the bundled layers (conftest)
    monkeypatch.setattr(project_controller, "load_project_data", model.load_project_data)
    monkeypatch.setenv("COVERAGE_APP_CACHE_DIR", str(tmp_path / "cache"))
    before = runcache.enable(False)
    try:
        reopen(qtbot, window)
        plain = run_analysis(qtbot, window)
        plain_layers = {name: layer.data for name, layer in window.data.layers.items()}
        assert not (tmp_path / "cache").exists()  # off: nothing written
        runcache.enable(True)
        reopen(qtbot, window)  # checked and kept
        assert "friction" in run_analysis(qtbot, window).timings_s  # built and kept
        loads = []
        real = model.load_layer
        monkeypatch.setattr(model, "load_layer", lambda *a, **k: loads.append(a[1]) or real(*a, **k))
        reopen(qtbot, window)
        assert set(loads) == {"facilities"}  # every other layer read back
        result = run_analysis(qtbot, window)
    finally:
        runcache.enable(before)
    assert "friction_cached" in result.timings_s
    assert window.data.layers.keys() == plain_layers.keys()
    for name, frame in plain_layers.items():
        assert window.data.layers[name].data.equals(frame), name
    assert result.headline() == plain.headline()
    for tier in ("primary", "secondary"):
        assert np.array_equal(result.tiers[tier].minutes, plain.tiers[tier].minutes, equal_nan=True)
    assert result.villages.drop(columns="geometry").equals(plain.villages.drop(columns="geometry"))
