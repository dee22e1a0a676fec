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
    assert set(v["pop_basis"]) == {"observed", "placed_tract", "placed_township", "urban_ward", "urban_town"}
    counts = v["pop_basis"].value_counts()
    assert counts["observed"] == 5832
    assert counts["placed_tract"] + counts["placed_township"] == 731
    assert counts["urban_ward"] + counts["urban_town"] == 266
    urban = v["pop_basis"].str.startswith("urban")
    assert v.loc[urban, "pop_est_2014"].sum() == ts["pop_urban"].sum() == 911_335
    # every point lies in (or within 1 km of) its own township: misplaced MIMU ward points were moved
    tw = ts.set_index("pcode").geometry.to_crs(32646)
    d = v.to_crs(32646).geometry.distance(gpd.GeoSeries(v.township_pcode.map(tw).values, crs=32646, index=v.index))
    assert d[urban].max() <= 1000
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


# ----------------------------------------------------------------------------- population grid (role population)

import numpy as np  # noqa: E402
import rasterio  # noqa: E402
import shapely  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

from coverage_app.core.analysis.pipeline import analysis_grid, run_analysis  # noqa: E402
from coverage_app.core.data.population import resample_population  # noqa: E402
from coverage_app.core.data.project import LayerRef  # noqa: E402
from coverage_app.core.params import AnalysisParams  # noqa: E402
from coverage_app.core.outputs.export import run_record  # noqa: E402
from tests.synthetic import X0, Y0, facility, load, make_project, village  # noqa: E402

RES = 0.001  # degrees (~100 m)
WEST, NORTH = 95.35, 22.15  # the synthetic township square is about 95.31-95.69 E, 21.82-22.18 N


def write_population_tif(path, blocks):
    """A people-per-pixel GeoTIFF in EPSG:4326 (WorldPop style, nodata -99999); ``blocks`` are
    (lon, lat, pixels per side, people per pixel). Returns the total people written."""
    data = np.zeros((300, 300), "float32")
    total = 0.0
    for lon, lat, n, per in blocks:
        r, c = int((NORTH - lat) / RES), int((lon - WEST) / RES)
        data[r:r + n, c:c + n] = per
        total += n * n * per
    data[0, 0] = -99999  # nodata is not people
    with rasterio.open(path, "w", driver="GTiff", width=300, height=300, count=1, dtype="float32", crs="EPSG:4326",
                       transform=from_origin(WEST, NORTH, RES, RES), nodata=-99999) as dst:
        dst.write(data, 1)
    return total


NEAR = (95.5045, 22.0025, 5, 40.0)   # 1,000 people ~0.5 km east of the facility
FAR = (95.6450, 22.0025, 5, 120.0)   # 3,000 people ~15 km east: beyond 60 min walking


def test_population_raster_in_another_crs_is_resampled_with_its_total_conserved(tmp_path):
    tif = tmp_path / "pop.tif"
    total = write_population_tif(tif, [NEAR, FAR, (95.40, 22.10, 7, 3.5)])
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)], villages=[village("V", 500, 0)])
    data = load(project)
    for cell in (100.0, 250.0, 1000.0):
        grid = analysis_grid(data, AnalysisParams(cell_size_m=cell))
        study = shapely.union_all(data.role("townships").to_crs(grid.crs).geometry.values).buffer(2000)
        people, record = resample_population(tif, grid, study)
        assert people.sum() == pytest.approx(total, rel=1e-9)
        assert record["people_in_study_area"] == round(total) == record["people_on_grid"]
        assert (people >= 0).all()


def test_shares_use_the_grid_and_villages_keep_their_own_times(tmp_path):
    tif = tmp_path / "pop.tif"
    write_population_tif(tif, [NEAR, FAR])
    project = make_project(tmp_path, facilities=[facility("P", 0, 0, secondary=True)],
                           villages=[village("V", 500, 0, population=100.0)])
    project.layers.append(LayerRef("WorldPop", str(tif), "population"))
    params = AnalysisParams(cell_size_m=250.0)
    result = run_analysis(load(project), params)
    head = result.headline()
    assert head["population"] == pytest.approx(4000, rel=1e-6)
    assert head["share_primary"] == pytest.approx(0.25, abs=1e-4)  # only the near block within 60 min
    t = result.townships.iloc[0]
    assert t["pop"] == 4000 and t["pop_prim"] == 1000 and t["pct_prim"] == 25.0
    assert result.villages.iloc[0]["prim_min"] < 15 and result.villages.iloc[0]["population"] == 100
    record = run_record(result, project)
    assert record["population_basis"]["grid"] is True and record["population_basis"]["population"] == 4000
    assert record["population_basis"]["villages_population"] == 100


def test_population_raster_without_crs_is_a_clear_error(tmp_path):
    from coverage_app.core.data.population import resample_population as rp

    tif = tmp_path / "nocrs.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
                       transform=from_origin(0, 4, 1, 1)) as dst:
        dst.write(np.ones((4, 4), "float32"), 1)
    project = make_project(tmp_path, facilities=[facility("P", 0, 0)], villages=[village("V", 500, 0)])
    grid = analysis_grid(load(project), AnalysisParams(cell_size_m=1000.0))
    with pytest.raises(InputError, match="no CRS"):
        rp(tif, grid, shapely.box(*grid.bounds))
