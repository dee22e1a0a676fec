#!/usr/bin/env bash
# Install the desktop bundle for the current user (no root needed):
#   ~/.local/opt/coverage-app/                 the bundle
#   ~/.local/bin/coverage-app                  command line (a link into the bundle)
#   ~/.local/share/applications/coverage-app.desktop, icons, and the .covproj file type
#
#   bash install-linux.sh [BUNDLE_DIR]          # install or update
#   bash install-linux.sh --uninstall
#
# BUNDLE_DIR defaults to the folder this script is in when it sits in an unpacked bundle
# (coverage-app/install-linux.sh), else to dist/coverage-app of the clone it belongs to.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
OPT="${COVERAGE_APP_OPT:-$HOME/.local/opt}"
BIN="${COVERAGE_APP_BIN:-$HOME/.local/bin}"
DEST="$OPT/coverage-app"
APPS="$DATA_HOME/applications"
ICONS="$DATA_HOME/icons/hicolor"
MIME="$DATA_HOME/mime"

refresh_caches() {
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$APPS" 2>/dev/null || true
  command -v update-mime-database >/dev/null && update-mime-database "$MIME" >/dev/null 2>&1 || true
  command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t -f "$ICONS" 2>/dev/null || true
}

if [[ "${1:-}" == "--uninstall" ]]; then
  rm -rf "$DEST"
  [[ -L "$BIN/coverage-app" ]] && rm -f "$BIN/coverage-app"
  rm -f "$APPS/coverage-app.desktop" "$ICONS/256x256/apps/coverage-app.png" "$ICONS/scalable/apps/coverage-app.svg" \
        "$MIME/packages/coverage-app.xml"
  refresh_caches
  echo "coverage-app removed (your projects, settings and ~/.cache/coverage-app are kept)"
  exit 0
fi

if [[ -n "${1:-}" ]]; then
  SRC="$(cd "$1" && pwd)"
elif [[ -x "$HERE/coverage-app" && -d "$HERE/_internal" ]]; then
  SRC="$HERE"
else
  SRC="$(cd "$HERE/.." && pwd)/dist/coverage-app"
fi
[[ -x "$SRC/coverage-app" && -d "$SRC/_internal" ]] || {
  echo "install-linux.sh: no bundle at $SRC (build one with: bash packaging/build.sh)" >&2; exit 1; }

# The launcher and icon travel inside the bundle (build.sh copies them); fall back to packaging/.
asset() { if [[ -f "$SRC/$1" ]]; then echo "$SRC/$1"; else echo "$HERE/$1"; fi; }
DESKTOP="$(asset coverage-app.desktop)"; PNG="$(asset icon.png)"; SVG="$(asset icon.svg)"
for f in "$DESKTOP" "$PNG" "$SVG"; do [[ -f "$f" ]] || { echo "install-linux.sh: $f is missing" >&2; exit 1; }; done

# Copy to a new folder first, then swap, so an interrupted install leaves the old version working.
mkdir -p "$OPT" "$BIN" "$APPS" "$ICONS/256x256/apps" "$ICONS/scalable/apps" "$MIME/packages"
if [[ "$SRC" != "$DEST" ]]; then
  rm -rf "$DEST.new" "$DEST.old"
  cp -a "$SRC" "$DEST.new"
  [[ -e "$DEST" ]] && mv "$DEST" "$DEST.old"
  mv "$DEST.new" "$DEST"
  rm -rf "$DEST.old"
fi
ln -sfn "$DEST/coverage-app" "$BIN/coverage-app"

install -m 644 "$PNG" "$ICONS/256x256/apps/coverage-app.png"
install -m 644 "$SVG" "$ICONS/scalable/apps/coverage-app.svg"
sed -e "s|^Exec=.*|Exec=\"$DEST/coverage-app\" %f|" -e "s|^TryExec=.*|TryExec=$DEST/coverage-app|" \
  "$DESKTOP" >"$APPS/coverage-app.desktop"
chmod 644 "$APPS/coverage-app.desktop"
cat >"$MIME/packages/coverage-app.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">
  <mime-type type="application/x-coverage-app-project">
    <comment>Coverage analyser project</comment>
    <sub-class-of type="application/json"/>
    <icon name="coverage-app"/>
    <glob pattern="*.covproj"/>
  </mime-type>
</mime-info>
EOF
refresh_caches

echo "installed coverage-app $(du -sh "$DEST" | cut -f1) in $DEST"
echo "  start it from the applications menu (Coverage analyser), or run: coverage-app"
case ":$PATH:" in *":$BIN:"*) ;; *) echo "  (add $BIN to PATH to use the coverage-app command)";; esac
echo "  uninstall: bash $DEST/install-linux.sh --uninstall"
