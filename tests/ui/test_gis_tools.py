"""Issue 13 items 8, 9 and 10 in the real window: identify puts the feature under the
cursor first, attribute table, box selection, measuring, CRS and typed scale, go to a
coordinate, shortcuts, progress with time left, drawing a conflict zone as an undoable
scenario edit, and the land-cover speeds dialog."""

from __future__ import annotations

import math

import numpy as np
import shapely
from PySide6.QtCore import QPoint, QPointF, Qt

from coverage_app.core.data.project import load_project
from coverage_app.ui import dialogs
from coverage_app.ui.gis_tools import parse_coordinate
from coverage_app.ui.main_window import progress_note

from .conftest import errors_shown, run_analysis, wait_idle


def _screen(window, x, y) -> QPoint:
    sx, sy = window.canvas.to_screen(x, y)
    return QPoint(int(round(sx)), int(round(sy)))


def _hospital(window):
    layer = window.stack.by_title("Health facilities")
    row = int(np.flatnonzero(layer.frame["provides_secondary"].fillna(False).astype(bool).to_numpy())[0])
    return layer, row


def test_identify_puts_the_clicked_facility_first_and_expanded(window, qtbot):
    run_analysis(qtbot, window)  # villages by gap and travel-time rasters lie under the hospital too
    layer, row = _hospital(window)
    window.map_tools.zoom_to_layer(layer)
    hits = window.map_tools.identify(layer.xs[row] + 30.0, layer.ys[row])
    assert len(hits) > 1 and hits[0] == (layer, row)
    top = window.identify_panel.tree.topLevelItem(0)
    assert top.isExpanded() and top.text(0) == "Health facilities"
    # a raster's value is on its own line, no click needed
    raster = [window.identify_panel.tree.topLevelItem(i) for i in range(window.identify_panel.tree.topLevelItemCount())
              if window.identify_panel.tree.topLevelItem(i).text(0).startswith("Travel time to primary")]
    assert raster and raster[0].text(1).endswith("min")


def test_attribute_table_sorts_filters_selects_and_zooms(window, qtbot):
    layer = window.stack.by_title("Health facilities")
    table = window.gis.open_table(layer)
    assert table.model.rowCount() == len(layer.frame)
    names = [c for c, _ in table.model.columns]
    table.model.sort(names.index("name"), Qt.AscendingOrder)
    shown = [table.model.row_value(r, "name") for r in range(table.model.rowCount())]
    assert [str(s).lower() for s in shown] == sorted(str(s).lower() for s in shown)
    target = str(layer.frame["name"].iloc[5])
    table.filter.setText(target)
    assert 1 <= table.model.rowCount() < len(layer.frame)
    assert all(target.lower() in " ".join(map(str, table.model.frame.iloc[int(table.model.row_value(r, "__row"))]
                                              .to_numpy())).lower() for r in range(table.model.rowCount()))
    table.view.selectRow(0)
    rows = table.selected_rows()
    assert len(rows) == 1 and window.canvas.highlight == [layer.geoms[int(rows[0])]]
    before = window.canvas.view_state()
    table.zoom_button.click()
    assert window.canvas.view_state() != before
    table.close()


def test_box_selection_picks_the_features_inside(window, qtbot):
    layer = window.stack.by_title("Health facilities")
    window.map_tools.zoom_to_layer(layer)
    window.map_tools.set_tool("select")
    c = window.canvas
    a, b = QPoint(int(c.width() * 0.3), int(c.height() * 0.3)), QPoint(int(c.width() * 0.6), int(c.height() * 0.7))
    qtbot.mousePress(c, Qt.LeftButton, pos=a)
    qtbot.mouseMove(c, QPoint(a.x() + 20, a.y() + 20))
    qtbot.mouseMove(c, b)
    qtbot.mouseRelease(c, Qt.LeftButton, pos=b)
    x0, y1 = c.to_map(a.x(), a.y())
    x1, y0 = c.to_map(b.x(), b.y())
    box = shapely.box(x0, y0, x1, y1)
    selected = window.gis.select.selection
    assert layer in selected
    expected = np.flatnonzero(shapely.intersects(np.asarray(layer.geoms, dtype=object), box))
    assert sorted(selected[layer]) == sorted(expected) and len(expected) > 0
    assert "selected" in window.status_message.text()
    # the map selection shows in an open attribute table
    table = window.gis.open_table(layer)
    window.gis.select.set_selection({layer: expected[:2]})
    assert sorted(table.selected_rows()) == sorted(expected[:2])
    table.close()


def test_measure_distance_and_area_match_the_projected_figures(window, qtbot):
    c = window.canvas
    window.map_tools.set_tool("measure")
    x, y = c.lonlat_to_map(95.5, 22.5)
    square = [(x, y), (x + 10000, y), (x + 10000, y + 10000), (x, y + 10000)]
    c.set_view(x + 5000, y + 5000, 50.0)
    for px, py in square:
        qtbot.mouseClick(c, Qt.LeftButton, pos=_screen(window, px, py))
    qtbot.mouseDClick(c, Qt.LeftButton, pos=_screen(window, *square[-1]))
    m = window.gis.measure
    assert m.finished and len(m.points) == 4
    # second method: lengths and area in the UTM plane (scale factor ~0.9996-1.0004 here)
    assert m.length_km == __import__("pytest").approx(30.0, rel=0.01)
    assert m.area_km2 == __import__("pytest").approx(100.0, rel=0.01)
    text = window.status_message.text()
    assert f"Distance {m.length_km:,.2f} km" in text and f"area {m.area_km2:,.2f} km²" in text
    window.act_cancel.trigger()  # Esc clears the measurement
    assert not c.sketch


def test_status_bar_crs_scale_box_and_go_to(window, qtbot, monkeypatch):
    assert window.gis.crs_label.text() == "EPSG:32646"
    box = window.scale_label
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "1:250,000")
    qtbot.keyClick(box, Qt.Key_Return)
    assert abs(window.canvas.scale_denominator() - 250000) < 1
    assert window.gis.goto("22.5N 95.1E")
    lon, lat = window.canvas.map_to_lonlat(window.canvas.cx, window.canvas.cy)
    assert abs(lon - 95.1) < 1e-6 and abs(lat - 22.5) < 1e-6 and window.canvas.highlight
    assert parse_coordinate("22.5, 95.1") == (95.1, 22.5) and parse_coordinate("95.1, 22.5") == (95.1, 22.5)
    assert parse_coordinate("somewhere") is None
    assert not window.gis.goto("north of Monywa")
    assert any(s.kind == "warning" and "not a coordinate" in s.text for s in dialogs.shown)


def test_every_map_tool_has_a_shortcut_and_long_runs_say_time_left(window):
    for tool, action in window.tool_actions.items():
        assert action.shortcut().toString(), tool
        assert action in window.edit_menu.actions()
    assert window.gis.act_table.shortcut().toString() == "F6"
    assert progress_note(0.5, 20.0) == " — 50%, about 20 s left"
    assert progress_note(0.02, 1.0) == " — 2%"
    assert progress_note(0.1, 60.0) == " — 10%, about 9 min left"


def test_draw_a_conflict_zone_undo_and_redo(window, qtbot, monkeypatch):
    baseline = run_analysis(qtbot, window)
    zones = window.stack.by_title("Conflict zones")
    n_zones = len(zones.frame)
    c = window.canvas
    # a no-go square over the most populous uncovered... here simply around a town of villages
    villages = baseline.villages
    town = villages.sort_values("population", ascending=False).iloc[0]
    cx, cy = c.lonlat_to_map(float(town.geometry.x), float(town.geometry.y)) if villages.crs.to_epsg() == 4326 \
        else (float(town.geometry.x), float(town.geometry.y))
    corners = [(cx - 6000, cy - 6000), (cx + 6000, cy - 6000), (cx + 6000, cy + 6000), (cx - 6000, cy + 6000)]
    c.set_view(cx, cy, 40.0)

    def no_go(dialog):
        assert dialog.objectName() == "zone_dialog"
        dialog.kind.setCurrentIndex(dialog.kind.findData("no_go"))
        dialog.delay.setValue(30)
        return True

    monkeypatch.setattr(dialogs, "run_dialog", no_go)
    window.tool_actions["zone"].trigger()
    assert c.tool == "zone"
    for px, py in corners:
        qtbot.mouseClick(c, Qt.LeftButton, pos=_screen(window, px, py))
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        qtbot.mouseDClick(c, Qt.LeftButton, pos=_screen(window, *corners[-1]))
    wait_idle(qtbot, window)
    scenario = window.scenarios.active_scenario()
    edit = scenario["edits"][-1]
    assert edit["type"] == "add_zone" and edit["kind"] == "no_go" and edit["speed_factor"] == 0.0
    assert edit["delay_minutes"] == 30 and edit["valid_from"] and edit["zone_id"].startswith("ZONE-NEW-")
    polygon = shapely.from_wkt(edit["wkt"])
    lon, lat = c.map_to_lonlat(cx, cy)
    assert polygon.contains(shapely.Point(lon, lat)) and 100 < abs(__import__("pyproj").Geod(
        ellps="WGS84").geometry_area_perimeter(polygon)[0]) / 1e6 < 200  # ~12 km x 12 km
    assert len(zones.frame) == n_zones + 1  # drawn on the map as the scenario has it
    h0, h1 = baseline.headline(), window.result.headline()
    assert h1["pop_no_primary"] >= h0["pop_no_primary"] and window.result.scenario["edits"][-1] == edit
    window.act_undo.trigger()
    wait_idle(qtbot, window)
    assert scenario["edits"] == [] and len(zones.frame) == n_zones
    window.act_redo.trigger()
    wait_idle(qtbot, window)
    assert scenario["edits"][-1]["zone_id"] == edit["zone_id"]
    assert not errors_shown()


def test_land_cover_speeds_dialog(window, qtbot, monkeypatch, tmp_path):
    ref = window.project.layers_of("landcover")[0]
    assert ref.options.get("enabled") is False

    def enable(dialog):
        dialog.enabled.setChecked(True)
        for r in range(dialog.table.rowCount()):
            if dialog.table.cellWidget(r, 1).text() == "forest":
                dialog.table.cellWidget(r, 2).setValue(1.5)
        return True

    monkeypatch.setattr(dialogs, "run_dialog", enable)
    assert window.gis.landcover_dialog()
    assert ref.options["enabled"] is True and window.project.landcover_speeds_kmh["forest"] == 1.5
    assert window.dirty and window.data.raster("landcover") is ref
    target = tmp_path / "lc.covproj"
    monkeypatch.setattr(dialogs, "get_save_file", lambda *a, **k: str(target))
    assert window.projects.save_as()
    again = load_project(target)
    assert again.landcover_speeds_kmh["forest"] == 1.5
    assert again.layers_of("landcover")[0].options["enabled"] is True
    # a class without a name is refused
    def unnamed(dialog):
        dialog.table.cellWidget(0, 1).setText("")
        dialog._accept()
        return dialog.result() == 1
    monkeypatch.setattr(dialogs, "run_dialog", unnamed)
    window.gis.landcover_dialog()
    assert any("every class a name" in s.text for s in dialogs.shown)
    assert math.isfinite(window.project.landcover_speeds_kmh["forest"])
