"""protect / decrypt and --passphrase-env on the commands that read projects."""

import csv
import os
import subprocess
import sys

import pytest

from coverage_app.cli import main
from coverage_app.cli.main import build_parser
from tests.leaks import facility_needles, leaks_in

PASS = "tamarind monsoon ferry lantern"


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("COV_PASS", PASS)
    monkeypatch.setenv("COV_WRONG", "tamarind monsoon ferry lanterns")
    monkeypatch.setenv("COV_WEAK", "abc")


@pytest.fixture
def protected(tmp_path, env, capsys):
    out = tmp_path / "sagaing.covprojx"
    assert main(["protect", "--out", str(out), "--passphrase-env", "COV_PASS"]) == 0
    text = capsys.readouterr().out
    assert "1 sensitive layer(s) encrypted (Health facilities)" in text
    assert "sagaing.gpkg is still readable in clear" in text
    return out


def test_every_project_command_takes_passphrase_env():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    with_project = {name for name, p in sub.choices.items() if any(a.dest == "project" for a in p._actions)}
    assert {"info", "analyse", "sites", "brief", "protect"} <= with_project
    for name in with_project:
        assert any(a.dest == "passphrase_env" for a in sub.choices[name]._actions), name


def test_protect_then_info(protected, capsys):
    assert not leaks_in([protected.parent], facility_needles())
    assert main(["info", str(protected), "--passphrase-env", "COV_PASS"]) == 0
    out = capsys.readouterr().out
    assert "Health facilities" in out and "141" in out and "6829" in out


def test_protected_project_refused_without_or_with_wrong_passphrase(protected, capsys):
    before = protected.read_bytes()
    assert main(["info", str(protected)]) == 2
    assert "protected: give its passphrase" in capsys.readouterr().err
    assert main(["info", str(protected), "--passphrase-env", "COV_WRONG"]) == 2
    assert "wrong passphrase" in capsys.readouterr().err
    assert main(["info", str(protected), "--passphrase-env", "COV_UNSET_VARIABLE"]) == 2
    assert "COV_UNSET_VARIABLE is not set" in capsys.readouterr().err
    bad = bytearray(before)
    bad[-40] ^= 0x80
    protected.write_bytes(bytes(bad))
    assert main(["analyse", str(protected), "--out", str(protected.parent / "x"), "--passphrase-env", "COV_PASS"]) == 2
    assert "altered or damaged" in capsys.readouterr().err
    assert protected.read_bytes() == bytes(bad)
    assert not (protected.parent / "x").exists()


def test_weak_passphrase_and_bad_suffix_refused(tmp_path, env, capsys):
    assert main(["protect", "--out", str(tmp_path / "a.covprojx"), "--passphrase-env", "COV_WEAK"]) == 2
    assert "too weak" in capsys.readouterr().err
    assert main(["protect", "--out", str(tmp_path / "a.covproj"), "--passphrase-env", "COV_PASS"]) == 2
    assert "ends in .covprojx" in capsys.readouterr().err
    assert main(["protect", "--out", str(tmp_path / "a.covprojx"), "--passphrase-env", "COV_PASS",
                 "--sensitive", "Nope"]) == 2
    assert "no such layer" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_protect_marks_more_layers_and_rekeys(protected, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COV_NEW", "another long passphrase here")
    out = tmp_path / "more.covprojx"
    assert main(["protect", str(protected), "--out", str(out), "--passphrase-env", "COV_PASS",
                 "--new-passphrase-env", "COV_NEW", "--sensitive", "Villages"]) == 0
    assert "2 sensitive layer(s) encrypted (Villages, Health facilities)" in capsys.readouterr().out
    assert main(["info", str(out), "--passphrase-env", "COV_PASS"]) == 2
    assert main(["info", str(out), "--passphrase-env", "COV_NEW"]) == 0


def test_subprocess_passphrase_never_in_argv(protected):
    env = {**os.environ, "COV_PASS": PASS}
    result = subprocess.run([sys.executable, "-m", "coverage_app", "info", str(protected), "--passphrase-env",
                             "COV_PASS"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert PASS not in result.stdout + result.stderr
    result = subprocess.run([sys.executable, "-m", "coverage_app", "decrypt", str(protected), "--out",
                             str(protected.parent / "d"), "--passphrase-env", "COV_PASS"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and "not a protected archive" in result.stderr
    assert "unexpected failure" not in result.stderr


@pytest.mark.slow
def test_encrypted_export_equals_plain_export(protected, tmp_path, capsys):
    """analyse --encrypt on the protected project == analyse on the bundled project (2 km cells)."""
    plain, sealed, opened = tmp_path / "plain", tmp_path / "sealed", tmp_path / "opened"
    assert main(["analyse", "--out", str(plain), "--format", "gpkg", "--cell-size", "2000", "--quiet"]) == 0
    assert main(["analyse", str(protected), "--passphrase-env", "COV_PASS", "--out", str(sealed), "--format", "gpkg",
                 "--cell-size", "2000", "--quiet", "--encrypt"]) == 0
    assert [p.name for p in sealed.iterdir()] == ["coverage.zip.enc"]
    assert not leaks_in([sealed], facility_needles())
    assert main(["decrypt", str(sealed / "coverage.zip.enc"), "--out", str(opened), "--passphrase-env", "COV_WRONG"]) == 2
    assert main(["decrypt", str(sealed / "coverage.zip.enc"), "--out", str(opened), "--passphrase-env", "COV_PASS"]) == 0
    assert {p.name for p in opened.iterdir()} == {p.name for p in plain.iterdir()}
    for name in ("villages.csv", "townships.csv", "coverage_curve.csv"):
        with open(plain / name, encoding="utf-8") as a, open(opened / name, encoding="utf-8") as b:
            assert list(csv.reader(a)) == list(csv.reader(b)), name


def test_decrypt_into_a_file_is_a_clear_error(tmp_path, env, capsys):
    from coverage_app.core.data import protect

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("x")
    archive = protect.encrypt_folder(tmp_path / "src", tmp_path / "a.zip.enc", protect.Key.new(PASS))
    (tmp_path / "taken").write_text("a file, not a folder")
    assert main(["decrypt", str(archive), "--out", str(tmp_path / "taken"), "--passphrase-env", "COV_PASS"]) == 2
    err = capsys.readouterr().err
    assert "cannot be used as the folder" in err and "unexpected" not in err
    assert main(["decrypt", str(tmp_path / "missing.zip.enc"), "--out", str(tmp_path / "o"),
                 "--passphrase-env", "COV_PASS"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_full_output_of_a_protected_project_needs_confirmation(protected, tmp_path, capsys):
    """analyse/brief of a protected project in clear without --safe-share: refused (nothing written)
    unless --confirm-full-export; --safe-share and --encrypt need no confirmation."""
    out, pdf = tmp_path / "full", tmp_path / "full.pdf"
    assert main(["analyse", str(protected), "--passphrase-env", "COV_PASS", "--out", str(out), "--cell-size", "2000",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{protected.name}: this project is protected" in err and "--confirm-full-export" in err
    assert "unexpected failure" not in err and not out.exists()
    assert main(["brief", str(protected), "--passphrase-env", "COV_PASS", "--out", str(pdf), "--no-analysis",
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "full briefing" in err and "--confirm-full-export" in err and not pdf.exists()
    # confirmed: the full outputs are written (facility names in clear, as asked)
    assert main(["analyse", str(protected), "--passphrase-env", "COV_PASS", "--out", str(out), "--cell-size", "2000",
                 "--format", "gpkg", "--quiet", "--confirm-full-export"]) == 0
    assert (out / "villages.csv").exists() and leaks_in([out], facility_needles())
    assert main(["brief", str(protected), "--passphrase-env", "COV_PASS", "--out", str(pdf), "--no-analysis",
                 "--quiet", "--confirm-full-export"]) == 0
    assert pdf.stat().st_size > 10000
    # safe share needs no confirmation
    safe = tmp_path / "safe.pdf"
    assert main(["brief", str(protected), "--passphrase-env", "COV_PASS", "--out", str(safe), "--no-analysis",
                 "--quiet", "--safe-share"]) == 0
    assert safe.exists()


def test_plain_project_needs_no_confirmation(tmp_path, capsys):
    pdf = tmp_path / "plain.pdf"
    assert main(["brief", "--out", str(pdf), "--no-analysis", "--quiet"]) == 0 and pdf.exists()
