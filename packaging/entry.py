"""Entry point of the frozen bundle: the same as ``coverage-app`` / ``python -m coverage_app``."""

import multiprocessing
import os
import sys


def _persistent_matplotlib_cache():
    """Keep matplotlib's font cache between runs.

    PyInstaller's matplotlib runtime hook points MPLCONFIGDIR at a new temporary folder on every
    run (for one-file bundles, whose paths change each run), so matplotlib would rebuild its font
    list at every start: about 0.5 s here, seconds on a laptop with many fonts. A one-folder
    bundle's paths are stable, and matplotlib rebuilds the list itself if a font file moved.
    The folder is the app's own (not ~/.config/matplotlib), so no user matplotlibrc leaks in.
    """
    root = os.environ.get("COVERAGE_APP_CACHE_DIR")  # set by rthook_geodata.py
    if not getattr(sys, "frozen", False) or not root:
        return
    folder = os.path.join(root, "matplotlib")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return  # keep the temporary folder
    os.environ["MPLCONFIGDIR"] = folder


if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless; keeps any future worker process from re-running the app
    _persistent_matplotlib_cache()
    from coverage_app.__main__ import console_main

    sys.exit(console_main())
