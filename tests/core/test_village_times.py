"""Village minutes from the travel-time grid, by hand: rounding up to 0.1 min (the thresholds see
what the rasters see) and the way from a neighbouring cell to a village on a barrier cell."""

import numpy as np

from coverage_app.core.analysis.tables import round_minutes, sample_cells


def test_minutes_round_up_to_the_tenth_so_thresholds_agree_with_the_raster():
    raw = np.array([60.0, 60.013, 59.95, np.float32(59.9), 120.0003, 120.00004, 0.0, np.nan])
    assert np.array_equal(round_minutes(raw), [60.0, 60.1, 60.0, 59.9, 120.1, 120.0, 0.0, np.nan], equal_nan=True)
    for limit in (60.0, 120.0, 45.5):  # thresholds in tenths of a minute: the same side either way
        m = np.random.default_rng(1).uniform(0, 200, 100_000)
        assert np.array_equal(round_minutes(m) <= limit, m <= limit)


def _bank(cell=250.0):
    """A 7 x 7 grid (cells of ``cell`` m): the centre cell (3, 3) is water, the rest reached."""
    minutes = np.full((7, 7), 20.0, "float32")
    alloc = np.zeros((7, 7), "int32")
    cost = np.full((7, 7), 0.02, "float32")
    minutes[3, 3], alloc[3, 3], cost[3, 3] = np.nan, -1, np.inf
    return minutes, alloc, cost


def test_a_village_on_water_is_reached_from_the_neighbour_of_earliest_arrival_with_the_walk():
    """West neighbour 10 min, north 9 min, the village 100 m west of its cell's centre, walking at
    3 km/h (50 m/min): from the west 10 + 150/50 = 13.0, from the north 9 + hypot(100, 250)/50 =
    14.39: the west one. Counted from the cell centre instead, the north (9 + 5) would win."""
    minutes, alloc, cost = _bank()
    minutes[3, 2], alloc[3, 2] = 10.0, 1  # west
    minutes[2, 3], alloc[2, 3] = 9.0, 2  # north
    rows, cols, inside = np.array([3]), np.array([3]), np.array([True])
    t, a = sample_cells(minutes, alloc, rows, cols, inside, cost, 250.0, walk_kmh=3.0,
                        offset_m=np.array([[-100.0, 0.0]]))
    assert t[0] == 13.0 and a[0] == 1
    t, a = sample_cells(minutes, alloc, rows, cols, inside, cost, 250.0, walk_kmh=3.0)
    assert t[0] == 9.0 + 250.0 / 50.0 and a[0] == 2
    t, a = sample_cells(minutes, alloc, rows, cols, inside, cost, 250.0)  # no walk: the fastest neighbour
    assert t[0] == 9.0 and a[0] == 2


def test_at_finer_cells_every_cell_within_reach_competes_with_its_walk():
    """At 100 m cells a village on water may be reached from 3 rings of cells (354 m); the earliest
    arrival wins: ring 1 at 30 min (100 m away: 32 min) loses to a ring-2 cell at 25 min (200 m: 29)."""
    minutes, alloc, cost = _bank(100.0)
    minutes[:] = 30.0
    minutes[3, 3] = np.nan
    minutes[1, 3], alloc[1, 3] = 25.0, 4  # two cells north
    rows, cols, inside = np.array([3]), np.array([3]), np.array([True])
    t, a = sample_cells(minutes, alloc, rows, cols, inside, cost, 100.0, walk_kmh=3.0,
                        offset_m=np.array([[0.0, 0.0]]))
    assert t[0] == 25.0 + 200.0 / 50.0 and a[0] == 4
    t, _ = sample_cells(minutes, alloc, rows, cols, inside, cost, 100.0)  # no walk: the nearest ring
    assert t[0] == 30.0


def test_a_village_beyond_the_cut_off_or_without_a_reached_neighbour_has_no_time():
    minutes, alloc, cost = _bank()
    minutes[2, 2], alloc[2, 2] = np.nan, -1  # a passable cell left unreached by the cut-off: no borrowing
    rows, cols, inside = np.array([2, 3, 0]), np.array([2, 3, 0]), np.array([True, True, False])
    t, a = sample_cells(minutes, alloc, rows, cols, inside, cost, 250.0, walk_kmh=3.0,
                        offset_m=np.zeros((3, 2)))
    assert np.isnan(t[0]) and a[0] == -1
    assert t[1] == 20.0 + 250.0 / 50.0  # the water cell borrows, from an orthogonal neighbour
    assert np.isnan(t[2]) and a[2] == -1  # off the grid
    minutes[:], alloc[:] = np.nan, -1  # nothing reached around the water cell
    t, a = sample_cells(minutes, alloc, rows[1:2], cols[1:2], inside[1:2], cost, 250.0, walk_kmh=3.0)
    assert np.isnan(t[0]) and a[0] == -1


def test_a_village_in_a_no_go_zone_borrows_no_time():
    """A no-go cell is impassable for the people inside it too: the village there stays without a
    time, while the same village on a water cell is reached from its neighbour."""
    minutes, alloc, cost = _bank()
    no_go = np.zeros(minutes.shape, bool)
    no_go[3, 3] = True
    rows, cols, inside = np.array([3]), np.array([3]), np.array([True])
    t, a = sample_cells(minutes, alloc, rows, cols, inside, cost, 250.0, walk_kmh=3.0, no_go=no_go)
    assert np.isnan(t[0]) and a[0] == -1
    t, _ = sample_cells(minutes, alloc, rows, cols, inside, cost, 250.0, walk_kmh=3.0, no_go=~no_go)
    assert t[0] == 25.0


def test_no_borrowing_without_an_off_road_speed():
    """An off-road speed of 0 km/h (allowed for a surface): nobody walks from the reached cell, so a
    village on water stays without a time (it was a ZeroDivisionError)."""
    minutes, alloc, cost = _bank()
    t, a = sample_cells(minutes, alloc, np.array([3]), np.array([3]), np.array([True]), cost, 250.0, walk_kmh=0.0)
    assert np.isnan(t[0]) and a[0] == -1


def test_village_cells_survive_pickle_and_copy():
    """A result is copied and pickled whole (deepcopy, dask); its village cells keep their offsets."""
    import copy
    import pickle

    from coverage_app.core.analysis.tables import VillageCells

    cells = VillageCells(np.array([1, 2]), np.array([3, 4]), np.array([True, False]), np.array([[1.0, -2.0], [0, 0]]))
    for back in (pickle.loads(pickle.dumps(cells)), copy.deepcopy(cells), copy.copy(cells)):
        assert isinstance(back, VillageCells) and len(back) == 3
        rows, cols, inside = back
        assert rows.tolist() == [1, 2] and cols.tolist() == [3, 4] and inside.tolist() == [True, False]
        assert back.offset_m.tolist() == [[1.0, -2.0], [0.0, 0.0]]


def test_thresholds_and_bands_are_whole_tenths_of_a_minute():
    """Times are rounded up to 0.1 min: a threshold between two tenths (30.25) would count a village
    at 30.22 min on the raster as beyond it; such values are refused with the nearest tenth named."""
    import pytest

    from coverage_app.core.params import AnalysisParams

    AnalysisParams(primary_minutes=30.5, secondary_minutes=90.0, band_minutes=(15.5, 60.0))  # tenths: fine
    with pytest.raises(ValueError, match=r"Primary care threshold must be a whole number of tenths .* e\.g\. 30\.2"):
        AnalysisParams(primary_minutes=30.25)
    with pytest.raises(ValueError, match="Catchment bands"):
        AnalysisParams(band_minutes=(30.0, 45.55))
    with pytest.raises(ValueError, match="secondary_minutes"):
        AnalysisParams(secondary_minutes=119.99)


def test_sweep_draws_thresholds_in_tenths():
    from coverage_app.core.analysis.sweep_spec import Dist, SweepSpec, draw_params
    from coverage_app.core.params import AnalysisParams

    spec = SweepSpec(path=None, raw={}, project_path=None, base_params=AnalysisParams(), cases=[], draws=50, seed=1,
                     params={"primary_minutes": Dist("uniform", (50.0, 70.0))})
    drawn = [draw_params(spec, k, [], []).params["primary_minutes"] for k in range(50)]
    assert all(round(m * 10) == m * 10 for m in drawn) and len(set(drawn)) > 10
