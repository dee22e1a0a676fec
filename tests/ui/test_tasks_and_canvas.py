"""The task runner (threads, progress, cancel, errors), the canvas's drawing primitives,
and smaller window features: drop files, Zawgyi offer, raster layers, removing layers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage
from PySide6.QtWidgets import QApplication

from coverage_app.core.errors import InputError
from coverage_app.core.feedback import Cancelled, report
from coverage_app.ui import dialogs, render
from coverage_app.ui.tasks import TaskRunner

from .conftest import errors_shown, wait_idle


@pytest.fixture
def runner(qapp):
    r = TaskRunner()
    yield r
    r.shutdown(10000)


def test_task_reports_progress_and_result_on_the_gui_thread(qtbot, runner):
    gui = threading.get_ident()
    seen = {}

    def work(n, feedback=None):
        seen["worker"] = threading.get_ident()
        for i in range(n):
            report(feedback, i / n, f"step {i}")
            time.sleep(0.01)
        return n * 2

    progress = []
    done = []
    task = runner.start(work, 10, label="Counting", on_done=lambda r: done.append((r, threading.get_ident())))
    task.progressed.connect(lambda f, m: progress.append((f, m)))
    with qtbot.waitSignal(task.ended, timeout=10000) as blocker:
        pass
    assert blocker.args == ["done"]
    assert done == [(20, gui)] and seen["worker"] != gui
    assert progress and progress[-1][1].startswith("step")
    assert not runner.running


def test_task_cancel_and_failure(qtbot, runner):
    started = threading.Event()

    def slow(feedback=None):
        started.set()
        for _ in range(1000):
            report(feedback, 0.5, "working")
            time.sleep(0.005)
        return "finished"

    cancelled = []
    task = runner.start(slow, on_cancelled=lambda: cancelled.append(True), on_done=lambda r: cancelled.append(r))
    started.wait(5)
    task.cancel()
    with qtbot.waitSignal(task.ended, timeout=10000) as blocker:
        pass
    assert blocker.args == ["cancelled"] and cancelled == [True]

    def broken(feedback=None):
        raise InputError("villages.gpkg: the layer is empty")

    errors = []
    task = runner.start(broken, on_error=errors.append)
    with qtbot.waitSignal(task.ended, timeout=10000) as blocker:
        pass
    assert blocker.args == ["failed"]
    assert isinstance(errors[0], InputError) and "InputError" in task.error_text

    # a group's new task replaces (cancels) the running one
    first = runner.start(slow, group="analysis")
    second = runner.start(lambda feedback=None: "quick", group="analysis", replace=True)
    with qtbot.waitSignal(second.ended, timeout=10000):
        pass
    qtbot.waitUntil(lambda: not first.is_running(), timeout=10000)
    assert first.state == "cancelled" and second.state == "done"


def test_pyproj_in_worker_threads_again_and_again(qtbot, runner):
    """pyproj keeps a per-thread context: reused worker threads must not crash it."""
    from pyproj import CRS, Transformer

    def project(feedback=None):
        return Transformer.from_crs(CRS(4326), CRS(32646), always_xy=True).transform(95.0, 22.0)

    for _ in range(8):
        task = runner.start(project)
        with qtbot.waitSignal(task.ended, timeout=10000):
            pass
        assert task.state == "done" and 600_000 < task.result[0] < 800_000


def test_many_qt_calls_do_not_exhaust_none():
    """PySide6 6.12 on Python 3.11 drops a reference to None per void call (see ui/__init__)."""
    code = ("import coverage_app.ui\n"
            "from PySide6.QtGui import QGuiApplication, QPainterPath\n"
            "app = QGuiApplication([])\n"
            "p = QPainterPath()\n"
            "for i in range(300000):\n"
            "    p.moveTo(1.0, 2.0)\n"
            "print('alive')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0 and "alive" in out.stdout, out.stderr[-500:]


def test_sprite_stamping_draws_antialiased_markers(qapp):
    from coverage_app.core.outputs.symbology import Style

    image = QImage(40, 30, QImage.Format_ARGB32_Premultiplied)
    image.fill(QColor("#ffffff"))
    pixels = np.frombuffer(image.bits(), np.uint32).reshape(30, 40)
    spr = render.sprite(Style(fill="#ff0000", stroke="#000000", stroke_width=0.5), 8.0, 1.0)
    render.stamp(pixels, np.array([10, 39, -30]), np.array([10, 29, 5]), spr)
    centre = QColor(image.pixel(10, 10))
    assert (centre.red(), centre.green(), centre.blue()) == (255, 0, 0)
    assert QColor(image.pixel(20, 20)).name() == "#ffffff"
    assert QColor(image.pixel(39, 29)).red() == 255 and QColor(image.pixel(39, 29)).green() < 50  # clipped corner
    edge = QColor(image.pixel(10, 14))  # the antialiased outline
    assert edge.name() != "#ffffff"


def test_paths_from_geometries_match_the_shapes(qapp):
    import shapely

    square = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], holes=[[(4, 4), (6, 4), (6, 6), (4, 6)]])
    path = render.path_from_geometries([square, None], closed=True)
    assert path.elementCount() == 10
    assert path.contains(QPointF(2, 2)) and not path.contains(QPointF(5, 5))  # odd-even: the hole
    line = render.path_from_geometries([shapely.LineString([(0, 0), (3, 4)])], closed=False)
    assert line.elementCount() == 2 and line.boundingRect().width() == 3


def test_dropping_files_on_the_map_adds_them(window, qtbot, monkeypatch, tmp_path, bundled_gpkg):
    import geopandas as gpd

    gpd.read_file(bundled_gpkg, layer="towns").to_file(tmp_path / "towns.geojson")
    monkeypatch.setattr(dialogs, "run_dialog", lambda dialog: True)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "towns.geojson"))])
    event = QDropEvent(QPointF(100, 100), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    dropped = []
    window.canvas.files_dropped.connect(dropped.append)
    with qtbot.waitSignal(window.layer_added, timeout=20000) as blocker:
        window.canvas.dropEvent(event)  # (Qt delivers a Drop only after a real drag entered)
        assert dropped
    assert blocker.args[0].title == "towns" and window.stack.layers[0] is blocker.args[0]


def test_zawgyi_offer_converts_the_layer(window, qtbot, monkeypatch, tmp_path, bundled_gpkg):
    import geopandas as gpd
    from PySide6.QtWidgets import QMessageBox

    from coverage_app.core.data.zawgyi import to_unicode

    zawgyi = "\u1031\u1014\u107e\u1000\u102c"  # "Nay Kyar" typed in Zawgyi
    villages = gpd.read_file(bundled_gpkg, layer="villages").head(20)
    villages.loc[villages.index[:3], "name_my"] = zawgyi
    path = tmp_path / "zawgyi_villages.gpkg"
    villages.to_file(path, layer="villages")
    monkeypatch.setattr(dialogs, "run_dialog", lambda dialog: True)
    with qtbot.waitSignal(window.layer_added, timeout=20000) as blocker:
        window.layers.add_layer_files([str(path)])
    layer = blocker.args[0]
    box = getattr(window.layers, "zawgyi_box", None)
    assert box is not None and "Zawgyi" in box.text()
    ref = layer.ref
    assert not ref.convert_zawgyi
    box.done(QMessageBox.Yes)
    assert ref.convert_zawgyi and window.dirty
    assert not [p for p in window.data.layers[ref.name].problems if p.fix == "zawgyi"]
    assert set(layer.frame["name_my"].head(3)) == {to_unicode(zawgyi)}


def test_raster_layer_loads_when_shown_and_can_be_removed(window, qtbot, monkeypatch):
    landcover = window.stack.by_title("Land cover sample (Sentinel-2, 10 m)")
    assert landcover.pending and not landcover.visible
    window.layer_panel.set_layer_visible(landcover, True)
    qtbot.waitUntil(lambda: not landcover.pending, timeout=30000)
    assert landcover.values.size > 0 and np.isfinite(landcover.values).any()
    window.map_tools.zoom_to_layer(landcover)
    window.canvas.repaint()
    x, y = window.canvas.to_map(window.canvas.width() / 2, window.canvas.height() / 2)
    hits = window.map_tools.hits_at(x, y, roles=("landcover",))
    assert hits and hits[0][0] is landcover
    monkeypatch.setattr(dialogs, "ask", lambda *a, **k: True)
    window.layers.remove_layer(landcover)
    assert landcover not in window.stack.layers
    assert all(r.name != landcover.title for r in window.project.layers)
    assert not errors_shown()
