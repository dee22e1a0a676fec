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
it was read (:func:`layer_key`). Layers with an error are not written (their load raises).
"""

from __future__ import annotations

import pickle
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


LIBRARIES = ("numpy", "pandas", "geopandas", "shapely", "pyogrio", "pyproj", "myanmartools")  # read, types, Zawgyi


def layer_key(ref) -> tuple[str, tuple | None]:
    """The key of ``ref``'s layer as :func:`load_layer_ref` loads it, and the file's state taken
    before it was hashed (:func:`~coverage_app.core.runcache.settled_state`; None if it changed in
    the last seconds). An entry is written only for a state that is not None and the same after
    the layer was read (:func:`unchanged`): another program may be writing the file. Raises
    OSError if the file cannot be read."""
    state = runcache.settled_state(ref.path)
    key = runcache.KeyBuilder(KIND).add(runcache.library_versions(*LIBRARIES).encode(),
                                        runcache.file_digest(ref.path))
    key.add_json([str(ref.path), ref.role, ref.layer, ref.mapping or None, ref.name, ref.options.get("road_classes")])
    return key.hexdigest(), state


def unchanged(ref, state: tuple | None) -> bool:
    """True if ``ref``'s file is still in the settled ``state`` taken by :func:`layer_key`."""
    try:
        return state is not None and runcache.settled_state(ref.path) == state
    except OSError:
        return False


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
