"""Cross-checks of the default bundled Sagaing analysis (layers/sagaing.covproj: walking, 250 m cells).

Planners place mobile clinics from these figures, so each is recomputed here by a second method
from the files the export writes (coverage.gpkg, the Shapefiles, the CSVs, the GeoTIFFs, run.json)
and from the source layers in layers/sagaing.gpkg, with geopandas / rasterio / numpy only: no
function of the app computes an expected value. The analysis runs once for the module, through
the command line as a planner runs it (``coverage-app analyse --format both``).

The first cross-check found two faults, fixed since: minutes were rounded to the nearest 0.1
before the thresholds (60.013 min counted within 60; 931 + 1,614 people), and a village on a
barrier cell took its neighbour's time with no way from that cell to the village (up to 354 m).
"""

from __future__ import annotations

import json
import re
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from rasterio.transform import rowcol, xy

from coverage_app.cli.main import main
from tests.conftest import BUNDLED_GPKG
from tests.cross_check import TIERS, read_layer, read_tier_rasters

# the table rounds minutes up to 0.1 (noise below 1e-4 min ignored); the raster is float32 minutes
# (~1e-5 at 1000 min)
ROUND_UP = 0.1
NOISE = 1e-4
SNAP_RADIUS_M = 1000.0  # documented: a facility on water moves to the nearest passable cell this close


# ----------------------------------------------------------------------------- the run, once


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sagaing") / "out"
    assert main(["analyse", "--out", str(folder), "--format", "both", "--quiet"]) == 0
    return folder


@pytest.fixture(scope="module")
def run(out):
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["parameters"]["cell_size_m"] == 250.0 and record["parameters"]["mode"] == "walking"
    return record


@pytest.fixture(scope="module")
def layers(out):
    return {name: read_layer(out / "coverage.gpkg", name) for name in ("villages", "townships", "catchments", "facilities")}


@pytest.fixture(scope="module")
def source():
    return {name: read_layer(BUNDLED_GPKG, name) for name in ("villages", "townships", "facilities")}


@pytest.fixture(scope="module")
def rasters(out):
    """tier -> (minutes float64 with NaN for nodata, allocation int64 with -1, transform, crs)."""
    return read_tier_rasters(out)


@pytest.fixture(scope="module")
def lookup(out):
    table = pd.read_csv(out / "allocation_facilities.csv")
    assert (table["value"].to_numpy() == np.arange(len(table))).all()
    return table["fac_id"].to_numpy(dtype=object)


def cells_of(points: gpd.GeoSeries, transform, crs, shape):
    p = points.to_crs(crs)
    rows, cols = rowcol(transform, p.x.to_numpy(), p.y.to_numpy())
    rows, cols = np.asarray(rows, dtype="int64"), np.asarray(cols, dtype="int64")
    assert ((rows >= 1) & (rows < shape[0] - 1) & (cols >= 1) & (cols < shape[1] - 1)).all()
    return rows, cols


@pytest.fixture(scope="module")
def sampled(source, rasters, lookup, run):
    """Per tier, from the rasters alone: each source village's minutes (unrounded) and facility at
    its own cell; a village on a nodata cell is reached from one of its 8 neighbours (the documented
    rule at 250 m cells): the earliest arrival, the neighbour's minutes plus the straight way from
    that cell's centre to the village point at the walking off-road speed; flagged ``borrowed``."""
    got = {}
    offsets = np.array([(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)])
    walk_m_per_min = run["parameters"]["speeds_kmh"]["walking"]["off_road"] * 1000.0 / 60.0
    for tier, _ in TIERS:
        minutes, alloc, transform, crs = rasters[tier]
        rows, cols = cells_of(source["villages"].geometry, transform, crs, minutes.shape)
        pts = source["villages"].geometry.to_crs(crs)
        own = minutes[rows, cols]
        t, a = own.copy(), alloc[rows, cols].copy()
        borrowed = np.zeros(len(t), bool)
        for i in np.flatnonzero(np.isnan(own)):
            rr, cc = rows[i] + offsets[:, 0], cols[i] + offsets[:, 1]
            cx, cy = xy(transform, rr, cc)  # cell centres
            around = minutes[rr, cc] + np.hypot(np.asarray(cx) - pts.x.iloc[i],
                                                np.asarray(cy) - pts.y.iloc[i]) / walk_m_per_min
            if np.isfinite(around).any():
                k = int(np.nanargmin(around))
                t[i], a[i], borrowed[i] = around[k], alloc[rr[k], cc[k]], True
        fac = np.where(a >= 0, lookup[np.maximum(a, 0)], None)
        got[tier] = {"minutes": t, "fac": fac, "borrowed": borrowed, "own": own, "rows": rows, "cols": cols}
    return got


def band_index(minutes, bands):
    """0-based band (bands[i-1] < m <= bands[i]) of each value, -1 beyond the last band or NaN."""
    m = np.where(np.isnan(minutes), np.inf, minutes)
    b = np.searchsorted(np.asarray(bands, dtype="float64"), m, side="left")
    return np.where(b < len(bands), b, -1)


def sorted_bands(run):
    return np.array(sorted(run["parameters"]["band_minutes"]), dtype="float64")


def people(source):
    return source["villages"]["pop_est_2014"].to_numpy(dtype="float64")


# ----------------------------------------------------------------------------- villages


def test_villages_are_the_source_villages(layers, source):
    v, src = layers["villages"], source["villages"]
    assert list(v["pcode"]) == list(src["pcode"].astype(str))
    assert (v["pop"].to_numpy() == src["pop_est_2014"].to_numpy()).all()
    assert (v["ts_pcode"].to_numpy() == src["township_pcode"].to_numpy()).all()
    assert (v.geometry.x.to_numpy() == src.geometry.x.to_numpy()).all()
    assert (v.geometry.y.to_numpy() == src.geometry.y.to_numpy()).all()
    assert (v["on_grid"] == 1).all()


@pytest.mark.parametrize("tier,short", TIERS)
def test_village_minutes_are_the_raster_at_the_village_cell(layers, sampled, run, tier, short):
    """The raster at the village's own cell, rounded up to the next 0.1 min: no walk from the point
    to the cell centre is added. Villages on a nodata (barrier) cell are reached from a neighbour
    (see ``sampled``), with that cell's facility; the others stay without a time. A village is
    within each threshold and band edge exactly when its unrounded time is."""
    v, s = layers["villages"], sampled[tier]
    table = v[f"{short}_min"].to_numpy(dtype="float64")
    assert (np.isnan(table) == np.isnan(s["minutes"])).all()
    reached = ~np.isnan(s["minutes"])
    raw = s["minutes"][reached]
    assert (table[reached] >= raw - NOISE).all() and (table[reached] < raw + ROUND_UP).all()
    assert np.allclose(table[reached] * 10, np.round(table[reached] * 10), rtol=0, atol=1e-6)  # tenths
    for limit in [*sorted_bands(run), run["parameters"]["primary_minutes"], run["parameters"]["secondary_minutes"]]:
        clear = np.abs(raw - limit) > NOISE
        assert ((table[reached] <= limit) == (raw <= limit))[clear].all(), limit
    assert (v[f"{short}_fac"].fillna("-").to_numpy() == pd.Series(s["fac"]).fillna("-").to_numpy()).all()
    assert 0 < s["borrowed"].sum() < 0.1 * len(v)  # river-bank villages exist, and they are few


def test_gap_class_follows_the_minutes_and_thresholds(layers, run):
    v, p = layers["villages"], run["parameters"]
    no_p = ~(v["prim_min"].to_numpy() <= p["primary_minutes"])
    no_s = ~(v["sec_min"].to_numpy() <= p["secondary_minutes"])
    gap = np.select([no_p & no_s, no_p, no_s], ["both", "primary", "secondary"], "none")
    assert (v["gap"].to_numpy() == gap).all()
    assert (v["prim_fac"].isna() == v["prim_min"].isna()).all() and (v["sec_fac"].isna() == v["sec_min"].isna()).all()


def test_unreachable_villages_warning_counts_the_villages_without_any_time(layers, run):
    v = layers["villages"]
    none = v["prim_min"].isna() & v["sec_min"].isna()
    [text] = [p for p in run["problems"] if "cannot reach any counting facility" in p]
    n, pop = re.search(r"(\d+) villages \(([\d,]+) people\)", text).groups()
    assert int(n) == int(none.sum()) and int(pop.replace(",", "")) == int(v.loc[none, "pop"].sum())


# ----------------------------------------------------------------------------- townships


def township_sums(villages: pd.DataFrame, key: str, run) -> pd.DataFrame:
    p = run["parameters"]
    d = pd.DataFrame({"ts": villages[key].to_numpy(), "pop": villages["pop"].to_numpy(dtype="float64"),
                      "ok_p": villages["prim_min"].to_numpy() <= p["primary_minutes"],
                      "ok_s": villages["sec_min"].to_numpy() <= p["secondary_minutes"]})
    rows = {}
    for ts, g in d.groupby("ts"):
        rows[ts] = {"n": len(g), "pop": g["pop"].sum(), "pop_prim": g.loc[g.ok_p, "pop"].sum(),
                    "pop_sec": g.loc[g.ok_s, "pop"].sum(), "vil_noprim": int((~g.ok_p).sum()),
                    "vil_nosec": int((~g.ok_s).sum())}
    return pd.DataFrame.from_dict(rows, orient="index")


def test_township_sums_equal_the_villages_grouped(layers, run, source, out):
    expect = township_sums(layers["villages"], "ts_pcode", run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shp = gpd.read_file(out / "townships.shp")
    csv = pd.read_csv(out / "townships.csv")
    assert set(source["townships"]["pcode"]) == set(expect.index)
    for table in (layers["townships"], shp, csv):
        t = table.set_index("pcode").loc[expect.index]
        for col in ("pop", "pop_prim", "pop_sec", "vil_noprim", "vil_nosec"):
            assert (t[col].to_numpy() == expect[col].to_numpy()).all(), col
        assert (t["pct_prim"].to_numpy() == np.round(100 * expect.pop_prim / expect["pop"], 1).to_numpy()).all()
        assert (t["pct_sec"].to_numpy() == np.round(100 * expect.pop_sec / expect["pop"], 1).to_numpy()).all()
        census = source["townships"].set_index("pcode")["population"].loc[expect.index]
        assert (t["census_pop"].to_numpy() == census.to_numpy()).all()


def test_township_of_each_village_agrees_with_its_location_up_to_boundary_slivers(source):
    """The table takes the villages' own township_pcode (MIMU); placing the points in the township
    polygons disagrees only for villages close to a township boundary (33 in a neighbouring
    polygon, 4 in none, all within 6.4 km of their own township, 28 of the 37 within 1 km)."""
    src, ts = source["villages"], source["townships"]
    joined = gpd.sjoin(src[["township_pcode", "geometry"]], ts[["pcode", "geometry"]], how="left",
                       predicate="within")
    same = (joined["pcode"] == joined["township_pcode"]).groupby(level=0).any()
    differ = ~same.reindex(src.index).to_numpy()
    assert differ.sum() <= 0.01 * len(src)
    own = ts.to_crs(32646).set_index("pcode").geometry
    pts = src.to_crs(32646).geometry
    far = [pts[i].distance(own[src["township_pcode"][i]]) for i in np.flatnonzero(differ)]
    assert max(far) < 7000.0 and np.median(far) < 1000.0


# ----------------------------------------------------------------------------- region figures


def test_headline_equals_the_sums_over_villages_and_over_townships(layers, run, source):
    h, p = run["headline"], run["parameters"]
    v, t = layers["villages"], layers["townships"]
    pop = people(source)
    ok_p = v["prim_min"].to_numpy() <= p["primary_minutes"]
    ok_s = v["sec_min"].to_numpy() <= p["secondary_minutes"]
    assert h["villages"] == len(source["villages"]) == len(v)
    assert h["population"] == pop.sum() == t["pop"].sum() == run["population_basis"]["population"]
    assert h["pop_no_primary"] == pop[~ok_p].sum() == (t["pop"] - t["pop_prim"]).sum()
    assert h["pop_no_secondary"] == pop[~ok_s].sum() == (t["pop"] - t["pop_sec"]).sum()
    assert h["villages_no_primary"] == int((~ok_p).sum()) == t["vil_noprim"].sum()
    assert h["villages_no_secondary"] == int((~ok_s).sum()) == t["vil_nosec"].sum()
    assert h["share_primary"] == pytest.approx(pop[ok_p].sum() / pop.sum(), abs=1e-12)
    assert h["share_secondary"] == pytest.approx(pop[ok_s].sum() / pop.sum(), abs=1e-12)
    assert h["pop_served_capacity"] == v["served"].sum() == t["served"].sum()


def test_coverage_curve_is_the_population_share_within_each_minute(layers, out, source, run):
    curve = pd.read_csv(out / "coverage_curve.csv")
    assert (curve["minutes"].to_numpy() == np.arange(241)).all()
    pop = people(source)
    for (tier, short) in TIERS:
        m = layers["villages"][f"{short}_min"].to_numpy()
        share = np.array([pop[m <= k].sum() / pop.sum() for k in curve["minutes"]])
        assert np.abs(curve[f"{tier}_share"].to_numpy() - share).max() <= 5e-5 + 1e-12  # written to 4 decimals
        assert (np.diff(curve[f"{tier}_share"].to_numpy()) >= 0).all()
        at = curve.loc[curve.minutes == run["parameters"][f"{tier}_minutes"], f"{tier}_share"].item()
        assert at == pytest.approx(run["headline"][f"share_{tier}"], abs=5e-5 + 1e-12)


def test_facility_counts_from_the_source_layer(layers, run, source):
    src, f, h = source["facilities"], layers["facilities"], run["headline"]
    status = src["status"].fillna("unknown")
    counting = status.isin(["functioning", "partial"]) | ((status == "unknown") & run["parameters"]["unknown_counts"])
    prim = counting & src["provides_primary"].fillna(True).astype(bool)
    sec = counting & src["provides_secondary"].astype(bool)
    assert h["facilities_counted_primary"] == int(prim.sum()) == int(f["counts_p"].sum())
    assert h["facilities_counted_secondary"] == int(sec.sum()) == int(f["counts_s"].sum())
    assert h["assumed_unknown"] == int((status == "unknown").sum())
    assert list(f["fac_id"]) == list(src["fac_id"])


def test_capacity_served_is_nearest_first_up_to_each_facility_capacity(layers, run):
    v, f = layers["villages"], layers["facilities"]
    cap = f.set_index("fac_id")["capacity"]
    within = v["prim_min"] <= run["parameters"]["primary_minutes"]
    served = np.zeros(len(v))
    for fac_id, group in v[within].sort_values("prim_min", kind="stable").groupby("prim_fac", sort=False):
        left = cap.get(fac_id, np.nan)
        left = np.inf if np.isnan(left) else left
        for i, pop in zip(group.index, group["pop"]):
            served[i] = min(pop, left)
            left -= served[i]
    assert (v["served"].to_numpy() == served).all()
    assert (v["unserved"].to_numpy() == np.where(within, v["pop"], 0) - served).all()
    assert run["headline"]["pop_served_capacity"] == served.sum()


# ----------------------------------------------------------------------------- catchments


@pytest.mark.parametrize("tier,short", TIERS)
def test_catchment_pop_by_nearest_facility_and_band(layers, run, tier, short):
    v, c = layers["villages"], layers["catchments"]
    bands = sorted_bands(run)
    d = pd.DataFrame({"fac": v[f"{short}_fac"], "band": band_index(v[f"{short}_min"].to_numpy(), bands),
                      "pop": v["pop"]})
    expect = d[d.band >= 0].groupby(["fac", "band"])["pop"].sum()
    ct = c[c.tier == tier]
    keys = list(zip(ct["fac_id"], np.searchsorted(bands, ct["band_min"].to_numpy())))
    assert not ct.duplicated(["fac_id", "band_min"]).any()
    assert set(expect.index) <= set(keys)
    assert [int(ct["pop"].iloc[k]) for k in range(len(ct))] == [int(expect.get(k, 0)) for k in keys]


@pytest.mark.parametrize("tier,short", TIERS)
def test_catchment_area_is_its_cells(layers, run, rasters, lookup, tier, short):
    """area_km2 = cells allocated to the facility in the band x 0.0625 km2, and the polygon's area
    in the working CRS (to the 0.01 km2 the table is rounded to)."""
    minutes, alloc, _, crs = rasters[tier]
    bands = sorted_bands(run)
    b = band_index(minutes, bands)
    inside = b >= 0
    counts = np.bincount(alloc[inside] * len(bands) + b[inside], minlength=len(lookup) * len(bands))
    index = {fid: k for k, fid in enumerate(lookup)}
    ct = layers["catchments"][layers["catchments"].tier == tier]
    cells = np.array([counts[index[fid] * len(bands) + np.searchsorted(bands, bm)]
                      for fid, bm in zip(ct["fac_id"], ct["band_min"])])
    assert (np.round(cells * 0.0625, 2) == ct["area_km2"].to_numpy()).all()
    assert int((counts > 0).sum()) == len(ct)  # every (facility, band) with cells has its polygon
    assert np.abs(ct.to_crs(crs).area.to_numpy() / 1e6 - ct["area_km2"].to_numpy()).max() <= 0.0051


def village_polygons(source, catchments, tier, bands):
    """(fac_id, band index) of the catchment polygon each source village point lies in (None, -1 if none)."""
    ct = catchments[catchments.tier == tier][["fac_id", "band_min", "geometry"]]
    joined = gpd.sjoin(source["villages"][["geometry"]], ct, how="left", predicate="within")
    assert not joined.index.duplicated().any()  # the polygons of one tier do not overlap
    joined = joined.reindex(source["villages"].index)
    band = np.where(joined["band_min"].isna(), -1,
                    np.searchsorted(bands, joined["band_min"].fillna(np.inf).to_numpy()))
    return joined["fac_id"].to_numpy(dtype=object), band


@pytest.mark.parametrize("tier,short", TIERS)
def test_catchment_polygons_hold_the_villages_of_their_cells(layers, source, sampled, run, tier, short):
    """Polygons against rasters: a village point on a reached cell lies in the polygon of that cell's
    facility and band (unrounded minutes); a village on a nodata cell lies in no polygon."""
    bands = sorted_bands(run)
    fac, band = village_polygons(source, layers["catchments"], tier, bands)
    s = sampled[tier]
    own = ~np.isnan(s["own"])
    raw_band = band_index(s["own"], bands)
    in_band = own & (raw_band >= 0)
    assert (fac[in_band] == s["fac"][in_band]).all() and (band[in_band] == raw_band[in_band]).all()
    assert (band[~in_band] == -1).all()


def assert_same_pop(ct_keys, reported, expect):
    bad = np.flatnonzero(reported != expect)
    worst = sorted(bad, key=lambda k: -abs(reported[k] - expect[k]))[:5]
    assert not len(bad), (f"{len(bad)} catchments differ, {np.abs(reported - expect).sum():,.0f} people in all; "
                          f"worst (fac_id, band): {[(ct_keys[k], reported[k], expect[k]) for k in worst]}")


def polygon_populations(catchments, tier, bands, fac, band, pop):
    d = pd.DataFrame({"fac": fac, "band": band, "pop": pop})
    got = d[d.band >= 0].groupby(["fac", "band"])["pop"].sum()
    ct = catchments[catchments.tier == tier]
    keys = list(zip(ct["fac_id"], np.searchsorted(bands, ct["band_min"].to_numpy())))
    return keys, ct["pop"].to_numpy(dtype="float64"), np.array([got.get(k, 0.0) for k in keys])


@pytest.mark.parametrize("tier,short", TIERS)
def test_catchment_pop_is_the_village_points_inside_each_polygon_and_the_bank_villages_it_reaches(
        layers, source, sampled, run, tier, short):
    """A catchment's people are those of the village points inside its polygon, plus the villages on
    barrier cells (river banks: their cell is no polygon's) reached from one of its cells within the
    band; no other village is outside every polygon."""
    bands = sorted_bands(run)
    fac, band = village_polygons(source, layers["catchments"], tier, bands)
    s = sampled[tier]
    bank = s["borrowed"]
    assert bank.any() and (band[bank] == -1).all()
    fac = np.where(bank, s["fac"], fac)
    band = np.where(bank, band_index(s["minutes"], bands), band)
    assert_same_pop(*polygon_populations(layers["catchments"], tier, bands, fac, band, people(source)))


@pytest.mark.parametrize("tier,short", TIERS)
def test_catchment_pop_equals_the_raster_attribution(layers, source, sampled, run, tier, short):
    """As the polygons and rasters say: each village in the band of its cell's unrounded minutes (or of
    the neighbour it borrows from) of its cell's facility."""
    bands = sorted_bands(run)
    s = sampled[tier]
    assert_same_pop(*polygon_populations(layers["catchments"], tier, bands, s["fac"],
                                         band_index(s["minutes"], bands), people(source)))


# ----------------------------------------------------------------------------- thresholds on the rasters


def test_headline_and_townships_from_the_raster_minutes(layers, run, source, sampled):
    """The headline and the township sums as the rasters give them: a village counts within a
    threshold when its unrounded time is within it (the first cross-check found 60.013 min counted
    within 60 when the table rounded to the nearest 0.1 min)."""
    h, p = run["headline"], run["parameters"]
    pop = people(source)
    v = source["villages"].assign(pop=pop)
    for (tier, short), limit in zip(TIERS, (p["primary_minutes"], p["secondary_minutes"])):
        ok = sampled[tier]["minutes"] <= limit
        crossed = ~ok & (layers["villages"][f"{short}_min"].to_numpy() <= limit)
        assert h[f"pop_no_{tier}"] == pop[~ok].sum(), \
            f"{tier}: villages beyond {limit:g} min on the raster counted within: {list(source['villages'].pcode[crossed])}"
        assert h[f"villages_no_{tier}"] == int((~ok).sum())
        v[f"{short}_min"] = np.where(ok, 0.0, np.inf)
    expect = township_sums(v, "township_pcode", run)
    t = layers["townships"].set_index("pcode").loc[expect.index]
    for col in ("pop_prim", "pop_sec", "vil_noprim", "vil_nosec"):
        assert (t[col].to_numpy() == expect[col].to_numpy()).all(), col


# ----------------------------------------------------------------------------- facilities on the rasters


def moved_facilities(run) -> set[str]:
    return {m.group(1) for p in run["problems"]
            if (m := re.search(r"facility (\S+) \(.*\) lies on .* it was moved to the nearest passable cell", p))}


@pytest.mark.parametrize("tier,short", TIERS)
def test_each_facility_is_the_allocation_of_its_own_cell(layers, source, rasters, lookup, run, tier, short):
    """allocation_facilities.csv maps the allocation raster back to the facilities layer; each counting
    facility's cell holds 0 minutes and its own index. A facility the run reports moved off water is
    on the nearest reached cell instead (within the documented 1000 m)."""
    minutes, alloc, transform, crs = rasters[tier]
    f = layers["facilities"]
    assert list(lookup) == list(f["fac_id"]) == list(source["facilities"]["fac_id"])
    rows, cols = cells_of(source["facilities"].geometry, transform, crs, minutes.shape)
    counting = f[f"counts_{short[0]}"].to_numpy() == 1
    moved = moved_facilities(run)
    zr, zc = np.nonzero(minutes == 0)
    assert len(zr) == counting.sum()  # one source cell per counting facility: no two share a cell
    pts = source["facilities"].to_crs(crs).geometry
    for i in np.flatnonzero(counting):
        if f["fac_id"][i] in moved:
            assert np.isnan(minutes[rows[i], cols[i]])
            reached = np.argwhere(np.isfinite(minutes[rows[i] - 5:rows[i] + 6, cols[i] - 5:cols[i] + 6])) - 5
            d = np.hypot(reached[:, 0], reached[:, 1])
            [k] = np.flatnonzero(alloc[zr, zc] == i)
            assert np.hypot(zr[k] - rows[i], zc[k] - cols[i]) == d.min()
            x, y = xy(transform, zr[k], zc[k])
            assert np.hypot(x - pts.x[i], y - pts.y[i]) <= SNAP_RADIUS_M
        else:
            assert minutes[rows[i], cols[i]] == 0 and lookup[alloc[rows[i], cols[i]]] == f["fac_id"][i]
    assert moved and moved <= set(f["fac_id"])


def test_referral_minutes_are_the_secondary_time_at_the_facility_cell(layers, rasters):
    sec, _, _, _ = rasters["secondary"]
    prim, palloc, _, _ = rasters["primary"]
    f = layers["facilities"]
    zr, zc = np.nonzero(prim == 0)  # each facility's (possibly moved) source cell
    at = np.full(len(f), np.nan)
    at[palloc[zr, zc]] = sec[zr, zc]
    assert np.allclose(np.round(at, 1), f["ref_min"].to_numpy(), equal_nan=True, rtol=0, atol=1e-9)


@pytest.mark.parametrize("tier,short", TIERS)
def test_travel_times_are_never_faster_than_the_top_walking_speed(rasters, run, tier, short):
    """A lower bound the search must respect: straight-line distance from the cell's own facility
    cell at the fastest speed of the mode (no conflict zone is in force on the as-of date)."""
    minutes, alloc, _, _ = rasters[tier]
    top = max(s for s in run["parameters"]["speeds_kmh"][run["parameters"]["mode"]].values() if s)
    zr, zc = np.nonzero(minutes == 0)
    src_r = np.zeros(alloc.max() + 1, "int64")
    src_c = np.zeros(alloc.max() + 1, "int64")
    src_r[alloc[zr, zc]], src_c[alloc[zr, zc]] = zr, zc
    rr, cc = np.nonzero(np.isfinite(minutes))
    a = alloc[rr, cc]
    metres = 250.0 * np.hypot(rr - src_r[a], cc - src_c[a])
    assert (minutes[rr, cc] >= metres / (top * 1000 / 60) - 1e-3).all()


# ----------------------------------------------------------------------------- formats agree


@pytest.mark.parametrize("name", ["villages", "townships", "facilities", "catchments"])
def test_shapefiles_and_csvs_carry_the_geopackage_values(layers, out, name):
    g = layers[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shp = gpd.read_file(out / f"{name}.shp")
    frames = [shp]
    if name in ("villages", "townships"):
        frames.append(pd.read_csv(out / f"{name}.csv", dtype={"pcode": str}))
    for other in frames:
        assert len(other) == len(g)
        for col in [c for c in other.columns if c in g and c != "geometry"]:
            a, b = g[col], other[col]
            if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
                assert np.allclose(a.astype(float), b.astype(float), equal_nan=True, rtol=0, atol=0), col
            else:
                assert (a.fillna("").astype(str).to_numpy() == b.fillna("").astype(str).to_numpy()).all(), col
    if name == "villages":
        csv = frames[1]
        assert (csv["lon"].to_numpy() == g.geometry.x.round(6).to_numpy()).all()
        assert (csv["lat"].to_numpy() == g.geometry.y.round(6).to_numpy()).all()
