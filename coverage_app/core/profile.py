"""Stage profile of one run: seconds per stage, Qt-free, shared by the CLI (``analyse
--profile``), run.json (``timings``) and the app.

A :class:`Stages` recorder is passed through the pipeline and the export (``stages=None``
everywhere: recording is optional and costs a ``perf_counter`` call per stage). Stages are
kept in the order they were first recorded; a stage recorded twice adds up. A stage that ran
while another one did (the catchment shapes of the tier that finished first, polygonised
while the other tier's search runs) is marked ``overlapped``: it is not added to the sum.

Start-up is measured from the process start (Linux: ``/proc/self/stat``; elsewhere from the
first line of ``coverage_app/__main__.py``) to the command's first line.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager

# Taken when this module is first imported; __main__ imports it first thing.
IMPORTED_AT = time.perf_counter()


def process_age_s() -> float | None:
    """Seconds since this process started (wall clock), or None where it cannot be read."""
    try:
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5): starttime, clock ticks after boot
        with open("/proc/uptime", "rb") as fh:
            uptime = float(fh.read().split()[0])
        return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


class Stages:
    """Ordered seconds per stage. ``with stages.stage("friction"): ...`` or ``stages.add(name, s)``."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.overlapped: set[str] = set()

    def add(self, name: str, seconds: float, overlapped: bool = False) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + float(seconds)
        if overlapped:
            self.overlapped.add(name)

    @contextmanager
    def stage(self, name: str, overlapped: bool = False):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t, overlapped)

    def record_startup(self, main_started_at: float | None = None) -> None:
        """Add ``start-up`` (process start to interpreter running our first line) and ``imports``
        (our first line to now). ``main_started_at`` is a ``perf_counter`` value taken first thing
        in ``__main__`` (default: when this module was imported)."""
        now = time.perf_counter()
        first = IMPORTED_AT if main_started_at is None else main_started_at
        age = process_age_s()
        if age is not None:
            self.add("start-up (interpreter)", max(age - (now - first), 0.0))
        self.add("imports", now - first)

    def total(self) -> float:
        return sum(s for name, s in self.seconds.items() if name not in self.overlapped)

    def as_dict(self, digits: int = 3) -> dict:
        out = {name: round(s, digits) for name, s in self.seconds.items()}
        if self.overlapped:
            out["overlapped"] = sorted(self.overlapped)
        out["sum"] = round(self.total(), digits)
        return out

    def table(self) -> str:
        """A plain-text table: stage, seconds, share of the sum."""
        total = self.total() or 1.0
        width = max([len(n) for n in self.seconds] + [5])
        lines = [f"{'stage':<{width}}  {'s':>7}  {'share':>6}"]
        for name, s in self.seconds.items():
            share = "(over)" if name in self.overlapped else f"{s / total:6.1%}"
            lines.append(f"{name:<{width}}  {s:7.3f}  {share:>6}")
        lines.append(f"{'sum':<{width}}  {self.total():7.3f}")
        return "\n".join(lines)


@contextmanager
def stage(stages: Stages | None, name: str, overlapped: bool = False):
    """``with stage(stages, name):`` records into ``stages`` or does nothing for None."""
    if stages is None:
        yield
    else:
        with stages.stage(name, overlapped):
            yield


def print_table(stages: Stages, file=None) -> None:
    print(stages.table(), file=file or sys.stderr)
