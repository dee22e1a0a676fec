"""Analysis runs and the result cache: parameters from the Analysis panel, Run (in the
background, with progress and cancel), quick updates after one scenario edit, the cache of
recent results (undo, scenario switching and comparison reuse them), stale marking, and the
result layers on the map (travel-time rasters in minutes, catchments, villages by gap).
"""

from __future__ import annotations

import copy
import logging
import time

from PySide6.QtCore import Signal

from coverage_app.core.data.viewmodel import result_key
from coverage_app.core.outputs import symbology as sym

from . import dialogs, jobs
from .maplayers import RasterLayer, VectorLayer, travel_time_colours
from .session import Controller

log = logging.getLogger("coverage_app.ui")
CACHE_SIZE = 6                 # results kept for undo, scenario switching and comparison…
CACHE_BYTES = 1_500_000_000    # …within this estimate of their memory (always the last two)


class AnalysisController(Controller):
    result_shown = Signal()

    def __init__(self, session, tasks, widget, stack, canvas, analysis_panel, results, status=None):
        super().__init__(session, tasks, widget, status)
        self.stack = stack
        self.canvas = canvas
        self.panel = analysis_panel
        self.results = results
        analysis_panel.run_requested.connect(self.run_analysis)
        analysis_panel.params_edited.connect(self._params_edited)

    def reset(self, project) -> None:
        self.results.show_result(None)
        self.results.show_comparison(None, "", "")
        self.panel.set_params(project.params)

    # ---------------------------------------------------------------------------------
    def params_from_panel(self):
        """AnalysisParams from the panel (ValueError naming the field if one is invalid)."""
        return self.panel.params(self.project.params)

    def _params_edited(self) -> None:
        try:
            params = self.params_from_panel()
        except ValueError:
            return
        if params != self.project.params:
            self.project.params = params
            self.session.set_dirty(True)
            self.mark_stale(inputs=False)

    def mark_stale(self, *, inputs: bool = True) -> None:
        """The inputs (``inputs``, the default) or the parameters changed: forget cached results,
        mark the one on show as out of date. After an input change no search is reused."""
        s = self.session
        s.cache.clear()
        if inputs:
            s.searched = None
        if s.result is not None and not s.result_stale:
            s.result_stale = True
            self.results.show_result(s.result, stale=True, scenario_name=self.project.active_scenario)

    def key(self, scenario) -> str:
        return result_key(self.project.params, copy.deepcopy(scenario) if scenario else None)

    def remember(self, key: str, result) -> None:
        cache = self.session.cache
        cache[key] = result
        cache.move_to_end(key)

        def size(r) -> int:  # rasters, engine state and friction: ~80 bytes a cell
            rows, cols = r.grid.shape
            return rows * cols * 80

        while len(cache) > 2 and (len(cache) > CACHE_SIZE or sum(size(r) for r in cache.values()) > CACHE_BYTES):
            oldest = next(iter(cache))
            if cache[oldest] is self.session.result:
                cache.move_to_end(oldest)
                oldest = next(iter(cache))
            cache.pop(oldest)

    # ---------------------------------------------------------------------------------
    def run_analysis(self):
        if self.data is None:
            dialogs.show_info(self.widget, "Run analysis", "The project is still loading.")
            return None
        try:
            params = self.params_from_panel()
        except ValueError as exc:
            dialogs.show_error(self.widget, "Analysis parameters", str(exc))
            return None
        if params != self.project.params:
            self.project.params = params
            self.session.set_dirty(True)
        scenario = self.session.active_scenario()
        return self.start_analysis(copy.deepcopy(scenario) if scenario else None, self.key(scenario))

    def start_analysis(self, scenario, key, label: str = "Running analysis"):
        """Run the analysis for ``scenario`` with the project's parameters in the background; only
        re-count the last result's travel times if nothing but thresholds, bands or people per bed
        changed since (no search: :func:`~coverage_app.core.analysis.scenarios.retabulate`)."""
        from coverage_app.core.analysis.scenarios import same_searches

        self.panel.set_running(True)
        self.panel.status.setText("Running…")
        t0 = time.perf_counter()
        project = self.project
        searched, searched_data = self.session.searched or (None, None)
        quick = searched_data is self.data and same_searches(searched, project.params, scenario)

        def done(result):
            if self.project is not project:  # another project was opened meanwhile
                return
            self.remember(key, result)
            if key == self.key(self.session.active_scenario()):
                self.show_result(result, key)
            self.panel.status.setText(f"Finished in {time.perf_counter() - t0:.1f} s")

        def cancelled():
            self.panel.status.setText("Cancelled")
            self.status("Analysis cancelled")

        def failed(exc):
            self.panel.status.setText("Failed: see the message")
            self.task_error("Analysis", exc)

        if quick:
            task = self.tasks.start(jobs.retabulate, searched, jobs.snapshot(self.data), project.params,
                                    label="Updating results", group="analysis", replace=True, on_done=done,
                                    on_cancelled=cancelled, on_error=failed)
        else:
            task = self.tasks.start(jobs.run_analysis, jobs.snapshot(self.data), project.params, scenario,
                                    label=label, group="analysis", replace=True, on_done=done,
                                    on_cancelled=cancelled, on_error=failed)
        task.ended.connect(lambda _state: self.panel.set_running(self.tasks.busy("analysis")))
        return task

    def start_update(self, previous, scenario, edit, key):
        """Update ``previous`` for one more scenario edit (quicker than a full run)."""
        t0 = time.perf_counter()
        project = self.project

        def done(result):
            if self.project is not project:
                return
            self.remember(key, result)
            if key == self.key(self.session.active_scenario()):
                self.show_result(result, key)
            self.status(f"Results updated in {time.perf_counter() - t0:.2f} s")

        return self.tasks.start(jobs.update_result, previous, jobs.snapshot(self.data), scenario, edit,
                                label="Updating results", group="analysis", replace=True, on_done=done,
                                on_error=lambda exc: self.task_error("Update results", exc),
                                on_cancelled=lambda: self.status("Update cancelled"))

    def results_for_current_state(self) -> None:
        """Show the cached result of the current state, or recompute if results were on show."""
        if self.data is None:
            return
        scenario = self.session.active_scenario()
        key = self.key(scenario)
        if key in self.session.cache:
            self.show_result(self.session.cache[key], key)
        elif self.session.result is not None:
            self.start_analysis(copy.deepcopy(scenario) if scenario else None, key, label="Updating results")

    def show_result(self, result, key) -> None:
        s = self.session
        s.result = result
        s.result_key = key
        s.result_stale = False
        s.searched = (result, self.data)
        if result.grid.crs is not None and not result.grid.crs.equals(self.canvas.crs):
            log.info("result grid CRS differs from the map CRS; travel-time rasters are placed approximately")
        self._update_result_layers(result)
        self.results.show_result(result, scenario_name=self.project.active_scenario)
        h = result.headline()
        self.status(
            f"{h['pop_no_primary']:,.0f} people without primary care within {result.params.primary_minutes:g} min; "
            f"{h['pop_no_secondary']:,.0f} without secondary within {result.params.secondary_minutes:g} min")
        self.result_shown.emit()

    # ---------------------------------------------------------------------------------
    def _update_result_layers(self, result) -> None:
        """Travel-time rasters, catchments and villages by gap as layers (created once, then updated).

        Their names carry the scenario's name when it is not the baseline ("Villages by access gap
        — Clinic at Kani"), so a screenshot or a layer list says which scenario it shows."""
        layers = self.session.result_layers
        first_time = not layers
        name = (self.project.active_scenario or "").strip()
        suffix = f" — {name}" if name and name.lower() != "baseline" else ""
        renamed = False
        specs = []
        for tier in ("primary", "secondary"):
            t = result.tiers.get(tier)
            if t is not None:
                specs.append((f"tt_{tier}", f"Travel time to {tier} care (min)", "raster", t, tier == "primary"))
        catchments = result.catchments
        for tier in ("primary", "secondary"):
            if catchments is not None and len(catchments) and "tier" in catchments:
                part = catchments[catchments["tier"] == tier]
                specs.append((f"catch_{tier}", f"Catchments, {tier} care (bands)", "catchments", part, False))
        specs.append(("villages", "Villages by access gap", "villages", result.villages, True))
        transform = result.grid.transform
        # where new result layers go: villages above the base villages, rasters at the bottom
        for kind, title, what, payload, visible in specs:
            title += suffix
            layer = layers.get(kind)
            if layer is not None and layer.title != title:
                layer.title = title
                renamed = True
            if what == "raster":
                if layer is None:
                    layer = RasterLayer(title, "travel_time", payload.minutes, transform, result=True,
                                        visible=visible, colour=travel_time_colours,
                                        legend_items=sym.travel_time_legend(), unit="min", style={"opacity": 0.85})
                    layers[kind] = layer
                    self.stack.insert(self._bottom_index(raster=True), layer)
                else:
                    layer.set_values(payload.minutes, transform, edited=payload.edited)
                    self.stack.changed(layer)
            else:
                if payload is None:
                    continue
                role = "catchments" if what == "catchments" else "villages"
                if layer is None:
                    layer = VectorLayer(title, role, payload, self.canvas.crs, result=True, visible=visible,
                                        style={})
                    layers[kind] = layer
                    index = self._gap_villages_index() if what == "villages" else self._bottom_index()
                    self.stack.insert(index, layer)
                else:
                    layer.set_frame(payload)
                    self.stack.changed(layer)
        if renamed:
            self.stack.structure_changed.emit()
        if first_time:
            for layer in self.stack:
                if layer.role == "villages" and not layer.result and layer.visible:
                    self.stack.set_visible(layer, False)

    def _bottom_index(self, raster: bool = False) -> int:
        """Travel-time rasters go to the bottom (township outlines and everything else stay
        visible above them); catchments just above the rasters."""
        if raster:
            return len(self.stack)
        for i, layer in enumerate(self.stack):
            if layer.result and isinstance(layer, RasterLayer):
                return i
        return len(self.stack)

    def _gap_villages_index(self) -> int:
        """Villages by gap go where the villages are, but below the facilities."""
        villages = next((i for i, l in enumerate(self.stack) if l.role == "villages" and not l.result), 0)
        facilities = next((i + 1 for i, l in enumerate(self.stack) if l.role == "facilities"), 0)
        return max(villages, facilities)
