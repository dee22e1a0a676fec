"""Command line: ``sweep`` (Monte Carlo access probabilities and scenario sweeps, issue 15).

    coverage-app sweep SPEC.toml --out DIR [--scheduler tcp://HOST:PORT | --serial] [--workers N]
    coverage-app sweep SPEC.toml --draw K [--out DIR]

Runs every draw of every case of the spec (:mod:`coverage_app.core.analysis.sweep_spec`) on a
dask LocalCluster of ``--workers`` processes (default one per core), on an existing cluster
(``--scheduler``) or in this process (``--serial``), and writes the results into DIR
(:mod:`coverage_app.core.outputs.sweep_export`). ``--draw K`` re-runs draw K alone in this
process and prints its region shares; with ``--out`` it writes ``draw_K.csv`` (minutes per
village and case) and checks the draw's parameters against DIR/run.json if there is one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from coverage_app.core.errors import InputError, Problem


def cmd_sweep(args) -> int:
    from coverage_app.cli import TerminalFeedback
    from coverage_app.core.analysis.sweep import run_sweep
    from coverage_app.core.analysis.sweep_spec import load_spec
    from coverage_app.core.outputs.export import check_output_folder
    from coverage_app.core.outputs.sweep_export import export_sweep
    from coverage_app.core import startup

    startup.imports_done()  # the heavy modules are in: freeze them, collect as usual again
    if args.workers is not None and args.workers < 0:
        raise InputError("--workers must be 0 (this process) or more")
    if args.scheduler and not args.scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
        raise InputError(f"--scheduler must be an address like tcp://HOST:PORT, not {args.scheduler!r}")
    if args.draw is None and not args.out:
        raise InputError("give --out DIR for the results (or --draw K to re-run one draw)")
    out = check_output_folder(args.out) if args.out else None  # before any slow work
    spec = load_spec(args.spec)
    feedback = TerminalFeedback(args.quiet)
    import logging
    import os

    if not os.environ.get("COVERAGE_APP_DEBUG"):  # dask's own INFO lines (workers starting, ...) stay quiet
        for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.core",
                     "distributed.worker", "distributed.http.proxy"):
            logging.getLogger(name).setLevel(logging.WARNING)
    if args.draw is not None:
        return _one_draw(spec, args.draw, out, feedback)
    scheduler = "serial" if args.serial else args.scheduler
    result = run_sweep(spec, feedback=feedback, scheduler=scheduler, workers=args.workers)
    export_sweep(result, out)
    t = result.timings_s
    print(f"{len(result.draws)} draws x {len(result.cases)} case(s) on {result.scheduler} ({result.workers} "
          f"worker{'s' if result.workers != 1 else ''}): {t['draws']:.1f} s for the draws, "
          f"{len(result.draws) * len(result.cases) / max(t['draws'], 1e-9):.2f} analyses/s")
    _print_series(result.series)
    print(f"written to {out}")
    return 0


def _print_series(series) -> None:
    print(f"{'case':<40} {'primary % (5/50/95)':>22} {'secondary % (5/50/95)':>24}")
    for row in series.to_dict("records"):
        label = f"{row['mode']} {row['as_of']} {row['scenario']}".strip()
        p = "/".join(f"{row[f'prim_pct{q}']:.1f}" for q in (5, 50, 95))
        s = "/".join(f"{row[f'sec_pct{q}']:.1f}" for q in (5, 50, 95))
        print(f"{label[:40]:<40} {p:>22} {s:>24}")


def _one_draw(spec, k, out, feedback) -> int:
    import pandas as pd

    from coverage_app.core.analysis.sweep import run_sweep
    from coverage_app.core.outputs.sweep_export import read_run_record

    result = run_sweep(spec, feedback=feedback, scheduler="serial", only_draws=[k])
    drawn = result.draws[0].to_dict()
    if out is not None and (out / "run.json").exists():
        record = read_run_record(out)
        stored = next((d for d in record.get("draws", []) if d.get("index") == k), None)
        if stored is not None and stored != drawn:
            raise InputError(Problem("error", f"draw {k} of this spec does not match the one recorded in run.json "
                                     "(the spec or its project changed since that sweep); re-run the sweep",
                                     file=str(out / "run.json")))
    print(f"draw {k}: region share within reach (%)")
    for row in result.draw_table.to_dict("records"):
        case = result.cases[row["case"]]
        print(f"  {case.label:<38} primary {row['share_prim']:.4f}  secondary {row['share_sec']:.4f}")
    if out is not None:
        frames = []
        for case in result.cases:
            r = result.raw[case.index]
            frames.append(pd.DataFrame({"case": case.index, "pcode": result.villages["pcode"].iloc[
                :len(r["prim"][0])].to_numpy(), "prim_min": r["prim"][0], "sec_min": r["sec"][0]}))
        path = Path(out) / f"draw_{k}.csv"
        pd.concat(frames).to_csv(path, index=False)
        print(f"written to {path}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("sweep", help="Monte Carlo access probabilities and scenario sweeps (dask)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Run a sweep spec (TOML): many analyses with drawn speeds, zone factors and "
                                   "facility availability, or a series of dates / scenarios.")
    p.add_argument("spec", metavar="SPEC", help="sweep specification (.toml)")
    p.add_argument("--out", metavar="DIR", help="folder for sweep.gpkg, shapefiles, CSV and run.json")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing dask cluster (tcp://HOST:PORT)")
    where.add_argument("--serial", action="store_true", help="run every draw in this process (no dask)")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: one per core; "
                   "0 = this process)")
    p.add_argument("--draw", type=int, metavar="K", help="re-run draw K alone (in this process)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_sweep, imports_heavy=True)  # calls startup.imports_done() itself
