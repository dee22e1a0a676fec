"""Write the bundled Sagaing friction surface as a GeoTIFF (seconds per metre, inf = barrier),
for the engine benchmark's Sagaing grid:

    python benchmarks/sagaing_friction.py --cell-size 100 --out /tmp/sagaing_100m.tif
    python benchmarks/engine.py --friction-tif /tmp/sagaing_100m.tif --sources 141
"""

from __future__ import annotations

import argparse

import numpy as np
import rasterio

from coverage_app.core.analysis.pipeline import analysis_grid, build_project_friction
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import bundled_project_path, load_project


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cell-size", type=float, default=100.0)
    ap.add_argument("--mode", default="walking")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    project = load_project(bundled_project_path())
    data = load_project_data(project)
    params = project.params.replace(cell_size_m=args.cell_size, mode=args.mode)
    grid = analysis_grid(data, params)
    friction = build_project_friction(data, params, grid)
    with rasterio.open(args.out, "w", driver="GTiff", width=grid.shape[1], height=grid.shape[0], count=1,
                       dtype="float32", crs=grid.crs.to_wkt(), transform=grid.transform, compress="deflate",
                       tiled=True) as dst:
        dst.write(friction.cost_s_per_m.astype("float32"), 1)
    passable = np.isfinite(friction.cost_s_per_m).mean()
    print(f"wrote {args.out}: {grid.shape[1]} x {grid.shape[0]} cells of {args.cell_size:g} m, "
          f"{passable:.0%} passable")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
