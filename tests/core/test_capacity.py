"""Capacity-aware coverage (issue 11 item 7): only villages within the threshold draw on capacity;
beds x people per bed where no capacity is given; the bundled beds are mapped."""

import geopandas as gpd
import pytest

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.outputs.export import export_coverage
from tests.synthetic import facility, load, make_project, village


def test_villages_beyond_the_threshold_do_not_use_up_capacity(tmp_path):
    # FAR (12 km, ~240 min walking) lies beyond 60 min and is nearer in allocation order than nothing
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True, capacity=150)],
                           villages=[village("NEAR", 1000, 0, 100), village("MID", 2000, 0, 100),
                                     village("FAR", 12000, 0, 1000)])
    result = run_analysis(load(project), project.params)
    v = result.villages.set_index("pcode")
    assert v.loc["FAR", "prim_min"] > 60
    assert v.loc["FAR", "served_pop"] == 0 and v.loc["FAR", "unserved_pop"] == 0
    assert v.loc["NEAR", "served_pop"] == 100 and v.loc["MID", "served_pop"] == 50
    assert v.loc["MID", "unserved_pop"] == 50
    head = result.headline()
    assert head["pop_served_capacity"] == 150 and head["share_served_capacity"] == pytest.approx(150 / 1200)


def test_beds_times_people_per_bed(tmp_path):
    fac = facility("P", 0, 0, secondary=True)
    fac["beds"] = 2
    project = make_project(tmp_path, facilities=[fac], villages=[village("NEAR", 1000, 0, 100),
                                                                 village("MID", 2000, 0, 100)])
    project.layers[[r.role for r in project.layers].index("facilities")].mapping["beds"] = "beds"
    data = load(project)
    result = run_analysis(data, project.params.replace(people_per_bed=60.0))
    assert result.facilities["capacity"].iloc[0] == 120 and result.facilities["capacity_basis"].iloc[0] == "beds x 60"
    assert result.villages["served_pop"].sum() == 120
    off = run_analysis(data, project.params.replace(people_per_bed=None))
    assert off.capacity is None and "served_pop" not in off.villages


@pytest.mark.slow
def test_bundled_beds_capacity_matches_a_hand_count(bundled_project_path, tmp_path):
    project = load_project(bundled_project_path)
    assert project.layers_of("facilities")[0].mapping.get("beds") == "beds"
    result = run_analysis(load_project_data(project), project.params.replace(mode="car", cell_size_m=2000.0))
    v, f = result.villages, result.facilities.set_index("fac_id")
    assert (f["capacity_basis"] == "beds x 1000").all()
    within = v[v["prim_min"] <= 60]
    per_facility = within.groupby("prim_fac")["population"].sum()
    hand = sum(min(per_facility[k], f.loc[k, "capacity"]) for k in per_facility.index)
    assert v["served_pop"].sum() == pytest.approx(hand, abs=len(v))  # rounding per village
    assert v["served_pop"].sum() + v["unserved_pop"].sum() == pytest.approx(within["population"].sum(), abs=len(v))
    assert v.loc[v["prim_min"] > 60, "served_pop"].sum() == 0
    export_coverage(result, tmp_path, ("gpkg", "shp"), rasters=False)
    towns = gpd.read_file(tmp_path / "townships.shp")
    assert towns["served"].sum() == pytest.approx(v["served_pop"].sum(), abs=1)
    fac = gpd.read_file(tmp_path / "coverage.gpkg", layer="facilities")
    assert fac["capacity"].sum() == pytest.approx(4458 * 1000)


def _fill_one_by_one(villages, capacity, threshold):
    """Reference: each facility's villages within the threshold, nearest first, take what is left."""
    served = {}
    inside = villages[villages["prim_fac"].notna() & (villages["prim_min"] <= threshold)]
    for fac_id, group in inside.sort_values("prim_min", kind="stable").groupby("prim_fac"):
        left = capacity.get(fac_id)
        for i, row in group.iterrows():
            pop = row["population"]
            take = pop if left is None else min(pop, max(left, 0.0))
            served[i] = take
            if left is not None:
                left -= take
    return served


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_capacity_fill_matches_a_village_by_village_fill(seed):
    import numpy as np
    import pandas as pd

    from coverage_app.core.analysis.tables import capacity_coverage

    rng = np.random.default_rng(seed)
    n = 400
    fac_ids = [f"F{i}" for i in range(12)]
    villages = gpd.GeoDataFrame({
        "pcode": [f"V{i}" for i in range(n)],
        "township_pcode": rng.choice(["T1", "T2", "T3"], n),
        "population": rng.integers(0, 900, n).astype(float),
        "prim_fac": pd.Series(rng.choice(fac_ids + [None], n), dtype=object),
        "prim_min": np.round(rng.random(n) * 120, 1),  # ties in time keep their order
    }, geometry=gpd.points_from_xy(rng.random(n), rng.random(n)), crs=4326)
    villages.loc[rng.random(n) < 0.05, "population"] = np.nan
    caps = {f: float(rng.integers(0, 6000)) for f in fac_ids[:9]}  # three without a capacity
    facilities = pd.DataFrame({"fac_id": fac_ids, "capacity": [caps.get(f) for f in fac_ids]})

    class Params:
        primary_minutes = 60.0

    v, table = capacity_coverage(villages, facilities, Params())
    expected = _fill_one_by_one(villages.assign(population=villages["population"].fillna(0.0)), caps, 60.0)
    got = v["served_pop"]
    for i in villages.index:
        assert got[i] == round(expected.get(i, 0.0)), i
    assert (v["unserved_pop"] >= 0).all()
    assert table["served_pop"].sum() == got.sum()
