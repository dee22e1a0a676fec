"""Greedy maximal covering: known answers on a synthetic layout, and the real data."""

import pytest

from coverage_app.core.analysis.pipeline import run_analysis
from coverage_app.core.errors import InputError
from coverage_app.core.analysis.siting import suggest_sites
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
    assert picks.site.iloc[0].startswith("E") and picks.site.iloc[1].startswith("W")
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
