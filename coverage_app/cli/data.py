"""Data commands: ``validate`` (check files before loading them), ``info`` (a project's layers)
and ``convert-zawgyi`` (Zawgyi-encoded Burmese text to Unicode, written to a new file)."""

from __future__ import annotations

from pathlib import Path

from coverage_app.cli.common import load_project_arg
from coverage_app.core.data.roles import ROLES
from coverage_app.core.errors import InputError, errors_of


def cmd_validate(args) -> int:
    from coverage_app.core.data.layers import check_file

    worst = 0
    for path in args.paths:
        if Path(path).suffix.lower() == ".covproj":  # a whole project: its layers, then the road-river cuts
            from coverage_app.core.data.model import load_project_data

            from coverage_app.core.analysis.edits import scenario_problems

            data = load_project_data(load_project_arg(path))
            fac = data.role("facilities")
            data.problems += scenario_problems(data.project.scenarios, None if fac is None or "fac_id" not in fac
                                               else set(fac["fac_id"].dropna().astype(str)))
            for problem in data.problems:
                print(problem)
            _print_cuts(data)
            worst = max(worst, 2 if errors_of(data.problems) else 0)
            if not errors_of(data.problems):
                print(f"ok: {Path(path).name} loads ({len(data.layers) + len(data.rasters)} layers)")
            continue
        for layer, role, problems in check_file(path, role=args.role, layer=args.layer):
            for problem in problems:
                print(problem)
            if errors_of(problems):
                worst = 2
            else:
                note = f" ({len(problems)} warning{'s' if len(problems) != 1 else ''})" if problems else ""
                what = f"{Path(path).name}" + (f" layer {layer}" if layer else "")
                print(f"ok: {what} is usable as {role}{note}")
    return worst


def cmd_info(args) -> int:
    from coverage_app.core.data.model import describe, load_project_data

    project = load_project_arg(args.project, args)
    data = load_project_data(project)
    print(f"Project: {project.name}  ({project.path})")
    print(f"Analysis: {project.params.mode}, {project.params.cell_size_m:g} m cells, primary "
          f"{project.params.primary_minutes:g} min, secondary {project.params.secondary_minutes:g} min")
    print(f"{'layer':<36} {'role':<15} {'count':>16}  {'CRS':<11} extent (lon/lat)")
    for row in describe(data):
        extent = ", ".join(f"{v:.3f}" for v in row["extent"]) if row.get("extent") else row.get("status", "")
        count = "-" if row.get("count") is None else str(row["count"])
        print(f"{row['name'][:36]:<36} {row['role']:<15} {count:>16}  {str(row.get('crs') or '-'):<11} {extent}")
    for problem in data.problems:
        print(problem)
    _print_cuts(data)
    return 2 if errors_of(data.problems) else 0


def _print_cuts(data) -> None:
    """Road-river cuts left without a bridge or ferry: a count, then one line per place."""
    from coverage_app.core.travel.crossings import cut_lines, project_cuts

    for line in cut_lines(project_cuts(data)):
        print(line)


def cmd_convert_zawgyi(args) -> int:
    from coverage_app.core.atomic import atomic_path
    from coverage_app.core.data.layers import convert_zawgyi, read_vector

    out = Path(args.out)
    if out.suffix.lower() not in (".gpkg", ".shp", ".geojson", ".json"):
        raise InputError(f"--out must end in .gpkg, .shp, .geojson or .json (the format of the new file), "
                         f"not {out.name!r}")
    if out.resolve() == Path(args.path).resolve():
        raise InputError("write the converted layer to a new file (--out), so the original is kept")
    gdf = read_vector(args.path, args.layer)
    fixed, changed = convert_zawgyi(gdf, args.field or None)
    layer = args.layer or out.stem.replace(".", "_")
    if out.suffix.lower() == ".shp":  # several files (.shp, .shx, .dbf, ...): kept together in a folder, as `sites`
        from coverage_app.core.atomic import atomic_dir

        with atomic_dir(out.with_suffix("")) as folder:
            fixed.to_file(folder / out.name, layer=layer, encoding="UTF-8", engine="pyogrio")
        out = out.with_suffix("") / out.name
    else:
        with atomic_path(out) as tmp:
            fixed.to_file(tmp, layer=layer, engine="pyogrio")
    print(f"converted {changed} value(s) from Zawgyi to Unicode; written to {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("validate", help="check data files (or a .covproj project, with its road-river cuts) "
                       "before loading them")
    p.add_argument("paths", nargs="+", metavar="PATH", help="data files, or a project file (.covproj)")
    p.add_argument("--role", choices=sorted(ROLES), help="what the file holds (guessed if omitted)")
    p.add_argument("--layer", help="layer name inside a GeoPackage (default: every layer)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("info", help="summarise a project's layers (default: the bundled Sagaing project)")
    p.add_argument("project", nargs="?", metavar="PROJECT")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("convert-zawgyi", help="convert Zawgyi-encoded Burmese text in a layer to Unicode")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--out", required=True, help="new file to write (GeoPackage, Shapefile, GeoJSON)")
    p.add_argument("--layer")
    p.add_argument("--field", action="append", help="field to convert (default: every text field)")
    p.set_defaults(func=cmd_convert_zawgyi)
