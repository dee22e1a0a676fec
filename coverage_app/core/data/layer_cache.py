"""Checked layers kept between runs (in :mod:`coverage_app.core.runcache`): reading and checking
the eight analysis layers of the bundled Sagaing project takes 0.15-0.2 s (pyogrio's reads, the
value and geometry checks, the Zawgyi scan); reading them back takes ~0.015 s.

**When an entry is used.** Its key is a digest of the GeoPackage's bytes, the path as given, the
layer name, role, field mapping, road-class table and layer name shown, the source code of
``coverage_app.core`` and the versions of numpy, pandas, geopandas, shapely, pyogrio / GDAL, pyproj
and myanmartools (the Zawgyi detector).
The value is the whole :class:`~coverage_app.core.data.layers.Layer` that
:func:`~coverage_app.core.data.layers.load_layer` returned (its canonical data, the file's other
fields, the problems found): a layer read back is the layer checked then.

**Which layers.** GeoPackage layers only (one file holds a layer's every byte) up to
:data:`MAX_FILE_BYTES`, and not while
the GeoPackage has a ``-wal`` or ``-journal`` file beside it (another program, e.g. QGIS, is
writing it and its last changes are not in the file yet). Never a layer marked sensitive, and so
never facilities, nor any layer of a protected project (:func:`cacheable`). An entry is written
only if the file had not changed for a few seconds before it was hashed and did not change while
it was read (:func:`file_state`). Layers with an error are not written (their load raises).
"""

from __future__ import annotations

import functools
import pickle
import time
from pathlib import Path
from stat import S_ISREG

from coverage_app.core import runcache

KIND = "layers"
MAX_FILE_BYTES = 1_000_000_000  # larger GeoPackages are read each time (hashing them would cost ~1 s)


def cacheable(ref, project=None) -> bool:
    """True for a GeoPackage layer that is not sensitive, of a project that is not protected (its
    entries would name its folder in clear; see module docstring)."""
    from coverage_app.core.data.protect import is_sensitive

    path = Path(ref.path)
    if not runcache.enabled() or path.suffix.lower() != ".gpkg" or is_sensitive(ref) \
            or (project is not None and project.protected):
        return False
    try:
        stat = path.stat()
    except OSError:
        return False
    return S_ISREG(stat.st_mode) and stat.st_size <= MAX_FILE_BYTES \
        and not any(Path(f"{path}{side}").exists() for side in ("-wal", "-journal"))


def file_state(ref) -> tuple | None:
    """What says a layer's file is unchanged (size, times, inode), or None if it changed in the
    last few seconds: an entry is written only for a file that was settled before it was hashed
    and is unchanged after it was read (another program may be writing it)."""
    try:
        st = Path(ref.path).stat()
    except OSError:
        return None
    if time.time() - max(st.st_mtime, st.st_ctime) <= runcache.SETTLED_S:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


@functools.lru_cache(maxsize=1)
def _libraries() -> str:
    """The versions of the libraries a checked layer depends on (reading, types, CRS, Zawgyi model)."""
    from importlib import metadata

    import geopandas
    import numpy
    import pandas
    import pyogrio
    import pyproj
    import shapely

    try:
        zawgyi = metadata.version("myanmartools")
    except metadata.PackageNotFoundError:
        zawgyi = None
    return f"numpy {numpy.__version__}; pandas {pandas.__version__}; geopandas {geopandas.__version__}; " \
           f"shapely {shapely.__version__} GEOS {shapely.geos_version_string}; pyogrio {pyogrio.__version__} " \
           f"GDAL {pyogrio.__gdal_version_string__}; pyproj {pyproj.__version__}; myanmartools {zawgyi}"


def layer_key(ref) -> str:
    """The key of ``ref``'s layer as :func:`load_layer_ref` loads it (raises OSError if the file
    cannot be read)."""
    key = runcache.KeyBuilder(KIND).add(_libraries().encode(), runcache.file_digest(ref.path))
    key.add_json([str(ref.path), ref.role, ref.layer, ref.mapping or None, ref.name, ref.options.get("road_classes")])
    return key.hexdigest()


def load(key: str):
    """The :class:`Layer` kept under ``key``, or None."""
    entry = runcache.read(KIND, key)  # (a pickle: read only from a folder no one else can write)
    if entry is None:
        return None
    try:
        return pickle.loads(entry[1][0])
    except Exception:  # noqa: BLE001  (an entry its checks passed but pickle refuses: rebuilt)
        runcache.discard(KIND, key)
        return None


def store(key: str, layer) -> bool:
    """Keep ``layer`` under ``key``; False where it cannot be (the cache never fails a load)."""
    try:
        blob = pickle.dumps(layer, protocol=5)
    except Exception:  # noqa: BLE001  (a value pickle refuses: not kept)
        return False
    return runcache.write(KIND, key, {"name": layer.name}, [blob])
