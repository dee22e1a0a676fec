"""Issue 13 item 7: the add-layer mapping table shows every field's name (no stray
drop-down over it), warnings name the file, and an added layer of a role the project
already has is drawn distinctly."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from coverage_app.core.data.viewmodel import inspect_file
from coverage_app.ui import dialogs
from coverage_app.ui.layer_dialogs import AddLayerDialog


def _facilities_file(tmp_path, bundled_gpkg, bad_status_row=None):
    import geopandas as gpd

    frame = gpd.read_file(bundled_gpkg, layer="facilities").head(30)
    frame["fac_id"] = [f"EXTRA-{i:03d}" for i in range(len(frame))]
    if bad_status_row is not None:
        frame.loc[frame.index[bad_status_row], "status"] = "half open"
    path = tmp_path / "extra_facilities.geojson"
    frame.to_file(path)
    return path


def test_mapping_table_has_one_drop_down_per_field(qtbot, tmp_path, bundled_gpkg):
    dialog = AddLayerDialog(inspect_file(str(_facilities_file(tmp_path, bundled_gpkg))))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_role("reference")
    dialog.set_role("facilities")
    qtbot.wait(10)
    table = dialog.table
    combos = [c for c in table.viewport().findChildren(QComboBox) if c.isVisible()]
    assert len(combos) == table.rowCount()
    for row in range(table.rowCount()):
        name_cell = table.visualItemRect(table.item(row, 0))
        assert not any(c.geometry().intersects(name_cell) for c in combos), table.item(row, 0).text()
    assert dialog.mapping()["fac_id"] == "fac_id"


def test_added_facilities_look_different(window, qtbot, tmp_path, bundled_gpkg, monkeypatch):
    path = _facilities_file(tmp_path, bundled_gpkg)
    monkeypatch.setattr(dialogs, "run_dialog", lambda dialog: True)
    with qtbot.waitSignal(window.layer_added, timeout=20000, raising=False) as blocker:
        window.layers.add_layer_files([str(path)])
    assert blocker.signal_triggered, [(s.title, s.text) for s in dialogs.shown]
    layer = blocker.args[0]
    assert layer.role == "facilities" and layer.ref.style["stroke"] == "#ff7f00"
    own = window.stack.by_title("Health facilities")
    assert {c.style.stroke for c in layer.classes() if c.rows is None or len(c.rows)} == {"#ff7f00"}
    assert all(c.style.marker == "D" for c in layer.classes())
    assert "#ff7f00" not in {c.style.stroke for c in own.classes()}


def test_problems_of_an_added_file_name_the_file_and_row(window, qtbot, tmp_path, bundled_gpkg, monkeypatch):
    path = _facilities_file(tmp_path, bundled_gpkg, bad_status_row=5)
    monkeypatch.setattr(dialogs, "run_dialog", lambda dialog: True)
    n = len(window.stack.layers)
    window.layers.add_layer_files([str(path)])
    qtbot.waitUntil(lambda: any(s.title == "Add layer" for s in dialogs.shown), timeout=20000)
    text = next(s.text for s in dialogs.shown if s.title == "Add layer")
    assert "extra_facilities.geojson" in text and "row 6" in text and "'status'" in text
    assert len(window.stack.layers) == n  # nothing half-added
