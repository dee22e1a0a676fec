"""The command line: validate and info, exit codes, plain messages (never a traceback)."""

import os
import subprocess
import sys

import geopandas as gpd
import shapely

from coverage_app.cli import main


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "coverage_app", *map(str, args)], capture_output=True, text=True,
                          env=env or os.environ.copy(), timeout=120)


def test_validate_good_file(bundled_gpkg, capsys):
    assert main(["validate", str(bundled_gpkg), "--layer", "facilities"]) == 0
    assert "ok: sagaing.gpkg layer facilities is usable as facilities" in capsys.readouterr().out


def test_validate_bad_files_exit_2_with_one_line_each(tmp_path, capsys):
    corrupt = tmp_path / "broken.gpkg"
    corrupt.write_bytes(b"\x00garbage" * 64)
    dup = tmp_path / "dup.geojson"
    gpd.GeoDataFrame({"fac_id": ["A", "A"], "name": ["x", "y"], "level": ["Clinic", "Clinic"]},
                     geometry=[shapely.Point(95, 22), shapely.Point(95.1, 22)], crs=4326).to_file(dup)
    assert main(["validate", str(corrupt), str(dup), "--role", "facilities"]) == 2
    out = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("error: broken.gpkg") and "cannot be read" in line for line in out)
    assert any(line.startswith("error: dup.geojson") and "duplicate ids (A)" in line for line in out)
    assert "Traceback" not in "\n".join(out)


def test_validate_subprocess_never_prints_traceback(tmp_path):
    bad = tmp_path / "x.shp"
    bad.write_bytes(b"nonsense")
    result = run("validate", bad)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "x.shp" in result.stdout


def test_info_on_bundled_project(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "Sagaing Region (bundled)" in out
    for line in ("Villages", "Health facilities", "Townships"):
        assert line in out
    assert "6829" in out and "141" in out and "EPSG:4326" in out


def test_info_on_damaged_project(tmp_path, capsys):
    path = tmp_path / "p.covproj"
    path.write_text("{oops")
    assert main(["info", str(path)]) == 2
    assert "damaged" in capsys.readouterr().err


def test_convert_zawgyi(tmp_path, capsys):
    src = tmp_path / "v.geojson"
    gpd.GeoDataFrame({"pcode": ["V1"], "name_en": ["Nay Kyar"], "name_my": ["ေနၾကာ"]},
                     geometry=[shapely.Point(95, 22)], crs=4326).to_file(src)
    out = tmp_path / "fixed.gpkg"
    assert main(["convert-zawgyi", str(src), "--out", str(out)]) == 0
    assert gpd.read_file(out).name_my.iloc[0] == "နေကြာ"
    assert main(["convert-zawgyi", str(src), "--out", str(src)]) == 2


def test_no_display_points_to_command_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = run(env=env)
    assert result.returncode == 2
    assert "no display" in result.stderr and "coverage-app info" in result.stderr
