"""Friction surfaces on the working grid: seconds to cross one metre, per travel mode.

Built from the project's layers (DESIGN.md section 3): off-road walking speed (one speed, or
by land-cover class), roads burnt by class at the mode's speed, rivers and water bodies as
barriers except at crossings (bridges; ferries with a boarding delay), and conflict zones
valid on the analysis date (speed x ``speed_factor``, 0 = impassable, plus an entry delay).
An optional DEM gives elevations for Tobler's direction-aware walking speed (the engine
applies it move by move). A user-supplied friction raster (minutes per metre, the Malaria
Atlas Project convention) or speed raster (km/h) can replace the built surface.

Cells outside the study area (the townships, plus a margin) are barriers: results there are
nodata.

Water, road-river cuts and crossings are in :mod:`.crossings`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio import features

from coverage_app.core.travel.burn import burn, geojson_many
from coverage_app.core.travel.crossings import (board_at_the_water, burn_water, major_water, road_river_cuts,
                                                snap_crossings)
from coverage_app.core.travel.jit import jit_kernel
from coverage_app.core.travel.kernels import FERRY_MAX, ZONE_MAX
from coverage_app.core.travel.onto_grid import read_class_codes, read_elevation, read_surface
from coverage_app.core.errors import InputError, Problem
from coverage_app.core.feedback import report
from coverage_app.core.grid import Grid
from coverage_app.core.params import AnalysisParams

KMH_TO_MS = 1 / 3.6
STUDY_MARGIN_M = 2_000.0   # the study area is the townships plus this margin (metres)
MIN_CROSSING_RADIUS_CELLS = 1.5
BARRIER_CAUSES = {0: "passable", 1: "water", 2: "a no-go zone", 3: "outside the study area",
                  4: "impassable land cover", 5: "a cell the speed or friction raster makes impassable"}


@dataclass
class Friction:
    """A friction surface and what the engine needs besides it. Arrays share ``grid``'s shape."""

    grid: Grid
    cost_s_per_m: np.ndarray            # float32; inf = barrier (water, no-go, outside)
    study_mask: np.ndarray              # bool; True inside the study area
    road_mask: np.ndarray | None = None     # bool; True where a road is burnt
    elevation_m: np.ndarray | None = None   # float32 (DEM resampled), for Tobler
    tobler_mask: np.ndarray | None = None   # bool; cells where people walk (Tobler applies)
    zone_label: np.ndarray | None = None    # int32; 0 = no zone with a delay, else a zone number
    entry_delay_s: np.ndarray | None = None  # float32 seconds added when entering a labelled cell
    zones_used: int = 0
    problems: list = None
    barrier_cause: np.ndarray | None = None  # uint8: see BARRIER_CAUSES
    ferry_label: np.ndarray | None = None    # int32; 0 = no ferry, else a ferry number (its water + 1 cell)
    ferry_delay_s: np.ndarray | None = None  # float64 seconds to board each ferry number (index 0: 0)
    zone_entry_s: np.ndarray | None = None   # where zones overlap: s entering label j from label i
    source: str = "built"  # "built" here, or "cache": read back from an earlier run (see friction_cache)

    def cause_at(self, row: int, col: int) -> str:
        if self.barrier_cause is None:
            return "impassable"
        return BARRIER_CAUSES.get(int(self.barrier_cause[row, col]), "impassable")

    def no_go_cells(self) -> np.ndarray | None:
        """Cells of an in-force no-go zone (bool; barrier cause 2), None without barrier causes: a
        village there has no access and takes no neighbour's time."""
        return None if self.barrier_cause is None else self.barrier_cause == 2

    def engine_options(self) -> dict:
        return {"elevation_m": self.elevation_m, "tobler_mask": self.tobler_mask,
                "zone_label": self.zone_label, "entry_delay_s": self.entry_delay_s,
                "ferry_label": self.ferry_label, "ferry_delay_s": self.ferry_delay_s,
                "zone_entry_s": self.zone_entry_s}


def surface_speed_kmh(params: AnalysisParams, surface: str) -> float:
    """Speed on ``surface`` for the run's mode, km/h; ``None`` in the table means walking."""
    table = params.speeds_kmh[params.mode]
    speed = table.get(surface)
    if speed is None:
        speed = params.speeds_kmh["walking"][surface]
    return float(speed)


def rasterize(gdf, values, grid: Grid, fill=0, dtype="float32", all_touched=False, out=None) -> np.ndarray:
    """Burn geometries (working CRS) into a grid-shaped array; later features overwrite earlier ones.
    With ``out`` (C-contiguous, grid-shaped) the burn goes into it and ``fill`` is ignored."""
    if gdf is None or len(gdf) == 0:
        return np.full(grid.shape, fill, dtype=dtype) if out is None else out
    if out is None:
        out = np.zeros(grid.shape, dtype=dtype) if fill == 0 else np.full(grid.shape, fill, dtype=dtype)
    return burn(geojson_many(gdf.geometry.values), values, out, grid.transform, all_touched)


def _window_of(gdf, grid: Grid, pad_cells: int = 2):
    """Grid window ((r0, r1), (c0, c1)) around ``gdf``'s total bounds (plus ``pad_cells``), and the
    sub-grid covering it (same cell alignment); None if the features miss the grid."""
    minx, miny, maxx, maxy = gdf.total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        return None, None
    s = grid.cell_size_m
    x0, y1 = grid.transform.c, grid.transform.f
    c0 = max(int(np.floor((minx - x0) / s)) - pad_cells, 0)
    c1 = min(int(np.ceil((maxx - x0) / s)) + pad_cells, grid.shape[1])
    r0 = max(int(np.floor((y1 - maxy) / s)) - pad_cells, 0)
    r1 = min(int(np.ceil((y1 - miny) / s)) + pad_cells, grid.shape[0])
    if r1 <= r0 or c1 <= c0:
        return None, None
    t = grid.transform
    sub = Grid(grid.crs, type(t)(t.a, 0.0, t.c + c0 * t.a, 0.0, t.e, t.f + r0 * t.e), (r1 - r0, c1 - c0))
    return ((r0, r1), (c0, c1)), sub


def zones_valid_on(zones: gpd.GeoDataFrame | None, as_of: dt.date) -> gpd.GeoDataFrame | None:
    """Conflict zones in force on ``as_of`` (empty valid_from / valid_to = open-ended)."""
    if zones is None or len(zones) == 0:
        return zones
    start = pd.to_datetime(zones.get("valid_from"), errors="coerce") if "valid_from" in zones else None
    end = pd.to_datetime(zones.get("valid_to"), errors="coerce") if "valid_to" in zones else None
    day = pd.Timestamp(as_of)
    keep = np.ones(len(zones), bool)
    if start is not None:
        keep &= (start.isna() | (start <= day)).to_numpy()
    if end is not None:
        keep &= (end.isna() | (end >= day)).to_numpy()
    return zones[keep]


_STUDY_CACHE: dict = {}  # (grid, townships' WKB digest) -> read-only study mask; the last few grids
_STUDY_POOL = None  # one worker thread: the study area's union runs beside the burns


def clear_study_cache() -> None:
    """Forget the cached study masks (a benchmark or test then builds them afresh)."""
    _STUDY_CACHE.clear()


def _study_key(townships_w: gpd.GeoDataFrame, grid: Grid) -> tuple:
    import hashlib

    return grid, hashlib.blake2b(b"".join(shapely.to_wkb(townships_w.geometry.values)), digest_size=16).digest()


def study_area(townships_w: gpd.GeoDataFrame):
    """The townships' union plus STUDY_MARGIN_M (a shapely geometry in their metric CRS)."""
    return shapely.union_all(townships_w.geometry.values).buffer(STUDY_MARGIN_M)


def _start_study_area(townships_w: gpd.GeoDataFrame | None, grid: Grid):
    """A future of :func:`study_area` when the mask is not cached yet (else None). GEOS's union
    releases the GIL, so it runs on its worker thread while the caller burns roads and water."""
    global _STUDY_POOL
    if townships_w is None or len(townships_w) == 0 or _study_key(townships_w, grid) in _STUDY_CACHE:
        return None
    if _STUDY_POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _STUDY_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="study-area")
    return _STUDY_POOL.submit(study_area, townships_w)


def study_area_mask(townships_w: gpd.GeoDataFrame | None, grid: Grid, area=None) -> np.ndarray:
    """True inside the townships plus STUDY_MARGIN_M. Cached per grid and townships (repeated runs on
    one grid reuse it); the array is read-only. ``area``: a future of :func:`study_area` started
    earlier (:func:`_start_study_area`), else it is computed here."""
    if townships_w is None or len(townships_w) == 0:
        return np.ones(grid.shape, bool)
    key = _study_key(townships_w, grid)
    mask = _STUDY_CACHE.get(key)
    if mask is None:
        area = area.result() if area is not None else study_area(townships_w)
        mask = features.geometry_mask([geojson_many([area])[0] or area], out_shape=grid.shape,
                                      transform=grid.transform, invert=True, all_touched=True)
        mask.flags.writeable = False
        while len(_STUDY_CACHE) >= 2:
            _STUDY_CACHE.pop(next(iter(_STUDY_CACHE)))
        _STUDY_CACHE[key] = mask
    return mask


def build_friction(grid: Grid, params: AnalysisParams, *, townships=None, roads=None, rivers=None,
                   crossings=None, zones=None, landcover_path=None, landcover_classes=None,
                   landcover_speeds_kmh=None, dem_path=None, feedback=None) -> Friction:
    """Build the friction surface for ``params.mode`` on ``grid``.

    Vector inputs are GeoDataFrames already in ``grid.crs`` (metres) with canonical fields;
    any may be None. ``landcover_classes`` maps a class code to a class name and
    ``landcover_speeds_kmh`` a class name to a walking speed (0 = impassable).
    """
    problems: list[Problem] = []
    area = _start_study_area(townships, grid)
    walk_off = surface_speed_kmh(params.replace(mode="walking"), "off_road")
    off_road = params.off_road_kmh()  # walking, or the mode's unmapped-track (last-mile) speed
    report(feedback, 0.0, "Friction: off-road speed")
    # Few full-grid passes and temporaries (first-touch page faults are a real cost): the speed
    # raster becomes the cost raster in place, masks are uint8/bool burnt into preallocated arrays,
    # local burns (crossings, zones) only touch their cells or window.
    speed = np.full(grid.shape, off_road, dtype="float32")  # km/h
    flat_speed = speed.reshape(-1)

    if landcover_path is not None:
        classes = {int(k): v for k, v in (landcover_classes or {}).items()}
        codes, no_class = read_class_codes(landcover_path, grid, classes)
        speeds = landcover_speeds_kmh or {}
        known = False
        impassable_land = None  # cells of a 0 km/h class that is not water (barrier cause 4)
        for code, name in classes.items():
            if name not in speeds:
                problems.append(Problem("warning", f"land-cover class {code} ({name}) has no speed; the default "
                                        "off-road speed is used", file=str(landcover_path)))
                continue
            if code == no_class:  # the file's nodata: cells without land cover, not this class
                continue
            cell = codes == code
            # motorised modes walk off road: land cover sets the walking speed, scaled like the mode's off-road
            speed[cell] = float(speeds[name]) * (off_road / walk_off)
            known = known or bool(cell.any())
            if not float(speeds[name]) > 0 and "water" not in str(name).lower():
                impassable_land = cell if impassable_land is None else impassable_land | cell
        del codes
        problems += [] if known else [Problem("warning", "no land-cover class matched the table; the "
                                              "default off-road speed is used", file=str(landcover_path))]

    report(feedback, 0.2, "Friction: roads")
    if roads is not None and len(roads):
        klass = roads["road_class"].astype(str).str.lower().str.strip()
        unknown = sorted(set(klass) - set(params.speeds_kmh["walking"]))
        if unknown:
            problems.append(Problem("warning", f"road classes {', '.join(unknown)} are not in the speed table; "
                                    "they are treated as tracks", layer="roads", field="road_class"))
            klass = klass.where(~klass.isin(unknown), "track")
        road_speed = klass.map(lambda c: surface_speed_kmh(params, c)).to_numpy(dtype="float32")
        order = np.argsort(road_speed, kind="stable")  # faster roads burnt last win
        # burn each road's rank among the distinct speeds (uint8/16, not a float32 raster of speeds)
        uniq = np.unique(road_speed)
        lut = np.concatenate([[np.float32(0.0)], uniq]).astype("float32")
        rank = np.searchsorted(uniq, road_speed) + 1
        burnt = rasterize(roads.iloc[order], rank[order], grid, dtype="uint8" if len(uniq) < 255 else "uint16")
        on_road = np.flatnonzero(burnt)
        road_kmh = lut[burnt.reshape(-1)[on_road]]
        if burnt.dtype == np.uint8:  # the rank raster becomes the road mask (a road: speed > 0)
            burnt.reshape(-1)[on_road] = road_kmh > 0
            road_mask = burnt.view(bool)
        else:
            road_mask = lut[burnt] > 0
        del burnt
        if landcover_path is not None or not off_road >= 0:
            np.maximum(speed, np.float32(0.0), out=speed)  # as max(speed, 0) off the roads
        flat_speed[on_road] = np.maximum(flat_speed[on_road], road_kmh)
        del on_road, road_kmh
    else:
        road_mask = np.zeros(grid.shape, bool)

    report(feedback, 0.4, "Friction: rivers and crossings")
    barrier_u8 = np.zeros(grid.shape, "uint8")  # 0/1, viewed as bool
    barrier = barrier_u8.view(bool)
    if rivers is not None and len(rivers):
        major = major_water(rivers)
        burn_water(rivers[major], grid, barrier_u8)
        if (~major).any():  # minor water: a barrier off the roads; roads cross it (culverts, fords)
            minor = burn_water(rivers[~major], grid, np.zeros(grid.shape, "uint8"))
            minor[road_mask] = 0
            np.bitwise_or(barrier_u8, minor, out=barrier_u8)
            del minor
    if landcover_path is not None:
        # land cover of 0 km/h with no road on it is a barrier that crossings lift like water; a class
        # that is not water (e.g. a swamp) gives cause 4, so that a facility there is not said to be in water
        if impassable_land is not None:
            impassable_land &= ~barrier
            impassable_land &= speed <= 0
        np.logical_or(barrier, speed <= 0, out=barrier)
        if impassable_land is not None:
            barrier_u8[impassable_land] = 4
            del impassable_land

    zone_label = ferry_label = ferry_delay = zone_entry = None
    if crossings is not None and len(crossings):
        kind = crossings["kind"].fillna("bridge").astype(str).str.lower() if "kind" in crossings else \
            pd.Series("bridge", index=crossings.index)
        length = pd.to_numeric(crossings.get("length_m", pd.Series(0.0, index=crossings.index)),
                               errors="coerce").fillna(0.0)
        radius = np.maximum(length.to_numpy() / 2.0, MIN_CROSSING_RADIUS_CELLS * grid.cell_size_m) \
            + grid.cell_size_m
        pieces = None
        if roads is not None and len(roads):
            # a bridge mapped off its road snaps onto it (the nearest cut of a road by a major river, else
            # the nearest road point, within CROSSING_SNAP_M): it is then crossed at the road's speed
            cuts = road_river_cuts(roads, rivers) if rivers is not None and len(rivers) else None
            crossings, snapped_cut = snap_crossings(crossings, roads, cuts)
            if snapped_cut.notna().any():  # lift the whole stretch of road inside the water, however wide
                pieces = gpd.GeoDataFrame(geometry=cuts.loc[snapped_cut.dropna().astype(int), "piece"].values,
                                          crs=crossings.crs)
        disks = gpd.GeoDataFrame(geometry=crossings.geometry.buffer(radius).values, crs=crossings.crs)
        lifted_u8 = rasterize(disks, np.ones(len(disks)), grid, dtype="uint8", all_touched=True)
        if pieces is not None:
            rasterize(pieces, np.ones(len(pieces)), grid, all_touched=True, out=lifted_u8)
        lifted = np.flatnonzero(lifted_u8)
        del lifted_u8
        lifted = lifted[barrier_u8.reshape(-1)[lifted] != 0]
        barrier_u8.reshape(-1)[lifted] = 0
        opened = lifted
        # across the water people move at road speed on a road, else at walking speed
        lifted = lifted[~road_mask.reshape(-1)[lifted]]
        flat_speed[lifted] = np.float32(surface_speed_kmh(params.replace(mode="walking"), "path"))
        del lifted
        delay_min = pd.to_numeric(crossings.get("delay_minutes"), errors="coerce").fillna(0.0) \
            if "delay_minutes" in crossings else pd.Series(0.0, index=crossings.index)
        ferry = ((kind == "ferry") | (delay_min > 0)).to_numpy()
        if ferry.any():  # a label of their own: a ferry inside a zone keeps its boarding delay
            if ferry.sum() > FERRY_MAX:
                raise InputError(f"crossings: {int(ferry.sum())} ferries or crossings with a delay, at most "
                                 f"{FERRY_MAX} can be analysed")
            ferry_label = np.zeros(grid.shape, "int32")
            labels = np.arange(1, ferry.sum() + 1)
            rasterize(disks[ferry], labels, grid, all_touched=True, out=ferry_label)
            board_at_the_water(ferry_label, opened)
            problems += _ferries_off_the_water(crossings[ferry], ferry_label, delay_min.to_numpy()[ferry])
            ferry_delay = np.concatenate([[0.0], delay_min.to_numpy("float64")[ferry] * 60.0])

    report(feedback, 0.6, "Friction: conflict zones")
    zones_used = 0
    if zones is not None and len(zones):
        valid = zones_valid_on(zones, params.as_of_date)
        zones_used = len(valid)
        window, sub = _window_of(valid, grid) if zones_used else (None, None)
        delays = pd.to_numeric(valid.get("delay_minutes"), errors="coerce").fillna(0.0).to_numpy() \
            if "delay_minutes" in valid else np.zeros(len(valid))
        with_delay = np.flatnonzero(delays > 0)
        if len(with_delay) > ZONE_MAX:
            raise InputError(f"conflict zones: {len(with_delay)} zones with an entry delay in force, at most "
                             f"{ZONE_MAX} can be analysed")
        if len(with_delay):  # labelled (all zero where every zone misses the grid)
            zone_label = np.zeros(grid.shape, "int32")
        if window is not None:
            (r0, r1), (c0, c1) = window
            factor = pd.to_numeric(valid["speed_factor"], errors="coerce").fillna(1.0).to_numpy("float32")
            order = np.argsort(-factor, kind="stable")  # the most restrictive zone wins where they overlap
            zfactor = rasterize(valid.iloc[order], factor[order], sub, fill=1.0)
            speed[r0:r1, c0:c1] *= zfactor
            del zfactor
            if len(with_delay):
                # largest delay burnt last: where zones overlap the cell keeps the largest entry delay
                with_delay = with_delay[np.argsort(delays[with_delay], kind="stable")]
                zone_label[r0:r1, c0:c1] = rasterize(valid.iloc[with_delay], 1 + np.arange(len(with_delay)), sub,
                                                     dtype="int32")
                zone_lut = np.concatenate([[0.0], delays[with_delay] * 60.0])
                zone_entry, overlap_problems = overlapping_zones(valid.iloc[with_delay], zone_lut[1:],
                                                                 zone_label[r0:r1, c0:c1], sub)
                problems += overlap_problems
                if zone_entry is not None:
                    zone_lut = zone_entry[0]  # entered from no zone: the largest delay of the set

    entry_delay = None
    if zone_label is not None:
        entry_delay = np.zeros(grid.shape, "float32")
        if zone_label.any():  # lut[zone_label], writing only labelled cells
            _delay_of_labels(zone_label, zone_lut.astype("float32"), entry_delay)

    report(feedback, 0.8, "Friction: study area")
    study = study_area_mask(townships, grid, area)
    cause = np.empty(grid.shape, "uint8")
    # every 0 km/h cell of land cover is a barrier by now: what is left at 0 km/h is a zone that stops travel
    _cost_and_cause(speed, barrier_u8, study, 2, KMH_TO_MS, cause)  # speed becomes the cost (s/m)
    cost = speed

    elevation = tobler = None
    if dem_path is not None:
        elevation, dem_problems = read_elevation(dem_path, grid)
        problems += dem_problems
        tobler = np.ones(grid.shape, bool) if params.mode == "walking" else \
            ~road_mask if params.walks_off_road() else np.zeros(grid.shape, bool)  # motorised: no Tobler
    report(feedback, 1.0, "Friction ready")
    return Friction(grid, cost, study, road_mask, elevation, tobler, zone_label, entry_delay, zones_used,
                    problems, cause, ferry_label, ferry_delay, zone_entry)


MAX_ZONE_SETS = 2048   # zone labels (single zones and sets of overlapping ones) the entry table covers
MAX_OVERLAPPING = 62   # zones that overlap another, as bits of an int64


def overlapping_zones(zones_w: gpd.GeoDataFrame, delays_s: np.ndarray, labels: np.ndarray, sub: Grid):
    """Where zones with an entry delay overlap, give each set of zones covering a cell a label of its own
    (in ``labels``, the window ``sub`` of the zone labels: zone k of ``zones_w`` is label k + 1) and
    return the table of seconds entering label j from label i: the largest delay of the zones of j not
    in i (leaving a zone costs nothing; entering several at once costs the largest of their delays).
    (None, []) without overlaps; (None, [warning]) if there are too many to tabulate (then a cell keeps
    the largest delay of its zones, paid whenever its label changes)."""
    geoms = zones_w.geometry.values
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    i, j = i[i < j], j[i < j]
    if len(i):
        shared = shapely.area(shapely.intersection(geoms[i], geoms[j])) > 0
        i, j = i[shared], j[shared]
    if not len(i):
        return None, []
    members = np.unique(np.concatenate([i, j]))

    def too_many(n):
        return None, [Problem("warning", f"{len(members)} conflict zones overlap others ({n - 1} zones and sets of "
                              "zones): where they overlap, the largest entry delay is paid whenever the zone changes",
                              layer="conflict_zones")]

    if len(members) > MAX_OVERLAPPING:
        return too_many(len(zones_w) + 1)
    key = np.zeros(labels.shape, np.int64)  # bit b: the cell is in zone members[b]
    for bit, z in enumerate(members):
        window, part = _window_of(zones_w.iloc[[z]], sub, pad_cells=1)
        if window is not None:
            (r0, r1), (c0, c1) = window
            inside = rasterize(zones_w.iloc[[z]], [1], part, dtype="uint8").view(bool)
            key[r0:r1, c0:c1][inside] |= np.int64(1) << bit
    multi = (key & (key - 1)) != 0  # two bits or more: a cell where zones overlap
    sets, where = np.unique(key[multi], return_inverse=True)
    n = len(zones_w) + 1 + len(sets)
    if n > MAX_ZONE_SETS:
        return too_many(n)
    labels[multi] = len(zones_w) + 1 + where.astype(np.int32)
    of_label = [[k] for k in range(len(zones_w))] + [[members[b] for b in range(len(members)) if s >> b & 1]
                                                     for s in sets]
    inside = np.zeros((n, len(zones_w)), bool)  # label -> its zones (row 0: no zone)
    for label, zs in enumerate(of_label, start=1):
        inside[label, zs] = True
    table = np.zeros((n, n))
    for label, zs in enumerate(of_label, start=1):
        for z in zs:  # entering label from i: the largest delay of its zones that i is not in
            np.maximum(table[:, label], np.where(inside[:, z], 0.0, delays_s[z]), out=table[:, label])
    return table, []


def _ferries_off_the_water(ferries: gpd.GeoDataFrame, ferry_label: np.ndarray, delay_min) -> list[Problem]:
    """A warning for each ferry (label k = its position + 1) left with no cell: it opens no mapped water
    on the grid, so its boarding delay is never paid and the river stays closed there."""
    kept = np.bincount(ferry_label[ferry_label > 0], minlength=len(ferries) + 1)[1:] > 0
    if kept.all():
        return []
    lost = ferries[~kept].to_crs(4326)
    names = lost["name"].fillna("").astype(str) if "name" in lost else pd.Series("", index=lost.index)
    return [Problem("warning", f"ferry {name or 'without a name'} at {pt.y:.5f} N, {pt.x:.5f} E opens no mapped "
                    f"water on the analysis grid: its {delay:g} min boarding delay is never paid; move it onto the "
                    "river it crosses (or add that river to the rivers layer)", layer="crossings")
            for name, pt, delay in zip(names, lost.geometry, np.asarray(delay_min)[~kept])]


@jit_kernel
def _delay_of_labels(label, lut, out):
    """``out[i] = lut[label[i]]`` where ``label[i] != 0`` (``out`` starts at zero, ``lut[0] == 0``)."""
    lab = label.reshape(-1)
    o = out.reshape(-1)
    for i in range(lab.size):
        if lab[i] != 0:
            o[i] = lut[lab[i]]


@jit_kernel
def _cost_and_cause(speed, barrier, study, nogo, kmh_to_ms, cause):
    """In one pass: the barrier cause of each cell (0 passable, ``nogo`` where the speed is <= 0, 1
    water (``barrier`` 1) or 4 impassable land cover (``barrier`` 4), 3 outside the study area; later
    ones win) and, in place of ``speed`` (km/h), the cost in s/m (float32 1 / (speed * kmh_to_ms) on
    passable cells, +inf elsewhere)."""
    s = speed.reshape(-1)
    b = barrier.reshape(-1)
    st = study.reshape(-1)
    out = cause.reshape(-1)
    k = np.float32(kmh_to_ms)
    one = np.float32(1.0)
    inf = np.float32(np.inf)
    for i in range(s.size):
        x = s[i]
        c = 0
        if x <= 0:
            c = nogo
        if b[i] == 4:
            c = 4
        elif b[i] != 0:
            c = 1
        if not st[i]:
            c = 3
        out[i] = c
        if st[i] and b[i] == 0 and x > 0:
            s[i] = one / (x * k)
        else:
            s[i] = inf


def friction_from_raster(path, *, kind: str, grid: Grid | None = None) -> Friction:
    """A user-supplied surface: ``kind="friction"`` in minutes per metre (Malaria Atlas Project
    convention) or ``kind="speed"`` in km/h. Read on its own grid (``grid=None``, the raster must be
    in a metric CRS or is warped to its UTM zone) or resampled onto ``grid``."""
    from coverage_app.core.data.crs import working_crs_for

    if grid is None:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(Problem("error", "the raster has no CRS", file=str(path)))
            if src.crs.is_projected and abs(abs(src.transform.e) - src.transform.a) < 1e-6 * src.transform.a:
                grid = Grid(src.crs, src.transform, (src.height, src.width))
            else:
                crs = working_crs_for(src.bounds, src.crs)
                from rasterio.warp import transform_bounds

                b = transform_bounds(src.crs, crs, *src.bounds)
                res = min(src.res) * (111_320 if src.crs.is_geographic else 1.0)
                grid = Grid.covering(b, crs, res)
    if kind not in ("friction", "speed"):
        raise ValueError(kind)
    cost, problems = read_surface(path, grid, kind)  # float32, NaN outside the raster; refused if unusable
    study = np.isfinite(cost)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # in place: no grid-sized temporaries
        if kind == "friction":
            cost *= 60.0  # minutes/m -> seconds/m
        else:
            cost *= KMH_TO_MS  # km/h -> m/s
            np.divide(1.0, cost, out=cost)  # -> seconds/m
    bad = ~(cost > 0)  # NaN, zero or negative
    bad |= np.isinf(cost)
    cost[bad] = np.inf
    cause = np.where(study, np.where(bad, np.uint8(5), np.uint8(0)), np.uint8(3))  # see BARRIER_CAUSES
    return Friction(grid, cost, study, problems=problems, barrier_cause=cause)
