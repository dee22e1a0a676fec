"""Work the window hands to :mod:`coverage_app.ui.tasks`: thin sequences of core calls that
run on a worker thread. No Qt here (workers never touch widgets); each takes ``feedback``.
"""

from __future__ import annotations

import copy

from coverage_app.core import startup
from coverage_app.core.feedback import report, sub
from coverage_app.core.data.model import ProjectData


def snapshot(data: ProjectData) -> ProjectData:
    """A copy of the loaded project a worker can read while the user keeps editing."""
    project = copy.copy(data.project)
    project.layers = [copy.copy(ref) for ref in data.project.layers]
    project.scenarios = copy.deepcopy(data.project.scenarios)
    project.status_ledger = list(data.project.status_ledger)
    return ProjectData(project, dict(data.layers), dict(data.rasters), list(data.problems))


def run_analysis(data, params, scenario, feedback=None):
    """A full run, its outputs made shareable by the what-if edits that follow (so the first
    edit does not pay for copying whole grids)."""
    from coverage_app.core.analysis import scenarios
    from coverage_app.core.analysis.pipeline import run_analysis as run

    result = run(data, params, scenario, feedback=feedback)
    scenarios.share_outputs(result)
    return result


def retabulate(result, data, params, feedback=None):
    """``result`` re-counted for new thresholds, bands or people per bed (no new search)."""
    from coverage_app.core.analysis import scenarios

    return scenarios.retabulate(result, data, params, feedback=feedback)


def update_result(result, data, scenario, edit, feedback=None):
    from coverage_app.core.analysis import scenarios

    result = scenarios.update_result(result, data, scenario, edit, feedback=feedback)
    scenarios.share_outputs(result)  # a zone edit falls back to a full run
    return result


def compare(data, params, scenario_a, scenario_b, result_a=None, result_b=None, feedback=None):
    """Results for both scenarios (running what is missing) and their comparison."""
    from coverage_app.core.analysis import scenarios
    from coverage_app.core.analysis.pipeline import run_analysis

    if result_a is None:
        result_a = run_analysis(data, params, scenario_a, feedback=sub(feedback, 0.0, 0.48))
    if result_b is None:
        result_b = run_analysis(data, params, scenario_b, feedback=sub(feedback, 0.5, 0.98))
    report(feedback, 0.99, "Comparing villages")
    comparison = scenarios.compare(result_a, result_b)
    report(feedback, 1.0, "Comparison ready")
    return result_a, result_b, comparison


def export(result, options: dict, project=None, feedback=None):
    from coverage_app.core.outputs.export import export_coverage

    return export_coverage(result, options["out_dir"], formats=options["formats"],
                                      safe_share=options["safe_share"], project=project,
                                      rasters=options.get("rasters", True), csv=options.get("csv", True),
                                      feedback=feedback)


def export_encrypted(result, options: dict, project=None, key=None, feedback=None):
    """The export as one encrypted archive ``coverage.zip.enc`` in ``options["out_dir"]``."""
    from pathlib import Path

    from coverage_app.core.outputs.sealed import ARCHIVE_SUFFIX, export_encrypted as seal

    out = seal(result, Path(options["out_dir"]) / f"coverage{ARCHIVE_SUFFIX}", key, formats=options["formats"],
               safe_share=options["safe_share"], project=project, rasters=options.get("rasters", True),
               csv=options.get("csv", True), feedback=feedback)
    return [out]


def warm_up(feedback=None):
    # imports numba and the friction builder once, off the GUI thread
    from coverage_app.core.analysis import pipeline, scenarios  # noqa: F401  (scenarios: for the edits)

    pipeline.warm_up()
    startup.imports_done()  # freeze the analysis modules too (a console-script start only)
    return True


def sweep(source, data, out_dir=None, scheduler="serial", workers=None, feedback=None):
    """A sweep (issue 15): ``source`` is a spec file path or a parsed spec dict (read against the
    loaded project). Runs it, writes it to ``out_dir`` if given; returns the SweepResult."""
    from pathlib import Path

    from coverage_app.core.analysis.sweep import run_sweep
    from coverage_app.core.analysis.sweep_spec import load_spec, parse_spec
    from coverage_app.core.outputs.sweep_export import export_sweep

    if isinstance(source, dict):
        spec = parse_spec(source, project=data.project)
    else:  # a spec file without its own project runs on the open one, not on the bundled one
        spec = load_spec(source, project=data.project)
    own = spec.project_path is None or (
        data.project.path and Path(spec.project_path) == Path(data.project.path).resolve())
    use = data if own else None  # the open project's layers, already loaded
    result = run_sweep(spec, feedback=sub(feedback, 0.0, 0.92 if out_dir else 1.0), scheduler=scheduler,
                       workers=workers, data=use)
    if out_dir:
        export_sweep(result, out_dir, feedback=sub(feedback, 0.92, 1.0))
    return result
