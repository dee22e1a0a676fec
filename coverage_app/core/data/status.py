"""Dated facility status (issue 11): a ledger of status reports kept in the project file.

A facility's status is known from a date on. The status in the facility layer applies from
its ``status_date`` (an empty date: always); a status table (CSV or XLSX with columns
``fac_id, status, date, source``) adds dated reports. On the analysis (as-of) date a
facility has the latest status dated on or before it; before its first dated status it is
``unknown`` (counted by the unknown rule). Ledger entries are stored in the project file
under ``status_ledger`` as ``{fac_id, status, date (YYYY-MM-DD), source, file}``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from coverage_app.core.errors import InputError, Problem
from coverage_app.core.data.roles import FACILITY_STATUSES

COLUMNS = ("fac_id", "status", "date", "source")
UNDATED = pd.Timestamp("1800-01-01")  # an undated layer status: known from the start
ALIASES = {"fac_id": ("facility_id", "id", "hf_id", "code"), "status": ("state", "functioning"),
           "date": ("status_date", "as_of", "reported", "report_date"), "source": ("reported_by", "src")}


def _read_table(path: Path) -> tuple[pd.DataFrame, int]:
    """The file's rows as text, and the line/row number of its first data row (the header is row 1)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                skip_blank_lines=False)
        elif suffix in (".xlsx", ".xlsm"):
            frame = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
        else:
            raise InputError(Problem("error", "a status table must be a .csv or .xlsx file", file=str(path)))
    except FileNotFoundError:
        raise InputError(Problem("error", "file not found", file=str(path))) from None
    except InputError:
        raise
    except Exception as exc:  # unreadable / damaged spreadsheet or text
        raise InputError(Problem("error", f"cannot be read as a table ({str(exc)[:160]})",
                                 file=str(path))) from None
    return frame, 2


def read_status_table(path, fac_ids) -> tuple[list[dict], list[Problem]]:
    """Entries of a status table and the problems found, each naming the file and its line numbers
    (CSV lines / spreadsheet rows, the header being line 1). Blank lines are skipped."""
    path = Path(path)
    frame, first = _read_table(path)
    lower = {str(c).strip().lower(): c for c in frame.columns}
    cols = {}
    for name in COLUMNS:
        for candidate in (name, *ALIASES[name]):
            if candidate in lower:
                cols[name] = lower[candidate]
                break
    missing = [c for c in ("fac_id", "status", "date") if c not in cols]
    if missing:
        raise InputError(Problem("error", f"the table has no column {', '.join(missing)} (found: "
                                 f"{', '.join(map(str, frame.columns)) or 'none'}); a status table needs the "
                                 "columns fac_id, status, date and optionally source", file=str(path)))
    known = {str(f) for f in fac_ids}
    entries, unknown_ids, bad_dates, bad_status = [], {}, [], {}
    for i, row in enumerate(frame.itertuples(index=False)):
        line = first + i
        values = {name: str(row[frame.columns.get_loc(col)]).strip() for name, col in cols.items()}
        if not any(values.values()):
            continue
        ok = True
        if values["fac_id"] not in known:
            unknown_ids.setdefault(values["fac_id"] or "(empty)", []).append(line)
            ok = False
        status = values["status"].lower()
        if status not in FACILITY_STATUSES:
            bad_status.setdefault(values["status"] or "(empty)", []).append(line)
            ok = False
        try:
            date = dt.date.fromisoformat(values["date"][:10])
            rest = values["date"][10:]
            if rest and rest[0] not in " T":  # a time may follow ("2024-05-01 10:00"); '2024-05-015' is no date
                raise ValueError(rest)
        except ValueError:
            bad_dates.append((line, values["date"]))
            ok = False
        if ok:
            entries.append({"fac_id": values["fac_id"], "status": status, "date": date.isoformat(),
                            "source": values.get("source", "") or path.name, "file": path.name})
    problems = []
    lab = {"row_label": "line"} if path.suffix.lower() == ".csv" else {}  # CSV: file lines; spreadsheet: rows
    for fac_id, lines in unknown_ids.items():
        problems.append(Problem("error", f"no facility with id {fac_id!r} in the project's facility layers; check "
                                "the id (or add the facility first)", file=str(path), field="fac_id",
                                rows=tuple(lines), **lab))
    for status, lines in bad_status.items():
        problems.append(Problem("error", f"status {status!r} is not one of {', '.join(FACILITY_STATUSES)}",
                                file=str(path), field="status", rows=tuple(lines), **lab))
    for line, text in bad_dates:
        problems.append(Problem("error", f"date {text or '(empty)'!r} is not a date like 2025-06-01 (YYYY-MM-DD)",
                                file=str(path), field="date", rows=(line,), **lab))
    return entries, problems


def import_status_table(project, path, fac_ids, skip_bad_rows: bool = False) -> tuple[int, list[Problem]]:
    """Add a status table's entries to ``project.status_ledger`` (an entry already there is not added
    twice). With problems and not ``skip_bad_rows`` nothing is imported (InputError). Returns the
    number of entries added and the problems of the rows left out."""
    entries, problems = read_status_table(path, fac_ids)
    if problems and not skip_bad_rows:
        raise InputError(problems + [Problem("error", "nothing was imported: fix the rows above (or import "
                                             "the good rows only)", file=str(path))])
    have = {(e["fac_id"], e["status"], e["date"], e.get("source")) for e in project.status_ledger}
    added = 0
    for entry in entries:
        key = (entry["fac_id"], entry["status"], entry["date"], entry["source"])
        if key not in have:
            project.status_ledger.append(entry)
            have.add(key)
            added += 1
    return added, problems


def status_on(facilities: pd.DataFrame, ledger: list[dict] | None, as_of: dt.date) -> pd.DataFrame:
    """``status``, ``status_date`` and ``status_source`` of each facility on ``as_of``: the latest of
    the layer's own status (from its ``status_date``; undated = always) and the ledger entries dated
    on or before ``as_of``; ``unknown`` where none applies yet."""
    fac_id = facilities["fac_id"].astype(str)
    own_status = facilities["status"].fillna("unknown").astype(str) if "status" in facilities else \
        pd.Series("unknown", index=facilities.index)
    own_date = pd.to_datetime(facilities["status_date"], errors="coerce") if "status_date" in facilities else \
        pd.Series(pd.NaT, index=facilities.index)
    day = pd.Timestamp(as_of)
    layer = pd.DataFrame({"fac_id": fac_id, "status": own_status,
                          "date": own_date.astype("datetime64[ns]").fillna(UNDATED), "source": "facility layer"})
    rows = [layer]
    if ledger:
        led = pd.DataFrame(ledger)
        rows.append(pd.DataFrame({"fac_id": led["fac_id"].astype(str), "status": led["status"],
                                  "date": pd.to_datetime(led["date"]).astype("datetime64[ns]"), "source": led.get("source", "ledger")}))
    allrows = pd.concat(rows, ignore_index=True)
    allrows["order"] = range(len(allrows))  # on one date, a ledger entry (later) wins over the layer
    valid = allrows[allrows["date"] <= day].sort_values(["date", "order"])
    latest = valid.groupby("fac_id").tail(1).set_index("fac_id")
    out = pd.DataFrame(index=facilities.index)
    out["status"] = fac_id.map(latest["status"]).fillna("unknown").to_numpy()
    date = fac_id.map(latest["date"])
    out["status_date"] = [None if pd.isna(d) or d == UNDATED else d.date().isoformat() for d in date]
    out["status_source"] = fac_id.map(latest["source"]).fillna("not yet reported").to_numpy()
    return out
