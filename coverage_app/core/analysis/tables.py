"""Village and township tables of one run: minutes per village, gap classes, township sums,
the coverage curve and capacity-aware coverage. Minutes are travel minutes; populations
are people; villages are GeoDataFrames in EPSG:4326.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage_app.core.grid import Grid
from coverage_app.core.params import AnalysisParams
from coverage_app.core.results import TierResult

CURVE_MAX_MINUTES = 240


# a village on an unreached barrier cell takes its time from the nearest ring of cells with a reached
# cell, out to this distance between cell centres (metres): the 8 neighbours at the default 250 m cells,
# at least those at any size, and the same ground at finer cells (at 100 m one ring left villages on
# river banks without access that the 250 m default reaches)
BORROW_REACH_M = 250.0 * 2 ** 0.5


def borrow_rings(cell_size_m: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Row and column offsets (cells) of the cells a point on a barrier cell may take its time from,
    ring by ring (ring k: the cells k steps away in rows or columns): centres within
    :data:`BORROW_REACH_M` metres, and always the 8 neighbours (ring 1)."""
    reach2 = max(2.0, (BORROW_REACH_M / float(cell_size_m)) ** 2) + 1e-9
    k = int(np.floor(np.sqrt(reach2)))
    dr, dc = np.mgrid[-k:k + 1, -k:k + 1]
    ring = np.maximum(np.abs(dr), np.abs(dc))
    keep = (dr ** 2 + dc ** 2 <= reach2) & (ring > 0)
    return [(dr[keep & (ring == i)], dc[keep & (ring == i)]) for i in range(1, k + 1)]


class VillageCells(tuple):
    """(rows, cols, inside) of points on a grid, unpacked like the tuple of :meth:`Grid.cell_of`,
    with ``offset_m``: each point's (east, north) offset from its cell's centre (metres), which
    gives the walk from a neighbouring cell a point on a barrier cell takes its time from."""

    def __new__(cls, rows, cols, inside, offset_m=None):
        cells = super().__new__(cls, (rows, cols, inside))
        cells.offset_m = offset_m
        return cells

    def __reduce__(self):  # pickle and copy rebuild it from its four parts (a result is copied whole)
        return VillageCells, (*self, self.offset_m)


# a time at most this much above a threshold (minutes) rounds to within it (float noise, see round_minutes)
ROUNDING_SLACK_MIN = 1e-4


def round_minutes(minutes) -> np.ndarray:
    """Travel minutes as the tables give them: rounded UP to 0.1 min (float noise below 1e-4 min
    ignored), so that a rounded time is within a threshold given in tenths of a minute (60, 120,
    45.5) exactly when the unrounded one is, as on the travel-time rasters and the catchment
    polygons (to within 5e-5 min). Rounding to nearest put 60.013 min inside a 60 min threshold."""
    return np.ceil(np.round(np.asarray(minutes, dtype="float64") * 10.0, 3)) / 10.0


def sample_cells(minutes: np.ndarray, alloc: np.ndarray, rows, cols, inside, cost=None,
                 cell_size_m: float = 250.0, walk_kmh: float | None = None,
                 offset_m: np.ndarray | None = None,
                 no_go: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Minutes (unrounded) and allocation at each point's cell. A point on an unreached barrier cell
    (a village on a river bank, on impassable land cover) takes its time from a reached cell
    within :data:`BORROW_REACH_M` of its cell (``cell_size_m``: the grid's cell, metres), plus the
    way from that cell's centre to the point at ``walk_kmh`` (km/h; the mode's off-road speed,
    ``params.off_road_kmh()``): the cell giving the earliest arrival. ``offset_m`` ((n, 2), metres
    east and north of the cell centre, :class:`VillageCells`) places each point in its cell; without
    it the way is counted from centre to centre. Without ``walk_kmh`` no way is added and the
    fastest cell of the nearest ring with a reached cell is taken (at 250 m: of the 8 neighbours).
    With ``cost`` (the friction, s/m) only barrier cells (infinite cost) borrow: a passable cell left
    unreached by a search cut-off is beyond the cut-off, and so is the point (a neighbour's time would
    claim access the point does not have). A point on a cell of ``no_go`` (bool, the cells of an
    in-force no-go zone) borrows nothing: no-go zones are impassable, for the people inside them too.
    Off the grid or where no such cell is reached: NaN minutes and allocation -1."""
    out_t = np.full(len(rows), np.nan, dtype="float64")
    out_a = np.full(len(rows), -1, dtype="int64")
    r, c = rows[inside], cols[inside]
    vals_t = minutes[r, c].astype("float64")
    vals_a = alloc[r, c].astype("int64")
    missing = np.isnan(vals_t)  # the engine leaves NaN exactly where allocation is -1
    if cost is not None:
        missing &= ~np.isfinite(cost[r, c])
    if no_go is not None:
        missing &= ~no_go[r, c]
    H, W = minutes.shape
    idx = np.flatnonzero(missing)
    if walk_kmh is not None and not float(walk_kmh) > 0:  # no way off the reached cells: nothing to borrow
        idx = idx[:0]
    if len(idx):
        mr, mc = r[idx], c[idx]
        if offset_m is not None:
            dx, dy = (np.asarray(offset_m, dtype="float64")[inside][idx].T)
        else:
            dx = dy = np.zeros(len(idx))
        min_per_m = None if walk_kmh is None else 60.0 / (1000.0 * float(walk_kmh))
        best_t = np.full(len(idx), np.inf)
        best_a = np.full(len(idx), -1, dtype="int64")
        for ring_dr, ring_dc in borrow_rings(cell_size_m):
            # nearest-ring rule (no walk): a point found in an inner ring keeps that ring's time
            open_ = ~np.isfinite(best_t) if min_per_m is None else True
            for dr, dc in zip(ring_dr, ring_dc):
                rr, cc = mr + dr, mc + dc
                on = (rr >= 0) & (rr < H) & (cc >= 0) & (cc < W)
                rr, cc = np.clip(rr, 0, H - 1), np.clip(cc, 0, W - 1)
                t = np.where(np.isnan(minutes[rr, cc]) | ~on, np.inf, minutes[rr, cc])
                if min_per_m is not None:  # from that cell's centre to the point
                    t = t + np.hypot(dc * cell_size_m - dx, -dr * cell_size_m - dy) * min_per_m
                better = (t < best_t) & open_
                best_t[better] = t[better]
                best_a[better] = alloc[rr, cc][better]
            if min_per_m is None and np.isfinite(best_t).all():
                break  # nearest-ring rule: every point found a cell
        found = np.isfinite(best_t)
        vals_t[idx[found]] = best_t[found]
        vals_a[idx[found]] = best_a[found]
    out_t[inside] = vals_t
    out_a[inside] = vals_a
    return out_t, out_a


def gap_class(prim_min, sec_min, params: AnalysisParams) -> np.ndarray:
    no_p = ~(prim_min <= params.primary_minutes)  # NaN (unreachable) counts as no access
    no_s = ~(sec_min <= params.secondary_minutes)
    return np.select([no_p & no_s, no_p, no_s], ["both", "primary", "secondary"], "none").astype(object)


def village_cells(villages: gpd.GeoDataFrame, grid: Grid) -> VillageCells:
    """Row, column and on-grid flag of each village's cell on ``grid`` (villages in any CRS,
    reprojected to the grid's working CRS), with each village's offset from its cell's centre."""
    vw = villages.geometry.to_crs(grid.crs)
    return point_cells(vw.x.to_numpy(), vw.y.to_numpy(), grid)


def point_cells(x, y, grid: Grid) -> VillageCells:
    """:class:`VillageCells` of points given in the grid's working CRS (metres)."""
    rows, cols, inside = grid.cell_of(x, y)
    cx, cy = grid.centre_of(rows, cols)
    return VillageCells(rows, cols, inside, np.column_stack([np.asarray(x, "float64") - cx,
                                                             np.asarray(y, "float64") - cy]))


def village_access(villages: gpd.GeoDataFrame, grid: Grid, tiers: dict[str, TierResult], params,
                   cost: np.ndarray | None = None, cells=None, no_go=None) -> gpd.GeoDataFrame:
    """Minutes (:func:`round_minutes`) and nearest facility of each village, per tier; ``cost`` is the
    run's friction (s/m), so that only villages on barrier cells take a neighbour's time, ``no_go`` as in
    :func:`sample_cells`. ``cells``: :func:`village_cells` of ``villages`` if already known."""
    v = villages.copy()
    cells = village_cells(v, grid) if cells is None else cells
    v["on_grid"] = cells[2]
    set_village_times(v, cells, tiers, params, cost, grid.cell_size_m, no_go)
    if "population" not in v:
        v["population"] = np.nan
    return v


def set_village_times(v: gpd.GeoDataFrame, cells, tiers: dict[str, TierResult], params,
                      cost: np.ndarray | None, cell_size_m: float, no_go: np.ndarray | None = None) -> None:
    """Write (in place) the columns of ``v`` that depend on the travel times: ``prim_min``,
    ``prim_fac``, ``sec_min``, ``sec_fac`` (minutes, :func:`round_minutes`; fac_id), ``reachable`` and
    ``gap``; ``cells`` = :func:`village_cells` of ``v`` on the grid of ``tiers`` (cells of
    ``cell_size_m`` metres); ``cost`` and ``no_go`` as in :func:`sample_cells`, and a village on a
    barrier cell walks from the cell it borrows from at ``params.off_road_kmh()``. Existing columns
    keep their place."""
    rows, cols, inside = cells
    for tier, short in (("primary", "prim"), ("secondary", "sec")):
        t = tiers[tier]
        mins, alloc = sample_cells(t.minutes, t.allocation, rows, cols, inside, cost, cell_size_m,
                                   walk_kmh=params.off_road_kmh(), offset_m=getattr(cells, "offset_m", None),
                                   no_go=no_go)
        ids = np.array(t.facility_ids + [None], dtype=object)
        v[f"{short}_min"] = round_minutes(mins)
        v[f"{short}_fac"] = ids[np.where(alloc >= 0, alloc, len(t.facility_ids))]
    v["reachable"] = v["on_grid"] & (v["prim_min"].notna() | v["sec_min"].notna())
    v["gap"] = gap_class(v["prim_min"].to_numpy(), v["sec_min"].to_numpy(), params)


def village_zones(villages: gpd.GeoDataFrame, zones: gpd.GeoDataFrame | None, as_of) -> pd.Series:
    """Kind (``no_go``, ``restricted``, ``risk``, ...) of the conflict zone in force on ``as_of`` that
    each village lies in; where zones overlap, the most restrictive (lowest speed factor, as the
    friction burns them); None outside every zone. Any CRS (zones are taken to the villages')."""
    import shapely

    from coverage_app.core.travel.friction import zones_valid_on

    kinds = np.full(len(villages), None, dtype=object)
    valid = zones_valid_on(zones, as_of) if zones is not None and len(zones) and len(villages) else None
    if valid is None or len(valid) == 0:
        return pd.Series(kinds, index=villages.index, dtype=object)
    if valid.crs is not None and villages.crs is not None and not valid.crs.equals(villages.crs):
        valid = valid.to_crs(villages.crs)
    factor = pd.to_numeric(valid["speed_factor"], errors="coerce").fillna(1.0).to_numpy("float64") \
        if "speed_factor" in valid else np.ones(len(valid))
    kind = valid["kind"].astype(object).where(valid["kind"].notna(), "zone").to_numpy(object) \
        if "kind" in valid else np.full(len(valid), "zone", dtype=object)
    hit_village, hit_zone = shapely.STRtree(valid.geometry.values).query(villages.geometry.values,
                                                                          predicate="within")
    if len(hit_village):
        order = np.lexsort((factor[hit_zone], hit_village))  # per village, the lowest speed factor first
        hit_village, hit_zone = hit_village[order], hit_zone[order]
        first = np.r_[True, hit_village[1:] != hit_village[:-1]]
        kinds[hit_village[first]] = kind[hit_zone[first]]
    return pd.Series(kinds, index=villages.index, dtype=object)


def assign_townships(villages: gpd.GeoDataFrame, townships: gpd.GeoDataFrame | None) -> pd.Series:
    """Township pcode of each village: its own field where present, else the township it lies in."""
    if "township_pcode" in villages:
        have = villages["township_pcode"].astype(object)
    else:  # no township field (e.g. a Shapefile that cut the name): every village is placed by location
        have = pd.Series(None, index=villages.index, dtype=object)
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
    """Per township: villages, people (villages' population), people within the primary and
    secondary thresholds (minutes) and their percentages, villages beyond each threshold."""
    fast = _township_summary_counts(villages, townships, params)
    if fast is not None:
        return fast
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


_SUMMARY_COLUMNS = ["pcode", "name_en", "name_my", "census_pop", "n_villages", "pop", "pop_prim", "pct_prim",
                    "pop_sec", "pct_sec", "vil_noprim", "vil_nosec", "geometry"]


def _township_summary_counts(villages, townships, params):
    """:func:`township_summary` by counting into the townships' rows (numpy ``bincount``) instead
    of a pandas group-by and merge (~25 ms of pandas overhead per call on 37 townships, paid on
    every what-if edit). The same table, value for value: only where every population is a whole
    number of people (then any order of summation is exact) and the township pcodes are unique
    and present; None otherwise (the group-by path)."""
    if townships is None or len(villages) == 0 or not len(townships):
        return None
    pop = villages["population"].fillna(0.0).to_numpy(dtype="float64")
    if not (np.all(pop == np.round(pop)) and np.abs(pop).sum() < 2.0 ** 52):
        return None
    pcodes = pd.Index(townships["pcode"])
    if pcodes.hasnans or not pcodes.is_unique:
        return None
    code = pcodes.get_indexer(villages["township_pcode"])
    have = code >= 0
    code, pop = code[have], pop[have]
    n = len(pcodes)
    ok_p = (villages["prim_min"].to_numpy() <= params.primary_minutes)[have]
    ok_s = (villages["sec_min"].to_numpy() <= params.secondary_minutes)[have]
    n_villages = np.bincount(code, minlength=n)
    people = np.bincount(code, weights=pop, minlength=n)
    out = townships[["pcode", "name_en"] + [c for c in ("name_my", "population") if c in townships] +
                    ["geometry"]].rename(columns={"population": "census_pop"}).reset_index(drop=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=townships.crs)
    out["n_villages"] = n_villages.astype("int64")
    out["pop"] = np.round(people).astype("int64")
    for short, ok in (("prim", ok_p), ("sec", ok_s)):
        served = np.bincount(code, weights=np.where(ok, pop, 0.0), minlength=n)
        out[f"pop_{short}"] = np.round(served).astype("int64")
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"pct_{short}"] = np.round(np.where(people > 0, 100 * served / np.where(people > 0, people, np.nan),
                                                    np.nan), 1)
    out["vil_noprim"] = np.bincount(code, weights=~ok_p, minlength=n).astype("int64")
    out["vil_nosec"] = np.bincount(code, weights=~ok_s, minlength=n).astype("int64")
    return out[[c for c in _SUMMARY_COLUMNS if c in out]]


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



def has_capacities(facilities: pd.DataFrame) -> bool:
    """Whether any facility has a capacity (people): then :func:`capacity_coverage` applies."""
    return "capacity" in facilities and facilities["capacity"].notna().sum() > 0


def capacity_coverage(villages: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, params=None, tier: str = "primary"):
    """AccessMod-style geographic coverage with capacity. Only villages within the tier's threshold
    (minutes) draw on a facility: each facility with a capacity (people) takes the population of the
    villages allocated to it within the threshold, nearest first, until full. ``served_pop``: people
    within the threshold and within their facility's capacity (no capacity = no limit);
    ``unserved_pop``: people within the threshold beyond it; villages beyond the threshold have
    neither (they lack access). Returns (villages with both columns, per-township table of
    ``pop_within``, ``served_pop``, ``unserved_pop``) or (None, None) without capacities."""
    if not has_capacities(facilities):
        return None, None
    short = "prim" if tier == "primary" else "sec"
    threshold = getattr(params, f"{tier}_minutes", None) if params is not None else None
    threshold = float("inf") if threshold is None else float(threshold)
    cap = facilities.set_index("fac_id")["capacity"].dropna().astype(float)
    v = villages.copy()
    pop = v["population"].fillna(0.0)
    within = v[f"{short}_fac"].notna() & (v[f"{short}_min"] <= threshold)
    served = pop.where(within, 0.0).copy()
    limited = within & v[f"{short}_fac"].isin(cap.index)
    # nearest first, each village takes what its facility has left: with people >= 0 that is
    # min(people, max(capacity - people of the nearer villages, 0)), per facility at once
    near = v[limited].sort_values(f"{short}_min", kind="stable")
    people = pop[near.index].clip(lower=0.0)
    nearer = people.groupby(near[f"{short}_fac"].to_numpy(), sort=False).cumsum() - people
    left = (near[f"{short}_fac"].map(cap).to_numpy(float) - nearer.to_numpy()).clip(min=0.0)
    served[near.index] = np.minimum(pop[near.index].to_numpy(float), left)
    v["served_pop"] = served.round()
    v["unserved_pop"] = (pop.where(within, 0.0) - served).round()
    table = v.assign(pop_within=pop.where(within, 0.0).round()).groupby("township_pcode")[
        ["pop_within", "served_pop", "unserved_pop"]].sum().reset_index()
    return v, table
