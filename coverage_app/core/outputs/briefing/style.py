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

# Burmese for the fixed phrases of titles, headers, legend and table headings (simple,
# standard wording; reviewed wording is welcome). ``tr`` looks a phrase up here or in
# MY_PATTERNS (phrases with a number or date in them).
MY_PHRASES = {
    "title": "ကျန်းမာရေးစောင့်ရှောက်မှု လက်လှမ်းမီမှု",
    "township": "မြို့နယ်",
}
MY_WORDS = {
    # legend headings and entries
    "Villages": "ကျေးရွာများ",
    "Village": "ကျေးရွာ",
    "Both within reach": "နှစ်မျိုးလုံး လက်လှမ်းမီ",
    "No secondary care": "ဆေးရုံ လက်လှမ်းမမီ",
    "No primary care": "မူလကုသမှု လက်လှမ်းမမီ",
    "No primary, no secondary": "မူလကုသမှုနှင့် ဆေးရုံ မမီ",
    "Unreachable / off grid": "မရောက်နိုင်",
    "Health facilities": "ကျန်းမာရေးဌာနများ",
    "Hospital (secondary care)": "ဆေးရုံ",
    "Primary care": "မူလကုသမှု",
    "New facility (scenario)": "ဌာနသစ် (အစီအစဉ်)",
    "Status functioning": "လုပ်ငန်းလည်ပတ်",
    "Status partial": "တစ်စိတ်တစ်ပိုင်း",
    "Status unknown": "အခြေအနေ မသိ",
    "Status unknown, counted": "အခြေအနေ မသိ (ထည့်တွက်)",
    "Travel time to primary care": "မူလကုသမှုသို့ ခရီးချိန်",
    "No-go zone": "မသွားရ ဇုန်",
    "Restricted zone": "ကန့်သတ် ဇုန်",
    "Risk zone": "အန္တရာယ် ဇုန်",
    "Base map": "အခြေခံမြေပုံ",
    "Main road": "လမ်းမကြီး",
    "Secondary road": "ဒုတိယလမ်း",
    "Tertiary road": "တတိယလမ်း",
    "Track road": "လှည်းလမ်း",
    "Path road": "ခြေလျင်လမ်း",
    "River / water": "မြစ် / ရေ",
    "Township boundary": "မြို့နယ် နယ်နိမိတ်",
    "Region boundary": "တိုင်း နယ်နိမိတ်",
    "Other townships": "အခြား မြို့နယ်များ",
    "Number of facilities per township": "မြို့နယ်အလိုက် ဌာန အရေအတွက်",
    # table headings
    "Township": "မြို့နယ်",
    "Townships": "မြို့နယ်များ",
    "Population": "လူဦးရေ",
    "Census pop.": "လူဦးရေ (သန်းခေါင်)",
    "people": "လူဦးရေ",
    "villages": "ကျေးရွာ",
    "Facilities": "ဌာန",
    "Hospitals": "ဆေးရုံ",
    "Total": "စုစုပေါင်း",
    "primary": "မူလကုသမှု",
    "secondary": "ဆေးရုံ",
    "Minutes to": "မိနစ်",
    "Townships by people without primary care": "မူလကုသမှု မမီသူ အများဆုံး မြို့နယ်များ",
    "Largest villages without primary care": "မူလကုသမှု မမီသော ကျေးရွာကြီးများ",
}
MY_PATTERNS = [
    (r"^Over (\S+) min to primary$", "မူလကုသမှုသို့ {0} မိနစ်ကျော်"),
    (r"^Over (\S+) min to secondary$", "ဆေးရုံသို့ {0} မိနစ်ကျော်"),
    (r"^(\S+)–(\S+) min$", "{0}–{1} မိနစ်"),
    (r"^Secondary care within (\S+) min$", "ဆေးရုံ {0} မိနစ်အတွင်း"),
    (r"^Conflict zones on (\S+)$", "ပဋိပက္ခ ဇုန်များ ({0})"),
    (r"^Number of facilities per (\S+) km cell$", "{0} km ကွက်အလိုက် ဌာန အရေအတွက်"),
]
REGION_MY = {"MMR005": "စစ်ကိုင်းတိုင်းဒေသကြီး"}


def my_text(text) -> str | None:
    """The Burmese for an English page phrase, or None when there is none."""
    import re

    if text in MY_WORDS:
        return MY_WORDS[text]
    for pattern, template in MY_PATTERNS:
        m = re.match(pattern, text)
        if m:
            return template.format(*m.groups())
    return None


def tr(text, language: str, sep: str = " / ") -> str:
    """``text`` for the page language: English, Burmese, or both joined by ``sep``."""
    if language == "en" or not text:
        return text
    my = my_text(text)
    if my is None:
        return text
    return my if language == "my" else f"{text}{sep}{my}"


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
