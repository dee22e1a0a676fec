"""Sweep dialog (issue 15): Monte Carlo access probabilities from the Results dock.

The dialog builds a sweep spec from its settings (or reads a spec file), runs it through
:mod:`coverage_app.ui.tasks` (progress, cancel) with :func:`coverage_app.ui.jobs.sweep`, shows
the region's 5/50/95 % shares per case as a chart (the as-of series) and puts the villages'
probability of access on the map (graduated style from
:func:`coverage_app.core.outputs.symbology.access_probability_classes`). No computing here.
"""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QSpinBox, QVBoxLayout, QWidget)

from coverage_app.core.params import MODES

from .session import Controller

RUN_ON = (("serial", "This computer, one process"), ("local", "This computer, worker processes (dask)"),
          ("address", "A dask scheduler (address)"))
LAYER_KEY = "sweep_probability"


class SeriesChart(QWidget):
    """Region share within reach (%) per case: median line and 5–95 % band, primary and secondary."""

    def __init__(self, parent=None):
        super().__init__(parent)
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(5.2, 2.6), dpi=90, layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas)
        self.plot(None)

    def plot(self, series: pd.DataFrame | None) -> None:
        from coverage_app.core.outputs.symbology import TRAVEL_TIME_COLOURS

        self.figure.clear()
        ax = self.figure.add_subplot(1, 1, 1)
        if series is None or not len(series):
            ax.text(0.5, 0.5, "Run a sweep to see the shares", ha="center", va="center", transform=ax.transAxes,
                    color="#666666")
            ax.set_axis_off()
            self.canvas.draw_idle()
            return
        dates = series["as_of"].nunique() > 1
        x = pd.to_datetime(series["as_of"]) if dates else range(len(series))
        for short, colour, name in (("prim", TRAVEL_TIME_COLOURS[0], "Primary care"),
                                    ("sec", "#8e0152", "Secondary care")):
            lo, mid, hi = (series[f"{short}_pct{q}"] for q in (5, 50, 95))
            if len(series) > 1:
                ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)
                ax.plot(x, mid, color=colour, lw=2, label=f"{name} (median, 5–95 %)")
            else:
                ax.errorbar([0 if short == "prim" else 1], mid, yerr=[mid - lo, hi - mid], fmt="o", color=colour,
                            capsize=6, label=f"{name} (median, 5–95 %)")
        if not dates:
            labels = list(series["label"]) if len(series) > 1 else []
            ax.set_xticks(range(len(labels)) if labels else [0, 1])
            ax.set_xticklabels(labels if labels else ["Primary", "Secondary"], fontsize=8)
            ax.set_xlim(-0.6, max(len(labels), 2) - 0.4)
        ax.set_ylabel("Within reach (%)")
        ax.set_ylim(0, max(5.0, float(series[[c for c in series if c.endswith("_pct95")]].max().max()) * 1.15))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", frameon=False, fontsize=8)
        self.canvas.draw_idle()


class SweepDialog(QDialog):
    run_requested = Signal(object, object, str, object)   # source (dict or path), out dir, scheduler, workers
    cancel_requested = Signal()
    view_changed = Signal(int, str)                      # case index, "p_prim" / "p_sec"

    def __init__(self, params, parent=None):
        super().__init__(parent)
        self.setObjectName("sweep_dialog")
        self.setWindowTitle("Uncertainty sweep")
        self.result = None
        # what to vary
        box = QGroupBox("Draws")
        form = QFormLayout(box)
        self.draws = QSpinBox(objectName="sweep_draws", minimum=1, maximum=10000, value=100)
        self.seed = QSpinBox(objectName="sweep_seed", minimum=0, maximum=2**31 - 1, value=1)
        self.speed_pm = QDoubleSpinBox(objectName="sweep_speed", minimum=0, maximum=90, value=20, suffix=" %")
        self.zone_pm = QDoubleSpinBox(objectName="sweep_zone", minimum=0, maximum=90, value=20, suffix=" %")
        self.unknown_p = QDoubleSpinBox(objectName="sweep_unknown", minimum=0, maximum=1, value=0.7, singleStep=0.05)
        self.cell = QDoubleSpinBox(objectName="sweep_cell", minimum=100, maximum=5000, value=params.cell_size_m,
                                   suffix=" m", decimals=0, singleStep=250)
        self.modes = {m: QCheckBox(m, objectName=f"sweep_mode_{m}") for m in MODES}
        self.modes[params.mode if params.mode in self.modes else "walking"].setChecked(True)
        modes = QWidget()
        ml = QHBoxLayout(modes)
        ml.setContentsMargins(0, 0, 0, 0)
        for cb in self.modes.values():
            ml.addWidget(cb)
        form.addRow("Draws", self.draws)
        form.addRow("Seed", self.seed)
        form.addRow("Speeds ± (uniform)", self.speed_pm)
        form.addRow("Zone speed factors and delays ±", self.zone_pm)
        form.addRow("Probability an 'unknown' facility functions", self.unknown_p)
        form.addRow("Cell size", self.cell)
        form.addRow("Travel modes", modes)
        self.spec_path = QLineEdit(objectName="sweep_spec_path", placeholderText="or a sweep spec file (.toml)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_spec)
        row = QHBoxLayout()
        row.addWidget(self.spec_path)
        row.addWidget(browse)
        form.addRow("Spec file", row)
        self._form_widgets = [self.draws, self.seed, self.speed_pm, self.zone_pm, self.unknown_p, self.cell,
                              *self.modes.values()]
        self.spec_path.textChanged.connect(self._spec_changed)
        # where to run, where to write
        where = QGroupBox("Run")
        wf = QFormLayout(where)
        self.run_on = QComboBox(objectName="sweep_run_on")
        for key, label in RUN_ON:
            self.run_on.addItem(label, key)
        self.workers = QSpinBox(objectName="sweep_workers", minimum=1, maximum=256, value=2)
        self.address = QLineEdit(objectName="sweep_address", placeholderText="tcp://HOST:PORT")
        self.out_dir = QLineEdit(objectName="sweep_out", placeholderText="folder for GeoPackage, Shapefile, CSV "
                                                                           "(empty = not written)")
        wf.addRow("Run on", self.run_on)
        wf.addRow("Worker processes", self.workers)
        wf.addRow("Scheduler address", self.address)
        wf.addRow("Output folder", self.out_dir)
        self.run_on.currentIndexChanged.connect(self._run_on_changed)
        self._run_on_changed()
        # progress and results
        self.progress = QProgressBar(objectName="sweep_progress")
        self.progress.setRange(0, 1000)
        self.status = QLabel("Set the ranges and press Run.", objectName="sweep_status", wordWrap=True)
        self.case = QComboBox(objectName="sweep_case")
        self.tier = QComboBox(objectName="sweep_tier")
        self.tier.addItem("Primary care", "p_prim")
        self.tier.addItem("Secondary care", "p_sec")
        self.case.currentIndexChanged.connect(self._view_changed)
        self.tier.currentIndexChanged.connect(self._view_changed)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Map"))
        pick.addWidget(self.case, 1)
        pick.addWidget(self.tier)
        self.chart = SeriesChart()
        self.chart.setMinimumHeight(230)
        self.summary = QLabel("", objectName="sweep_summary", wordWrap=True, textFormat=Qt.RichText)
        buttons = QDialogButtonBox()
        self.run_button = buttons.addButton("Run", QDialogButtonBox.AcceptRole)
        self.run_button.setObjectName("sweep_run")
        self.cancel_button = buttons.addButton("Cancel sweep", QDialogButtonBox.ActionRole)
        self.cancel_button.setObjectName("sweep_cancel")
        self.cancel_button.setEnabled(False)
        close = buttons.addButton(QDialogButtonBox.Close)
        self.run_button.clicked.connect(self._run)
        self.cancel_button.clicked.connect(self.cancel_requested)
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(box, 3)
        top.addWidget(where, 2)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(pick)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)

    # -- input ---------------------------------------------------------------------------
    def _browse_spec(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Sweep spec", "", "Sweep spec (*.toml)")
        if path:
            self.spec_path.setText(path)

    def _spec_changed(self, text: str) -> None:
        for w in self._form_widgets:  # a spec file says everything itself
            w.setEnabled(not text.strip())

    def _run_on_changed(self, *_):
        key = self.run_on.currentData()
        self.workers.setEnabled(key == "local")
        self.address.setEnabled(key == "address")

    def spec_dict(self) -> dict:
        """The sweep spec (as parsed TOML) the settings describe, read against the open project."""
        vary = {}
        if self.speed_pm.value() > 0:
            f = self.speed_pm.value() / 100
            vary["speeds"] = {"uniform": [1 - f, 1 + f]}
        if self.zone_pm.value() > 0:
            f = self.zone_pm.value() / 100
            vary["zone_speed_factor"] = {"uniform": [1 - f, 1 + f]}
            vary["zone_delay"] = {"uniform": [1 - f, 1 + f]}
        vary["unknown_functioning"] = float(self.unknown_p.value())
        modes = [m for m, cb in self.modes.items() if cb.isChecked()] or ["walking"]
        return {"version": 1, "draws": int(self.draws.value()), "seed": int(self.seed.value()),
                "analysis": {"cell_size_m": float(self.cell.value())}, "cases": {"modes": modes}, "vary": vary}

    def _run(self) -> None:
        source = self.spec_path.text().strip() or self.spec_dict()
        key = self.run_on.currentData()
        scheduler = {"serial": "serial", "local": None, "address": self.address.text().strip()}[key]
        workers = int(self.workers.value()) if key == "local" else None
        self.run_requested.emit(source, self.out_dir.text().strip() or None, scheduler, workers)

    # -- state ---------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setValue(0)
            self.status.setText("Starting…")

    def set_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        if message:
            self.status.setText(message)

    @staticmethod
    def case_label(row: dict) -> str:
        return row["label"] if row["as_of"] in row["label"] else f"{row['label']} ({row['as_of']})"

    def show_result(self, result) -> None:
        self.result = result
        rows = result.series.to_dict("records")
        self.case.blockSignals(True)
        self.case.clear()
        for case, row in zip(result.cases, rows):
            self.case.addItem(self.case_label(row), case.index)
        self.case.blockSignals(False)
        self.chart.plot(result.series)
        t = result.timings_s
        shown = rows if len(rows) <= 4 else [rows[0], rows[-1]]

        def cells(r):
            return (f"<td>{self.case_label(r)}</td><td align=right>{r['prim_pct5']:.1f} / <b>{r['prim_pct50']:.1f}"
                    f"</b> / {r['prim_pct95']:.1f}</td><td align=right>{r['sec_pct5']:.1f} / <b>{r['sec_pct50']:.1f}"
                    f"</b> / {r['sec_pct95']:.1f}</td>")

        table = "".join(f"<tr>{cells(r)}</tr>" for r in shown)
        more = f" ({len(rows)} cases: the first and the last shown; all in the chart)" if len(rows) > 4 else ""
        self.summary.setText(
            f"{len(result.draws)} draws per case, {t['draws']:.1f} s on {result.scheduler}. Population within "
            f"reach, 5 / <b>50</b> / 95 % of draws{more}:<table cellspacing=6><tr><th></th><th>Primary %</th>"
            f"<th>Secondary %</th></tr>{table}</table>")
        self.status.setText("Done. The map shows each village's probability of access.")
        self._view_changed()

    def _view_changed(self, *_):
        if self.result is not None and self.case.count():
            self.view_changed.emit(int(self.case.currentData()), self.tier.currentData())


class SweepController(Controller):
    """Opens the dialog, runs sweeps through the task runner and keeps the probability layer."""

    def __init__(self, session, tasks, widget, stack, canvas, status=None):
        super().__init__(session, tasks, widget, status)
        self.stack, self.canvas = stack, canvas
        self.dialog: SweepDialog | None = None
        self.task = None

    def open_dialog(self) -> SweepDialog | None:
        if self.data is None:
            self.status("Open a project first")
            return None
        if self.dialog is None:
            self.dialog = SweepDialog(self.project.params, self.widget)
            self.dialog.run_requested.connect(self.run)
            self.dialog.cancel_requested.connect(self.cancel)
            self.dialog.view_changed.connect(self.show_layer)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def run(self, source, out_dir, scheduler, workers) -> None:
        from . import jobs

        d = self.dialog
        d.set_running(True)

        def done(result):
            d.set_running(False)
            d.show_result(result)
            self.status(f"Sweep done: {len(result.draws)} draws")

        def failed(exc):
            d.set_running(False)
            d.status.setText(f"The sweep stopped: {exc}")
            self.task_error("Sweep", exc)

        def cancelled():
            d.set_running(False)
            d.status.setText("Sweep cancelled")

        self.task = self.tasks.start(jobs.sweep, source, jobs.snapshot(self.data), out_dir, scheduler, workers,
                                     label="Sweep", group="sweep", replace=True, on_done=done, on_error=failed,
                                     on_cancelled=cancelled)
        self.task.signals.progress.connect(d.set_progress)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def show_layer(self, case_index: int, field: str) -> None:
        from .maplayers import VectorLayer

        result = self.dialog.result
        villages = result.villages[result.villages["case"] == case_index].reset_index(drop=True)
        row = result.series.iloc[case_index]
        label = row["label"] if row["as_of"] in row["label"] else f"{row['label']}, {row['as_of']}"
        title = f"Probability of {'primary' if field == 'p_prim' else 'secondary'} access: {label} (sweep)"
        layer = self.session.result_layers.get(LAYER_KEY)
        if layer is None or layer not in self.stack.layers:
            layer = VectorLayer(title, "access_probability", villages, self.canvas.crs, result=True,
                                style={"field": field})
            self.session.result_layers[LAYER_KEY] = layer
            self.stack.insert(0, layer)
        else:
            layer.title = title
            layer.style["field"] = field
            layer.set_frame(villages)
            self.stack.changed(layer)
        self.stack.set_visible(layer, True)
