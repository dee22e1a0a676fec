"""coverage-app analyse and sites on the bundled project and on layers given by role."""

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import rasterio
from rasterio.transform import from_origin

from coverage_app.cli import main
from tests.synthetic import X0, Y0, facility, frame, village

FAST = ["--cell-size", "2000", "--quiet"]


def test_analyse_bundled_project_writes_everything(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyse", "--out", str(out), "--mode", "motorbike", "--cell-size", "1500"]) == 0
    text = capsys.readouterr().out
    assert "of people within 60 min of primary care" in text
    h = json.loads((out / "run.json").read_text())["headline"]  # the people where zones slow travel
    assert f"{h['pop_in_zones']:,.0f} people live in conflict zones in force (travel slowed), " \
           f"{h['pop_in_zones_no_primary']:,.0f} of them without primary care within 60 min" in text
    assert h["pop_in_zones"] > 1_000_000
    for name in ("coverage.gpkg", "villages.shp", "catchments.shp", "townships.shp", "facilities.shp",
                 "townships.csv", "villages.csv", "coverage_curve.csv", "travel_time_primary.tif",
                 "travel_time_secondary.tif", "allocation_primary.tif", "allocation_secondary.tif", "run.json"):
        assert (out / name).exists(), name
    assert json.loads((out / "run.json").read_text())["parameters"]["mode"] == "motorbike"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]  # no staging or early-raster folder


def test_analyse_gpkg_only(tmp_path):
    out = tmp_path / "out"
    assert main(["analyse", "--out", str(out), "--format", "gpkg", *FAST]) == 0
    assert (out / "coverage.gpkg").exists() and not list(out.glob("*.shp"))


def test_analyse_bad_threshold_exits_2(tmp_path, capsys):
    assert main(["analyse", "--out", str(tmp_path / "o"), "--primary-minutes", "0", *FAST]) == 2
    assert "Primary care threshold must be a positive number" in capsys.readouterr().err


def test_analyse_out_is_a_file_exits_2(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("x")
    assert main(["analyse", "--out", str(target), *FAST]) == 2
    assert "is a file" in capsys.readouterr().err


def test_analyse_bad_date(tmp_path, capsys):
    assert main(["analyse", "--out", str(tmp_path / "o"), "--as-of", "31/12/2024", *FAST]) == 2
    assert "--as-of must be a date" in capsys.readouterr().err


def test_analyse_as_of_before_every_status(tmp_path, capsys):
    assert main(["analyse", "--out", str(tmp_path / "o"), "--as-of", "2019-06-01", *FAST]) == 2
    assert "before every facility status date" in capsys.readouterr().err


def test_analyse_unknown_scenario(tmp_path, capsys):
    assert main(["analyse", "--out", str(tmp_path / "o"), "--scenario", "nope", *FAST]) == 2
    assert "no scenario named 'nope'" in capsys.readouterr().err


def test_analyse_layers_by_role(tmp_path):
    fac = tmp_path / "fac.gpkg"
    vil = tmp_path / "vil.geojson"
    frame([facility("H", 0, 0, secondary=True)]).to_file(fac)
    frame([village("A", 3000, 0), village("B", 100, 0)]).to_file(vil)
    out = tmp_path / "out"
    assert main(["analyse", "--facilities", str(fac), "--villages", str(vil), "--out", str(out),
                 "--cell-size", "100", "--quiet"]) == 0
    v = gpd.read_file(out / "coverage.gpkg", layer="villages").set_index("pcode")
    assert abs(v.loc["A", "prim_min"] - 60) < 2  # 3 km off road at 3 km/h


def test_analyse_on_a_speed_raster_grid_with_only_facilities(tmp_path):
    speed = tmp_path / "speed.tif"
    with rasterio.open(speed, "w", driver="GTiff", width=101, height=101, count=1, dtype="float32",
                       crs="EPSG:32646", transform=from_origin(X0 - 5050, Y0 + 5050, 100, 100)) as dst:
        dst.write(np.full((1, 101, 101), 6.0, "float32"))  # 6 km/h = 100 m/min
    fac = tmp_path / "fac.gpkg"
    frame([facility("H", 0, 0, secondary=True)]).to_file(fac)
    out = tmp_path / "out"
    assert main(["analyse", "--facilities", str(fac), "--speed-raster", str(speed), "--out", str(out),
                 "--quiet"]) == 0
    with rasterio.open(out / "travel_time_primary.tif") as src:
        assert src.shape == (101, 101) and src.res == (100.0, 100.0)
        t = src.read(1)
    assert t[50, 50] == 0 and abs(t[50, 100] - 50) < 0.5  # 5 km east at 100 m/min
    assert abs(t[0, 50] - 50) < 0.5


def test_analyse_on_a_friction_raster_minutes_per_metre(tmp_path):
    friction = tmp_path / "friction.tif"
    with rasterio.open(friction, "w", driver="GTiff", width=51, height=51, count=1, dtype="float32",
                       crs="EPSG:32646", transform=from_origin(X0 - 2550, Y0 + 2550, 100, 100)) as dst:
        dst.write(np.full((1, 51, 51), 0.02, "float32"))  # 0.02 min per metre
    fac = tmp_path / "fac.gpkg"
    frame([facility("H", 0, 0)]).to_file(fac)
    assert main(["analyse", "--facilities", str(fac), "--friction-raster", str(friction), "--out",
                 str(tmp_path / "o"), "--quiet"]) == 0
    with rasterio.open(tmp_path / "o" / "travel_time_primary.tif") as src:
        assert abs(src.read(1)[25, 50] - 2500 * 0.02) < 0.5


def test_sites_command(tmp_path, capsys):
    out = tmp_path / "sites.gpkg"
    assert main(["sites", "--count", "3", "--out", str(out), "--cell-size", "2000"]) == 0
    picks = gpd.read_file(out)
    assert list(picks["rank"]) == [1, 2, 3]
    assert picks.gain_pop.is_monotonic_decreasing and (picks.gain_pop > 0).all()
    assert "1. " in capsys.readouterr().out


def test_sites_bad_output(tmp_path, capsys):
    assert main(["sites", "--out", str(tmp_path / "sites.txt"), *FAST]) == 2
    assert "--out must end in" in capsys.readouterr().err


def test_analyse_does_not_read_the_display_only_reference_layers(tmp_path, capsys):
    """A reference layer (display only) is not read by an analysis: a damaged one neither stops it
    nor changes a number; run.json still lists (and hashes) its file among the project's inputs.
    The same damaged layer is still reported by `check`, which reads every layer, and an unknown
    role still stops the analysis."""
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.data.project import bundled_project_path, load_project, save_project
    from coverage_app.core.data.roles import ANALYSIS_ROLES

    project = load_project(bundled_project_path())
    towns = next(r for r in project.layers if r.role == "reference" and r.name == "Towns")
    damaged = tmp_path / "towns.gpkg"
    damaged.write_bytes(b"SQLite format 3\0" + b"\0" * 200)  # a truncated GeoPackage
    towns.path, towns.written = str(damaged), str(damaged)
    path = save_project(project, tmp_path / "p.covproj")
    assert main(["analyse", str(path), "--out", str(tmp_path / "a"), *FAST]) == 0
    assert main(["analyse", "--out", str(tmp_path / "b"), *FAST]) == 0
    a = pyogrio.read_dataframe(tmp_path / "a" / "coverage.gpkg", layer="villages", read_geometry=False)
    b = pyogrio.read_dataframe(tmp_path / "b" / "coverage.gpkg", layer="villages", read_geometry=False)
    assert a.equals(b)
    record = json.loads((tmp_path / "a" / "run.json").read_text())
    assert any(i["path"] == str(damaged) for i in record["inputs"])
    data = load_project_data(load_project(path), roles=ANALYSIS_ROLES)
    assert "Towns" not in data.layers and "Health facilities" in data.layers
    assert not any(p.file == str(damaged) for p in data.problems)
    every = load_project_data(load_project(path))
    assert any(p.severity == "error" and p.file == str(damaged) for p in every.problems)
    project.layers[0].role = "no such role"
    save_project(project, tmp_path / "q.covproj")
    assert main(["analyse", str(tmp_path / "q.covproj"), "--out", str(tmp_path / "c"), *FAST]) == 2
    assert "unknown role 'no such role'" in capsys.readouterr().out


def test_analyse_does_not_read_a_land_cover_switched_off(tmp_path):
    """A land-cover raster switched off (option enabled false, as bundled) is not opened by an
    analysis: a damaged one neither stops it nor is reported, and the results equal the bundled run's.
    Switched on, the same file stops the analysis with its error; `check` and the app (every layer
    read) still report it while it is off."""
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.data.project import bundled_project_path, load_project, save_project
    from coverage_app.core.data.roles import ANALYSIS_ROLES

    project = load_project(bundled_project_path())
    land = next(r for r in project.layers if r.role == "landcover")
    assert land.options["enabled"] is False
    damaged = tmp_path / "landcover.tif"
    damaged.write_bytes(b"II*\0" + b"\0" * 200)  # a truncated GeoTIFF
    land.path, land.written = str(damaged), str(damaged)
    path = save_project(project, tmp_path / "p.covproj")
    data = load_project_data(load_project(path), roles=ANALYSIS_ROLES)
    names_it = lambda p: p.file is not None and Path(p.file).name == damaged.name  # noqa: E731
    assert not any(names_it(p) for p in data.problems) and not data.rasters
    every = load_project_data(load_project(path))
    assert any(p.severity == "error" and names_it(p) for p in every.problems)
    assert main(["analyse", str(path), "--out", str(tmp_path / "a"), *FAST]) == 0
    assert main(["analyse", "--out", str(tmp_path / "b"), *FAST]) == 0
    a = pyogrio.read_dataframe(tmp_path / "a" / "coverage.gpkg", layer="villages", read_geometry=False)
    b = pyogrio.read_dataframe(tmp_path / "b" / "coverage.gpkg", layer="villages", read_geometry=False)
    assert a.equals(b)
    land.options["enabled"] = True
    save_project(project, tmp_path / "on.covproj")
    assert main(["analyse", str(tmp_path / "on.covproj"), "--out", str(tmp_path / "c"), *FAST]) == 2


def test_analyse_on_an_ascii_grid_speed_raster_reads_it_quietly(tmp_path):
    """Not every raster is a GeoTIFF: an Esri ASCII grid is read with no GDAL complaint about the
    GeoTIFF-only threaded-decoding option (it printed "does not support open option NUM_THREADS")."""
    import subprocess
    import sys

    speed = tmp_path / "speed.asc"
    with rasterio.open(speed, "w", driver="AAIGrid", width=51, height=51, count=1, dtype="float32",
                       crs="EPSG:32646", transform=from_origin(X0 - 2550, Y0 + 2550, 100, 100)) as dst:
        dst.write(np.full((1, 51, 51), 6.0, "float32"))
    fac = tmp_path / "fac.gpkg"
    frame([facility("H", 0, 0)]).to_file(fac)
    run = subprocess.run([sys.executable, "-m", "coverage_app", "analyse", "--facilities", str(fac), "--speed-raster",
                          str(speed), "--out", str(tmp_path / "o"), "--quiet"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "open option" not in run.stdout + run.stderr, run.stdout + run.stderr
    with rasterio.open(tmp_path / "o" / "travel_time_primary.tif") as src:
        assert abs(src.read(1)[25, 50] - 25) < 0.5  # 2.5 km east at 100 m/min
