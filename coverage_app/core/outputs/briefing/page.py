"""The page: geometry in millimetres (origin bottom left), font properties and text
measurement/wrapping, greedy label placement (:class:`Placer`) and the rc settings that
embed the bundled fonts (TrueType, ``pdf.fonttype`` 42).
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from coverage_app.core.errors import InputError
from coverage_app.core.outputs.briefing.drawing import halo_only
from coverage_app.core.outputs.briefing.style import INK, LANGUAGES, PAPERS_MM, line_factor


_WIDTHS: dict = {}  # word widths in points, by (word, size, weight, style, family)


class Page:
    """Page geometry in millimetres (origin bottom left) and text measurement."""

    def __init__(self, paper: str, landscape: bool, family):
        w, h = PAPERS_MM[paper]
        if landscape:
            w, h = h, w
        self.w, self.h = w, h
        self.k = 1.0 if paper == "a4" else 1.2  # text and symbol scale
        self.family = family
        self.fig = Figure(figsize=(w / 25.4, h / 25.4), dpi=72)
        self.canvas = FigureCanvasAgg(self.fig)
        self.renderer = self.canvas.get_renderer()
        # Text is measured at 720 dpi: at 72 dpi hinting rounds small glyph advances.
        from matplotlib.backends.backend_agg import RendererAgg

        self.measurer = RendererAgg(8, 8, 720)
        self._fonts = {}
        self._widths = {}

    def font(self, size, weight="normal", style="normal") -> FontProperties:
        key = (size, weight, style)
        if key not in self._fonts:
            self._fonts[key] = FontProperties(family=self.family, size=size * self.k, weight=weight, style=style)
        return self._fonts[key]

    def width_pt(self, line, prop) -> float:
        """Advance width of one line in points: the sum of its words' widths (cached across pages)."""
        key = (prop.get_size_in_points(), prop.get_weight(), prop.get_style(), tuple(self.family))
        words = line.split(" ")
        total = 0.0
        for word in words:
            total += self._word_pt(word, prop, key)
        if len(words) > 1:
            total += (len(words) - 1) * self._word_pt(" ", prop, key)
        return total

    def _word_pt(self, word, prop, key) -> float:
        cache = _WIDTHS
        entry = (word, *key)
        value = cache.get(entry)
        if value is None:
            if len(cache) > 50000:
                cache.clear()
            if word == " ":
                both = self.measurer.get_text_width_height_descent("x x", prop, ismath=False)[0]
                value = (both - 2 * self._word_pt("x", prop, key) * 10) / 10
            else:
                value = self.measurer.get_text_width_height_descent(word, prop, ismath=False)[0] / 10 if word else 0.0
            cache[entry] = value
        return value

    def text_mm(self, text, size, weight="normal", style="normal") -> tuple[float, float]:
        """Width and height of ``text`` in mm (multi-line aware)."""
        prop = self.font(size, weight, style)
        lines = str(text).split("\n") or [""]
        widths = [self.width_pt(line, prop) for line in lines]
        height = len(lines) * size * self.k * 1.25
        return max(widths) / 72 * 25.4, height / 72 * 25.4

    def wrap(self, text, size, width_mm, weight="normal") -> list[str]:
        """Lines of ``text`` that fit ``width_mm``."""
        words = str(text).split()
        lines, line = [], ""
        for word in words:
            trial = f"{line} {word}".strip()
            if line and self.text_mm(trial, size, weight)[0] > width_mm:
                lines.append(line)
                line = word
            else:
                line = trial
        if line:
            lines.append(line)
        return lines

    def axes(self, x, y, w, h, **kw):
        ax = self.fig.add_axes((x / self.w, y / self.h, w / self.w, h / self.h), **kw)
        return ax

    def mm_axes(self, x, y, w, h):
        """An invisible axes whose data units are millimetres (origin bottom left)."""
        ax = self.axes(x, y, w, h)
        ax.set_xlim(0, w)
        ax.set_ylim(0, h)
        ax.set_axis_off()
        return ax

    def text(self, x, y, s, size, weight="normal", colour=INK, **kw):
        return self.fig.text(x / self.w, y / self.h, s, fontproperties=self.font(size, weight, kw.pop("style", "normal")),
                             color=colour, **kw)


class Placer:
    """Greedy label placement without overlaps (display units = points at 72 dpi)."""

    def __init__(self, ax, obstacles=()):
        self.ax = ax
        self.boxes = [tuple(b) for b in obstacles]
        bb = ax.get_window_extent()
        self.frame = (bb.x0 + 1, bb.y0 + 1, bb.x1 - 1, bb.y1 - 1)

    def free(self, box) -> bool:
        x0, y0, x1, y1 = box
        fx0, fy0, fx1, fy1 = self.frame
        if x0 < fx0 or y0 < fy0 or x1 > fx1 or y1 > fy1:
            return False
        for b in self.boxes:
            if x0 < b[2] and x1 > b[0] and y0 < b[3] and y1 > b[1]:
                return False
        return True

    def place(self, page, x, y, text, size, weight="normal", colour=INK, offsets=((0, 0),), style="normal",
              halo=1.8, zorder=9, pad=1.0, leader=False):
        """Try each (dx, dy, ha) offset in points; draw at the first free spot; return success.

        ``leader``: a thin line joins the point to the label (for labels moved well away)."""
        disp = self.ax.transData.transform((x, y))
        prop = page.font(size, weight, style)
        lines = text.split("\n")
        w = max(page.width_pt(l, prop) for l in lines)
        h = sum(size * page.k * (line_factor(l) - 0.08) for l in lines)
        for off in offsets:
            dx, dy = off[0], off[1]
            ha = off[2] if len(off) > 2 else "center"
            cx = disp[0] + dx
            x0 = cx - w / 2 if ha == "center" else (cx if ha == "left" else cx - w)
            y0 = disp[1] + dy - h / 2
            box = (x0 - pad, y0 - pad, x0 + w + pad, y0 + h + pad)
            if self.free(box):
                self.boxes.append(box)
                tx, ty = self.ax.transData.inverted().transform((cx, disp[1] + dy))
                kw = dict(fontproperties=prop, ha=ha, va="center", multialignment="center" if ha == "center" else ha,
                          linespacing=1.05)
                # the halo is a stroked copy underneath; the label itself stays real (searchable) text
                self.ax.text(tx, ty, text, color=colour, zorder=zorder, path_effects=halo_only(halo), **kw)
                self.ax.text(tx, ty, text, color=colour, zorder=zorder + 0.01, **kw)
                if leader:  # from the point to the nearest point of the label's box
                    bx = min(max(disp[0], box[0] + pad), box[2] - pad)
                    by = min(max(disp[1], box[1] + pad), box[3] - pad)
                    ends = self.ax.transData.inverted().transform([disp, (bx, by)])
                    self.ax.plot(ends[:, 0], ends[:, 1], color=colour, linewidth=0.45, zorder=zorder - 0.01,
                                 solid_capstyle="round")
                return True
        return False

    def block(self, x, y, radius_pt):
        disp = self.ax.transData.transform(np.column_stack([x, y]))
        for px, py in disp:
            self.boxes.append((px - radius_pt, py - radius_pt, px + radius_pt, py + radius_pt))


def font_rc(family):
    return matplotlib.rc_context({"font.family": family, "pdf.fonttype": 42, "ps.fonttype": 42,
                                  "hatch.linewidth": 0.45, "axes.unicode_minus": False,
                                  "path.simplify": True, "svg.fonttype": "none"})


def check_options(paper, language):
    if paper not in PAPERS_MM:
        raise InputError(f"unknown paper size '{paper}'; use a4 or a3")
    if language not in LANGUAGES:
        raise InputError(f"unknown language '{language}'; use en, my or both")
