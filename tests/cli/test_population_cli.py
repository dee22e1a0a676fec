"""The population basis end to end through the CLI: run.json states it, the Kontur option rescales."""

import json

import pytest

from coverage_app.cli.main import main
from coverage_app.core.data.project import load_project, save_project

KONTUR_SAGAING = 5_467_135


@pytest.mark.parametrize("choice, total", [("census2014", 5_325_347), ("kontur2023", KONTUR_SAGAING)])
def test_analyse_states_its_population_basis(tmp_path, bundled_project_path, choice, total):
    project = load_project(bundled_project_path)
    project.options["population_total"] = choice
    path = save_project(project, tmp_path / "p.covproj")
    out = tmp_path / "out"
    assert main(["analyse", str(path), "--out", str(out), "--cell-size", "2000", "--mode", "car", "--quiet",
                 "--format", "gpkg"]) == 0
    record = json.loads((out / "run.json").read_text())
    basis = record["population_basis"]
    assert basis["total"] == choice
    assert basis["population"] == pytest.approx(total, rel=0.01)
    assert record["headline"]["population"] == pytest.approx(basis["population"], abs=1)
    assert sum(basis["by_placement"].values()) == pytest.approx(basis["population"], abs=5)


def test_unknown_population_option_is_a_plain_error(tmp_path, bundled_project_path, capsys):
    project = load_project(bundled_project_path)
    project.options["population_total"] = "census2024"
    path = save_project(project, tmp_path / "p.covproj")
    assert main(["analyse", str(path), "--out", str(tmp_path / "o"), "--cell-size", "2000", "--quiet"]) == 2
    err = capsys.readouterr()
    text = err.out + err.err
    assert "unknown population total 'census2024'" in text and "unexpected" not in text


def test_briefing_page_names_the_population_basis(tmp_path):
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    pdf = tmp_path / "region.pdf"
    assert main(["brief", "--out", str(pdf), "--cell-size", "2000"]) == 0
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Population (2014 census): 5,325,708" in " ".join(text.split())
