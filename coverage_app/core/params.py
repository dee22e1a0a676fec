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


def default_speeds() -> dict[str, dict[str, float | None]]:
    return {mode: dict(table) for mode, table in DEFAULT_SPEEDS_KMH.items()}


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
        return out

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
                if v is WALK:
                    continue
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0 \
                        or v > 300:
                    out.append(f"speeds_kmh.{mode}.{surface} must be a speed from 0 to 300 km/h (or empty "
                               f"for walking), not {v!r}")
    return out


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
    return []
