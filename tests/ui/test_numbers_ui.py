"""Issue 11 in the real window (offscreen): unmapped-track row, speed-sensitivity toggle,
suggested sites on the map and as a scenario facility, status-table import, safe-share
Shapefile export."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest

from coverage_app.ui import dialogs

from .conftest import errors_shown, run_analysis, wait_idle

SHOTS = "/tmp/numbers"


def _grab(widget, name):
    import os

    os.makedirs(SHOTS, exist_ok=True)
    widget.grab().save(f"{SHOTS}/{name}.png")


def test_speed_table_has_the_unmapped_track_row(window):
    table = window.analysis_panel.speed_table
    assert table.verticalHeaderItem(table.rowCount() - 1).text() == "Unmapped tracks"
    car = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())].index("car")
    assert table.item(table.rowCount() - 1, car).text() == "10"
    table.item(table.rowCount() - 1, car).setText("walk")
    params = window.analysis_panel.params(window.project.params)
    assert params.unmapped_kmh["car"] is None and params.unmapped_kmh["motorbike"] == 15
    table.item(table.rowCount() - 1, car).setText("fast")
    with pytest.raises(ValueError, match="car on unmapped tracks"):
        window.analysis_panel.params(window.project.params)


def test_sensitivity_toggle_shows_ranges(window, qtbot):
    window.analysis_panel.mode.setCurrentIndex(window.analysis_panel.mode.findData("car"))
    result = run_analysis(qtbot, window)
    tab = window.results.extras
    window.results.tabs.setCurrentWidget(tab)
    tab.sensitivity.setChecked(True)
    wait_idle(qtbot, window)
    assert not errors_shown(), errors_shown()
    assert result.sensitivity is not None
    head = result.sensitivity["headline"]["share_primary"]
    assert head["lo"] < head["central"] < head["hi"]
    assert f"{100 * head['lo']:.1f}" in tab.range_label.text() and "range" in tab.range_label.text()
    assert tab.range_model.rowCount() == len(result.townships)
    _grab(window.results, "ranges_tab")


def test_a_new_threshold_recounts_the_ranges_without_running_the_speed_cases(window, qtbot, monkeypatch):
    """Ranges on, a new threshold and Run: the result is re-counted (no search) and so are its ranges,
    from the low / high runs' village minutes, with no "Speed sensitivity" job; the ranges shown
    equal those of the two cases run again."""
    import pandas as pd

    from coverage_app.core.analysis.pipeline import run_analysis as full_run
    from coverage_app.core.analysis.sensitivity import add_sensitivity
    from coverage_app.ui import numbers_tools

    first = run_analysis(qtbot, window)
    tab = window.results.extras
    window.results.tabs.setCurrentWidget(tab)
    tab.sensitivity.setChecked(True)
    wait_idle(qtbot, window)
    assert first.sensitivity is not None
    jobs = []
    monkeypatch.setattr(numbers_tools, "_sensitivity_job", lambda *a, **k: jobs.append(a))
    window.analysis_panel.primary.setValue(25)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.analysis.run_analysis()
    wait_idle(qtbot, window)
    again = window.result
    assert again.params.primary_minutes == 25 and again.tiers["primary"].minutes is first.tiers["primary"].minutes
    assert not jobs and again.sensitivity is not None and not errors_shown(), errors_shown()
    expected = add_sensitivity(full_run(window.data, again.params), window.data).sensitivity
    assert again.sensitivity["headline"] == expected["headline"] != first.sensitivity["headline"]
    pd.testing.assert_frame_equal(again.sensitivity["townships"], expected["townships"])
    low = expected["headline"]["share_primary"]["lo"]
    assert f"{100 * low:.1f}" in tab.range_label.text()


def test_suggested_sites_on_the_map_and_added_as_a_scenario_facility(window, qtbot):
    result = run_analysis(qtbot, window)
    tab = window.results.extras
    window.results.tabs.setCurrentWidget(tab)
    tab.count.setValue(3)
    tab.suggest.click()
    wait_idle(qtbot, window)
    assert not errors_shown(), errors_shown()
    assert tab.site_model.rowCount() == 3
    layer = window.stack.by_title("Suggested sites")
    assert layer is not None and layer.visible and len(layer.frame) == 3
    _grab(window, "sites_window")
    before = result.headline()["pop_no_primary"]
    gain, lon = int(tab.picks["gain_pop"].iloc[0]), float(tab.picks["lon"].iloc[0])
    top = [tab.site_model.row_value(r, "rank") for r in range(tab.site_model.rowCount())].index(1)
    tab.site_view.selectRow(top)  # the first pick: its gain is what it adds on its own
    assert tab.selected_pick()["rank"] == 1
    tab.add_site.click()
    wait_idle(qtbot, window)
    scenario = window.session.active_scenario()
    assert scenario is not None and scenario["edits"][-1]["type"] == "add_facility"
    assert scenario["edits"][-1]["lon"] == pytest.approx(lon, abs=1e-6)
    qtbot.waitUntil(lambda: window.result is not result, timeout=60000)
    wait_idle(qtbot, window)
    # the scenario's result (incremental update) gains exactly what the suggestion claimed
    assert before - window.result.headline()["pop_no_primary"] == gain


def test_import_status_table_from_the_file_menu(window, qtbot, tmp_path, monkeypatch):
    wait_idle(qtbot, window)
    ids = list(window.data.role("facilities")["fac_id"].astype(str))
    good = tmp_path / "status.csv"
    good.write_text(f"fac_id,status,date,source\n{ids[0]},closed,2025-06-01,cluster\n{ids[1]},partial,2025-07-01,"
                    "cluster\n", encoding="utf-8")
    monkeypatch.setattr(dialogs, "get_open_file", lambda *a, **k: str(good))
    action = window.numbers.import_action
    assert action in window.file_menu.actions()
    action.trigger()
    assert len(window.project.status_ledger) == 2 and window.dirty
    assert any("Imported 2 status report(s)" in s.text for s in dialogs.shown)
    bad = tmp_path / "bad.csv"
    bad.write_text("fac_id,status,date\nNOPE,closed,2025-06-01\n", encoding="utf-8")
    monkeypatch.setattr(dialogs, "get_open_file", lambda *a, **k: str(bad))
    action.trigger()  # dialogs.ask answers no: nothing imported, the rows are listed
    assert len(window.project.status_ledger) == 2
    assert "bad.csv" in errors_shown()[-1].text and "line 2" in errors_shown()[-1].text


def test_app_export_with_safe_sharing_and_shapefiles(window, qtbot, tmp_path):
    run_analysis(qtbot, window)
    out = tmp_path / "safe"
    window.outputs.export({"out_dir": str(out), "formats": ("gpkg", "shp"), "safe_share": True,
                           "rasters": True, "csv": True})
    wait_idle(qtbot, window)
    assert not errors_shown(), errors_shown()
    fields = list(pyogrio.read_info(out / "facilities.shp")["fields"])
    assert "n_fac" in fields and all(len(f) <= 10 for f in fields)
    assert gpd.read_file(out / "facilities.shp")["n_fac"].sum() == 141


def test_people_per_bed_in_the_panel(window):
    panel = window.analysis_panel
    assert panel.per_bed.value() == 1000
    panel.per_bed.setValue(0)
    assert panel.params(window.project.params).people_per_bed is None
    panel.per_bed.setValue(500)
    assert panel.params(window.project.params).people_per_bed == 500


def test_capacity_in_the_results_dock(window, qtbot):
    result = run_analysis(qtbot, window)
    h = result.headline()
    assert h["pop_served_capacity"] is not None
    text = window.results.summary.text()
    assert "Within capacity" in text and f"{h['pop_served_capacity']:,.0f}" in text and "beds x 1000" in text
    model = window.results.township_model
    served = sum(model.row_value(r, "served_pop") or 0 for r in range(model.rowCount()))
    assert served == pytest.approx(result.villages["served_pop"].sum(), abs=1)
    window.results.tabs.setCurrentIndex(0)
    _grab(window.results, "summary_capacity")
