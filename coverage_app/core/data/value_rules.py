"""Value rules of layer fields that :mod:`coverage_app.core.data.layers` applies once a layer is
mapped: true/false fields, counts and delays that cannot be negative, date ranges, and
coordinates that are not numbers. Each rule returns :class:`~coverage_app.core.errors.Problem`
objects naming the field and the rows; nothing is silently read as something else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coverage_app.core.data.roles import CROSSING_KINDS, ZONE_KINDS
from coverage_app.core.errors import Problem

TRUE_WORDS = ("1", "1.0", "true", "yes", "y", "t")
FALSE_WORDS = ("0", "0.0", "false", "no", "n", "f")
# fields that hold amounts that cannot be below zero, by role (population has its own message)
NON_NEGATIVE = {"facilities": ("beds", "capacity"), "crossings": ("delay_minutes",),
                "conflict_zones": ("delay_minutes",)}


def bool_values(col: pd.Series, blank: pd.Series, name: str, source: str, rows_of, where: dict,
                ) -> tuple[pd.Series, list[Problem]]:
    """A true/false field read as booleans (None where empty); a value that is neither (e.g. 'maybe')
    is an error instead of being read as false."""
    text = col.astype(str).str.strip().str.lower()
    unknown = ~text.isin(TRUE_WORDS + FALSE_WORDS) & ~blank
    problems = []
    if unknown.any():
        sample = ", ".join(repr(v) for v in list(dict.fromkeys(col[unknown].astype(str).str.strip()))[:3])
        problems.append(Problem("error", f"'{name}' must be true or false (also yes/no, 1/0), found {sample}; "
                                "correct those cells or leave them empty", field=source, rows=rows_of(unknown),
                                **where))
    return text.isin(TRUE_WORDS).where(~blank, None), problems


# what a kind outside the known ones is taken as, by role
KINDS = {"conflict_zones": (ZONE_KINDS, "they still slow travel by their speed_factor, and the maps draw them "
                                        "as 'Other zone'"),
         "crossings": (CROSSING_KINDS, "they are crossed as bridges (no waiting unless delay_minutes is set)")}


def kind_problems(gdf, role: str, mapping: dict, where: dict, rows_of) -> list[Problem]:
    """Zone and crossing kinds in lower case without spaces around; a warning for kinds that are none of
    the known ones (a typo such as 'no-go' or 'ferri' would otherwise pass unnoticed)."""
    if role not in KINDS or "kind" not in gdf:
        return []
    known, taken_as = KINDS[role]
    blank = gdf["kind"].isna()
    kind = gdf["kind"].astype(str).str.strip().str.lower()
    gdf["kind"] = kind.where(~blank, None)
    unknown = (~kind.isin(known) & ~blank).to_numpy()
    if not unknown.any():
        return []
    found = ", ".join(repr(k) for k in list(dict.fromkeys(kind[unknown]))[:3])
    return [Problem("warning", f"kind {found} is not one of {', '.join(known)}: {taken_as}; correct the kind if "
                    "it is a typo", field=mapping.get("kind", "kind"), rows=rows_of(unknown), **where)]


def amount_problems(gdf, role: str, mapping: dict, where: dict, rows_of) -> list[Problem]:
    """Beds, capacities and delays below zero (a negative delay would make a ferry or a conflict zone
    speed travel up); valid_from after valid_to in a conflict zone (a zone never in force); zone and
    crossing kinds (:func:`kind_problems`)."""
    problems = kind_problems(gdf, role, mapping, where, rows_of)
    for name in NON_NEGATIVE.get(role, ()):
        if name not in gdf:
            continue
        values = pd.to_numeric(gdf[name], errors="coerce")
        negative = (values < 0).to_numpy()
        if negative.any():
            problems.append(Problem("error", f"'{name}' cannot be negative, found {values[negative].iloc[0]:g}; "
                                    "correct those cells (0 or more) or leave them empty",
                                    field=mapping.get(name, name), rows=rows_of(negative), **where))
    if role == "conflict_zones" and "valid_from" in gdf and "valid_to" in gdf:
        start = pd.to_datetime(gdf["valid_from"], errors="coerce")
        end = pd.to_datetime(gdf["valid_to"], errors="coerce")
        inverted = (start > end).to_numpy()
        if inverted.any():
            problems.append(Problem("error", "valid_from is after valid_to, so the zone is never in force; swap "
                                    "the two dates (or correct them)", field=mapping.get("valid_from", "valid_from"),
                                    rows=rows_of(inverted), **where))
    return problems


def non_finite_coordinates(geometry) -> np.ndarray:
    """True where a geometry's coordinates are not all finite numbers (NaN or infinity)."""
    b = geometry.bounds.to_numpy(dtype="float64")
    return ~np.isfinite(b).all(axis=1)
