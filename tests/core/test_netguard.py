"""Issue 12, class 1: never a network connection.

Remote paths (in the command line, in a project, inside VRTs and VRTs they name) are refused
with a clear message; GDAL's own network access is switched off at import. Checked three ways:
a socket guard in-process (audit hook: any AF_INET/AF_INET6 socket, connect or DNS lookup is
recorded and refused), the same guard installed by a sitecustomize in subprocesses, and strace
(system calls, so libcurl inside GDAL is seen too) where strace is installed.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import pytest

from coverage_app.cli import main
from coverage_app.core.data.layers import check_file, inspect_raster, read_vector
from coverage_app.core.errors import InputError
from coverage_app.core.netguard import OPTIONS, check_local_path, remote_reason

REPO = Path(__file__).resolve().parents[2]
UNROUTABLE = "10.255.255.1"  # never answers: a connection attempt would hang, not fail fast

# ----------------------------------------------------------------------------- the guard

_EVENTS: list = []
_ARMED = [False]


def _is_ipv6_probe() -> bool:
    """urllib3 (imported by rasterio) creates, binds and closes one AF_INET6 socket on ::1 at
    import to learn whether IPv6 exists; it never connects. Everything else counts."""
    return any("urllib3" in f.filename and f.name == "_has_ipv6" for f in traceback.extract_stack())


def _hook(event, args):
    if not _ARMED[0]:
        return
    if event == "socket.__new__" and len(args) > 1 and args[1] in (socket.AF_INET, socket.AF_INET6):
        if _is_ipv6_probe():
            return
        _EVENTS.append((event, args[1]))
        raise OSError("network forbidden in this test")
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto"):
        _EVENTS.append((event, str(args[1:2])))
        raise OSError("network forbidden in this test")


sys.addaudithook(_hook)


@pytest.fixture
def no_network(monkeypatch):
    """Arm the audit-hook guard, and patch socket.create_connection as a second net."""
    _EVENTS.clear()
    _ARMED[0] = True

    def refuse(*args, **kwargs):
        _EVENTS.append(("create_connection", args[:1]))
        raise OSError("network forbidden in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    yield _EVENTS
    _ARMED[0] = False


def test_the_guard_catches_a_python_socket(no_network):
    with pytest.raises(OSError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    assert no_network == [("socket.__new__", socket.AF_INET)]
    no_network.clear()


# ----------------------------------------------------------------------------- hostile files

VRT = """<VRTDataset rasterXSize="10" rasterYSize="10">
  <SRS>EPSG:4326</SRS>
  <GeoTransform>95, 0.01, 0, 23, 0, -0.01</GeoTransform>
  <VRTRasterBand dataType="Float32" band="1">
    <SimpleSource>
      <SourceFilename relativeToVRT="{rel}">{source}</SourceFilename>
      <SourceBand>1</SourceBand>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>
"""

OGR_VRT = """<OGRVRTDataSource>
  <OGRVRTLayer name="facilities">
    <SrcDataSource>{source}</SrcDataSource>
  </OGRVRTLayer>
</OGRVRTDataSource>
"""


def hostile_files(folder: Path) -> dict[str, Path]:
    folder.mkdir(exist_ok=True)
    files = {
        "vsicurl_dem": (folder / "dem_vsicurl.vrt", VRT.format(rel=0, source=f"/vsicurl/http://{UNROUTABLE}/dem.tif")),
        "https_dem": (folder / "dem_https.vrt", VRT.format(rel=0, source=f"https://{UNROUTABLE}/dem.tif")),
        "s3_vector": (folder / "fac_s3.vrt", OGR_VRT.format(source="/vsis3/bucket/facilities.gpkg")),
        "nested": (folder / "outer.vrt", VRT.format(rel=1, source="inner.vrt")),
        "inner": (folder / "inner.vrt", VRT.format(rel=0, source="/vsigs/bucket/dem.tif")),
        "zip_curl": (folder / "zip.vrt", VRT.format(rel=0, source=f"/vsizip//vsicurl/http://{UNROUTABLE}/d.zip/d.tif")),
    }
    for path, text in files.values():
        path.write_text(text)
    return {k: p for k, (p, _) in files.items()}


def write_remote_project(tmp_path, bundled_project_path, files) -> Path:
    """The bundled project with its villages at an https address and a DEM VRT naming /vsigs/ via a VRT."""
    project = json.loads(bundled_project_path.read_text(encoding="utf-8"))
    for ref in project["layers"]:
        ref["path"] = str((bundled_project_path.parent / ref["path"]).resolve())
        if ref["role"] == "villages":
            ref["path"] = f"https://{UNROUTABLE}/villages.gpkg"
    project["layers"].append({"name": "dem", "path": str(files["nested"]), "role": "dem"})
    path = tmp_path / "remote.covproj"
    path.write_text(json.dumps(project), encoding="utf-8")
    return path


REMOTE_PATHS = [f"/vsicurl/http://{UNROUTABLE}/fac.gpkg", f"https://{UNROUTABLE}/villages.geojson",
                "/vsis3/bucket/roads.shp", "/vsigs/b/x.gpkg", "/vsiaz/c/x.gpkg", "/vsiadls/c/x.gpkg",
                "/vsioss/b/x.gpkg", "/vsiswift/b/x.gpkg", "/vsiwebhdfs/http://h/x.gpkg",
                "/vsicurl_streaming/http://h/x.gpkg", "ftp://h/x.shp", "s3://bucket/x.gpkg",
                "PG:dbname=gis host=db", "WFS:http://h/wfs", "\\\\vsicurl\\http:\\h\\x.gpkg"]


@pytest.mark.parametrize("path", REMOTE_PATHS)
def test_remote_paths_are_named_and_refused(path):
    assert remote_reason(path)
    with pytest.raises(InputError, match="never connects to the network"):
        check_local_path(path)


@pytest.mark.parametrize("path", ["layers/sagaing.gpkg", "C:\\data\\fac.gpkg", "/home/u/vsicurlish/fac.gpkg",
                                  "/data/https_mirror/fac.gpkg", "/vsizip/local.zip/fac.shp"])
def test_local_paths_pass(path):
    assert remote_reason(path) is None


def test_every_hostile_file_is_refused_through_the_core_api(tmp_path, no_network):
    files = hostile_files(tmp_path)
    for key in ("vsicurl_dem", "https_dem", "nested", "zip_curl"):
        info, problems = inspect_raster(files[key])
        assert info is None and "remote" in problems[0].message, key
        [(_, _, problems)] = check_file(files[key])
        assert "refused" in problems[0].message
    with pytest.raises(InputError, match="remote source"):
        read_vector(files["s3_vector"])
    for path in REMOTE_PATHS[:4]:
        [(_, _, problems)] = check_file(path)
        assert "never connects to the network" in problems[0].message
    assert no_network == []


def test_a_local_vrt_citing_a_web_page_in_its_metadata_is_accepted(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(tmp_path / "dem.tif", "w", driver="GTiff", width=10, height=10, count=1, dtype="float32",
                       crs="EPSG:4326", transform=from_origin(95, 23, 0.01, 0.01)) as dst:
        dst.write(np.ones((10, 10), "float32"), 1)
    vrt = tmp_path / "local.vrt"
    vrt.write_text(VRT.format(rel=1, source="dem.tif").replace(
        "<SRS>", '<Metadata><MDI key="source">https://srtm.csi.cgiar.org/ (CGIAR-CSI SRTM)</MDI></Metadata><SRS>'))
    info, problems = inspect_raster(vrt)
    assert info is not None and problems == []
    opt = tmp_path / "opt.vrt"
    opt.write_text(VRT.format(rel=1, source="dem.tif").replace(
        "<SRS>", "<OpenOptions><OOI key='X'>/vsicurl/http://h/x</OOI></OpenOptions><SRS>"))
    assert "remote GDAL file system" in inspect_raster(opt)[1][0].message


def test_gdal_options_are_set_at_import():
    for key, value in OPTIONS.items():
        if key != "GDAL_SKIP":
            assert os.environ[key] == value
    assert set(OPTIONS["GDAL_SKIP"].split(",")) <= set(os.environ["GDAL_SKIP"].split(","))


def test_cli_validate_analyse_brief_on_remote_files_make_no_connection(tmp_path, no_network, capsys,
                                                                       bundled_project_path):
    files = hostile_files(tmp_path)
    assert main(["validate", *map(str, files.values()), REMOTE_PATHS[0]]) == 2
    out = capsys.readouterr().out
    assert out.count("refused") == len(files) + 1  # each file and the remote path, one line each
    assert "unexpected failure" not in out
    assert main(["analyse", "--dem", str(files["vsicurl_dem"]), "--cell-size", "2000", "--out",
                 str(tmp_path / "out")]) == 2
    assert "refused" in capsys.readouterr().out and not (tmp_path / "out" / "run.json").exists()
    remote_project = write_remote_project(tmp_path, bundled_project_path, files)
    assert main(["brief", str(remote_project), "--out", str(tmp_path / "b.pdf"), "--cell-size", "2000"]) == 2
    out = capsys.readouterr()
    assert out.out.count("refused") == 2 and "unexpected failure" not in out.err
    assert not (tmp_path / "b.pdf").exists()
    assert no_network == []


# ----------------------------------------------------------------------------- subprocesses

SITECUSTOMIZE = '''
import os, socket, sys, traceback
_LOG = os.environ["NETGUARD_LOG"]

def _probe():
    return any("urllib3" in f.filename and f.name == "_has_ipv6" for f in traceback.extract_stack())

def _hook(event, args):
    bad = None
    if event == "socket.__new__" and len(args) > 1 and args[1] in (socket.AF_INET, socket.AF_INET6) \\
            and not _probe():
        bad = f"{event} family={args[1]}"
    elif event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto"):
        bad = f"{event} {args[1:2]}"
    if bad:
        with open(_LOG, "a") as fh:
            fh.write(bad + "\\n")
        raise OSError("network forbidden in this test")

sys.addaudithook(_hook)
'''


def _run_guarded(tmp_path, argv, name, strace=True):
    guard = tmp_path / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / f"{name}.sockets"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(guard), str(REPO)]), NETGUARD_LOG=str(log),
               QT_QPA_PLATFORM="offscreen", MPLBACKEND="Agg")
    cmd = [sys.executable, *argv]
    trace = tmp_path / f"{name}.strace"
    if strace and shutil.which("strace"):
        cmd = ["strace", "-f", "-qq", "-e", "trace=connect,sendto", "-o", str(trace), *cmd]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    python_attempts = log.read_text().splitlines() if log.exists() else []
    inet = [line for line in (trace.read_text().splitlines() if trace.exists() else [])
            if "connect(" in line and ("AF_INET" in line)]
    return proc, python_attempts, inet


def test_subprocess_commands_on_remote_files_create_no_inet_socket(tmp_path, bundled_project_path):
    files = hostile_files(tmp_path)
    project = write_remote_project(tmp_path, bundled_project_path, files)
    runs = {
        "validate": ["-m", "coverage_app", "validate", *map(str, files.values())],
        "analyse": ["-m", "coverage_app", "analyse", "--dem", str(files["vsicurl_dem"]), "--facilities",
                    REMOTE_PATHS[0], "--cell-size", "2000", "--out", str(tmp_path / "out")],
        "brief": ["-m", "coverage_app", "brief", str(project), "--out", str(tmp_path / "b.pdf"),
                  "--cell-size", "2000"],
    }
    for name, argv in runs.items():
        proc, python_attempts, inet = _run_guarded(tmp_path, argv, name)
        assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
        assert "refused" in proc.stdout + proc.stderr, name
        assert "unexpected failure" not in proc.stdout + proc.stderr
        assert python_attempts == [], name
        assert inet == [], name


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace to see libcurl's sockets inside GDAL")
def test_gdal_itself_does_not_connect_even_when_the_path_check_is_bypassed(tmp_path):
    """The second line of defence: GDAL opened directly on remote paths (as a future code path that
    forgets check_local_path would) makes no connection once coverage_app is imported. The same
    script without the options does connect, so this test can fail."""
    script = tmp_path / "direct.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        if sys.argv[1] == "guarded":
            import coverage_app  # noqa: F401  (sets the GDAL options)
        import pyogrio, rasterio
        for path in ["/vsicurl/http://{UNROUTABLE}/dem.tif", "{tmp_path / 'dem_vsicurl.vrt'}",
                     "/vsis3/bucket/dem.tif", "/vsigs/bucket/dem.tif"]:
            try:
                with rasterio.open(path) as src:
                    src.read(1)
            except Exception:
                pass
        for path in ["/vsicurl/http://{UNROUTABLE}/fac.gpkg", "http://{UNROUTABLE}/fac.geojson"]:
            try:
                pyogrio.read_info(path)
            except Exception:
                pass
    """))
    hostile_files(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in OPTIONS}
    env.update(PYTHONPATH=str(REPO), GDAL_HTTP_CONNECTTIMEOUT="1", GDAL_HTTP_TIMEOUT="1", GDAL_HTTP_MAX_RETRY="0")
    results = {}
    for mode in ("guarded", "control"):
        trace = tmp_path / f"{mode}.strace"
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(trace), sys.executable, str(script),
                        mode], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        results[mode] = [line for line in trace.read_text().splitlines() if UNROUTABLE in line]
    assert results["guarded"] == []
    assert results["control"], "the control run should have tried to connect"


def test_the_subprocess_guard_and_strace_see_a_connection(tmp_path):
    """The subprocess checks can fail: a plain Python connection is logged by both."""
    proc, python_attempts, inet = _run_guarded(
        tmp_path, ["-c", f"import socket\ntry:\n    socket.create_connection(('{UNROUTABLE}', 80), timeout=1)\n"
                         "except OSError:\n    pass"], "control")
    assert proc.returncode == 0 and python_attempts
    raw = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect", sys.executable, "-c",
                          f"import socket\ntry:\n    socket.create_connection(('{UNROUTABLE}', 80), timeout=0.2)\n"
                          "except OSError:\n    pass"], capture_output=True, text=True) \
        if shutil.which("strace") else None
    assert raw is None or UNROUTABLE in raw.stderr
