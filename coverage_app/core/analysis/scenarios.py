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

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import InputError, Problem
from .roles import FACILITY_STATUSES


def _applies(edit: dict, as_of: dt.date) -> bool:
    date = edit.get("date")
    return not date or dt.date.fromisoformat(str(date)[:10]) <= as_of


def validate_edit(edit: dict, fac_ids=None) -> None:
    kind = edit.get("type")
    if kind == "set_status":
        if edit.get("status") not in FACILITY_STATUSES:
            raise InputError(f"scenario edit: status must be one of {', '.join(FACILITY_STATUSES)}, "
                             f"not {edit.get('status')!r}")
        if fac_ids is not None and edit.get("fac_id") not in fac_ids:
            raise InputError(f"scenario edit: no facility with id {edit.get('fac_id')!r}")
    elif kind == "add_facility":
        for key in ("fac_id", "name", "lon", "lat"):
            if edit.get(key) in (None, ""):
                raise InputError(f"scenario edit: a new facility needs '{key}'")
        if fac_ids is not None and edit["fac_id"] in fac_ids:
            raise InputError(f"scenario edit: facility id {edit['fac_id']!r} is already used")
    elif kind in ("add_zone", "remove_zone"):
        if not edit.get("zone_id"):
            raise InputError("scenario edit: a zone edit needs 'zone_id'")
    else:
        raise InputError(f"scenario edit: unknown type {kind!r}")


def apply_facility_edits(fac: gpd.GeoDataFrame, scenario: dict | None, as_of: dt.date) -> gpd.GeoDataFrame:
    if not scenario:
        return fac
    fac = fac.copy()
    new_rows = []
    for edit in scenario.get("edits", []):
        validate_edit(edit)
        if not _applies(edit, as_of):
            continue
        if edit["type"] == "set_status":
            hit = fac["fac_id"] == edit["fac_id"]
            if not hit.any():
                hit_new = [r for r in new_rows if r["fac_id"] == edit["fac_id"]]
                if not hit_new:
                    raise InputError(f"scenario '{scenario.get('name')}': no facility with id {edit['fac_id']!r}")
                for r in hit_new:
                    r["status"] = edit["status"]
                continue
            fac.loc[hit, "status"] = edit["status"]
            fac.loc[hit, "status_date"] = edit.get("date")
        elif edit["type"] == "add_facility":
            level = edit.get("level") or "Mobile clinic"
            secondary = bool(edit.get("provides_secondary", False))
            new_rows.append({
                "fac_id": str(edit["fac_id"]), "name": edit["name"], "level": level,
                "provides_primary": bool(edit.get("provides_primary", True)), "provides_secondary": secondary,
                "status": edit.get("status", "functioning"), "status_date": edit.get("date"),
                "operator": edit.get("operator"), "capacity": edit.get("capacity"), "is_new": True,
                "geometry": shapely.Point(float(edit["lon"]), float(edit["lat"])),
            })
    if new_rows:
        added = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=4326).to_crs(fac.crs)
        fac = gpd.GeoDataFrame(pd.concat([fac, added], ignore_index=True), geometry="geometry", crs=fac.crs)
    return fac


def apply_zone_edits(zones: gpd.GeoDataFrame | None, scenario: dict | None) -> gpd.GeoDataFrame | None:
    if not scenario:
        return zones
    edits = [e for e in scenario.get("edits", []) if e.get("type") in ("add_zone", "remove_zone")]
    if not edits:
        return zones
    frame = zones.copy() if zones is not None else gpd.GeoDataFrame(
        {"zone_id": [], "kind": [], "speed_factor": [], "delay_minutes": [], "valid_from": [], "valid_to": []},
        geometry=[], crs=4326)
    for edit in edits:
        if edit["type"] == "remove_zone":
            frame = frame[frame["zone_id"] != edit["zone_id"]]
        else:
            row = gpd.GeoDataFrame([{
                "zone_id": edit["zone_id"], "kind": edit.get("kind", "restricted"),
                "speed_factor": float(edit.get("speed_factor", 0.5)),
                "delay_minutes": float(edit.get("delay_minutes", 0.0)),
                "valid_from": edit.get("valid_from"), "valid_to": edit.get("valid_to"),
                "geometry": shapely.from_wkt(edit["wkt"])}], geometry="geometry", crs=4326).to_crs(frame.crs)
            frame = gpd.GeoDataFrame(pd.concat([frame, row], ignore_index=True), geometry="geometry", crs=frame.crs)
    return frame


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


def update_result(result, data, scenario: dict, edit: dict, feedback=None):
    """Apply one facility edit to ``result`` incrementally (the what-if fast path).

    ``scenario`` already contains ``edit`` as its last edit. Cells served by a closed facility
    are recomputed, a new or reopened facility updates only the cells it improves; the result
    equals a full run of ``run_analysis(data, params, scenario)``. Zone edits and date changes
    need a full run (they change the friction surface): they fall back to it.
    """
    from . import engine
    from .analysis import (all_catchments, assemble, catchment_polygons, facility_table, locate_sources,
                           run_analysis)
    from .results import TIERS

    params = result.params
    if edit.get("type") not in ("set_status", "add_facility") or (
            (scenario or {}).get("as_of") != (result.scenario or {}).get("as_of")):
        return run_analysis(data, params, scenario, feedback=feedback)
    fac, problems, assumed = facility_table(data.role("facilities"), params, scenario)
    friction = result.friction
    fac_w = fac.to_crs(friction.grid.crs)
    rows, cols, ok, loc_problems = locate_sources(fac_w, friction)
    tiers = dict(result.tiers)
    changed: dict[str, list] = {}  # tier -> flat indices of the cells each engine edit changed (None: unknown)
    ids = list(fac_w["fac_id"].astype(str))
    opts = dict(neighbours=params.neighbours, max_minutes=params.max_minutes, **friction.engine_options())
    for tier in TIERS:
        old = result.tiers[tier]
        before = dict(zip(result.facilities["fac_id"], result.facilities[f"counts_{tier}"] & result.facilities["on_grid"]))
        after = dict(zip(fac["fac_id"], fac[f"counts_{tier}"].to_numpy(bool) & ok))
        if ids[: len(old.facility_ids)] != old.facility_ids or old.engine_state is None:
            return run_analysis(data, params, scenario, feedback=feedback)
        state = old.engine_state
        cells = []
        for i, fid in enumerate(ids):
            was, now = before.get(fid, False), after[fid]
            if was and not now:
                new_state = engine.remove_source(state, i, friction.cost_s_per_m, friction.grid.cell_size_m, **opts)
            elif now and not was:
                new_state = engine.add_source(state, int(rows[i]), int(cols[i]), i, friction.cost_s_per_m,
                                              friction.grid.cell_size_m, **opts)
            else:
                continue
            cells.append(engine.changed_cells(state, new_state))
            state = new_state
        if cells:
            tiers[tier] = type(old)(tier, state.minutes, state.allocation, ids, state)
            changed[tier] = cells
        else:
            tiers[tier] = type(old)(tier, old.minutes, old.allocation, ids, old.engine_state)
    out = assemble(data, params, friction.grid, tiers, fac, fac_w, rows, cols, ok, friction,
                   list(problems) + list(loc_problems), assumed, scenario)
    out.catchments = _update_catchments(result, out, changed)
    return out


def _touched_facilities(t_old, t_new, cells: list) -> np.ndarray:
    """Allocation indices of the facilities that lost or gained cells (or whose cells changed
    time) between two tier results; ``cells`` are the engine's changed cells of each edit (a
    None means unknown: the grids are compared in full)."""
    if any(c is None for c in cells):
        diff = (t_old.allocation != t_new.allocation) | ~np.isclose(t_old.minutes, t_new.minutes, equal_nan=True)
        a_old, a_new = t_old.allocation[diff], t_new.allocation[diff]
    else:
        idx = np.unique(np.concatenate(cells)) if len(cells) > 1 else cells[0]
        a_old, a_new = t_old.allocation.reshape(-1)[idx], t_new.allocation.reshape(-1)[idx]
    touched = np.union1d(np.unique(a_old), np.unique(a_new))
    return touched[touched >= 0]


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
    from .analysis import catchment_polygons
    from .results import TIERS

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
        from .analysis import _empty_catchments

        return _empty_catchments()
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)
