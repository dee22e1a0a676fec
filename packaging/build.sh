#!/usr/bin/env bash
# Build the one-folder desktop bundle: dist/coverage-app/ (and dist/coverage-app-<os>-<arch>.tar.gz).
#
#   bash packaging/build.sh            # from anywhere inside a clone
#
# Uses the current Python (3.10+; set PYTHON=... to choose another). If the app's dependencies
# or PyInstaller are missing it installs them with `pip install '.[bundle]'` (set
# COVERAGE_APP_NO_INSTALL=1 to fail instead). It never installs in editable mode, so an existing
# `pip install -e` of another checkout is left alone; the spec builds from this clone's sources
# either way. Takes a few minutes (longer on a busy machine).
# Options (environment): SKIP_ARCHIVE=1  do not write the .tar.gz next to the bundle.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
cd "$ROOT"

"$PYTHON" - <<'EOF' || { echo "build.sh: Python 3.10 or newer is needed (set PYTHON=...)" >&2; exit 1; }
import sys
sys.exit(sys.version_info < (3, 10))
EOF

deps_ok() {
  "$PYTHON" - <<'EOF' 2>/dev/null
import importlib.util, sys
mods = ["PyInstaller", "PySide6", "geopandas", "pyogrio", "rasterio", "pyproj", "shapely", "numba",
        "llvmlite", "matplotlib", "matplotlib_scalebar", "myanmartools", "myanmar", "numpy", "pandas"]
missing = [m for m in mods if importlib.util.find_spec(m) is None]
if missing:
    print("missing: " + ", ".join(missing), file=sys.stderr)
import PyInstaller
ok = tuple(int(x) for x in PyInstaller.__version__.split(".")[:2]) >= (6, 10)
sys.exit(1 if missing or not ok else 0)
EOF
}

if ! deps_ok; then
  if [[ "${COVERAGE_APP_NO_INSTALL:-}" == 1 ]]; then
    echo "build.sh: dependencies or PyInstaller >= 6.10 missing; run: $PYTHON -m pip install '.[bundle]'" >&2
    exit 1
  fi
  echo "build.sh: installing the app's dependencies and PyInstaller: pip install '.[bundle]'"
  "$PYTHON" -m pip install "$ROOT[bundle]"
  deps_ok || { echo "build.sh: dependencies still missing after pip install" >&2; exit 1; }
fi

echo "build.sh: PyInstaller $("$PYTHON" -c 'import PyInstaller; print(PyInstaller.__version__)'), $("$PYTHON" -V)"
start=$(date +%s)
# PYTHONPATH: PyInstaller's helper processes import coverage_app from this clone too.
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m PyInstaller \
  --noconfirm --clean --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" \
  "$ROOT/packaging/coverage_app.spec"
elapsed=$(( $(date +%s) - start ))

BUNDLE="$ROOT/dist/coverage-app"
[[ -x "$BUNDLE/coverage-app" || -f "$BUNDLE/coverage-app.exe" ]] || { echo "build.sh: no executable in $BUNDLE" >&2; exit 1; }

# What a planner needs next to the executable: the Linux installer, launcher and icon, and a note.
cp "$ROOT/packaging/install-linux.sh" "$ROOT/packaging/coverage-app.desktop" \
   "$ROOT/packaging/icon.png" "$ROOT/packaging/icon.svg" "$BUNDLE/"
chmod +x "$BUNDLE/install-linux.sh"
cat >"$BUNDLE/README.txt" <<EOF
Coverage analyser $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo 0.1.0), built $(date -u +%Y-%m-%d)

Start the desktop app:   ./coverage-app            (Windows: coverage-app-gui.exe)
Command line:            ./coverage-app --help     (info, analyse, brief, sites, ...)
Install on Linux:        bash install-linux.sh     (menu entry + coverage-app command; --uninstall)

Everything runs offline. The bundled Sagaing dataset, its sources and licences:
_internal/layers/ (README.md). Fonts: Noto Sans and Noto Sans Myanmar (SIL OFL,
_internal/coverage_app/resources/fonts/OFL.txt).
EOF

if [[ "${SKIP_ARCHIVE:-}" != 1 ]] && command -v tar >/dev/null; then
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"; arch="$(uname -m)"
  archive="$ROOT/dist/coverage-app-0.1.0-$os-$arch.tar.gz"
  tar -C "$ROOT/dist" -czf "$archive" coverage-app
fi

echo
echo "build.sh: built $BUNDLE in ${elapsed}s"
echo "build.sh: bundle size: $(du -sh "$BUNDLE" | cut -f1) ($(find "$BUNDLE" -type f | wc -l) files)"
[[ -n "${archive:-}" ]] && echo "build.sh: archive: $archive ($(du -h "$archive" | cut -f1))"
echo "build.sh: try it: $BUNDLE/coverage-app info   (no arguments: the desktop app)"
echo "build.sh: check it: bash packaging/smoke.sh"
