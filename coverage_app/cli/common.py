"""What every command group shares: terminal progress, the error/exit-code wrapper and the
project argument (the analysis-parameter flags are in :mod:`.analyse`, shared with brief).

Exit codes (:func:`run_command`): 0 success, 2 bad input (one plain line per problem:
:class:`~coverage_app.core.errors.InputError`, a project file that cannot be read), 130
cancelled or interrupted, 141 the reader of stdout went away (a closed pipe), 3 a package the
app needs is not installed (:func:`~coverage_app.core.errors.missing_dependency`), 1 unexpected
failure (logged; no Python traceback on the terminal unless COVERAGE_APP_DEBUG=1).
"""

from __future__ import annotations

import logging
import os
import sys

from coverage_app.core.data.project import Project, ProjectError
from coverage_app.core.errors import MISSING_DEPENDENCY_EXIT, InputError, missing_dependency
from coverage_app.core.feedback import Cancelled

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
        code = int(func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:  # the reader went away (``coverage-app info | head -3``): not our failure
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return 141  # as a shell reports a process ended by SIGPIPE
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
        missing = missing_dependency(exc)
        if missing:
            log.debug("missing dependency", exc_info=True)
            print(f"error: {missing}", file=sys.stderr)
            return MISSING_DEPENDENCY_EXIT
        log.debug("unexpected failure", exc_info=True)
        print(f"error: unexpected failure: {type(exc).__name__}: {exc} (run with COVERAGE_APP_DEBUG=1 for "
              "details)", file=sys.stderr)
        return 1


def load_project_arg(value: str | None, args=None) -> Project:
    """The project file named on the command line, or the bundled Sagaing project; a protected
    one (.covprojx) is opened with the passphrase from ``args.passphrase_env``."""
    from coverage_app.cli.protect import open_project_arg

    return open_project_arg(value, args)
