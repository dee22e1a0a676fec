"""Prepared layers: everything a page draws, projected once into the metric working CRS
(UTM, EPSG:32646 for Sagaing) and shared by every page of an atlas; key figures per township.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from coverage_app.core.data.crs import working_crs_for
from coverage_app.core.errors import InputError
from coverage_app.core.feedback import report
from coverage_app.core.outputs.briefing.style import REGION_MY
from coverage_app.core.outputs import symbology as sym
from coverage_app.core.outputs.safe_share import generalise_facilities
from coverage_app.core.analysis.edits import apply_zone_edits


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
    population_basis: dict | None = None   # what the shares are of (core/data/population.py)
    assumed_unknown: int = 0
    credits: list = field(default_factory=list)
    safe_share: bool = False
    safe_method: str = "township"
    safe_grid_km: float = 20.0
    scenario: dict | None = None           # the scenario the figures reflect (None = baseline)
    sensitivity: dict | None = None        # low/high speed ranges (analysis/sensitivity.py), or None
    sweep: dict | None = None              # a sweep's probability map (sweep_export.sweep_map_view)


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
        if ref.options.get("embedded"):  # a protected copy: its path is the project file, not a source
            out.append(ref.name)
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


def as_bool(series: pd.Series) -> pd.Series:
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
                   safe_grid_km: float = 20.0, extra_credits=(), sweep=None, feedback=None) -> BriefingLayers:
    """Project every layer once into the metric CRS and derive what the pages need. With
    ``sweep`` (:func:`~coverage_app.core.outputs.sweep_export.sweep_map_view`) the villages show
    their probability of access and the key figures the sweep's 5/50/95 % shares."""
    report(feedback, 0.0, "Preparing the map layers")
    townships = data.role("townships")
    if townships is None or townships.empty:
        raise InputError("a briefing map needs a townships layer; add one to the project")
    params = result.params if result is not None else data.project.params
    scenario = getattr(result, "scenario", None) if result is not None else None
    # the scenario's own date wins (as core.analysis.pipeline.scenario_as_of)
    as_of = dt.date.fromisoformat(str(scenario["as_of"])) if scenario and scenario.get("as_of") \
        else params.as_of_date
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
    region_my = REGION_MY.get(region_pcode, "")
    region = gpd.GeoSeries([region_4326], crs=4326).to_crs(crs).iloc[0]
    states = _read_reference(data, "myanmar_states")
    report(feedback, 0.2, "Preparing the map layers")

    zones_all = apply_zone_edits(data.role("conflict_zones"), scenario)  # zones the scenario adds or removes
    zones = zones_valid_on(zones_all, as_of)
    if zones is not None:
        zones = zones[["kind", "geometry"]].to_crs(crs)

    facilities = result.facilities if result is not None and result.facilities is not None \
        else data.role("facilities")
    fac_counts = None
    if facilities is not None and len(facilities):
        facilities = facilities.copy()
        facilities["secondary"] = as_bool(facilities["provides_secondary"]) \
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
            villages.loc[~as_bool(villages[flag]).values, "klass"] = "unreachable"
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
    if sweep is not None and villages is not None:  # villages by probability of access: klass p0 .. p5
        sv = sweep["villages"]
        p_of = pd.Series(pd.to_numeric(sv[sweep["field"]], errors="coerce").to_numpy(),
                         index=sv["pcode"].astype(str))
        p_of = p_of[~p_of.index.duplicated()]
        villages = villages.copy()
        villages["p_access"] = villages["pcode"].astype(str).map(p_of).to_numpy() if "pcode" in villages else np.nan
        villages["klass"] = [f"p{sym.access_probability_class(x)}" for x in villages["p_access"].fillna(0.0)]
    credits = [_strip_source(c) for c in data.project.credits] + _user_layer_credits(data) + [str(c) for c in extra_credits if c]
    layers = BriefingLayers(
        crs=crs, project_name=data.project.name, region_name_en=region_en, region_name_my=region_my,
        params=params, as_of=as_of, has_result=result is not None, townships=towns, region=region,
        region_4326=region_4326, states_4326=states, zones=zones,
        n_zones_all=0 if zones_all is None else len(zones_all), villages=villages, facilities=facilities,
        facility_counts=fac_counts, roads=roads, river_lines=river_lines, water=water, bands=bands,
        secondary_reach=secondary_reach, figures=figures,
        headline=result.headline() if result is not None else None,
        population_basis=getattr(result, "population_basis", None) if result is not None else None,
        assumed_unknown=int(getattr(result, "assumed_unknown", 0) or 0) if result is not None else 0,
        credits=credits, safe_share=safe_share, safe_method=safe_method, safe_grid_km=safe_grid_km,
        scenario=scenario, sensitivity=getattr(result, "sensitivity", None) if result is not None else None,
        sweep=sweep)
    report(feedback, 1.0, "Map layers ready")
    return layers


def township_pcodes(layers: BriefingLayers) -> list[str]:
    return list(layers.townships.sort_values("pcode")["pcode"])
