"""How vector layers are classified and coloured on the map (from
:mod:`coverage_app.core.outputs.symbology`, so the screen matches the print), and the colour
functions of raster layers (travel time in minutes, land-cover class codes, grey ramps).

Split out of :mod:`coverage_app.ui.maplayers` (which draws and identifies); this module
only decides classes and colours and never paints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from PySide6.QtGui import QColor

from coverage_app.core.outputs import symbology as sym
from coverage_app.core.outputs.symbology import Style

from . import render

if TYPE_CHECKING:
    from .maplayers import VectorLayer

POINT, LINE, POLYGON, RASTER = "point", "line", "polygon", "raster"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#393b79")
RAMP = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")


@dataclass
class SymbolClass:
    key: object
    label: str
    style: Style
    rows: np.ndarray | None = None   # row positions in the layer frame; None = every row



# ---------------------------------------------------------------------------------------
# Symbology (from coverage_app.core.outputs.symbology, so the screen matches the print)

STYLE_KEYS = ("fill", "stroke", "stroke_width", "size", "marker", "alpha")


def apply_overrides(style: Style, overrides: dict) -> Style:
    changes = {k: overrides[k] for k in STYLE_KEYS if k in overrides}
    if "no_fill" in overrides and overrides["no_fill"]:
        changes["fill"] = None
    if not changes:
        return style
    return Style(**{**style.__dict__, **changes})


def _rows(mask) -> np.ndarray:
    return np.flatnonzero(np.asarray(mask, dtype=bool))


def symbolise(layer: VectorLayer) -> list[SymbolClass]:
    """The classes a layer is drawn with, bottom first, from its style dict and role."""
    mode = layer.style.get("mode", "auto")
    frame = layer.frame
    if mode == "single" or not len(frame):
        return [SymbolClass("single", "", layer.base_style())]
    if mode == "categorised" and layer.style.get("field") in frame.columns:
        return categorised(layer, layer.style["field"])
    if mode == "graduated" and layer.style.get("field") in frame.columns:
        return graduated(layer, layer.style["field"])
    return auto_classes(layer)


def auto_classes(layer: VectorLayer) -> list[SymbolClass]:
    frame, role = layer.frame, layer.role
    if role == "facilities" and "status" in frame:
        status = frame["status"].fillna("unknown").astype(str).str.lower()
        status = status.where(status.isin(list(sym.FACILITY_STATUS_COLOURS)), "unknown")
        secondary = frame["provides_secondary"].fillna(False).astype(bool) if "provides_secondary" in frame \
            else pd.Series(False, index=frame.index)
        # scenario facilities: core.analysis.edits marks them "is_new" (as the briefing map reads it)
        new = frame["is_new"].fillna(False).astype(bool) if "is_new" in frame else pd.Series(False, index=frame.index)
        # 20 classes from numpy arrays: 0.9 ms for the bundled facilities, 7 ms as 60 pandas operations
        status, secondary, new = status.to_numpy(object), secondary.to_numpy(bool), new.to_numpy(bool)
        out = []
        for is_new in (False, True):
            for is_sec in (False, True):
                for st in ("functioning", "partial", "unknown", "closed", "destroyed"):
                    mask = (status == st) & (secondary == is_sec) & (new == is_new)
                    style = sym.facility_style(st, is_sec, new=is_new)
                    style = Style(**{**style.__dict__, "label": ("New facility, " + st) if is_new else style.label})
                    style = apply_overrides(style, {k: layer.style[k] for k in ("stroke", "stroke_width", "marker")
                                                    if k in layer.style})  # an added layer's own outline
                    out.append(SymbolClass(("fac", st, is_sec, is_new), style.label, style, _rows(mask)))
        return out
    if role == "conflict_zones" and "kind" in frame:
        keys = np.array(sym.zone_style_keys(frame["kind"]))
        return [SymbolClass(k, sym.zone_style(k).label, sym.zone_style(k), _rows(keys == k))
                for k in sym.ZONE_DRAW_ORDER if k != "other" or (keys == "other").any()]
    if role == "villages" and "gap" in frame:
        gap = frame["gap"].astype(object).where(frame["gap"].notna(), "unreachable").astype(str)
        if "on_grid" in frame:
            gap = gap.where(frame["on_grid"].fillna(False).astype(bool), "unreachable")
        return [SymbolClass(g, sym.GAP_STYLES[g].label, sym.GAP_STYLES[g], _rows(gap == g))
                for g in ("none", "secondary", "primary", "both", "unreachable")]
    if role == "access_probability":  # sweeps: graduated by the share of draws within reach
        field = layer.style.get("field", "p_prim")
        p = pd.to_numeric(frame[field], errors="coerce").fillna(0.0).to_numpy() if field in frame else np.zeros(len(frame))
        out, low = [], np.zeros(len(p), bool)
        for i, (lo, hi, style) in enumerate(sym.access_probability_classes()):
            mask = (p <= hi) & ~low
            low |= mask
            out.append(SymbolClass(("p", i), style.label, style, _rows(mask)))
        return out[::-1]  # likely-reached villages drawn first, the unlikely ones on top
    if role == "comparison" and "change" in frame:
        change = frame["change"].astype(str)
        return [SymbolClass(c, sym.COMPARISON_STYLES[c].label, sym.COMPARISON_STYLES[c], _rows(change == c))
                for c in ("gains_secondary", "gains_primary", "loses_secondary", "loses_primary")]
    if role == "roads" and "road_class" in frame:
        rc = frame["road_class"].fillna("track").astype(str).str.lower()
        out = []
        for c in ("path", "track", "tertiary", "secondary", "main"):
            style = Style(stroke=sym.ROAD_CLASS_COLOURS[c], stroke_width=sym.ROAD_CLASS_WIDTHS[c],
                          label=f"{c.capitalize()} road" if c not in ("track", "path") else c.capitalize())
            out.append(SymbolClass(c, style.label, apply_overrides(style, _line_overrides(layer.style)),
                                   _rows(rc == c)))
        other = ~rc.isin(list(sym.ROAD_CLASS_COLOURS))
        if other.any():
            out.insert(0, SymbolClass("other", "Other road", sym.ROLE_STYLES["roads"], _rows(other)))
        return out
    if role == "catchments" and "band_min" in frame:
        bands = sorted(set(float(b) for b in frame["band_min"].dropna()), reverse=True)
        out = []
        previous = {b: p for b, p in zip(sorted(bands), [0.0] + sorted(bands)[:-1])}
        for b in bands:
            style = Style(fill=sym.band_colour(b), stroke="#ffffff", stroke_width=0.3, alpha=0.55,
                          label=f"{previous[b]:g}–{b:g} min")
            out.append(SymbolClass(b, style.label, style, _rows(frame["band_min"] == b)))
        return out
    return [SymbolClass("single", layer.title if role != "reference" else "", layer.base_style())]


def _line_overrides(style: dict) -> dict:
    return {k: style[k] for k in ("stroke_width",) if k in style}


def categorised(layer: VectorLayer, field: str) -> list[SymbolClass]:
    values = layer.frame[field].astype(object).where(layer.frame[field].notna(), "(empty)").astype(str)
    counts = values.value_counts()
    top = list(counts.index[: len(PALETTE)])
    base = layer.base_style()
    out = []
    for value, colour in zip(sorted(top), PALETTE):
        style = _recolour(base, colour, layer.geometry)
        out.append(SymbolClass(("cat", value), value, style, _rows(values == value)))
    rest = ~values.isin(top)
    if rest.any():
        out.insert(0, SymbolClass(("cat", None), "other", _recolour(base, "#bbbbbb", layer.geometry), _rows(rest)))
    return out


def graduated(layer: VectorLayer, field: str) -> list[SymbolClass]:
    numbers = pd.to_numeric(layer.frame[field], errors="coerce")
    base = layer.base_style()
    if field.endswith("_min") or "minute" in field:
        breaks = list(sym.TRAVEL_TIME_BREAKS) + [math.inf]
        colours = list(sym.TRAVEL_TIME_COLOURS) + [sym.BEYOND_COLOUR]
        labels = [label for label, _ in sym.travel_time_legend()]
    else:
        finite = numbers[np.isfinite(numbers)]
        if not len(finite):
            return [SymbolClass("single", "", base)]
        qs = np.unique(np.quantile(finite, np.linspace(0, 1, len(RAMP) + 1)))
        breaks = list(qs) if len(qs) > 1 else [float(qs[0]), float(qs[0]) + 1]
        colours = list(RAMP[: len(breaks) - 1])
        labels = [f"{_fmt(lo)}–{_fmt(hi)}" for lo, hi in zip(breaks[:-1], breaks[1:])]
    out = []
    for i, (colour, label) in enumerate(zip(colours, labels)):
        lo, hi = breaks[i], breaks[i + 1]
        mask = (numbers > lo) & (numbers <= hi) if i else (numbers >= lo) & (numbers <= hi)
        out.append(SymbolClass(("grad", i), label, _recolour(base, colour, layer.geometry), _rows(mask)))
    missing = ~np.isfinite(numbers)
    if missing.any():
        out.insert(0, SymbolClass(("grad", None), "no value", _recolour(base, "#bbbbbb", layer.geometry),
                                  _rows(missing)))
    return out


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _recolour(style: Style, colour: str, geometry: str) -> Style:
    if geometry == LINE:
        return Style(**{**style.__dict__, "stroke": colour, "fill": None})
    return Style(**{**style.__dict__, "fill": colour})


# ---------------------------------------------------------------------------------------

def travel_time_colours(values: np.ndarray, opacity: float) -> np.ndarray:
    breaks, argb = render.colour_lut(sym.TRAVEL_TIME_BREAKS, sym.TRAVEL_TIME_COLOURS, sym.BEYOND_COLOUR)
    return render.classify_to_argb(values, breaks, argb, opacity)


def category_colours(mapping: dict[int, str]):
    """A colour function for class-code rasters (land cover): {code: colour}."""
    def colour(values: np.ndarray, opacity: float) -> np.ndarray:
        out = np.zeros(values.shape, np.uint32)
        for code, hex_colour in mapping.items():
            q = QColor(hex_colour)
            value = np.uint32((255 << 24) | (q.red() << 16) | (q.green() << 8) | q.blue())
            out[values == code] = value
        return render.premultiply(out, opacity) if opacity < 1 else out
    return colour


def grey_colours(values: np.ndarray, opacity: float) -> np.ndarray:
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape, np.uint32)
    lo, hi = np.nanpercentile(values[finite], [2, 98])
    g = np.clip((values - lo) / max(hi - lo, 1e-9) * 255, 0, 255)
    g = np.where(finite, g, 0).astype(np.uint32)
    out = (np.uint32(255) << 24) | (g << 16) | (g << 8) | g
    out = np.where(finite, out, 0).astype(np.uint32)
    return render.premultiply(out, opacity) if opacity < 1 else out


LANDCOVER_COLOURS = {"water": "#4a90c2", "forest": "#1b7837", "cropland": "#f6e8a6", "shrub": "#a6bf6b",
                     "grass": "#c7e9a0", "bare": "#d9c8b4", "built-up": "#c0392b", "wetland": "#7fc6bc"}


