"""Small synthetic projects where the right answer is known exactly (uniform friction).

Everything is laid out in UTM 46N metres around (95.5 E, 22.0 N) and written to real
GeoPackage files in EPSG:4326, then loaded through the normal project path.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from pyproj import Transformer

from coverage_app.core.data.model import load_project_data
from coverage_app.core.params import AnalysisParams
from coverage_app.core.data.project import LayerRef, Project

UTM = 32646
X0, Y0 = Transformer.from_crs(4326, UTM, always_xy=True).transform(95.5, 22.0)
TO_LONLAT = Transformer.from_crs(UTM, 4326, always_xy=True)

MAPPINGS = {
    "townships": {"pcode": "pcode", "name_en": "name_en", "population": "population"},
    "villages": {"pcode": "pcode", "name_en": "name_en", "township_pcode": "township_pcode",
                 "population": "population"},
    "facilities": {k: k for k in ("fac_id", "name", "level", "provides_primary", "provides_secondary", "status",
                                  "status_date", "capacity")},
    "conflict_zones": {k: k for k in ("zone_id", "kind", "speed_factor", "delay_minutes", "valid_from", "valid_to")},
    "rivers": {},
    "crossings": {"kind": "kind", "delay_minutes": "delay_minutes"},
    "roads": {"road_class": "road_class"},
}


def at(dx_m: float, dy_m: float) -> shapely.Point:
    """A point dx, dy metres from the centre, in EPSG:4326."""
    return shapely.Point(*TO_LONLAT.transform(X0 + dx_m, Y0 + dy_m))


def ring(half_m: float) -> shapely.Polygon:
    return shapely.Polygon([at(x, y).coords[0] for x, y in
                            [(-half_m, -half_m), (half_m, -half_m), (half_m, half_m), (-half_m, half_m)]])


def line(points_m) -> shapely.LineString:
    return shapely.LineString([at(x, y).coords[0] for x, y in points_m])


def frame(rows: list[dict]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def make_project(folder: Path, *, facilities, villages, half_m=20_000.0, zones=None, rivers=None, crossings=None,
                 roads=None, params=None) -> Project:
    """Write the layers into ``folder/synthetic.gpkg`` and return a project over them."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "synthetic.gpkg"
    layers = {"townships": frame([{"pcode": "T1", "name_en": "Square", "population": 1000,
                                   "geometry": ring(half_m)}]),
              "villages": frame(villages), "facilities": frame(facilities)}
    for name, rows in (("conflict_zones", zones), ("rivers", rivers), ("crossings", crossings), ("roads", roads)):
        if rows:
            layers[name] = frame(rows)
    refs = []
    for name, gdf in layers.items():
        gdf.to_file(path, layer=name, driver="GPKG")
        refs.append(LayerRef(name, str(path), name, layer=name, mapping={
            k: v for k, v in MAPPINGS[name].items() if v in gdf.columns}))
    return Project(name="synthetic", layers=refs, params=params or AnalysisParams(cell_size_m=100.0))


def facility(fac_id, dx, dy, *, secondary=False, status="functioning", date="2024-01-01", capacity=None):
    return {"fac_id": fac_id, "name": f"Facility {fac_id}", "level": "Township hospital" if secondary else
            "Rural health centre", "provides_primary": True, "provides_secondary": secondary, "status": status,
            "status_date": date, "capacity": capacity, "geometry": at(dx, dy)}


def village(pcode, dx, dy, population=100.0):
    return {"pcode": pcode, "name_en": f"Village {pcode}", "township_pcode": "T1", "population": population,
            "geometry": at(dx, dy)}


def load(project):
    data = load_project_data(project)
    errors = [p for p in data.problems if p.severity == "error"]
    assert not errors, errors
    return data
