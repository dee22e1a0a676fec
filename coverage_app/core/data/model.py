"""The loaded project: every layer read, validated and mapped; problems collected, not raised.

Data flows one way: files -> :class:`ProjectData` -> analysis -> views, exports, prints.
A layer that cannot be loaded is reported and left out; the project itself is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from coverage_app.core.errors import InputError, Problem, errors_of
from coverage_app.core.feedback import report
from coverage_app.core.data import layer_cache
from coverage_app.core.data.layers import Layer, convert_zawgyi, load_layer
from coverage_app.core.data.rasters import inspect_raster
from coverage_app.core.data.project import LayerRef, Project
from coverage_app.core.data.roles import ROLES


@dataclass
class ProjectData:
    project: Project
    layers: dict[str, Layer] = field(default_factory=dict)  # vector layers by LayerRef.name
    rasters: dict[str, LayerRef] = field(default_factory=dict)  # raster layers by name (read lazily)
    problems: list[Problem] = field(default_factory=list)

    def role(self, role: str, visible_only: bool = False) -> gpd.GeoDataFrame | None:
        """All loaded layers of ``role`` as one frame in EPSG:4326 (canonical fields + source layer)."""
        frames = []
        for ref in self.project.layers_of(role):
            if visible_only and not ref.visible:
                continue
            layer = self.layers.get(ref.name)
            if layer is None:
                continue
            frame = layer.data.to_crs(4326) if layer.data.crs and not layer.data.crs.equals("EPSG:4326") \
                else layer.data.set_crs(4326, allow_override=True)
            frames.append(frame.assign(source_layer=ref.name))
        if not frames:
            return None
        if len(frames) == 1:
            return frames[0]
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=4326)

    def raster(self, role: str) -> LayerRef | None:
        refs = [self.rasters[r.name] for r in self.project.layers_of(role) if r.name in self.rasters]
        enabled = [r for r in refs if r.options.get("enabled", True)]
        return enabled[0] if enabled else None

    def bounds_of_study_area(self):
        """Extent (EPSG:4326) of the townships, else the villages; None if neither is loaded."""
        for role in ("townships", "villages"):
            frame = self.role(role)
            if frame is not None and len(frame):
                return tuple(float(v) for v in frame.total_bounds)
        return None

    def bounds(self):
        """Extent of the study area in EPSG:4326: the townships, else every loaded layer."""
        frame = self.role("townships")
        if frame is None:
            frames = [l.data.to_crs(4326) for l in self.layers.values() if l.data.crs is not None]
            if not frames:
                return None
            frame = pd.concat(frames)
        return tuple(frame.total_bounds)


def load_layer_ref(ref: LayerRef, project: Project | None = None) -> Layer:
    frame = None
    if ref.options.get("embedded"):  # a protected project's copy, decrypted in memory only
        from coverage_app.core.data.protect import embedded_frame

        frame = embedded_frame(ref, project if project is not None else Project())
    key, state = _cache_key(ref, project) if frame is None else (None, None)
    layer = layer_cache.load(key) if key is not None else None
    if layer is None:
        layer = load_layer(ref.path, ref.role, layer=ref.layer, mapping=ref.mapping or None, name=ref.name,
                           road_classes=ref.options.get("road_classes"), frame=frame)
        if key is not None and layer_cache.unchanged(ref, state):
            layer_cache.store(key, layer)
    if layer.road_classes and "road_classes" not in ref.options:
        ref.options["road_classes"] = dict(layer.road_classes)  # saved with the project, editable there
    if ref.convert_zawgyi:
        layer.data, _ = convert_zawgyi(layer.data)
        layer.problems = [p for p in layer.problems if p.fix != "zawgyi"]
    elif ref.options.get("zawgyi") == "keep":  # the user reviewed the flagged text and kept it as is
        layer.problems = [p for p in layer.problems if p.fix != "zawgyi"]
    return layer


def _cache_key(ref: LayerRef, project: Project | None) -> tuple[str | None, tuple | None]:
    """The layer cache's key of ``ref`` and its file's state (:func:`.layer_cache.layer_key`),
    (None, None) where it is not cached."""
    try:
        return layer_cache.layer_key(ref) if layer_cache.cacheable(ref, project) else (None, None)
    except Exception:  # noqa: BLE001  (unreadable now, say: the load below says why; the cache never fails a load)
        return None, None


def load_project_data(project: Project, feedback=None, roles=None) -> ProjectData:
    """Load every layer of ``project`` (with ``roles``, e.g. :data:`~coverage_app.core.data.roles.ANALYSIS_ROLES`,
    only the layers of those roles, and no raster switched off (option ``enabled``): an analysis does
    not read the display-only reference layers nor a land cover it does not use).
    Failures become problems; nothing raises for bad data."""
    data = ProjectData(project)
    data.problems += [Problem("warning", note, file=str(project.path) if project.path else None)
                      for note in project.load_notes]
    refs = [ref for ref in project.layers if roles is None or ref.role not in ROLES
            or (ref.role in roles and (not ROLES[ref.role].raster or ref.options.get("enabled", True)))]
    n = max(len(refs), 1)
    raster_info = {}  # name -> RasterInfo of the rasters kept (their overlap is checked below)
    for i, ref in enumerate(refs):
        report(feedback, i / n, f"Loading {ref.name}")
        if ref.role not in ROLES:
            data.problems.append(Problem("error", f"unknown role '{ref.role}'", file=ref.path, layer=ref.layer))
            continue
        if ROLES[ref.role].raster:
            info, problems = inspect_raster(ref.path, written=ref.written, role=ref.role)
            data.problems += problems
            if info is not None and not errors_of(problems):
                data.rasters[ref.name] = ref
                raster_info[ref.name] = info
            continue
        refused = _file_problems(ref)
        if refused:
            data.problems += refused
            continue
        try:
            layer = load_layer_ref(ref, project)
        except InputError as err:
            data.problems += err.problems
            continue
        data.layers[ref.name] = layer
        data.problems += layer.problems
    study = data.bounds_of_study_area() if data.rasters else None
    if study is not None:
        from coverage_app.core.data.rasters import raster_overlap_problems

        for name, ref in data.rasters.items():  # the header read above (a second read cost 10-30 ms)
            info = raster_info[name]
            if info.crs:
                data.problems += raster_overlap_problems(info, study, ref.written or ref.path, role=ref.role)
    report(feedback, 1.0, "Layers loaded")
    return data


def describe(data: ProjectData) -> list[dict]:
    """One summary row per layer: name, role, count, CRS, extent (EPSG:4326)."""
    rows = []
    for ref in data.project.layers:
        row = {"name": ref.name, "role": ref.role, "file": Path(ref.path).name, "layer": ref.layer}
        if ref.name in data.layers:
            gdf = data.layers[ref.name].data
            row.update(count=len(gdf), crs=gdf.crs.to_string() if gdf.crs else None,
                       extent=tuple(round(float(v), 4) for v in gdf.to_crs(4326).total_bounds))
        elif ref.name in data.rasters:
            info, _ = inspect_raster(ref.path)
            from rasterio.warp import transform_bounds

            row.update(count=f"{info.shape[1]}x{info.shape[0]} cells", crs=info.crs,
                       extent=tuple(round(float(v), 4) for v in transform_bounds(info.crs, "EPSG:4326", *info.bounds)))
        else:
            row.update(count=None, crs=None, extent=None, status="not loaded")
        rows.append(row)
    return rows


def _file_problems(ref: LayerRef) -> list[Problem]:
    """A layer file that is missing (shown as written in the project), remote or not a regular file."""
    from coverage_app.core.data.files import check_input_file

    try:
        check_input_file(ref.path, written=ref.written)
    except InputError as err:
        return err.problems
    return []
