"""The cache of earlier runs (core/runcache.py): entries, the friction surfaces and checked layers
kept in it, and that a run reading them back gives exactly the results of a run without it."""

import copy
import dataclasses
import errno
import os
import stat
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from coverage_app.core import runcache
from coverage_app.core.analysis.edits import apply_zone_edits
from coverage_app.core.analysis.pipeline import analysis_grid, build_project_friction, run_analysis
from coverage_app.core.data import layer_cache, model
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.data.roles import ANALYSIS_ROLES
from coverage_app.core.errors import Problem
from coverage_app.core.grid import Grid
from coverage_app.core.params import AnalysisParams
from coverage_app.core.travel import friction as friction_mod
from coverage_app.core.travel import friction_cache
from coverage_app.core.travel.friction import Friction
from coverage_app.core.travel.friction_cache import same_friction

COARSE_M = 2000.0


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """The cache switched on, in a folder of this test's own."""
    monkeypatch.setenv("COVERAGE_APP_CACHE_DIR", str(tmp_path / "cache"))
    before = runcache.enable(True)
    yield tmp_path / "cache"
    runcache.enable(before)


def entries(folder, kind):
    return sorted((folder / kind).glob("*.entry")) if (folder / kind).exists() else []


@pytest.fixture(scope="module")
def sagaing(bundled_project_path):
    project = load_project(bundled_project_path)
    data = load_project_data(project, roles=ANALYSIS_ROLES)
    params = project.params.replace(cell_size_m=COARSE_M)
    return project, data, params, analysis_grid(data, params)


def with_landcover(data, path=None):
    """``data`` with the bundled land cover (off in the project) switched on, or ``path`` in its place."""
    on = copy.copy(data)
    on.project = copy.deepcopy(data.project)
    ref = next(r for r in on.project.layers if r.role == "landcover")
    ref.options["enabled"] = True
    if path is not None:
        ref.path = str(path)
    on.rasters = {**data.rasters, ref.name: ref}
    assert on.raster("landcover") is ref
    return on


# ----------------------------------------------------------------------------- entries

def test_an_entry_reads_back_and_a_damaged_or_foreign_one_is_refused_and_removed(cache):
    parts = [np.arange(1000, dtype="float32"), b"abc"]
    assert runcache.write("friction", "k1", {"x": 1}, parts)
    meta, got = runcache.read("friction", "k1")
    assert meta == {"x": 1} and np.array_equal(np.frombuffer(got[0], "float32"), parts[0]) and bytes(got[1]) == b"abc"
    path = entries(cache, "friction")[0]
    assert runcache.read("layers", "k1") is None and runcache.read("friction", "k2") is None  # no such entry
    os.rename(path, path.with_name("k2.entry"))  # an entry under another key's name
    assert runcache.read("friction", "k2") is None and not entries(cache, "friction")
    for damage in ("flip", "flip in the header", "header not an object", "truncate", "garbage"):
        assert runcache.write("friction", "k1", {"x": 1}, parts)
        data = bytearray(path.read_bytes())
        if damage == "flip":
            data[-200] ^= 0x40  # a bit inside the float array: its CRC-32 no longer matches
        elif damage == "flip in the header":
            data[data.index(b'"x": 1') + 5] ^= 0x02  # 1 -> 3: the header's own CRC-32 no longer matches
        elif damage == "header not an object":
            import zlib

            at = len(runcache.MAGIC)
            size = int.from_bytes(data[at:at + 8], "little")
            fake = b"[1]".ljust(size)
            data[at + 8:at + 12 + size] = zlib.crc32(fake).to_bytes(4, "little") + fake  # a valid CRC, a list
        elif damage == "truncate":
            data = data[:len(data) // 2]
        else:
            data = bytearray(b"not an entry at all")
        path.write_bytes(bytes(data))
        assert runcache.read("friction", "k1") is None, damage
        assert not path.exists(), damage


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_entries_are_private_and_a_pickle_another_user_could_write_is_not_read(cache, bundled_project_path):
    assert runcache.write("friction", "k", {}, [b"x"])
    path = cache / "friction" / "k.entry"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (cache / "friction").stat().st_mode & 0o777 == 0o700 and cache.stat().st_mode & 0o777 == 0o700
    project = load_project(bundled_project_path)
    load_project_data(project, roles=ANALYSIS_ROLES)
    entry = entries(cache, "layers")[-1]
    key = entry.stem
    assert layer_cache.load(key) is not None
    entry.chmod(0o666)  # anyone may write it: not unpickled
    assert layer_cache.load(key) is None and entry.exists()
    entry.chmod(0o600)
    (cache / "layers").chmod(0o777)  # anyone may put a file there
    assert layer_cache.load(key) is None
    (cache / "layers").chmod(0o700)
    assert layer_cache.load(key) is not None


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("COVERAGE_APP_CACHE_DIR", str(blocker))
    assert runcache.write("friction", "k", {}, [b"x"]) is False
    assert runcache.read("friction", "k") is None
    monkeypatch.setenv("COVERAGE_APP_CACHE_DIR", str(tmp_path / "ok"))
    real = os.replace

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    assert runcache.write("friction", "k", {}, [b"x"]) is False
    monkeypatch.setattr(os, "replace", real)
    assert list((tmp_path / "ok" / "friction").iterdir()) == []  # no temporary file left behind


def test_the_newest_entries_are_kept_and_stale_temporary_files_go(cache, monkeypatch):
    for i in range(5):
        assert runcache.write("friction", f"k{i}", {}, [b"x" * 100])
        os.utime(cache / "friction" / f"k{i}.entry", (1000 + i, 1000 + i))
    monkeypatch.setitem(runcache.LIMITS, "friction", (3, 10_000))
    stale = cache / "friction" / ".k9.entry.1.abc.tmp"
    stale.write_bytes(b"half written")
    os.utime(stale, (1000, 1000))
    runcache.read("friction", "k1")  # read: now the newest
    assert runcache.write("friction", "k5", {}, [b"x" * 100])
    assert [p.stem for p in entries(cache, "friction")] == ["k1", "k4", "k5"]
    assert not stale.exists()
    size = (cache / "friction" / "k5.entry").stat().st_size
    monkeypatch.setitem(runcache.LIMITS, "friction", (10, int(2.5 * size)))  # the byte limit: two entries fit
    assert runcache.write("friction", "k6", {}, [b"x" * 100])
    assert len(entries(cache, "friction")) == 2
    assert not runcache.write("friction", "big", {}, [b"x" * (int(2.5 * size) // 2 + 1)])  # over half the limit
    assert len(entries(cache, "friction")) == 2


def test_a_file_rewritten_in_place_within_the_same_second_gets_a_new_digest(tmp_path, monkeypatch):
    """On a file system with coarse times (FAT: 2 s) an SQLite edit can leave size, times and inode
    as they were: a file modified moments ago is hashed again, not taken from the memo."""
    import types

    path = tmp_path / "layer.gpkg"
    path.write_bytes(b"a" * 1000)
    now = time.time()
    coarse = types.SimpleNamespace(st_mode=stat.S_IFREG | 0o644, st_size=1000, st_ino=1, st_mtime=now, st_ctime=now,
                                   st_mtime_ns=int(now) * 10 ** 9, st_ctime_ns=int(now) * 10 ** 9)
    monkeypatch.setattr(type(path), "stat", lambda self, **kw: coarse)
    first = runcache.file_digest(path)
    with open(path, "r+b") as fh:  # rewritten in place: the same stat as the coarse clock shows it
        fh.write(b"b" * 1000)
    assert runcache.file_digest(path) != first
    coarse.st_mtime = coarse.st_ctime = now - 60  # settled long ago: read once, then memoised
    settled = runcache.file_digest(path)
    with open(path, "r+b") as fh:
        fh.write(b"c" * 1000)
    assert runcache.file_digest(path) == settled  # (the memo, as intended for a settled file)


def test_off_means_off(tmp_path, monkeypatch):
    before = runcache.enable(True)
    try:
        for value in ("off", ""):
            monkeypatch.setenv("COVERAGE_APP_CACHE_DIR", value)
            assert not runcache.enabled() and runcache.write("friction", "k", {}, [b"x"]) is False
        monkeypatch.setenv("COVERAGE_APP_CACHE_DIR", str(tmp_path))
        assert runcache.enabled()
    finally:
        runcache.enable(before)
    assert runcache.enabled() is before
    with runcache.used():
        assert runcache.enabled()
    assert runcache.enabled() is before


def test_the_default_folder_is_the_users_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("COVERAGE_APP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert runcache.root() == tmp_path / "coverage-app"


# ----------------------------------------------------------------------------- friction

SMALL_GRID = Grid(CRS(32646), Affine(250.0, 0.0, 500_000.0, 0.0, -250.0, 2_500_000.0), (80, 120))


def _surfaces_in_every_encoding(grid):
    """Friction surfaces with each kind of array: costs inf only on barred cells (stored for passable
    cells) or not (stored whole), a study mask the causes give or not, sparse and dense labels,
    elevation and Tobler masks, ferry delays and a zone entry table, problems with rows."""
    rng = np.random.default_rng(7)
    shape = grid.shape
    cause = rng.choice(np.array([0, 1, 2, 3, 4], "uint8"), size=shape, p=[0.6, 0.1, 0.1, 0.15, 0.05])
    cost = rng.uniform(0.05, 2.0, shape).astype("float32")
    cost[cause != 0] = np.inf
    sparse = np.zeros(shape, "int32")
    sparse.reshape(-1)[rng.choice(cost.size, cost.size // 50, replace=False)] = rng.integers(1, 9, cost.size // 50)
    delay = (sparse * 30.0).astype("float32")
    delay[0, :3] = -0.0  # kept as -0.0 (the bits), not dropped as a zero
    base = Friction(grid, cost, cause != 3, road_mask=rng.random(shape) < 0.01,
                    elevation_m=rng.normal(300, 50, shape).astype("float32"), tobler_mask=rng.random(shape) < 0.7,
                    zone_label=sparse, entry_delay_s=delay, zones_used=3,
                    problems=[Problem("warning", "ferry X opens no water", layer="crossings", rows=(3, 5))],
                    barrier_cause=cause, ferry_label=sparse.copy(), ferry_delay_s=np.array([0.0, 600.0, 1200.0]),
                    zone_entry_s=rng.random((4, 4)))
    odd_cost = base.cost_s_per_m.copy()
    odd_cost[np.flatnonzero(cause != 0)[:5] // shape[1], np.flatnonzero(cause != 0)[:5] % shape[1]] = 1.5
    odd_study = base.study_mask.copy()
    odd_study[0, :] = ~odd_study[0, :]
    no_cause = Friction(grid, cost, np.ones(shape, bool), problems=None)
    return {"every field": base, "a barred cell with a cost": dataclasses.replace(base, cost_s_per_m=odd_cost),
            "a study mask of its own": dataclasses.replace(base, study_mask=odd_study),
            "no barrier causes": no_cause}


def test_every_encoding_reads_back_exactly(cache):
    grid = SMALL_GRID
    for name, surface in _surfaces_in_every_encoding(grid).items():
        key = f"test-{name.replace(' ', '-')}"
        assert friction_cache.store(key, surface), name
        back = friction_cache.load(key, grid)
        assert back is not None and back.source == "cache" and back.grid is grid, name
        assert same_friction(back, surface), name
        for field in dataclasses.fields(surface):  # same_friction itself, field by field
            a, b = getattr(surface, field.name), getattr(back, field.name)
            if isinstance(a, np.ndarray):
                assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), field.name
                assert b.flags.writeable and b.flags.c_contiguous, field.name
    other = dataclasses.replace(surface, zones_used=4)
    assert not same_friction(other, surface)
    wrong = Grid(grid.crs, grid.transform, (81, 120))
    assert friction_cache.load(key, wrong) is None  # an entry for another grid shape is not used


def test_the_bundled_surface_reads_back_exactly_and_the_run_equals_one_without_the_cache(sagaing, cache):
    project, data, params, grid = sagaing
    friction_mod.clear_study_cache()
    runcache.enable(False)
    built = build_project_friction(data, params, grid)
    plain = run_analysis(data, params)
    runcache.enable(True)
    first = build_project_friction(data, params, grid)
    assert first.source == "built" and len(entries(cache, "friction")) == 1
    second = build_project_friction(data, params, grid)
    assert second.source == "cache" and same_friction(second, built)
    cached = run_analysis(data, params)
    assert "friction_cached" in cached.timings_s and "friction" not in cached.timings_s
    for tier in ("primary", "secondary"):
        assert np.array_equal(cached.tiers[tier].minutes, plain.tiers[tier].minutes, equal_nan=True)
        assert np.array_equal(cached.tiers[tier].allocation, plain.tiers[tier].allocation)
    assert cached.villages.drop(columns="geometry").equals(plain.villages.drop(columns="geometry"))
    assert cached.townships.drop(columns="geometry", errors="ignore").equals(
        plain.townships.drop(columns="geometry", errors="ignore"))
    assert [str(p) for p in cached.problems] == [str(p) for p in plain.problems]


def test_any_change_to_what_the_surface_is_built_from_is_another_key(sagaing, cache):
    project, data, params, grid = sagaing

    def key(data=data, params=params, grid=grid, scenario=None, files=None):
        frames = {"townships": data.role("townships"), "roads": data.role("roads"), "rivers": data.role("rivers"),
                  "crossings": data.role("crossings"),
                  "zones": apply_zone_edits(data.role("conflict_zones"), scenario)}
        return friction_cache.friction_key(grid, params, frames, files or {"landcover_path": None}, {})

    base = key()
    assert key() == base  # the same inputs: the same key
    moved = copy.copy(data)
    moved.layers = dict(data.layers)
    roads_ref = next(name for name, layer in data.layers.items() if layer.role == "roads")
    layer = copy.copy(data.layers[roads_ref])
    layer.data = layer.data.copy()
    layer.data.loc[0, "geometry"] = shapely.affinity.translate(layer.data.geometry.iloc[0], xoff=1e-5)  # ~1 m
    moved.layers[roads_ref] = layer
    reclassed = copy.copy(moved)
    reclassed.layers = dict(data.layers)
    layer2 = copy.copy(data.layers[roads_ref])
    layer2.data = layer2.data.copy()
    layer2.data.loc[0, "road_class"] = "track" if layer2.data.loc[0, "road_class"] != "track" else "primary"
    reclassed.layers[roads_ref] = layer2
    first_zone = str(data.role("conflict_zones").zone_id.iloc[0])
    zone = {"name": "x", "edits": [{"type": "remove_zone", "zone_id": first_zone}]}
    other_tif = project.path.parent / "landcover_sentinel2_sample.tif"
    keys = {"road moved 1 m": key(data=moved), "road class": key(data=reclassed),
            "walking speed": key(params=params.replace(speeds_kmh={**params.speeds_kmh, "walking": {
                **params.speeds_kmh["walking"], "off_road": params.speeds_kmh["walking"]["off_road"] + 0.1}})),
            "mode": key(params=params.replace(mode="motorbike")),
            "date": key(params=params.replace(as_of=params.as_of_date.replace(year=2020))),
            "zone removed": key(scenario=zone),
            "grid": key(grid=analysis_grid(data, params.replace(cell_size_m=1000.0))),
            "unmapped tracks": key(params=params.replace(unmapped_kmh={**params.unmapped_kmh, "motorbike": 7.0})),
            "land cover": key(files={"landcover_path": other_tif})}
    assert base not in keys.values() and len(set(keys.values())) == len(keys), keys
    # what the surface does not depend on finds it again
    same = params.replace(primary_minutes=params.primary_minutes + 1, band_minutes=(15.0, 45.0), neighbours=8,
                          max_minutes=300.0, people_per_bed=50.0, unknown_counts=not params.unknown_counts)
    assert key(params=same) == base


def test_build_friction_reads_no_parameter_outside_the_key(sagaing, tmp_path):
    """Every field of the parameters that building a surface reads is in the cache key
    (friction_cache.FRICTION_PARAMS): a parameter read and not keyed would let a run find the
    surface of other settings. Recorded on the bundled project with land cover on, walking and
    motorbike (whose off-road speed comes from the unmapped-track table)."""
    project, data, params, grid = sagaing
    fields = {f.name for f in dataclasses.fields(AnalysisParams)}
    read, paused = set(), []

    class Recording(AnalysisParams):
        def __getattribute__(self, name):
            if name in fields and not paused:
                read.add(name)
            return super().__getattribute__(name)

        def __post_init__(self):
            paused.append(1)
            try:
                super().__post_init__()
            finally:
                paused.pop()

        def replace(self, **changes):  # copying every field is not reading it
            paused.append(1)
            try:
                return dataclasses.replace(self, **changes)
            finally:
                paused.pop()

    landcover_on = with_landcover(data)
    for mode in ("walking", "motorbike"):
        recording = Recording(**{name: getattr(params.replace(mode=mode), name) for name in fields})
        read.clear()
        friction_mod.clear_study_cache()
        build_project_friction(landcover_on, recording, grid)
        assert {"mode", "speeds_kmh"} <= read, read  # (the recording works)
        assert read <= set(friction_cache.FRICTION_PARAMS), read - set(friction_cache.FRICTION_PARAMS)


def test_no_surface_of_a_project_with_protected_friction_layers_is_cached(sagaing, cache):
    project, data, params, grid = sagaing
    guarded = copy.copy(data)
    guarded.project = copy.deepcopy(project)
    zones = next(ref for ref in guarded.project.layers if ref.role == "conflict_zones")
    zones.options["sensitive"] = True
    assert build_project_friction(guarded, params, grid).source == "built"
    assert build_project_friction(guarded, params, grid).source == "built"
    assert not entries(cache, "friction")


def test_large_grids_are_not_cached(sagaing, cache, monkeypatch):
    project, data, params, grid = sagaing
    monkeypatch.setattr(friction_cache, "MAX_CELLS", grid.shape[0] * grid.shape[1] - 1)
    build_project_friction(data, params, grid)
    assert not entries(cache, "friction")


# ----------------------------------------------------------------------------- layers

def _frames(data):
    return {name: (layer.data, [str(p) for p in layer.problems], layer.mapping, layer.road_classes, layer.path)
            for name, layer in data.layers.items()}


def test_layers_read_back_equal_the_layers_checked_and_facilities_are_never_kept(bundled_project_path, cache,
                                                                                 monkeypatch):
    project = load_project(bundled_project_path)
    runcache.enable(False)
    plain = load_project_data(project, roles=ANALYSIS_ROLES)
    runcache.enable(True)
    load_project_data(project, roles=ANALYSIS_ROLES)
    kept = entries(cache, "layers")
    facilities = [ref for ref in project.layers if ref.role == "facilities"]
    assert len(kept) == len(plain.layers) - len(facilities) > 0
    calls = []
    real = model.load_layer

    def counted(path, role=None, **kwargs):
        calls.append(role)
        return real(path, role, **kwargs)

    monkeypatch.setattr(model, "load_layer", counted)
    again = load_project_data(project, roles=ANALYSIS_ROLES)
    assert calls == ["facilities"] * len(facilities)  # everything else read back
    a, b = _frames(plain), _frames(again)
    assert a.keys() == b.keys()
    for name in a:
        frame_a, *rest_a = a[name]
        frame_b, *rest_b = b[name]
        assert rest_a == rest_b, name
        assert frame_a.equals(frame_b) and list(frame_a.dtypes) == list(frame_b.dtypes), name
        assert frame_a.crs == frame_b.crs and frame_a.attrs.keys() == frame_b.attrs.keys(), name
    assert [str(p) for p in plain.problems] == [str(p) for p in again.problems]
    for entry in kept:
        assert b"Health facilities" not in entry.read_bytes()


@pytest.fixture
def copied_project(tmp_path, bundled_project_path, monkeypatch):
    """The bundled project's folder copied (its files count as settled at once: runcache.SETTLED_S)."""
    import shutil

    monkeypatch.setattr(runcache, "SETTLED_S", -1.0)
    folder = tmp_path / "project"
    shutil.copytree(bundled_project_path.parent, folder)
    return folder / bundled_project_path.name


def test_a_changed_geopackage_is_read_again(cache, copied_project):
    folder = copied_project.parent
    project = load_project(copied_project)
    before = load_project_data(project, roles=ANALYSIS_ROLES)
    villages_ref = next(ref for ref in project.layers if ref.role == "villages")
    gpkg = Path(villages_ref.path)
    assert gpkg.parent == folder and entries(cache, "layers")
    frame = gpd.read_file(gpkg, layer=villages_ref.layer)
    source = (villages_ref.mapping or {}).get("population", "pop_est_2014")
    frame.loc[0, source] = 123_456
    pyogrio.write_dataframe(frame, gpkg, layer=villages_ref.layer)
    after = load_project_data(load_project(copied_project), roles=ANALYSIS_ROLES)
    name = next(n for n, layer in after.layers.items() if layer.role == "villages")
    assert after.layers[name].data["population"].iloc[0] == 123_456
    assert before.layers[name].data["population"].iloc[0] != 123_456
    Path(f"{gpkg}-wal").write_bytes(b"")  # another program is writing it: not read from the cache
    assert layer_cache.cacheable(villages_ref) is False


def test_protecting_a_project_clears_the_cache_and_a_protected_one_keeps_nothing(cache, copied_project):
    from coverage_app.core.data.protect import save_protected

    project = load_project(copied_project)
    data = load_project_data(project, roles=ANALYSIS_ROLES)
    assert entries(cache, "layers")
    params = project.params.replace(cell_size_m=COARSE_M)
    build_project_friction(data, params, analysis_grid(data, params))
    assert entries(cache, "friction")
    save_protected(project, copied_project.with_suffix(".covprojx"), passphrase="correct horse battery staple")
    assert not entries(cache, "layers") and not entries(cache, "friction")
    assert project.protected  # then nothing of it is kept: its entries would name its folder in clear
    data = load_project_data(project, roles=ANALYSIS_ROLES)
    assert build_project_friction(data, params, analysis_grid(data, params)).source == "built"
    assert build_project_friction(data, params, analysis_grid(data, params)).source == "built"
    assert not entries(cache, "layers") and not entries(cache, "friction")


def test_a_friction_entry_that_does_not_decode_or_that_others_could_write_is_not_used(cache):
    grid = SMALL_GRID
    surface = _surfaces_in_every_encoding(grid)["every field"]
    assert friction_cache.store("k", surface)
    meta, parts = runcache.read("friction", "k")
    meta["arrays"]["cost_s_per_m"]["how"] = "unknown"  # valid CRCs, an encoding this code does not know
    assert runcache.write("friction", "k", meta, [bytes(p) for p in parts])
    assert friction_cache.load("k", grid) is None and not entries(cache, "friction")
    assert friction_cache.store("k", surface)
    if os.name == "posix":
        (cache / "friction" / "k.entry").chmod(0o666)  # anyone could have written these travel times
        assert friction_cache.load("k", grid) is None
        (cache / "friction" / "k.entry").chmod(0o600)
        cache.chmod(0o777)  # nor from a cache folder anyone may write into
        assert friction_cache.load("k", grid) is None
        cache.chmod(0o700)
    assert same_friction(friction_cache.load("k", grid), surface)


def test_rasters_in_the_key_with_their_sidecars_and_a_vrt_is_not_cached(sagaing, cache, tmp_path):
    import shutil

    project, data, params, grid = sagaing
    tif = next(Path(r.path) for r in project.layers if r.role == "landcover")
    copy_tif = tmp_path / "landcover.tif"
    shutil.copy(tif, copy_tif)

    def key(path):
        return friction_cache.friction_key(grid, params, {}, {"landcover_path": path}, {})

    plain = key(copy_tif)
    Path(f"{copy_tif}.aux.xml").write_text("<PAMDataset><PAMRasterBand band='1'><NoDataValue>3</NoDataValue>"
                                           "</PAMRasterBand></PAMDataset>")  # GDAL reads another nodata
    assert key(copy_tif) not in (None, plain)
    vrt = tmp_path / "landcover.vrt"
    import rasterio.shutil

    rasterio.shutil.copy(copy_tif, vrt, driver="VRT")  # its bytes are in the .tif it names
    assert key(vrt) is None


def test_a_raster_gone_since_loading_fails_as_it_does_without_the_cache(sagaing, cache, tmp_path, monkeypatch):
    import shutil

    from coverage_app.core.errors import InputError

    project, data, params, grid = sagaing
    tif = next(Path(r.path) for r in project.layers if r.role == "landcover")
    shutil.copy(tif, tmp_path / "landcover.tif")
    gone = with_landcover(data, tmp_path / "landcover.tif")
    os.remove(tmp_path / "landcover.tif")
    messages = []
    for on in (False, True):
        runcache.enable(on)
        with pytest.raises(InputError) as err:
            build_project_friction(gone, params, grid)
        messages.append(str(err.value))
    assert messages[0] == messages[1]


def test_a_change_of_land_cover_speeds_is_another_surface(sagaing, cache):
    project, data, params, grid = sagaing
    landcover_on = with_landcover(data)
    first = build_project_friction(landcover_on, params, grid)
    again = build_project_friction(landcover_on, params, grid)
    assert first.source == "built" and again.source == "cache" and same_friction(first, again)
    plain = build_project_friction(data, params, grid)
    assert not same_friction(plain, first)  # (the land cover is used)
    speeds = landcover_on.project.landcover_speeds_kmh
    name = next(iter(speeds))
    speeds[name] = float(speeds[name] or 0) + 1.0
    assert build_project_friction(landcover_on, params, grid).source == "built"


def test_a_frozen_bundle_keys_on_the_digest_its_build_wrote(tmp_path, monkeypatch):
    import sys

    from coverage_app.core import runcache as rc

    monkeypatch.setattr(rc, "_CODE_DIGEST", [])
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert rc.code_digest() is None  # no digest written: the cache stays off
    monkeypatch.setenv("COVERAGE_APP_CACHE_DIR", str(tmp_path / "cache"))
    before = rc.enable(True)
    try:
        assert not rc.enabled()
        monkeypatch.setattr(rc, "_CODE_DIGEST", [])
        digest = rc.source_digest(Path(rc.__file__).resolve().parent)
        (tmp_path / rc.CODE_DIGEST_FILE).write_text(digest.hex() + "\n", encoding="ascii")
        assert rc.code_digest() == digest and rc.enabled()
    finally:
        rc.enable(before)
