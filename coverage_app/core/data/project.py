"""Project files: versioned JSON with paths relative to the file. Never pickle.

A project lists its layers (file, layer name, role, field mapping, display state), the
analysis parameters, the land-cover speed table and the scenarios. Saving is atomic; a
damaged file, or one written by a newer version, raises :class:`ProjectError` and is never
overwritten by the app.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from coverage_app.core.atomic import write_text_atomic
from coverage_app.core.params import DEFAULT_LANDCOVER_SPEEDS_KMH, AnalysisParams

PROJECT_FORMAT = "coverage-app-project"
PROJECT_VERSION = 1
PROJECT_SUFFIX = ".covproj"
PROTECTED_SUFFIX = ".covprojx"


class ProjectError(Exception):
    """A project file that cannot be opened (damaged, not a project, or from a newer version)."""


@dataclass
class LayerRef:
    """A layer of the project. ``path`` is absolute in memory, relative to the project on disk."""

    name: str
    path: str
    role: str
    layer: str | None = None
    mapping: dict = field(default_factory=dict)
    visible: bool = True
    style: dict = field(default_factory=dict)
    convert_zawgyi: bool = False
    options: dict = field(default_factory=dict)  # e.g. landcover: {"classes": {code: name}}

    def to_dict(self, base: Path | None) -> dict:
        path = Path(self.path)
        if base is not None:
            try:
                path = Path(os.path.relpath(path, base))
            except ValueError:  # another drive on Windows
                pass
        out = {"name": self.name, "path": path.as_posix(), "role": self.role, "layer": self.layer,
               "mapping": self.mapping, "visible": self.visible, "style": self.style}
        if self.convert_zawgyi:
            out["convert_zawgyi"] = True
        if self.options:
            out["options"] = self.options
        return out

    @classmethod
    def from_dict(cls, data: dict, base: Path | None) -> "LayerRef":
        path = Path(data["path"])
        if base is not None and not path.is_absolute():
            path = (base / path).resolve()
        return cls(name=data.get("name") or path.stem, path=str(path), role=data["role"],
                   layer=data.get("layer"), mapping=dict(data.get("mapping") or {}),
                   visible=bool(data.get("visible", True)), style=dict(data.get("style") or {}),
                   convert_zawgyi=bool(data.get("convert_zawgyi", False)),
                   options=dict(data.get("options") or {}))


@dataclass
class Project:
    name: str = "Untitled"
    layers: list[LayerRef] = field(default_factory=list)
    params: AnalysisParams = field(default_factory=AnalysisParams)
    landcover_speeds_kmh: dict = field(default_factory=lambda: dict(DEFAULT_LANDCOVER_SPEEDS_KMH))
    scenarios: list[dict] = field(default_factory=list)
    active_scenario: str | None = None
    credits: list[str] = field(default_factory=list)
    path: Path | None = None
    # protected projects (core/data/protect.py): never written in clear, never compared
    embedded: dict = field(default_factory=dict, repr=False, compare=False)  # member -> GeoPackage bytes
    protection: object = field(default=None, repr=False, compare=False)     # protect.Key
    autosave_meta: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def protected(self) -> bool:
        return self.protection is not None

    def layers_of(self, role: str) -> list[LayerRef]:
        return [ref for ref in self.layers if ref.role == role]

    def scenario(self, name: str | None) -> dict | None:
        return next((s for s in self.scenarios if s.get("name") == name), None)

    def to_dict(self, base: Path | None = None, allow_embedded: bool = False) -> dict:
        if not allow_embedded and any(ref.options.get("embedded") for ref in self.layers):
            raise ProjectError("this project holds protected layer copies: save it protected "
                               f"(File > Save protected…, a {PROTECTED_SUFFIX} file), not as a plain project")
        return {
            "format": PROJECT_FORMAT,
            "version": PROJECT_VERSION,
            "name": self.name,
            "layers": [ref.to_dict(base) for ref in self.layers],
            "analysis": self.params.to_dict(),
            "landcover_speeds_kmh": self.landcover_speeds_kmh,
            "scenarios": self.scenarios,
            "active_scenario": self.active_scenario,
            "credits": self.credits,
        }

    @classmethod
    def from_dict(cls, data: dict, base: Path | None = None, path: Path | None = None) -> "Project":
        return cls(
            name=data.get("name", "Untitled"),
            layers=[LayerRef.from_dict(d, base) for d in data.get("layers", [])],
            params=AnalysisParams.from_dict(data.get("analysis", {})),
            landcover_speeds_kmh=dict(data.get("landcover_speeds_kmh") or DEFAULT_LANDCOVER_SPEEDS_KMH),
            scenarios=list(data.get("scenarios") or []),
            active_scenario=data.get("active_scenario"),
            credits=list(data.get("credits") or []),
            path=path,
        )


def load_project(path) -> Project:
    path = Path(path)
    from coverage_app.core.data import protect

    if protect.is_protected(path):
        raise protect.NeedsPassphrase(f"{path}: this project is protected: give its passphrase (the app asks; "
                                      "the command line reads it from --passphrase-env VAR)")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: project file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot be read ({exc}); it may be damaged") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{path}: the project file is damaged (not valid JSON at line {exc.lineno}); "
                           "it was left untouched: restore a backup or the autosaved copy") from None
    if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
        raise ProjectError(f"{path}: not a coverage-app project file")
    version = data.get("version")
    if not isinstance(version, int) or version > PROJECT_VERSION:
        raise ProjectError(f"{path}: written by a newer version of the app (project format {version}, "
                           f"this app reads up to {PROJECT_VERSION}); update the app to open it. "
                           "The file was not changed.")
    try:
        return Project.from_dict(data, base=path.parent.resolve(), path=path)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProjectError(f"{path}: the project file is damaged ({exc}); it was left untouched") from None


def save_project(project: Project, path=None) -> Path:
    """Save atomically (temp file + rename) to ``path`` (save as) or the project's own path."""
    target = Path(path or project.path or "")
    if not str(target) or target == Path("."):
        raise ProjectError("the project has no file yet: choose where to save it")
    if project.protected:
        raise ProjectError(f"{target}: this project is protected; save it protected ({PROTECTED_SUFFIX}) so its "
                           "sensitive layers are not written in clear")
    text = json.dumps(project.to_dict(base=target.parent.resolve()), ensure_ascii=False, indent=2)
    try:
        write_text_atomic(target, text + "\n")
    except OSError as exc:
        raise ProjectError(f"{target}: could not be saved ({exc.strerror or exc}); the previous file is "
                           "unchanged") from None
    project.path = target
    return target


def bundled_project_path() -> Path:
    """The bundled Sagaing project (``layers/`` beside the package, or inside a frozen bundle)."""
    candidates = []
    env = os.environ.get("COVERAGE_APP_LAYERS")
    if env:
        candidates.append(Path(env))
    package_dir = Path(__file__).resolve().parents[2]  # coverage_app/
    candidates += [package_dir.parent / "layers", package_dir / "layers"]
    import sys

    if getattr(sys, "_MEIPASS", None):
        candidates.insert(0, Path(sys._MEIPASS) / "layers")
    for folder in candidates:
        project = folder / f"sagaing{PROJECT_SUFFIX}"
        if project.exists():
            return project
    raise ProjectError("the bundled Sagaing project was not found (expected layers/sagaing.covproj "
                       "next to the coverage_app package)")
