"""Symbology defined once, used by the on-screen canvas (Qt) and the printed map (matplotlib).

Colours are hex strings, sizes are in points (1/72 inch) at print scale; the canvas converts
them to device pixels. Class breaks for travel time are minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Style:
    fill: str | None = None
    stroke: str | None = "#333333"
    stroke_width: float = 0.5      # points
    size: float = 4.0              # marker size, points
    marker: str = "o"              # o circle, s square, ^ triangle, D diamond, P plus, x cross
    alpha: float = 1.0
    dash: tuple[float, ...] = ()   # dash pattern in points, empty = solid
    label: str = ""
    hatch: str = ""


# Facilities by level (shape) and status (fill).
FACILITY_STATUS_COLOURS = {
    "functioning": "#1a9641",
    "partial": "#fdae61",
    "unknown": "#7b8fa6",
    "closed": "#6b6b6b",
    "destroyed": "#d7191c",
}
FACILITY_LEVEL_MARKERS = {"secondary": ("s", 7.0), "primary": ("o", 5.0), "new": ("P", 8.0)}


def facility_style(status: str, secondary: bool, new: bool = False) -> Style:
    marker, size = FACILITY_LEVEL_MARKERS["new" if new else ("secondary" if secondary else "primary")]
    status = status if status in FACILITY_STATUS_COLOURS else "unknown"
    return Style(fill=FACILITY_STATUS_COLOURS[status], stroke="#111111", stroke_width=0.6, size=size,
                 marker=marker, label=f"{'Hospital (secondary)' if secondary else 'Primary care'}, {status}")


CONFLICT_ZONE_STYLES = {
    "no_go": Style(fill="#b2182b", stroke="#67001f", stroke_width=0.6, alpha=0.45, label="No-go zone", hatch="xx"),
    "restricted": Style(fill="#ef8a62", stroke="#b2182b", stroke_width=0.5, alpha=0.35, label="Restricted zone",
                        hatch="//"),
    "risk": Style(fill="#fddbc7", stroke="#ef8a62", stroke_width=0.4, alpha=0.35, label="Risk zone"),
}
# a zone of another kind (e.g. "checkpoint") still slows travel by its speed factor: drawn like a risk zone
OTHER_ZONE_STYLE = Style(**{**CONFLICT_ZONE_STYLES["risk"].__dict__, "label": "Other zone"})
# drawing order, least restrictive first (the most restrictive on top)
ZONE_DRAW_ORDER = ("other", "risk", "restricted", "no_go")


def zone_style_keys(kinds) -> list[str]:
    """The style of each zone by its ``kind`` (any case, spaces around): a key of CONFLICT_ZONE_STYLES,
    or "other" for a kind that is none of them (see OTHER_ZONE_STYLE)."""
    keys = [str(k).strip().lower() for k in kinds]
    return [k if k in CONFLICT_ZONE_STYLES else "other" for k in keys]


def zone_style(key: str) -> Style:
    return CONFLICT_ZONE_STYLES.get(key, OTHER_ZONE_STYLE)

GAP_STYLES = {  # villages by gap class
    "none": Style(fill="#4dac26", stroke=None, size=2.2, label="Both within reach"),
    "secondary": Style(fill="#f1b6da", stroke="#8e0152", stroke_width=0.3, size=2.8, label="No secondary care"),
    "primary": Style(fill="#fdb863", stroke="#7f3b08", stroke_width=0.3, size=2.8, label="No primary care"),
    "both": Style(fill="#d01c8b", stroke="#40004b", stroke_width=0.4, size=3.4, label="No primary, no secondary"),
    "unreachable": Style(fill="#000000", stroke="#ffffff", stroke_width=0.3, size=3.4, marker="x",
                         label="Unreachable / off grid"),
}

# Scenario comparison (villages losing or gaining access between two scenarios): shapes and
# colours unlike the gap classes, so the two can be shown together (screen and print).
COMPARISON_STYLES = {
    "loses_primary": Style(fill="#111111", stroke="#ffff33", stroke_width=1.0, size=7.0, marker="D",
                           label="Loses primary care"),
    "loses_secondary": Style(fill="#5a5a5a", stroke="#ffff33", stroke_width=0.8, size=6.0, marker="^",
                             label="Loses secondary care"),
    "gains_primary": Style(fill="#2166ac", stroke="#ffffff", stroke_width=0.8, size=6.5, marker="D",
                           label="Gains primary care"),
    "gains_secondary": Style(fill="#67a9cf", stroke="#ffffff", stroke_width=0.8, size=5.5, marker="^",
                             label="Gains secondary care"),
}

ROLE_STYLES = {
    "townships": Style(fill=None, stroke="#555555", stroke_width=0.7, label="Township boundary"),
    "villages": Style(fill="#3d3d3d", stroke=None, size=1.6, label="Village"),
    "roads": Style(stroke="#c0392b", stroke_width=1.0, label="Road"),
    "rivers": Style(fill="#a6cee3", stroke="#4a90c2", stroke_width=0.8, label="River / water"),
    "crossings": Style(fill="#ffffff", stroke="#1f4e79", stroke_width=0.6, size=4.0, marker="D", label="Bridge / ferry"),
    "reference": Style(fill="#999999", stroke="#666666", stroke_width=0.4, size=2.5, label=""),
    "region": Style(fill=None, stroke="#000000", stroke_width=1.4, label="Region"),
}
ROAD_CLASS_WIDTHS = {"main": 1.6, "secondary": 1.0, "tertiary": 0.7, "track": 0.5, "path": 0.4}
ROAD_CLASS_COLOURS = {"main": "#c0392b", "secondary": "#e67e22", "tertiary": "#b7950b", "track": "#8d6e63",
                      "path": "#8d6e63"}

# Travel time: class breaks (minutes) and colours, shared by rasters and catchment bands.
TRAVEL_TIME_BREAKS = (0, 30, 60, 120, 180, 240)
TRAVEL_TIME_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027")  # one per interval
BEYOND_COLOUR = "#7f0000"  # over the last break


def travel_time_colour(minutes: float) -> str:
    for upper, colour in zip(TRAVEL_TIME_BREAKS[1:], TRAVEL_TIME_COLOURS):
        if minutes <= upper:
            return colour
    return BEYOND_COLOUR


def band_colour(band_upper_minutes: float) -> str:
    return travel_time_colour(band_upper_minutes - 1e-6)


def travel_time_legend() -> list[tuple[str, str]]:
    items = [(f"{lo:g}–{hi:g} min", c) for lo, hi, c in
             zip(TRAVEL_TIME_BREAKS[:-1], TRAVEL_TIME_BREAKS[1:], TRAVEL_TIME_COLOURS)]
    return items + [(f"> {TRAVEL_TIME_BREAKS[-1]:g} min", BEYOND_COLOUR)]


def travel_time_lut(max_minutes: float = 300.0, steps: int = 256) -> list[str]:
    """Colours for ``steps`` equal intervals of [0, max_minutes] (for raster display)."""
    return [travel_time_colour(max_minutes * (i + 0.5) / steps) for i in range(steps)]


# Probability of access (sweeps, issue 15): share of Monte Carlo draws in which a village is
# within the threshold (0..1). Graduated, colour-blind safe (viridis-like, dark = unlikely);
# screen and print use these breaks and colours.
ACCESS_PROBABILITY_BREAKS = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
ACCESS_PROBABILITY_COLOURS = ("#3b0f70", "#5c3c9e", "#3e7fb0", "#2fb28b", "#9bd554", "#fde725")
ACCESS_PROBABILITY_SIZES = (2.8, 2.6, 2.4, 2.3, 2.2, 2.2)  # points: the villages least likely reached stand out


def access_probability_classes() -> list[tuple[float, float, Style]]:
    """(low, high, style) for each class of probability; a class holds low < p <= high (the
    first also p = 0)."""
    out = []
    edges = ACCESS_PROBABILITY_BREAKS
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        label = f"{lo * 100:g}–{hi * 100:g} % of draws" if i else f"≤ {hi * 100:g} % of draws"
        if i == len(edges) - 2:
            label = f"> {lo * 100:g} % of draws"
        out.append((lo, hi, Style(fill=ACCESS_PROBABILITY_COLOURS[i], stroke="#222222" if i < 2 else None,
                                  stroke_width=0.3, size=ACCESS_PROBABILITY_SIZES[i], label=label)))
    return out


def access_probability_class(p: float) -> int:
    """Index of the class of probability ``p`` (NaN -> the first class)."""
    for i, (_lo, hi, _s) in enumerate(access_probability_classes()):
        if p <= hi:
            return i
    return 0


def hex_to_rgba(colour: str, alpha: float = 1.0) -> tuple[int, int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16), int(round(alpha * 255))


SENSITIVE_MARKING = "SENSITIVE: contains health facility locations. Do not share outside the team."
SAFE_SHARE_MARKING = "Safe-share version: facility names removed, locations generalised."
