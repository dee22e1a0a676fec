"""Screenshots of the Uncertainty sweep (issue 15), made from the real window:

    python docs/screenshots/sweep_screenshots.py [--out docs/screenshots] [--run-on serial|local]
                                                  [--write-spec sweep_dialog.toml]

1. The window at 1400 x 900 on the bundled project; Results ▸ Uncertainty sweep… with the
   dialog's own settings: 100 draws, seed 20261202, speeds and zone factors ± 20 %, an
   'unknown' facility functions with probability 0.7, 1000 m cells, walking and motorbike,
   as of today (the app's default). The dialog (900 x 761) after the run, showing the
   motorbike case and primary care: ``sweep_dialog.png``.
2. The probability layer on the map, 1:1,200,000 around Monywa (the south of the region):
   the canvas alone (648 x 816, ``sweep_probability_canvas.png``) and the whole window
   (``sweep_probability_map.png``).
3. The dialog again with docs/sweeps/monthly.toml as its spec file (the monthly as-of
   series, 20 draws at 2000 m): ``sweep_monthly_series.png``.

The dialog runs the sweep through the SweepController and the task runner, as a user's click
does. ``--write-spec`` also writes the dialog's spec as TOML, so that
``python -m coverage_app sweep SPEC --out D`` gives the numbers shown (series.csv).
With a DISPLAY (e.g. ``Xvfb :98 -screen 0 1600x1000x24 &`` then ``DISPLAY=:98``) the
window and dialog are grabbed from the screen (QScreen.grabWindow); without one they are
rendered offscreen (QWidget.grab). Settings and autosave go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # this checkout, not an installed copy
from screenshot_app import close_window, idle, settle, start_app, wait  # noqa: E402  (beside this script)

MONTHLY = HERE.parent / "sweeps" / "monthly.toml"
WINDOW = (1400, 900)
DIALOG = (900, 761)
CANVAS = (648, 816)
CENTRE = (95.15, 22.21)    # lon, lat (degrees, WGS 84) of the map's centre: 10 km north of Monywa
SCALE = 1_200_000          # map scale 1:SCALE at the screen's logical DPI


def toml_text(spec: dict) -> str:
    """The dialog's spec dict (numbers, strings, lists, tables of those) as TOML."""
    def value(v):
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return repr(v)

    lines = [f"{k} = {value(v)}" for k, v in spec.items() if not isinstance(v, dict)]
    for k, v in spec.items():
        if isinstance(v, dict):
            lines += ["", f"[{k}]"] + [f'"{a}" = {value(b)}' if "." in a else f"{a} = {value(b)}"
                                       for a, b in v.items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--run-on", choices=("serial", "local"), default=None,
                        help="the dialog's 'Run on' (default: the dialog's default)")
    parser.add_argument("--draws", type=int, default=100, help="draws of the first sweep (100 in the README)")
    parser.add_argument("--write-spec", type=Path, default=None,
                        help="write the first sweep's spec (the dialog's settings) here as TOML")
    args = parser.parse_args(argv)
    create_window, tmp = start_app()
    offscreen = os.environ.get("QT_QPA_PLATFORM") == "offscreen"
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    SWEEP_S = 1800.0  # a sweep of 100 draws takes minutes

    def save(widget, name):
        if offscreen or not widget.isWindow():  # a child widget (the canvas) renders itself the same either way
            image = widget.grab()
        else:
            widget.raise_()
            widget.activateWindow()
            settle(0.3)
            image = widget.screen().grabWindow(widget.winId())
        path = args.out / name
        image.save(str(path), "PNG", 9)
        try:  # a 256-colour palette keeps the README images small (Pillow comes with matplotlib)
            from PIL import Image

            Image.open(path).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                     dither=Image.Dither.NONE).save(path, optimize=True)
        except ImportError:
            pass
        print(f"saved {path} ({image.width()}x{image.height()}, {path.stat().st_size // 1024} KB)")

    def run_sweep(dialog):
        dialog.result = None
        dialog.run_button.click()
        wait(lambda: dialog.result is not None or "stopped" in dialog.status.text(), SWEEP_S)
        idle(window)
        if dialog.result is None:
            raise SystemExit(dialog.status.text())
        print(dialog.result.series.to_string())
        settle()

    args.out.mkdir(parents=True, exist_ok=True)
    window = create_window(["--no-restore"])
    window.resize(*WINDOW)
    window.move(0, 0)
    window.show()
    wait(lambda: window.data is not None and window._docks_arranged)
    idle(window)
    if getattr(window.layers, "zawgyi_box", None) is not None:
        window.layers.zawgyi_box.close()

    # 1. the dialog's own settings
    window.results.findChild(QPushButton, "sweep_button").click()
    dialog = window.sweeps.dialog
    dialog.resize(*DIALOG)
    dialog.move(WINDOW[0] - DIALOG[0], 0)
    dialog.draws.setValue(args.draws)
    dialog.seed.setValue(20261202)
    dialog.cell.setValue(1000)
    for mode, box in dialog.modes.items():
        box.setChecked(mode in ("walking", "motorbike"))
    if args.run_on:
        dialog.run_on.setCurrentIndex(dialog.run_on.findData(args.run_on))
    if args.write_spec:
        args.write_spec.write_text(toml_text(dialog.spec_dict()), encoding="utf-8")
        print(f"wrote {args.write_spec}")
    run_sweep(dialog)
    dialog.case.setCurrentIndex(dialog.case.findText("motorbike", Qt.MatchStartsWith))
    dialog.tier.setCurrentIndex(dialog.tier.findData("p_prim"))
    settle()
    layer = window.session.result_layers["sweep_probability"]
    print(f"map: {layer.title}; villages per class: "
          + ", ".join(f"{c.style.label} {len(c.rows)}" for c in layer.classes()))
    save(dialog, "sweep_dialog.png")

    # 2. the probability layer on the map
    dialog.hide()
    canvas = window.canvas
    x, y = canvas.lonlat_to_map(*CENTRE)
    canvas.set_view(x, y, SCALE * 0.0254 / canvas.logicalDpiX())
    settle()
    save(window, "sweep_probability_map.png")
    # the canvas alone at its README size: the docks take what the fixed-size canvas leaves
    canvas.setFixedSize(*CANVAS)
    settle()
    canvas.set_view(x, y, SCALE * 0.0254 / canvas.logicalDpiX())
    settle()
    save(canvas, "sweep_probability_canvas.png")
    canvas.setMinimumSize(0, 0)
    canvas.setMaximumSize(16777215, 16777215)

    # 3. the monthly as-of series from its spec file
    window.sweeps.open_dialog()
    dialog.spec_path.setText(str(MONTHLY))
    dialog.spec_path.setCursorPosition(len(dialog.spec_path.text()))
    run_sweep(dialog)
    dialog.case.setCurrentIndex(0)
    settle()
    save(dialog, "sweep_monthly_series.png")

    dialog.close()
    close_window(window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
