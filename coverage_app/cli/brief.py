"""Command line: ``brief`` (briefing map: a PDF/PNG page, or the township atlas).

    coverage-app brief [PROJECT] --out FILE.pdf|FILE.png [--paper a4|a3] [--landscape]
                       [--township PCODE] [--atlas] [--language en|my|both] [--safe-share]
                       [--title T] [--subtitle S] [analysis flags]

Runs the analysis (``core.analysis.run_analysis``) with the project's parameters, changed
by the analysis flags, then writes the briefing map. ``--no-analysis`` maps the input layers
only. Bad input (unknown township, an output folder that is missing or not writable, a
suffix other than .pdf/.png) raises ``InputError``: one plain line, exit code 2.
"""

from __future__ import annotations

from coverage_app.cli.analyse import add_analysis_flags, params_from_args, scenario_from_args
from coverage_app.core.errors import InputError, errors_of


def cmd_brief(args) -> int:
    from coverage_app.core import runcache

    with runcache.used():  # layers and the friction of earlier runs are read back (core/runcache.py)
        return _brief(args)


def _brief(args) -> int:
    from coverage_app.cli import TerminalFeedback
    from coverage_app.core.outputs.briefing import check_output_path, find_township, write_briefing
    from coverage_app.core.feedback import sub
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core import startup

    if not args.no_analysis:
        from coverage_app.core.analysis.pipeline import run_analysis  # noqa: F401  (heavy: before the freeze)
    startup.imports_done()  # the heavy modules are in: freeze them, collect as usual again
    out = check_output_path(args.out)  # before any slow work
    if out.suffix.lower() == ".png":
        from coverage_app.core.outputs.briefing.writer import check_dpi

        check_dpi(args.dpi)
    sweep = None
    if args.sweep:
        from coverage_app.core.outputs.sweep_export import sweep_map_view

        sweep = sweep_map_view(args.sweep, case=args.sweep_case, tier=args.sweep_tier)
    if out.suffix.lower() == ".png" and (args.atlas or args.table_page):
        raise InputError(f"{out.name}: the atlas and the table page have several pages; write them to a .pdf")
    if args.atlas and args.township:
        raise InputError("choose either --atlas (every township) or --township PCODE (one page), not both")
    from coverage_app.cli.common import load_project_arg

    project = load_project_arg(args.project, args)
    from coverage_app.cli.protect import require_full_confirmation

    require_full_confirmation(project, args, "briefing")  # a print shows names and exact locations
    params = params_from_args(project, args)
    scenario = scenario_from_args(project, args)
    feedback = TerminalFeedback(args.quiet)
    data = load_project_data(project)
    for problem in data.problems:
        if problem.severity == "error" or not args.quiet:
            print(problem)
    if errors_of(data.problems):
        return 2
    if args.township:  # fail fast on an unknown township, before the analysis runs
        townships = data.role("townships")
        if townships is None:
            raise InputError("a briefing map needs a townships layer; add one to the project")
        find_township(townships, args.township)
    result = None
    if not args.no_analysis:
        from coverage_app.core.analysis.pipeline import run_analysis

        result = run_analysis(data, params, scenario, feedback=sub(feedback, 0.0, 0.4 if not args.sensitivity
                                                                    else 0.15))
        if args.sensitivity:  # low / high speed cases: ranges in the key figures
            from coverage_app.core.analysis.sensitivity import add_sensitivity

            add_sensitivity(result, data, feedback=sub(feedback, 0.15, 0.4))
        for problem in result.problems:
            if not args.quiet:
                print(problem)
    else:
        project.params = params
    extra = [f"Scenario: {scenario.get('name')}"] if scenario else []
    path = write_briefing(out, data, result, atlas=args.atlas, paper=args.paper, landscape=args.landscape,
                          township=args.township, language=args.language, safe_share=args.safe_share,
                          title=args.title, subtitle=args.subtitle, extra_credits=extra,
                          table_page=args.table_page, safe_method=args.safe_method, dpi=args.dpi, sweep=sweep,
                          feedback=sub(feedback, 0.4 if result is not None else 0.0, 1.0))
    if not args.quiet:
        what = "atlas" if args.atlas else (f"township {args.township}" if args.township else "region page")
        print(f"wrote the briefing map ({what}, {args.paper.upper()}"
              f"{' landscape' if args.landscape else ''}, {args.language}"
              f"{', safe-share' if args.safe_share else ''}) to {path}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "brief", help="print a briefing map (PDF/PNG) or the township atlas",
        description="Run the analysis and write a briefing map: a region page, one township page "
                    "(--township) or the atlas (region overview + one page per township, PDF only).")
    p.add_argument("project", nargs="?", metavar="PROJECT", help="project file (default: the bundled Sagaing project)")
    p.add_argument("--out", required=True, metavar="FILE", help="output .pdf or .png (one page)")
    p.add_argument("--paper", choices=("a4", "a3"), default="a4")
    p.add_argument("--landscape", action="store_true", help="landscape page (default portrait)")
    p.add_argument("--township", metavar="PCODE", help="one page zoomed to this township (pcode or English name)")
    p.add_argument("--atlas", action="store_true", help="region overview followed by one page per township")
    p.add_argument("--table-page", action="store_true",
                   help="add a page with the whole township table after the region page (PDF)")
    p.add_argument("--language", choices=("en", "my", "both"), default="en",
                   help="titles and township/village labels in English, Burmese or both")
    from coverage_app.cli.protect import add_confirm_flag

    add_confirm_flag(p)
    p.add_argument("--safe-share", action="store_true",
                   help="no facility names; facilities shown only as counts per township (for maps that leave "
                        "the team)")
    p.add_argument("--safe-method", choices=("township", "grid"), default="township",
                   help="safe-share generalisation: counts per township (default) or per 20 km grid cell")
    p.add_argument("--title", help="page title (default: 'Access to health care: <area>')")
    p.add_argument("--subtitle", help="page subtitle")
    p.add_argument("--dpi", type=int, default=200, help="PNG resolution (default 200)")
    p.add_argument("--no-analysis", action="store_true", help="map the input layers only (no travel times)")
    p.add_argument("--sensitivity", action="store_true",
                   help="also run the low / high speed cases and give the key figures as ranges")
    p.add_argument("--sweep", metavar="DIR", help="map the probability of access from a sweep written to DIR "
                   "(coverage-app sweep SPEC --out DIR) and print its 5/50/95 %% shares")
    p.add_argument("--sweep-case", type=int, default=0, metavar="K", help="which case of the sweep (default 0)")
    p.add_argument("--sweep-tier", choices=("primary", "secondary"), default="primary")
    p.add_argument("--quiet", action="store_true", help="no progress or summary output")
    add_analysis_flags(p)
    p.set_defaults(func=cmd_brief, imports_heavy=True)  # calls startup.imports_done() itself
