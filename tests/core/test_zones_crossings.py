"""Conflict zones combine as the most restrictive; rivers, bridges and the cuts left open."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from coverage_app.core.grid import Grid
from coverage_app.core.params import AnalysisParams
from coverage_app.core.travel.friction import KMH_TO_MS, build_friction

UTM = 32646
GRID = Grid(CRS(UTM), Affine(100.0, 0, 0.0, 0, -100.0, 10_000.0), (100, 100))  # 10 km square, 100 m cells


def zones_frame(rows):
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=UTM)


RISK = {"zone_id": "RK", "kind": "risk", "speed_factor": 0.8, "delay_minutes": 10.0,
        "geometry": shapely.box(1000, 1000, 7000, 7000)}
RESTRICTED = {"zone_id": "RS", "kind": "restricted", "speed_factor": 0.5, "delay_minutes": 30.0,
              "geometry": shapely.box(4000, 4000, 9000, 9000)}


@pytest.mark.parametrize("order", [(RISK, RESTRICTED), (RESTRICTED, RISK)], ids=["risk-first", "restricted-first"])
def test_overlapping_zones_take_slowest_factor_and_largest_delay_in_either_order(order):
    params = AnalysisParams(cell_size_m=100.0)
    fr = build_friction(GRID, params, zones=zones_frame(list(order)))
    walk_cost = 1 / (3.0 * KMH_TO_MS)  # off-road walking, s/m
    overlap = GRID.cell_of([5500], [5500])[:2]
    risk_only = GRID.cell_of([2000], [2000])[:2]
    restricted_only = GRID.cell_of([8500], [8500])[:2]
    outside = GRID.cell_of([500], [9500])[:2]
    cost = fr.cost_s_per_m
    assert cost[overlap][0] == pytest.approx(walk_cost / 0.5, rel=1e-5)
    assert cost[risk_only][0] == pytest.approx(walk_cost / 0.8, rel=1e-5)
    assert cost[restricted_only][0] == pytest.approx(walk_cost / 0.5, rel=1e-5)
    assert cost[outside][0] == pytest.approx(walk_cost, rel=1e-5)
    assert fr.entry_delay_s[overlap][0] == pytest.approx(30 * 60)
    assert fr.entry_delay_s[risk_only][0] == pytest.approx(10 * 60)
    assert fr.entry_delay_s[restricted_only][0] == pytest.approx(30 * 60)
    assert fr.entry_delay_s[outside][0] == 0


def test_no_go_inside_a_risk_zone_is_impassable_in_either_order():
    nogo = {"zone_id": "NG", "kind": "no_go", "speed_factor": 0.0, "delay_minutes": 0.0,
            "geometry": shapely.box(3000, 3000, 4000, 4000)}
    for rows in ([RISK, nogo], [nogo, RISK]):
        fr = build_friction(GRID, AnalysisParams(cell_size_m=100.0), zones=zones_frame(rows))
        r, c, _ = GRID.cell_of([3500], [3500])
        assert np.isinf(fr.cost_s_per_m[r[0], c[0]])
        assert fr.cause_at(r[0], c[0]) == "a no-go zone"
