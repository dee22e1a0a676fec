"""Whole-analysis benchmark on the bundled Sagaing project (DESIGN.md section 6).

Times, per cell size: the full run (friction, both tiers, villages, townships, catchments),
a what-if facility edit through the incremental path, and peak memory, each cell size in
its own subprocesses so peaks do not mix. Targets: 250 m < 1 s, 100 m < 5 s, an edit
< 0.3 s, peak memory < 2 GB at 100 m.

Timed runs follow one another with the previous result still alive, as in the app (a new
run replaces the one on screen only when it is done). Two peaks are printed: ``peak MB``
is one analysis (a fresh process: one run and the edits, the target's measure);
``held MB`` is the timing process, where two results coexist during every run after the
first.

    python benchmarks/analysis.py [--cell-sizes 250 100] [--repeat 3] [--mode walking]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def measure_peak(cell_size: float, mode: str) -> dict:
    """Peak memory of one analysis and the edits after it (fresh process)."""
    import resource

    from coverage_app.core.travel import engine
    from coverage_app.core.analysis.pipeline import run_analysis
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.data.project import bundled_project_path, load_project
    from coverage_app.core.analysis.scenarios import update_result

    engine.warm_up()
    project = load_project(bundled_project_path())
    data = load_project_data(project)
    params = project.params.replace(cell_size_m=cell_size, mode=mode)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = run_analysis(data, params)
    run_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    facilities = result.facilities[result.facilities.counts_secondary & result.facilities.on_grid]
    edit = {"type": "set_status", "fac_id": facilities.fac_id.iloc[0], "status": "closed", "date": "2025-01-01"}
    update_result(result, data, {"name": "bench", "edits": [edit]}, edit)
    add = {"type": "add_facility", "fac_id": "BENCH-NEW", "name": "Mobile clinic", "lon": 95.3, "lat": 22.5}
    update_result(result, data, {"name": "bench", "edits": [add]}, add)
    return {"start_mb": round(base_mb, 1), "run_peak_mb": round(run_mb, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def measure(cell_size: float, repeat: int, mode: str) -> dict:
    import resource

    from coverage_app.core.travel import engine
    from coverage_app.core.analysis.pipeline import run_analysis
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.data.project import bundled_project_path, load_project
    from coverage_app.core.analysis.scenarios import update_result

    engine.warm_up()
    project = load_project(bundled_project_path())
    data = load_project_data(project)
    params = project.params.replace(cell_size_m=cell_size, mode=mode)
    run_analysis(data, params)  # warm caches (JIT, PROJ)
    runs, parts = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        result = run_analysis(data, params)
        runs.append(time.perf_counter() - t)
        parts.append(result.timings_s)
    facilities = result.facilities[result.facilities.counts_secondary & result.facilities.on_grid]
    edits = []
    for fac_id in facilities.fac_id.iloc[:repeat]:
        edit = {"type": "set_status", "fac_id": fac_id, "status": "closed", "date": "2025-01-01"}
        t = time.perf_counter()
        update_result(result, data, {"name": "bench", "edits": [edit]}, edit)
        edits.append(time.perf_counter() - t)
    add = {"type": "add_facility", "fac_id": "BENCH-NEW", "name": "Mobile clinic", "lon": 95.3, "lat": 22.5}
    t = time.perf_counter()
    update_result(result, data, {"name": "bench", "edits": [add]}, add)
    add_s = time.perf_counter() - t
    median_parts = {k: round(statistics.median(p[k] for p in parts), 3) for k in parts[0]}
    return {"cell_size_m": cell_size, "grid": list(result.grid.shape), "cells": int(result.grid.shape[0] *
            result.grid.shape[1]), "run_s": round(statistics.median(runs), 3), "parts_s": median_parts,
            "close_edit_s": round(statistics.median(edits), 3), "add_edit_s": round(add_s, 3),
            "held_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cell-sizes", type=float, nargs="+", default=[250.0, 100.0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mode", default="walking")
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--peak-child", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.repeat, args.mode)))
        return 0
    if args.peak_child:
        print(json.dumps(measure_peak(args.peak_child, args.mode)))
        return 0
    targets = {250.0: 1.0, 100.0: 5.0}
    print(f"Sagaing, mode {args.mode}, median of {args.repeat}")
    print(f"{'cell':>6} {'grid':>12} {'run s':>7} {'target':>7} {'close s':>8} {'add s':>6} {'peak MB':>8} "
          f"{'held MB':>8}  parts")
    for size in args.cell_sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(size), "--repeat", str(args.repeat),
                              "--mode", args.mode], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        out = subprocess.run([sys.executable, __file__, "--peak-child", str(size), "--mode", args.mode],
                             capture_output=True, text=True, check=True)
        p = json.loads(out.stdout.strip().splitlines()[-1])
        grid = f"{r['grid'][1]}x{r['grid'][0]}"
        target = targets.get(size)
        print(f"{size:>6g} {grid:>12} {r['run_s']:>7.2f} {('< %g' % target) if target else '':>7} "
              f"{r['close_edit_s']:>8.3f} {r['add_edit_s']:>6.3f} {p['peak_rss_mb']:>8.0f} {r['held_rss_mb']:>8.0f}"
              f"  {r['parts_s']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
