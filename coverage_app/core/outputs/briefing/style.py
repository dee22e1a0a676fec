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
    "Status closed": "ပိတ်ထား",
    "Status destroyed": "ပျက်စီး",
    "Travel time to primary care": "မူလကုသမှုသို့ ခရီးချိန်",
    "No-go zone": "မသွားရ ဇုန်",
    "Restricted zone": "ကန့်သတ် ဇုန်",
    "Risk zone": "အန္တရာယ် ဇုန်",
    "Other zone": "အခြား ဇုန်",
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
    "beyond": "မရောက်နိုင်",
    "None": "မရှိ",
    # words inside sentences (MY_PATTERNS translates a pattern's parts through these)
    "2014 census": "2014 သန်းခေါင်စာရင်း",
    "Kontur 2023 township totals": "Kontur 2023 မြို့နယ် စုစုပေါင်း",
    "population grid": "လူဦးရေ ကွက်",
    "walking": "လမ်းလျှောက်",
    "motorbike": "ဆိုင်ကယ်",
    "car": "ကား",
    "Walking": "လမ်းလျှောက်",
    "Motorbike": "ဆိုင်ကယ်",
    "Car": "ကား",
    "Baseline": "လက်ရှိအခြေအနေ",
    "Myanmar": "မြန်မာ",
    # key figures, notes and the page's fixed sentences
    "Run an analysis for people and villages without care within reach.":
        "လက်လှမ်းမမီသော လူဦးရေနှင့် ကျေးရွာများ သိရန် ခရီးချိန် တွက်ချက်မှု လုပ်ပါ။",
    "No conflict-zone layer in the project.": "ပရောဂျက်တွင် ပဋိပက္ခ ဇုန် အလွှာ မရှိပါ။",
    "Catchment bands are left out of the safe-share version.":
        "လုံခြုံစွာ မျှဝေနိုင်သော မူတွင် ခရီးချိန် အပိုင်းများ မပါပါ။",
    "Sorted by population; labelled on the map where space allows.":
        "လူဦးရေ အများဆုံးမှ စီထားသည်၊ နေရာရှိလျှင် မြေပုံပေါ်တွင် အမည်ပြထားသည်။",
    "all townships on the table page": "မြို့နယ်အားလုံး ဇယားစာမျက်နှာတွင်",
    "No travel-time analysis on this map": "ဤမြေပုံတွင် ခရီးချိန် တွက်ချက်မှု မပါ",
    "Baseline (situation as recorded)": "လက်ရှိအခြေအနေ (မှတ်တမ်းအတိုင်း)",
    "Health facilities, conflict zones and villages (input layers; no travel-time analysis)":
        "ကျန်းမာရေးဌာနများ၊ ပဋိပက္ခ ဇုန်များနှင့် ကျေးရွာများ (ထည့်သွင်းထားသော အလွှာများ၊ ခရီးချိန် တွက်ချက်မှု မပါ)",
    "Travel times are modelled estimates (friction surface over roads, rivers and conflict zones)":
        "ခရီးချိန်များသည် လမ်း၊ မြစ်နှင့် ပဋိပက္ခ ဇုန်များပေါ်မူတည်၍ ခန့်မှန်းတွက်ချက်ထားခြင်း ဖြစ်သည်",
    "Conflict zones are derived from reported events and are approximate":
        "ပဋိပက္ခ ဇုန်များသည် သတင်းပို့ထားသော ဖြစ်စဉ်များမှ ခန့်မှန်းထားခြင်း ဖြစ်သည်",
    "Boundaries and names shown do not imply official endorsement.":
        "ပြထားသော နယ်နိမိတ်နှင့် အမည်များသည် တရားဝင် အတည်ပြုချက် မဟုတ်ပါ။",
    "Sources: not recorded in the project": "ရင်းမြစ်များ: ပရောဂျက်တွင် မှတ်တမ်းမရှိ",
    # the marking strip (who may see the page)
    "SENSITIVE: contains health facility locations. Do not share outside the team.":
        "လျှို့ဝှက်: ကျန်းမာရေးဌာန တည်နေရာများ ပါဝင်သည်။ အဖွဲ့ပြင်ပသို့ မမျှဝေပါနှင့်။",
    "Safe-share version: facility names removed, locations generalised.":
        "လုံခြုံစွာ မျှဝေနိုင်သော မူ: ဌာနအမည်များ ဖယ်ထားပြီး တည်နေရာများကို အကြမ်းဖျင်းသာ ပြထားသည်။",
}
MY_PATTERNS = [
    (r"^Over (\S+) min to primary$", "မူလကုသမှုသို့ {0} မိနစ်ကျော်"),
    (r"^Over (\S+) min to secondary$", "ဆေးရုံသို့ {0} မိနစ်ကျော်"),
    (r"^(\S+)–(\S+) min$", "{0}–{1} မိနစ်"),
    (r"^Secondary care within (\S+) min$", "ဆေးရုံ {0} မိနစ်အတွင်း"),
    (r"^Conflict zones on (\S+)$", "ပဋိပက္ခ ဇုန်များ ({0})"),
    (r"^Number of facilities per (\S+) km cell$", "{0} km ကွက်အလိုက် ဌာန အရေအတွက်"),
    # key figures (tables.figures_lines); numbers stay in Western digits
    (r"^Population \((.+)\): (\S+) in (\S+) villages$", "လူဦးရေ ({0}): {1}၊ ကျေးရွာ {2}"),
    (r"^Population of the villages: (\S+) in (\S+) villages$", "ကျေးရွာများ၏ လူဦးရေ: {0}၊ ကျေးရွာ {1}"),
    (r"^No primary care within (\S+) min: (\S+) people \((\S+)\), (\S+) villages$",
     "မူလကုသမှု {0} မိနစ်အတွင်း လက်လှမ်းမမီ: လူဦးရေ {1} ({2})၊ ကျေးရွာ {3}"),
    (r"^No secondary care within (\S+) min: (\S+) people \((\S+)\), (\S+) villages$",
     "ဆေးရုံ {0} မိနစ်အတွင်း လက်လှမ်းမမီ: လူဦးရေ {1} ({2})၊ ကျေးရွာ {3}"),
    (r"^Facilities counted: (\S+) for primary, (\S+) for secondary care$",
     "ထည့်တွက်သော ဌာနများ: မူလကုသမှု {0}၊ ဆေးရုံ {1}"),
    (r"^Health facilities in the township: (\S+) \((\S+) hospitals? providing secondary care\)$",
     "မြို့နယ်အတွင်း ကျန်းမာရေးဌာန {0} (ဆေးရုံ {1})"),
    (r"^Range under low / high speed assumptions: within (\S+) min of primary care (\S+) %, "
     r"within (\S+) min of secondary care (\S+) %$",
     "အမြန်နှုန်း နိမ့်/မြင့်: မူလကုသမှု {0} မိနစ်အတွင်း {1} %၊ ဆေးရုံ {2} မိနစ်အတွင်း {3} %"),
    (r"^(\S+) facilities of unknown status were counted as functioning: coverage may be overstated\.$",
     "အခြေအနေမသိ ဌာန {0} ခုကို လည်ပတ်သည်ဟု ထည့်တွက်ထား၍ လက်လှမ်းမီမှု ပိုများပြနေနိုင်သည်။"),
    (r"^Census population \(2014\): (\S+)$", "လူဦးရေ (2014 သန်းခေါင်စာရင်း): {0}"),
    (r"^Villages: ([0-9,–]+)$", "ကျေးရွာများ: {0}"),
    (r"^Health facilities: (\S+) \((\S+) providing secondary care\)$", "ကျန်းမာရေးဌာနများ: {0} (ဆေးရုံ {1})"),
    (r"^Conflict zones in force on (\S+): (\S+) of (\S+)$",
     "ပဋိပက္ခ ဇုန်များ ({0}): {2} ခုအနက် {1} ခု"),
    (r"^Uncertainty \((\S+) draws, (.+)\): share of people within reach, median \(5–95 % of draws\)$",
     "မသေချာမှု (တွက်ချက်မှု {0} ကြိမ်၊ {1}): လက်လှမ်းမီသော လူဦးရေ ရာခိုင်နှုန်း၊ အလယ်ကိန်း "
     "(တွက်ချက်မှု၏ 5–95 %)"),
    (r"^Primary care within (\S+) min: (\S+) % \((\S+) %\)$", "မူလကုသမှု {0} မိနစ်အတွင်း: {1} % ({2} %)"),
    (r"^Secondary care within (\S+) min: (\S+) % \((\S+) %\)$", "ဆေးရုံ {0} မိနစ်အတွင်း: {1} % ({2} %)"),
    # the sweep legend (symbology.access_probability_classes)
    (r"^Villages: (primary|secondary) care in reach in$", "ကျေးရွာများ: {0} လက်လှမ်းမီသည့် အကြိမ်"),
    (r"^> (\S+) % of draws$", "တွက်ချက်မှု၏ {0} % ကျော်"),
    (r"^≤ (\S+) % of draws$", "တွက်ချက်မှု၏ {0} % နှင့်အောက်"),
    (r"^(\S+)–(\S+) % of draws$", "တွက်ချက်မှု၏ {0}–{1} %"),
    # table headings and notes, the table page
    (r"^\(top (\S+) of (\S+)\)$", "({1} ခုအနက် {0} ခု)"),
    (r"^\(top (\S+) of (\S+); (.+)\)$", "({1} ခုအနက် {0} ခု၊ {2})"),
    (r"^All (\S+) townships: add the township table page\.$",
     "မြို့နယ် {0} ခုလုံးအတွက် မြို့နယ်ဇယား စာမျက်နှာကို ထည့်ပါ။"),
    (r"^Key figures by township: (.+) — (.+)$", "မြို့နယ်အလိုက် အဓိက ကိန်းဂဏန်းများ: {0} — {1}"),
    (r"^Key figures: (.+) Township$", "{0} မြို့နယ် အဓိက ကိန်းဂဏန်းများ"),
    (r"^Key figures: (.+)$", "{0} အဓိက ကိန်းဂဏန်းများ"),
    # the subtitle and the analysis parameters (top right)
    (r"^People and villages without primary care within (\S+) min and without secondary care within (\S+) min "
     r"\((\S+)\)$",
     "မူလကုသမှု {0} မိနစ်အတွင်း နှင့် ဆေးရုံ {1} မိနစ်အတွင်း လက်လှမ်းမမီသော လူဦးရေနှင့် ကျေးရွာများ ({2})"),
    (r"^Printed (\S+)$", "ပုံနှိပ်ရက် {0}"),
    (r"^Situation as of (\S+)$", "{0} ရှိ အခြေအနေ"),
    (r"^Scenario: (.+) \(hypothetical\)$", "အစီအစဉ်: {0} (ယူဆချက်)"),
    (r"^Scenario: (.+)$", "အစီအစဉ်: {0}"),
    (r"^(\S+) · thresholds: primary (\S+) min, secondary (\S+) min$",
     "{0} · သတ်မှတ်ချိန်: မူလကုသမှု {1} မိနစ်၊ ဆေးရုံ {2} မိနစ်"),
    (r"^(\S+) m grid · (\S+)-neighbour · bands (\S+) min$", "{0} m ကွက် · အိမ်နီးချင်း {1} · အပိုင်း {2} မိနစ်"),
    (r"^Scale (\S+) on (\S+)$", "{1} ပေါ်တွင် စကေး {0}"),
    (r"^Scenario “(.+)” \(hypothetical, (\S+) edits?\)$", "အစီအစဉ် “{0}” (ယူဆချက်၊ ပြင်ဆင်ချက် {1} ခု)"),
    (r"^HYPOTHETICAL SCENARIO “(.+)” · (.+)$", "ယူဆချက် အစီအစဉ် “{0}” · {1}"),
    (r"^Hypothetical scenario “(.+)”: the figures assume no edits yet, not the recorded situation$",
     "ယူဆချက် အစီအစဉ် “{0}”: ပြင်ဆင်ချက် မရှိသေးပါ၊ မှတ်တမ်းတင်ထားသော အခြေအနေ မဟုတ်ပါ"),
    (r"^Hypothetical scenario “(.+)”: the figures assume (.+), not the recorded situation$",
     "ယူဆချက် အစီအစဉ် “{0}”: ကိန်းဂဏန်းများသည် {1} ဟု ယူဆထားသည်၊ မှတ်တမ်းတင်ထားသော အခြေအနေ မဟုတ်ပါ"),
]
REGION_MY = {"MMR005": "စစ်ကိုင်းတိုင်းဒေသကြီး"}


def my_text(text) -> str | None:
    """The Burmese for an English page phrase, or None when there is none.

    A pattern's parts (numbers, names, words such as a travel mode) go into its Burmese
    template translated where MY_WORDS (or another pattern) has them, else as they are.
    """
    import re

    if text in MY_WORDS:
        return MY_WORDS[text]
    for pattern, template in MY_PATTERNS:
        m = re.match(pattern, text)
        if m:
            return template.format(*(_my_part(g) for g in m.groups()))
    return None


def _my_part(part: str) -> str:
    """A pattern's part in Burmese: whole, else word by word where every word with Latin
    letters has a translation (``motorbike 2024-06-01``), else as it is (a name)."""
    import re

    whole = my_text(part)
    if whole is not None:
        return whole
    pieces = re.split(r"([A-Za-z][A-Za-z\-]*)", part)  # odd pieces are the words
    if all(p in MY_WORDS for p in pieces[1::2]):
        return "".join(MY_WORDS.get(p, p) if i % 2 else p for i, p in enumerate(pieces))
    return part


def tr(text, language: str, sep: str = " / ") -> str:
    """``text`` for the page language: English, Burmese, or both joined by ``sep``."""
    if language == "en" or not text:
        return text
    return bilingual(text, my_text(text), language, sep)


def bilingual(en: str, my: str | None, language: str, sep: str = " / ") -> str:
    """English ``en``, its Burmese ``my`` (English where None), or both joined by ``sep``."""
    if language == "en" or not my:
        return en
    return my if language == "my" else f"{en}{sep}{my}"


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
