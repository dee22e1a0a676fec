"""Project files: versioned JSON with paths relative to the file. Never pickle.

A project lists its layers (file, layer name, role, field mapping, display state), the
analysis parameters, the land-cover speed table and the scenarios. Saving is atomic; a
damaged file, or one written by a newer version, raises :class:`ProjectError` and is never
overwritten by the app.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

from coverage_app.core.atomic import write_text_atomic
from coverage_app.core.params import DEFAULT_LANDCOVER_SPEEDS_KMH, AnalysisParams, analysis_problems

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
    written: str | None = field(default=None, compare=False)  # the path as written in the project file

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
    def from_dict(cls, data: dict, base: Path | None, notes: list | None = None) -> "LayerRef":
        """``notes`` collects warnings (e.g. a Windows path found beside the project instead)."""
        written = str(data["path"])
        path = _resolve_layer_path(written, base, notes)
        return cls(name=data.get("name") or PureWindowsPath(written).stem, path=str(path), role=data["role"],
                   layer=data.get("layer"), mapping=dict(data.get("mapping") or {}),
                   visible=bool(data.get("visible", True)), style=dict(data.get("style") or {}),
                   convert_zawgyi=bool(data.get("convert_zawgyi", False)),
                   options=dict(data.get("options") or {}), written=written)


def _resolve_layer_path(written: str, base: Path | None, notes: list | None) -> Path:
    """The file a project path names. A path from another machine (e.g. ``C:\\data\\x.gpkg``, or an
    absolute path that does not exist here) falls back to the same file name beside the project,
    with a warning in ``notes``."""
    from coverage_app.core.netguard import remote_reason

    if remote_reason(written):
        return Path(written)  # refused with a clear message when the layer is read
    windows = os.name != "nt" and bool(_WINDOWS_PATH.search(written))
    name = PureWindowsPath(written).name if windows else Path(written).name
    if windows:
        win = PureWindowsPath(written)
        path = None if (win.is_absolute() or win.drive or win.root) else \
            (base / win.as_posix()).resolve() if base is not None else Path(win.as_posix())
    else:
        path = Path(written)
        if base is not None and not path.is_absolute():
            path = (base / path).resolve()
    if path is not None and path.exists():
        return path
    if base is not None and name:
        beside = base / name
        if beside.exists():
            if notes is not None:
                notes.append(f"layer file {written} was not found; using {beside.name} beside the project "
                             "instead (save the project to keep this)")
            return beside
    return path if path is not None else Path(written)


@dataclass
class Project:
    name: str = "Untitled"
    layers: list[LayerRef] = field(default_factory=list)
    load_notes: list[str] = field(default_factory=list, compare=False)  # warnings found while opening
    params: AnalysisParams = field(default_factory=AnalysisParams)
    landcover_speeds_kmh: dict = field(default_factory=lambda: dict(DEFAULT_LANDCOVER_SPEEDS_KMH))
    options: dict = field(default_factory=dict)  # e.g. {"population_total": "census2014" | "kontur2023"}
    scenarios: list[dict] = field(default_factory=list)
    active_scenario: str | None = None
    credits: list[str] = field(default_factory=list)
    status_ledger: list[dict] = field(default_factory=list)  # dated status reports (core/data/status.py)
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
            "options": self.options,
            "scenarios": self.scenarios,
            "active_scenario": self.active_scenario,
            "credits": self.credits,
            "status_ledger": self.status_ledger,
        }

    @classmethod
    def from_dict(cls, data: dict, base: Path | None = None, path: Path | None = None) -> "Project":
        """Build a project from its JSON; raises ValueError naming the field of any bad value."""
        problems = check_project_dict(data)
        if problems:
            raise ValueError("; ".join(problems))
        notes: list[str] = []
        return cls(
            name=data.get("name", "Untitled"),
            layers=_unique_names([LayerRef.from_dict(d, base, notes) for d in data.get("layers", [])], notes),
            params=AnalysisParams.from_dict(data.get("analysis", {})),
            landcover_speeds_kmh=dict(data.get("landcover_speeds_kmh") or DEFAULT_LANDCOVER_SPEEDS_KMH),
            options=dict(data.get("options") or {}),
            scenarios=list(data.get("scenarios") or []),
            active_scenario=data.get("active_scenario"),
            credits=list(data.get("credits") or []),
            status_ledger=[dict(e) for e in data.get("status_ledger") or []],
            path=path,
            load_notes=notes,
        )


def _unique_names(refs: list[LayerRef], notes: list[str]) -> list[LayerRef]:
    """Layers are kept by name: a second layer of the same name (two layers of one GeoPackage
    without names both take its file name) replaced the first one, which was then silently left
    off the map. It is renamed "name (2)", with a note."""
    seen: set[str] = set()
    for ref in refs:
        if ref.name in seen:
            i = 2
            while f"{ref.name} ({i})" in seen:
                i += 1
            new = f"{ref.name} ({i})"
            notes.append(f"two layers are named {ref.name!r}; the second ({Path(ref.path).name}"
                         f"{f', layer {ref.layer}' if ref.layer else ''}) is shown as {new!r}")
            ref.name = new
        seen.add(ref.name)
    return refs


MAX_JSON_DEPTH = 32  # a real project nests 6 levels; deeper is damage or an attack
_WINDOWS_PATH = re.compile(r"^([A-Za-z]:[\\/]|\\\\)|\\")


def _depth(value, limit: int) -> int:
    """Nesting depth of JSON ``value``, stopping once past ``limit``."""
    stack, deepest = [(value, 1)], 0
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack += [(v, d + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, d + 1) for v in item]
    return deepest


def _is_date(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.date.fromisoformat(value[:10])
        return len(value) >= 10
    except ValueError:
        return False


def check_project_dict(data) -> list[str]:
    """Type and value checks of a project's JSON; one message per bad value, naming its field."""
    out = []
    if not isinstance(data, dict):
        return ["the project is not a JSON object"]
    if _depth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        return [f"the project is nested more than {MAX_JSON_DEPTH} levels deep (damaged or not a project)"]

    def want(value, types, where, what):
        if value is not None and not isinstance(value, types):
            out.append(f"'{where}' must be {what}, not {type(value).__name__} {str(value)[:40]!r}")
            return False
        return value is not None

    want(data.get("name"), str, "name", "text")
    if want(data.get("layers"), list, "layers", "a list"):
        for i, ref in enumerate(data["layers"]):
            where = f"layers[{i}]"
            if not isinstance(ref, dict):
                out.append(f"'{where}' must be an object with path and role, not {type(ref).__name__}")
                continue
            for key in ("path", "role"):
                if not isinstance(ref.get(key), str) or not ref.get(key).strip():
                    out.append(f"'{where}.{key}' must be text" + ("" if key in ref else " (missing)"))
            for key in ("name", "layer"):
                want(ref.get(key), str, f"{where}.{key}", "text")
            for key in ("mapping", "style", "options"):
                want(ref.get(key), dict, f"{where}.{key}", "an object")
            if isinstance(ref.get("mapping"), dict):
                for k, v in ref["mapping"].items():
                    want(v, str, f"{where}.mapping.{k}", "a field name (text)")
            for key in ("visible", "convert_zawgyi"):
                want(ref.get(key), bool, f"{where}.{key}", "true or false")
            if isinstance(ref.get("options"), dict):
                out += _layer_option_problems(ref["options"], f"{where}.options", want)
            if isinstance(ref.get("style"), dict):
                out += _style_problems(ref["style"], f"{where}.style", want)
    if want(data.get("analysis"), dict, "analysis", "an object"):
        out += [f"analysis: {p}" for p in analysis_problems(data["analysis"])]
    if want(data.get("landcover_speeds_kmh"), dict, "landcover_speeds_kmh", "an object"):
        for k, v in data["landcover_speeds_kmh"].items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                out.append(f"'landcover_speeds_kmh.{k}' must be a speed of 0 km/h or more, not {v!r}")
    if want(data.get("scenarios"), list, "scenarios", "a list"):
        for i, sc in enumerate(data["scenarios"]):
            where = f"scenarios[{i}]"
            if not isinstance(sc, dict):
                out.append(f"'{where}' must be an object, not {type(sc).__name__}")
                continue
            want(sc.get("name"), str, f"{where}.name", "text")
            if sc.get("as_of") is not None and not _is_date(sc.get("as_of")):
                out.append(f"'{where}.as_of' must be a date like 2024-05-31, not {sc.get('as_of')!r}")
            if want(sc.get("edits"), list, f"{where}.edits", "a list"):
                for j, edit in enumerate(sc["edits"]):
                    if not isinstance(edit, dict):
                        out.append(f"'{where}.edits[{j}]' must be an object, not {type(edit).__name__}")
                    elif edit.get("date") is not None and not _is_date(edit.get("date")):
                        out.append(f"'{where}.edits[{j}].date' must be a date like 2024-05-31, not "
                                   f"{edit.get('date')!r}")
    want(data.get("active_scenario"), str, "active_scenario", "text")
    want(data.get("options"), dict, "options", "an object")
    if want(data.get("status_ledger"), list, "status_ledger", "a list"):
        out += _ledger_problems(data["status_ledger"])
    if want(data.get("credits"), list, "credits", "a list"):
        for i, c in enumerate(data["credits"]):
            want(c, str, f"credits[{i}]", "text")
    return out


def _layer_option_problems(options: dict, where: str, want) -> list[str]:
    """A layer's options: the land-cover legend ``classes`` (whole-number code -> class name, each
    code once), ``enabled`` (true/false) and the ``road_classes`` table (value -> road class)."""
    out = []
    want(options.get("enabled"), bool, f"{where}.enabled", "true or false")
    if want(options.get("road_classes"), dict, f"{where}.road_classes", "an object (value -> road class)"):
        out += [f"'{where}.road_classes.{k}' must be a road class (text), not {v!r}"
                for k, v in options["road_classes"].items() if v is not None and not isinstance(v, str)]
    if not want(options.get("classes"), dict, f"{where}.classes", "an object (class code -> class name)"):
        return out
    seen: dict[int, str] = {}
    for code, name in options["classes"].items():
        try:
            number = int(str(code).strip())
        except ValueError:
            out.append(f"'{where}.classes' codes must be whole numbers such as \"3\" (the raster's cell values), "
                       f"not {code!r}")
            continue
        if number in seen:
            out.append(f"'{where}.classes' lists the code {number} twice ({seen[number]!r} and {code!r}); "
                       "keep one")
        seen[number] = str(code)
        want(name, str, f"{where}.classes.{code}", "a class name (text)")
    return out


#: a layer's look (LayerRef.style): the number keys and their limits (the Layer properties
#: dialog stays well inside them), the text keys (colours, field names, marker) and ``no_fill``
STYLE_NUMBERS = {"stroke_width": (0, 50), "size": (0, 200), "size_scale": (0, 50), "opacity": (0, 1),
                 "label_size": (1, 72), "label_max": (0, 1_000_000)}
STYLE_TEXTS = ("fill", "stroke", "label_colour", "marker", "field", "label_field")
STYLE_MODES = ("auto", "single", "categorised", "graduated")


def _style_problems(style: dict, where: str, want) -> list[str]:
    """A layer's style: numbers within their limits, colours and field names as text (or null),
    a known mode. A bad value drew nothing: the map's paint failed on it and the app crashed."""
    out = []
    for key, (lo, hi) in STYLE_NUMBERS.items():
        value = style.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or not lo <= value <= hi):
            out.append(f"'{where}.{key}' must be a number from {lo:g} to {hi:g}, not {value!r}")
    for key in STYLE_TEXTS:
        want(style.get(key), str, f"{where}.{key}", "text")
    want(style.get("no_fill"), bool, f"{where}.no_fill", "true or false")
    if style.get("mode") is not None and style["mode"] not in STYLE_MODES:
        out.append(f"'{where}.mode' must be one of {', '.join(STYLE_MODES)}, not {style['mode']!r}")
    return out


def _ledger_problems(ledger: list) -> list[str]:
    """Status ledger entries: objects with a facility id, a known status and a date."""
    from coverage_app.core.data.roles import FACILITY_STATUSES

    out = []
    for i, entry in enumerate(ledger):
        where = f"status_ledger[{i}]"
        if not isinstance(entry, dict):
            out.append(f"'{where}' must be an object with fac_id, status and date, not {type(entry).__name__}")
        elif not isinstance(entry.get("fac_id"), str) or not entry["fac_id"].strip():
            out.append(f"'{where}.fac_id' must be a facility id (text), not {entry.get('fac_id')!r}")
        elif entry.get("status") not in FACILITY_STATUSES:
            out.append(f"'{where}.status' must be one of {', '.join(FACILITY_STATUSES)}, not {entry.get('status')!r}")
        elif not _is_date(entry.get("date")) or len(entry["date"].strip()) != 10:  # YYYY-MM-DD, as imported
            out.append(f"'{where}.date' must be a date like 2024-05-31, not {entry.get('date')!r}")
    return out


def load_project(path) -> Project:
    """Open a project file; raises ProjectError (file left untouched) with a message naming the problem.

    A UTF-8 byte-order mark (as Windows Notepad writes) is accepted. Every value is checked
    (types, dates, parameter limits) and a bad one is named by its field, e.g. ``analysis.cell_size_m``.
    """
    path = Path(path)
    from coverage_app.core.data import protect

    if protect.is_protected(path):
        raise protect.NeedsPassphrase(f"{path}: this project is protected: give its passphrase (the app asks; "
                                      "the command line reads it from --passphrase-env VAR)")
    try:
        text = _read_project_text(path)  # a BOM is accepted; remote paths and FIFOs are refused
    except FileNotFoundError:
        raise ProjectError(f"{path}: project file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot be read ({exc}); it may be damaged") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProjectError(f"{path}: the project file is damaged (not valid JSON at line {exc.lineno}); "
                           "it was left untouched: restore a backup or the autosaved copy") from None
    except RecursionError:
        raise ProjectError(f"{path}: the project file is damaged (JSON nested too deeply); it was left "
                           "untouched") from None
    if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
        raise ProjectError(f"{path}: not a coverage-app project file")
    version = data.get("version")
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version.strip())  # "1" written by hand or another tool: same format
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ProjectError(f"{path}: the project's 'version' must be a whole number such as "
                           f"{PROJECT_VERSION}, not {data.get('version')!r}; the file was not changed")
    if version > PROJECT_VERSION:
        raise ProjectError(f"{path}: written by a newer version of the app (project format {version}, "
                           f"this app reads up to {PROJECT_VERSION}); update the app to open it. "
                           "The file was not changed.")
    try:
        return Project.from_dict(data, base=path.parent.resolve(), path=path)
    except ValueError as exc:
        raise ProjectError(f"{path}: a value in the project cannot be used: {exc}. The file was left "
                           "untouched: correct the value (or open the project and set it again)") from None
    except (KeyError, TypeError) as exc:
        raise ProjectError(f"{path}: the project file is damaged ({exc}); it was left untouched") from None


def _read_project_text(path: Path) -> str:
    from coverage_app.core.data.files import check_input_file
    from coverage_app.core.errors import InputError

    try:
        check_input_file(path)
    except InputError as err:
        message = err.problems[0].message
        if message.startswith("file not found"):
            raise FileNotFoundError(str(path)) from None
        raise ProjectError(f"{path}: {message}") from None
    return path.read_text(encoding="utf-8-sig")


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
