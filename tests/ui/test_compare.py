"""Issue 13 items 5 and 6: Compare defaults to Baseline -> the active scenario, sits above
the edit history, is recomputed or marked out of date after every change; a finished run
brings the results forward."""

from __future__ import annotations

from .conftest import run_analysis, wait_idle


def _closed_hospital(window):
    layer = window.stack.by_title("Health facilities")
    frame = layer.frame
    row = int(frame.index[frame["provides_secondary"].fillna(False).astype(bool)][0])
    return {"type": "set_status", "fac_id": str(frame["fac_id"].iloc[row]), "status": "closed",
            "date": "2024-01-01"}


def test_compare_defaults_follow_the_active_scenario(window):
    panel = window.scenario_panel
    assert panel.compare_box.mapTo(panel, panel.compare_box.rect().topLeft()).y() < \
        panel.undo_view.mapTo(panel, panel.undo_view.rect().topLeft()).y()  # seen without scrolling
    assert not panel.compare_button.isEnabled()  # nothing to compare yet
    window.scenarios.new_scenario(name="S1")
    assert panel.compare_a.currentData() is None and panel.compare_b.currentData() == "S1"
    window.scenarios.new_scenario(name="S2")
    assert panel.compare_a.currentData() is None and panel.compare_b.currentData() == "S2"
    # the user's choice stays while the active scenario does
    panel.compare_a.setCurrentIndex(panel.compare_a.findData("S1"))
    window.scenarios.refresh_scenarios()
    assert panel.compare_a.currentData() == "S1" and panel.compare_b.currentData() == "S2"
    window.scenarios.activate_scenario(None)
    assert panel.compare_a.currentData() is None and panel.compare_b.currentData() == "S1"


def test_undo_recomputes_the_comparison_and_new_parameters_mark_it_stale(window, qtbot):
    run_analysis(qtbot, window)
    window.identify_dock.raise_()
    scenario = window.scenarios.new_scenario(name="No hospital")
    wait_idle(qtbot, window)
    window.scenarios.push_edit(_closed_hospital(window))
    wait_idle(qtbot, window)
    assert not window.results_dock.visibleRegion().isEmpty()  # each finished run comes forward
    panel = window.scenario_panel
    with qtbot.waitSignal(window.scenarios.comparison_shown, timeout=60000):
        panel.compare_button.click()
    wait_idle(qtbot, window)
    before = window.comparison.summary()
    assert before["villages_changed"] > 0 and "Showing Baseline → No hospital" in panel.compare_state.text()
    assert "compare" in window.result_layers
    # undo: both results are cached, so the comparison is recomputed at once: nothing changes now
    with qtbot.waitSignal(window.scenarios.comparison_shown, timeout=60000):
        window.act_undo.trigger()
    wait_idle(qtbot, window)
    assert window.comparison.summary()["villages_changed"] == 0
    assert "compare" not in window.result_layers
    # redo, compare again, then change a parameter: the results are gone, the comparison is marked
    window.act_redo.trigger()
    wait_idle(qtbot, window)
    assert window.comparison.summary() == before
    window.analysis_panel.primary.setValue(window.analysis_panel.primary.value() + 15)
    assert "Out of date" in panel.compare_state.text() and panel.compare_button.text() == "Compare again"
    assert "Out of date" in window.results.compare_label.text() and window.results.comparison_stale
    assert window.result_layers["compare"].title.endswith("(out of date)")
    assert scenario["name"] == "No hospital"
