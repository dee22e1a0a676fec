"""The briefing map of a sweep: villages by probability of access (classes of core symbology),
the legend, and the 5/50/95 % shares printed; from a SweepResult and from a sweep folder."""

import subprocess
import sys

import pytest

from coverage_app.core.analysis.sweep import run_sweep
from coverage_app.core.analysis.sweep_spec import parse_spec
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.errors import InputError
from coverage_app.core.outputs import symbology as sym
from coverage_app.core.outputs.briefing import prepare_layers, write_briefing
from coverage_app.core.outputs.briefing.legend import legend_entries
from coverage_app.core.outputs.briefing.tables import sweep_lines
from coverage_app.core.outputs.sweep_export import export_sweep, sweep_map_view

RAW = {"version": 1, "draws": 4, "seed": 2, "analysis": {"cell_size_m": 2000.0, "as_of": "2024-06-01"},
       "vary": {"unknown_functioning": 0.6}}


@pytest.fixture(scope="module")
def swept(bundled_project_path, tmp_path_factory):
    data = load_project_data(load_project(bundled_project_path))
    result = run_sweep(parse_spec(RAW, project=data.project), scheduler="serial", data=data)
    folder = tmp_path_factory.mktemp("sweep")
    export_sweep(result, folder)
    return data, result, folder


def test_layers_classes_legend_and_figures(swept):
    data, result, folder = swept
    view = sweep_map_view(result, case=0, tier="secondary")
    assert view["field"] == "p_sec" and view["draws"] == 4
    layers = prepare_layers(data, None, sweep=view)
    v = layers.villages
    expect = [f"p{sym.access_probability_class(p)}" for p in result.villages["p_sec"]]
    assert list(v["klass"]) == expect
    rows = legend_entries(layers, None)
    labels = [r[2] for r in rows]
    assert "Villages: secondary care in reach in" in labels
    assert [c[2].label for c in reversed(sym.access_probability_classes())] == \
        labels[labels.index("Villages: secondary care in reach in") + 1:][:6]
    lines = [t for t, *_ in sweep_lines(view, None, layers.params)]
    s = result.series.iloc[0]
    assert f"Secondary care within 120 min: {s['sec_pct50']:.1f} % ({s['sec_pct5']:.1f}–{s['sec_pct95']:.1f} %)" \
        in lines
    # the same view read back from the folder
    again = sweep_map_view(folder, case=0, tier="secondary")
    assert list(again["villages"]["p_sec"].round(3)) == list(view["villages"]["p_sec"].round(3))
    assert again["region"]["sec_pct50"] == s["sec_pct50"]


def test_briefing_pdf_prints_the_ranges(swept, tmp_path):
    data, result, folder = swept
    out = write_briefing(tmp_path / "sweep.pdf", data, None, sweep=sweep_map_view(folder), township="MMR005012")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "Uncertainty (4 draws" in text and "Primary care within 60 min:" in text
    assert "primary care in reach in" in text and "% of draws" in text


def test_bad_sweep_views(swept, tmp_path):
    _, result, folder = swept
    with pytest.raises(InputError, match="no sweep.gpkg here"):
        sweep_map_view(tmp_path)
    with pytest.raises(InputError, match="no case 3"):
        sweep_map_view(folder, case=3)
    with pytest.raises(InputError, match="primary or secondary"):
        sweep_map_view(result, tier="tertiary")


def test_cli_brief_with_a_missing_sweep_folder_fails_fast(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "coverage_app", "brief", "--out", str(tmp_path / "b.pdf"),
                           "--sweep", str(tmp_path / "nowhere"), "--cell-size", "2000"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no sweep.gpkg here" in proc.stderr


def test_burmese_sweep_page_legend_and_shares(swept):
    """--language my: the probability legend and the 5/50/95 % lines are Burmese, numbers kept."""
    import matplotlib

    from coverage_app.core.outputs.briefing import compose_page
    from coverage_app.core.outputs.briefing.style import has_my

    data, result, folder = swept
    view = sweep_map_view(folder, case=0, tier="primary")
    layers = prepare_layers(data, None, sweep=view)
    rows = legend_entries(layers, None, "my")
    labels = [r[2] for r in rows]
    assert "ကျေးရွာများ: မူလကုသမှု လက်လှမ်းမီသည့် အကြိမ်" in labels
    assert {"တွက်ချက်မှု၏ 95 % ကျော်", "တွက်ချက်မှု၏ 5 % နှင့်အောက်", "တွက်ချက်မှု၏ 25–50 %"} <= set(labels)
    fig = compose_page(data, None, layers=layers, language="my", township="MMR005012")
    texts = [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    joined = "\n".join(texts)
    assert "Uncertainty" not in joined and "of draws" not in joined and "care within" not in joined
    assert "မသေချာမှု (တွက်ချက်မှု 4 ကြိမ်" in joined
    town = view["townships"][view["townships"]["pcode"].astype(str) == "MMR005012"].iloc[0]
    assert f"မူလကုသမှု 60 မိနစ်အတွင်း: {town['prim_pct50']:.1f} %" in joined
    assert all(has_my(t) for t in texts if t.startswith(("ကျေးရွာ", "တွက်ချက်မှု")))


@pytest.mark.parametrize("language,landscape", [("my", True), ("my", False), ("both", True)])
def test_a_long_sweep_legend_header_wraps_at_full_size_not_into_the_next_column(swept, language, landscape):
    """A4 region page in Burmese: the sweep's legend header is wider than its legend column. It
    wraps onto lines of the column at the headers' size (6.6 pt); shrunk to 5 pt it still ran
    into the next column's header ("ပဋိပက္ခ ဇုန်များ")."""
    import matplotlib

    from coverage_app.core.outputs.briefing import compose_page
    from coverage_app.core.outputs.briefing.style import tr

    from .test_briefing_burmese import assert_fits

    data, result, _folder = swept
    layers = prepare_layers(data, None, sweep=sweep_map_view(result, case=0, tier="primary"))
    fig = compose_page(data, None, layers=layers, language=language, landscape=landscape)
    burmese = tr("Villages: primary care in reach in", "my")
    header = next(t for t in fig.findobj(matplotlib.text.Text) if burmese.split()[0] in t.get_text()
                  and t.get_text().replace("\n", " ").endswith(burmese))
    assert header.get_fontsize() == pytest.approx(6.6) and header.get_fontweight() == "bold"
    lines = header.get_text().split("\n")
    assert " ".join(lines[-2:]) == burmese, lines  # the Burmese header on two lines, every word kept
    assert_fits(fig)  # no text of the page overlaps another
