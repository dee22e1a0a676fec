"""Choice of the metric working CRS: the UTM zone of the data (EPSG:32646 for Sagaing)."""

from __future__ import annotations

import math

from pyproj import CRS, Transformer


def utm_epsg(lon: float, lat: float) -> int:
    zone = min(max(int(math.floor((lon + 180.0) / 6.0)) + 1, 1), 60)
    return (32600 if lat >= 0 else 32700) + zone


def working_crs_for(bounds, crs) -> CRS:
    """UTM CRS for the centre of ``bounds`` (minx, miny, maxx, maxy) given in ``crs``."""
    minx, miny, maxx, maxy = bounds
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    src = CRS(crs) if crs is not None else CRS(4326)
    if not src.is_geographic:
        cx, cy = Transformer.from_crs(src, 4326, always_xy=True).transform(cx, cy)
    return CRS.from_epsg(utm_epsg(cx, cy))
