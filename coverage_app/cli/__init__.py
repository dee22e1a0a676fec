"""Command line front end over :mod:`coverage_app.core`: one module per command group, each
with a ``register(subparsers)`` (:mod:`.data` validate / info / convert-zawgyi, :mod:`.analyse`
the analysis and siting commands, :mod:`.brief` the briefing maps); :mod:`.main` builds the
parser from them and dispatches; :mod:`.common` holds what they share (terminal progress, the
error/exit-code wrapper, the project argument). Never imports
:mod:`coverage_app.ui`."""

from coverage_app.cli.common import TerminalFeedback
from coverage_app.cli.main import main

__all__ = ["TerminalFeedback", "main"]
