"""One coverage analysis run (DESIGN.md section 3): friction -> travel times -> coverage tables.

``run_analysis`` is the pure entry point used by the app, the CLI and the briefing maps:
all inputs are arguments, progress and cancellation go through ``feedback``.
"""

from __future__ import annotations

import datetime as dt
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio import features

from . import engine
from .engine import _jit
from .crs import working_crs_for
from .errors import InputError, Problem
from .feedback import report, sub
from .friction import Friction, build_friction, zones_valid_on
from .grid import Grid
from .model import ProjectData
from .params import AnalysisParams
from .results import TIERS, AnalysisResult, TierResult
from .roles import COUNTING_STATUSES, FACILITY_LEVELS_SECONDARY

GRID_MARGIN_M = 5_000.0
CURVE_MAX_MINUTES = 240
SNAP_RADIUS_M = 1_000.0  # a facility on water moves to the nearest passable cell this close (metres, >= 2 cells)


# ----------------------------------------------------------------------------- facilities

def _secondary_from_level(level) -> bool:
    text = str(level or "").lower()
    return any(key in text for key in FACILITY_LEVELS_SECONDARY) or text in ("general", "township")


def facility_table(facilities: gpd.GeoDataFrame, params: AnalysisParams, scenario: dict | None = None,
                   ) -> tuple[gpd.GeoDataFrame, list[Problem], int]:
    """Facilities with their status on the as-of date and whether they count for each tier.

    Scenario edits dated after the as-of date are not applied. Returns (table, problems,
    number of facilities of unknown status counted as functioning).
    """
    from .scenarios import apply_facility_edits

    as_of = scenario_as_of(params, scenario)
    fac = facilities.copy()
    problems: list[Problem] = []
    if "provides_secondary" not in fac or fac["provides_secondary"].isna().all():
        fac["provides_secondary"] = fac["level"].map(_secondary_from_level)
    else:
        fac["provides_secondary"] = fac["provides_secondary"].fillna(fac["level"].map(_secondary_from_level))
    if "provides_primary" not in fac or fac["provides_primary"].isna().all():
        fac["provides_primary"] = True
    fac["provides_primary"] = fac["provides_primary"].fillna(True).astype(bool)
    fac["provides_secondary"] = fac["provides_secondary"].astype(bool)
    if "status" not in fac:
        fac["status"] = "unknown"
    fac["status"] = fac["status"].fillna("unknown")
    if "status_date" in fac:
        dates = pd.to_datetime(fac["status_date"], errors="coerce")
        if dates.notna().any() and (dates.dropna() > pd.Timestamp(as_of)).all():
            raise InputError(Problem(
                "error", f"the as-of date {as_of.isoformat()} is before every facility status date (earliest "
                f"{dates.min().date().isoformat()}): no facility's status is known then; choose a later date",
                layer="facilities", field="status_date"))
    fac["is_new"] = False
    fac = apply_facility_edits(fac, scenario, as_of)
    unknown = fac["status"] == "unknown"
    counting = fac["status"].isin(COUNTING_STATUSES) | (unknown & params.unknown_counts)
    fac["counts_primary"] = counting & fac["provides_primary"]
    fac["counts_secondary"] = counting & fac["provides_secondary"]
    assumed = int((unknown & params.unknown_counts).sum())
    return fac, problems, assumed


def scenario_as_of(params: AnalysisParams, scenario: dict | None) -> dt.date:
    if scenario and scenario.get("as_of"):
        return dt.date.fromisoformat(str(scenario["as_of"]))
    return params.as_of_date


# ----------------------------------------------------------------------------- grid

def analysis_grid(data: ProjectData, params: AnalysisParams) -> Grid:
    bounds = data.bounds_of_study_area()
    if bounds is None:
        raise InputError("the project has no layer to define the study area: add townships or villages")
    crs = working_crs_for(bounds, 4326)
    townships = data.role("townships")
    frame = townships if townships is not None else data.role("villages")
    b = frame.to_crs(crs).total_bounds
    return Grid.covering(b, crs, params.cell_size_m, margin_m=GRID_MARGIN_M)


def build_project_friction(data: ProjectData, params: AnalysisParams, grid: Grid, scenario=None,
                           feedback=None) -> Friction:
    from .scenarios import apply_zone_edits

    def w(role):
        frame = data.role(role)
        return None if frame is None else frame.to_crs(grid.crs)

    zones = apply_zone_edits(data.role("conflict_zones"), scenario)
    lc = data.raster("landcover")
    dem = data.raster("dem")
    return build_friction(
        grid, params.replace(as_of=scenario_as_of(params, scenario)), townships=w("townships"), roads=w("roads"),
        rivers=w("rivers"), crossings=w("crossings"),
        zones=None if zones is None else zones.to_crs(grid.crs),
        landcover_path=lc.path if lc else None,
        landcover_classes=(lc.options.get("classes") if lc else None),
        landcover_speeds_kmh=data.project.landcover_speeds_kmh, dem_path=dem.path if dem else None,
        feedback=feedback)


# ----------------------------------------------------------------------------- sources

def locate_sources(fac_w: gpd.GeoDataFrame, friction: Friction) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Grid cell of each facility; facilities on a barrier move to the nearest passable cell within
    SNAP_RADIUS_CELLS. Returns rows, cols, ok mask and problems (facilities outside or unusable)."""
    grid = friction.grid
    rows, cols, inside = grid.cell_of(fac_w.geometry.x.to_numpy(), fac_w.geometry.y.to_numpy())
    ok = inside.copy()
    problems = []
    cost = friction.cost_s_per_m
    for i in np.flatnonzero(inside):
        r, c = rows[i], cols[i]
        if np.isfinite(cost[r, c]):
            continue
        cause = friction.cause_at(r, c)
        best = None
        max_rad = max(2, int(np.ceil(SNAP_RADIUS_M / grid.cell_size_m)))  # at least two cells
        for rad in range(1, max_rad + 1) if cause == "water" else ():
            r0, r1 = max(r - rad, 0), min(r + rad + 1, grid.shape[0])
            c0, c1 = max(c - rad, 0), min(c + rad + 1, grid.shape[1])
            win = cost[r0:r1, c0:c1]
            rr, cc = np.nonzero(np.isfinite(win))
            if len(rr):
                d = (rr + r0 - r) ** 2 + (cc + c0 - c) ** 2
                k = int(np.argmin(d))
                best = (rr[k] + r0, cc[k] + c0)
                break
        name = f"{fac_w['fac_id'].iloc[i]} ({fac_w['name'].iloc[i]})"
        if best is None:
            ok[i] = False
            problems.append(Problem("warning", f"facility {name} lies in {cause} and cannot be reached on the "
                                    "analysis date; it is left out", layer="facilities", rows=(i + 1,)))
        else:
            rows[i], cols[i] = best
            problems.append(Problem("warning", f"facility {name} lies on water at {grid.cell_size_m:g} m "
                                    "resolution; it was moved to the nearest passable cell", layer="facilities",
                                    rows=(i + 1,)))
    for i in np.flatnonzero(~inside):
        problems.append(Problem("warning", f"facility {fac_w['fac_id'].iloc[i]} ({fac_w['name'].iloc[i]}) lies "
                                "outside the analysis grid and is left out", layer="facilities", rows=(i + 1,)))
    return rows, cols, ok, problems


def run_tier(tier: str, fac_w: gpd.GeoDataFrame, rows, cols, ok, friction: Friction, params: AnalysisParams,
             feedback=None, prepared=None) -> TierResult:
    counts = fac_w[f"counts_{tier}"].to_numpy(bool) & ok
    ids = list(fac_w["fac_id"].astype(str))
    idx = np.flatnonzero(counts)
    if len(idx) == 0:
        shape = friction.grid.shape
        return TierResult(tier, np.full(shape, np.nan, "float32"), np.full(shape, -1, "int32"), ids, None)
    res = engine.travel_time(friction.cost_s_per_m, friction.grid.cell_size_m, rows[idx], cols[idx],
                             idx.astype("int32"), neighbours=params.neighbours, max_minutes=params.max_minutes,
                             feedback=feedback, prepared=prepared, **friction.engine_options())
    return TierResult(tier, res.minutes, res.allocation, ids, res)


def run_tiers(fac_w, rows, cols, ok, friction: Friction, params, feedback=None, timings=None, then=None) -> dict:
    """Both tiers' searches, side by side on two threads (the engine's inner loop releases the GIL).
    The engine's zone / elevation records are built once and shared by the two tiers.
    ``then(tier, result)``, if given, runs in the calling thread as soon as a tier is done (so
    GIL-bound work on it overlaps the other tier's search)."""
    from concurrent.futures import ThreadPoolExecutor

    timings = {} if timings is None else timings
    t = time.perf_counter()
    prepared = engine.prepare(friction.cost_s_per_m, **friction.engine_options())
    timings["search_prepare"] = time.perf_counter() - t
    progress = dict.fromkeys(TIERS, 0.0)

    class TierFeedback:
        def __init__(self, tier):
            self.tier = tier

        def progress(self, fraction, message=""):
            progress[self.tier] = fraction
            if feedback is not None:
                feedback.progress(sum(progress.values()) / len(TIERS), "Travel time (primary and secondary)")

        def cancelled(self):
            return feedback is not None and feedback.cancelled()

    def one(tier):
        t = time.perf_counter()
        out = run_tier(tier, fac_w, rows, cols, ok, friction, params, feedback=TierFeedback(tier), prepared=prepared)
        timings[f"search_{tier}"] = time.perf_counter() - t
        return out

    from concurrent.futures import as_completed

    with ThreadPoolExecutor(max_workers=len(TIERS), thread_name_prefix="tier") as pool:
        futures = {pool.submit(one, tier): tier for tier in TIERS}
        try:
            for future in as_completed(futures):
                if then is not None and future.exception() is None:
                    then(futures[future], future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        done = {tier: future.result() for future, tier in futures.items()}
        return {tier: done[tier] for tier in TIERS}


# ----------------------------------------------------------------------------- villages

def sample_cells(minutes: np.ndarray, alloc: np.ndarray, rows, cols, inside) -> tuple[np.ndarray, np.ndarray]:
    """Minutes and allocation at each point's cell. A point on an unreached cell (a village on a
    river bank, at the edge of a barrier) takes its fastest of the 8 neighbours. Off the grid or
    where no neighbour is reached: NaN minutes and allocation -1."""
    out_t = np.full(len(rows), np.nan, dtype="float64")
    out_a = np.full(len(rows), -1, dtype="int64")
    r, c = rows[inside], cols[inside]
    vals_t = minutes[r, c].astype("float64")
    vals_a = alloc[r, c].astype("int64")
    missing = np.isnan(vals_t)  # the engine leaves NaN exactly where allocation is -1
    if missing.any():
        H, W = minutes.shape
        mr, mc = r[missing], c[missing]
        best_t = np.full(missing.sum(), np.inf)
        best_a = np.full(missing.sum(), -1, dtype="int64")
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rr = np.clip(mr + dr, 0, H - 1)
                cc = np.clip(mc + dc, 0, W - 1)
                t = np.where(np.isnan(minutes[rr, cc]), np.inf, minutes[rr, cc])
                better = t < best_t
                best_t[better] = t[better]
                best_a[better] = alloc[rr, cc][better]
        vals_t[missing] = np.where(np.isfinite(best_t), best_t, np.nan)
        vals_a[missing] = best_a
    out_t[inside] = vals_t
    out_a[inside] = vals_a
    return out_t, out_a


def gap_class(prim_min, sec_min, params: AnalysisParams) -> np.ndarray:
    no_p = ~(prim_min <= params.primary_minutes)  # NaN (unreachable) counts as no access
    no_s = ~(sec_min <= params.secondary_minutes)
    return np.select([no_p & no_s, no_p, no_s], ["both", "primary", "secondary"], "none").astype(object)


def village_access(villages: gpd.GeoDataFrame, grid: Grid, tiers: dict[str, TierResult], params) -> gpd.GeoDataFrame:
    v = villages.copy()
    vw = v.geometry.to_crs(grid.crs)
    rows, cols, inside = grid.cell_of(vw.x.to_numpy(), vw.y.to_numpy())
    v["on_grid"] = inside
    for tier, short in (("primary", "prim"), ("secondary", "sec")):
        t = tiers[tier]
        mins, alloc = sample_cells(t.minutes, t.allocation, rows, cols, inside)
        ids = np.array(t.facility_ids + [None], dtype=object)
        v[f"{short}_min"] = np.round(mins, 1)
        v[f"{short}_fac"] = ids[np.where(alloc >= 0, alloc, len(t.facility_ids))]
    v["reachable"] = v["on_grid"] & (v["prim_min"].notna() | v["sec_min"].notna())
    v["gap"] = gap_class(v["prim_min"].to_numpy(), v["sec_min"].to_numpy(), params)
    if "population" not in v:
        v["population"] = np.nan
    return v


def assign_townships(villages: gpd.GeoDataFrame, townships: gpd.GeoDataFrame | None) -> pd.Series:
    """Township pcode of each village: its own field where present, else the township it lies in."""
    have = villages["township_pcode"] if "township_pcode" in villages else pd.Series(None, index=villages.index)
    if townships is None:
        return have
    missing = have.isna() | ~have.isin(set(townships["pcode"]))
    if missing.any():
        joined = gpd.sjoin(villages.loc[missing, ["geometry"]], townships[["pcode", "geometry"]],
                           how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]
        have = have.copy()
        have.loc[missing] = joined["pcode"].reindex(have.index[missing]).to_numpy()
    return have


def township_summary(villages: gpd.GeoDataFrame, townships: gpd.GeoDataFrame | None, params) -> gpd.GeoDataFrame:
    v = villages.assign(pop=villages["population"].fillna(0.0))
    v["ok_p"] = v["prim_min"] <= params.primary_minutes
    v["ok_s"] = v["sec_min"] <= params.secondary_minutes
    g = v.groupby("township_pcode", dropna=False)
    if len(v) == 0:
        table = pd.DataFrame({c: pd.Series([], dtype="float64") for c in
                              ("n_villages", "pop", "pop_prim", "pop_sec", "vil_noprim", "vil_nosec")},
                             index=pd.Index([], name="township_pcode", dtype=object))
    else:
        pop = v["pop"].to_numpy(dtype="float64")
        if np.all(pop == np.round(pop)) and np.abs(pop).sum() < 2.0 ** 52:
            # whole numbers of people: every order of summation is exact, so group sums of the
            # masked populations equal the per-group sums of the selected ones
            key = v["township_pcode"]
            by = dict(sort=True, dropna=False)
            pop_prim = v["pop"].where(v["ok_p"], 0.0).groupby(key, **by).sum()
            pop_sec = v["pop"].where(v["ok_s"], 0.0).groupby(key, **by).sum()
            no_prim = (~v["ok_p"]).groupby(key, **by).sum().astype("int64")
            no_sec = (~v["ok_s"]).groupby(key, **by).sum().astype("int64")
        else:
            pop_prim = g.apply(lambda d: d.loc[d.ok_p, "pop"].sum(), include_groups=False)
            pop_sec = g.apply(lambda d: d.loc[d.ok_s, "pop"].sum(), include_groups=False)
            no_prim = g["ok_p"].apply(lambda s: int((~s).sum()))
            no_sec = g["ok_s"].apply(lambda s: int((~s).sum()))
        table = pd.DataFrame({
            "n_villages": g.size(),
            "pop": g["pop"].sum(),
            "pop_prim": pop_prim,
            "pop_sec": pop_sec,
            "vil_noprim": no_prim,
            "vil_nosec": no_sec,
        })
    table["pct_prim"] = np.where(table["pop"] > 0, 100 * table["pop_prim"] / table["pop"].where(table["pop"] > 0), np.nan)
    table["pct_sec"] = np.where(table["pop"] > 0, 100 * table["pop_sec"] / table["pop"].where(table["pop"] > 0), np.nan)
    table.index.name = "pcode"
    table = table.reset_index()
    if townships is not None:
        base = townships[["pcode", "name_en"] + [c for c in ("name_my", "population") if c in townships] +
                         ["geometry"]].rename(columns={"population": "census_pop"})
        out = base.merge(table, on="pcode", how="left")
        for col in ("n_villages", "pop", "pop_prim", "pop_sec", "vil_noprim", "vil_nosec"):
            out[col] = out[col].fillna(0)
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=townships.crs)
    else:
        out = gpd.GeoDataFrame(table.assign(name_en=table["pcode"]), geometry=None)
    for col in ("pop", "pop_prim", "pop_sec"):
        out[col] = out[col].round().astype("int64")
    for col in ("n_villages", "vil_noprim", "vil_nosec"):
        out[col] = out[col].astype("int64")
    out["pct_prim"] = out["pct_prim"].round(1)
    out["pct_sec"] = out["pct_sec"].round(1)
    cols = ["pcode", "name_en", "name_my", "census_pop", "n_villages", "pop", "pop_prim", "pct_prim", "pop_sec",
            "pct_sec", "vil_noprim", "vil_nosec", "geometry"]
    return out[[c for c in cols if c in out]]


def coverage_curve(villages: gpd.GeoDataFrame, max_minutes: int = CURVE_MAX_MINUTES) -> pd.DataFrame:
    t = np.arange(0, max_minutes + 1)
    pop = villages["population"].fillna(0.0).to_numpy()
    total = pop.sum()
    out = {"minutes": t}
    for tier, short in (("primary", "prim"), ("secondary", "sec")):
        m = villages[f"{short}_min"].to_numpy(dtype="float64")
        m = np.where(np.isnan(m), np.inf, m)
        order = np.argsort(m)
        cum = np.concatenate([[0.0], np.cumsum(pop[order])])
        k = np.searchsorted(m[order], t, side="right")
        out[f"{tier}_share"] = cum[k] / total if total > 0 else np.nan
    return pd.DataFrame(out)


# ----------------------------------------------------------------------------- catchments

_NOT_YET = object()  # catchment shapes not computed beforehand

def catchment_polygons(tier: TierResult, grid: Grid, bands, facilities: gpd.GeoDataFrame,
                       villages: gpd.GeoDataFrame, window=None, only=None, shapes=_NOT_YET) -> gpd.GeoDataFrame:
    """Each facility's allocated cells cut into time bands, as polygons (EPSG:4326) with area and
    population. ``window`` ((r0, r1), (c0, c1)) limits the work to part of the grid, ``only``
    (allocation indices) to some facilities; ``shapes``: :func:`catchment_shapes` of ``tier``
    computed beforehand (e.g. while the other tier's search runs)."""
    gdf = catchment_shapes(tier, grid, bands, window, only) if shapes is _NOT_YET else shapes
    if gdf is None:
        return _empty_catchments()
    return _catchment_attributes(gdf, tier, bands, facilities, villages)


def catchment_shapes(tier: TierResult, grid: Grid, bands, window=None, only=None):
    """The geometric part of :func:`catchment_polygons` (needs only the tier's rasters): polygons
    in the grid's CRS with label, fac_index, band_min, fac_id and area_km2; None if empty."""
    bands = np.asarray(sorted(bands), dtype="float64")
    (r0, r1), (c0, c1) = window or ((0, grid.shape[0]), (0, grid.shape[1]))
    keep = np.ones(len(tier.facility_ids), bool)
    if only is not None:
        keep[:] = False
        keep[np.asarray(only, dtype="int64")] = True
    # shrink the window to the cells inside the last band: polygonising is linear in the window's size
    if only is None:  # most of the window: label it all in one pass, polygonise the extent (a view)
        label = np.empty((r1 - r0, c1 - c0), "int32")
        valid = np.empty((r1 - r0, c1 - c0), bool)
        e0, e1, f0, f1 = _band_labels(tier.minutes, tier.allocation, bands, keep, r0, c0, label, valid)
        if e0 < 0:
            return None
        label, valid = label[e0:e1, f0:f1], valid[e0:e1, f0:f1]
        r0, r1, c0, c1 = r0 + e0, r0 + e1, c0 + f0, c0 + f1
    else:  # a few facilities: find their extent first, label only that
        extent = _band_extent(tier.minutes, tier.allocation, bands[-1], keep, r0, r1, c0, c1)
        if extent[0] < 0:
            return None
        r0, r1, c0, c1 = extent
        label = np.empty((r1 - r0, c1 - c0), "int32")
        valid = np.empty((r1 - r0, c1 - c0), bool)
        _band_labels(tier.minutes, tier.allocation, bands, keep, r0, c0, label, valid)
    g = grid.transform
    transform = type(g)(g.a, 0.0, g.c + c0 * g.a, 0.0, g.e, g.f + r0 * g.e)
    rings, per_polygon, labels = [], [], []
    for geom, value in features.shapes(label, mask=valid, transform=transform, connectivity=4):
        ring_list = geom["coordinates"]
        rings.extend(ring_list)
        per_polygon.append(len(ring_list))
        labels.append(value)
    del label, valid
    if not labels:
        return None
    # the polygons in bulk (first ring the shell, then the holes), as shapely.geometry.shape would
    ring_len = np.fromiter((len(r) for r in rings), dtype="int64", count=len(rings))
    coords = np.array([xy for r in rings for xy in r], dtype="float64").reshape(-1, 2)
    del rings
    ring_geoms = shapely.linearrings(coords, indices=np.repeat(np.arange(len(ring_len)), ring_len))
    geoms = shapely.polygons(ring_geoms, indices=np.repeat(np.arange(len(per_polygon)), per_polygon))
    # parts of one label are disjoint cells of a raster: a multipolygon of them is valid, no union needed
    labels = np.asarray(labels, dtype="int64")
    uniq, codes = np.unique(labels, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    merged = shapely.multipolygons(geoms[order], indices=codes[order])
    single = shapely.get_num_geometries(merged) == 1
    merged[single] = shapely.get_geometry(merged[single], 0)
    gdf = gpd.GeoDataFrame({"label": uniq}, geometry=merged, crs=grid.crs)
    gdf["fac_index"] = (gdf["label"] - 1) // len(bands)
    gdf["band_min"] = bands[(gdf["label"] - 1) % len(bands)]
    gdf["fac_id"] = np.array(tier.facility_ids, dtype=object)[gdf["fac_index"]]
    gdf["area_km2"] = (gdf.geometry.area / 1e6).round(2)
    return gdf


def _catchment_attributes(gdf, tier: TierResult, bands, facilities, villages) -> gpd.GeoDataFrame:
    bands = np.asarray(sorted(bands), dtype="float64")
    gdf = gdf.copy()
    info = facilities.set_index("fac_id")
    gdf["fac_name"] = gdf["fac_id"].map(info["name"])
    gdf["level"] = gdf["fac_id"].map(info["level"])
    short = "prim" if tier.tier == "primary" else "sec"
    vb = np.searchsorted(bands, villages[f"{short}_min"].fillna(np.inf).to_numpy(), side="left")
    pops = (villages.assign(_band=vb, _pop=villages["population"].fillna(0.0))
            .loc[lambda d: d._band < len(bands)].groupby([f"{short}_fac", "_band"])["_pop"].sum())
    keys = list(zip(gdf["fac_id"], np.searchsorted(bands, gdf["band_min"].to_numpy())))
    pops = pops.to_dict()
    gdf["pop"] = [int(round(pops.get(k, 0.0))) for k in keys]
    gdf["tier"] = tier.tier
    gdf = gdf[["tier", "fac_id", "fac_name", "level", "band_min", "area_km2", "pop", "geometry"]]
    return gdf.to_crs(4326)


@_jit
def _band_extent(minutes, alloc, last, keep, r0, r1, c0, c1):
    """(r0, r1, c0, c1) bounding the cells of the window with minutes <= ``last`` allocated to a
    facility with ``keep[allocation]``; (-1, -1, -1, -1) if none."""
    rmin, rmax, cmin, cmax = -1, -1, c1, -1
    for r in range(r0, r1):
        for c in range(c0, c1):
            a = alloc[r, c]
            if a >= 0 and minutes[r, c] <= last and keep[a]:
                if rmin < 0:
                    rmin = r
                rmax = r
                if c < cmin:
                    cmin = c
                if c > cmax:
                    cmax = c
    if rmin < 0:
        return -1, -1, -1, -1
    return rmin, rmax + 1, cmin, cmax + 1


@_jit
def _band_labels(minutes, alloc, bands, keep, r0, c0, label, valid):
    """Label of each cell of the window at (r0, c0): allocation * len(bands) + band + 1 where the
    cell is inside the last band (band i holds bands[i-1] < minutes <= bands[i]), else 0. Returns
    the extent (i0, i1, j0, j1) of the labelled cells in the window, (-1, -1, -1, -1) if none."""
    nb = np.int32(bands.shape[0])
    last = bands[nb - 1]
    imin, imax, jmin, jmax = -1, -1, label.shape[1], -1
    for i in range(label.shape[0]):
        for j in range(label.shape[1]):
            a = alloc[r0 + i, c0 + j]
            m = minutes[r0 + i, c0 + j]
            if a >= 0 and m <= last and keep[a]:
                b = np.int32(0)
                for k in range(nb - 1):
                    if m > bands[k]:
                        b += 1
                label[i, j] = a * nb + b + 1
                valid[i, j] = True
                if imin < 0:
                    imin = i
                imax = i
                if j < jmin:
                    jmin = j
                if j > jmax:
                    jmax = j
            else:
                label[i, j] = 0
                valid[i, j] = False
    if imin < 0:
        return -1, -1, -1, -1
    return imin, imax + 1, jmin, jmax + 1


def _empty_catchments():
    return gpd.GeoDataFrame({c: [] for c in ("tier", "fac_id", "fac_name", "level", "band_min", "area_km2", "pop")},
                            geometry=[], crs=4326)


# ----------------------------------------------------------------------------- referral, capacity

def referral_minutes(fac_w: gpd.GeoDataFrame, rows, cols, ok, secondary: TierResult) -> np.ndarray:
    """Minutes from each facility's cell to the nearest counting secondary facility (NaN if none)."""
    out = np.full(len(fac_w), np.nan)
    out[ok] = secondary.minutes[rows[ok], cols[ok]]
    return np.round(out, 1)


def capacity_coverage(villages: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, tier: str = "primary"):
    """AccessMod-style geographic coverage: a facility with a capacity (people) takes the population of
    the villages allocated to it in order of travel time until full. Returns (villages with
    ``served_pop``/``unserved_pop``, per-township table of unserved population) or (None, None)."""
    if "capacity" not in facilities or facilities["capacity"].notna().sum() == 0:
        return None, None
    short = "prim" if tier == "primary" else "sec"
    cap = facilities.set_index("fac_id")["capacity"].dropna().astype(float)
    v = villages.copy()
    pop = v["population"].fillna(0.0)
    served = pop.where(v[f"{short}_fac"].notna(), 0.0).copy()
    limited = v[f"{short}_fac"].isin(cap.index)
    for fac_id, group in v[limited].sort_values(f"{short}_min").groupby(f"{short}_fac"):
        left = cap[fac_id]
        for idx in group.index:
            take = min(pop[idx], max(left, 0.0))
            served[idx] = take
            left -= take
    v["served_pop"] = served.round()
    v["unserved_pop"] = (pop - served).round()
    table = v.groupby("township_pcode")[["served_pop", "unserved_pop"]].sum().reset_index()
    return v, table


# ----------------------------------------------------------------------------- the run

def run_analysis(data: ProjectData, params: AnalysisParams | None = None, scenario: dict | None = None,
                 feedback=None) -> AnalysisResult:
    """Run the whole analysis on a loaded project; see :class:`~coverage_app.core.results.AnalysisResult`."""
    params = params or data.project.params
    t0 = time.perf_counter()
    _require_facilities(data)
    grid = analysis_grid(data, params)
    report(feedback, 0.02, f"Grid {grid.shape[1]} x {grid.shape[0]} cells of {grid.cell_size_m:g} m")
    friction = build_project_friction(data, params, grid, scenario, feedback=sub(feedback, 0.02, 0.2))
    return _run_on(data, params, scenario, friction, feedback, t0)


def run_on_friction_raster(data: ProjectData, params: AnalysisParams, path, kind: str, scenario=None,
                           feedback=None) -> AnalysisResult:
    """Travel times over a user-supplied surface: ``kind="friction"`` (minutes per metre) or ``"speed"``
    (km/h). With townships or villages in the project the raster is resampled onto the usual grid;
    with facilities alone it is used on its own grid."""
    from .friction import friction_from_raster

    t0 = time.perf_counter()
    _require_facilities(data)
    grid = analysis_grid(data, params) if data.bounds_of_study_area() is not None else None
    friction = friction_from_raster(path, kind=kind, grid=grid)
    return _run_on(data, params, scenario, friction, feedback, t0)


def _require_facilities(data: ProjectData) -> None:
    facilities = data.role("facilities")
    if facilities is None or len(facilities) == 0:
        raise InputError("the project has no health facilities layer: add one (role 'facilities')")


def _run_on(data, params, scenario, friction: Friction, feedback, t0) -> AnalysisResult:
    timings = {"friction": time.perf_counter() - t0}
    grid = friction.grid
    problems: list[Problem] = list(friction.problems or [])
    fac, fac_problems, assumed = facility_table(data.role("facilities"), params, scenario)
    problems += fac_problems
    fac_w = fac.to_crs(grid.crs)
    rows, cols, ok, loc_problems = locate_sources(fac_w, friction)
    problems += loc_problems
    for tier in TIERS:
        if int((fac_w[f"counts_{tier}"].to_numpy(bool) & ok).sum()) == 0:
            problems.append(Problem("warning", f"no {tier} care facility counts on {scenario_as_of(params, scenario)} "
                                    f"(functioning or partial): every village is without {tier} care",
                                    layer="facilities"))
    shapes = {}
    timings["catchment_shapes"] = 0.0

    def shapes_of(tier, tier_result):  # while the other tier's search runs
        t = time.perf_counter()
        shapes[tier] = catchment_shapes(tier_result, grid, params.band_minutes)
        timings["catchment_shapes"] += time.perf_counter() - t

    tiers = run_tiers(fac_w, rows, cols, ok, friction, params, sub(feedback, 0.2, 0.8), timings, then=shapes_of)
    t = time.perf_counter()
    report(feedback, 0.8, "Villages and townships")
    result = assemble(data, params, grid, tiers, fac, fac_w, rows, cols, ok, friction, problems, assumed, scenario)
    timings["tables"] = time.perf_counter() - t
    t = time.perf_counter()
    report(feedback, 0.9, "Catchments")
    result.catchments = all_catchments(result, data, shapes)
    timings["catchments"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    result.timings_s = timings
    report(feedback, 1.0, "Done")
    return result


def _no_villages() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"pcode": pd.Series([], dtype=str), "name_en": pd.Series([], dtype=str),
                             "township_pcode": pd.Series([], dtype=object),
                             "population": pd.Series([], dtype=float)}, geometry=[], crs=4326)


def assemble(data, params, grid, tiers, fac, fac_w, rows, cols, ok, friction, problems, assumed, scenario):
    """Village, township, facility and curve tables from the travel-time grids (cheap)."""
    villages = data.role("villages")
    if villages is None:
        villages = _no_villages()
    townships = data.role("townships")
    v = village_access(villages, grid, tiers, params)
    v["township_pcode"] = assign_townships(v, townships)
    off = ~v["on_grid"]
    if off.any():
        problems.append(Problem("warning", "villages outside the analysis grid are kept and flagged "
                                "(on_grid = false, no travel time)", layer="villages",
                                rows=tuple(int(i) + 1 for i in np.flatnonzero(off))))
    unreachable = v["on_grid"] & ~v["reachable"]
    if unreachable.any():
        problems.append(Problem("warning", f"{int(unreachable.sum())} villages cannot reach any counting facility "
                                "(cut off by water or no-go zones); they count as without access",
                                layer="villages"))
    facs = fac.copy()
    facs["on_grid"] = ok
    facs["ref_min"] = referral_minutes(fac_w, rows, cols, ok, tiers["secondary"])
    facs["_row"], facs["_col"] = rows, cols
    cap_villages, cap_table = capacity_coverage(v, facs)
    if cap_villages is not None:
        v = cap_villages
    result = AnalysisResult(params=params, grid=grid, tiers=tiers, villages=v,
                            townships=township_summary(v, townships, params), catchments=_empty_catchments(),
                            facilities=facs, curve=coverage_curve(v), problems=problems, assumed_unknown=assumed,
                            capacity=cap_table, friction=friction, scenario=scenario)
    return result


def all_catchments(result: AnalysisResult, data: ProjectData, shapes: dict | None = None) -> gpd.GeoDataFrame:
    """Both tiers' catchments; ``shapes`` (tier -> :func:`catchment_shapes`) where already computed."""
    shapes = shapes or {}
    parts = [catchment_polygons(result.tiers[t], result.grid, result.params.band_minutes, result.facilities,
                                result.villages, shapes=shapes.get(t, _NOT_YET)) for t in TIERS]
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_catchments()
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
