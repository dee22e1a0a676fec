"""Analysis: from travel times to who is covered.

Owns the run pipeline (:mod:`.pipeline`: friction, both tiers, village and township
tables, referral, coverage curve, capacity, catchments), scenarios and what-if edits
(:mod:`.scenarios`) and siting of new facilities (:mod:`.siting`). Imports travel and data,
never outputs.
"""
