"""Command line: ``analyse`` (travel times and coverage exports) and ``sites`` (siting)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
from pathlib import Path

from coverage_app.core.errors import InputError, errors_of
from coverage_app.core.params import FIELDS, MODES
from coverage_app.core.data.project import LayerRef, Project

ROLE_FLAGS = ("facilities", "villages", "townships", "roads", "rivers", "crossings", "conflict_zones", "dem",
              "landcover")


def add_analysis_flags(p: argparse.ArgumentParser) -> None:
    """The analysis parameter flags (shared with ``brief``); defaults come from the project."""
    p.add_argument("--mode", metavar="MODE", help=f"travel mode: {', '.join(MODES)} or one defined in the "
                   "project's speed table")
    p.add_argument("--cell-size", type=float, metavar="M", help=f"{FIELDS['cell_size_m'].metadata['label']}, metres")
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="analysis date (facility status, conflict zones)")
    p.add_argument("--primary-minutes", type=float, metavar="MIN")
    p.add_argument("--secondary-minutes", type=float, metavar="MIN")
    p.add_argument("--neighbours", type=int, choices=(8, 16))
    p.add_argument("--people-per-bed", type=float, metavar="N", help=f"{FIELDS['people_per_bed'].metadata['label']}"
                   " (capacity-aware coverage from the facilities' beds; 0 = off)")
    meta = FIELDS["unmapped_kmh"].metadata
    p.add_argument("--unmapped-kmh", metavar="KMH", help=f"{meta['label']}: the mode's speed where no road is "
                   "mapped, km/h, or 'walk' (default from the project; README: Last-mile travel)")
    p.add_argument("--scenario", metavar="NAME", help="a scenario saved in the project")


def params_from_args(project: Project, args):
    changes = {}
    for flag, name in (("mode", "mode"), ("cell_size", "cell_size_m"), ("primary_minutes", "primary_minutes"),
                       ("secondary_minutes", "secondary_minutes"), ("neighbours", "neighbours")):
        value = getattr(args, flag, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "as_of", None):
        try:
            changes["as_of"] = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise InputError(f"--as-of must be a date like 2024-05-31, not {args.as_of!r}") from None
    per_bed = getattr(args, "people_per_bed", None)
    if per_bed is not None:
        changes["people_per_bed"] = per_bed or None
    unmapped = getattr(args, "unmapped_kmh", None)
    if unmapped is not None:
        mode = changes.get("mode", project.params.mode)
        text = str(unmapped).strip().lower()
        try:
            kmh = None if text == "walk" else float(text)
        except ValueError:
            raise InputError(f"--unmapped-kmh must be a speed in km/h or 'walk', not {unmapped!r}") from None
        changes["unmapped_kmh"] = dict(project.params.unmapped_kmh) | {mode: kmh}
    try:
        return project.params.replace(**changes)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def scenario_from_args(project: Project, args):
    name = getattr(args, "scenario", None)
    if not name:
        return None
    scenario = project.scenario(name)
    if scenario is None:
        known = ", ".join(s.get("name", "?") for s in project.scenarios) or "none"
        raise InputError(f"no scenario named {name!r} in the project (scenarios: {known})")
    return scenario


def project_from_args(args) -> Project:
    """The project named on the command line, the bundled one, or one built from --ROLE PATH flags."""
    given = {role: getattr(args, role, None) for role in ROLE_FLAGS if getattr(args, role, None)}
    from coverage_app.cli.common import load_project_arg

    if args.project or not given:
        project = load_project_arg(args.project, args)  # plain, protected or the bundled project
    else:
        project = Project(name="command line")
    for role, path in given.items():
        project.layers = [ref for ref in project.layers if ref.role != role]
        project.layers.append(LayerRef(Path(path).stem, str(Path(path).resolve()), role, written=path))
    return project


def cmd_analyse(args) -> int:
    from coverage_app.core import runcache

    with runcache.used():  # what an earlier run computed from the same inputs is read back (core/runcache.py)
        return _analyse(args)


def _analyse(args) -> int:
    from coverage_app.core.profile import Stages, stage

    stages = Stages() if getattr(args, "profile", False) else None
    if stages is not None:
        stages.record_startup()
    with stage(stages, "imports (analysis modules)"):
        from coverage_app.cli import TerminalFeedback
        from coverage_app.core.analysis.pipeline import run_analysis, run_on_friction_raster
        from coverage_app.core.outputs.export import export_coverage
        from coverage_app.core.data.model import load_project_data
        from coverage_app.core import startup

        startup.imports_done()  # the heavy modules are in: freeze them, collect as usual again

    feedback = TerminalFeedback(args.quiet)
    with stage(stages, "read project and layers"):
        project = project_from_args(args)
        params = params_from_args(project, args)
        scenario = scenario_from_args(project, args)
        from coverage_app.cli.protect import require_full_confirmation

        require_full_confirmation(project, args, "export")  # before any slow work
        from coverage_app.core.data.roles import ANALYSIS_ROLES

        data = load_project_data(project, roles=ANALYSIS_ROLES)  # not the display-only layers
    if stages is not None:  # otherwise the kernels load inside the search, as before
        from coverage_app.core.analysis import pipeline

        with stages.stage("numba cache load (engine and catchment kernels)"):
            pipeline.warm_up(edits=False)
    fatal = errors_of(data.problems)
    for problem in data.problems:
        if problem.severity == "error" or not args.quiet:
            print(problem)
    if fatal:
        return 2
    formats = ("gpkg", "shp") if args.format == "both" else (args.format,)
    with contextlib.ExitStack() as run_scope:
        early = None  # a plain export: each tier's GeoTIFFs are written as soon as its search ends
        if not (args.encrypt or args.safe_share or args.sensitivity):
            from coverage_app.core.outputs.early_rasters import EarlyRasters

            early = run_scope.enter_context(EarlyRasters(args.out, params.mode, stages))
        on_tier = early.tier_done if early is not None else None
        raster = args.friction_raster or args.speed_raster
        if raster:
            from coverage_app.core.data.files import check_input_file

            check_input_file(raster)  # remote, missing or a FIFO: refused before GDAL opens it
            kind = "friction" if args.friction_raster else "speed"
            result = run_on_friction_raster(data, params, raster, kind, scenario=scenario, feedback=feedback,
                                            stages=stages, catchments=not args.safe_share, on_tier=on_tier)
        elif args.sensitivity:
            from coverage_app.core.analysis.sensitivity import run_sensitivity

            result = run_sensitivity(data, params, scenario, feedback=feedback)
        else:  # a safe-share export omits catchments: they are not computed
            result = run_analysis(data, params, scenario, feedback=feedback, stages=stages,
                                  catchments=not args.safe_share, on_tier=on_tier)
        for problem in result.problems:
            if not args.quiet:
                print(problem)
        if args.encrypt:  # one encrypted archive, staged in memory (see core/outputs/sealed.py)
            from coverage_app.cli.protect import archive_key
            from coverage_app.core.outputs.sealed import export_encrypted

            archive = export_encrypted(result, Path(args.out) / "coverage.zip.enc", archive_key(project, args),
                                       formats=formats, safe_share=args.safe_share, project=project,
                                       feedback=feedback)
            written = [archive]
        else:
            written = export_coverage(result, args.out, formats, safe_share=args.safe_share, project=project,
                                      inputs=[raster] if raster else None, feedback=feedback, stages=stages,
                                      early=early)
    if not args.quiet:
        h = result.headline()
        print(f"{params.mode}, {params.cell_size_m:g} m cells, as of {result.params.as_of_date}: "
              f"{h['share_primary']:.1%} of people within {params.primary_minutes:g} min of primary care, "
              f"{h['share_secondary']:.1%} within {params.secondary_minutes:g} min of secondary care "
              f"({h['assumed_unknown']} facilities of unknown status counted as functioning)")
        if h.get("pop_in_zones"):
            print(f"{h['pop_in_zones']:,.0f} people live in conflict zones in force (travel slowed), "
                  f"{h['pop_in_zones_no_primary']:,.0f} of them without primary care within "
                  f"{params.primary_minutes:g} min")
        if result.sensitivity is not None:
            r = result.sensitivity["headline"]
            print(f"speed sensitivity (low / high speeds): primary {r['share_primary']['lo']:.1%} to "
                  f"{r['share_primary']['hi']:.1%}, secondary {r['share_secondary']['lo']:.1%} to "
                  f"{r['share_secondary']['hi']:.1%}")
        print(f"analysis {result.timings_s.get('total', 0):.2f} s; wrote {len(written)} files to {args.out}")
    if stages is not None:
        print(stages.table())
    return 0


def cmd_sites(args) -> int:
    from coverage_app.cli import TerminalFeedback
    from coverage_app.core.analysis.pipeline import run_analysis
    from coverage_app.core.atomic import atomic_path
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.analysis.siting import check_siting_options, suggest_sites
    from coverage_app.core import startup

    startup.imports_done()  # the heavy modules are in: freeze them, collect as usual again
    check_siting_options(args.count, args.spacing)  # before the analysis runs
    feedback = TerminalFeedback(args.quiet)
    project = project_from_args(args)
    params = params_from_args(project, args)
    from coverage_app.core.data.roles import ANALYSIS_ROLES

    data = load_project_data(project, roles=ANALYSIS_ROLES)
    if errors_of(data.problems):
        for problem in errors_of(data.problems):
            print(problem)
        return 2
    out = Path(args.out)
    if out.suffix.lower() not in (".gpkg", ".csv", ".shp", ".geojson"):
        raise InputError(f"--out must end in .gpkg, .csv, .shp or .geojson, not {out.name!r}")
    if not out.parent.is_dir():
        raise InputError(f"the folder {out.parent} does not exist")
    result = run_analysis(data, params, scenario_from_args(project, args), feedback=feedback)
    picks = suggest_sites(result, args.count, args.candidates, args.spacing, feedback=feedback)
    if out.suffix.lower() == ".csv":
        with atomic_path(out) as tmp:
            picks.drop(columns="geometry").to_csv(tmp, index=False)
    elif out.suffix.lower() == ".shp":
        from coverage_app.core.atomic import atomic_dir

        with atomic_dir(out.with_suffix("")) as folder:
            picks.to_file(folder / out.name, encoding="UTF-8", engine="pyogrio")
        # a shapefile is several files: keep them together in a folder named after it
        out = out.with_suffix("") / out.name
    else:
        with atomic_path(out) as tmp:
            picks.to_file(tmp, layer="sites", engine="pyogrio")
    if not args.quiet:
        for row in picks.itertuples():
            print(f"{row.rank}. {row.site} ({row.lon:.4f}, {row.lat:.4f}): +{row.gain_pop:,} people "
                  f"({row.gain_vil} villages), {row.cum_pop:,} in all")
        print(f"wrote {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("analyse", aliases=["analyze"],
                       help="compute travel times and coverage; write GeoPackage/Shapefile, CSV, GeoTIFF")
    p.add_argument("project", nargs="?", metavar="PROJECT", help="project file (default: the bundled Sagaing one)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--format", choices=("gpkg", "shp", "both"), default="both")
    p.add_argument("--safe-share", action="store_true",
                   help="drop facility names, generalise facility locations, omit rasters and catchments")
    p.add_argument("--quiet", action="store_true", help="no progress or summary")
    p.add_argument("--profile", action="store_true",
                   help="print seconds per stage (start-up, reading, friction, searches, tables, each output "
                        "file); also in run.json 'timings'")
    from coverage_app.cli.protect import add_confirm_flag

    add_confirm_flag(p)
    p.add_argument("--encrypt", action="store_true",
                   help="write one encrypted archive DIR/coverage.zip.enc (the protected project's key, or a "
                        "passphrase from --passphrase-env); open it with `coverage-app decrypt`")
    for role in ROLE_FLAGS:
        p.add_argument(f"--{role.replace('_', '-')}", dest=role, metavar="PATH", help=f"a {role} layer")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--sensitivity", action="store_true",
                       help="also run with low and high speed assumptions (unmapped-track speed, every speed "
                       "x0.8 / x1.2) and report each figure as a range")
    group.add_argument("--friction-raster", metavar="PATH", help="friction in minutes per metre (MAP convention)")
    group.add_argument("--speed-raster", metavar="PATH", help="speed in km/h")
    add_analysis_flags(p)
    p.set_defaults(func=cmd_analyse, imports_heavy=True)  # calls startup.imports_done() itself

    p = sub.add_parser("sites", help="suggest new primary-care sites (greedy maximal covering)")
    p.add_argument("project", nargs="?", metavar="PROJECT")
    p.add_argument("--count", type=int, default=5, metavar="K")
    p.add_argument("--out", required=True, metavar="FILE", help=".gpkg, .csv, .shp or .geojson")
    p.add_argument("--candidates", choices=("villages", "grid"), default="villages")
    p.add_argument("--spacing", type=float, default=5000.0, metavar="M", help="grid candidate spacing, metres")
    p.add_argument("--quiet", action="store_true")
    for role in ROLE_FLAGS:
        p.add_argument(f"--{role.replace('_', '-')}", dest=role, metavar="PATH", help=argparse.SUPPRESS)
    add_analysis_flags(p)
    p.set_defaults(func=cmd_sites, imports_heavy=True)  # calls startup.imports_done() itself
