"""The on-map legend's layout and drawing (MapCanvas keeps the entries, the cache and clicks).

The legend sits in the canvas's bottom-right corner, at most LEGEND_MAX_W of the canvas (and
280 px) wide and LEGEND_MAX_H high. A long layer title is wrapped in the bold font it is drawn
in, onto at most TITLE_LINES lines of the legend's width, rather than elided or let widen the
legend over the map.

Lines break at spaces. A word wider than the line breaks inside only where a reader expects
it: at the start of a Burmese syllable (never before a consonant killed by asat, U+103A, nor
inside a stacked cluster after U+1039), after ``-``, ``/`` or ``_``, or, for a run with none
of these, between characters (never before a combining mark). Qt's own line breaking splits
Burmese words before a killed consonant ("ရှော|က်"), so it is not used. What does not fit in
TITLE_LINES lines is elided at the end of the last line.
"""

from __future__ import annotations

import math
import unicodedata

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QFontMetricsF, QPainter, QPen, QTextLayout

LEGEND_MAX_W, LEGEND_MAX_H, LEGEND_MAX_PX = 0.30, 0.40, 280
TITLE_LINES = 3
ITEMS_SHOWN = 8  # a layer's classes on the map; the Layers panel lists them all

ASAT, VIRAMA, DOT_BELOW = "\u103a", "\u1039", "\u1037"
ZWJ, ZWNJ = "\u200d", "\u200c"
#: characters that begin a Burmese syllable: consonants and independent vowels (incl. great sa)
_MY_STARTS = ((0x1000, 0x102A), (0x103F, 0x103F), (0x1050, 0x1055), (0x105A, 0x105D), (0x1061, 0x1061),
              (0x1065, 0x1066), (0x106E, 0x1070), (0x1075, 0x1081), (0x108E, 0x108E))
_INNER_AFTER = "-/_"


def _starts_syllable(text: str, i: int) -> bool:
    code = ord(text[i])
    if not any(lo <= code <= hi for lo, hi in _MY_STARTS) or text[i - 1] == VIRAMA:
        return False
    j = i + 1
    while j < len(text) and text[j] == DOT_BELOW:  # "င့်" is stored consonant, dot below, asat
        j += 1
    return not (j < len(text) and text[j] in (ASAT, VIRAMA))  # a killed or stacking consonant


def _between_characters(text: str, i: int) -> bool:
    return (unicodedata.category(text[i])[0] != "M" and text[i] not in (ZWJ, ZWNJ, ASAT)
            and text[i - 1] not in (ZWJ, VIRAMA))


def _word_break(text: str, i: int) -> bool:
    return text[i - 1] == " " and text[i] != " "


def _inner_break(text: str, i: int) -> bool:
    return text[i] != " " and text[i - 1] != " " and (text[i - 1] in _INNER_AFTER or _starts_syllable(text, i))


def _line_end(text: str, start: int, fm: QFontMetricsF, width: float) -> int:
    """Index after the longest line from ``start`` that fits ``width`` (at least one character)."""
    if fm.horizontalAdvance(text[start:]) <= width:
        return len(text)
    for allowed in (_word_break, _inner_break, _between_characters):
        best = None
        for i in range(start + 1, len(text)):
            if not allowed(text, i):
                continue
            if fm.horizontalAdvance(text[start:i].rstrip()) > width:
                break
            best = i
        if best is not None:
            return best
    return next((i for i in range(start + 1, len(text)) if _between_characters(text, i)), len(text))


def wrap_lines(text: str, font: QFont, width: float, max_lines: int = 3) -> list[str]:
    """``text`` (spaces collapsed) in at most ``max_lines`` lines, each at most ``width`` px
    wide in ``font``; the last is elided ("…") if the text needs more lines."""
    fm = QFontMetricsF(font)
    text = " ".join(str(text).split())
    lines, start = [], 0
    while start < len(text):
        if len(lines) == max_lines - 1:
            rest = text[start:]
            lines.append(rest if fm.horizontalAdvance(rest) <= width else fm.elidedText(rest, Qt.ElideRight, width))
            break
        end = _line_end(text, start, fm, max(1.0, width))
        lines.append(text[start:end].rstrip())
        start = end
        while start < len(text) and text[start] == " ":
            start += 1
    return lines or [""]


def line_height(text: str, font: QFont) -> int:
    """Height (px) of one line of ``text`` in ``font``, its fallback fonts included (a line of
    Burmese in Noto Sans Myanmar is much taller than one of Latin in Noto Sans)."""
    layout = QTextLayout(text, font)
    layout.beginLayout()
    line = layout.createLine()
    layout.endLayout()
    return math.ceil(line.height()) if line.isValid() else math.ceil(QFontMetricsF(font).height())


def compute_layout(entries, base_font: QFont, canvas_w: int, canvas_h: int, collapsed: bool):
    """(rows, rect, font, bold, line height) of the legend of ``entries`` ([(layer title,
    [(label, icon)])]) on a canvas ``canvas_w`` x ``canvas_h`` px, or None without entries.

    Rows are (text, kind, height): kind "header" (the first row, which folds and unfolds the
    legend), "title" (one line of a layer's title), "more" (rows left out) or an item's icon.
    A cut to the corner's height never splits a title nor leaves one without an item."""
    if not entries:
        return None
    font = QFont(base_font)
    font.setPointSizeF(8)
    bold = QFont(font)
    bold.setBold(True)
    fm = QFontMetrics(bold)
    line = max(16, fm.height() + 2)
    header = "▸ Legend" if collapsed else "▾ Legend"
    natural = fm.horizontalAdvance(header)
    if not collapsed:
        natural = max([natural] + [fm.horizontalAdvance(title) for title, _ in entries]
                      + [fm.horizontalAdvance(label) + 22 for _, items in entries for label, _ in items[:ITEMS_SHOWN]])
    widest = min(LEGEND_MAX_PX, max(90, int(canvas_w * LEGEND_MAX_W)))
    width = min(natural + 24, widest)
    rows = [(header, "header", line)]
    if not collapsed:
        body = []  # (text, kind, height, rows it stands for in "… n more rows")
        for title, items in entries:
            for i, text in enumerate(wrap_lines(title, bold, width - 16, TITLE_LINES)):
                h = line_height(text, bold)
                body.append((text, "title", max(line, h + 2) if i == 0 else h, int(i == 0)))
            body += [(label, icon, line, 1) for label, icon in items[:ITEMS_SHOWN]]
            if len(items) > ITEMS_SHOWN:
                body.append((f"… {len(items) - ITEMS_SHOWN} more", "more", line, 1))
        room = canvas_h * LEGEND_MAX_H - 10 - line
        if sum(r[2] for r in body) > room:
            kept, used = [], line  # room for the "more rows" line
            for r in body:
                if used + r[2] > room:
                    break
                kept.append(r)
                used += r[2]
            while kept and kept[-1][1] == "title":
                kept.pop()
            cut = sum(r[3] for r in body[len(kept):])
            more = f"… {cut} more rows: see the Layers panel"
            body = kept + [(more, "more", line, 0)]
            width = min(max(width, fm.horizontalAdvance(more) + 24), widest)  # titles fit all the more
        rows += [r[:3] for r in body]
    height = sum(r[2] for r in rows) + 10
    rect = QRectF(canvas_w - width - 10, canvas_h - height - 10, width, height)
    return rows, rect, font, bold, line


def draw_layout(painter: QPainter, layout) -> None:
    """Draw a :func:`compute_layout` legend."""
    rows, rect, font, bold, _line = layout
    x, y, width = rect.x(), rect.y(), rect.width()
    painter.setPen(QPen(QColor(0, 0, 0, 60), 1))
    painter.setBrush(QColor(255, 255, 255, 235))
    painter.drawRoundedRect(rect, 5, 5)
    left = Qt.AlignVCenter | Qt.AlignLeft
    cy = y + 5
    for text, kind, h in rows:
        if kind == "title":  # wrapped to fit width - 16 already: never elided
            painter.setFont(bold)
            painter.setPen(QColor("#222222"))
            painter.drawText(QRectF(x + 8, cy, width - 12, h), Qt.AlignBottom | Qt.AlignLeft, text)
        elif isinstance(kind, str):
            painter.setFont(bold if kind == "header" else font)
            painter.setPen(QColor("#1f4e79" if kind == "header" else "#222222"))
            painter.drawText(QRectF(x + 8, cy, width - 12, h), left,
                             painter.fontMetrics().elidedText(text, Qt.ElideRight, int(width - 16)))
        else:
            painter.drawPixmap(QPointF(x + 10, cy + (h - kind.height()) / 2), kind)
            painter.setFont(font)
            painter.setPen(QColor("#222222"))
            painter.drawText(QRectF(x + 32, cy, width - 36, h), left,
                             painter.fontMetrics().elidedText(text, Qt.ElideRight, int(width - 40)))
        cy += h
