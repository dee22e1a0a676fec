"""Issue 13 item 1: the window title, the export (dialog, folder offered, run.json) and the
print dialog's file name say which scenario (or "Baseline") the figures come from."""

from __future__ import annotations

import json
from pathlib import Path

from coverage_app.ui import dialogs, settings

from .conftest import errors_shown, run_analysis, wait_idle

ADD = {"type": "add_facility", "fac_id": "NEW-001", "name": "Kani mobile clinic", "level": "Mobile clinic",
       "lon": 95.05, "lat": 22.45, "status": "functioning"}


def test_window_title_names_the_scenario(window, qtbot, monkeypatch):
    assert " — Baseline — " in window.windowTitle()
    window.scenarios.new_scenario(name="Clinic at Kani")
    assert " — Clinic at Kani — " in window.windowTitle() and window.windowTitle().startswith("*")
    monkeypatch.setattr(dialogs, "get_text", lambda *a, **k: "Kani plan B")
    window.scenarios.rename_scenario()
    assert " — Kani plan B — " in window.windowTitle()
    window.scenarios.activate_scenario(None)
    assert " — Baseline — " in window.windowTitle()


def test_export_of_a_scenario_names_it(window, qtbot, monkeypatch, tmp_path):
    window.scenarios.new_scenario(name="Clinic at Kani")
    window.scenarios.push_edit(dict(ADD))
    run_analysis(qtbot, window)
    assert window.result.scenario["name"] == "Clinic at Kani"
    seen = {}

    def accept(dialog):
        seen["folder"] = dialog.folder.text()
        seen["label"] = dialog.scenario_label.text()
        dialog.folder.setText(str(tmp_path / Path(seen["folder"]).name))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", accept)
    window.outputs.export_dialog()
    qtbot.waitUntil(lambda: any(s.title == "Export coverage" for s in dialogs.shown) or bool(errors_shown()),
                    timeout=60000)
    assert not errors_shown(), errors_shown()
    assert Path(seen["folder"]).name.endswith("scenario-clinic-at-kani")
    assert "Scenario “Clinic at Kani” (hypothetical, 1 edit)" in seen["label"] and "Kani mobile clinic" in seen["label"]
    out = tmp_path / Path(seen["folder"]).name
    run = json.loads((out / "run.json").read_text())
    assert run["scenario_name"] == "Clinic at Kani" and run["scenario"]["edits"][0]["fac_id"] == "NEW-001"
    # the next export is offered beside this one, named for the baseline
    window.scenarios.activate_scenario(None)
    wait_idle(qtbot, window)
    assert window.result.scenario is None
    assert window.outputs.export_folder(None) == out.parent / f"{out.name.replace('scenario-clinic-at-kani', 'baseline')}"


def test_print_file_name_names_the_scenario_and_opens_outside_the_program(window, qtbot, monkeypatch):
    from coverage_app.ui.print_dialog import PrintDialog

    window.scenarios.new_scenario(name="Clinic at Kani")
    window.scenarios.push_edit(dict(ADD))
    run_analysis(qtbot, window)
    settings.set_value("print/folder", "")
    window.act_print.trigger()
    dialog = window.outputs.last_print_dialog
    assert isinstance(dialog, PrintDialog)
    name = Path(dialog._default_name(".pdf"))
    assert name.name == "briefing_scenario_clinic_at_kani.pdf"
    # the bundled project lives in the program's folder: the first save goes to Documents / home
    assert name.parent in (Path.home() / "Documents", Path.home())
    dialog.close()


def test_print_dialog_adds_the_whole_table_page_unless_declined(window, qtbot):
    window.act_print.trigger()
    dialog = window.outputs.last_print_dialog
    assert dialog.table_page.isChecked()  # the region page's own table is cut to what fits
    dialog.table_page.setChecked(False)
    dialog._remember()
    dialog.close()
    window.act_print.trigger()
    again = window.outputs.last_print_dialog
    assert not again.table_page.isChecked()  # the user's choice is kept
    again.close()


def _result_titles(window) -> list[str]:
    return [layer.title for layer in window.stack if layer.result]


def _panel_texts(window) -> list[str]:
    tree = window.layer_panel.tree
    return [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]


def test_result_layers_carry_the_scenario_name(window, qtbot):
    run_analysis(qtbot, window)
    titles = _result_titles(window)
    assert "Villages by access gap" in titles and "Travel time to primary care (min)" in titles
    assert not any("—" in t for t in titles)
    window.scenarios.new_scenario(name="Clinic at Kani")
    window.scenarios.push_edit(dict(ADD))
    run_analysis(qtbot, window)
    titles = _result_titles(window)
    assert "Villages by access gap — Clinic at Kani" in titles
    assert "Travel time to primary care (min) — Clinic at Kani" in titles
    assert "Catchments, primary care (bands) — Clinic at Kani" in titles
    assert all(t.endswith(" — Clinic at Kani") for t in titles)
    assert any(t.startswith("Villages by access gap — Clinic at Kani") for t in _panel_texts(window))
    # back on the baseline (its result comes from the cache) the names lose the suffix
    window.scenarios.activate_scenario(None)
    wait_idle(qtbot, window)
    assert window.result.scenario is None
    assert "Villages by access gap" in _result_titles(window)
    assert not any("Clinic at Kani" in t for t in _result_titles(window) + _panel_texts(window))
