"""One coverage analysis run (DESIGN.md section 3): friction -> travel times -> coverage tables.

``run_analysis`` is the pure entry point used by the app, the CLI and the briefing maps:
all inputs are arguments, progress and cancellation go through ``feedback``.
"""

from __future__ import annotations

import copy
import time

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage_app.core.travel import engine
from coverage_app.core.data.crs import working_crs_for
from coverage_app.core.errors import InputError, Problem
from coverage_app.core.feedback import report, sub
from coverage_app.core import runcache
from coverage_app.core.travel import friction_cache
from coverage_app.core.travel.friction import Friction, build_friction
from coverage_app.core.grid import Grid
from coverage_app.core.data.model import ProjectData
from coverage_app.core.params import AnalysisParams, scenario_as_of
from coverage_app.core.results import TIERS, AnalysisResult, TierResult
from coverage_app.core.data.roles import COUNTING_STATUSES, FACILITY_LEVELS_SECONDARY
from coverage_app.core.analysis import catchments as _catchments
from coverage_app.core.analysis.catchments import all_catchments, catchment_shapes, empty_catchments
from coverage_app.core.analysis.tables import (assign_townships, capacity_coverage, coverage_curve, has_capacities,
                                              set_village_times, township_summary, village_access, village_cells,
                                              village_zones)

GRID_MARGIN_M = 5_000.0
SNAP_RADIUS_M = 1_000.0  # a facility on water moves to the nearest passable cell this close (metres, >= 2 cells)
# barrier causes a facility is moved off: a cell of the grid is mostly, not wholly, water or that land cover
SNAPPED_CAUSES = ("water", "impassable land cover", "a cell the speed or friction raster makes impassable")


# ----------------------------------------------------------------------------- facilities

def _secondary_from_level(level) -> bool:
    text = str(level or "").lower()
    return any(key in text for key in FACILITY_LEVELS_SECONDARY) or text in ("general", "township")


def facility_table(facilities: gpd.GeoDataFrame, params: AnalysisParams, scenario: dict | None = None,
                   ledger: list[dict] | None = None, townships: gpd.GeoDataFrame | None = None,
                   ) -> tuple[gpd.GeoDataFrame, list[Problem], int]:
    """Facilities with their status on the as-of date and whether they count for each tier.

    The status is the latest dated one on or before the as-of date, from the layer's own
    ``status``/``status_date`` and the project's status ``ledger`` (core/data/status.py); before
    a facility's first dated status it is unknown. Scenario edits dated after the as-of date are
    not applied. With ``townships`` given, a facility without a township code the layer knows (a
    clinic added by a scenario has none) gets the township it lies in, as villages do. Returns
    (table, problems, number of facilities of unknown status counted as functioning).
    """
    from coverage_app.core.analysis.edits import apply_facility_edits
    from coverage_app.core.data.status import status_on

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
        reported = pd.to_datetime(pd.Series([e.get("date") for e in ledger or []], dtype=object), errors="coerce")
        if dates.notna().all() and (dates > pd.Timestamp(as_of)).all() and not (reported <= pd.Timestamp(as_of)).any():
            raise InputError(Problem(
                "error", f"the as-of date {as_of.isoformat()} is before every facility status date (earliest "
                f"{dates.min().date().isoformat()}): no facility's status is known then; choose a later date",
                layer="facilities", field="status_date"))
    on_day = status_on(fac, ledger, as_of)
    fac["status"], fac["status_date"], fac["status_source"] = \
        on_day["status"], on_day["status_date"], on_day["status_source"]
    fac["is_new"] = False
    fac = apply_facility_edits(fac, scenario, as_of)
    if townships is not None and len(townships) and len(fac):
        towns = townships if townships.crs is None or fac.crs is None or townships.crs.equals(fac.crs) \
            else townships.to_crs(fac.crs)
        fac["township_pcode"] = assign_townships(fac, towns)
    fac["capacity"], fac["capacity_basis"] = facility_capacity(fac, params)
    unknown = fac["status"] == "unknown"
    counting = fac["status"].isin(COUNTING_STATUSES) | (unknown & params.unknown_counts)
    fac["counts_primary"] = counting & fac["provides_primary"]
    fac["counts_secondary"] = counting & fac["provides_secondary"]
    assumed = int((unknown & params.unknown_counts).sum())
    return fac, problems, assumed


def facility_capacity(fac: pd.DataFrame, params: AnalysisParams) -> tuple[pd.Series, pd.Series]:
    """People each facility can serve (NaN = no limit) and where the figure comes from: the
    ``capacity`` field (people), else ``beds`` x ``params.people_per_bed``."""
    cap = pd.to_numeric(fac["capacity"], errors="coerce") if "capacity" in fac else \
        pd.Series(np.nan, index=fac.index)
    basis = pd.Series(np.where(cap.notna(), "capacity", None), index=fac.index, dtype=object)
    if "beds" in fac and params.people_per_bed:
        beds = pd.to_numeric(fac["beds"], errors="coerce")
        use = cap.isna() & beds.notna() & (beds > 0)
        cap = cap.where(~use, beds * float(params.people_per_bed))
        basis[use] = f"beds x {float(params.people_per_bed):g}"
    return cap.astype("float64"), basis


def warm_up(edits: bool = True) -> None:
    """Load the kernels a run uses from numba's on-disk cache on tiny grids: the search's
    (:func:`coverage_app.core.travel.engine.warm_up`) and the catchments'; with ``edits`` also the
    what-if edits' (the app's)."""
    engine.warm_up(edits)
    _catchments.warm_up()


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
    from coverage_app.core.analysis.edits import apply_zone_edits

    lc = data.raster("landcover")
    dem = data.raster("dem")
    frames = {"townships": data.role("townships"), "roads": data.role("roads"), "rivers": data.role("rivers"),
              "crossings": data.role("crossings"), "zones": apply_zone_edits(data.role("conflict_zones"), scenario)}
    files = {"landcover_path": lc.path if lc else None, "dem_path": dem.path if dem else None}
    options = {"landcover_classes": lc.options.get("classes") if lc else None,
               "landcover_speeds_kmh": data.project.landcover_speeds_kmh}
    params = params.replace(as_of=scenario_as_of(params, scenario))
    # the key is taken on the layers as loaded (the grid's CRS and PROJ's version are in it): a surface
    # read back needs no reprojection
    key = _friction_key(data, grid, params, frames, files, options)
    friction = friction_cache.load(key, grid) if key is not None else None
    if friction is not None:
        report(feedback, 1.0, "Friction ready (read from the cache of earlier runs)")
        return friction
    frames = {name: None if frame is None else frame.to_crs(grid.crs) for name, frame in frames.items()}
    friction = build_friction(grid, params, **frames, **files, **options, feedback=feedback)
    if key is not None:
        friction_cache.store(key, friction)
    return friction


def _friction_key(data: ProjectData, grid, params, frames, files, options) -> str | None:
    """The friction cache's key, None where it is not used: the cache off, a protected project, a layer
    marked sensitive (its surface is not written to disk in the clear), a raster that is not a
    GeoTIFF, or anything failing while it is computed (a file gone since the layers were read: the
    build then says what is wrong, as without the cache)."""
    from coverage_app.core.data.protect import is_sensitive

    if not runcache.enabled() or data.project.protected \
            or any(is_sensitive(ref) for ref in data.project.layers if ref.role != "facilities"):
        return None
    try:
        return friction_cache.friction_key(grid, params, frames, files, options)
    except Exception:  # noqa: BLE001  (the cache never fails a run)
        return None


# ----------------------------------------------------------------------------- sources

def locate_sources(fac_w: gpd.GeoDataFrame, friction: Friction) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Grid cell of each facility; facilities on water or impassable land cover move to the nearest
    passable cell within SNAP_RADIUS_M (metres); in a no-go zone or outside the study area they are
    left out. Returns rows, cols, ok mask and problems (facilities moved, outside or unusable)."""
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
        for rad in range(1, max_rad + 1) if cause in SNAPPED_CAUSES else ():
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
            problems.append(Problem("warning", f"facility {name} lies on {cause} at {grid.cell_size_m:g} m "
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
    ``then(tier, result)``, if given, runs in the calling thread as soon as a tier is done: work
    that releases the GIL overlaps the other tier's search; work that holds it (rasterio's
    polygonising) holds up that search too, whose threads take the GIL between kernel chunks."""
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


# ----------------------------------------------------------------------------- referral, capacity

def referral_minutes(fac_w: gpd.GeoDataFrame, rows, cols, ok, secondary: TierResult) -> np.ndarray:
    """Minutes from each facility's cell to the nearest counting secondary facility (NaN if none)."""
    out = np.full(len(fac_w), np.nan)
    out[ok] = secondary.minutes[rows[ok], cols[ok]]
    return np.round(out, 1)


# ----------------------------------------------------------------------------- the run

def run_analysis(data: ProjectData, params: AnalysisParams | None = None, scenario: dict | None = None,
                 feedback=None, stages=None, catchments: bool = True, on_tier=None) -> AnalysisResult:
    """Run the whole analysis on a loaded project; see :class:`~coverage_app.core.results.AnalysisResult`.
    ``stages`` (a :class:`~coverage_app.core.profile.Stages`) receives seconds per stage;
    ``catchments=False`` skips the catchment polygons (e.g. a safe-share export omits them);
    ``on_tier(tier, tier_result, grid)``, if given, is called as soon as a tier's search is done (its
    travel times are final then; e.g. :class:`~coverage_app.core.outputs.early_rasters.EarlyRasters`)."""
    params = params or data.project.params
    t0 = time.perf_counter()
    _require_facilities(data)
    grid = analysis_grid(data, params)
    report(feedback, 0.02, f"Grid {grid.shape[1]} x {grid.shape[0]} cells of {grid.cell_size_m:g} m")
    friction = build_project_friction(data, params, grid, scenario, feedback=sub(feedback, 0.02, 0.2))
    return _run_on(data, params, scenario, friction, feedback, t0, stages, catchments, on_tier)


def run_on_friction_raster(data: ProjectData, params: AnalysisParams, path, kind: str, scenario=None,
                           feedback=None, stages=None, catchments: bool = True, on_tier=None) -> AnalysisResult:
    """Travel times over a user-supplied surface: ``kind="friction"`` (minutes per metre) or ``"speed"``
    (km/h). With townships or villages in the project the raster is resampled onto the usual grid;
    with facilities alone it is used on its own grid. ``on_tier`` as in :func:`run_analysis`."""
    from coverage_app.core.travel.friction import friction_from_raster

    t0 = time.perf_counter()
    _require_facilities(data)
    grid = analysis_grid(data, params) if data.bounds_of_study_area() is not None else None
    friction = friction_from_raster(path, kind=kind, grid=grid)
    return _run_on(data, params, scenario, friction, feedback, t0, stages, catchments, on_tier)


def _require_facilities(data: ProjectData) -> None:
    facilities = data.role("facilities")
    if facilities is None or len(facilities) == 0:
        raise InputError("the project has no health facilities layer: add one (role 'facilities')")
    duplicate_facility_ids(facilities)


def duplicate_facility_ids(facilities: gpd.GeoDataFrame) -> None:
    """Raise InputError when facility layers share ids (each layer is checked on its own when loaded;
    two layers holding the same facility, e.g. a copy added twice, meet only here)."""
    ids = facilities["fac_id"].astype(str)
    dup = ids.duplicated(keep=False) & facilities["fac_id"].notna()
    if not dup.any():
        return
    layers = facilities.get("source_layer", pd.Series("facilities", index=facilities.index))
    problems = []
    for layer, rows in facilities[dup].groupby(layers[dup], sort=False):
        others = sorted(set(layers[dup & ids.isin(set(rows["fac_id"].astype(str)))]) - {layer})
        shown = sorted(set(rows["fac_id"].astype(str)))
        listed = ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else "")
        within = " (also within this layer)" if rows["fac_id"].astype(str).duplicated().any() else ""
        problems.append(Problem(
            "error", f"{len(shown)} facility ids are also used by layer(s) {', '.join(others) or layer}{within}: "
            f"{listed}. Each facility needs its own id: remove the layer that repeats the others, or give "
            "its facilities new ids", layer=str(layer), field="fac_id"))
    raise InputError(problems)


def _run_on(data, params, scenario, friction: Friction, feedback, t0, stages=None, catchments=True,
            on_tier=None) -> AnalysisResult:
    timings = {"friction" if friction.source == "built" else "friction_cached": time.perf_counter() - t0}
    t = time.perf_counter()
    grid = friction.grid
    fac, fac_w, rows, cols, ok, problems, assumed = prepare_facilities(data, params, scenario, friction)
    timings["facilities"] = time.perf_counter() - t
    shapes = {}
    timings["catchment_shapes"] = 0.0

    def tier_done(tier, tier_result):  # while the other tier's search runs
        if on_tier is not None:
            on_tier(tier, tier_result, grid)
        if catchments:
            t = time.perf_counter()
            shapes[tier] = catchment_shapes(tier_result, grid, params.band_minutes)
            timings["catchment_shapes"] += time.perf_counter() - t

    t = time.perf_counter()
    tiers = run_tiers(fac_w, rows, cols, ok, friction, params, sub(feedback, 0.2, 0.8), timings,
                      then=tier_done if catchments or on_tier is not None else None)
    timings["search_wall"] = time.perf_counter() - t
    t = time.perf_counter()
    report(feedback, 0.8, "Villages and townships")
    result = assemble(data, params, grid, tiers, fac, fac_w, rows, cols, ok, friction, problems, assumed, scenario)
    timings["tables"] = time.perf_counter() - t
    t = time.perf_counter()
    report(feedback, 0.9, "Catchments")
    if catchments:
        result.catchments = all_catchments(result, data, shapes)
    timings["catchments"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    result.timings_s = timings
    if stages is not None:
        _record_stages(stages, timings)
    report(feedback, 1.0, "Done")
    return result


def prepare_facilities(data, params, scenario, friction: Friction):
    """The run's facility table (working CRS too), their cells on the grid and the problems so far
    (the friction's, the facilities', a tier without any counting facility): ``(fac, fac_w, rows,
    cols, ok, problems, assumed unknown)``."""
    problems: list[Problem] = list(friction.problems or [])
    fac, fac_problems, assumed = facility_table(data.role("facilities"), params, scenario,
                                                data.project.status_ledger, data.role("townships"))
    problems += fac_problems
    fac_w = fac.to_crs(friction.grid.crs)
    rows, cols, ok, loc_problems = locate_sources(fac_w, friction)
    problems += loc_problems
    for tier in TIERS:
        if int((fac_w[f"counts_{tier}"].to_numpy(bool) & ok).sum()) == 0:
            problems.append(Problem("warning", f"no {tier} care facility counts on {scenario_as_of(params, scenario)} "
                                    f"(functioning or partial): every village is without {tier} care",
                                    layer="facilities"))
    return fac, fac_w, rows, cols, ok, problems, assumed


def _record_stages(stages, timings: dict) -> None:
    """The run's timings as profile stages; the per-tier searches and the shapes polygonised
    while a search ran are inside ``search (2 threads)``, so marked overlapped."""
    for key, name, over in (("friction", "grid + friction (reproject, rasterise)", False),
                            ("friction_cached", "grid + friction (read from the cache of earlier runs)", False),
                            ("facilities", "facilities (status, snap)", False),
                            ("search_prepare", "search: prepare records", True),
                            ("search_wall", "search + catchment shapes (2 threads, wall)", False),
                            ("search_primary", "search: primary", True),
                            ("search_secondary", "search: secondary", True),
                            ("catchment_shapes", "catchment shapes (inside the wall)", True),
                            ("tables", "tables (villages, townships, capacity)", False),
                            ("catchments", "catchment polygons (dissolve, population)", False)):
        if key in timings:
            stages.add(name, timings[key], overlapped=over)


def _no_villages() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"pcode": pd.Series([], dtype=str), "name_en": pd.Series([], dtype=str),
                             "township_pcode": pd.Series([], dtype=object),
                             "population": pd.Series([], dtype=float)}, geometry=[], crs=4326)


def _same_thresholds(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, params_a, params_b) -> bool:
    """Whether every village is within the same thresholds in ``a`` (of a run with ``params_a``) and
    ``b`` (``params_b``): two village tables of the same villages; then their township sums are equal.
    The thresholds (minutes) may differ: a village counts as within when it is within its run's."""
    return all(np.array_equal(a[f"{s}_min"].to_numpy() <= getattr(params_a, name),
                              b[f"{s}_min"].to_numpy() <= getattr(params_b, name))
               for s, name in (("prim", "primary_minutes"), ("sec", "secondary_minutes")))


def unreachable_villages_problem(v, unreachable, cells, friction, grid) -> Problem:
    """The warning for villages (``unreachable``: bool per row of ``v``) that reach no counting facility:
    how many, how many people, and why, from the barrier cause of each one's cell: on water at the grid's
    resolution (river islands and banks: a mapped ferry or bridge is their way across), in a no-go zone,
    or on land that water or no-go zones cut off."""
    n = int(unreachable.sum())
    pop = pd.to_numeric(v["population"], errors="coerce").to_numpy("float64")[unreachable]
    people = f" ({int(round(np.nansum(pop))):,} people)" if np.isfinite(pop).any() else ""
    why = "cut off by water or no-go zones"
    if friction is not None and friction.barrier_cause is not None:
        rows, cols, _ = cells
        cause = friction.barrier_cause[rows[unreachable], cols[unreachable]]
        parts = []
        for code, words in ((1, f"lie on water at {grid.cell_size_m:g} m resolution (river islands and banks: a "
                                "mapped ferry or bridge gives them a way across)"),
                            (2, "lie in a no-go zone"),
                            (4, "lie on impassable land cover"),
                            (5, "lie on cells the speed or friction raster makes impassable"),
                            (0, "lie on land cut off by water or no-go zones")):
            k = int((cause == code).sum())
            if k:
                parts.append(f"{k} {words}")
        why = "; ".join(parts) or why
    return Problem("warning", f"{n} villages{people} cannot reach any counting facility and count as without "
                   f"access: {why}", layer="villages")


def assemble(data, params, grid, tiers, fac, fac_w, rows, cols, ok, friction, problems, assumed, scenario,
             previous=None):
    """Village, township, facility and curve tables from the travel-time grids (cheap).

    ``previous``: a result of the same project data, parameters and grid (a what-if edit's
    parent). Its village table is reused for what the edit cannot change (villages, their
    cells, townships and population basis) and only the columns of travel times are
    rewritten; the township table is reused when no village crossed a threshold. The tables
    equal those of a run without ``previous``."""
    from coverage_app.core.data.population import analysis_villages

    facs = fac.copy()
    facs["on_grid"] = ok
    # counted = in this run's search: a facility left out (in a no-go zone, off the grid) is not
    for tier in TIERS:
        facs[f"counts_{tier}"] = facs[f"counts_{tier}"].to_numpy(bool) & ok
    facs["ref_min"] = referral_minutes(fac_w, rows, cols, ok, tiers["secondary"])
    facs["_row"], facs["_col"] = rows, cols
    cost = None if friction is None else friction.cost_s_per_m
    no_go = None if friction is None else friction.no_go_cells()
    # capacities gone since ``previous``: a full run has no capacity columns, the reused table has
    reuse = previous is not None and previous.village_cells is not None and previous.grid == grid and (
        previous.capacity is None or has_capacities(facs))
    if reuse:
        cells = previous.village_cells
        v = previous.villages.copy()
        set_village_times(v, cells, tiers, params, cost, grid.cell_size_m, no_go)
        basis = copy.deepcopy(previous.population_basis) if data.raster("population") is None else \
            analysis_villages(data)[1]
    else:
        villages, basis = analysis_villages(data)  # on the project's population basis
        if villages is None:
            villages = _no_villages()
        cells = village_cells(villages, grid)
        v = village_access(villages, grid, tiers, params, cost, cells=cells, no_go=no_go)
    townships = None if reuse else data.role("townships")
    if not reuse:  # (a what-if edit of facilities changes neither)
        from coverage_app.core.analysis.edits import apply_zone_edits

        v["township_pcode"] = assign_townships(v, townships)
        # the zones this run's friction slowed travel in (a user's own friction raster has none)
        zones = apply_zone_edits(data.role("conflict_zones"), scenario) if friction is not None \
            and friction.zones_used else None
        v["zone"] = village_zones(v, zones, scenario_as_of(params, scenario))
    off = ~v["on_grid"]
    if off.any():
        problems.append(Problem("warning", "villages outside the analysis grid are kept and flagged "
                                "(on_grid = false, no travel time)", layer="villages",
                                rows=tuple(int(i) + 1 for i in np.flatnonzero(off))))
    unreachable = (v["on_grid"] & ~v["reachable"]).to_numpy(bool)
    if unreachable.any():
        problems.append(unreachable_villages_problem(v, unreachable, cells, friction, grid))
    cap_villages, cap_table = capacity_coverage(v, facs, params)
    if cap_villages is not None:
        v = cap_villages
    if reuse and data.raster("population") is None and _same_thresholds(previous.villages, v, previous.params, params):
        township_table = previous.townships.copy()  # the same sums of the same villages
    else:
        township_table = township_summary(v, data.role("townships") if reuse else townships, params)
    result = AnalysisResult(params=params, grid=grid, tiers=tiers, villages=v, townships=township_table,
                            catchments=empty_catchments(), facilities=facs, curve=coverage_curve(v),
                            problems=problems, assumed_unknown=assumed, capacity=cap_table, friction=friction,
                            scenario=scenario, village_cells=cells, as_of_date=scenario_as_of(params, scenario))
    result.population_basis = basis
    from coverage_app.core.analysis.population_grid import apply_grid_population

    apply_grid_population(result, data)  # a population raster, if any, gives the township and region shares
    return result


