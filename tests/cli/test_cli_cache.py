"""``coverage-app analyse`` run again on the same inputs reads the checked layers and the friction
surface of the first run back (core/runcache.py), and writes the same files as a run without it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd

REPO = Path(__file__).resolve().parents[2]
LAYERS = ("villages", "catchments", "townships", "facilities")


def analyse(out, cache, *extra):
    env = {**os.environ, "COVERAGE_APP_CACHE_DIR": str(cache)}
    run = subprocess.run([sys.executable, "-m", "coverage_app", "analyse", "--out", str(out), "--cell-size", "2000",
                          "--quiet", "--profile", "--format", "both", *extra], cwd=REPO, capture_output=True,
                         text=True, env=env)
    assert run.returncode == 0, run.stderr
    return json.loads((out / "run.json").read_text())


def test_a_second_run_reads_the_first_ones_work_back_and_writes_the_same_files(tmp_path):
    cache = tmp_path / "cache"
    plain = analyse(tmp_path / "plain", "off")
    first = analyse(tmp_path / "first", cache)
    second = analyse(tmp_path / "second", cache)
    assert "grid + friction (reproject, rasterise)" in plain["timings"]
    assert "grid + friction (reproject, rasterise)" in first["timings"]
    assert "grid + friction (read from the cache of earlier runs)" in second["timings"]
    assert len(list((cache / "friction").glob("*.entry"))) == 1 and list((cache / "layers").glob("*.entry"))
    assert not (tmp_path / "off").exists()  # "off" is no folder
    # every file byte for byte (GeoPackage and run.json carry the time they were written)
    for path in sorted((tmp_path / "plain").iterdir()):
        if path.name not in ("coverage.gpkg", "run.json"):
            assert path.read_bytes() == (tmp_path / "second" / path.name).read_bytes(), path.name
    for layer in LAYERS:
        a = gpd.read_file(tmp_path / "plain" / "coverage.gpkg", layer=layer)
        b = gpd.read_file(tmp_path / "second" / "coverage.gpkg", layer=layer)
        assert a.equals(b), layer
    for field in ("problems", "headline", "parameters", "inputs", "grid", "population_basis", "files"):
        assert plain.get(field) == second.get(field), field
    # another mode: another surface, built
    third = analyse(tmp_path / "third", cache, "--mode", "motorbike")
    assert "grid + friction (reproject, rasterise)" in third["timings"]
    assert len(list((cache / "friction").glob("*.entry"))) == 2
