"""Scenarios: the baseline plus edits (DESIGN.md section 3), and their comparison.

A scenario is a plain dict saved in the project file::

    {"name": "Kale hospitals closed", "as_of": "2026-11-01" | None, "edits": [edit, ...]}

Edits (each a dict with a ``type``):
- ``set_status``: ``fac_id``, ``status`` (functioning, partial, closed, destroyed, unknown), ``date``
- ``add_facility``: ``fac_id``, ``name``, ``level``, ``provides_primary``, ``provides_secondary``,
  ``lon``, ``lat`` (EPSG:4326), ``status`` (default functioning), ``date``, optional ``capacity``
- ``add_zone``: ``zone_id``, ``kind``, ``speed_factor``, ``delay_minutes``, ``wkt`` (EPSG:4326),
  ``valid_from``, ``valid_to``
- ``remove_zone``: ``zone_id``

An edit dated after the analysis date is not applied.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage_app.core.analysis.catchments import catchment_polygons, empty_catchments
from coverage_app.core.analysis.edits import apply_facility_edits, apply_zone_edits, validate_edit
from coverage_app.core.results import TIERS
from coverage_app.core.travel import engine

__all__ = ["Comparison", "apply_facility_edits", "apply_zone_edits", "compare", "retabulate", "same_searches",
           "share_outputs", "update_result", "validate_edit"]


@dataclass
class Comparison:
    """Villages whose access changed between a baseline and a scenario, and per-township totals."""

    villages: gpd.GeoDataFrame   # pcode, name_en, township_pcode, population, gap_a, gap_b, change
    townships: pd.DataFrame      # pcode, name_en, pop_lose_prim, pop_gain_prim, pop_lose_sec, pop_gain_sec, ...

    def summary(self) -> dict:
        t = self.townships
        return {k: float(t[k].sum()) for k in ("pop_lose_prim", "pop_gain_prim", "pop_lose_sec", "pop_gain_sec")} | {
            "villages_changed": int(len(self.villages))}


def compare(a, b) -> Comparison:
    """Compare two analysis results (``a`` = baseline, ``b`` = scenario) village by village."""
    keep = ["pcode", "name_en", "township_pcode", "population", "prim_min", "sec_min", "gap", "geometry"]
    va = a.villages[[c for c in keep if c in a.villages]].set_index("pcode")
    vb = b.villages[[c for c in keep if c in b.villages]].set_index("pcode")
    joined = va.join(vb[["prim_min", "sec_min", "gap"]].add_suffix("_b"), how="inner")
    pa = ~joined["gap"].isin(["primary", "both"])
    pb = ~joined["gap_b"].isin(["primary", "both"])
    sa = ~joined["gap"].isin(["secondary", "both"])
    sb = ~joined["gap_b"].isin(["secondary", "both"])
    changes = {
        "loses_primary": pa & ~pb, "gains_primary": ~pa & pb,
        "loses_secondary": sa & ~sb, "gains_secondary": ~sa & sb,
    }
    rows = []
    for change, mask in changes.items():
        part = joined[mask].assign(change=change)
        rows.append(part)
    changed = pd.concat(rows).reset_index().rename(columns={"gap": "gap_a", "prim_min": "prim_min_a",
                                                             "sec_min": "sec_min_a"})
    changed = gpd.GeoDataFrame(changed, geometry="geometry", crs=a.villages.crs)
    pop = changed["population"].fillna(0.0)
    table = (changed.assign(pop=pop).pivot_table(index="township_pcode", columns="change", values="pop",
                                                  aggfunc="sum", fill_value=0.0))
    for change in changes:
        if change not in table:
            table[change] = 0.0
    table = table.rename(columns={"loses_primary": "pop_lose_prim", "gains_primary": "pop_gain_prim",
                                  "loses_secondary": "pop_lose_sec", "gains_secondary": "pop_gain_sec"})
    counts = changed.pivot_table(index="township_pcode", columns="change", values="pcode", aggfunc="count",
                                 fill_value=0)
    for change in changes:
        table[f"vil_{change}"] = counts[change] if change in counts else 0
    table.columns.name = None
    names = a.townships.set_index("pcode")["name_en"] if "name_en" in a.townships else None
    table = table.reset_index().rename(columns={"township_pcode": "pcode"})
    if names is not None:
        table.insert(1, "name_en", table["pcode"].map(names))
    return Comparison(changed, table)


def share_outputs(result) -> None:
    """Get ``result`` ready for what-if edits: each tier's ``minutes`` / ``allocation``
    (float32 minutes, int32 allocation on ``result.grid``) move into memory that the results
    :func:`update_result` derives from it share copy-on-write (engine.share_outputs: Linux,
    large grids; elsewhere nothing changes). Same values, now read-only arrays. Costs about
    one copy of the arrays (~0.3 s at 100 m on Sagaing) so that the first edit does not;
    idempotent (an edited result is already shared)."""
    for tier in result.tiers.values():
        state = tier.engine_state
        if state is None or tier.minutes is not state.minutes or tier.allocation is not state.allocation:
            continue
        if engine.share_outputs(state) is not None:
            tier.minutes, tier.allocation = state.minutes, state.allocation


def update_result(result, data, scenario: dict, edit: dict, feedback=None):
    """Apply one facility edit to ``result`` incrementally (the what-if fast path).

    ``scenario`` already contains ``edit`` as its last edit. Cells served by a closed facility
    are recomputed, a new or reopened facility updates only the cells it improves; the result
    equals a full run of ``run_analysis(data, params, scenario)``. Zone edits and date changes
    need a full run (they change the friction surface): they fall back to it.
    """
    from coverage_app.core.analysis.pipeline import (assemble, facility_table, locate_sources, run_analysis,
                                                     scenario_as_of)

    params = result.params
    if edit.get("type") not in ("set_status", "add_facility") or (
            (scenario or {}).get("as_of") != (result.scenario or {}).get("as_of")) or (
            result.as_of_date is not None and result.as_of_date != scenario_as_of(params, scenario)):
        # another date (or "as of today" counted yesterday): other statuses and zones, a full run
        return run_analysis(data, params, scenario, feedback=feedback)
    fac, problems, assumed = facility_table(data.role("facilities"), params, scenario, data.project.status_ledger,
                                            data.role("townships"))
    friction = result.friction
    fac_w = fac.to_crs(friction.grid.crs)
    rows, cols, ok, loc_problems = locate_sources(fac_w, friction)
    tiers = dict(result.tiers)
    changed: dict[str, list] = {}  # tier -> flat indices of the cells each engine edit changed (None: unknown)
    ids = list(fac_w["fac_id"].astype(str))
    opts = dict(neighbours=params.neighbours, max_minutes=params.max_minutes, **friction.engine_options())
    work = {}  # tier -> [(index, removed?)], the engine edits of each tier
    for tier in TIERS:
        old = result.tiers[tier]
        if ids[: len(old.facility_ids)] != old.facility_ids or old.engine_state is None:
            return run_analysis(data, params, scenario, feedback=feedback)
        kept = result.facilities
        before = dict(zip(kept["fac_id"], kept[f"counts_{tier}"] & kept["on_grid"]))
        after = dict(zip(fac["fac_id"], fac[f"counts_{tier}"].to_numpy(bool) & ok))
        work[tier] = [(i, was) for i, fid in enumerate(ids)
                      if (was := before.get(fid, False)) != after[fid]]

    def edit_tier(tier):
        state, cells = result.tiers[tier].engine_state, []
        for i, removed in work[tier]:
            if removed:
                new_state = engine.remove_source(state, i, friction.cost_s_per_m, friction.grid.cell_size_m, **opts)
            else:
                new_state = engine.add_source(state, int(rows[i]), int(cols[i]), i, friction.cost_s_per_m,
                                              friction.grid.cell_size_m, **opts)
            cells.append(engine.changed_cells(state, new_state))
            state = new_state
        return state, cells

    busy = [tier for tier in TIERS if work[tier]]
    if len(busy) > 1:  # each tier's engine state is its own and the searches release the GIL
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=len(busy), thread_name_prefix="edit") as pool:
            edited = dict(zip(busy, pool.map(edit_tier, busy)))
    else:
        edited = {tier: edit_tier(tier) for tier in busy}
    for tier in TIERS:
        old = result.tiers[tier]
        if tier in edited:
            state, cells = edited[tier]
            tiers[tier] = type(old)(tier, state.minutes, state.allocation, ids, state,
                                    edited=_edited_window(old, cells, friction.grid.shape))
            changed[tier] = cells
        else:
            tiers[tier] = type(old)(tier, old.minutes, old.allocation, ids, old.engine_state)
    out = assemble(data, params, friction.grid, tiers, fac, fac_w, rows, cols, ok, friction,
                   list(problems) + list(loc_problems), assumed, scenario, previous=result)
    out.catchments = _update_catchments(result, out, changed)
    return out


# Parameters that only count and draw the travel times: the searches of two runs that differ in
# nothing else are the same (thresholds and bands in minutes, people served per bed).
TABLE_PARAMS = ("primary_minutes", "secondary_minutes", "band_minutes", "people_per_bed")


def same_searches(result, params, scenario) -> bool:
    """Whether a run of ``params`` and ``scenario`` (on the data ``result`` came from) would search
    exactly ``result``'s travel times: it differs at most in :data:`TABLE_PARAMS`, on the same date."""
    from coverage_app.core.analysis.pipeline import scenario_as_of

    if result is None or result.friction is None or result.village_cells is None:
        return False
    if (scenario or None) != (result.scenario or None):
        return False
    if result.as_of_date is None or result.as_of_date != scenario_as_of(params, scenario):
        return False  # e.g. "as of today" run yesterday: facility statuses and zones may differ
    return params.replace(**{name: getattr(result.params, name) for name in TABLE_PARAMS}) == result.params


def retabulate(result, data, params, feedback=None):
    """``result`` for new thresholds, catchment bands or people per bed (:data:`TABLE_PARAMS`)
    without searching again: the travel-time grids, friction and village cells are shared with
    ``result``, the facility, village, township, capacity and catchment tables are made anew
    (catchments only if the bands changed). Equals ``run_analysis(data, params, result.scenario)``;
    anything else that changed (:func:`same_searches` is False) gets that full run. A result with
    speed-sensitivity ranges gets them re-counted from its low / high runs' village minutes where
    they can give them (:func:`~coverage_app.core.analysis.sensitivity.recount_sensitivity`), else
    none (the app then runs the two cases again)."""
    import time

    from coverage_app.core.analysis.catchments import all_catchments
    from coverage_app.core.analysis.pipeline import assemble, prepare_facilities, run_analysis
    from coverage_app.core.feedback import report

    scenario = result.scenario
    if not same_searches(result, params, scenario):
        return run_analysis(data, params, scenario, feedback=feedback)
    t0 = time.perf_counter()
    report(feedback, 0.1, "Villages and townships")
    friction = result.friction
    fac, fac_w, rows, cols, ok, problems, assumed = prepare_facilities(data, params, scenario, friction)
    tiers = {tier: type(old)(tier, old.minutes, old.allocation, old.facility_ids, old.engine_state)
             for tier, old in result.tiers.items()}
    out = assemble(data, params, friction.grid, tiers, fac, fac_w, rows, cols, ok, friction, problems, assumed,
                   scenario, previous=result)
    t = time.perf_counter()
    report(feedback, 0.6, "Catchments")
    same_bands = tuple(sorted(params.band_minutes)) == tuple(sorted(result.params.band_minutes))
    out.catchments = result.catchments.copy() if same_bands else all_catchments(out, data)
    if result.sensitivity is not None:  # the ranges from the low / high runs' village minutes
        from coverage_app.core.analysis.sensitivity import recount_sensitivity

        out.sensitivity = recount_sensitivity(result.sensitivity, out, data)
    out.timings_s = {"tables": t - t0, "catchments": time.perf_counter() - t, "total": time.perf_counter() - t0}
    report(feedback, 1.0, "Done")
    return out


def _edited_window(parent, cells: list, shape) -> tuple | None:
    """(weakref to ``parent.minutes``, the window bounding the engine's changed ``cells``: flat
    indices into a grid of ``shape``) for :attr:`TierResult.edited`; None if a list is unknown
    (None) or the parent's array cannot be referenced weakly."""
    if any(c is None for c in cells):
        return None
    idx = np.concatenate(cells) if len(cells) > 1 else cells[0]
    try:
        ref = weakref.ref(parent.minutes)
    except TypeError:
        return None
    if not len(idx):
        return ref, ((0, 0), (0, 0))
    W = shape[1]
    cols = idx % W
    return ref, ((int(idx.min()) // W, int(idx.max()) // W + 1), (int(cols.min()), int(cols.max()) + 1))


def _touched_facilities(t_old, t_new, cells: list) -> np.ndarray:
    """Allocation indices of the facilities that lost or gained cells (or whose cells changed
    time) between two tier results; ``cells`` are the engine's changed cells of each edit (a
    None means unknown: the grids are compared in full)."""
    if any(c is None for c in cells):
        diff = (t_old.allocation != t_new.allocation) | ~np.isclose(t_old.minutes, t_new.minutes, equal_nan=True)
        a_old, a_new = t_old.allocation[diff], t_new.allocation[diff]
    else:
        idx = engine.unique_flat(np.concatenate(cells), t_old.allocation.size) if len(cells) > 1 else cells[0]
        a_old, a_new = t_old.allocation.reshape(-1)[idx], t_new.allocation.reshape(-1)[idx]
    # allocations are facility indices (-1: none): a count per index, not a hash-based unique
    n = int(max(a_old.max(initial=-1), a_new.max(initial=-1))) + 2
    seen = np.bincount(a_old.reshape(-1) + 1, minlength=n) + np.bincount(a_new.reshape(-1) + 1, minlength=n)
    return np.flatnonzero(seen[1:]).astype("int64")


def _village_facilities_moved(old, new, tier: str) -> set:
    """fac_ids whose villages' (facility, time band) changed between two results of one tier:
    their catchments' population changes (a village on a barrier cell samples its neighbours)."""
    short = "prim" if tier == "primary" else "sec"
    vo, vn = old.villages, new.villages
    if len(vo) != len(vn):
        return set(vo[f"{short}_fac"].dropna()) | set(vn[f"{short}_fac"].dropna())
    bands = np.asarray(sorted(new.params.band_minutes), dtype="float64")
    bo = np.searchsorted(bands, vo[f"{short}_min"].fillna(np.inf).to_numpy(), side="left")
    bn = np.searchsorted(bands, vn[f"{short}_min"].fillna(np.inf).to_numpy(), side="left")
    fo, fn = vo[f"{short}_fac"].to_numpy(object), vn[f"{short}_fac"].to_numpy(object)
    moved = (bo != bn) | (pd.Series(fo).fillna("").to_numpy() != pd.Series(fn).fillna("").to_numpy())
    return {f for f in np.concatenate([fo[moved], fn[moved]]) if isinstance(f, str)}


def _edit_window(old_polygons, cells, grid):
    """Grid window holding every cell the touched facilities have inside the last band after an
    edit: their old catchment polygons (cells that kept their time) plus the cells the edit
    changed. None (the whole grid) if the changed cells are unknown."""
    if cells is None or any(c is None for c in cells):
        return None
    H, W = grid.shape
    boxes = []
    idx = np.concatenate(cells) if len(cells) else np.zeros(0, "int64")
    if len(idx):
        r, c = idx // W, idx % W
        boxes.append((r.min(), r.max() + 1, c.min(), c.max() + 1))
    if len(old_polygons):
        minx, miny, maxx, maxy = old_polygons.to_crs(grid.crs).total_bounds
        s, x0, y1 = grid.cell_size_m, grid.transform.c, grid.transform.f
        boxes.append((int(np.floor((y1 - maxy) / s)) - 1, int(np.ceil((y1 - miny) / s)) + 1,
                      int(np.floor((minx - x0) / s)) - 1, int(np.ceil((maxx - x0) / s)) + 1))
    if not boxes:
        return ((0, 0), (0, 0))
    r0, r1 = max(min(b[0] for b in boxes), 0), min(max(b[1] for b in boxes), H)
    c0, c1 = max(min(b[2] for b in boxes), 0), min(max(b[3] for b in boxes), W)
    return ((r0, max(r1, r0)), (c0, max(c1, c0)))


def _update_catchments(old, new, changed: dict):
    """Re-polygonise only the facilities whose service area (or its population) changed, each
    within its own cells' window."""

    parts = [old.catchments]
    for tier in TIERS:
        t_old, t_new = old.tiers[tier], new.tiers[tier]
        touched = _touched_facilities(t_old, t_new, changed[tier]) if tier in changed else np.zeros(0, "int64")
        index = {fid: i for i, fid in enumerate(t_new.facility_ids)}
        extra = [index[f] for f in _village_facilities_moved(old, new, tier) if f in index]
        touched = np.union1d(touched, np.asarray(extra, dtype="int64")).astype("int64")
        if not len(touched):
            continue
        ids = [t_new.facility_ids[i] for i in touched]
        mine = (parts[0]["tier"] == tier) & parts[0]["fac_id"].isin(ids)
        window = _edit_window(parts[0][mine], changed.get(tier), new.grid)
        parts[0] = parts[0][~mine]
        parts.append(catchment_polygons(t_new, new.grid, new.params.band_minutes, new.facilities, new.villages,
                                        window=window, only=touched))
    if len(parts) == 1:
        return old.catchments
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty_catchments()
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
