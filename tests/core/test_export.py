"""Coverage exports: real files read back, Burmese round trip, atomic writes, safe sharing, no network."""

import json
import socket

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio

from coverage_app.core.outputs import export as export_mod
from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.errors import InputError
from coverage_app.core.outputs.export import SHAPEFILE_FIELDS, export_coverage
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project

LAYERS = ("villages", "catchments", "townships", "facilities")


@pytest.fixture(scope="module")
def run(bundled_project_path):
    project = load_project(bundled_project_path)
    data = load_project_data(project)
    return project, run_analysis(data, project.params.replace(cell_size_m=1000.0, mode="car"))


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    project, result = run
    out = tmp_path_factory.mktemp("export")
    export_coverage(result, out, ("gpkg", "shp"), project=project)
    return out, result


def test_geopackage_has_all_layers_with_fields(exported):
    out, result = exported
    names = [n for n, _ in pyogrio.list_layers(out / "coverage.gpkg")]
    assert sorted(names) == sorted(LAYERS)
    v = gpd.read_file(out / "coverage.gpkg", layer="villages")
    assert len(v) == 6829
    for name in LAYERS:
        frame = gpd.read_file(out / "coverage.gpkg", layer=name)
        assert set(SHAPEFILE_FIELDS[name]) <= set(frame.columns), name
        assert frame.crs.to_epsg() == 4326


def test_shapefiles_have_prj_cpg_short_fields_and_burmese(exported):
    out, result = exported
    for name in LAYERS:
        assert (out / f"{name}.prj").exists()
        assert (out / f"{name}.cpg").read_text().strip().upper() == "UTF-8"
        info = pyogrio.read_info(out / f"{name}.shp")
        fields = list(info["fields"])
        assert all(len(f) <= 10 for f in fields)
        assert set(SHAPEFILE_FIELDS[name]) <= set(fields), (name, fields)
    v = gpd.read_file(out / "villages.shp")
    original = result.villages.set_index("pcode")["name_my"]
    back = v.set_index("pcode")["name_my"]
    sample = original.dropna().index[:200]
    assert (back.loc[sample] == original.loc[sample]).all()
    t = gpd.read_file(out / "townships.shp")
    assert "စစ်ကိုင်း" in set(t.name_my)


def test_villages_carry_how_their_point_was_placed(exported):
    """A planner can tell a located village from one placed at its tract's or township's point, or
    a ward moved to its town's point (their populations are estimates of the same census)."""
    out, result = exported
    want = result.villages.set_index("pcode")["pop_basis"]
    for back in (gpd.read_file(out / "villages.shp"), gpd.read_file(out / "coverage.gpkg", layer="villages")):
        got = back.set_index("pcode")["pop_basis"]
        assert (got.loc[want.index] == want).all()
    zones = result.villages.set_index("pcode")["zone"]
    for back in (gpd.read_file(out / "villages.shp"), gpd.read_file(out / "coverage.gpkg", layer="villages")):
        got = back.set_index("pcode")["zone"].loc[zones.index]
        assert (got.isna() == zones.isna()).all() and (got[zones.notna()] == zones[zones.notna()]).all()
    assert set(zones.dropna()) == {"risk", "restricted"} and zones.notna().sum() > 1000
    counts = want.value_counts().to_dict()
    assert counts == {"observed": 5832, "placed_tract": 638, "urban_ward": 236, "placed_township": 93,
                      "urban_town": 30}
    people = result.villages.groupby("pop_basis")["population"].sum().round().to_dict()
    assert people == {k: float(v) for k, v in result.population_basis["by_placement"].items()}


def test_csv_and_curve(exported):
    import pandas as pd

    out, result = exported
    t = pd.read_csv(out / "townships.csv")
    assert len(t) == 37 and {"pop_prim", "pct_prim", "vil_noprim"} <= set(t.columns)
    v = pd.read_csv(out / "villages.csv")
    assert {"lon", "lat", "gap"} <= set(v.columns)
    c = pd.read_csv(out / "coverage_curve.csv")
    assert len(c) == 241 and c.primary_share.is_monotonic_increasing


def test_travel_time_rasters(exported):
    out, result = exported
    with rasterio.open(out / "travel_time_primary.tif") as src:
        assert src.dtypes[0] == "float32" and src.nodata == -9999.0
        assert src.crs.to_epsg() == 32646 and src.res == (1000.0, 1000.0)
        band = src.read(1, masked=True)
        assert band.mask.any() and (band.compressed() >= 0).all()
        assert np.allclose(band.filled(np.nan), result.tiers["primary"].minutes, equal_nan=True)
    with rasterio.open(out / "allocation_secondary.tif") as src:
        assert src.dtypes[0] == "int32" and src.nodata == -1


def test_run_record(exported, bundled_gpkg):
    out, result = exported
    record = json.loads((out / "run.json").read_text())
    assert record["parameters"]["mode"] == "car" and record["parameters"]["cell_size_m"] == 1000.0
    gpkg = [i for i in record["inputs"] if i["path"].endswith("sagaing.gpkg")][0]
    import hashlib

    assert gpkg["sha256"] == hashlib.sha256(bundled_gpkg.read_bytes()).hexdigest()
    assert record["software"]["coverage_app"] and record["created"]
    assert record["headline"]["villages"] == 6829
    basis = record["population_basis"]  # shares are of the 2014 census basis, placed and urban included
    assert basis["total"] == "census2014"
    assert basis["population"] == pytest.approx(5_325_347, rel=0.01) == record["headline"]["population"]
    assert basis["by_placement"]["urban_ward"] + basis["by_placement"]["urban_town"] == 911_335


def test_output_folder_is_a_file(run, tmp_path):
    project, result = run
    target = tmp_path / "results"
    target.write_text("not a folder")
    with pytest.raises(InputError, match="is a file"):
        export_coverage(result, target)


def test_output_folder_not_writable(run, tmp_path):
    project, result = run
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write to the output folder"):
        export_coverage(result, blocker / "sub")  # a folder cannot be made under a file


def test_disk_full_during_export_keeps_previous_export(run, tmp_path, monkeypatch):
    project, result = run
    out = tmp_path / "out"
    export_coverage(result, out, ("gpkg", "shp"), project=project)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_mod, "write_travel_time_rasters", disk_full)
    with pytest.raises(InputError, match="No space left on device.*previous files in the folder are unchanged"):
        export_coverage(result, out, ("gpkg", "shp"), project=project)
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before  # nothing half-written, nothing clobbered, no staging folder left


def test_safe_share_export(run, tmp_path):
    project, result = run
    out = tmp_path / "safe"
    export_coverage(result, out, ("gpkg",), safe_share=True)
    names = [n for n, _ in pyogrio.list_layers(out / "coverage.gpkg")]
    assert "catchments" not in names
    fac = gpd.read_file(out / "coverage.gpkg", layer="facilities")
    assert not {"name", "fac_id"} & set(fac.columns)
    assert fac.n_facilities.sum() == len(result.facilities)  # counts per 20 km cell, no single points
    assert len(fac) < len(result.facilities)
    v = gpd.read_file(out / "coverage.gpkg", layer="villages")
    assert not {"prim_fac", "sec_fac"} & set(v.columns)
    assert not list(out.glob("*.tif"))
    assert json.loads((out / "run.json").read_text())["safe_share"] is True


def test_whole_analysis_and_export_make_no_network_connection(bundled_project_path, tmp_path, monkeypatch):
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))
    project = load_project(bundled_project_path)
    data = load_project_data(project)
    result = run_analysis(data, project.params.replace(cell_size_m=2000.0))
    export_coverage(result, tmp_path / "out", ("gpkg", "shp"), project=project)
    assert attempts == []


def test_input_files_hashes_each_file_once(monkeypatch):
    """The bundled project reads ten layers from sagaing.gpkg: one SHA-256 of it, not ten."""
    from coverage_app.core.data.project import bundled_project_path, load_project
    from coverage_app.core.outputs import export

    project = load_project(bundled_project_path())
    hashed = []
    real = export._sha256
    monkeypatch.setattr(export, "_sha256", lambda path: hashed.append(path) or real(path))
    files = export.input_files(project, inputs=[project.layers[0].path])
    paths = {ref.path for ref in project.layers}
    assert len(hashed) == len(paths) == len(files) < len(project.layers)
    assert sum(len(f["layers"]) for f in files) == len(project.layers)


class _CountingWriter:
    """A rasterio dataset in write mode whose ``write`` calls are counted (windows kept)."""

    def __init__(self, dst):
        self._dst, self.windows = dst, []

    def write(self, array, band, window=None):
        self.windows.append(window)
        self._dst.write(array, band, window=window)

    def __getattr__(self, name):
        return getattr(self._dst, name)


def test_raster_strips_replace_nan_and_strips_without_data_are_left_to_gdal(tmp_path, monkeypatch):
    """Strips of whole tile rows (forced small here: 3 strips of 256, 256 and 88 rows) give the
    grid back exactly, NaN as nodata; an int32 band already in its nodata convention is written in
    one call. Data without a value (a strip of minutes, a whole allocation grid) is not written, and
    GDAL fills its tiles with the nodata value when the file closes: the files read back the same."""
    from coverage_app.core.outputs import export

    monkeypatch.setattr(export, "_STRIP_BYTES", 1)
    rng = np.random.default_rng(3)
    minutes = rng.uniform(0, 500, (600, 70)).astype("float32")
    minutes[rng.random(minutes.shape) < 0.2] = np.nan
    minutes[256:512] = np.nan  # the middle strip reaches nothing
    allocation = rng.integers(-1, 9, minutes.shape).astype("int32")
    allocation[:256] = -1  # the first strip has no facility
    assert export._strip_rows(70, 4) == 256
    base = dict(driver="GTiff", width=70, height=600, count=1, crs="EPSG:32646",
                transform=rasterio.transform.from_origin(500000, 2500000, 250, 250))
    minutes_profile = dict(dtype="float32", nodata=-9999, **base, **export.TRAVEL_TIME_PROFILE)
    allocation_profile = dict(dtype="int32", nodata=-1, **base, **export.ALLOCATION_PROFILE)
    with rasterio.open(tmp_path / "t.tif", "w", **minutes_profile) as dst:
        export._write_strips(counted := _CountingWriter(dst), minutes, -9999)
    assert [w.row_off for w in counted.windows] == [0, 512]
    with rasterio.open(tmp_path / "a.tif", "w", **allocation_profile) as dst:
        export._write_strips(counted := _CountingWriter(dst), allocation)
    assert counted.windows == [None]  # already in its convention: one call (rasterio drops the GIL in it)
    with rasterio.open(tmp_path / "none.tif", "w", **allocation_profile) as dst:
        export._write_strips(counted := _CountingWriter(dst), np.full_like(allocation, -1))
    assert counted.windows == []
    with rasterio.open(tmp_path / "t.tif") as src:
        back = src.read(1)
    assert np.array_equal(back == -9999, np.isnan(minutes))
    assert np.array_equal(back[~np.isnan(minutes)], minutes[~np.isnan(minutes)])
    with rasterio.open(tmp_path / "a.tif") as src:
        assert np.array_equal(src.read(1), allocation)
    monkeypatch.undo()
    assert export._strip_rows(1267, 4) == 768  # a 250 m Sagaing grid (2623 rows): 4 strips
    assert export._strip_rows(3000, 4) == 256


def _stored_bytes(src, row: int, col: int) -> int:
    """Bytes stored for tile (row, col) of band 1; 0 for a tile left out of a sparse GeoTIFF."""
    try:
        return src.block_size(1, row, col)
    except rasterio.errors.RasterBlockError:
        return 0


def test_a_tier_that_reaches_nothing_writes_full_rasters_of_nodata(tmp_path):
    """No secondary facility: nothing is written into its rasters, and GDAL still stores every tile
    (filled with the nodata value, not a sparse file that some TIFF readers refuse)."""
    from pyproj import CRS

    from coverage_app.core.grid import Grid
    from coverage_app.core.outputs import export
    from coverage_app.core.results import TierResult

    grid = Grid(crs=CRS.from_epsg(32646), transform=rasterio.transform.from_origin(500000, 2500000, 250, 250),
                shape=(300, 520))
    empty = TierResult(tier="secondary", minutes=np.full(grid.shape, np.nan, np.float32),
                       allocation=np.full(grid.shape, -1, np.int32), facility_ids=[])
    paths = export.write_tier_rasters("secondary", empty, grid, "walking", tmp_path)
    for path, nodata in zip(paths, (-9999, -1)):
        with rasterio.open(path) as src:
            assert src.nodata == nodata and src.shape == grid.shape
            assert (src.read(1) == nodata).all()
            tile_bytes = [_stored_bytes(src, r, c) for r in range(2) for c in range(3)]
        assert min(tile_bytes) > 0  # every tile is in the file
