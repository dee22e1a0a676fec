"""Issue 12, classes 2 and 3: nothing leaks from a safe-share export or print; exports are atomic
to the last file (one switch, stale staging removed, one writer at a time, disk full anywhere
gives the designed message)."""

import errno
import getpass
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

from coverage_app.core import atomic
from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.errors import InputError
from coverage_app.core.outputs import export as export_mod
from coverage_app.core.outputs.export import export_coverage
from coverage_app.core.outputs.safe_share import generalise_minutes

REPO = Path(__file__).resolve().parents[2]
DESIGNED = r"export failed \(No space left on device\); the previous files in the folder are unchanged"


@pytest.fixture(scope="module")
def run(bundled_project_path):
    project = load_project(bundled_project_path)
    data = load_project_data(project)
    return project, data, run_analysis(data, project.params.replace(cell_size_m=2000.0, mode="car"))


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def beside(folder: Path) -> list[str]:
    """Staging or aside folders an export left next to ``folder`` (the lock file is allowed)."""
    return sorted(p.name for p in folder.parent.iterdir()
                  if p.name.startswith(f".{folder.name}.") and not p.name.endswith(".lock"))


# ----------------------------------------------------------------------------- 3. atomic exports

def test_export_is_a_complete_set_named_by_the_manifest(run, tmp_path):
    project, _, result = run
    out = tmp_path / "out"
    out.mkdir()
    (out / "my_notes.txt").write_text("planner's own file")
    export_coverage(result, out, ("gpkg", "shp"), project=project)
    files = json.loads((out / "run.json").read_text())["files"]
    assert sorted(p.name for p in out.iterdir()) == sorted(files + ["my_notes.txt"])
    assert {"villages.shp", "villages.dbf", "villages.shx", "villages.cpg", "coverage.gpkg"} <= set(files)
    # a second export with fewer products replaces the set: no stale rasters or shapefiles stay behind
    export_coverage(result, out, ("gpkg",), safe_share=True, project=project)
    files2 = json.loads((out / "run.json").read_text())["files"]
    assert sorted(p.name for p in out.iterdir()) == sorted(files2 + ["my_notes.txt"])
    assert not list(out.glob("*.tif")) and not list(out.glob("*.shp"))
    assert (out / "my_notes.txt").read_text() == "planner's own file"
    assert beside(out) == []


def _fail_nth(n, exc):
    calls = {"n": 0}
    real = export_mod.write_table

    def write(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise exc
        return real(*args, **kwargs)

    return write


@pytest.mark.parametrize("where", ["first gpkg layer", "third gpkg layer", "a shapefile", "GDAL commit",
                                   "GDAL shapefile", "rasters", "run.json fsync", "the switch"])
def test_disk_full_anywhere_keeps_the_previous_export(run, tmp_path, monkeypatch, where):
    project, _, result = run
    out = tmp_path / "out"
    export_coverage(result, out, ("gpkg", "shp"), project=project)
    before = snapshot(out)
    enospc = OSError(errno.ENOSPC, "No space left on device")
    if where == "first gpkg layer":
        monkeypatch.setattr(export_mod, "write_table", _fail_nth(1, enospc))
    elif where == "third gpkg layer":
        monkeypatch.setattr(export_mod, "write_table", _fail_nth(3, enospc))
    elif where == "a shapefile":
        monkeypatch.setattr(export_mod, "write_table", _fail_nth(6, enospc))
    elif where in ("GDAL commit", "GDAL shapefile"):
        # what pyogrio raises when SQLite/GDAL hits a full disk inside a write
        message = "sqlite3_exec(COMMIT) failed: database or disk is full" if where == "GDAL commit" else \
            "Failure writing DBF record 12: No space left on device"
        target = "coverage.gpkg" if where == "GDAL commit" else ".shp"

        def gdal_write(real):  # field by field (write_dataframe) or through Arrow (write_arrow)
            def write(df, path, *args, **kwargs):
                if target in str(path):
                    raise pyogrio.errors.DataSourceError(message)
                return real(df, path, *args, **kwargs)
            return write

        monkeypatch.setattr(pyogrio, "write_dataframe", gdal_write(pyogrio.write_dataframe))
        monkeypatch.setattr(pyogrio, "write_arrow", gdal_write(pyogrio.write_arrow))
    elif where == "rasters":
        import rasterio.errors

        def rasters(*args, **kwargs):
            raise rasterio.errors.RasterioIOError("TIFFAppendToStrip:Write error at scanline 20: No space left on device")

        monkeypatch.setattr(export_mod, "write_travel_time_rasters", rasters)
    elif where == "run.json fsync":
        def fsync(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", fsync)  # every fsync of the export (atomic.fsync_file, fsync_folder)
    elif where == "the switch":
        def switch(new, target):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(export_mod, "switch_folder", switch)
    with pytest.raises(InputError, match=DESIGNED):
        export_coverage(result, out, ("gpkg", "shp"), project=project)
    monkeypatch.undo()
    assert snapshot(out) == before
    assert beside(out) == []


def test_stale_staging_and_an_interrupted_switch_are_repaired_on_the_next_run(run, tmp_path):
    project, _, result = run
    out = tmp_path / "out"
    export_coverage(result, out, ("gpkg",), project=project)
    before = snapshot(out)
    # what a kill leaves: a half-written staging folder, and (fallback switch) the previous
    # export renamed aside with the new one not yet in place
    stale = tmp_path / ".out.export-k1ll3d"
    stale.mkdir()
    (stale / "villages.dbf").write_bytes(b"half")
    os.replace(out, tmp_path / ".out.old-abc123")
    atomic.clean_stale(out)
    assert snapshot(out) == before and beside(out) == []
    legacy = out / ".export-x1y2"  # the staging of the earlier in-folder design
    legacy.mkdir()
    export_coverage(result, out, ("gpkg",), project=project)
    assert not legacy.exists() and beside(out) == []


def test_fallback_switch_without_renameat2(run, tmp_path, monkeypatch):
    project, _, result = run
    out = tmp_path / "out"
    export_coverage(result, out, ("gpkg",), project=project)
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    export_coverage(result, out, ("gpkg", "shp"), project=project)
    assert (out / "villages.shp").exists() and beside(out) == []


KILL_SCRIPT = """
import os, signal, sys
from coverage_app.core import atomic
from coverage_app.core.outputs import export as export_mod
from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project

project = load_project(sys.argv[1])
result = run_analysis(load_project_data(project), project.params.replace(cell_size_m=2000.0, mode="car"))
out = sys.argv[2]
export_mod.export_coverage(result, out, ("gpkg", "shp"), project=project)
print("first export done", flush=True)
atomic._exchange = lambda a, b: False          # the two-rename fallback ...
real_replace = os.replace
calls = []
def replace(src, dst):
    calls.append(src)
    if len(calls) == 2:                        # ... killed between its two renames
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst)
atomic.os.replace = replace
export_mod.export_coverage(result, out, ("gpkg",), safe_share=True, project=project)
"""


def test_a_real_kill_during_the_switch_loses_nothing(tmp_path, bundled_project_path):
    out = tmp_path / "out"
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(bundled_project_path), str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == -signal.SIGKILL and "first export done" in proc.stdout, proc.stderr
    assert not out.exists() and any(n.startswith(".out.old-") for n in beside(out))  # killed mid-switch
    atomic.clean_stale(out)  # what the next export does first
    record = json.loads((out / "run.json").read_text())
    assert record["safe_share"] is False and sorted(p.name for p in out.iterdir()) == sorted(record["files"])
    assert beside(out) == []


def test_two_writers_of_one_folder_do_not_interleave(run, tmp_path):
    project, _, result = run
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from coverage_app.core.atomic import folder_lock
        with folder_lock({str(out)!r}):
            print("locked", flush=True)
            sys.stdin.readline()
    """)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(InputError, match=rf"another export is writing into this folder right now \(pid "
                                             rf"{holder.pid}\); wait until it has finished"):
            export_coverage(result, out, ("gpkg",), project=project)
        assert list(out.iterdir()) == [] and beside(out) == []
    finally:
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    export_coverage(result, out, ("gpkg",), project=project)  # released when the holder ends
    assert (out / "coverage.gpkg").exists()


def test_folder_whose_parent_is_read_only(run, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    project, _, result = run
    parent = tmp_path / "ro"
    (parent / "out").mkdir(parents=True)
    parent.chmod(0o555)
    try:
        with pytest.raises(InputError, match="cannot write beside the output folder"):
            export_coverage(result, parent / "out", ("gpkg",))
    finally:
        parent.chmod(0o755)


# ----------------------------------------------------------------------------- 2. safe sharing

def test_generalised_minutes_rule():
    m = np.array([0.0, 0.4, 14.9, 15.0, 15.1, 17.0, 20.0, 61.2, np.nan])
    assert generalise_minutes(m)[:-1].tolist() == [15, 15, 15, 15, 20, 20, 20, 65]
    assert np.isnan(generalise_minutes(m)[-1])


def _secrets(result, data, project, tmp_path):
    fac = result.facilities
    names = {str(n) for n in fac["name"].dropna() if len(str(n)) >= 4}
    ids = {str(i) for i in fac["fac_id"].dropna()}
    ll = fac.to_crs(4326).geometry
    coords = {f"{x:.4f}" for x in ll.x} | {f"{y:.4f}" for y in ll.y}
    paths = {str(tmp_path), str(REPO), str(Path.home()), str(project.path.parent.resolve())}
    return names, ids, coords, paths, ll


def _leaks(text: str, names, ids, coords, paths) -> list[str]:
    found = [n for n in names if n in text] + [i for i in ids if i in text] + [p for p in paths if p in text]
    found += [c for c in coords if re.search(rf"(?<![\d.]){re.escape(c)}\d*", text)]
    user = getpass.getuser()
    if len(user) >= 3 and re.search(rf"\b{re.escape(user)}\b", text):
        found.append(f"user name {user!r}")
    return found


def test_every_file_of_a_safe_share_export_is_clean(run, tmp_path):
    project, data, result = run
    out = tmp_path / "safe"
    # safe-share Shapefiles need the short field names of wave/numbers (issue 11); checked once merged
    formats = ("gpkg", "shp") if hasattr(export_mod, "shapefile_columns") else ("gpkg",)
    export_coverage(result, out, formats, safe_share=True, project=project,
                    inputs=[project.path.resolve()])
    names, ids, coords, paths, fac_ll = _secrets(result, data, project, tmp_path)
    assert len(names) > 100 and len(ids) == len(result.facilities)
    assert any("Hospital" in str(p) for p in result.problems)  # the run's own warnings name facilities
    for path in sorted(out.iterdir()):
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        assert _leaks(text, names, ids, coords, paths) == [], path.name
        if path.suffix in (".gpkg", ".shp"):
            for layer in ([n for n, _ in pyogrio.list_layers(path)] if path.suffix == ".gpkg" else [None]):
                gdf = gpd.read_file(path, layer=layer)
                if "name" in gdf:
                    assert not set(gdf["name"].astype(str)) & names
                if gdf.geometry.notna().any() and gdf.crs is not None:
                    pts = gdf.to_crs(4326).geometry.representative_point()
                    for x, y in zip(fac_ll.x, fac_ll.y):
                        assert not ((abs(pts.x - x) < 1e-6) & (abs(pts.y - y) < 1e-6)).any(), (path.name, layer)
    villages = gpd.read_file(out / "coverage.gpkg", layer="villages")
    reached = villages["prim_min"].dropna()
    assert reached.min() == 15 and (reached % 5 == 0).all() and (villages["sec_min"].dropna() % 5 == 0).all()
    assert (result.villages["prim_min"] == 0).sum() > 0  # the raw run has villages on facility cells
    assert np.allclose(villages.geometry.x, villages.geometry.x.round(2))
    record = json.loads((out / "run.json").read_text())
    assert {i["file"] for i in record["inputs"]} >= {"sagaing.covproj", "sagaing.gpkg"}
    assert all(set(i) == {"file", "sha256", "layers"} for i in record["inputs"])
    assert record["project"] == {"name": project.name}
    assert any("withheld" in p for p in record["problems"])


def test_safe_share_print_is_clean(run, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("needs pdftotext (poppler-utils)")
    from coverage_app.core.outputs.briefing import write_briefing

    project, data, result = run
    pdf = write_briefing(tmp_path / "safe.pdf", data, result, safe_share=True, table_page=True)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    names, ids, coords, paths, _ = _secrets(result, data, project, tmp_path)
    assert len(text) > 1000
    assert _leaks(text + info, names, ids, coords, paths) == []
    # the checker finds what it looks for; the full print is the one marked sensitive
    assert _leaks(text + f" {sorted(ids)[0]} ", names, ids, coords, paths)
    full = write_briefing(tmp_path / "full.pdf", data, result, safe_share=False, table_page=True)
    full_text = subprocess.run(["pdftotext", str(full), "-"], capture_output=True, text=True, check=True).stdout
    assert "SENSITIVE" in full_text and "SENSITIVE" not in text


def test_folders_that_must_not_be_switched_are_refused(run, tmp_path, monkeypatch):
    project, _, result = run
    monkeypatch.chdir(tmp_path)
    for folder, what in ((".", "the current folder"), ("..", "a folder above the current one"),
                         (str(Path.home()), "your home folder"), ("/", "the root of the file system")):
        with pytest.raises(InputError, match=f"is {what}; an export replaces its folder as a whole"):
            export_coverage(result, folder, ("gpkg",))
    assert list(tmp_path.iterdir()) == []
    export_coverage(result, "results", ("gpkg",))  # a folder of its own, given relative to the current one
    assert (tmp_path / "results" / "coverage.gpkg").exists()
