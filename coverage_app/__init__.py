"""Coverage analyser: travel-time access to health care for planners in Sagaing Region."""

# Forbid network access in GDAL/PROJ before anything opens a file (core/netguard.py).
from coverage_app.core import netguard as _netguard  # noqa: E402

_netguard.install()
__version__ = "0.1.0"
