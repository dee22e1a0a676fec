"""Where a line of legend text may break, for the on-map legend (measured with Qt,
coverage_app.ui.legend_layout) and the printed one (measured with matplotlib, briefing.legend).

Lines break at spaces. A word wider than the line breaks inside only where a reader expects
it: at the start of a Burmese syllable (never before a consonant killed by asat, U+103A, nor
inside a stacked cluster after U+1039), after ``-``, ``/`` or ``_``, or, for a run with none
of these, between characters (never before a combining mark). Qt's own line breaking splits
Burmese words before a killed consonant ("ရှော|က်"), so it is not used.

``measure`` is a function giving a string's width in the unit of ``width`` (px or mm).
"""

from __future__ import annotations

import unicodedata
from typing import Callable

ASAT, VIRAMA, DOT_BELOW = "\u103a", "\u1039", "\u1037"
ZWJ, ZWNJ = "\u200d", "\u200c"
#: characters that begin a Burmese syllable: consonants and independent vowels (incl. great sa)
MY_STARTS = ((0x1000, 0x102A), (0x103F, 0x103F), (0x1050, 0x1055), (0x105A, 0x105D), (0x1061, 0x1061),
             (0x1065, 0x1066), (0x106E, 0x1070), (0x1075, 0x1081), (0x108E, 0x108E))
INNER_AFTER = "-/_"

Measure = Callable[[str], float]


def starts_syllable(text: str, i: int) -> bool:
    code = ord(text[i])
    if not any(lo <= code <= hi for lo, hi in MY_STARTS) or text[i - 1] == VIRAMA:
        return False
    j = i + 1
    while j < len(text) and text[j] == DOT_BELOW:  # "င့်" is stored consonant, dot below, asat
        j += 1
    return not (j < len(text) and text[j] in (ASAT, VIRAMA))  # a killed or stacking consonant


def between_characters(text: str, i: int) -> bool:
    return (unicodedata.category(text[i])[0] != "M" and text[i] not in (ZWJ, ZWNJ, ASAT)
            and text[i - 1] not in (ZWJ, VIRAMA))


def word_break(text: str, i: int) -> bool:
    return text[i - 1] == " " and text[i] != " "


def inner_break(text: str, i: int) -> bool:
    return text[i] != " " and text[i - 1] != " " and (text[i - 1] in INNER_AFTER or starts_syllable(text, i))


def line_end(text: str, start: int, measure: Measure, width: float) -> int:
    """Index after the longest line from ``start`` that fits ``width`` (at least one character)."""
    if measure(text[start:]) <= width:
        return len(text)
    for allowed in (word_break, inner_break, between_characters):
        best = None
        for i in range(start + 1, len(text)):
            if not allowed(text, i):
                continue
            if measure(text[start:i].rstrip()) > width:
                break
            best = i
        if best is not None:
            return best
    return next((i for i in range(start + 1, len(text)) if between_characters(text, i)), len(text))


def wrap(text: str, measure: Measure, width: float) -> list[str]:
    """``text`` (spaces collapsed) in lines at most ``width`` wide (a single character wider
    than that gets a line of its own), as many as it takes."""
    text = " ".join(str(text).split())
    lines, start = [], 0
    while start < len(text):
        end = line_end(text, start, measure, width)
        lines.append(text[start:end].rstrip())
        start = end
        while start < len(text) and text[start] == " ":
            start += 1
    return lines or [""]
