"""Issue 14: the faster export (shapefiles written by GDAL in memory, rasters, hashes and fsyncs on
threads) writes the same files as plain sequential writes straight to disk: the same file set,
the same bytes for every Shapefile part, CSV table and GeoTIFF, and a GeoPackage with the same
schema and rows (GDAL stamps it with the time of writing, so its bytes differ run to run). Every
file and the folder are fsynced before the switch; a cancel while the threads run leaves the
previous export as it was."""

import json
import os
import sqlite3
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import rasterio

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.feedback import Cancelled
from coverage_app.core.outputs import export as export_mod
from coverage_app.core.outputs import gdal_memory
from coverage_app.core.outputs.export import (catchment_table, export_coverage, facility_table_out, shapefile_columns,
                                              township_table, village_table, write_csv_tables, write_table,
                                              write_travel_time_rasters)

LAYERS = ("villages", "catchments", "townships", "facilities")


@pytest.fixture(scope="module")
def run(bundled_project_path):
    project = load_project(bundled_project_path)
    result = run_analysis(load_project_data(project), project.params.replace(cell_size_m=2000.0))
    assert result.capacity is not None  # the bundled default has capacities: served / unserved columns
    return project, result


def plain_write(table, path, **kwargs) -> None:
    """A layer written by pyogrio's ``write_dataframe`` field by field (not through GDAL's Arrow
    interface, which :func:`write_table` uses where it can)."""
    if isinstance(table, gpd.GeoDataFrame) and table.geometry.name in table:
        table.to_file(path, engine="pyogrio", **kwargs)
    else:
        pyogrio.write_dataframe(pd.DataFrame(table).drop(columns="geometry", errors="ignore"), path, **kwargs)


def plain_export(result, folder: Path) -> None:
    """What the export wrote before issue 14, the obvious way: each file straight to disk, in turn,
    each layer written field by field."""
    folder.mkdir()
    tables = {"villages": village_table(result), "catchments": catchment_table(result),
              "townships": township_table(result), "facilities": facility_table_out(result)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, table in tables.items():
            plain_write(table, folder / "coverage.gpkg", layer=name, driver="GPKG")
        for name, table in tables.items():
            plain_write(shapefile_columns(table), folder / f"{name}.shp", driver="ESRI Shapefile", encoding="UTF-8")
    write_csv_tables(tables, result, folder)  # the CSVs are written on the main thread as before
    write_travel_time_rasters(result, folder)


def file_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".dbf":  # bytes 1-3: the date of writing (YYMMDD), which a run across midnight changes
        data = data[:1] + b"\0\0\0" + data[4:]
    return data


def geopackage_contents(path: Path) -> dict:
    """Every table of the SQLite file (schema and rows, R-tree nodes included), without the
    gpkg_contents timestamps."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        schema = sorted(con.execute("SELECT type, name, sql FROM sqlite_master").fetchall(), key=str)
        tables = [name for kind, name, sql in schema if kind == "table" and "VIRTUAL" not in (sql or "").upper()]
        rows = {}
        for name in tables:
            cur = con.execute(f'SELECT * FROM "{name}"')
            cols = [c[0] for c in cur.description]
            data = [tuple(None if c == "last_change" else v for c, v in zip(cols, row)) for row in cur]
            rows[name] = (cols, sorted(data, key=repr))
        return {"schema": schema, "rows": rows, "user_version": con.execute("PRAGMA user_version").fetchone(),
                "application_id": con.execute("PRAGMA application_id").fetchone()}
    finally:
        con.close()


def assert_same_export(out: Path, ref: Path) -> None:
    record = json.loads((out / "run.json").read_text())
    assert sorted(p.name for p in out.iterdir()) == sorted(record["files"])
    assert sorted(record["files"]) == sorted([p.name for p in ref.iterdir()] + ["run.json"])
    for path in sorted(ref.iterdir()):
        if path.suffix == ".gpkg":
            continue
        assert file_bytes(out / path.name) == file_bytes(path), path.name
    assert geopackage_contents(out / "coverage.gpkg") == geopackage_contents(ref / "coverage.gpkg")
    for name in LAYERS:  # and what a GIS sees: field names and types, encoding, CRS, geometry type
        new, old = (pyogrio.read_info(p / "coverage.gpkg", layer=name) for p in (out, ref))
        assert list(new["fields"]) == list(old["fields"]) and list(new["dtypes"]) == list(old["dtypes"]), name
        for key in ("encoding", "crs", "geometry_type", "features"):
            assert new[key] == old[key], (name, key)
    for tif in ref.glob("*.tif"):
        with rasterio.open(tif) as a, rasterio.open(out / tif.name) as b:
            assert a.profile == b.profile and a.tags() == b.tags() and a.descriptions == b.descriptions
            assert (a.read() == b.read()).all()


def test_export_writes_the_same_files_as_plain_writes_to_disk(run, tmp_path):
    project, result = run
    plain_export(result, tmp_path / "plain")
    export_coverage(result, tmp_path / "out", ("gpkg", "shp"), project=project)
    if sys.platform.startswith("linux"):
        assert gdal_memory.available()  # the in-memory path is the one compared here
    assert_same_export(tmp_path / "out", tmp_path / "plain")


def test_where_memory_files_cannot_be_read_back_gdal_writes_the_same_files_to_disk(run, tmp_path, monkeypatch):
    project, result = run
    export_coverage(result, tmp_path / "memory", ("gpkg", "shp"), project=project)
    monkeypatch.setattr(gdal_memory, "available", lambda: False)
    export_coverage(result, tmp_path / "disk", ("gpkg", "shp"), project=project)
    for path in sorted((tmp_path / "memory").glob("*")):
        if path.suffix in (".shp", ".shx", ".dbf", ".cpg", ".prj"):
            assert file_bytes(tmp_path / "disk" / path.name) == file_bytes(path), path.name


@pytest.mark.skipif(not gdal_memory.available(), reason="pyogrio's GDAL library not found in this process")
def test_memory_files_are_taken_whole_and_released(run, tmp_path):
    _, result = run
    table = shapefile_columns(facility_table_out(result))
    folder = gdal_memory.new_folder()
    write_table(table, f"{folder}/facilities.shp", driver="ESRI Shapefile", encoding="UTF-8")
    files = gdal_memory.take_folder(folder)
    assert sorted(files) == ["facilities.cpg", "facilities.dbf", "facilities.prj", "facilities.shp",
                             "facilities.shx"]
    with pytest.raises(Exception):  # nothing left in GDAL's memory
        pyogrio.vsi_listtree(folder)
    write_table(table, tmp_path / "facilities.shp", driver="ESRI Shapefile", encoding="UTF-8")
    for name, data in files.items():
        assert file_bytes_of(name, data) == file_bytes(tmp_path / name), name
    assert gdal_memory.take_folder(gdal_memory.new_folder()) is None  # nothing written there


def file_bytes_of(name: str, data: bytes) -> bytes:
    return data[:1] + b"\0\0\0" + data[4:] if name.endswith(".dbf") else data


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="file names of descriptors from /proc")
def test_every_file_and_the_folder_are_fsynced_before_the_switch(run, tmp_path, monkeypatch):
    project, result = run
    synced, at_switch = set(), {}
    real_fsync, real_switch = os.fsync, export_mod.switch_folder

    def fsync(fd):
        synced.add(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    def switch(new, target):
        at_switch["synced"] = set(synced)
        at_switch["files"] = {str(p) for p in Path(new).iterdir()} | {str(new)}
        return real_switch(new, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(export_mod, "switch_folder", switch)
    export_coverage(result, tmp_path / "out", ("gpkg", "shp"), project=project)
    assert len(at_switch["files"]) == len(json.loads((tmp_path / "out" / "run.json").read_text())["files"]) + 1
    assert at_switch["files"] <= at_switch["synced"]


def test_a_cancel_while_the_threads_write_leaves_the_previous_export(run, tmp_path):
    project, result = run
    out = tmp_path / "out"
    export_coverage(result, out, ("gpkg", "shp"), project=project)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    class CancelAtShapefiles:
        def progress(self, fraction, message=""):
            self.now = message

        def cancelled(self):
            return getattr(self, "now", "") == "villages.shp"  # rasters and fsyncs are under way

    with pytest.raises(Cancelled):
        export_coverage(result, out, ("gpkg", "shp"), project=project, feedback=CancelAtShapefiles())
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.") and not p.name.endswith(".lock")] == []
