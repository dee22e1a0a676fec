"""Command line front end over :mod:`coverage_app.core`: one module per command group
(:mod:`.main` builds the parser and dispatches, :mod:`.analyse` the analysis and siting
commands, :mod:`.brief` the briefing maps). Never imports :mod:`coverage_app.ui`."""

from coverage_app.cli.main import TerminalFeedback, main

__all__ = ["TerminalFeedback", "main"]
