"""What every command group shares: terminal progress, the error/exit-code wrapper, the
project argument, the analysis-parameter flags and problem printing.

Exit codes (:func:`run_command`): 0 success, 2 bad input (one plain line per problem:
:class:`~coverage_app.core.errors.InputError`, a project file that cannot be read), 130
cancelled or interrupted, 1 unexpected failure (logged; no Python traceback on the terminal
unless COVERAGE_APP_DEBUG=1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys

from coverage_app.core.data.project import Project, ProjectError, bundled_project_path, load_project
from coverage_app.core.errors import InputError, errors_of
from coverage_app.core.feedback import Cancelled
from coverage_app.core.params import FIELDS, MODES

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


def run_command(func, args) -> int:
    """Call ``func(args)`` and turn what it raises into a message on stderr and an exit code."""
    try:
        return int(func(args) or 0)
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


def load_project_arg(value: str | None) -> Project:
    """The project file named on the command line, or the bundled Sagaing project."""
    return load_project(value) if value else load_project(bundled_project_path())


def print_problems(problems, quiet: bool = False) -> bool:
    """Print load problems (errors always, warnings unless ``quiet``); True if any is an error."""
    for problem in problems:
        if problem.severity == "error" or not quiet:
            print(problem)
    return bool(errors_of(problems))


def add_analysis_flags(p: argparse.ArgumentParser) -> None:
    """The analysis parameter flags (analyse, sites, brief); defaults come from the project."""
    p.add_argument("--mode", metavar="MODE", help=f"travel mode: {', '.join(MODES)} or one defined in the "
                   "project's speed table")
    p.add_argument("--cell-size", type=float, metavar="M", help=f"{FIELDS['cell_size_m'].metadata['label']}, metres")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="analysis date (facility status, conflict zones)")
    p.add_argument("--primary-minutes", type=float, metavar="MIN")
    p.add_argument("--secondary-minutes", type=float, metavar="MIN")
    p.add_argument("--neighbours", type=int, choices=(8, 16))
    p.add_argument("--scenario", metavar="NAME", help="a scenario saved in the project")


def params_from_args(project: Project, args):
    """The project's analysis parameters with the flags of :func:`add_analysis_flags` applied."""
    changes = {}
    for flag, name in (("mode", "mode"), ("cell_size", "cell_size_m"), ("primary_minutes", "primary_minutes"),
                       ("secondary_minutes", "secondary_minutes"), ("neighbours", "neighbours")):
        value = getattr(args, flag, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "as_of", None):
        try:
            changes["as_of"] = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise InputError(f"--as-of must be a date like 2024-05-31, not {args.as_of!r}") from None
    try:
        return project.params.replace(**changes)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def scenario_from_args(project: Project, args):
    """The saved scenario named by --scenario (None without the flag)."""
    name = getattr(args, "scenario", None)
    if not name:
        return None
    scenario = project.scenario(name)
    if scenario is None:
        known = ", ".join(s.get("name", "?") for s in project.scenarios) or "none"
        raise InputError(f"no scenario named {name!r} in the project (scenarios: {known})")
    return scenario
