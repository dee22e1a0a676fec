"""Seconds to read the bundled Sagaing project and to build its friction grid, in one process:

    python benchmarks/read_and_friction.py --cell-size 250 --repeat 7
    python benchmarks/read_and_friction.py --cell-size 1000 --repeat 3 --landcover

``--landcover`` switches on the bundled 10 m land-cover sample and also times, side by side,
reading its class codes the old way (GDAL's majority in float32, 25-400x slower) and checks
that both give the same codes.

The first round is what a command-line run pays (GDAL drivers, PROJ database, numba kernels
loaded from their cache); the later rounds show the steady state (the app re-running on the
same project). Objects alive after the imports are frozen out of the garbage collector as the
console entry does (coverage_app.core.startup), so collections do not distort the figures.
The study-area cache is cleared before every friction build (a command builds it once).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

from coverage_app.core.analysis.pipeline import analysis_grid, build_project_friction
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import bundled_project_path, load_project
from coverage_app.core.travel import friction as friction_module
from coverage_app.core.travel.onto_grid import read_class_codes, read_onto_grid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cell-size", type=float, default=250.0, help="metres (default 250)")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--landcover", action="store_true", help="with the bundled land-cover sample switched on")
    args = ap.parse_args()
    gc.freeze()
    project = load_project(bundled_project_path())
    for ref in project.layers:
        if ref.role == "landcover":
            ref.options["enabled"] = args.landcover
    params = project.params.replace(cell_size_m=args.cell_size)
    reads, builds = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        data = load_project_data(project)
        reads.append(time.perf_counter() - t)
        friction_module.clear_study_cache()
        t = time.perf_counter()
        grid = analysis_grid(data, params)
        build_project_friction(data, params, grid)
        builds.append(time.perf_counter() - t)
    for name, runs in (("read project and layers", reads), ("grid + friction", builds)):
        later = runs[1:] or runs
        print(f"{name:26s} first {runs[0]:.3f} s   later: min {min(later):.3f} s, median "
              f"{statistics.median(later):.3f} s   ({args.cell_size:g} m, {grid.shape[1]} x {grid.shape[0]} cells)")
    if args.landcover:
        _landcover_side_by_side(data, grid)
    return 0


def _landcover_side_by_side(data, grid) -> None:
    import numpy as np
    from rasterio.enums import Resampling

    ref = data.raster("landcover")
    classes = [int(k) for k in ref.options.get("classes", {})]
    t = time.perf_counter()
    codes, no_class = read_class_codes(ref.path, grid, classes)
    own = time.perf_counter() - t
    t = time.perf_counter()
    floats = read_onto_grid(ref.path, grid, Resampling.mode, dtype="float32")
    old = time.perf_counter() - t
    same = np.array_equal(np.where(codes == no_class, np.nan, codes.astype("float32")), floats, equal_nan=True)
    print(f"land-cover codes onto the grid: {codes.dtype} {own:.3f} s, float32 {old:.3f} s "
          f"({old / own:.0f}x); same codes: {same}")


if __name__ == "__main__":
    raise SystemExit(main())
