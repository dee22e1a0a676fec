"""Coverage analyser: travel-time access to health care for planners in Sagaing Region."""

__version__ = "0.1.0"
