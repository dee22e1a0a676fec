"""Layer roles and their canonical fields (DESIGN.md section 2).

A user maps a file's own field names onto a role's canonical fields once; the mapping is
kept in the project. ``guess_mapping`` proposes one from common names (MIMU, UCDP, OSM).
"""

from __future__ import annotations

from dataclasses import dataclass, field

FACILITY_STATUSES = ("functioning", "partial", "closed", "destroyed", "unknown")
COUNTING_STATUSES = ("functioning", "partial")
FACILITY_LEVELS_SECONDARY = ("general hospital", "township hospital")
ZONE_KINDS = ("no_go", "restricted", "risk")
ROAD_CLASSES = ("main", "secondary", "tertiary", "track", "path")
CROSSING_KINDS = ("bridge", "ferry")

# OpenStreetMap ``highway`` values -> road classes (the default; a project may edit it per layer in
# LayerRef.options["road_classes"]). Values not listed (construction, proposed, platform, ...) are
# not travelled and are left out with a warning.
OSM_HIGHWAY_CLASSES = {
    "motorway": "main", "motorway_link": "main", "trunk": "main", "trunk_link": "main",
    "primary": "main", "primary_link": "main",
    "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "tertiary", "tertiary_link": "tertiary", "unclassified": "tertiary",
    "residential": "tertiary", "living_street": "tertiary", "service": "tertiary", "road": "tertiary",
    "track": "track",
    "path": "path", "footway": "path", "bridleway": "path", "steps": "path", "pedestrian": "path",
    "cycleway": "path",
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # "str", "float", "int", "date", "bool"
    required: bool = False
    aliases: tuple[str, ...] = ()
    unique: bool = False
    description: str = ""


@dataclass(frozen=True)
class RoleSpec:
    name: str
    geometry: tuple[str, ...]  # allowed shapely base types: "Point", "LineString", "Polygon"
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)
    raster: bool = False
    title: str = ""

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]


POINT, LINE, POLYGON = ("Point",), ("LineString",), ("Polygon",)

ROLES: dict[str, RoleSpec] = {
    r.name: r
    for r in [
        RoleSpec("townships", POLYGON, (
            FieldSpec("pcode", "str", True, ("ts_pcode", "tsp_pcode", "pcode_ts", "adm3_pcode"), unique=True),
            FieldSpec("name_en", "str", True, ("ts", "township", "tsp_name", "name", "adm3_en", "ts_eng")),
            FieldSpec("name_my", "str", False, ("ts_mmr", "tsp_mmr", "name_mm", "adm3_my", "township_mmr")),
            FieldSpec("population", "float", False, ("cen2014_pop_t", "pop", "population", "total_pop"),
                      description="people (2014 census for the bundled data)"),
            FieldSpec("pop_kontur2023", "float", False, ("total_population", "kontur_pop"),
                      description="people, Kontur Population 2023 township total (option population_total)"),
        ), title="Townships"),
        RoleSpec("facilities", POINT, (
            FieldSpec("fac_id", "str", True, ("id", "facility_id", "hf_id", "code"), unique=True),
            FieldSpec("name", "str", True, ("nmhsp_eng", "facility_name", "name_en", "hf_name")),
            FieldSpec("level", "str", True, ("lvlhsp_eng", "type", "facility_type", "category")),
            FieldSpec("provides_primary", "bool", False, ("primary",)),
            FieldSpec("provides_secondary", "bool", False, ("secondary",)),
            FieldSpec("status", "str", False, ("functioning", "state")),
            FieldSpec("status_date", "date", False, ("date", "as_of", "updated")),
            FieldSpec("operator", "str", False, ("owner", "managed_by")),
            FieldSpec("capacity", "float", False, ("capacity_people", "cap"), description="people served"),
            FieldSpec("beds", "float", False, ("n_beds", "bed_count", "beds_total"),
                      description="inpatient beds; capacity = beds x people per bed where no capacity is given"),
        ), title="Health facilities"),
        RoleSpec("conflict_zones", POLYGON, (
            FieldSpec("zone_id", "str", True, ("id", "zone"), unique=True),
            FieldSpec("kind", "str", True, ("type", "zone_kind")),
            FieldSpec("speed_factor", "float", True, ("factor", "speed")),
            FieldSpec("delay_minutes", "float", False, ("delay", "delay_min"), description="minutes"),
            FieldSpec("valid_from", "date", False, ("from", "start", "date_from")),
            FieldSpec("valid_to", "date", False, ("to", "end", "date_to")),
            FieldSpec("source", "str", False, ("src",)),
        ), title="Conflict zones"),
        RoleSpec("villages", POINT, (
            FieldSpec("pcode", "str", True, ("village_pcode", "vill_pcode", "vt_pcode", "code", "id"), unique=True),
            FieldSpec("name_en", "str", True, ("village_eng", "village", "name", "vill_name")),
            FieldSpec("name_my", "str", False, ("village_mmr", "name_mm", "vill_mmr")),
            FieldSpec("township_pcode", "str", False, ("ts_pcode", "tsp_pcode", "township_p")),
            FieldSpec("population", "float", False, ("pop_est_equal_share_2014", "pop", "pop_est", "population_est",
                                                      "pop_est_2014", "pop_est_20"),
                      description="people"),
        ), title="Villages"),
        RoleSpec("roads", LINE, (
            FieldSpec("road_class", "str", True, ("road_type", "highway", "class", "type", "fclass")),
        ), title="Roads"),
        RoleSpec("rivers", LINE + POLYGON, (
            FieldSpec("major", "bool", False, ("is_major", "major_river"),
                      description="true: a major river, crossed only at a mapped bridge or ferry; false: roads "
                      "cross it (culverts, fords). Empty field: every feature is major"),
        ), title="Rivers and water bodies (barriers)"),
        RoleSpec("crossings", POINT, (
            FieldSpec("kind", "str", False, ("type", "crossing")),
            FieldSpec("delay_minutes", "float", False, ("delay", "delay_min"), description="minutes"),
        ), title="River crossings (bridges, ferries)"),
        RoleSpec("reference", POINT + LINE + POLYGON, (), title="Reference layer (display only)"),
        RoleSpec("dem", (), raster=True, title="Elevation (DEM, metres)"),
        RoleSpec("landcover", (), raster=True, title="Land cover (class codes)"),
        RoleSpec("population", (), raster=True, title="Population grid (people per cell, e.g. WorldPop)"),
    ]
}

# What an analysis reads: every role but the display-only reference layers.
ANALYSIS_ROLES: tuple[str, ...] = tuple(name for name in ROLES if name != "reference")


def guess_mapping(role: str, columns) -> dict[str, str]:
    """Propose canonical field -> source field for ``role`` from a file's column names."""
    spec = ROLES[role]
    lower = {c.lower(): c for c in columns if c != "geometry"}
    mapping: dict[str, str] = {}
    for f in spec.fields:
        for candidate in (f.name, *f.aliases):
            if candidate.lower() in lower and lower[candidate.lower()] not in mapping.values():
                mapping[f.name] = lower[candidate.lower()]
                break
    if any(f.name == "population" for f in spec.fields) and "population" not in mapping:
        # e.g. pop_est_2014, population_2019, total_population: the first such column
        # (not descriptions of a population such as density, basis or source: pop_basis holds text)
        not_counts = ("dens", "basis", "source", "src", "date", "year", "flag", "class", "type", "note")
        fuzzy = [c for low, c in lower.items() if (low.startswith("pop") or "population" in low)
                 and not any(word in low for word in not_counts) and c not in mapping.values()]
        if fuzzy:
            mapping["population"] = fuzzy[0]
    return mapping


def guess_role(columns, geom_types) -> str | None:
    """Guess a vector layer's role from its geometry types and field names (None if unsure)."""
    kinds = {g.replace("Multi", "") for g in geom_types if g}
    best, best_score = None, 0
    for spec in ROLES.values():
        if spec.raster or not kinds or not kinds <= set(spec.geometry):
            continue
        found = guess_mapping(spec.name, columns)
        score = sum(2 if spec.field(k).required else 1 for k in found)
        if spec.required and not set(spec.required) <= set(found):
            score = 0.1 if spec.name == "rivers" else 0
        if spec.name == "reference":
            score = 0.05
        if score > best_score:
            best, best_score = spec.name, score
    return best
