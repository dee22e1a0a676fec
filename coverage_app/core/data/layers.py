"""Reading and validating layers: Shapefile, GeoPackage, GeoJSON, CSV with lon/lat, GeoTIFF.

Every problem is reported as a :class:`~coverage_app.core.errors.Problem` that names the
file, layer, field or rows and says what to do. Readers never raise a raw GDAL or pandas
exception at the caller: unreadable input becomes :class:`InputError`.
"""

from __future__ import annotations

import re
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
from coverage_app.core.data.roles import (COUNTING_STATUSES, FACILITY_STATUSES, OSM_HIGHWAY_CLASSES, ROAD_CLASSES,
                                         ROLES, guess_mapping, guess_role)
from coverage_app.core.data import zawgyi
from coverage_app.core.data.zawgyi import convert_zawgyi  # noqa: F401  (moved there; imported from here)
from coverage_app.core.data.cells import blank_cells
from coverage_app.core.data.files import check_input_file, gdal_reason
from coverage_app.core.data.rasters import inspect_raster
from coverage_app.core.data.value_rules import amount_problems, bool_values, non_finite_coordinates

# Myanmar in EPSG:4326 with a one-degree margin (lon_min, lat_min, lon_max, lat_max).
MYANMAR_BOUNDS = (91.0, 8.5, 102.5, 29.5)
VECTOR_SUFFIXES = {".shp", ".gpkg", ".geojson", ".json", ".csv", ".fgb", ".kml", ".gml", ".osm", ".pbf"}
OSM_SUFFIXES = {".osm", ".pbf"}  # OpenStreetMap XML / PBF, read through GDAL's OSM driver
RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".asc"}
MAX_POPULATION = 60_000_000  # Myanmar had about 51 million people in 2014
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
    road_classes: dict[str, str] | None = None  # roads: source value -> road class, when one was applied


class SourceRows(tuple):
    """``attrs["source_rows"]``: (label, row labels, source numbers), immutable. pandas deep-copies
    ``attrs`` into every frame or column derived from a layer; a plain tuple of some 10^5 ints
    was walked each time (0.8 s of reading the Sagaing layers), this one is shared as it is."""

    def __deepcopy__(self, memo):
        return self


def is_raster_path(path) -> bool:
    return Path(path).suffix.lower() in RASTER_SUFFIXES


def list_layers(path, *, written: str | None = None) -> list[str]:
    path = check_input_file(path, written=written)
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL raises many types
        raise InputError(Problem("error", f"cannot be read ({gdal_reason(exc)}); "
                                 "check that it is a complete GeoPackage/Shapefile, or export it again",
                                 file=str(path))) from None


def read_vector(path, layer: str | None = None, *, written: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file (or one layer of it) as a GeoDataFrame; raise InputError if unusable."""
    path = check_input_file(path, written=written)
    if path.suffix.lower() == ".csv":
        return _read_csv_points(path)
    if path.suffix.lower() in OSM_SUFFIXES and layer is None:
        layer = "lines"  # the OSM driver's layer of ways (roads, tracks, paths, waterways)
    if path.suffix.lower() == ".shp":
        for ext in (".dbf", ".shx"):
            if not any(path.with_suffix(e).exists() for e in (ext, ext.upper())):
                raise InputError(Problem(
                    "error", f"the shapefile's {ext} file is missing; a shapefile needs its .shp, .shx "
                    f"and .dbf files side by side (copy all files named {path.stem}.*)", file=str(path)))
        for sidecar in path.parent.glob(f"{path.stem}.*"):
            if sidecar.suffix.lower() in (".dbf", ".shx", ".prj", ".cpg") and sidecar != path:
                check_input_file(sidecar)
    encoding, read_problems = (shapefile_encoding(path) if path.suffix.lower() == ".shp" else (None, []))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gdf = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore", fid_as_index=True,
                                         **({"ENCODING": encoding.upper()} if encoding else {}))
    except Exception as exc:
        raise InputError(Problem("error", f"cannot be read ({gdal_reason(exc)}); the file may be "
                                 "damaged or truncated: export or download it again",
                                 file=str(path), layer=layer)) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise InputError(Problem("error", "has no geometry column; for a table of points use a CSV "
                                 "with longitude and latitude columns", file=str(path), layer=layer))
    fids = gdf.index.to_numpy()
    gdf = gdf.reset_index(drop=True)
    if path.suffix.lower() in (".gpkg", ".shp"):  # messages name the feature id a GIS shows
        gdf.attrs["source_rows"] = SourceRows(("fid", tuple(gdf.index.tolist()), tuple(int(f) for f in fids)))
    if read_problems:
        gdf.attrs["read_problems"] = read_problems
    return gdf


def _row_numbers(where: dict, gdf, positions) -> tuple[int, ...]:
    """The numbers messages give for rows at ``positions`` of ``gdf``: file lines or feature ids
    where the layer was read from a CSV, GeoPackage or Shapefile, else 1-based positions."""
    positions = np.asarray(positions, dtype=int)
    source = where.get("_source")
    if source is None:
        return tuple(int(i) + 1 for i in positions)
    return tuple(int(v) for v in source.reindex(gdf.index[positions]).to_numpy())


# dBASE language driver ids (byte 29 of a .dbf header) -> Python codec.
DBF_LANGUAGE_IDS = {0x01: "cp437", 0x02: "cp850", 0x03: "cp1252", 0x57: "cp1252", 0x58: "cp1252", 0x59: "cp1252",
                    0x64: "cp852", 0x65: "cp866", 0x4D: "cp936", 0x4E: "cp949", 0x4F: "cp950", 0x50: "cp874",
                    0x7B: "cp932", 0x7C: "cp874", 0x7D: "cp1255", 0x7E: "cp1256", 0xC8: "cp1250", 0xC9: "cp1251",
                    0xCA: "cp1254", 0xCB: "cp1253"}


def shapefile_encoding(path: Path) -> tuple[str | None, list[Problem]]:
    """The text encoding of a shapefile's .dbf: its .cpg if present (None: GDAL reads it); else UTF-8
    if every record decodes as UTF-8; else the .dbf language id; else cp1252 with a warning."""
    if any(path.with_suffix(e).exists() for e in (".cpg", ".CPG")):
        return None, []
    dbf = next((path.with_suffix(e) for e in (".dbf", ".DBF") if path.with_suffix(e).exists()), None)
    if dbf is None:
        return None, []
    try:
        with open(dbf, "rb") as fh:
            header = fh.read(32)
            if len(header) < 32:
                return None, []
            header_len = int.from_bytes(header[8:10], "little")
            fh.seek(header_len)
            records = fh.read(50_000_000)
    except OSError:
        return None, []
    try:
        records.decode("utf-8")
        return "UTF-8", []
    except UnicodeDecodeError as exc:
        if exc.start > len(records) - 4 and len(records) == 50_000_000:
            return "UTF-8", []  # cut inside a character at the read limit
    ldid = header[29]
    if ldid in DBF_LANGUAGE_IDS:
        return DBF_LANGUAGE_IDS[ldid], []
    return "cp1252", [Problem("warning", "the shapefile has no .cpg file and its text is not UTF-8, and the .dbf "
                              "does not say its encoding: text was read as Windows-1252 (Latin). If names look "
                              "wrong (Burmese especially), add a .cpg file naming the encoding (e.g. UTF-8) "
                              "or re-export the layer as GeoPackage", file=str(path))]


def _read_csv_points(path: Path) -> gpd.GeoDataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:
        raise InputError(Problem("error", f"cannot be read as CSV ({gdal_reason(exc)})", file=str(path))) from None
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
                                file=str(path), field=f"{lon}/{lat}", rows=tuple(int(i) + 2 for i in bad),
                                row_label="line"))
    table = table.drop(columns=[lon, lat])
    gdf = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(xs, ys), crs=None)
    keep = ~(xs.isna() | ys.isna()).to_numpy()
    gdf = gdf[keep]
    gdf.attrs["read_problems"] = problems
    gdf.attrs["csv_points"] = True
    # file line of each record: the header is line 1 (a quoted field with a line break would shift this)
    # (plain tuples: pandas compares attrs when concatenating, which a Series cannot take)
    gdf.attrs["source_rows"] = SourceRows(("line", tuple(gdf.index.tolist()),
                                           tuple((gdf.index.to_numpy() + 2).tolist())))
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
    label, labels, numbers = gdf.attrs.get("source_rows", ("row", None, None))
    source = None
    if labels is not None and gdf.index.isin(labels).all():
        where["row_label"] = label
        source = pd.Series(numbers, index=pd.Index(labels))
    at = {"_source": source}
    problems: list[Problem] = list(gdf.attrs.get("read_problems", []))
    if len(gdf) == 0:
        problems.append(Problem("error", f"the layer is empty: a {spec.title.lower()} layer needs at least "
                                "one feature", **where))
        return gdf, problems
    gdf = gdf.copy()
    no_geometry = (gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    if no_geometry.all():
        problems.append(Problem("error", "no feature has a geometry", **where))
        return gdf[~no_geometry], problems
    if no_geometry.any():
        problems.append(Problem("warning", f"{int(no_geometry.sum())} feature(s) have no geometry (empty or null) "
                                "and are left out; give them a location or delete them",
                                rows=_row_numbers(at, gdf, np.flatnonzero(no_geometry)), **where))
        gdf = gdf[~no_geometry]
    nan_xy = non_finite_coordinates(gdf.geometry)
    if nan_xy.any():
        problems.append(Problem("error" if nan_xy.all() else "warning", f"{int(nan_xy.sum())} feature(s) have "
                                "coordinates that are not numbers (NaN or infinity)" + ("" if nan_xy.all() else
                                " and are left out") + "; correct their coordinates", rows=_row_numbers(
                                    at, gdf, np.flatnonzero(nan_xy)), **where))
        if nan_xy.all():
            return gdf, problems
        gdf = gdf[~nan_xy]

    # Geometry types.
    types = gdf.geom_type.map(_base_type)
    wrong = np.flatnonzero(~types.isin(spec.geometry).to_numpy())
    if len(wrong):
        found = ", ".join(sorted(set(types.iloc[wrong])))
        want = " or ".join(t.lower() for t in spec.geometry)
        problems.append(Problem("error", f"a {role} layer needs {want} geometries, these are {found}; "
                                "split the layer by geometry type", rows=_row_numbers(at, gdf, wrong), **where))
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
        rows = _row_numbers(at, gdf, np.flatnonzero(outside))
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
                                    rows=_row_numbers(at, gdf, np.flatnonzero(invalid)), **where))
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
    if role == "villages" and "population" not in mapping:
        problems.append(Problem("warning", "no population field was found (none named like pop, population, "
                                "pop_est...), so people cannot be counted, only villages; map the population "
                                f"field (one of: {', '.join(columns) or '(no fields)'})", field="population", **where))
    if errors_of(problems):
        return gdf, problems
    gdf = _to_canonical(gdf, spec, mapping)
    problems += _check_values(gdf, spec, mapping, where, at)
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
    canonical = [f.name for f in spec.fields if f.name in mapping]  # built in the final order: no reordering copy
    return gpd.GeoDataFrame({name: gdf[mapping[name]].to_numpy() for name in canonical}
                            | {c: gdf[c].to_numpy() for c in others},
                            index=gdf.index, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)


_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\s*$")
_BARE_YEAR = re.compile(r"^\s*(\d{4})(\.0)?\s*$")


def parse_date_column(col: pd.Series, blank: pd.Series) -> tuple[pd.Series, list[tuple[str, str, np.ndarray]]]:
    """Dates of one column, read in ONE order for the whole column; returns (dates, notes).

    ``notes`` are (severity, message, row mask). Numeric dates such as 31/12/2021 fix the order:
    a first number above 12 means day/month/year, a second above 12 month/day/year; both in one
    column is an error. When no value decides (01/02/2022 only), day/month/year is used (the
    Myanmar and British order) and the column is reported as ambiguous. A bare year (2022)
    becomes 1 January of that year, with a warning.
    """
    notes = []
    values = col.where(~blank)
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values), notes
    text = pd.Series([None if b else (v.isoformat() if hasattr(v, "isoformat") else str(v))
                      for v, b in zip(values.tolist(), blank.tolist())], index=col.index, dtype=object)
    parts = text.map(lambda t: _NUMERIC_DATE.match(t) if isinstance(t, str) else None)
    numeric = parts.notna().to_numpy()
    years = text.map(lambda t: bool(_BARE_YEAR.match(t)) if isinstance(t, str) else False).to_numpy(bool)
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    if numeric.any():
        first = np.array([int(m.group(1)) if m else 0 for m in parts])
        second = np.array([int(m.group(2)) if m else 0 for m in parts])
        day_first, month_first = first > 12, second > 12
        if day_first.any() and month_first.any():
            notes.append(("error", "dates are written in two orders in one column (e.g. 31/12/2021 day first "
                          "and 12/31/2021 month first); write every date as YYYY-MM-DD", day_first | month_first))
            return out, notes
        order = "%m/%d/%Y" if month_first.any() else "%d/%m/%Y"
        if not day_first.any() and not month_first.any():
            notes.append(("warning", "ambiguous dates (e.g. 01/02/2022 could be 1 February or 2 January): read as "
                          "day/month/year for the whole column; write them as YYYY-MM-DD to be sure", numeric))
        norm = text[numeric].map(lambda t: re.sub(r"[.-]", "/", t.strip()))
        norm = norm.map(lambda t: t if len(t.rsplit("/", 1)[1]) == 4 else t[:-2] + "20" + t[-2:])
        out[numeric] = pd.to_datetime(norm, format=order, errors="coerce")
    if years.any():
        notes.append(("warning", "only a year is given; read as 1 January of that year", years))
        out[years] = pd.to_datetime(text[years].str.strip().str[:4] + "-01-01", errors="coerce")
    rest = ~numeric & ~years & ~blank.to_numpy(bool)
    if rest.any():
        # ISO dates (2025-06-01) first: dateutil's dayfirst would read them as 2025-01-06
        iso = pd.to_datetime(text[rest].astype("string"), errors="coerce", format="ISO8601")
        other = iso.isna().to_numpy()
        if other.any():
            iso[other] = pd.to_datetime(text[rest][other].astype("string"), errors="coerce", format="mixed",
                                        dayfirst=True)
        out[rest] = iso
    bad = out.isna().to_numpy() & ~blank.to_numpy(bool)
    if bad.any():
        notes.append(("error", "must be a date like 2024-05-31", bad))
    return out, notes


def _check_values(gdf, spec, mapping, where, at=None) -> list[Problem]:
    problems = []
    rows_of = lambda mask: _row_numbers(at or {}, gdf, np.flatnonzero(np.asarray(mask)))  # noqa: E731
    for f in spec.fields:
        if f.name not in gdf:
            continue
        source = mapping.get(f.name, f.name)
        col = gdf[f.name]
        blank, text = blank_cells(col)
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
            if f.kind == "float" and np.isinf(numbers.to_numpy(dtype="float64", na_value=np.nan)).any():
                problems.append(Problem("error", f"'{f.name}' must be a finite number, found infinity; correct "
                                        "those cells", field=source, rows=rows_of(np.isinf(numbers.astype(float))),
                                        **where))
            huge = (numbers > MAX_POPULATION) & ~np.isinf(numbers.astype(float))
            if f.name == "population" and huge.any():
                problems.append(Problem("error", f"population above {MAX_POPULATION:,} (more than all of Myanmar) "
                                        "in a single feature; check the field (a wrong column or a unit "
                                        "mistake?)", field=source, rows=rows_of(huge), **where))
            gdf[f.name] = numbers.astype("float64")
        elif f.kind == "date":
            dates, notes = parse_date_column(col, blank)
            for severity, message, mask in notes:
                problems.append(Problem(severity, message, field=source, rows=rows_of(mask), **where))
            if any(severity == "error" for severity, _, _ in notes):
                continue
            gdf[f.name] = dates.dt.date.where(~blank, None)
        elif f.kind == "bool":
            gdf[f.name], bad_bools = bool_values(col, blank, f.name, source, rows_of, where)
            problems += bad_bools
        else:
            gdf[f.name] = [None if b else str(v).strip() for v, b in zip(col.tolist(), blank.tolist())] \
                if text is None else [None if b else t for t, b in zip(text, blank.tolist())]
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
                                        rows=_row_numbers(at or {}, gdf, z), fix="zawgyi", **where))
    problems += _role_rules(gdf, spec.name, mapping, where, rows_of) + amount_problems(gdf, spec.name, mapping,
                                                                                      where, rows_of)
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


def looks_like_osm_highway(field: str, values: pd.Series) -> bool:
    """True when a road-class field holds OSM ``highway`` values rather than road classes."""
    v = values.dropna().astype(str).str.strip().str.lower()
    if field.lower() == "highway":
        return True
    if len(v) == 0:
        return False
    osm_only = v.isin(set(OSM_HIGHWAY_CLASSES) - set(ROAD_CLASSES))
    return bool(osm_only.mean() > 0.5)


def map_road_classes(gdf: gpd.GeoDataFrame, source: str, classes: dict[str, str], where: dict,
                     ) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Replace ``gdf[source]`` (e.g. OSM ``highway``) by road classes through ``classes``; lines whose
    value is not in the table (or empty: railways and waterways in an OSM file) are left out."""
    value = gdf[source].astype("string").str.strip().str.lower()
    table = {str(k).strip().lower(): v for k, v in classes.items()}
    mapped = value.map(lambda x: table.get(x) if isinstance(x, str) else None)
    keep = mapped.notna().to_numpy()
    problems = []
    dropped = value[~keep & value.notna().to_numpy()].value_counts()
    if len(dropped):
        listed = ", ".join(f"{k} ({n})" for k, n in dropped.head(8).items())
        problems.append(Problem("warning", f"{int(dropped.sum())} lines have '{source}' values that are not in "
                                f"the layer's road-class table and are left out: {listed}; add them to the "
                                "table (project layer option road_classes) to use them", field=source, **where))
    out = gdf[keep].copy()
    out[source] = mapped[keep].to_numpy()
    return out, problems


def load_layer(path, role: str | None = None, *, layer: str | None = None, mapping=None,
               name: str | None = None, strict: bool = True, road_classes: dict | None = None,
               frame=None) -> Layer:
    """Read, validate and map a vector layer. ``strict`` raises InputError on any error.

    Roads: ``road_classes`` maps the road-class field's values to road classes; without it, a
    field of OpenStreetMap ``highway`` values is mapped by :data:`OSM_HIGHWAY_CLASSES`.
    ``frame``: the layer already read (a protected project's in-memory copy); ``path`` then
    only names it in messages.
    """
    path = Path(path)
    if path.suffix.lower() in OSM_SUFFIXES and layer is None and frame is None:
        layer = "lines"
    gdf = read_vector(path, layer) if frame is None else frame
    if role is None:
        role = guess_role(gdf.columns, set(gdf.geom_type.dropna().unique()))
        if role is None:
            raise InputError(Problem("error", "cannot tell what this layer is; give its role (townships, "
                                     "facilities, villages, roads, rivers, crossings, conflict_zones)",
                                     file=str(path), layer=layer))
    pre_problems, applied = [], None
    if role == "roads":
        source = (mapping or guess_mapping("roads", gdf.columns)).get("road_class")
        if source in gdf:
            applied = road_classes
            if applied is None and looks_like_osm_highway(source, gdf[source]):
                applied = dict(OSM_HIGHWAY_CLASSES)
            if applied:
                gdf, pre_problems = map_road_classes(gdf, source, applied, {"file": str(path), "layer": layer})
    data, problems = validate_vector(gdf, role, mapping, file=str(path), layer=layer)
    problems = pre_problems + problems
    if strict and errors_of(problems):
        raise InputError(problems)
    used_mapping = dict(mapping) if mapping else guess_mapping(role, gdf.columns)
    return Layer(name or layer or Path(path).stem, role, str(path), layer, data, used_mapping, problems,
                 road_classes=applied)


def check_file(path, role: str | None = None, layer: str | None = None) -> list[tuple[str | None, str | None, list[Problem]]]:
    """Check one file: every layer of a GeoPackage unless ``layer`` is given.

    Returns one ``(layer name, role used or guessed, problems)`` per layer; never raises.
    """
    written = str(path)
    path = Path(path)
    if role and (ROLES[role].raster and path.suffix.lower() in VECTOR_SUFFIXES  # a GeoPackage as dem,
                 or not ROLES[role].raster and is_raster_path(path)):  # a GeoTIFF as facilities
        want = "a raster (GeoTIFF)" if ROLES[role].raster else "a vector layer (GeoPackage, Shapefile, GeoJSON, CSV)"
        return [(layer, role, [Problem("error", f"a {role} layer must be {want}; this file is not", file=written)])]
    if is_raster_path(path) or role in ("dem", "landcover", "population"):
        return [(None, role or "raster", inspect_raster(path, written=written, full=True, role=role,
                                                                study_bounds=MYANMAR_BOUNDS, study_name="Myanmar")[1])]
    try:
        check_input_file(path, written=written)
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
