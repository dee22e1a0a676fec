"""coverage-app status import / list, then analyse, on a copy of the bundled project."""

import json

import geopandas as gpd
import pytest

from coverage_app.cli import main
from coverage_app.core.data.project import load_project, save_project

FAST = ["--cell-size", "2000", "--quiet"]


@pytest.fixture
def project_copy(tmp_path, bundled_project_path):
    return save_project(load_project(bundled_project_path), tmp_path / "copy.covproj")


def test_import_then_analyse_uses_the_dated_status(tmp_path, capsys, project_copy, bundled_gpkg):
    hospitals = gpd.read_file(bundled_gpkg, layer="facilities").query("provides_secondary")["fac_id"].tolist()
    table = tmp_path / "status.csv"
    lines = ["fac_id,status,date,source"] + [f"{h},closed,2025-06-01,health cluster" for h in hospitals[:5]]
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["status", "import", str(table), "--project", str(project_copy)]) == 0
    assert "imported 5 status report(s)" in capsys.readouterr().out
    assert len(load_project(project_copy).status_ledger) == 5
    assert main(["status", "list", "--project", str(project_copy)]) == 0
    assert f"{hospitals[0]}" in capsys.readouterr().out
    counted = {}
    for day in ("2025-05-31", "2025-06-01"):
        out = tmp_path / day
        assert main(["analyse", str(project_copy), "--out", str(out), "--as-of", day, "--format", "gpkg",
                     *FAST]) == 0
        counted[day] = json.loads((out / "run.json").read_text())["headline"]["facilities_counted_secondary"]
        fac = gpd.read_file(out / "coverage.gpkg", layer="facilities")
    assert counted["2025-05-31"] - counted["2025-06-01"] == 5
    closed = fac[fac["fac_id"].isin(hospitals[:5])]
    assert set(closed["status"]) == {"closed"} and set(closed["st_source"]) == {"health cluster"}


def test_import_reports_unknown_ids_and_bad_dates_by_line(tmp_path, capsys, project_copy):
    table = tmp_path / "status.csv"
    table.write_text("fac_id,status,date,source\nMMR005001-H01,closed,2025-06-01,x\nNOPE-1,closed,2025-06-01,x\n"
                     "MMR005001-H02,closed,June 2025,x\n", encoding="utf-8")
    before = project_copy.read_text()
    assert main(["status", "import", str(table), "--project", str(project_copy)]) == 2
    err = capsys.readouterr().err
    assert "status.csv, field 'fac_id', line 3: no facility with id 'NOPE-1'" in err
    assert "status.csv, field 'date', line 4: date 'June 2025' is not a date" in err
    assert "nothing was imported" in err
    assert project_copy.read_text() == before  # the project file is untouched
    assert main(["status", "import", str(table), "--project", str(project_copy), "--skip-bad-rows"]) == 0
    out = capsys.readouterr().out
    assert "imported 1 status report(s)" in out and "skipped:" in out


def test_import_missing_file(tmp_path, capsys, project_copy):
    assert main(["status", "import", str(tmp_path / "none.csv"), "--project", str(project_copy)]) == 2
    assert "file not found" in capsys.readouterr().err
