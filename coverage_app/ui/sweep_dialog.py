"""Sweep dialog (issue 15): Monte Carlo access probabilities from the Results dock.

The dialog builds a sweep spec from its settings (or reads a spec file: then it shows what the
file sets in place of its own fields, or why the file cannot be used), runs it through
:mod:`coverage_app.ui.tasks` (progress, cancel) with :func:`coverage_app.ui.jobs.sweep`, shows
the region's 5/50/95 % shares per case as a chart (the as-of series) and puts the villages'
probability of access on the map (graduated style from
:func:`coverage_app.core.outputs.symbology.access_probability_classes`). No computing here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLayout, QLineEdit, QProgressBar,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from coverage_app.core.params import MODES

from .session import Controller

log = logging.getLogger(__name__)
RUN_ON = (("serial", "This computer, one process"), ("local", "This computer, worker processes (dask)"),
          ("address", "A dask scheduler (address)"))
LAYER_KEY = "sweep_probability"
SPEC_ROWS = ("draws", "seed", "speeds", "zones", "unknown", "cell", "modes")  # the fields a spec file sets
SPEC_DECIDES = "set by the spec file"
SPEC_READ_DELAY_MS = 300  # the spec file is read this long after the last keystroke in its field


# ----------------------------------------------------------------------------- a spec file in words

def dist_text(dist, factor: bool = True) -> str:
    """A spec distribution in words; ``factor``: a multiplier (× ...), else an absolute value."""
    a, x = dist.args, "×\u00a0" if factor else ""  # no line break after the sign
    if dist.kind == "fixed":
        return f"{x}{a[0]:g} (fixed)"
    if dist.kind == "uniform":
        lo, hi = a
        if factor and lo < 1 < hi and abs((1 - lo) - (hi - 1)) < 1e-9:
            return f"±\u00a0{(hi - 1) * 100:g}\u00a0% (uniform {lo:g}–{hi:g})"
        return f"{x}{lo:g}–{hi:g} (uniform)"
    if dist.kind == "triangular":
        return f"{x}{a[0]:g}–{a[2]:g}, most likely {a[1]:g} (triangular)"
    if dist.kind == "normal":
        return f"{x}mean {a[0]:g}, sd {a[1]:g} (normal)"
    return f"{x}one of {', '.join(f'{v:g}' for v in a)}"


def spec_texts(spec) -> dict[str, str]:
    """What a read spec file (:class:`~coverage_app.core.analysis.sweep_spec.SweepSpec`) sets, per
    field of the dialog (keys of ``SPEC_ROWS``)."""
    p = spec.base_params
    speeds = [dist_text(spec.speeds["*"])] if "*" in spec.speeds else []
    speeds += [f"{k[0]} {k[1].replace('_', ' ')}: {dist_text(d)}"
               for k, d in sorted((k, d) for k, d in spec.speeds.items() if k != "*")]
    zf, zd = spec.zone_speed_factor, spec.zone_delay
    if zf is None and zd is None:
        zones = "not varied"
    elif zf == zd:
        zones = dist_text(zf)
    else:
        zones = (f"speed factors {dist_text(zf) if zf else 'not varied'}; "
                 f"delays {dist_text(zd) if zd else 'not varied'}")
    unknown = (f"{spec.unknown_functioning:g}" if spec.unknown_functioning is not None else
               f"not drawn (they {'count' if p.unknown_counts else 'do not count'} as functioning)")
    own_cell = "cell_size_m" in (spec.raw.get("analysis") or {})
    return {"draws": f"{spec.draws} per case", "seed": str(spec.seed),
            "speeds": "; ".join(speeds) or "not varied", "zones": zones, "unknown": unknown,
            "cell": f"{p.cell_size_m:g} m" + ("" if own_cell else " (the project's setting)"),
            "modes": ", ".join(dict.fromkeys(c.mode for c in spec.cases))}


def spec_note(spec, open_project=None) -> str:
    """The cases, the further draws and the project of a read spec file, in one paragraph."""
    cases = spec.cases
    dates = list(dict.fromkeys(c.as_of for c in cases))
    if len(dates) > 1:
        when = f"{len(dates)} as-of dates from {dates[0].isoformat()} to {dates[-1].isoformat()}"
    else:
        when = f"as of {dates[0].isoformat()}" if dates[0] else "as of today"
    scenarios = ", ".join(f"'{s}'" if s else "baseline" for s in dict.fromkeys(c.scenario for c in cases))
    modes = ", ".join(dict.fromkeys(c.mode for c in cases))
    out = [f"The spec file decides this sweep: {len(cases)} case{'s' if len(cases) != 1 else ''} "
           f"({modes}; {when}; {scenarios})."]
    extra = [f"the {m} unmapped-track speed {dist_text(d)}" for m, d in sorted(spec.unmapped.items())]
    extra += [f"{name} {dist_text(d, factor=False)}" for name, d in sorted(spec.params.items())]
    if extra:
        out.append(f"Also drawn: {'; '.join(extra)}.")
    if not spec.is_random:
        out.append("Nothing is drawn: every draw gives the same result.")
    # a spec without its own project runs on the open one (ui.jobs.sweep)
    project = None if spec.project_path is None else Path(spec.project_path)
    if project is not None and (open_project is None or project.resolve() != Path(open_project).resolve()):
        out.append(f"It runs on {project.name} ({project.parent}), not on the open project.")
    out.append("Clear the spec file to set the sweep here.")
    return " ".join(out)


def spec_problem(exc: Exception) -> str:
    """Why a spec file cannot be used, for a planner (from the error reading it)."""
    from coverage_app.core.data.project import ProjectError
    from coverage_app.core.errors import InputError

    if isinstance(exc, InputError):
        return "; ".join(p.message for p in exc.problems)
    if isinstance(exc, IsADirectoryError):
        return "it is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "you do not have permission to read it"
    if isinstance(exc, OSError):
        return f"it cannot be read ({exc.strerror or exc})"
    if isinstance(exc, ProjectError):
        return f"its project cannot be opened ({exc})"
    return f"it cannot be read ({exc})"


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
        tiers = (("prim", TRAVEL_TIME_COLOURS[0], "Primary care"), ("sec", "#8e0152", "Secondary care"))
        if dates:  # a series in time: median line and 5-95 % band
            x = pd.to_datetime(series["as_of"])
            for short, colour, name in tiers:
                lo, mid, hi = (series[f"{short}_pct{q}"] for q in (5, 50, 95))
                ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)
                ax.plot(x, mid, color=colour, lw=2, label=f"{name} (median, 5–95 %)")
        else:  # separate cases (modes, scenarios): a median and whiskers each, nothing joins them
            x = np.arange(len(series), dtype=float)
            for shift, (short, colour, name) in zip((-0.12, 0.12), tiers):
                lo, mid, hi = (series[f"{short}_pct{q}"].to_numpy(float) for q in (5, 50, 95))
                ax.errorbar(x + shift, mid, yerr=[mid - lo, hi - mid], fmt="o", color=colour, capsize=5,
                            label=f"{name} (median, 5–95 %)")
            ax.set_xticks(x)
            ax.set_xticklabels(list(series["label"]), fontsize=8)
            ax.set_xlim(-0.6, max(len(series), 2) - 0.4)
        ax.set_ylabel("Within reach (%)")
        ax.set_ylim(0, max(5.0, float(series[[c for c in series if c.endswith("_pct95")]].max().max()) * 1.15))
        ax.grid(alpha=0.3)
        # above the axes, where it never covers a median or a whisker
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False, fontsize=8)
        self.canvas.draw_idle()


IDLE_STATUS = "Set the ranges and press Run."
IDLE_STATUS_SPEC = "The spec file sets this sweep: press Run."


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
        box = self._draws_box = QGroupBox("Draws")
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
        self.open_project = None  # the open project's file: a spec file may name another
        self.project = None       # the open project (loaded): a spec file without one runs on it
        self.spec = None          # the spec file read (a SweepSpec), or None
        self.spec_error = None    # why the spec file cannot be used, or None
        self._editors = dict(zip(SPEC_ROWS, (self.draws, self.seed, self.speed_pm, self.zone_pm, self.unknown_p,
                                             self.cell, modes)))
        self.spec_fields: dict[str, QLabel] = {}  # what the spec file sets, shown in place of the editors
        for key, label in zip(SPEC_ROWS, ("Draws", "Seed", "Speeds ± (uniform)", "Zone speed factors and delays ±",
                                          "Probability an 'unknown' facility functions", "Cell size",
                                          "Travel modes")):
            form.addRow(label, self._spec_row(key))
        self.spec_path = QLineEdit(objectName="sweep_spec_path", placeholderText="or a sweep spec file (.toml)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_spec)
        row = QHBoxLayout()
        row.addWidget(self.spec_path)
        row.addWidget(browse)
        form.addRow("Spec file", row)
        self.spec_note = QLabel("", objectName="sweep_spec_note", wordWrap=True)
        self.spec_note.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.spec_note.hide()
        form.addRow(self.spec_note)
        self._spec_timer = QTimer(self, singleShot=True, interval=SPEC_READ_DELAY_MS)
        self._spec_timer.timeout.connect(self.refresh_spec)
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
        self.status = QLabel(IDLE_STATUS, objectName="sweep_status", wordWrap=True)
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

    def _spec_row(self, key: str) -> QWidget:
        """The dialog's own field and, hidden until a spec file is named, what the file sets."""
        shown = QLabel(SPEC_DECIDES, objectName=f"sweep_spec_{key}", wordWrap=True)
        shown.setTextInteractionFlags(Qt.TextSelectableByMouse)
        shown.setMinimumHeight(self._editors[key].sizeHint().height())  # the rows keep their height
        shown.hide()
        self.spec_fields[key] = shown
        cell = QWidget()
        lay = QHBoxLayout(cell)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self._editors[key], 1)
        lay.addWidget(shown, 1)
        return cell

    def _spec_changed(self, text: str) -> None:
        """A spec file says everything itself: its values replace the fields (the fields keep
        what the user typed, back when the spec file is cleared)."""
        governed = bool(text.strip())
        for key in SPEC_ROWS:
            self._editors[key].setVisible(not governed)
            self.spec_fields[key].setVisible(governed)
        self.spec_note.setVisible(governed)
        if self.status.text() in (IDLE_STATUS, IDLE_STATUS_SPEC):  # not a run's message
            self.status.setText(IDLE_STATUS_SPEC if governed else IDLE_STATUS)
        self.spec, self.spec_error = None, None
        if governed:
            self._show_spec()  # "set by the spec file" until it is read
            self._spec_timer.start()
        else:
            self._spec_timer.stop()

    def refresh_spec(self):
        """Read the spec file named in the field and show what it sets, or why it cannot be used.
        Returns the SweepSpec or None."""
        from coverage_app.core.analysis.sweep_spec import load_spec

        self._spec_timer.stop()
        path = self.spec_path.text().strip()
        self.spec, self.spec_error = None, None
        if not path:
            return None
        try:
            self.spec = load_spec(path, project=self.project)
        except Exception as exc:  # noqa: BLE001 - every failure is told to the user, none is a crash
            log.info("sweep spec %s cannot be used", path, exc_info=not isinstance(exc, (OSError, ValueError)))
            self.spec_error = spec_problem(exc)
        self._show_spec()
        return self.spec

    def _show_spec(self) -> None:
        texts = spec_texts(self.spec) if self.spec is not None else {}
        for key, label in self.spec_fields.items():
            label.setText(texts.get(key, SPEC_DECIDES))
            label.setStyleSheet("" if key in texts else "color:#666666; font-style:italic")
        if self.spec is not None:
            self.spec_note.setText(spec_note(self.spec, self.open_project))
            self.spec_note.setStyleSheet("color:#333333")
        elif self.spec_error:
            self.spec_note.setText(f"This spec file cannot be used: {self.spec_error}. Fix the file, or clear "
                                   "it to set the sweep here.")
            self.spec_note.setStyleSheet("color:#b2182b")
        else:
            self.spec_note.setText("Reading the spec file…")
            self.spec_note.setStyleSheet("color:#666666")
        self._fit_height()

    def _fit_height(self) -> None:
        """Grow (up to the screen) so that wrapped spec texts show whole: a window does not grow
        by itself, and its layout would squeeze them to one line."""
        # the layouts keep the sizes of the old texts until their posted requests come: drop them now
        for w in (self._draws_box, *self._draws_box.findChildren(QWidget)):
            w.updateGeometry()
        for inner in self.findChildren(QLayout):
            inner.invalidate()
        need = self.layout().totalHeightForWidth(self.width())
        screen = self.screen().availableGeometry().height() if self.screen() is not None else need
        if self.isVisible() and self.height() < need:
            self.resize(self.width(), max(self.height(), min(need, screen)))

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
        path = self.spec_path.text().strip()
        if path and self.refresh_spec() is None:  # read again: the file may have changed since
            from . import dialogs

            self.status.setText(f"The sweep did not start: the spec file cannot be used: {self.spec_error}")
            dialogs.show_error(self, "Sweep", f"The sweep spec file {Path(path).name} cannot be used: "
                               f"{self.spec_error}.\n\nFix the file, or clear the Spec file field to set the sweep "
                               "in the dialog.")
            return
        source = path or self.spec_dict()
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
        self.dialog.open_project, self.dialog.project = self.project.path, self.project
        if self.dialog.spec_path.text().strip():
            self.dialog.refresh_spec()  # the file, or the open project, may have changed since
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
