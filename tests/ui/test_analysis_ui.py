"""Analysis, scenarios and export driven through the real window (coarse grid for speed)."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from coverage_app.ui import dialogs
from coverage_app.ui.maplayers import RasterLayer

from .conftest import FAST_CELL_M, errors_shown, run_analysis, wait_idle

pytest.importorskip("coverage_app.core.analysis.pipeline")


def test_run_analysis_shows_results_as_layers_and_tables(window, qtbot):
    result = run_analysis(qtbot, window)
    assert result is not None and result.params.cell_size_m == FAST_CELL_M
    titles = [l.title for l in window.stack]
    for title in ("Travel time to primary care (min)", "Travel time to secondary care (min)",
                  "Catchments, primary care (bands)", "Villages by access gap"):
        assert title in titles
    raster = window.stack.by_title("Travel time to primary care (min)")
    assert isinstance(raster, RasterLayer) and raster.visible and raster.values.shape == result.grid.shape
    assert window.stack.layers[-1] is window.stack.by_title("Travel time to secondary care (min)")
    gap = window.stack.by_title("Villages by access gap")
    assert gap.visible and not window.stack.by_title("Villages").visible
    assert {c.key for c in gap.classes()} >= {"none", "primary", "both"}
    # headline and tables
    h = result.headline()
    assert f"{h['pop_no_primary']:,.0f}" in window.results.summary.text()
    assert "unknown status" in window.results.summary.text()
    assert window.results.township_model.rowCount() == len(result.townships)
    assert window.results.village_model.rowCount() == int((result.villages["gap"] != "none").sum())
    window.canvas.repaint()
    assert not errors_shown()
    # selecting a township zooms to it
    before = window.canvas.view_state()
    window.results.select_township_row(0)
    assert window.canvas.view_state() != before and window.canvas.highlight
    # village search by name and by pcode, selecting zooms to the village
    name = window.results.village_model.frame["name_en"].iloc[3]
    window.results.search.setText(name)
    shown = window.results.village_model.rowCount()
    assert 1 <= shown < len(window.results.village_model.frame)
    pcode = window.results.village_model.frame["pcode"].iloc[3]
    window.results.search.setText(pcode)
    assert window.results.village_model.rowCount() == 1
    window.results.select_village_row(0)
    assert window.canvas.scale < 20 and window.identify_panel.values(0)["pcode"] == pcode
    # the coverage curve is drawn when its tab is shown
    window.results.tabs.setCurrentWidget(window.results.curve)
    assert window.results.curve.figure is not None and window.results.curve.figure.axes
    # sorting a column sorts the rows (in the model, by value)
    model = window.results.township_model
    model.sort([c for c, _ in model.columns].index("pop"), Qt.DescendingOrder)
    pops = [model.row_value(r, "pop") for r in range(model.rowCount())]
    assert pops == sorted(pops, reverse=True)


def test_a_new_threshold_is_counted_on_the_last_search(window, qtbot):
    """Run after changing only a threshold, the bands or people per bed: the last result's travel
    times are counted again (no search; the same grids), and the figures are a full run's."""
    import pandas as pd

    from coverage_app.core.analysis.pipeline import run_analysis as full_run

    first = run_analysis(qtbot, window)
    window.analysis_panel.primary.setValue(90)
    window.analysis_panel.per_bed.setValue(400)
    assert window.session.result_stale
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.analysis.run_analysis()
    wait_idle(qtbot, window)
    again = window.result
    assert again is not first and again.params.primary_minutes == 90 and again.params.people_per_bed == 400
    assert again.tiers["primary"].minutes is first.tiers["primary"].minutes and again.friction is first.friction
    full = full_run(window.data, again.params)
    assert again.headline() == full.headline() and again.headline() != first.headline()
    pd.testing.assert_frame_equal(pd.DataFrame(again.townships), pd.DataFrame(full.townships))
    pd.testing.assert_frame_equal(pd.DataFrame(again.villages), pd.DataFrame(full.villages))
    pd.testing.assert_frame_equal(again.capacity, full.capacity)
    assert "within 90 min" in window.results.summary.text()
    assert f"{full.headline()['pop_no_primary']:,.0f}" in window.results.summary.text()
    # an input changed (e.g. a layer or the land-cover speeds): the next run searches again
    window.analysis.mark_stale()
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.analysis.run_analysis()
    wait_idle(qtbot, window)
    assert window.result.tiers["primary"].minutes is not again.tiers["primary"].minutes
    # so does a change of anything the search uses (here the travel mode)
    searched = window.result
    window.analysis_panel.mode.setCurrentIndex(window.analysis_panel.mode.findData("motorbike"))
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.analysis.run_analysis()
    wait_idle(qtbot, window)
    assert window.result.params.mode == "motorbike"
    assert window.result.tiers["primary"].minutes is not searched.tiers["primary"].minutes
    assert not errors_shown()


def test_cancel_an_analysis_midway(window, qtbot):
    window.analysis_panel.cell.setValue(150)  # a fine grid: several seconds of work
    task = window.analysis.run_analysis()
    assert task is not None
    qtbot.waitUntil(lambda: task.fraction > 0.0 or not task.is_running(), timeout=30000)
    assert task.is_running(), "the analysis finished before it could be cancelled"
    assert window.cancel_button.isVisible() and window.progress.isVisible()
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    with qtbot.waitSignal(task.ended, timeout=60000) as blocker:
        pass
    assert blocker.args == ["cancelled"] or task.state == "cancelled"
    assert window.result is None
    assert "cancelled" in window.status_message.text().lower()
    assert not errors_shown()
    assert not window.cancel_button.isVisible()
    # the window stayed usable: the next run completes
    run_analysis(qtbot, window)
    assert window.result is not None


def _click_facility(window, qtbot, row):
    layer = window.stack.by_title("Health facilities")
    x, y = window.canvas.to_screen(layer.xs[row], layer.ys[row])
    qtbot.mouseClick(window.canvas, Qt.LeftButton, pos=QPoint(int(round(x)), int(round(y))))
    return layer


def _hospital_row(window):
    layer = window.stack.by_title("Health facilities")
    secondary = np.flatnonzero(layer.frame["provides_secondary"].fillna(False).astype(bool).to_numpy())
    return int(secondary[0])


@pytest.mark.parametrize("shared_outputs", [True, False], ids=["cow", "copy"])
def test_close_a_facility_undo_and_redo(window, qtbot, monkeypatch, shared_outputs):
    from coverage_app.core.travel import cow

    if shared_outputs:  # the copy-on-write path at any grid size (where the system has it)
        if not cow.available():
            pytest.skip("no copy-on-write sharing on this system")
        monkeypatch.setattr(cow, "MIN_BYTES", 0)
    else:  # the portable plain copies
        monkeypatch.setattr(cow, "ENABLED", False)
    baseline = run_analysis(qtbot, window)
    base_bits = {t: (r.minutes.view(np.uint32).copy(), r.allocation.copy()) for t, r in baseline.tiers.items()}
    row = _hospital_row(window)
    layer = window.stack.by_title("Health facilities")
    fac_id = layer.frame["fac_id"].iloc[row]
    window.map_tools.zoom_to_layer(layer)
    window.canvas.zoom_by(3, QPointF(*window.canvas.to_screen(layer.xs[row], layer.ys[row])))

    def close_it(dialog):
        assert dialog.objectName() == "status_dialog"
        dialog.status.setCurrentIndex(dialog.status.findData("closed"))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", close_it)
    window.tool_actions["status"].trigger()
    assert window.canvas.tool == "status"
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        _click_facility(window, qtbot, row)
    wait_idle(qtbot, window)
    scenario = window.scenarios.active_scenario()
    assert scenario is not None and scenario["edits"][-1]["fac_id"] == fac_id
    assert scenario["edits"][-1]["status"] == "closed"
    shown = window.stack.by_title("Health facilities")
    assert shown.frame.loc[shown.frame["fac_id"] == fac_id, "status"].iloc[0] == "closed"
    closed = window.result
    assert closed is not baseline
    assert closed.headline()["pop_no_secondary"] >= baseline.headline()["pop_no_secondary"]
    assert "closed" in window.undo_group.undoText()
    # undo: the edit goes, the baseline numbers come back (from the cache: no new run)
    window.act_undo.trigger()
    wait_idle(qtbot, window)
    assert window.scenarios.active_scenario()["edits"] == []
    assert window.result.headline() == baseline.headline()
    assert shown.frame.loc[shown.frame["fac_id"] == fac_id, "status"].iloc[0] != "closed"
    window.act_redo.trigger()
    wait_idle(qtbot, window)
    assert window.scenarios.active_scenario()["edits"][-1]["status"] == "closed"
    assert window.result.headline() == closed.headline()
    for t, (m, a) in base_bits.items():  # the baseline's grids never changed under the edit
        np.testing.assert_array_equal(baseline.tiers[t].minutes.view(np.uint32), m)
        np.testing.assert_array_equal(baseline.tiers[t].allocation, a)
    state = closed.tiers["secondary"].engine_state
    assert (state.outputs is not None) == shared_outputs
    assert not errors_shown()


def test_add_a_facility_by_clicking_the_map(window, qtbot, monkeypatch):
    baseline = run_analysis(qtbot, window)
    villages = baseline.villages
    # the most populous village without care that a new clinic can serve (not inside a no-go zone,
    # where a facility is left out)
    reachable = villages["prim_min"].notna() | villages["sec_min"].notna()
    worst = villages[(villages["gap"] == "both") & reachable].sort_values("population", ascending=False).iloc[0]
    x, y = window.canvas.lonlat_to_map(worst.geometry.x, worst.geometry.y)
    window.canvas.set_view(x, y, 200.0)
    px, py = window.canvas.to_screen(x, y)

    def add_it(dialog):
        assert dialog.objectName() == "add_facility_dialog"
        dialog.name.setText("Mobile clinic A")
        dialog.level.setCurrentText("Mobile clinic")
        return True

    monkeypatch.setattr(dialogs, "run_dialog", add_it)
    window.map_tools.set_tool("add")
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        qtbot.mouseClick(window.canvas, Qt.LeftButton, pos=QPoint(int(px), int(py)))
    wait_idle(qtbot, window)
    edit = window.scenarios.active_scenario()["edits"][-1]
    assert edit["type"] == "add_facility" and edit["name"] == "Mobile clinic A"
    assert abs(edit["lon"] - worst.geometry.x) < 0.01 and abs(edit["lat"] - worst.geometry.y) < 0.01
    facilities = window.stack.by_title("Health facilities")
    assert "Mobile clinic A" in set(facilities.frame["name"])
    # drawn as a scenario facility (its own marker), and the legend says so
    row = int(np.flatnonzero(facilities.frame["name"].to_numpy() == "Mobile clinic A")[0])
    drawn_in = [c for c in facilities.classes() if c.rows is not None and row in c.rows]
    assert [c.label for c in drawn_in] == ["New facility, functioning"]
    assert drawn_in[0].style.marker == "P"
    assert "New facility, functioning" in [label for label, _ in facilities.legend()]
    assert window.result.headline()["pop_no_primary"] < baseline.headline()["pop_no_primary"]
    new = window.result.villages.set_index("pcode").loc[worst["pcode"]]
    assert new["gap"] in ("secondary", "none")


def test_scenarios_switch_and_compare(window, qtbot):
    run_analysis(qtbot, window)
    row = _hospital_row(window)
    fac_id = str(window.stack.by_title("Health facilities").frame["fac_id"].iloc[row])
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.scenarios.push_edit({"type": "set_status", "fac_id": fac_id, "status": "destroyed", "date": "2024-01-01"})
    wait_idle(qtbot, window)
    name = window.project.active_scenario
    assert name and window.scenario_panel.list.count() == 2
    # back to the baseline and again to the scenario: cached results, facility symbols follow
    window.scenarios.activate_scenario(None)
    wait_idle(qtbot, window)
    frame = window.stack.by_title("Health facilities").frame
    assert frame.loc[frame["fac_id"] == fac_id, "status"].iloc[0] != "destroyed"
    window.scenarios.activate_scenario(name)
    wait_idle(qtbot, window)
    # compare: villages losing access are highlighted
    window.scenarios.compare_scenarios(None, name)
    wait_idle(qtbot, window)
    assert window.comparison is not None
    layer = window.result_layers.get("compare")
    if len(window.comparison.villages):
        assert layer is not None and layer.visible and window.stack.layers[0] is layer
        assert set(window.comparison.villages["change"]) <= {"loses_primary", "loses_secondary",
                                                             "gains_primary", "gains_secondary"}
    assert window.results.compare_model.rowCount() == len(window.comparison.townships)
    assert not errors_shown()


def test_export_coverage_to_a_folder(window, qtbot, tmp_path, monkeypatch):
    run_analysis(qtbot, window)
    out = tmp_path / "export"

    def accept(dialog):
        dialog.folder.setText(str(out))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", accept)
    assert window.act_export.isEnabled() or window._update_actions() is None
    window.outputs.export_dialog()
    qtbot.waitUntil(lambda: any(s.title == "Export coverage" for s in dialogs.shown) or bool(errors_shown()),
                    timeout=60000)
    assert not errors_shown(), errors_shown()
    for name in ("coverage.gpkg", "villages.shp", "villages.cpg", "townships.shp", "run.json"):
        assert (out / name).exists(), name


def test_failed_analysis_shows_the_core_message(window, qtbot):
    window.analysis_panel.bands.setText("30, sixty")
    window.analysis.run_analysis()
    assert "catchment bands" in errors_shown()[-1].text
    # a project without facilities: the core's InputError reaches a dialog, the app stays
    window.analysis_panel.bands.setText("30, 60")
    for layer in [l for l in window.stack if l.role == "facilities"]:
        window.project.layers.remove(layer.ref)
        window.data.layers.pop(layer.ref.name)
    window.analysis.run_analysis()
    qtbot.waitUntil(lambda: len(errors_shown()) >= 2, timeout=30000)
    assert "facilit" in errors_shown()[-1].text.lower()
    assert window.isVisible()


def test_no_network_connection_during_an_analysis(window, qtbot, monkeypatch):
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("network access is not allowed in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))
    run_analysis(qtbot, window)
    assert window.result is not None
    assert attempts == []
