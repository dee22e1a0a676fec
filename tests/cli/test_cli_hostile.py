"""Issue 12 through the command line: every hostile case exits 0 (with warnings) or 2 with a plain
message naming the file/field/rows; never "unexpected failure" (exit 1)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from coverage_app.cli import main

REPO = Path(__file__).resolve().parents[2]
FAST = ["--cell-size", "2000", "--quiet"]


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process; return (exit code, stdout + stderr) and check it never crashed."""
    def run(*argv):
        code = main([str(a) for a in argv])
        out = capsys.readouterr()
        text = out.out + out.err
        assert "unexpected failure" not in text and "Traceback" not in text
        assert code in (0, 2), text
        return code, text
    return run


def _dem(path, value=None, truncate=False):
    prof = dict(driver="GTiff", width=200, height=200, count=1, dtype="float32", crs="EPSG:4326", nodata=-9999,
                transform=from_origin(95.0, 23.0, 0.01, 0.01), tiled=True, blockxsize=64, blockysize=64,
                compress="deflate")
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(np.full((200, 200), -9999 if value == "nodata" else 300, "float32"), 1)
    if truncate:
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    return path


def test_validate_cases(tmp_path, cli):
    os.mkfifo(tmp_path / "pipe.gpkg")
    (tmp_path / "amb.csv").write_text("fac_id,name,level,status_date,lon,lat\nA,a,rhc,01/02/2022,95.1,22\n"
                                      "B,b,rhc,2021,95.2,22\n")
    (tmp_path / "mixed.csv").write_text("fac_id,name,level,status_date,lon,lat\nA,a,rhc,31/12/2021,95.1,22\n"
                                        "B,b,rhc,12/31/2021,95.2,22\n")
    (tmp_path / "inf.csv").write_text("pcode,name_en,pop,lon,lat\nV1,a,inf,95.1,22\n")
    gpd.GeoDataFrame({"fac_id": ["A", "B"], "name": ["a", "b"], "level": ["rhc"] * 2},
                     geometry=[shapely.Point(95, 22), None], crs=4326).to_file(tmp_path / "null.gpkg")
    cases = {
        "pipe.gpkg": (2, "is a FIFO (named pipe), not a regular file"),
        "missing/dir/v.gpkg": (2, f"file not found: {tmp_path / 'missing/dir/v.gpkg'}"),
        "amb.csv": (0, "ambiguous dates"),
        "mixed.csv": (2, "two orders in one column"),
        "inf.csv": (2, "field 'pop', line 2: 'population' must be a finite number"),
        "null.gpkg": (0, "fid 2: 1 feature(s) have no geometry"),
        "nodata.tif": (0, "every cell of the raster is nodata"),
        "cut.tif": (2, "damaged or truncated"),
    }
    _dem(tmp_path / "nodata.tif", value="nodata")
    _dem(tmp_path / "cut.tif", truncate=True)
    for name, (code, message) in cases.items():
        got, text = cli("validate", tmp_path / name)
        assert got == code and message in text, (name, text)
    code, text = cli("validate", tmp_path / "amb.csv")
    assert "only a year is given" in text


@pytest.mark.parametrize("flags, message", [
    (["--cell-size", "nan"], "Cell size must be a finite number of metres (cell_size_m), not nan"),
    (["--cell-size", "inf"], "Cell size must be a finite number"),
    (["--cell-size", "0.001"], "documented minimum is 10 m"),
    (["--cell-size", "-250"], "Cell size must be a positive number"),
    (["--primary-minutes", "nan"], "Primary care threshold must be a finite number"),
    (["--secondary-minutes", "-1"], "Secondary care threshold must be a positive number"),
    (["--as-of", "2024-13-45"], "--as-of must be a date like 2024-05-31"),
])
def test_analyse_bad_values(tmp_path, cli, flags, message):
    code, text = cli("analyse", "--out", tmp_path / "o", *flags, "--quiet")
    assert code == 2 and message in text
    assert not (tmp_path / "o" / "run.json").exists()


def test_analyse_refuses_a_grid_that_does_not_fit_in_memory(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("COVERAGE_APP_MEMORY_LIMIT_MB", "200")
    code, text = cli("analyse", "--out", tmp_path / "o", "--cell-size", "100", "--quiet")
    assert code == 2 and "needs about 1.9 GB of memory, but only 200 MB is available" in text
    fit = float(text.split("use a cell size of ")[1].split(" m")[0])
    assert fit == 360  # 100 bytes a cell x (6,554 x 3,166 cells at 100 m) scaled to 160 MB
    code, _ = cli("analyse", "--out", tmp_path / "o", "--cell-size", f"{fit:g}", "--quiet", "--format", "gpkg")
    assert code == 0 and (tmp_path / "o" / "coverage.gpkg").exists()  # the suggested size really runs


def _project(tmp_path, body, bom=False):
    path = tmp_path / "p.covproj"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(body).encode())
    return path


def _bundled_copy(tmp_path, bundled_project_path, windows=False):
    data = json.loads(bundled_project_path.read_text(encoding="utf-8"))
    for ref in data["layers"]:
        src = bundled_project_path.parent / ref["path"]
        dst = tmp_path / Path(ref["path"]).name
        if not dst.exists():
            os.link(src, dst) if src.stat().st_dev == tmp_path.stat().st_dev else dst.write_bytes(src.read_bytes())
        if windows:
            ref["path"] = "C:\\Users\\thida\\Desktop\\sagaing\\" + Path(ref["path"]).name
    legend = bundled_project_path.parent / "landcover_sentinel2_sample_legend.csv"
    if legend.exists():
        (tmp_path / legend.name).write_bytes(legend.read_bytes())
    return data


def test_info_on_project_cases(tmp_path, cli, bundled_project_path):
    data = _bundled_copy(tmp_path, bundled_project_path, windows=True)
    code, text = cli("info", _project(tmp_path, data, bom=True))
    assert code == 0 and "C:\\Users\\thida\\Desktop\\sagaing\\sagaing.gpkg was not found; using sagaing.gpkg " \
                          "beside the project" in text
    assert "6829" in text.replace(",", "")  # villages of the census basis (5,832 located + placed + wards)
    for version, message in (("1", None), ("2.0", "'version' must be a whole number such as 1, not '2.0'")):
        code, text = cli("info", _project(tmp_path, data | {"version": version}))
        assert (code == 0) if message is None else (code == 2 and message in text and "newer" not in text)
    code, text = cli("info", _project(tmp_path, data | {"analysis": {"cell_size_m": "250 m"}}))
    assert code == 2 and "Cell size must be a number of metres (cell_size_m), not str '250 m'" in text
    deep = "x"
    for _ in range(40):
        deep = [deep]
    code, text = cli("info", _project(tmp_path, data | {"credits": deep}))
    assert code == 2 and "nested more than 32 levels" in text
    nested = tmp_path / "deep.covproj"
    nested.write_text('{"format": "coverage-app-project", "version": 1, "credits": ' + "[" * 200000 + "]" * 200000 + "}")
    code, text = cli("info", nested)
    assert code == 2 and "nested too deeply" in text


def test_villages_flag_alone_finds_the_population_field(tmp_path, cli, bundled_gpkg):
    villages = pyogrio.read_dataframe(bundled_gpkg, layer="villages")
    facilities = pyogrio.read_dataframe(bundled_gpkg, layer="facilities")
    villages.to_file(tmp_path / "villages.gpkg")
    facilities.to_file(tmp_path / "facilities.gpkg")
    code, text = cli("analyse", "--facilities", tmp_path / "facilities.gpkg", "--villages", tmp_path / "villages.gpkg",
                     "--out", tmp_path / "o", "--cell-size", "2000", "--format", "gpkg")
    assert code == 0, text
    record = json.loads((tmp_path / "o" / "run.json").read_text())
    assert record["headline"]["population"] == pytest.approx(villages["pop_est_2014"].sum())  # second method
    villages.drop(columns="pop_est_2014").to_file(tmp_path / "nopop.gpkg")
    code, text = cli("analyse", "--facilities", tmp_path / "facilities.gpkg", "--villages", tmp_path / "nopop.gpkg",
                     "--out", tmp_path / "o2", "--cell-size", "2000", "--format", "gpkg")
    assert code == 0 and "no population field was found" in text


def test_export_lock_message_through_the_cli(tmp_path, cli):
    from coverage_app.core.atomic import folder_lock

    out = tmp_path / "o"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import sys\nfrom coverage_app.core.atomic import folder_lock\n"
                               f"with folder_lock({str(out)!r}):\n    print('locked', flush=True)\n"
                               "    sys.stdin.readline()"], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, text = cli("analyse", "--out", out, *FAST, "--format", "gpkg")
        assert code == 2 and "another export is writing into this folder right now" in text
    finally:
        holder.communicate("\n", timeout=30)
    with folder_lock(out):  # free again
        pass


def test_no_traceback_in_a_subprocess_on_a_fifo_and_a_remote_vrt(tmp_path):
    os.mkfifo(tmp_path / "fac.shp")
    vrt = tmp_path / "dem.vrt"
    vrt.write_text('<VRTDataset rasterXSize="1" rasterYSize="1"><VRTRasterBand dataType="Byte" band="1">'
                   "<SimpleSource><SourceFilename>/vsis3/b/dem.tif</SourceFilename></SimpleSource>"
                   "</VRTRasterBand></VRTDataset>")
    proc = subprocess.run([sys.executable, "-m", "coverage_app", "analyse", "--facilities", str(tmp_path / "fac.shp"),
                           "--dem", str(vrt), "--out", str(tmp_path / "o")], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    text = proc.stdout + proc.stderr
    assert "FIFO" in text and "/vsis3/" in text and "Traceback" not in text and "unexpected failure" not in text


def test_safe_share_export_through_the_cli(tmp_path, cli, bundled_gpkg):
    out = tmp_path / "safe"
    code, text = cli("analyse", "--out", out, "--safe-share", "--format", "gpkg", "--cell-size", "2000")
    assert code == 0
    facilities = pyogrio.read_dataframe(bundled_gpkg, layer="facilities")
    for path in out.iterdir():
        if path.suffix in (".json", ".csv"):
            content = path.read_text(encoding="utf-8")
            assert not [i for i in facilities["fac_id"] if i in content], path.name
            assert not [n for n in facilities["name"] if n and n in content], path.name
            assert str(REPO) not in content and str(tmp_path) not in content
    import pandas as pd

    villages = pd.read_csv(out / "villages.csv")
    assert villages["prim_min"].min() >= 15 and (villages["prim_min"].dropna() % 5 == 0).all()
    assert (villages["lon"].round(2) == villages["lon"]).all()
