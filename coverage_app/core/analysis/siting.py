"""Siting: suggest k new primary-care sites that add the most newly covered population.

Greedy maximal covering (Church & ReVelle): each candidate's coverage set is the villages
that could reach it within the primary threshold and are not covered today; pick the
candidate with the largest uncovered population, mark those villages covered, repeat.
Coverage sets come from a bounded search around each candidate on the run's friction
surface, in a window no larger than the fastest possible travel within the threshold, so
each costs a few thousand cells rather than the whole grid.
"""

from __future__ import annotations

import numpy as np
import geopandas as gpd
import pandas as pd

from coverage_app.core.travel import engine
from coverage_app.core.analysis.tables import ROUNDING_SLACK_MIN, point_cells, round_minutes, sample_cells
from coverage_app.core.errors import InputError
from coverage_app.core.feedback import report
from coverage_app.core.results import AnalysisResult

TOBLER_MAX_SPEEDUP = 1.2  # Tobler's walking speed on a gentle descent vs the flat (1.19)


def _window_radius_cells(result: AnalysisResult) -> int:
    speeds = [v for table in result.params.speeds_kmh.values() for v in table.values() if v]
    table = result.params.speeds_kmh[result.params.mode]
    fastest = max([v for v in table.values() if v] + [max(speeds) if table.get("off_road") is None else 0])
    metres = fastest / 3.6 * result.params.primary_minutes * 60 * TOBLER_MAX_SPEEDUP
    return int(np.ceil(metres / result.grid.cell_size_m)) + 2


def site_labels(villages) -> np.ndarray:
    """A village site's label: its name first, then its pcode in brackets (the pcode alone when it
    has no name), so the name shows in a narrow table column and in the added clinic's name."""
    pcode = villages["pcode"].astype(str)
    name = villages["name_en"].astype("string").str.strip() if "name_en" in villages else \
        pd.Series(pd.NA, index=villages.index, dtype="string")
    named = name.notna() & (name != "")
    return np.where(named.to_numpy(bool), (name.fillna("") + " (" + pcode + ")").to_numpy(object),
                    pcode.to_numpy(object))


def candidate_cells(result: AnalysisResult, source: str = "villages", spacing_m: float = 5000.0):
    """Candidate sites as (rows, cols, labels, lon, lat): uncovered villages, or a regular grid of cells."""
    grid = result.grid
    cost = result.friction.cost_s_per_m
    if source == "villages":
        v = result.villages
        uncovered = v[v["gap"].isin(["primary", "both"]) & v["on_grid"]]
        w = uncovered.geometry.to_crs(grid.crs)
        rows, cols, inside = grid.cell_of(w.x.to_numpy(), w.y.to_numpy())
        ok = inside.copy()
        ok[inside] = np.isfinite(cost[rows[inside], cols[inside]])
        labels = site_labels(uncovered)[ok]
        ll = uncovered.geometry.to_crs(4326)[ok]
        return rows[ok], cols[ok], labels, ll.x.to_numpy(), ll.y.to_numpy()
    if source == "grid":
        step = max(1, int(round(spacing_m / grid.cell_size_m)))
        rr, cc = np.mgrid[step // 2:grid.shape[0]:step, step // 2:grid.shape[1]:step]
        rr, cc = rr.ravel(), cc.ravel()
        ok = np.isfinite(cost[rr, cc])
        rr, cc = rr[ok], cc[ok]
        x, y = grid.centre_of(rr, cc)
        ll = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=grid.crs).to_crs(4326)
        labels = np.array([f"cell {r},{c}" for r, c in zip(rr, cc)], dtype=object)
        return rr, cc, labels, ll.x.to_numpy(), ll.y.to_numpy()
    raise InputError(f"unknown candidate source {source!r}: use villages or grid")


def check_siting_options(count: int, spacing_m: float) -> None:
    """InputError for a number of sites below 1 or a grid spacing that is not a positive number of metres."""
    if count < 1:
        raise InputError("the number of sites must be at least 1")
    if isinstance(spacing_m, bool) or not isinstance(spacing_m, (int, float)) or not np.isfinite(spacing_m) \
            or spacing_m <= 0:
        raise InputError(f"the grid candidate spacing must be a positive number of metres (e.g. 5000), not "
                         f"{spacing_m!r}")


def suggest_sites(result: AnalysisResult, count: int = 5, candidates: str = "villages", spacing_m: float = 5000.0,
                  feedback=None) -> gpd.GeoDataFrame:
    """Greedy picks: rank, label, lon/lat, gain (people newly within the primary threshold), villages
    gained, cumulative gain. EPSG:4326 points."""
    check_siting_options(count, spacing_m)
    if result.friction is None:
        raise InputError("siting needs the friction surface of an analysis run")
    params = result.params
    grid = result.grid
    f = result.friction
    v = result.villages
    uncovered = (v["gap"].isin(["primary", "both"]) & v["on_grid"]).to_numpy()
    pop = v["population"].fillna(0.0).to_numpy()
    vw = v.geometry.to_crs(grid.crs)
    cells = point_cells(vw.x.to_numpy(), vw.y.to_numpy(), grid)
    vrows, vcols, vinside = cells
    target = np.flatnonzero(uncovered & vinside)
    rows, cols, labels, lon, lat = candidate_cells(result, candidates, spacing_m)
    if len(rows) == 0 or len(target) == 0:
        return gpd.GeoDataFrame({"rank": [], "site": [], "gain_pop": [], "gain_vil": [], "cum_pop": []},
                                geometry=[], crs=4326)
    radius = _window_radius_cells(result)
    H, W = grid.shape
    covers: list[np.ndarray] = []
    opts = f.engine_options()
    no_go = f.no_go_cells()  # villages there have no access
    for k, (r, c) in enumerate(zip(rows, cols)):
        if k % 200 == 0:
            report(feedback, 0.9 * k / len(rows), f"Candidate sites {k}/{len(rows)}")
        r0, r1 = max(r - radius, 0), min(r + radius + 1, H)
        c0, c1 = max(c - radius, 0), min(c + radius + 1, W)
        near = target[(vrows[target] >= r0) & (vrows[target] < r1) & (vcols[target] >= c0) & (vcols[target] < c1)]
        if len(near) == 0:
            covers.append(near)
            continue
        win = {k2: (None if a is None else a[r0:r1, c0:c1]) for k2, a in opts.items()}
        tt = engine.travel_time(f.cost_s_per_m[r0:r1, c0:c1], grid.cell_size_m, np.array([r - r0]),
                                np.array([c - c0]), np.array([0], "int32"), neighbours=params.neighbours,
                                max_minutes=params.primary_minutes + ROUNDING_SLACK_MIN, **win)  # as rounded
        inside = np.ones(len(near), bool)
        # as a full run with the site added: only villages on barrier cells take a neighbour's time (a
        # village whose own cell lies beyond the cut-off is not reached), minutes rounded as there
        m, _ = sample_cells(tt.minutes, tt.allocation, vrows[near] - r0, vcols[near] - c0, inside,
                            f.cost_s_per_m[r0:r1, c0:c1], grid.cell_size_m, walk_kmh=params.off_road_kmh(),
                            offset_m=cells.offset_m[near], no_go=None if no_go is None else no_go[r0:r1, c0:c1])
        covers.append(near[round_minutes(m) <= params.primary_minutes])
    gained = np.zeros(len(pop), bool)
    picks = []
    cum = 0.0
    for rank in range(1, count + 1):
        gains = np.array([pop[s[~gained[s]]].sum() if len(s) else 0.0 for s in covers])
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break
        newly = covers[best][~gained[covers[best]]]
        gained[newly] = True
        cum += gains[best]
        picks.append({"rank": rank, "site": labels[best], "lon": lon[best], "lat": lat[best],
                      "gain_pop": int(round(gains[best])), "gain_vil": int(len(newly)), "cum_pop": int(round(cum))})
    report(feedback, 1.0, "Sites chosen")
    frame = pd.DataFrame(picks)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326)
