"""The legend: entries for what the page shows (catchment bands, zones, villages by gap class,
facilities by level and status) laid out in one or two columns.
"""

from __future__ import annotations

from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from coverage_app.core.outputs import symbology as sym
from coverage_app.core.outputs.briefing.drawing import count_symbol, rgba, scatter
from coverage_app.core.outputs.briefing.layers import as_bool
from coverage_app.core.outputs.briefing.page import Page
from coverage_app.core.outputs.briefing.style import INK, MUTED, OUTSIDE_TOWNSHIPS, tr
from coverage_app.core.outputs.line_breaks import wrap


def legend_entries(layers, focus_pcode, language: str = "en"):
    """(kind, payload, label) rows; kinds: header, marker, patch, line, count, note.

    Labels are in the page ``language`` ("en", "my", or "both": English / Burmese).
    """
    rows = []
    if layers.sweep is not None:
        sw = layers.sweep
        rows.append(("header", None, f"Villages: {sw['tier']} care in reach in"))
        for _lo, _hi, style in reversed(sym.access_probability_classes()):
            rows.append(("marker", style, style.label))
    elif layers.has_result:
        rows.append(("header", None, "Villages"))
        for klass in ("both", "primary", "secondary", "none"):
            rows.append(("marker", sym.GAP_STYLES[klass], sym.GAP_STYLES[klass].label))
        if layers.villages is not None and (layers.villages["klass"] == "unreachable").any():
            rows.append(("marker", sym.GAP_STYLES["unreachable"], sym.GAP_STYLES["unreachable"].label))
    elif layers.villages is not None:
        rows.append(("header", None, "Villages"))
        rows.append(("marker", sym.ROLE_STYLES["villages"], "Village"))
    if layers.facilities is not None and len(layers.facilities):
        rows.append(("header", None, "Health facilities"))
        if layers.safe_share:
            what = "township" if layers.safe_method == "township" else f"{layers.safe_grid_km:g} km cell"
            rows.append(("count", None, f"Number of facilities per {what}"))
        else:
            fac = layers.facilities
            rows.append(("marker", sym.Style(fill="#ffffff", stroke="#111111", stroke_width=0.6,
                                             size=sym.FACILITY_LEVEL_MARKERS["secondary"][1], marker="s"),
                         "Hospital (secondary care)"))
            rows.append(("marker", sym.Style(fill="#ffffff", stroke="#111111", stroke_width=0.6,
                                             size=sym.FACILITY_LEVEL_MARKERS["primary"][1], marker="o"),
                         "Primary care"))
            if "is_new" in fac and as_bool(fac["is_new"]).any():
                rows.append(("marker", sym.Style(fill="#ffffff", stroke="#111111", stroke_width=0.6,
                                                 size=sym.FACILITY_LEVEL_MARKERS["new"][1], marker="P"),
                             "New facility (scenario)"))
            statuses = [s for s in sym.FACILITY_STATUS_COLOURS if (fac["status"].astype(str) == s).any()] \
                if "status" in fac else ["unknown"]
            for status in statuses:
                note = ", counted" if status == "unknown" and layers.params.unknown_counts \
                    and layers.has_result else ""
                rows.append(("marker", sym.Style(fill=sym.FACILITY_STATUS_COLOURS[status], stroke="#111111",
                                                 stroke_width=0.6, size=4.6, marker="o"),
                             f"Status {status}{note}"))
    if layers.bands:
        rows.append(("header", None, "Travel time to primary care"))
        for lo, hi, _ in layers.bands:
            rows.append(("patch", sym.Style(fill=sym.band_colour(hi), stroke=None, alpha=0.45),
                         f"{lo:g}–{hi:g} min"))
    if layers.secondary_reach is not None:
        rows.append(("line", sym.Style(stroke="#5e3c99", stroke_width=1.0, dash=(3, 1.5)),
                     f"Secondary care within {layers.params.secondary_minutes:g} min"))
    if layers.zones is not None and len(layers.zones):
        rows.append(("header", None, f"Conflict zones on {layers.as_of.isoformat()}"))
        keys = set(sym.zone_style_keys(layers.zones["kind"]))
        for kind in reversed(sym.ZONE_DRAW_ORDER):  # the most restrictive first
            if kind in keys:
                rows.append(("patch", sym.zone_style(kind), sym.zone_style(kind).label))
    rows.append(("header", None, "Base map"))
    if layers.roads is not None:
        for cls in ("main", "secondary", "tertiary", "track", "path"):
            if (layers.roads["road_class"] == cls).any():
                rows.append(("line", sym.Style(stroke=sym.ROAD_CLASS_COLOURS[cls],
                                               stroke_width=sym.ROAD_CLASS_WIDTHS[cls]),
                             f"{cls.capitalize()} road"))
    if len(layers.water) or len(layers.river_lines):
        rows.append(("patch", sym.Style(fill=sym.ROLE_STYLES["rivers"].fill, stroke=sym.ROLE_STYLES["rivers"].stroke,
                                        stroke_width=0.4), "River / water"))
    rows.append(("patch", sym.Style(fill=None, stroke=sym.ROLE_STYLES["townships"].stroke,
                                    stroke_width=sym.ROLE_STYLES["townships"].stroke_width), "Township boundary"))
    if focus_pcode is None:
        rows.append(("line", sym.Style(stroke=sym.ROLE_STYLES["region"].stroke,
                                       stroke_width=sym.ROLE_STYLES["region"].stroke_width), "Region boundary"))
    else:
        rows.append(("patch", sym.Style(fill=OUTSIDE_TOWNSHIPS, stroke="#999999", stroke_width=0.4),
                     "Other townships"))
    if layers.safe_share and layers.has_result:
        rows.append(("note", None, "Catchment bands are left out of the safe-share version."))
    # "both": English over Burmese, two lines a row
    return [(kind, style, tr(label, language, "\n")) for kind, style, label in rows]


def _row_h(label, line) -> float:
    return line * (1.0 + 1.1 * str(label).count("\n"))


def _legend_columns(rows, columns):
    """Split legend rows into ``columns`` lists without breaking a section (header + items)."""
    sections, current = [], []
    for row in rows:
        if row[0] == "header" and current:
            sections.append(current)
            current = []
        current.append(row)
    if current:
        sections.append(current)
    if columns <= 1 or len(sections) <= 1:
        return [list(rows)]
    total = len(rows)
    best, best_cost = None, None
    # choose the split points that minimise the tallest column (sections stay whole)
    import itertools

    for cuts in itertools.combinations(range(1, len(sections)), min(columns - 1, len(sections) - 1)):
        bounds = (0, *cuts, len(sections))
        cols = [sum((sections[i] for i in range(a, b)), []) for a, b in zip(bounds[:-1], bounds[1:])]
        cost = max(len(c) for c in cols)
        if best_cost is None or cost < best_cost:
            best, best_cost = cols, cost
    return best or [list(rows)]


#: a header too wide for its column at this size (it is drawn at 6.6 pt, shrunk to fit) is
#: wrapped at 6.6 pt instead: shrunk further it ran into the next column (the Burmese sweep
#: header on an A4 region page overprinted the conflict zones' header even at 5 pt)
HEADER_PT, HEADER_MIN_PT = 6.6, 6.2
#: the same for an item's label, drawn at 6.3 pt: one too wide at 6 pt is wrapped at 6.3 pt
#: (shrunk to 5 pt, "≤ 5 % of draws" in Burmese on an A4 landscape region page was barely
#: legible, and a longer label still ran past its column into the next one's symbols)
ITEM_PT, ITEM_MIN_PT = 6.3, 6.0
NOTE_PT = 5.6


def item_room(page, col_w) -> float:
    """Width (mm) an item's label has in a column ``col_w`` mm wide (right of its symbol)."""
    return col_w - 6.2 * page.k - 1.0


def wrap_label(page, label, size, width, weight="normal") -> str:
    """``label`` with each of its lines ("\n": English over Burmese) wrapped to ``width`` mm at
    ``size``: at spaces, and inside a word too wide for a line only where a reader expects it
    (:mod:`coverage_app.core.outputs.line_breaks`, between Burmese syllables)."""
    def measure(text):
        return page.text_mm(text, size, weight)[0]

    return "\n".join(line for part in str(label).split("\n") for line in wrap(part, measure, width))


def fold_rows(page, rows, col_w):
    """Bilingual labels ("English\nBurmese") on one line, joined by " / ", where that fits a
    column ``col_w`` mm wide at the legend's type size; the rest stay on two lines. Notes are
    wrapped to the column, and so are headers that do not fit it at HEADER_MIN_PT and items
    that do not at ITEM_MIN_PT (at full size: HEADER_PT, ITEM_PT)."""
    out = []
    for kind, style, label in rows:
        if kind == "note":  # a sentence: wrapped to the column, English lines over Burmese
            out.append((kind, style, wrap_label(page, label, NOTE_PT, col_w - 1.5)))
            continue
        weight, room = ("bold", col_w - 1.5) if kind == "header" else ("normal", item_room(page, col_w))
        full, least = (HEADER_PT, HEADER_MIN_PT) if kind == "header" else (ITEM_PT, ITEM_MIN_PT)
        if str(label).count("\n") == 1:
            one = label.replace("\n", " / ")
            if page.text_mm(one, full, weight)[0] <= room:
                label = one
        if page.text_mm(label, least, weight)[0] > room:
            label = wrap_label(page, label, full, room, weight)
        out.append((kind, style, label))
    return out


def fitted_size(page, label, full, least, room, weight="normal") -> float:
    """The largest size from ``full`` down to ``least`` (0.1 pt steps) at which ``label`` fits
    ``room`` mm (:func:`fold_rows` wraps what does not fit at ``least``)."""
    size = full
    while size - 0.05 > least and page.text_mm(label, size, weight)[0] > room:
        size = round(size - 0.1, 1)
    return size


def legend_height(page, rows, columns, width=None) -> float:
    """Height (mm) of the legend in ``columns``; with the legend's ``width`` (mm), bilingual
    labels that fit go on one line (as :func:`draw_legend` draws them)."""
    if width is not None:
        rows = fold_rows(page, rows, width / columns)
    line = 3.5 * page.k
    return max(sum(_row_h(r[2], line) for r in c) for c in _legend_columns(rows, columns)) * 1.0 + 1.0


def draw_legend(page: Page, x, y, w, h, rows, columns=1):
    """Draw legend rows in the box (mm), sections kept whole within a column."""
    rows = fold_rows(page, rows, w / columns)
    ax = page.mm_axes(x, y, w, h)
    k = page.k
    line = 3.5 * k
    col_w = w / columns
    for col, col_rows in enumerate(_legend_columns(rows, columns)):
        cx = col * col_w
        used = 0.0
        for kind, style, label in col_rows:
            rh = _row_h(label, line)
            cy = h - used - rh / 2
            used += rh
            if kind in ("header", "note"):
                if kind == "header":
                    size, weight = fitted_size(page, label, HEADER_PT, HEADER_MIN_PT, col_w - 1.5, "bold"), "bold"
                else:
                    size, weight = NOTE_PT, "normal"
                ax.text(cx, cy - (0.2 if kind == "header" else 0), label, fontproperties=page.font(size, weight),
                        color=INK if kind == "header" else MUTED, va="center", linespacing=1.1)
                continue
            sx = cx + 2.6 * k
            if kind == "marker":
                scatter(ax, [sx], [cy], style, style.size * k, 3)
            elif kind == "count":
                count_symbol(ax, sx, cy, "n", page, size=8.0 * k, fontsize=5.2)
            elif kind == "patch":
                rect = Rectangle((sx - 2.3 * k, cy - 1.1 * k), 4.6 * k, 2.2 * k,
                                 facecolor=rgba(style.fill, style.alpha) if style.fill else "none",
                                 edgecolor=rgba(style.stroke) if style.stroke else "none",
                                 linewidth=style.stroke_width, hatch=style.hatch or None)
                ax.add_patch(rect)
            elif kind == "line":
                seg = LineCollection([[(sx - 2.4 * k, cy), (sx + 2.4 * k, cy)]],
                                     colors=[rgba(style.stroke)], linewidths=style.stroke_width * k)
                if style.dash:
                    seg.set_linestyle((0, style.dash))
                ax.add_collection(seg)
            size = fitted_size(page, label, ITEM_PT, ITEM_MIN_PT, item_room(page, col_w))
            ax.text(cx + 6.2 * k, cy, label, fontproperties=page.font(size), color=INK, va="center", linespacing=1.1)
