"""The ``coverage-app`` parser, built from the command-group modules, and the dispatch.

Each module in :data:`COMMAND_MODULES` has a ``register(subparsers)`` adding its commands
(each sets ``func``); :func:`main` parses and runs the chosen one through
:func:`coverage_app.cli.common.run_command` (exit codes there). A command whose parser sets
``imports_heavy=True`` calls :func:`coverage_app.core.startup.imports_done` after its heavy
imports; for the others :func:`main` calls it before the command runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging

from coverage_app import __version__
from coverage_app.cli.common import run_command
from coverage_app.core import startup

# One module per command group, each with a ``register(subparsers)``; add new groups here.
# The order is the order of the commands in --help.
COMMAND_MODULES = ("coverage_app.cli.data", "coverage_app.cli.analyse", "coverage_app.cli.brief",
                   "coverage_app.cli.status", "coverage_app.cli.sweep", "coverage_app.cli.protect")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coverage-app",
        description="Travel-time access to health care. With no command, opens the desktop app on the "
                    "bundled Sagaing project.")
    parser.add_argument("--version", action="version", version=f"coverage-app {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    from coverage_app.cli.protect import add_passphrase_flags

    add_passphrase_flags(sub)  # every command reading a PROJECT opens protected ones
    return parser


def main(argv=None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if not getattr(args, "imports_heavy", False):  # the others freeze after their own heavy imports
        startup.imports_done()  # a console-script start: collect again (no-op in-process)
    return run_command(args.func, args)


if __name__ == "__main__":
    raise SystemExit(main())
