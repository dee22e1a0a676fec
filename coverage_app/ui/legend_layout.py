"""The on-map legend's layout and drawing (MapCanvas keeps the entries, the cache and clicks).

The legend sits in the canvas's bottom-right corner, at most LEGEND_MAX_W of the canvas (and
280 px) wide and LEGEND_MAX_H high. A long layer title is wrapped in the bold font it is drawn
in, onto at most TITLE_LINES lines of the legend's width, rather than elided or let widen the
legend over the map. A class's label is wrapped the same way onto at most ITEM_LINES lines,
and its row is as tall as its lines in the font they are drawn in (a line of Burmese, with
marks stacked above and below, is half as tall again as one of Latin: in the fixed rows of a
Latin line its marks touched the next row, and Qt cut what did not fit the row's rectangle);
the class's symbol is centred on its lines.

Lines break at spaces and, inside a word too wide for the line, only where a reader expects
it (coverage_app.core.outputs.line_breaks, shared with the printed legend: at the start of a
Burmese syllable, never before a killed consonant, ...). Qt's own line breaking splits
Burmese words before a killed consonant ("ရှော|က်"), so it is not used. What does not fit in
its lines is elided at the end of the last line.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QFontMetricsF, QPainter, QPen, QTextLayout

from coverage_app.core.outputs.line_breaks import ASAT, VIRAMA, line_end

__all__ = ["ASAT", "VIRAMA", "ITEM_LINES", "Row", "compute_layout", "draw_layout", "line_height", "wrap_lines"]

LEGEND_MAX_W, LEGEND_MAX_H, LEGEND_MAX_PX = 0.30, 0.40, 280
TITLE_LINES = 3
ITEM_LINES = 2  # a class's label, wrapped to the legend's width
ITEMS_SHOWN = 8  # a layer's classes on the map; the Layers panel lists them all
ICON_X, TEXT_X = 10, 32  # a class's symbol and its label, from the legend's left edge


class Row(NamedTuple):
    """A row of the legend: ``kind`` is "header", "title", "more" or a class's icon (a
    QPixmap); ``lines`` are a class's label lines with their heights (px)."""

    text: str
    kind: object
    height: float
    lines: tuple = ()


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
        end = line_end(text, start, fm.horizontalAdvance, max(1.0, width))
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


def item_lines(label: str, font: QFont, width: float) -> tuple:
    """A class's ``label`` as (line, height px) pairs: wrapped to ``width`` in ``font``, on at
    most ITEM_LINES lines (the last elided only if the label needs more)."""
    return tuple((text, line_height(text, font)) for text in wrap_lines(label, font, width, ITEM_LINES))


def compute_layout(entries, base_font: QFont, canvas_w: int, canvas_h: int, collapsed: bool):
    """(rows, rect, font, bold, line height) of the legend of ``entries`` ([(layer title,
    [(label, icon)])]) on a canvas ``canvas_w`` x ``canvas_h`` px, or None without entries.

    Rows are :class:`Row`: kind "header" (the first row, which folds and unfolds the legend),
    "title" (one line of a layer's title), "more" (rows left out) or a class's icon, its row as
    tall as its label's lines (and the icon) need, at least one line height.
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
    rows = [Row(header, "header", line)]
    if not collapsed:
        body = []  # (row, rows it stands for in "… n more rows")
        for title, items in entries:
            for i, text in enumerate(wrap_lines(title, bold, width - 16, TITLE_LINES)):
                h = line_height(text, bold)
                body.append((Row(text, "title", max(line, h + 2) if i == 0 else h), int(i == 0)))
            for label, icon in items[:ITEMS_SHOWN]:
                lines = item_lines(label, font, width - TEXT_X - 8)
                h = max(line, sum(lh for _, lh in lines) + 2, icon.height())
                body.append((Row(label, icon, h, lines), 1))
            if len(items) > ITEMS_SHOWN:
                body.append((Row(f"… {len(items) - ITEMS_SHOWN} more", "more", line), 1))
        room = canvas_h * LEGEND_MAX_H - 10 - line
        if sum(r.height for r, _ in body) > room:
            kept, used = [], line  # room for the "more rows" line
            for r, n in body:
                if used + r.height > room:
                    break
                kept.append((r, n))
                used += r.height
            while kept and kept[-1][0].kind == "title":
                kept.pop()
            cut = sum(n for _, n in body[len(kept):])
            more = f"… {cut} more rows: see the Layers panel"
            body = kept + [(Row(more, "more", line), 0)]
            width = min(max(width, fm.horizontalAdvance(more) + 24), widest)  # titles fit all the more
        rows += [r for r, _ in body]
    height = sum(r.height for r in rows) + 10
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
    for text, kind, h, lines in rows:
        if kind == "title":  # wrapped to fit width - 16 already: never elided
            painter.setFont(bold)
            painter.setPen(QColor("#222222"))
            painter.drawText(QRectF(x + 8, cy, width - 12, h), Qt.AlignBottom | Qt.AlignLeft, text)
        elif isinstance(kind, str):
            painter.setFont(bold if kind == "header" else font)
            painter.setPen(QColor("#1f4e79" if kind == "header" else "#222222"))
            painter.drawText(QRectF(x + 8, cy, width - 12, h), left,
                             painter.fontMetrics().elidedText(text, Qt.ElideRight, int(width - 16)))
        else:  # a class: its label's lines (wrapped to fit already), each in a box of its own height
            painter.drawPixmap(QPointF(x + ICON_X, cy + (h - kind.height()) / 2), kind)
            painter.setFont(font)
            painter.setPen(QColor("#222222"))
            ly = cy + (h - sum(lh for _, lh in lines)) / 2
            for line_text, lh in lines:
                painter.drawText(QRectF(x + TEXT_X, ly, width - TEXT_X - 4, lh), left, line_text)
                ly += lh
        cy += h
