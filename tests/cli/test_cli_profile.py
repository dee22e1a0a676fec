"""``coverage-app analyse --profile``: seconds per stage on the terminal and in run.json."""

import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_profile_names_every_stage_and_adds_up_to_the_whole_process(tmp_path):
    out = tmp_path / "out"
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "coverage_app", "analyse", "--out", str(out), "--cell-size", "2000",
                          "--quiet", "--profile"], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    assert run.returncode == 0, run.stderr
    table = {line.rsplit(None, 2)[0].strip(): line for line in run.stdout.splitlines()[1:]}
    for name in ("start-up (interpreter)", "imports", "imports (analysis modules)", "read project and layers",
                 "numba cache load (engine and catchment kernels)", "grid + friction (reproject, rasterise)",
                 "search + catchment shapes (2 threads, wall)", "search: primary", "search: secondary",
                 "tables (villages, townships, capacity)", "catchment polygons (dissolve, population)",
                 "export: coverage.gpkg villages", "export: villages.shp", "export: travel_time_primary.tif",
                 "export: allocation_secondary.tif", "export: CSV tables", "sum"):
        assert name in table, name
    assert "(over)" in table["search: primary"]
    timings = json.loads((out / "run.json").read_text())["timings"]
    assert timings["search: primary"] > 0 and "search: primary" in timings["overlapped"]
    order = list(timings)  # the GeoTIFFs written early, as the searches end, are listed with the export
    assert order.index("grid + friction (reproject, rasterise)") < order.index("export: travel_time_primary.tif")
    assert {"export: travel_time_primary.tif", "export: allocation_secondary.tif"} <= set(timings["overlapped"])
    # a second clock: the stages (up to run.json) cover most of the process as timed from outside it
    total = float(table["sum"].split()[-1])
    assert 0.6 * wall < total <= wall, (total, wall)


def test_without_profile_nothing_is_printed_and_run_json_has_no_timings(tmp_path):
    from coverage_app.cli import main

    out = tmp_path / "out"
    assert main(["analyse", "--out", str(out), "--cell-size", "2000", "--quiet", "--format", "gpkg"]) == 0
    assert "timings" not in json.loads((out / "run.json").read_text())


def test_safe_share_computes_no_catchments_and_exports_none(tmp_path):
    import pyogrio

    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "coverage_app", "analyse", "--out", str(out), "--cell-size", "2000",
                          "--quiet", "--profile", "--safe-share", "--format", "gpkg"], cwd=REPO, capture_output=True,
                         text=True)
    assert run.returncode == 0, run.stderr
    timings = json.loads((out / "run.json").read_text())["timings"]
    # not computed, not only not written
    assert timings["catchment polygons (dissolve, population)"] == 0 == timings["catchment shapes (inside the wall)"]
    assert "catchments" not in [name for name, _ in pyogrio.list_layers(out / "coverage.gpkg")]
    assert not list(out.glob("*.tif"))
