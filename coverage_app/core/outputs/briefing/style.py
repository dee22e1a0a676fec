"""Page constants (paper sizes, margins, ink and map colours), the fixed Burmese phrases and
text helpers (number formats, scale text, place names, Myanmar-script line metrics).
Sizes in millimetres unless the name says points.
"""

from __future__ import annotations

import math


PAPERS_MM = {"a4": (210.0, 297.0), "a3": (297.0, 420.0)}
LANGUAGES = ("en", "my", "both")
OUTPUT_SUFFIXES = (".pdf", ".png")
PNG_DPI = 200
MARGIN_MM = 9.0
GAP_MM = 4.0

INK = "#222222"
MUTED = "#666666"
BACKGROUND_STATES = "#ececec"
OUTSIDE_TOWNSHIPS = "#f4f4f4"
MAP_BACKGROUND = "#fbfbf8"
MARKING_COLOURS = {False: "#b2182b", True: "#2166ac"}

# Burmese for the few fixed phrases of titles and headers. Reviewed wording is welcome:
# everything else on the page (legend, table headings) stays English in every language.
MY_PHRASES = {
    "title": "ကျန်းမာရေးစောင့်ရှောက်မှု လက်လှမ်းမီမှု",
    "township": "မြို့နယ်",
}
REGION_MY = {"MMR005": "စစ်ကိုင်းတိုင်းဒေသကြီး"}


def has_my(text) -> bool:
    return any("\u1000" <= ch <= "\u109f" or "\uaa60" <= ch <= "\uaa7f" for ch in str(text))


def line_factor(text) -> float:
    """Line height / font size: Myanmar script stacks marks above and below, so it needs more."""
    return 1.7 if has_my(text) else 1.3


def extent_pt(text, size_pt) -> tuple[float, float]:
    """Approximate ascent and descent (points) of a line: Myanmar stacks marks high and low."""
    if has_my(text):
        return 1.05 * size_pt, 0.55 * size_pt
    return 0.78 * size_pt, 0.24 * size_pt


def fmt_int(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(round(float(value))):,}"


def fmt_pct(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * float(value):.0f}%"


def nice_scale(denominator: float) -> str:
    if denominator <= 0 or not math.isfinite(denominator):
        return ""
    digits = int(math.floor(math.log10(denominator))) - 1
    return f"1:{int(round(denominator, -digits)):,}"


def place_name(row, language: str, sep: str = "\n") -> str:
    en = str(row.get("name_en") or "").strip()
    my = str(row.get("name_my") or "").strip()
    if language == "en":
        return en or my
    if language == "my":
        return my or en
    if en and my:
        return f"{en}{sep}{my}"
    return en or my
