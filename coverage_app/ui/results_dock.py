"""The results dock: headline figures, township table, uncovered villages, coverage curve,
scenario comparison. Selecting a township or a village asks the map to zoom to it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QLabel, QLineEdit, QPlainTextEdit, QPushButton,
                               QTabWidget, QVBoxLayout, QWidget)

from coverage_app.core.outputs import symbology as sym

from .render import style_icon
from .small_widgets import scrolling
from .tables import FrozenColumnView

# the figures that matter first (people and % without care), the name column frozen
TOWNSHIP_COLUMNS = [("name_en", "Township"), ("pct_noprim", "No primary\n(%)"),
                    ("pop_noprim", "No primary\n(people)"), ("pct_nosec", "No secondary\n(%)"),
                    ("pop_nosec", "No secondary\n(people)"), ("pop", "Population\n(villages)"),
                    ("vil_noprim", "Villages\nno primary"), ("vil_nosec", "Villages\nno secondary"),
                    ("pct_prim", "Within\nprimary (%)"), ("pct_sec", "Within\nsecondary (%)"),
                    ("pop_prim", "Within primary\n(people)"), ("pop_sec", "Within secondary\n(people)"),
                    ("n_villages", "Villages"), ("census_pop", "Census\n2014"), ("served_pop", "Served within\ncapacity"),
                    ("unserved_pop", "Beyond\ncapacity"), ("name_my", "မြို့နယ်"),
                    ("pcode", "Pcode")]
VILLAGE_COLUMNS = [("name_en", "Village"), ("population", "Population"), ("gap", "Gap"), ("zone", "Conflict\nzone"),
                   ("prim_min", "Min. to\nprimary"), ("sec_min", "Min. to\nsecondary"), ("township", "Township"),
                   ("name_my", "ရွာ"), ("pop_basis", "Placed\nby"), ("pcode", "Pcode")]
# how a village's point (and its share of the census) was placed (README: Population basis)
POP_BASIS_LABELS = {"observed": "located", "placed_tract": "tract point", "placed_township": "township point",
                    "urban_ward": "ward point", "urban_town": "town point"}
COMPARE_COLUMNS = [("name_en", "Township"), ("pop_lose_prim", "Losing\nprimary"),
                   ("pop_gain_prim", "Gaining\nprimary"), ("pop_lose_sec", "Losing\nsecondary"),
                   ("pop_gain_sec", "Gaining\nsecondary"), ("vil_loses_primary", "Villages\nlosing prim."),
                   ("vil_loses_secondary", "Villages\nlosing sec."), ("pcode", "Pcode")]
GAP_LABELS = {g: s.label for g, s in sym.GAP_STYLES.items()}


def _fmt(value, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if column.startswith("pct"):
        return f"{float(value):.1f}%"
    if column.endswith("_min"):
        return f"{float(value):.0f}"
    if isinstance(value, (int, np.integer)) or (isinstance(value, (float, np.floating)) and float(value).is_integer()):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):,.1f}"
    if column == "gap":
        return GAP_LABELS.get(str(value), str(value))
    if column == "zone":
        return str(value).replace("_", "-")  # no-go, restricted, risk
    if column == "pop_basis":
        return POP_BASIS_LABELS.get(str(value), str(value))
    return str(value)


class FrameModel(QAbstractTableModel):
    """A read-only table over a DataFrame, sorted and filtered with pandas/numpy (not per
    row in Python through a proxy model, which takes seconds for thousands of villages)."""

    def __init__(self, columns: list[tuple[str, str]], search_columns=(), parent=None, marker_column=None):
        super().__init__(parent)
        self.columns = columns
        self.search_columns = tuple(search_columns)
        # the name column (frozen, always in view) shows this column's gap class as the map's dot
        # and names it in its tooltip: a narrow dock hides the column itself to the right
        self.marker_column = marker_column
        self.frame = pd.DataFrame()
        self._values: list[np.ndarray] = []
        self._rows = np.zeros(0, dtype=np.int64)   # frame rows shown, in display order
        self._order = np.zeros(0, dtype=np.int64)  # frame rows in sort order
        self._sort = None
        self._text = ""
        self._haystack = None

    # -- content ------------------------------------------------------------------------
    def set_frame(self, frame: pd.DataFrame | None) -> None:
        self.beginResetModel()
        frame = pd.DataFrame() if frame is None else frame
        self.frame = frame.reset_index(drop=True)
        self._values = [self.frame[c].to_numpy() if c in self.frame else np.full(len(self.frame), None)
                        for c, _ in self.columns]
        self._haystack = None
        self._order = np.arange(len(self.frame), dtype=np.int64)
        if self._sort is not None:
            self._order = self._sorted_order(*self._sort)
        self._rows = self._filtered(self._order)
        self.endResetModel()

    def _sorted_order(self, column: int, order) -> np.ndarray:
        values = pd.Series(self._values[column])
        if not len(values):
            return np.zeros(0, dtype=np.int64)
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() >= max(1, values.notna().sum()):
            key = numeric.to_numpy(dtype=float)
        else:
            key = values.astype(str).str.lower().to_numpy()
        idx = np.argsort(key, kind="stable")
        if order == Qt.DescendingOrder:
            idx = idx[::-1]
        if key.dtype.kind == "f":  # missing values always last
            missing = np.isnan(key[idx])
            idx = np.concatenate([idx[~missing], idx[missing]])
        return idx.astype(np.int64)

    def _filtered(self, order: np.ndarray) -> np.ndarray:
        if not self._text or not len(order):
            return order
        if self._haystack is None:
            self._haystack = [pd.Series(self._values[i]).astype(str).str.lower() for i in self.search_columns
                              if i < len(self._values)]
        hit = np.zeros(len(self.frame), dtype=bool)
        for part in self._haystack:
            hit |= part.str.contains(self._text, regex=False).to_numpy(dtype=bool)
        return order[hit[order]]

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        self._sort = (column, order)
        if not len(self.frame):
            return
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._order = self._sorted_order(column, order)
        self._rows = self._filtered(self._order)
        self.layoutChanged.emit()

    def set_text(self, text: str) -> None:
        """Show only rows whose search columns (name, pcode) contain ``text``."""
        self.beginResetModel()
        self._text = text.strip().lower()
        self._rows = self._filtered(self._order)
        self.endResetModel()

    # -- Qt model -----------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        value = self._values[index.column()][self._rows[index.row()]]
        column = self.columns[index.column()][0]
        if role == Qt.DisplayRole:
            return _fmt(value, column)
        if role == Qt.ToolTipRole and index.column() == 0:  # the whole name where it is elided
            gap = self.row_value(index.row(), self.marker_column) if self.marker_column else None
            return _fmt(value, column) + (f" ({GAP_LABELS[gap].lower()})" if gap in GAP_LABELS else "")
        if role == Qt.DecorationRole and index.column() == 0 and self.marker_column:
            gap = self.row_value(index.row(), self.marker_column)  # the layer panel's swatch of the class
            return style_icon(sym.GAP_STYLES[gap], "point", 10) if gap in sym.GAP_STYLES else None
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignRight | Qt.AlignVCenter) if isinstance(value, (int, float, np.number)) \
                else int(Qt.AlignLeft | Qt.AlignVCenter)
        if role == Qt.ForegroundRole and column == "gap" and value in sym.GAP_STYLES:
            return QColor(sym.GAP_STYLES[value].stroke or sym.GAP_STYLES[value].fill)
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.columns[section][1]
        return None

    def row_value(self, row: int, column: str):
        """Value of ``column`` in the displayed ``row``."""
        if column not in self.frame or not 0 <= row < len(self._rows):
            return None
        return self.frame[column].iloc[int(self._rows[row])]


class CurveChart(QWidget):
    """Share of population within t minutes (matplotlib Figure, no pyplot).

    matplotlib is imported on the first curve, not at start-up (it costs ~0.4 s)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.figure = None
        self.canvas = None
        self.placeholder = QLabel("Run an analysis to see the coverage curve.")
        self.placeholder.setAlignment(Qt.AlignCenter)
        self.placeholder.setStyleSheet("color:#666666")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.placeholder)

    def _ensure_canvas(self) -> None:
        if self.canvas is not None:
            return
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        from coverage_app.core.outputs.fonts import register_matplotlib_fonts

        self.families = register_matplotlib_fonts()
        self.figure = Figure(figsize=(5, 3), dpi=90, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.placeholder.hide()
        self._layout.addWidget(self.canvas)

    def plot(self, curve: pd.DataFrame | None, params=None) -> None:
        if curve is None and self.canvas is None:
            return
        self._ensure_canvas()
        import matplotlib

        with matplotlib.rc_context({"font.family": self.families, "font.size": 9}):
            self.figure.clear()
            ax = self.figure.add_subplot(1, 1, 1)
            if curve is None or not len(curve):
                ax.text(0.5, 0.5, "Run an analysis to see the coverage curve", ha="center", va="center",
                        transform=ax.transAxes, color="#666666")
                ax.set_axis_off()
            else:
                ax.plot(curve["minutes"], 100 * curve["primary_share"], color=sym.TRAVEL_TIME_COLOURS[0], lw=2,
                        label="Primary care")
                ax.plot(curve["minutes"], 100 * curve["secondary_share"], color="#8e0152", lw=2,
                        label="Secondary care")
                if params is not None:
                    ax.axvline(params.primary_minutes, color=sym.TRAVEL_TIME_COLOURS[0], ls=":", lw=1)
                    ax.axvline(params.secondary_minutes, color="#8e0152", ls=":", lw=1)
                ax.set_xlabel("Travel time (minutes)")
                ax.set_ylabel("Population within reach (%)")
                ax.set_xlim(0, float(curve["minutes"].max()))
                ax.set_ylim(0, 100)
                ax.grid(alpha=0.3)
                ax.legend(loc="lower right", frameon=False)
            self.canvas.draw_idle()


class ResultsDock(QWidget):
    township_selected = Signal(str)
    village_selected = Signal(str)
    sweep_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("results_tabs")
        # summary
        self.summary = QLabel("No analysis yet: set the parameters and press Run analysis.")
        self.summary.setObjectName("headline")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        self.summary.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.problems = QPlainTextEdit()
        self.problems.setReadOnly(True)
        self.problems.setMaximumHeight(110)
        self.problems.setPlaceholderText("Notes and warnings from the analysis appear here.")
        page = QWidget()
        pl = QVBoxLayout(page)
        # the figures scroll (a laptop's dock is shorter than they are), never sideways
        self.summary_scroll = scrolling(self.summary, sideways=False)
        self.summary_scroll.setObjectName("summary_scroll")
        pl.addWidget(self.summary_scroll, 1)
        pl.addWidget(self.problems)
        sweep = QPushButton("Uncertainty sweep…", objectName="sweep_button")
        sweep.setToolTip("Monte Carlo draws of speeds, zones and facility status: probability of access")
        sweep.clicked.connect(self.sweep_requested)
        pl.addWidget(sweep, 0, Qt.AlignLeft)
        self.tabs.addTab(page, "Summary")
        # townships
        self.township_model = FrameModel(TOWNSHIP_COLUMNS, _search(TOWNSHIP_COLUMNS), self)
        self.township_view = FrozenColumnView(self.township_model, "townships")
        self.township_view.setObjectName("township_table")
        self.township_view.selectionModel().selectionChanged.connect(self._township_changed)
        self.tabs.addTab(self.township_view, "Townships")
        # uncovered villages
        self.village_model = FrameModel(VILLAGE_COLUMNS, _search(VILLAGE_COLUMNS), self, marker_column="gap")
        self.village_view = FrozenColumnView(self.village_model, "villages")
        self.village_view.setObjectName("village_table")
        self.village_view.selectionModel().selectionChanged.connect(self._village_changed)
        self.search = QLineEdit()
        self.search.setObjectName("village_search")
        self.search.setPlaceholderText("Search villages by name (English or Burmese) or pcode")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.village_model.set_text)
        self.village_count = QLabel("")
        self.village_count.setWordWrap(True)
        self.search.setMinimumWidth(120)
        page = QWidget()
        vl = QVBoxLayout(page)
        vl.setContentsMargins(2, 2, 2, 2)
        vl.addWidget(self.search)
        vl.addWidget(self.village_view)
        vl.addWidget(self.village_count)
        self.tabs.addTab(page, "Uncovered villages")
        # curve
        self.curve = CurveChart()
        self.tabs.addTab(self.curve, "Coverage curve")
        # comparison
        self.compare_label = QLabel("Compare two scenarios in the Scenarios panel.")
        self.compare_label.setWordWrap(True)
        self.compare_label.setTextFormat(Qt.RichText)
        self.compare_model = FrameModel(COMPARE_COLUMNS, _search(COMPARE_COLUMNS), self)
        self.compare_view = FrozenColumnView(self.compare_model, "comparison")
        self.compare_view.setObjectName("compare_table")
        self.compare_view.selectionModel().selectionChanged.connect(self._compare_changed)
        page = QWidget()
        cl = QVBoxLayout(page)
        cl.setContentsMargins(2, 2, 2, 2)
        cl.addWidget(self.compare_label)
        cl.addWidget(self.compare_view)
        self.tabs.addTab(page, "Comparison")
        from coverage_app.ui.numbers_tools import RangesAndSites  # speed ranges and siting (issue 11)

        self.extras = RangesAndSites(self)
        self.tabs.addTab(self.extras, "Ranges && sites")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self._pending_curve = None
        self.comparison_stale = False
        self.tabs.currentChanged.connect(lambda _i: self._draw_curve())

    def _draw_curve(self) -> None:
        """Drawn when its tab is shown (matplotlib costs ~0.4 s a draw)."""
        if self._pending_curve is not None and self.tabs.currentWidget() is self.curve:
            curve, params = self._pending_curve
            self._pending_curve = None
            self.curve.plot(curve, params)

    # -- content ------------------------------------------------------------------------
    def _fit_columns_once(self, view, model) -> None:
        """Fit a table's columns to the first result and whenever its columns change; a what-if
        update keeps the widths the user sees (fitting took 0.2-0.8 s of the GUI thread)."""
        fitted = self.__dict__.setdefault("_fitted_columns", {})
        columns = tuple(c[0] for c in model.columns)
        if fitted.get(id(view)) != columns or not model.rowCount():
            view.fit_columns()
            fitted[id(view)] = columns if model.rowCount() else None

    def show_result(self, result, stale: bool = False, scenario_name: str | None = None) -> None:
        self.extras.show_result(result)
        if result is None:
            self.summary.setText("No analysis yet: set the parameters and press Run analysis.")
            self.township_model.set_frame(None)
            self.village_model.set_frame(None)
            self._pending_curve = None
            self.curve.plot(None)
            self.problems.setPlainText("")
            return
        self.summary.setText(headline_html(result, stale, scenario_name))
        towns = township_figures(result.townships)
        if result.capacity is not None:  # capacity-aware: served / beyond capacity, within the threshold
            towns = towns.merge(result.capacity.rename(columns={"township_pcode": "pcode"}), on="pcode", how="left")
        self.township_model.set_frame(towns)
        self.township_view.sortByColumn(2, Qt.DescendingOrder)  # most people without primary care first
        self._fit_columns_once(self.township_view, self.township_model)
        villages = pd.DataFrame(result.villages.drop(columns="geometry", errors="ignore"))
        uncovered = villages[villages["gap"].astype(str) != "none"].copy() if "gap" in villages else villages
        if "township_pcode" in uncovered and "pcode" in towns and "name_en" in towns:
            uncovered["township"] = uncovered["township_pcode"].map(towns.set_index("pcode")["name_en"])
        self.village_model.set_frame(uncovered)
        self.village_view.sortByColumn(1, Qt.DescendingOrder)
        self._fit_columns_once(self.village_view, self.village_model)
        self.village_count.setText(f"{len(uncovered):,} of {len(villages):,} villages lack primary or secondary "
                                   "care within the thresholds")
        self._pending_curve = (result.curve, result.params)
        if self.tabs.currentWidget() is self.curve:
            self._draw_curve()
        notes = [str(p) for p in (result.problems or [])]
        timings = getattr(result, "timings_s", None) or {}
        if timings:
            notes.append("Timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()
                                                  if isinstance(v, (int, float))))
        self.problems.setPlainText("\n".join(notes))

    def show_comparison(self, comparison, name_a: str, name_b: str) -> None:
        if comparison is None:
            self.comparison_stale = False
            self.compare_model.set_frame(None)
            self.compare_label.setText("Compare two scenarios in the Scenarios panel.")
            return
        self.comparison_stale = False
        s = comparison.summary()
        self.compare_label.setText(
            f"<b>{name_b}</b> compared with <b>{name_a}</b>: "
            f"<span style='color:#d01c8b'><b>{s['pop_lose_prim']:,.0f}</b> people lose primary care</span>, "
            f"{s['pop_lose_sec']:,.0f} lose secondary care; {s['pop_gain_prim']:,.0f} gain primary, "
            f"{s['pop_gain_sec']:,.0f} gain secondary. {s['villages_changed']:,} village changes "
            "(highlighted on the map).")
        self.compare_model.set_frame(pd.DataFrame(comparison.townships))
        self.compare_view.sortByColumn(1, Qt.DescendingOrder)
        self.compare_view.fit_columns()
        self.tabs.setCurrentIndex(4)

    def mark_comparison_stale(self) -> None:
        text = self.compare_label.text()
        if "Out of date" not in text:
            self.compare_label.setText("<p style='color:#b2182b'><b>Out of date</b>: a compared scenario changed; "
                                       "press Compare again in the Scenarios panel.</p>" + text)
        self.comparison_stale = True

    # -- selection ----------------------------------------------------------------------
    def _selected(self, view, model, column: str) -> str | None:
        rows = view.selectionModel().selectedRows()
        if not rows:
            return None
        value = model.row_value(rows[0].row(), column)
        return None if value is None else str(value)

    def _township_changed(self, *_):
        pcode = self._selected(self.township_view, self.township_model, "pcode")
        if pcode:
            self.township_selected.emit(pcode)

    def _village_changed(self, *_):
        pcode = self._selected(self.village_view, self.village_model, "pcode")
        if pcode:
            self.village_selected.emit(pcode)

    def _compare_changed(self, *_):
        pcode = self._selected(self.compare_view, self.compare_model, "pcode")
        if pcode:
            self.township_selected.emit(pcode)

    def select_township_row(self, proxy_row: int) -> None:
        self.township_view.selectRow(proxy_row)

    def select_village_row(self, proxy_row: int) -> None:
        self.village_view.selectRow(proxy_row)


def _search(columns) -> tuple[int, ...]:
    """Columns a search looks in: names and pcodes."""
    return tuple(i for i, (c, _t) in enumerate(columns) if c in ("name_en", "name_my", "pcode"))


def township_figures(townships) -> pd.DataFrame:
    """The township table with people and % without primary / secondary care (people:
    village population; % of the township's village population, 0-100)."""
    towns = pd.DataFrame(townships.drop(columns="geometry", errors="ignore")).copy()
    if {"pop", "pop_prim", "pop_sec"} <= set(towns):
        towns["pop_noprim"] = towns["pop"] - towns["pop_prim"]
        towns["pop_nosec"] = towns["pop"] - towns["pop_sec"]
        pop = towns["pop"].where(towns["pop"] > 0)
        towns["pct_noprim"] = (100 * towns["pop_noprim"] / pop).round(1)
        towns["pct_nosec"] = (100 * towns["pop_nosec"] / pop).round(1)
    return towns


def headline_html(result, stale: bool = False, scenario_name: str | None = None) -> str:
    from coverage_app.core.data.population import basis_text

    h = result.headline()
    p = result.params
    pop = h["population"] or 0

    def share(x):
        return f"{100 * x / pop:.1f}%" if pop else "–"

    as_of = getattr(result, "scenario", None) or {}
    date = as_of.get("as_of") if isinstance(as_of, dict) else None
    lines = [
        f"<h3 style='margin:0'>Access to care — {scenario_name or 'baseline'}</h3>",
        f"<p style='color:#555'>{p.mode}, cells of {p.cell_size_m:g} m, as of "
        f"{date or (p.as_of.isoformat() if p.as_of else 'today')}; thresholds: primary {p.primary_minutes:g} min, "
        f"secondary {p.secondary_minutes:g} min</p>",
    ]
    if stale:  # first, where it is seen without scrolling: the figures below are the old run's
        lines.append("<p style='color:#b2182b'><b>These results are out of date</b>: the parameters or layers "
                     "changed since the run. Press Run analysis.</p>")
    lines += [
        "<table cellspacing='0' cellpadding='3'>",
        f"<tr><td>People without primary care within {p.primary_minutes:g} min</td>"
        f"<td align='right'><b style='color:#b35806'>{h['pop_no_primary']:,.0f}</b></td>"
        f"<td align='right'>{share(h['pop_no_primary'])}</td></tr>",
        f"<tr><td>Villages without primary care</td><td align='right'><b>{h['villages_no_primary']:,}</b></td>"
        f"<td align='right'>of {h['villages']:,}</td></tr>",
        f"<tr><td>People without secondary care within {p.secondary_minutes:g} min</td>"
        f"<td align='right'><b style='color:#8e0152'>{h['pop_no_secondary']:,.0f}</b></td>"
        f"<td align='right'>{share(h['pop_no_secondary'])}</td></tr>",
        f"<tr><td>Villages without secondary care</td><td align='right'><b>{h['villages_no_secondary']:,}</b></td>"
        f"<td align='right'>of {h['villages']:,}</td></tr>",
        f"<tr><td>{basis_text(getattr(result, 'population_basis', None))}</td><td align='right'>{pop:,.0f}</td>"
        "<td></td></tr>",
        f"<tr><td>Facilities counted (primary / secondary)</td><td align='right'>"
        f"{h['facilities_counted_primary']} / {h['facilities_counted_secondary']}</td><td></td></tr>",
    ]
    if h.get("pop_in_zones"):  # where travel is slowed; a share of the villages' people (not a population grid's)
        village_pop = float(result.villages["population"].fillna(0).sum())
        of_villages = f"{100 * h['pop_in_zones'] / village_pop:.1f}%" if village_pop else "–"
        lines += [f"<tr><td>People in conflict zones in force (travel slowed)</td>"
                  f"<td align='right'>{h['pop_in_zones']:,.0f}</td><td align='right'>{of_villages}</td></tr>",
                  f"<tr><td>&nbsp;&nbsp;of them without primary care</td>"
                  f"<td align='right'>{h['pop_in_zones_no_primary']:,.0f}</td><td></td></tr>"]
    lines.append("</table>")
    if h.get("pop_served_capacity") is not None:  # capacity-aware coverage (capacity or beds x people per bed)
        lines.append(f"<p>Within capacity: <b>{h['pop_served_capacity']:,.0f}</b> people ({share(h['pop_served_capacity'])}) "
                     f"are within {p.primary_minutes:g} min of a primary facility that has room for them"
                     + (f" (capacity = beds x {p.people_per_bed:g} people where none is given)" if p.people_per_bed
                        else "") + ".</p>")
    if h.get("assumed_unknown"):
        lines.append(f"<p style='color:#7b5800'>{h['assumed_unknown']} facilities of <b>unknown status</b> were "
                     "assumed to be functioning (untick “Count facilities of unknown status” to leave them out).</p>")
    return "\n".join(lines)
