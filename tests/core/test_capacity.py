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
