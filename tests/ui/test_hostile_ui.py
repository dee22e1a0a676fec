"""Issue 12 through the window: a damaged autosave is kept, hostile projects and layers give the
designed messages (no hang on a FIFO, no connection for a remote VRT)."""

import json
import os
from pathlib import Path

import pytest

from coverage_app.ui import dialogs

from .conftest import errors_shown, make_window


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
