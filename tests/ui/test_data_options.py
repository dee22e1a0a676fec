"""Analysis > Population basis… and Road classes…: saved in the project, results marked stale, re-run."""

import pytest

from coverage_app.ui import dialogs
from tests.core.test_osm_roads import write_osm
from tests.ui.conftest import run_analysis, wait_idle


def test_population_basis_switch_reruns_on_kontur_totals(window, qtbot, monkeypatch, tmp_path):
    census = run_analysis(qtbot, window)
    assert census.population_basis["total"] == "census2014"
    assert "2014 census" in window.results.summary.text()
    seen = {}

    def choose_kontur(dialog):
        assert dialog.objectName() == "population_basis_dialog"
        seen["items"] = [dialog.combo.itemData(i) for i in range(dialog.combo.count())]
        dialog.combo.setCurrentIndex(dialog.combo.findData("kontur2023"))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", choose_kontur)
    window.findChild(type(window.act_run), "pop_basis").trigger()
    assert seen["items"] == ["census2014", "kontur2023"]
    assert window.project.options["population_total"] == "kontur2023" and window.dirty
    assert window.session.result_stale
    kontur = run_analysis(qtbot, window)
    assert kontur.population_basis["total"] == "kontur2023"
    assert kontur.headline()["population"] == pytest.approx(5_467_135, rel=0.01)
    assert "Kontur 2023" in window.results.summary.text()
    window.results.grab().save(str(tmp_path / "results_kontur.png"))


def test_road_classes_dialog_edits_an_osm_layer_and_reloads_it(window, qtbot, monkeypatch, tmp_path):
    osm = write_osm(tmp_path / "roads.osm")
    window.layers.add_layer(str(osm), "roads", name="OSM roads")
    wait_idle(qtbot, window)
    ref = next(r for r in window.project.layers if r.name == "OSM roads")
    assert ref.options["road_classes"]["track"] == "track"  # the default OSM table, kept in the project

    def edit(dialog):
        assert dialog.objectName() == "road_classes_dialog"
        assert {"trunk", "track", "construction"} <= set(dialog.combos)  # the file's values are listed
        dialog.combos["track"].setCurrentText("secondary")
        dialog.combos["construction"].setCurrentText("path")
        dialog.grab().save(str(tmp_path / "road_classes.png"))
        return True

    monkeypatch.setattr(dialogs, "run_dialog", edit)
    monkeypatch.setattr("coverage_app.ui.data_options._choose", lambda parent, refs: refs[0])
    window.data_options.road_classes()
    wait_idle(qtbot, window)
    assert ref.options["road_classes"]["track"] == "secondary"
    roads = window.data.layers["OSM roads"].data
    got = dict(zip(roads["name"], roads["road_class"]))
    assert got["way 4"] == "secondary" and got["way 6"] == "path"
