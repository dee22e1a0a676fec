"""Key figures and the township table: which columns, how they fit the box (type size,
one- or two-line names) and drawing them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from coverage_app.core.data.population import basis_short
from coverage_app.core.outputs.briefing.style import (tr, INK, MUTED, bilingual, fmt_int, fmt_pct, has_my,
                                                      line_factor, my_text, place_name)


def figures_lines(layers, town, page, width, language="en", scale=1.0):
    """Key-figure lines [(text, size, weight, colour)] for the region or a township, wrapped to
    ``width`` (mm), in the page ``language`` ("both": each sentence in English, then Burmese);
    ``scale`` shrinks the type (points) where the block must fit a short box."""
    p = layers.params
    if town is None:
        label = "Key figures: " + layers.region_name_en
        label_my = my_text("Key figures: " + (layers.region_name_my or layers.region_name_en))
    else:
        label = f"Key figures: {town['name_en']} Township"
        label_my = my_text(f"Key figures: {town['name_my'] or town['name_en']} Township")
    out = [(bilingual(label, label_my, language, "\n"), 7.4, "bold", INK)]
    figs = layers.figures
    row = None if town is None else figs[figs["pcode"] == town["pcode"]].iloc[0]
    if layers.has_result:
        if row is None:
            hl = layers.headline
            pop, n_vil = hl["population"], hl["villages"]
            noprim, pnoprim, vnoprim = hl["pop_no_primary"], 1 - hl["share_primary"], hl["villages_no_primary"]
            nosec, pnosec, vnosec = hl["pop_no_secondary"], 1 - hl["share_secondary"], hl["villages_no_secondary"]
            fac = (f"Facilities counted: {hl['facilities_counted_primary']:,} for primary, "
                   f"{hl['facilities_counted_secondary']:,} for secondary care")
        else:
            pop, n_vil = row["pop"], row["n_villages"]
            noprim, pnoprim, vnoprim = row["pop_noprim"], row["pct_noprim"], row["vil_noprim"]
            nosec, pnosec, vnosec = row["pop_nosec"], row["pct_nosec"], row["vil_nosec"]
            fac = None
            if "n_fac" in row and not pd.isna(row["n_fac"]):
                n_sec = int(row.get("n_sec", 0) or 0)
                fac = (f"Health facilities in the township: {int(row['n_fac'])} ({n_sec} "
                       f"hospital{'' if n_sec == 1 else 's'} providing secondary care)")
        short = basis_short(layers.population_basis)  # the page says what its shares are of
        label = f"Population ({short})" if short else "Population of the villages"
        out.append((f"{label}: {fmt_int(pop)} in {fmt_int(n_vil)} villages", 6.6, "normal", INK))
        out.append((f"No primary care within {p.primary_minutes:g} min: {fmt_int(noprim)} people "
                    f"({fmt_pct(pnoprim)}), {fmt_int(vnoprim)} villages", 6.6, "bold", "#a6611a"))
        out.append((f"No secondary care within {p.secondary_minutes:g} min: {fmt_int(nosec)} people "
                    f"({fmt_pct(pnosec)}), {fmt_int(vnosec)} villages", 6.6, "bold", "#8e0152"))
        if fac:
            out.append((fac, 6.2, "normal", INK))
        rng = _range_line(layers, town)
        if rng:
            out.append((rng, 6.2, "normal", INK))
        if layers.assumed_unknown:
            out.append((f"{layers.assumed_unknown} facilities of unknown status were counted as functioning: "
                        "coverage may be overstated.", 5.9, "normal", "#b2182b"))
    else:
        if row is None:
            figs_sum = figs
            pop = figs_sum["census_pop"].sum()
            n_vil = figs_sum["n_villages"].sum() if "n_villages" in figs_sum else None
            n_fac = figs_sum["n_fac"].sum() if "n_fac" in figs_sum else None
            n_sec = figs_sum["n_sec"].sum() if "n_sec" in figs_sum else None
        else:
            pop, n_vil = row["census_pop"], row.get("n_villages")
            n_fac, n_sec = row.get("n_fac"), row.get("n_sec")
        out.append((f"Census population (2014): {fmt_int(pop)}", 6.6, "normal", INK))
        if n_vil is not None:
            out.append((f"Villages: {fmt_int(n_vil)}", 6.6, "normal", INK))
        if n_fac is not None:
            out.append((f"Health facilities: {fmt_int(n_fac)} ({fmt_int(n_sec)} providing secondary care)",
                        6.6, "normal", INK))
        out.append(("Run an analysis for people and villages without care within reach.", 5.9, "normal", MUTED))
    if layers.sweep is not None:
        out += sweep_lines(layers.sweep, None if town is None else str(town["pcode"]), p)
    if layers.zones is None:
        out.append(("No conflict-zone layer in the project.", 6.2, "normal", MUTED))
    else:
        out.append((f"Conflict zones in force on {layers.as_of.isoformat()}: {len(layers.zones)} of "
                    f"{layers.n_zones_all}", 6.2, "normal", INK))
    wrapped = []
    for n, (text, size, weight, colour) in enumerate(out):
        size = round(size * scale, 2)
        # the label is already in the page language; the sentences are translated here
        for part in (text if n == 0 else tr(text, language, "\n")).split("\n"):
            for i, line in enumerate(page.wrap(part, size, width, weight)):
                wrapped.append(((line if i == 0 else "   " + line), size, weight, colour))
    return wrapped


def _range_line(layers, town) -> str | None:
    """The speed-sensitivity range of the within-reach shares (low / high speed assumptions)."""
    s = getattr(layers, "sensitivity", None)
    if not s:
        return None
    p = layers.params
    if town is None:
        h = s["headline"]
        lo_p, hi_p = 100 * h["share_primary"]["lo"], 100 * h["share_primary"]["hi"]
        lo_s, hi_s = 100 * h["share_secondary"]["lo"], 100 * h["share_secondary"]["hi"]
    else:
        t = s["townships"]
        row = t[t["pcode"] == town["pcode"]]
        if not len(row) or pd.isna(row["pct_lo"].iloc[0]):
            return None
        lo_p, hi_p, lo_s, hi_s = (float(row[c].iloc[0]) for c in ("pct_lo", "pct_hi", "pct_sec_lo", "pct_sec_hi"))
    return (f"Range under low / high speed assumptions: within {p.primary_minutes:g} min of primary care "
            f"{lo_p:.0f}–{hi_p:.0f} %, within {p.secondary_minutes:g} min of secondary care {lo_s:.0f}–{hi_s:.0f} %")
def sweep_lines(sweep, pcode, params) -> list:
    """Key-figure lines of a sweep: the share of people within reach, median and 5–95 % range
    of the draws, for the region (``pcode`` None) or one township."""
    src = sweep["region"]
    if pcode is not None:
        t = sweep["townships"]
        t = t[t["pcode"].astype(str) == pcode]
        if not len(t):
            return []
        src = t.iloc[0].to_dict()
    out = [(f"Uncertainty ({sweep['draws']} draws, {sweep['label']}): share of people within reach, median "
            "(5–95 % of draws)", 6.4, "bold", INK)]
    for short, tier, minutes, colour in (("prim", "primary", params.primary_minutes, "#a6611a"),
                                         ("sec", "secondary", params.secondary_minutes, "#8e0152")):
        lo, mid, hi = (src.get(f"{short}_pct{q}") for q in (5, 50, 95))
        if mid is None or pd.isna(mid):
            continue
        out.append((f"{tier.capitalize()} care within {minutes:g} min: {mid:.1f} % ({lo:.1f}–{hi:.1f} %)", 6.4,
                    "normal", colour))
    return out


def _line_step(page, text, size) -> float:
    """Baseline step (mm) of a key-figure line; Myanmar lines a little tighter than line_factor
    (one sentence's lines, no table rules between)."""
    return size * page.k * ((1.5 if has_my(text) else line_factor(text)) + 0.08) / 72 * 25.4


def lines_height(page, lines) -> float:
    """The height (mm) :func:`draw_lines` uses for ``lines``."""
    return sum(_line_step(page, t, size) for t, size, _w, _c in lines) + (0.8 if len(lines) > 1 else 0.0) + 1.0


def draw_lines(page, x, y_top, lines):
    """Draw text lines downwards from ``y_top`` (mm); return the height used (mm)."""
    yy = y_top
    for i, (text, size, weight, colour) in enumerate(lines):
        if i == 1:
            yy -= 0.8
        yy -= _line_step(page, text, size)
        page.text(x, yy, text, size, weight, colour, va="baseline")
    return y_top - yy + 1.0


def _col(header, key, align="right", fmt=fmt_int, group=""):
    return {"header": header, "key": key, "align": align, "fmt": fmt, "group": group}


def _mins(value, language="en") -> str:
    """Minutes as a whole number, or "beyond" (in the page ``language``) where out of reach."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return tr("beyond", language, " / ")
    return f"{float(value):.0f}"


def table_spec(layers, town, language):
    """(title, columns, rows, total row) of the key-figures table for the region or a township.

    Title, headings and the total label are in the page ``language`` (both: English / Burmese).
    """
    title, cols, rows, total = _table_spec_en(layers, town, language)
    for c in cols:  # "both": English over Burmese
        c["header"] = tr(c["header"], language, "\n")
        c["group"] = tr(c["group"], language, "\n")
    if total is not None:
        total["label"] = tr(total["label"], language, " / ")
    return (tr(title, language, "\n") if title else title), cols, rows, total


def _table_spec_en(layers, town, language):
    p = layers.params
    if town is None:
        figs = layers.figures.copy()
        records = figs.to_dict("records")
        figs["label"] = [place_name(r, language, " ") for r in records]
        if language == "both":
            figs["label2"] = [place_name(r, language, "\n") for r in records]
        if layers.has_result:
            figs = figs.sort_values(["pop_noprim", "pop_nosec"], ascending=False)
            prim = f"Over {p.primary_minutes:g} min to primary"
            sec = f"Over {p.secondary_minutes:g} min to secondary"
            cols = [_col("Township", "label", "left", str), _col("Population", "pop"),
                    _col("people", "pop_noprim", group=prim), _col("%", "pct_noprim", fmt=fmt_pct, group=prim),
                    _col("villages", "vil_noprim", group=prim),
                    _col("people", "pop_nosec", group=sec), _col("%", "pct_nosec", fmt=fmt_pct, group=sec),
                    _col("villages", "vil_nosec", group=sec)]
            total = {"label": "Total", "pop": figs["pop"].sum(), "pop_noprim": figs["pop_noprim"].sum(),
                     "vil_noprim": figs["vil_noprim"].sum(), "pop_nosec": figs["pop_nosec"].sum(),
                     "vil_nosec": figs["vil_nosec"].sum()}
            total["pct_noprim"] = total["pop_noprim"] / total["pop"] if total["pop"] else float("nan")
            total["pct_nosec"] = total["pop_nosec"] / total["pop"] if total["pop"] else float("nan")
            title = "Townships by people without primary care"
        else:
            figs = figs.sort_values("pcode")
            cols = [_col("Township", "label", "left", str), _col("Census pop.", "census_pop")]
            if "n_villages" in figs:
                cols.append(_col("Villages", "n_villages"))
            if "n_fac" in figs:
                cols += [_col("Facilities", "n_fac"), _col("Hospitals", "n_sec")]
            total = {"label": "Total", **{c["key"]: figs[c["key"]].sum() for c in cols[1:]}}
            title = "Townships"
        return title, cols, figs.to_dict("records"), total
    # township page: the largest villages without primary care
    if not layers.has_result or layers.villages is None:
        return None, [], [], None
    v = layers.villages
    v = v[(v["township_pcode"].astype(str) == town["pcode"]) & v["gap"].isin(["primary", "both"])]
    v = v.sort_values(["population", "prim_min"], ascending=[False, False])
    rows = [{"label": place_name(r, language, " "), "population": r.get("population"), "prim_min": r.get("prim_min"),
             "sec_min": r.get("sec_min")} for r in v.to_dict("records")]
    cols = [_col("Village", "label", "left", str), _col("Population", "population"),
            _col("primary", "prim_min", fmt=lambda v: _mins(v, language), group="Minutes to"),
            _col("secondary", "sec_min", fmt=lambda v: _mins(v, language), group="Minutes to")]
    return "Largest villages without primary care", cols, rows, None


def _table_fit(page, w, h, cols, rows, total, size, two_line, compact=False, title="", note_lines=1):
    """Row heights, rows that fit, cells and column widths of a table at font ``size`` (points).

    ``compact`` tightens the line spacing (1.4 instead of 1.55, Myanmar rows 1.12 instead of 1.3
    times that) so a long table fits its box.
    """
    k = page.k
    pad = 1.2
    key = "label2" if two_line else "label"
    row_h = size * k * (1.4 if compact else 1.55) / 72 * 25.4
    labels = [str(r.get(key, r.get("label", ""))) for r in rows]
    multiline = any("\n" in t for t in labels)
    burmese = any(has_my(t) for t in labels[:60])
    data_row_h = row_h * (1.8 if multiline else 1.0) * ((1.12 if compact else 1.3) if burmese else 1.0)
    has_groups = any(c["group"] for c in cols)
    two_line_heads = any("\n" in c["header"] or "\n" in c["group"] for c in cols)
    header_h = row_h * (2.0 if has_groups else 1.1) * (1.9 if two_line_heads else 1.0)
    title_h = 7.0 * k * 1.7 / 72 * 25.4 * (1.8 if "\n" in str(title) else 1.0)

    def cell(c, r, label):
        return label if c["key"] == "label" else c["fmt"](r.get(c["key"]))

    avail = h - title_h - header_h - (row_h * 1.3 if total else 0) - row_h * 1.3 * max(1, note_lines)
    n_fit = max(0, int(avail // data_row_h))
    cells = [[cell(c, r, labels[i]) for c in cols] for i, r in enumerate(rows[:n_fit])]
    total_cells = [cell(c, total, str(total.get("label", ""))) for c in cols] if total else None
    hsize = size - 0.4
    widths = []
    for j, c in enumerate(cols):
        texts = [row[j] for row in cells] + ([total_cells[j]] if total_cells else [])
        wmax = max([page.text_mm(t, size)[0] for t in texts] + [page.text_mm(c["header"], hsize, "bold")[0]])
        widths.append(wmax + 2 * pad)
    groups = []
    for j, c in enumerate(cols):
        if c["group"] and (not groups or groups[-1][0] != c["group"]):
            groups.append([c["group"], j, j])
        elif c["group"]:
            groups[-1][2] = j
    for name, a, b in groups:  # a group heading must fit over its columns
        need = page.text_mm(name, hsize, "bold")[0] + 2 * pad
        have = sum(widths[a:b + 1])
        if need > have:
            for j in range(a, b + 1):
                widths[j] += (need - have) / (b - a + 1)
    return dict(pad=pad, row_h=row_h, data_row_h=data_row_h, has_groups=has_groups, header_h=header_h,
                title_h=title_h, n_fit=n_fit, cells=cells, total_cells=total_cells, hsize=hsize, widths=widths,
                groups=groups, size=size)


def draw_table(page, x, y, w, h, title, cols, rows, total, note_total=None, size=6.0, fit_all=False,
               rest_note=None, language="en"):
    """Draw the table in the box (mm): as many rows as fit; returns the number of rows drawn.

    Labels stay on one line where the table fits the width (two lines, English over Burmese,
    where it does not); the font shrinks (to 5 pt) before columns would overlap, and with
    ``fit_all`` the rows tighten and the font shrinks until every row fits (without, until
    three rows fit). Rows still left out are counted in the heading, with ``rest_note`` (where
    the rest are) after it, in the page ``language`` (English ``rest_note``; "both": after each
    line of a two-line title). A box too short for three rows gets only ``note_total``.
    """
    if not cols:
        return 0
    two_line_possible = any("label2" in r for r in rows)
    note_lines = str(note_total or "").count("\n") + 1  # "both": the note in English, then Burmese
    need = min(3, len(rows))  # a table of fewer rows than this is not worth its heading
    if h < 14.0 or _table_fit(page, w, h, cols, rows, total, 5.0, False, True, title, note_lines)["n_fit"] < need:
        # no room under the key figures and legend for a table: say where it is (a region page's
        # note points to the table page; a township's note only describes the table)
        if note_total and rest_note and h > note_lines * 5.4 * page.k * 1.6 / 72 * 25.4:
            page.mm_axes(x, y, w, h).text(0, h, note_total, fontproperties=page.font(5.4), color=MUTED, va="top",
                                          linespacing=1.3)
        return 0
    fit = None
    trial = size
    while True:
        for compact in (False, True):
            fit = _table_fit(page, w, h, cols, rows, total, trial, False, compact, title, note_lines)
            if sum(fit["widths"]) > w and two_line_possible:
                fit = _table_fit(page, w, h, cols, rows, total, trial, True, compact, title, note_lines)
            too_wide = sum(fit["widths"]) > w
            too_long = fit["n_fit"] < (len(rows) if fit_all else need)
            if not (too_wide or too_long):
                break
        if not (too_wide or too_long) or trial <= 5.0:
            break
        trial = round(trial - 0.25, 2)
    pad, row_h, data_row_h, header_h, title_h = (fit[k] for k in ("pad", "row_h", "data_row_h", "header_h",
                                                                   "title_h"))
    has_groups, n_fit, cells, total_cells = fit["has_groups"], fit["n_fit"], fit["cells"], fit["total_cells"]
    hsize, widths, groups, size = fit["hsize"], fit["widths"], fit["groups"], fit["size"]
    if sum(widths) > w:
        widths = [wd * w / sum(widths) for wd in widths]
    else:
        widths[0] += w - sum(widths)
    shown = rows[:n_fit]
    ax = page.mm_axes(x, y, w, h)
    ytop = h
    heading = title
    if len(shown) < len(rows):
        cut = f"(top {len(shown)} of {len(rows)}" + (f"; {rest_note})" if rest_note else ")")
        lines = heading.split("\n")
        if language == "both" and len(lines) == 2:
            heading = f"{lines[0]} {cut}\n{lines[1]} {tr(cut, 'my')}"
        else:
            heading += " " + tr(cut, language)
    tsize = 7.0
    while tsize > 5.5 and page.text_mm(heading, tsize, "bold")[0] > w:
        tsize -= 0.25
    ax.text(0, ytop - title_h * 0.5, heading, fontproperties=page.font(tsize, "bold"), color=INK, va="center",
            linespacing=1.1)
    ytop -= title_h
    xs = np.concatenate([[0], np.cumsum(widths)])
    ax.add_patch(Rectangle((0, ytop - header_h), w, header_h, facecolor="#e6e6e6", edgecolor="none"))

    def put(j, yy, text, prop, colour=INK):
        ha = cols[j]["align"]
        tx = xs[j] + pad if ha == "left" else xs[j + 1] - pad
        ax.text(tx, yy, text, fontproperties=prop, color=colour, ha=ha, va="center", multialignment=ha,
                linespacing=1.0)

    hprop = page.font(hsize, "bold")
    for name, a, b in groups:
        ax.text((xs[a] + xs[b + 1]) / 2, ytop - header_h * 0.27, name, fontproperties=hprop, color=INK,
                ha="center", va="center")
        ax.plot([xs[a] + pad, xs[b + 1] - pad], [ytop - header_h * 0.5] * 2, color="#888888", linewidth=0.4)
    for j, c in enumerate(cols):
        yy = ytop - header_h * (0.73 if (has_groups and c["group"]) else 0.5)
        put(j, yy if c["group"] or not has_groups else ytop - header_h * 0.73, c["header"], hprop)
    ytop -= header_h
    prop = page.font(size)
    for i, r in enumerate(shown):
        if i % 2 == 1:
            ax.add_patch(Rectangle((0, ytop - data_row_h), w, data_row_h, facecolor="#f4f4f4", edgecolor="none"))
        for j in range(len(cols)):
            put(j, ytop - data_row_h / 2, cells[i][j], prop)
        ytop -= data_row_h
    if total:
        ax.plot([0, w], [ytop, ytop], color=INK, linewidth=0.6)
        bprop = page.font(size, "bold")
        for j in range(len(cols)):
            put(j, ytop - row_h * 0.65, total_cells[j], bprop)
        ytop -= row_h * 1.3
    if note_total and len(shown) < len(rows):
        ax.text(0, ytop - row_h * 0.15, note_total, fontproperties=page.font(5.4), color=MUTED, linespacing=1.3,
                va="top")
    if not rows:
        ax.text(0, ytop - row_h * 0.6, tr("None", language), fontproperties=page.font(size), color=MUTED,
                va="center")
    return len(shown)
