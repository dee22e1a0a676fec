"""Briefing-map benchmark on the bundled Sagaing project (DESIGN.md section 6, issue 6).

Times, after one analysis run (not counted): preparing the map layers, one region page
(PDF and PNG), one township page, and the 37-township atlas (region overview + 37 pages)
written with ``write_briefing``. Each briefing timing includes preparing the layers, as a
user's "Save PDF" does. Targets: one page < 5 s, the atlas < 60 s.

    python benchmarks/briefing.py [--cell-size 250] [--mode walking] [--repeat 3] [--no-atlas]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-size", type=float, default=250.0)
    parser.add_argument("--mode", default="walking")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-atlas", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    from coverage_app.core.analysis.pipeline import run_analysis
    from coverage_app.core.outputs.briefing import prepare_layers, write_briefing
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.data.project import bundled_project_path, load_project

    project = load_project(bundled_project_path())
    data = load_project_data(project)
    params = project.params.replace(cell_size_m=args.cell_size, mode=args.mode)
    t = time.perf_counter()
    result = run_analysis(data, params)
    analysis_s = time.perf_counter() - t
    township = sorted(data.role("townships")["pcode"])[6]  # a large one (Kanbalu)

    figures = {"cell_size_m": args.cell_size, "mode": args.mode, "analysis_s": round(analysis_s, 2)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_briefing(tmp / "warm.pdf", data, result)  # warm font and projection caches
        runs = {
            "prepare_layers_s": timed(lambda: prepare_layers(data, result), args.repeat),
            "region_page_pdf_s": timed(lambda: write_briefing(tmp / "region.pdf", data, result), args.repeat),
            "region_page_png_s": timed(lambda: write_briefing(tmp / "region.png", data, result), args.repeat),
            "township_page_pdf_s": timed(lambda: write_briefing(tmp / "town.pdf", data, result, township=township),
                                         args.repeat),
            "region_page_burmese_pdf_s": timed(lambda: write_briefing(tmp / "my.pdf", data, result, language="my"),
                                               args.repeat),
            "safe_share_page_pdf_s": timed(lambda: write_briefing(tmp / "safe.pdf", data, result, safe_share=True),
                                           args.repeat),
        }
        for name, values in runs.items():
            figures[name] = round(statistics.median(values), 2)
        figures["region_page_pdf_kb"] = round((tmp / "region.pdf").stat().st_size / 1024)
        figures["region_page_png_kb"] = round((tmp / "region.png").stat().st_size / 1024)
        if not args.no_atlas:
            t = time.perf_counter()
            write_briefing(tmp / "atlas.pdf", data, result, atlas=True)
            figures["atlas_38_pages_s"] = round(time.perf_counter() - t, 2)
            figures["atlas_mb"] = round((tmp / "atlas.pdf").stat().st_size / 1e6, 1)

    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"Briefing maps, bundled Sagaing project, {args.mode}, {args.cell_size:g} m cells "
          f"(analysis {analysis_s:.2f} s, not counted); median of {args.repeat}")
    labels = {
        "prepare_layers_s": "prepare map layers",
        "region_page_pdf_s": "region page, A4 PDF        (target < 5 s)",
        "region_page_png_s": "region page, A4 PNG 200 dpi (target < 5 s)",
        "township_page_pdf_s": "township page, A4 PDF      (target < 5 s)",
        "region_page_burmese_pdf_s": "region page in Burmese, PDF",
        "safe_share_page_pdf_s": "safe-share region page, PDF",
        "atlas_38_pages_s": "atlas, 1 + 37 pages, PDF   (target < 60 s)",
    }
    for key, label in labels.items():
        if key in figures:
            print(f"  {label:<44} {figures[key]:6.2f} s")
    print(f"  sizes: region PDF {figures['region_page_pdf_kb']} KB, PNG {figures['region_page_png_kb']} KB"
          + (f", atlas {figures['atlas_mb']} MB" if "atlas_mb" in figures else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
