"""``coverage-app sweep``: a serial run writes the products, --draw K gives the same numbers
as the sweep's draws.csv, bad input is one plain line and exit code 2."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

SPEC = """
version = 1
draws = 4
seed = 3
[analysis]
cell_size_m = 2000.0
as_of = 2024-06-01
[vary]
unknown_functioning = 0.6
speeds = { uniform = [0.8, 1.2] }
"""


def run(*args):
    env = os.environ.copy()
    return subprocess.run([sys.executable, "-m", "coverage_app", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    spec = folder / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    out = folder / "out"
    proc = run("sweep", spec, "--out", out, "--serial", "--quiet")
    assert proc.returncode == 0, proc.stderr
    return spec, out, proc.stdout


def test_sweep_writes_products(swept):
    spec, out, stdout = swept
    assert "4 draws x 1 case(s) on serial" in stdout and "written to" in stdout
    for name in ("sweep.gpkg", "villages.shp", "townships.shp", "villages.csv", "series.csv", "draws.csv",
                 "run.json"):
        assert (out / name).exists(), name
    record = json.loads((out / "run.json").read_text())
    assert record["seed"] == 3 and len(record["draws"]) == 4 and record["spec_path"] == str(spec)


def test_one_draw_rerun_matches_the_sweep(swept):
    spec, out, _ = swept
    proc = run("sweep", spec, "--draw", 2, "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    draws = pd.read_csv(out / "draws.csv")
    row = draws[draws["draw"] == 2].iloc[0]
    assert f"primary {row['share_prim']:.4f}  secondary {row['share_sec']:.4f}" in proc.stdout
    alone = pd.read_csv(out / "draw_2.csv")
    villages = pd.read_csv(out / "villages.csv")
    assert len(alone) == len(villages) and (alone["pcode"].astype(str) == villages["pcode"].astype(str)).all()
    # the 5th percentile of 4 draws (inverted CDF) is the smallest draw: never above this draw
    both = alone["prim_min"].notna() & villages["prim_min5"].notna()
    assert both.sum() > 1000 and (villages.loc[both, "prim_min5"] <= alone.loc[both, "prim_min"] + 1e-6).all()


def test_changed_spec_is_caught_on_rerun(swept, tmp_path):
    spec, out, _ = swept
    other = tmp_path / "other.toml"
    other.write_text(SPEC.replace("seed = 3", "seed = 4"), encoding="utf-8")
    proc = run("sweep", other, "--draw", 1, "--out", out)
    assert proc.returncode == 2 and "does not match the one recorded in run.json" in proc.stderr


@pytest.mark.parametrize("args, words", [
    (("--out", "{out}", "--scheduler", "localhost:8786"), "--scheduler must be an address like tcp://HOST:PORT"),
    (("--out", "{out}", "--workers", "-1"), "--workers must be 0"),
    ((), "give --out DIR"),
    (("--out", "{out}", "--draw", "9"), "draw 9 is not in this sweep"),
    (("--out", "{out}", "--scheduler", "tcp://127.0.0.1:9"), "cannot reach the dask scheduler"),
])
def test_bad_input_is_one_plain_line(tmp_path, args, words):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    proc = run("sweep", spec, *[a.format(out=tmp_path / "o") for a in args])
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr and "unexpected" not in proc.stderr


def test_bad_spec_names_the_key(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.replace("[vary]", "[vary]\nzone_speed_factor = { uniform = [2, 1] }"), encoding="utf-8")
    proc = run("sweep", spec, "--out", tmp_path / "o")
    assert proc.returncode == 2
    assert "sweep spec key 'vary.zone_speed_factor'" in proc.stderr and "low <= high" in proc.stderr
    assert "spec.toml" in proc.stderr
