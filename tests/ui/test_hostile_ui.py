"""Issue 12 through the window: a damaged autosave is kept, hostile projects and layers give the
designed messages (no hang on a FIFO, no connection for a remote VRT)."""

import json
import os
from pathlib import Path

import pytest

from coverage_app.ui import dialogs

from .conftest import errors_shown, make_window, run_analysis, wait_idle


def test_damaged_autosave_is_kept_after_the_dialog_says_so(qtbot, monkeypatch, isolated_app_state):
    folder = isolated_app_state
    folder.mkdir(parents=True, exist_ok=True)
    damaged = b'{"format": "coverage-app-project", "version": 1, "layers": [ {"path": "sag'  # cut off mid-write
    (folder / "autosave.covproj").write_bytes(damaged)
    (folder / "autosave.json").write_text(json.dumps({"name": "Sagaing plan", "saved": "2026-12-01T18:00:00"}))
    (folder / "session.lock").write_text("{}")
    monkeypatch.setattr(dialogs, "ask", lambda *a, **k: True)  # "Recover it?" -> Yes
    win = make_window(qtbot)
    try:
        [error] = [s for s in errors_shown() if s.title == "Recover project"]
        assert "left untouched" in error.text and "was kept as" in error.text
        kept = sorted(folder.glob("autosave-damaged-*.covproj"))
        assert len(kept) == 1 and kept[0].read_bytes() == damaged and str(kept[0]) in error.text
        assert win.project.name.startswith("Sagaing")  # the bundled project opened instead
    finally:
        win.dirty = False
        win.close()
        win.tasks.shutdown(20000)
    assert kept[0].exists()  # a clean exit discards the autosave, not the kept damaged copy


def test_window_opens_a_bom_project_with_windows_paths(window, qtbot, tmp_path, bundled_project_path):
    data = json.loads(bundled_project_path.read_text(encoding="utf-8"))
    for ref in data["layers"]:
        src = bundled_project_path.parent / ref["path"]
        dst = tmp_path / src.name
        if not dst.exists():
            dst.write_bytes(src.read_bytes())
        ref["path"] = "D:\\field\\sagaing\\" + src.name
    path = tmp_path / "from_windows.covproj"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(data).encode("utf-8"))
    dialogs.shown.clear()
    with qtbot.waitSignal(window.project_loaded, timeout=60000):
        assert window.projects.open_project(str(path))
    assert len(window.data.layers) + len(window.data.rasters) == len(window.project.layers)
    [report] = [s for s in dialogs.shown if s.title == "Problems in the project's layers"]
    assert report.kind == "warning" and "D:\\field\\sagaing\\sagaing.gpkg was not found; using sagaing.gpkg" \
        in report.text


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_window_refuses_a_fifo_project_and_layers(window, qtbot, tmp_path):
    os.mkfifo(tmp_path / "p.covproj")
    dialogs.shown.clear()
    assert window.projects.open_project(str(tmp_path / "p.covproj")) is False
    assert "FIFO" in errors_shown()[-1].text
    os.mkfifo(tmp_path / "dem.tif")
    window.layers.add_layer(str(tmp_path / "dem.tif"), "dem")
    assert "FIFO" in errors_shown()[-1].text
    vrt = tmp_path / "remote.vrt"
    vrt.write_text('<VRTDataset rasterXSize="1" rasterYSize="1"><VRTRasterBand dataType="Byte" band="1">'
                   "<SimpleSource><SourceFilename>/vsicurl/https://example.org/dem.tif</SourceFilename>"
                   "</SimpleSource></VRTRasterBand></VRTDataset>")
    window.layers.add_layer(str(vrt), "dem")
    assert "never connects to the network" in errors_shown()[-1].text
    assert all(Path(r.path).name not in ("dem.tif", "remote.vrt") for r in window.project.layers)


def test_nan_band_and_a_grid_too_big_for_memory_reach_a_dialog(window, qtbot, monkeypatch):
    window.analysis_panel.bands.setText("30, nan")
    dialogs.shown.clear()
    window.analysis.run_analysis()
    assert "Catchment bands must be a finite number of minutes (band_minutes), not nan" in errors_shown()[-1].text
    window.analysis_panel.bands.setText("30, 60, 120")
    monkeypatch.setenv("COVERAGE_APP_MEMORY_LIMIT_MB", "50")
    window.analysis.run_analysis()  # the bundled project's 250 m grid needs about 320 MB
    qtbot.waitUntil(lambda: len(errors_shown()) >= 2, timeout=60000)
    text = errors_shown()[-1].text
    assert "of memory, but only 50 MB is available; use a cell size of" in text
    assert window.result is None or window.result.grid.cell_size_m != 250


def test_disk_full_and_safe_share_through_the_export_dialog(window, qtbot, tmp_path, monkeypatch):
    import errno

    from coverage_app.core.outputs import export as export_mod

    from .conftest import run_analysis

    result = run_analysis(qtbot, window)
    out = tmp_path / "export"
    choice = {"safe": False}

    def accept(dialog):
        dialog.folder.setText(str(out))
        dialog.safe.setChecked(choice["safe"])
        # safe-share Shapefiles need the short field names of wave/numbers (issue 11)
        dialog.shp.setChecked(not choice["safe"] or hasattr(export_mod, "shapefile_columns"))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", accept)
    window.outputs.export_dialog()
    qtbot.waitUntil(lambda: any(s.title == "Export coverage" for s in dialogs.shown), timeout=60000)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = export_mod.write_table
    calls = []

    def full_disk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(export_mod, "write_table", full_disk)
    dialogs.shown.clear()
    window.outputs.export_dialog()
    qtbot.waitUntil(lambda: bool(errors_shown()), timeout=60000)
    assert "the export failed (No space left on device); the previous files in the folder are unchanged" \
        in errors_shown()[-1].text
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    monkeypatch.setattr(export_mod, "write_table", real)
    choice["safe"] = True
    dialogs.shown.clear()
    window.outputs.export_dialog()
    qtbot.waitUntil(lambda: any(s.title == "Export coverage" for s in dialogs.shown) or bool(errors_shown()),
                    timeout=60000)
    assert not errors_shown()
    record = json.loads((out / "run.json").read_text())
    assert record["safe_share"] is True and not list(out.glob("*.tif"))
    text = (out / "run.json").read_text() + (out / "villages.csv").read_text()
    assert not any(i in text for i in result.facilities["fac_id"].astype(str))
    assert str(tmp_path) not in text


# -- a second pass over the desktop app: hostile files and clicks a planner could really give it --------

def _bundled_copy(tmp_path, bundled_project_path, edit=None, name="hostile.covproj"):
    """The bundled project with absolute layer paths, changed by ``edit(data)``, written to tmp_path."""
    data = json.loads(bundled_project_path.read_text(encoding="utf-8"))
    for ref in data["layers"]:
        ref["path"] = str(bundled_project_path.parent / ref["path"])
    if edit is not None:
        edit(data)
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_project_with_a_bad_layer_style_is_refused_naming_the_field(window, qtbot, tmp_path,
                                                                     bundled_project_path):
    """A hand-edited style ('stroke_width': 'fat') opened, then the map's paint failed on it on every
    repaint and the app crashed (a segmentation fault after the paint errors)."""
    def fat(data):
        facilities = next(r for r in data["layers"] if r["role"] == "facilities")
        facilities["style"] = {"stroke_width": "fat", "stroke": ["red"]}

    path = _bundled_copy(tmp_path, bundled_project_path, fat)
    before = window.project
    dialogs.shown.clear()
    assert window.projects.open_project(str(path)) is False
    text = errors_shown()[-1].text
    assert str(path) in text and "style.stroke_width' must be a number from 0 to 50, not 'fat'" in text
    assert "style.stroke' must be text" in text and "left untouched" in text
    assert window.project is before and window.data is not None
    window.canvas.grab()  # the map still paints
    assert not window.canvas.grab().isNull()


def test_two_unnamed_layers_of_one_geopackage_are_both_shown(window, qtbot, tmp_path, bundled_project_path):
    """Layers without a name take the file's name: two layers of sagaing.gpkg were both 'sagaing', the
    second replaced the first and the status said '1 of 2 layers loaded' with no message at all."""
    gpkg = str(bundled_project_path.parent / "sagaing.gpkg")
    data = {"format": "coverage-app-project", "version": 1, "name": "Two layers",
            "layers": [{"path": gpkg, "role": "facilities", "layer": "facilities"},
                       {"path": gpkg, "role": "townships", "layer": "townships"}]}
    path = tmp_path / "two.covproj"
    path.write_text(json.dumps(data), encoding="utf-8")
    dialogs.shown.clear()
    with qtbot.waitSignal(window.project_loaded, timeout=60000):
        assert window.projects.open_project(str(path))
    assert sorted(window.data.layers) == ["sagaing", "sagaing (2)"]
    assert {window.data.layers[n].data.geom_type.iloc[0] for n in window.data.layers} >= {"Point"}
    assert window.data.role("facilities") is not None and window.data.role("townships") is not None
    [note] = [s for s in dialogs.shown if s.title == "Problems in the project's layers"]
    assert note.kind == "warning" and "two layers are named 'sagaing'" in note.text and "'sagaing (2)'" in note.text
    assert window.status_message.text().endswith("2 of 2 layers loaded")


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage\x00", b"fac_id;status;date\nX;closed;2024-01-01\n"])
def test_a_status_table_without_good_rows_is_not_offered_a_partial_import(window, qtbot, tmp_path, monkeypatch,
                                                                          content):
    """A table that cannot be read (binary, ';'-separated) was offered "Import the good rows?"; Yes ended in
    an unexpected error (InputError from the second import)."""
    path = tmp_path / "status.csv"
    path.write_bytes(content)
    asked = []
    monkeypatch.setattr(dialogs, "ask", lambda *a, **k: asked.append(a) or True)
    dialogs.shown.clear()
    assert window.numbers.import_status(str(path)) is None
    assert not asked  # nothing to keep: no question
    text = errors_shown()[-1].text
    assert text.startswith("Nothing was imported from status.csv") and "status.csv" in text
    assert window.project.status_ledger == [] and not window.dirty


def test_a_status_date_with_trailing_digits_is_refused_not_cut(window, qtbot, tmp_path):
    """'2024-05-015' was read as 2024-05-01 (the first ten characters): a wrong date, silently."""
    fac_id = str(window.data.role("facilities")["fac_id"].iloc[0])
    path = tmp_path / "status.csv"
    path.write_text(f"fac_id,status,date\n{fac_id},closed,2024-05-015\n{fac_id},partial,2024-06-01 09:30\n",
                    encoding="utf-8")
    dialogs.shown.clear()
    assert window.numbers.import_status(str(path)) is None  # dialogs.ask answers No: nothing imported
    text = errors_shown()[-1].text
    assert "line 2: date '2024-05-015' is not a date like" in text and "line 3" not in text
    assert window.project.status_ledger == []


def test_saving_a_briefing_map_where_no_file_can_be_made_names_the_file(window, qtbot, monkeypatch):
    """/proc takes no new files (even for root): the message was the raw error about the hidden temporary
    file, "[Errno 2] No such file or directory: '/proc/.brief.x1y2.pdf'"."""
    run_analysis(qtbot, window)
    window.act_print.trigger()
    dialog = window.outputs.last_print_dialog
    qtbot.waitUntil(lambda: dialog.previews_rendered >= 1, timeout=60000)
    monkeypatch.setattr(dialogs, "get_save_file", lambda *a, **k: "/proc/brief.pdf")
    dialogs.shown.clear()
    dialog.save_pdf()
    qtbot.waitUntil(lambda: dialog.job is None, timeout=60000)
    text = errors_shown()[-1].text
    assert "/proc/brief.pdf" in text and "Errno" not in text and "/proc/." not in text
    assert "choose another" in text and dialog.status.text() == "Saving the briefing map failed"
    assert dialog.save_pdf_button.isEnabled()  # the dialog is usable again
    dialog.close()


@pytest.mark.parametrize("text", ["95N 200E", "0, 0"])
def test_go_to_a_coordinate_off_the_map_keeps_the_view(window, qtbot, text):
    """'95N 200E' (latitude over 90 in the N/E form) and '0, 0' (far from the map's UTM zone) sent the view
    to (inf, inf): an empty map until Zoom to full."""
    import math

    before = window.canvas.view_state()
    dialogs.shown.clear()
    assert window.gis.goto(text) is False
    assert all(math.isfinite(v) for v in window.canvas.view_state()) and window.canvas.view_state() == before
    assert dialogs.shown[-1].kind == "warning" and dialogs.shown[-1].title == "Go to coordinate"
    assert window.gis.goto("22.5N 95.1E")  # the tool still works


def test_a_facility_clicked_outside_myanmar_is_refused_and_the_scenario_still_runs(window, qtbot, monkeypatch):
    """The click was pushed as an add_facility edit the run refused ('lon' must be a longitude in Myanmar):
    that run failed, and so did every later one, until the edit was undone."""
    run_analysis(qtbot, window)
    monkeypatch.setattr(dialogs, "run_dialog", lambda dialog: True)
    window.tool_actions["add"].trigger()
    x, y = window.canvas.lonlat_to_map(100.0, 5.0)  # the sea south of Myanmar
    dialogs.shown.clear()
    window.scenarios.add_tool(x, y)
    wait_idle(qtbot, window)
    [warning] = dialogs.shown
    assert warning.title == "Add facility" and "outside Myanmar" in warning.text and "100.00° E, 5.00° N" in warning.text
    assert window.scenarios.active_scenario() is None or not window.scenarios.active_scenario()["edits"]
    x, y = window.canvas.lonlat_to_map(95.1, 22.5)
    with qtbot.waitSignal(window.result_shown, timeout=60000):
        window.scenarios.add_tool(x, y)  # a click inside still adds and updates
    wait_idle(qtbot, window)
    assert not errors_shown() and window.scenarios.active_scenario()["edits"][-1]["type"] == "add_facility"


def test_a_zone_too_small_to_keep_is_not_added(window, qtbot, monkeypatch):
    """A zone a few centimetres across has an area, but not once its corners are rounded to the project's
    6 decimals: the edit was added anyway, its update failed, and every later run failed on it."""
    import shapely

    run_analysis(qtbot, window)
    monkeypatch.setattr(dialogs, "run_dialog", lambda dialog: True)
    dialogs.shown.clear()
    assert window.gis.zones.add_zone(shapely.box(95.1, 22.5, 95.1000002, 22.5000002)) is None
    assert "too small to keep" in window.status_message.text()
    assert window.scenarios.active_scenario() is None or not window.scenarios.active_scenario()["edits"]
    assert window.gis.zones.add_zone(shapely.box(95.1, 22.5, 95.2, 22.6)) is not None
    wait_idle(qtbot, window)
    window.analysis.run_analysis()
    wait_idle(qtbot, window)
    assert not errors_shown() and window.result.scenario["edits"][-1]["type"] == "add_zone"


def test_a_damaged_raster_says_it_was_not_added(window, qtbot, tmp_path, monkeypatch, bundled_project_path):
    """The error dialog came, but the status bar kept "Reading lc.tif" as if the file were still read."""
    tif = (bundled_project_path.parent / "landcover_sentinel2_sample.tif").read_bytes()
    path = tmp_path / "lc.tif"
    path.write_bytes(tif[: len(tif) // 3])
    monkeypatch.setattr(dialogs, "run_dialog", lambda dialog: True)
    n = len(window.project.layers)
    dialogs.shown.clear()
    window.layers.add_layer_files([str(path)])
    qtbot.waitUntil(lambda: bool(errors_shown()), timeout=30000)
    wait_idle(qtbot, window)
    assert "lc.tif: cannot be read as a raster" in errors_shown()[-1].text
    assert window.status_message.text() == "“lc” was not added" and len(window.project.layers) == n
