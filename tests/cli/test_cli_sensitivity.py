"""analyse --sensitivity and --unmapped-kmh on the bundled project (issue 11, last-mile travel)."""

import json

import geopandas as gpd
import numpy as np
import pytest

from coverage_app.cli import main
from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project

FAST = ["--cell-size", "2000", "--quiet"]


@pytest.mark.slow
def test_sensitivity_writes_ranges_to_run_json_and_townships(tmp_path, bundled_project_path):
    out = tmp_path / "out"
    assert main(["analyse", "--out", str(out), "--mode", "car", "--sensitivity", *FAST]) == 0
    record = json.loads((out / "run.json").read_text())
    head = record["sensitivity"]["headline"]
    for key in ("share_primary", "share_secondary", "pop_no_primary", "villages_no_secondary"):
        assert head[key]["lo"] <= head[key]["central"] <= head[key]["hi"], key
    assert head["share_primary"]["central"] == pytest.approx(record["headline"]["share_primary"])
    assert record["sensitivity"]["cases"]["low"]["off_road_kmh"] == 5.0
    # second method: the low figure is an ordinary run with the low parameters
    project = load_project(bundled_project_path)
    params = project.params.replace(mode="car", cell_size_m=2000.0)
    low = run_analysis(load_project_data(project), params.sensitivity_case("low")).headline()
    assert head["share_primary"]["low"] == pytest.approx(low["share_primary"])
    assert head["share_primary"]["lo"] < head["share_primary"]["hi"]
    for townships in (gpd.read_file(out / "coverage.gpkg", layer="townships"), gpd.read_file(out / "townships.shp")):
        for lo, mid, hi in (("pct_lo", "pct_prim", "pct_hi"), ("pct_sec_lo", "pct_sec", "pct_sec_hi")):
            ok = townships[mid].notna()
            assert (townships.loc[ok, lo] <= townships.loc[ok, mid] + 1e-9).all()
            assert (townships.loc[ok, mid] <= townships.loc[ok, hi] + 1e-9).all()
            assert (townships[hi] - townships[lo]).max() > 5  # the last-mile speed matters
    assert "pct_lo" in (out / "townships.csv").read_text().splitlines()[0]


def test_unmapped_kmh_flag(tmp_path):
    out = tmp_path / "o"
    assert main(["analyse", "--out", str(out), "--mode", "car", "--unmapped-kmh", "walk", "--format", "gpkg",
                 *FAST]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["parameters"]["unmapped_kmh"]["car"] is None and record["sensitivity"] is None
    assert main(["analyse", "--out", str(out), "--mode", "car", "--unmapped-kmh", "12", "--format", "gpkg",
                 *FAST]) == 0
    assert json.loads((out / "run.json").read_text())["parameters"]["unmapped_kmh"]["car"] == 12.0


@pytest.mark.parametrize("value,message", [("fast", "--unmapped-kmh must be a speed"),
                                           ("500", "unmapped-track speed for car must be between")])
def test_bad_unmapped_kmh(tmp_path, capsys, value, message):
    assert main(["analyse", "--out", str(tmp_path / "o"), "--mode", "car", "--unmapped-kmh", value, *FAST]) == 2
    assert message in capsys.readouterr().err


def test_people_per_bed_flag(tmp_path):
    out = tmp_path / "o"
    assert main(["analyse", "--out", str(out), "--people-per-bed", "0", "--format", "gpkg", *FAST]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["parameters"]["people_per_bed"] is None and record["headline"]["pop_served_capacity"] is None
    assert main(["analyse", "--out", str(out), "--people-per-bed", "2000", "--format", "gpkg", *FAST]) == 0
    assert json.loads((out / "run.json").read_text())["headline"]["pop_served_capacity"] > 0


@pytest.mark.slow
def test_brief_key_figures_give_the_range(tmp_path, bundled_project_path):
    import shutil
    import subprocess

    from coverage_app.core.analysis.sensitivity import add_sensitivity

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    out = tmp_path / "brief.pdf"
    assert main(["brief", "--out", str(out), "--mode", "car", "--sensitivity", "--cell-size", "2000",
                 "--quiet"]) == 0
    text = " ".join(subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout.split())
    project = load_project(bundled_project_path)
    data = load_project_data(project)
    result = add_sensitivity(run_analysis(data, project.params.replace(mode="car", cell_size_m=2000.0)), data)
    h = result.sensitivity["headline"]
    expected = (f"within 60 min of primary care {100 * h['share_primary']['lo']:.0f}–"
                f"{100 * h['share_primary']['hi']:.0f} %")
    assert "Range under low / high speed assumptions" in text and expected in text, text[:2000]
