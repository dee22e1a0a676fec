"""Sweep benchmark on the bundled Sagaing project (issue 15).

200 draws at 250 m, serial (this process; the two tiers' searches on two threads) against a
2-worker dask LocalCluster (processes, one thread each, on 127.0.0.1), same seed: checks the
two give identical results and prints draws per second and the speed-up. Also the cost of
one draw against one full analysis (``run_analysis``: friction, both tiers, tables,
catchments), and of a draw whose drawn speeds rebuild the friction.

The timed sweep draws facility availability (each ``unknown`` facility functions with
probability 0.7) and the primary threshold, so the friction is built once and shared; the
search stops at ``--cut-off`` minutes (default 180: both thresholds lie below it, so the
probabilities are exact; minutes beyond the cut-off are reported as not reached).

    python benchmarks/sweep.py [--draws 200] [--cell-size 250] [--cut-off 180] [--workers 2]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--cell-size", type=float, default=250.0)
    ap.add_argument("--cut-off", type=float, default=180.0, help="search cut-off, minutes (0 = none)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--speed-draws", type=int, default=8, help="draws of the friction-rebuilding sweep")
    args = ap.parse_args(argv)

    import numpy as np

    from coverage_app.core.analysis.pipeline import run_analysis
    from coverage_app.core.analysis.sweep import run_sweep
    from coverage_app.core.analysis.sweep_spec import parse_spec
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.data.project import bundled_project_path, load_project
    from coverage_app.core.travel import engine

    engine.warm_up()
    data = load_project_data(load_project(bundled_project_path()))
    analysis = {"cell_size_m": args.cell_size, "as_of": "2024-06-01"}
    if args.cut_off:
        analysis["max_minutes"] = args.cut_off
    params = data.project.params.replace(cell_size_m=args.cell_size, as_of=None)
    full = []
    for _ in range(3):
        t = time.perf_counter()
        run_analysis(data, params)
        full.append(time.perf_counter() - t)
    full_s = statistics.median(full[1:])

    raw = {"version": 1, "draws": args.draws, "seed": 20261202, "analysis": analysis,
           "vary": {"unknown_functioning": 0.7, "params": {"primary_minutes": {"triangular": [50, 60, 70]}}}}
    spec = parse_spec(raw, project=data.project)
    serial = run_sweep(spec, scheduler="serial", data=data)
    dask = run_sweep(spec, workers=args.workers, data=data)
    same = all(np.array_equal(serial.raw[c][k], dask.raw[c][k], equal_nan=True)
               for c in serial.raw for k in serial.raw[c])
    speeds = dict(raw, draws=args.speed_draws, vary=dict(raw["vary"], speeds={"uniform": [0.8, 1.2]}))
    rebuild = run_sweep(parse_spec(speeds, project=data.project), scheduler="serial", data=data)

    ts, td = serial.timings_s, dask.timings_s
    dask_tasks = td.get("run_tasks", td["draws"])
    print(f"grid {serial.villages.shape[0]} villages, cell {args.cell_size:g} m, cut-off {args.cut_off:g} min, "
          f"{args.draws} draws; dask results identical to serial: {same}")
    print(f"| run | draws/s | wall s (draws) | per draw s |")
    print(f"|---|---:|---:|---:|")
    print(f"| serial (1 process, 2 tier threads) | {args.draws / ts['draws']:.2f} | {ts['draws']:.1f} | "
          f"{ts['task_mean']:.3f} |")
    print(f"| LocalCluster {dask.workers} workers, tasks only | {args.draws / dask_tasks:.2f} | {dask_tasks:.1f} | "
          f"{td['task_mean']:.3f} |")
    print(f"| LocalCluster incl. start-up {td.get('connect', 0):.1f} s, warm {td.get('warm', 0):.1f} s, scatter "
          f"{td.get('scatter', 0):.2f} s | {args.draws / td['draws']:.2f} | {td['draws']:.1f} | |")
    print(f"speed-up on {dask.workers} workers: {ts['draws'] / dask_tasks:.2f}x (tasks), "
          f"{ts['draws'] / td['draws']:.2f}x (with cluster start-up)")
    print(f"one full analysis (run_analysis, no cut-off): {full_s:.2f} s (runs {', '.join(f'{x:.2f}' for x in full)})")
    print(f"one draw, friction shared: {ts['task_mean']:.3f} s = {ts['task_mean'] / full_s:.2f} of a full analysis; "
          f"prepare once {ts['prepare']:.2f} s")
    print(f"one draw with speeds drawn (friction rebuilt): {rebuild.timings_s['task_mean']:.3f} s = "
          f"{rebuild.timings_s['task_mean'] / full_s:.2f} of a full analysis")
    s = serial.series.iloc[0]
    print(f"region share within reach, 5/50/95 %: primary {s['prim_pct5']}/{s['prim_pct50']}/{s['prim_pct95']}, "
          f"secondary {s['sec_pct5']}/{s['sec_pct50']}/{s['sec_pct95']}")


if __name__ == "__main__":
    main()
