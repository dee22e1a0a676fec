"""Sweep specs: TOML read, relative paths, validation naming the key, per-draw parameters."""

import datetime as dt

import pytest

from coverage_app.core.analysis.sweep_spec import draw_params, load_spec, monthly_dates
from coverage_app.core.errors import InputError


def write(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
version = 1
project = "{project}"
draws = 5
seed = 11
[analysis]
cell_size_m = 2000.0
[cases]
modes = ["walking", "car"]
monthly = {{ start = 2024-03-15, months = 3 }}
[vary]
unknown_functioning = 0.6
speeds = {{ uniform = [0.8, 1.2] }}
"speeds.walking.off_road" = {{ triangular = [0.7, 1.0, 1.1] }}
zone_delay = {{ normal = [1.0, 0.2] }}
[vary.params]
primary_minutes = {{ choice = [45, 60, 75] }}
"""


def test_good_spec_relative_project_and_cases(tmp_path, bundled_project_path):
    import shutil

    proj = tmp_path / "data"
    shutil.copytree(bundled_project_path.parent, proj, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    sub = tmp_path / "specs"
    sub.mkdir()
    spec = load_spec(write(sub, GOOD.format(project="../data/sagaing.covproj")))
    assert spec.project_path == (proj / "sagaing.covproj").resolve()
    assert spec.base_params.cell_size_m == 2000.0
    assert [c.as_of for c in spec.cases[::2]] == [dt.date(2024, 3, 1), dt.date(2024, 4, 1), dt.date(2024, 5, 1)]
    assert [c.mode for c in spec.cases[:2]] == ["walking", "car"]
    assert spec.varies_friction and spec.is_random


def test_draw_params_depend_only_on_seed_and_index(tmp_path):
    spec = load_spec(write(tmp_path, GOOD.format(project="")))
    fac, zones = ["F2", "F1", "F3"], ["Z1", "Z2"]
    a = draw_params(spec, 3, fac, zones)
    assert a == draw_params(spec, 3, list(reversed(fac)), zones)  # order of the ids does not matter
    assert a != draw_params(spec, 4, fac, zones)
    assert set(a.functioning) == set(fac) and set(a.zone_delay_scale) == set(zones)
    assert 0.7 <= a.speed_scale["walking.off_road"] <= 1.1
    assert all(0.8 <= v <= 1.2 for k, v in a.speed_scale.items() if k != "walking.off_road")
    assert a.params["primary_minutes"] in (45, 60, 75)
    other = load_spec(write(tmp_path, GOOD.format(project="").replace("seed = 11", "seed = 12"), "b.toml"))
    assert draw_params(other, 3, fac, zones) != a


def test_monthly_dates_cross_years():
    assert monthly_dates(dt.date(2023, 11, 20), 4) == [dt.date(2023, 11, 1), dt.date(2023, 12, 1),
                                                      dt.date(2024, 1, 1), dt.date(2024, 2, 1)]


@pytest.mark.parametrize("text, key, words", [
    ("version = 2", "version", "must be 1"),
    ("version = 1\ndraws = 0", "draws", "whole number"),
    ("version = 1\nseed = -1", "seed", ">= 0"),
    ("version = 1\nbogus = 1", "bogus", "unknown key"),
    ("version = 1\nproject = 'nowhere.covproj'", "project", "no project file"),
    ("version = 1\n[analysis]\ncell_size_m = -5", "analysis", "Cell size"),
    ("version = 1\n[analysis]\nspeeds_kmh = 1", "analysis.speeds_kmh", "unknown key"),
    ("version = 1\n[cases]\nmodes = ['horse']", "cases.modes", "unknown travel mode 'horse'"),
    ("version = 1\n[cases]\nas_of = ['2024-13-01']", "cases.as_of", "not a date"),
    ("version = 1\n[cases]\nas_of = [2024-01-01]\nmonthly = {start = 2024-01-01, months = 2}", "cases.monthly",
     "not both"),
    ("version = 1\n[cases]\nmonthly = {start = 2024-01-01, months = 0}", "cases.monthly.months", "1 to 600"),
    ("version = 1\n[cases]\nscenarios = ['No such']", "cases.scenarios", "no scenario named 'No such'"),
    ("version = 1\n[vary]\nunknown_functioning = 1.5", "vary.unknown_functioning", "probability"),
    ("version = 1\n[vary]\nspeeds = { uniform = [1.2, 0.8] }", "vary.speeds", "low <= high"),
    ("version = 1\n[vary]\nspeeds = { gamma = [1, 2] }", "vary.speeds", "unknown distribution"),
    ("version = 1\n[vary]\nspeeds = { triangular = [1, 2] }", "vary.speeds", "takes 3 numbers"),
    ("version = 1\n[vary]\nzone_delay = { uniform = [-1, 1] }", "vary.zone_delay", ">= 0"),
    ("version = 1\n[vary]\n'speeds.walking.motorway' = 1.0", "vary.speeds.walking.motorway", "no such speed"),
    ("version = 1\n[vary.params]\nmode = 1", "vary.params.mode", "not a numeric analysis parameter"),
    ("version = 1\n[vary.params]\ncell_size_m = { uniform = [500, 1000] }", "vary.params.cell_size_m",
     "not a numeric"),
])
def test_bad_specs_name_the_key(tmp_path, text, key, words):
    with pytest.raises(InputError) as err:
        load_spec(write(tmp_path, text))
    problem = err.value.problems[0]
    assert problem.field == key and f"'{key}'" in str(problem) and words in str(problem)
    assert problem.file and problem.file.endswith("spec.toml")


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        load_spec(write(tmp_path, "version = = 1"))
    with pytest.raises(InputError, match="does not exist"):
        load_spec(tmp_path / "missing.toml")
    (tmp_path / "latin1.toml").write_bytes("version = 1 # caf\xe9".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        load_spec(tmp_path / "latin1.toml")


def test_example_specs_and_the_readme_spec_parse(tmp_path):
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    for name in ("uncertainty.toml", "monthly.toml"):
        spec = load_spec(repo / "docs" / "sweeps" / name)
        assert spec.project_path == (repo / "layers" / "sagaing.covproj").resolve()
    assert len(load_spec(repo / "docs" / "sweeps" / "monthly.toml").cases) == 36
    readme = (repo / "README.md").read_text()
    text = re.search(r"```toml\n(.*?)```", readme, flags=re.S).group(1)
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (tmp_path / "layers").symlink_to(repo / "layers")
    spec = load_spec(write(sub, text))
    assert len(spec.cases) == 6 and spec.base_params.max_minutes == 180.0 and spec.unknown_functioning == 0.7
