"""Facility classes of the map (layer_symbols.auto_classes): each facility is drawn in exactly one
class, the one its status, secondary flag and scenario flag ("is_new", set by the edits) say;
missing or unknown values count as "unknown", not secondary, not new."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage_app.ui.layer_symbols import auto_classes
from coverage_app.ui.maplayers import VectorLayer


def test_each_facility_is_in_the_class_of_its_status_tier_and_scenario_flag(qapp):
    status = ["functioning", "Partial", None, "closed", "destroyed", "bombed", "unknown", "functioning"]
    secondary = [True, False, None, True, False, True, False, False]
    new = [False, False, True, None, False, False, True, True]
    frame = gpd.GeoDataFrame({"status": status, "provides_secondary": pd.Series(secondary, dtype=object),
                              "is_new": pd.Series(new, dtype=object)},
                             geometry=shapely.points(np.arange(8.0), np.zeros(8)), crs=4326)
    want = [("functioning", True, False), ("partial", False, False), ("unknown", False, True),
            ("closed", True, False), ("destroyed", False, False), ("unknown", True, False),
            ("unknown", False, True), ("functioning", False, True)]
    classes = auto_classes(VectorLayer("Facilities", "facilities", frame, "EPSG:3857"))
    assert len(classes) == 20
    got = {}
    for c in classes:
        for row in c.rows:
            assert row not in got, f"facility {row} drawn twice"
            got[int(row)] = c.key[1:]
    assert [got[i] for i in range(8)] == want
    labels = {c.key[1:]: c.label for c in classes}
    assert labels[("unknown", False, True)] == "New facility, unknown"
