"""Monte Carlo access probabilities and scenario sweeps, on dask.distributed (issue 15).

A sweep runs ``spec.draws`` draws for each case (mode x as-of date x scenario, see
:mod:`~coverage_app.core.analysis.sweep_spec`). One draw of one case is one analysis: the
same friction, sources, travel-time search and village sampling as
:func:`~coverage_app.core.analysis.pipeline.run_analysis` (a draw with nothing varied gives the
full run's village minutes exactly), without catchments and exports.

What does not depend on the drawn parameters is prepared once per distinct input and
shared: the grid and village cells once per sweep; per *friction group* (cases whose mode,
scenario zone edits and valid conflict zones coincide, e.g. as-of dates between zone
changes) the layers in the working CRS and, when no drawn parameter touches the friction,
the friction, the engine's prepared zone records and the facilities' cells. One task is
one draw of one group (its cases share that draw's friction). On a cluster the groups are
sent to every worker once (``client.scatter(..., broadcast=True)``); tasks carry only the
draw's parameters. Minutes are travel minutes, shares are % of the population in villages.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage_app.core.analysis.edits import apply_zone_edits
from coverage_app.core.analysis.pipeline import analysis_grid, facility_table, locate_sources, scenario_as_of
from coverage_app.core.analysis.sweep_spec import Case, DrawParams, SweepSpec, draw_params
from coverage_app.core.analysis.tables import assign_townships, point_cells, round_minutes, sample_cells
from coverage_app.core.errors import InputError, Problem
from coverage_app.core.feedback import Cancelled, check, report
from coverage_app.core.params import AnalysisParams
from coverage_app.core.results import TIERS
from coverage_app.core.travel import engine
from coverage_app.core.travel.friction import Friction, build_friction, zones_valid_on

log = logging.getLogger(__name__)
PERCENTILES = (5, 50, 95)
TASK_RETRIES = 3  # a task that fails (e.g. its worker died) is run again up to this many times
SERIAL = "serial"


# ----------------------------------------------------------------------------- shared inputs

@dataclass
class CaseInput:
    """One case's facilities (working CRS) and parameters; fixed for every draw."""

    case: Case
    params: AnalysisParams
    fac_ids: list
    fac_x: np.ndarray
    fac_y: np.ndarray
    status: np.ndarray          # object: status on the case's date (scenario edits applied)
    provides: dict              # tier -> bool array
    counts: dict                # tier -> bool array: counts when unknown facilities follow the params
    sources: tuple | None = None  # (rows, cols, ok) when the friction is fixed


@dataclass
class Group:
    """The inputs shared by the cases of one friction group (sent to each worker once)."""

    key: tuple
    mode: str
    as_of: object
    params: AnalysisParams
    cases: list[CaseInput]
    layers: dict                # townships, roads, rivers, crossings, zones (working CRS) or None
    landcover: tuple | None     # (path, classes, speeds by class)
    dem_path: str | None
    grid: object
    v_rows: np.ndarray
    v_cols: np.ndarray
    v_inside: np.ndarray
    v_offset: np.ndarray        # (n, 2) metres east / north of each village from its cell's centre
    v_pop: np.ndarray           # people (NaN -> 0)
    v_tsp: np.ndarray           # township index of each village, -1 = none
    n_tsp: int
    friction: Friction | None = None
    prepared: object = None


def _drawn_params(group: Group, dp: DrawParams) -> AnalysisParams:
    params = group.params
    if dp.speed_scale:
        table = {m: {s: (None if v is None else float(v) * dp.speed_scale.get(f"{m}.{s}", 1.0))
                     for s, v in t.items()} for m, t in params.speeds_kmh.items()}
        params = params.replace(speeds_kmh=table)
    if dp.params:
        params = params.replace(**dp.params)
    if dp.unmapped_scale:  # the last-mile speed of motorised modes (km/h), the largest single uncertainty
        unmapped = dict(params.unmapped_kmh)
        for mode, scale in dp.unmapped_scale.items():
            unmapped[mode] = float(unmapped[mode]) * float(scale)
        params = params.replace(unmapped_kmh=unmapped)
    return params


def _check_drawn(spec: SweepSpec, groups, dps) -> None:
    """Every draw's parameters are usable (speeds, thresholds within their limits) before any draw
    runs: a spec whose ranges reach past them is named with the draw and the limit."""
    for dp in dps:
        if not (dp.params or dp.speed_scale or dp.unmapped_scale):
            continue
        for g in groups:
            try:
                _drawn_params(g, dp)
                for ci in g.cases:
                    ci.params.replace(**dp.params)
            except (ValueError, TypeError) as exc:
                raise InputError(Problem("error", f"draw {dp.index} of the sweep gives parameters that cannot be "
                                         f"used ({exc}); narrow the ranges in [vary] / [vary.params]",
                                         file=str(spec.path) if spec.path else None, field="vary")) from None


def _drawn_zones(zones: gpd.GeoDataFrame | None, dp: DrawParams):
    if zones is None or not (dp.zone_speed_scale or dp.zone_delay_scale):
        return zones
    z = zones.copy()
    ids = z["zone_id"].astype(str)
    if dp.zone_speed_scale:
        f = pd.to_numeric(z["speed_factor"], errors="coerce").fillna(1.0)
        z["speed_factor"] = (f * ids.map(dp.zone_speed_scale).fillna(1.0)).clip(0.0, 1.0)
    if dp.zone_delay_scale and "delay_minutes" in z:
        d = pd.to_numeric(z["delay_minutes"], errors="coerce").fillna(0.0)
        z["delay_minutes"] = d * ids.map(dp.zone_delay_scale).fillna(1.0)
    return z


def _friction(group: Group, params: AnalysisParams, dp: DrawParams | None) -> Friction:
    lay = group.layers
    lc = group.landcover
    zones = lay["zones"] if dp is None else _drawn_zones(lay["zones"], dp)
    return build_friction(group.grid, params, townships=lay["townships"], roads=lay["roads"],
                          rivers=lay["rivers"], crossings=lay["crossings"], zones=zones,
                          landcover_path=lc[0] if lc else None, landcover_classes=lc[1] if lc else None,
                          landcover_speeds_kmh=lc[2] if lc else None, dem_path=group.dem_path)


def _sources(ci: CaseInput, friction: Friction):
    frame = gpd.GeoDataFrame({"fac_id": ci.fac_ids, "name": ci.fac_ids},
                             geometry=gpd.points_from_xy(ci.fac_x, ci.fac_y), crs=friction.grid.crs)
    rows, cols, ok, _ = locate_sources(frame, friction)
    return rows, cols, ok


def prepare_sweep(spec: SweepSpec, data=None, feedback=None) -> tuple[list[Group], dict]:
    """The groups of a sweep and the village / township frame (``base``) results attach to."""
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.data.project import bundled_project_path, load_project
    from coverage_app.core.data.roles import ANALYSIS_ROLES

    if data is None:
        project = load_project(spec.project_path or bundled_project_path())
        data = load_project_data(project, roles=ANALYSIS_ROLES)  # not the display-only layers
    project = data.project
    facilities = data.role("facilities")
    if facilities is None or len(facilities) == 0:
        raise InputError("the project has no health facilities layer: add one (role 'facilities')")
    villages = data.role("villages")
    if villages is None or len(villages) == 0:
        raise InputError("the project has no villages layer: a sweep reports access per village (role 'villages')")
    grid = analysis_grid(data, spec.base_params)
    townships = data.role("townships")
    vw = villages.geometry.to_crs(grid.crs)
    v_cells = point_cells(vw.x.to_numpy(), vw.y.to_numpy(), grid)
    v_rows, v_cols, v_inside = v_cells
    tsp_code = assign_townships(villages, townships)
    tsp_list = list(townships["pcode"]) if townships is not None else sorted(set(tsp_code.dropna()))
    lookup = {p: i for i, p in enumerate(tsp_list)}
    v_tsp = np.array([lookup.get(p, -1) for p in tsp_code], dtype="int64")
    v_pop = pd.to_numeric(villages["population"], errors="coerce").fillna(0.0).to_numpy("float64") \
        if "population" in villages else np.zeros(len(villages))

    def w(frame):
        return None if frame is None else frame.to_crs(grid.crs)

    base_layers = {r: w(data.role(r)) for r in ("townships", "roads", "rivers", "crossings")}
    zones_all = data.role("conflict_zones")
    lc = data.raster("landcover")
    landcover = (lc.path, lc.options.get("classes"), project.landcover_speeds_kmh) if lc else None
    dem = data.raster("dem")
    groups: dict[tuple, Group] = {}
    case_dates = {}
    for case in spec.cases:
        check(feedback)
        scenario = project.scenario(case.scenario) if case.scenario else None
        if scenario is not None and case.as_of is not None:
            scenario = dict(scenario, as_of=None)  # the case's date wins over the scenario's own
        params = spec.base_params.replace(mode=case.mode, as_of=case.as_of or spec.base_params.as_of)
        as_of = scenario_as_of(params, scenario)
        params = params.replace(as_of=as_of)
        zones = apply_zone_edits(zones_all, scenario)
        valid = zones_valid_on(zones, as_of) if zones is not None else None
        zone_edits = any(e.get("type") in ("add_zone", "remove_zone") for e in (scenario or {}).get("edits", []))
        key = (case.mode, case.scenario if zone_edits else "",
               tuple(sorted(map(str, valid["zone_id"]))) if valid is not None and "zone_id" in valid else ())
        fac, _, _ = facility_table(facilities, params, scenario)
        fw = fac.to_crs(grid.crs)
        ci = CaseInput(case=case, params=params, fac_ids=list(fac["fac_id"].astype(str)),
                       fac_x=fw.geometry.x.to_numpy(), fac_y=fw.geometry.y.to_numpy(),
                       status=fac["status"].to_numpy(object),
                       provides={t: fac[f"provides_{t}"].to_numpy(bool) for t in TIERS},
                       counts={t: fac[f"counts_{t}"].to_numpy(bool) for t in TIERS})
        if key not in groups:
            groups[key] = Group(key=key, mode=case.mode, as_of=as_of, params=params, cases=[],
                                layers=base_layers | {"zones": w(valid)}, landcover=landcover,
                                dem_path=dem.path if dem else None, grid=grid, v_rows=v_rows, v_cols=v_cols,
                                v_inside=v_inside, v_offset=v_cells.offset_m, v_pop=v_pop, v_tsp=v_tsp,
                                n_tsp=len(tsp_list))
        groups[key].cases.append(ci)
        case_dates[case.index] = as_of
    out = list(groups.values())
    for i, g in enumerate(out):
        report(feedback, 0.1 * (i + 1) / len(out), f"Preparing friction group {i + 1} of {len(out)}")
        if not spec.varies_friction:
            g.friction = _friction(g, g.params, None)
            g.prepared = engine.prepare(g.friction.cost_s_per_m, **g.friction.engine_options())
            for ci in g.cases:
                ci.sources = _sources(ci, g.friction)
    zone_ids = sorted(set(map(str, zones_all["zone_id"]))) if zones_all is not None and "zone_id" in zones_all \
        else []
    for s in project.scenarios:
        zone_ids += [str(e["zone_id"]) for e in s.get("edits", []) if e.get("type") == "add_zone"]
    base = {"villages": villages, "townships": townships, "tsp_list": tsp_list, "tsp_code": tsp_code,
            "fac_ids": sorted(set(map(str, facilities["fac_id"]))), "zone_ids": sorted(set(zone_ids)),
            "grid": grid, "project": project, "as_of": case_dates}
    return out, base


# ----------------------------------------------------------------------------- one draw

def run_group_draw(group: Group, dp: DrawParams, tier_threads: int = 2) -> dict:
    """Every case of ``group`` under draw ``dp``. Returns {case index: per-village float32
    minutes ``prim`` / ``sec`` (NaN = not reached), bool ``ok_prim`` / ``ok_sec`` (within the
    drawn thresholds), region share ``share_prim`` / ``share_sec`` (%) and township shares
    ``tsp_prim`` / ``tsp_sec`` (%, NaN without people)} plus ``"seconds"`` for the task.
    ``tier_threads=2`` runs the two tiers' searches side by side (serial sweeps), each split
    over two threads on large grids (the engine's default); a dask worker (``tier_threads=1``)
    runs them one after the other on one thread each (the cluster's parallelism is across tasks)."""
    t0 = time.perf_counter()
    params = _drawn_params(group, dp)
    if group.friction is not None:
        friction, prepared = group.friction, group.prepared
    else:
        friction = _friction(group, params, dp)
        prepared = engine.prepare(friction.cost_s_per_m, **friction.engine_options())
    out = {}
    pop = group.v_pop
    total = pop.sum()
    tsp = group.v_tsp
    has_tsp = tsp >= 0
    tsp_pop = np.bincount(tsp[has_tsp], weights=pop[has_tsp], minlength=group.n_tsp)
    no_go = friction.no_go_cells()  # once per draw, for every case and tier
    for ci in group.cases:
        rows, cols, ok = ci.sources if ci.sources is not None else _sources(ci, friction)
        unknown = ci.status == "unknown"
        cprm = ci.params if not dp.params else ci.params.replace(**dp.params)

        def one(tier):
            counts = ci.counts[tier].copy()
            if dp.functioning:
                drawn = np.array([dp.functioning.get(f, False) for f in ci.fac_ids], bool)
                counts = np.where(unknown, drawn & ci.provides[tier], counts)
            idx = np.flatnonzero(counts & ok)
            if len(idx) == 0:
                return np.full(len(pop), np.nan)
            res = engine.travel_time(friction.cost_s_per_m, friction.grid.cell_size_m, rows[idx], cols[idx],
                                     idx.astype("int32"), neighbours=cprm.neighbours,
                                     max_minutes=cprm.max_minutes, prepared=prepared,
                                     threads=None if tier_threads > 1 else 1, **friction.engine_options())
            mins, _ = sample_cells(res.minutes, res.allocation, group.v_rows, group.v_cols, group.v_inside,
                                   friction.cost_s_per_m, friction.grid.cell_size_m, walk_kmh=params.off_road_kmh(),
                                   offset_m=group.v_offset, no_go=no_go)
            return round_minutes(mins)  # as village_access does

        if tier_threads > 1:
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="sweep-tier") as pool:
                prim, sec = pool.map(one, TIERS)  # the engine releases the GIL: both tiers at once
        else:
            prim, sec = (one(t) for t in TIERS)
        ok_p = prim <= cprm.primary_minutes  # NaN (not reached) is no access
        ok_s = sec <= cprm.secondary_minutes
        rec = {"prim": prim.astype("float32"), "sec": sec.astype("float32"), "ok_prim": ok_p, "ok_sec": ok_s}
        for short, okk in (("prim", ok_p), ("sec", ok_s)):
            rec[f"share_{short}"] = 100.0 * float(pop[okk].sum()) / total if total > 0 else float("nan")
            within = np.bincount(tsp[has_tsp & okk], weights=pop[has_tsp & okk], minlength=group.n_tsp)
            with np.errstate(invalid="ignore", divide="ignore"):
                rec[f"tsp_{short}"] = np.where(tsp_pop > 0, 100.0 * within / tsp_pop, np.nan)
        out[ci.case.index] = rec
    out["seconds"] = time.perf_counter() - t0
    return out


def _group_task(group: Group, dp: dict) -> dict:
    """What a dask worker runs: one draw of one group (``dp`` as :meth:`DrawParams.to_dict`)."""
    return run_group_draw(group, DrawParams(**dp), tier_threads=1)


def _warm_worker() -> dict:
    """Load the engine's kernels from numba's on-disk cache once per worker process (not per
    task); returns the cache statistics (misses = recompilations)."""
    from coverage_app.core.analysis import pipeline

    pipeline.warm_up(edits=False)
    return numba_cache_stats()


def numba_cache_stats() -> dict:
    """Cache hits and misses of the travel kernels compiled in this process (every jitted
    function of the ``coverage_app.core.travel`` modules); a miss is a compilation."""
    import sys

    hits = misses = 0
    missed = []
    for modname, mod in list(sys.modules.items()):
        if not modname.startswith("coverage_app.core.travel") or mod is None:
            continue
        for name, fn in list(vars(mod).items()):
            stats = getattr(fn, "stats", None)
            if stats is not None and hasattr(stats, "cache_hits") and getattr(fn, "__module__", "") == modname:
                hits += sum(stats.cache_hits.values())
                n = sum(stats.cache_misses.values())
                misses += n
                missed += [f"{modname}.{name}"] if n else []
    return {"hits": hits, "misses": misses, "missed": missed, "pid": os.getpid()}


# ----------------------------------------------------------------------------- the sweep

@dataclass
class SweepResult:
    spec: SweepSpec
    cases: list[Case]
    draws: list[DrawParams]
    villages: gpd.GeoDataFrame     # one row per case and village (EPSG:4326)
    townships: gpd.GeoDataFrame    # one row per case and township
    series: pd.DataFrame           # one row per case: region 5/50/95 % shares (the as-of series)
    draw_table: pd.DataFrame       # one row per case and draw: region shares (%)
    raw: dict = field(default_factory=dict)   # case index -> {"prim": (draws, villages) float32, ...}
    timings_s: dict = field(default_factory=dict)
    scheduler: str = SERIAL
    workers: int = 1
    worker_cache: list = field(default_factory=list)


def _percentiles(a: np.ndarray, axis=0, finite_only=False) -> np.ndarray:
    """5/50/95th percentiles along ``axis``. Minutes: NaN (not reached) sorts above every time
    and a percentile that falls on it is NaN (inverted-CDF: always one of the draws' values)."""
    if finite_only:
        return np.nanpercentile(a, PERCENTILES, axis=axis)
    x = np.where(np.isnan(a), np.inf, a.astype("float64"))
    q = np.percentile(x, PERCENTILES, axis=axis, method="inverted_cdf")
    return np.where(np.isfinite(q), q, np.nan)


def _connect(scheduler, workers):
    """A distributed Client: on ``scheduler`` (an address or a Client) or on a new LocalCluster of
    ``workers`` processes (default: one per core) on 127.0.0.1. Returns (client, cluster or None)."""
    from distributed import Client, LocalCluster

    if scheduler is not None and not isinstance(scheduler, str):
        return scheduler, None, False
    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None, True
        except (OSError, TimeoutError) as exc:
            raise InputError(Problem("error", f"cannot reach the dask scheduler at {scheduler} ({exc}); check the "
                                     "address (tcp://HOST:PORT) and that the scheduler is running")) from None
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    return Client(cluster), cluster, True


def run_sweep(spec: SweepSpec, feedback=None, scheduler=None, workers=None, data=None,
              only_draws=None) -> SweepResult:
    """Run a sweep. ``scheduler``: ``"serial"`` (this process), ``None`` (a LocalCluster of
    ``workers`` processes, default one per core; ``workers=0`` means serial), an address
    ``tcp://HOST:PORT`` of a running scheduler, or a ``distributed.Client``. ``only_draws``
    (draw indices) re-runs some draws alone. Results do not depend on where draws ran."""
    t0 = time.perf_counter()
    if workers == 0:
        scheduler = SERIAL
    draw_idx = list(range(spec.draws)) if only_draws is None else [int(k) for k in only_draws]
    for k in draw_idx:
        if not 0 <= k < spec.draws:
            raise InputError(Problem("error", f"draw {k} is not in this sweep (draws 0 to {spec.draws - 1})",
                                     field="draws"))
    groups, base = prepare_sweep(spec, data, feedback)
    t_prep = time.perf_counter() - t0
    dps = [draw_params(spec, k, base["fac_ids"], base["zone_ids"]) for k in draw_idx]
    _check_drawn(spec, groups, dps)
    n_cases, n_v = len(spec.cases), len(base["villages"])
    raw = {c.index: {"prim": np.empty((len(dps), n_v), "float32"), "sec": np.empty((len(dps), n_v), "float32"),
                     "ok_prim": np.empty((len(dps), n_v), bool), "ok_sec": np.empty((len(dps), n_v), bool),
                     "share_prim": np.empty(len(dps)), "share_sec": np.empty(len(dps)),
                     "tsp_prim": np.empty((len(dps), len(base["tsp_list"]))),
                     "tsp_sec": np.empty((len(dps), len(base["tsp_list"])))} for c in spec.cases}
    task_seconds = []
    total = len(groups) * len(dps)

    def store(j, res):
        task_seconds.append(res.pop("seconds"))
        for ci, rec in res.items():
            for name, value in rec.items():
                raw[ci][name][j] = value

    cache = []
    stages = {}
    used_workers = 1
    t1 = time.perf_counter()
    if scheduler == SERIAL:
        done = 0
        for g in groups:
            for j, dp in enumerate(dps):
                check(feedback)
                store(j, run_group_draw(g, dp))
                done += 1
                report(feedback, 0.1 + 0.85 * done / total, f"Draw {done} of {total}")
        where = SERIAL
    else:
        where, used_workers, cache = _run_distributed(groups, dps, scheduler, workers, feedback, store, total, stages)
    t_draws = time.perf_counter() - t1
    report(feedback, 0.96, "Summarising draws")
    result = summarise(spec, base, dps, raw)
    result.scheduler, result.workers, result.worker_cache = where, used_workers, cache
    result.timings_s = {"prepare": t_prep, "draws": t_draws, "total": time.perf_counter() - t0,
                        "task_mean": float(np.mean(task_seconds)) if task_seconds else 0.0,
                        "tasks": len(task_seconds), "groups": len(groups)} | stages
    report(feedback, 1.0, "Done")
    return result


def _run_distributed(groups, dps, scheduler, workers, feedback, store, total, stages):
    from concurrent.futures import CancelledError

    from distributed import wait

    t = time.perf_counter()
    client, cluster, own = _connect(scheduler, workers)
    stages["connect"] = time.perf_counter() - t
    futures = []
    try:
        t = time.perf_counter()
        cache = list(client.run(_warm_worker).values())
        stages["warm"] = time.perf_counter() - t
        n_workers = len(cache)
        report(feedback, 0.1, f"Sending inputs to {n_workers} workers")
        t = time.perf_counter()
        shared = [client.scatter(g, broadcast=True, hash=False) for g in groups]  # once, to every worker
        stages["scatter"] = time.perf_counter() - t
        t = time.perf_counter()
        token = uuid.uuid4().hex[:8]
        where = {}  # task key -> (group, draw position)

        def submit(gi, j, attempt=0):
            key = f"sweep-{token}-{gi}-{dps[j].index}" + (f"-again{attempt}" if attempt else "")
            f = client.submit(_group_task, shared[gi], dps[j].to_dict(), key=key, retries=TASK_RETRIES, pure=False)
            where[f.key] = (gi, j)
            futures.append(f)
            return f

        pending = {submit(gi, j) for gi in range(len(groups)) for j in range(len(dps))}
        done = resent = 0
        while pending:
            if feedback is not None and feedback.cancelled():
                client.cancel(futures, force=True)
                raise Cancelled()
            try:
                finished, pending = wait(pending, timeout=0.25, return_when="FIRST_COMPLETED")
            except TimeoutError:
                continue
            except CancelledError:  # the cancelled ones are still in ``pending``
                finished = set()
            lost = {f for f in finished | pending if f.status == "cancelled"}
            finished, pending = finished - lost, pending - lost
            for f in finished:
                try:
                    res = f.result()
                except CancelledError:  # cancelled since the wait
                    lost.add(f)
                    continue
                store(where[f.key][1], res)
                done += 1
            if lost:
                # A worker died holding the only copy of a group's inputs (dask's memory manager drops
                # the replicas of a broadcast that no queued task needs there): the tasks of that group
                # are cancelled. Send the inputs again and run the draws that were not finished.
                resent += 1
                if resent > TASK_RETRIES:
                    raise InputError(Problem("error", f"{len(lost)} draws were lost with dask workers "
                                             f"{resent} times; check the workers and run the sweep again"))
                for gi in sorted({where[f.key][0] for f in lost}):
                    shared[gi] = client.scatter(groups[gi], broadcast=True, hash=False)
                pending |= {submit(*where[f.key], attempt=resent) for f in lost}
            report(feedback, 0.1 + 0.85 * done / total, f"Draw {done} of {total} on {n_workers} workers")
        stages["run_tasks"] = time.perf_counter() - t
        cache = list(client.run(numba_cache_stats).values())
        return client.scheduler.address, n_workers, cache
    finally:
        if futures:
            client.cancel(futures, force=True)
        if own:
            client.close()
        if cluster is not None:
            cluster.close()


def summarise(spec: SweepSpec, base: dict, dps: list[DrawParams], raw: dict) -> SweepResult:
    """Probabilities and percentiles across draws, per village, township and case."""
    villages, townships = base["villages"], base["townships"]
    vcols = [c for c in ("pcode", "name_en", "name_my") if c in villages]
    v_rows, t_rows, s_rows, d_rows = [], [], [], []
    pop = pd.to_numeric(villages.get("population"), errors="coerce") if "population" in villages else np.nan
    for case in spec.cases:
        r = raw[case.index]
        v = villages[vcols].copy()
        v.insert(0, "case", case.index)
        v["tsp_pcode"] = base["tsp_code"].to_numpy()
        v["pop"] = pop
        v["p_prim"] = r["ok_prim"].mean(axis=0).round(3)
        v["p_sec"] = r["ok_sec"].mean(axis=0).round(3)
        for short in ("prim", "sec"):
            q = _percentiles(r[short])
            for p, row in zip(PERCENTILES, q):
                v[f"{short}_min{p}"] = np.round(row, 1)
        v["geometry"] = villages.geometry.values
        v_rows.append(gpd.GeoDataFrame(v, geometry="geometry", crs=villages.crs))
        t = pd.DataFrame({"case": case.index, "pcode": base["tsp_list"]})
        for short in ("prim", "sec"):
            q = _percentiles(r[f"tsp_{short}"], finite_only=True) if len(r[f"tsp_{short}"]) else None
            for i, p in enumerate(PERCENTILES):
                t[f"{short}_pct{p}"] = np.round(q[i], 1) if q is not None else np.nan
        t_rows.append(t)
        srow = {"case": case.index, "label": case.label, "mode": case.mode,
                "as_of": base["as_of"][case.index].isoformat(), "scenario": case.scenario,
                "draws": len(dps)}
        for short in ("prim", "sec"):
            q = np.percentile(r[f"share_{short}"], PERCENTILES)
            for p, val in zip(PERCENTILES, q):
                srow[f"{short}_pct{p}"] = round(float(val), 2)
        s_rows.append(srow)
        for j, dp in enumerate(dps):
            d_rows.append({"case": case.index, "draw": dp.index, "share_prim": float(r["share_prim"][j]),
                           "share_sec": float(r["share_sec"][j])})
    vil = gpd.GeoDataFrame(pd.concat(v_rows, ignore_index=True), geometry="geometry", crs=villages.crs)
    tsp = pd.concat(t_rows, ignore_index=True)
    if townships is not None:
        tsp = townships[["pcode", "name_en", "geometry"]].merge(tsp, on="pcode", how="right")
        tsp = gpd.GeoDataFrame(tsp, geometry="geometry", crs=townships.crs)
        tsp = tsp[["case", "pcode", "name_en"] + [c for c in tsp if "_pct" in c] + ["geometry"]]
    else:
        tsp = gpd.GeoDataFrame(tsp, geometry=None)
    return SweepResult(spec=spec, cases=spec.cases, draws=dps, villages=vil, townships=tsp,
                       series=pd.DataFrame(s_rows), draw_table=pd.DataFrame(d_rows), raw=raw)
