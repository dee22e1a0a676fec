"""How outputs name the scenario they show: "Baseline" or the scenario's name, a one-line
description of each edit, and a file-name part. Used by the briefing pages, the export
and the desktop app's window title, so a hypothetical figure is never briefed as fact.

A scenario is the project's dict ``{"name", "as_of", "edits": [...]}`` (``None`` = baseline);
edit kinds are those of :mod:`coverage_app.core.analysis.edits`.
"""

from __future__ import annotations

import re

BASELINE = "Baseline"


def scenario_name(scenario: dict | None) -> str:
    return str(scenario.get("name") or "Unnamed scenario") if scenario else BASELINE


def is_hypothetical(scenario: dict | None) -> bool:
    """A named scenario (even without edits yet) is a what-if, not the recorded situation."""
    return bool(scenario)


def describe_edit(edit: dict) -> str:
    kind = edit.get("type")
    date = f" from {str(edit['date'])[:10]}" if edit.get("date") else ""
    if kind == "set_status":
        who = edit.get("name") or edit.get("fac_id")
        return f"{who} ({edit.get('fac_id')}) set to {edit.get('status')}{date}"
    if kind == "add_facility":
        level = edit.get("level") or "Mobile clinic"
        return (f"new {level.lower()} “{edit.get('name')}” at {float(edit.get('lat', 0)):.4f}° N, "
                f"{float(edit.get('lon', 0)):.4f}° E{date}")
    if kind == "add_zone":
        factor = edit.get("speed_factor")
        dates = "–".join(str(d)[:10] for d in (edit.get("valid_from"), edit.get("valid_to")) if d)
        return (f"conflict zone {edit.get('zone_id')} added ({edit.get('kind', 'restricted')}"
                + (f", speed ×{float(factor):g}" if factor is not None else "")
                + (f", +{float(edit['delay_minutes']):g} min" if edit.get("delay_minutes") else "")
                + (f", {dates}" if dates else "") + ")")
    if kind == "remove_zone":
        return f"conflict zone {edit.get('zone_id')} removed"
    return str(kind)


def edit_lines(scenario: dict | None) -> list[str]:
    return [describe_edit(e) for e in (scenario or {}).get("edits", [])]


def scenario_heading(scenario: dict | None) -> str:
    """ "Baseline (situation as recorded)" or "Scenario “X” (hypothetical, 2 edits)"."""
    if not scenario:
        return f"{BASELINE} (situation as recorded)"
    n = len(scenario.get("edits", []))
    return f"Scenario “{scenario_name(scenario)}” (hypothetical, {n} edit{'s' if n != 1 else ''})"


def file_part(scenario: dict | None) -> str:
    """A file-name-safe part: ``baseline`` or ``scenario-<name>``."""
    if not scenario:
        return "baseline"
    slug = re.sub(r"[^0-9A-Za-z\u1000-\u109f]+", "-", scenario_name(scenario)).strip("-").lower()
    return f"scenario-{slug or 'unnamed'}"
