"""Screenshots of the real window at laptop and desktop sizes (issue 13), offscreen:

    python docs/screenshots/laptop_screenshots.py [--cell 1000]

For 1366x768 and 1920x1080: the map after a run (``map_<size>.png``), the township table
(``townships_<size>.png``) and the Analysis panel (``analysis_<size>.png``); then a
scenario (a mobile clinic added) printed to PDF and its first page as ``print_scenario.png``
(pdftoppm). Settings and autosave go to a temporary folder.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # this checkout, not an installed copy
from screenshot_app import close_window, idle, settle, start_app, wait  # noqa: E402  (beside this script)
CLINIC = {"type": "add_facility", "fac_id": "NEW-001", "name": "Kani mobile clinic", "level": "Mobile clinic",
          "lon": 95.05, "lat": 22.45, "status": "functioning"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cell", type=float, default=1000.0)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    create_window, tmp = start_app(offscreen=True)
    from coverage_app.ui import settings

    for w, h in ((1366, 768), (1920, 1080)):
        settings.use_settings_file(Path(tmp) / f"settings-{w}.ini")  # a first start at each size
        window = create_window(["--no-restore"])
        window.resize(w, h)
        window.show()
        wait(lambda: window.data is not None and window._docks_arranged)
        idle(window)
        window.analysis_panel.cell.setValue(args.cell)
        window.analysis.run_analysis()
        wait(lambda: window.result is not None)
        idle(window)
        settle()
        tag = f"{w}x{h}"
        c = window.canvas
        print(f"{tag}: map {c.width()}x{c.height()} = {c.width() * c.height() / (w * h):.0%} of the window; "
              f"legend {window.canvas._legend_layout()[1].width():.0f}x{window.canvas._legend_layout()[1].height():.0f}")
        window.grab().save(str(args.out / f"map_{tag}.png"))
        window.results.tabs.setCurrentWidget(window.results.township_view)
        settle(0.3)
        window.grab().save(str(args.out / f"townships_{tag}.png"))
        window.analysis_dock.raise_()
        settle(0.3)
        window.grab().save(str(args.out / f"analysis_{tag}.png"))
        if w == 1366:
            window.scenarios.new_scenario(name="Clinic at Kani")
            window.scenarios.push_edit(dict(CLINIC))
            wait(lambda: window.result is not None and window.result.scenario is not None)
            idle(window)
            settle()
            window.grab().save(str(args.out / f"scenario_{tag}.png"))
            from coverage_app.core.outputs.briefing import write_briefing

            pdf = Path(tmp) / "scenario.pdf"
            write_briefing(pdf, window.data, window.result)
            subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", "-f", "1", "-l", "1", str(pdf),
                            str(args.out / "print_scenario")], check=True)
        close_window(window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
