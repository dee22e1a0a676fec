"""The on-map legend with a sweep's probability-of-access layer on a 1366 x 768 laptop window:
the layer's long title is drawn in full, wrapped onto two or three lines of the legend's
width (English and Burmese), never elided; the legend stays a corner and its title still
folds it. A class's label (Burmese, bilingual) is wrapped onto up to two lines, each drawn in
a box as tall as the line needs, its symbol centred on them. What is checked is what the
legend draws (a recording painter), in the font it is drawn with."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetrics, QFontMetricsF

from coverage_app.ui.legend_layout import ASAT, VIRAMA, line_height, wrap_lines

EN_TITLE = "Probability of primary access: walking, 2026-12-02 (sweep)"
MY_TITLE = ("ကျေးရွာများ၏ အခြေခံကျန်းမာရေးစောင့်ရှောက်မှု ရရှိနိုင်ခြေ ဖြစ်နိုင်ခြေ: "
            "လမ်းလျှောက်ခြင်း၊ ၂၀၂၄ (ဆွိပ်)")


class RecordingPainter:
    """Stands in for QPainter in MapCanvas._draw_legend: keeps (rect, text, font) of each text."""

    def __init__(self):
        self.font, self.texts, self.drawn = QFont(), [], []  # drawn: texts and pixmaps in order

    def setFont(self, font):
        self.font = QFont(font)

    def fontMetrics(self):
        return QFontMetrics(self.font)

    def drawText(self, rect, _flags, text):
        self.texts.append((QRectF(rect), text, QFont(self.font)))
        self.drawn.append(("text",) + self.texts[-1])

    def drawPixmap(self, point, pixmap):
        self.drawn.append(("pixmap", QRectF(point.x(), point.y(), pixmap.width(), pixmap.height())))

    def setPen(self, *_):
        pass

    setBrush = drawRoundedRect = setPen


def _laptop(window, qtbot):
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: window._docks_arranged, timeout=5000)
    qtbot.wait(100)


def add_probability_layer(window, title):
    """The sweep's layer as SweepController.show_layer adds it: villages by share of draws."""
    from coverage_app.ui.maplayers import VectorLayer

    villages = window.data.role("villages").copy()
    villages["p_prim"] = np.random.default_rng(3).random(len(villages))
    layer = VectorLayer(title, "access_probability", villages, window.canvas.crs, result=True,
                        style={"field": "p_prim"})
    window.stack.insert(0, layer)
    window.stack.set_visible(layer, True)
    return layer


def drawn_title(canvas, title):
    """The bold lines the legend draws between its header and the layer's first class."""
    painter = RecordingPainter()
    canvas._draw_legend(painter)
    texts = painter.texts
    assert texts[0][1] == "▾ Legend"
    first_class = next(i for i, (_, text, _) in enumerate(texts) if text == "> 95 % of draws")
    lines = texts[1:first_class]
    assert lines and all(font.bold() for _, _, font in lines)
    return texts[0], lines


@pytest.mark.parametrize("title", [EN_TITLE, MY_TITLE], ids=["english", "burmese"])
def test_a_long_layer_title_is_wrapped_in_full_not_cut(window, qtbot, title):
    _laptop(window, qtbot)
    add_probability_layer(window, title)
    c = window.canvas
    rect = c._legend_layout()[1]
    header, lines = drawn_title(c, title)
    texts = [text for _, text, _ in lines]
    # every character of the title is drawn, on two or three lines, none elided
    if title is EN_TITLE:
        assert " ".join(texts) == title, texts
    else:
        assert "".join(texts).replace(" ", "") == title.replace(" ", ""), texts
    assert 2 <= len(texts) <= 3 and not any("…" in t for t in texts), texts
    # …each line fits the legend in the bold font it is drawn in, the lines stacked, not overlapping
    for (box, text, font), nxt in zip(lines, lines[1:] + [None]):
        assert QFontMetricsF(font).horizontalAdvance(text) <= rect.width() - 16 + 0.5, (text, rect)
        assert rect.left() < box.left() and box.right() <= rect.right()
        assert nxt is None or nxt[0].top() >= box.bottom() - 0.01
    # no Burmese line begins with a mark, a killed consonant (asat) or a stacked one
    for before, after in zip(texts, texts[1:]):
        assert unicodedata.category(after[0])[0] != "M" and after[1:2] != ASAT and not before.endswith(VIRAMA), (before, after)
    # the legend is still a corner of the map, not half of it
    assert rect.width() <= min(280, 0.3 * c.width() + 1) and rect.height() <= 0.4 * c.height() + 1
    assert rect.right() <= c.width() and rect.bottom() <= c.height()
    # its header row is where a click folds it, above the wrapped title
    hit = c.legend_header_rect()
    assert hit.top() == rect.top() and hit.width() == rect.width()
    assert hit.contains(header[0].center()) and hit.bottom() <= lines[0][0].bottom()
    qtbot.mouseClick(c, Qt.LeftButton, pos=QPoint(int(hit.center().x()), int(hit.center().y())))
    assert c.legend_collapsed
    folded = c._legend_layout()[1]
    assert folded.height() < 40 and c.legend_header_rect().contains(folded.center())
    qtbot.mouseClick(c, Qt.LeftButton, pos=c.legend_header_rect().center().toPoint())
    assert not c.legend_collapsed and drawn_title(c, title)[1][0][1] == texts[0]


def test_a_cut_legend_never_ends_on_a_title(window, qtbot):
    """On a short canvas the rows are cut to the corner: the last shown row before
    "… n more rows" is a class, never a (part of a) title left without its classes."""
    _laptop(window, qtbot)
    add_probability_layer(window, EN_TITLE)
    c = window.canvas
    layout = c._compute_legend_layout()
    rows = layout[0]
    assert rows[-1][1] == "more" and rows[-2][1] not in ("title", "header"), [r[:2] for r in rows]
    assert layout[1].height() <= 0.4 * c.height() + 1


def test_burmese_words_break_between_syllables_only(qapp):
    from coverage_app.ui.fonts import register_fonts, ui_font

    register_fonts()
    font = ui_font(8)
    font.setBold(True)
    word = "ကျေးရွာများ၏အခြေခံကျန်းမာရေးစောင့်ရှောက်မှုရရှိနိုင်ခြေ"  # one run, no spaces
    lines = wrap_lines(word, font, 120, max_lines=6)
    assert len(lines) >= 2 and "".join(lines) == word
    # Qt's own breaking puts "က်" (a killed consonant) at the start of a line: never here
    assert all(line[1:2] != ASAT for line in lines[1:]), lines
    assert all(QFontMetricsF(font).horizontalAdvance(line) <= 120 for line in lines), lines
    # more than fits in three lines: the third ends elided, none is wider than the legend
    long = wrap_lines(EN_TITLE * 3, font, 120, max_lines=3)
    assert len(long) == 3 and long[-1].endswith("…")
    assert all(QFontMetricsF(font).horizontalAdvance(line) <= 120 for line in long), long


# -- a class's label: wrapped, in rows as tall as its lines ------------------------------------

GAP_LABELS = {  # the gap classes' labels in Burmese and in both languages (as the briefing prints them)
    "my": ["ဆေးရုံ လက်လှမ်းမမီ", "နှစ်မျိုးလုံး လက်လှမ်းမီ", "မရောက်နိုင်", "မူလကုသမှု လက်လှမ်းမမီ",
           "မူလကုသမှုနှင့် ဆေးရုံ မမီ"],
    "both": ["Both within reach / နှစ်မျိုးလုံး လက်လှမ်းမီ", "No primary care / မူလကုသမှု လက်လှမ်းမမီ",
             "No primary, no secondary / မူလကုသမှုနှင့် ဆေးရုံ မမီ", "No secondary care / ဆေးရုံ လက်လှမ်းမမီ",
             "Unreachable / off grid / မရောက်နိုင်"],
}


def add_burmese_classes(window, labels):
    """Villages categorised by a field of Burmese (or bilingual) labels, as a user styles a layer."""
    from coverage_app.ui.maplayers import VectorLayer

    villages = window.data.role("villages").copy()
    villages["gap_my"] = [labels[i % len(labels)] for i in range(len(villages))]
    layer = VectorLayer("ကျေးရွာများ (လက်လှမ်းမီမှု)", "villages", villages, window.canvas.crs, result=True,
                        style={"mode": "categorised", "field": "gap_my"})
    window.stack.insert(0, layer)
    window.stack.set_visible(layer, True)
    return layer


def drawn_classes(canvas):
    """([(symbol box, [(box, line, font)])] of each class the legend draws, every text drawn)."""
    painter = RecordingPainter()
    canvas._draw_legend(painter)
    classes = []
    for event in painter.drawn:
        if event[0] == "pixmap":
            classes.append((event[1], []))
        elif classes and classes[-1] is not None and not event[3].bold() \
                and event[1].left() > classes[-1][0].right():
            classes[-1][1].append(event[1:])  # a label line, right of the symbol
        else:
            classes.append(None)  # a title, "… more", the header: ends the class before it
    return [c for c in classes if c is not None], painter.texts


@pytest.mark.parametrize("language", ["my", "both"])
def test_class_labels_wrap_in_rows_as_tall_as_their_lines(window, qtbot, language):
    """Burmese labels were drawn in 17 px rows (a line of Latin) though a line of Burmese, its
    marks stacked above and below, is 25 px: their marks touched the next row's, and Qt cuts
    what passes the box it draws in. Long bilingual labels were elided ("Both within reach / နှစ်…")."""
    _laptop(window, qtbot)
    labels = GAP_LABELS[language]
    add_burmese_classes(window, labels)
    c = window.canvas
    rect = c._legend_layout()[1]
    classes, texts = drawn_classes(c)
    plain = {"".join(label.split()) for label in labels}
    ours = [lines for _, lines in classes if "".join(t for _, t, _ in lines).replace(" ", "") in plain]
    assert len(ours) >= 3, [[t for _, t, _ in lines] for _, lines in classes]  # drawn in full, none elided
    for icon, lines in classes:
        assert 1 <= len(lines) <= 2
        for box, text, font in lines:
            # each line in a box at least as tall as the line in its font (nothing cut), and as wide
            assert box.height() >= line_height(text, font) - 0.01, (text, box.height(), line_height(text, font))
            assert QFontMetricsF(font).horizontalAdvance(text) <= box.width() + 0.5, (text, box)
            assert rect.left() < box.left() and box.right() <= rect.right() + 0.01, (text, box, rect)
        # the symbol is centred on its label's lines
        top, bottom = lines[0][0].top(), lines[-1][0].bottom()
        assert abs(icon.center().y() - (top + bottom) / 2) <= 1.0, ([t for _, t, _ in lines], icon, top, bottom)
    if language == "both":
        assert any(len(lines) == 2 for lines in ours)  # the long ones wrapped, not elided
    else:
        assert all(lines[0][0].height() > 17 for lines in ours)  # taller than a row of Latin
    # the texts stacked, none over the next, all inside the legend
    boxes = [box for box, _, _ in texts]
    for box, nxt in zip(boxes, boxes[1:]):
        assert nxt.top() >= box.bottom() - 0.01, (box, nxt)
    assert rect.top() <= boxes[0].top() and boxes[-1].bottom() <= rect.bottom()
    # the legend is still a corner, cut with "… n more rows" where it would grow past it
    assert rect.width() <= min(280, 0.3 * c.width() + 1) and rect.height() <= 0.4 * c.height() + 1
    rows = c._legend_layout()[0]
    assert sum(r[2] for r in rows) + 10 == pytest.approx(rect.height())
    assert rows[-1][1] == "more" and "more rows" in texts[-1][1] and rows[-2][1] not in ("title", "header")
    # its header still folds it, and unfolds it again
    hit = c.legend_header_rect()
    assert hit.top() == rect.top() and hit.contains(texts[0][0].center()) and hit.bottom() <= texts[1][0].bottom()
    qtbot.mouseClick(c, Qt.LeftButton, pos=hit.center().toPoint())
    assert c.legend_collapsed and c._legend_layout()[1].height() < 40
    qtbot.mouseClick(c, Qt.LeftButton, pos=c.legend_header_rect().center().toPoint())
    assert not c.legend_collapsed and len(drawn_classes(c)[0]) == len(classes)


def test_a_class_label_too_long_for_two_lines_ends_elided_within_the_legend(qapp):
    from PySide6.QtGui import QPixmap

    from coverage_app.ui.fonts import register_fonts, ui_font
    from coverage_app.ui.legend_layout import compute_layout, draw_layout

    register_fonts()
    icon = QPixmap(16, 16)
    long = "မူလကုသမှုနှင့် ဆေးရုံ လက်လှမ်းမမီသည့် ကျေးရွာများ " * 4
    layout = compute_layout([("Villages", [(long, icon), ("Village", icon)])], ui_font(9), 795, 684, False)
    painter = RecordingPainter()
    draw_layout(painter, layout)
    lines = [(box, text, font) for box, text, font in painter.texts if not font.bold() and text != "Village"]
    assert len(lines) == 2 and lines[-1][1].endswith("…") and "…" not in lines[0][1], lines
    rect = layout[1]
    for box, text, font in lines:
        assert QFontMetricsF(font).horizontalAdvance(text) <= box.width() + 0.5 and box.right() <= rect.right()
        assert box.height() >= line_height(text, font)
