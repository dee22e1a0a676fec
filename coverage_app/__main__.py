"""Entry point: ``coverage-app`` with no arguments opens the desktop app; with a command, the CLI."""

from __future__ import annotations

from coverage_app.core import profile as _profile  # first: its import time is the start of our code

import os
import sys


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal", "vnc"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    gui_flags = {"--project", "--no-restore"}
    if not argv or argv[0] in gui_flags or (len(argv) == 1 and argv[0].endswith((".covproj", ".covprojx"))):
        if not has_display():
            print("coverage-app: no display found (DISPLAY is not set), so the desktop window cannot open.\n"
                  "Use the command line instead, for example:\n"
                  "  coverage-app info                 # the bundled Sagaing project\n"
                  "  coverage-app analyse --out results\n"
                  "  coverage-app --help", file=sys.stderr)
            return 2
        from coverage_app.ui.app import run_app

        return run_app(argv)
    from coverage_app.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
