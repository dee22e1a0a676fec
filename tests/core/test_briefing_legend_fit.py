"""The printed legend's labels stay legible and in their column: a label too wide for its
column at ITEM_MIN_PT (6 pt) wraps at full size (6.3 pt) instead of shrinking to 5 pt, a
header at HEADER_MIN_PT (6.2 pt) likewise, and no legend text runs into the next column
(a word wider than the column breaks between Burmese syllables). Burmese and bilingual
region pages, A4 landscape and portrait, of an analysis and of a sweep.

Extents are measured at 720 dpi: a PDF's glyphs are unhinted, and at the figure's 72 dpi
hinting widens Latin text by up to 7 %."""

from __future__ import annotations

import datetime as dt

import pytest

from coverage_app.core.outputs import symbology as sym
from coverage_app.core.outputs.briefing import compose
from coverage_app.core.outputs.briefing.legend import HEADER_MIN_PT, ITEM_MIN_PT, ITEM_PT, draw_legend
from coverage_app.core.outputs.briefing.page import Page
from coverage_app.core.outputs.fonts import register_matplotlib_fonts

SLACK_MM = 0.05


def legend_texts(page, ax, width, columns):
    """(kind, text, size pt, column, x0, x1, y0, y1 mm in the legend) of each text of a legend
    drawn by draw_legend in ``ax``; kind "header", "item" or "other" (notes, the count symbol)."""
    fig = page.fig
    dpi = fig.dpi
    fig.set_dpi(720)
    try:
        renderer = fig.canvas.get_renderer()
        inverse = ax.transData.inverted()
        out = []
        col_w = width / columns
        for t in ax.texts:
            x = t.get_position()[0]
            col = min(int((x + 1e-6) // col_w), columns - 1)
            offset = x - col * col_w
            if abs(offset) < 1e-6:
                kind = "header" if t.get_fontweight() == "bold" else "other"
            elif abs(offset - 6.2 * page.k) < 1e-6:
                kind = "item"
            else:
                kind = "other"
            (x0, y0), (x1, y1) = inverse.transform(t.get_window_extent(renderer).get_points())
            out.append((kind, t.get_text(), t.get_fontsize() / page.k, col, x0, x1, y0, y1))
        return out
    finally:
        fig.set_dpi(dpi)


def assert_legible_and_in_column(page, ax, width, columns):
    col_w = width / columns
    texts = legend_texts(page, ax, width, columns)
    assert any(kind == "item" for kind, *_ in texts)
    for kind, text, size, col, x0, x1, *_ in texts:
        if kind == "other":
            continue
        least = ITEM_MIN_PT if kind == "item" else HEADER_MIN_PT
        assert size >= least - 1e-6, (text, size)
        # within its own column: never over the next column's symbols and headers
        assert col * col_w - SLACK_MM <= x0 and x1 <= (col + 1) * col_w + SLACK_MM, (text, col, x0, x1, col_w)
    # rows stacked: in a column, no text's middle overlaps the next one's (a text's box spans
    # the fonts' full ascent and descent, Myanmar's is tall: the middle 60 % is compared)
    for col in range(columns):
        boxes = sorted(((y1, y0, text) for _k, text, _s, c, _x0, _x1, y0, y1 in texts if c == col), reverse=True)
        for (top, bottom, text), (ntop, nbottom, ntext) in zip(boxes, boxes[1:]):
            assert bottom + 0.2 * (top - bottom) >= ntop - 0.2 * (ntop - nbottom) - 1e-6, (text, ntext)
    return texts


LONG_ITEMS = [
    "တွက်ချက်မှု၏ 5 % နှင့်အောက် (လမ်းလျှောက်ခြင်း၊ ဆိုင်ကယ်)",  # Burmese, words a column wide
    "Secondary care within 120 min\nဆေးရုံ 120 မိနစ်အတွင်း လက်လှမ်းမီသည့် ကျေးရွာများ",  # English over Burmese
    "မူလကုသမှုနှင့်ဆေးရုံလက်လှမ်းမမီသည့်ကျေးရွာများအခြေအနေမသိ",  # one run, no spaces: breaks between syllables
    "Primary care",  # fits at full size: one line, not shrunk
]


def test_long_item_labels_wrap_at_a_legible_size_within_their_column():
    """draw_legend in two narrow columns (A4 landscape region page's 32.7 mm): labels used to
    shrink to 5 pt and, wider than the column even then, ran over the next column's symbols."""
    page = Page("a4", True, register_matplotlib_fonts())
    rows = [("header", None, "ကျေးရွာများ: မူလကုသမှု လက်လှမ်းမီသည့် အကြိမ်")]
    rows += [("marker", sym.GAP_STYLES["none"], label) for label in LONG_ITEMS]
    rows += [("header", None, "ပဋိပက္ခ ဇုန်များ (2024-06-01)"),
             ("patch", sym.CONFLICT_ZONE_STYLES["risk"], "အန္တရာယ် ဇုန်")]
    width, columns = 65.4, 2
    draw_legend(page, 10, 10, width, 80, rows, columns)
    ax = page.fig.axes[-1]
    texts = assert_legible_and_in_column(page, ax, width, columns)
    items = [(text, size) for kind, text, size, *_ in texts if kind == "item"]
    assert len(items) == len(LONG_ITEMS) + 1
    for label, (text, size) in zip(LONG_ITEMS, items):
        # every character drawn, only broken into lines (at spaces or between syllables)
        assert text.replace("\n", "").replace(" ", "") == label.replace("\n", "").replace(" ", ""), (label, text)
        if text.count("\n") > label.count("\n"):
            assert size == pytest.approx(ITEM_PT), (text, size)  # wrapped at full size, not shrunk
    assert items[3] == ("Primary care", pytest.approx(ITEM_PT))
    assert items[2][0].count("\n") >= 1  # the long run broken inside


@pytest.fixture(scope="module")
def data(bundled_project_path):
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.data.project import load_project

    return load_project_data(load_project(bundled_project_path))


@pytest.fixture(scope="module")
def pages(data):
    """Layers of an analysis and of a sweep (four draws) of the bundled project."""
    from coverage_app.core.analysis.pipeline import run_analysis
    from coverage_app.core.analysis.sweep import run_sweep
    from coverage_app.core.analysis.sweep_spec import parse_spec
    from coverage_app.core.outputs.briefing import prepare_layers
    from coverage_app.core.outputs.sweep_export import sweep_map_view

    result = run_analysis(data, data.project.params.replace(cell_size_m=2000.0, as_of=dt.date(2024, 6, 1)))
    raw = {"version": 1, "draws": 4, "seed": 2, "analysis": {"cell_size_m": 2000.0, "as_of": "2024-06-01"},
           "vary": {"unknown_functioning": 0.6}}
    swept = run_sweep(parse_spec(raw, project=data.project), scheduler="serial", data=data)
    return {"analysis": (result, prepare_layers(data, result)),
            "sweep": (None, prepare_layers(data, None, sweep=sweep_map_view(swept, case=0, tier="primary")))}


@pytest.mark.parametrize("landscape", [True, False], ids=["landscape", "portrait"])
@pytest.mark.parametrize("language", ["my", "both"])
@pytest.mark.parametrize("variant", ["analysis", "sweep"])
def test_region_page_legend_labels_are_legible_and_stay_in_their_column(data, pages, monkeypatch, variant,
                                                                        language, landscape):
    """A4 region pages (the legend's columns are narrowest there): in Burmese on landscape,
    "≤ 5 % of draws" (sweep) was printed at 5.5 pt and "Status unknown, counted" at 5.9 pt."""
    from .test_briefing_burmese import assert_fits

    drawn = []
    real = compose.draw_legend

    def recording(page, x, y, w, h, rows, columns=1):
        real(page, x, y, w, h, rows, columns)
        drawn.append((page, page.fig.axes[-1], w, columns))

    monkeypatch.setattr(compose, "draw_legend", recording)
    result, layers = pages[variant]
    fig = compose.compose_page(data, result, layers=layers, language=language, landscape=landscape)
    assert len(drawn) == 1
    assert_legible_and_in_column(*drawn[0])
    assert_fits(fig)  # and the taller legend still leaves the page's other text alone
