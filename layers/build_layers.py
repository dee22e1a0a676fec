"""Build the bundled Sagaing dataset in ``layers/`` from ``../shared/data`` (see SOURCES.md there).

Run from the repository root:  python layers/build_layers.py [--shared ../shared/data]
The outputs are committed, so the app and its tests never need ``../shared``.
Every derivation is documented in ``layers/README.md``; keep the two in step.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
WORK_CRS = 32646  # UTM 46N, metres

# Conflict-zone method (documented in layers/README.md).
ZONE_YEARS = (2021, 2022, 2023)
ZONE_CELL_M = 10_000          # events are counted per 10 km x 10 km cell of UTM 46N
ZONE_MAX_WHERE_PREC = 2       # only events located to within 25 km (UCDP where_prec 1-2)
ZONE_PLACE_CAP = 5            # events at one point count at most this many toward their cell's class
ZONE_CLASSES = [              # (min events in a cell in one year, kind, speed_factor, delay_minutes)
    (15, "no_go", 0.0, 0.0),
    (5, "restricted", 0.5, 30.0),
    (2, "risk", 0.8, 10.0),
]
WARD_TOLERANCE_M = 1_000      # a ward point farther than this outside its own township is misplaced
STUDY_BUFFER_M = 10_000       # events up to 10 km outside the region count (fighting near the border)

LEVELS = {"General": ("General hospital", True), "Township": ("Township hospital", True),
          "Station": ("Station hospital", False)}
ROAD_CLASSES = {"Main": "main", "Secondary": "secondary"}
MAJOR_CENTRELINES = ("Ayeyarwady River", "Chindwin River")  # with MIMU's major polygons (incl. Mu): need a crossing
SAGAING_LANDCOVER = {0: "water", 1: "forest", 2: "cropland", 3: "shrub", 4: "grass", 5: "bare", 6: "built-up"}


def build(shared: Path, out: Path) -> dict:
    core = shared / "sagaing" / "sagaing_core.gpkg"
    gpkg = out / "sagaing.gpkg"
    tmp = out / ".sagaing.tmp.gpkg"
    tmp.unlink(missing_ok=True)
    counts = {}

    def write(gdf, layer):
        gdf = gdf.reset_index(drop=True)
        gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
        counts[layer] = len(gdf)

    region = gpd.read_file(core, layer="region_sagaing")[["ST", "ST_PCODE", "geometry"]]
    write(region.rename(columns={"ST": "name_en", "ST_PCODE": "pcode"}), "region")

    ts = gpd.read_file(core, layer="townships")
    townships = gpd.GeoDataFrame({
        "pcode": ts.TS_PCODE, "name_en": ts.TS, "name_my": ts.TS_MMR, "district": ts.DT,
        "population": ts.cen2014_pop_t.astype("int64"), "pop_urban": ts.cen2014_pop_u.astype("int64"),
        "pop_rural": ts.cen2014_pop_r.round().astype("int64"), "area_km2": ts.area_km2,
    }, geometry=ts.geometry, crs=ts.crs).sort_values("pcode")
    kontur = pd.read_csv(shared / "sagaing" / "kontur2023_township_population.csv")
    townships["pop_kontur2023"] = townships.pcode.map(
        kontur.set_index("adm3_pcode").total_population).round().astype("int64")
    write(townships, "townships")

    villages = village_population(shared, core, townships)
    write(villages, "villages")

    h = gpd.read_file(core, layer="hospitals_public_mohs2020")
    h = h.sort_values(["TS_PCODE", "lvlHsp_eng", "nmHsp_eng"]).reset_index(drop=True)
    seq = h.groupby("TS_PCODE").cumcount() + 1
    facilities = gpd.GeoDataFrame({
        "fac_id": [f"{p}-H{n:02d}" for p, n in zip(h.TS_PCODE, seq)],
        "name": h.nmHsp_eng.str.strip(),
        "level": h.lvlHsp_eng.map(lambda x: LEVELS[x][0]),
        "provides_primary": True,
        "provides_secondary": h.lvlHsp_eng.map(lambda x: LEVELS[x][1]),
        "status": "unknown",
        "status_date": dt.date(2020, 1, 1).isoformat(),
        "operator": "MoHS (public)",
        "beds": pd.to_numeric(h.bedClass, errors="coerce"),
        "township_pcode": h.TS_PCODE,
        "source": "MIMU, MoHS public hospitals list 2020",
    }, geometry=h.geometry, crs=h.crs)
    write(facilities, "facilities")

    zones, events = conflict_zones(shared / "sagaing" / "ucdp_ged231_myanmar.gpkg", region)
    write(zones, "conflict_zones")
    write(events, "conflict_events")

    r = gpd.read_file(core, layer="roads_main_secondary")
    roads = gpd.GeoDataFrame({"road_class": r.Road_Type.map(ROAD_CLASSES), "route": r.Route},
                             geometry=r.geometry, crs=r.crs)
    write(roads, "roads")

    rc = gpd.read_file(core, layer="river_centrelines")
    write(gpd.GeoDataFrame({"name": rc.Name, "major": rc.Name.isin(MAJOR_CENTRELINES)}, geometry=rc.geometry,
                           crs=rc.crs), "rivers")
    rp = gpd.read_file(core, layer="river_polygons")
    # major-river rule (layers/README.md): MIMU's major polygons, and unnamed polygons a major centreline runs
    # through; roads cross every other water body (culverts, fords and small bridges MIMU does not list)
    big = shapely.union_all(rc[rc.Name.isin(MAJOR_CENTRELINES)].to_crs(WORK_CRS).geometry.values)
    rp_major = (rp.major.astype(int) == 1) | rp.to_crs(WORK_CRS).intersects(big)
    rs = gpd.read_file(core, layer="reservoirs")
    water = pd.concat([
        gpd.GeoDataFrame({"name": rp.nm.replace("", None), "kind": "river", "major": rp_major.to_numpy()},
                         geometry=rp.geometry, crs=rp.crs),
        gpd.GeoDataFrame({"name": rs.Name.replace("", None), "kind": rs.Type.str.lower().replace("", None),
                          "major": False}, geometry=rs.geometry, crs=rs.crs),
    ], ignore_index=True)
    water["geometry"] = shapely.make_valid(water.geometry.values)  # 4 reservoir polygons are invalid
    water = water.explode(index_parts=False)
    water = water[water.geom_type == "Polygon"].dissolve(by=["name", "kind", "major"], dropna=False,
                                                         as_index=False)
    write(water, "water")

    b = gpd.read_file(core, layer="bridges")
    crossings = gpd.GeoDataFrame({
        "name": b.nmEng.replace("", None), "kind": "bridge", "delay_minutes": 0.0,
        "length_m": (b.length_ft * 0.3048).round(1), "township": b.nmTsEng,
    }, geometry=b.geometry, crs=b.crs)
    write(crossings, "crossings")

    towns = gpd.read_file(core, layer="towns")
    write(gpd.GeoDataFrame({"name_en": towns.Town, "name_my": towns.Town_MMR4, "township": towns.Township,
                            "level": towns.Level}, geometry=towns.geometry, crs=towns.crs), "towns")

    states = gpd.read_file(core, layer="states_regions_national")
    states["geometry"] = states.geometry.simplify(0.01)
    write(states.rename(columns={"st": "name_en", "st_pcode": "pcode"})[["name_en", "pcode", "geometry"]],
          "myanmar_states")

    tmp.replace(gpkg)

    lc_src = shared / "sagaing" / "landcover_sample"
    shutil.copyfile(lc_src / "sentinel2_landcover_7class.tif", out / "landcover_sentinel2_sample.tif")
    shutil.copyfile(lc_src / "legend.csv", out / "landcover_sentinel2_sample_legend.csv")
    write_project(out)
    return counts


def _split_equally(total: int, n: int) -> np.ndarray:
    """``total`` people over ``n`` places as whole numbers summing exactly to ``total``."""
    base = np.full(n, total // n, dtype="int64")
    base[: total - base.sum()] += 1
    return base


def _wards_inside_townships(w: gpd.GeoDataFrame, townships: gpd.GeoDataFrame, towns: gpd.GeoDataFrame):
    """Wards whose MIMU point lies outside their own township (by more than WARD_TOLERANCE_M; 30 in
    Sagaing, e.g. Lahe and Kale wards at Sagaing town's point) move to their town in the MIMU towns layer
    (name match within the township), else the township's main town, else its representative point.
    Returns the wards and a mask of those moved."""
    import difflib

    tsw = townships.set_index("pcode").geometry.to_crs(WORK_CRS)
    ww = w.to_crs(WORK_CRS)
    dist = ww.geometry.distance(gpd.GeoSeries(w.township_pcode.map(tsw).values, crs=WORK_CRS, index=w.index))
    moved = (dist > WARD_TOLERANCE_M).to_numpy()
    tw = towns.to_crs(WORK_CRS)
    rank = {"State/Region Capital": 0, "District Capital": 1, "Main Town": 2}
    key = lambda name: str(name).lower().replace(" town", "").replace(" ", "").replace("-", "")  # noqa: E731
    geom = w.geometry.values.copy()
    for i in np.flatnonzero(moved):
        poly = tsw[w.township_pcode.iloc[i]]
        local = tw[tw.within(poly.buffer(WARD_TOLERANCE_M))]
        names = {key(t): j for j, t in zip(local.index, local.Town)}
        match = difflib.get_close_matches(key(w.town_eng.iloc[i]), list(names), n=1, cutoff=0.75)
        if match:
            pick = names[match[0]]
        elif len(local):
            pick = local.Level.map(rank).fillna(9).sort_values(kind="stable").index[0]
        else:
            pick = None
        point = local.geometry[pick] if pick is not None else poly.representative_point()
        geom[i] = gpd.GeoSeries([point], crs=WORK_CRS).to_crs(w.crs).iloc[0]
    return w.set_geometry(gpd.GeoSeries(geom, crs=w.crs, index=w.index)), moved


def village_population(shared: Path, core: Path, townships: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Villages and urban wards carrying the whole 2014 census population (method in layers/README.md).

    ``pop_basis`` says where each point comes from: ``observed`` (a located MIMU village),
    ``placed_tract`` / ``placed_township`` (a village without coordinates, put at its tract's central
    located village, else at the township's representative point), ``urban_ward`` (an urban ward at
    its MIMU point, mostly its town's) or ``urban_town`` (a ward whose MIMU point lies outside its own
    township, moved to its town). Populations are the census township rural / urban totals split equally.
    """
    v = gpd.read_file(core, layer="villages")
    located = gpd.GeoDataFrame({
        "pcode": v.village_pcode.astype(str), "name_en": v.village_eng, "name_my": v.village_mmr,
        "township_pcode": v.township_pcode, "tract_pcode": v.village_tract_pcode,
        "tract_en": v.village_tract_eng, "pop_est_2014": v.pop_est_equal_share_2014.astype("int64"),
        "pop_basis": "observed",
    }, geometry=v.geometry, crs=v.crs)

    u = pd.read_csv(shared / "sagaing" / "sagaing_villages_unlocated.csv", dtype={"village_pcode": str})
    # the central located village of each tract (closest to the tract's mean point), in metres
    lw = located.to_crs(WORK_CRS)
    xy = pd.DataFrame({"tract": lw.tract_pcode, "x": lw.geometry.x, "y": lw.geometry.y})
    mean = xy.groupby("tract")[["x", "y"]].transform("mean")
    xy["d"] = np.hypot(xy.x - mean.x, xy.y - mean.y).round(3)  # mm: last-bit noise is no tie-break
    # ties (a tract of two villages) go to the smaller pcode: a stable, library-independent choice
    xy["pcode"] = lw.pcode
    centre = located.loc[xy.sort_values(["d", "pcode"], kind="stable").groupby("tract").head(1).index
                         ].set_index("tract_pcode").geometry
    ts_point = townships.set_index("pcode").geometry.to_crs(WORK_CRS).representative_point().to_crs(4326)
    at_tract = u.village_tract_pcode.map(centre)
    geom = at_tract.where(at_tract.notna(), u.township_pcode.map(ts_point))
    placed = gpd.GeoDataFrame({
        "pcode": u.village_pcode, "name_en": u.village_eng, "name_my": u.village_mmr,
        "township_pcode": u.township_pcode, "tract_pcode": u.village_tract_pcode,
        "tract_en": u.village_tract_eng, "pop_est_2014": u.pop_est_equal_share_2014.astype("int64"),
        "pop_basis": np.where(at_tract.notna(), "placed_tract", "placed_township"),
    }, geometry=gpd.GeoSeries(geom.values, crs=4326), crs=4326)

    w = gpd.read_file(core, layer="wards_townlevel_coords").sort_values("ward_pcode").reset_index(drop=True)
    w, moved = _wards_inside_townships(w, townships, gpd.read_file(core, layer="towns"))
    urban = townships.set_index("pcode").pop_urban
    pop = np.zeros(len(w), dtype="int64")
    for pcode, idx in w.groupby("township_pcode").groups.items():
        pop[w.index.get_indexer(idx)] = _split_equally(int(urban[pcode]), len(idx))
    wards = gpd.GeoDataFrame({
        "pcode": w.ward_pcode.astype(str), "name_en": w.ward_eng + ", " + w.town_eng,
        "name_my": w.ward_mmr + "၊ " + w.town_mmr, "township_pcode": w.township_pcode,
        "tract_pcode": w.town_pcode.astype(str), "tract_en": w.town_eng, "pop_est_2014": pop,
        "pop_basis": np.where(moved, "urban_town", "urban_ward"),
    }, geometry=w.geometry, crs=w.crs)
    missing = set(townships.pcode[townships.pop_urban > 0]) - set(w.township_pcode)
    if missing:
        raise SystemExit(f"townships with urban population but no ward: {sorted(missing)}")
    out = pd.concat([located, placed.to_crs(located.crs), wards.to_crs(located.crs)], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=located.crs).sort_values("pcode")


def conflict_zones(ucdp_path: Path, region: gpd.GeoDataFrame):
    """Zones from UCDP GED events: per year, 10 km cells with >= 2 well-located events (a place counting
    at most ZONE_PLACE_CAP of them)."""
    ev = gpd.read_file(ucdp_path)
    ev = ev[ev.year.isin(ZONE_YEARS)].to_crs(WORK_CRS)
    area = region.to_crs(WORK_CRS).buffer(STUDY_BUFFER_M).iloc[0]
    ev = ev[ev.within(area)].copy()
    events = gpd.GeoDataFrame({
        "event_id": ev.id.astype("int64"), "year": ev.year.astype(int), "date": ev.date_start.astype(str).str[:10],
        "violence": ev.type_of_violence.map({1: "state-based", 2: "non-state", 3: "one-sided"}),
        "side_a": ev.side_a, "side_b": ev.side_b, "deaths": ev.best.astype(int),
        "where_prec": ev.where_prec.astype(int),
        "precise": ev.where_prec <= ZONE_MAX_WHERE_PREC,
    }, geometry=ev.geometry, crs=WORK_CRS).to_crs(4326)
    located = ev[ev.where_prec <= ZONE_MAX_WHERE_PREC]
    cx = np.floor(located.geometry.x / ZONE_CELL_M).astype(int)
    cy = np.floor(located.geometry.y / ZONE_CELL_M).astype(int)
    # UCDP puts an event it can tie only to a named town or village at that place's point, so
    # repeated incidents "in Monywa" stack on one coordinate (19 of Monywa's 24 events of 2023,
    # 17 of Shwebo's 18): a place counts at most ZONE_PLACE_CAP events toward its cell's class.
    places = (located.assign(cx=cx, cy=cy, px=located.geometry.x.round(), py=located.geometry.y.round())
              .groupby(["year", "cx", "cy", "px", "py"])
              .agg(events=("id", "size"), deaths=("best", "sum")).reset_index())
    cells = (places.assign(counted=places.events.clip(upper=ZONE_PLACE_CAP))
             .groupby(["year", "cx", "cy"])
             .agg(events=("events", "sum"), counted=("counted", "sum"), places=("events", "size"),
                  deaths=("deaths", "sum")).reset_index())
    rows = []
    last_year = max(ZONE_YEARS)
    for year in ZONE_YEARS:
        for min_events, kind, factor, delay in ZONE_CLASSES:
            # the class ends where the next stricter one starts (risk 2-4, restricted 5-14, no_go >= 15)
            upper = min((m for m, *_ in ZONE_CLASSES if m > min_events), default=None)
            sel = cells[(cells.year == year) & (cells.counted >= min_events)]
            if upper is not None:
                sel = sel[sel.counted < upper]
            if sel.empty:
                continue
            boxes = shapely.box(sel.cx * ZONE_CELL_M, sel.cy * ZONE_CELL_M,
                                (sel.cx + 1) * ZONE_CELL_M, (sel.cy + 1) * ZONE_CELL_M)
            cell_gdf = gpd.GeoDataFrame(sel[["events", "places", "deaths"]], geometry=boxes, crs=WORK_CRS)
            merged = shapely.get_parts(shapely.union_all(boxes))
            for poly in merged:
                inside = cell_gdf[cell_gdf.representative_point().within(poly)]
                rows.append({
                    "kind": kind, "speed_factor": factor, "delay_minutes": delay,
                    "valid_from": f"{year}-01-01",
                    # the latest year's zones stay in force until newer data replaces them
                    "valid_to": None if year == last_year else f"{year}-12-31",
                    "year": year, "events": int(inside.events.sum()),
                    "places": int(inside.places.sum()), "deaths": int(inside.deaths.sum()),
                    "source": "derived from UCDP GED v23.1 (Davies et al. 2023; Sundberg & Melander 2013)",
                    "geometry": poly,
                })
    zones = gpd.GeoDataFrame(rows, geometry="geometry", crs=WORK_CRS)
    # within a year, least restrictive first (risk, restricted, no_go), so a renderer that paints in
    # order shows the strictest on top; the friction builder does not depend on the order
    severity = {"risk": 0, "restricted": 1, "no_go": 2}
    zones = (zones.assign(_sev=zones.kind.map(severity))
             .sort_values(["year", "_sev", "events"], ascending=[True, True, False])
             .drop(columns="_sev").reset_index(drop=True))
    code = {"no_go": "NG", "restricted": "RS", "risk": "RK"}
    zones.insert(0, "zone_id", [f"UCDP-{y}-{code[k]}-{i:03d}" for i, (y, k) in
                                enumerate(zip(zones.year, zones.kind), start=1)])
    return zones.to_crs(4326), events


def write_project(out: Path) -> None:
    sys.path.insert(0, str(HERE.parent))
    from coverage_app.core.params import AnalysisParams
    from coverage_app.core.data.project import LayerRef, Project, save_project

    g = str(out / "sagaing.gpkg")
    common = dict(path=g)
    layers = [
        LayerRef("Conflict events (UCDP 2021-23)", role="reference", layer="conflict_events", visible=False, **common),
        # ~15 names score as Zawgyi but are mostly legitimate Pali stacking: reviewed, kept as published
        LayerRef("Villages", role="villages", layer="villages", mapping={
            "pcode": "pcode", "name_en": "name_en", "name_my": "name_my", "township_pcode": "township_pcode",
            "population": "pop_est_2014"}, options={"zawgyi": "keep"}, **common),
        LayerRef("Health facilities", role="facilities", layer="facilities", mapping={
            k: k for k in ("fac_id", "name", "level", "provides_primary", "provides_secondary", "status",
                           "status_date", "operator", "beds")}, **common),
        LayerRef("Bridges", role="crossings", layer="crossings",
                 mapping={"kind": "kind", "delay_minutes": "delay_minutes"}, visible=False, **common),
        LayerRef("Roads", role="roads", layer="roads", mapping={"road_class": "road_class"}, **common),
        LayerRef("Rivers", role="rivers", layer="rivers", mapping={"major": "major"}, **common),
        LayerRef("Water bodies", role="rivers", layer="water", mapping={"major": "major"}, **common),
        LayerRef("Conflict zones", role="conflict_zones", layer="conflict_zones", mapping={
            k: k for k in ("zone_id", "kind", "speed_factor", "delay_minutes", "valid_from", "valid_to",
                           "source")}, **common),
        LayerRef("Towns", role="reference", layer="towns", visible=False, **common),
        LayerRef("Townships", role="townships", layer="townships", mapping={
            "pcode": "pcode", "name_en": "name_en", "name_my": "name_my", "population": "population",
            "pop_kontur2023": "pop_kontur2023"}, **common),
        LayerRef("Land cover sample (Sentinel-2, 10 m)", path=str(out / "landcover_sentinel2_sample.tif"),
                 role="landcover", visible=False,
                 options={"classes": {str(k): v for k, v in SAGAING_LANDCOVER.items()}, "enabled": False}),
    ]
    project = Project(
        name="Sagaing Region (bundled)", layers=layers, params=AnalysisParams(),
        options={"population_total": "census2014"},
        credits=["Source: MIMU (townships, villages, hospitals, roads, rivers, bridges)",
                 "2014 Myanmar Population and Housing Census (via MIMU)",
                 "UCDP GED v23.1 (Davies et al. 2023; Sundberg & Melander 2013), CC BY 4.0",
                 "Kontur Population 2023 (township totals, optional basis), CC BY 4.0",
                 "Land cover sample: Copernicus Sentinel-2 (2026), classification by geonet-myanmar"])
    save_project(project, out / "sagaing.covproj")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    counts = build(args.shared, args.out)
    print(json.dumps(counts, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
