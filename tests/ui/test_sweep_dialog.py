"""The Sweep dialog, driven in the real window on the bundled project (offscreen): a run
through the task runner with progress, the probability layer on the map with the graduated
style from core symbology, the as-of chart, cancel, and a spec file: what it sets shown in
place of the dialog's own fields, or why it cannot be used."""

import shutil

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
    # two modes are two cases, not a series: a median with 5-95 % whiskers per case and tier, no line joins them
    ax = dialog.chart.figure.axes[0]
    assert len(ax.containers) == 2 and all(len(c.lines[0].get_xdata()) == 2 for c in ax.containers)
    assert all(c.lines[0].get_linestyle() == "None" for c in ax.containers)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(result.series["label"])


def test_sweep_dialog_cancel(qtbot, window):
    dialog = open_dialog(qtbot, window)
    dialog.draws.setValue(400)
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.progress.value() > 120, timeout=60000)  # drawing has begun
    qtbot.mouseClick(dialog.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.status.text() == "Sweep cancelled", timeout=60000)
    wait_idle(qtbot, window)
    assert dialog.result is None and dialog.run_button.isEnabled() and not errors_shown()


def write_spec(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def shown_in_draws_box(dialog):
    """What a planner sees in the Draws box: the visible fields' texts and the ticked modes."""
    from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QGroupBox, QLabel

    box = dialog.findChild(QGroupBox)
    texts = [w.text() for w in box.findChildren(QAbstractSpinBox) + box.findChildren(QLabel) if w.isVisible()]
    ticked = [w.text() for w in box.findChildren(QCheckBox) if w.isVisible() and w.isChecked()]
    return texts, ticked


SPEC = """
version = 1
draws = 3
seed = 11
[analysis]
cell_size_m = 2000.0
[cases]
modes = ["car"]
[vary]
unknown_functioning = 0.6
speeds = { uniform = [0.8, 1.2] }
zone_delay = { normal = [1.0, 0.2] }
[vary.params]
primary_minutes = { choice = [45, 60, 75] }
"""


def test_spec_file_values_replace_the_typed_fields(qtbot, window, tmp_path):
    """With a spec file the Draws box shows what the file sets, not the values typed before (which
    were greyed out and still shown); clearing the file gives the typed values back, editable;
    what is shown is what runs."""
    from PySide6.QtWidgets import QLabel

    dialog = open_dialog(qtbot, window)
    dialog.draws.setValue(250)
    dialog.seed.setValue(42)
    dialog.speed_pm.setValue(35)
    dialog.unknown_p.setValue(0.9)
    dialog.cell.setValue(1000)
    dialog.modes["motorbike"].setChecked(True)
    typed = dialog.spec_dict()
    dialog.spec_path.setText(str(write_spec(tmp_path, SPEC)))

    def spec_shown():
        assert "3 per case" in shown_in_draws_box(dialog)[0], shown_in_draws_box(dialog)

    qtbot.waitUntil(spec_shown, timeout=5000)  # the file is read just after the last keystroke
    texts, ticked = shown_in_draws_box(dialog)
    for stale in ("250", "42", "35.00 %", "0.90", "1000 m"):
        assert stale not in texts, (stale, texts)
    assert "motorbike" not in ticked and "walking" not in ticked
    shown = {key: dialog.findChild(QLabel, f"sweep_spec_{key}") for key in
             ("draws", "seed", "speeds", "zones", "unknown", "cell", "modes")}
    assert all(label is not None and label.isVisible() for label in shown.values()), shown
    assert {k: v.text() for k, v in shown.items()} == {
        "draws": "3 per case", "seed": "11", "speeds": "±\u00a020\u00a0% (uniform 0.8–1.2)",
        "zones": "speed factors not varied; delays ×\u00a0mean 1, sd 0.2 (normal)", "unknown": "0.6",
        "cell": "2000 m", "modes": "car"}
    note = dialog.findChild(QLabel, "sweep_spec_note")
    assert note.isVisible() and "1 case (car; as of today; baseline)" in note.text()
    assert "primary_minutes one of 45, 60, 75" in note.text() and "not on the open project" not in note.text()
    assert dialog.status.text() == "The spec file sets this sweep: press Run."
    # no spec file: the typed values, editable again
    dialog.spec_path.setText("")
    assert dialog.status.text() == "Set the ranges and press Run."
    assert not note.isVisible() and not any(label.isVisible() for label in shown.values())
    assert all(w.isVisible() and w.isEnabled() for w in (dialog.draws, dialog.seed, dialog.speed_pm, dialog.cell))
    typed_back = (dialog.draws.value(), dialog.seed.value(), dialog.speed_pm.value(), dialog.cell.value())
    assert typed_back == (250, 42, 35, 1000)
    assert dialog.modes["motorbike"].isChecked() and dialog.modes["motorbike"].isVisible()
    assert dialog.spec_dict() == typed
    # a spec file naming another project says that it does not run on the open one
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(window.project.path, other / "copy.covproj")
    elsewhere = write_spec(tmp_path, 'version = 1\nproject = "other/copy.covproj"\n', "elsewhere.toml")
    dialog.spec_path.setText(str(elsewhere))
    qtbot.waitUntil(lambda: "copy.covproj" in note.text(), timeout=5000)
    assert "not on the open project" in note.text()
    assert shown["unknown"].text() == "not drawn (they count as functioning)"
    # the spec file runs as shown
    dialog.spec_path.setText(str(tmp_path / "spec.toml"))
    qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=120000)
    wait_idle(qtbot, window)
    assert not errors_shown()
    assert len(dialog.result.draws) == 3 and [c.mode for c in dialog.result.cases] == ["car"]
    assert dialog.spec_fields["draws"].text() == "3 per case"


def test_bad_spec_file_is_reported(qtbot, window, tmp_path):
    """A spec file that cannot be used says why, in the dialog as soon as it is named and again
    on Run (which then does not start); its fields say the file decides, not the typed values."""
    from coverage_app.ui import dialogs

    folder = tmp_path / "a_folder.toml"
    folder.mkdir()
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00draws")
    cases = [(write_spec(tmp_path, "version = 3\n", "bad.toml"), "sweep spec key 'version'"),
             (tmp_path / "missing.toml", "the sweep spec file does not exist"),
             (folder, "it is a folder, not a file"),
             (write_spec(tmp_path, "version = 1\ndraws = \n", "broken.toml"), "not valid TOML"),
             (binary, "not a UTF-8 text file"),
             (write_spec(tmp_path, "version = 1\n[cases]\nmodes = ['horse']\n", "horse.toml"),
              "unknown travel mode 'horse'")]
    dialog = open_dialog(qtbot, window)
    dialog.draws.setValue(250)
    for path, words in cases:
        dialogs.shown.clear()
        dialog.spec_path.setText(str(path))

        def told(words=words):
            texts = shown_in_draws_box(dialog)[0]
            assert [t for t in texts if t.startswith("This spec file cannot be used: ") and words in t], texts

        qtbot.waitUntil(told, timeout=5000)
        texts, ticked = shown_in_draws_box(dialog)
        assert "250" not in texts and not ticked and texts.count("set by the spec file") == 7
        qtbot.mouseClick(dialog.run_button, Qt.LeftButton)
        assert dialog.status.text().startswith("The sweep did not start: ") and words in dialog.status.text()
        shown = errors_shown()
        assert len(shown) == 1 and words in shown[0].text and "Something went wrong" not in shown[0].text
        assert not [t for t in window.tasks.running if t.group != "warmup"]  # nothing started
        assert dialog.run_button.isEnabled() and dialog.result is None


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


def test_the_chart_joins_dates_and_keeps_cases_apart(qtbot):
    """An as-of series is a line in time with its 5-95 % band; separate cases (modes, a single
    case) are a median with whiskers each, which no line joins (a line would read as a trend)."""
    import datetime as dt

    import pandas as pd
    from matplotlib.collections import PolyCollection

    from coverage_app.ui.sweep_dialog import SeriesChart

    def bands(ax):
        return [c for c in ax.collections if isinstance(c, PolyCollection)]

    def series(as_of, labels):
        n = len(labels)
        return pd.DataFrame({"as_of": as_of, "label": labels, **{f"{t}_pct{q}": [10.0 + q / 10 + i for i in range(n)]
                                                                for t in ("prim", "sec") for q in (5, 50, 95)}})

    chart = SeriesChart()
    qtbot.addWidget(chart)
    chart.plot(series([dt.date(2023, m, 1) for m in (1, 2, 3)], ["Jan", "Feb", "Mar"]))
    ax = chart.figure.axes[0]
    assert len(ax.lines) == 2 and not ax.containers and len(bands(ax)) == 2  # medians and bands
    for labels in (["walking", "car"], ["walking"]):
        chart.plot(series([None] * len(labels), labels))
        ax = chart.figure.axes[0]
        assert len(ax.containers) == 2 and not bands(ax)
        assert all(c.lines[0].get_linestyle() == "None" for c in ax.containers)
        assert [t.get_text() for t in ax.get_xticklabels()] == labels


def test_a_spec_file_without_a_project_sweeps_the_open_project(tmp_path):
    """In the app a spec file that names no project runs on the project that is open (the command
    line's default, the bundled project, would put Sagaing's villages over the user's own map); one
    that names a project runs on that one."""
    from coverage_app.core.analysis.sweep_spec import load_spec
    from coverage_app.core.data.project import bundled_project_path
    from coverage_app.ui import jobs
    from tests.synthetic import facility, load, make_project, village

    project = make_project(tmp_path / "own", facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("A", 1000, 0), village("B", 3000, 0), village("C", 9000, 0)])
    project.params = project.params.replace(primary_minutes=45.0)
    data = load(project)
    spec_file = write_spec(tmp_path, "version = 1\ndraws = 2\nseed = 3\n[analysis]\ncell_size_m = 1000.0\n"
                           "[vary]\nspeeds = { uniform = [0.8, 1.2] }\n", "no_project.toml")
    spec = load_spec(spec_file, project=data.project)
    assert spec.project_path is None and spec.base_params.primary_minutes == 45.0
    result = jobs.sweep(spec_file, data)
    assert sorted(result.villages["pcode"].astype(str).unique()) == ["A", "B", "C"]
    # a spec naming a project runs on it, whatever is open
    named = write_spec(tmp_path, f'version = 1\nproject = "{bundled_project_path().as_posix()}"\n'
                       "[analysis]\ncell_size_m = 5000.0\n", "named.toml")
    assert load_spec(named, project=data.project).base_params.primary_minutes == 60.0
