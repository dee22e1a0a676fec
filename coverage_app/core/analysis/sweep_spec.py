"""Sweep specification (TOML, ``version = 1``): what a Monte Carlo / scenario sweep varies.

::

    version = 1
    project = "../layers/sagaing.covproj"   # relative to this file; empty = the bundled project
    scenario = ""                   # a scenario saved in the project ("" = baseline)
    draws = 100                      # Monte Carlo draws per case
    seed = 20261202

    [analysis]                       # AnalysisParams overrides for every case
    cell_size_m = 2000.0
    max_minutes = 240.0              # search cut-off (minutes); later times count as "beyond"

    [cases]                          # the product of these lists is the list of cases
    modes = ["walking", "motorbike"]
    as_of = ["2024-01-01"]           # explicit dates, or
    monthly = { start = "2023-01-01", months = 24 }   # the first of each month
    scenarios = ["", "Kale hospitals closed"]

    [vary]
    unknown_functioning = 0.7        # probability that each facility of status 'unknown' functions
    speeds = { uniform = [0.8, 1.2] }             # multiplier on every speed, drawn per mode and surface
    "speeds.walking.off_road" = { triangular = [0.7, 1.0, 1.1] }  # a multiplier for one entry
    zone_speed_factor = { uniform = [0.8, 1.2] }  # multiplier on each zone's speed factor (kept <= 1)
    zone_delay = { uniform = [0.5, 1.5] }         # multiplier on each zone's entry delay
    "unmapped.car" = { triangular = [0.5, 1.0, 1.5] }  # multiplier on a mode's unmapped-track speed

    [vary.params]                    # absolute values for any numeric AnalysisParams field
    primary_minutes = { uniform = [50, 70] }   # thresholds are drawn to 0.1 min

Distributions: ``{ uniform = [low, high] }``, ``{ triangular = [low, mode, high] }``,
``{ normal = [mean, sd] }`` (truncated at 0), ``{ choice = [a, b, ...] }`` or a plain number
(fixed). Each draw's parameters depend only on the seed and the draw index
(``numpy.random.SeedSequence(seed, spawn_key=(k,))``), so draw k can be re-run alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coverage_app.core.errors import InputError, Problem
from coverage_app.core.params import FIELDS, TENTHS_FIELDS, AnalysisParams

SPEC_VERSION = 1
DIST_KINDS = {"uniform": 2, "triangular": 3, "normal": 2}
TOP_KEYS = {"version", "project", "scenario", "draws", "seed", "analysis", "cases", "vary"}
CASE_KEYS = {"modes", "as_of", "monthly", "scenarios"}
VARY_KEYS = {"unknown_functioning", "speeds", "zone_speed_factor", "zone_delay", "params"}
# AnalysisParams fields a sweep may set in [analysis] (speeds go through [vary])
ANALYSIS_KEYS = {"mode", "cell_size_m", "primary_minutes", "secondary_minutes", "as_of", "neighbours",
                 "unknown_counts", "max_minutes", "band_minutes"}
MAX_DRAWS = 100_000


@dataclass(frozen=True)
class Dist:
    """One distribution; ``sample(rng)`` gives one float."""

    kind: str  # fixed, uniform, triangular, normal, choice
    args: tuple

    def sample(self, rng: np.random.Generator) -> float:
        if self.kind == "fixed":
            rng.random()  # keep the stream aligned whatever the kind
            return float(self.args[0])
        if self.kind == "uniform":
            return float(rng.uniform(*self.args))
        if self.kind == "triangular":
            lo, mode, hi = self.args
            return float(rng.triangular(lo, mode, hi)) if hi > lo else float(lo)
        if self.kind == "normal":
            return max(float(rng.normal(*self.args)), 0.0)
        return float(self.args[int(rng.integers(len(self.args)))])

    def to_dict(self):
        return self.args[0] if self.kind == "fixed" else {self.kind: list(self.args)}


@dataclass(frozen=True)
class Case:
    """One combination of mode, as-of date and scenario; every case gets the same draws."""

    index: int
    mode: str
    as_of: dt.date | None
    scenario: str  # "" = baseline

    @property
    def label(self) -> str:
        return " ".join(x for x in (self.mode, self.as_of.isoformat() if self.as_of else "", self.scenario) if x)


@dataclass
class SweepSpec:
    path: Path | None
    raw: dict
    project_path: Path | None       # None = bundled project
    base_params: AnalysisParams     # before drawing; mode/as_of come from the case
    cases: list[Case]
    draws: int
    seed: int
    unknown_functioning: float | None = None
    speeds: dict = field(default_factory=dict)     # (mode, surface) or "*" -> Dist (multiplier)
    zone_speed_factor: Dist | None = None
    zone_delay: Dist | None = None
    params: dict = field(default_factory=dict)     # AnalysisParams field -> Dist (absolute)
    unmapped: dict = field(default_factory=dict)   # mode -> Dist (multiplier on unmapped_kmh[mode], km/h)

    @property
    def varies_friction(self) -> bool:
        friction_fields = set(self.params) - {"primary_minutes", "secondary_minutes"}
        return bool(self.speeds or self.zone_speed_factor or self.zone_delay or friction_fields or self.unmapped)

    @property
    def is_random(self) -> bool:
        return bool(self.varies_friction or self.params or self.unknown_functioning is not None)


def _err(key: str, message: str, path=None) -> InputError:
    return InputError(Problem("error", f"sweep spec key '{key}': {message}", file=str(path) if path else None,
                              field=key))


def _dist(value, key: str, path) -> Dist:
    if isinstance(value, bool):
        raise _err(key, "a distribution must be a number or a table like { uniform = [0.8, 1.2] }", path)
    if isinstance(value, (int, float)):
        if not np.isfinite(value) or value < 0:
            raise _err(key, f"must be a finite number of 0 or more, not {value!r}", path)
        return Dist("fixed", (float(value),))
    if not isinstance(value, dict) or len(value) != 1:
        raise _err(key, "write one distribution: { uniform = [low, high] }, { triangular = [low, mode, high] }, "
                   "{ normal = [mean, sd] } or { choice = [a, b, ...] }", path)
    kind, args = next(iter(value.items()))
    if kind not in DIST_KINDS and kind != "choice":
        raise _err(key, f"unknown distribution {kind!r}; use uniform, triangular, normal or choice", path)
    if not isinstance(args, list) or not args or not all(isinstance(a, (int, float)) and not isinstance(a, bool)
                                                         for a in args):
        raise _err(key, f"{kind} takes a list of numbers", path)
    args = tuple(float(a) for a in args)
    if not all(np.isfinite(args)):
        raise _err(key, f"values must be finite numbers, not {', '.join(map(repr, value[kind]))}", path)
    if kind in DIST_KINDS and len(args) != DIST_KINDS[kind]:
        raise _err(key, f"{kind} takes {DIST_KINDS[kind]} numbers, not {len(args)}", path)
    if kind == "uniform" and not args[0] <= args[1]:
        raise _err(key, "uniform needs low <= high", path)
    if kind == "triangular" and not args[0] <= args[1] <= args[2]:
        raise _err(key, "triangular needs low <= mode <= high", path)
    if kind == "normal" and args[1] < 0:
        raise _err(key, "the standard deviation must be >= 0", path)
    if any(a < 0 for a in (args if kind != "normal" else args[:1])):
        raise _err(key, "values must be >= 0 (speeds, factors, delays and minutes are not negative)", path)
    return Dist(kind, args)


def _date(value, key, path) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _err(key, f"{value!r} is not a date like 2024-05-01", path) from None


def _unknown(table: dict, allowed: set, where: str, path) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise _err(f"{where}{extra[0]}", f"unknown key; expected one of {', '.join(sorted(allowed))}", path)


def monthly_dates(start: dt.date, months: int) -> list[dt.date]:
    """The first of each month from ``start``'s month on, ``months`` dates."""
    y, m = start.year, start.month
    out = []
    for _ in range(months):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def load_spec(path, project=None) -> SweepSpec:
    """Read and check a sweep spec file; relative paths are resolved from its folder. ``project``
    (a loaded Project, e.g. the app's open one) is what a spec without a ``project`` key runs on;
    without it such a spec runs on the bundled project (the command line)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(Problem("error", "the sweep spec file does not exist", file=str(path))) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(Problem("error", f"not valid TOML ({exc})", file=str(path))) from None
    except UnicodeDecodeError:
        raise InputError(Problem("error", "not a UTF-8 text file", file=str(path))) from None
    except OSError as exc:  # a folder, no permission, a device
        why = "it is a folder, not a file" if isinstance(exc, IsADirectoryError) else \
            "you do not have permission to read it" if isinstance(exc, PermissionError) else \
            f"it cannot be read ({exc.strerror or exc})"
        raise InputError(Problem("error", f"the sweep spec cannot be used: {why}; give the path of a .toml file",
                                 file=str(path))) from None
    own = raw.get("project") if isinstance(raw, dict) else None
    return parse_spec(raw, base=path.parent, path=path, project=None if own else project)


def parse_spec(raw: dict, base: Path | None = None, path: Path | None = None, project=None) -> SweepSpec:
    """Check a parsed spec. ``project`` (a loaded Project) supplies the base parameters, speed
    table and scenario names; without it the spec's project (or the bundled one) is loaded."""
    from coverage_app.core.data.project import bundled_project_path, load_project

    _unknown(raw, TOP_KEYS, "", path)
    version = raw.get("version")
    if version != SPEC_VERSION:
        raise _err("version", f"must be {SPEC_VERSION} (this version of coverage-app reads sweep specs of "
                   f"version {SPEC_VERSION}), not {version!r}", path)
    project_path = None
    if raw.get("project"):
        if not isinstance(raw["project"], str):
            raise _err("project", "must be a path to a .covproj file", path)
        project_path = Path(raw["project"])
        if not project_path.is_absolute():
            project_path = (Path(base or ".") / project_path).resolve()
        if not project_path.exists():
            raise _err("project", f"no project file at {project_path}", path)
    if project is None:
        project = load_project(project_path or bundled_project_path())
    draws = raw.get("draws", 1)
    if not isinstance(draws, int) or isinstance(draws, bool) or not 1 <= draws <= MAX_DRAWS:
        raise _err("draws", f"must be a whole number from 1 to {MAX_DRAWS}, not {draws!r}", path)
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise _err("seed", f"must be a whole number >= 0, not {seed!r}", path)

    analysis = raw.get("analysis", {})
    if not isinstance(analysis, dict):
        raise _err("analysis", "must be a table", path)
    _unknown(analysis, ANALYSIS_KEYS, "analysis.", path)
    data = project.params.to_dict() | {k: v for k, v in analysis.items()}
    if "as_of" in analysis:
        data["as_of"] = _date(analysis["as_of"], "analysis.as_of", path).isoformat()
    try:
        base_params = AnalysisParams.from_dict(data)
    except (ValueError, TypeError) as exc:
        raise _err("analysis", str(exc), path) from None

    cases_t = raw.get("cases", {})
    if not isinstance(cases_t, dict):
        raise _err("cases", "must be a table", path)
    _unknown(cases_t, CASE_KEYS, "cases.", path)
    modes = cases_t.get("modes", [base_params.mode])
    if not isinstance(modes, list) or not modes:
        raise _err("cases.modes", "must be a list of travel modes", path)
    for m in modes:
        if not isinstance(m, str) or m not in base_params.speeds_kmh:
            raise _err("cases.modes", f"unknown travel mode {m!r}; choose from {', '.join(base_params.speeds_kmh)}",
                       path)
    if "as_of" in cases_t and "monthly" in cases_t:
        raise _err("cases.monthly", "give either as_of (a list of dates) or monthly, not both", path)
    dates: list = [base_params.as_of]
    if "as_of" in cases_t:
        if not isinstance(cases_t["as_of"], list) or not cases_t["as_of"]:
            raise _err("cases.as_of", "must be a list of dates", path)
        dates = [_date(d, "cases.as_of", path) for d in cases_t["as_of"]]
    elif "monthly" in cases_t:
        mt = cases_t["monthly"]
        if not isinstance(mt, dict) or set(mt) != {"start", "months"}:
            raise _err("cases.monthly", "write { start = 2023-01-01, months = 24 }", path)
        months = mt["months"]
        if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 600:
            raise _err("cases.monthly.months", "must be a whole number from 1 to 600", path)
        try:
            dates = monthly_dates(_date(mt["start"], "cases.monthly.start", path), months)
        except (ValueError, OverflowError):  # past 31 December 9999
            raise _err("cases.monthly", f"{months} months from {mt['start']} go past the year 9999", path) from None
    scenarios = cases_t.get("scenarios", [raw.get("scenario", "") or ""])
    if not isinstance(scenarios, list) or not scenarios or not all(isinstance(s, str) for s in scenarios):
        raise _err("cases.scenarios", "must be a list of scenario names (\"\" = baseline)", path)
    if "scenario" in raw and not isinstance(raw["scenario"], str):
        raise _err("scenario", "must be a scenario name", path)
    known = [s.get("name") for s in project.scenarios]
    for s in scenarios:
        if s and project.scenario(s) is None:
            raise _err("cases.scenarios" if "scenarios" in cases_t else "scenario",
                       f"no scenario named {s!r} in the project (scenarios: {', '.join(map(str, known)) or 'none'})",
                       path)
    cases = [Case(i, m, d, s) for i, (s, d, m) in enumerate(
        (s, d, m) for s in scenarios for d in dates for m in modes)]

    vary = raw.get("vary", {})
    if not isinstance(vary, dict):
        raise _err("vary", "must be a table", path)
    speed_keys = {k for k in vary if k.startswith("speeds.")}
    unmapped_keys = {k for k in vary if k.startswith("unmapped.")}
    _unknown({k: v for k, v in vary.items() if k not in speed_keys | unmapped_keys}, VARY_KEYS, "vary.", path)
    spec = SweepSpec(path=path, raw=raw, project_path=project_path, base_params=base_params, cases=cases,
                     draws=draws, seed=seed)
    if "unknown_functioning" in vary:
        p = vary["unknown_functioning"]
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise _err("vary.unknown_functioning", f"must be a probability from 0 to 1, not {p!r}", path)
        spec.unknown_functioning = float(p)
    if "speeds" in vary:
        spec.speeds["*"] = _dist(vary["speeds"], "vary.speeds", path)
    for key in sorted(speed_keys):
        parts = key.split(".")
        table = base_params.speeds_kmh
        if len(parts) != 3 or parts[1] not in table or parts[2] not in table[parts[1]]:
            entries = ", ".join(f"speeds.{m}.{s}" for m in table for s in table[m])
            raise _err(f"vary.{key}", f"no such speed; the speed table has {entries}", path)
        spec.speeds[(parts[1], parts[2])] = _dist(vary[key], f"vary.{key}", path)
    for key in sorted(unmapped_keys):
        mode = key.split(".", 1)[1]
        tracks = {m: v for m, v in (base_params.unmapped_kmh or {}).items() if v is not None}
        if mode not in tracks:
            raise _err(f"vary.{key}", f"no unmapped-track speed for {mode!r}; modes with one: "
                       f"{', '.join(sorted(tracks)) or 'none'}", path)
        spec.unmapped[mode] = _dist(vary[key], f"vary.{key}", path)
    for name in ("zone_speed_factor", "zone_delay"):
        if name in vary:
            setattr(spec, name, _dist(vary[name], f"vary.{name}", path))
    params_t = vary.get("params", {})
    if not isinstance(params_t, dict):
        raise _err("vary.params", "must be a table of AnalysisParams fields", path)
    for name, value in params_t.items():
        default = getattr(base_params, name, None) if name in FIELDS else None
        numeric = name in FIELDS and isinstance(default, (int, float)) and not isinstance(default, bool)
        if not numeric or name in ("cell_size_m", "neighbours"):
            options = sorted(n for n in FIELDS if isinstance(getattr(base_params, n), float)
                             and n not in ("cell_size_m",))
            raise _err(f"vary.params.{name}", f"not a numeric analysis parameter that can be drawn; use one of "
                       f"{', '.join(options)}", path)
        spec.params[name] = _dist(value, f"vary.params.{name}", path)
    return spec


def draw_rng(seed: int, k: int) -> np.random.Generator:
    """The generator of draw ``k``: depends only on the seed and k (SeedSequence spawn key)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))


@dataclass
class DrawParams:
    """The parameters drawn for one draw (JSON-able via :meth:`to_dict`)."""

    index: int
    speed_scale: dict = field(default_factory=dict)  # "mode.surface" -> multiplier
    zone_speed_scale: dict = field(default_factory=dict)  # zone_id -> multiplier
    zone_delay_scale: dict = field(default_factory=dict)  # zone_id -> multiplier
    functioning: dict = field(default_factory=dict)  # fac_id (unknown status) -> bool
    unmapped_scale: dict = field(default_factory=dict)  # mode -> multiplier on its unmapped-track speed
    params: dict = field(default_factory=dict)  # AnalysisParams field -> value

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def friction_key(self) -> tuple:
        p = {k: v for k, v in self.params.items() if k not in ("primary_minutes", "secondary_minutes")}
        return (tuple(sorted(self.speed_scale.items())), tuple(sorted(self.zone_speed_scale.items())),
                tuple(sorted(self.zone_delay_scale.items())), tuple(sorted(p.items())),
                tuple(sorted(self.unmapped_scale.items())))


def draw_params(spec: SweepSpec, k: int, fac_ids, zone_ids) -> DrawParams:
    """Draw k's parameters. Streams are consumed in a fixed order (speeds by sorted mode and
    surface, zones by sorted id, facilities by sorted id, then params by sorted name), so a
    draw does not depend on what other draws did."""
    out = DrawParams(k)
    if not spec.is_random:
        return out
    rng = draw_rng(spec.seed, k)
    table = spec.base_params.speeds_kmh
    if spec.speeds:
        for mode in sorted(table):
            for surface in sorted(table[mode]):
                dist = spec.speeds.get((mode, surface), spec.speeds.get("*"))
                if dist is not None:
                    out.speed_scale[f"{mode}.{surface}"] = dist.sample(rng)
    for dist, target in ((spec.zone_speed_factor, out.zone_speed_scale), (spec.zone_delay, out.zone_delay_scale)):
        if dist is not None:
            for z in sorted(map(str, zone_ids)):
                target[z] = dist.sample(rng)
    if spec.unknown_functioning is not None:
        u = rng.random(len(fac_ids))
        out.functioning = {f: bool(x < spec.unknown_functioning) for f, x in zip(sorted(map(str, fac_ids)), u)}
    for name in sorted(spec.params):
        out.params[name] = spec.params[name].sample(rng)
        if name in TENTHS_FIELDS:  # thresholds in tenths of a minute, as the village tables give times
            out.params[name] = round(out.params[name], 1)
    for mode in sorted(spec.unmapped):  # last, so specs without it draw as before
        out.unmapped_scale[mode] = spec.unmapped[mode].sample(rng)
    return out
