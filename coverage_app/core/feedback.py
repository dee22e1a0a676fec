"""Progress and cancellation for slow core functions (the Orange3 / QGIS Processing pattern).

Every slow function in ``coverage_app.core`` takes ``feedback=None``: an object with
``progress(fraction, message)`` and ``cancelled()``. The core never knows who listens: a Qt
worker, the terminal, or nobody.
"""

from __future__ import annotations

from typing import Protocol


class Cancelled(Exception):
    """Raised inside a core function when its feedback object asks to stop."""


class Feedback(Protocol):
    def progress(self, fraction: float, message: str = "") -> None: ...

    def cancelled(self) -> bool: ...


def check(feedback) -> None:
    """Raise :class:`Cancelled` if ``feedback`` asks to stop (no-op for ``None``)."""
    if feedback is not None and feedback.cancelled():
        raise Cancelled()


def report(feedback, fraction: float, message: str = "") -> None:
    """Report progress in [0, 1] (no-op for ``None``); also checks for cancellation."""
    if feedback is None:
        return
    feedback.progress(min(max(float(fraction), 0.0), 1.0), message)
    check(feedback)


class SubFeedback:
    """Maps the progress of one step onto the slice [start, end] of a parent's bar."""

    def __init__(self, parent, start: float, end: float):
        self.parent, self.start, self.end = parent, start, end

    def progress(self, fraction: float, message: str = "") -> None:
        if self.parent is not None:
            self.parent.progress(self.start + (self.end - self.start) * fraction, message)

    def cancelled(self) -> bool:
        return self.parent is not None and self.parent.cancelled()


def sub(feedback, start: float, end: float):
    return None if feedback is None else SubFeedback(feedback, start, end)
