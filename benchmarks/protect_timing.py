"""Time the protected-project operations on the bundled project (a few seconds in all).

    python benchmarks/protect_timing.py

Prints the median (min-max) of 5 runs: key derivation (Argon2id, scrypt), protecting the
bundled project (new key), saving again with the same key (what the autosave does),
opening it (key derivation + decryption) and opening + loading every layer, plain vs protected.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from coverage_app.core.data import protect
from coverage_app.core.data.model import load_project_data
from coverage_app.core.data.project import bundled_project_path, load_project

PASS = "tamarind monsoon ferry lantern"


def timed(fn, n=5):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return f"{statistics.median(times):.3f} s ({min(times):.3f}-{max(times):.3f})"


def main() -> None:
    warnings.simplefilter("ignore")
    out = Path(tempfile.mkdtemp()) / "sagaing.covprojx"
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    print("Argon2id key derivation", protect.ARGON2ID, timed(lambda: protect._derive(PASS, protect.ARGON2ID, os.urandom(16))))
    print("scrypt key derivation", protect.SCRYPT, timed(lambda: protect._derive(PASS, protect.SCRYPT, os.urandom(16))))
    print("protect the bundled project (new key)",
          timed(lambda: protect.save_protected(load_project(bundled_project_path()), out, passphrase=PASS)))
    project = protect.load_protected(out, PASS)
    print("save again with the same key (autosave)", timed(lambda: protect.save_protected(project)))
    print("open protected (derive + decrypt)", timed(lambda: protect.load_protected(out, PASS)))
    print("open + load every layer, protected", timed(lambda: load_project_data(protect.load_protected(out, PASS)), 3))
    print("open + load every layer, plain", timed(lambda: load_project_data(load_project(bundled_project_path())), 3))
    print(f"file size: {out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
