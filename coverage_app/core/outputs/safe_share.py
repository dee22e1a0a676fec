"""Safe sharing: facility locations generalised before a map or export leaves the team.

Facility locations are sensitive (DESIGN.md sections 5 and 7). A safe-share output drops
facility names and identifiers and replaces each facility point by a count: per township
(one point at the township's representative point) or per cell of a coarse grid (the cell
centre). Prints and exports call the same function, so both generalise the same way.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage_app.core.data.crs import working_crs_for
from coverage_app.core.errors import InputError

METHODS = ("township", "grid")
COUNTING_STATUSES = ("functioning", "partial")


def _flag(frame: pd.DataFrame, column: str, default: bool) -> pd.Series:
    if column not in frame:
        return pd.Series(default, index=frame.index)
    values = frame[column]
    if values.dtype == bool:
        return values
    return values.map(lambda v: str(v).strip().lower() in ("1", "true", "yes", "y", "t")
                      if v is not None and v == v else default).astype(bool)


def _counts(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Counts per ``key``: facilities, hospitals (secondary), primary only, counting ones."""
    secondary = _flag(frame, "provides_secondary", False)
    work = pd.DataFrame({key: frame[key].values, "n_facilities": 1, "n_secondary": secondary.astype(int).values,
                         "n_primary_only": (~secondary).astype(int).values})
    if "status" in frame:
        work["n_open"] = frame["status"].astype("string").str.lower().isin(COUNTING_STATUSES).astype(int).values
    if "counts_primary" in frame:
        work["n_counting"] = _flag(frame, "counts_primary", False).astype(int).values
    return work.groupby(key, sort=True).sum().reset_index()


def generalise_facilities(facilities_gdf: gpd.GeoDataFrame, townships_gdf: gpd.GeoDataFrame | None = None,
                          method: str = "township", grid_km: float = 20.0) -> gpd.GeoDataFrame:
    """Facility points replaced by counts, without names or identifiers.

    ``method="township"``: one row per township holding facilities, at the township's
    representative point (``township_pcode``, ``name_en``, ``name_my`` of the township and the
    counts). The township is the facility's ``township_pcode`` when the township layer knows
    it, else the township containing the point. ``method="grid"``: one row per ``grid_km``
    cell of a metric grid (UTM of the data) holding facilities, at the cell centre
    (``cell_id`` and the counts).

    Counts: ``n_facilities``, ``n_secondary`` (hospitals providing secondary care),
    ``n_primary_only``, and, when the input has them, ``n_open`` (status functioning or
    partial) and ``n_counting`` (counted by the analysis for primary care). The result is in
    the CRS of ``facilities_gdf``.
    """
    if method not in METHODS:
        raise InputError(f"unknown generalisation method '{method}'; use 'township' or 'grid'")
    crs = facilities_gdf.crs
    facilities = facilities_gdf[~facilities_gdf.geometry.is_empty & facilities_gdf.geometry.notna()]
    if method == "grid":
        if not grid_km or grid_km <= 0:
            raise InputError("the safe-share grid size must be a positive number of kilometres")
        if facilities.empty:
            return gpd.GeoDataFrame({"cell_id": [], "n_facilities": []}, geometry=[], crs=crs)
        metric = working_crs_for(facilities.total_bounds, crs)
        pts = facilities.to_crs(metric).geometry
        size = float(grid_km) * 1000.0
        ix = np.floor(pts.x.values / size).astype("int64")
        iy = np.floor(pts.y.values / size).astype("int64")
        work = facilities.drop(columns=facilities.geometry.name).assign(
            cell_id=[f"{x}_{y}" for x, y in zip(ix, iy)])
        out = _counts(work, "cell_id")
        xy = out["cell_id"].str.split("_", expand=True).astype("int64")
        centres = gpd.points_from_xy((xy[0] + 0.5) * size, (xy[1] + 0.5) * size, crs=metric)
        return gpd.GeoDataFrame(out, geometry=centres, crs=metric).to_crs(crs)

    if townships_gdf is None or townships_gdf.empty:
        raise InputError("generalising facilities to townships needs a township layer; use the grid method")
    towns = townships_gdf.to_crs(crs) if crs is not None and townships_gdf.crs is not None \
        and not townships_gdf.crs.equals(crs) else townships_gdf
    known = set(towns["pcode"].astype(str))
    work = facilities.drop(columns=facilities.geometry.name).copy()
    pcode = work["township_pcode"].astype("string") if "township_pcode" in work else pd.Series(
        pd.NA, index=work.index, dtype="string")
    missing = ~pcode.isin(known).fillna(False).astype(bool)
    if missing.any():
        joined = gpd.sjoin(facilities.loc[missing, [facilities.geometry.name]], towns[["pcode", "geometry"]],
                           how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]
        pcode.loc[missing] = joined["pcode"].astype("string")
    work["township_pcode"] = pcode
    work = work[work["township_pcode"].notna()]
    out = _counts(work, "township_pcode")
    towns = towns.drop_duplicates("pcode").set_index(towns["pcode"].astype(str))
    rows = towns.loc[out["township_pcode"].astype(str)]
    for col in ("name_en", "name_my"):
        if col in rows:
            out[col] = rows[col].values
    geometry = gpd.GeoSeries(rows.geometry.values, crs=towns.crs).representative_point()
    return gpd.GeoDataFrame(out, geometry=geometry.values, crs=towns.crs)


# -- exports that leave the team ---------------------------------------------------------
# The rule (README "Safe sharing"): travel times in 5-minute bands, the upper bound of the band,
# never below 15 minutes; village points rounded to 0.01 degree (about 1 km); nothing that
# names or numbers a facility, no file paths or user names in run.json.
MINUTES_BAND = 5.0
MINUTES_FLOOR = 15.0
COORD_DECIMALS = 2


def generalise_minutes(minutes) -> np.ndarray:
    """Travel minutes rounded UP to the next 5-minute band, at least 15; NaN (unreached) kept.

    A village on a facility's own cell (0 minutes) and one 14 minutes away both read 15, so no
    value pins a facility to a cell; rounding up never makes access look better than it is.
    """
    m = np.asarray(minutes, dtype="float64")
    out = np.maximum(np.ceil(m / MINUTES_BAND) * MINUTES_BAND, MINUTES_FLOOR)
    return np.where(np.isnan(m), np.nan, out)


def generalise_points(gdf: gpd.GeoDataFrame, decimals: int = COORD_DECIMALS) -> gpd.GeoDataFrame:
    """Points snapped to a lon/lat lattice of ``10**-decimals`` degrees (returned in EPSG:4326)."""
    ll = gdf.to_crs(4326) if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") else gdf
    pts = ll.geometry
    snapped = gpd.points_from_xy(pts.x.round(decimals), pts.y.round(decimals), crs=4326)
    return ll.set_geometry(snapped)


def scrub_record(record: dict, facilities=None) -> dict:
    """run.json for a safe-share export: no facility names or ids, no paths, no user names.

    Inputs keep their file name and checksum (enough to cite the data); problems that name a
    facility are replaced by a count; a scenario keeps its name and the number of edits.
    """
    import getpass
    import re
    from pathlib import Path

    secrets = set()
    if facilities is not None:
        for col in ("fac_id", "name", "name_my", "name_en"):
            if col in facilities:
                secrets |= {str(v) for v in facilities[col].dropna() if len(str(v)) >= 3}
    out = dict(record)
    out["inputs"] = [{"file": Path(str(i.get("path", ""))).name, "sha256": i.get("sha256"),
                      "layers": [{k: v for k, v in layer.items() if k in ("layer", "role")} for layer in i.get("layers", [])]}
                     for i in record.get("inputs", [])]
    if record.get("project"):
        out["project"] = {"name": record["project"].get("name")}
    sc = record.get("scenario")
    if isinstance(sc, dict):
        out["scenario"] = {"name": sc.get("name"), "as_of": sc.get("as_of"), "edits": len(sc.get("edits") or [])}
    kept, withheld = [], 0
    for text in record.get("problems", []):
        if "facilit" in text.lower() or any(s in text for s in secrets):
            withheld += 1
        else:
            kept.append(text)
    if withheld:
        kept.append(f"{withheld} message(s) naming facilities are withheld in this safe-share export")
    out["problems"] = kept
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment
        user = None
    home = str(Path.home())

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, str):
            value = re.sub(r"(?:[A-Za-z]:)?(?:[\\/][^\\/\s:;,()'\"]+){2,}", lambda m: re.split(r"[\\/]", m.group(0))[-1],
                           value)
            value = value.replace(home, "~")
            if user and len(user) >= 3:
                value = re.sub(rf"\b{re.escape(user)}\b", "user", value)
        return value

    return clean(out)
