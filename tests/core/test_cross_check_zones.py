"""Cross-checks of the parts of an analysis the default bundled run does not exercise: conflict zones
in force (no-go, restricted, risk), facilities inside a no-go zone, rivers, bridges and a ferry,
motorbike travel on the roads, and a scenario of facility closures.

The model is tests/core/test_cross_check_sagaing.py: every expected value is recomputed here from the
files an export writes (GeoTIFFs, coverage.gpkg, the CSVs, run.json) and from the source layers in
layers/sagaing.gpkg, with geopandas / rasterio / scipy / numpy only; no function of the app computes an
expected value. The runs go through the command line in-process (``coverage-app analyse``), motorbike,
500 m cells, as of 2023-06-01 (the 2023 zones are in force: 18 restricted, 34 risk; the bundled layer
holds no no-go zone, see layers/README.md), on copies of the bundled project in a temporary folder:

* ``zones``: the bundled project plus a ferry (20 min) at the uncrossed Mu River cut, and scenario
  ``nogo`` adding a no-go zone in force around Pinlebu Township Hospital and one in force only from
  2024 around Banmauk Township Hospital;
* ``nozones``: the same without the conflict-zone layer (and no scenario): the reference surface;
* ``close3``: scenario closing 3 facilities (one undated, two dated on or before the as-of date) and a
  4th dated after it (not applied); ``filtered``: the project whose facilities layer lacks those 3.

Cost model used for the expected values (coverage_app/core/travel/engine.py docstring, DESIGN.md 3):
a move between adjacent cells costs length x (c_a + c_b) / 2 with c = 1 / speed; a zone multiplies
speeds by its speed_factor (0 = barrier) and a patient moving into a cell of a zone with a delay from
a cell outside it pays the delay once; times are minima over paths, so adding zones never lowers a
time, and a cell whose shortest path avoids every zone keeps its time exactly.
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from rasterio import features
from rasterio.transform import rowcol, xy
from scipy import ndimage

from coverage_app.cli.main import main
from tests.conftest import BUNDLED_GPKG, BUNDLED_PROJECT
from tests.cross_check import TIERS, read_layer, read_tier_rasters

AS_OF = "2023-06-01"
CELL = 500.0
NOISE = 1e-4  # minutes: float32 rasters hold ~1e-5 min at 1000 min
NOGO_AT, LATER_NOGO_AT = "MMR005026-H03", "MMR005023-H03"  # Pinlebu / Banmauk Township Hospitals
FERRY_LONLAT, FERRY_DELAY = (95.50101, 22.51769), 20.0  # the Mu River cut `coverage-app info` lists
CLOSED = {"MMR005012-H01": (None, "closed"), "MMR005001-H01": ("2022-05-01", "destroyed"),
          "MMR005007-H02": (AS_OF, "closed")}
LATE_CLOSED = "MMR005020-H01"  # closed from 2023-06-02: after the as-of date, not applied
CROSSING_SNAP_M = 500.0  # README: a crossing snaps to a road-river cut within 500 m
MIN_LIFT_CELLS = 1.5     # the opened disk around a crossing: max(length / 2, 1.5 cells) + 1 cell


# ----------------------------------------------------------------------------- inputs and runs


def _square_wkt(facilities_utm, fac_id, half=6000.0):
    """A 12 km square (EPSG:4326 WKT) around a facility, off the 500 m cell lines."""
    p = facilities_utm[facilities_utm.fac_id == fac_id].geometry.iloc[0]
    sq = shapely.box(p.x - half + 130.0, p.y - half + 370.0, p.x + half + 130.0, p.y + half + 370.0)
    return gpd.GeoSeries([sq], crs=32646).to_crs(4326).iloc[0].wkt


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zones")
    base = json.loads(BUNDLED_PROJECT.read_text(encoding="utf-8"))
    for layer in base["layers"]:
        layer["path"] = str(BUNDLED_PROJECT.parent / layer["path"])

    def project(name, change):
        p = json.loads(json.dumps(base))
        change(p)
        (folder / f"{name}.covproj").write_text(json.dumps(p), encoding="utf-8")

    def set_path(role, path):
        def change(p):
            for layer in p["layers"]:
                if layer["role"] == role:
                    layer["path"] = str(path)
        return change

    crossings = read_layer(BUNDLED_GPKG, "crossings")
    ferry = gpd.GeoDataFrame([{"name": "cross-check ferry", "kind": "ferry", "delay_minutes": FERRY_DELAY,
                               "length_m": 0.0, "township": "", "geometry": shapely.Point(*FERRY_LONLAT)}], crs=4326)
    gpd.GeoDataFrame(pd.concat([crossings, ferry], ignore_index=True), crs=4326).to_file(
        folder / "crossings.gpkg", layer="crossings")
    fac = read_layer(BUNDLED_GPKG, "facilities")
    fac_utm = fac.to_crs(32646)
    zones = [{"type": "add_zone", "zone_id": "XC-NOGO-1", "kind": "no_go", "speed_factor": 0.0, "delay_minutes": 0.0,
              "valid_from": "2023-01-01", "valid_to": None, "wkt": _square_wkt(fac_utm, NOGO_AT)},
             {"type": "add_zone", "zone_id": "XC-NOGO-2", "kind": "no_go", "speed_factor": 0.0, "delay_minutes": 0.0,
              "valid_from": "2024-01-01", "valid_to": None, "wkt": _square_wkt(fac_utm, LATER_NOGO_AT)}]

    def zones_project(p):
        set_path("crossings", folder / "crossings.gpkg")(p)
        p["scenarios"] = [{"name": "nogo", "edits": zones}]

    def nozones_project(p):
        set_path("crossings", folder / "crossings.gpkg")(p)
        p["layers"] = [layer for layer in p["layers"] if layer["role"] != "conflict_zones"]

    def close3_project(p):
        edits = [{"type": "set_status", "fac_id": k, "status": s} | ({"date": d} if d else {})
                 for k, (d, s) in CLOSED.items()]
        edits.append({"type": "set_status", "fac_id": LATE_CLOSED, "status": "closed", "date": "2023-06-02"})
        p["scenarios"] = [{"name": "close3", "edits": edits}]

    project("zones", zones_project)
    project("nozones", nozones_project)
    project("close3", close3_project)
    fac[~fac.fac_id.isin(list(CLOSED))].to_file(folder / "fac_filtered.gpkg", layer="facilities")
    project("filtered", set_path("facilities", folder / "fac_filtered.gpkg"))
    return {"folder": folder, "zones": zones}


def _analyse(work, name, scenario=None):
    out = work["folder"] / f"out_{name}"
    argv = ["analyse", str(work["folder"] / f"{name}.covproj"), "--out", str(out), "--as-of", AS_OF,
            "--mode", "motorbike", "--cell-size", f"{CELL:g}", "--format", "gpkg", "--quiet"]
    assert main(argv + (["--scenario", scenario] if scenario else [])) == 0
    return _load(out)


def _load(out):
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["parameters"]["cell_size_m"] == CELL and run["parameters"]["mode"] == "motorbike"
    assert run["parameters"]["as_of"] == AS_OF
    read = read_tier_rasters(out)
    rasters = {tier: (minutes, alloc) for tier, (minutes, alloc, _, _) in read.items()}
    _, _, transform, crs = read["primary"]
    table = pd.read_csv(out / "allocation_facilities.csv")
    assert (table["value"].to_numpy() == np.arange(len(table))).all()
    layers = {n: read_layer(out / "coverage.gpkg", n) for n in ("villages", "townships", "catchments", "facilities")}
    return {"out": out, "run": run, "rasters": rasters, "transform": transform, "crs": crs,
            "lookup": table["fac_id"].to_numpy(dtype=object), "layers": layers}


@pytest.fixture(scope="module")
def zrun(work):
    return _analyse(work, "zones", "nogo")


@pytest.fixture(scope="module")
def nrun(work):
    return _analyse(work, "nozones")


@pytest.fixture(scope="module")
def srun(work):
    return _analyse(work, "close3", "close3")


@pytest.fixture(scope="module")
def frun(work):
    return _analyse(work, "filtered")


# ----------------------------------------------------------------------------- independent geometry


class Grid:
    def __init__(self, r):
        self.transform, self.crs = r["transform"], r["crs"]
        self.shape = r["rasters"]["primary"][0].shape

    def burn(self, geoms, all_touched=False):
        geoms = [g for g in geoms if g is not None and not g.is_empty]
        if not geoms:
            return np.zeros(self.shape, bool)
        return features.rasterize([(g, 1) for g in geoms], out_shape=self.shape, transform=self.transform,
                                  dtype="uint8", all_touched=all_touched).astype(bool)

    def cells(self, points):
        p = points.to_crs(self.crs)
        r, c = rowcol(self.transform, p.x.to_numpy(), p.y.to_numpy())
        return np.asarray(r, "int64"), np.asarray(c, "int64")

    def centres(self):
        rr, cc = np.mgrid[0:self.shape[0], 0:self.shape[1]]
        x, y = xy(self.transform, rr.ravel(), cc.ravel())
        return np.asarray(x).reshape(self.shape), np.asarray(y).reshape(self.shape)


@pytest.fixture(scope="module")
def grid(zrun, nrun):
    g = Grid(zrun)
    assert nrun["transform"] == g.transform and list(nrun["lookup"]) == list(zrun["lookup"])
    return g


@pytest.fixture(scope="module")
def zones(work, grid):
    """All conflict zones of the zones run (bundled + the scenario's), working CRS, with ``in_force``."""
    bundled = read_layer(BUNDLED_GPKG, "conflict_zones")
    added = gpd.GeoDataFrame([{k: e[k] for k in ("zone_id", "kind", "speed_factor", "delay_minutes", "valid_from",
                                                 "valid_to")} | {"geometry": shapely.from_wkt(e["wkt"])}
                              for e in work["zones"]], crs=4326)
    z = gpd.GeoDataFrame(pd.concat([bundled, added], ignore_index=True), crs=4326).to_crs(grid.crs)
    day = pd.Timestamp(AS_OF)
    start, end = pd.to_datetime(z["valid_from"], errors="coerce"), pd.to_datetime(z["valid_to"], errors="coerce")
    z["in_force"] = ((start.isna() | (start <= day)) & (end.isna() | (end >= day))).to_numpy()
    assert set(z.loc[z.in_force, "kind"]) == {"no_go", "restricted", "risk"}
    return z


@pytest.fixture(scope="module")
def zone_masks(zones, grid):
    """Cells whose centre lies in an in-force zone (as the friction burns polygons): no-go cells, the
    cells of any in-force zone, how many in-force zones cover each cell, and the entry-delay label of
    each cell (largest delay wins where zones overlap) with each label's delay, factor and zone id."""
    f = zones[zones.in_force]
    nogo = grid.burn(f.geometry[f.speed_factor == 0])
    later_nogo = grid.burn(zones.geometry[~zones.in_force & (zones.speed_factor == 0)])
    cover = np.zeros(grid.shape, "int32")
    for g in f.geometry:
        cover += grid.burn([g])
    delayed = f[f.delay_minutes.fillna(0) > 0].sort_values("delay_minutes", kind="stable")
    label = np.zeros(grid.shape, "int32")
    for k, g in enumerate(delayed.geometry, start=1):
        label[grid.burn([g])] = k
    return {"nogo": nogo, "later_nogo": later_nogo, "any": cover > 0, "cover": cover, "label": label,
            "delay": np.concatenate([[0.0], delayed.delay_minutes.to_numpy(float)]),
            "factor": np.concatenate([[1.0], delayed.speed_factor.to_numpy(float)]),
            "zone_id": np.concatenate([[None], delayed.zone_id.to_numpy(object)])}


def sources(minutes, alloc):
    """Facility index -> (row, col) of its source cell (0 minutes)."""
    zr, zc = np.nonzero(minutes == 0)
    return {int(alloc[r, c]): (r, c) for r, c in zip(zr, zc)}


# ----------------------------------------------------------------------------- 1. conflict zones


@pytest.mark.parametrize("tier", [t for t, _ in TIERS])
def test_no_go_cells_are_nodata_and_zones_never_make_travel_faster(zrun, nrun, zone_masks, tier):
    (mz, _), (mn, _) = zrun["rasters"][tier], nrun["rasters"][tier]
    nogo = zone_masks["nogo"]
    assert nogo.sum() > 400 and np.isfinite(mn[nogo]).all()  # reached without the zone
    assert np.isnan(mz[nogo]).all()
    assert np.isnan(mz[np.isnan(mn)]).all()  # a zone opens no cell
    both = np.isfinite(mz) & np.isfinite(mn)
    assert (mz[both] >= mn[both]).all()
    assert (mz[both] > mn[both] + 1.0).sum() > 10_000  # and the zones in force do slow travel


@pytest.mark.parametrize("tier", [t for t, _ in TIERS])
def test_cells_beyond_every_in_force_zones_influence_keep_their_time_and_facility(zrun, nrun, zone_masks, tier):
    """A cell whose no-zone shortest path touches no zone cell (nor a cell beside one: knight's moves
    straddle neighbours) keeps exactly its time and facility. Shortest-path trees inherit the facility,
    so the path of a cell of facility f runs through cells of f no later than it: it avoids the zones
    when its time is below the earliest zone-side cell of f. Zones not in force (2021, 2022 and the
    2024 no-go square) are not in the mask: their cells are held to the same rule."""
    (mz, az), (mn, an) = zrun["rasters"][tier], nrun["rasters"][tier]
    near = ndimage.binary_dilation(zone_masks["any"], structure=np.ones((5, 5), bool))
    first = np.full(an.max() + 1, np.inf)
    hit = near & np.isfinite(mn)
    np.minimum.at(first, an[hit], mn[hit])
    clear = np.isfinite(mn) & (mn < first[np.maximum(an, 0)])
    assert clear.sum() > 0.3 * np.isfinite(mn).sum()
    bad = clear & ~((mz == mn) & (az == an))
    assert not bad.any(), f"{bad.sum()} cells changed, worst {np.nanmax(np.abs(mz - mn)[bad]):.4f} min"


def test_zone_not_yet_in_force_has_no_effect(zrun, nrun, zone_masks):
    later, fac = zone_masks["later_nogo"], zrun["lookup"]
    k = int(np.flatnonzero(fac == LATER_NOGO_AT)[0])
    for tier, _ in TIERS:
        (mz, az), (mn, an) = zrun["rasters"][tier], nrun["rasters"][tier]
        assert np.array_equal(mz[later], mn[later]) and np.array_equal(az[later], an[later])
        assert np.isfinite(mz[later]).all()
    assert k in sources(*zrun["rasters"]["primary"])
    assert not any(LATER_NOGO_AT in p and "left out" in p for p in zrun["run"]["problems"])


@pytest.mark.parametrize("tier", [t for t, _ in TIERS])
def test_entry_delay_is_paid_to_reach_a_facility_inside_a_delay_zone(zrun, nrun, zone_masks, tier):
    """A cell outside the zone of its facility's source cell reaches the facility only by entering the
    zone: at least the zone's delay (10 min risk, 30 min restricted) above its time without zones; and
    the cheapest such cell pays it once, not twice."""
    (mz, az), (mn, _) = zrun["rasters"][tier], nrun["rasters"][tier]
    label, delay = zone_masks["label"], zone_masks["delay"]
    checked, kinds = 0, set()
    for k, (r, c) in sources(mz, az).items():
        lab = label[r, c]
        if lab == 0:
            continue
        out = (az == k) & (label != lab) & np.isfinite(mz)
        if not out.any():
            continue
        extra = mz[out] - mn[out]
        assert (extra >= delay[lab] - NOISE).all(), (zrun["lookup"][k], zone_masks["zone_id"][lab], extra.min())
        assert extra.min() < 2 * delay[lab]
        checked += int(out.sum())
        kinds.add(delay[lab])
    assert checked > 10_000 and kinds == {10.0, 30.0}


@pytest.mark.parametrize("tier", [t for t, _ in TIERS])
def test_speed_factor_inside_a_zone_scales_the_time_near_its_facility(zrun, nrun, zone_masks, tier):
    """Cells of a single zone whose no-zone path from their facility (inside the same zone) stays in the
    zone: every move is slower by 1 / speed_factor, so the time is exactly time_without / factor (to
    float32 precision) while that is below time_without + delay (leaving and re-entering costs the delay)."""
    (mz, az), (mn, an) = zrun["rasters"][tier], nrun["rasters"][tier]
    label, cover = zone_masks["label"], zone_masks["cover"]
    n, factors = 0, set()
    for k, (r, c) in sources(mz, az).items():
        lab = label[r, c]
        if lab == 0:
            continue
        inside = (label == lab) & (cover == 1)
        others = (an == k) & ~inside & np.isfinite(mn)
        first = mn[others].min() if others.any() else np.inf
        s, d = zone_masks["factor"][lab], zone_masks["delay"][lab]
        kept = inside & (an == k) & (az == k) & (mn > 0) & (mn < first)
        kept &= mn / s < mn + d
        if not kept.any():
            continue
        assert np.allclose(mz[kept], mn[kept] / s, rtol=2e-6, atol=NOISE), (zrun["lookup"][k], s)
        n += int(kept.sum())
        factors.add(s)
    assert n > 800 and factors == {0.5, 0.8}


# ----------------------------------------------------------------------------- villages in no-go zones


@pytest.fixture(scope="module")
def villages_src():
    return read_layer(BUNDLED_GPKG, "villages")


@pytest.fixture(scope="module")
def in_nogo(villages_src, zones):
    zone = zones[zones.in_force & (zones.speed_factor == 0)].geometry.union_all()
    return villages_src.geometry.to_crs(zones.crs).within(zone).to_numpy()


def test_villages_in_a_no_go_zone_without_a_time_are_without_access_and_counted(zrun, villages_src, in_nogo, grid,
                                                                                 zone_masks):
    v = zrun["layers"]["villages"]
    none = v["prim_min"].isna().to_numpy() & v["sec_min"].isna().to_numpy()
    assert in_nogo.sum() >= 40 and (none & in_nogo).sum() >= 35
    assert (v["gap"][none].to_numpy() == "both").all()
    r, c = grid.cells(villages_src.geometry)
    on_nogo = zone_masks["nogo"][r, c]
    [text] = [p for p in zrun["run"]["problems"] if "cannot reach any counting facility" in p]
    n, pop = re.search(r"(\d+) villages \(([\d,]+) people\)", text).groups()
    assert int(n) == int(none.sum()) and int(pop.replace(",", "")) == int(v.loc[none, "pop"].sum())
    assert int(re.search(r"(\d+) lie in a no-go zone", text).group(1)) == int((none & on_nogo).sum())


def test_no_village_inside_an_in_force_no_go_zone_has_a_travel_time(zrun, in_nogo):
    v = zrun["layers"]["villages"]
    timed = v["prim_min"].notna().to_numpy() | v["sec_min"].notna().to_numpy()
    assert not (timed & in_nogo).any(), list(v.loc[timed & in_nogo, "pcode"])


@pytest.mark.parametrize("which", ["zrun", "nrun"])
@pytest.mark.parametrize("tier,short", TIERS)
def test_village_minutes_are_the_raster_or_a_neighbours_plus_the_walk(which, request, villages_src, grid, zone_masks,
                                                                        tier, short):
    """The village table against the rasters: own cell, else (a barrier cell) the best of the 8
    neighbours (the ring at 500 m cells) plus the straight way at the motorbike's unmapped-track speed;
    a village on a cell of the in-force no-go zone borrows nothing (no-go is impassable)."""
    r = request.getfixturevalue(which)
    p = r["run"]["parameters"]
    walk = p["speeds_kmh"]["motorbike"]["off_road"] or p["unmapped_kmh"]["motorbike"]
    minutes, alloc = r["rasters"][tier]
    rows, cols = grid.cells(villages_src.geometry)
    pts = villages_src.geometry.to_crs(grid.crs)
    t, a = minutes[rows, cols].copy(), alloc[rows, cols].copy()
    offsets = np.array([(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)])
    nogo = zone_masks["nogo"] if which == "zrun" else np.zeros_like(zone_masks["nogo"])
    for i in np.flatnonzero(np.isnan(t) & ~nogo[rows, cols]):
        rr, cc = rows[i] + offsets[:, 0], cols[i] + offsets[:, 1]
        cx, cy = xy(grid.transform, rr, cc)
        around = minutes[rr, cc] + np.hypot(np.asarray(cx) - pts.x.iloc[i], np.asarray(cy) - pts.y.iloc[i]) \
            / (walk * 1000 / 60)
        if np.isfinite(around).any():
            k = int(np.nanargmin(around))
            t[i], a[i] = around[k], alloc[rr[k], cc[k]]
    v = r["layers"]["villages"]
    table = v[f"{short}_min"].to_numpy(float)
    assert (np.isnan(table) == np.isnan(t)).all()
    ok = np.isfinite(t)
    assert (table[ok] >= t[ok] - NOISE).all() and (table[ok] < t[ok] + 0.1).all()
    fac = np.where(a >= 0, r["lookup"][np.maximum(a, 0)], None)
    assert (v[f"{short}_fac"].fillna("-").to_numpy() == pd.Series(fac).fillna("-").to_numpy()).all()


# ----------------------------------------------------------------------------- 2. facilities in no-go zones


def test_facility_inside_an_in_force_no_go_zone_is_left_out_and_never_allocated(zrun, nrun, grid, zone_masks):
    fac = read_layer(BUNDLED_GPKG, "facilities")
    r, c = grid.cells(fac.geometry)
    expect = set(fac.fac_id[zone_masks["nogo"][r, c]])
    said = {m.group(1) for p in zrun["run"]["problems"]
            if (m := re.search(r"facility (\S+) \(.*\) lies in a no-go zone .* it is left out", p))}
    assert said == expect == {NOGO_AT}
    k = int(np.flatnonzero(zrun["lookup"] == NOGO_AT)[0])
    for tier, _ in TIERS:
        assert not (zrun["rasters"][tier][1] == k).any()
        assert (nrun["rasters"][tier][1] == k).sum() > 1000
        assert k not in sources(*zrun["rasters"][tier])
    f = zrun["layers"]["facilities"].set_index("fac_id")
    assert np.isnan(f.loc[NOGO_AT, "ref_min"])
    assert not zrun["layers"]["villages"][["prim_fac", "sec_fac"]].isin([NOGO_AT]).any().any()
    assert not (zrun["layers"]["catchments"]["fac_id"] == NOGO_AT).any()


def test_facility_left_out_is_not_reported_as_counted(zrun):
    f, h = zrun["layers"]["facilities"].set_index("fac_id"), zrun["run"]["headline"]
    in_search = {tier: len(sources(*zrun["rasters"][tier])) for tier, _ in TIERS}
    assert f.loc[NOGO_AT, "counts_p"] == 0 and f.loc[NOGO_AT, "counts_s"] == 0
    assert h["facilities_counted_primary"] == in_search["primary"]
    assert h["facilities_counted_secondary"] == in_search["secondary"]


# ----------------------------------------------------------------------------- 3. rivers, bridges, a ferry


@pytest.fixture(scope="module")
def water(grid):
    """Major and minor water as the README describes the barrier: polygons (cells whose centre is
    inside) and every cell their outlines and the river lines touch; minor water only off the roads."""
    feats = pd.concat([read_layer(BUNDLED_GPKG, "rivers")[["major", "geometry"]],
                       read_layer(BUNDLED_GPKG, "water")[["major", "geometry"]]], ignore_index=True).to_crs(grid.crs)

    def burn(gs):
        poly = [g for g in gs if g.geom_type in ("Polygon", "MultiPolygon")]
        lines = [g.boundary for g in poly] + [g for g in gs if g.geom_type not in ("Polygon", "MultiPolygon")]
        return grid.burn(poly) | grid.burn(lines, all_touched=True)

    major = feats["major"].astype(bool).to_numpy()
    roads = read_layer(BUNDLED_GPKG, "roads").to_crs(grid.crs)
    road = grid.burn(roads.geometry)
    return {"major": burn(feats.geometry[major]), "minor": burn(feats.geometry[~major]), "road": road}


@pytest.fixture(scope="module")
def crossings(work, grid):
    return read_layer(work["folder"] / "crossings.gpkg").to_crs(grid.crs)


@pytest.mark.parametrize("which", ["zrun", "nrun"])
def test_water_cells_are_nodata_except_where_a_crossing_opens_them(which, request, grid, water, crossings):
    """Reached water cells lie within the opened disk of a crossing: the crossing snapped (<= 500 m), the
    disk's radius max(length / 2, 1.5 cells) + 1 cell, a touched cell's centre up to half a diagonal
    beyond. Every other cell of the major rivers, and of minor water off the roads, is nodata."""
    r = request.getfixturevalue(which)
    reach = CROSSING_SNAP_M + max(crossings["length_m"].fillna(0).max() / 2, MIN_LIFT_CELLS * CELL) + CELL \
        + CELL * 2 ** 0.5 / 2
    cx, cy = grid.centres()
    tree = shapely.STRtree(crossings.geometry.values)
    for tier, _ in TIERS:
        minutes = r["rasters"][tier][0]
        for kind in ("major", "minor"):
            mask = water[kind] & ~water["road"] if kind == "minor" else water[kind]
            rr, cc = np.nonzero(mask & np.isfinite(minutes))
            _, d = tree.query_nearest(shapely.points(cx[rr, cc], cy[rr, cc]), return_distance=True, all_matches=False)
            assert (d <= reach).all(), (tier, kind, len(rr), d.max())
            assert np.isnan(minutes[mask]).mean() > 0.9
        assert (water["major"] & np.isfinite(minutes)).sum() > 100  # bridges do open the rivers


def test_roads_cross_minor_water(nrun, grid, water):
    """Minor water on a road is passable: such a cell with a reached neighbour is reached."""
    townships = read_layer(BUNDLED_GPKG, "townships").to_crs(grid.crs)
    study = grid.burn([shapely.union_all(townships.geometry.values).buffer(1000.0)], all_touched=True)
    cells = water["minor"] & water["road"] & ~water["major"] & study
    for tier, _ in TIERS:
        minutes = nrun["rasters"][tier][0]
        near = ndimage.maximum_filter(np.isfinite(minutes), size=3)
        assert cells.sum() > 20 and np.isfinite(minutes[cells & near]).all()


@pytest.mark.parametrize("which", ["zrun", "nrun"])
def test_no_path_jumps_a_barrier(which, request):
    """Each 8-connected patch of reached cells holds the source cell of every facility its cells are
    allocated to: no move (a knight's move across a river line, a corner) lands across a barrier."""
    r = request.getfixturevalue(which)
    for tier, _ in TIERS:
        minutes, alloc = r["rasters"][tier]
        lab, _ = ndimage.label(np.isfinite(minutes), structure=np.ones((3, 3)))
        patch_of_source = np.zeros(alloc.max() + 1, "int64")
        for k, (sr, sc) in sources(minutes, alloc).items():
            patch_of_source[k] = lab[sr, sc]
        rr, cc = np.nonzero(np.isfinite(minutes))
        assert (patch_of_source[alloc[rr, cc]] == lab[rr, cc]).all()


def test_ferry_delay_is_paid_on_boarding_only(nrun, grid):
    """Around the ferry (its disk: cells within max(0 / 2, 1.5 cells) + 1 cell = 1250 m of it, where it
    opens the water; boarding is entering that water or a cell beside it): between 8-neighbours a move
    costs at most sqrt 2 x 500 m at the slowest passable speed (4 km/h across opened water: 10.6 min)
    plus, boarding in the patient's direction, the 20 min delay. Out of the disk the times jump by more
    than a move can cost: the delay is paid; into it by no more."""
    p = gpd.GeoSeries([shapely.Point(*FERRY_LONLAT)], crs=4326).to_crs(grid.crs).iloc[0]
    radius = MIN_LIFT_CELLS * CELL + CELL
    cx, cy = grid.centres()
    gap = np.hypot(np.maximum(np.abs(cx - p.x) - CELL / 2, 0), np.maximum(np.abs(cy - p.y) - CELL / 2, 0))
    inside, outside = gap <= radius - 10, gap > radius + 10
    slowest = 2 ** 0.5 * CELL / (4.0 * 1000 / 60)
    biggest = 0.0
    for tier, _ in TIERS:
        m = nrun["rasters"][tier][0]
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if (dr, dc) == (0, 0):
                    continue
                ur, uc = np.nonzero(inside & np.isfinite(m))
                vr, vc = ur + dr, uc + dc
                ok = outside[vr, vc] & np.isfinite(m[vr, vc])
                jump = m[vr[ok], vc[ok]] - m[ur[ok], uc[ok]]  # out of the disk: patient boards
                assert (jump <= slowest + FERRY_DELAY + NOISE).all() and (-jump <= slowest + NOISE).all()
                biggest = max(biggest, jump.max(initial=0.0))
    assert slowest + 5.0 < biggest <= slowest + FERRY_DELAY + NOISE


# ----------------------------------------------------------------------------- 5. motorbike on the roads


@pytest.fixture(scope="module")
def road_classes(nrun, grid):
    roads = read_layer(BUNDLED_GPKG, "roads").to_crs(grid.crs)
    main_ = grid.burn(roads.geometry[roads.road_class == "main"])
    second = grid.burn(roads.geometry[roads.road_class == "secondary"]) & ~main_
    return roads, main_, second


def _ferry_area(grid, cells=4):
    r, c = grid.cells(gpd.GeoSeries([shapely.Point(*FERRY_LONLAT)], crs=4326))
    out = np.zeros(grid.shape, bool)
    out[r[0] - cells:r[0] + cells + 1, c[0] - cells:c[0] + cells + 1] = True
    return out


@pytest.mark.parametrize("tier", [t for t, _ in TIERS])
def test_neighbouring_road_cells_differ_by_at_most_the_road_speed_move(nrun, grid, road_classes, tier):
    """Triangle inequality on the road: two 8-neighbouring cells of a road class differ by at most the
    move between them at that class's speed (run.json speeds_kmh), and most pairs by exactly it."""
    _, main_, second = road_classes
    speeds = nrun["run"]["parameters"]["speeds_kmh"]["motorbike"]
    m = nrun["rasters"][tier][0]
    away = ~_ferry_area(grid)
    for mask, kmh in ((main_, speeds["main"]), (second, speeds["secondary"])):
        mask = mask & away
        pairs = exact = 0
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
            a = mask[2:-2, 2:-2] & mask[2 + dr:mask.shape[0] - 2 + dr, 2 + dc:mask.shape[1] - 2 + dc]
            ta = m[2:-2, 2:-2]
            tb = m[2 + dr:m.shape[0] - 2 + dr, 2 + dc:m.shape[1] - 2 + dc]
            ok = a & np.isfinite(ta) & np.isfinite(tb)
            move = CELL * np.hypot(dr, dc) / 1000 * 60 / kmh
            d = np.abs(ta[ok] - tb[ok])
            assert (d <= move * (1 + 1e-6) + NOISE).all(), (kmh, (d - move).max())
            pairs += int(ok.sum())
            exact += int((np.abs(d - move) <= NOISE).sum())
        assert pairs > 2000 and exact > 0.4 * pairs


def _metric16(dr, dc):
    """Shortest path length (cells) between two cells with the 16-neighbour stencil: moves (1,0), (1,1),
    (2,1) of lengths 1, sqrt 2, sqrt 5. Its ratio to the straight line is at most 1.0275 (at 13.3 deg)."""
    a, b = max(abs(dr), abs(dc)), min(abs(dr), abs(dc))
    return (a - 2 * b) + 5 ** 0.5 * b if 2 * b <= a else 5 ** 0.5 * (a - b) + 2 ** 0.5 * (2 * b - a)


def _straight_runs(roads, klass, min_m=5000.0, tol_m=100.0):
    """(length, start, end) of maximal vertex runs of the class's roads that stay within tol_m of their chord."""
    out = []
    for g in roads.geometry[roads.road_class == klass]:
        for part in shapely.get_parts(g):
            co = np.asarray(part.coords)
            s = 0
            while s < len(co) - 1:
                e = s + 1
                while e + 1 < len(co):
                    chord = shapely.LineString([co[s], co[e + 1]])
                    if shapely.distance(shapely.points(co[s:e + 2]), chord).max() > tol_m:
                        break
                    e += 1
                if np.hypot(*(co[e] - co[s])) >= min_m:
                    out.append((np.hypot(*(co[e] - co[s])), co[s], co[e]))
                s = e
    return sorted(out, key=lambda x: -x[0])


def test_time_gradient_along_straight_main_roads_is_the_road_speed(nrun, grid, road_classes):
    """Along a straight main-road stretch (>= 5 km, both ends on the road's cells, one facility), the
    time difference never exceeds the 16-neighbour path along the road at 40 km/h: 60/40 min per km x
    the stencil factor of its direction (1 to 1.0275), and where it is at least the straight line at
    40 km/h (the facility lies beyond one end) it lies between the two, mostly exactly on the stencil
    path: e.g. the 9.7 km Kale-Tamu stretch at 14 deg to the grid gives 1.5 x 1.0272 min per km."""
    roads, main_, _ = road_classes
    kmh = nrun["run"]["parameters"]["speeds_kmh"]["motorbike"]["main"]
    along, exact, longest = 0, 0, 0.0
    for tier, _ in TIERS:
        m, a = nrun["rasters"][tier]
        for length, p0, p1 in _straight_runs(roads, "main"):
            (r0, r1), (c0, c1) = rowcol(grid.transform, [p0[0], p1[0]], [p0[1], p1[1]])
            if not (main_[r0, c0] and main_[r1, c1] and np.isfinite(m[r0, c0]) and np.isfinite(m[r1, c1])
                    and a[r0, c0] == a[r1, c1]):
                continue
            dt = abs(m[r1, c1] - m[r0, c0])
            per_cell = CELL / 1000 * 60 / kmh
            stencil, straight = _metric16(r1 - r0, c1 - c0) * per_cell, np.hypot(r1 - r0, c1 - c0) * per_cell
            assert straight <= stencil <= 1.0275 * straight
            assert dt <= stencil + NOISE
            if dt >= straight - NOISE:  # the time grows along the stretch at road pace at least
                along += 1
                exact += abs(dt - stencil) <= NOISE
                longest = max(longest, length if abs(dt - stencil) <= NOISE else 0.0)
    assert along >= 10 and exact >= 0.75 * along and longest > 9000


@pytest.mark.parametrize("which", ["zrun", "nrun", "srun"])
def test_no_cell_is_reached_faster_than_the_straight_line_at_the_top_speed(which, request):
    r = request.getfixturevalue(which)
    p = r["run"]["parameters"]
    table = dict(p["speeds_kmh"]["motorbike"], unmapped=p["unmapped_kmh"]["motorbike"])
    top = max(s for s in table.values() if s)
    for tier, _ in TIERS:
        minutes, alloc = r["rasters"][tier]
        src = sources(minutes, alloc)
        sr, sc = np.zeros(alloc.max() + 1, "int64"), np.zeros(alloc.max() + 1, "int64")
        for k, (rr, cc) in src.items():
            sr[k], sc[k] = rr, cc
        rr, cc = np.nonzero(np.isfinite(minutes))
        k = alloc[rr, cc]
        assert np.isin(k, list(src)).all()
        metres = CELL * np.hypot(rr - sr[k], cc - sc[k])
        assert (minutes[rr, cc] >= metres / (top * 1000 / 60) - 1e-3).all()


# ----------------------------------------------------------------------------- 4. a scenario of closures


def test_scenario_closures_equal_a_layer_without_the_facilities(srun, frun):
    assert srun["run"]["scenario_name"] == "close3"
    for tier, _ in TIERS:
        (ms, as_), (mf, af) = srun["rasters"][tier], frun["rasters"][tier]
        assert np.array_equal(ms, mf, equal_nan=True)
        fs = np.where(as_ >= 0, srun["lookup"][np.maximum(as_, 0)], None)
        ff = np.where(af >= 0, frun["lookup"][np.maximum(af, 0)], None)
        assert (fs == ff).all()
        assert not np.isin(fs, list(CLOSED)).any()
    assert srun["run"]["headline"] == frun["run"]["headline"]
    for name in ("villages", "townships", "catchments"):
        a, b = srun["layers"][name], frun["layers"][name]
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
        assert a.geometry.geom_equals_exact(b.geometry, 0).all()
    for name in ("townships.csv", "villages.csv", "coverage_curve.csv"):
        assert (srun["out"] / name).read_text(encoding="utf-8") == (frun["out"] / name).read_text(encoding="utf-8")


def test_scenario_facilities_layer_shows_the_edits_applied_on_the_date(srun, frun):
    fs, ff = srun["layers"]["facilities"].set_index("fac_id"), frun["layers"]["facilities"].set_index("fac_id")
    src = read_layer(BUNDLED_GPKG, "facilities")
    assert list(fs.index) == list(src.fac_id) and set(ff.index) == set(src.fac_id) - set(CLOSED)
    for fac_id, (date, status) in CLOSED.items():
        assert fs.loc[fac_id, "status"] == status and fs.loc[fac_id, "counts_p"] == 0
        assert fs.loc[fac_id, "counts_s"] == 0
    assert fs.loc[LATE_CLOSED, "status"] == "unknown" and fs.loc[LATE_CLOSED, "counts_p"] == 1
    rest = fs.drop(index=list(CLOSED)).loc[ff.index]
    for col in ("status", "counts_p", "counts_s", "ref_min", "capacity"):
        assert rest[col].fillna(-1).tolist() == ff[col].fillna(-1).tolist(), col
    assert srun["run"]["headline"]["facilities_counted_primary"] == len(src) - len(CLOSED)


# ----------------------------------------------------------------------------- 6. region figures


@pytest.mark.parametrize("which", ["zrun", "nrun", "srun"])
def test_headline_equals_the_sums_over_villages_and_over_townships(which, request, villages_src):
    r = request.getfixturevalue(which)
    h, p = r["run"]["headline"], r["run"]["parameters"]
    v, t = r["layers"]["villages"], r["layers"]["townships"]
    pop = villages_src["pop_est_2014"].to_numpy(float)
    assert (v["pop"].to_numpy(float) == pop).all()
    ok_p = v["prim_min"].to_numpy() <= p["primary_minutes"]
    ok_s = v["sec_min"].to_numpy() <= p["secondary_minutes"]
    assert h["villages"] == len(v) == len(villages_src)
    assert h["population"] == pop.sum() == t["pop"].sum()
    assert h["pop_no_primary"] == pop[~ok_p].sum() == (t["pop"] - t["pop_prim"]).sum()
    assert h["pop_no_secondary"] == pop[~ok_s].sum() == (t["pop"] - t["pop_sec"]).sum()
    assert h["villages_no_primary"] == int((~ok_p).sum()) == t["vil_noprim"].sum()
    assert h["villages_no_secondary"] == int((~ok_s).sum()) == t["vil_nosec"].sum()
    assert h["share_primary"] == pytest.approx(pop[ok_p].sum() / pop.sum(), abs=1e-12)
    assert h["share_secondary"] == pytest.approx(pop[ok_s].sum() / pop.sum(), abs=1e-12)
    assert h["pop_served_capacity"] == v["served"].sum() == t["served"].sum()
    d = pd.DataFrame({"ts": villages_src["township_pcode"].to_numpy(), "pop": pop,
                      "pop_prim": np.where(ok_p, pop, 0.0), "pop_sec": np.where(ok_s, pop, 0.0),
                      "vil_noprim": (~ok_p).astype(int), "vil_nosec": (~ok_s).astype(int)})
    expect = d.groupby("ts").sum()
    tt = t.set_index("pcode").loc[expect.index]
    for col in ("pop", "pop_prim", "pop_sec", "vil_noprim", "vil_nosec"):
        assert (tt[col].to_numpy() == expect[col].to_numpy()).all(), col
