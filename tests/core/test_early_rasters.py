"""Travel-time GeoTIFFs written as each tier's search ends (early_rasters.EarlyRasters): the same files as
a plain export, all-or-nothing on failure, nothing left behind, stale folders of ended runs removed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.errors import InputError
from coverage_app.core.outputs import early_rasters as early_mod
from coverage_app.core.outputs.early_rasters import EarlyRasters
from coverage_app.core.outputs.export import export_coverage

TIFS = ("travel_time_primary.tif", "allocation_primary.tif", "travel_time_secondary.tif", "allocation_secondary.tif")


@pytest.fixture(scope="module")
def project_data(bundled_project_path):
    project = load_project(bundled_project_path)
    return project, load_project_data(project), project.params.replace(cell_size_m=1500.0, mode="car")


def _rasters(folder):
    out = {}
    for name in TIFS:
        with rasterio.open(folder / name) as src:
            out[name] = (src.read(1), src.tags(), src.descriptions, src.nodata, src.transform, src.crs)
    return out


def _leftovers(out):
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.rasters-"))


def test_early_rasters_equal_a_plain_export_and_leave_nothing_behind(project_data, tmp_path):
    project, data, params = project_data
    out, plain = tmp_path / "out", tmp_path / "plain"
    calls = []
    with EarlyRasters(out, params.mode) as early:
        def on_tier(tier, tier_result, grid):
            calls.append(tier)
            early.tier_done(tier, tier_result, grid)

        result = run_analysis(data, params, on_tier=on_tier)
        assert sorted(calls) == ["primary", "secondary"]
        assert early.tiers_for(result) == calls
        export_coverage(result, out, ("gpkg",), project=project, early=early)
        assert [p.name for p in early.folder.iterdir()] == [".owner"]  # every file was moved into the export
    export_coverage(result, plain, ("gpkg",), project=project)
    assert _leftovers(out) == []
    a, b = _rasters(out), _rasters(plain)
    for name in TIFS:
        assert np.array_equal(a[name][0], b[name][0]), name
        assert a[name][1:] == b[name][1:], name
    assert (out / "allocation_facilities.csv").read_bytes() == (plain / "allocation_facilities.csv").read_bytes()
    assert set(TIFS) <= set(json.loads((out / "run.json").read_text())["files"])


def test_early_rasters_of_another_run_are_not_used(project_data, tmp_path):
    """Files written from another result's arrays (here another travel mode) are not moved in: the
    export writes this result's own."""
    project, data, params = project_data
    out, plain = tmp_path / "out", tmp_path / "plain"
    walking = run_analysis(data, params.replace(mode="walking"))
    with EarlyRasters(out, "car") as early:
        car = run_analysis(data, params, on_tier=early.tier_done)
        assert early.tiers_for(walking) == []
        export_coverage(walking, out, ("gpkg",), project=project, early=early)
        assert sorted(p.name for p in early.folder.iterdir()) == sorted([*TIFS, ".owner"])  # removed on exit
    assert _leftovers(out) == []
    export_coverage(walking, plain, ("gpkg",), project=project)
    a, b = _rasters(out), _rasters(plain)
    assert all(np.array_equal(a[n][0], b[n][0]) and a[n][1] == b[n][1] for n in TIFS)
    assert a["travel_time_primary.tif"][1]["mode"] == "walking"
    assert not np.array_equal(car.tiers["primary"].minutes, walking.tiers["primary"].minutes, equal_nan=True)


def test_a_failed_early_write_keeps_the_previous_export(project_data, tmp_path, monkeypatch):
    project, data, params = project_data
    out = tmp_path / "out"
    result = run_analysis(data, params)
    export_coverage(result, out, ("gpkg",), project=project)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(early_mod, "write_tier_rasters", disk_full)
    with EarlyRasters(out, params.mode) as early:
        again = run_analysis(data, params, on_tier=early.tier_done)
        with pytest.raises(InputError, match="No space left on device.*previous files in the folder are unchanged"):
            export_coverage(again, out, ("gpkg",), project=project, early=early)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _leftovers(out) == [] and not list(tmp_path.glob(".out.export-*"))


def test_a_failed_run_leaves_no_early_folder(project_data, tmp_path):
    _, data, params = project_data
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="stopped"):
        with EarlyRasters(out, params.mode) as early:
            def on_tier(tier, tier_result, grid):
                early.tier_done(tier, tier_result, grid)
                raise RuntimeError("stopped")

            run_analysis(data, params, on_tier=on_tier)
    assert _leftovers(out) == [] and not out.exists()  # nor the output folder the run had made


def test_the_next_export_removes_early_folders_of_ended_runs_only(project_data, tmp_path):
    """A run killed while writing leaves ``.out.rasters-PID-*``: removed by the next export of that
    folder once its writer has ended (its owner file is no longer locked, whichever machine ran it);
    a running writer's folder is kept, and so is a folder made a moment ago whose owner file is not
    there yet; an old one without it is removed."""
    project, data, params = project_data
    out = tmp_path / "out"
    killed = subprocess.run([sys.executable, "-c", (
        "import os, sys\n"
        "from coverage_app.core.outputs.early_rasters import EarlyRasters\n"
        f"e = EarlyRasters({str(out)!r}, 'car')\n"
        "(e.folder / 'travel_time_primary.tif').write_bytes(b'half')\n"
        "print(e.folder.name)\n"
        "os._exit(0)\n")], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2]).stdout.strip()
    stale = tmp_path / killed
    assert stale.is_dir() and (stale / ".owner").exists()
    fresh, old = tmp_path / ".out.rasters-1-fresh", tmp_path / ".out.rasters-2-old"
    for folder in (fresh, old):
        folder.mkdir()
    os.utime(old, (1e9, 1e9))
    with EarlyRasters(out, params.mode) as live:
        export_coverage(run_analysis(data, params), out, ("gpkg",), project=project)
        assert not stale.exists() and not old.exists()
        assert live.folder.exists() and fresh.exists()


def test_a_failed_run_leaves_the_output_folder_to_an_export_writing_it(project_data, tmp_path):
    """The empty output folder a failed run made is removed only when no export holds its lock: one
    that started meanwhile (the lock held here) keeps the folder it writes into."""
    from coverage_app.core.atomic import folder_lock

    out = tmp_path / "out"
    with folder_lock(out):  # another export of the same folder, under way
        with pytest.raises(RuntimeError):
            with EarlyRasters(out, "car"):
                raise RuntimeError("the run failed")
        assert out.is_dir()
    with pytest.raises(RuntimeError):  # alone, the same failure leaves nothing
        with EarlyRasters(tmp_path / "again", "car"):
            raise RuntimeError("the run failed")
    assert not (tmp_path / "again").exists()
