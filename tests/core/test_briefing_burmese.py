"""Burmese and bilingual prints: legend and table headings translated, the region table whole,
and nothing else left in English on a Burmese page (key figures, notes, marking, parameters,
footer, the table page) except names, numbers and units.

Burmese text extraction from matplotlib PDFs is garbled, so these read the composed Figure's
text artists instead of pdftotext.
"""

import datetime as dt
import re

import matplotlib
import numpy as np
import pytest

from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.outputs.briefing import compose_page, prepare_layers
from coverage_app.core.data.zawgyi import is_zawgyi
from coverage_app.core.outputs.briefing.compose import compose_table_page
from coverage_app.core.outputs.briefing.page import Page
from coverage_app.core.outputs.briefing.style import MY_PATTERNS, MY_WORDS, has_my, my_text, tr
from coverage_app.core.outputs.briefing.tables import figures_lines
from coverage_app.core.outputs.fonts import register_matplotlib_fonts


@pytest.fixture(scope="module")
def data(bundled_project_path):
    return load_project_data(load_project(bundled_project_path))


@pytest.fixture(scope="module")
def result(data):
    from coverage_app.core.analysis.pipeline import run_analysis

    return run_analysis(data, data.project.params.replace(cell_size_m=2000.0, as_of=dt.date(2024, 6, 1)))


@pytest.fixture(scope="module")
def layers(data, result):
    return prepare_layers(data, result)


def page_texts(data, result, layers, **kw) -> list[str]:
    fig = compose_page(data, result, layers=layers, **kw)
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    return texts


def test_tr_looks_up_words_and_patterns():
    assert tr("Villages", "en") == "Villages"
    assert tr("Villages", "my") == "ကျေးရွာများ"
    assert tr("Villages", "both", "\n") == "Villages\nကျေးရွာများ"
    assert tr("30–60 min", "my") == "30–60 မိနစ်"
    assert tr("Over 60 min to primary", "my") == "မူလကုသမှုသို့ 60 မိနစ်ကျော်"
    assert tr("Conflict zones on 2024-06-01", "my") == "ပဋိပက္ခ ဇုန်များ (2024-06-01)"
    assert my_text("Something never translated") is None
    assert tr("Something never translated", "my") == "Something never translated"
    assert all(v and v != k for k, v in MY_WORDS.items())


def test_burmese_region_page_has_burmese_legend_and_table_and_every_township(data, result, layers):
    texts = page_texts(data, result, layers, language="my")
    joined = "\n".join(texts)
    for english in ("Villages", "Health facilities", "Base map", "Township boundary", "Population",
                    "Townships by people without primary care", "Total", "No primary care"):
        assert english not in texts, english
    for burmese in ("ကျေးရွာများ", "ကျန်းမာရေးဌာနများ", "အခြေခံမြေပုံ", "မြို့နယ်", "လူဦးရေ", "စုစုပေါင်း",
                    "ဆေးရုံ", "မူလကုသမှု မမီသူ အများဆုံး မြို့နယ်များ"):
        assert burmese in texts, burmese
    # the whole township table fits: no "top N of 37", and every township's Burmese name is a cell
    assert "top " not in joined
    names = [str(n) for n in layers.figures["name_my"]]
    assert len(names) == 37
    assert all(n in texts for n in names)


def test_both_languages_show_english_over_burmese(data, result, layers):
    # A3: the whole table beside the map
    texts = page_texts(data, result, layers, language="both", paper="a3")
    # legend labels: English / Burmese on one line where that fits the column, else English over Burmese
    assert {"Villages / ကျေးရွာများ", "Villages\nကျေးရွာများ"} & set(texts)
    assert {"Health facilities / ကျန်းမာရေးဌာနများ", "Health facilities\nကျန်းမာရေးဌာနများ"} & set(texts)
    assert "Population\nလူဦးရေ" in texts
    assert "Total / စုစုပေါင်း" in texts
    heading = next(t for t in texts if t.startswith("Townships by people without primary care\n"))
    assert heading == "Townships by people without primary care\nမူလကုသမှု မမီသူ အများဆုံး မြို့နယ်များ"
    assert all(n in "\n".join(texts) for n in layers.figures["name_my"].astype(str))  # the whole table
    # the key figures: each sentence in English, then in Burmese
    i = texts.index("Key figures: Sagaing Region")
    assert texts[i + 1] == "စစ်ကိုင်းတိုင်းဒေသကြီး အဓိက ကိန်းဂဏန်းများ"
    # on A4 the table is cut; the page says where the rest are, in both languages
    a4 = page_texts(data, result, layers, language="both")
    cut = next(t for t in a4 if t.startswith("Townships by people without primary care (top "))
    assert "of 37; all townships on the table page)\n" in cut and "(37 ခုအနက်" in cut
    assert "All 37 townships: add the township table page.\nမြို့နယ် 37 ခုလုံးအတွက် မြို့နယ်ဇယား စာမျက်နှာကို ထည့်ပါ။" in a4


def test_a_cut_bilingual_table_says_in_both_languages_where_the_rest_are(layers):
    from coverage_app.core.outputs.briefing.page import font_rc
    from coverage_app.core.outputs.briefing.tables import draw_table, table_spec

    family = register_matplotlib_fonts()
    with font_rc(family):
        page = Page("a4", False, family)
        title, cols, rows, total = table_spec(layers, None, "both")
        shown = draw_table(page, 10, 10, 120, 60, title, cols, rows, total, "note", rest_note="all townships on the "
                           "table page", language="both")
    assert 3 <= shown < 37
    texts = [t.get_text() for t in page.fig.findobj(matplotlib.text.Text)]
    assert (f"Townships by people without primary care (top {shown} of 37; all townships on the table page)\n"
            f"မူလကုသမှု မမီသူ အများဆုံး မြို့နယ်များ (37 ခုအနက် {shown} ခု၊ မြို့နယ်အားလုံး ဇယားစာမျက်နှာတွင်)") in texts


def test_english_page_stays_english(data, result, layers):
    texts = page_texts(data, result, layers, language="en")
    assert "Villages" in texts and "Population" in texts and "Total" in texts
    assert not any("ကျေးရွာ" in t for t in texts)


def test_township_page_table_in_burmese(data, result, layers):
    texts = page_texts(data, result, layers, township="MMR005004", language="my")
    assert "မူလကုသမှု မမီသော ကျေးရွာကြီးများ" in "\n".join(texts)
    assert "ကျေးရွာ" in texts and "Village" not in texts


# --- nothing left in English on a Burmese page ----------------------------------------------------

@pytest.fixture(scope="module")
def sens_result(data):
    from coverage_app.core.analysis.pipeline import run_analysis
    from coverage_app.core.analysis.sensitivity import add_sensitivity

    result = run_analysis(data, data.project.params.replace(cell_size_m=2000.0, as_of=dt.date(2024, 6, 1)))
    add_sensitivity(result, data)
    return result


@pytest.fixture(scope="module")
def sens_layers(data, sens_result):
    return prepare_layers(data, sens_result)


LATIN_WORD = re.compile(r"[A-Za-z](?:[A-Za-z0-9\-]|\.(?=[A-Za-z0-9]))*")  # "v23.1", not a full stop
UNITS = {"m", "km", "A4", "A3", "N", "n"}  # metres, kilometres, paper, the north arrow, the count symbol


def allowed_latin(layers) -> set[str]:
    """Latin words a Burmese page may print: units, the program's name, the sources as recorded
    (footer) and facility names (no Burmese names in the data)."""
    from coverage_app import __version__

    words = set(UNITS) | {"coverage-app", __version__}
    for credit in layers.credits:
        words |= set(LATIN_WORD.findall(credit))
    if layers.facilities is not None and "name" in layers.facilities:
        for name in layers.facilities["name"].dropna().astype(str):
            words |= set(LATIN_WORD.findall(name))
    return words


def english_left(fig, layers) -> list[str]:
    allowed = allowed_latin(layers)
    out = []
    for t in fig.findobj(matplotlib.text.Text):
        s = t.get_text()
        if s and any(w not in allowed for w in LATIN_WORD.findall(s)):
            out.append(s)
    return out


@pytest.mark.parametrize("variant", ["region", "township", "safe_share", "safe_grid", "no_analysis"])
def test_a_burmese_page_prints_no_english_but_names_numbers_and_units(data, sens_result, sens_layers, variant):
    kw = {}
    layers, result = sens_layers, sens_result
    if variant == "township":
        kw["township"] = "MMR005004"
    elif variant in ("safe_share", "safe_grid"):
        layers = prepare_layers(data, sens_result, safe_share=True,
                                safe_method="grid" if variant == "safe_grid" else "township")
    elif variant == "no_analysis":
        layers, result = prepare_layers(data, None), None
    fig = compose_page(data, result, layers=layers, language="my", **kw)
    assert english_left(fig, layers) == []
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    # the marking strip (who may see the page) is Burmese too, and no text is Zawgyi
    assert MY_WORDS["Safe-share version: facility names removed, locations generalised." if variant.startswith(
        "safe") else "SENSITIVE: contains health facility locations. Do not share outside the team."] in texts
    assert not any(is_zawgyi(t) for t in texts if has_my(t))
    if variant.startswith("safe"):
        assert MY_WORDS["Catchment bands are left out of the safe-share version."] in " ".join(" ".join(texts).split())
    if variant == "region":  # the Burmese key figures (speed ranges too) leave room for the whole table
        assert not any(t.startswith(MY_WORDS["Townships by people without primary care"] + " (") for t in texts)
        assert all(n in texts for n in layers.figures["name_my"].astype(str))


def test_the_table_page_in_burmese(data, sens_layers):
    fig = compose_table_page(sens_layers, language="my")
    assert english_left(fig, sens_layers) == []
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text)]
    assert "မြို့နယ်အလိုက် အဓိက ကိန်းဂဏန်းများ: စစ်ကိုင်းတိုင်းဒေသကြီး — လက်ရှိအခြေအနေ" in texts


def test_every_key_figure_sentence_has_burmese(data, sens_layers):
    """Each English sentence of the key figures (region and township, with the speed ranges and
    the unknown-status warning) matches a pattern, and the Burmese keeps its numbers."""
    page = Page("a4", False, register_matplotlib_fonts())
    for town in (None, sens_layers.townships[sens_layers.townships["pcode"] == "MMR005004"].iloc[0]):
        english = [t for t, *_ in figures_lines(sens_layers, town, page, 10_000.0)]
        assert len(english) >= 7
        assert any(t.startswith("Range under low / high speed") for t in english)
        assert any("unknown status were counted as functioning" in t for t in english)
        for sentence in english:
            my = my_text(sentence) if not sentence.startswith("Key figures") else "label"
            assert my is not None, sentence
            if my != "label":  # the same numbers (a sentence may order them differently)
                assert sorted(re.findall(r"\d[\d,.]*", my)) == sorted(re.findall(r"\d[\d,.]*", sentence)), sentence
        burmese = [t for t, *_ in figures_lines(sens_layers, town, page, 10_000.0, "my")]
        assert len(burmese) == len(english) and all(has_my(t) for t in burmese)
        both = [t for t, *_ in figures_lines(sens_layers, town, page, 10_000.0, "both")]
        assert both == [x for pair in zip(english, burmese) for x in pair]
    line = f"No primary care within 60 min: 4,022,563 people (76%), 5,519 villages"
    assert my_text(line) == "မူလကုသမှု 60 မိနစ်အတွင်း လက်လှမ်းမမီ: လူဦးရေ 4,022,563 (76%)၊ ကျေးရွာ 5,519"


def test_patterns_translate_their_parts_but_not_names():
    assert tr("Uncertainty (10 draws, motorbike 2024-06-01): share of people within reach, median "
              "(5–95 % of draws)", "my").startswith("မသေချာမှု (တွက်ချက်မှု 10 ကြိမ်၊ ဆိုင်ကယ် 2024-06-01)")
    assert tr("Scenario: Baseline", "my") == "အစီအစဉ်: လက်ရှိအခြေအနေ"
    assert tr("Scenario: New road car park", "my") == "အစီအစဉ်: New road car park"  # a name stays whole
    assert tr("> 95 % of draws", "my") == "တွက်ချက်မှု၏ 95 % ကျော်"
    assert tr("25–50 % of draws", "my") == "တွက်ချက်မှု၏ 25–50 %"
    for _pattern, template in MY_PATTERNS:
        assert has_my(template) and not is_zawgyi(template)


def _boxes(fig):
    """Window extents (points) of the page's own text (figure texts and the millimetre axes of the
    panel: legend, table, notes), not the map's or the inset's labels."""
    renderer = fig.canvas.get_renderer()
    out = []
    for t in fig.findobj(matplotlib.text.Text):
        if not t.get_text().strip() or not t.get_visible():
            continue
        ax = t.axes
        if ax is not None and (ax.get_xlim()[0] != 0 or ax.get_ylim()[0] != 0):
            continue  # the map or the inset
        if ax is not None and t.get_text() in ("N",):
            continue
        bb = t.get_window_extent(renderer)
        out.append((t.get_text(), bb.x0, bb.y0, bb.x1, bb.y1))
    return out


@pytest.mark.parametrize("paper,landscape", [("a4", False), ("a4", True), ("a3", False)])
@pytest.mark.parametrize("language", ["my", "both"])
@pytest.mark.parametrize("township", [None, "MMR005004"])
def test_burmese_and_bilingual_pages_fit_the_page_without_overlaps(data, sens_result, sens_layers, paper,
                                                                   landscape, language, township):
    assert_fits(compose_page(data, sens_result, layers=sens_layers, language=language, paper=paper,
                             landscape=landscape, township=township))


@pytest.mark.parametrize("language", ["my", "both"])
def test_the_table_page_fits(sens_layers, language):
    assert_fits(compose_table_page(sens_layers, language=language))


def assert_fits(fig):
    """No text of the page past its edges, none overlapping another."""
    w, h = fig.bbox.width, fig.bbox.height
    boxes = _boxes(fig)
    outside = [b[0] for b in boxes if b[1] < -0.5 or b[2] < -0.5 or b[3] > w + 0.5 or b[4] > h + 0.5]
    assert outside == []
    arr = np.array([b[1:] for b in boxes])
    # a text's box spans the fonts' full ascent and descent (Myanmar's is tall), so the boxes of
    # neighbouring lines overlap where the ink does not: compare the middle 60 % of each box
    dy = 0.2 * (arr[:, 3] - arr[:, 1])
    x0, y0, x1, y1 = arr[:, 0] + 0.6, arr[:, 1] + dy, arr[:, 2] - 0.6, arr[:, 3] - dy
    hit = (x0[:, None] < x1[None, :]) & (x1[:, None] > x0[None, :]) & (y0[:, None] < y1[None, :]) & \
        (y1[:, None] > y0[None, :])
    np.fill_diagonal(hit, False)
    pairs = sorted({tuple(sorted((boxes[i][0], boxes[j][0]))) for i, j in zip(*np.nonzero(hit))})
    assert pairs == []
