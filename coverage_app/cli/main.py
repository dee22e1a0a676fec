"""Command line front end, a thin layer over ``coverage_app.core`` (never imports the UI).

Exit codes: 0 success, 2 bad input (one plain line per problem), 1 unexpected failure
(logged; no Python traceback on the terminal unless COVERAGE_APP_DEBUG=1).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from coverage_app import __version__
from coverage_app.core.errors import InputError, errors_of
from coverage_app.core.feedback import Cancelled
from coverage_app.core.data.project import ProjectError
from coverage_app.core.data.roles import ROLES

log = logging.getLogger("coverage_app")


class TerminalFeedback:
    """Progress on stderr (a single updating line); silent with --quiet."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._last = (-1, "")

    def progress(self, fraction: float, message: str = "") -> None:
        if self.quiet:
            return
        pct = int(fraction * 100)
        if self.tty:
            if pct != self._last[0]:
                end = "\n" if pct >= 100 else ""
                sys.stderr.write(f"\r[{pct:3d}%] {message[:60]:<60}{end}")
                sys.stderr.flush()
        elif message != self._last[1]:  # a log file gets one line per step
            sys.stderr.write(f"[{pct:3d}%] {message}\n")
        self._last = (pct, message)

    def cancelled(self) -> bool:
        return False


def _project_arg(value: str | None, args=None):
    from coverage_app.cli.protect import open_project_arg

    return open_project_arg(value, args)


def cmd_validate(args) -> int:
    from coverage_app.core.data.layers import check_file

    worst = 0
    for path in args.paths:
        for layer, role, problems in check_file(path, role=args.role, layer=args.layer):
            for problem in problems:
                print(problem)
            if errors_of(problems):
                worst = 2
            else:
                note = f" ({len(problems)} warning{'s' if len(problems) != 1 else ''})" if problems else ""
                what = f"{Path(path).name}" + (f" layer {layer}" if layer else "")
                print(f"ok: {what} is usable as {role}{note}")
    return worst


def cmd_info(args) -> int:
    from coverage_app.core.data.model import describe, load_project_data

    project = _project_arg(args.project, args)
    data = load_project_data(project)
    print(f"Project: {project.name}  ({project.path})")
    print(f"Analysis: {project.params.mode}, {project.params.cell_size_m:g} m cells, primary "
          f"{project.params.primary_minutes:g} min, secondary {project.params.secondary_minutes:g} min")
    print(f"{'layer':<36} {'role':<15} {'count':>16}  {'CRS':<11} extent (lon/lat)")
    for row in describe(data):
        extent = ", ".join(f"{v:.3f}" for v in row["extent"]) if row.get("extent") else row.get("status", "")
        count = "-" if row.get("count") is None else str(row["count"])
        print(f"{row['name'][:36]:<36} {row['role']:<15} {count:>16}  {str(row.get('crs') or '-'):<11} {extent}")
    for problem in data.problems:
        print(problem)
    return 2 if errors_of(data.problems) else 0


def cmd_convert_zawgyi(args) -> int:
    from coverage_app.core.atomic import atomic_path
    from coverage_app.core.data.layers import convert_zawgyi, read_vector

    gdf = read_vector(args.path, args.layer)
    fixed, changed = convert_zawgyi(gdf, args.field or None)
    out = Path(args.out)
    if out.resolve() == Path(args.path).resolve():
        raise InputError("write the converted layer to a new file (--out), so the original is kept")
    with atomic_path(out) as tmp:
        fixed.to_file(tmp, layer=args.layer or out.stem.replace(".", "_"), engine="pyogrio")
    print(f"converted {changed} value(s) from Zawgyi to Unicode; written to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coverage-app",
        description="Travel-time access to health care. With no command, opens the desktop app on the "
                    "bundled Sagaing project.")
    parser.add_argument("--version", action="version", version=f"coverage-app {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check data files before loading them")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--role", choices=sorted(ROLES), help="what the file holds (guessed if omitted)")
    p.add_argument("--layer", help="layer name inside a GeoPackage (default: every layer)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("info", help="summarise a project's layers (default: the bundled Sagaing project)")
    p.add_argument("project", nargs="?", metavar="PROJECT")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("convert-zawgyi", help="convert Zawgyi-encoded Burmese text in a layer to Unicode")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--out", required=True, help="new file to write (GeoPackage, Shapefile, GeoJSON)")
    p.add_argument("--layer")
    p.add_argument("--field", action="append", help="field to convert (default: every text field)")
    p.set_defaults(func=cmd_convert_zawgyi)

    for register in _extra_commands():
        register(sub)
    from coverage_app.cli.protect import add_passphrase_flags

    add_passphrase_flags(sub)  # every command reading a PROJECT opens protected ones
    return parser


# One module per command group, each with a ``register(subparsers)``; add new groups here.
COMMAND_MODULES = ("coverage_app.cli.analyse", "coverage_app.cli.brief", "coverage_app.cli.protect")


def _extra_commands():
    """The ``register`` functions of the command-group modules."""
    import importlib

    return [importlib.import_module(name).register for name in COMMAND_MODULES]


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except InputError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return 2
    except ProjectError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: a plain message, the details in the log
        if os.environ.get("COVERAGE_APP_DEBUG"):
            raise
        log.debug("unexpected failure", exc_info=True)
        print(f"error: unexpected failure: {type(exc).__name__}: {exc} (run with COVERAGE_APP_DEBUG=1 for "
              "details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
