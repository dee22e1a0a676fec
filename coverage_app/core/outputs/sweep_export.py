"""Write a sweep's results (issue 15): GeoPackage + Shapefile + CSV and run.json.

Files in the output folder (written to a staging folder, then moved into place, so a failed
write leaves the previous files intact):

- ``sweep.gpkg``: layers ``villages`` (one row per case and village: ``p_prim``, ``p_sec``
  = probability of being within the primary / secondary threshold; ``prim_min5`` ..
  ``sec_min95`` = 5/50/95th percentile travel minutes, empty = not reached in that share of
  draws), ``townships`` (``prim_pct5`` .. ``sec_pct95`` = percentiles of the % of people
  within reach), ``series`` (one row per case: the region's percentiles; the as-of series)
  and ``draws`` (one row per case and draw: region shares %);
- ``villages.shp``, ``townships.shp`` (the same fields, names <= 10 characters);
- ``villages.csv``, ``townships.csv``, ``series.csv``, ``draws.csv``;
- ``run.json``: the spec (as read), its path, the seed, the cases and every draw's parameters,
  so draw K can be re-run alone (``coverage-app sweep SPEC --draw K``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from coverage_app import __version__
from coverage_app.core.atomic import fsync_file
from coverage_app.core.errors import InputError, Problem
from coverage_app.core.feedback import report
from coverage_app.core.outputs.export import check_output_folder, write_table

RUN_FORMAT = "coverage-app-sweep"


def sweep_record(result) -> dict:
    spec = result.spec
    return {"format": RUN_FORMAT, "version": 1, "coverage_app": __version__,
            "spec_path": str(spec.path) if spec.path else None, "spec": _jsonable(spec.raw),
            "project": str(spec.project_path) if spec.project_path else "bundled",
            "seed": spec.seed, "draws_total": spec.draws, "scheduler": result.scheduler, "workers": result.workers,
            "cases": [{"case": c.index, "mode": c.mode, "as_of": row["as_of"], "scenario": c.scenario}
                      for c, row in zip(result.cases, result.series.to_dict("records"))],
            "timings_s": result.timings_s,
            "draws": [d.to_dict() for d in result.draws]}


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def export_sweep(result, out_dir, feedback=None) -> list[Path]:
    """Write ``result`` (a :class:`~coverage_app.core.analysis.sweep.SweepResult`) into ``out_dir``."""
    out = check_output_folder(out_dir)
    tables = {"villages": result.villages, "townships": result.townships}
    for name, table in tables.items():
        too_long = [c for c in table.columns if len(c) > 10]
        if too_long:  # a programming error, not bad input
            raise AssertionError(f"{name}: field names longer than 10 characters: {too_long}")
    staging = Path(tempfile.mkdtemp(prefix=".sweep-", dir=out))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            report(feedback, 0.1, "sweep.gpkg")
            for name, table in tables.items():
                write_table(table, staging / "sweep.gpkg", layer=name, driver="GPKG")
            for name, table in (("series", result.series), ("draws", result.draw_table)):
                write_table(table, staging / "sweep.gpkg", layer=name, driver="GPKG")
            report(feedback, 0.5, "Shapefiles")
            for name, table in tables.items():
                write_table(table, staging / f"{name}.shp", driver="ESRI Shapefile", encoding="UTF-8")
        report(feedback, 0.8, "CSV tables")
        for name, table in tables.items():
            frame = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
            if name == "villages":
                frame["lon"], frame["lat"] = table.geometry.x.round(6), table.geometry.y.round(6)
            frame.to_csv(staging / f"{name}.csv", index=False, encoding="utf-8")
        result.series.to_csv(staging / "series.csv", index=False, encoding="utf-8")
        result.draw_table.to_csv(staging / "draws.csv", index=False, encoding="utf-8")
        (staging / "run.json").write_text(json.dumps(sweep_record(result), indent=1, ensure_ascii=False,
                                                     default=str) + "\n", encoding="utf-8")
        for path in staging.iterdir():
            fsync_file(path)
        final = []
        for path in sorted(staging.iterdir()):
            os.replace(path, out / path.name)
            final.append(out / path.name)
        report(feedback, 1.0, "Sweep written")
        return final
    except OSError as exc:
        raise InputError(Problem("error", f"writing the sweep failed ({exc.strerror or exc}); the previous files "
                                 "in the folder are unchanged. Free some disk space or choose another folder",
                                 file=str(out))) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_run_record(path) -> dict:
    """run.json of a sweep folder (or the file itself)."""
    path = Path(path)
    if path.is_dir():
        path = path / "run.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(Problem("error", f"cannot read the sweep record ({exc})", file=str(path))) from None
    if record.get("format") != RUN_FORMAT:
        raise InputError(Problem("error", "not a sweep run.json (format is not coverage-app-sweep)", file=str(path)))
    return record


# ----------------------------------------------------------------------------- for maps

TIERS_FIELD = {"primary": "p_prim", "secondary": "p_sec"}


def sweep_map_view(result, case: int = 0, tier: str = "primary") -> dict:
    """What a map of one case of a sweep shows: the villages with their probability of access
    (EPSG:4326), the region's and the townships' 5/50/95 % shares. ``result`` is a SweepResult
    or a folder written by :func:`export_sweep`."""
    if tier not in TIERS_FIELD:
        raise InputError(f"the sweep map shows primary or secondary care, not {tier!r}")
    if isinstance(result, (str, Path)):
        import geopandas as gpd

        folder = Path(result)
        if not (folder / "sweep.gpkg").exists():
            raise InputError(Problem("error", "no sweep.gpkg here: give the folder a sweep was written to "
                                     "(coverage-app sweep SPEC --out DIR)", file=str(folder)))
        villages = gpd.read_file(folder / "sweep.gpkg", layer="villages", engine="pyogrio")
        townships = gpd.read_file(folder / "sweep.gpkg", layer="townships", engine="pyogrio")
        series = pd.read_csv(folder / "series.csv", dtype={"scenario": str}, keep_default_na=False)
        draws = int(series["draws"].iloc[0])
    else:
        villages, townships, series, draws = result.villages, result.townships, result.series, len(result.draws)
    cases = list(series["case"])
    if case not in cases:
        raise InputError(f"the sweep has no case {case} (cases {cases[0]} to {cases[-1]})")
    row = series[series["case"] == case].iloc[0].to_dict()
    return {"villages": villages[villages["case"] == case].reset_index(drop=True), "field": TIERS_FIELD[tier],
            "tier": tier, "label": f"{row['label']}, {row['as_of']}" if row["as_of"] not in row["label"]
            else row["label"], "draws": draws, "region": row,
            "townships": pd.DataFrame(townships[townships["case"] == case].drop(columns="geometry", errors="ignore"))}
