"""Travel: from layers to minutes.

Owns the friction surface (speeds by mode, roads, rivers and crossings, conflict zones,
land cover, elevation; :mod:`.friction`) and the travel-time engine: the Python API in
:mod:`.engine` (travel_time, prepare, remove_source/add_source, changed_cells, warm_up), the
bucket queue and chunked search in :mod:`.search`, the persistent-array versions of results
in :mod:`.versioning` and every numba kernel in :mod:`.kernels`. Imports
:mod:`coverage_app.core.data` and the shared top-level modules, never analysis or outputs.
"""
