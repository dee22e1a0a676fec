"""No network, ever: GDAL/PROJ options that forbid it, and a check that refuses remote paths.

The app works offline in the field and must never reach out (a connection can reveal who
is looking at which facilities). Two layers of defence:

1. :func:`install` (run when ``coverage_app`` is imported, before GDAL is used) sets GDAL
   and PROJ configuration options through the environment, which GDAL reads on each use:

   - ``CPL_VSIL_CURL_ALLOWED_EXTENSIONS`` set to an extension no file has: /vsicurl/ and the
     cloud file systems built on it (/vsis3/, /vsigs/, /vsiaz/, /vsioss/, /vsiswift/, ...)
     refuse every file before opening a connection (checked with strace: no AF_INET socket);
   - ``GDAL_SKIP`` drops the drivers that fetch over HTTP themselves (WMS, WFS, OAPIF, HTTP...);
   - ``GDAL_DISABLE_READDIR_ON_OPEN``, ``GDAL_HTTP_MAX_RETRY=0``, ``GDAL_HTTP_TIMEOUT=1``,
     ``GML_SKIP_RESOLVE_ELEMS=ALL``, ``GML_DOWNLOAD_WFS_SCHEMA=NO`` (no XSD download),
     ``PROJ_NETWORK=OFF`` (no PROJ grid download from the CDN).

2. :func:`check_local_path` refuses, with a clear message, any path that names a remote
   resource: a /vsicurl/-style virtual file system or a URL (http, https, ftp, s3, gs, az...),
   also inside a VRT (raster or vector) and inside the VRTs a VRT names, before GDAL opens it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from coverage_app.core.errors import InputError, Problem

# GDAL drivers that open network resources on their own (not through /vsicurl/).
# GDAL drivers that open network resources on their own (not through /vsicurl/). Only drivers
# that both bundled GDAL builds (rasterio's and pyogrio's) contain: GDAL warns on unknown names.
# The vector-only web drivers (WFS, OAPIF, ...) open only "WFS:"-style names or URLs, which
# check_local_path refuses.
NETWORK_DRIVERS = ("HTTP", "WMS", "WMTS", "WCS", "STACTA", "STACIT", "PLMOSAIC", "EEDA", "EEDAI", "DAAS", "ESRIC")

OPTIONS = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".coverage-app-offline",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GML_SKIP_RESOLVE_ELEMS": "ALL",
    "GML_DOWNLOAD_WFS_SCHEMA": "NO",
    "PROJ_NETWORK": "OFF",
    "AWS_NO_SIGN_REQUEST": "YES",  # never look for cloud credentials (EC2 metadata service)
    "GDAL_SKIP": ",".join(NETWORK_DRIVERS),
}

_REMOTE_VSI = re.compile(r"(?i)(^|[/\\])vsi(curl|curl_streaming|s3|s3_streaming|gs|gs_streaming|az|az_streaming|"
                         r"adls|oss|oss_streaming|swift|swift_streaming|webhdfs|hdfs)(?=[/\\?]|$)")
_URL = re.compile(r"(?i)\b(https?|ftps?|s3|gs|gcs|az|abfss?|wasbs?|sftp|scp|smb|wss?):[/\\]")
# Connection strings of database / service drivers ("PG:dbname=...", "WFS:http...").
_CONNECTION = re.compile(r"(?i)^(PG|MYSQL|ODBC|MSSQL|OCI|WFS|WMS|WMTS|WCS|OAPIF|CSW|ES|EEDA|EEDAI|NGW|CARTO|"
                         r"AMIGOCLOUD|DAAS|PLSCENES|STACTA|STACIT|HTTP|ADBC):")
_VRT_SUFFIXES = {".vrt", ".xml", ".ovf", ".gti", ".gdalg"}
_VRT_SOURCE = re.compile(r"(?is)<(SourceFilename|SrcDataSource|SourceDataset|SrcRaster|Source|Path)(\s[^>]*)?>"
                         r"(.*?)</\1>")
_MAX_VRT_BYTES = 20_000_000


def install() -> None:
    """Set the GDAL/PROJ options that forbid network access (existing stricter values are kept)."""
    for key, value in OPTIONS.items():
        if key == "GDAL_SKIP" and os.environ.get(key):
            current = os.environ[key].replace(" ", ",").split(",")
            os.environ[key] = ",".join(dict.fromkeys([c for c in current if c] + list(NETWORK_DRIVERS)))
        else:
            os.environ[key] = value


def remote_reason(text: str) -> str | None:
    """Why ``text`` names a remote resource, or None for a local path."""
    text = str(text).strip()
    m = _REMOTE_VSI.search(text)
    if m:
        return f"it uses GDAL's remote file system /vsi{m.group(2).lower()}/"
    m = _URL.search(text)
    if m:
        return f"it is a remote address ({m.group(1).lower()}://...)"
    if _CONNECTION.match(text):
        return "it is a database or web-service connection string"
    return None


def check_local_path(path, *, file: str | None = None, _depth: int = 0) -> None:
    """Raise InputError if ``path`` (or a source named inside it, for VRTs) is not a local file.

    ``path`` is checked as written; VRT-like XML files are read (text only, never through
    GDAL) and each source they name is checked the same way, recursively for local VRTs.
    """
    shown = file or str(path)
    reason = remote_reason(str(path))
    if reason:
        raise InputError(Problem("error", f"refused: {reason}; this app never connects to the network. Download "
                                 "the file and use the local copy", file=shown))
    p = Path(path)
    if _depth > 8 or p.suffix.lower() not in _VRT_SUFFIXES or not p.is_file():
        return
    try:
        if p.stat().st_size > _MAX_VRT_BYTES:
            return
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    for match in _VRT_SOURCE.finditer(text):
        source = re.sub(r"<[^>]+>", "", match.group(3)).strip()
        if not source:
            continue
        reason = remote_reason(source)
        if reason:
            raise InputError(Problem("error", f"refused: the VRT names a remote source ({source[:80]}): {reason}; "
                                     "this app never connects to the network. Point the VRT at a local copy",
                                     file=shown))
        attrs = match.group(2) or ""
        child = Path(source)
        if not child.is_absolute() and "relativetovrt=\"0\"" not in attrs.lower().replace("'", '"'):
            child = p.parent / child
        check_local_path(child, file=shown, _depth=_depth + 1)
    # A remote file system named anywhere else in the XML (e.g. in an open option). Plain http
    # addresses outside source elements are left alone: metadata often cites a web page.
    for line in text.splitlines():
        if _REMOTE_VSI.search(line):
            raise InputError(Problem("error", "refused: the VRT names a remote GDAL file system; this app never "
                                     "connects to the network. Point the VRT at a local copy", file=shown))
