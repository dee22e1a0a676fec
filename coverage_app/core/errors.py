"""Problems found in user input, phrased for a planner: where, what, and what to do."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PureWindowsPath


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input. ``severity`` is ``"error"`` (unusable) or ``"warning"``."""

    severity: str
    message: str
    file: str | None = None
    layer: str | None = None
    field: str | None = None
    rows: tuple[int, ...] = ()
    fix: str | None = None  # machine-readable hint for a front end, e.g. "zawgyi"
    # what ``rows`` count: "row" (1-based, in reading order), "line" (a CSV file's line, the
    # header being line 1) or "fid" (a GeoPackage's or Shapefile's feature id, as GIS shows it)
    row_label: str = "row"

    def __str__(self) -> str:
        where = PureWindowsPath(self.file).name if self.file else ""  # splits on / and on \
        if self.layer and self.layer != Path(self.file or "").stem:
            where += f" (layer {self.layer})" if where else f"layer {self.layer}"
        if self.field:
            where += f"{', ' if where else ''}field '{self.field}'"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:8])
            more = f" and {len(self.rows) - 8} more" if len(self.rows) > 8 else ""
            plural = "s" if len(self.rows) > 1 and self.row_label != "fid" else ""
            where += f", {self.row_label}{plural} {shown}{more}"
        prefix = f"{where}: " if where else ""
        return f"{self.severity}: {prefix}{self.message}"


class InputError(Exception):
    """Input that cannot be used; carries the problems that explain why."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("error", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def errors_of(problems) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


MISSING_DEPENDENCY_EXIT = 3  # exit code of the command line and the app: a package it needs is not installed


def missing_dependency(exc: BaseException) -> str | None:
    """If ``exc`` is an import of a package this app needs that is not installed (a
    ``ModuleNotFoundError`` naming a module outside ``coverage_app``), the message to show:
    which module, for which Python, and how to install it; otherwise None."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    package = exc.name.split(".")[0]
    if package == "coverage_app":  # a module of the app itself: a broken checkout, not a dependency
        return None
    import sys

    return (f"the Python module '{package}' that coverage-app needs is not installed for {sys.executable}. "
            "Install the app with its dependencies (from the project folder: pip install -e .; see README.md) "
            "and run it again")
