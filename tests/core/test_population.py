"""Population basis: the bundled villages reach the 2014 census; a newer township total scales them."""

import geopandas as gpd
import pandas as pd
import pytest

from coverage_app.core.data.population import scale_to_townships
from coverage_app.core.errors import InputError
from tests.synthetic import at, frame, ring

CENSUS_SAGAING = 5_325_347


def test_bundled_villages_reach_the_census_total_and_each_township(bundled_gpkg):
    v = gpd.read_file(bundled_gpkg, layer="villages")
    ts = gpd.read_file(bundled_gpkg, layer="townships")
    assert ts["population"].sum() == CENSUS_SAGAING
    assert v["pop_est_2014"].sum() == pytest.approx(CENSUS_SAGAING, rel=0.01)
    assert set(v["pop_basis"]) == {"observed", "placed_tract", "placed_township", "urban_ward"}
    counts = v["pop_basis"].value_counts()
    assert counts["observed"] == 5832
    assert counts["placed_tract"] + counts["placed_township"] == 731
    assert counts["urban_ward"] == 266
    assert v.loc[v.pop_basis == "urban_ward", "pop_est_2014"].sum() == ts["pop_urban"].sum() == 911_335
    by = v.groupby("township_pcode")["pop_est_2014"].sum()
    census = ts.set_index("pcode")["population"]
    assert ((by - census).abs() / census).max() < 0.01
    monywa = ts.loc[ts.name_en == "Monywa", "pcode"].item()
    assert by[monywa] == pytest.approx(372_095, rel=0.001)
    assert v.geometry.notna().all() and v["pcode"].is_unique


def _villages():
    return frame([{"pcode": "A", "township_pcode": "T1", "population": 100.0, "pop_basis": "observed",
                   "geometry": at(0, 0)},
                  {"pcode": "B", "township_pcode": "T1", "population": 300.0, "pop_basis": "urban_ward",
                   "geometry": at(100, 0)},
                  {"pcode": "C", "township_pcode": "T2", "population": 50.0, "pop_basis": "placed_tract",
                   "geometry": at(50_000, 0)}])


def _townships(**extra):
    return frame([{"pcode": "T1", "population": 400, "geometry": ring(1000)} | extra,
                  {"pcode": "T2", "population": 50, "geometry": ring(1000).buffer(0)} | {}])


def test_census_basis_keeps_values_and_reports_by_placement():
    v, basis = scale_to_townships(_villages(), _townships(), "census2014")
    assert list(v["population"]) == [100.0, 300.0, 50.0]
    assert basis["population"] == 450 and basis["total"] == "census2014"
    assert basis["by_placement"] == {"observed": 100, "placed_tract": 50, "urban_ward": 300}


def test_kontur_basis_scales_each_township_to_its_total():
    ts = _townships()
    ts["pop_kontur2023"] = [800.0, None]  # T2 has no newer total: left as it is
    v, basis = scale_to_townships(_villages(), ts, "kontur2023")
    assert list(v["population"]) == pytest.approx([200.0, 600.0, 50.0])
    assert basis["population"] == 850 and basis["scaled_townships"] == 1


def test_kontur_basis_without_the_field_is_a_clear_error():
    with pytest.raises(InputError, match="pop_kontur2023"):
        scale_to_townships(_villages(), _townships(), "kontur2023")
    with pytest.raises(InputError, match="unknown population total 'worldpop'"):
        scale_to_townships(_villages(), _townships(), "worldpop")
