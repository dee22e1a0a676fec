"""``status``: the project's dated facility status ledger (core/data/status.py)."""

from __future__ import annotations

from coverage_app.core.data.project import bundled_project_path, load_project, save_project
from coverage_app.core.errors import InputError, errors_of


def _project_and_ids(args):
    from coverage_app.core.data.model import load_project_data

    project = load_project(args.project or bundled_project_path())
    data = load_project_data(project)
    facilities = data.role("facilities")
    if facilities is None:
        problems = errors_of(data.problems)
        raise InputError(problems or "the project has no health facilities layer: add one (role 'facilities')")
    return project, set(facilities["fac_id"].astype(str))


def cmd_status_import(args) -> int:
    from coverage_app.core.data.status import import_status_table

    project, ids = _project_and_ids(args)
    added, problems = import_status_table(project, args.file, ids, skip_bad_rows=args.skip_bad_rows)
    for problem in problems:
        print(str(problem).replace("error:", "skipped:", 1))
    path = save_project(project)
    print(f"imported {added} status report(s) into {path} ({len(project.status_ledger)} in the ledger)")
    return 0


def cmd_status_list(args) -> int:
    project = load_project(args.project or bundled_project_path())
    ledger = sorted(project.status_ledger, key=lambda e: (e["fac_id"], e["date"]))
    if args.fac_id:
        ledger = [e for e in ledger if e["fac_id"] == args.fac_id]
    for e in ledger:
        print(f"{e['fac_id']:<16} {e['date']}  {e['status']:<12} {e.get('source') or ''}")
    print(f"{len(ledger)} status report(s)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("status", help="the dated facility status ledger: import status tables, list reports")
    group = p.add_subparsers(dest="status_command", metavar="ACTION", required=True)
    q = group.add_parser("import", help="import a status table (CSV/XLSX: fac_id, status, date, source)")
    q.add_argument("file", metavar="FILE")
    q.add_argument("--project", metavar="P", help="project file (default: the bundled Sagaing one)")
    q.add_argument("--skip-bad-rows", action="store_true",
                   help="import the good rows and list the others (default: import nothing if a row is bad)")
    q.set_defaults(func=cmd_status_import)
    q = group.add_parser("list", help="list the status reports in the project")
    q.add_argument("--project", metavar="P")
    q.add_argument("--fac-id", metavar="ID")
    q.set_defaults(func=cmd_status_list)
