"""The dated facility status ledger (issue 11 item 5): statuses apply from their date."""

import datetime as dt

import pandas as pd
import pytest

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.data.project import Project, load_project, save_project
from coverage_app.core.data.status import import_status_table, read_status_table, status_on
from coverage_app.core.errors import InputError
from tests.synthetic import facility, load, make_project, village


def _fac(**kw):
    rows = [{"fac_id": "A", "status": "closed", "status_date": "2025-06-01"},
            {"fac_id": "B", "status": "functioning", "status_date": None}]
    return pd.DataFrame(rows)


def test_layer_status_applies_from_its_date():
    fac = _fac()
    before = status_on(fac, [], dt.date(2025, 3, 1))
    after = status_on(fac, [], dt.date(2025, 6, 1))
    assert list(before["status"]) == ["unknown", "functioning"]  # undated: always
    assert list(after["status"]) == ["closed", "functioning"]
    assert before["status_source"].iloc[0] == "not yet reported"


def test_latest_report_on_or_before_the_as_of_date_wins():
    ledger = [{"fac_id": "A", "status": "functioning", "date": "2025-01-10", "source": "cluster"},
              {"fac_id": "A", "status": "destroyed", "date": "2025-08-01", "source": "OCHA"},
              {"fac_id": "B", "status": "partial", "date": "2025-02-01", "source": "cluster"}]
    fac = _fac()
    day = lambda *d: list(status_on(fac, ledger, dt.date(*d))["status"])  # noqa: E731
    assert day(2025, 1, 1) == ["unknown", "functioning"]
    assert day(2025, 3, 1) == ["functioning", "partial"]
    assert day(2025, 6, 1) == ["closed", "partial"]  # the layer's dated status
    assert day(2025, 9, 1) == ["destroyed", "partial"]
    on = status_on(fac, ledger, dt.date(2025, 9, 1))
    assert on["status_date"].iloc[0] == "2025-08-01" and on["status_source"].iloc[0] == "OCHA"


def _write_csv(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_status_table_problems_name_file_and_lines(tmp_path):
    path = _write_csv(tmp_path / "status.csv", [
        "fac_id,status,date,source",
        "A,closed,2025-06-01,cluster",
        "ZZZ,closed,2025-06-01,cluster",
        "",
        "B,functioning,01/06/2025,cluster",
        "B,open,2025-07-01,cluster",
        "ZZZ,functioning,2025-08-01,cluster"])
    entries, problems = read_status_table(path, {"A", "B"})
    assert entries == [{"fac_id": "A", "status": "closed", "date": "2025-06-01", "source": "cluster",
                        "file": "status.csv"}]
    text = [str(p) for p in problems]
    assert any("status.csv" in t and "'ZZZ'" in t and "lines 3, 7" in t for t in text), text
    assert any("'01/06/2025'" in t and "line 5" in t for t in text), text
    assert any("'open'" in t and "line 6" in t for t in text), text
    project = Project()
    with pytest.raises(InputError, match="nothing was imported"):
        import_status_table(project, path, {"A", "B"})
    assert project.status_ledger == []
    added, skipped = import_status_table(project, path, {"A", "B"}, skip_bad_rows=True)
    assert added == 1 and len(skipped) == 3
    assert import_status_table(project, path, {"A", "B"}, skip_bad_rows=True)[0] == 0  # not added twice


def test_xlsx_status_table_and_missing_columns(tmp_path):
    xlsx = tmp_path / "status.xlsx"
    pd.DataFrame({"Facility_ID": ["A", "B", "Q"], "Status": ["Partial", "closed", "closed"],
                  "Date": [pd.Timestamp("2025-02-03"), "2025-04-05", "2025-04-05"],
                  "Source": ["HC", "HC", "HC"]}).to_excel(xlsx, index=False)
    entries, problems = read_status_table(xlsx, {"A", "B"})
    assert [(e["fac_id"], e["status"], e["date"]) for e in entries] == [("A", "partial", "2025-02-03"),
                                                                         ("B", "closed", "2025-04-05")]
    assert len(problems) == 1 and "row 4" in str(problems[0]) and "status.xlsx" in str(problems[0])
    bad = _write_csv(tmp_path / "bad.csv", ["id,when", "A,2025-01-01"])
    with pytest.raises(InputError, match="no column status, date"):
        read_status_table(bad, {"A"})
    with pytest.raises(InputError, match=".csv or .xlsx"):
        read_status_table(tmp_path / "x.txt", {"A"})


def test_ledger_survives_the_project_file(tmp_path):
    project = Project(name="p", status_ledger=[{"fac_id": "A", "status": "closed", "date": "2025-06-01",
                                                "source": "s", "file": "f.csv"}])
    back = load_project(save_project(project, tmp_path / "p.covproj"))
    assert back.status_ledger == project.status_ledger


def test_analysis_uses_the_status_on_the_as_of_date(tmp_path):
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True, status="functioning",
                                                          date="2024-01-01")],
                           villages=[village("V", 2000, 0, 100)])
    project.status_ledger = [{"fac_id": "P", "status": "closed", "date": "2025-06-01", "source": "report"}]
    data = load(project)
    open_day = run_analysis(data, project.params.replace(as_of=dt.date(2025, 5, 31)))
    closed_day = run_analysis(data, project.params.replace(as_of=dt.date(2025, 6, 1)))
    assert open_day.headline()["share_primary"] == 1.0
    assert closed_day.headline()["share_primary"] == 0.0
    assert closed_day.facilities["status_source"].iloc[0] == "report"


def test_before_the_layer_status_date_the_unknown_rule_applies(tmp_path):
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True, status="closed",
                                                          date="2025-06-01"),
                                                 facility("Q", 30000, 0, status="functioning", date="2020-01-01")],
                           villages=[village("V", 2000, 0, 100)])
    data = load(project)
    march = project.params.replace(as_of=dt.date(2025, 3, 1))
    assert run_analysis(data, march).headline()["share_primary"] == 1.0  # unknown, counted as functioning
    assert run_analysis(data, march.replace(unknown_counts=False)).headline()["share_primary"] == 0.0
    assert run_analysis(data, march.replace(as_of=dt.date(2025, 7, 1))).headline()["share_primary"] == 0.0
