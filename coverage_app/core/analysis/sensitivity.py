"""Sensitivity of the headline figures to the speed assumptions (issue 11, last-mile travel).

The analysis runs three times: the central parameters and the ``low`` / ``high`` speed cases
of :data:`coverage_app.core.params.SENSITIVITY_CASES` (unmapped-track speed and a factor on
every speed of the mode). The central result carries every figure as a range: ``lo`` and
``hi`` are the smallest and largest of the three runs (shares 0..1, people, villages; the
township ``pct_*`` are percent of the township's population).

The record keeps the low and high runs' village minutes (``village_minutes``, not exported), so
that new thresholds re-count the ranges without the two runs (:func:`recount_sensitivity`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from coverage_app.core.feedback import check, sub
from coverage_app.core.params import SENSITIVITY_CASES
from coverage_app.core.results import AnalysisResult

CASES = ("low", "central", "high")
RANGED = ("share_primary", "share_secondary", "pop_no_primary", "pop_no_secondary", "villages_no_primary",
          "villages_no_secondary")


def sensitivity_ranges(results: dict[str, AnalysisResult]) -> dict:
    """The ``sensitivity`` record of a central result from the three runs' results (by case)."""
    heads = {case: results[case].headline() for case in CASES}
    headline = {}
    for key in RANGED:
        values = [heads[case][key] for case in CASES]
        headline[key] = {"lo": min(values), "central": heads["central"][key], "hi": max(values),
                         **{case: heads[case][key] for case in ("low", "high")}}
    frames = []
    for case in CASES:
        t = results[case].townships
        frames.append(pd.DataFrame({"pcode": t["pcode"].to_numpy(), "case": case,
                                    "pct_prim": t["pct_prim"].to_numpy(), "pct_sec": t["pct_sec"].to_numpy()}))
    long = pd.concat(frames, ignore_index=True)
    g = long.groupby("pcode", sort=False)
    townships = pd.DataFrame({"pct_lo": g["pct_prim"].min(), "pct_hi": g["pct_prim"].max(),
                              "pct_sec_lo": g["pct_sec"].min(), "pct_sec_hi": g["pct_sec"].max()}).reset_index()
    cases = {}
    for case in ("low", "high"):
        p = results[case].params
        cases[case] = {"speed_factor": SENSITIVITY_CASES[case]["speed_factor"],
                       "unmapped_kmh": p.unmapped_kmh, "off_road_kmh": round(p.off_road_kmh(), 3)}
    central = results["central"].params
    cases["central"] = {"speed_factor": 1.0, "unmapped_kmh": central.unmapped_kmh,
                        "off_road_kmh": central.off_road_kmh()}
    kept = {case: {"pcode": _pcodes(results[case].villages),
                   **{col: results[case].villages[col].to_numpy(copy=True) for col in ("prim_min", "sec_min")}}
            for case in ("low", "high")}
    return {"cases": cases, "headline": headline, "townships": townships, "village_minutes": kept}


def _pcodes(villages) -> np.ndarray | None:
    return villages["pcode"].to_numpy(dtype=object, copy=True) if "pcode" in villages else None


def recount_sensitivity(previous: dict | None, central: AnalysisResult, data) -> dict | None:
    """The sensitivity record of ``central``, a result re-counted for new thresholds from the one
    ``previous`` belongs to (:func:`coverage_app.core.analysis.scenarios.retabulate`: same villages
    and searches), from the low and high runs' village minutes kept in ``previous``: no search. The
    same record as :func:`add_sensitivity` gives. None where the minutes cannot give it: no record
    or no minutes kept, other villages, or a population grid (its shares need the runs' grids)."""
    from coverage_app.core.analysis.tables import gap_class, township_summary

    kept = (previous or {}).get("village_minutes")
    if kept is None or central.population_grid is not None or data.raster("population") is not None:
        return None
    pcodes = _pcodes(central.villages)
    results = {"central": central}
    for case in ("low", "high"):
        minutes = kept[case]
        if len(minutes["prim_min"]) != len(central.villages) or (pcodes is None) != (minutes["pcode"] is None) or (
                pcodes is not None and not np.array_equal(pcodes, minutes["pcode"])):
            return None
        params = central.params.sensitivity_case(case)
        v = central.villages.copy()
        v["prim_min"], v["sec_min"] = minutes["prim_min"], minutes["sec_min"]
        v["gap"] = gap_class(v["prim_min"].to_numpy(), v["sec_min"].to_numpy(), params)
        results[case] = dataclasses.replace(central, params=params, villages=v, sensitivity=None,
                                            townships=township_summary(v, data.role("townships"), params))
    return sensitivity_ranges(results)


def run_sensitivity(data, params=None, scenario=None, feedback=None) -> AnalysisResult:
    """The central run with ``result.sensitivity`` filled in (see module docstring)."""
    from coverage_app.core.analysis.pipeline import run_analysis

    params = params or data.project.params
    results = {}
    for i, case in enumerate(("central", "low", "high")):
        check(feedback)
        fb = sub(feedback, i / 3, (i + 1) / 3)
        results[case] = run_analysis(data, params.sensitivity_case(case), scenario, feedback=fb)
    central = results["central"]
    central.sensitivity = sensitivity_ranges(results)
    return central


def add_sensitivity(result: AnalysisResult, data, feedback=None) -> AnalysisResult:
    """Fill ``result.sensitivity`` for an existing central result: only the low and high runs are
    computed (same parameters and scenario otherwise). Returns the same result."""
    from coverage_app.core.analysis.pipeline import run_analysis

    results = {"central": result}
    for i, case in enumerate(("low", "high")):
        check(feedback)
        results[case] = run_analysis(data, result.params.sensitivity_case(case), result.scenario,
                                     feedback=sub(feedback, i / 2, (i + 1) / 2))
    result.sensitivity = sensitivity_ranges(results)
    return result
