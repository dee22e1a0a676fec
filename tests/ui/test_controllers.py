"""Each window controller driven on its own (no MainWindow): real widgets, a real task
runner, the bundled Sagaing project, files written and read back."""

from __future__ import annotations

import json

import pytest
from PySide6.QtGui import QUndoGroup
from PySide6.QtWidgets import QLabel, QWidget

from coverage_app.core.data.project import bundled_project_path, load_project
from coverage_app.ui import dialogs, project_controller
from coverage_app.ui.analysis_controller import AnalysisController
from coverage_app.ui.analysis_panel import AnalysisPanel
from coverage_app.ui.canvas import MapCanvas
from coverage_app.ui.layer_controller import LayerController
from coverage_app.ui.map_tools import MapTools
from coverage_app.ui.maplayers import LayerStack, VectorLayer
from coverage_app.ui.output_controller import OutputController
from coverage_app.ui.project_controller import ProjectController
from coverage_app.ui.results_dock import ResultsDock
from coverage_app.ui.scenario_controller import ScenarioController
from coverage_app.ui.scenario_panel import ScenarioPanel
from coverage_app.ui.session import Session
from coverage_app.ui.small_widgets import IdentifyPanel
from coverage_app.ui.tasks import TaskRunner

from .conftest import FAST_CELL_M


class Parts:
    """The pieces a controller is given: session, runner, a host widget, map, status line."""

    def __init__(self, qtbot, with_data=True):
        self.host = QWidget()
        qtbot.addWidget(self.host)
        self.session = Session(self.host)
        self.tasks = TaskRunner(self.host)
        self.host.tasks = self.tasks
        self.stack = LayerStack(self.host)
        self.canvas = MapCanvas(self.stack, self.host)
        self.canvas.resize(800, 600)
        self.line = QLabel()
        self.status = self.line.setText
        if with_data:
            project = load_project(bundled_project_path())
            self.session.project = project
            self.session.data = project_controller.load_project_data(project)

    def args(self):
        return self.session, self.tasks, self.host, self.stack, self.canvas

    def layers(self):
        lc = LayerController(*self.args(), status=self.status)
        lc.show_project_layers(self.session.data)
        self.canvas.zoom_full()
        return lc

    def close(self):
        self.tasks.shutdown(20000)


@pytest.fixture
def parts(qtbot):
    p = Parts(qtbot)
    yield p
    p.close()


def idle(qtbot, tasks, timeout=60000):
    qtbot.waitUntil(lambda: not [t for t in tasks.running if t.group != "warmup"], timeout=timeout)


def test_project_controller_opens_saves_and_reopens(qtbot, tmp_path, monkeypatch):
    p = Parts(qtbot, with_data=False)
    pc = ProjectController(p.session, p.tasks, p.host, p.status)
    loaded = []
    pc.data_ready.connect(loaded.append)
    with qtbot.waitSignal(pc.project_loaded, timeout=30000):
        assert pc.open_project(bundled_project_path())
    assert loaded and p.session.data is loaded[0] and not p.session.dirty
    assert "layers loaded" in p.line.text()
    # the bundled project is never overwritten: Save asks where, the copy reads back
    target = tmp_path / "copy.covproj"
    monkeypatch.setattr(dialogs, "get_save_file", lambda *a, **k: str(target))
    p.session.project.params = p.session.project.params.replace(primary_minutes=45.0)
    p.session.set_dirty(True)
    assert pc.save() and target.exists() and not p.session.dirty
    again = load_project(target)
    assert [r.name for r in again.layers] == [r.name for r in p.session.project.layers]
    assert again.params.primary_minutes == 45.0
    # unsaved changes: "cancel" keeps the project open
    p.session.set_dirty(True)
    monkeypatch.setattr(dialogs, "ask_save_changes", lambda *a, **k: "cancel")
    before = p.session.project
    pc.new_project()
    assert p.session.project is before
    p.close()


def test_layer_controller_shows_adds_and_removes_layers(parts, qtbot, tmp_path, bundled_gpkg, monkeypatch):
    import geopandas as gpd

    lc = parts.layers()
    assert parts.canvas.crs.to_epsg() == 32646
    titles = [l.title for l in parts.stack]
    assert len(titles) == len(parts.session.map_layers) and "Health facilities" in titles
    gpd.read_file(bundled_gpkg, layer="towns").to_file(tmp_path / "towns.geojson")
    changed = []
    lc.inputs_changed.connect(lambda: changed.append(1))
    with qtbot.waitSignal(lc.layer_added, timeout=20000) as blocker:
        lc.add_layer(str(tmp_path / "towns.geojson"), "reference")
    layer = blocker.args[0]
    assert parts.stack.layers[0] is layer and changed and parts.session.dirty
    assert parts.session.project.layers[0].name == "towns"
    monkeypatch.setattr(dialogs, "ask", lambda *a, **k: True)
    lc.remove_layer(layer)
    assert layer not in parts.stack.layers and "towns" not in parts.session.data.layers


def test_map_tools_identify_zoom_and_hand_on_tool_clicks(parts, qtbot):
    parts.layers()
    panel = IdentifyPanel()
    qtbot.addWidget(panel)
    mt = MapTools(*parts.args(), panel, status=parts.status)
    facilities = parts.stack.by_title("Health facilities")
    mt.zoom_to_layer(facilities)
    x, y = facilities.geoms[0].x, facilities.geoms[0].y
    found = []
    mt.identified.connect(found.append)
    hits = mt.identify(x, y)
    assert facilities in [layer for layer, _row in hits] and found and parts.canvas.highlight
    clicks = []
    mt.tool_clicked.connect(lambda *a: clicks.append(a))
    mt.set_tool("add")
    assert parts.canvas.tool == "add" and mt.tool_actions["add"].isChecked() and "Click" in parts.line.text()
    mt._map_clicked(x, y, None)
    assert clicks == [("add", x, y)]
    mt.zoom_to_township(str(parts.stack.by_title("Townships").frame["pcode"].iloc[0]))
    assert parts.canvas.highlight
    mt._scale_changed(123456.0)
    assert mt.scale_label.text() == "1:120,000"


def _analysis(parts, qtbot):
    panel, results = AnalysisPanel(), ResultsDock()
    qtbot.addWidget(panel)
    qtbot.addWidget(results)
    panel.set_params(parts.session.project.params)
    panel.cell.setValue(FAST_CELL_M)
    return AnalysisController(*parts.args(), panel, results, status=parts.status)


def test_analysis_controller_runs_caches_and_marks_stale(parts, qtbot):
    parts.layers()
    ac = _analysis(parts, qtbot)
    with qtbot.waitSignal(ac.result_shown, timeout=60000):
        ac.run_analysis()
    idle(qtbot, parts.tasks)
    result = parts.session.result
    assert result is not None and result.params.cell_size_m == FAST_CELL_M
    assert parts.session.cache[parts.session.result_key] is result
    assert "people without primary care" in parts.line.text()
    assert parts.stack.by_title("Villages by access gap") is parts.session.result_layers["villages"]
    assert ac.results.township_model.rowCount() == len(result.townships)
    ac.mark_stale()
    assert parts.session.result_stale and not parts.session.cache


def test_scenario_controller_edits_undo_and_compare(parts, qtbot):
    parts.layers()
    ac = _analysis(parts, qtbot)
    panel = IdentifyPanel()
    qtbot.addWidget(panel)
    mt = MapTools(*parts.args(), panel)
    group = QUndoGroup(parts.host)
    sp = ScenarioPanel(group, [mt.tool_actions["status"], mt.tool_actions["add"]])
    qtbot.addWidget(sp)
    sc = ScenarioController(*parts.args(), group, sp, ac.results, ac, mt, status=parts.status)
    sc.refresh_scenarios()
    facilities = parts.stack.by_title("Health facilities")
    fac_id = str(facilities.frame["fac_id"].iloc[0])
    sc.push_edit({"type": "set_status", "fac_id": fac_id, "status": "destroyed", "date": "2024-01-01"})
    scenario = sc.active_scenario()
    assert scenario is not None and scenario["edits"][-1]["status"] == "destroyed"
    row = list(facilities.frame["fac_id"].astype(str)).index(fac_id)
    assert facilities.frame["status"].iloc[row] == "destroyed"   # drawn as the scenario has it
    group.undo()
    assert sc.active_scenario()["edits"] == []
    group.redo()
    with qtbot.waitSignal(sc.comparison_shown, timeout=120000):
        sc.compare_scenarios(None, scenario["name"])
    idle(qtbot, parts.tasks)
    assert parts.session.comparison is not None and len(parts.session.cache) == 2


def test_output_controller_exports_the_result(parts, qtbot, tmp_path):
    parts.layers()
    ac = _analysis(parts, qtbot)
    with qtbot.waitSignal(ac.result_shown, timeout=60000):
        ac.run_analysis()
    idle(qtbot, parts.tasks)
    oc = OutputController(parts.session, parts.tasks, parts.host, parts.status)
    out = tmp_path / "export"
    task = oc.export({"out_dir": str(out), "formats": ["gpkg"], "safe_share": False, "rasters": False})
    with qtbot.waitSignal(task.ended, timeout=60000):
        pass
    run = json.loads((out / "run.json").read_text())
    assert run["parameters"]["cell_size_m"] == FAST_CELL_M and run["scenario"] is None
    assert "Exported" in parts.line.text()
