"""Data: what the planner's files hold, read and checked.

Owns reading layers (Shapefile, GeoPackage, GeoJSON, CSV, GeoTIFF headers), the roles a
layer can play and their field mapping, the in-memory project data (:mod:`.model`), the
versioned project file (:mod:`.project`), working-CRS choice (:mod:`.crs`) and Zawgyi
detection/conversion. Imports only the shared top-level modules of ``coverage_app.core``.
"""
