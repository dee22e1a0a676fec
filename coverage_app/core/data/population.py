"""The population basis of an analysis: which total the village populations add up to.

The project option ``population_total`` chooses it (``Project.options``):

- ``census2014`` (default): the villages' own ``population`` field as loaded. For the bundled
  data that is the 2014 census, with urban wards and placed villages (``pop_basis`` field).
- ``kontur2023``: each township's villages are scaled so that they add up to the township's
  ``pop_kontur2023`` (Kontur Population 2023, people), applied at analysis time: switching
  needs no rebuild of the data.

Every result carries a :func:`basis` record (run.json ``population_basis``) so a share is
always stated as a share *of* something. Populations are people.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from coverage_app.core.errors import InputError, Problem
from coverage_app.core.data.layers import MAX_POPULATION

# choice -> (label, township field holding the total; None = the villages' own values)
POPULATION_TOTALS = {
    "census2014": ("village populations as loaded (bundled data: 2014 census)", None),
    "kontur2023": ("scaled to Kontur Population 2023 township totals (CC BY 4.0)", "pop_kontur2023"),
}
DEFAULT_TOTAL = "census2014"


def scale_to_townships(villages: gpd.GeoDataFrame, townships: gpd.GeoDataFrame | None, choice: str,
                       ) -> tuple[gpd.GeoDataFrame, dict]:
    """Villages with ``population`` on the chosen basis, and the basis record.

    Raises InputError when the choice is unknown or the townships lack the total it needs.
    """
    if choice not in POPULATION_TOTALS:
        raise InputError(Problem("error", f"unknown population total {choice!r} in the project options; "
                                 f"choose one of {', '.join(POPULATION_TOTALS)}"))
    label, field = POPULATION_TOTALS[choice]
    v = villages.copy()
    if "population" not in v:
        v["population"] = np.nan
    scaled = 0
    if field is not None and len(v):
        if townships is None or field not in townships or townships[field].isna().all():
            raise InputError(Problem("error", f"the population total {choice!r} needs the townships layer's "
                                     f"field '{field}' (people per township); map it in the townships layer "
                                     "or choose census2014", layer="townships", field=field))
        target = pd.to_numeric(townships.set_index("pcode")[field], errors="coerce")
        if "township_pcode" not in v or v["township_pcode"].isna().any():
            v["township_pcode"] = _township_of(v, townships)
        pop = v["population"].fillna(0.0)
        have = pop.groupby(v["township_pcode"]).sum()
        factor = (target / have.reindex(target.index)).replace([np.inf, -np.inf], np.nan)
        f = v["township_pcode"].map(factor)
        v["population"] = np.where(f.notna(), pop * f, v["population"])
        scaled = int(factor.notna().sum())
    return v, basis(v, choice, label, scaled)


def _township_of(v: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> pd.Series:
    """Each village's own township pcode, else that of the township it lies in."""
    own = v["township_pcode"] if "township_pcode" in v else pd.Series(None, index=v.index, dtype=object)
    joined = gpd.sjoin(v[["geometry"]], townships[["pcode", "geometry"]].to_crs(v.crs), how="left",
                       predicate="within")
    joined = joined[~joined.index.duplicated()]
    return own.fillna(joined["pcode"].reindex(v.index))


def basis(villages: gpd.GeoDataFrame, choice: str, label: str, scaled_townships: int = 0) -> dict:
    """What the shares of a run are shares of: total people, villages, and people by placement."""
    pop = villages["population"].fillna(0.0) if "population" in villages else pd.Series(dtype=float)
    out = {"total": choice, "label": label, "population": round(float(pop.sum())),
           "points": int(len(villages)), "scaled_townships": scaled_townships, "grid": False}
    if "pop_basis" in villages:
        by = pop.groupby(villages["pop_basis"].fillna("observed")).sum()
        out["by_placement"] = {k: round(float(x)) for k, x in by.items()}
    return out


def basis_short(basis: dict | None) -> str | None:
    """The basis in a few words ("2014 census", "Kontur 2023 township totals", "population grid")."""
    if not basis:
        return None
    if basis.get("grid"):
        return "population grid"
    return {"census2014": "2014 census", "kontur2023": "Kontur 2023 township totals"}.get(basis.get("total"),
                                                                                           basis.get("total"))


def basis_text(basis: dict | None) -> str:
    """A short label of what the shares are of, for the results dock and prints."""
    if not basis:
        return "Population of the villages"
    if basis.get("grid"):
        return "Population (population grid, people per cell)"
    by = basis.get("by_placement") or {}
    placed = sum(v for k, v in by.items() if k != "observed")
    extra = f"; {placed:,.0f} placed or urban" if placed else ""
    return f"Population basis: {basis_short(basis)}{extra}"


def analysis_villages(data) -> tuple[gpd.GeoDataFrame | None, dict | None]:
    """The project's villages on its chosen population basis (None, None without villages)."""
    villages = data.role("villages")
    if villages is None:
        return None, None
    choice = (data.project.options or {}).get("population_total") or DEFAULT_TOTAL
    return scale_to_townships(villages, data.role("townships"), choice)


# ----------------------------------------------------------------------------- population grids

def resample_population(path, grid, study_area) -> tuple[np.ndarray, dict]:
    """People per cell of a population raster (any CRS, e.g. WorldPop / Kontur people per pixel) on
    ``grid`` (working CRS, metres), total conserved: the people inside ``study_area`` (a shapely
    polygon in ``grid.crs``) before equal the people on the grid's study cells after.

    GDAL's area-weighted ``sum`` resampling moves each source pixel's people onto the grid cells it
    overlaps (coarser or finer grid alike); the result is then scaled so the totals match exactly
    (edge pixels cut by the study-area outline).
    Returns (float64 people per cell, 0 outside the study area; a record with both totals).
    """
    import warnings

    import rasterio
    from rasterio import features
    from rasterio.enums import Resampling
    from rasterio.warp import reproject

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise InputError(Problem("error", "the population raster has no CRS; re-export it with "
                                             "one (WorldPop and Kontur rasters are EPSG:4326)", file=str(path)))
                values = src.read(1, masked=True).astype("float64").filled(0.0)
                src_transform, src_crs = src.transform, src.crs
    except InputError:
        raise
    except Exception as exc:
        raise InputError(Problem("error", f"the population raster cannot be read ({str(exc)[:160]})",
                                 file=str(path))) from None
    values[np.isnan(values)] = 0.0  # NaN cells: no data, as a declared nodata value
    bad = np.isinf(values) | (values < 0)
    area_src = gpd.GeoSeries([study_area], crs=grid.crs).to_crs(src_crs).iloc[0]
    inside_src = features.geometry_mask([area_src], out_shape=values.shape, transform=src_transform, invert=True)
    if (bad & inside_src).any():  # an undeclared nodata value (e.g. -99999) or a damaged file
        raise InputError(Problem("error", f"{int((bad & inside_src).sum()):,} cells on the study area hold negative "
                                 "or infinite people per cell; if that is the file's nodata value, declare it "
                                 "(gdal_edit.py -a_nodata VALUE), else export the raster again", file=str(path)))
    values[bad] = 0.0
    total_before = float(values[inside_src].sum())
    if not 0 < total_before <= MAX_POPULATION:
        what = "no people on the study area (every cell there is 0 or nodata, or the raster covers another " \
               "place: check its CRS and extent)" if total_before <= 0 else \
               f"{total_before:,.4g} people on the study area, more than all of Myanmar (a wrong unit or band?)"
        raise InputError(Problem("error", f"the population raster holds {what}", file=str(path)))
    out = np.zeros(grid.shape, "float64")
    reproject(source=values, destination=out, src_transform=src_transform, src_crs=src_crs,
              dst_transform=grid.transform, dst_crs=grid.crs, resampling=Resampling.sum, dst_nodata=np.nan)
    out = np.nan_to_num(out, nan=0.0)
    inside = features.geometry_mask([study_area], out_shape=grid.shape, transform=grid.transform, invert=True)
    out[~inside] = 0.0
    after = float(out.sum())
    if after > 0:
        out *= total_before / after
    elif total_before > 0:
        raise InputError(Problem("error", "the population raster does not overlap the analysis grid",
                                 file=str(path)))
    return out, {"file": str(path), "people_in_study_area": round(total_before), "people_on_grid": round(float(out.sum())),
                 "resampled_to_m": grid.cell_size_m}


def township_cells(townships_w: gpd.GeoDataFrame, grid) -> np.ndarray:
    """Index (0-based, -1 = none) of the township each grid cell's centre lies in; townships in ``grid.crs``."""
    from rasterio import features

    if townships_w is None or len(townships_w) == 0:
        return np.full(grid.shape, -1, "int32")
    shapes = ((g, i) for i, g in enumerate(townships_w.geometry.values) if g is not None and not g.is_empty)
    return features.rasterize(shapes, out_shape=grid.shape, transform=grid.transform, fill=-1, dtype="int32")
