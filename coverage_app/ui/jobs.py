"""Work the window hands to :mod:`coverage_app.ui.tasks`: thin sequences of core calls that
run on a worker thread. No Qt here (workers never touch widgets); each takes ``feedback``.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util

from coverage_app.core.feedback import report, sub
from coverage_app.core.model import ProjectData


def core_module(name: str):
    """``coverage_app.core.<name>`` if it exists in this build, else None."""
    full = f"coverage_app.core.{name}"
    try:
        if importlib.util.find_spec(full) is None:
            return None
        return importlib.import_module(full)
    except ImportError:
        return None


def core_available(name: str) -> bool:
    """Whether ``coverage_app.core.<name>`` exists, without importing it."""
    try:
        return importlib.util.find_spec(f"coverage_app.core.{name}") is not None
    except (ImportError, ValueError):
        return False


def snapshot(data: ProjectData) -> ProjectData:
    """A copy of the loaded project a worker can read while the user keeps editing."""
    project = copy.copy(data.project)
    project.layers = [copy.copy(ref) for ref in data.project.layers]
    project.scenarios = copy.deepcopy(data.project.scenarios)
    return ProjectData(project, dict(data.layers), dict(data.rasters), list(data.problems))


def run_analysis(data, params, scenario, feedback=None):
    analysis = core_module("analysis")
    return analysis.run_analysis(data, params, scenario, feedback=feedback)


def update_result(result, data, scenario, edit, feedback=None):
    scenarios = core_module("scenarios")
    return scenarios.update_result(result, data, scenario, edit, feedback=feedback)


def compare(data, params, scenario_a, scenario_b, result_a=None, result_b=None, feedback=None):
    """Results for both scenarios (running what is missing) and their comparison."""
    analysis = core_module("analysis")
    scenarios = core_module("scenarios")
    if result_a is None:
        result_a = analysis.run_analysis(data, params, scenario_a, feedback=sub(feedback, 0.0, 0.48))
    if result_b is None:
        result_b = analysis.run_analysis(data, params, scenario_b, feedback=sub(feedback, 0.5, 0.98))
    report(feedback, 0.99, "Comparing villages")
    comparison = scenarios.compare(result_a, result_b)
    report(feedback, 1.0, "Comparison ready")
    return result_a, result_b, comparison


def export(result, options: dict, project=None, feedback=None):
    export_mod = core_module("export")
    return export_mod.export_coverage(result, options["out_dir"], formats=options["formats"],
                                      safe_share=options["safe_share"], project=project,
                                      rasters=options.get("rasters", True), csv=options.get("csv", True),
                                      feedback=feedback)


def warm_up(feedback=None):
    core_module("analysis")  # imports numba and the friction builder once, off the GUI thread
    core_module("scenarios")
    engine = core_module("engine")
    if engine is not None and hasattr(engine, "warm_up"):
        engine.warm_up()
    return True
