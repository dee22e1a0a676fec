"""Coverage exports (DESIGN.md section 5), shared by the app and the command line.

Everything is first written into a temporary folder beside the target, then moved into
place file by file (renames need no disk space), so a failure part-way (disk full, cancel,
crash) leaves the previous export intact and never a half-written file.

Shapefile field names (<= 10 characters, UTF-8 ``.cpg``) are listed in ``SHAPEFILE_FIELDS``
and documented in the README.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import tempfile
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

from coverage_app.core.outputs.scenario_label import scenario_name
from coverage_app.core.errors import InputError, Problem
from coverage_app.core.feedback import report
from coverage_app.core.results import TIERS, AnalysisResult

RASTER_NODATA = -9999.0
SHAPEFILE_FIELDS = {
    "villages": ["pcode", "name_en", "name_my", "ts_pcode", "pop", "prim_min", "prim_fac", "sec_min", "sec_fac",
                 "gap", "on_grid"],
    "townships": ["pcode", "name_en", "name_my", "pop", "census_pop", "pop_prim", "pct_prim", "pop_sec", "pct_sec",
                  "vil_noprim", "vil_nosec"],
    "catchments": ["tier", "fac_id", "fac_name", "level", "band_min", "area_km2", "pop"],
    "facilities": ["fac_id", "name", "level", "status", "prim", "sec", "counts_p", "counts_s", "ref_min"],
}
SAFE_SHARE_GRID_KM = 20.0


def village_table(result: AnalysisResult) -> gpd.GeoDataFrame:
    v = result.villages
    out = gpd.GeoDataFrame({
        "pcode": v["pcode"].astype(str), "name_en": v.get("name_en"), "name_my": v.get("name_my"),
        "ts_pcode": v.get("township_pcode"), "pop": v["population"].round().astype("Int64"),
        "prim_min": v["prim_min"], "prim_fac": v["prim_fac"], "sec_min": v["sec_min"], "sec_fac": v["sec_fac"],
        "gap": v["gap"].astype(str), "on_grid": v["on_grid"].astype(int),
    }, geometry=v.geometry.values, crs=v.crs)
    if "unserved_pop" in v:
        out["unserved"] = v["unserved_pop"]
    return out


def township_table(result: AnalysisResult) -> gpd.GeoDataFrame:
    t = result.townships
    cols = [c for c in SHAPEFILE_FIELDS["townships"] if c in t]
    out = t[cols + (["geometry"] if "geometry" in t else [])].copy()
    if result.capacity is not None:
        unserved = result.capacity.set_index("township_pcode")["unserved_pop"]
        out["unserved"] = out["pcode"].map(unserved).fillna(0).round()
    return out


def facility_table_out(result: AnalysisResult) -> gpd.GeoDataFrame:
    f = result.facilities
    return gpd.GeoDataFrame({
        "fac_id": f["fac_id"].astype(str), "name": f["name"], "level": f["level"], "status": f["status"],
        "prim": f["provides_primary"].astype(int), "sec": f["provides_secondary"].astype(int),
        "counts_p": f["counts_primary"].astype(int), "counts_s": f["counts_secondary"].astype(int),
        "ref_min": f["ref_min"],
    }, geometry=f.geometry.values, crs=f.crs).to_crs(4326)


def catchment_table(result: AnalysisResult) -> gpd.GeoDataFrame:
    c = result.catchments
    return c[[col for col in SHAPEFILE_FIELDS["catchments"] if col in c] + ["geometry"]]


def safe_share_tables(tables: dict, result: AnalysisResult) -> dict:
    """For outputs that leave the team: facilities become counts per 20 km grid cell (no names, no
    ids, the same generalisation as the printed maps); catchments are dropped (they centre on the
    facilities); villages keep their travel times but not which facility serves them."""
    from coverage_app.core.outputs.safe_share import generalise_facilities

    out = dict(tables)
    out["facilities"] = generalise_facilities(result.facilities.to_crs(4326), method="grid",
                                              grid_km=SAFE_SHARE_GRID_KM)
    out.pop("catchments", None)
    out["villages"] = tables["villages"].drop(columns=["prim_fac", "sec_fac"])
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


def run_record(result: AnalysisResult, project=None, inputs=None, safe_share=False) -> dict:
    """Everything needed to reproduce and cite a run: parameters, inputs with hashes, versions, date."""
    import geopandas
    import numba
    import pyogrio
    import shapely

    from coverage_app import __version__

    files = {}
    for ref in (project.layers if project is not None else []):
        files.setdefault(ref.path, {"path": ref.path, "sha256": _sha256(Path(ref.path)), "layers": []})
        files[ref.path]["layers"].append({"name": ref.name, "layer": ref.layer, "role": ref.role})
    for path in inputs or []:
        files.setdefault(str(path), {"path": str(path), "sha256": _sha256(Path(path)), "layers": []})
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
        "inputs": list(files.values()),
        "headline": result.headline(),
        "timings_s": {k: round(v, 3) for k, v in result.timings_s.items()},
        "problems": [str(p) for p in result.problems],
        "safe_share": safe_share,
    }


def _as_of(result):
    from coverage_app.core.analysis.pipeline import scenario_as_of

    return scenario_as_of(result.params, result.scenario)


def write_travel_time_rasters(result: AnalysisResult, folder: Path) -> list[Path]:
    """travel_time_{tier}.tif (float32 minutes) and allocation_{tier}.tif (int32 facility index, with
    allocation_facilities.csv mapping index -> fac_id), in the working CRS."""
    written = []
    g = result.grid
    profile = dict(driver="GTiff", width=g.shape[1], height=g.shape[0], count=1, crs=g.crs.to_wkt(),
                   transform=g.transform, compress="deflate", tiled=True, blockxsize=256, blockysize=256)
    for tier in TIERS:
        t = result.tiers[tier]
        path = folder / f"travel_time_{tier}.tif"
        with rasterio.open(path, "w", dtype="float32", nodata=RASTER_NODATA, predictor=3, **profile) as dst:
            dst.write(np.where(np.isnan(t.minutes), RASTER_NODATA, t.minutes).astype("float32"), 1)
            dst.update_tags(units="minutes", tier=tier, mode=result.params.mode)
            dst.set_band_description(1, f"minutes to nearest {tier} care facility ({result.params.mode})")
        path2 = folder / f"allocation_{tier}.tif"
        with rasterio.open(path2, "w", dtype="int32", nodata=-1, **profile) as dst:
            dst.write(t.allocation.astype("int32"), 1)
            dst.set_band_description(1, f"index of the nearest {tier} facility (see allocation_facilities.csv)")
        written += [path, path2]
    fac = result.facilities
    lookup = pd.DataFrame({"value": np.arange(len(fac)), "fac_id": fac["fac_id"].to_numpy(),
                           "name": fac["name"].to_numpy()})
    lookup.to_csv(folder / "allocation_facilities.csv", index=False)
    written.append(folder / "allocation_facilities.csv")
    return written


def _write(table, path, **kwargs) -> None:
    """Write a layer; a table without geometry (e.g. townships when none were loaded) as attributes only."""
    import pyogrio

    if isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table:
        table.to_file(path, engine="pyogrio", **kwargs)
    else:
        pyogrio.write_dataframe(pd.DataFrame(table).drop(columns="geometry", errors="ignore"), path, **kwargs)


def check_output_folder(out_dir) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(Problem("error", "the output folder is a file; choose a folder", file=str(out)))
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-", delete=True)
        probe.close()
    except OSError as exc:
        raise InputError(Problem("error", f"cannot write to the output folder ({exc.strerror or exc}); choose "
                                 "another folder", file=str(out))) from None
    return out


def export_coverage(result: AnalysisResult, out_dir, formats=("gpkg", "shp"), *, safe_share: bool = False,
                    project=None, inputs=None, rasters: bool = True, csv: bool = True, feedback=None) -> list[Path]:
    """Write the coverage products into ``out_dir`` (see module docstring); return the final paths."""
    out = check_output_folder(out_dir)
    formats = tuple(formats)
    bad = set(formats) - {"gpkg", "shp"}
    if bad:
        raise InputError(f"unknown export format {', '.join(sorted(bad))}: use gpkg, shp or both")
    tables = {"villages": village_table(result), "catchments": catchment_table(result),
              "townships": township_table(result), "facilities": facility_table_out(result)}
    if safe_share:
        tables = safe_share_tables(tables, result)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        steps = len(tables) * len(formats) + 3
        done = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            if "gpkg" in formats:
                for name, table in tables.items():
                    report(feedback, done / steps, f"coverage.gpkg: {name}")
                    _write(table, staging / "coverage.gpkg", layer=name, driver="GPKG")
                    done += 1
            if "shp" in formats:
                for name, table in tables.items():
                    report(feedback, done / steps, f"{name}.shp")
                    too_long = [c for c in table.columns if len(c) > 10]
                    assert not too_long, too_long
                    _write(table, staging / f"{name}.shp", driver="ESRI Shapefile", encoding="UTF-8")
                    done += 1
        if csv:
            report(feedback, done / steps, "CSV tables")
            for name in ("townships", "villages"):
                frame = pd.DataFrame(tables[name].drop(columns="geometry", errors="ignore"))
                if name == "villages":
                    ll = tables[name].geometry.to_crs(4326)
                    frame["lon"], frame["lat"] = ll.x.round(6), ll.y.round(6)
                frame.to_csv(staging / f"{name}.csv", index=False, encoding="utf-8")
            result.curve.round(4).to_csv(staging / "coverage_curve.csv", index=False)
        done += 1
        if rasters and not safe_share:
            report(feedback, done / steps, "Travel-time rasters")
            write_travel_time_rasters(result, staging)
        done += 1
        record = run_record(result, project, inputs, safe_share)
        (staging / "run.json").write_text(json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n",
                                          encoding="utf-8")
        for path in staging.iterdir():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
        report(feedback, (steps - 1) / steps, "Moving files into place")
        final = []
        for path in sorted(staging.iterdir()):
            target = out / path.name
            os.replace(path, target)
            final.append(target)
        report(feedback, 1.0, "Export complete")
        return final
    except OSError as exc:
        raise InputError(Problem("error", f"the export failed ({exc.strerror or exc}); the previous files in the "
                                 "folder are unchanged. Free some disk space or choose another folder",
                                 file=str(out))) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
