"""PySide6 desktop front end: the only package that imports Qt (DESIGN.md section 1).

Widgets collect parameters and hand core calls to :mod:`coverage_app.ui.tasks`; results are
applied on the GUI thread. Entry point: :func:`coverage_app.ui.app.run_app`.
"""

from __future__ import annotations

import sys


def _pin_singletons() -> bool:
    """Work around a reference-count bug of PySide6 6.12 on Python < 3.12.

    There, every call of a Qt method returning ``void`` (``QPainter.setPen``,
    ``QPainterPath.moveTo``…) returns ``None`` without taking a reference, and every
    ``Signal.emit`` does the same with ``True``/``False``: each call removes one reference
    from the singleton. After a few thousand calls (a few seconds of panning the map) the
    count reaches zero and the interpreter aborts with "Fatal Python error: none_dealloc".
    Python 3.12+ makes these singletons immortal, so nothing is needed there. Below 3.12 we
    add 2**40 references to each singleton (they are never freed anyway), which no session
    can use up. The field written is ``ob_refcnt``; the change is verified and undone if
    ``sys.getrefcount`` does not follow (an unusual build).
    """
    if sys.version_info >= (3, 12):
        return False
    import ctypes

    pinned = False
    big = 1 << 40
    for obj in (None, True, False):
        cell = ctypes.c_ssize_t.from_address(id(obj))
        before = sys.getrefcount(obj)
        if abs(cell.value - before) > 10_000:  # not ob_refcnt (the count moves a little all the time)
            continue
        cell.value += big
        if abs(sys.getrefcount(obj) - before - big) > 10_000:
            cell.value -= big
            continue
        pinned = True
    return pinned


SINGLETONS_PINNED = _pin_singletons()
