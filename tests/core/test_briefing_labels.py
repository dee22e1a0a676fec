"""Issue 13 item 11: the region map names the most populous townships (the dense south
used to lose Monywa, Sagaing, Myinmu to facility symbols). Analysis on 2000 m cells."""

import pytest

from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.outputs.briefing import compose_page
from coverage_app.core.outputs.briefing.mapview import TOP_LABELS


@pytest.fixture(scope="module")
def data_result(bundled_project_path):
    from coverage_app.core.analysis.pipeline import run_analysis

    data = load_project_data(load_project(bundled_project_path))
    return data, run_analysis(data, data.project.params.replace(cell_size_m=2000.0))


def test_the_most_populous_townships_are_labelled(data_result):
    data, result = data_result
    fig = compose_page(data, result)
    map_ax = max(fig.axes, key=lambda a: a.bbox.width * a.bbox.height)
    labels = {t.get_text() for t in map_ax.texts}
    top = result.townships.sort_values("pop", ascending=False)["name_en"].head(TOP_LABELS)
    missing = [name for name in top if name not in labels]
    assert not missing, missing
    # Myinmu and Chaung-U, squeezed between Monywa and Sagaing, get a spot farther out with a leader
    for name in ("Monywa", "Sagaing", "Myinmu", "Chaung-U"):
        assert name in labels
    assert len([n for n in result.townships["name_en"] if n in labels]) >= 30  # most keep their names


@pytest.mark.parametrize("language,paper,landscape", [("en", "a4", False), ("my", "a4", False),
                                                      ("en", "a3", True), ("my", "a3", True)])
def test_every_township_is_named_in_english_and_burmese(data_result, language, paper, landscape):
    from coverage_app.core.outputs.briefing.style import place_name

    data, result = data_result
    fig = compose_page(data, result, language=language, paper=paper, landscape=landscape)
    map_ax = max(fig.axes, key=lambda a: a.bbox.width * a.bbox.height)
    labels = {t.get_text() for t in map_ax.texts}
    missing = [r["name_en"] for _, r in result.townships.iterrows() if place_name(r, language) not in labels]
    assert not missing, missing
    leaders = [ln for ln in map_ax.lines if ln.get_linewidth() == 0.45 and ln.get_color() == "#333333"]
    assert leaders  # the squeezed townships are named through leader lines
