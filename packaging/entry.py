"""Entry point of the frozen bundle: the same as ``coverage-app`` / ``python -m coverage_app``."""

import multiprocessing
import sys

from coverage_app.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless; keeps any future worker process from re-running the app
    sys.exit(main())
