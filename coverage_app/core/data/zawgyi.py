"""Detect and convert Zawgyi-encoded Burmese text (the legacy non-Unicode font encoding).

Detection uses Google's ``myanmartools`` model; conversion uses ``python-myanmar``'s
rule-based converter. Text that is not Burmese scores 0 and is left alone.
"""

from __future__ import annotations

import re
from functools import lru_cache

ZAWGYI_THRESHOLD = 0.95  # probability above which a string is treated as Zawgyi


@lru_cache(maxsize=1)
def _detector():
    from myanmartools import ZawgyiDetector

    return ZawgyiDetector()


_MYANMAR = re.compile("[\u1000-\u109f]")


def _has_myanmar(text: str) -> bool:
    return _MYANMAR.search(text) is not None


def zawgyi_probability(text) -> float:
    if not isinstance(text, str) or not _has_myanmar(text):
        return 0.0
    return float(_detector().get_zawgyi_probability(text))


def is_zawgyi(text) -> bool:
    return zawgyi_probability(text) > ZAWGYI_THRESHOLD


def to_unicode(text: str) -> str:
    """Convert one Zawgyi string to Unicode; Unicode or non-Burmese text is returned as is."""
    if not is_zawgyi(text):
        return text
    from myanmar import converter

    return converter.convert(text, "zawgyi", "unicode")


def zawgyi_rows(values) -> list[int]:
    """Positions (0-based) of values that look Zawgyi-encoded (each distinct string scored once:
    the detector walks every character)."""
    seen: dict = {}
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, str):
            continue
        z = seen.get(v)
        if z is None:
            z = seen[v] = is_zawgyi(v)
        if z:
            out.append(i)
    return out
