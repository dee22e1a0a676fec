#!/usr/bin/env python3
"""Benchmark of the travel-time engine against scikit-image and GRASS r.cost.

    python benchmarks/engine.py                      # 3000 x 3000 random friction, 200 sources
    python benchmarks/engine.py --friction-tif F.tif --sources 300
    python benchmarks/engine.py --tools engine,skimage --repeat 5
    python benchmarks/engine.py --tools engine --threads 1,2   # engine on 1 and on 2 threads

Every tool runs on the same grid and sources, each in its own process so peak memory
(``ru_maxrss`` of that process, from ``os.wait4``) does not mix between tools:

* engine: ``coverage_app.core.travel.engine.travel_time`` (after ``warm_up()``, i.e. with
  numba's cache loaded), 8 and 16 neighbours, with ``threads=`` each value of ``--threads``
  (default ``auto``: the engine's own choice; speed-ups are against the first value); plus incremental ``remove_source`` /
  ``add_source`` of one facility, copying (default) and ``inplace=True``.
* scikit-image: ``MCP_Geometric(costs, fully_connected=True).find_costs`` (8 neighbours;
  it cannot do knight's moves).
* GRASS: one ``r.cost`` process per run (``-k`` for 16 neighbours), timed as a whole
  process; the friction (seconds per cell = s/m x cell size, the unit r.cost wants)
  and the start cells are imported once with ``r.in.gdal`` beforehand. Installed with
  ``apt-get install -y grass-core`` if missing and we are root.

Prints median wall times of ``--repeat`` runs, peak memory, speed-ups (peer time /
engine time) and the largest relative difference of each peer's times from the
engine's, over cells both reach.

A GeoTIFF given with ``--friction-tif`` holds seconds per metre; nodata, NaN, inf and
negative cells are barriers; cells must be square (metres). ``--sources N`` random
passable cells are the facilities.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve()


# --------------------------------------------------------------------------- helpers


def rss_mb_self() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_measured(cmd, **kw):
    """Run ``cmd``; return (seconds, peak RSS MB of that process, returncode)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, **kw)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return dt, ru.ru_maxrss / 1024.0, p.returncode


def load_inputs(d: Path):
    meta = json.loads((d / "meta.json").read_text())
    cost = np.load(d / "cost.npy")
    src = np.load(d / "sources.npy")
    return meta, cost, src[:, 0], src[:, 1]


def write_tif(path, array, meta, nodata=None):
    import rasterio
    from rasterio.transform import Affine

    with rasterio.open(path, "w", driver="GTiff", height=array.shape[0], width=array.shape[1],
                       count=1, dtype=array.dtype, crs=meta["crs"],
                       transform=Affine(*meta["transform"]), nodata=nodata,
                       compress="lzw", tiled=True) as ds:
        ds.write(array, 1)


# --------------------------------------------------------------------------- workers


def worker_engine(d: Path, neighbours: int, repeat: int, out: Path, threads=None):
    sys.path.insert(0, str(REPO))
    from coverage_app.core.travel import engine

    meta, cost, rows, cols = load_inputs(d)
    t0 = time.perf_counter()
    engine.warm_up()
    warm = time.perf_counter() - t0
    base = rss_mb_self()
    ids = np.arange(len(rows))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = engine.travel_time(cost, meta["cell"], rows, cols, ids, neighbours=neighbours,
                                 **({} if threads is None else {"threads": threads}))
        times.append(time.perf_counter() - t0)
        peak_after_run = rss_mb_self()
        np.save(out.with_suffix(".minutes.npy"), res.minutes)
        del res
    json.dump({"times": times, "baseline_mb": base, "warm_up_s": warm,
               "peak_self_mb": peak_after_run}, out.open("w"))


def worker_incremental(d: Path, neighbours: int, repeat: int, out: Path):
    sys.path.insert(0, str(REPO))
    from coverage_app.core.travel import engine

    meta, cost, rows, cols = load_inputs(d)
    engine.warm_up()
    ids = np.arange(len(rows))
    cell = meta["cell"]
    res = engine.travel_time(cost, cell, rows, cols, ids, neighbours=neighbours)
    counts = np.bincount(res.allocation[res.allocation >= 0], minlength=len(ids))
    # facilities with a typical service area (closest to the median number of cells)
    order = np.argsort(np.abs(counts - np.median(counts)))[:repeat]
    rec = {k: [] for k in ("remove_copy", "add_copy", "remove_inplace", "add_inplace")}
    for sid in order:
        sid = int(sid)
        for inplace in (False, True):
            tag = "inplace" if inplace else "copy"
            t0 = time.perf_counter()
            r2 = engine.remove_source(res, sid, cost, cell, neighbours=neighbours,
                                      inplace=inplace)
            rec[f"remove_{tag}"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            r3 = engine.add_source(r2, int(rows[sid]), int(cols[sid]), sid, cost, cell,
                                   neighbours=neighbours, inplace=inplace)
            rec[f"add_{tag}"].append(time.perf_counter() - t0)
            res = r3
            del r2, r3
    rec["served_cells"] = [int(counts[s]) for s in order]
    json.dump(rec, out.open("w"))


def worker_skimage(d: Path, neighbours: int, repeat: int, out: Path):
    from skimage.graph import MCP_Geometric

    meta, cost, rows, cols = load_inputs(d)
    costs = np.where(np.isfinite(cost), cost, np.inf).astype(np.float64)
    starts = list(zip(rows.tolist(), cols.tolist()))
    base = rss_mb_self()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        mcp = MCP_Geometric(costs, fully_connected=True)
        cum, _tb = mcp.find_costs(starts)
        times.append(time.perf_counter() - t0)
        minutes = (cum * meta["cell"] / 60.0).astype(np.float32)
        del mcp, cum, _tb
    np.save(out.with_suffix(".minutes.npy"), minutes)
    json.dump({"times": times, "baseline_mb": base}, out.open("w"))


def worker_grass(d: Path, neighbours_list, repeat: int, out: Path, memory_mb: int):
    """Runs inside ``grass --tmp-location ... --exec``."""
    def g(*args):
        subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL)

    g("r.in.gdal", "--q", "-o", f"input={d / 'friction_per_cell.tif'}", "output=fr")
    g("r.in.gdal", "--q", "-o", f"input={d / 'starts.tif'}", "output=st")
    g("g.region", "raster=fr")
    result = {}
    for k in neighbours_list:
        times, peaks = [], []
        for i in range(repeat):
            cmd = ["r.cost", "--q", "--o", "input=fr", "output=cc", "start_raster=st",
                   f"memory={memory_mb}"] + (["-k"] if k == 16 else [])
            dt, peak, rc = run_measured(cmd, stdout=subprocess.DEVNULL)
            if rc != 0:
                raise SystemExit(f"r.cost failed ({rc})")
            times.append(dt)
            peaks.append(peak)
        g("r.out.gdal", "--q", "-c", "-f", "input=cc", f"output={d / f'grass{k}.tif'}",
          "type=Float64", "--o")
        result[str(k)] = {"times": times, "peak_mb": max(peaks)}
    json.dump(result, out.open("w"))


# --------------------------------------------------------------------------- orchestration


def prepare(args, d: Path):
    rng = np.random.default_rng(args.seed)
    if args.friction_tif:
        import rasterio

        with rasterio.open(args.friction_tif) as ds:
            cost = ds.read(1).astype(np.float32)
            if ds.nodata is not None:
                cost[ds.read(1) == ds.nodata] = np.inf
            a = ds.transform
            if not math.isclose(abs(a.a), abs(a.e), rel_tol=1e-6):
                raise SystemExit("cells must be square")
            meta = {"cell": abs(a.a), "crs": ds.crs.to_string(), "transform": list(a)[:6],
                    "name": Path(args.friction_tif).name}
        cost[~(cost >= 0)] = np.inf  # NaN and negative -> barrier
    else:
        n = args.size
        # 0.05 - 1 s/m: 20 m/s (72 km/h, roads) down to 1 m/s (walking off-road)
        cost = rng.uniform(0.05, 1.0, (n, n)).astype(np.float32)
        cell = 100.0
        meta = {"cell": cell, "crs": "EPSG:32646", "transform": [cell, 0, 500000.0, 0, -cell,
                                                                2600000.0],
                "name": f"random {n}x{n} (seed {args.seed})"}
    free = np.flatnonzero(np.isfinite(cost))
    pick = rng.choice(free, args.sources, replace=False)
    rows, cols = np.unravel_index(pick, cost.shape)
    np.save(d / "cost.npy", cost)
    np.save(d / "sources.npy", np.stack([rows, cols], axis=1))
    meta["shape"] = list(cost.shape)
    meta["sources"] = int(args.sources)
    (d / "meta.json").write_text(json.dumps(meta))
    return meta, cost


def ensure_grass():
    if shutil.which("grass"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing grass-core ...", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run(["apt-get", "install", "-y", "-qq", "grass-core"], env=env,
                           stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "-qq", "grass-core"], env=env,
                           stdout=subprocess.DEVNULL)
    return shutil.which("grass") is not None


def spawn(kind, d, neighbours, repeat, out, extra=()):
    cmd = [sys.executable, str(HERE), "--worker", kind, "--dir", str(d), "--neighbours",
           str(neighbours), "--repeat", str(repeat), "--out", str(out), *extra]
    dt, peak, rc = run_measured(cmd)
    if rc != 0:
        raise SystemExit(f"worker {kind} failed ({rc})")
    return json.loads(Path(out).read_text()), peak


def max_rel_diff(a, b):
    ok = np.isfinite(a) & np.isfinite(b) & (b > 0)
    return float(np.max(np.abs(a[ok] - b[ok]) / b[ok])) if ok.any() else float("nan")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=3000, help="side of the random grid (cells)")
    p.add_argument("--sources", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--friction-tif", help="GeoTIFF of seconds per metre instead of random")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--tools", default="engine,skimage,grass")
    p.add_argument("--grass-memory", type=int, default=1024, help="r.cost memory= (MB)")
    p.add_argument("--threads", default="auto",
                   help="engine search threads, comma-separated (auto = the engine's choice)")
    p.add_argument("--big-incremental", default="3300x6400",
                   help="also time incremental edits on a random grid of this size "
                        "(ROWSxCOLS, 2 sources per 100k cells); 'none' to skip")
    # internal
    p.add_argument("--worker")
    p.add_argument("--dir")
    p.add_argument("--neighbours", type=int, default=8)
    p.add_argument("--out")
    args = p.parse_args(argv)

    if args.worker:
        d, out = Path(args.dir), Path(args.out)
        if args.worker == "engine":
            worker_engine(d, args.neighbours, args.repeat, out,
                          None if args.threads == "auto" else int(args.threads))
        elif args.worker == "incremental":
            worker_incremental(d, args.neighbours, args.repeat, out)
        elif args.worker == "skimage":
            worker_skimage(d, args.neighbours, args.repeat, out)
        elif args.worker == "grass":
            worker_grass(d, [8, 16], args.repeat, out, args.grass_memory)
        return

    tools = set(args.tools.split(","))
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
        d = Path(tmp)
        meta, cost = prepare(args, d)
        rows_n, cols_n = meta["shape"]
        print(f"grid: {meta['name']}, {rows_n} x {cols_n} cells of {meta['cell']:g} m, "
              f"{meta['sources']} sources, {int(np.isfinite(cost).sum())} passable; "
              f"median of {args.repeat} runs; {os.cpu_count()} CPUs", flush=True)
        rows = []  # (tool, stencil, median s, runs, peak MB, note)
        engine_t, engine_min = {}, {}

        if "engine" in tools:
            thread_opts = args.threads.split(",")
            for k in (8, 16):
                for th in thread_opts:
                    name = "engine" if len(thread_opts) == 1 else f"engine threads={th}"
                    out = d / f"engine{k}-{th}.json"
                    r, peak = spawn("engine", d, k, args.repeat, out, ("--threads", th))
                    t = float(np.median(r["times"]))
                    minutes = np.load(out.with_suffix(".minutes.npy"))
                    note = (f"inputs+runtime {r['baseline_mb']:.0f} MB, "
                            f"warm_up {r['warm_up_s']:.2f} s")
                    if k in engine_t:
                        same = np.array_equal(minutes, engine_min[k], equal_nan=True)
                        note += f", minutes {'equal to' if same else 'DIFFER from'} threads={thread_opts[0]}"
                    else:
                        engine_t[k], engine_min[k] = t, minutes
                    rows.append((name, k, t, r["times"], peak, note))
                    print(f"  {name} {k}: {t:.2f} s", flush=True)
        if "skimage" in tools:
            r, peak = spawn("skimage", d, 8, args.repeat, d / "skimage.json")
            t = float(np.median(r["times"]))
            note = f"inputs+runtime {r['baseline_mb']:.0f} MB"
            if 8 in engine_min:
                diff = max_rel_diff(engine_min[8], np.load(d / "skimage.minutes.npy"))
                note += f", max rel diff vs engine {diff:.1e}"
            rows.append(("scikit-image MCP_Geometric", 8, t, r["times"], peak, note))
            rows.append(("scikit-image MCP_Geometric", 16, None, [], None,
                         "n/a: offsets must be -1, 0 or 1"))
            print(f"  skimage 8: {t:.2f} s", flush=True)
        if "grass" in tools:
            if not ensure_grass():
                print("GRASS not available (not root or apt-get failed): skipped")
            else:
                per_cell = np.where(np.isfinite(cost), cost * meta["cell"], np.nan)
                write_tif(d / "friction_per_cell.tif", per_cell.astype(np.float32), meta,
                          nodata=float("nan"))
                starts = np.zeros(cost.shape, np.uint8)
                src = np.load(d / "sources.npy")
                starts[src[:, 0], src[:, 1]] = 1
                write_tif(d / "starts.tif", starts, meta, nodata=0)
                out = d / "grass.json"
                cmd = ["grass", "--tmp-location", str(d / "starts.tif"), "--exec",
                       sys.executable, str(HERE), "--worker", "grass", "--dir", str(d),
                       "--repeat", str(args.repeat), "--out", str(out),
                       "--grass-memory", str(args.grass_memory)]
                _, _, rc = run_measured(cmd, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
                if rc != 0 or not out.exists():
                    print(f"GRASS run failed ({rc}): skipped")
                else:
                    import rasterio

                    res = json.loads(out.read_text())
                    for k in (8, 16):
                        r = res[str(k)]
                        t = float(np.median(r["times"]))
                        note = f"memory={args.grass_memory}"
                        if k in engine_min:
                            with rasterio.open(d / f"grass{k}.tif") as ds:
                                g = ds.read(1)
                                g = np.where(g == ds.nodata, np.nan, g) if ds.nodata is not None else g
                            diff = max_rel_diff(engine_min[k], (g / 60.0).astype(np.float32))
                            note += f", max rel diff vs engine {diff:.1e}"
                        if k == 16:  # r.cost prices a knight's move with 4 cells
                            note += " (r.cost -k: mean of 4 cells x sqrt5)"
                        name = "GRASS r.cost" + (" -k" if k == 16 else "")
                        rows.append((name, k, t, r["times"], r["peak_mb"], note))
                        print(f"  grass {k}: {t:.2f} s", flush=True)

        print()
        print(f"{'tool':28} {'nbrs':>4} {'median s':>9} {'speed-up':>9} {'peak MB':>8}  "
              f"runs s; notes")
        for name, k, t, runs, peak, note in rows:
            if t is None:
                print(f"{name:28} {k:>4} {'-':>9} {'-':>9} {'-':>8}  {note}")
                continue
            su = (f"{t / engine_t[k]:8.1f}x" if k in engine_t and not name.startswith("engine")
                  else f"{engine_t[k] / t:8.1f}x" if name.startswith("engine") else f"{'-':>9}")
            print(f"{name:28} {k:>4} {t:9.2f} {su:>9} {peak:8.0f}  "
                  f"{' '.join(f'{x:.2f}' for x in runs)}; {note}")
        print("speed-up = peer median / engine median (same stencil; the engine with the first "
              "--threads value; engine rows: that one's median / this one's); peak = max RSS of the "
              "tool's process (engine, scikit-image: whole Python process incl. inputs)")

        if "engine" in tools:
            print()
            inc_cases = [("same grid", d)]
            if args.big_incremental != "none" and not args.friction_tif:
                r_, c_ = (int(x) for x in args.big_incremental.lower().split("x"))
                big = d / "big"
                big.mkdir()
                a2 = argparse.Namespace(**{**vars(args), "friction_tif": None, "size": 0,
                                           "sources": max(2, r_ * c_ * 2 // 100_000)})
                rng = np.random.default_rng(args.seed + 1)
                bc = rng.uniform(0.05, 1.0, (r_, c_)).astype(np.float32)
                pick = rng.choice(bc.size, a2.sources, replace=False)
                np.save(big / "cost.npy", bc)
                np.save(big / "sources.npy", np.stack(np.unravel_index(pick, bc.shape), 1))
                (big / "meta.json").write_text(json.dumps(
                    {"cell": 100.0, "shape": [r_, c_], "sources": a2.sources}))
                inc_cases.append((f"random {r_}x{c_}, {a2.sources} sources", big))
                del bc
            print(f"{'incremental edit (engine)':40} {'nbrs':>4} {'served cells':>12} "
                  f"{'remove s':>9} {'add s':>9}  (median of {args.repeat} facilities)")
            for label, dd in inc_cases:
                for k in (8, 16):
                    r, peak = spawn("incremental", dd, k, args.repeat, dd / f"inc{k}.json")
                    served = int(np.median(r["served_cells"]))
                    for tag in ("copy", "inplace"):
                        print(f"{label + ', ' + tag:40} {k:>4} {served:>12} "
                              f"{np.median(r['remove_' + tag]):9.3f} "
                              f"{np.median(r['add_' + tag]):9.3f}")
                    print(f"{'':40} {'':>4} {'':>12} peak {peak:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
