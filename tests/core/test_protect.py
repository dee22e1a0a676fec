"""Protected projects and archives: round trip, wrong passphrase, tampering, no clear text."""

import json
import time

import pytest

from coverage_app.core.data import protect
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import ProjectError, load_project, save_project
from tests.leaks import facility_needles, leaks_in

PASS = "tamarind monsoon ferry lantern"


@pytest.fixture(scope="module")
def needles():
    return facility_needles()


@pytest.fixture
def project(bundled_project_path):
    project = load_project(bundled_project_path)
    project.scenarios = [{"name": "new clinic", "edits": [
        {"type": "add_facility", "fac_id": "NEW-1", "name": "Secret Field Clinic", "lon": 95.4321, "lat": 22.1234,
         "level": "Rural health centre", "provides_primary": True, "provides_secondary": False,
         "status": "functioning", "date": "2026-11-01"},
        {"type": "set_status", "fac_id": "MMR005001-H01", "status": "closed", "date": "2026-10-01"}]}]
    project.active_scenario = "new clinic"
    return project


def test_needles_are_found_in_clear_data(bundled_gpkg, needles, tmp_path):
    # the leak check itself can fail: the bundled GeoPackage holds every facility in clear
    (tmp_path / "copy.gpkg").write_bytes(bundled_gpkg.read_bytes())
    found = {n for _, n in leaks_in([tmp_path], needles)}
    assert b"Sagaing General Hospital" in found
    assert len(found) >= 400  # ~141 names and ~282 coordinates as doubles (some facilities share values)


def test_round_trip_layers_and_scenarios_equal(project, tmp_path, needles, bundled_project_path):
    before = load_project_data(load_project(bundled_project_path))
    t0 = time.perf_counter()
    out = protect.save_protected(project, tmp_path / "sagaing.covprojx", passphrase=PASS)
    saved_s = time.perf_counter() - t0
    assert out.read_bytes().startswith(protect.MAGIC)
    assert not leaks_in([tmp_path], needles + [b"Secret Field Clinic", b"95.4321"])
    t0 = time.perf_counter()
    opened = protect.load_protected(out, PASS)
    after = load_project_data(opened)
    open_s = time.perf_counter() - t0
    print(f"save protected {saved_s:.2f} s, open + load {open_s:.2f} s")
    assert not [p for p in after.problems if p.severity == "error"]
    assert set(after.layers) == set(before.layers)
    for name, layer in before.layers.items():
        a, b = layer.data, after.layers[name].data
        assert list(a.columns) == list(b.columns), name
        assert a.drop(columns="geometry").reset_index(drop=True).equals(
            b.drop(columns="geometry").reset_index(drop=True)), name
        assert a.geometry.reset_index(drop=True).geom_equals_exact(b.geometry.reset_index(drop=True), 0).all(), name
    assert opened.scenarios == project.scenarios and opened.active_scenario == "new clinic"
    assert opened.params == project.params
    # only the facilities were embedded; the other layers still point at the bundled GeoPackage
    embedded = [r.name for r in opened.layers if r.options.get("embedded")]
    assert embedded == ["Health facilities"]
    assert all(r.path.endswith("sagaing.gpkg") or r.path.endswith(".tif") for r in opened.layers
               if not r.options.get("embedded"))
    # saving again with the same key (as the autosave does) reopens with the passphrase
    opened.name = "renamed"
    protect.save_protected(opened)
    assert protect.load_protected(out, PASS).name == "renamed"


def test_marked_layer_is_embedded(project, tmp_path, needles):
    villages = project.layers_of("villages")[0]
    villages.options["sensitive"] = True
    out = protect.save_protected(project, tmp_path / "p.covprojx", passphrase=PASS)
    opened = protect.load_protected(out, PASS)
    names = {r.name for r in opened.layers if r.options.get("embedded")}
    assert names == {"Health facilities", "Villages"}
    data = load_project_data(opened)
    assert len(data.layers["Villages"].data) == 6829  # census basis: located + placed villages + wards


def test_wrong_passphrase_and_flipped_bytes_refused_without_change(project, tmp_path):
    out = protect.save_protected(project, tmp_path / "p.covprojx", passphrase=PASS)
    original = out.read_bytes()
    with pytest.raises(protect.WrongPassphrase, match="wrong passphrase.*nothing was changed"):
        protect.load_protected(out, PASS.upper())
    assert out.read_bytes() == original
    header, head_len = protect.read_header(original)
    for where in (head_len + 5, len(original) - 3, original.index(b'"nonce"') + 12):
        bad = bytearray(original)
        bad[where] ^= 0x01
        damaged = tmp_path / f"bad{where}.covprojx"
        damaged.write_bytes(bytes(bad))
        with pytest.raises(protect.DamagedFile, match="altered or damaged.*nothing was changed"):
            protect.load_protected(damaged, PASS)
        assert damaged.read_bytes() == bytes(bad)
    # a flipped byte in the salt makes the passphrase check fail: still refused, still unchanged
    bad = bytearray(original)
    bad[original.index(b'"salt"') + 10] ^= 0x01
    (tmp_path / "salt.covprojx").write_bytes(bytes(bad))
    with pytest.raises(protect.ProtectError):
        protect.load_protected(tmp_path / "salt.covprojx", PASS)
    # a truncated header
    (tmp_path / "cut.covprojx").write_bytes(original[:len(protect.MAGIC) + 6])
    with pytest.raises(protect.DamagedFile, match="header is damaged"):
        protect.load_protected(tmp_path / "cut.covprojx", PASS)


def test_newer_format_and_plain_open_refused(project, tmp_path):
    out = protect.save_protected(project, tmp_path / "p.covprojx", passphrase=PASS)
    with pytest.raises(protect.NeedsPassphrase, match="protected: give its passphrase"):
        load_project(out)
    blob = out.read_bytes()
    header, head_len = protect.read_header(blob)
    header["format_version"] = 99
    newer = protect._head_bytes(header) + blob[head_len:]
    (tmp_path / "n.covprojx").write_bytes(newer)
    with pytest.raises(protect.ProtectError, match="newer version"):
        protect.load_protected(tmp_path / "n.covprojx", PASS)


def test_protected_project_never_saved_in_clear(project, tmp_path):
    protect.save_protected(project, tmp_path / "p.covprojx", passphrase=PASS)
    with pytest.raises(ProjectError, match="save it protected"):
        save_project(project, tmp_path / "clear.covproj")
    assert not (tmp_path / "clear.covproj").exists()
    project.protection = None  # even without the key the embedded copies refuse a plain save
    with pytest.raises(ProjectError, match="protected layer copies"):
        save_project(project, tmp_path / "clear.covproj")


def test_scrypt_files_open_too(project, tmp_path):
    key = protect.Key.new(PASS, protect.SCRYPT)
    out = protect.save_protected(project, tmp_path / "s.covprojx", key=key)
    header, _ = protect.read_header(out.read_bytes())
    assert header["kdf"] == {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "length": 32}
    assert protect.load_protected(out, PASS).layers_of("facilities")[0].options["embedded"]
    with pytest.raises(protect.WrongPassphrase):
        protect.load_protected(out, "not it at all, sorry")


def test_default_kdf_is_argon2id_with_recorded_parameters(project, tmp_path):
    out = protect.save_protected(project, tmp_path / "a.covprojx", passphrase=PASS)
    header, _ = protect.read_header(out.read_bytes())
    assert header["kdf"] == protect.ARGON2ID
    assert header["cipher"] == "AES-256-GCM" and header["kind"] == "project"
    assert len(protect._b64d(header["salt"])) == 16 and len(protect._b64d(header["nonce"])) == 12
    json.dumps(header)  # nothing secret and nothing binary in the header


def test_archive_round_trip(tmp_path, needles):
    src = tmp_path / "export"
    (src / "sub").mkdir(parents=True)
    (src / "facilities.csv").write_text("name\nSagaing General Hospital\n", encoding="utf-8")
    (src / "sub" / "x.bin").write_bytes(bytes(range(256)))
    key = protect.Key.new(PASS)
    out = protect.encrypt_folder(src, tmp_path / "export.zip.enc", key)
    assert b"Sagaing General" not in out.read_bytes()
    files = protect.decrypt_archive(out, tmp_path / "opened", PASS)
    assert sorted(p.name for p in files) == ["facilities.csv", "x.bin"]
    assert (tmp_path / "opened" / "sub" / "x.bin").read_bytes() == bytes(range(256))
    with pytest.raises(protect.WrongPassphrase):
        protect.decrypt_archive(out, tmp_path / "nope", "wrong passphrase here")
    assert not (tmp_path / "nope").exists()
    # an archive is not a project, and a project is not an archive
    with pytest.raises(protect.ProtectError, match="not a protected project"):
        protect.load_protected(out, PASS)


def test_passphrase_advice():
    assert protect.passphrase_problem("short") is not None
    assert protect.passphrase_problem("aaaaaaaaaaaaaaaa") is not None
    assert protect.passphrase_problem(PASS) is None


def test_quick_close_wipes_key(project, tmp_path):
    out = protect.save_protected(project, tmp_path / "p.covprojx", passphrase=PASS)
    opened = protect.load_protected(out, PASS)
    key = opened.protection
    protect.drop_secrets(opened)
    assert opened.embedded == {} and opened.protection is None and key.wiped
    assert not any(key._aes)
    with pytest.raises(protect.ProtectError, match="dropped"):
        key.encrypt(b"x", "project")


def test_key_verify_checks_the_passphrase():
    key = protect.Key.new(PASS)
    assert key.verify(PASS) and not key.verify(PASS + " ")


def test_argon2_cffi_and_cryptography_derive_the_same_key():
    """The key is derived with argon2-cffi (it releases the GIL); files written with
    cryptography's Argon2id (the earlier path) must still open: same RFC 9106 output."""
    import os

    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    kdf, salt = protect.default_kdf(), os.urandom(16)
    ours = protect._derive("tamarind monsoon ü", kdf, salt)
    theirs = Argon2id(salt=salt, length=kdf["length"], iterations=kdf["iterations"], lanes=kdf["lanes"],
                      memory_cost=kdf["memory_kib"]).derive("tamarind monsoon ü".encode())
    assert ours == theirs and len(ours) == 32


def test_key_derivation_lets_other_threads_run():
    """While a worker derives a key the GUI thread keeps running (the window stays responsive)."""
    import threading
    import time

    worker = threading.Thread(target=lambda: protect.Key.new("tamarind monsoon ferry lantern"))
    loops = 0
    worker.start()
    while worker.is_alive():
        loops += 1
        time.sleep(0.005)
    assert loops >= 10  # a GIL-holding Argon2id run (0.15-0.7 s) allowed 1-2


def test_briefing_credits_name_an_embedded_layer_by_title_only(tmp_path, bundled_project_path):
    """A protected project's facilities live inside the .covprojx: the map credits say
    "Health facilities", not "Health facilities (x.covprojx)" (a file name is no source)."""
    from coverage_app.core.outputs.briefing.layers import prepare_layers

    target = protect.save_protected(load_project(bundled_project_path), tmp_path / "field.covprojx",
                                    passphrase="tamarind monsoon ferry lantern")
    data = load_project_data(protect.load_protected(target, "tamarind monsoon ferry lantern"))
    credits = prepare_layers(data).credits
    assert "Health facilities" in credits
    assert not [c for c in credits if "covprojx" in c]
