"""A briefing page printed from a scenario names it (marking strip, title, subtitle with its
edits, parameter block, footer) and shows the scenario's zones; a baseline page says
"Baseline". PDFs read back with pdftotext; the analysis runs on 2000 m cells."""

import datetime as dt
import shutil
import subprocess

import pytest

from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.outputs.briefing import prepare_layers, write_briefing
from coverage_app.core.outputs.scenario_label import describe_edit, file_part, scenario_heading, scenario_name

needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
ZONE = "POLYGON ((94.9 22.5, 95.1 22.5, 95.1 22.7, 94.9 22.7, 94.9 22.5))"
SCENARIO = {"name": "Clinic at Kani", "as_of": "2024-06-01", "edits": [
    {"type": "add_facility", "fac_id": "NEW-001", "name": "Kani mobile clinic", "level": "Mobile clinic",
     "lon": 95.05, "lat": 22.45, "status": "functioning", "date": "2024-05-01"},
    {"type": "add_zone", "zone_id": "Z-NEW-1", "kind": "restricted", "speed_factor": 0.4, "delay_minutes": 30,
     "valid_from": "2024-01-01", "valid_to": "2024-12-31", "wkt": ZONE}]}


@pytest.fixture(scope="module")
def data(bundled_project_path):
    return load_project_data(load_project(bundled_project_path))


@pytest.fixture(scope="module")
def results(data):
    from coverage_app.core.analysis.pipeline import run_analysis

    params = data.project.params.replace(cell_size_m=2000.0, as_of=dt.date(2024, 6, 1))
    return run_analysis(data, params), run_analysis(data, params, SCENARIO)


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_labels():
    assert scenario_name(None) == "Baseline" and file_part(None) == "baseline"
    assert file_part(SCENARIO) == "scenario-clinic-at-kani"
    assert scenario_heading(SCENARIO) == "Scenario “Clinic at Kani” (hypothetical, 2 edits)"
    assert describe_edit(SCENARIO["edits"][0]).startswith("new mobile clinic “Kani mobile clinic” at 22.4500° N")
    assert "speed ×0.4" in describe_edit(SCENARIO["edits"][1]) and "+30 min" in describe_edit(SCENARIO["edits"][1])


def test_scenario_layers_carry_the_scenario_and_its_zone(data, results):
    base, what_if = results
    layers = prepare_layers(data, what_if)
    assert layers.scenario["name"] == "Clinic at Kani" and layers.as_of == dt.date(2024, 6, 1)
    assert len(layers.zones) == len(prepare_layers(data, base).zones) + 1
    assert prepare_layers(data, base).scenario is None


@needs_poppler
def test_scenario_page_names_the_scenario_everywhere(tmp_path, data, results):
    base, what_if = results
    text = " ".join(pdf_text(write_briefing(tmp_path / "what_if.pdf", data, what_if)).split())
    assert "HYPOTHETICAL SCENARIO “Clinic at Kani”" in text
    assert "scenario “Clinic at Kani”" in text           # title
    assert "Scenario: Clinic at Kani (hypothetical)" in text
    assert "Kani mobile clinic" in text and "Z-NEW-1" in text
    assert "not the recorded situation" in text
    # the page's headline is the scenario's, not the baseline's
    h = what_if.headline()
    assert f"{h['pop_no_primary']:,.0f}" in text
    base_text = " ".join(pdf_text(write_briefing(tmp_path / "base.pdf", data, base)).split())
    assert "Scenario: Baseline" in base_text and "Baseline (situation as recorded)" in base_text
    assert "HYPOTHETICAL" not in base_text


def test_burmese_scenario_page_names_the_scenario_in_burmese(data, results):
    """--language my: marking strip, subtitle, parameters and footer say "hypothetical scenario"
    in Burmese; the scenario's name and its edits stay as written."""
    import matplotlib

    from coverage_app.core.outputs.briefing import compose_page

    _base, scen = results
    fig = compose_page(data, scen, layers=prepare_layers(data, scen), language="my")
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    joined = "\n".join(texts)
    for english in ("HYPOTHETICAL", "Hypothetical scenario", "hypothetical", "Scenario", "Printed", "thresholds"):
        assert english not in joined, english
    assert any(t.startswith("ယူဆချက် အစီအစဉ် “Clinic at Kani” · လျှို့ဝှက်:") for t in texts)  # the strip
    assert "အစီအစဉ်: Clinic at Kani (ယူဆချက်)" in texts  # the parameter block
    assert "အစီအစဉ် “Clinic at Kani” (ယူဆချက်၊ ပြင်ဆင်ချက် 2 ခု)" in " ".join(joined.split())  # the subtitle
    footer = " ".join(t for t in texts if "ရင်းမြစ်များ:" in t or "ကိန်းဂဏန်းများသည်" in t)
    assert "ကိန်းဂဏန်းများသည်" in footer
