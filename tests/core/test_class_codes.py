"""Land-cover class codes onto the grid (core/travel/onto_grid.py): the majority of the source
cells, read in the raster's own 8/16-bit type (GDAL's histogram path) and checked against the
float32 path it replaces, against hand-counted majorities, and through the friction surface."""

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from coverage_app.core.errors import InputError
from coverage_app.core.grid import Grid
from coverage_app.core.params import AnalysisParams
from coverage_app.core.travel.friction import KMH_TO_MS, build_friction
from coverage_app.core.travel.onto_grid import read_class_codes, read_onto_grid

UTM = "EPSG:32646"
X0, Y0 = 500_000.0, 2_500_000.0


def write_codes(path, codes, dtype, nodata=None, cell=10.0):
    """A categorical GeoTIFF of ``codes`` (rows from the north) at ``cell`` m from (X0, Y0)."""
    codes = np.asarray(codes)
    with rasterio.open(path, "w", driver="GTiff", width=codes.shape[1], height=codes.shape[0], count=1,
                       dtype=dtype, crs=UTM, transform=from_origin(X0, Y0, cell, cell), nodata=nodata) as dst:
        dst.write(codes.astype(dtype)[None])
    return path


def grid_of(cell, shape, x0=X0, y0=Y0):
    return Grid(crs=rasterio.crs.CRS.from_string(UTM), transform=Affine(cell, 0, x0, 0, -cell, y0), shape=shape)


def blocks(majorities, minority, size=10):
    """A raster of ``size`` x ``size`` blocks: block (i, j) holds ``majorities[i][j]`` in 6 of every
    10 cells of each row and ``minority`` in the other 4, so its majority is known by hand."""
    rows = []
    for line in majorities:
        row = []
        for value in line:
            block = np.full((size, size), minority)
            block[:, :6] = value
            row.append(block)
        rows.append(np.hstack(row))
    return np.vstack(rows)


def test_the_bundled_sample_reads_the_same_codes_as_the_float32_path(bundled_project_path):
    """The second method: GDAL's float32 majority, the path this one replaced (25x slower)."""
    sample = bundled_project_path.parent / "landcover_sentinel2_sample.tif"
    with rasterio.open(sample) as src:
        assert src.dtypes[0] == "uint8" and src.nodata == 255
        left, top = src.bounds.left, src.bounds.top
    for cell, n in ((30.0, 400), (100.0, 160)):  # 12 and 16 km windows across the sample's edge
        grid = grid_of(cell, (n, n), x0=left - 2_000.0, y0=top + 2_000.0)
        floats = read_onto_grid(sample, grid, Resampling.mode)
        codes, no_class = read_class_codes(sample, grid, range(7))
        assert codes.dtype == np.uint8 and no_class == 255
        assert np.isnan(floats).any() and np.isfinite(floats).sum() > 10_000
        np.testing.assert_array_equal(np.where(codes == no_class, np.nan, codes.astype("float32")), floats)


@pytest.mark.parametrize("dtype", ["uint8", "int8", "uint16", "int16"])
def test_majority_by_hand_in_the_rasters_own_type(tmp_path, dtype):
    high = 100 if dtype.endswith("int8") else 1000
    path = write_codes(tmp_path / "lc.tif", blocks([[1, 2], [3, high]], minority=7), dtype)
    grid = grid_of(100.0, (3, 3))  # a row and a column of cells beyond the raster's 2 x 2 blocks
    codes, no_class = read_class_codes(path, grid, {1, 2, 3, 7, high})
    assert codes.dtype == np.dtype(dtype)
    assert no_class == np.iinfo(dtype).max and no_class not in {1, 2, 3, 7, high}
    np.testing.assert_array_equal(codes, [[1, 2, no_class], [3, high, no_class], [no_class] * 3])


def test_without_nodata_a_legend_at_the_top_of_the_type_moves_the_no_class_value(tmp_path):
    # 255 and 254 are classes: 253 touches 254 (GDAL nudges a genuine code equal to the fill by
    # one), so cells without land cover take 252
    path = write_codes(tmp_path / "lc.tif", blocks([[255, 254], [253, 0]], minority=1), "uint8")
    codes, no_class = read_class_codes(path, grid_of(100.0, (2, 3)), {0, 1, 254, 255})
    assert no_class == 252
    np.testing.assert_array_equal(codes, [[255, 254, 252], [253, 0, 252]])


def test_the_files_nodata_is_never_a_class(tmp_path):
    """A legend that names the nodata value (255 here) does not turn nodata cells into that class."""
    path = write_codes(tmp_path / "lc.tif", blocks([[255, 1]], minority=255), "uint8", nodata=255)
    grid = grid_of(100.0, (1, 3))
    codes, no_class = read_class_codes(path, grid, {1, 255})
    assert no_class == 255 and codes.tolist() == [[255, 1, 255]]
    off_road = AnalysisParams().off_road_kmh()
    friction = build_friction(grid, AnalysisParams(), landcover_path=path,
                              landcover_classes={"1": "cropland", "255": "forest"},
                              landcover_speeds_kmh={"cropland": 4.0, "forest": 2.0})
    kmh = 1 / (friction.cost_s_per_m.astype("float64") * KMH_TO_MS)
    assert kmh[0].tolist() == pytest.approx([off_road, 4.0, off_road])  # no cell walks at 'forest' speed


def test_a_legend_that_uses_every_value_of_the_type_is_refused(tmp_path):
    path = write_codes(tmp_path / "lc.tif", np.arange(-128, 128).reshape(16, 16), "int8")
    with pytest.raises(InputError, match=r"uses \(nearly\) every value of the raster's type \(int8\)") as caught:
        read_class_codes(path, grid_of(100.0, (2, 2)), range(-128, 128))
    assert "lc.tif" in str(caught.value)


@pytest.mark.parametrize("dtype", ["int32", "float32"])
def test_other_types_take_the_float32_path(tmp_path, dtype):
    path = write_codes(tmp_path / "lc.tif", blocks([[1, 2], [70_000, 3]], minority=5), dtype, nodata=-1)
    codes, no_class = read_class_codes(path, grid_of(100.0, (2, 3)), {1, 2, 3, 5, 70_000})
    assert codes.dtype == np.float32 and np.isnan(no_class)
    np.testing.assert_array_equal(codes, [[1, 2, np.nan], [70_000, 3, np.nan]])


def test_a_raster_on_the_grid_is_read_as_it_is(tmp_path):
    values = np.array([[1, 2, 9], [3, 9, 4]])
    path = write_codes(tmp_path / "lc.tif", values, "uint16", nodata=9, cell=100.0)
    codes, no_class = read_class_codes(path, grid_of(100.0, (2, 3)), {1, 2, 3, 4})
    assert codes.dtype == np.uint16 and no_class == 9
    np.testing.assert_array_equal(codes, values)


def test_land_cover_speeds_by_class_through_the_friction_surface(tmp_path):
    """uint8 without nodata: known majorities become the class speeds; unknown codes and cells
    beyond the raster keep the default off-road speed."""
    path = write_codes(tmp_path / "lc.tif", blocks([[1, 2], [200, 0]], minority=3), "uint8")
    grid = grid_of(100.0, (2, 3))
    friction = build_friction(grid, AnalysisParams(), landcover_path=path,
                              landcover_classes={"0": "swamp", "1": "forest", "2": "cropland", "3": "built"},
                              landcover_speeds_kmh={"swamp": 0.0, "forest": 2.5, "cropland": 4.2, "built": 5.0})
    off_road = AnalysisParams().off_road_kmh()
    with np.errstate(divide="ignore"):
        kmh = 1 / (friction.cost_s_per_m.astype("float64") * KMH_TO_MS)
    assert kmh[0].tolist() == pytest.approx([2.5, 4.2, off_road])
    assert kmh[1, 0] == pytest.approx(off_road)  # 200: not in the legend
    assert np.isinf(friction.cost_s_per_m[1, 1])  # 0 km/h: impassable land cover


def test_impassable_land_cover_is_its_own_barrier_cause_not_water(tmp_path):
    """A 0 km/h class that is not water (a swamp) is barrier cause 4: a facility there is told so and
    moved like one on water; the water class stays cause 1; a no-go zone over land cover is cause 2;
    a bridge lifts the swamp like water."""
    import geopandas as gpd
    import shapely

    from coverage_app.core.analysis.pipeline import locate_sources

    # 100 m cells, west to east: open water, swamp, swamp, forest, forest (the zone covers the last)
    path = write_codes(tmp_path / "lc.tif", blocks([[0, 9, 9, 1, 1]], minority=7), "uint8")
    grid = grid_of(100.0, (1, 5))
    legend = {"0": "Open water", "9": "swamp", "1": "forest", "7": "shrub"}
    speeds = {"Open water": 0.0, "swamp": 0.0, "forest": 2.5, "shrub": 4.0}
    zone = gpd.GeoDataFrame({"zone_id": ["NG"], "kind": ["no_go"], "speed_factor": [0.0], "delay_minutes": [0.0]},
                            geometry=[shapely.box(X0 + 400, Y0 - 100, X0 + 500, Y0)], crs=UTM)
    friction = build_friction(grid, AnalysisParams(cell_size_m=100.0), landcover_path=path,
                              landcover_classes=legend, landcover_speeds_kmh=speeds, zones=zone)
    assert friction.barrier_cause[0].tolist() == [1, 4, 4, 0, 2]
    assert [friction.cause_at(0, c) for c in (0, 1, 4)] == ["water", "impassable land cover", "a no-go zone"]
    assert np.isinf(friction.cost_s_per_m[0, [0, 1, 2, 4]]).all() and np.isfinite(friction.cost_s_per_m[0, 3])

    # a facility on the swamp next to the forest moves one cell east; one in the no-go zone is left out
    facilities = gpd.GeoDataFrame({"fac_id": ["S", "Z"], "name": ["on swamp", "in zone"]},
                                  geometry=gpd.points_from_xy([X0 + 250, X0 + 450], [Y0 - 50, Y0 - 50]), crs=UTM)
    rows, cols, ok, problems = locate_sources(facilities, friction)
    assert ok.tolist() == [True, False] and cols[0] == 3
    assert "S (on swamp) lies on impassable land cover at 100 m resolution; it was moved" in problems[0].message
    assert "Z (in zone) lies in a no-go zone and cannot be reached" in problems[1].message
    assert not any("water" in p.message for p in problems)

    # a bridge over the swamp lifts it, as it lifts water
    bridge = gpd.GeoDataFrame({"crossing_id": ["B"], "kind": ["bridge"]},
                              geometry=gpd.points_from_xy([X0 + 150], [Y0 - 50]), crs=UTM)
    lifted = build_friction(grid, AnalysisParams(cell_size_m=100.0), landcover_path=path,
                            landcover_classes=legend, landcover_speeds_kmh=speeds, crossings=bridge)
    assert lifted.barrier_cause[0, :3].tolist() == [0, 0, 0] and np.isfinite(lifted.cost_s_per_m[0, :4]).all()
