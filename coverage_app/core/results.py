"""What one analysis run produces (DESIGN.md section 3). Views, exports and prints read these.

All vector tables are GeoDataFrames in EPSG:4326 unless a name says otherwise; rasters are
numpy arrays on :attr:`AnalysisResult.grid` (working CRS, metres). Times are minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage_app.core.errors import Problem
from coverage_app.core.grid import Grid
from coverage_app.core.params import AnalysisParams

TIERS = ("primary", "secondary")
GAP_CLASSES = ("none", "primary", "secondary", "both")


@dataclass
class TierResult:
    """Travel time to the nearest counting facility of one tier."""

    tier: str
    minutes: np.ndarray          # float32 (rows, cols); NaN = unreachable / outside the study area
    allocation: np.ndarray       # int32 (rows, cols); index into ``facility_ids``; -1 = none
    facility_ids: list[str]      # fac_id of each allocation index
    engine_state: object = None  # the engine's result, for incremental what-if edits
    # a what-if edit's result: (weakref to the parent's ``minutes``, ((r0, r1), (c0, c1)) bounding
    # every cell whose minutes or allocation may differ from the parent's); None otherwise
    edited: tuple | None = None


@dataclass
class AnalysisResult:
    params: AnalysisParams
    grid: Grid
    tiers: dict[str, TierResult]
    villages: gpd.GeoDataFrame   # canonical fields + prim_min, prim_fac, sec_min, sec_fac, gap, on_grid
    townships: gpd.GeoDataFrame  # pcode, name_en, name_my, pop (villages), census_pop, pop_prim, pct_prim,
                                 # pop_sec, pct_sec, vil_noprim, vil_nosec, n_villages
    catchments: gpd.GeoDataFrame  # tier, fac_id, fac_name, level, band_min, area_km2, pop
    facilities: gpd.GeoDataFrame  # canonical fields + counts_primary, counts_secondary, on_grid, ref_min
    curve: pd.DataFrame           # minutes (0..240), primary_share, secondary_share (0..1)
    problems: list[Problem] = field(default_factory=list)
    assumed_unknown: int = 0      # facilities of unknown status counted as functioning
    capacity: pd.DataFrame | None = None  # per township: unserved population (capacity-aware run)
    population_basis: dict | None = None  # what the shares are shares of (core.data.population.basis)
    population_grid: np.ndarray | None = None  # people per cell (role population); then shares use the grid
    timings_s: dict = field(default_factory=dict)
    friction: object = None       # the Friction used (for incremental edits and exports)
    scenario: dict | None = None  # the scenario this result reflects (None = baseline)
    sensitivity: dict | None = None  # low/central/high speed ranges (analysis/sensitivity.py), or None
    village_cells: tuple | None = None  # (rows, cols, inside) of each village on ``grid``, for what-if edits
    as_of_date: object = None     # datetime.date the run counted facilities and zones on (None: unknown)

    def headline(self) -> dict:
        """Key figures for the region: population and villages without primary/secondary care. With a
        population grid (role ``population``) the people and shares are the grid's: people per cell x
        the cell's travel time; village counts stay the villages'."""
        return self._village_headline() | self._grid_headline()

    def _grid_headline(self) -> dict:
        if self.population_grid is None:
            return {}
        people = self.population_grid.astype("float64")
        total = float(people.sum())
        out = {"population": total}
        for tier, limit in (("primary", self.params.primary_minutes), ("secondary", self.params.secondary_minutes)):
            served = float(people[self.tiers[tier].minutes <= limit].sum())
            out[f"pop_no_{tier}"] = total - served
            out[f"share_{tier}"] = served / total if total else float("nan")
        return out

    def _village_headline(self) -> dict:
        v = self.villages
        pop = float(v["population"].fillna(0).sum())
        no_prim = v["gap"].isin(["primary", "both"])
        no_sec = v["gap"].isin(["secondary", "both"])
        in_zone = v["zone"].notna() if "zone" in v else None  # in a conflict zone in force (travel slowed)
        return {
            "population": pop,
            "villages": int(len(v)),
            "pop_no_primary": float(v.loc[no_prim, "population"].fillna(0).sum()),
            "pop_no_secondary": float(v.loc[no_sec, "population"].fillna(0).sum()),
            "villages_no_primary": int(no_prim.sum()),
            "villages_no_secondary": int(no_sec.sum()),
            "share_primary": (1 - float(v.loc[no_prim, "population"].fillna(0).sum()) / pop) if pop else float("nan"),
            "share_secondary": (1 - float(v.loc[no_sec, "population"].fillna(0).sum()) / pop) if pop else float("nan"),
            "facilities_counted_primary": int(self.facilities["counts_primary"].sum()),
            "facilities_counted_secondary": int(self.facilities["counts_secondary"].sum()),
            "assumed_unknown": self.assumed_unknown,
            # capacity-aware (None without capacities): people within the primary threshold and within
            # their facility's capacity, and their share of the population
            "pop_in_zones": float(v.loc[in_zone, "population"].fillna(0).sum()) if in_zone is not None else None,
            "pop_in_zones_no_primary": float(v.loc[in_zone & no_prim, "population"].fillna(0).sum())
            if in_zone is not None else None,
            "pop_served_capacity": float(v["served_pop"].sum()) if "served_pop" in v else None,
            "share_served_capacity": (float(v["served_pop"].sum()) / pop if pop else float("nan"))
            if "served_pop" in v else None,
        }
