"""Burmese and bilingual prints: legend and table headings translated, the region table whole.

Burmese text extraction from matplotlib PDFs is garbled, so these read the composed Figure's
text artists instead of pdftotext.
"""

import datetime as dt

import matplotlib
import pytest

from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.outputs.briefing import compose_page, prepare_layers
from coverage_app.core.outputs.briefing.style import MY_WORDS, my_text, tr


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
    texts = page_texts(data, result, layers, language="both")
    assert "Villages\nကျေးရွာများ" in texts
    assert "Health facilities\nကျန်းမာရေးဌာနများ" in texts
    assert "Population\nလူဦးရေ" in texts
    assert "Total / စုစုပေါင်း" in texts
    heading = next(t for t in texts if t.startswith("Townships by people without primary care\n"))
    # the table is cut on this page, and the page says where the rest are
    assert "of 37; all townships on the table page)" in heading


def test_english_page_stays_english(data, result, layers):
    texts = page_texts(data, result, layers, language="en")
    assert "Villages" in texts and "Population" in texts and "Total" in texts
    assert not any("ကျေးရွာ" in t for t in texts)


def test_township_page_table_in_burmese(data, result, layers):
    texts = page_texts(data, result, layers, township="MMR005004", language="my")
    assert "မူလကုသမှု မမီသော ကျေးရွာကြီးများ" in "\n".join(texts)
    assert "ကျေးရွာ" in texts and "Village" not in texts
