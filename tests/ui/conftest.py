"""Fixtures for the desktop app tests: isolated settings and data folder, captured dialogs,
and the real main window on the bundled Sagaing project (offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from coverage_app.ui import dialogs, settings  # noqa: E402

FAST_CELL_M = 2000.0  # coarse grid: analysis runs take well under a second


_LOADED: dict = {}


@pytest.fixture(autouse=True)
def reuse_bundled_layers(monkeypatch):
    """Read the bundled project's layer files once per session (the window's loader is
    still called, in its worker thread): each window gets its own ProjectData over shallow
    copies of the cached layers, so a test's changes never reach another test."""
    import copy

    from coverage_app.core.data import model
    from coverage_app.ui import project_controller

    real = model.load_project_data

    def refs(project):
        # everything that decides how a layer loads: a test that maps a field away or points a
        # layer at another file must not leave its load for the next test of the same worker
        return [repr((r.name, r.path, r.role, r.layer, r.mapping, r.convert_zawgyi, r.options))
                for r in project.layers]

    def copied(project, data):
        # the cache and every window hold their own ProjectData, layers and frames: a window that
        # removes a layer or edits a frame in place (the first test of a worker got the cached
        # object itself, and 10 later tests then found no facilities layer) changes only its copy
        layers = {}
        for name, layer in data.layers.items():
            layers[name] = copy.copy(layer)
            layers[name].data = layer.data.copy()
        rasters = {r.name: r for r in project.layers if r.name in data.rasters}
        return model.ProjectData(project, layers, rasters, list(data.problems))

    def load(project, feedback=None):
        key = str(project.path.resolve()) if project.path else None
        cached = _LOADED.get(key)
        if key is None or cached is None or refs(project) != cached[0]:
            data = real(project, feedback=feedback)
            if key is not None:
                _LOADED[key] = (refs(project), copied(project, data))
            return data
        return copied(project, cached[1])

    monkeypatch.setattr(project_controller, "load_project_data", load)


@pytest.fixture(autouse=True)
def isolated_app_state(tmp_path, monkeypatch):
    """Settings in a temp INI file, autosave/log in a temp folder, dialogs recorded."""
    data_dir = tmp_path / "appdata"
    monkeypatch.setenv("COVERAGE_APP_DATA_DIR", str(data_dir))
    settings.use_settings_file(tmp_path / "settings.ini")
    dialogs.shown.clear()
    # blocking questions: "no" (no recovery, no removal) unless a test says otherwise
    monkeypatch.setattr(dialogs, "ask", lambda *a, **k: False)
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a, **k: "discard")
    yield data_dir
    dialogs.close_all()
    settings.use_settings_file(None)


def errors_shown():
    return [s for s in dialogs.shown if s.kind == "error"]


def make_window(qtbot, argv=("--no-restore",), wait=True):
    from coverage_app.ui.app import create_window

    window = create_window(list(argv))
    qtbot.addWidget(window)
    window.resize(1280, 860)
    window.show()
    if wait:
        with qtbot.waitSignal(window.project_loaded, timeout=30000):
            pass
    return window


@pytest.fixture
def window(qtbot):
    from coverage_app.ui.app import create_window

    win = create_window(["--no-restore"])
    qtbot.addWidget(win)
    win.resize(1280, 860)
    win.show()
    qtbot.waitUntil(lambda: win.data is not None, timeout=30000)
    yield win
    win.dirty = False
    win.close()
    win.tasks.shutdown(20000)


def wait_idle(qtbot, win, timeout=60000):
    """Wait until every task has finished and its GUI callback has run."""
    qtbot.waitUntil(lambda: not [t for t in win.tasks.running if t.group != "warmup"], timeout=timeout)


def run_analysis(qtbot, win, cell=FAST_CELL_M):
    win.analysis_panel.cell.setValue(cell)
    with qtbot.waitSignal(win.result_shown, timeout=60000):
        win.analysis.run_analysis()
    wait_idle(qtbot, win)
    return win.result
