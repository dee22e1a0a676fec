"""Coverage analyser: travel-time access to health care for planners in Sagaing Region."""

# Forbid network access in GDAL/PROJ before anything opens a file (core/netguard.py).
from coverage_app.core import netguard as _netguard  # noqa: E402

_netguard.install()
__version__ = "0.1.0"


def _defer_boto3() -> None:
    """rasterio imports boto3 when it is installed (rasterio/session.py, for S3 sessions): 0.3-0.6 s
    of every start-up, though the app opens local files only. Put a stand-in module in its place:
    ``import boto3`` finds it (its ``__spec__`` is the real one), and the first attribute asked of
    it (``boto3.Session``, only for an s3:// path) imports the real boto3 and hands that on.
    (importlib's LazyLoader does not survive an ``import`` statement: CPython reads the module's
    ``__spec__`` through ``getattr``, which loads it.)"""
    import importlib
    import importlib.util
    import sys
    import types

    if "boto3" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("boto3")
    except (ImportError, ValueError):
        return
    if spec is None:
        return

    class DeferredModule(types.ModuleType):
        def __getattr__(self, name):  # only for names not set here: anything of boto3's own
            if name == "__wrapped__":  # inspect.unwrap's probe (PySide6 reads every imported module)
                raise AttributeError(name)
            if sys.modules.get("boto3") is self:
                del sys.modules["boto3"]
            real = importlib.import_module("boto3")
            return getattr(real, name)

    stand_in = DeferredModule("boto3", "boto3, imported on first use (coverage_app._defer_boto3)")
    stand_in.__spec__ = spec
    stand_in.__file__ = spec.origin
    stand_in.__path__ = list(spec.submodule_search_locations or [])
    sys.modules["boto3"] = stand_in


_defer_boto3()
