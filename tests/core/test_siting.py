"""Greedy maximal covering: known answers on a synthetic layout, and the real data."""

import pytest

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.errors import InputError
from coverage_app.core.analysis.siting import site_labels, suggest_sites
from tests.synthetic import facility, load, make_project, village


def test_picks_the_biggest_uncovered_cluster_first(tmp_path):
    # a covered village near the hospital, a big cluster 12 km east, a small one 12 km west
    villages = [village("HOME", 500, 0, 50)]
    villages += [village(f"E{i}", 12_000 + 300 * i, 0, 500) for i in range(3)]
    villages += [village(f"W{i}", -12_000 - 300 * i, 0, 100) for i in range(2)]
    project = make_project(tmp_path, facilities=[facility("H", 0, 0, secondary=True)], villages=villages,
                           params=None)
    project.params = project.params.replace(cell_size_m=200.0)
    result = run_analysis(load(project), project.params)
    picks = suggest_sites(result, count=3)
    assert list(picks.gain_pop) == [1500, 200]  # third pick would gain nothing: stops early
    # named by the village, its pcode after it
    assert picks.site.iloc[0] in {f"Village E{i} (E{i})" for i in range(3)}
    assert picks.site.iloc[1] in {f"Village W{i} (W{i})" for i in range(2)}
    assert list(picks.cum_pop) == [1500, 1700]
    assert picks.crs.to_epsg() == 4326


def test_grid_candidates(tmp_path):
    villages = [village(f"E{i}", 12_000 + 300 * i, 0, 500) for i in range(3)]
    project = make_project(tmp_path, facilities=[facility("H", 0, 0, secondary=True)], villages=villages)
    project.params = project.params.replace(cell_size_m=250.0)
    result = run_analysis(load(project), project.params)
    picks = suggest_sites(result, count=1, candidates="grid", spacing_m=1000)
    assert picks.gain_pop.iloc[0] == 1500


def test_bad_count(tmp_path):
    project = make_project(tmp_path, facilities=[facility("H", 0, 0)], villages=[village("V", 100, 0)])
    result = run_analysis(load(project), project.params)
    with pytest.raises(InputError, match="at least 1"):
        suggest_sites(result, count=0)


@pytest.mark.slow
def test_claimed_gains_equal_full_runs_with_the_sites_added(bundled_project_path):
    """Issue 11: each suggested site's gain is what a full run with it added shows (the village
    lookup no longer borrows a neighbour's time where the village's own cell is beyond the cut-off)."""
    from coverage_app.core.data.model import load_project_data
    from coverage_app.core.data.project import load_project

    project = load_project(bundled_project_path)
    data = load_project_data(project)
    params = project.params.replace(cell_size_m=2000.0, mode="walking")
    base = run_analysis(data, params)

    def covered(result):
        v = result.villages
        return float(v.loc[~v["gap"].isin(["primary", "both"]), "population"].fillna(0).sum())

    picks = suggest_sites(base, count=3)
    assert len(picks) == 3 and picks["gain_pop"].min() > 1000
    before, edits = covered(base), []
    for row in picks.itertuples():
        edits.append({"type": "add_facility", "fac_id": f"NEW{row.rank}", "name": row.site, "lon": row.lon,
                      "lat": row.lat})
        full = covered(run_analysis(data, params, {"name": "sites", "edits": list(edits)}))
        assert round(full - before) == row.cum_pop  # cumulative gain of the first `rank` sites
    assert list(picks["cum_pop"].diff().fillna(picks["gain_pop"].iloc[0]).astype(int)) == list(picks["gain_pop"])


def test_village_beyond_the_cut_off_does_not_borrow_a_neighbours_time():
    import numpy as np

    from coverage_app.core.analysis.tables import sample_cells

    minutes = np.array([[10.0, np.nan, np.nan]], "float32")  # cut-off search: cells 1, 2 not reached
    alloc = np.array([[0, -1, -1]], "int32")
    cost = np.array([[1.0, 1.0, np.inf]], "float32")  # cell 1 passable (beyond the cut-off), cell 2 water
    rows, cols, inside = np.array([0, 0]), np.array([1, 2]), np.array([True, True])
    t, a = sample_cells(minutes, alloc, rows, cols, inside, cost)
    assert np.isnan(t[0]) and a[0] == -1  # beyond the cut-off: not reached
    assert np.isnan(t[1])  # water next to an unreached cell: nothing to borrow
    t, a = sample_cells(minutes, alloc, np.array([0]), np.array([1]), np.array([True]))
    assert t[0] == 10.0  # without the friction: the old neighbour rule (barrier cells only in runs)


def test_a_village_on_water_borrows_from_the_same_ground_at_any_cell_size():
    """The reach is in metres (250 m x sqrt 2): the 8 neighbours at 250 m and coarser, cells up to ~354 m
    away at 100 m, the nearest ring with a reached cell first. At 100 m a ring of one cell left villages
    on river banks without access that the 250 m default reaches (190 against 126 villages in the
    bundled project)."""
    import numpy as np

    from coverage_app.core.analysis.tables import borrow_rings, sample_cells

    eight = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if a or b]
    for cell in (250.0, 500.0, 1000.0):
        rings = borrow_rings(cell)
        assert len(rings) == 1 and sorted(zip(rings[0][0].tolist(), rings[0][1].tolist())) == eight
    rings = [set(zip(dr.tolist(), dc.tolist())) for dr, dc in borrow_rings(100.0)]
    assert len(rings) == 3 and sorted(rings[0]) == eight and len(rings[1]) == 16
    assert {(3, 0), (0, -3), (3, 1), (-1, -3)} <= rings[2] and not rings[2] & {(3, 2), (3, 3)}

    # 100 m cells, west to east: reached land (10 min, then 12 min), then water; villages 2, 3 and 4
    # cells out on the water, and one next to the land
    minutes = np.array([[10.0, 12.0] + [np.nan] * 6], "float32")
    alloc = np.array([[0, 1] + [-1] * 6], "int32")
    cost = np.array([[1.0, 1.0] + [np.inf] * 6], "float32")
    rows, cols, inside = np.zeros(4, int), np.array([2, 3, 4, 5]), np.ones(4, bool)
    t, a = sample_cells(minutes, alloc, rows, cols, inside, cost, cell_size_m=100.0)
    assert t[0] == 12.0 and a[0] == 1  # next to the land: ring 1 only, as before
    assert t[1] == 12.0 and a[1] == 1  # the nearest ring with a reached cell (12 min), not the faster 10 min further
    assert t[2] == 12.0  # 300 m from the land cell
    assert np.isnan(t[3]) and a[3] == -1  # 400 m and more: beyond the reach
    t, _ = sample_cells(minutes, alloc, rows, cols, inside, cost, cell_size_m=250.0)
    assert t[0] == 12.0 and np.isnan(t[1:]).all()  # at 250 m the same cells lie 500-1000 m from land


def test_site_labels_lead_with_the_name_and_fall_back_to_the_pcode():
    import geopandas as gpd
    import pandas as pd

    v = gpd.GeoDataFrame({"pcode": ["MMR1", "MMR2", "MMR3", "170948"],
                          "name_en": ["Letpanhla", None, "  ", "Tin Teik"]}, geometry=[None] * 4)
    assert list(site_labels(v)) == ["Letpanhla (MMR1)", "MMR2", "MMR3", "Tin Teik (170948)"]
    assert list(site_labels(pd.DataFrame({"pcode": ["A"]}))) == ["A"]  # no name field at all
