"""The bundled project's loaded layers and its friction grid stay exactly what they were.

Reading and friction building are tuned for speed (issue 14); these tests pin their output to
digests computed from the code before that work: every loaded layer's frame (column order,
dtypes, every value with its Python type, geometries as WKB, index, CRS, attrs), the problems
(severity, message, file, rows) and every friction array at 250 m and 1 km, byte for byte.

If a digest changes, something a user gets changed: find out what (print ``fingerprint`` of
the old and new code side by side) before updating it. A new GDAL, GEOS, pyproj or pandas
can change them too (a different rasterisation or reprojection): then check the difference
and update the digest in the same commit as the dependency.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import shapely

from coverage_app.core.analysis.pipeline import analysis_grid, build_project_friction
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import load_project
from coverage_app.core.travel import friction as friction_module

# Computed from the code of e39a8c9 (before the issue-14 reading and friction work).
LAYER_DIGESTS = {
    "Conflict events (UCDP 2021-23)": "a4b4fbdfd082faeee8a50af8",
    "Villages": "e40fa92f075e9c73d38e0b62",
    "Health facilities": "ebe915534ce371bb02ecbda0",
    "Bridges": "5f76348344c0ae6927ab338c",
    "Roads": "7c63a74f8cdece8e9c1a3f90",
    "Rivers": "4bf86a4e0c652081090c8f41",
    "Water bodies": "dfad92c2e311bfa7f9274f3c",
    "Conflict zones": "0574faf287962e74f557d25d",
    "Towns": "53872189ebe0d4b7ff9c6918",
    "Townships": "b216e953787c622258f58096",
}
PROBLEMS_DIGEST = "e3b0c44298fc1c149afbf4c8"  # the bundled project loads without problems
FRICTION_DIGESTS = {250.0: "64f4401fbf4b96e460a789bf", 1000.0: "253ba1f8774da00d05de51a1"}
FRICTION_ARRAYS = ("cost_s_per_m", "study_mask", "road_mask", "elevation_m", "tobler_mask", "zone_label",
                   "entry_delay_s", "barrier_cause")


def _digest(parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else repr(p).encode())
        h.update(b"\x00")
    return h.hexdigest()[:24]


def frame_parts(df) -> list:
    """What a frame holds, as comparable pieces: columns, dtypes, index, CRS, attrs, every value
    with its type (geometries as WKB)."""
    parts = [list(map(str, df.columns)), [str(t) for t in df.dtypes], df.index.tolist(),
             df.crs.to_wkt() if df.crs is not None else None, df.geometry.name,
             sorted((k, repr(v)) for k, v in df.attrs.items())]
    for c in df.columns:
        if c == df.geometry.name:
            parts.append(b"".join(shapely.to_wkb(df[c].values)))
        else:
            parts.append([(type(v).__name__, repr(v)) for v in df[c].tolist()])
    return parts


def problem_parts(problems, root: str) -> list:
    return [repr(p).replace(root, "<root>") for p in problems]


def fingerprint(project_path) -> dict:
    """Digests of a loaded project: one per layer, one of all problems, one per friction cell size."""
    project = load_project(project_path)
    root = str(project_path.parent)
    data = load_project_data(project)
    out = {"problems": _digest(problem_parts(data.problems, root))}
    for name, layer in data.layers.items():
        out[name] = _digest([layer.role, layer.layer, sorted(layer.mapping.items()),
                             sorted((layer.road_classes or {}).items()), problem_parts(layer.problems, root)]
                            + frame_parts(layer.data))
    for cell in FRICTION_DIGESTS:
        friction_module.clear_study_cache()  # built, not taken from an earlier run's cache
        params = project.params.replace(cell_size_m=cell)
        grid = analysis_grid(data, params)
        fr = build_project_friction(data, params, grid)
        parts = [repr(grid), fr.zones_used, problem_parts(fr.problems, root)]
        for k in FRICTION_ARRAYS:
            a = getattr(fr, k)
            parts.append(None if a is None else (str(a.dtype), a.shape, np.ascontiguousarray(a).tobytes()))
        out[f"friction {cell:g} m"] = _digest(parts)
    return out


@pytest.fixture(scope="module")
def bundled_fingerprint(bundled_project_path):
    return fingerprint(bundled_project_path)


@pytest.mark.parametrize("name", sorted(LAYER_DIGESTS))
def test_loaded_layer_is_unchanged(bundled_fingerprint, name):
    assert bundled_fingerprint[name] == LAYER_DIGESTS[name]


def test_load_problems_are_unchanged(bundled_fingerprint):
    assert bundled_fingerprint["problems"] == PROBLEMS_DIGEST


@pytest.mark.parametrize("cell", sorted(FRICTION_DIGESTS))
def test_friction_grid_is_bit_identical(bundled_fingerprint, cell):
    assert bundled_fingerprint[f"friction {cell:g} m"] == FRICTION_DIGESTS[cell]


def test_fingerprint_sees_a_changed_cell_and_value(bundled_project_path, monkeypatch):
    """The digests can fail: one friction cell or one village name changed changes them."""
    before = fingerprint(bundled_project_path)
    real = friction_module._cost_and_cause

    def nudged(speed, *args):
        real(speed, *args)
        i = np.flatnonzero(np.isfinite(speed))[0]  # speed is now the cost (s/m); one passable cell
        speed.flat[i] = np.nextafter(speed.flat[i], np.float32(np.inf))

    monkeypatch.setattr(friction_module, "_cost_and_cause", nudged)
    from coverage_app.core.data import layers as layers_module

    real_check = layers_module._check_values

    def renamed(gdf, *args, **kwargs):
        problems = real_check(gdf, *args, **kwargs)
        if "name_en" in gdf and len(gdf) > 5000:
            gdf.loc[gdf.index[0], "name_en"] = "x"
        return problems

    monkeypatch.setattr(layers_module, "_check_values", renamed)
    after = fingerprint(bundled_project_path)
    assert after["friction 250 m"] != before["friction 250 m"]
    assert after["friction 1000 m"] != before["friction 1000 m"]
    assert after["Villages"] != before["Villages"]
    assert after["Townships"] == before["Townships"]
