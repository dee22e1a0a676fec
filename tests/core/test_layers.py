"""Layer reading and validation, fed every kind of bad input the foundation handles."""

import json
import shutil

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from coverage_app.core.errors import InputError, errors_of
from coverage_app.core.data.layers import (check_file, convert_zawgyi, inspect_raster, load_layer, read_vector,
                                      validate_vector)
from coverage_app.core.data.zawgyi import is_zawgyi, to_unicode

ZAWGYI_NAME = "ေနၾကာ"      # "Nay Kyar" typed in Zawgyi
UNICODE_NAME = "နေကြာ"


def facilities(n=3, crs=4326):
    pts = [shapely.Point(95.0 + i * 0.1, 22.0 + i * 0.1) for i in range(n)]
    gdf = gpd.GeoDataFrame({"fac_id": [f"F{i}" for i in range(n)], "name": [f"Clinic {i}" for i in range(n)],
                            "level": ["Rural health centre"] * n}, geometry=pts, crs=4326)
    return gdf.to_crs(crs)


def villages(n=4):
    pts = [shapely.Point(95.0 + i * 0.05, 22.0) for i in range(n)]
    return gpd.GeoDataFrame({"pcode": [f"V{i}" for i in range(n)], "name_en": [f"Village {i}" for i in range(n)],
                             "population": [100.0 * (i + 1) for i in range(n)]}, geometry=pts, crs=4326)


def messages(problems):
    return " | ".join(str(p) for p in problems)


# --- files that cannot be read --------------------------------------------------------------

def test_corrupt_geopackage(tmp_path):
    bad = tmp_path / "facilities.gpkg"
    bad.write_bytes(b"this is not a geopackage" * 100)
    with pytest.raises(InputError) as err:
        read_vector(bad)
    text = str(err.value)
    assert "facilities.gpkg" in text and "cannot be read" in text


def test_truncated_geopackage(tmp_path, bundled_gpkg):
    data = bundled_gpkg.read_bytes()
    cut = tmp_path / "cut.gpkg"
    cut.write_bytes(data[: len(data) // 3])
    (_, _, problems), *_ = check_file(cut, role="villages", layer="villages")
    assert errors_of(problems), messages(problems)
    assert "cut.gpkg" in messages(problems)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_vector(tmp_path / "nope.shp")


def test_shapefile_without_dbf(tmp_path):
    facilities().to_file(tmp_path / "f.shp")
    (tmp_path / "f.dbf").unlink()
    with pytest.raises(InputError, match=r"\.dbf file is missing"):
        read_vector(tmp_path / "f.shp")


def test_shapefile_without_prj_in_lonlat_assumes_wgs84(tmp_path):
    facilities().to_file(tmp_path / "f.shp")
    (tmp_path / "f.prj").unlink()
    layer = load_layer(tmp_path / "f.shp", "facilities")
    assert layer.data.crs.to_epsg() == 4326
    assert any("no coordinate reference system" in p.message and p.severity == "warning" for p in layer.problems)


def test_shapefile_without_prj_in_metres_is_an_error(tmp_path):
    facilities(crs=32646).to_file(tmp_path / "f.shp")
    (tmp_path / "f.prj").unlink()
    with pytest.raises(InputError, match="no coordinate reference system.*not longitude/latitude"):
        load_layer(tmp_path / "f.shp", "facilities")


def test_csv_points_without_coordinate_columns(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("pcode,name_en\nV1,A\n")
    with pytest.raises(InputError, match="longitude and a latitude column"):
        read_vector(path)


def test_csv_with_lat_lon_swapped(tmp_path):
    path = tmp_path / "v.csv"
    # the 'longitude' column holds latitudes and vice versa
    path.write_text("pcode,name_en,longitude,latitude\nV1,A,22.1,95.2\nV2,B,22.3,95.4\n")
    with pytest.raises(InputError, match="swapped"):
        load_layer(path, "villages")


def test_csv_points_load_and_bad_rows_are_named(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("pcode,name_en,lon,lat,population\nV1,A,95.2,22.1,10\nV2,B,,22.3,5\nV3,C,95.3,22.2,7\n")
    layer = load_layer(path, "villages")
    assert len(layer.data) == 2
    # V2 is on line 3 of the file (the header is line 1)
    assert any(p.rows == (3,) and p.row_label == "line" for p in layer.problems)
    assert any("v.csv, field 'lon/lat', line 3:" in str(p) for p in layer.problems)


def test_points_far_outside_myanmar_are_dropped_with_warning(tmp_path):
    gdf = villages()
    gdf.loc[2, "geometry"] = shapely.Point(2.35, 48.85)  # Paris
    data, problems = validate_vector(gdf, "villages", file="v.gpkg")
    assert not errors_of(problems)
    assert len(data) == 3
    assert any("outside Myanmar" in p.message and p.rows == (3,) for p in problems)


def test_all_points_outside_myanmar_is_an_error():
    gdf = villages().set_geometry(gpd.points_from_xy([10, 11, 12, 13], [50, 50, 50, 50]), crs=4326)
    _, problems = validate_vector(gdf, "villages", file="v.gpkg")
    assert any("every feature lies outside Myanmar" in p.message for p in errors_of(problems))


def test_empty_layer(tmp_path):
    facilities().iloc[:0].to_file(tmp_path / "empty.gpkg", layer="facilities")
    with pytest.raises(InputError, match="empty"):
        load_layer(tmp_path / "empty.gpkg", "facilities")


def test_mixed_geometry_types(tmp_path):
    gdf = facilities()
    gdf.loc[1, "geometry"] = shapely.LineString([(95, 22), (95.1, 22.1)])
    path = tmp_path / "mixed.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(InputError) as err:
        load_layer(path, "facilities")
    assert "needs point geometries" in str(err.value) and "row 2" in str(err.value)


def test_invalid_polygons_are_repaired_with_warning():
    bowtie = shapely.Polygon([(95, 22), (95.2, 22.2), (95.2, 22), (95, 22.2)])
    square = shapely.box(95.3, 22, 95.4, 22.1)
    gdf = gpd.GeoDataFrame({"pcode": ["T1", "T2"], "name_en": ["A", "B"]}, geometry=[bowtie, square], crs=4326)
    data, problems = validate_vector(gdf, "townships")
    assert not errors_of(problems)
    assert data.geometry.is_valid.all()
    assert data.geometry.iloc[0].area > 0
    assert any("repaired" in p.message and p.rows == (1,) for p in problems)


def test_mapped_field_missing():
    _, problems = validate_vector(facilities(), "facilities", {"fac_id": "ID_CODE", "name": "name", "level": "level"})
    assert any("'ID_CODE' mapped to 'fac_id' is not in the layer" in p.message for p in errors_of(problems))


def test_required_field_unmapped():
    gdf = facilities().drop(columns=["level"])
    _, problems = validate_vector(gdf, "facilities")
    assert any("no field is mapped to 'level'" in p.message for p in errors_of(problems))


def test_non_numeric_population():
    gdf = villages()
    gdf["population"] = ["100", "abc", "300", "n/a"]
    _, problems = validate_vector(gdf, "villages", file="v.gpkg")
    (err,) = errors_of(problems)
    assert err.field == "population" and err.rows == (2, 4)
    assert "'abc'" in err.message


def test_duplicate_ids():
    gdf = facilities(4)
    gdf.loc[3, "fac_id"] = "F1"
    _, problems = validate_vector(gdf, "facilities")
    (err,) = errors_of(problems)
    assert "duplicate ids (F1)" in err.message and err.rows == (2, 4)


def test_unknown_facility_status():
    gdf = facilities()
    gdf["status"] = ["functioning", "bombed", None]
    data, problems = validate_vector(gdf, "facilities")
    (err,) = errors_of(problems)
    assert err.field == "status" and err.rows == (2,)


def test_zawgyi_names_detected_and_converted():
    assert is_zawgyi(ZAWGYI_NAME) and not is_zawgyi(UNICODE_NAME) and not is_zawgyi("Monywa")
    assert to_unicode(ZAWGYI_NAME) == UNICODE_NAME
    gdf = villages()
    gdf["name_my"] = [UNICODE_NAME, ZAWGYI_NAME, None, "စစ်ကိုင်း"]
    data, problems = validate_vector(gdf, "villages")
    (warn,) = [p for p in problems if p.fix == "zawgyi"]
    assert warn.rows == (2,) and warn.field == "name_my"
    fixed, changed = convert_zawgyi(data, ["name_my"])
    assert changed == 1 and fixed.name_my.iloc[1] == UNICODE_NAME and fixed.name_my.iloc[3] == "စစ်ကိုင်း"


def test_raster_without_georeferencing(tmp_path):
    path = tmp_path / "plain.tif"
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32") as dst:
        dst.write(np.ones((1, 10, 10), "float32"))
    info, problems = inspect_raster(path)
    assert any("no georeferencing" in p.message for p in errors_of(problems))


def test_raster_without_crs(tmp_path):
    path = tmp_path / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       transform=from_origin(800000, 2500000, 100, 100)) as dst:
        dst.write(np.ones((1, 10, 10), "float32"))
    _, problems = inspect_raster(path)
    assert any("no CRS" in p.message for p in errors_of(problems))


def test_corrupt_raster(tmp_path):
    path = tmp_path / "dem.tif"
    path.write_bytes(b"II*\x00" + b"\x00" * 50)
    _, problems = inspect_raster(path)
    assert errors_of(problems) and "cannot be read as a raster" in str(problems[0])


def test_good_raster(tmp_path):
    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32", crs="EPSG:32646",
                       transform=from_origin(800000, 2500000, 100, 100)) as dst:
        dst.write(np.ones((1, 10, 10), "float32"))
    info, problems = inspect_raster(path)
    assert problems == [] and info.shape == (10, 10)


def test_bundled_layers_are_valid(bundled_gpkg):
    for layer, role, problems in check_file(bundled_gpkg):
        assert not errors_of(problems), (layer, messages(problems))


def test_guess_roles_of_bundled_layers(bundled_gpkg):
    roles = {layer: role for layer, role, _ in check_file(bundled_gpkg)}
    assert roles["villages"] == "villages"
    assert roles["facilities"] == "facilities"
    assert roles["roads"] == "roads"
    assert roles["conflict_zones"] == "conflict_zones"
    assert roles["crossings"] == "crossings"


def test_geopackage_and_shapefile_warnings_name_the_feature_id(tmp_path):
    """Warnings point at the feature id a GIS shows (GeoPackage fid from 1, Shapefile FID from 0),
    also after features with no geometry were dropped before the check."""
    gdf = villages(5)
    gdf.loc[1, "geometry"] = None                      # dropped: no geometry
    gdf.loc[3, "population"] = -5.0                    # the bad value, 4th feature
    gpkg = tmp_path / "v.gpkg"
    gdf.to_file(gpkg, layer="villages", driver="GPKG")
    layer = load_layer(gpkg, "villages", layer="villages", strict=False)
    text = messages(layer.problems)
    assert "fid 2:" in text                            # the feature without geometry
    assert "field 'population', fid 4:" in text        # GeoPackage fids start at 1
    shp = tmp_path / "v.shp"
    gdf.to_file(shp)
    layer = load_layer(shp, "villages", strict=False)
    text = messages(layer.problems)
    assert "fid 1:" in text and "field 'population', fid 3:" in text  # Shapefile FIDs start at 0


def test_csv_lines_count_the_header_after_rows_are_dropped(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("pcode,name_en,lon,lat,population\nV1,A,95.2,22.1,10\nV2,B,,22.3,5\n"
                    "V3,C,95.3,22.2,-7\n")
    layer = load_layer(path, "villages", strict=False)
    text = messages(layer.problems)
    assert "line 3:" in text                           # missing coordinates, left out
    assert "field 'population', line 4:" in text       # still line 4 after line 3 was dropped


def test_source_rows_are_shared_not_copied_into_derived_frames(bundled_gpkg):
    """pandas deep-copies ``attrs`` into every derived frame and column: the source-row numbers
    (two tuples as long as the layer) are one shared immutable object, not walked each time."""
    import copy
    import pickle

    from coverage_app.core.data.layers import SourceRows

    gdf = read_vector(bundled_gpkg, "villages")
    rows = gdf.attrs["source_rows"]
    assert isinstance(rows, SourceRows) and rows[0] == "fid" and len(rows[1]) == len(gdf) > 1000
    assert gdf.iloc[:, 0].attrs["source_rows"] is rows and gdf.copy().attrs["source_rows"] is rows
    assert copy.deepcopy(rows) is rows
    assert pickle.loads(pickle.dumps(rows)) == rows  # a dask worker or a sealed archive gets it whole


def test_zawgyi_rows_names_every_position_of_a_repeated_value():
    from coverage_app.core.data.zawgyi import zawgyi_rows

    values = [ZAWGYI_NAME, UNICODE_NAME, ZAWGYI_NAME, None, 5, "Monywa", ZAWGYI_NAME, "ok " + UNICODE_NAME]
    assert zawgyi_rows(values) == [0, 2, 6]
    assert zawgyi_rows(values) == [i for i, v in enumerate(values) if is_zawgyi(v)]


def test_unmapped_field_named_like_a_role_field_is_kept_once():
    """A mapping that leaves out a field the layer has under the role's own name ('operator' here):
    the column is kept once, after the mapped ones, and checked like that field. (It used to be
    selected twice, and validation then failed with a raw AttributeError.)"""
    gdf = gpd.GeoDataFrame({"fac_id": ["a", "b"], "name": ["x", "y"], "operator": [" MOH ", None],
                            "lvl": ["rhc", "rhc"]},
                           geometry=[shapely.Point(95, 22), shapely.Point(95.1, 22)], crs=4326)
    out, problems = validate_vector(gdf, "facilities", {"fac_id": "fac_id", "name": "name", "level": "lvl"})
    assert not errors_of(problems)
    assert list(out.columns) == ["fac_id", "name", "level", "operator", "geometry"]
    assert out["operator"].iloc[0] == "MOH" and out["operator"].isna().iloc[1]  # stripped, empty is missing
