"""Scenarios: new / duplicate / rename / delete / activate, the "as of" date, edits made
with the map tools (facility status, new facility) pushed through one undo stack per
scenario, facilities drawn as the active scenario has them, and comparing two scenarios.

Results follow the active scenario through the analysis controller (cached result, quick
update after one edit, or a full rerun when results were on show).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QUndoStack

from coverage_app.core.analysis.edits import apply_facility_edits, apply_zone_edits, new_edit_id, validate_edit
from coverage_app.core.data.layers import MYANMAR_BOUNDS
from coverage_app.core.data.viewmodel import result_key
from coverage_app.core.errors import InputError

from . import dialogs, jobs
from .maplayers import VectorLayer
from .scenario_panel import AddFacilityDialog, EditCommand, StatusDialog
from .session import Controller

log = logging.getLogger("coverage_app.ui")

# How long a quick update may take before the facilities are redrawn without its result (ms): the
# target of a what-if at 250 m (issue 14). Within it the edit and its result are drawn in one repaint.
FACILITY_REDRAW_WAIT_MS = 300


class ScenarioController(Controller):
    comparison_shown = Signal()

    def __init__(self, session, tasks, widget, stack, canvas, undo_group, scenario_panel, results, analysis,
                 map_tools, status=None):
        super().__init__(session, tasks, widget, status)
        self.stack = stack
        self.canvas = canvas
        self.undo_group = undo_group
        self.undo_stacks: dict[str, QUndoStack] = {}
        self.panel = scenario_panel
        self.results = results
        self.analysis = analysis
        self.map_tools = map_tools
        p = scenario_panel
        p.activated.connect(self.activate_scenario)
        p.new_requested.connect(lambda: self.new_scenario())
        p.duplicate_requested.connect(lambda: self.new_scenario(duplicate=True))
        p.rename_requested.connect(self.rename_scenario)
        p.delete_requested.connect(self.delete_scenario)
        p.compare_requested.connect(self.compare_scenarios)
        p.as_of_changed.connect(self._as_of_changed)
        map_tools.tool_clicked.connect(self._tool_clicked)
        self.compared = None  # {"a", "b", "ka", "kb"} of the comparison on show (names None = baseline)
        # A quick update's facility redraw waits for its result: redrawn and repainted while the update
        # runs, the map took the GIL from it (its worker time 0.35 s instead of 0.23 s, median, at 250 m:
        # benchmarks/README.md, eleventh pass). Drawn with the result, or after FACILITY_REDRAW_WAIT_MS.
        self._facilities_later = QTimer(self)
        self._facilities_later.setSingleShot(True)
        self._facilities_later.setInterval(FACILITY_REDRAW_WAIT_MS)
        self._facilities_later.timeout.connect(self.refresh_facilities)
        analysis.result_shown.connect(self._facilities_with_result)
        session.scenario_changed.connect(self.check_comparison)
        analysis.panel.params_edited.connect(self.check_comparison)  # after the analysis took the new params

    def active_scenario(self) -> dict | None:
        return self.session.active_scenario()

    def reset(self, _project=None) -> None:
        self.compared = None
        self.panel.set_compare_state("")
        self.undo_stacks.clear()
        for stack in list(self.undo_group.stacks()):
            self.undo_group.removeStack(stack)
        self.refresh_scenarios()

    def _undo_stack(self, name: str) -> QUndoStack:
        stack = self.undo_stacks.get(name)
        if stack is None:
            stack = QUndoStack(self)
            self.undo_stacks[name] = stack
            self.undo_group.addStack(stack)
        return stack

    def refresh_scenarios(self) -> None:
        if self.project is None:
            return
        self.panel.set_scenarios(self.project.scenarios, self.project.active_scenario)
        active = self.project.active_scenario
        self.undo_group.setActiveStack(self._undo_stack(active) if active else None)
        self.session.scenario_changed.emit()

    # ---------------------------------------------------------------------------------
    def new_scenario(self, duplicate: bool = False, name: str | None = None, show: bool = True) -> dict:
        """Add a scenario (empty, or a copy of the active one) and make it active. ``show=False``
        (the first edit from the baseline): do not show its results yet, the edit's follow."""
        base = self.active_scenario() if duplicate else None
        scenarios = self.project.scenarios
        existing = {s["name"] for s in scenarios}
        if name is None:
            i = len(scenarios) + 1
            name = f"Scenario {i}"
            while name in existing:
                i += 1
                name = f"Scenario {i}"
        scenario = copy.deepcopy(base) if base else {"name": name, "as_of": None, "edits": []}
        scenario["name"] = name if not base else self._unique_name(f"{base['name']} (copy)")
        scenarios.append(scenario)
        self._seed_from_baseline(scenario)
        self.session.set_dirty(True)
        self.activate_scenario(scenario["name"], show=show)
        return scenario

    def _seed_from_baseline(self, scenario: dict) -> None:
        """A new scenario without edits has the baseline's result: cache it (sharing the baseline's
        arrays) so that activating it and then its first edit (an incremental update of it) need
        no full run. Without this, the first what-if from the baseline ran the analysis twice."""
        if scenario.get("edits") or scenario.get("as_of"):
            return
        baseline = self.session.cache.get(self.analysis.key(None))
        if baseline is not None:
            import dataclasses

            self.analysis.remember(self.analysis.key(scenario),
                                   dataclasses.replace(baseline, scenario=copy.deepcopy(scenario)))

    def _unique_name(self, name: str) -> str:
        existing = {s["name"] for s in self.project.scenarios}
        candidate, i = name, 2
        while candidate in existing:
            candidate = f"{name} {i}"
            i += 1
        return candidate

    def rename_scenario(self) -> None:
        scenario = self.active_scenario()
        if scenario is None:
            dialogs.show_info(self.widget, "Rename scenario", "The baseline cannot be renamed; select a scenario.")
            return
        name = dialogs.get_text(self.widget, "Rename scenario", "Name", scenario["name"])
        if not name or name == scenario["name"]:
            return
        name = self._unique_name(name.strip())
        old = scenario["name"]
        scenario["name"] = name
        if self.compared is not None:  # the comparison follows the rename (its content is unchanged)
            for side in ("a", "b"):
                if self.compared[side] == old:
                    self.compared[side] = name
        self.project.active_scenario = name
        if old in self.undo_stacks:
            stack = self.undo_stacks.pop(old)
            self.undo_stacks[name] = stack
            for i in range(stack.count()):
                command = stack.command(i)
                if isinstance(command, EditCommand):
                    command.scenario_name = name
        self.session.set_dirty(True)
        self.refresh_scenarios()

    def delete_scenario(self) -> None:
        scenario = self.active_scenario()
        if scenario is None:
            return
        if not dialogs.ask(self.widget, "Delete scenario", f"Delete the scenario “{scenario['name']}” and its edits?"):
            return
        self.project.scenarios = [s for s in self.project.scenarios if s is not scenario]
        stack = self.undo_stacks.pop(scenario["name"], None)
        if stack is not None:
            self.undo_group.removeStack(stack)
        self.session.set_dirty(True)
        self.activate_scenario(None)

    def activate_scenario(self, name: str | None, show: bool = True) -> None:
        """Make ``name`` (None: the baseline) the active scenario: the scenario list, the
        facilities and the results follow (``show=False``: the caller shows them)."""
        if self.project is None:
            return
        if name is not None and self.project.scenario(name) is None:
            name = None
        changed = name != self.project.active_scenario
        self.project.active_scenario = name
        if changed:
            self.session.set_dirty(True)
        self.refresh_scenarios()
        if show:
            self.refresh_facilities()
            self.analysis.results_for_current_state()

    def _as_of_changed(self, value) -> None:
        scenario = self.active_scenario()
        if scenario is None or scenario.get("as_of") == value:
            return
        scenario["as_of"] = value
        self.session.set_dirty(True)
        self.session.scenario_changed.emit()
        self.refresh_facilities()
        self.analysis.results_for_current_state()

    # ---------------------------------------------------------------------------------
    # edits (EditCommand calls apply_scenario_edit / remove_scenario_edit on redo / undo)
    def push_edit(self, edit: dict) -> bool:
        """Add a scenario edit through the undo stack (creating a scenario from the baseline).
        An edit no run could use is refused here: once in the scenario it failed every later run."""
        try:
            validate_edit(edit)
        except InputError as err:
            dialogs.show_problems(self.widget, "Scenario edit", "The edit was not made:", err.problems)
            return False
        scenario = self.active_scenario()
        if scenario is None:
            # the new scenario's (baseline) results are not shown first: the first what-if used
            # to redraw every result layer and table twice, and start its update only after that
            scenario = self.new_scenario(show=False)
            self.status(f"Created “{scenario['name']}” for your edits (the baseline stays as loaded)")
        self._undo_stack(scenario["name"]).push(EditCommand(self, scenario["name"], edit))
        return True

    def apply_scenario_edit(self, name: str, edit: dict) -> None:
        scenario = self.project.scenario(name)
        if scenario is None:
            return
        before = copy.deepcopy(scenario)
        scenario.setdefault("edits", []).append(edit)
        self.session.set_dirty(True)
        self.refresh_scenarios()
        if name != self.project.active_scenario:
            self.refresh_facilities()
            return
        cache = self.session.cache
        key = self.analysis.key(scenario)
        if key in cache:
            self.refresh_facilities()
            self.analysis.show_result(cache[key], key)
            return
        previous = cache.get(self.analysis.key(before))
        if previous is not None and self.data is not None:
            self.analysis.start_update(previous, copy.deepcopy(scenario), edit, key)
            self._facilities_later.start()  # drawn with the update's result (see __init__)
            return
        # a full run: the facilities are redrawn while it runs in the background
        if self.session.result is not None:
            self.analysis.start_analysis(copy.deepcopy(scenario), key, label="Updating results")
        self.refresh_facilities()

    def _facilities_with_result(self) -> None:
        """A result is on show: a facility redraw still waiting goes with it (the same repaint)."""
        if self._facilities_later.isActive():
            self.refresh_facilities()

    def remove_scenario_edit(self, name: str, edit: dict) -> None:
        scenario = self.project.scenario(name)
        if scenario is None:
            return
        edits = scenario.get("edits", [])
        for i in range(len(edits) - 1, -1, -1):
            if edits[i] is edit or edits[i] == edit:
                del edits[i]
                break
        self.session.set_dirty(True)
        self.refresh_scenarios()
        self.refresh_facilities()
        if name == self.project.active_scenario:
            self.analysis.results_for_current_state()

    def refresh_facilities(self, *_args) -> None:
        """Draw facilities as the active scenario has them (statuses changed, new ones added)."""
        self._facilities_later.stop()  # drawn now: a redraw waiting for a result is not needed
        if self.data is None:
            return
        scenario = self.active_scenario()
        # as core.analysis.scenario_as_of (not imported here: it loads the numba engine)
        as_of = dt.date.fromisoformat(str(scenario["as_of"])) if scenario and scenario.get("as_of") else \
            self.project.params.as_of_date
        first = True
        for ref in self.project.layers_of("facilities"):
            layer = self.session.map_layers.get(ref.name)
            base = self.data.layers.get(ref.name)
            if not isinstance(layer, VectorLayer) or base is None:
                continue
            frame = base.data
            if scenario:
                ids = set(frame["fac_id"].astype(str))
                edits = []
                for e in scenario.get("edits", []):
                    if e.get("type") == "add_facility" and first:
                        edits.append(e)
                        ids.add(str(e.get("fac_id")))
                    elif e.get("type") == "set_status" and str(e.get("fac_id")) in ids:
                        edits.append(e)
                try:
                    frame = apply_facility_edits(frame, {**scenario, "edits": edits}, as_of)
                except InputError as exc:
                    log.warning("scenario edits not shown: %s", exc)
            first = False
            layer.set_frame(frame)
            self.stack.changed(layer)
        self._refresh_zones(scenario)

    def _refresh_zones(self, scenario) -> None:
        """Conflict zones as the scenario has them (zones drawn or removed as edits)."""
        refs = self.project.layers_of("conflict_zones")
        if not refs:
            return
        layer = self.session.map_layers.get(refs[0].name)
        base = self.data.layers.get(refs[0].name)
        if not isinstance(layer, VectorLayer) or base is None:
            return
        try:
            frame = apply_zone_edits(base.data, scenario)
        except (InputError, ValueError, KeyError) as exc:
            log.warning("scenario zones not shown: %s", exc)
            return
        if len(frame) != len(layer.frame) or frame is not base.data:
            layer.set_frame(frame)
            self.stack.changed(layer)

    # ---------------------------------------------------------------------------------
    # the scenario map tools
    def _tool_clicked(self, tool: str, x: float, y: float) -> None:
        if tool == "status":
            self.status_tool(x, y)
        elif tool == "add":
            self.add_tool(x, y)

    def status_tool(self, x: float, y: float) -> None:
        hits = [(l, r) for l, r in self.map_tools.hits_at(x, y, roles=("facilities",)) if isinstance(l, VectorLayer)]
        if not hits:
            self.status("No facility there: click on a facility symbol.")
            return
        layer, row = hits[0]
        facility = dict(layer.attributes(row))
        self.map_tools.select_features([layer.feature_geometry(row)])
        dialog = StatusDialog(facility, self.default_edit_date(), self.widget)
        self.last_status_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return
        values = dialog.values()
        self.push_edit({"type": "set_status", "fac_id": str(facility["fac_id"]), "status": values["status"],
                        "date": values["date"], "name": facility.get("name")})

    def add_tool(self, x: float, y: float) -> None:
        lon, lat = self.canvas.map_to_lonlat(x, y)
        x0, y0, x1, y1 = MYANMAR_BOUNDS
        if not (math.isfinite(lon) and math.isfinite(lat) and x0 <= lon <= x1 and y0 <= lat <= y1):
            dialogs.show_warning(self.widget, "Add facility", f"The point you clicked ({lon:.2f}° E, {lat:.2f}° N) is "
                                 f"outside Myanmar ({x0:g}–{x1:g}° E, {y0:g}–{y1:g}° N): a new facility must be in "
                                 "the project's area. Zoom in and click there.")
            return
        levels = []
        for layer in self.stack:
            if layer.role == "facilities" and isinstance(layer, VectorLayer) and "level" in layer.frame:
                levels += sorted(set(layer.frame["level"].dropna().astype(str)))
        dialog = AddFacilityDialog(lon, lat, levels, self.default_edit_date(), self.widget)
        self.last_add_facility_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return
        values = dialog.values()
        self.push_edit({"type": "add_facility", "fac_id": self.new_facility_id(), **values,
                        "lon": round(float(lon), 6), "lat": round(float(lat), 6), "status": "functioning"})

    def default_edit_date(self) -> dt.date:
        scenario = self.active_scenario()
        if scenario and scenario.get("as_of"):
            return dt.date.fromisoformat(scenario["as_of"])
        return self.project.params.as_of or dt.date.today()

    def new_facility_id(self) -> str:
        existing = set()
        for layer in self.stack:
            if layer.role == "facilities" and isinstance(layer, VectorLayer) and "fac_id" in layer.frame:
                existing |= set(layer.frame["fac_id"].astype(str))
        return new_edit_id("NEW-", "fac_id", existing, self.project.scenarios)

    # ---------------------------------------------------------------------------------
    def compare_scenarios(self, name_a, name_b) -> None:
        if self.data is None:
            return
        if name_a == name_b:
            dialogs.show_info(self.widget, "Compare", "Choose two different scenarios to compare.")
            return
        try:
            params = self.analysis.params_from_panel()
        except ValueError as exc:
            dialogs.show_error(self.widget, "Compare scenarios", str(exc))
            return
        sa = copy.deepcopy(self.project.scenario(name_a)) if name_a else None
        sb = copy.deepcopy(self.project.scenario(name_b)) if name_b else None
        ka, kb = result_key(params, sa), result_key(params, sb)
        project = self.project
        cache = self.session.cache

        def done(out):
            if self.project is not project:
                return
            ra, rb, comparison = out
            self.analysis.remember(ka, ra)
            self.analysis.remember(kb, rb)
            self.session.comparison = comparison
            self.compared = {"a": name_a, "b": name_b, "ka": ka, "kb": kb}
            self.show_comparison(comparison, name_a or "Baseline", name_b or "Baseline")
            self.panel.set_compare_state(f"Showing {name_a or 'Baseline'} → {name_b or 'Baseline'}")

        self.tasks.start(jobs.compare, jobs.snapshot(self.data), params, sa, sb, cache.get(ka), cache.get(kb),
                         label="Comparing scenarios", group="analysis", replace=True,
                         on_done=done, on_error=lambda exc: self.task_error("Compare scenarios", exc),
                         on_cancelled=lambda: self.status("Comparison cancelled"))

    def _comparison_keys(self):
        """Current result keys of the compared scenarios, or None if one was deleted."""
        c = self.compared
        keys = []
        for side in ("a", "b"):
            name = c[side]
            scenario = self.project.scenario(name) if name else None
            if name and scenario is None:
                return None
            keys.append(result_key(self.project.params, copy.deepcopy(scenario) if scenario else None))
        return keys

    def check_comparison(self, *_args) -> None:
        """After any change (edit, undo, rename, delete, date, parameters): a comparison whose
        scenarios changed is recomputed when both results are at hand, else marked stale."""
        if self.compared is None or self.project is None:
            return
        keys = self._comparison_keys()
        c = self.compared
        if keys == [c["ka"], c["kb"]]:
            return
        cache = self.session.cache
        if keys is not None and keys[0] in cache and keys[1] in cache and self.data is not None:
            self.compare_scenarios(c["a"], c["b"])  # only the comparison step runs
            return
        self.mark_comparison_stale()

    def mark_comparison_stale(self) -> None:
        c = self.compared
        names = f"{c['a'] or 'Baseline'} → {c['b'] or 'Baseline'}"
        self.compared = {**c, "ka": None, "kb": None}  # stays stale until compared again
        self.panel.set_compare_state(f"Out of date: {names} changed since the comparison. Press Compare "
                                     "again.", stale=True)
        self.results.mark_comparison_stale()
        layer = self.session.result_layers.get("compare")
        if layer is not None and not layer.title.endswith("(out of date)"):
            layer.title = f"{layer.title} (out of date)"
            self.stack.structure_changed.emit()
        self.status(f"The comparison {names} is out of date")

    def show_comparison(self, comparison, name_a: str, name_b: str) -> None:
        self.results.show_comparison(comparison, name_a, name_b)
        self.comparison_shown.emit()
        frame = comparison.villages
        layers = self.session.result_layers
        layer = layers.get("compare")
        title = f"Access changes: {name_a} → {name_b}"
        if frame is None or not len(frame):
            if layer is not None:
                self.stack.remove(layer)
                layers.pop("compare", None)
            self.status(f"No village changes access between {name_a} and {name_b}")
            return
        if layer is None:
            layer = VectorLayer(title, "comparison", frame, self.canvas.crs, result=True, style={})
            layers["compare"] = layer
            self.stack.insert(0, layer)
        else:
            layer.title = title
            layer.set_frame(frame)
            self.stack.changed(layer)
            self.stack.structure_changed.emit()
        self.stack.set_visible(layer, True)
