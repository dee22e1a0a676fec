"""Project files: round trip, relative paths, atomic save, damaged and newer files."""

import json
import os
from pathlib import Path

import pytest

from coverage_app.core import atomic
from coverage_app.core.data.model import load_project_data
from coverage_app.core.params import AnalysisParams
from coverage_app.core.data.project import (PROJECT_VERSION, LayerRef, Project, ProjectError, load_project,
                                       save_project)


def test_bundled_project_loads_every_layer(bundled_project_path):
    project = load_project(bundled_project_path)
    data = load_project_data(project)
    assert not [p for p in data.problems if p.severity == "error"]
    assert not [p for p in data.problems if p.fix == "zawgyi"]  # reviewed and kept (options.zawgyi = keep)
    counts = {name: len(layer.data) for name, layer in data.layers.items()}
    assert counts["Townships"] == 37
    assert counts["Villages"] == 6829
    assert counts["Health facilities"] == 141
    assert counts["Roads"] == 76
    assert counts["Bridges"] == 135
    assert counts["Conflict zones"] > 50
    assert "Land cover sample (Sentinel-2, 10 m)" in data.rasters
    fac = data.role("facilities")
    assert set(fac.status) == {"unknown"}
    assert fac.provides_secondary.sum() == 37  # 8 General + 29 Township hospitals
    assert data.role("townships").population.sum() == 5_325_347


def test_round_trip_with_relative_paths(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    project = Project(name="Test", layers=[LayerRef("V", str(data_dir / "v.gpkg"), "villages", layer="v",
                                                    mapping={"pcode": "code"})],
                      params=AnalysisParams(mode="car", primary_minutes=45), scenarios=[{"name": "s1", "edits": []}])
    path = save_project(project, tmp_path / "p.covproj")
    raw = json.loads(path.read_text())
    assert raw["version"] == PROJECT_VERSION and raw["layers"][0]["path"] == "data/v.gpkg"
    # moving the whole folder keeps the project working
    moved = tmp_path.parent / (tmp_path.name + "_moved")
    os.rename(tmp_path, moved)
    again = load_project(moved / "p.covproj")
    assert Path(again.layers[0].path) == (moved / "data" / "v.gpkg").resolve()
    assert again.params == project.params and again.scenarios == project.scenarios


def test_damaged_project_is_reported_and_untouched(tmp_path):
    path = tmp_path / "p.covproj"
    path.write_text('{"format": "coverage-app-project", "version": 1, "layers": [')
    before = path.read_bytes()
    with pytest.raises(ProjectError, match="damaged"):
        load_project(path)
    assert path.read_bytes() == before


def test_newer_project_version_is_refused(tmp_path):
    path = tmp_path / "p.covproj"
    path.write_text(json.dumps({"format": "coverage-app-project", "version": PROJECT_VERSION + 1}))
    with pytest.raises(ProjectError, match="newer version"):
        load_project(path)


def test_not_a_project(tmp_path):
    path = tmp_path / "p.covproj"
    path.write_text("[1, 2, 3]")
    with pytest.raises(ProjectError, match="not a coverage-app project"):
        load_project(path)


def test_bad_parameters_in_project(tmp_path):
    path = tmp_path / "p.covproj"
    path.write_text(json.dumps({"format": "coverage-app-project", "version": 1,
                                "analysis": {"primary_minutes": -3}}))
    with pytest.raises(ProjectError, match="Primary care threshold must be a positive"):
        load_project(path)


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "p.covproj"
    save_project(Project(name="first"), path)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", disk_full)
    with pytest.raises(ProjectError, match="No space left on device"):
        save_project(Project(name="second"), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.covproj"]  # no temp file left behind


def test_save_without_path_asks_for_one():
    with pytest.raises(ProjectError, match="choose where to save"):
        save_project(Project())


def test_missing_layer_file_is_a_problem_not_a_crash(tmp_path):
    project = Project(layers=[LayerRef("Gone", str(tmp_path / "gone.gpkg"), "villages")])
    data = load_project_data(project)
    assert data.layers == {} and "file not found" in str(data.problems[0])
