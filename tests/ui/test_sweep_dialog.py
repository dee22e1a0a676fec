"""The Sweep dialog, driven in the real window on the bundled project (offscreen): a run
through the task runner with progress, the probability layer on the map with the graduated
style from core symbology, the as-of chart, and cancel."""

import numpy as np
from PySide6.QtCore import Qt

from coverage_app.core.analysis.sweep import run_sweep
from coverage_app.core.analysis.sweep_spec import parse_spec
from coverage_app.core.outputs import symbology as sym

from .conftest import FAST_CELL_M, errors_shown, wait_idle


def open_dialog(qtbot, window):
    from PySide6.QtWidgets import QPushButton

    button = window.results.findChild(QPushButton, "sweep_button")
    qtbot.mouseClick(button, Qt.LeftButton)
    dialog = window.sweeps.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.cell.setValue(FAST_CELL_M)
    dialog.draws.setValue(5)
    dialog.seed.setValue(9)
    return dialog


def test_sweep_dialog_runs_and_maps_probabilities(qtbot, window, tmp_path):
    dialog = open_dialog(qtbot, window)
    dialog.modes["motorbike"].setChecked(True)
    dialog.out_dir.setText(str(tmp_path / "out"))
    seen = []
    dialog.progress.valueChanged.connect(seen.append)
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=120000)
    wait_idle(qtbot, window)
    assert not errors_shown()
    assert seen and max(seen) == 1000  # progress reached the bar
    result = dialog.result
    # the same spec run in the test equals what the dialog got (the seed decides everything)
    again = run_sweep(parse_spec(dialog.spec_dict(), project=window.project), scheduler="serial", data=window.data)
    assert np.array_equal(again.villages["p_prim"], result.villages["p_prim"])
    assert (tmp_path / "out" / "sweep.gpkg").exists() and (tmp_path / "out" / "run.json").exists()
    layer = window.session.result_layers["sweep_probability"]
    assert layer in window.stack.layers and layer.visible and layer.role == "access_probability"
    assert "primary" in layer.title and "walking" in layer.title, layer.title
    classes = layer.classes()
    styles = {c.style.fill for c in classes}
    assert styles == set(sym.ACCESS_PROBABILITY_COLOURS)
    counted = sum(len(c.rows) for c in classes)
    assert counted == len(layer.frame) == (result.villages["case"] == 0).sum()
    # each village is in the class of its probability
    p = layer.frame["p_prim"].to_numpy()
    for i, c in enumerate(reversed(classes)):
        assert all(sym.access_probability_class(v) == i for v in p[c.rows])
    # switch to the motorbike case, secondary care: the layer follows
    dialog.case.setCurrentIndex(1)
    dialog.tier.setCurrentIndex(1)
    assert "secondary" in layer.title and "motorbike" in layer.title and layer.style["field"] == "p_sec"
    assert np.array_equal(layer.frame["p_sec"].to_numpy(),
                          result.villages.loc[result.villages["case"] == 1, "p_sec"].to_numpy())
    assert "Primary %" in dialog.summary.text()
    assert len(dialog.chart.figure.axes[0].lines) == 2  # median lines, primary and secondary


def test_sweep_dialog_cancel(qtbot, window):
    dialog = open_dialog(qtbot, window)
    dialog.draws.setValue(400)
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.progress.value() > 120, timeout=60000)  # drawing has begun
    qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.status.text() == "Sweep cancelled", timeout=60000)
    wait_idle(qtbot, window)
    assert dialog.result is None and dialog.run_button.isEnabled() and not errors_shown()


def test_bad_spec_file_is_reported(qtbot, window, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("version = 3\n", encoding="utf-8")
    dialog = open_dialog(qtbot, window)
    dialog.spec_path.setText(str(bad))
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "stopped" in dialog.status.text(), timeout=60000)
    assert "sweep spec key 'version'" in dialog.status.text()
    assert dialog.run_button.isEnabled()


def test_sweep_dialog_on_a_local_cluster(qtbot, window):
    dialog = open_dialog(qtbot, window)
    dialog.draws.setValue(3)
    dialog.run_on.setCurrentIndex(dialog.run_on.findData("local"))
    dialog.workers.setValue(2)
    assert dialog.workers.isEnabled() and not dialog.address.isEnabled()
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None or "stopped" in dialog.status.text(), timeout=180000)
    wait_idle(qtbot, window)
    result = dialog.result
    assert result is not None, dialog.status.text()
    assert result.workers == 2 and result.scheduler.startswith("tcp://127.0.0.1:")
    serial = run_sweep(parse_spec(dialog.spec_dict(), project=window.project), scheduler="serial", data=window.data)
    assert np.array_equal(serial.villages["p_prim"], result.villages["p_prim"])
    assert np.array_equal(serial.draw_table["share_sec"], result.draw_table["share_sec"])
