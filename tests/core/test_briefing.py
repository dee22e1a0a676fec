"""Briefing maps from the bundled Sagaing data: pages, fonts, text, atlas, safe sharing, PNG.

PDFs are read back with poppler (pdfinfo, pdffonts, pdftotext). The analysis runs once, on
1000 m cells, to keep the file quick.
"""

import datetime as dt
import re
import shutil
import subprocess

import geopandas as gpd
import matplotlib
import numpy as np
import pytest
import shapely

from coverage_app.core.outputs import symbology as sym
from coverage_app.core.outputs.briefing import (compose_page, find_township, prepare_layers, render_rgba,
                                        write_briefing, zones_valid_on)
from coverage_app.core.errors import InputError
from coverage_app.core.feedback import Cancelled
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.outputs.safe_share import generalise_facilities

needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
AS_OF = dt.date(2024, 6, 1)


@pytest.fixture(scope="module")
def data(bundled_project_path):
    return load_project_data(load_project(bundled_project_path))


@pytest.fixture(scope="module")
def result(data):
    from coverage_app.core.analysis.pipeline import run_analysis

    return run_analysis(data, data.project.params.replace(cell_size_m=1000.0, as_of=AS_OF))


@pytest.fixture(scope="module")
def layers(data, result):
    return prepare_layers(data, result)


def pdf_text(path, first=None, last=None) -> str:
    cmd = ["pdftotext", "-layout"]
    if first:
        cmd += ["-f", str(first)]
    if last:
        cmd += ["-l", str(last)]
    return subprocess.run(cmd + [str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdf_info(path) -> dict:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}


def pdf_fonts(path) -> list[tuple[str, str]]:
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        rows.append((parts[0].split("+")[-1], parts[-5]))  # (font name, embedded yes/no)
    return rows


def page_size_pt(info) -> tuple[float, float]:
    w, _, h = info["Page size"].split()[:3]
    return float(w), float(h)


@needs_poppler
def test_region_page_a4_portrait(tmp_path, data, result):
    out = write_briefing(tmp_path / "region.pdf", data, result)
    info = pdf_info(out)
    assert info["Pages"] == "1"
    assert page_size_pt(info) == pytest.approx((595.3, 841.9), abs=1)
    text = pdf_text(out)
    for credit in ("MIMU", "UCDP", "Census"):
        assert credit in text
    assert "SENSITIVE" in text and "Access to health care: Sagaing Region" in text
    h = result.headline()
    # key figures: the headline numbers and townships of the table
    assert f"{h['pop_no_primary']:,.0f}" in text
    assert f"{h['villages_no_primary']:,}" in text
    worst = result.townships.assign(no=result.townships["pop"] - result.townships["pop_prim"]) \
        .sort_values("no", ascending=False).iloc[0]
    assert worst["name_en"] in text and f"{worst['no']:,.0f}" in text
    assert "as of 2024-06-01" in text and "1000 m grid" in text
    fonts = pdf_fonts(out)
    assert fonts and all(emb == "yes" for _, emb in fonts)
    assert {name for name, _ in fonts} <= {"NotoSans-Regular", "NotoSans-Bold", "NotoSansMyanmar-Regular",
                                           "NotoSansMyanmar-Bold"}


@needs_poppler
def test_region_page_a3_landscape_in_burmese_embeds_the_myanmar_font(tmp_path, data, result):
    out = write_briefing(tmp_path / "region_a3.pdf", data, result, paper="a3", landscape=True, language="my")
    info = pdf_info(out)
    assert page_size_pt(info) == pytest.approx((1190.6, 841.9), abs=1)
    fonts = dict(pdf_fonts(out))
    assert fonts.get("NotoSansMyanmar-Regular") == "yes"
    assert fonts.get("NotoSansMyanmar-Bold") == "yes"  # the title
    assert "MIMU" in pdf_text(out)


@needs_poppler
def test_both_languages_on_a_township_page(tmp_path, data, result):
    out = write_briefing(tmp_path / "shwebo.pdf", data, result, township="MMR005004", language="both")
    fonts = dict(pdf_fonts(out))
    assert fonts.get("NotoSansMyanmar-Regular") == "yes"
    text = pdf_text(out)
    assert "Shwebo Township" in text
    assert "Largest villages without primary care" in text


@needs_poppler
def test_atlas_is_the_overview_plus_one_page_per_township(tmp_path, data, result):
    seen = []

    class Feedback:
        def progress(self, fraction, message=""):
            seen.append(fraction)

        def cancelled(self):
            return False

    out = write_briefing(tmp_path / "atlas.pdf", data, result, atlas=True, feedback=Feedback())
    n_townships = len(data.role("townships"))
    assert n_townships == 37
    assert pdf_info(out)["Pages"] == str(1 + n_townships)
    assert "Access to health care: Sagaing Region" in pdf_text(out, 1, 1)
    towns = data.role("townships").sort_values("pcode")
    second, last = towns.iloc[0], towns.iloc[-1]
    page2 = pdf_text(out, 2, 2)
    assert f"Key figures: {second['name_en']} Township" in page2
    assert f"{last['name_en']} Township" in pdf_text(out, 38, 38)
    # each township page carries its own key figures
    row = result.townships.set_index("pcode").loc[second["pcode"]]
    assert f"{row['pop'] - row['pop_prim']:,.0f}" in page2
    assert seen == sorted(seen) and seen[-1] == 1.0


@needs_poppler
def test_safe_share_has_no_facility_names_and_the_safe_marking(tmp_path, data, result):
    out = write_briefing(tmp_path / "safe.pdf", data, result, safe_share=True, table_page=True)
    text = pdf_text(out)
    assert pdf_info(out)["Pages"] == "2"
    flat = " ".join(text.split())
    for name in data.role("facilities")["name"]:
        assert name not in flat
    assert sym.SAFE_SHARE_MARKING in flat
    assert "SENSITIVE" not in text
    # the count legend's label, wrapped at full size where it does not fit its column at 6 pt: read
    # in reading order (-layout interleaves the legend's columns), the count symbol's "n", centred
    # on its two lines, comes between them
    raw = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Number of facilities per\s+(n\s+)?township", raw), raw
    # the township page of a safe-share atlas keeps the names out too
    town = write_briefing(tmp_path / "safe_town.pdf", data, result, safe_share=True, township="MMR005022")
    flat = " ".join(pdf_text(town).split())
    assert not [n for n in data.role("facilities")["name"] if n in flat]


@needs_poppler
def test_sensitive_page_does_label_facilities_on_township_pages(tmp_path, data, result):
    out = write_briefing(tmp_path / "tigyaing.pdf", data, result, township="Tigyaing")
    flat = " ".join(pdf_text(out).split())
    assert "Tigyaing Township Hospital" in flat
    assert sym.SENSITIVE_MARKING in flat


def test_png_page(tmp_path, data, result):
    from PIL import Image

    out = write_briefing(tmp_path / "region.png", data, result, dpi=150)
    with Image.open(out) as im:
        w, h = im.size
    assert (w, h) == pytest.approx((1240, 1754), abs=3)  # A4 at 150 dpi
    assert 100_000 < out.stat().st_size < 8_000_000


@needs_poppler
def test_inputs_only_page_without_a_result(tmp_path, data):
    out = write_briefing(tmp_path / "inputs.pdf", data, None, title="Facilities and conflict zones")
    text = pdf_text(out)
    assert "Facilities and conflict zones" in text
    assert "no travel-time analysis" in text.lower()
    assert "Census population" in text and "MIMU" in text


def test_compose_page_returns_a_figure_and_leaves_rcparams_alone(data, result, layers):
    before = dict(matplotlib.rcParams)
    fig = compose_page(data, result, layers=layers, township="MMR005001", title="Custom title",
                       subtitle="Custom subtitle", extra_credits=("My survey 2024",))
    assert fig.__class__.__name__ == "Figure"
    texts = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    assert "Custom title" in texts and "Custom subtitle" in texts and "My survey 2024" in texts
    assert matplotlib.rcParams["pdf.fonttype"] == before["pdf.fonttype"]
    assert matplotlib.rcParams["font.family"] == before["font.family"]
    image = render_rgba(fig, dpi=30)
    assert image.shape[2] == 4 and image.shape[0] > image.shape[1]
    assert image[..., :3].std() > 10  # something was drawn


def test_map_is_drawn_in_the_metric_working_crs(layers):
    assert layers.crs.to_epsg() == 32646
    assert layers.region.bounds[0] > 100_000  # metres, not degrees


def test_conflict_zones_are_filtered_by_date():
    zones = gpd.GeoDataFrame({"kind": ["risk", "no_go", "restricted"],
                              "valid_from": ["2021-01-01", "2022-01-01", None],
                              "valid_to": ["2021-12-31", None, "2022-06-30"]},
                             geometry=[shapely.box(0, 0, 1, 1)] * 3, crs=4326)
    assert list(zones_valid_on(zones, dt.date(2021, 6, 1))["kind"]) == ["risk", "restricted"]
    assert list(zones_valid_on(zones, dt.date(2023, 1, 1))["kind"]) == ["no_go"]


def test_layers_hold_only_the_zones_valid_on_the_analysis_date(data, layers):
    all_zones = data.role("conflict_zones")
    assert 0 < len(layers.zones) < len(all_zones)
    assert len(layers.zones) == len(zones_valid_on(all_zones, AS_OF))


def test_generalise_facilities_per_township(data):
    fac = data.role("facilities")
    towns = data.role("townships")
    out = generalise_facilities(fac, towns)
    assert out["n_facilities"].sum() == len(fac)
    assert out["n_secondary"].sum() == int(fac["provides_secondary"].astype(bool).sum())
    assert not {"name", "fac_id", "operator"} & set(out.columns)
    assert out.crs.equals(fac.crs)
    joined = gpd.sjoin(out, towns[["pcode", "geometry"]], predicate="within")
    assert (joined["pcode"] == joined["township_pcode"]).all()


def test_generalise_facilities_to_a_grid(data):
    fac = data.role("facilities")
    out = generalise_facilities(fac, None, method="grid", grid_km=20)
    assert out["n_facilities"].sum() == len(fac)
    assert len(out) < len(fac)
    assert "name" not in out
    metric = out.to_crs(32646)
    # cell centres: (x / 20 km) - 0.5 is an integer
    frac = np.mod(metric.geometry.x.values / 20000 - 0.5, 1)
    assert np.allclose(np.minimum(frac, 1 - frac), 0, atol=1e-6)
    with pytest.raises(InputError):
        generalise_facilities(fac, None, method="township")
    with pytest.raises(InputError):
        generalise_facilities(fac, None, method="hexagons")


def test_bad_input_is_a_plain_input_error(tmp_path, data, result):
    with pytest.raises(InputError, match="unknown township 'MMR999999'"):
        write_briefing(tmp_path / "x.pdf", data, result, township="MMR999999")
    with pytest.raises(InputError, match="does not exist"):
        write_briefing(tmp_path / "missing" / "x.pdf", data, result)
    with pytest.raises(InputError, match=r"\.pdf or \.png"):
        write_briefing(tmp_path / "x.svg", data, result)
    with pytest.raises(InputError, match="several pages"):
        write_briefing(tmp_path / "x.png", data, result, atlas=True)
    with pytest.raises(InputError, match="paper"):
        write_briefing(tmp_path / "x.pdf", data, result, paper="letter")
    with pytest.raises(InputError, match="language"):
        write_briefing(tmp_path / "x.pdf", data, result, language="fr")
    assert find_township(data.role("townships"), "kale")["name_en"] == "Kale"
    assert not list(tmp_path.iterdir())


def test_unwritable_folder(tmp_path, data, result, monkeypatch):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    # root can write anywhere, so the folder's permission check is simulated
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if str(path) == str(locked)
                        else real_access(path, mode, **kw))
    with pytest.raises(InputError, match="not writable"):
        write_briefing(locked / "x.pdf", data, result)
    assert not list(locked.iterdir())


def test_cancelled_atlas_leaves_the_previous_file_untouched(tmp_path, data, result):
    target = tmp_path / "atlas.pdf"
    target.write_bytes(b"previous version")

    class CancelAfterTwoPages:
        def __init__(self):
            self.pages = 0

        def progress(self, fraction, message=""):
            if message.startswith("Drawing page"):
                self.pages += 1

        def cancelled(self):
            return self.pages >= 2

    with pytest.raises(Cancelled):
        write_briefing(target, data, result, atlas=True, feedback=CancelAfterTwoPages())
    assert target.read_bytes() == b"previous version"
    assert [p.name for p in tmp_path.iterdir()] == ["atlas.pdf"]


def test_safe_share_is_never_drawn_from_unsafe_layers(data, result, layers):
    assert not layers.safe_share
    fig = compose_page(data, result, layers=layers, township="MMR005022", safe_share=True)
    texts = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    assert sym.SAFE_SHARE_MARKING in texts
    assert "Tigyaing Township Hospital" not in texts
