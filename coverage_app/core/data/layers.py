"""Reading and validating layers: Shapefile, GeoPackage, GeoJSON, CSV with lon/lat, GeoTIFF.

Every problem is reported as a :class:`~coverage_app.core.errors.Problem` that names the
file, layer, field or rows and says what to do. Readers never raise a raw GDAL or pandas
exception at the caller: unreadable input becomes :class:`InputError`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from coverage_app.core.errors import InputError, Problem, errors_of
from coverage_app.core.data.roles import COUNTING_STATUSES, FACILITY_STATUSES, ROLES, guess_mapping, guess_role
from coverage_app.core.data import zawgyi

# Myanmar in EPSG:4326 with a one-degree margin (lon_min, lat_min, lon_max, lat_max).
MYANMAR_BOUNDS = (91.0, 8.5, 102.5, 29.5)
VECTOR_SUFFIXES = {".shp", ".gpkg", ".geojson", ".json", ".csv", ".fgb", ".kml", ".gml"}
RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".asc"}
LON_NAMES = ("lon", "longitude", "long", "x", "lng", "easting")
LAT_NAMES = ("lat", "latitude", "y", "northing")


@dataclass
class Layer:
    """A vector layer read from a file and mapped to a role's canonical fields.

    ``data`` holds the canonical fields (renamed from the file's own), then the file's other
    fields, in the file's CRS (reprojection to the working CRS happens at analysis time).
    """

    name: str
    role: str
    path: str
    layer: str | None
    data: gpd.GeoDataFrame
    mapping: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def is_raster_path(path) -> bool:
    return Path(path).suffix.lower() in RASTER_SUFFIXES


def list_layers(path) -> list[str]:
    path = Path(path)
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL raises many types
        raise InputError(Problem("error", f"cannot be read ({_gdal_reason(exc)}); "
                                 "check that it is a complete GeoPackage/Shapefile, or export it again",
                                 file=str(path))) from None


def _gdal_reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def read_vector(path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file (or one layer of it) as a GeoDataFrame; raise InputError if unusable."""
    path = Path(path)
    if not path.exists():
        raise InputError(Problem("error", "file not found", file=str(path)))
    if path.is_dir():
        raise InputError(Problem("error", "is a folder, not a data file", file=str(path)))
    if path.suffix.lower() == ".csv":
        return _read_csv_points(path)
    if path.suffix.lower() == ".shp":
        for ext in (".dbf", ".shx"):
            if not any(path.with_suffix(e).exists() for e in (ext, ext.upper())):
                raise InputError(Problem(
                    "error", f"the shapefile's {ext} file is missing; a shapefile needs its .shp, .shx "
                    f"and .dbf files side by side (copy all files named {path.stem}.*)", file=str(path)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore")
    except Exception as exc:
        raise InputError(Problem("error", f"cannot be read ({_gdal_reason(exc)}); the file may be "
                                 "damaged or truncated: export or download it again",
                                 file=str(path), layer=layer)) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise InputError(Problem("error", "has no geometry column; for a table of points use a CSV "
                                 "with longitude and latitude columns", file=str(path), layer=layer))
    return gdf


def _read_csv_points(path: Path) -> gpd.GeoDataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:
        raise InputError(Problem("error", f"cannot be read as CSV ({_gdal_reason(exc)})", file=str(path))) from None
    lower = {c.lower().strip(): c for c in table.columns}
    lon = next((lower[n] for n in LON_NAMES if n in lower), None)
    lat = next((lower[n] for n in LAT_NAMES if n in lower), None)
    if lon is None or lat is None:
        raise InputError(Problem("error", "needs a longitude and a latitude column (named e.g. 'longitude' "
                                 f"and 'latitude'); found columns: {', '.join(table.columns)}", file=str(path)))
    xs = pd.to_numeric(table[lon].str.strip(), errors="coerce")
    ys = pd.to_numeric(table[lat].str.strip(), errors="coerce")
    bad = np.flatnonzero((xs.isna() | ys.isna()).to_numpy())
    if len(bad) == len(table) and len(table):
        raise InputError(Problem("error", "no row has numeric coordinates", file=str(path), field=lon))
    problems = []
    if len(bad):
        problems.append(Problem("warning", "coordinates missing or not numbers; these rows are left out",
                                file=str(path), field=f"{lon}/{lat}", rows=tuple(int(i) + 1 for i in bad)))
    table = table.drop(columns=[lon, lat])
    gdf = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(xs, ys), crs=None)
    keep = ~(xs.isna() | ys.isna()).to_numpy()
    gdf = gdf[keep]
    gdf.attrs["read_problems"] = problems
    gdf.attrs["csv_points"] = True
    return gdf


def _base_type(geom_type: str | None) -> str | None:
    return None if geom_type is None else geom_type.replace("Multi", "")


def validate_vector(gdf: gpd.GeoDataFrame, role: str, mapping: dict[str, str] | None = None, *,
                    file: str | None = None, layer: str | None = None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Check a layer against ``role``; return (canonical data, problems).

    The returned frame has the canonical fields first (typed), then the other source fields.
    Fixable issues (invalid polygons, points outside Myanmar, a missing CRS on lon/lat data)
    are fixed or dropped with a warning; anything that would make results wrong is an error.
    """
    spec = ROLES[role]
    where = dict(file=file, layer=layer)
    problems: list[Problem] = list(gdf.attrs.get("read_problems", []))
    if len(gdf) == 0:
        problems.append(Problem("error", f"the layer is empty: a {spec.title.lower()} layer needs at least "
                                "one feature", **where))
        return gdf, problems
    gdf = gdf.copy()
    gdf = gdf[~gdf.geometry.isna() & ~gdf.geometry.is_empty]
    if len(gdf) == 0:
        problems.append(Problem("error", "no feature has a geometry", **where))
        return gdf, problems

    # Geometry types.
    types = gdf.geom_type.map(_base_type)
    wrong = np.flatnonzero(~types.isin(spec.geometry).to_numpy())
    if len(wrong):
        found = ", ".join(sorted(set(types.iloc[wrong])))
        want = " or ".join(t.lower() for t in spec.geometry)
        problems.append(Problem("error", f"a {role} layer needs {want} geometries, these are {found}; "
                                "split the layer by geometry type", rows=tuple(int(i) + 1 for i in wrong), **where))
        return gdf, problems
    if spec.geometry == ("Point",) and (gdf.geom_type == "MultiPoint").any():
        multi = gdf.geom_type == "MultiPoint"
        if (shapely.get_num_geometries(gdf.geometry[multi].values) > 1).any():
            problems.append(Problem("warning", "some multipoints have several parts; only the first is used",
                                    **where))
        gdf.loc[multi, gdf.geometry.name] = shapely.get_geometry(gdf.geometry[multi].values, 0)

    # CRS and position.
    problems += _check_crs_and_position(gdf, spec, where)
    if errors_of(problems):
        return gdf, problems
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    lonlat = gdf.geometry.to_crs(4326) if not CRS(gdf.crs).equals(CRS(4326)) else gdf.geometry
    outside = _outside_myanmar(lonlat)
    if outside.any():
        rows = tuple(int(i) + 1 for i in np.flatnonzero(outside))
        if outside.all():
            problems.append(Problem("error", "every feature lies outside Myanmar; check the layer's CRS "
                                    "(a wrong .prj?) or whether longitude and latitude are swapped", **where))
            return gdf, problems
        problems.append(Problem("warning", "features far outside Myanmar are left out (wrong coordinates?)",
                                rows=rows, **where))
        gdf = gdf[~outside]

    # Invalid polygons are repaired.
    if "Polygon" in spec.geometry:
        invalid = ~gdf.geometry.is_valid.to_numpy()
        if invalid.any():
            problems.append(Problem("warning", "invalid (self-intersecting) polygons were repaired",
                                    rows=tuple(int(i) + 1 for i in np.flatnonzero(invalid)), **where))
            fixed = shapely.make_valid(gdf.geometry.values[invalid])
            fixed = [_polygonal_part(g) for g in fixed]
            gdf.loc[gdf.index[invalid], gdf.geometry.name] = fixed

    # Field mapping.
    mapping = dict(mapping) if mapping else guess_mapping(role, gdf.columns)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    for canonical, source in list(mapping.items()):
        if source not in gdf.columns:
            problems.append(Problem("error", f"the field '{source}' mapped to '{canonical}' is not in the "
                                    f"layer; its fields are: {', '.join(columns)}", field=source, **where))
            mapping.pop(canonical)
    for f in spec.fields:
        if f.required and f.name not in mapping:
            problems.append(Problem("error", f"no field is mapped to '{f.name}' (required for {role}); "
                                    f"map one of: {', '.join(columns) or '(no fields)'}", field=f.name, **where))
    if errors_of(problems):
        return gdf, problems
    gdf = _to_canonical(gdf, spec, mapping)
    problems += _check_values(gdf, spec, mapping, where)
    return gdf, problems


def _polygonal_part(geom):
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _outside_myanmar(lonlat: gpd.GeoSeries) -> np.ndarray:
    x0, y0, x1, y1 = MYANMAR_BOUNDS
    b = lonlat.bounds
    return ((b.maxx < x0) | (b.minx > x1) | (b.maxy < y0) | (b.miny > y1)).to_numpy()


def _check_crs_and_position(gdf, spec, where) -> list[Problem]:
    problems = []
    minx, miny, maxx, maxy = gdf.total_bounds
    looks_lonlat = -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90
    x0, y0, x1, y1 = MYANMAR_BOUNDS
    swapped = y0 <= minx and maxx <= y1 and x0 <= miny and maxy <= x1
    geographic = gdf.crs is None or CRS(gdf.crs).is_geographic
    if geographic and swapped and not (x0 <= minx and maxx <= x1):
        problems.append(Problem("error", "longitude and latitude look swapped (x values are between "
                                f"{y0:g} and {y1:g}, y values between {x0:g} and {x1:g}); swap the two "
                                "coordinate columns", **where))
        return problems
    if gdf.crs is None:
        if gdf.attrs.get("csv_points") and looks_lonlat:
            return problems  # a CSV of longitude/latitude is WGS84 by convention
        if looks_lonlat:
            problems.append(Problem("warning", "has no coordinate reference system (missing .prj?); "
                                    "coordinates look like longitude/latitude, so WGS84 (EPSG:4326) is assumed",
                                    **where))
        else:
            problems.append(Problem("error", "has no coordinate reference system (missing .prj file?) and its "
                                    "coordinates are not longitude/latitude; add the .prj that came with the "
                                    "data or re-export it with its CRS", **where))
    return problems


def _to_canonical(gdf, spec, mapping) -> gpd.GeoDataFrame:
    inverse = {source: canonical for canonical, source in mapping.items()}
    others = [c for c in gdf.columns if c not in inverse and c != gdf.geometry.name and c not in mapping]
    out = gpd.GeoDataFrame(
        {canonical: gdf[source].to_numpy() for canonical, source in mapping.items()}
        | {c: gdf[c].to_numpy() for c in others},
        geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    order = [f.name for f in spec.fields if f.name in out] + others + ["geometry"]
    out = out[order]
    out.index = gdf.index
    return out


def _check_values(gdf, spec, mapping, where) -> list[Problem]:
    problems = []
    rows_of = lambda mask: tuple(int(i) + 1 for i in np.flatnonzero(np.asarray(mask)))  # noqa: E731
    for f in spec.fields:
        if f.name not in gdf:
            continue
        source = mapping.get(f.name, f.name)
        col = gdf[f.name]
        blank = col.isna() | col.astype(str).str.strip().isin(["", "nan", "None", "<NA>"])
        if f.kind in ("float", "int"):
            numbers = pd.to_numeric(col.where(~blank), errors="coerce")
            bad = numbers.isna() & ~blank
            if bad.any():
                sample = ", ".join(repr(str(v)) for v in col[bad].head(3))
                problems.append(Problem("error", f"'{f.name}' must be a number, found {sample}; correct those "
                                        "cells or leave them empty", field=source, rows=rows_of(bad), **where))
                continue
            if f.name == "population" and (numbers < 0).any():
                problems.append(Problem("error", "population cannot be negative", field=source,
                                        rows=rows_of(numbers < 0), **where))
            gdf[f.name] = numbers.astype("float64")
        elif f.kind == "date":
            dates = pd.to_datetime(col.where(~blank).astype("string"), errors="coerce", format="mixed")
            bad = dates.isna() & ~blank
            if bad.any():
                problems.append(Problem("error", f"'{f.name}' must be a date like 2024-05-31", field=source,
                                        rows=rows_of(bad), **where))
                continue
            gdf[f.name] = dates.dt.date.where(~blank, None)
        elif f.kind == "bool":
            text = col.astype(str).str.strip().str.lower()
            gdf[f.name] = text.isin(["1", "true", "yes", "y", "t"]).where(~blank, None)
        else:
            gdf[f.name] = [None if b else str(v).strip() for v, b in zip(col.tolist(), blank.tolist())]
        if f.required and blank.any():
            problems.append(Problem("error", f"'{f.name}' is empty", field=source, rows=rows_of(blank), **where))
        if f.unique:
            dup = gdf[f.name].duplicated(keep=False) & ~blank
            if dup.any():
                values = ", ".join(sorted({str(v) for v in gdf.loc[dup, f.name]})[:5])
                problems.append(Problem("error", f"duplicate ids ({values}); each feature needs its own "
                                        f"'{f.name}'", field=source, rows=rows_of(dup), **where))
        if f.kind == "str":
            z = zawgyi.zawgyi_rows(gdf[f.name].tolist())
            if z:
                problems.append(Problem("warning", f"{len(z)} value(s) look Zawgyi-encoded and would show as "
                                        "garbled Burmese; convert them to Unicode (coverage-app convert-zawgyi, "
                                        "or accept the offer in the app)", field=source,
                                        rows=tuple(i + 1 for i in z), fix="zawgyi", **where))
    problems += _role_rules(gdf, spec.name, mapping, where, rows_of)
    return problems


def _role_rules(gdf, role, mapping, where, rows_of) -> list[Problem]:
    problems = []
    if role == "facilities" and "status" in gdf:
        status = gdf["status"].fillna("unknown").str.lower()
        bad = ~status.isin(FACILITY_STATUSES)
        if bad.any():
            problems.append(Problem("error", f"status must be one of {', '.join(FACILITY_STATUSES)}",
                                    field=mapping.get("status"), rows=rows_of(bad), **where))
        gdf["status"] = status
    if role == "conflict_zones":
        factor = gdf["speed_factor"]
        bad = (factor < 0) | (factor > 1)
        if bad.any():
            problems.append(Problem("error", "speed_factor must be between 0 (impassable) and 1 (no slow-down)",
                                    field=mapping.get("speed_factor"), rows=rows_of(bad), **where))
    return problems


def convert_zawgyi(gdf: gpd.GeoDataFrame, fields=None) -> tuple[gpd.GeoDataFrame, int]:
    """Return a copy with Zawgyi text in ``fields`` (default: all text fields) converted to Unicode."""
    out = gdf.copy()
    changed = 0
    text_columns = [c for c in out.columns if c != out.geometry.name
                    and (out[c].dtype == object or pd.api.types.is_string_dtype(out[c]))]
    for name in fields or text_columns:
        values = out[name].tolist()
        new = [zawgyi.to_unicode(v) if isinstance(v, str) else v for v in values]
        changed += sum(isinstance(a, str) and a != b for a, b in zip(values, new))
        out[name] = new
    return out, changed


def load_layer(path, role: str | None = None, *, layer: str | None = None, mapping=None,
               name: str | None = None, strict: bool = True, frame=None) -> Layer:
    """Read, validate and map a vector layer. ``strict`` raises InputError on any error.

    ``frame``: the layer already read (a protected project's in-memory copy); ``path`` then
    only names it in messages.
    """
    gdf = read_vector(path, layer) if frame is None else frame
    if role is None:
        role = guess_role(gdf.columns, set(gdf.geom_type.dropna().unique()))
        if role is None:
            raise InputError(Problem("error", "cannot tell what this layer is; give its role (townships, "
                                     "facilities, villages, roads, rivers, crossings, conflict_zones)",
                                     file=str(path), layer=layer))
    data, problems = validate_vector(gdf, role, mapping, file=str(path), layer=layer)
    if strict and errors_of(problems):
        raise InputError(problems)
    used_mapping = dict(mapping) if mapping else guess_mapping(role, gdf.columns)
    return Layer(name or layer or Path(path).stem, role, str(path), layer, data, used_mapping, problems)


@dataclass
class RasterInfo:
    path: str
    crs: str | None
    shape: tuple[int, int]
    bounds: tuple[float, float, float, float]
    resolution: tuple[float, float]
    dtype: str
    nodata: float | None


def inspect_raster(path) -> tuple[RasterInfo | None, list[Problem]]:
    """Open a raster's header only (no pixels read) and check it is georeferenced."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    path = Path(path)
    if not path.exists():
        return None, [Problem("error", "file not found", file=str(path))]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                info = RasterInfo(str(path), src.crs.to_string() if src.crs else None, (src.height, src.width),
                                  tuple(src.bounds), src.res, src.dtypes[0], src.nodata)
                georeferenced = not src.transform.is_identity or src.gcps[0]
                # read one small window to catch truncated files early
                src.read(1, window=((0, min(1, src.height)), (0, min(64, src.width))))
    except Exception as exc:
        return None, [Problem("error", f"cannot be read as a raster ({_gdal_reason(exc)}); the file may be "
                              "damaged or truncated", file=str(path))]
    problems = []
    if not georeferenced:
        problems.append(Problem("error", "the raster has no georeferencing (no geotransform): it cannot be "
                                "placed on the map; use a GeoTIFF with its position and CRS", file=str(path)))
    elif info.crs is None:
        problems.append(Problem("error", "the raster has no CRS; assign one (e.g. gdal_edit.py -a_srs "
                                "EPSG:4326) before loading it", file=str(path)))
    return info, problems


def check_file(path, role: str | None = None, layer: str | None = None) -> list[tuple[str | None, str | None, list[Problem]]]:
    """Check one file: every layer of a GeoPackage unless ``layer`` is given.

    Returns one ``(layer name, role used or guessed, problems)`` per layer; never raises.
    """
    path = Path(path)
    if is_raster_path(path) or role in ("dem", "landcover"):
        return [(None, role or "raster", inspect_raster(path)[1])]
    try:
        names = [layer] if layer else (list_layers(path) if path.suffix.lower() == ".gpkg" else [None])
    except InputError as err:
        return [(layer, role, err.problems)]
    results = []
    for name in names:
        try:
            loaded = load_layer(path, role, layer=name, strict=False)
            results.append((name, loaded.role, loaded.problems))
        except InputError as err:
            results.append((name, role, err.problems))
    return results
