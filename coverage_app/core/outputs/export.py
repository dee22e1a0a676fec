"""Coverage exports (DESIGN.md section 5), shared by the app and the command line.

Everything is first written into a staging folder beside the target (``.NAME.export-*``),
then switched in place of the target folder in one step (an atomic exchange of the two
folders on Linux; elsewhere two renames that the next run repairs if interrupted), so a
failure or kill at any point (disk full, cancel, crash) leaves the previous export whole,
never old and new files mixed. ``run.json`` lists the complete set of files (``files``).
Other files the user keeps in the folder are carried over (hard links). A lock file beside
the folder (``.NAME.lock``) keeps two writers of one folder from interleaving; stale staging
folders are removed by the next export.

Shapefile field names (<= 10 characters, UTF-8 ``.cpg``) are listed in ``SHAPEFILE_FIELDS``
and documented in the README.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import platform
import shutil
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

from coverage_app.core.outputs.background import Background
from coverage_app.core.outputs.scenario_label import scenario_name
from coverage_app.core.errors import InputError, Problem
from coverage_app.core.feedback import Cancelled, report
from coverage_app.core.profile import stage
from coverage_app.core.results import TIERS, AnalysisResult
from coverage_app.core.atomic import (FolderBusy, clean_stale, folder_lock, fsync_file, fsync_folder,  # noqa: I001
                                      link_or_copy, staging_dir_for, switch_folder)

RASTER_NODATA = -9999.0
SHAPEFILE_FIELDS = {
    "villages": ["pcode", "name_en", "name_my", "ts_pcode", "pop", "prim_min", "prim_fac", "sec_min", "sec_fac",
                 "gap", "on_grid"],
    "townships": ["pcode", "name_en", "name_my", "pop", "census_pop", "pop_prim", "pct_prim", "pop_sec", "pct_sec",
                  "vil_noprim", "vil_nosec"],
    "catchments": ["tier", "fac_id", "fac_name", "level", "band_min", "area_km2", "pop"],
    "facilities": ["fac_id", "name", "level", "status", "st_date", "st_source", "prim", "sec", "counts_p",
                   "counts_s", "ref_min"],
}
SAFE_SHARE_GRID_KM = 20.0
# Shapefile names (<= 10 characters) for the longer GeoPackage/CSV field names.
SHAPEFILE_RENAMES = {"n_facilities": "n_fac", "n_secondary": "n_sec", "n_primary_only": "n_prim_onl",
                     "n_counting": "n_counting", "township_pcode": "ts_pcode", "served_pop": "served",
                     "unserved_pop": "unserved"}


def shapefile_columns(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with field names a Shapefile keeps (<= 10 characters): the documented short names of
    SHAPEFILE_RENAMES, any other long name cut to 10 characters and made unique."""
    names, used = {}, set()
    for col in table.columns:
        if col == "geometry" or len(col) <= 10:
            used.add(col)
    for col in table.columns:
        if col == "geometry" or len(col) <= 10:
            continue
        short = SHAPEFILE_RENAMES.get(col, col[:10])
        k = 1
        while short in used:
            short = f"{col[:10 - len(str(k))]}{k}"
            k += 1
        names[col] = short
        used.add(short)
    return table.rename(columns=names) if names else table


def village_table(result: AnalysisResult) -> gpd.GeoDataFrame:
    v = result.villages
    out = gpd.GeoDataFrame({
        "pcode": v["pcode"].astype(str), "name_en": v.get("name_en"), "name_my": v.get("name_my"),
        "ts_pcode": v.get("township_pcode"), "pop": v["population"].round().astype("Int64"),
        "prim_min": v["prim_min"], "prim_fac": v["prim_fac"], "sec_min": v["sec_min"], "sec_fac": v["sec_fac"],
        "gap": v["gap"].astype(str), "on_grid": v["on_grid"].astype(int),
    }, geometry=v.geometry.values, crs=v.crs)
    # zone: the in-force conflict zone it lies in (its travel is slowed there); pop_basis: how the point
    # (and its share of the census) was placed, i.e. which figures are estimates
    for text in ("zone", "pop_basis"):
        if text in v:
            out[text] = v[text].astype(object).where(v[text].notna(), None)
    if "unserved_pop" in v:  # capacity-aware: people within the threshold served / beyond capacity
        out["served"] = v["served_pop"]
        out["unserved"] = v["unserved_pop"]
    return out


def township_table(result: AnalysisResult) -> gpd.GeoDataFrame:
    t = result.townships
    cols = [c for c in SHAPEFILE_FIELDS["townships"] if c in t]
    out = t[cols + (["geometry"] if "geometry" in t else [])].copy()
    if result.capacity is not None:
        cap = result.capacity.set_index("township_pcode")
        out["served"] = out["pcode"].map(cap["served_pop"]).fillna(0).round()
        out["unserved"] = out["pcode"].map(cap["unserved_pop"]).fillna(0).round()
    if result.sensitivity is not None:  # percent of the township's people, lowest and highest speed case
        ranges = result.sensitivity["townships"].set_index("pcode")
        for col in ("pct_lo", "pct_hi", "pct_sec_lo", "pct_sec_hi"):
            out[col] = out["pcode"].map(ranges[col])
    return out


def facility_table_out(result: AnalysisResult) -> gpd.GeoDataFrame:
    f = result.facilities
    return gpd.GeoDataFrame({
        "fac_id": f["fac_id"].astype(str), "name": f["name"], "level": f["level"], "status": f["status"],
        "ts_pcode": f.get("township_pcode"), "st_date": f.get("status_date"), "st_source": f.get("status_source"),
        "prim": f["provides_primary"].astype(int), "sec": f["provides_secondary"].astype(int),
        "counts_p": f["counts_primary"].astype(int), "counts_s": f["counts_secondary"].astype(int),
        "ref_min": f["ref_min"], "capacity": f.get("capacity"), "cap_basis": f.get("capacity_basis"),
    }, geometry=f.geometry.values, crs=f.crs).to_crs(4326)


def catchment_table(result: AnalysisResult) -> gpd.GeoDataFrame:
    c = result.catchments
    return c[[col for col in SHAPEFILE_FIELDS["catchments"] if col in c] + ["geometry"]]


def safe_share_tables(tables: dict, result: AnalysisResult) -> dict:
    """For outputs that leave the team: facilities become counts per 20 km grid cell (no names, no
    ids, the same generalisation as the printed maps); catchments are dropped (they centre on the
    facilities); villages keep generalised travel times (5-minute bands, at least 15 minutes) at
    points rounded to 0.01 degree, not which facility serves them."""
    from coverage_app.core.outputs.safe_share import generalise_facilities, generalise_minutes, generalise_points

    out = dict(tables)
    out["facilities"] = generalise_facilities(result.facilities.to_crs(4326), method="grid",
                                              grid_km=SAFE_SHARE_GRID_KM)
    out.pop("catchments", None)
    villages = generalise_points(tables["villages"].drop(columns=["prim_fac", "sec_fac"]))
    for col in ("prim_min", "sec_min"):  # 5-minute bands, at least 15: no value marks a facility cell
        villages[col] = generalise_minutes(villages[col])
    out["villages"] = villages
    return out


def _sha256(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def input_files(project=None, inputs=None) -> list[dict]:
    """The run's input files, each with its SHA-256 and the project layers read from it."""
    files = {}

    def entry(path: str) -> dict:  # each file hashed once, however many layers it holds
        if path not in files:
            files[path] = {"path": path, "sha256": _sha256(Path(path)), "layers": []}
        return files[path]

    for ref in (project.layers if project is not None else []):
        entry(ref.path)["layers"].append({"name": ref.name, "layer": ref.layer, "role": ref.role})
    for path in inputs or []:
        entry(str(path))
    return list(files.values())


def run_record(result: AnalysisResult, project=None, inputs=None, safe_share=False, files=None) -> dict:
    """Everything needed to reproduce and cite a run: parameters, inputs with hashes, versions, date.
    ``files``: :func:`input_files` if already computed (the export hashes the inputs on a thread)."""
    import geopandas
    import numba
    import pyogrio
    import shapely

    from coverage_app import __version__

    if files is None:
        files = input_files(project, inputs)
    return {
        "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "software": {"coverage_app": __version__, "python": platform.python_version(),
                     "numpy": np.__version__, "geopandas": geopandas.__version__, "shapely": shapely.__version__,
                     "pyogrio": pyogrio.__version__, "rasterio": rasterio.__version__, "numba": numba.__version__,
                     "gdal": pyogrio.__gdal_version_string__, "platform": platform.platform()},
        "project": None if project is None else {"name": project.name, "path": str(project.path)},
        "parameters": result.params.to_dict() | {"as_of_used": _as_of(result).isoformat()},
        "scenario": result.scenario,
        "scenario_name": scenario_name(result.scenario),  # "Baseline" or the scenario's name
        "grid": {"crs": result.grid.crs.to_string(), "cell_size_m": result.grid.cell_size_m,
                 "shape": list(result.grid.shape), "bounds": list(result.grid.bounds)},
        "inputs": files,
        "headline": result.headline(),
        "population_basis": result.population_basis,
        "timings_s": {k: round(v, 3) for k, v in result.timings_s.items()},
        "problems": [str(p) for p in result.problems],
        "safe_share": safe_share,
        "sensitivity": None if result.sensitivity is None else {
            "cases": result.sensitivity["cases"], "headline": result.sensitivity["headline"]},
    }


def _as_of(result):
    from coverage_app.core.analysis.pipeline import scenario_as_of

    return scenario_as_of(result.params, result.scenario)


# GeoTIFF profiles (measured on a 3000 x 3000 travel-time grid, see benchmarks/README.md): float
# minutes hardly compress (deflate with predictor 3 saves 1/3 of the size for ~10x the write time),
# so they are written uncompressed; allocation indices compress ~100x with fast deflate (level 1, no
# predictor). Both are readable by any GDAL, QGIS or ArcGIS.
TRAVEL_TIME_PROFILE = dict(tiled=True, blockxsize=256, blockysize=256)
ALLOCATION_PROFILE = dict(tiled=True, blockxsize=256, blockysize=256, compress="deflate", zlevel=1)
# Rows written at a time: whole tile rows up to ~4 MB of float32 (768 rows of a 250 m Sagaing grid,
# 256 of a 3000-column one). Fewer strips than one per tile row: the write runs on a thread beside the
# vector writes, and each GIL hand-back can wait out a whole pyogrio call (~60 ms); larger buffers
# cost more first-touch page faults than they save (32 MB: +28,000 faults, +25 MB on 3000 x 3000).
_STRIP_BYTES = 4 << 20
_TILE = TRAVEL_TIME_PROFILE["blockysize"]


def _strip_rows(cols: int, itemsize: int) -> int:
    return max(_TILE, (_STRIP_BYTES // max(cols * itemsize, 1)) // _TILE * _TILE)


def _write_strips(dst, array, nodata=None) -> None:
    """Write ``array`` into band 1. Minutes (``nodata`` given) go in strips of whole tile rows, NaN
    replaced by ``nodata`` in a strip-sized buffer (never a full-grid float64 copy, nor a float32 one
    beyond ~4 MB). Without ``nodata`` the array is already in the band's type and nodata convention
    and goes in one call, which rasterio makes without the GIL (strips would each wait for the GIL
    while a thread polygonises catchments, ~0.3 s on 3000 x 3000).

    Data without a value (a strip all NaN, an array all nodata) is not written: GDAL fills the tiles
    never written with the band's nodata when the file closes and deflates one such tile once (a tier
    that reaches nothing, e.g. no secondary facility, costs ~0.004 s instead of ~0.17 s on 3000 x
    3000; the file reads back the same)."""
    from rasterio.windows import Window

    rows, cols = array.shape
    if nodata is None:
        if array.dtype != np.dtype(dst.dtypes[0]) or dst.nodata is None:
            raise ValueError("an array written as it is needs the band's type and a nodata value")
        if (array != dst.nodata).any():
            dst.write(array, 1)
        return
    step = _strip_rows(cols, np.dtype(dst.dtypes[0]).itemsize)
    buf = np.empty((min(step, rows), cols), dtype=dst.dtypes[0])
    for r0 in range(0, rows, step):
        n = min(step, rows - r0)
        part = buf[:n]
        np.copyto(part, array[r0:r0 + n], casting="same_kind")
        missing = np.isnan(part)
        if missing.all():
            continue
        np.copyto(part, nodata, where=missing)
        dst.write(part, 1, window=Window(0, r0, cols, n))


def write_travel_time_rasters(result: AnalysisResult, folder: Path, stages=None, overlapped: bool = False,
                              tiers=TIERS, facility_csv: bool = True) -> list[Path]:
    """travel_time_{tier}.tif (float32 minutes, nodata -9999) and allocation_{tier}.tif (int32 facility
    index, nodata -1, with allocation_facilities.csv mapping index -> fac_id), in the working CRS.
    ``overlapped``: the seconds per file are recorded as overlapped stages (written on a thread);
    ``tiers`` and ``facility_csv`` (allocation_facilities.csv) choose what is written (the export
    writes each tier on its own thread)."""
    written = []
    for tier in tiers:
        written += write_tier_rasters(tier, result.tiers[tier], result.grid, result.params.mode, folder, stages,
                                      overlapped)
    if facility_csv:
        written.append(write_allocation_lookup(result, folder))
    return written


def write_tier_rasters(tier: str, t, grid, mode: str, folder: Path, stages=None,
                       overlapped: bool = False) -> list[Path]:
    """travel_time_{tier}.tif and allocation_{tier}.tif of one tier's result ``t`` (a
    :class:`~coverage_app.core.results.TierResult` on ``grid``, travel ``mode``) in ``folder``."""
    base = dict(driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1, crs=grid.crs.to_wkt(),
                transform=grid.transform)
    path = folder / f"travel_time_{tier}.tif"
    with stage(stages, f"export: {path.name}", overlapped), \
            rasterio.open(path, "w", dtype="float32", nodata=RASTER_NODATA, **base, **TRAVEL_TIME_PROFILE) as dst:
        _write_strips(dst, t.minutes, RASTER_NODATA)
        dst.update_tags(units="minutes", tier=tier, mode=mode)
        dst.set_band_description(1, f"minutes to nearest {tier} care facility ({mode})")
    path2 = folder / f"allocation_{tier}.tif"
    with stage(stages, f"export: {path2.name}", overlapped), \
            rasterio.open(path2, "w", dtype="int32", nodata=-1, **base, **ALLOCATION_PROFILE) as dst:
        _write_strips(dst, t.allocation)
        dst.set_band_description(1, f"index of the nearest {tier} facility (see allocation_facilities.csv)")
    return [path, path2]


def write_allocation_lookup(result: AnalysisResult, folder: Path) -> Path:
    """allocation_facilities.csv: the allocation rasters' value -> fac_id and name."""
    fac = result.facilities
    lookup = pd.DataFrame({"value": np.arange(len(fac)), "fac_id": fac["fac_id"].to_numpy(),
                           "name": fac["name"].to_numpy()})
    lookup.to_csv(folder / "allocation_facilities.csv", index=False)
    return folder / "allocation_facilities.csv"


def write_table(table, path, **kwargs) -> None:
    """Write a layer; a table without geometry (e.g. townships when none were loaded) as attributes only.
    Through GDAL's Arrow interface where it covers the table (:mod:`.arrow_tables`: the same file, faster)."""
    import pyogrio

    from coverage_app.core.outputs.arrow_tables import write_arrow_table

    if isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table:
        if set(kwargs) <= {"layer", "driver", "encoding"} and write_arrow_table(table, path, **kwargs):
            return
        table.to_file(path, engine="pyogrio", **kwargs)
    else:
        pyogrio.write_dataframe(pd.DataFrame(table).drop(columns="geometry", errors="ignore"), path, **kwargs)


@contextlib.contextmanager
def _unsynced_sqlite():
    """GeoPackage layers written without SQLite's fsync at every commit (OGR_SQLITE_SYNCHRONOUS=OFF;
    0.8 -> 0.3 s for the four layers at 250 m): the file is in the staging folder, fsynced once
    below before it is moved into place, so a crash still leaves the previous export intact.
    GDAL's option is process-wide: the previous value is put back."""
    import pyogrio

    before = pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": before})


def check_output_folder(out_dir) -> Path:
    """The export folder, resolved; refused if it is a file, not writable, or a folder that must not be
    switched as a whole (the file-system root, the home folder, the current folder or one above it)."""
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise InputError(Problem("error", "the output folder is a file; choose a folder", file=str(out)))
    special = "the root of the file system" if out == Path(out.anchor) else "your home folder" \
        if out == Path.home().resolve() else "the current folder" if Path.cwd().resolve() == out \
        else "a folder above the current one" if out in Path.cwd().resolve().parents else None
    if special:
        raise InputError(Problem("error", f"{out} is {special}; an export replaces its folder as a whole, so give "
                                 "it a folder of its own, e.g. a new 'results' folder inside this one",
                                 file=str(out)))
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-", delete=True)
        probe.close()
    except OSError as exc:
        raise InputError(Problem("error", f"cannot write to the output folder ({exc.strerror or exc}); choose "
                                 "another folder", file=str(out))) from None
    try:  # the new export is written beside the folder, then switched in place of it
        probe = tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.write-test-", delete=True)
        probe.close()
    except OSError as exc:
        raise InputError(Problem("error", f"cannot write beside the output folder, in {out.parent} "
                                 f"({exc.strerror or exc}): an export is written there first and then switched "
                                 "in at once; choose a folder inside one you can write to", file=str(out))) from None
    return out


def export_coverage(result: AnalysisResult, out_dir, formats=("gpkg", "shp"), *, safe_share: bool = False,
                    project=None, inputs=None, rasters: bool = True, csv: bool = True, feedback=None,
                    stages=None, early=None) -> list[Path]:
    """Write the coverage products into ``out_dir`` (see module docstring); return the final paths.
    ``stages`` (a :class:`~coverage_app.core.profile.Stages`) receives seconds per output file;
    ``early``: the travel-time GeoTIFFs already being written for ``result``
    (:class:`~coverage_app.core.outputs.early_rasters.EarlyRasters`)."""
    out = check_output_folder(out_dir)
    formats = tuple(formats)
    bad = set(formats) - {"gpkg", "shp"}
    if bad:
        raise InputError(f"unknown export format {', '.join(sorted(bad))}: use gpkg, shp or both")
    with stage(stages, "export: output tables"):
        tables = {"villages": village_table(result), "catchments": catchment_table(result),
                  "townships": township_table(result), "facilities": facility_table_out(result)}
        if safe_share:
            tables = safe_share_tables(tables, result)
    with _export_lock(out):
        out.mkdir(parents=True, exist_ok=True)  # another run may have removed it, empty, meanwhile
        clean_stale(out)
        staging = staging_dir_for(out)
        try:
            return _write_export(result, out, staging, tables, formats, safe_share=safe_share, project=project,
                                 inputs=inputs, rasters=rasters, csv=csv, feedback=feedback, stages=stages,
                                 early=early)
        except (InputError, Cancelled):
            raise
        except _WRITE_ERRORS as exc:  # disk full in Python or inside GDAL, a vanished folder, ...
            raise InputError(Problem("error", f"the export failed ({_failure_reason(exc)}); the previous files in "
                                     "the folder are unchanged. Free some disk space or choose another folder",
                                     file=str(out))) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _write_export(result, out: Path, staging: Path, tables: dict, formats, *, safe_share, project, inputs,
                  rasters, csv, feedback, stages=None, early=None) -> list[Path]:
    """Write every product into ``staging``, then switch it in place of ``out`` in one step.

    The vector layers and CSV tables are written on this thread; the GeoTIFFs, the input hashes,
    the shapefiles' bytes (GDAL writes them in memory here, see :mod:`.gdal_memory`) and the fsync
    of each finished file run beside it (:mod:`.background`). Every file and the folder are fsynced
    before the switch."""
    steps = len(tables) * len(formats) + 3
    done = 0
    with Background(stages) as bg:
        if rasters and not safe_share:  # GDAL releases the GIL while it writes and compresses
            ready = early.tiers_for(result) if early is not None else []
            if ready:  # written while the run went on: moved in once done
                moved = bg.submit("export: travel-time rasters (wait for the early writes)", early.move_into, ready,
                                  staging)
            for tier in TIERS:  # one thread per tier: GDAL writes and compresses without the GIL
                if tier not in ready:
                    bg.submit("export: travel-time rasters (background)", _write_rasters_and_fsync, result, staging,
                              stages, (tier,), False)
            bg.fsync(write_allocation_lookup(result, staging))
        hashes = bg.submit("export: input hashes (background)", input_files, project, inputs)
        with warnings.catch_warnings(), _unsynced_sqlite():
            warnings.simplefilter("ignore", RuntimeWarning)
            if "gpkg" in formats:
                for name, table in tables.items():
                    report(feedback, done / steps, f"coverage.gpkg: {name}")
                    with stage(stages, f"export: coverage.gpkg {name}"):
                        write_table(table, staging / "coverage.gpkg", layer=name, driver="GPKG")
                    done += 1
                bg.fsync(staging / "coverage.gpkg")
            if "shp" in formats:
                for name, table in tables.items():
                    report(feedback, done / steps, f"{name}.shp")
                    with stage(stages, f"export: {name}.shp"):
                        _write_shapefile(shapefile_columns(table), staging, name, bg)
                    done += 1
        if csv:
            report(feedback, done / steps, "CSV tables")
            with stage(stages, "export: CSV tables"):
                bg.fsync(*write_csv_tables(tables, result, staging))
        done += 1
        if rasters and not safe_share:
            report(feedback, done / steps, "Travel-time rasters")
        done += 1
        with stage(stages, "export: wait for the background writes"):
            bg.wait()
        fsynced = set(bg.fsynced)
        if rasters and not safe_share and ready:
            fsynced.update(moved.result())
    with stage(stages, "export: run.json"):
        record = run_record(result, project, inputs, safe_share, files=hashes.result())
        if safe_share:
            from coverage_app.core.outputs.safe_share import scrub_record

            record = scrub_record(record, result.facilities)
        if stages is not None:  # the profile so far (the switch into place is not in it)
            record["timings"] = stages.as_dict()
        products = sorted(p.name for p in staging.iterdir()) + ["run.json"]
        record["files"] = products  # the manifest: the complete set this export wrote
        (staging / "run.json").write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n",
                                          encoding="utf-8")
    with stage(stages, "export: fsync"):  # run.json, any file no job fsynced, then the folder
        for path in staging.iterdir():
            if path.name not in fsynced:
                fsync_file(path)
        fsync_folder(staging)
    report(feedback, (steps - 1) / steps, "Switching to the new export")
    previous = _previous_products(out)
    for entry in out.iterdir():  # the user's own files in the folder stay (hard links, no copy)
        if entry.name not in products and entry.name not in previous and not entry.name.startswith(".write-test-"):
            link_or_copy(entry, staging / entry.name)
    switch_folder(staging, out)
    report(feedback, 1.0, "Export complete")
    return [out / name for name in products]


def _write_shapefile(table, staging: Path, name: str, bg: Background) -> None:
    """``name``.shp and its side files: GDAL writes them into memory and a thread writes the bytes
    into ``staging`` (fsynced); where memory files cannot be read back, GDAL writes to disk here."""
    from coverage_app.core.outputs import gdal_memory

    files = None
    if gdal_memory.available():
        folder = gdal_memory.new_folder()
        try:
            write_table(table, f"{folder}/{name}.shp", driver="ESRI Shapefile", encoding="UTF-8")
            files = gdal_memory.take_folder(folder)
        finally:
            gdal_memory.discard(folder)
    if files is None:  # the same write, to disk
        write_table(table, staging / f"{name}.shp", driver="ESRI Shapefile", encoding="UTF-8")
        bg.fsync(*sorted(p for p in staging.iterdir() if p.stem == name))
        return
    for file_name, data in files.items():
        bg.write_file(staging / file_name, data)


def write_csv_tables(tables: dict, result: AnalysisResult, folder: Path) -> list[Path]:
    """townships.csv, villages.csv (with lon/lat in EPSG:4326, 6 decimals) and coverage_curve.csv
    in ``folder``; returns their paths."""
    for name in ("townships", "villages"):
        frame = pd.DataFrame(tables[name].drop(columns="geometry", errors="ignore"))
        if name == "villages":
            ll = tables[name].geometry.to_crs(4326)
            frame["lon"], frame["lat"] = ll.x.round(6), ll.y.round(6)
        frame.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8")
    result.curve.round(4).to_csv(folder / "coverage_curve.csv", index=False)
    return [folder / "townships.csv", folder / "villages.csv", folder / "coverage_curve.csv"]


def _write_rasters_and_fsync(result, staging: Path, stages, tiers=TIERS, facility_csv=True) -> None:
    for path in write_travel_time_rasters(result, staging, stages=stages, overlapped=True, tiers=tiers,
                                          facility_csv=facility_csv):
        fsync_file(path)


def _write_errors() -> tuple[type[BaseException], ...]:
    """What a write can raise when the disk is full or the folder goes away: OSError, and the
    GDAL errors of pyogrio and rasterio (e.g. "sqlite3_exec(COMMIT) failed: database or disk is full")."""
    import sqlite3

    import pyogrio.errors
    import rasterio.errors

    return (OSError, sqlite3.Error, pyogrio.errors.DataSourceError, pyogrio.errors.FieldError,
            pyogrio.errors.GeometryError, rasterio.errors.RasterioError)


_WRITE_ERRORS = _write_errors()


@contextlib.contextmanager
def _export_lock(out: Path):
    try:
        with folder_lock(out):
            yield
    except FolderBusy as busy:
        holder = f" ({busy})" if str(busy) else ""
        raise InputError(Problem("error", f"another export is writing into this folder right now{holder}; wait "
                                 "until it has finished, or choose another folder", file=str(out))) from None


def _previous_products(out: Path) -> set[str]:
    """File names the previous export wrote (its run.json manifest); they are replaced, not kept."""
    try:
        files = json.loads((out / "run.json").read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return set()
    return {str(f) for f in files} if isinstance(files, list) else set()


def _failure_reason(exc: Exception) -> str:
    text = str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC or any(
            k in text.lower() for k in ("no space left", "disk is full", "disk full")):
        return "No space left on device"
    if isinstance(exc, OSError):
        return exc.strerror or text or type(exc).__name__
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:160]
