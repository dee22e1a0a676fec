"""PyInstaller runtime hook: make the frozen app use its own GDAL/PROJ data and a writable numba cache.

Runs before any app code. It must stay cheap (no numba, GDAL or Qt imports here): `coverage-app
info` should start quickly.

GDAL / PROJ data
    pyogrio, rasterio and pyproj each ship their own GDAL/PROJ build and data. The bundle keeps
    all copies in their package folders. rasterio and pyogrio read GDAL_DATA and PROJ_DATA /
    PROJ_LIB from the environment *in preference to* their own copies, so a value inherited from
    the laptop (QGIS, OSGeo4W and the PostGIS installer set PROJ_LIB system-wide) would make them
    open a foreign proj.db ("DATABASE.LAYOUT.VERSION.MINOR ..." errors, no reprojection). We
    therefore always *override* them with bundled copies. The copy chosen is pyogrio's: it comes
    with the newest GDAL/PROJ of the three (the spec checks at build time that its proj.db layout
    is accepted by the other PROJ builds, and fails otherwise). pyproj always uses its own copy
    (pyproj/proj_dir) whatever the environment says.

PROJ network
    PROJ_NETWORK=OFF: the app never opens a network connection (README), and PROJ must not try
    to fetch transformation grids from the CDN.

numba
    numba's ``cache=True`` writes compiled kernels next to the source by default, i.e. into the
    (read-only, for a system-wide install) bundle. NUMBA_CACHE_DIR sends them to the user's cache
    folder instead, in a subfolder per version of the jitted sources. The spec collects the
    modules that use ``cache=True`` as plain ``.py`` files so numba can locate their source file.
"""

import os
import sys


def _bundle_dir():
    return getattr(sys, "_MEIPASS", os.path.dirname(os.path.abspath(sys.executable)))


def _first_dir(base, *candidates):
    for rel in candidates:
        path = os.path.join(base, *rel.split("/"))
        if os.path.isdir(path):
            return path
    return None


def _user_cache_dir():
    """The app's cache folder: ~/.cache/coverage-app, %LOCALAPPDATA%\\coverage-app\\Cache, ~/Library/Caches/coverage-app."""
    if sys.platform == "win32":
        root = os.environ.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
        return os.path.join(root, "coverage-app", "Cache")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches", "coverage-app")
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "coverage-app")


def _setup():
    base = _bundle_dir()

    gdal_data = _first_dir(base, "pyogrio/gdal_data", "rasterio/gdal_data")
    proj_data = _first_dir(base, "pyogrio/proj_data", "rasterio/proj_data", "pyproj/proj_dir/share/proj")
    if gdal_data:
        os.environ["GDAL_DATA"] = gdal_data
    if proj_data:
        os.environ["PROJ_DATA"] = proj_data  # PROJ >= 9.1
        os.environ["PROJ_LIB"] = proj_data  # older PROJ, and libraries that still read PROJ_LIB
    os.environ["PROJ_NETWORK"] = "OFF"
    # GDAL must not look for drivers or data of another GDAL installed on the machine.
    os.environ.pop("GDAL_DRIVER_PATH", None)

    # entry.py keeps matplotlib's font cache there too (PyInstaller's own matplotlib hook, which
    # runs after this one, gives every run a new temporary MPLCONFIGDIR).
    os.environ["COVERAGE_APP_CACHE_DIR"] = _user_cache_dir()

    # A user may point the cache elsewhere (e.g. a shared, writable folder); keep that.
    if not os.environ.get("NUMBA_CACHE_DIR"):
        cache = os.path.join(_user_cache_dir(), "numba")
        # One folder per version of the jitted sources (the spec writes the key): numba keys a
        # frozen app's cache on the executable only, which an update may leave unchanged.
        try:
            with open(os.path.join(base, "numba_cache_key.txt"), encoding="ascii") as f:
                key = f.read().strip()
        except OSError:
            key = ""
        if key.isalnum():
            cache = os.path.join(cache, key)
        try:
            os.makedirs(cache, exist_ok=True)
        except OSError:
            import tempfile

            cache = os.path.join(tempfile.gettempdir(), "coverage-app-numba-cache")
        os.environ["NUMBA_CACHE_DIR"] = cache


_setup()
