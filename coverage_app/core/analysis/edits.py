"""Scenario edits applied to project data: the one module both the run pipeline and the
scenario tools use, so that neither imports the other's internals.

Edits are dicts (see :mod:`coverage_app.core.analysis.scenarios` for the kinds). Facility
coordinates are EPSG:4326 (lon, lat); zone geometries are WKT in EPSG:4326.
"""

from __future__ import annotations

import datetime as dt
import math

import geopandas as gpd
import pandas as pd
import shapely

from coverage_app.core.errors import InputError, Problem
from coverage_app.core.data.layers import MYANMAR_BOUNDS
from coverage_app.core.data.roles import FACILITY_STATUSES


def _applies(edit: dict, as_of: dt.date) -> bool:
    date = edit.get("date")
    return not date or dt.date.fromisoformat(str(date)[:10]) <= as_of


def _number(edit: dict, key: str, lo: float, hi: float, what: str, required: bool = False) -> None:
    """``edit[key]`` is a finite number from ``lo`` to ``hi`` (or absent, unless ``required``)."""
    value = edit.get(key)
    if value is None and not required:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise InputError(f"scenario edit ({edit.get('type')} {edit.get('fac_id') or edit.get('zone_id') or ''}): "
                         f"'{key}' must be {what}, not {value!r}; correct it in the project's scenarios")


def validate_edit(edit: dict, fac_ids=None) -> None:
    kind = edit.get("type")
    if kind == "set_status":
        if edit.get("status") not in FACILITY_STATUSES:
            raise InputError(f"scenario edit: status must be one of {', '.join(FACILITY_STATUSES)}, "
                             f"not {edit.get('status')!r}")
        if edit.get("fac_id") in (None, ""):
            raise InputError("scenario edit: a status change needs the 'fac_id' of the facility it changes")
        if fac_ids is not None and edit.get("fac_id") not in fac_ids:
            raise InputError(f"scenario edit: no facility with id {edit.get('fac_id')!r}")
    elif kind == "add_facility":
        for key in ("fac_id", "name", "lon", "lat"):
            if edit.get(key) in (None, ""):
                raise InputError(f"scenario edit: a new facility needs '{key}'")
        x0, y0, x1, y1 = MYANMAR_BOUNDS
        _number(edit, "lon", x0, x1, f"a longitude in Myanmar ({x0:g} to {x1:g})", required=True)
        _number(edit, "lat", y0, y1, f"a latitude in Myanmar ({y0:g} to {y1:g})", required=True)
        _number(edit, "capacity", 0, math.inf, "a number of people (0 or more)")
        if edit.get("status") is not None and edit["status"] not in FACILITY_STATUSES:
            raise InputError(f"scenario edit: the new facility's status must be one of "
                             f"{', '.join(FACILITY_STATUSES)}, not {edit['status']!r}")
        if fac_ids is not None and edit["fac_id"] in fac_ids:
            raise InputError(f"scenario edit: facility id {edit['fac_id']!r} is already used")
    elif kind in ("add_zone", "remove_zone"):
        if not edit.get("zone_id"):
            raise InputError("scenario edit: a zone edit needs 'zone_id'")
        if kind == "add_zone":
            _number(edit, "speed_factor", 0, 1, "a speed factor from 0 (impassable) to 1 (no slow-down)")
            _number(edit, "delay_minutes", 0, math.inf, "minutes (0 or more)")
            try:
                area = shapely.from_wkt(edit.get("wkt")).area if isinstance(edit.get("wkt"), str) else 0.0
            except shapely.errors.GEOSException:
                area = 0.0
            if not area > 0:
                raise InputError(f"scenario edit (add_zone {edit['zone_id']}): 'wkt' must be the zone's polygon "
                                 f"as WKT in longitude/latitude, e.g. POLYGON ((95 22, 95.1 22, 95.1 22.1, 95 22)), "
                                 f"not {str(edit.get('wkt'))[:60]!r}; draw the zone again")
    else:
        raise InputError(f"scenario edit: unknown type {kind!r}")


def scenario_problems(scenarios: list[dict], fac_ids=None) -> list[Problem]:
    """Every edit of every scenario checked as a run would check it (``fac_ids``: the facilities
    layer's ids; a status change may also name a facility an earlier edit of its scenario adds).
    One error per unusable edit, naming the scenario and the edit's number (from 1)."""
    out = []
    for sc in scenarios or ():
        known = set(fac_ids) if fac_ids is not None else None
        edits = sc.get("edits") if isinstance(sc, dict) else None
        for j, edit in enumerate(edits or (), start=1):
            try:
                if not isinstance(edit, dict):
                    raise InputError(f"scenario edit: must be an object, not {type(edit).__name__}")
                validate_edit(edit, known)
            except InputError as err:
                out += [Problem("error", f"scenario '{sc.get('name')}', edit {j}: {p.message}") for p in err.problems]
                continue
            if known is not None and edit.get("type") == "add_facility":
                known.add(edit["fac_id"])
    return out


def apply_facility_edits(fac: gpd.GeoDataFrame, scenario: dict | None, as_of: dt.date) -> gpd.GeoDataFrame:
    if not scenario:
        return fac
    fac = fac.copy()
    new_rows = []
    for edit in scenario.get("edits", []):
        validate_edit(edit)
        if not _applies(edit, as_of):
            continue
        if edit["type"] == "set_status":
            hit = fac["fac_id"] == edit["fac_id"]
            if not hit.any():
                hit_new = [r for r in new_rows if r["fac_id"] == edit["fac_id"]]
                if not hit_new:
                    raise InputError(f"scenario '{scenario.get('name')}': no facility with id {edit['fac_id']!r}")
                for r in hit_new:
                    r["status"] = edit["status"]
                continue
            fac.loc[hit, "status"] = edit["status"]
            fac.loc[hit, "status_date"] = edit.get("date")
        elif edit["type"] == "add_facility":
            level = edit.get("level") or "Mobile clinic"
            secondary = bool(edit.get("provides_secondary", False))
            new_rows.append({
                "fac_id": str(edit["fac_id"]), "name": edit["name"], "level": level,
                "provides_primary": bool(edit.get("provides_primary", True)), "provides_secondary": secondary,
                "status": edit.get("status", "functioning"), "status_date": edit.get("date"),
                "operator": edit.get("operator"), "capacity": edit.get("capacity"), "is_new": True,
                "geometry": shapely.Point(float(edit["lon"]), float(edit["lat"])),
            })
    if new_rows:
        added = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=4326).to_crs(fac.crs)
        fac = gpd.GeoDataFrame(pd.concat([fac, added], ignore_index=True), geometry="geometry", crs=fac.crs)
    return fac


def apply_zone_edits(zones: gpd.GeoDataFrame | None, scenario: dict | None) -> gpd.GeoDataFrame | None:
    if not scenario:
        return zones
    edits = [e for e in scenario.get("edits", []) if e.get("type") in ("add_zone", "remove_zone")]
    if not edits:
        return zones
    frame = zones.copy() if zones is not None else gpd.GeoDataFrame(
        {"zone_id": [], "kind": [], "speed_factor": [], "delay_minutes": [], "valid_from": [], "valid_to": []},
        geometry=[], crs=4326)
    for edit in edits:
        validate_edit(edit)
        if edit["type"] == "remove_zone":
            frame = frame[frame["zone_id"] != edit["zone_id"]]
        else:
            row = gpd.GeoDataFrame([{
                "zone_id": edit["zone_id"], "kind": edit.get("kind", "restricted"),
                "speed_factor": float(edit.get("speed_factor", 0.5)),
                "delay_minutes": float(edit.get("delay_minutes", 0.0)),
                "valid_from": edit.get("valid_from"), "valid_to": edit.get("valid_to"),
                "geometry": shapely.from_wkt(edit["wkt"])}], geometry="geometry", crs=4326).to_crs(frame.crs)
            frame = gpd.GeoDataFrame(pd.concat([frame, row], ignore_index=True), geometry="geometry", crs=frame.crs)
    return frame


def new_edit_id(prefix: str, key: str, existing, scenarios) -> str:
    """The first ``f"{prefix}{i:03d}"`` (i = 1, 2, ...) that is neither in ``existing`` (ids of the
    loaded layers) nor the ``key`` (``fac_id``, ``zone_id``) of any edit of any scenario: the id
    of a facility or zone a scenario adds."""
    used = {str(x) for x in existing}
    used |= {str(e.get(key)) for s in scenarios for e in s.get("edits", [])}
    i = 1
    while f"{prefix}{i:03d}" in used:
        i += 1
    return f"{prefix}{i:03d}"
