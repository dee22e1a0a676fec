"""Layers written through GDAL's Arrow interface (core/outputs/arrow_tables.py) are the files
pyogrio's field-by-field ``write_dataframe`` writes: the same Shapefile bytes and GeoPackage
contents for the kinds of values an export holds (missing numbers and text, Burmese names,
nullable integers, mixed Polygon / MultiPolygon), and every table the Arrow path does not cover
is written the field-by-field way instead (``write_table`` gives the same files either way)."""

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from coverage_app.core.outputs.arrow_tables import write_arrow_table
from coverage_app.core.outputs.export import write_table
from tests.core.test_export_same_files import file_bytes, geopackage_contents, plain_write

SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def awkward_table(crs="EPSG:32646") -> gpd.GeoDataFrame:
    square = shapely.box(0, 0, 1000, 1000)
    two = shapely.MultiPolygon([shapely.box(2000, 0, 2500, 500), shapely.box(3000, 0, 3200, 300)])
    holed = shapely.Polygon(shapely.box(0, 0, 900, 900).exterior.coords, [shapely.box(100, 100, 200, 200).exterior.coords])
    return gpd.GeoDataFrame({
        "name_en": pd.array(["Monywa", None, "Kale"], dtype="str"),
        "name_my": ["မုံရွာ", "ကလေး", None],
        "minutes": [12.5, np.nan, 240.0],
        "small": np.array([1.5, np.nan, 3.25], dtype="float32"),
        "pop": pd.array([1017, None, 5], dtype="Int64"),
        "count": np.array([1, 2, 3], dtype="int32"),
        "big": np.array([2**40, -1, 0], dtype="int64"),
    }, geometry=[square, two, holed], crs=crs)


def written_both_ways(table, tmp_path, driver):
    """(arrow folder, plain folder) with ``table`` written into each."""
    out = {}
    for way in ("arrow", "plain"):
        folder = tmp_path / way
        folder.mkdir()
        path = folder / ("t.gpkg" if driver == "GPKG" else "t.shp")
        kwargs = dict(layer="t", driver="GPKG") if driver == "GPKG" else dict(driver="ESRI Shapefile", encoding="UTF-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if way == "arrow":
                assert write_arrow_table(table, path, **kwargs)
            else:
                plain_write(table, path, **kwargs)
        out[way] = path
    return out["arrow"], out["plain"]


@pytest.mark.parametrize("crs", ["EPSG:32646", "+proj=tmerc +lat_0=0 +lon_0=96 +k=1 +x_0=500000 +y_0=0 +ellps=WGS84"])
def test_the_geopackage_holds_what_pyogrio_writes_field_by_field(tmp_path, crs):
    arrow, plain = written_both_ways(awkward_table(crs), tmp_path, "GPKG")
    assert geopackage_contents(arrow) == geopackage_contents(plain)
    new, old = pyogrio.read_info(arrow), pyogrio.read_info(plain)
    for key in ("fields", "dtypes"):
        assert list(new[key]) == list(old[key])
    for key in ("crs", "geometry_type", "features", "encoding"):
        assert new[key] == old[key], key
    assert new["geometry_type"] == "MultiPolygon"  # the mixed layer promoted, as pyogrio does
    back = pyogrio.read_dataframe(arrow)
    assert back["minutes"].isna().tolist() == [False, True, False]  # NaN written as null
    assert back["name_my"].tolist()[:2] == ["မုံရွာ", "ကလေး"] and back["name_en"].isna().tolist() == [False, True, False]


def test_the_shapefile_is_the_same_bytes(tmp_path):
    arrow, plain = written_both_ways(awkward_table(), tmp_path, "ESRI Shapefile")
    for suffix in SHP_PARTS:
        assert file_bytes(arrow.with_suffix(suffix)) == file_bytes(plain.with_suffix(suffix)), suffix


def test_points_are_the_same_in_both_formats(tmp_path):
    points = gpd.GeoDataFrame({"v": [1.0, np.nan]}, geometry=shapely.points([[1, 2], [3, 4]]), crs=4326)
    (tmp_path / "g").mkdir()
    (tmp_path / "s").mkdir()
    arrow, plain = written_both_ways(points, tmp_path / "g", "GPKG")
    assert geopackage_contents(arrow) == geopackage_contents(plain)
    arrow, plain = written_both_ways(points, tmp_path / "s", "ESRI Shapefile")
    for suffix in SHP_PARTS:
        assert file_bytes(arrow.with_suffix(suffix)) == file_bytes(plain.with_suffix(suffix)), suffix


def uncovered_tables():
    base = awkward_table()
    yield "no rows", base.iloc[:0]
    yield "a yes/no column", base.assign(flag=[True, False, True])
    yield "a date column", base.assign(day=pd.to_datetime(["2026-01-01", "2026-02-01", None]))
    yield "mixed values in a text column", base.assign(mixed=["a", 1, None])
    yield "a null geometry", base.set_geometry([None, *base.geometry.iloc[1:]], crs=base.crs)
    yield "an empty geometry", base.set_geometry([shapely.Polygon(), *base.geometry.iloc[1:]], crs=base.crs)
    yield "3-D points", gpd.GeoDataFrame({"v": [1]}, geometry=[shapely.Point(1, 2, 3)], crs=4326)
    yield "points and polygons", base.set_geometry([shapely.Point(1, 1), *base.geometry.iloc[1:]], crs=base.crs)
    yield "a named index", base.rename_axis("fid_in_file")
    yield "unsigned 64-bit integers", base.assign(u=np.array([1, 2, 3], dtype="uint64"))
    yield "a text column named geometry", base.rename_geometry("geom").assign(geometry=["a", "b", "c"])


@pytest.mark.parametrize("what, table", list(uncovered_tables()), ids=[w for w, _ in uncovered_tables()])
def test_tables_the_arrow_path_does_not_cover_are_written_field_by_field(tmp_path, what, table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not write_arrow_table(table, tmp_path / "x.gpkg", driver="GPKG", layer="t")
        assert not (tmp_path / "x.gpkg").exists()  # nothing written
        write_table(table, tmp_path / "x.gpkg", layer="t", driver="GPKG")  # the export still writes it
        plain_write(table, tmp_path / "y.gpkg", layer="t", driver="GPKG")
    assert geopackage_contents(tmp_path / "x.gpkg") == geopackage_contents(tmp_path / "y.gpkg")


def test_other_drivers_and_options_are_left_to_write_dataframe(tmp_path):
    table = awkward_table()
    assert not write_arrow_table(table, tmp_path / "x.geojson", driver="GeoJSON")
    assert not write_arrow_table(table, tmp_path / "x.gpkg")  # no driver named
