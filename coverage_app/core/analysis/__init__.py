"""Analysis: from travel times to who is covered.

Owns the run pipeline (:mod:`.pipeline`: ``run_analysis``: friction, both tiers, referral),
the village and township tables, coverage curve and capacity (:mod:`.tables`), catchment
polygons (:mod:`.catchments`), scenario edits applied to the data (:mod:`.edits`), scenario
compare/update of a result (:mod:`.scenarios`) and siting of new facilities
(:mod:`.siting`). Imports travel and data, never outputs.
"""
