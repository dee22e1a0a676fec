#!/usr/bin/env bash
# Smoke-test a built bundle as a planner's laptop would run it: no Python, no site-packages.
#
#   bash packaging/smoke.sh [BUNDLE_DIR]        # default: dist/coverage-app
#
# Every run of the bundle uses `env -i PATH=/usr/bin:/bin HOME=<empty temp dir>` from a temp
# working directory, so nothing of the build machine's Python environment can leak in.
#   a) `coverage-app info` lists the bundled project (37 townships, 6829 villages); start-up time
#   b) `coverage-app analyse --cell-size 1000` writes coverage.gpkg and travel_time_primary.tif with
#      the right CRS (so the PROJ data was found), also with a foreign PROJ_LIB/GDAL_DATA set; numba's
#      cache goes to the user's cache folder, never into the bundle
#   c) `coverage-app brief --cell-size 2000` writes a PDF (skipped if the bundle has no `brief`)
#   d) the desktop window opens on the bundled project under Xvfb: time to first window, a
#      screenshot in packaging/smoke_gui.png (not committed; look at it)
#   e) (run before d) a protected project written and read back; a sweep of 2 draws on 2 workers
# The outputs are checked with the build machine's Python (rasterio, pyogrio) when it has them,
# else with gdalinfo/ogrinfo if installed. Needs for d): Xvfb, xdotool, and ImageMagick's
# `import` (Debian: apt-get install xvfb xdotool imagemagick); d) is skipped if they are missing.
# Exit status: 0 if every check that ran passed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$(cd "${1:-$ROOT/dist/coverage-app}" 2>/dev/null && pwd)" || { echo "smoke: no bundle at ${1:-$ROOT/dist/coverage-app}; run bash packaging/build.sh" >&2; exit 1; }
EXE="$BUNDLE/coverage-app"
[[ -f "$EXE.exe" ]] && EXE="$EXE.exe"  # Windows (Git Bash)
[[ -f "$EXE" ]] || { echo "smoke: $EXE is missing" >&2; exit 1; }
HOST_PY="${PYTHON:-python3}"
SHOT="${SMOKE_SCREENSHOT:-$ROOT/packaging/smoke_gui.png}"

TMP="$(mktemp -d -t coverage-smoke.XXXXXX)"
HOME_DIR="$TMP/home"; WORK="$TMP/work"; mkdir -p "$HOME_DIR" "$WORK"
XVFB_PID=""; APP_PID=""
cleanup() {
  [[ -n "$APP_PID" ]] && kill "$APP_PID" 2>/dev/null
  [[ -n "$XVFB_PID" ]] && kill "$XVFB_PID" 2>/dev/null
  [[ -z "${KEEP_SMOKE_TMP:-}" ]] && rm -rf "$TMP"
}
trap cleanup EXIT

FAILED=0; SKIPPED=()
pass() { echo "  ok    $*"; }
fail() { echo "  FAIL  $*"; FAILED=1; }
skip() { echo "  skip  $*"; SKIPPED+=("$*"); }

# Run the bundle with an empty environment from the temp working directory.
app() { (cd "$WORK" && env -i PATH=/usr/bin:/bin HOME="$HOME_DIR" "$@"); }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

host_has() { "$HOST_PY" -c "import $1" >/dev/null 2>&1; }

echo "smoke: bundle $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
touch "$TMP/marker"

# --------------------------------------------------------------------------- a) info
echo "a) coverage-app info"
t0=$(now); app "$EXE" info >"$TMP/info.txt" 2>"$TMP/info.err"; rc=$?; t1=$(now)
t2=$(now); app "$EXE" info >/dev/null 2>&1; t3=$(now)
if [[ $rc -eq 0 ]] && grep -Eq '^Townships +townships +37 ' "$TMP/info.txt" && grep -Eq '^Villages +villages +6829 ' "$TMP/info.txt"; then
  pass "37 townships and 6829 villages listed (start-up: first run $(secs "$t0" "$t1") s, second $(secs "$t2" "$t3") s)"
else
  fail "info (exit $rc)"; cat "$TMP/info.txt" "$TMP/info.err"
fi
grep -q Traceback "$TMP/info.err" && fail "info printed a traceback" && cat "$TMP/info.err"

# --------------------------------------------------------------------------- b) analyse
check_outputs() {  # $1 = output folder; prints problems, returns non-zero on failure
  local out="$1"
  [[ -s "$out/coverage.gpkg" && -s "$out/travel_time_primary.tif" ]] || { echo "missing coverage.gpkg or travel_time_primary.tif"; ls -la "$out"; return 1; }
  if host_has "rasterio, pyogrio, numpy"; then
    "$HOST_PY" - "$out" <<'EOF'
import sys, numpy as np, pyogrio, rasterio
out = sys.argv[1]
problems = []
with rasterio.open(f"{out}/travel_time_primary.tif") as ds:
    if ds.crs is None or ds.crs.to_epsg() != 32646:
        problems.append(f"travel_time_primary.tif CRS is {ds.crs}, expected EPSG:32646")
    band = ds.read(1, masked=True)
    valid = band.compressed()
    if valid.size == 0 or not (0 <= valid.min() and np.isfinite(valid).all()):
        problems.append("travel_time_primary.tif has no valid travel times")
    print(f"      travel_time_primary.tif: {ds.crs}, {ds.width}x{ds.height} cells of {ds.res[0]:.0f} m, "
          f"{valid.size} reached, median {np.median(valid):.0f} min")
layers = {name for name, _ in pyogrio.list_layers(f"{out}/coverage.gpkg")}
for layer in ("villages", "catchments", "townships", "facilities"):
    if layer not in layers:
        problems.append(f"coverage.gpkg has no layer {layer}")
        continue
    info = pyogrio.read_info(f"{out}/coverage.gpkg", layer=layer)
    crs = info["crs"]
    if crs != "EPSG:4326":
        problems.append(f"coverage.gpkg/{layer} CRS is {crs}, expected EPSG:4326")
    print(f"      coverage.gpkg/{layer}: {info['features']} features, {crs}")
villages = pyogrio.read_dataframe(f"{out}/coverage.gpkg", layer="villages")
if len(villages) != 6829:
    problems.append(f"{len(villages)} villages, expected 6829")
x, y = villages.geometry.x, villages.geometry.y
if not (x.between(93, 98).all() and y.between(21, 28).all()):
    problems.append("village coordinates are not in lon/lat over Sagaing: reprojection went wrong")
if villages["prim_min"].notna().sum() < 0.5 * len(villages):
    problems.append("fewer than half of the villages got a travel time")
for p in problems:
    print("      " + p)
sys.exit(1 if problems else 0)
EOF
  elif command -v gdalsrsinfo >/dev/null && command -v ogrinfo >/dev/null; then
    gdalsrsinfo -o epsg "$out/travel_time_primary.tif" | grep -q 32646 || { echo "tif CRS is not EPSG:32646"; return 1; }
    ogrinfo -so "$out/coverage.gpkg" villages | grep -q 'EPSG.*4326\|WGS 84' || { echo "villages CRS is not EPSG:4326"; return 1; }
  else
    echo "      (no rasterio/pyogrio or GDAL tools on this machine: CRS not checked)"
  fi
}

echo "b) coverage-app analyse --cell-size 1000"
t0=$(now); app "$EXE" analyse --out "$TMP/out" --cell-size 1000 --quiet >"$TMP/analyse.txt" 2>&1; rc=$?; t1=$(now)
if [[ $rc -eq 0 ]] && check_outputs "$TMP/out"; then
  pass "coverage.gpkg (EPSG:4326) and travel_time_primary.tif (EPSG:32646) written in $(secs "$t0" "$t1") s (first run: numba compiles)"
else
  fail "analyse (exit $rc)"; tail -20 "$TMP/analyse.txt"
fi
cache_files=$(find "$HOME_DIR/.cache/coverage-app/numba" -name '*.nbi' 2>/dev/null | wc -l)
if [[ $cache_files -gt 0 ]]; then pass "numba cache in ~/.cache/coverage-app/numba ($cache_files index files)"; else fail "no numba cache in the user's cache folder"; fi
written=$(find "$BUNDLE" -newer "$TMP/marker" \( -type f -o -type d \) | head -5)
if [[ -z "$written" ]]; then pass "nothing written into the bundle"; else fail "files written into the bundle: $written"; fi

# A laptop with QGIS / PostGIS / OSGeo4W often has PROJ_LIB and GDAL_DATA set globally; an older
# proj.db (pyproj's here) or a missing folder must not break the bundle.
OLD_PROJ="$BUNDLE/_internal/pyproj/proj_dir/share/proj"
t0=$(now)
(cd "$WORK" && env -i PATH=/usr/bin:/bin HOME="$HOME_DIR" PROJ_LIB="$OLD_PROJ" PROJ_DATA="$OLD_PROJ" GDAL_DATA="$TMP/no-such-dir" \
  "$EXE" analyse --out "$TMP/out2" --cell-size 1000 --quiet >"$TMP/analyse2.txt" 2>&1); rc=$?; t1=$(now)
if [[ $rc -eq 0 ]] && check_outputs "$TMP/out2" >/dev/null; then
  pass "again with a foreign PROJ_LIB/PROJ_DATA/GDAL_DATA in the environment, cached kernels: $(secs "$t0" "$t1") s"
else
  fail "analyse with foreign PROJ_LIB/GDAL_DATA (exit $rc)"; tail -20 "$TMP/analyse2.txt"
fi

# --------------------------------------------------------------------------- c) brief
echo "c) coverage-app brief --cell-size 2000"
if app "$EXE" --help 2>/dev/null | grep -q '\bbrief\b'; then
  t0=$(now); app "$EXE" brief --out "$TMP/b.pdf" --cell-size 2000 >"$TMP/brief.txt" 2>&1; rc=$?; t1=$(now)
  if [[ $rc -eq 0 && -s "$TMP/b.pdf" ]] && head -c 5 "$TMP/b.pdf" | grep -q '%PDF-'; then
    detail="$(du -h "$TMP/b.pdf" | cut -f1)"
    if command -v pdfinfo >/dev/null; then detail="$detail, $(pdfinfo "$TMP/b.pdf" | awk '/^Pages:/ {print $2}') page(s)"; fi
    if command -v pdffonts >/dev/null; then
      fonts=$(pdffonts "$TMP/b.pdf" | awk 'NR > 2 {print $1}' | sed 's/^[A-Z]*+//' | sort -u | tr '\n' ' ')
      detail="$detail, fonts: $fonts"
    fi
    pass "b.pdf written in $(secs "$t0" "$t1") s ($detail)"
  else
    fail "brief (exit $rc)"; tail -20 "$TMP/brief.txt"
  fi
  if ls "$HOME_DIR"/.cache/coverage-app/matplotlib/fontlist-*.json >/dev/null 2>&1; then
    pass "matplotlib's font list kept in ~/.cache/coverage-app/matplotlib"
  else
    fail "no matplotlib font list in ~/.cache/coverage-app/matplotlib (rebuilt at every start)"
  fi
  # Burmese labels: the bundled Noto Sans Myanmar must be found and embedded.
  if command -v pdffonts >/dev/null && app "$EXE" brief --help 2>/dev/null | grep -q -- '--language'; then
    t0=$(now); app "$EXE" brief --out "$TMP/b_my.pdf" --cell-size 2000 --language both >"$TMP/brief_my.txt" 2>&1; rc=$?; t1=$(now)
    if [[ $rc -eq 0 ]] && pdffonts "$TMP/b_my.pdf" | grep -q 'NotoSansMyanmar'; then
      pass "brief --language both embeds Noto Sans Myanmar ($(secs "$t0" "$t1") s)"
    else
      fail "brief --language both (exit $rc) does not embed Noto Sans Myanmar"; tail -5 "$TMP/brief_my.txt"
    fi
  fi
else
  skip "the bundle has no brief command (coverage_app/cli/brief.py missing at build time)"
fi

# --------------------------------------------------------------------------- e) protect, sweep
# Parts the bundle can lose without any other step noticing: cryptography (protected projects),
# dask + distributed with PyYAML and Jinja2 (sweeps on a LocalCluster of worker processes).
echo "e) coverage-app protect / info of the protected project; sweep on a 2-worker LocalCluster"
app env SMOKE_PW="smoke passphrase 1" "$EXE" protect --out "$TMP/p.covprojx" --passphrase-env SMOKE_PW \
  >"$TMP/protect.txt" 2>&1; rc=$?
if [[ $rc -eq 0 && -s "$TMP/p.covprojx" ]] && app env SMOKE_PW="smoke passphrase 1" "$EXE" info "$TMP/p.covprojx" \
    --passphrase-env SMOKE_PW >"$TMP/pinfo.txt" 2>&1 && grep -Eq '^Townships +townships +37 ' "$TMP/pinfo.txt"; then
  pass "protected project written and read back"
else
  fail "protect (exit $rc) or info of the protected project"; tail -5 "$TMP/protect.txt" "$TMP/pinfo.txt"
fi
printf 'version = 1\ndraws = 2\nseed = 1\n[analysis]\ncell_size_m = 5000.0\n[vary]\nspeeds = { uniform = [0.8, 1.2] }\n' \
  >"$WORK/smoke_sweep.toml"
t0=$(now); app "$EXE" sweep "$WORK/smoke_sweep.toml" --out "$TMP/sweep" --workers 2 --quiet >"$TMP/sweep.txt" 2>&1; rc=$?
t1=$(now)
if [[ $rc -eq 0 && -s "$TMP/sweep/sweep.gpkg" && -s "$TMP/sweep/run.json" ]]; then
  pass "sweep of 2 draws on 2 worker processes in $(secs "$t0" "$t1") s"
else
  fail "sweep (exit $rc)"; tail -20 "$TMP/sweep.txt"
fi

# --------------------------------------------------------------------------- d) desktop window
echo "d) desktop window under Xvfb"
if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null || ! command -v import >/dev/null; then
  skip "GUI check: needs Xvfb, xdotool and ImageMagick (apt-get install xvfb xdotool imagemagick)"
else
  # Our own Xvfb on a free display number (SMOKE_DISPLAY=:N to use a running X server instead).
  if [[ -n "${SMOKE_DISPLAY:-}" ]]; then
    DISP="$SMOKE_DISPLAY"
  else
    Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$TMP/display" >"$TMP/xvfb.log" 2>&1 &
    XVFB_PID=$!
    for _ in $(seq 100); do [[ -s "$TMP/display" ]] && break; sleep 0.1; done
    DISP=":$(head -1 "$TMP/display")"
  fi
  # --no-restore: the bundled Sagaing project, whatever a previous session left in the settings.
  t0=$(now)
  (cd "$WORK" && exec env -i PATH=/usr/bin:/bin HOME="$HOME_DIR" DISPLAY="$DISP" "$EXE" --no-restore) >"$TMP/gui.txt" 2>&1 &
  APP_PID=$!
  wid=""
  for _ in $(seq 600); do
    wid=$(DISPLAY="$DISP" xdotool search --onlyvisible --name 'Coverage|Sagaing' 2>/dev/null | head -1)
    [[ -n "$wid" ]] && break
    kill -0 "$APP_PID" 2>/dev/null || break
    sleep 0.1
  done
  t1=$(now)
  if [[ -n "$wid" ]]; then
    title=$(DISPLAY="$DISP" xdotool getwindowname "$wid")
    pass "window \"$title\" appeared after $(secs "$t0" "$t1") s"
    sleep "${SMOKE_GUI_WAIT:-8}"  # let the layers load and draw
    if kill -0 "$APP_PID" 2>/dev/null; then pass "still running after ${SMOKE_GUI_WAIT:-8} s"; else fail "the app exited"; fi
    DISPLAY="$DISP" import -window root "$SHOT" 2>/dev/null && pass "screenshot: $SHOT ($(du -h "$SHOT" | cut -f1)); look at it"
    wm_class=$(DISPLAY="$DISP" xprop -id "$wid" WM_CLASS 2>/dev/null | sed 's/.*= //')
    [[ -n "$wm_class" ]] && echo "        WM_CLASS $wm_class"
  else
    fail "no window within 60 s"; cat "$TMP/gui.txt"
  fi
  kill "$APP_PID" 2>/dev/null; wait "$APP_PID" 2>/dev/null; APP_PID=""
  if grep -q Traceback "$TMP/gui.txt"; then fail "the GUI printed a traceback"; cat "$TMP/gui.txt"; fi
  if grep -qi 'could not load the Qt platform plugin\|Cannot load library\|Failed to load' "$TMP/gui.txt"; then
    fail "Qt reported a plugin/library problem"; cat "$TMP/gui.txt"
  fi
  log="$(find "$HOME_DIR" -name coverage-app.log 2>/dev/null | head -1)"
  if [[ -n "$log" ]] && grep -q ' ERROR ' "$log"; then fail "errors in the app log $log"; grep -A5 ' ERROR ' "$log" | head -30; fi
fi

echo
if [[ $FAILED -eq 0 ]]; then
  echo "smoke: all checks passed${SKIPPED:+ (skipped: ${SKIPPED[*]})}"
else
  echo "smoke: FAILED (run with KEEP_SMOKE_TMP=1 to keep $TMP)"
fi
exit $FAILED
