"""Take the README screenshot of the main window with an analysis result.

    python docs/screenshots/make_screenshots.py [--out docs/screenshots/main_window.png] [--mode motorbike]

With a DISPLAY (e.g. ``Xvfb :99 -screen 0 1600x1000x24 &`` then ``DISPLAY=:99``) it grabs
the real window from the screen (QScreen.grabWindow); without one it renders offscreen
(QWidget.grab). Settings and autosave go to a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("main_window.png"))
    parser.add_argument("--mode", default="motorbike")
    parser.add_argument("--cell", type=float, default=250.0)
    parser.add_argument("--size", default="1600x1000")
    parser.add_argument("--offscreen-copy", type=Path, default=None,
                        help="also save QWidget.grab() (the offscreen rendering) here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from screenshot_app import start_app

    create_window, _ = start_app()
    from PySide6.QtCore import QTimer

    window = create_window(["--no-restore"])
    w, h = (int(v) for v in args.size.split("x"))
    window.resize(w, h)
    window.move(0, 0)
    window.show()

    def wait(predicate, timeout=120):
        """Run the event loop until ``predicate()`` holds."""
        from PySide6.QtCore import QEventLoop

        loop = QEventLoop()
        poll = QTimer()
        poll.timeout.connect(lambda: loop.quit() if predicate() else None)
        poll.start(10)
        QTimer.singleShot(int(timeout * 1000), loop.quit)
        if not predicate():
            loop.exec()
        poll.stop()
        if not predicate():
            raise SystemExit("timed out")

    wait(lambda: window.data is not None)
    wait(lambda: not window.tasks.running)
    if getattr(window.layers, "zawgyi_box", None) is not None:
        window.layers.zawgyi_box.close()
    panel = window.analysis_panel
    panel.mode.setCurrentIndex(panel.mode.findData(args.mode))
    panel.cell.setValue(args.cell)
    window.analysis.run_analysis()
    wait(lambda: window.result is not None and not window.tasks.running)
    window.canvas.zoom_full()
    settle = time.time() + 0.6
    wait(lambda: time.time() > settle)  # let the docks and the map settle
    window.canvas.repaint()
    if args.offscreen_copy:
        window.grab().save(str(args.offscreen_copy))
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        image = window.grab()
    else:
        image = window.screen().grabWindow(0, 0, 0, w, h)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(args.out), "PNG", 9)
    try:  # a 256-colour palette keeps the README image small (Pillow comes with matplotlib)
        from PIL import Image

        Image.open(args.out).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                     dither=Image.Dither.NONE).save(args.out, optimize=True)
    except ImportError:
        pass
    print(f"saved {args.out} ({args.out.stat().st_size // 1024} KB)")
    window.dirty = False
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
