"""Entry point: ``coverage-app`` with no arguments opens the desktop app; with a command, the CLI.

The console script (``coverage-app``) and ``python -m coverage_app`` run :func:`console_main`:
no garbage collections during the start-up imports, and a command line run ends with
:func:`coverage_app.core.startup.fast_exit` (no interpreter teardown) once the command returned.
:func:`main` (what tests and scripts call in-process) does neither.
"""

from __future__ import annotations

from coverage_app.core import profile as _profile  # first: its import time is the start of our code

import os
import sys

from coverage_app.core import startup


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal", "vnc"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def opens_app(argv) -> bool:
    """True if ``argv`` (without the program name) starts the desktop app, not a command."""
    gui_flags = {"--project", "--no-restore"}
    return not argv or argv[0] in gui_flags or (len(argv) == 1 and argv[0].endswith((".covproj", ".covprojx")))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if opens_app(argv):
        if not has_display():
            print("coverage-app: no display found (DISPLAY is not set), so the desktop window cannot open.\n"
                  "Use the command line instead, for example:\n"
                  "  coverage-app info                 # the bundled Sagaing project\n"
                  "  coverage-app analyse --out results\n"
                  "  coverage-app --help", file=sys.stderr)
            return 2
        try:
            from coverage_app.ui.app import run_app
        except ModuleNotFoundError as exc:  # PySide6 (or another package) not installed
            return _missing_dependency_exit(exc)
        return run_app(argv)
    from coverage_app.cli import main as cli_main

    return cli_main(argv)


def _missing_dependency_exit(exc: ModuleNotFoundError) -> int:
    """Say which package is missing and how to install it (exit code 3), instead of a traceback."""
    from coverage_app.core.errors import MISSING_DEPENDENCY_EXIT, missing_dependency

    message = missing_dependency(exc)
    if message is None:
        raise exc
    print(f"coverage-app: {message}", file=sys.stderr)
    return MISSING_DEPENDENCY_EXIT


def console_main() -> int:
    """The console script: :func:`main` on ``sys.argv`` in a process of its own. Holds
    garbage collections until the heavy modules are imported (the command or the app calls
    :func:`~coverage_app.core.startup.imports_done`); after a command (not the app: Qt saves its
    settings in its teardown) ends the process at once with the command's exit code."""
    startup.hold()
    startup.small_pages_for_numpy()
    argv = sys.argv[1:]
    code = main(argv)
    if opens_app(argv):
        return code
    startup.fast_exit(code)
    return code  # not reached


if __name__ == "__main__":
    raise SystemExit(console_main())
