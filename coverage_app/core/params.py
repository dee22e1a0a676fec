"""Analysis parameters, declared once (QGIS Processing style).

The analysis panel, the command line and the project file all read :class:`AnalysisParams`
and its field metadata (label, unit, limits, choices); units are part of the names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field

MODES = ("walking", "motorbike", "car")
SURFACES = ("main", "secondary", "tertiary", "track", "path", "off_road")
WALK = None  # in a speed table: "people walk here" (use the walking speed)

# km/h by surface and mode (DESIGN.md section 3). ``None`` means "walk".
DEFAULT_SPEEDS_KMH: dict[str, dict[str, float | None]] = {
    "walking": {"main": 5, "secondary": 5, "tertiary": 4, "track": 4, "path": 4, "off_road": 3},
    "motorbike": {"main": 40, "secondary": 30, "tertiary": 20, "track": 20, "path": 10, "off_road": WALK},
    "car": {"main": 50, "secondary": 35, "tertiary": 15, "track": 15, "path": WALK, "off_road": WALK},
}

# Off-road walking speed (km/h) by land-cover class name (Weiss et al. 2020 style).
DEFAULT_LANDCOVER_SPEEDS_KMH = {
    "grass": 4.86, "shrub": 4.2, "forest": 3.24, "cropland": 2.5, "wetland": 2.0,
    "bare": 4.86, "built-up": 5.0, "water": 0.0,
}


# Last mile: km/h of each mode where no road is mapped ("unmapped tracks": village tracks and minor
# roads that no bundled layer holds). ``None`` = people walk there (the off-road walking speed).
# Central values: README "Last-mile travel" (AccessMod manual: 20 km/h is the maximum for tracks,
# trails or footpaths after Toxopeus 1996 / Nelson 2000; a car on an unsurfaced village track is
# taken at half that, a motorbike between the two).
DEFAULT_UNMAPPED_KMH: dict[str, float | None] = {"walking": None, "motorbike": 15.0, "car": 10.0}

# Sensitivity run (``analyse --sensitivity``): low and high speed assumptions around the central one.
# ``unmapped_kmh``: the last-mile speed of the motorised modes (km/h, used as given); ``speed_factor``
# multiplies every other speed of the run (mapped roads, walking; checkpoints, rain, vehicles).
SENSITIVITY_CASES: dict[str, dict] = {
    "low": {"unmapped_kmh": {"motorbike": 10.0, "car": 5.0}, "speed_factor": 0.8},
    "high": {"unmapped_kmh": {"motorbike": 20.0, "car": 15.0}, "speed_factor": 1.2},
}


def default_speeds() -> dict[str, dict[str, float | None]]:
    return {mode: dict(table) for mode, table in DEFAULT_SPEEDS_KMH.items()}


# minutes given in tenths at most: the village tables' times are rounded up to 0.1 min
TENTHS_FIELDS = ("primary_minutes", "secondary_minutes", "band_minutes")


def _meta(label, unit="", minimum=None, maximum=None, choices=None, help=""):
    return {"label": label, "unit": unit, "min": minimum, "max": maximum, "choices": choices, "help": help}


@dataclass(frozen=True)
class AnalysisParams:
    """Everything one analysis run depends on, apart from the layers themselves."""

    mode: str = field(default="walking", metadata=_meta("Travel mode", choices=MODES))
    cell_size_m: float = field(default=250.0, metadata=_meta("Cell size", "m", 10, 5000))
    primary_minutes: float = field(default=60.0, metadata=_meta("Primary care threshold", "min", 1, 1440))
    secondary_minutes: float = field(default=120.0, metadata=_meta("Secondary care threshold", "min", 1, 1440))
    band_minutes: tuple[float, ...] = field(default=(30.0, 60.0, 120.0),
                                            metadata=_meta("Catchment bands", "min", 1, 1440))
    as_of: dt.date | None = field(default=None, metadata=_meta("As of", help="empty = today"))
    neighbours: int = field(default=16, metadata=_meta("Neighbours", choices=(8, 16)))
    unknown_counts: bool = field(default=True, metadata=_meta(
        "Count facilities of unknown status as functioning"))
    max_minutes: float | None = field(default=None, metadata=_meta(
        "Search cut-off", "min", 1, 10000, help="empty = no cut-off"))
    speeds_kmh: dict = field(default_factory=default_speeds, compare=True, hash=False,
                             metadata=_meta("Speeds by surface and mode", "km/h"))
    people_per_bed: float | None = field(default=1000.0, metadata=_meta(
        "People served per bed", "people", 1, 1_000_000, help=(
            "capacity-aware coverage: a facility with beds but no capacity serves at most beds x this many "
            "people within the primary threshold; empty = capacity from the capacity field only")))
    unmapped_kmh: dict = field(default_factory=lambda: dict(DEFAULT_UNMAPPED_KMH), compare=True, hash=False,
                               metadata=_meta("Unmapped tracks", "km/h", 0, 120, help=(
                                   "how fast each mode moves where no road is mapped (village tracks, "
                                   "minor roads); 'walk' = people walk there")))

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        out = value_problems(self)  # finite, within the limits, right types: checked first
        if out:
            return out
        for name in ("cell_size_m", "primary_minutes", "secondary_minutes"):
            value = getattr(self, name)
            meta = FIELDS[name].metadata if name in FIELDS else {}
            if not isinstance(value, (int, float)) or value <= 0:
                out.append(f"{meta.get('label', name)} must be a positive number of "
                           f"{meta.get('unit', '')}, not {value!r}".replace("  ", " "))
        if self.mode not in self.speeds_kmh:
            out.append(f"unknown travel mode {self.mode!r}; choose one of {', '.join(self.speeds_kmh)}")
        if self.neighbours not in (8, 16):
            out.append("neighbours must be 8 or 16")
        if any(b <= 0 for b in self.band_minutes):
            out.append("catchment bands must be positive minutes")
        if self.max_minutes is not None and self.max_minutes <= 0:
            out.append("the search cut-off must be positive minutes")
        if self.people_per_bed is not None and (not isinstance(self.people_per_bed, (int, float))
                                                or self.people_per_bed <= 0):
            out.append(f"people served per bed must be a positive number, not {self.people_per_bed!r}")
        elif self.people_per_bed is not None:  # NaN, infinity or past the limits
            out += _number_problems("people_per_bed", self.people_per_bed)
        for mode, kmh in (self.unmapped_kmh or {}).items():
            if kmh is not None and (not isinstance(kmh, (int, float)) or not 0 < kmh <= 120):
                out.append(f"the unmapped-track speed for {mode} must be between 0 and 120 km/h or walk, "
                           f"not {kmh!r}")
        return out

    def off_road_kmh(self, mode: str | None = None) -> float:
        """Speed (km/h) of ``mode`` (default: the run's) off the mapped roads: the speed table's
        ``off_road`` if set, else its unmapped-track speed (never below walking), else walking."""
        mode = mode or self.mode
        walk = float(self.speeds_kmh["walking"]["off_road"])
        own = self.speeds_kmh.get(mode, {}).get("off_road")
        if own is not None:
            return float(own)
        track = (self.unmapped_kmh or {}).get(mode)
        return walk if track is None else max(float(track), walk)

    def walks_off_road(self, mode: str | None = None) -> bool:
        """True when ``mode`` moves at walking pace off the mapped roads (Tobler's slope rule applies)."""
        mode = mode or self.mode
        return mode == "walking" or (self.speeds_kmh.get(mode, {}).get("off_road") is None
                                     and (self.unmapped_kmh or {}).get(mode) is None)

    def sensitivity_case(self, case: str) -> "AnalysisParams":
        """These parameters under the ``low`` / ``central`` / ``high`` speed assumption (SENSITIVITY_CASES)."""
        if case == "central":
            return self
        spec = SENSITIVITY_CASES[case]
        factor = float(spec["speed_factor"])
        table = {m: dict(t) for m, t in self.speeds_kmh.items()}
        table[self.mode] = {k: (None if v is None else float(v) * factor) for k, v in table[self.mode].items()}
        if self.mode == "walking":
            unmapped = dict(self.unmapped_kmh)
        else:  # motorised runs walk at the walking table's pace off road: scale it as well
            table["walking"] = {k: float(v) * factor for k, v in table["walking"].items()}
            unmapped = dict(self.unmapped_kmh)
            for mode, kmh in spec["unmapped_kmh"].items():
                if mode in unmapped or mode in table:
                    unmapped[mode] = None if kmh is None else float(kmh)
        return self.replace(speeds_kmh=table, unmapped_kmh=unmapped)

    @property
    def as_of_date(self) -> dt.date:
        return self.as_of or dt.date.today()

    def replace(self, **changes) -> "AnalysisParams":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        out["band_minutes"] = list(self.band_minutes)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "AnalysisParams":
        """Parameters from JSON; raises ValueError naming the field of a value of the wrong type."""
        wrong = dict_problems(data)
        if wrong:
            raise ValueError("; ".join(wrong))
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in (data or {}).items() if k in known}
        if kwargs.get("as_of"):
            kwargs["as_of"] = dt.date.fromisoformat(str(kwargs["as_of"]))
        if "band_minutes" in kwargs:
            kwargs["band_minutes"] = tuple(float(b) for b in kwargs["band_minutes"])
        if "speeds_kmh" in kwargs:
            merged = default_speeds()
            for mode, table in kwargs["speeds_kmh"].items():
                merged.setdefault(mode, {}).update(table)
            kwargs["speeds_kmh"] = merged
        if "unmapped_kmh" in kwargs:
            kwargs["unmapped_kmh"] = dict(DEFAULT_UNMAPPED_KMH) | dict(kwargs["unmapped_kmh"] or {})
        return cls(**kwargs)


FIELDS = {f.name: f for f in dataclasses.fields(AnalysisParams)}


# -- value checks at the boundary (issue 12) ---------------------------------------------

def value_problems(params: AnalysisParams) -> list[str]:
    """One plain message per bad value, naming the field, its unit and its limits (NaN, inf, text,
    out of range, an empty band list, negative speeds...)."""
    out = []
    for name in ("cell_size_m", "primary_minutes", "secondary_minutes", "max_minutes"):
        value = getattr(params, name)
        if name == "max_minutes" and value is None:
            continue
        out += _number_problems(name, value)
    if not isinstance(params.mode, str) or params.mode not in params.speeds_kmh:
        out.append(f"unknown travel mode {params.mode!r}; choose one of {', '.join(map(str, params.speeds_kmh))}")
    if isinstance(params.neighbours, bool) or params.neighbours not in (8, 16):
        out.append(f"neighbours must be 8 or 16, not {params.neighbours!r}")
    bands = params.band_minutes
    if not isinstance(bands, (tuple, list)) or len(bands) == 0:
        out.append("Catchment bands (band_minutes) must list at least one number of minutes, e.g. 30, 60, 120")
    else:
        for b in bands:
            out += _number_problems("band_minutes", b)
    if params.as_of is not None and not isinstance(params.as_of, dt.date):
        out.append(f"As of (as_of) must be a date like 2024-05-31, not {params.as_of!r}")
    if not isinstance(params.unknown_counts, bool):
        out.append(f"unknown_counts must be true or false, not {params.unknown_counts!r}")
    if not isinstance(params.speeds_kmh, dict):
        out.append("speeds_kmh must be a table of km/h by mode and surface")
    else:
        for mode, table in params.speeds_kmh.items():
            if not isinstance(table, dict):
                out.append(f"speeds_kmh.{mode} must be a table of km/h by surface, not {table!r}")
                continue
            for surface, v in table.items():
                if v is WALK and mode == "walking":  # "empty" in a speed table means walking's speed
                    out.append(f"speeds_kmh.walking.{surface} must be a walking speed in km/h (empty means "
                               "'walk' in the other modes, so walking itself needs a number)")
                    continue
                if v is WALK:
                    continue
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 \
                        or v > 300:
                    out.append(f"speeds_kmh.{mode}.{surface} must be a speed from 0 to 300 km/h (or empty "
                               f"for walking), not {v!r}")
        out += _standstill_problems(params)
    return out


def _standstill_problems(params: AnalysisParams) -> list[str]:
    """A run's mode at 0 km/h on every surface (empty = walking's speed) reaches nothing: said so, instead
    of every cell reading as a no-go zone."""
    table, walking = params.speeds_kmh.get(params.mode), params.speeds_kmh.get("walking")
    if not isinstance(table, dict) or not table or not isinstance(walking, dict):
        return []
    speeds = [walking.get(surface) if v is WALK else v for surface, v in table.items()]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0 for v in speeds):
        return [f"speeds_kmh.{params.mode} is 0 km/h on every surface, so nothing can be reached; give at "
                "least one surface a speed above 0"]
    return []


def dict_problems(data) -> list[str]:
    """Type problems of a parameter dict from JSON (a project's "analysis"), before any conversion."""
    if not isinstance(data, dict):
        return [f"the analysis parameters must be an object, not {type(data).__name__}"]
    out = []
    for name in ("cell_size_m", "primary_minutes", "secondary_minutes", "max_minutes"):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            out += _number_problems(name, value)
    if data.get("as_of"):
        try:
            dt.date.fromisoformat(str(data["as_of"]))
        except ValueError:
            out.append(f"As of (as_of) must be a date like 2024-05-31, not {data['as_of']!r}")
    if "band_minutes" in data:
        bands = data["band_minutes"]
        if not isinstance(bands, (list, tuple)):
            out.append(f"Catchment bands (band_minutes) must be a list of minutes, not {bands!r}")
        else:
            for b in bands:
                if isinstance(b, bool) or not isinstance(b, (int, float)):
                    out += _number_problems("band_minutes", b)
    if data.get("unmapped_kmh") is not None and not isinstance(data["unmapped_kmh"], dict):
        out.append(f"unmapped_kmh must be a table of km/h by mode (e.g. motorbike: 15), not {data['unmapped_kmh']!r}")
    if "speeds_kmh" in data and (not isinstance(data["speeds_kmh"], dict)
                                 or not all(isinstance(t, dict) for t in data["speeds_kmh"].values())):
        out.append("speeds_kmh must be a table of km/h by mode and surface")
    return out


def analysis_problems(data) -> list[str]:
    """Every problem of a project's "analysis" object (types, then values), naming the fields."""
    try:
        AnalysisParams.from_dict(data)
    except (ValueError, TypeError) as exc:
        return [str(exc)]
    return []


def _number_problems(name: str, value) -> list[str]:
    """``value`` must be a finite number within the field's documented limits."""
    meta = FIELDS[name].metadata
    label, unit, lo, hi = meta["label"], meta["unit"], meta["min"], meta["max"]
    unit_text = {"m": "metres", "min": "minutes"}.get(unit, unit)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return [f"{label} must be a number of {unit_text} ({name}), not {type(value).__name__} {value!r}"]
    if not math.isfinite(value):
        return [f"{label} must be a finite number of {unit_text} ({name}), not {value!r}"]
    if value <= 0:
        return [f"{label} must be a positive number of {unit_text} ({name}), not {value:g}"]
    if lo is not None and value < lo or hi is not None and value > hi:
        hint = ""
        if name == "cell_size_m" and value < lo:
            hint = f" (the documented minimum is {lo:g} m: finer cells are smaller than the road widths and " \
                   "need too much memory)"
        return [f"{label} must be between {lo:g} and {hi:g} {unit_text} ({name}), not {value:g}{hint}"]
    if name in TENTHS_FIELDS and abs(value * 10 - round(value * 10)) > 1e-6:
        return [f"{label} must be a whole number of tenths of a minute ({name}), e.g. {round(value, 1):g}, not "
                f"{value:g}: travel times are reported to 0.1 min, and a threshold between two tenths would "
                "count some villages differently from the travel-time rasters"]
    return []


def scenario_as_of(params: AnalysisParams, scenario: dict | None) -> dt.date:
    """The day a run of ``params`` and ``scenario`` counts facility statuses and zones on: the
    scenario's own date if it has one, else the parameters' (today when none is set)."""
    if scenario and scenario.get("as_of"):
        return dt.date.fromisoformat(str(scenario["as_of"]))
    return params.as_of_date
