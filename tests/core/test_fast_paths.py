"""The faster read and write paths give exactly what the general ones did: a raster already on the
grid is read without a warp, travel-time rasters are written strip by strip with fast profiles."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from pyproj import CRS
from rasterio.warp import Resampling, reproject

from coverage_app.core.grid import Grid
from coverage_app.core.travel.friction import KMH_TO_MS, friction_from_raster
from coverage_app.core.travel.onto_grid import read_onto_grid


@pytest.fixture
def speed_tif(tmp_path):
    rng = np.random.default_rng(3)
    speed = rng.uniform(0.5, 60, (300, 520)).astype("float32")
    speed[10:20, 30:90] = 0  # impassable
    speed[200:230, :] = -9  # nodata
    speed[50, 50] = np.inf
    path = tmp_path / "speed.tif"
    with rasterio.open(path, "w", driver="GTiff", width=520, height=300, count=1, dtype="float32",
                       crs="EPSG:32646", transform=from_origin(500_000, 2_500_000, 100, 100), nodata=-9) as dst:
        dst.write(speed, 1)
    return path


def _warped(path, grid):
    out = np.full(grid.shape, np.nan, "float32")
    with rasterio.open(path) as src:
        reproject(source=rasterio.band(src, 1), destination=out, dst_transform=grid.transform, dst_crs=grid.crs,
                  dst_nodata=np.nan, resampling=Resampling.bilinear, src_nodata=src.nodata)
    return out


def test_a_raster_on_the_grid_reads_as_the_warp_did(speed_tif):
    with rasterio.open(speed_tif) as src:
        grid = Grid(src.crs, src.transform, (src.height, src.width))
    fast = read_onto_grid(speed_tif, grid)
    assert fast.dtype == np.float32
    np.testing.assert_array_equal(fast, _warped(speed_tif, grid))
    assert np.isnan(fast[200:230]).all()


def test_speed_raster_friction_is_bit_identical_to_the_formula(speed_tif):
    f = friction_from_raster(speed_tif, kind="speed")
    values = _warped(speed_tif, f.grid)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = 1.0 / (values * KMH_TO_MS)
    expected = np.where(np.isfinite(expected) & (expected > 0), expected, np.inf).astype("float32")
    assert f.cost_s_per_m.dtype == np.float32
    np.testing.assert_array_equal(f.cost_s_per_m, expected)
    np.testing.assert_array_equal(f.study_mask, np.isfinite(values))
    assert np.isinf(f.cost_s_per_m[10:20, 30:90]).all() and np.isinf(f.cost_s_per_m[200:230]).all()
    assert f.cost_s_per_m[50, 50] == np.inf  # infinite speed is not a free ride: a barrier, as before


def test_a_shifted_grid_is_still_warped(speed_tif):
    with rasterio.open(speed_tif) as src:
        t = src.transform
    grid = Grid("EPSG:32646", from_origin(t.c + 50, t.f, 100, 100), (300, 520))
    np.testing.assert_array_equal(read_onto_grid(speed_tif, grid), _warped(speed_tif, grid))


def test_rasters_written_in_strips_round_trip_exactly(tmp_path):
    from types import SimpleNamespace

    from coverage_app.core.outputs.export import RASTER_NODATA, write_travel_time_rasters
    import pandas as pd

    rng = np.random.default_rng(0)
    shape = (600, 333)  # three strips, the last one partial
    tiers = {}
    for tier in ("primary", "secondary"):
        minutes = rng.uniform(0, 500, shape).astype("float32")
        minutes[rng.random(shape) < 0.2] = np.nan
        alloc = rng.integers(-1, 40, shape).astype("int32")
        tiers[tier] = SimpleNamespace(minutes=minutes, allocation=alloc)
    grid = Grid(CRS.from_epsg(32646), from_origin(500_000, 2_500_000, 250, 250), shape)
    result = SimpleNamespace(grid=grid, tiers=tiers, params=SimpleNamespace(mode="walking"),
                             facilities=pd.DataFrame({"fac_id": [f"F{i}" for i in range(40)],
                                                      "name": ["x"] * 40}))
    write_travel_time_rasters(result, tmp_path)
    for tier, t in tiers.items():
        with rasterio.open(tmp_path / f"travel_time_{tier}.tif") as src:
            assert src.nodata == RASTER_NODATA and src.dtypes[0] == "float32"
            assert src.compression is None and src.profile.get("predictor") is None
            back = src.read(1)
        np.testing.assert_array_equal(np.where(back == RASTER_NODATA, np.nan, back), t.minutes)
        with rasterio.open(tmp_path / f"allocation_{tier}.tif") as src:
            assert src.compression.value == "DEFLATE" and src.profile.get("predictor") is None
            np.testing.assert_array_equal(src.read(1), t.allocation)


def test_geopackage_written_unsynced_is_complete_and_the_gdal_option_is_put_back(tmp_path, bundled_project_path):
    import pyogrio

    from coverage_app.core.analysis.pipeline import run_analysis
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.data.project import load_project
    from coverage_app.core.outputs.export import export_coverage

    project = load_project(bundled_project_path)
    result = run_analysis(load_project_data(project), project.params.replace(cell_size_m=2000.0))
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "FULL"})
    try:
        export_coverage(result, tmp_path, ("gpkg",), rasters=False, csv=False)
        assert pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS") == "FULL"
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": None})
    for name, n in (("villages", len(result.villages)), ("catchments", len(result.catchments)),
                    ("facilities", len(result.facilities))):
        assert pyogrio.read_info(tmp_path / "coverage.gpkg", layer=name)["features"] == n


def test_numba_starts_without_importing_scipy_and_scipy_still_imports_after():
    """travel.jit.numba_start_without_scipy: with SciPy installed, importing the engine and loading its
    kernels imports no SciPy module (0.15-0.25 s of every start), and SciPy imports normally after."""
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("scipy") is None:
        pytest.skip("SciPy is not installed here: nothing to hide")
    code = ("import sys\nfrom coverage_app.core.travel import engine\nengine.warm_up()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n"
            "import scipy.linalg.cython_blas, scipy.ndimage\nprint(scipy.ndimage.__name__)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["[]", "scipy.ndimage"]


def test_cached_kernels_load_without_numba_compiler_registries_and_compile_where_not_cached(tmp_path):
    """travel.jit._lean_cache_class: a kernel compiled in one process (numba's compiler loads its registries)
    is loaded from the on-disk cache in the next without them (numba.np.linalg is one: 0.2-0.3 s of every
    start), and gives the same result; the engine's own kernels load the same way."""
    import subprocess
    import sys

    (tmp_path / "lean_probe.py").write_text(
        "from coverage_app.core.travel.jit import jit_kernel\n\n"
        "@jit_kernel\ndef half_sum(a):\n    s = 0.0\n    for i in range(a.shape[0]):\n        s += a[i] * 0.5\n"
        "    return s\n")
    code = ("import sys\nimport numpy as np\nimport lean_probe\nfrom coverage_app.core.travel import engine\n"
            "engine.warm_up()\nprint(lean_probe.half_sum(np.arange(10.0)), 'numba.np.linalg' in sys.modules, "
            "lean_probe.half_sum.stats.cache_hits.get(lean_probe.half_sum.signatures[0], 0))\n")
    # the probe's cache goes beside it in tmp_path; the engine's is the package's (warm after any other run)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    env.pop("NUMBA_DISABLE_JIT", None)
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    (first_sum, first_loaded, first_hits), (second_sum, second_loaded, second_hits) = (r.stdout.split() for r in runs)
    assert first_sum == second_sum == "22.5"
    assert (first_loaded, first_hits) == ("True", "0")  # compiled: numba's compiler with its registries
    assert (second_loaded, second_hits) == ("False", "1")  # loaded from the cache without them


def test_a_run_loads_its_kernels_without_numba_array_module():
    """The kernels of a full run (search and catchments, pipeline.warm_up(edits=False)) take flat views
    and buffers made in Python, so loading them from the cache does not import numba.np.arrayobj
    (~0.03 s of every command-line run: reshape or np.empty inside a kernel brings it in)."""
    import subprocess
    import sys

    code = ("import sys\nfrom coverage_app.core.analysis import pipeline\npipeline.warm_up(edits=False)\n"
            "print('numba.np.arrayobj' in sys.modules)\n")
    env = dict(os.environ)
    env.pop("NUMBA_DISABLE_JIT", None)
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    assert runs[1].stdout.split() == ["False"]  # the second loads from the cache the first may have written
