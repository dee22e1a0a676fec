"""Travel: from layers to minutes.

Owns the friction surface (speeds by mode, roads, rivers and crossings, conflict zones,
land cover, elevation; :mod:`.friction`) and the travel-time engine (numba kernels in
:mod:`.kernels`, the Python API in :mod:`.engine`). Imports :mod:`coverage_app.core.data`
and the shared top-level modules, never analysis or outputs.
"""
