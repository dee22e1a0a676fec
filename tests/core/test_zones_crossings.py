"""Conflict zones combine as the most restrictive (slowest factor; entering an overlap from outside costs the
largest delay); rivers, bridges and the cuts left open."""

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


def test_overlapping_zones_get_a_table_of_entry_delays():
    """The overlap of the risk (10 min) and restricted (30 min) zones has a label of its own; entering it
    costs the delay of the zones not yet entered (the larger if both), leaving it for either costs nothing."""
    fr = build_friction(GRID, AnalysisParams(cell_size_m=100.0), zones=zones_frame([RISK, RESTRICTED]))
    label = {name: int(fr.zone_label[GRID.cell_of([x], [x])[:2]][0])
             for name, x in (("overlap", 5500), ("risk", 2000), ("restricted", 8500), ("outside", 500))}
    assert label["outside"] == 0 and len({label["overlap"], label["risk"], label["restricted"]}) == 3
    table = fr.zone_entry_s / 60
    assert table[label["outside"], label["overlap"]] == pytest.approx(30)
    assert table[label["risk"], label["overlap"]] == pytest.approx(30)
    assert table[label["restricted"], label["overlap"]] == pytest.approx(10)
    assert table[label["overlap"], label["risk"]] == 0 and table[label["overlap"], label["restricted"]] == 0
    assert table[label["risk"], label["restricted"]] == pytest.approx(30)
    assert table[label["restricted"], label["risk"]] == pytest.approx(10)


def test_zones_that_do_not_overlap_need_no_table():
    apart = dict(RESTRICTED, geometry=shapely.box(7000, 7000, 9000, 9000))
    fr = build_friction(GRID, AnalysisParams(cell_size_m=100.0), zones=zones_frame([RISK, apart]))
    assert fr.zone_entry_s is None and fr.zone_label.max() == 2


def test_too_many_overlapping_zones_warn_and_keep_the_largest_delay():
    """63 zones each overlapping the next are more than the 62 followed exactly: a warning says so."""
    chain = [dict(RISK, zone_id=f"Z{k}", delay_minutes=float(k + 1),
                  geometry=shapely.box(100 * k, 1000, 100 * k + 250, 2000)) for k in range(63)]
    fr = build_friction(GRID, AnalysisParams(cell_size_m=100.0), zones=zones_frame(chain))
    assert fr.zone_entry_s is None
    assert any("63 conflict zones overlap others" in p.message for p in fr.problems)


# ----------------------------------------------------------------------------- rivers, bridges, cuts

from coverage_app.cli.main import main  # noqa: E402
from coverage_app.core.analysis.pipeline import run_analysis  # noqa: E402
from coverage_app.core.data.model import load_project_data  # noqa: E402
from coverage_app.core.data.project import save_project  # noqa: E402
from coverage_app.core.travel.crossings import project_cuts  # noqa: E402
from tests.synthetic import at, facility, line, load, make_project, village  # noqa: E402

ROAD = {"road_class": "main", "geometry": line([(-1000, 0), (9000, 0)])}
CAR = AnalysisParams(cell_size_m=100.0, mode="car")
ROAD_MIN = 60 * 8 / 50  # 8 km of main road at 50 km/h


def river_project(folder, major, crossings=None):
    river = {"name": "Big River" if major else "Stream", "major": major,
             "geometry": line([(4000, -40000), (4000, 40000)])}
    return make_project(folder, facilities=[facility("P", 0, 0, secondary=True)], villages=[village("V", 8000, 0)],
                        roads=[ROAD], rivers=[river], crossings=crossings, params=CAR)


def test_road_crosses_a_minor_waterway_but_not_a_major_river_without_a_bridge(tmp_path):
    minor = run_analysis(load(river_project(tmp_path / "minor", major=False)), CAR)
    assert minor.villages.iloc[0]["prim_min"] == pytest.approx(ROAD_MIN, rel=0.05)
    major = run_analysis(load(river_project(tmp_path / "major", major=True)), CAR)
    assert np.isnan(major.villages.iloc[0]["prim_min"])


def test_bridge_mapped_off_the_road_snaps_onto_it_and_is_crossed_at_road_speed(tmp_path):
    bridge = {"name": "Bridge", "kind": "bridge", "delay_minutes": 0.0, "geometry": at(4000, 400)}
    result = run_analysis(load(river_project(tmp_path, major=True, crossings=[bridge])), CAR)
    # 400 m off the road: unsnapped, its 250 m disk would miss the road and the village stays cut off
    assert result.villages.iloc[0]["prim_min"] == pytest.approx(ROAD_MIN, rel=0.05)
    far = {"name": "Footbridge", "kind": "bridge", "delay_minutes": 0.0, "geometry": at(4000, 3000)}
    walked = run_analysis(load(river_project(tmp_path / "far", major=True, crossings=[far])), CAR)
    assert walked.villages.iloc[0]["prim_min"] > ROAD_MIN + 30  # beyond 500 m: no snap, walked across


def test_cuts_without_a_crossing_are_found_and_listed_by_the_cli(tmp_path, capsys):
    project = river_project(tmp_path, major=True)
    cuts = project_cuts(load_project_data(project))
    assert len(cuts) == 1 and not cuts["crossed"].iloc[0] and cuts["water"].iloc[0] == "Big River"
    lon, lat = at(4000, 0).coords[0]
    assert cuts["lon"].iloc[0] == pytest.approx(lon, abs=1e-4) and cuts["lat"].iloc[0] == pytest.approx(lat, abs=1e-4)
    path = save_project(project, tmp_path / "river.covproj")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 where a road meets a major river; 1 without a bridge or ferry" in out
    assert f"{lat:.4f}" in out and "main road x Big River" in out
    assert main(["info", str(path)]) == 0
    assert "1 without a bridge or ferry" in capsys.readouterr().out
    bridged = river_project(tmp_path / "b", major=True, crossings=[
        {"name": "Bridge", "kind": "bridge", "delay_minutes": 0.0, "geometry": at(4000, 400)}])
    assert project_cuts(load_project_data(bridged))["crossed"].all()


def test_bundled_project_cuts_and_snapped_bridges(bundled_project_path):
    from coverage_app.core.data.project import load_project
    from coverage_app.core.travel.crossings import road_river_cuts, snap_crossings

    data = load_project_data(load_project(bundled_project_path))
    cuts = project_cuts(data)
    assert len(cuts) == 18 and int((~cuts["crossed"]).sum()) == 14
    roads, rivers, bridges = (data.role(r).to_crs(UTM) for r in ("roads", "rivers", "crossings"))
    moved, _ = snap_crossings(bridges, roads, road_river_cuts(roads, rivers))
    assert moved["snapped"].value_counts().to_dict() == {"road": 89, "none": 41, "cut": 5}
    assert moved["snap_m"].max() <= 500


def test_bundled_zone_classes_do_not_overlap(bundled_gpkg):
    """Risk (2-4 events), restricted (5-14) and no-go (>= 15) cells are disjoint within a year; before the
    fix the risk class ran 2-14 and covered every restricted zone."""
    zones = gpd.read_file(bundled_gpkg, layer="conflict_zones").to_crs(UTM)
    for year, z in zones.groupby("year"):
        union = {k: shapely.union_all(g.geometry.values) for k, g in z.groupby("kind")}
        for a, b in (("risk", "restricted"), ("risk", "no_go"), ("restricted", "no_go")):
            if a in union and b in union:
                assert union[a].intersection(union[b]).area < 1.0, (year, a, b)
    counts = zones[zones.valid_to.isna()].kind.value_counts().to_dict()
    # 2023: Monywa's and Shwebo's cells, 19 and 17 events stacked on one point each, are restricted
    # since a place counts at most 5 events (ZONE_PLACE_CAP); no UCDP cell is no-go
    assert counts == {"risk": 34, "restricted": 18}
    shwebo = gpd.read_file(bundled_gpkg, layer="facilities").query("name == 'Shwebo General Hospital'").to_crs(UTM)
    holding = zones[(zones.year == 2023) & zones.contains(shwebo.geometry.iloc[0])]
    assert holding.kind.tolist() == ["restricted"] and int(holding.places.iloc[0]) >= 2


def _build_layers_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "layers" / "build_layers.py"
    spec = importlib.util.spec_from_file_location("build_layers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_events_stacked_on_one_place_make_at_most_a_restricted_zone(tmp_path):
    """UCDP puts events it can tie only to a town at the town's point: 20 of them there count 5
    (restricted), while 15 events spread over three places of one 10 km cell still make it no-go."""
    build = _build_layers_module()
    region = gpd.GeoDataFrame(geometry=[shapely.box(200_000, 2_400_000, 260_000, 2_440_000)], crs=UTM)
    town = (205_000.0, 2_405_000.0)  # cell (20, 240)
    spread = [(235_000.0, 2_405_000.0), (236_000.0, 2_406_000.0), (237_000.0, 2_407_000.0)]  # cell (23, 240)
    points = [town] * 20 + [p for p in spread for _ in range(5)]
    events = gpd.GeoDataFrame({
        "id": np.arange(len(points)), "year": 2023, "date_start": "2023-05-01", "type_of_violence": 1,
        "side_a": "A", "side_b": "B", "best": 1, "where_prec": 1,
    }, geometry=[shapely.Point(p) for p in points], crs=UTM).to_crs(4326)
    events.to_file(tmp_path / "ged.gpkg", driver="GPKG")
    zones, located = build.conflict_zones(tmp_path / "ged.gpkg", region.to_crs(4326))
    zones = zones.to_crs(UTM)
    at_town = zones[zones.contains(shapely.Point(town))]
    at_spread = zones[zones.contains(shapely.Point(spread[1]))]
    assert at_town[["kind", "events", "places"]].values.tolist() == [["restricted", 20, 1]]
    assert at_spread[["kind", "events", "places"]].values.tolist() == [["no_go", 15, 3]]
    assert len(located) == 35


def test_each_village_names_the_most_restrictive_zone_in_force_around_it():
    """village_zones: the kind of the in-force zone a village lies in, the lowest speed factor where
    zones overlap (as the friction burns them); expired and future zones do not count."""
    import datetime as dt

    from coverage_app.core.analysis.tables import village_zones

    box = shapely.box
    zones = gpd.GeoDataFrame({
        "zone_id": ["R", "X", "OLD", "LATER", "N"],
        "kind": ["risk", "restricted", "no_go", "no_go", None],
        "speed_factor": [0.8, 0.5, 0.0, 0.0, 0.9],
        "valid_from": [None, "2024-01-01", "2020-01-01", "2027-01-01", None],
        "valid_to": [None, None, "2021-12-31", None, None]},
        geometry=[box(0, 0, 10, 10), box(5, 0, 15, 10), box(0, 0, 20, 20), box(0, 0, 20, 20), box(30, 0, 40, 10)],
        crs=32646)
    villages = gpd.GeoDataFrame({"pcode": list("abcdef")},
                                geometry=[shapely.Point(2, 2), shapely.Point(7, 2), shapely.Point(12, 2),
                                          shapely.Point(18, 18), shapely.Point(35, 5), None], crs=32646)
    got = village_zones(villages, zones, dt.date(2026, 6, 1))
    assert got.tolist() == ["risk", "restricted", "restricted", None, "zone", None]
    # another CRS for the villages: the zones are taken to it
    assert village_zones(villages.to_crs(4326), zones, dt.date(2026, 6, 1)).tolist() == got.tolist()
    # before the restricted zone and while the old no-go zone was in force
    assert village_zones(villages, zones, dt.date(2021, 6, 1)).tolist() == \
        ["no_go", "no_go", "no_go", "no_go", "zone", None]
    assert village_zones(villages, None, dt.date(2026, 6, 1)).isna().all()
    assert village_zones(villages.iloc[:0], zones, dt.date(2026, 6, 1)).empty
