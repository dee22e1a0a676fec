"""Outputs: what leaves the analysis for a reader.

Owns exports (:mod:`.export`: GeoPackage, Shapefile, CSV, GeoTIFF, run.json), briefing
maps (:mod:`.briefing`), safe-sharing generalisation (:mod:`.safe_share`), the symbology
shared by screen and print (:mod:`.symbology`) and the bundled fonts (:mod:`.fonts`).
The top layer of core: it may import analysis, travel and data.
"""
