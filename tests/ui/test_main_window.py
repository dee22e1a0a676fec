"""The real main window on the bundled Sagaing project: loading, layers, map navigation,
identify, bad input, project files, autosave and recovery, the crash guard."""

from __future__ import annotations

import json
import sys

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from coverage_app.core.data.project import load_project
from coverage_app.ui import dialogs
from coverage_app.ui.maplayers import VectorLayer

from .conftest import errors_shown, make_window, wait_idle


def test_window_opens_on_the_bundled_project(window, bundled_project_path):
    project = load_project(bundled_project_path)
    titles = [layer.title for layer in window.stack]
    assert titles == [ref.name for ref in project.layers]
    assert len(window.stack) == 11
    assert window.project.path.resolve() == bundled_project_path.resolve()
    villages = window.stack.by_title("Villages")
    assert isinstance(villages, VectorLayer) and villages.count() == 6829 and villages.geometry == "point"
    assert window.canvas.crs.to_epsg() == 32646
    # a map was painted, the scale is shown, nothing failed
    window.canvas.repaint()
    assert window.canvas.render_times and window.canvas.last_render_ms < 2000
    assert window.scale_label.text().startswith("1:")
    assert not errors_shown()
    # the layer panel lists the same layers, top first, with their visibility
    tree = window.layer_panel.tree
    assert tree.topLevelItemCount() == 11
    assert tree.topLevelItem(0).text(0) == "Conflict events (UCDP 2021-23)"
    assert tree.topLevelItem(0).checkState(0) == Qt.Unchecked
    assert tree.topLevelItem(1).checkState(0) == Qt.Checked


def test_toggle_and_reorder_layers(window):
    roads = window.stack.by_title("Roads")
    before = window.stack.version
    window.layer_panel.set_layer_visible(roads, False)
    assert not roads.visible and roads.ref.visible is False
    assert window.stack.version > before and window.dirty
    window.layer_panel.set_layer_visible(roads, True)
    assert roads.visible
    # move Townships (bottom) one step up with the panel's button
    townships = window.stack.by_title("Townships")
    window.layer_panel.select(townships)
    index = window.stack.index(townships)
    window.layer_panel.buttons["up"].click()
    assert window.stack.index(townships) == index - 1
    assert [r.name for r in window.project.layers].index("Townships") == index - 1
    # a drag and drop in the tree reports the new order: apply the reversed order
    keys = list(reversed(window.layer_panel.tree.keys()))
    window.layer_panel.tree.order_changed.emit(keys)
    assert [l.key for l in window.stack] == keys
    assert window.project.layers[0].name == window.stack.layers[0].title
    assert window.layer_panel.tree.topLevelItem(0).text(0) == window.stack.layers[0].title


def _send_mouse(widget, kind, pos, button=Qt.LeftButton, buttons=Qt.LeftButton):
    local = QPointF(pos)
    event = QMouseEvent(kind, local, widget.mapToGlobal(local), button, buttons, Qt.NoModifier)
    QApplication.sendEvent(widget, event)


def test_pan_and_zoom_change_the_view(window, qtbot):
    canvas = window.canvas
    cx, cy, scale = canvas.view_state()
    centre = QPoint(canvas.width() // 2, canvas.height() // 2)
    _send_mouse(canvas, QEvent.MouseButtonPress, centre)
    _send_mouse(canvas, QEvent.MouseMove, centre + QPoint(40, 20), Qt.NoButton)
    _send_mouse(canvas, QEvent.MouseMove, centre + QPoint(120, 60), Qt.NoButton)
    _send_mouse(canvas, QEvent.MouseButtonRelease, centre + QPoint(120, 60), Qt.LeftButton, Qt.NoButton)
    nx, ny, nscale = canvas.view_state()
    assert nscale == scale
    assert np.isclose(nx, cx - 120 * scale) and np.isclose(ny, cy + 60 * scale)
    assert "°" in window.coords_label.text() and "N" in window.coords_label.text()
    # wheel: zoom in around the cursor, the map point under it stays put
    anchor = QPointF(200, 150)
    before = canvas.to_map(anchor.x(), anchor.y())
    label = window.scale_label.text()
    wheel = QWheelEvent(anchor, canvas.mapToGlobal(anchor), QPoint(0, 0), QPoint(0, 240), Qt.NoButton,
                        Qt.NoModifier, Qt.NoScrollPhase, False)
    QApplication.sendEvent(canvas, wheel)
    assert canvas.scale < nscale / 1.5
    after = canvas.to_map(anchor.x(), anchor.y())
    assert np.allclose(before, after, atol=canvas.scale)
    assert window.scale_label.text() != label
    canvas.repaint()  # renders at the new view
    # full extent and zoom to layer
    window.act_zoom_full.trigger()
    assert canvas.scale > nscale / 1.5
    window.map_tools.zoom_to_layer(window.stack.by_title("Health facilities"))
    minx, miny, maxx, maxy = window.stack.by_title("Health facilities").extent()
    vx0, vy0, vx1, vy1 = canvas.visible_extent()
    assert vx0 <= minx and vy0 <= miny and vx1 >= maxx and vy1 >= maxy


def _facility_pos(window, row=0):
    layer = window.stack.by_title("Health facilities")
    x, y = window.canvas.to_screen(layer.xs[row], layer.ys[row])
    return layer, QPoint(int(round(x)), int(round(y)))


def test_identify_a_facility_by_clicking(window, qtbot):
    layer, _ = _facility_pos(window)
    window.map_tools.zoom_to_layer(layer)
    window.canvas.zoom_by(4, QPointF(*window.canvas.to_screen(layer.xs[10], layer.ys[10])))
    _, pos = _facility_pos(window, 10)
    qtbot.mouseClick(window.canvas, Qt.LeftButton, pos=pos)
    hits = window.identify_panel.hits
    index = next(i for i, (hit_layer, _row) in enumerate(hits) if hit_layer is layer)
    values = window.identify_panel.values(index)
    assert values["fac_id"] == layer.frame["fac_id"].iloc[10]
    tree = window.identify_panel.tree
    assert tree.topLevelItem(index).text(0) == "Health facilities"
    assert tree.topLevelItem(index).text(1) == layer.frame["name"].iloc[10]
    assert window.canvas.highlight  # the feature is highlighted
    window.act_zoom_selection.trigger()
    assert window.canvas.scale < 50


def test_corrupt_file_shows_the_error_and_the_app_carries_on(window, qtbot, tmp_path):
    bad = tmp_path / "broken.gpkg"
    bad.write_bytes(b"this is not a geopackage\x00\x01" * 100)
    count = len(window.stack)
    window.layers.add_layer_files([str(bad)])
    qtbot.waitUntil(lambda: bool(errors_shown()), timeout=20000)
    error = errors_shown()[-1]
    assert "broken.gpkg" in error.text and "cannot be read" in error.text
    assert error.box is not None and error.box.isVisible()
    assert len(window.stack) == count and window.data is not None
    window.canvas.repaint()
    # a damaged project file: message, and the open project stays
    damaged = tmp_path / "damaged.covproj"
    damaged.write_text("{ not json", encoding="utf-8")
    name = window.project.name
    assert window.projects.open_project(damaged) is False
    assert "damaged" in errors_shown()[-1].text
    assert window.project.name == name


def test_add_layer_with_field_mapping(window, qtbot, tmp_path, monkeypatch, bundled_gpkg):
    import geopandas as gpd

    facilities = gpd.read_file(bundled_gpkg, layer="facilities").head(12)
    facilities = facilities.rename(columns={"fac_id": "HF_ID", "name": "HF_NAME", "level": "HF_KIND"})
    path = tmp_path / "clinics.gpkg"
    facilities.to_file(path, layer="clinics")

    def accept(dialog):
        # the role cannot be guessed ('HF_KIND' is no known name for the level): choose it
        assert dialog.role_combo.currentData() == "reference"
        dialog.set_role("facilities")
        mapping = dialog.mapping()  # pre-filled from the names it knows
        assert mapping["fac_id"] == "HF_ID" and mapping["name"] == "HF_NAME" and "level" not in mapping
        dialog.set_field("level", "HF_KIND")
        return True

    monkeypatch.setattr(dialogs, "run_dialog", accept)
    with qtbot.waitSignal(window.layer_added, timeout=20000) as blocker:
        window.layers.add_layer_files([str(path)])
    layer = blocker.args[0]
    assert window.stack.layers[0] is layer and layer.count() == 12
    assert window.project.layers[0].mapping["level"] == "HF_KIND"
    assert window.dirty


def test_save_and_open_round_trip(window, qtbot, tmp_path, monkeypatch):
    target = tmp_path / "mine.covproj"
    window.analysis_panel.cell.setValue(500)
    window.layer_panel.set_layer_visible(window.stack.by_title("Roads"), False)
    monkeypatch.setattr(dialogs, "get_save_file", lambda *a, **k: str(target))
    assert window.projects.save()  # the bundled project is never overwritten: Save asks where
    assert target.exists() and not window.dirty
    saved = json.loads(target.read_text(encoding="utf-8"))
    assert saved["analysis"]["cell_size_m"] == 500
    window.projects.open_project(target)
    qtbot.waitUntil(lambda: window.data is not None, timeout=30000)
    assert window.project.params.cell_size_m == 500
    assert not window.stack.by_title("Roads").visible
    assert window.analysis_panel.cell.value() == 500
    from coverage_app.ui import settings

    assert settings.recent_projects()[0] == str(target.resolve())


def test_autosave_and_recovery_after_a_crash(qtbot, monkeypatch, isolated_app_state):
    first = make_window(qtbot, wait=False)
    qtbot.waitUntil(lambda: first.data is not None, timeout=30000)
    first.analysis_panel.primary.setValue(45)
    assert first.dirty
    path = first.autosave.save_now()
    assert path is not None and path.exists()
    assert first.autosave.lock_path.exists()
    # simulate a crash: the session never ends cleanly (no closeEvent)
    first.tasks.shutdown(20000)
    first.autosave.timer.stop()
    first.autosave.debounce.stop()
    asked = []
    monkeypatch.setattr(dialogs, "ask", lambda parent, title, text, **k: asked.append(title) or True)
    second = make_window(qtbot, wait=False)
    qtbot.waitUntil(lambda: second.data is not None, timeout=30000)
    assert asked == ["Recover project"]
    assert second.project.params.primary_minutes == 45
    assert second.dirty
    assert second.project.path is not None and second.project.path.name == "sagaing.covproj"
    # a clean exit removes the lock and the autosave
    second.close()
    assert not second.autosave.lock_path.exists() and not second.autosave.path.exists()
    first.dirty = False
    first.close()


def test_unexpected_exception_is_shown_and_the_app_keeps_running(window, monkeypatch):
    from coverage_app.ui.app import install_excepthook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook(lambda: window)
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    error = errors_shown()[-1]
    assert error.title == "Unexpected error" and "boom in a slot" in error.text
    assert "Traceback" in error.details
    assert window.isVisible() and window.project is not None


def test_a_missing_package_is_named_with_how_to_install_it(window, monkeypatch):
    """An exception in a slot and a background task that failed on an import of a package that is
    not installed (e.g. a partial install) say which package and how to install it."""
    from coverage_app.ui.app import install_excepthook

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    install_excepthook(lambda: window)
    try:
        import matplotlib_not_installed  # noqa: F401
    except ModuleNotFoundError:
        sys.excepthook(*sys.exc_info())
    error = errors_shown()[-1]
    assert error.title == "A package is missing"
    assert "'matplotlib_not_installed' that coverage-app needs is not installed" in error.text
    assert "pip install -e ." in error.text and "Something went wrong" not in error.text
    dialogs.show_task_error(window, "Print", ModuleNotFoundError("No module named 'pypdf'", name="pypdf"))
    error = errors_shown()[-1]
    assert error.title == "Print" and "'pypdf' that coverage-app needs" in error.text
    assert window.isVisible() and window.project is not None


def test_layer_properties_categorised_style_and_labels(window, monkeypatch):
    facilities = window.stack.by_title("Health facilities")

    def accept(dialog):
        dialog.mode.setCurrentIndex(dialog.mode.findData("categorised"))
        dialog.field.setCurrentIndex(dialog.field.findData("level"))
        dialog.labels.setCurrentIndex(dialog.labels.findData("name"))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", accept)
    window.layers.layer_properties(facilities)
    assert facilities.style["mode"] == "categorised" and facilities.style["field"] == "level"
    assert facilities.ref.style["label_field"] == "name"
    levels = facilities.frame["level"].nunique()
    assert len(facilities.classes()) == min(levels, 11) + (1 if levels > 11 else 0)
    assert window.layer_panel.item_of(facilities).childCount() == len(facilities.legend())
    window.canvas.repaint()


def test_about_box_credits_sources_and_fonts(window):
    window.outputs.about()
    text = window.outputs.about_dialog.findChild(__import__("PySide6.QtWidgets").QtWidgets.QTextBrowser).toPlainText()
    for credit in window.project.credits:
        assert credit.split(",")[0][:30] in text
    assert "Open Font License" in text and "Noto Sans Myanmar" in text
    window.outputs.about_dialog.close()


def test_recent_projects_and_settings_persist(window, qtbot, tmp_path, monkeypatch):
    from coverage_app.ui import settings

    target = tmp_path / "a.covproj"
    monkeypatch.setattr(dialogs, "get_save_file", lambda *a, **k: str(target))
    window.projects.save_as()
    window.projects.fill_recent_menu(window.recent_menu)
    assert [a.text() for a in window.recent_menu.actions()][0] == str(target.resolve())
    window.dirty = False
    window.close()
    assert settings.value("window/geometry") is not None


def test_docks_are_tabbed_once(window, qtbot):
    from PySide6.QtWidgets import QTabBar

    qtbot.waitUntil(lambda: window._docks_arranged, timeout=5000)
    qtbot.wait(50)
    bars = [tuple(b.tabText(i) for i in range(b.count())) for b in window.findChildren(QTabBar)
            if b.isVisible() and b.parent() is window]
    assert sorted(bars) == [("Analysis", "Scenarios"), ("Results", "Identify")]


def _open_unresized(qtbot):
    """A window as the user first sees it (the fixtures resize theirs to 1280x860)."""
    from coverage_app.ui.app import create_window

    win = create_window(["--no-restore"])
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.data is not None and win._docks_arranged, timeout=30000)
    qtbot.wait(50)
    return win


def _close(win):
    win.dirty = False
    win.close()
    win.tasks.shutdown(20000)


def _assert_fits_the_screen(win):
    from PySide6.QtGui import QGuiApplication

    area = QGuiApplication.primaryScreen().availableGeometry()
    frame = win.frameGeometry()
    assert area.contains(frame), (frame, area)
    inside = win.rect()
    for dock in (win.layer_dock, win.analysis_dock, win.results_dock):  # every dock column is on screen
        assert dock.isVisible() and inside.contains(dock.geometry()), (dock.objectName(), dock.geometry(), inside)


def test_first_run_size_fits_small_screens():
    from PySide6.QtCore import QRect

    from coverage_app.ui.main_window import first_run_size

    class Screen:
        def __init__(self, w, h):
            self.area = QRect(0, 0, w, h)

        def availableGeometry(self):
            return self.area

    assert first_run_size(Screen(1280, 800)).toTuple() == (1152, 720)
    assert first_run_size(Screen(1366, 728)).toTuple() == (1229, 655)
    assert first_run_size(Screen(2560, 1400)).toTuple() == (1400, 900)  # capped on big screens


def test_window_fits_the_screen_on_first_run_and_has_the_app_icon(qtbot):
    from PySide6.QtGui import QGuiApplication

    win = _open_unresized(qtbot)
    try:
        _assert_fits_the_screen(win)
        area = QGuiApplication.primaryScreen().availableGeometry()
        assert win.width() >= 0.8 * min(area.width(), 1400)  # uses the screen, not a tiny default
        assert not win.windowIcon().isNull()
        assert not QApplication.windowIcon().isNull()
        assert QGuiApplication.desktopFileName() == "coverage-app"
    finally:
        _close(win)


def test_restored_geometry_is_fitted_to_the_screen(qtbot):
    from coverage_app.ui import settings

    first = _open_unresized(qtbot)
    try:
        first.resize(2600, 1700)  # saved on a large monitor, since unplugged
        first.move(1500, 1200)
    finally:
        _close(first)  # saves window/geometry
    assert settings.value("window/geometry") is not None
    win = _open_unresized(qtbot)
    try:
        _assert_fits_the_screen(win)
    finally:
        _close(win)
