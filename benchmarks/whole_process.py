"""Whole-process benchmark: what a user waits for, from typing the command to the files on disk.

    python benchmarks/whole_process.py                      # everything, ~6 min on 2 busy cores
    python benchmarks/whole_process.py --cases raster --repeat 1
    python benchmarks/whole_process.py --cases sagaing --cell-sizes 250

Cases (each tool a process of its own, timed with ``os.wait4``: wall seconds and that process's
peak RSS; every tool does its own read and write):

* ``raster``: a 3000 x 3000 speed raster (km/h, 100 m cells, EPSG:32646, random 3.6-72 km/h,
  seed 0) and 200 random facilities (GeoPackage points):
  - app: ``python -m coverage_app analyse --facilities F.gpkg --speed-raster R.tif --out D --quiet``
    (16 neighbours, the default; also with ``--neighbours 8``, like the peers);
  - scikit-image: a plain script reading the same raster and facilities (rasterio, pyogrio),
    ``MCP_Geometric(fully_connected=True)`` (8 neighbours), writing one float32 GeoTIFF of minutes;
  - GRASS: ``grass --tmp-location R.tif --exec`` a shell script: ``r.in.gdal``, ``r.mapcalc``
    (seconds per cell), ``v.in.ogr``, ``r.cost`` (8 neighbours; ``-k`` for 16), ``r.out.gdal``.
* ``sagaing``: the bundled project, ``analyse --out D --format both --quiet`` at each cell size, run
  again on the same inputs (the cache of earlier runs filled) and as a first run (an empty cache).
* ``whatif``: benchmarks/whatif.py (the app, offscreen: click to repainted map) at each cell size.

``--app-python PYTHON`` runs the app's commands with another interpreter: a venv with only
``pip install -e .`` is what a user has (without the test extras' scipy, which numba imports at
start-up when it is there).

The app's processes run with bytecode caching on, as a user's do: a ``PYTHONDONTWRITEBYTECODE``
in this environment (some CI images set it) is dropped for them, and one untimed ``analyse`` first
writes the ``__pycache__`` of the editable install (compiling the package's ~40 modules from source
costs 0.2-0.5 s of every run otherwise; site-packages were compiled by pip).

Best of ``--repeat`` runs (the machine is shared: the minimum is the least disturbed) and the
ratio peer / app from the same round. Prints the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

SKIMAGE_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import pyogrio
    import rasterio
    from skimage.graph import MCP_Geometric

    raster, facilities, out = sys.argv[1:4]
    with rasterio.open(raster) as src:
        speed = src.read(1)
        profile = src.profile
        transform = src.transform
    cell = transform.a
    cost = np.where(speed > 0, 3.6 / speed, np.inf)  # seconds per metre
    fac = pyogrio.read_dataframe(facilities)
    cols, rows = ~transform * (fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy())
    starts = list(zip(rows.astype(int).tolist(), cols.astype(int).tolist()))
    cum, _ = MCP_Geometric(cost, fully_connected=True).find_costs(starts)
    minutes = (cum * cell / 60.0).astype("float32")
    profile.update(dtype="float32", nodata=-9999.0, compress="deflate", tiled=True)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(np.where(np.isfinite(minutes), minutes, -9999.0).astype("float32"), 1)
""")

GRASS_SCRIPT = textwrap.dedent("""
    set -e
    r.in.gdal --q -o input="$1" output=speed
    g.region raster=speed
    r.mapcalc --q "fr = if(speed > 0, 3.6 / speed * ewres(), null())"
    v.in.ogr --q -o input="$2" output=fac
    r.cost --q $4 input=fr output=cc start_points=fac memory=1024
    r.mapcalc --q "mins = float(cc / 60.0)"
    r.out.gdal --q --o -c -f input=mins output="$3" type=Float32 createopt=COMPRESS=DEFLATE,TILED=YES
""")


def run_measured(cmd, **kw):
    """Run ``cmd`` to the end; (wall seconds, peak RSS MB of it and its children, return code)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, **kw)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    return dt, ru.ru_maxrss / 1024.0, os.waitstatus_to_exitcode(status)


def children_peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def prepare_raster_case(d: Path, size: int, sources: int, seed: int = 0):
    import geopandas as gpd
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    speed = rng.uniform(3.6, 72.0, (size, size)).astype("float32")  # 0.05-1 s/m
    cell, x0, y0 = 100.0, 500000.0, 2600000.0
    with rasterio.open(d / "speed.tif", "w", driver="GTiff", width=size, height=size, count=1,
                       dtype="float32", crs="EPSG:32646", transform=from_origin(x0, y0, cell, cell),
                       tiled=True, compress="lzw") as dst:
        dst.write(speed, 1)
    pick = rng.choice(size * size, sources, replace=False)
    rows, cols = np.unravel_index(pick, (size, size))
    x, y = x0 + (cols + 0.5) * cell, y0 - (rows + 0.5) * cell
    gpd.GeoDataFrame({"fac_id": [f"F{i:03d}" for i in range(sources)],
                      "name": [f"Facility {i}" for i in range(sources)],
                      "level": ["RHC"] * sources, "status": ["functioning"] * sources},
                     geometry=gpd.points_from_xy(x, y), crs="EPSG:32646").to_file(d / "facilities.gpkg")


APP_PYTHON = sys.executable  # --app-python: e.g. a venv with only `pip install -e .`, as a user has


# what a user's process has: bytecode written and read back (see the module docstring)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def warm_up_app(d: Path) -> None:
    """One untimed run: writes the package's bytecode cache and loads numba's cache from disk once."""
    subprocess.run(app_cmd("analyse", "--out", str(d / "warm_up"), "--quiet"), cwd=REPO, env=CHILD_ENV,
                   stdout=subprocess.DEVNULL, check=True)


def app_cmd(*args):
    return [APP_PYTHON, "-m", "coverage_app", *args]


def best(times):
    return min(times) if times else float("nan")


def case_raster(d: Path, repeat: int, grass: bool):
    r, f = d / "speed.tif", d / "facilities.gpkg"
    (d / "skimage_run.py").write_text(SKIMAGE_SCRIPT)
    (d / "grass_run.sh").write_text(GRASS_SCRIPT)
    tools = {
        "app analyse (16 nbrs)": app_cmd("analyse", "--facilities", str(r.parent / f.name), "--speed-raster",
                                         str(r), "--out", str(d / "out_app"), "--quiet"),
        "app analyse --neighbours 8": app_cmd("analyse", "--facilities", str(f), "--speed-raster", str(r),
                                              "--out", str(d / "out_app8"), "--quiet", "--neighbours", "8"),
        "scikit-image script (8)": [sys.executable, str(d / "skimage_run.py"), str(r), str(f),
                                    str(d / "skimage.tif")],
    }
    if grass and shutil.which("grass"):
        for label, flag in (("GRASS r.cost (8)", ""), ("GRASS r.cost -k (16)", "-k")):
            tools[label] = ["grass", "--tmp-location", str(r), "--exec", "sh", str(d / "grass_run.sh"), str(r),
                            str(f), str(d / f"grass{flag or '8'}.tif"), flag]
    rows = {name: {"times": [], "peak": 0.0} for name in tools}
    for _ in range(repeat):
        for name, cmd in tools.items():
            dt, peak, rc = run_measured(cmd, cwd=REPO, env=CHILD_ENV, stdout=subprocess.DEVNULL)
            if rc != 0:
                raise SystemExit(f"{name} failed ({rc}): {' '.join(cmd)}")
            rows[name]["times"].append(dt)
            rows[name]["peak"] = max(rows[name]["peak"], peak)
    return rows


def check_raster_agreement(d: Path) -> str:
    """Largest relative difference of the peers' minutes from the app's (8 neighbours)."""
    import rasterio

    with rasterio.open(d / "out_app8" / "travel_time_primary.tif") as ds:
        app = ds.read(1, masked=True).filled(np.nan)
    out = []
    for name in ("skimage.tif", "grass8.tif"):
        if (d / name).exists():
            with rasterio.open(d / name) as ds:
                peer = ds.read(1, masked=True).filled(np.nan)
            ok = np.isfinite(app) & np.isfinite(peer) & (peer > 1)
            out.append(f"{name}: max rel diff {np.max(np.abs(app[ok] - peer[ok]) / peer[ok]):.2e} "
                       f"over {int(ok.sum()):,} cells")
    return "; ".join(out)


def case_sagaing(d: Path, repeat: int, cell_sizes):
    """Each cell size twice: with the cache of earlier runs (core/runcache.py) that the untimed first
    run filled, as when a user runs the analysis again; and as a first run on these inputs, each run
    with an empty cache folder of its own (the layers are checked and the friction built)."""
    rows = {}
    for cell in cell_sizes:
        for cold in (False, True):
            name = f"Sagaing default, {cell:g} m (--format both)" + (", empty cache (first run)" if cold else "")
            rows[name] = {"times": [], "peak": 0.0}
            if not cold:  # one untimed run of this size fills the cache
                subprocess.run(app_cmd("analyse", "--out", str(d / f"sag{cell:g}"), "--quiet", "--cell-size",
                                       f"{cell:g}"), cwd=REPO, env=CHILD_ENV, stdout=subprocess.DEVNULL, check=True)
            cmd = app_cmd("analyse", "--out", str(d / f"sag{cell:g}"), "--format", "both", "--quiet",
                          "--cell-size", f"{cell:g}")

            def env(i):  # a first run: a cache folder of its own, empty
                return dict(CHILD_ENV, COVERAGE_APP_CACHE_DIR=str(d / f"cache_empty_{cell:g}_{i}")) if cold \
                    else CHILD_ENV

            for i in range(repeat):
                dt, peak, rc = run_measured(cmd, cwd=REPO, env=env(i), stdout=subprocess.DEVNULL)
                if rc != 0:
                    raise SystemExit(f"{name} failed ({rc})")
                rows[name]["times"].append(dt)
                rows[name]["peak"] = max(rows[name]["peak"], peak)
            out = subprocess.run([*cmd, "--profile"], cwd=REPO, env=env(repeat), capture_output=True, text=True)
            rows[name]["profile"] = out.stdout
    return rows


def case_whatif(cell_sizes, repeat: int):
    out = {}
    for cell in cell_sizes:
        res = subprocess.run([sys.executable, str(HERE / "whatif.py"), "--cell-size", f"{cell:g}", "--repeat",
                              str(repeat), "--json"], cwd=REPO, capture_output=True, text=True,
                             env=dict(CHILD_ENV, QT_QPA_PLATFORM="offscreen"))
        if res.returncode != 0:
            out[cell] = {"error": res.stderr.strip().splitlines()[-1:] or ["failed"]}
        else:
            out[cell] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", default="raster,sagaing,whatif")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--size", type=int, default=3000)
    p.add_argument("--sources", type=int, default=200)
    p.add_argument("--cell-sizes", type=float, nargs="+", default=[250.0, 100.0])
    p.add_argument("--no-grass", action="store_true")
    p.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temporary folder)")
    p.add_argument("--app-python", metavar="PYTHON",
                   help="run the app's commands with this interpreter, e.g. that of a venv made with only "
                        "`pip install -e .` (what a user installs: no scipy, which the test extras bring and "
                        "numba then imports at start-up, ~0.3 s); default: this one")
    args = p.parse_args(argv)
    global APP_PYTHON
    if args.app_python:
        APP_PYTHON = args.app_python
        print(f"app commands run with {APP_PYTHON}")
    cases = args.cases.split(",")
    d = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="whole-process-"))
    d.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} (1 / 5 min), "
          f"{os.cpu_count()} cores; best of {args.repeat}", flush=True)
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        print("PYTHONDONTWRITEBYTECODE is set here: dropped for the app's processes (a user's writes bytecode)")
    # the app's cache of earlier runs (core/runcache.py) in the work folder, never the user's own
    CHILD_ENV["COVERAGE_APP_CACHE_DIR"] = str(d / "cache")
    try:
        warm_up_app(d)
        if "raster" in cases:
            if not (d / "speed.tif").exists():
                prepare_raster_case(d, args.size, args.sources)
            rows = case_raster(d, args.repeat, not args.no_grass)
            app = best(rows["app analyse (16 nbrs)"]["times"])
            app8 = best(rows["app analyse --neighbours 8"]["times"])
            print(f"\n{args.size} x {args.size} speed raster, {args.sources} facilities, whole process:")
            print("| tool | best s | all runs s | peak MB | peer / app (16) | peer / app (8) |")
            print("| --- | ---: | --- | ---: | ---: | ---: |")
            for name, r in rows.items():
                b = best(r["times"])
                print(f"| {name} | {b:.2f} | {', '.join(f'{t:.2f}' for t in r['times'])} | {r['peak']:.0f} | "
                      f"{b / app:.1f}x | {b / app8:.1f}x |")
            print(check_raster_agreement(d))
        if "sagaing" in cases:
            rows = case_sagaing(d, args.repeat, args.cell_sizes)
            print("\nSagaing bundled project, whole process:")
            print("| run | best s | all runs s | peak MB |")
            print("| --- | ---: | --- | ---: |")
            for name, r in rows.items():
                print(f"| {name} | {best(r['times']):.2f} | {', '.join(f'{t:.2f}' for t in r['times'])} | "
                      f"{r['peak']:.0f} |")
            for name, r in rows.items():
                print(f"\n{name}, --profile:\n{r['profile']}")
        if "whatif" in cases:
            res = case_whatif(args.cell_sizes, args.repeat)
            print("\nWhat-if in the app (offscreen, click to repainted map and tables), best of runs:")
            for cell, r in res.items():
                print(f"  {cell:g} m: {json.dumps(r)}")
    finally:
        print(f"\nload average at end: {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f}")
        if not args.keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
