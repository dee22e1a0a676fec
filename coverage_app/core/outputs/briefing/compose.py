"""Composing pages: titles, analysis parameters, the layout of map and side/bottom panel,
the footer (credits, marking) and the township table page.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from coverage_app.core.errors import InputError
from coverage_app.core.outputs import symbology as sym
from coverage_app.core.outputs.briefing.layers import BriefingLayers, prepare_layers
from coverage_app.core.outputs.briefing.legend import draw_legend, legend_entries, legend_height
from coverage_app.core.outputs.briefing.mapview import draw_inset, draw_map, focus_extent
from coverage_app.core.outputs.briefing.page import Page, check_options, font_rc
from coverage_app.core.outputs.briefing.style import (GAP_MM, INK, MARGIN_MM, MARKING_COLOURS, MUTED,
                                                      MY_PHRASES, bilingual, extent_pt, has_my, my_text,
                                                      nice_scale, tr)
from coverage_app.core.outputs.briefing.tables import (draw_lines, draw_table, figures_lines, lines_height,
                                                       table_spec)
from coverage_app.core.outputs.fonts import register_matplotlib_fonts
from coverage_app.core.outputs.scenario_label import edit_lines, scenario_heading, scenario_name


def page_marking(layers, language="en") -> str:
    """The marking strip's text: sensitivity, and a hypothetical scenario's name, in the page
    ``language`` ("both": English, a line break, Burmese)."""
    marking = sym.SAFE_SHARE_MARKING if layers.safe_share else sym.SENSITIVE_MARKING
    if layers.scenario:
        marking = f"HYPOTHETICAL SCENARIO “{scenario_name(layers.scenario)}” · {marking}"
    return tr(marking, language, "\n")


def draw_marking_strip(page, layers, language) -> float:
    """The coloured strip across the top saying who may see the page; returns its height (mm).

    Each language gets a line; the type shrinks (to 5 pt) until the longest line fits."""
    k = page.k
    lines = page_marking(layers, language).split("\n")
    width = page.w - 2 * MARGIN_MM - 4.0
    size = 7.4
    while size > 5.0 and max(page.text_mm(t, size, "bold")[0] for t in lines) > width:
        size = round(size - 0.2, 1)
    line_h = [size * k * (1.75 if has_my(t) else 1.3) / 72 * 25.4 for t in lines]
    strip_h = max(5.2 * k, sum(line_h) + 1.6 * k)
    top = page.h - MARGIN_MM
    page.fig.patches.append(Rectangle((MARGIN_MM / page.w, (top - strip_h) / page.h),
                                      (page.w - 2 * MARGIN_MM) / page.w, strip_h / page.h,
                                      transform=page.fig.transFigure, facecolor=MARKING_COLOURS[layers.safe_share],
                                      edgecolor="none"))
    yy = top - (strip_h - sum(line_h)) / 2
    for t, lh in zip(lines, line_h):
        page.text(page.w / 2, yy - lh / 2, t, size, "bold", "white", ha="center", va="center_baseline")
        yy -= lh
    return strip_h


def find_township(townships: gpd.GeoDataFrame, township):
    """The township row for a pcode (or English/Burmese name); :class:`InputError` if unknown."""
    key = str(township).strip()
    pcodes = townships["pcode"].astype(str)
    hit = townships[pcodes.str.upper() == key.upper()]
    if hit.empty:
        hit = townships[(townships["name_en"].astype("string").str.lower() == key.lower()).fillna(False)
                        | (townships["name_my"].astype("string") == key).fillna(False)]
    if hit.empty:
        sample = ", ".join(sorted(pcodes)[:2])
        raise InputError(f"unknown township '{key}': give a township pcode (e.g. {sample}; "
                         "'coverage-app info' shows the layers) or an English township name")
    return hit.iloc[0]


def resolve_township(layers: BriefingLayers, township):
    if township is None:
        return None
    return find_township(layers.townships, township)


def default_titles(layers, town, language):
    region_en = layers.region_name_en
    region_my = layers.region_name_my or region_en
    if town is None:
        en = f"Access to health care: {region_en}"
        my = f"{region_my} {MY_PHRASES['title']}"
    else:
        en = f"Access to health care: {town['name_en']} Township"
        my = f"{town['name_my'] or town['name_en']} {MY_PHRASES['township']} {MY_PHRASES['title']}"
    if layers.scenario:  # a what-if is named in the title itself
        en = f"{en} — scenario “{scenario_name(layers.scenario)}”"
        my = f"{my} — “{scenario_name(layers.scenario)}”"
    titles = {"en": [en], "my": [my], "both": [en, my]}[language]
    p = layers.params
    if layers.has_result:
        sub = (f"People and villages without primary care within {p.primary_minutes:g} min and without "
               f"secondary care within {p.secondary_minutes:g} min ({p.mode})")
    else:
        sub = "Health facilities, conflict zones and villages (input layers; no travel-time analysis)"
    edits = edit_lines(layers.scenario)  # the edits stay as written (facility names, English)
    heading = scenario_heading(layers.scenario)
    parts_en = [heading + (": " + "; ".join(edits) if edits else "")] + ([region_en] if town is not None else [])
    parts_my = [tr(heading, "my") + (": " + "; ".join(edits) if edits else "")] + \
        ([region_my] if town is not None else [])
    sub_en = " · ".join(parts_en + [sub])
    sub_my = " · ".join(parts_my + [tr(sub, "my")])
    return titles, bilingual(sub_en, sub_my, language, "\n")


def _parameter_lines(layers, printed_on, scale_text, language="en", paper="A4"):
    """The analysis parameters (top right) in the page ``language``: [(text, size pt, weight, colour)];
    "both" gives each English line, then its Burmese a little smaller."""
    out = []
    for i, line in enumerate(_parameter_lines_en(layers, printed_on, scale_text, paper)):
        weight, colour = ("bold" if i in (1, 2) else "normal"), (INK if i else MUTED)
        my = my_text(line)
        if language != "my" or my is None:
            out.append((line, 6.4 if language == "en" else 5.9, weight, colour))
        if language != "en" and my is not None:
            out.append((my, 6.4 if language == "my" else 5.6, weight, colour))
    return out


def _info_step(line, size, k) -> float:
    """Line step (mm) of the parameter block: Myanmar lines need more room for stacked marks."""
    return size * k * (1.8 if has_my(line) else 1.42) / 72 * 25.4


def _parameter_lines_en(layers, printed_on, scale_text, paper="A4"):
    p = layers.params
    lines = [f"Printed {printed_on.isoformat()}",
             f"Situation as of {layers.as_of.isoformat()}",
             f"Scenario: {scenario_name(layers.scenario)}" + (" (hypothetical)" if layers.scenario else "")]
    if layers.has_result:
        lines.append(f"{p.mode.capitalize()} · thresholds: primary {p.primary_minutes:g} min, "
                     f"secondary {p.secondary_minutes:g} min")
        lines.append(f"{p.cell_size_m:g} m grid · {p.neighbours}-neighbour · bands "
                     + "/".join(f"{b:g}" for b in p.band_minutes) + " min")
    else:
        lines.append("No travel-time analysis on this map")
    if scale_text:
        lines.append(f"Scale {scale_text} on {paper}")
    return lines


def _layout(page, extent, header_h, footer_h, wants_table, panel_scale=1.0):
    """Choose the panel side; return (map box, panel box, side) in mm."""
    x0, y0, x1, y1 = extent
    ew, eh = (x1 - x0) * 1.06, (y1 - y0) * 1.06
    body_x, body_y = MARGIN_MM, MARGIN_MM + footer_h
    body_w, body_h = page.w - 2 * MARGIN_MM, page.h - 2 * MARGIN_MM - header_h - footer_h
    side_min = (76.0 if page.w < page.h else 84.0) * page.k * panel_scale  # wider for a bilingual panel
    bottom_min = 72.0 * page.k * panel_scale
    # option A: panel on the right
    mw_a, mh_a = body_w - side_min - GAP_MM, body_h
    scale_a = max(ew / mw_a, eh / mh_a)
    # option B: panel below
    mw_b, mh_b = body_w, body_h - bottom_min - GAP_MM
    scale_b = max(ew / mw_b, eh / mh_b)
    if scale_a <= scale_b * 1.05:
        # shrink the map box to the extent's shape where that frees width for the panel
        mw = min(mw_a, max(ew / scale_a, body_w * 0.45))
        map_box = (body_x, body_y, mw, mh_a)
        panel = (body_x + mw + GAP_MM, body_y, body_w - mw - GAP_MM, body_h)
        return map_box, panel, "right"
    mh = mh_b
    map_box = (body_x, body_y + body_h - mh, mw_b, mh)
    panel = (body_x, body_y, body_w, body_h - mh - GAP_MM)
    return map_box, panel, "bottom"


def compose_page(data, result=None, *, paper: str = "a4", landscape: bool = False, township=None,
                 language: str = "en", safe_share: bool = False, title: str | None = None,
                 subtitle: str | None = None, extra_credits=(), layers: BriefingLayers | None = None,
                 printed_on: dt.date | None = None, safe_method: str = "township") -> Figure:
    """One briefing page as a matplotlib Figure (region page, or a township page with ``township``).

    ``data`` is the loaded :class:`~coverage_app.core.data.model.ProjectData`; ``result`` an
    :class:`~coverage_app.core.results.AnalysisResult` or ``None`` (a map of the inputs only).
    ``township`` is a township pcode (or English name). ``language`` is ``"en"``, ``"my"`` or
    ``"both"`` for titles and township/village labels. ``safe_share`` removes facility names
    and shows facilities only as counts per township (``safe_method="grid"``: per 20 km cell).
    ``layers`` (from :func:`prepare_layers`) saves re-projecting when composing many pages.
    """
    check_options(paper, language)
    family = register_matplotlib_fonts()
    if layers is None or (safe_share and not layers.safe_share):  # never print names from unsafe layers
        layers = prepare_layers(data, result, safe_share=safe_share, safe_method=safe_method,
                                extra_credits=extra_credits)
    elif extra_credits:
        layers.credits = layers.credits + [c for c in extra_credits if c not in layers.credits]
    with font_rc(family):
        return compose_figure(layers, paper=paper, landscape=landscape, township=township, language=language,
                        title=title, subtitle=subtitle, printed_on=printed_on or dt.date.today(), family=family)


def compose_figure(layers, *, paper, landscape, township, language, title, subtitle, printed_on, family):
    page = Page(paper, landscape, family)
    town = resolve_township(layers, township)
    k = page.k
    titles, default_sub = default_titles(layers, town, language)
    if title:
        titles = [title]
    subtitle = default_sub if subtitle is None else subtitle

    # --- marking strip and header -------------------------------------------------------
    strip_h = draw_marking_strip(page, layers, language)
    top = page.h - MARGIN_MM
    y = top - strip_h - 2.0
    info_w = 62.0 * k
    title_w = page.w - 2 * MARGIN_MM - info_w - GAP_MM
    title_lines = []
    for t in titles:
        size = 15.0
        while size > 10 and page.text_mm(t, size, "bold")[0] > title_w:
            size -= 0.5
        for line in page.wrap(t, size, title_w, "bold"):
            title_lines.append((line, size))
    stack = [(line, size, "bold", INK) for line, size in title_lines]
    for part in subtitle.split("\n"):  # "both": the English subtitle, then the Burmese
        stack += [(line, 8.2, "normal", "#444444") for line in page.wrap(part, 8.2, title_w)[:4]]
    yy, prev_descent = y, 0.0
    for i, (line, size, weight, colour) in enumerate(stack):
        ascent, descent = extent_pt(line, size * k)
        yy -= (prev_descent + ascent + (0.18 * size * k if i else 0)) / 72 * 25.4
        if i == len(title_lines) and i:
            yy -= 0.8
        page.text(MARGIN_MM, yy, line, size, weight, colour, va="baseline")
        prev_descent = descent
    header_bottom_text = yy - prev_descent / 72 * 25.4

    # --- layout ---------------------------------------------------------------------------
    focus_geom, extent = focus_extent(layers, town)
    footer_h = 14.0 * k
    info_probe = _parameter_lines(layers, printed_on, "1:1", language, paper.upper())  # the scale comes later
    info_bottom = y - sum(_info_step(t, size, k) for t, size, _w, _c in info_probe) - 1.0
    header_h = top - min(header_bottom_text, info_bottom) + 3.0
    map_box, panel, side = _layout(page, extent, header_h, footer_h, True, 1.3 if language == "both" else 1.0)

    # --- map ------------------------------------------------------------------------------
    ax, m_per_mm = draw_map(page, layers, map_box, focus_geom, extent, town, language)
    scale_text = nice_scale(m_per_mm * 1000)

    # --- analysis parameters, top right ------------------------------------------------
    iy = y
    for line, size, weight, colour in _parameter_lines(layers, printed_on, scale_text, language, paper.upper()):
        iy -= _info_step(line, size, k)
        page.text(page.w - MARGIN_MM, iy, line, size, weight, colour, ha="right", va="baseline")

    # --- panel: inset, key figures, legend, table ---------------------------------------
    px, py, pw, ph = panel
    rows = legend_entries(layers, None if town is None else town["pcode"], language)
    line_h = 3.5 * k
    focus_4326 = None if town is None else gpd.GeoSeries([focus_geom], crs=layers.crs).to_crs(4326).iloc[0]
    table = table_spec(layers, town, language)
    note = tr(f"All {len(layers.townships)} townships: add the township table page."
              if town is None else
              "Sorted by population; labelled on the map where space allows.", language, "\n")
    # the region page tries to show every township (rows tighten, font down to 5 pt)
    fit = dict(fit_all=True, rest_note="all townships on the table page") if town is None else {}
    fit["language"] = language
    if side == "right" and pw < 115 * k:
        inset_w = min(26.0 * k, pw * 0.34)
        inset_h = inset_w * 1.85
        draw_inset(page, px, py + ph - inset_h, inset_w, inset_h, layers, focus_4326, language)
        legend_cols = 2 if pw >= 66 * k else 1
        legend_h = legend_height(page, rows, legend_cols, pw)
        if inset_h + 8.0 + legend_h > ph and pw >= 90 * k:  # a tall (bilingual) legend: three columns
            legend_cols = 3
            legend_h = legend_height(page, rows, legend_cols, pw)
        top_block = _draw_figures(page, layers, town, language, px, py + ph, pw, inset_w, inset_h,
                                  ph - legend_h - 4.0) + 4.0
        ly = py + ph - top_block - legend_h
        draw_legend(page, px, ly, pw, legend_h, rows, legend_cols)
        if table[1]:
            draw_table(page, px, py, pw, ly - py - 3.0, table[0], table[1], table[2], table[3], note, **fit)
    elif side == "right":
        col_w = (pw - GAP_MM) * 0.45
        inset_w = min(30.0 * k, col_w * 0.5)
        inset_h = inset_w * 1.85
        draw_inset(page, px, py + ph - inset_h, inset_w, inset_h, layers, focus_4326, language)
        top_block = _draw_figures(page, layers, town, language, px, py + ph, col_w, inset_w, inset_h, ph) + 4.0
        tx, tw, table_h = px + col_w + GAP_MM, pw - col_w - GAP_MM, ph + 1.0
        # the legend under the key figures (one or two columns) where it fits, else above the table
        for legend_cols in (1, 2):
            legend_h = legend_height(page, rows, legend_cols, col_w)
            if top_block + legend_h <= ph + 1.0:
                draw_legend(page, px, py + ph - top_block - legend_h, col_w, legend_h, rows, legend_cols)
                break
        else:
            legend_cols = 2 if legend_height(page, rows, 2, tw) <= ph else 3
            legend_h = legend_height(page, rows, legend_cols, tw)
            draw_legend(page, tx, py + ph + 1.0 - legend_h, tw, legend_h, rows, legend_cols)
            table_h -= legend_h + 3.0
        if table[1]:
            draw_table(page, tx, py, tw, table_h, table[0], table[1], table[2], table[3], note, **fit)
    else:  # bottom: inset | legend | key figures and table
        inset_w = 30.0 * k
        inset_h = min(ph, inset_w * 1.85)
        draw_inset(page, px, py + ph - inset_h, inset_w, inset_h, layers, focus_4326, language)
        rest_x = px + inset_w + GAP_MM
        rest_w = pw - inset_w - GAP_MM
        legend_cols = 1 if legend_height(page, rows, 1, rest_w * 0.34) <= ph else 2
        legend_w = rest_w * (0.34 if legend_cols == 1 else 0.5)
        legend_h = legend_height(page, rows, legend_cols, legend_w)
        draw_legend(page, rest_x, py + ph - legend_h, legend_w, legend_h, rows, legend_cols)
        fx = rest_x + legend_w + GAP_MM
        fw = rest_w - legend_w - GAP_MM
        # the type shrinks until the key figures fit the panel's height and leave a few table rows
        room = ph + 1.0 - (34.0 * k if table[1] and table[2] else 0.0)
        for scale in FIGURE_SCALES:
            fig_lines = figures_lines(layers, town, page, fw, language, scale)
            if lines_height(page, fig_lines) <= room:
                break
        used = draw_lines(page, fx, py + ph + 1.0, fig_lines)
        if table[1]:
            draw_table(page, fx, py, fw, ph - used - 2.0, table[0], table[1], table[2], table[3], note, **fit)

    # --- footer: credits and the marking again -------------------------------------------
    _draw_footer(page, layers, footer_h, language)
    page.fig.set_label("briefing page")
    return page.fig


FIGURE_SCALES = (1.0, 0.94, 0.88, 0.84, 0.8, 0.76)  # key-figure type sizes tried where the panel is short


def _draw_figures(page, layers, town, language, x, top, w, inset_w, inset_h, max_h=None) -> float:
    """Key figures beside the inset (``inset_w`` x ``inset_h`` mm at the top left of a column
    ``w`` mm wide), or under it at the column's width where that is shorter (long Burmese and
    bilingual sentences), the type shrinking (to 80 %) until inset and figures fit ``max_h``
    (mm); returns the height they take (mm)."""
    for scale in FIGURE_SCALES:
        beside = figures_lines(layers, town, page, w - inset_w - 3.0, language, scale)
        below = figures_lines(layers, town, page, w, language, scale)
        h_beside = max(inset_h, lines_height(page, beside))
        h_below = inset_h + 2.0 + lines_height(page, below)
        if max_h is None or min(h_beside, h_below) <= max_h:
            break
    if h_below < h_beside - 1.0:
        return inset_h + 2.0 + draw_lines(page, x, top - inset_h - 1.0, below)
    return max(inset_h, draw_lines(page, x + inset_w + 3.0, top + 1.0, beside))


def _draw_footer(page, layers, footer_h, language="en"):
    """Credits and caveats above the bottom margin (the sources as recorded; "both": the
    caveats in English, then in Burmese), and the marking again below it."""
    k = page.k
    width = page.w - 2 * MARGIN_MM
    if layers.credits:  # the sources' names stay as recorded
        sources = ("ရင်းမြစ်များ: " if language == "my" else "Sources: ") + "; ".join(layers.credits)
    else:
        sources = tr("Sources: not recorded in the project", "my" if language == "my" else "en")
    sentences = [sources]
    caveats = []
    if layers.scenario:  # the edits stay as written (facility names)
        edits = edit_lines(layers.scenario)
        caveats.append(f"Hypothetical scenario “{scenario_name(layers.scenario)}”: the figures assume "
                       + ("; ".join(edits) if edits else "no edits yet") + ", not the recorded situation")
    if layers.has_result:
        caveats.append("Travel times are modelled estimates (friction surface over roads, rivers and conflict zones)")
    if layers.zones is not None:
        caveats.append("Conflict zones are derived from reported events and are approximate")
    caveats.append("Boundaries and names shown do not imply official endorsement.")
    if language != "my":
        sentences += caveats
    credits = ". ".join(sentences)
    if language != "en":  # Burmese sentences end with "။"
        credits += ("" if credits.endswith(".") else ".") + " " + " ".join(tr(c, "my").rstrip("။") + "။" for c in caveats)
    size = 5.6
    lines = page.wrap(credits, size, width)
    while len(lines) > 4 and size > 4.4:  # many user layers: smaller type before anything is cut
        size = round(size - 0.3, 1)
        lines = page.wrap(credits, size, width)
    if len(lines) > 4:
        lines = lines[:3] + [lines[3] + " …"]
    y = MARGIN_MM + footer_h - 1.0
    page.fig.add_artist(matplotlib.lines.Line2D([MARGIN_MM / page.w, (page.w - MARGIN_MM) / page.w],
                                                [(y + 1.0) / page.h] * 2, color="#999999", linewidth=0.5))
    for line in lines:
        y -= size * k * 1.35 / 72 * 25.4
        page.text(MARGIN_MM, y, line, size, "normal", MUTED, va="baseline")
    from coverage_app import __version__

    marking = page_marking(layers, language).replace("\n", " · ")
    msize = 6.0
    while msize > 4.4 and page.text_mm(marking, msize, "bold")[0] > width - 30.0 * k:
        msize = round(msize - 0.2, 1)
    page.text(MARGIN_MM, MARGIN_MM - 4.2, marking, msize, "bold", MARKING_COLOURS[layers.safe_share],
              va="baseline")
    page.text(page.w - MARGIN_MM, MARGIN_MM - 4.2, f"coverage-app {__version__}", 5.6, "normal", MUTED,
              ha="right", va="baseline")


def compose_table_page(layers: BriefingLayers, *, paper="a4", landscape=False, language="en",
                       printed_on=None) -> Figure:
    """A page holding the whole township table (when it does not fit beside the map)."""
    family = register_matplotlib_fonts()
    with font_rc(family):
        page = Page(paper, landscape, family)
        k = page.k
        top = page.h - MARGIN_MM
        strip_h = draw_marking_strip(page, layers, language)
        scenario = scenario_name(layers.scenario)
        heading = bilingual(f"Key figures by township: {layers.region_name_en} — {scenario}",
                            my_text(f"Key figures by township: {layers.region_name_my or layers.region_name_en} — "
                                    f"{scenario}"), language, "\n")
        lines = heading.split("\n")  # "both": English, then Burmese
        hsize = 13.0
        while hsize > 9.0 and max(page.text_mm(t, hsize, "bold")[0] for t in lines) > page.w - 2 * MARGIN_MM:
            hsize -= 0.5
        yy = top - strip_h - 8.0 * k
        for i, line in enumerate(lines):
            if i:
                yy -= hsize * k * 1.75 / 72 * 25.4
            page.text(MARGIN_MM, yy, line, hsize, "bold", INK, va="baseline")
        title, cols, rows, total = table_spec(layers, None, language)
        footer_h = 14.0 * k
        table_top = yy - 4.0 * k
        draw_table(page, MARGIN_MM, MARGIN_MM + footer_h, page.w - 2 * MARGIN_MM,
                    table_top - MARGIN_MM - footer_h, title, cols, rows, total, size=7.0, fit_all=True,
                   language=language)
        _draw_footer(page, layers, footer_h, language)
        return page.fig
