"""``coverage-app brief``: writes the briefing map; bad input exits 2 with one plain line."""

import os
import shutil
import subprocess
import sys

import pytest

from coverage_app.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "coverage_app", *map(str, args)], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=300)


def test_brief_writes_a_pdf(tmp_path, capsys):
    out = tmp_path / "brief.pdf"
    code = main(["brief", "--out", str(out), "--cell-size", "1000", "--as-of", "2024-06-01", "--mode", "motorbike",
                 "--title", "Sagaing access, June 2024", "--language", "both", "--quiet"])
    assert code == 0
    assert out.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
        assert "Sagaing access, June 2024" in text
        assert "Motorbike" in text and "as of 2024-06-01" in text and "1000 m grid" in text


def test_brief_township_png_and_summary_line(tmp_path, capsys):
    out = tmp_path / "kale.png"
    code = main(["brief", "--out", str(out), "--township", "Kale", "--cell-size", "1000", "--safe-share",
                 "--paper", "a4", "--landscape", "--dpi", "60"])
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "wrote the briefing map (township Kale, A4 landscape, en, safe-share)" in printed


def test_brief_inputs_only_pdf(tmp_path):
    out = tmp_path / "inputs.pdf"
    assert main(["brief", "--out", str(out), "--no-analysis", "--quiet"]) == 0
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize("args, message", [
    (["--township", "MMR999999"], "unknown township 'MMR999999'"),
    (["--out-dir-missing"], "does not exist"),
    (["--suffix"], "write the briefing map to a .pdf or .png file"),
    (["--atlas-png"], "several pages"),
    (["--as-of", "June"], "--as-of must be a date"),
])
def test_bad_input_exits_2_with_a_plain_message(tmp_path, capsys, args, message):
    out = tmp_path / "x.pdf"
    if args == ["--out-dir-missing"]:
        out, args = tmp_path / "no" / "such" / "x.pdf", []
    elif args == ["--suffix"]:
        out, args = tmp_path / "x.docx", []
    elif args == ["--atlas-png"]:
        out, args = tmp_path / "x.png", ["--atlas"]
    assert main(["brief", "--out", str(out), "--cell-size", "1000", "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_bad_township_in_a_subprocess_never_prints_a_traceback(tmp_path):
    result = run("brief", "--out", tmp_path / "x.pdf", "--township", "Nowhere", "--quiet")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: unknown township 'Nowhere'")
    assert "Traceback" not in result.stderr
