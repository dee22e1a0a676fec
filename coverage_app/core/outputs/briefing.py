"""Briefing maps: one-page PDF/PNG layouts, the township atlas and the safe-share version.

A page is a matplotlib :class:`~matplotlib.figure.Figure` (no pyplot, no Qt): marking strip,
title and subtitle, date and analysis parameters, the map (townships, catchment bands,
conflict zones valid on the analysis date, roads and water, villages by gap class,
facilities by level and status), scale bar, north arrow, an inset locator of Myanmar,
legend, key figures and a table, and source credits. Styles come from
:mod:`coverage_app.core.outputs.symbology`, the same definitions the on-screen canvas uses.

The map is drawn in the metric working CRS (UTM, EPSG:32646 for Sagaing) so the scale bar
is true. Fonts are the bundled Noto Sans and Noto Sans Myanmar, embedded in the PDF
(TrueType, ``pdf.fonttype`` 42); matplotlib >= 3.11 shapes Myanmar script.

``compose_page`` builds one page; ``write_briefing`` writes a region page, a township page
or the atlas (region overview + one page per township) to PDF, or one page to PNG,
atomically. Layers are projected once per call (:func:`prepare_layers`) and shared by every
page of an atlas.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Polygon as MplPolygon
from matplotlib.patches import Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.patheffects import withStroke
from pyproj import CRS

from coverage_app.core.outputs import symbology as sym
from coverage_app.core.atomic import atomic_path
from coverage_app.core.data.crs import working_crs_for
from coverage_app.core.errors import InputError
from coverage_app.core.feedback import report
from coverage_app.core.outputs.fonts import register_matplotlib_fonts
from coverage_app.core.outputs.safe_share import generalise_facilities

PAPERS_MM = {"a4": (210.0, 297.0), "a3": (297.0, 420.0)}
LANGUAGES = ("en", "my", "both")
OUTPUT_SUFFIXES = (".pdf", ".png")
PNG_DPI = 200
MARGIN_MM = 9.0
GAP_MM = 4.0

INK = "#222222"
MUTED = "#666666"
BACKGROUND_STATES = "#ececec"
OUTSIDE_TOWNSHIPS = "#f4f4f4"
MAP_BACKGROUND = "#fbfbf8"
MARKING_COLOURS = {False: "#b2182b", True: "#2166ac"}

# Burmese for the few fixed phrases of titles and headers. Reviewed wording is welcome:
# everything else on the page (legend, table headings) stays English in every language.
_MY = {
    "title": "ကျန်းမာရေးစောင့်ရှောက်မှု လက်လှမ်းမီမှု",
    "township": "မြို့နယ်",
}
_REGION_MY = {"MMR005": "စစ်ကိုင်းတိုင်းဒေသကြီး"}


# --------------------------------------------------------------------------------------
# Prepared layers (projected once, shared by every page of an atlas)
# --------------------------------------------------------------------------------------

@dataclass
class BriefingLayers:
    """Everything a page draws, in the metric CRS ``crs`` unless the name says 4326."""

    crs: CRS
    project_name: str
    region_name_en: str
    region_name_my: str
    params: object
    as_of: dt.date
    has_result: bool
    townships: gpd.GeoDataFrame            # pcode, name_en, name_my, geometry (metric)
    region: object                         # shapely geometry (metric)
    region_4326: object
    states_4326: gpd.GeoDataFrame | None   # Myanmar states/regions for the inset
    zones: gpd.GeoDataFrame | None         # conflict zones valid on ``as_of``
    n_zones_all: int
    villages: gpd.GeoDataFrame | None      # + klass (gap class or "village")
    facilities: gpd.GeoDataFrame | None    # canonical + secondary flag
    facility_counts: gpd.GeoDataFrame | None  # safe-share generalisation (township)
    roads: gpd.GeoDataFrame | None
    river_lines: object                    # GeoSeries (metric)
    water: object                          # GeoSeries (metric)
    bands: list = field(default_factory=list)   # [(lo, hi, geometry)] primary tier rings
    secondary_reach: object = None         # area within the secondary threshold (metric)
    figures: pd.DataFrame | None = None    # key figures per township (see _township_figures)
    headline: dict | None = None
    assumed_unknown: int = 0
    credits: list = field(default_factory=list)
    safe_share: bool = False
    safe_method: str = "township"
    safe_grid_km: float = 20.0


def zones_valid_on(zones: gpd.GeoDataFrame | None, date: dt.date) -> gpd.GeoDataFrame | None:
    """Conflict zones valid on ``date`` (empty ``valid_from`` / ``valid_to`` = open-ended)."""
    if zones is None:
        return None

    def _dates(column):
        if column not in zones:
            return pd.Series(pd.NaT, index=zones.index)
        return pd.to_datetime(zones[column].astype("string"), errors="coerce")

    day = pd.Timestamp(date)
    start, end = _dates("valid_from"), _dates("valid_to")
    keep = (start.isna() | (start <= day)) & (end.isna() | (end >= day))
    return zones[keep.values]


def _read_reference(data, layer_name: str) -> gpd.GeoDataFrame | None:
    """A layer of the project's GeoPackage(s) that has no role (``region``, ``myanmar_states``)."""
    import pyogrio

    seen = set()
    for ref in data.project.layers:
        path = Path(ref.path)
        if path.suffix.lower() != ".gpkg" or path in seen or not path.exists():
            continue
        seen.add(path)
        try:
            names = {str(row[0]) for row in pyogrio.list_layers(path)}
            if layer_name in names:
                frame = gpd.read_file(path, layer=layer_name, engine="pyogrio")
                return frame.to_crs(4326) if frame.crs is not None else frame.set_crs(4326)
        except Exception:  # a damaged reference layer only loses the inset, never the page
            continue
    return None


def _user_layer_credits(data) -> list[str]:
    """Layers the user added (files outside the bundled dataset folder)."""
    try:
        from coverage_app.core.data.project import bundled_project_path

        bundled_dir = bundled_project_path().parent.resolve()
    except Exception:
        bundled_dir = None
    out = []
    for ref in data.project.layers:
        if ref.name not in data.layers and ref.name not in data.rasters:
            continue
        folder = Path(ref.path).resolve().parent
        if bundled_dir is not None and folder == bundled_dir:
            continue
        out.append(f"{ref.name} ({Path(ref.path).name})")
    return out


def _strip_source(text) -> str:
    text = str(text).strip()
    for prefix in ("Source:", "Sources:"):
        if text.lower().startswith(prefix.lower()):
            text = text[len(prefix):].strip()
    return text


def _as_bool(series: pd.Series) -> pd.Series:
    if series.dtype == bool:
        return series
    return series.map(lambda v: str(v).strip().lower() in ("1", "true", "yes", "y", "t")
                      if v is not None and v == v else False).astype(bool)


def _rings(catchments: gpd.GeoDataFrame, tier: str, crs, bands) -> list:
    """Catchments of ``tier`` as non-overlapping rings [(lo, hi, geometry)] (metric)."""
    if catchments is None or catchments.empty or "band_min" not in catchments:
        return []
    sub = catchments[catchments["tier"] == tier] if "tier" in catchments else catchments
    if sub.empty:
        return []
    sub = sub.to_crs(crs)
    limits = sorted({float(b) for b in sub["band_min"].dropna()})
    if bands:
        limits = [b for b in limits if b in {float(x) for x in bands}] or limits
    rings, inner, lo = [], None, 0.0
    for hi in limits:
        geoms = sub.geometry[sub["band_min"].astype(float) <= hi + 1e-9].values
        union = shapely.union_all(shapely.make_valid(geoms))
        ring = union if inner is None else shapely.difference(union, inner)
        ring = shapely.make_valid(shapely.set_precision(ring, 0.01))
        if not ring.is_empty:
            rings.append((lo, hi, ring))
        inner, lo = union, hi
    return rings


def _reach_area(result, tier: str, minutes: float, crs):
    """The area within ``minutes`` of a counting facility of ``tier`` (metric), from the raster."""
    t = (getattr(result, "tiers", None) or {}).get(tier)
    grid = getattr(result, "grid", None)
    if t is None or grid is None or t.minutes is None or t.minutes.shape != tuple(grid.shape):
        sub = result.catchments[(result.catchments["tier"] == tier)
                                & (result.catchments["band_min"].astype(float) <= minutes + 1e-9)] \
            if result.catchments is not None and len(result.catchments) else None
        if sub is None or sub.empty:
            return None
        return shapely.union_all(shapely.make_valid(sub.to_crs(crs).geometry.values))
    from rasterio import features

    mask = np.nan_to_num(t.minutes, nan=np.inf) <= minutes
    if not mask.any():
        return None
    polys = [shapely.geometry.shape(g) for g, _ in
             features.shapes(mask.astype("uint8"), mask=mask, transform=grid.transform, connectivity=8)]
    area = shapely.union_all(polys)
    if not CRS(grid.crs).equals(crs):
        area = gpd.GeoSeries([area], crs=grid.crs).to_crs(crs).iloc[0]
    return area


def _township_figures(layers_townships, villages, result, facilities) -> pd.DataFrame:
    """Key figures per township: population, villages and facilities; gaps when analysed."""
    towns = layers_townships[["pcode", "name_en", "name_my"]].copy()
    towns["pcode"] = towns["pcode"].astype(str)
    out = towns.set_index("pcode")
    census = layers_townships.set_index(layers_townships["pcode"].astype(str)).get("population")
    out["census_pop"] = census if census is not None else np.nan
    if facilities is not None and len(facilities):
        fac_town = facilities["township_pcode"].astype(str) if "township_pcode" in facilities else None
        if fac_town is not None:
            out["n_fac"] = fac_town.value_counts().reindex(out.index).fillna(0).astype(int)
            sec = facilities["secondary"]
            out["n_sec"] = fac_town[sec.values].value_counts().reindex(out.index).fillna(0).astype(int)
    if result is None:
        if villages is not None and "township_pcode" in villages:
            vt = villages["township_pcode"].astype(str)
            out["n_villages"] = vt.value_counts().reindex(out.index).fillna(0).astype(int)
            out["pop"] = villages["population"].groupby(vt.values).sum().reindex(out.index).fillna(0)
        return out.reset_index()
    v = result.villages
    vt = v["township_pcode"].astype(str).values
    pop = v["population"].fillna(0).astype(float)
    no_prim = v["gap"].isin(["primary", "both"]).values
    no_sec = v["gap"].isin(["secondary", "both"]).values
    grouped = pd.DataFrame({"t": vt, "pop": pop.values, "pop_noprim": np.where(no_prim, pop.values, 0.0),
                            "pop_nosec": np.where(no_sec, pop.values, 0.0), "vil_noprim": no_prim.astype(int),
                            "vil_nosec": no_sec.astype(int), "n_villages": 1}).groupby("t").sum()
    grouped = grouped.reindex(out.index)
    t = result.townships
    if t is not None and len(t) and {"pcode", "pop", "pop_prim", "pop_sec"} <= set(t.columns):
        # the analysis' own summary wins where it exists (same definitions)
        ts = t.set_index(t["pcode"].astype(str)).reindex(out.index)
        for col, src in (("pop", "pop"), ("vil_noprim", "vil_noprim"), ("vil_nosec", "vil_nosec"),
                         ("n_villages", "n_villages")):
            if src in ts:
                grouped[col] = ts[src].where(ts[src].notna(), grouped[col])
        grouped["pop_noprim"] = (ts["pop"] - ts["pop_prim"]).where(ts["pop_prim"].notna(), grouped["pop_noprim"])
        grouped["pop_nosec"] = (ts["pop"] - ts["pop_sec"]).where(ts["pop_sec"].notna(), grouped["pop_nosec"])
    out = out.join(grouped)
    for col in ("pop", "pop_noprim", "pop_nosec", "vil_noprim", "vil_nosec", "n_villages"):
        out[col] = out[col].fillna(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pct_noprim"] = np.where(out["pop"] > 0, out["pop_noprim"] / out["pop"], np.nan)
        out["pct_nosec"] = np.where(out["pop"] > 0, out["pop_nosec"] / out["pop"], np.nan)
    return out.reset_index()


def prepare_layers(data, result=None, *, safe_share: bool = False, safe_method: str = "township",
                   safe_grid_km: float = 20.0, extra_credits=(), feedback=None) -> BriefingLayers:
    """Project every layer once into the metric CRS and derive what the pages need."""
    report(feedback, 0.0, "Preparing the map layers")
    townships = data.role("townships")
    if townships is None or townships.empty:
        raise InputError("a briefing map needs a townships layer; add one to the project")
    params = result.params if result is not None else data.project.params
    as_of = params.as_of_date
    crs = result.grid.crs if result is not None and getattr(result, "grid", None) is not None \
        else working_crs_for(townships.total_bounds, 4326)
    crs = CRS(crs)

    towns = townships[["pcode", "name_en", "name_my", "geometry"]].copy()
    for col in ("name_en", "name_my"):
        towns[col] = towns[col].astype("string").fillna("")
    towns["pcode"] = towns["pcode"].astype(str)
    towns = towns.to_crs(crs)

    region_frame = _read_reference(data, "region")
    if region_frame is not None and not region_frame.empty:
        region_4326 = shapely.union_all(shapely.make_valid(region_frame.geometry.values))
        region_pcode = str(region_frame["pcode"].iloc[0]) if "pcode" in region_frame else ""
        region_en = str(region_frame["name_en"].iloc[0]) if "name_en" in region_frame else ""
    else:
        region_4326 = shapely.union_all(shapely.make_valid(townships.geometry.values))
        region_pcode, region_en = "", ""
    region_en = region_en or data.project.name.split("(")[0].strip() or "Study area"
    if region_en and "region" not in region_en.lower() and "state" not in region_en.lower() and region_pcode:
        region_en = f"{region_en} Region"
    region_my = _REGION_MY.get(region_pcode, "")
    region = gpd.GeoSeries([region_4326], crs=4326).to_crs(crs).iloc[0]
    states = _read_reference(data, "myanmar_states")
    report(feedback, 0.2, "Preparing the map layers")

    zones_all = data.role("conflict_zones")
    zones = zones_valid_on(zones_all, as_of)
    if zones is not None:
        zones = zones[["kind", "geometry"]].to_crs(crs)

    facilities = result.facilities if result is not None and result.facilities is not None \
        else data.role("facilities")
    fac_counts = None
    if facilities is not None and len(facilities):
        facilities = facilities.copy()
        facilities["secondary"] = _as_bool(facilities["provides_secondary"]) \
            if "provides_secondary" in facilities else False
        if "township_pcode" not in facilities or facilities["township_pcode"].isna().any():
            joined = gpd.sjoin(facilities[["geometry"]], townships[["pcode", "geometry"]], how="left",
                               predicate="within")
            joined = joined[~joined.index.duplicated()]
            fill = joined["pcode"].reindex(facilities.index)
            facilities["township_pcode"] = facilities.get("township_pcode", fill)
            facilities["township_pcode"] = facilities["township_pcode"].fillna(fill)
        if safe_share:
            fac_counts = generalise_facilities(facilities, townships, method=safe_method,
                                               grid_km=safe_grid_km).to_crs(crs)
        facilities = facilities.to_crs(crs)

    if result is not None:
        villages = result.villages.copy()
        villages["klass"] = villages["gap"].astype("string").fillna("none")
        flag = "reachable" if "reachable" in villages else ("on_grid" if "on_grid" in villages else None)
        if flag:
            villages.loc[~_as_bool(villages[flag]).values, "klass"] = "unreachable"
    else:
        villages = data.role("villages")
        if villages is not None:
            villages = villages.copy()
            villages["klass"] = "village"
    if villages is not None:
        for col in ("name_en", "name_my"):
            if col in villages:
                villages[col] = villages[col].astype("string").fillna("")
        villages = villages.to_crs(crs)
    report(feedback, 0.5, "Preparing the map layers")

    roads = data.role("roads")
    if roads is not None:
        roads = roads[["road_class", "geometry"]].to_crs(crs) if "road_class" in roads \
            else roads[["geometry"]].assign(road_class="main").to_crs(crs)
    rivers = data.role("rivers")
    river_lines = water = gpd.GeoSeries([], crs=crs)
    if rivers is not None:
        rivers = rivers.to_crs(crs)
        kinds = shapely.get_type_id(rivers.geometry.values)
        water = rivers.geometry[np.isin(kinds, (3, 6))]
        river_lines = rivers.geometry[np.isin(kinds, (1, 2, 5))]

    bands, secondary_reach = [], None
    if result is not None and not safe_share:
        bands = _rings(result.catchments, "primary", crs, params.band_minutes)
        secondary_reach = _reach_area(result, "secondary", float(params.secondary_minutes), crs)
    report(feedback, 0.8, "Preparing the map layers")

    figures = _township_figures(townships, data.role("villages") if result is None else villages, result,
                                facilities)
    credits = [_strip_source(c) for c in data.project.credits] + _user_layer_credits(data) + [str(c) for c in extra_credits if c]
    layers = BriefingLayers(
        crs=crs, project_name=data.project.name, region_name_en=region_en, region_name_my=region_my,
        params=params, as_of=as_of, has_result=result is not None, townships=towns, region=region,
        region_4326=region_4326, states_4326=states, zones=zones,
        n_zones_all=0 if zones_all is None else len(zones_all), villages=villages, facilities=facilities,
        facility_counts=fac_counts, roads=roads, river_lines=river_lines, water=water, bands=bands,
        secondary_reach=secondary_reach, figures=figures,
        headline=result.headline() if result is not None else None,
        assumed_unknown=int(getattr(result, "assumed_unknown", 0) or 0) if result is not None else 0,
        credits=credits, safe_share=safe_share, safe_method=safe_method, safe_grid_km=safe_grid_km)
    report(feedback, 1.0, "Map layers ready")
    return layers


# --------------------------------------------------------------------------------------
# Drawing helpers
# --------------------------------------------------------------------------------------

def _flatten(geom) -> list:
    """The simple parts (Polygon, LineString, Point) of any geometry, collections included."""
    if hasattr(geom, "geoms"):
        out = []
        for part in geom.geoms:
            out += _flatten(part)
        return out
    return [geom]


def _polygon_paths(geoms) -> list:
    paths = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        parts = _flatten(geom)
        verts, codes = [], []
        for poly in parts:
            if poly.geom_type != "Polygon" or poly.is_empty:
                continue
            for ring in (poly.exterior, *poly.interiors):
                xy = np.asarray(ring.coords)[:, :2]
                if len(xy) < 3:
                    continue
                verts.append(xy)
                c = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
                c[0], c[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
                codes.append(c)
        if verts:
            paths.append(MplPath(np.concatenate(verts), np.concatenate(codes)))
    return paths


def _line_parts(geoms) -> list:
    out = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        for part in _flatten(geom):
            if part.geom_type in ("LineString", "LinearRing") and not part.is_empty:
                out.append(np.asarray(part.coords)[:, :2])
            elif part.geom_type in ("Polygon",):
                out.append(np.asarray(part.exterior.coords)[:, :2])
    return out


def _clip(geoms, bbox, tolerance=0.0):
    arr = np.asarray(list(geoms), dtype=object)
    if arr.size == 0:
        return arr
    try:
        arr = shapely.clip_by_rect(arr, *bbox)
    except shapely.errors.GEOSException:  # a degenerate ring (e.g. from a raster-derived union)
        fixed = shapely.make_valid(shapely.set_precision(arr, 0.01))
        arr = shapely.intersection(fixed, shapely.box(*bbox))
    if tolerance > 0:
        arr = shapely.simplify(arr, tolerance, preserve_topology=True)
    return arr[~shapely.is_empty(arr)]


def _rgba(colour, alpha=1.0):
    return matplotlib.colors.to_rgba(colour, alpha) if colour else (0, 0, 0, 0)


def _add_polygons(ax, geoms, *, face=None, edge=None, lw=0.5, alpha=1.0, hatch="", zorder=1, dash=None):
    paths = _polygon_paths(geoms)
    if not paths:
        return None
    coll = PathCollection(paths, facecolors=[_rgba(face, alpha)] if face else "none",
                          edgecolors=[_rgba(edge)] if edge else "none", linewidths=lw, zorder=zorder,
                          hatch=hatch or None)
    if dash:
        coll.set_linestyle((0, dash))
    ax.add_collection(coll, autolim=False)
    return coll


def _add_lines(ax, geoms, *, colour, lw, zorder=2, dash=None, alpha=1.0, capstyle="round"):
    parts = _line_parts(geoms)
    if not parts:
        return None
    coll = LineCollection(parts, colors=[_rgba(colour, alpha)], linewidths=lw, zorder=zorder,
                          capstyle=capstyle, joinstyle="round")
    if dash:
        coll.set_linestyle((0, dash))
    ax.add_collection(coll, autolim=False)
    return coll


def _scatter(ax, x, y, style, size_pt, zorder):
    """Markers in ``style`` (filled markers with their outline; line markers with a white halo)."""
    filled = style.marker not in ("x", "+", "1", "2", "3", "4", "|", "_")
    if filled:
        return ax.scatter(x, y, s=size_pt ** 2, marker=style.marker, c=[_rgba(style.fill)],
                          edgecolors=[_rgba(style.stroke)] if style.stroke else "none",
                          linewidths=style.stroke_width if style.stroke else 0, zorder=zorder)
    ax.scatter(x, y, s=size_pt ** 2, marker=style.marker, c=[_rgba(style.stroke or "#ffffff")],
               linewidths=2.2, zorder=zorder)
    return ax.scatter(x, y, s=size_pt ** 2, marker=style.marker, c=[_rgba(style.fill)], linewidths=1.0,
                      zorder=zorder + 0.01)


def _halo_only(width=1.6, colour="white"):
    from matplotlib.patheffects import Stroke

    return [Stroke(linewidth=width, foreground=colour)]


def _halo(width=1.6, colour="white"):
    return [withStroke(linewidth=width, foreground=colour)]


def _has_my(text) -> bool:
    return any("\u1000" <= ch <= "\u109f" or "\uaa60" <= ch <= "\uaa7f" for ch in str(text))


def _line_factor(text) -> float:
    """Line height / font size: Myanmar script stacks marks above and below, so it needs more."""
    return 1.7 if _has_my(text) else 1.3


def _extent_pt(text, size_pt) -> tuple[float, float]:
    """Approximate ascent and descent (points) of a line: Myanmar stacks marks high and low."""
    if _has_my(text):
        return 1.05 * size_pt, 0.55 * size_pt
    return 0.78 * size_pt, 0.24 * size_pt


def _fmt_int(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(round(float(value))):,}"


def _fmt_pct(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * float(value):.0f}%"


def _nice_scale(denominator: float) -> str:
    if denominator <= 0 or not math.isfinite(denominator):
        return ""
    digits = int(math.floor(math.log10(denominator))) - 1
    return f"1:{int(round(denominator, -digits)):,}"


def _name(row, language: str, sep: str = "\n") -> str:
    en = str(row.get("name_en") or "").strip()
    my = str(row.get("name_my") or "").strip()
    if language == "en":
        return en or my
    if language == "my":
        return my or en
    if en and my:
        return f"{en}{sep}{my}"
    return en or my


_WIDTHS: dict = {}  # word widths in points, by (word, size, weight, style, family)


class _Page:
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


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------

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


def _resolve_township(layers: BriefingLayers, township):
    if township is None:
        return None
    return find_township(layers.townships, township)


def _default_titles(layers, town, language):
    region_en = layers.region_name_en
    region_my = layers.region_name_my or region_en
    if town is None:
        en = f"Access to health care: {region_en}"
        my = f"{region_my} {_MY['title']}"
    else:
        en = f"Access to health care: {town['name_en']} Township"
        my = f"{town['name_my'] or town['name_en']} {_MY['township']} {_MY['title']}"
    titles = {"en": [en], "my": [my], "both": [en, my]}[language]
    p = layers.params
    if layers.has_result:
        sub = (f"People and villages without primary care within {p.primary_minutes:g} min and without "
               f"secondary care within {p.secondary_minutes:g} min ({p.mode})")
    else:
        sub = "Health facilities, conflict zones and villages (input layers; no travel-time analysis)"
    if town is not None:
        sub = f"{region_en} · {sub}"
    return titles, sub


def _parameter_lines(layers, printed_on, scale_text):
    p = layers.params
    lines = [f"Printed {printed_on.isoformat()}",
             f"Situation as of {layers.as_of.isoformat()}"]
    if layers.has_result:
        lines.append(f"{p.mode.capitalize()} · thresholds: primary {p.primary_minutes:g} min, "
                     f"secondary {p.secondary_minutes:g} min")
        lines.append(f"{p.cell_size_m:g} m grid · {p.neighbours}-neighbour · bands "
                     + "/".join(f"{b:g}" for b in p.band_minutes) + " min")
    else:
        lines.append("No travel-time analysis on this map")
    if scale_text:
        lines.append(f"Scale {scale_text} on {{paper}}")
    return lines


def _legend_entries(layers, focus_pcode):
    """(kind, payload, label) rows; kinds: header, marker, patch, line, count, note."""
    rows = []
    if layers.has_result:
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
            if "is_new" in fac and _as_bool(fac["is_new"]).any():
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
        for kind in ("no_go", "restricted", "risk"):
            if (layers.zones["kind"] == kind).any():
                rows.append(("patch", sym.CONFLICT_ZONE_STYLES[kind], sym.CONFLICT_ZONE_STYLES[kind].label))
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
    return rows


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


def _legend_height(page, rows, columns) -> float:
    line = 3.5 * page.k
    return max(len(c) for c in _legend_columns(rows, columns)) * line + 1.0


def _draw_legend(page: _Page, x, y, w, h, rows, columns=1):
    """Draw legend rows in the box (mm), sections kept whole within a column."""
    ax = page.mm_axes(x, y, w, h)
    k = page.k
    line = 3.5 * k
    col_w = w / columns
    for col, col_rows in enumerate(_legend_columns(rows, columns)):
        cx = col * col_w
        for r, (kind, style, label) in enumerate(col_rows):
            cy = h - (r + 0.5) * line
            if kind in ("header", "note"):
                size, weight, st = (6.6, "bold", "normal") if kind == "header" else (5.6, "normal", "normal")
                while size > 5.0 and page.text_mm(label, size, weight, st)[0] > col_w - 1.5:
                    size -= 0.2
                ax.text(cx, cy - (0.2 if kind == "header" else 0), label, fontproperties=page.font(size, weight, st),
                        color=INK if kind == "header" else MUTED, va="center")
                continue
            sx = cx + 2.6 * k
            if kind == "marker":
                _scatter(ax, [sx], [cy], style, style.size * k, 3)
            elif kind == "count":
                _count_symbol(ax, sx, cy, "n", page, size=8.0 * k, fontsize=5.2)
            elif kind == "patch":
                rect = Rectangle((sx - 2.3 * k, cy - 1.1 * k), 4.6 * k, 2.2 * k,
                                 facecolor=_rgba(style.fill, style.alpha) if style.fill else "none",
                                 edgecolor=_rgba(style.stroke) if style.stroke else "none",
                                 linewidth=style.stroke_width, hatch=style.hatch or None)
                ax.add_patch(rect)
            elif kind == "line":
                seg = LineCollection([[(sx - 2.4 * k, cy), (sx + 2.4 * k, cy)]],
                                     colors=[_rgba(style.stroke)], linewidths=style.stroke_width * k)
                if style.dash:
                    seg.set_linestyle((0, style.dash))
                ax.add_collection(seg)
            size = 6.3
            room = col_w - 6.2 * k - 1.0
            while size > 5.0 and page.text_mm(label, size)[0] > room:
                size -= 0.2
            ax.text(cx + 6.2 * k, cy, label, fontproperties=page.font(size), color=INK, va="center")


def _count_symbol(ax, x, y, text, page, size=None, fontsize=5.6, zorder=8):
    size = size or 9.5 * page.k
    ax.scatter([x], [y], s=size ** 2, marker="o", c=["#ffffff"], edgecolors=["#1f2d3d"], linewidths=0.9,
               zorder=zorder)
    ax.text(x, y, str(text), fontproperties=page.font(fontsize, "bold"), color="#1f2d3d", ha="center",
            va="center_baseline", zorder=zorder + 1)


class _Placer:
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
              halo=1.8, zorder=9, pad=1.0):
        """Try each (dx, dy, ha) offset in points; draw at the first free spot; return success."""
        disp = self.ax.transData.transform((x, y))
        prop = page.font(size, weight, style)
        lines = text.split("\n")
        w = max(page.width_pt(l, prop) for l in lines)
        h = sum(size * page.k * (_line_factor(l) - 0.08) for l in lines)
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
                self.ax.text(tx, ty, text, color=colour, zorder=zorder, path_effects=_halo_only(halo), **kw)
                self.ax.text(tx, ty, text, color=colour, zorder=zorder + 0.01, **kw)
                return True
        return False

    def block(self, x, y, radius_pt):
        disp = self.ax.transData.transform(np.column_stack([x, y]))
        for px, py in disp:
            self.boxes.append((px - radius_pt, py - radius_pt, px + radius_pt, py + radius_pt))


def _north_arrow(page, ax, x_mm, y_mm, size_mm):
    """North arrow with its tip at (x_mm, y_mm) from the map axes' lower-left corner."""
    bb = ax.get_position()
    w_mm, h_mm = bb.width * page.w, bb.height * page.h
    ox, oy = x_mm / w_mm, y_mm / h_mm
    sx, sy = size_mm / w_mm, size_mm / h_mm
    left = MplPolygon([(ox, oy), (ox - 0.35 * sx, oy - sx * 0 - sy), (ox, oy - 0.72 * sy)], closed=True,
                      transform=ax.transAxes, facecolor=INK, edgecolor=INK, linewidth=0.5, zorder=20)
    right = MplPolygon([(ox, oy), (ox + 0.35 * sx, oy - sy), (ox, oy - 0.72 * sy)], closed=True,
                       transform=ax.transAxes, facecolor="white", edgecolor=INK, linewidth=0.5, zorder=20)
    ax.add_patch(left)
    ax.add_patch(right)
    ax.text(ox, oy + 0.08 * sy, "N", transform=ax.transAxes, ha="center", va="bottom",
            fontproperties=page.font(8, "bold"), color=INK, zorder=20, path_effects=_halo(2))


def _draw_inset(page, x, y, w, h, layers, focus_geom_4326):
    ax = page.axes(x, y, w, h)
    ax.set_facecolor("#f7fbff")
    for spine in ax.spines.values():
        spine.set_linewidth(0.5)
        spine.set_color("#888888")
    ax.set_xticks([])
    ax.set_yticks([])
    if layers.states_4326 is not None and len(layers.states_4326):
        states = layers.states_4326
        bounds = states.total_bounds
        _add_polygons(ax, shapely.simplify(states.geometry.values, 0.02), face=BACKGROUND_STATES, edge="#ffffff",
                      lw=0.3, zorder=1)
    else:
        bounds = shapely.bounds(layers.region_4326)
    _add_polygons(ax, [layers.region_4326], face="#c9c9c9", edge="#555555", lw=0.4, zorder=2)
    if focus_geom_4326 is not None:
        _add_polygons(ax, [focus_geom_4326], face="#d7191c", edge="#d7191c", lw=0.6, alpha=0.85, zorder=3)
        fx0, fy0, fx1, fy1 = shapely.bounds(focus_geom_4326)
        pad = 0.25
        ax.add_patch(Rectangle((fx0 - pad, fy0 - pad), fx1 - fx0 + 2 * pad, fy1 - fy0 + 2 * pad,
                               facecolor="none", edgecolor="#d7191c", linewidth=0.8, zorder=4))
    else:
        _add_polygons(ax, [layers.region_4326], face=None, edge="#d7191c", lw=1.0, zorder=3)
    # Fit the inset's frame to Myanmar with a lon/lat aspect true at its centre latitude.
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    aspect = 1 / math.cos(math.radians(cy))
    half_w, half_h = (maxx - minx) / 2 * 1.06, (maxy - miny) / 2 * 1.04
    box_ratio = (h / w)
    if half_h * aspect / half_w > box_ratio:
        half_w = half_h * aspect / box_ratio
    else:
        half_h = half_w * box_ratio / aspect
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)
    ax.set_aspect(aspect, adjustable="box")
    ax.text(0.04, 0.97, "Myanmar" if layers.states_4326 is not None else layers.region_name_en,
            transform=ax.transAxes, ha="left", va="top",
            fontproperties=page.font(5.8, "bold"), color=MUTED)
    return ax


def _figures_lines(layers, town, page, width):
    """Key-figure lines [(text, size, weight, colour)] for the region or a township."""
    p = layers.params
    out = []
    if town is None:
        label = "Key figures: " + layers.region_name_en
    else:
        label = f"Key figures: {town['name_en']} Township"
    out.append((label, 7.4, "bold", INK))
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
        out.append((f"Population of the villages: {_fmt_int(pop)} in {_fmt_int(n_vil)} villages", 6.6,
                    "normal", INK))
        out.append((f"No primary care within {p.primary_minutes:g} min: {_fmt_int(noprim)} people "
                    f"({_fmt_pct(pnoprim)}), {_fmt_int(vnoprim)} villages", 6.6, "bold", "#a6611a"))
        out.append((f"No secondary care within {p.secondary_minutes:g} min: {_fmt_int(nosec)} people "
                    f"({_fmt_pct(pnosec)}), {_fmt_int(vnosec)} villages", 6.6, "bold", "#8e0152"))
        if fac:
            out.append((fac, 6.2, "normal", INK))
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
        out.append((f"Census population (2014): {_fmt_int(pop)}", 6.6, "normal", INK))
        if n_vil is not None:
            out.append((f"Villages: {_fmt_int(n_vil)}", 6.6, "normal", INK))
        if n_fac is not None:
            out.append((f"Health facilities: {_fmt_int(n_fac)} ({_fmt_int(n_sec)} providing secondary care)",
                        6.6, "normal", INK))
        out.append(("Run an analysis for people and villages without care within reach.", 5.9, "normal", MUTED))
    if layers.zones is None:
        out.append(("No conflict-zone layer in the project.", 6.2, "normal", MUTED))
    else:
        out.append((f"Conflict zones in force on {layers.as_of.isoformat()}: {len(layers.zones)} of "
                    f"{layers.n_zones_all}", 6.2, "normal", INK))
    wrapped = []
    for text, size, weight, colour in out:
        for i, line in enumerate(page.wrap(text, size, width, weight)):
            wrapped.append(((line if i == 0 else "   " + line), size, weight, colour))
    return wrapped


def _draw_lines(page, x, y_top, lines):
    """Draw text lines downwards from ``y_top`` (mm); return the height used (mm)."""
    yy = y_top
    for i, (text, size, weight, colour) in enumerate(lines):
        step = size * page.k * (_line_factor(text) + 0.08) / 72 * 25.4
        if i == 1:
            yy -= 0.8
        yy -= step
        page.text(x, yy, text, size, weight, colour, va="baseline")
    return y_top - yy + 1.0


def _col(header, key, align="right", fmt=_fmt_int, group=""):
    return {"header": header, "key": key, "align": align, "fmt": fmt, "group": group}


def _mins(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "beyond"
    return f"{float(value):.0f}"


def _table_spec(layers, town, language):
    """(title, columns, rows, total row) of the key-figures table for the region or a township."""
    p = layers.params
    if town is None:
        figs = layers.figures.copy()
        records = figs.to_dict("records")
        figs["label"] = [_name(r, language, " ") for r in records]
        if language == "both":
            figs["label2"] = [_name(r, language, "\n") for r in records]
        if layers.has_result:
            figs = figs.sort_values(["pop_noprim", "pop_nosec"], ascending=False)
            prim = f"Over {p.primary_minutes:g} min to primary"
            sec = f"Over {p.secondary_minutes:g} min to secondary"
            cols = [_col("Township", "label", "left", str), _col("Population", "pop"),
                    _col("people", "pop_noprim", group=prim), _col("%", "pct_noprim", fmt=_fmt_pct, group=prim),
                    _col("villages", "vil_noprim", group=prim),
                    _col("people", "pop_nosec", group=sec), _col("%", "pct_nosec", fmt=_fmt_pct, group=sec),
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
    rows = [{"label": _name(r, language, " "), "population": r.get("population"), "prim_min": r.get("prim_min"),
             "sec_min": r.get("sec_min")} for r in v.to_dict("records")]
    cols = [_col("Village", "label", "left", str), _col("Population", "population"),
            _col("primary", "prim_min", fmt=_mins, group="Minutes to"),
            _col("secondary", "sec_min", fmt=_mins, group="Minutes to")]
    return "Largest villages without primary care", cols, rows, None


def _table_fit(page, w, h, cols, rows, total, size, two_line):
    """Row heights, rows that fit, cells and column widths of a table at font ``size``."""
    k = page.k
    pad = 1.2
    key = "label2" if two_line else "label"
    row_h = size * k * 1.55 / 72 * 25.4
    labels = [str(r.get(key, r.get("label", ""))) for r in rows]
    multiline = any("\n" in t for t in labels)
    burmese = any(_has_my(t) for t in labels[:60])
    data_row_h = row_h * (1.8 if multiline else 1.0) * (1.3 if burmese else 1.0)
    has_groups = any(c["group"] for c in cols)
    header_h = row_h * (2.0 if has_groups else 1.1)
    title_h = 7.0 * k * 1.7 / 72 * 25.4

    def cell(c, r, label):
        return label if c["key"] == "label" else c["fmt"](r.get(c["key"]))

    avail = h - title_h - header_h - (row_h * 1.3 if total else 0) - row_h * 1.3
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


def _draw_table(page, x, y, w, h, title, cols, rows, total, note_total=None, size=6.0, fit_all=False):
    """Draw the table in the box (mm): as many rows as fit; returns the number of rows drawn.

    Labels stay on one line where the table fits the width (two lines, English over Burmese,
    where it does not); the font shrinks (to 5 pt) before columns would overlap, and with
    ``fit_all`` until every row fits.
    """
    if not cols:
        return 0
    two_line_possible = any("label2" in r for r in rows)
    fit = None
    trial = size
    while True:
        fit = _table_fit(page, w, h, cols, rows, total, trial, False)
        if sum(fit["widths"]) > w and two_line_possible:
            fit = _table_fit(page, w, h, cols, rows, total, trial, True)
        too_wide = sum(fit["widths"]) > w
        too_long = fit_all and fit["n_fit"] < len(rows)
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
    heading = title + (f" (top {len(shown)} of {len(rows)})" if len(shown) < len(rows) else "")
    ax.text(0, ytop - title_h * 0.5, heading, fontproperties=page.font(7.0, "bold"), color=INK, va="center")
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
        ax.text(0, ytop - row_h * 0.6, note_total, fontproperties=page.font(5.4), color=MUTED,
                va="center")
    if not rows:
        ax.text(0, ytop - row_h * 0.6, "None", fontproperties=page.font(size), color=MUTED,
                va="center")
    return len(shown)


def _focus_extent(layers, town, ratio_hint=None):
    geom = layers.region if town is None else layers.townships.loc[
        layers.townships["pcode"] == town["pcode"]].geometry.iloc[0]
    x0, y0, x1, y1 = shapely.bounds(geom)
    return geom, (x0, y0, x1, y1)


def _layout(page, extent, header_h, footer_h, wants_table):
    """Choose the panel side; return (map box, panel box, side) in mm."""
    x0, y0, x1, y1 = extent
    ew, eh = (x1 - x0) * 1.06, (y1 - y0) * 1.06
    body_x, body_y = MARGIN_MM, MARGIN_MM + footer_h
    body_w, body_h = page.w - 2 * MARGIN_MM, page.h - 2 * MARGIN_MM - header_h - footer_h
    side_min = (76.0 if page.w < page.h else 84.0) * page.k
    bottom_min = 72.0 * page.k
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


def _draw_map(page, layers, box, focus_geom, extent, town, language, placer_obstacles=None):
    mx, my, mw, mh = box
    ax = page.axes(mx, my, mw, mh)
    ax.set_facecolor(MAP_BACKGROUND)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)
        spine.set_color(INK)
    x0, y0, x1, y1 = extent
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    m_per_mm = max((x1 - x0) * 1.06 / mw, (y1 - y0) * 1.06 / mh)
    half_w, half_h = m_per_mm * mw / 2, m_per_mm * mh / 2
    ax.set_xlim(cx - half_w, cx + half_w)
    ax.set_ylim(cy - half_h, cy + half_h)
    ax.set_aspect("equal", adjustable="box")
    view = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    tol = 0.08 * m_per_mm  # 0.08 mm on paper
    k = page.k
    pt_per_m = 72 / 25.4 / m_per_mm  # points of paper per metre of ground

    # context: other states, other townships, the focus area
    if layers.states_4326 is not None:
        vb = gpd.GeoSeries(shapely.box(*view).buffer(m_per_mm * 20).envelope, crs=layers.crs).to_crs(4326)
        near = layers.states_4326[layers.states_4326.intersects(vb.iloc[0])]
        if len(near):
            states = near.to_crs(layers.crs).geometry.values
            _add_polygons(ax, _clip(states, view, tol), face=BACKGROUND_STATES, edge="#ffffff", lw=0.8, zorder=0.5)
    towns = layers.townships
    if town is not None:
        others = towns[towns["pcode"] != town["pcode"]]
        _add_polygons(ax, _clip(others.geometry.values, view, tol), face=OUTSIDE_TOWNSHIPS, edge=None, zorder=0.6)
    _add_polygons(ax, _clip([focus_geom], view, tol), face="#ffffff", edge=None, zorder=0.7)

    # catchment bands (primary), widest first
    for lo, hi, geom in sorted(layers.bands, key=lambda b: -b[1]):
        _add_polygons(ax, _clip([geom], view, tol), face=sym.band_colour(hi), alpha=0.45, zorder=1.0)
    if layers.secondary_reach is not None:
        _add_lines(ax, [shapely.boundary(g) for g in _clip([layers.secondary_reach], view, tol)],
                   colour="#5e3c99", lw=1.0 * k, dash=(3, 1.5), zorder=3.4)

    # water, rivers, roads
    water_style = sym.ROLE_STYLES["rivers"]
    _add_polygons(ax, _clip(layers.water.values, view, tol), face=water_style.fill, edge=water_style.stroke,
                  lw=0.3, zorder=1.5)
    _add_lines(ax, _clip(layers.river_lines.values, view, tol), colour=water_style.stroke,
               lw=water_style.stroke_width * k, zorder=1.6)
    if layers.roads is not None:
        for cls in ("path", "track", "tertiary", "secondary", "main"):
            sub = layers.roads[layers.roads["road_class"] == cls]
            if len(sub):
                _add_lines(ax, _clip(sub.geometry.values, view, tol), colour=sym.ROAD_CLASS_COLOURS[cls],
                           lw=sym.ROAD_CLASS_WIDTHS[cls] * 0.8 * k, zorder=2.0)

    # conflict zones valid on the date
    if layers.zones is not None and len(layers.zones):
        for kind in ("risk", "restricted", "no_go"):
            st = sym.CONFLICT_ZONE_STYLES.get(kind)
            sub = layers.zones[layers.zones["kind"] == kind]
            if st is None or sub.empty:
                continue
            _add_polygons(ax, _clip(sub.geometry.values, view, tol), face=st.fill, edge=None, alpha=st.alpha,
                          zorder=2.5)
            _add_polygons(ax, _clip(sub.geometry.values, view, tol), face=None, edge=st.stroke,
                          lw=st.stroke_width, hatch=st.hatch, zorder=2.6)

    # boundaries
    ts = sym.ROLE_STYLES["townships"]
    _add_polygons(ax, _clip(towns.geometry.values, view, tol), face=None, edge=ts.stroke,
                  lw=ts.stroke_width * (0.8 if town is None else 0.6), zorder=3.0)
    if town is not None:
        _add_polygons(ax, _clip([focus_geom], view, tol), face=None, edge=INK, lw=1.6 * k, zorder=3.2)
    rs = sym.ROLE_STYLES["region"]
    _add_polygons(ax, _clip([layers.region], view, tol), face=None, edge=rs.stroke, lw=rs.stroke_width * k,
                  zorder=3.1)

    # villages by gap class (uncovered last, on top)
    placer_points = []
    v = layers.villages
    if v is not None and len(v):
        vx, vy = v.geometry.x.values, v.geometry.y.values
        inview = (vx >= view[0]) & (vx <= view[2]) & (vy >= view[1]) & (vy <= view[3])
        shrink = 0.6 if town is None else 1.1
        order = ("none", "secondary", "primary", "both", "unreachable") if layers.has_result else ("village",)
        for z, klass in enumerate(order):
            st = sym.GAP_STYLES.get(klass) or sym.ROLE_STYLES["villages"]
            sel = inview & (v["klass"].values == klass)
            if not sel.any():
                continue
            _scatter(ax, vx[sel], vy[sel], st, st.size * shrink * k, 4 + z * 0.1)

    # facilities
    fac_xy = None
    if layers.safe_share and layers.facility_counts is not None:
        fc = layers.facility_counts
        fx, fy = fc.geometry.x.values, fc.geometry.y.values
        for xx, yy, n in zip(fx, fy, fc["n_facilities"].values):
            if view[0] <= xx <= view[2] and view[1] <= yy <= view[3]:
                _count_symbol(ax, xx, yy, int(n), page, zorder=8)
        fac_xy = (fx, fy)
    elif layers.facilities is not None and len(layers.facilities):
        f = layers.facilities
        fx, fy = f.geometry.x.values, f.geometry.y.values
        inview = (fx >= view[0]) & (fx <= view[2]) & (fy >= view[1]) & (fy <= view[3])
        status = f["status"].astype(str).values if "status" in f else np.array(["unknown"] * len(f))
        sec = f["secondary"].values.astype(bool)
        new = _as_bool(f["is_new"]).values if "is_new" in f else np.zeros(len(f), bool)
        for is_new, is_sec in ((False, False), (False, True), (True, False), (True, True)):
            for st_name in sym.FACILITY_STATUS_COLOURS:
                sel = inview & (sec == is_sec) & (status == st_name) & (new == is_new)
                if not sel.any():
                    continue
                st = sym.facility_style(st_name, is_sec, new=is_new)
                ax.scatter(fx[sel], fy[sel], s=(st.size * k * (0.85 if town is None else 1.0)) ** 2,
                           marker=st.marker, c=[_rgba(st.fill)], edgecolors=[_rgba(st.stroke)],
                           linewidths=st.stroke_width, zorder=7 + (0.2 if is_sec else 0))
        fac_xy = (fx[inview], fy[inview])

    if town is not None:
        # dim everything outside the township so it stands out (labels and furniture stay sharp)
        outside = shapely.difference(shapely.box(*view).buffer(m_per_mm), shapely.simplify(focus_geom, tol))
        _add_polygons(ax, [outside], face="#ffffff", alpha=0.55, zorder=7.6)
        _add_polygons(ax, _clip([focus_geom], view, tol), face=None, edge=INK, lw=1.6 * k, zorder=7.7)

    # furniture first, so labels avoid it
    bb = ax.get_window_extent(page.renderer)
    obstacles = []
    arrow_size = 9.0 * k
    _north_arrow(page, ax, mw - 6.0 * k, mh - 6.0 * k, arrow_size)
    mm = 72 / 25.4
    obstacles.append((bb.x1 - 12 * k * mm, bb.y1 - 20 * k * mm, bb.x1, bb.y1))
    from matplotlib_scalebar.scalebar import ScaleBar

    bar = ScaleBar(1, "m", location="lower left", length_fraction=0.28, width_fraction=0.006,
                   box_alpha=0.85, box_color="white", color=INK, scale_loc="top", pad=0.4, border_pad=0.6,
                   sep=2, font_properties={"family": page.family, "size": 6.2 * k})
    bar.set_zorder(20)
    ax.add_artist(bar)
    obstacles.append((bb.x0, bb.y0, bb.x0 + bb.width * 0.34, bb.y0 + 12 * k * mm))

    # labels: townships (region) or the focus name, facilities, uncovered villages
    placer = _Placer(ax, obstacles)
    if fac_xy is not None:
        placer.block(*fac_xy, radius_pt=(4.5 if not layers.safe_share else 5.5) * k)
    ring = [(0, 0), (0, 9), (0, -9), (14, 0, "left"), (-14, 0, "right")]
    if town is None:
        reps = towns.geometry.representative_point()
        order = np.argsort(-towns.geometry.area.values)
        for i in order:
            r = towns.iloc[i]
            label = _name(r, language)
            for size in (6.2, 5.3):  # small townships get smaller type before they lose their name
                if placer.place(page, reps.iloc[i].x, reps.iloc[i].y, label, size, "bold", colour="#333333",
                                offsets=ring, halo=2.0 if size > 6 else 1.6):
                    break
    else:
        # neighbours in grey, the focus township needs no label (it is the title)
        reps = towns.geometry.representative_point()
        for i in range(len(towns)):
            r = towns.iloc[i]
            if r["pcode"] == town["pcode"]:
                continue
            px, py = reps.iloc[i].x, reps.iloc[i].y
            if not (view[0] <= px <= view[2] and view[1] <= py <= view[3]):
                # a neighbour whose centre is off the page: label it where it meets the frame
                clipped = shapely.clip_by_rect(r.geometry, *view)
                if clipped.is_empty or clipped.area < (m_per_mm * 15) ** 2:
                    continue
                rp = clipped.representative_point()
                px, py = rp.x, rp.y
            placer.place(page, px, py, _name(r, language), 6.4, "bold", colour="#8a8a8a", offsets=ring,
                         halo=1.8)
        if not layers.safe_share and layers.facilities is not None:
            f = layers.facilities
            fx, fy = f.geometry.x.values, f.geometry.y.values
            inside = (fx >= view[0]) & (fx <= view[2]) & (fy >= view[1]) & (fy <= view[3])
            order = np.argsort(~f["secondary"].values.astype(bool))
            for i in order:
                if not inside[i]:
                    continue
                name = str(f["name"].iloc[i]) if "name" in f else ""
                if not name or name == "nan":
                    continue
                own = str(f["township_pcode"].iloc[i]) == town["pcode"] if "township_pcode" in f else True
                placer.place(page, fx[i], fy[i], name, 5.6, "bold", colour="#0b3d1a" if own else "#7a8a7e",
                             offsets=[(7 * k, 0, "left"), (-7 * k, 0, "right"), (0, 8 * k), (0, -8 * k)],
                             halo=1.8)
        if v is not None and len(v):
            # village labels keep clear of the emphasised (uncovered) villages
            vx, vy = v.geometry.x.values, v.geometry.y.values
            keep = v["klass"].isin(["both", "primary", "unreachable"]).values & \
                (vx >= view[0]) & (vx <= view[2]) & (vy >= view[1]) & (vy <= view[3])
            placer.block(vx[keep], vy[keep], radius_pt=1.6 * k)
        if v is not None and layers.has_result:
            sel = v[(v["township_pcode"].astype(str) == town["pcode"]) & v["klass"].isin(["both", "primary"])]
            sel = sel.sort_values("population", ascending=False).head(60)
            for r in sel.itertuples():
                label = _name({"name_en": r.name_en, "name_my": r.name_my}, language)
                if not label:
                    continue
                placer.place(page, r.geometry.x, r.geometry.y, label, 5.0, colour="#40004b",
                             offsets=[(4 * k, 0, "left"), (-4 * k, 0, "right"), (0, 6 * k), (0, -6 * k)],
                             halo=1.5, pad=0.6)
    return ax, m_per_mm


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
    _check_options(paper, language)
    family = register_matplotlib_fonts()
    if layers is None or (safe_share and not layers.safe_share):  # never print names from unsafe layers
        layers = prepare_layers(data, result, safe_share=safe_share, safe_method=safe_method,
                                extra_credits=extra_credits)
    elif extra_credits:
        layers.credits = layers.credits + [c for c in extra_credits if c not in layers.credits]
    with _rc(family):
        return _compose(layers, paper=paper, landscape=landscape, township=township, language=language,
                        title=title, subtitle=subtitle, printed_on=printed_on or dt.date.today(), family=family)


def _rc(family):
    return matplotlib.rc_context({"font.family": family, "pdf.fonttype": 42, "ps.fonttype": 42,
                                  "hatch.linewidth": 0.45, "axes.unicode_minus": False,
                                  "path.simplify": True, "svg.fonttype": "none"})


def _check_options(paper, language):
    if paper not in PAPERS_MM:
        raise InputError(f"unknown paper size '{paper}'; use a4 or a3")
    if language not in LANGUAGES:
        raise InputError(f"unknown language '{language}'; use en, my or both")


def _compose(layers, *, paper, landscape, township, language, title, subtitle, printed_on, family):
    page = _Page(paper, landscape, family)
    town = _resolve_township(layers, township)
    k = page.k
    titles, default_sub = _default_titles(layers, town, language)
    if title:
        titles = [title]
    subtitle = default_sub if subtitle is None else subtitle

    # --- marking strip and header -------------------------------------------------------
    marking = sym.SAFE_SHARE_MARKING if layers.safe_share else sym.SENSITIVE_MARKING
    strip_h = 5.2 * k
    top = page.h - MARGIN_MM
    page.fig.patches.append(Rectangle(((MARGIN_MM) / page.w, (top - strip_h) / page.h),
                                      (page.w - 2 * MARGIN_MM) / page.w, strip_h / page.h,
                                      transform=page.fig.transFigure, facecolor=MARKING_COLOURS[layers.safe_share],
                                      edgecolor="none"))
    page.text(page.w / 2, top - strip_h / 2, marking, 7.4, "bold", "white", ha="center", va="center_baseline")
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
    stack += [(line, 8.2, "normal", "#444444") for line in page.wrap(subtitle, 8.2, title_w)[:3]]
    yy, prev_descent = y, 0.0
    for i, (line, size, weight, colour) in enumerate(stack):
        ascent, descent = _extent_pt(line, size * k)
        yy -= (prev_descent + ascent + (0.18 * size * k if i else 0)) / 72 * 25.4
        if i == len(title_lines) and i:
            yy -= 0.8
        page.text(MARGIN_MM, yy, line, size, weight, colour, va="baseline")
        prev_descent = descent
    header_bottom_text = yy - prev_descent / 72 * 25.4

    # --- layout ---------------------------------------------------------------------------
    focus_geom, extent = _focus_extent(layers, town)
    footer_h = 14.0 * k
    n_info = 5 if layers.has_result else 4
    info_bottom = y - n_info * 6.4 * k * 1.42 / 72 * 25.4 - 1.0
    header_h = top - min(header_bottom_text, info_bottom) + 3.0
    map_box, panel, side = _layout(page, extent, header_h, footer_h, True)

    # --- map ------------------------------------------------------------------------------
    ax, m_per_mm = _draw_map(page, layers, map_box, focus_geom, extent, town, language)
    scale_text = _nice_scale(m_per_mm * 1000)

    # --- analysis parameters, top right ------------------------------------------------
    info = [l.replace("{paper}", f"{paper.upper()}") for l in _parameter_lines(layers, printed_on, scale_text)]
    iy = y
    for i, line in enumerate(info):
        iy -= 6.4 * k * 1.42 / 72 * 25.4
        page.text(page.w - MARGIN_MM, iy, line, 6.4, "bold" if i == 1 else "normal", INK if i else MUTED,
                  ha="right", va="baseline")

    # --- panel: inset, key figures, legend, table ---------------------------------------
    px, py, pw, ph = panel
    rows = _legend_entries(layers, None if town is None else town["pcode"])
    line_h = 3.5 * k
    focus_4326 = None if town is None else gpd.GeoSeries([focus_geom], crs=layers.crs).to_crs(4326).iloc[0]
    table = _table_spec(layers, town, language)
    note = (f"All {len(layers.townships)} townships: add the township table page."
            if town is None else
            "Sorted by population; labelled on the map where space allows.")
    if side == "right" and pw < 115 * k:
        inset_w = min(26.0 * k, pw * 0.34)
        inset_h = inset_w * 1.85
        _draw_inset(page, px, py + ph - inset_h, inset_w, inset_h, layers, focus_4326)
        fig_lines = _figures_lines(layers, town, page, pw - inset_w - 3.0)
        used = _draw_lines(page, px + inset_w + 3.0, py + ph + 1.0, fig_lines)
        top_block = max(inset_h, used) + 4.0
        legend_cols = 2 if pw >= 66 * k else 1
        legend_h = _legend_height(page, rows, legend_cols)
        ly = py + ph - top_block - legend_h
        _draw_legend(page, px, ly, pw, legend_h, rows, legend_cols)
        if table[1]:
            _draw_table(page, px, py, pw, ly - py - 3.0, table[0], table[1], table[2], table[3], note)
    elif side == "right":
        col_w = (pw - GAP_MM) * 0.45
        inset_w = min(30.0 * k, col_w * 0.5)
        inset_h = inset_w * 1.85
        _draw_inset(page, px, py + ph - inset_h, inset_w, inset_h, layers, focus_4326)
        fig_lines = _figures_lines(layers, town, page, col_w - inset_w - 3.0)
        used = _draw_lines(page, px + inset_w + 3.0, py + ph + 1.0, fig_lines)
        top_block = max(inset_h, used) + 4.0
        legend_h = _legend_height(page, rows, 1)
        _draw_legend(page, px, py + ph - top_block - legend_h, col_w, legend_h, rows, 1)
        if table[1]:
            _draw_table(page, px + col_w + GAP_MM, py, pw - col_w - GAP_MM, ph + 1.0, table[0], table[1], table[2],
                        table[3], note)
    else:  # bottom: inset | legend | key figures and table
        inset_w = 30.0 * k
        inset_h = min(ph, inset_w * 1.85)
        _draw_inset(page, px, py + ph - inset_h, inset_w, inset_h, layers, focus_4326)
        rest_x = px + inset_w + GAP_MM
        rest_w = pw - inset_w - GAP_MM
        legend_cols = 1 if _legend_height(page, rows, 1) <= ph else 2
        legend_w = rest_w * (0.34 if legend_cols == 1 else 0.5)
        legend_h = _legend_height(page, rows, legend_cols)
        _draw_legend(page, rest_x, py + ph - legend_h, legend_w, legend_h, rows, legend_cols)
        fx = rest_x + legend_w + GAP_MM
        fw = rest_w - legend_w - GAP_MM
        fig_lines = _figures_lines(layers, town, page, fw)
        used = _draw_lines(page, fx, py + ph + 1.0, fig_lines)
        if table[1]:
            _draw_table(page, fx, py, fw, ph - used - 2.0, table[0], table[1], table[2], table[3], note)

    # --- footer: credits and the marking again -------------------------------------------
    _draw_footer(page, layers, marking, footer_h)
    page.fig.set_label("briefing page")
    return page.fig


def _draw_footer(page, layers, marking, footer_h):
    k = page.k
    width = page.w - 2 * MARGIN_MM
    sentences = ["Sources: " + "; ".join(layers.credits) if layers.credits else "Sources: not recorded in the project"]
    if layers.has_result:
        sentences.append("Travel times are modelled estimates (friction surface over roads, rivers and conflict zones)")
    if layers.zones is not None:
        sentences.append("Conflict zones are derived from reported events and are approximate")
    sentences.append("Boundaries and names shown do not imply official endorsement.")
    credits = ". ".join(sentences)
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

    page.text(MARGIN_MM, MARGIN_MM - 4.2, marking, 6.0, "bold", MARKING_COLOURS[layers.safe_share], va="baseline")
    page.text(page.w - MARGIN_MM, MARGIN_MM - 4.2, f"coverage-app {__version__}", 5.6, "normal", MUTED,
              ha="right", va="baseline")


def compose_table_page(layers: BriefingLayers, *, paper="a4", landscape=False, language="en",
                       printed_on=None) -> Figure:
    """A page holding the whole township table (when it does not fit beside the map)."""
    family = register_matplotlib_fonts()
    with _rc(family):
        page = _Page(paper, landscape, family)
        k = page.k
        marking = sym.SAFE_SHARE_MARKING if layers.safe_share else sym.SENSITIVE_MARKING
        top = page.h - MARGIN_MM
        strip_h = 5.2 * k
        page.fig.patches.append(Rectangle((MARGIN_MM / page.w, (top - strip_h) / page.h),
                                          (page.w - 2 * MARGIN_MM) / page.w, strip_h / page.h,
                                          transform=page.fig.transFigure,
                                          facecolor=MARKING_COLOURS[layers.safe_share], edgecolor="none"))
        page.text(page.w / 2, top - strip_h / 2, marking, 7.4, "bold", "white", ha="center", va="center_baseline")
        page.text(MARGIN_MM, top - strip_h - 8.0 * k, f"Key figures by township: {layers.region_name_en}", 13.0,
                  "bold", INK, va="baseline")
        title, cols, rows, total = _table_spec(layers, None, language)
        footer_h = 14.0 * k
        table_top = top - strip_h - 12.0 * k
        _draw_table(page, MARGIN_MM, MARGIN_MM + footer_h, page.w - 2 * MARGIN_MM,
                    table_top - MARGIN_MM - footer_h, title, cols, rows, total, size=7.0, fit_all=True)
        _draw_footer(page, layers, marking, footer_h)
        return page.fig


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

def check_output_path(path) -> Path:
    """The output path is usable: a .pdf or .png in an existing, writable folder."""
    import os

    path = Path(path)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"{path.name}: write the briefing map to a .pdf or .png file "
                         f"(not '{path.suffix or 'no suffix'}')")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: the folder {folder} does not exist; create it or choose another place")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{path}: the folder {folder} is not writable; choose another place")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name ending in .pdf or .png")
    return path


def township_pcodes(layers: BriefingLayers) -> list[str]:
    return list(layers.townships.sort_values("pcode")["pcode"])


def render_rgba(fig: Figure, dpi: float = 100) -> np.ndarray:
    """The page as an RGBA uint8 array (rows, cols, 4): for previews and printing."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    old = fig.dpi
    with _rc(register_matplotlib_fonts()):
        try:
            fig.set_dpi(dpi)
            canvas.draw()
            return np.asarray(canvas.buffer_rgba()).copy()
        finally:
            fig.set_dpi(old)


def write_briefing(path, data, result=None, *, atlas: bool = False, paper: str = "a4", landscape: bool = False,
                   township=None, language: str = "en", safe_share: bool = False, title: str | None = None,
                   subtitle: str | None = None, extra_credits=(), table_page: bool = False,
                   safe_method: str = "township", dpi: int = PNG_DPI, printed_on: dt.date | None = None,
                   feedback=None) -> Path:
    """Write a briefing map: one page (region, or ``township``) or the ``atlas``; PDF or PNG.

    The atlas is the region overview followed by one page per township (sorted by pcode);
    ``table_page`` adds the whole township table after the overview. PNG holds one page
    (``dpi`` dots per inch). The file is written atomically; bad options raise
    :class:`InputError` before anything is drawn.
    """
    path = check_output_path(path)
    _check_options(paper, language)
    png = path.suffix.lower() == ".png"
    if png and (atlas or table_page):
        raise InputError(f"{path.name}: the atlas and the table page have several pages; write them to a .pdf")
    family = register_matplotlib_fonts()
    from coverage_app.core.feedback import sub

    layers = prepare_layers(data, result, safe_share=safe_share, safe_method=safe_method,
                            extra_credits=extra_credits, feedback=sub(feedback, 0.0, 0.08))
    if township is not None:
        _resolve_township(layers, township)
    printed_on = printed_on or dt.date.today()
    common = dict(paper=paper, landscape=landscape, language=language, printed_on=printed_on, family=family)
    plan = [("page", township, title, subtitle)]
    if atlas:
        plan = [("page", None, title, subtitle)]
        if table_page:
            plan.append(("table", None, None, None))
        plan += [("page", p, None, None) for p in township_pcodes(layers)]
    elif table_page and township is None:
        plan.append(("table", None, None, None))
    total = len(plan)
    with _rc(family), atomic_path(path) as tmp:
        if png:
            report(feedback, 0.1, "Drawing the page")
            fig = _compose(layers, township=township, title=title, subtitle=subtitle, **common)
            fig.savefig(tmp, dpi=dpi, format="png", metadata={"Software": "coverage-app"})
        else:
            from matplotlib.backends.backend_pdf import PdfPages

            metadata = {"Title": title or _default_titles(layers, None if township is None else
                                                         _resolve_township(layers, township), "en")[0][0],
                        "Creator": "coverage-app", "Subject": "Health-care access briefing map"}
            with PdfPages(tmp, metadata=metadata) as pdf:
                for i, (kind, pcode, t, s) in enumerate(plan):
                    name = "overview" if pcode is None else pcode
                    report(feedback, 0.08 + 0.92 * i / total, f"Drawing page {i + 1} of {total} ({name})")
                    if kind == "table":
                        fig = compose_table_page(layers, paper=paper, landscape=landscape, language=language,
                                                 printed_on=printed_on)
                    else:
                        fig = _compose(layers, township=pcode, title=t, subtitle=s, **common)
                    pdf.savefig(fig)
                    fig.clear()
        report(feedback, 1.0, f"Written {path.name}")
    return path
