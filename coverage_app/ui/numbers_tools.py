"""Issue 11 in the window: the results dock's "Ranges & sites" tab (speed-sensitivity ranges,
suggested sites) and File > Import facility status table.

:class:`RangesAndSites` is the view (a tab the results dock adds); :class:`NumbersController`
does the work: every computation is a core call started through :mod:`coverage_app.ui.tasks`
(progress and cancel), a suggested site becomes an ``add_facility`` edit through the
scenario controller, an imported status table goes into the project's ledger.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QCheckBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from coverage_app.ui import dialogs
from coverage_app.ui.session import Controller
from coverage_app.ui.small_widgets import fill_with_scrolling

SITES_LAYER = "Suggested sites"
RANGE_COLUMNS = [("name_en", "Township"), ("pct_lo", "% primary\nlow speeds"), ("pct_prim", "% primary\ncentral"),
                 ("pct_hi", "% primary\nhigh speeds"), ("pct_sec_lo", "% secondary\nlow speeds"),
                 ("pct_sec", "% secondary\ncentral"), ("pct_sec_hi", "% secondary\nhigh speeds"), ("pcode", "Pcode")]
SITE_COLUMNS = [("rank", "Rank"), ("site", "Site\n(village)"), ("gain_pop", "People\ngained"),
                ("gain_vil", "Villages\ngained"), ("cum_pop", "Cumulative\npeople"), ("lon", "Lon"), ("lat", "Lat")]


# ----------------------------------------------------------------------------- work (worker thread)

def _sensitivity_job(result, data, feedback=None):
    from coverage_app.core.analysis.sensitivity import add_sensitivity

    return add_sensitivity(result, data, feedback=feedback)


def _sites_job(result, count, feedback=None):
    from coverage_app.core.analysis.siting import suggest_sites

    return suggest_sites(result, count, feedback=feedback)


# ----------------------------------------------------------------------------- the tab

class RangesAndSites(QWidget):
    """Speed-sensitivity ranges of the shown result and siting suggestions (the view; the work is
    :class:`NumbersController`'s, set as ``controller`` when the window wires it)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        from coverage_app.ui.results_dock import FrameModel
        from coverage_app.ui.tables import FrozenColumnView

        self.controller: NumbersController | None = None
        self.result = None
        self.picks = None
        # sensitivity
        self.sensitivity = QCheckBox("Show low / high ranges (3 runs)")
        self.sensitivity.setObjectName("sensitivity_toggle")
        self.sensitivity.setToolTip("Re-runs the analysis with slower and faster speeds (unmapped tracks and "
                                    "every speed x0.8 / x1.2; README: Last-mile travel) and shows each figure "
                                    "as a range; exports then carry pct_lo / pct_hi")
        self.sensitivity.toggled.connect(self._sensitivity_toggled)
        self.range_label = QLabel("")
        self.range_label.setObjectName("range_label")
        self.range_label.setWordWrap(True)
        self.range_label.setTextFormat(Qt.RichText)
        self.range_label.setMinimumHeight(self.range_label.fontMetrics().height() * 6)  # wrapped lines fit
        self.range_model = FrameModel(RANGE_COLUMNS, (0, 7), self)
        self.range_view = FrozenColumnView(self.range_model, "ranges")
        self.range_view.setObjectName("range_table")
        box = QGroupBox("Speed sensitivity")
        bl = QVBoxLayout(box)
        bl.addWidget(self.sensitivity)
        bl.addWidget(self.range_label)
        bl.addWidget(self.range_view, 1)
        # sites
        self.count = QSpinBox()
        self.count.setObjectName("site_count")
        self.count.setRange(1, 20)
        self.count.setValue(5)
        self.count.setPrefix("k = ")
        self.suggest = QPushButton("Suggest sites")
        self.suggest.setObjectName("suggest_sites")
        self.suggest.setToolTip("Greedy maximal covering: the uncovered villages where a new primary-care site "
                                "would bring the most people within the primary threshold")
        self.suggest.clicked.connect(lambda: self.controller.suggest_sites() if self.controller else None)
        self.add_site = QPushButton("Add selected site to scenario")
        self.add_site.setObjectName("add_site")
        self.add_site.clicked.connect(lambda: self.controller.add_selected_site() if self.controller else None)
        self.sites_label = QLabel("Run an analysis, then suggest sites.")
        self.sites_label.setObjectName("sites_label")
        self.sites_label.setWordWrap(True)
        self.site_model = FrameModel(SITE_COLUMNS, (1,), self)
        self.site_view = FrozenColumnView(self.site_model, "sites")
        self.site_view.setObjectName("site_table")
        row = QHBoxLayout()  # two rows: the three side by side are wider than a laptop's results dock
        row.addWidget(self.count)
        row.addWidget(self.suggest)
        row.addStretch(1)
        sites = QGroupBox("New primary-care sites")
        sl = QVBoxLayout(sites)
        sl.addLayout(row)
        sl.addWidget(self.add_site, 0, Qt.AlignLeft)
        sl.addWidget(self.sites_label)
        sl.addWidget(self.site_view, 1)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(box, 1)
        layout.addWidget(sites, 1)
        self.scroll = fill_with_scrolling(self, inner, sideways=False)
        self.update_buttons()

    def show_result(self, result) -> None:
        if result is not self.result:
            self.picks = None
            self.site_model.set_frame(None)
            self.sites_label.setText("Suggest sites to see where new primary-care sites would add the most "
                                     "people." if result is not None else "Run an analysis, then suggest sites.")
        self.result = result
        self.show_ranges()
        if result is not None and self.sensitivity.isChecked() and result.sensitivity is None and self.controller:
            self.controller.start_sensitivity(result)
        self.update_buttons()

    def update_buttons(self) -> None:
        ready = self.result is not None and self.controller is not None
        self.suggest.setEnabled(ready and getattr(self.result, "friction", None) is not None)
        self.add_site.setEnabled(ready and self.picks is not None and len(self.picks) > 0)

    def _sensitivity_toggled(self, on: bool) -> None:
        if on and self.result is not None and self.result.sensitivity is None and self.controller:
            self.controller.start_sensitivity(self.result)
        self.show_ranges()

    def show_ranges(self) -> None:
        r = self.result
        if r is None or r.sensitivity is None or not self.sensitivity.isChecked():
            self.range_model.set_frame(None)
            if not self.sensitivity.isChecked() or r is None:
                self.range_label.setText("")
            return
        self.range_label.setText(range_html(r))
        towns = pd.DataFrame(r.townships.drop(columns="geometry", errors="ignore"))
        self.range_model.set_frame(towns.merge(r.sensitivity["townships"], on="pcode", how="left"))
        self.range_view.fit_columns()

    def show_picks(self, picks, params) -> None:
        self.picks = picks
        self.site_model.set_frame(pd.DataFrame(picks.drop(columns="geometry")))
        self.site_view.sortByColumn(0, Qt.AscendingOrder)  # by rank
        self.site_view.fit_columns()
        total = int(picks["cum_pop"].iloc[-1]) if len(picks) else 0
        self.sites_label.setText(
            f"{len(picks)} site(s) bring {total:,} more people within {params.primary_minutes:g} min of primary "
            "care (each gain equals a full run with the site added). Select one and add it to the scenario to "
            "test it." if len(picks) else "No site would bring anyone new within reach.")
        self.update_buttons()

    def selected_pick(self) -> dict | None:
        if self.picks is None or not len(self.picks):
            return None
        rows = self.site_view.selectionModel().selectedRows()
        rank = self.site_model.row_value(rows[0].row(), "rank") if rows else self.picks["rank"].iloc[0]
        return self.picks.set_index("rank").loc[int(rank)].to_dict() | {"rank": int(rank)}


class NumbersController(Controller):
    """Runs the sensitivity cases and the site search for the tab, adds sites as scenario edits,
    imports status tables."""

    def __init__(self, session, tasks, widget, stack, canvas, view: RangesAndSites, scenarios, analysis,
                 status=None):
        super().__init__(session, tasks, widget, status)
        self.stack, self.canvas, self.view = stack, canvas, view
        self.scenarios, self.analysis = scenarios, analysis
        view.controller = self
        view.update_buttons()

    def start_sensitivity(self, result):
        from coverage_app.ui import jobs

        if self.data is None:
            return None
        self.view.range_label.setText("Running the low and high speed cases…")

        def done(out):
            if out is self.view.result:
                self.view.show_ranges()

        return self.tasks.start(_sensitivity_job, result, jobs.snapshot(self.data), label="Speed sensitivity",
                                group="sensitivity", replace=True, on_done=done,
                                on_error=lambda exc: self.task_error("Speed sensitivity", exc),
                                on_cancelled=lambda: self.view.range_label.setText("Sensitivity cancelled"))

    def suggest_sites(self):
        result = self.view.result
        if result is None:
            return None
        self.view.sites_label.setText("Searching candidate sites…")

        def done(picks):
            if result is self.view.result:
                self.view.show_picks(picks, result.params)
                self._show_sites_on_map(picks)

        return self.tasks.start(_sites_job, result, int(self.view.count.value()), label="Suggesting sites",
                                group="sites", replace=True, on_done=done,
                                on_error=lambda exc: self.task_error("Suggest sites", exc),
                                on_cancelled=lambda: self.view.sites_label.setText("Site search cancelled"))

    def _show_sites_on_map(self, picks: gpd.GeoDataFrame) -> None:
        from coverage_app.ui.maplayers import VectorLayer

        layers = self.session.result_layers
        layer = layers.get("sites")
        if layer is None:
            layer = VectorLayer(SITES_LAYER, "reference", picks, self.canvas.crs, result=True, visible=True,
                                style={"fill": "#1a9850", "stroke": "#000000", "size": 9.0, "marker": "P"})
            layers["sites"] = layer
            self.stack.insert(0, layer)
        else:
            layer.set_frame(picks)
            self.stack.changed(layer)

    def add_selected_site(self) -> dict | None:
        """Add the selected suggestion (or the top one) as an add_facility edit of the active scenario."""
        pick = self.view.selected_pick()
        if pick is None:
            return None
        edit = {"type": "add_facility", "fac_id": self.scenarios.new_facility_id(),
                "name": f"Suggested site {pick['site']}", "level": "Mobile clinic", "provides_primary": True,
                "provides_secondary": False, "date": self.scenarios.default_edit_date().isoformat(),
                "lon": round(float(pick["lon"]), 6), "lat": round(float(pick["lat"]), 6), "status": "functioning"}
        self.scenarios.push_edit(edit)
        return edit

    # -- File > Import facility status table ------------------------------------------------
    def install_menu(self, menu) -> QAction:
        """Add the import action to ``menu`` (the File menu), before Export."""
        action = QAction("Import facility &status table…", self.widget)
        action.setObjectName("import_status")
        action.setToolTip("Add dated facility status reports (CSV or XLSX: fac_id, status, date, source) to the "
                          "project; the analysis uses the latest status on or before its date")
        action.triggered.connect(lambda: self.import_status())
        before = next((a for a in menu.actions() if a.objectName() == "export"), None)
        menu.insertAction(before, action) if before is not None else menu.addAction(action)
        self.import_action = action
        return action

    def import_status(self, path: str | None = None) -> int | None:
        """Ask for a status table (unless ``path``), import it into the open project, report by row."""
        from coverage_app.core.data.status import import_status_table
        from coverage_app.core.errors import InputError

        w = self.widget
        if self.project is None or self.data is None:
            dialogs.show_info(w, "Import status table", "The project is still loading.")
            return None
        path = path or dialogs.get_open_file(w, "Import facility status table", "Status tables (*.csv *.xlsx)")
        if not path:
            return None
        facilities = self.data.role("facilities")
        ids = set() if facilities is None else set(facilities["fac_id"].astype(str))
        try:
            added, _ = import_status_table(self.project, path, ids)
        except InputError as err:
            bad = [p for p in err.problems if "nothing was imported" not in p.message]
            # leaving rows out only helps when the problems are rows: a file that cannot be read, or
            # lacks a column, has no good rows (answering yes used to end in an unexpected error)
            if not bad or not all(p.rows for p in bad) or not dialogs.ask(
                    w, "Import status table", f"{Path(path).name}: {len(bad)} problem(s):\n\n"
                    + dialogs.problems_text(bad) + "\n\nImport the good rows and leave these out?",
                    default_yes=False):
                dialogs.show_problems(w, "Import status table", f"Nothing was imported from {Path(path).name}:",
                                      err.problems)
                return None
            try:
                added, _ = import_status_table(self.project, path, ids, skip_bad_rows=True)
            except InputError as again:  # the file changed or went away since
                dialogs.show_problems(w, "Import status table", f"Nothing was imported from {Path(path).name}:",
                                      again.problems)
                return None
        if added:
            self.session.set_dirty(True)
            self.analysis.mark_stale()
        dialogs.show_info(w, "Import status table",
                          f"Imported {added} status report(s) from {Path(path).name}; the project now holds "
                          f"{len(self.project.status_ledger)}. Run the analysis to use them.")
        return added


def range_html(result) -> str:
    s = result.sensitivity
    h = s["headline"]
    p = result.params
    cases = s["cases"]

    def pct(key):
        r = h[key]
        return (f"<b>{100 * r['central']:.1f}%</b> (range {100 * r['lo']:.1f}–{100 * r['hi']:.1f}%)")

    def people(key):
        r = h[key]
        return f"<b>{r['central']:,.0f}</b> ({r['lo']:,.0f}–{r['hi']:,.0f})"

    return (f"<p>{p.mode}: within {p.primary_minutes:g} min of primary care {pct('share_primary')}; within "
            f"{p.secondary_minutes:g} min of secondary care {pct('share_secondary')}.<br>"
            f"People without primary care {people('pop_no_primary')}; without secondary "
            f"{people('pop_no_secondary')}.</p><p style='color:#555'>Low: unmapped tracks "
            f"{cases['low']['off_road_kmh']:g} km/h, other speeds x{cases['low']['speed_factor']:g}; central "
            f"{cases['central']['off_road_kmh']:g} km/h; high {cases['high']['off_road_kmh']:g} km/h, "
            f"x{cases['high']['speed_factor']:g}.</p>")
