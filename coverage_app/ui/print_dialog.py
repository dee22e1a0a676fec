"""File > Print briefing map…: options, a live preview, Save PDF/PNG and Print.

The dialog collects options and hands the work to :mod:`coverage_app.ui.tasks` (the app's
only thread starter): the preview (page 1 rendered to an image with matplotlib's Agg
canvas), saving (``core.briefing.write_briefing``, atomic) and printing (each page rendered
at printer resolution and painted on the ``QPrinter``). The module-level functions below run
on the worker thread and never touch widgets.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QScrollArea, QSizePolicy, QVBoxLayout, QWidget)

from coverage_app.core.outputs.scenario_label import file_part
from coverage_app.core.errors import InputError
from coverage_app.core.feedback import report, sub

from . import dialogs  # the app's message boxes and file choosers (tests replace them there)
from . import settings as app_settings
from .tasks import TaskRunner

log = logging.getLogger("coverage_app.ui")


PREVIEW_DPI = 60
PRINT_DPI_MAX = 300
REGION, ATLAS = "__region__", "__atlas__"
LANGUAGES = (("en", "English"), ("my", "Burmese (မြန်မာ)"), ("both", "English and Burmese"))


# -- worker-thread functions (no widgets) ------------------------------------------------------

def _briefing():
    from coverage_app.core.outputs import briefing

    return briefing


def sweep_view(options):
    """The sweep's map view (probability of access, 5/50/95 % shares) if the options ask for it."""
    sweep = options.get("sweep")
    if not sweep:
        return None
    from coverage_app.core.outputs.sweep_export import sweep_map_view

    return sweep_map_view(sweep["result"], case=sweep["case"], tier=sweep["tier"])


def prepare(data, result, options, feedback=None):
    return _briefing().prepare_layers(data, result, safe_share=options["safe_share"], sweep=sweep_view(options),
                                      feedback=feedback)


def render_preview(data, result, options: dict, layers=None, dpi: float = PREVIEW_DPI, feedback=None):
    """Page 1 of the chosen output as an RGBA array, and the prepared layers (reused next time)."""
    b = _briefing()
    if layers is None:
        layers = prepare(data, result, options, feedback=sub(feedback, 0.0, 0.4))
    report(feedback, 0.5, "Drawing the preview")
    fig = b.compose_page(data, result, layers=layers, **_page_kwargs(options, options.get("township")))
    report(feedback, 0.85, "Rendering the preview")
    image = b.render_rgba(fig, dpi)
    report(feedback, 1.0, "Preview ready")
    return image, layers


def _page_kwargs(options, township):
    first = township is None or not options.get("atlas")
    return dict(paper=options["paper"], landscape=options["landscape"], township=township,
                language=options["language"], safe_share=options["safe_share"], title=(options.get("title") or None) if first else None,
                subtitle=(options.get("subtitle") or None) if first else None)


def save_briefing(path, data, result, options: dict, feedback=None):
    b = _briefing()
    return b.write_briefing(path, data, result, atlas=options["atlas"], paper=options["paper"],
                            landscape=options["landscape"], township=options["township"],
                            language=options["language"], safe_share=options["safe_share"],
                            title=options.get("title") or None, subtitle=options.get("subtitle") or None,
                            table_page=bool(options.get("table_page")) and Path(path).suffix.lower() == ".pdf",
                            sweep=sweep_view(options), feedback=feedback)


def page_plan(layers, options) -> list:
    """Townships (None = the region overview) of the pages to produce, in order."""
    table = ["__table__"] if options.get("table_page") else []
    if options["atlas"]:
        return [None] + table + _briefing().township_pcodes(layers)
    return [options["township"]] + table


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    rgba = np.ascontiguousarray(rgba)
    h, w = rgba.shape[:2]
    image = QImage(rgba.data, w, h, 4 * w, QImage.Format_RGBA8888)
    return image.copy()  # own the pixels (the array goes away)


def print_briefing(printer, data, result, options: dict, feedback=None) -> int:
    """Paint every page on ``printer`` (a QPrinter: thread-safe for painting); returns pages printed."""
    b = _briefing()
    layers = prepare(data, result, options, feedback=sub(feedback, 0.0, 0.05))
    plan = page_plan(layers, options)
    dpi = min(max(printer.resolution(), 96), PRINT_DPI_MAX)
    painter = QPainter()
    if not painter.begin(printer):
        raise InputError("the printer could not be started; check that it is connected and try again")
    printed = 0
    try:
        for i, township in enumerate(plan):
            report(feedback, 0.05 + 0.95 * i / len(plan), f"Printing page {i + 1} of {len(plan)}")
            if i:
                printer.newPage()
            if township == "__table__":
                fig = b.compose_table_page(layers, paper=options["paper"], landscape=options["landscape"],
                                           language=options["language"])
            else:
                fig = b.compose_page(data, result, layers=layers, **_page_kwargs(options, township))
            image = rgba_to_qimage(b.render_rgba(fig, dpi))
            fig.clear()
            area = painter.viewport()
            size = image.size().scaled(area.size(), Qt.KeepAspectRatio)
            target = QRect(area.x() + (area.width() - size.width()) // 2,
                           area.y() + (area.height() - size.height()) // 2, size.width(), size.height())
            painter.drawImage(target, image)
            printed += 1
        report(feedback, 1.0, f"Sent {printed} page{'s' if printed != 1 else ''} to the printer")
    except BaseException:
        printer.abort()
        raise
    finally:
        painter.end()
    return printed


def _setting(key, default, type=None):
    try:
        return app_settings.value(key, default, type=type) if type is not None else app_settings.value(key, default)
    except Exception:  # settings are a convenience; never block printing
        log.debug("setting %s not read", key, exc_info=True)
        return default


def _set_setting(key, value) -> None:
    try:
        app_settings.set_value(key, value)
    except Exception:
        log.debug("setting %s not saved", key, exc_info=True)


def _task_runner(parent):
    """The TaskRunner of ``parent`` or of a widget holding it (the window's), else None."""
    widget = parent
    while widget is not None:
        runner = getattr(widget, "tasks", None)
        if isinstance(runner, TaskRunner):
            return runner
        widget = widget.parentWidget() if hasattr(widget, "parentWidget") else None
    return None


def _layers_key(options) -> tuple:
    return options["safe_share"], options.get("sweep") is not None


# -- the dialog ----------------------------------------------------------------------------------

class PrintDialog(QDialog):
    """Options, preview, Save PDF…, Save PNG…, Print… for the briefing map."""

    def __init__(self, parent, project, data, result, sweep=None):
        """``sweep``: the session's sweep, ``{"result": SweepResult, "case": int, "tier": "primary"|
        "secondary"}`` (the case and tier shown in the sweep dialog), or None."""
        super().__init__(parent)
        self.setObjectName("print_dialog")
        self.setWindowTitle("Print briefing map")
        self.project, self.data, self.result, self.sweep = project, data, result, sweep
        # all work goes through ui.tasks (the app's only thread starter): the window's runner,
        # or one of our own when the dialog is used without a window (shut down when it closes)
        runner = _task_runner(parent)
        self._own_tasks = runner is None
        self._stop_waiting = False
        self.tasks = runner if runner is not None else TaskRunner(self, max_threads=2)
        self.preview_task = None
        self.job = None                    # the running save/print task
        self.preview_image: QImage | None = None
        self.previews_rendered = 0
        self.last_saved: Path | None = None
        self.last_error = ""
        self._layers = {}                  # safe_share -> prepared layers (reused by previews)
        self._pending = False
        self._build()
        self._restore()
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self.refresh_preview)
        for combo in (self.paper, self.orientation, self.area, self.language):
            combo.currentIndexChanged.connect(self._options_changed)
        self.table_page.toggled.connect(self._update_buttons)
        self.safe_share.toggled.connect(self._options_changed)
        self.sweep_box.toggled.connect(self._options_changed)
        self.title_edit.textChanged.connect(self._options_changed)
        self.subtitle_edit.textChanged.connect(self._options_changed)
        self._update_buttons()
        QTimer.singleShot(0, self, self.refresh_preview)  # not after the dialog is gone

    # -- widgets --------------------------------------------------------------------------
    def _build(self) -> None:
        self.title_edit = QLineEdit()
        self.title_edit.setObjectName("title")
        self.title_edit.setPlaceholderText("Access to health care: <area> (default)")
        self.subtitle_edit = QLineEdit()
        self.subtitle_edit.setObjectName("subtitle")
        self.subtitle_edit.setPlaceholderText("Thresholds and travel mode (default)")
        self.paper = QComboBox()
        self.paper.setObjectName("paper")
        self.paper.addItem("A4", "a4")
        self.paper.addItem("A3", "a3")
        self.orientation = QComboBox()
        self.orientation.setObjectName("orientation")
        self.orientation.addItem("Portrait", False)
        self.orientation.addItem("Landscape", True)
        self.area = QComboBox()
        self.area.setObjectName("area")
        self.area.addItem("Region overview", REGION)
        self.area.addItem("Atlas: overview and one page per township", ATLAS)
        towns = self.data.role("townships") if self.data is not None else None
        if towns is not None:
            for row in towns.sort_values("name_en").itertuples():
                label = f"{row.name_en}" + (f"  {row.name_my}" if getattr(row, "name_my", "") else "")
                self.area.addItem(f"Township: {label} ({row.pcode})", str(row.pcode))
        self.language = QComboBox()
        self.language.setObjectName("language")
        for code, label in LANGUAGES:
            self.language.addItem(label, code)
        self.safe_share = QCheckBox("Safe-share version (no facility names; facilities as counts per township)")
        self.safe_share.setObjectName("safe_share")
        self.safe_share.setToolTip("For maps that leave the team: facility names removed, locations generalised, "
                                   "catchment bands left out.")

        form = QFormLayout()
        form.addRow("Title", self.title_edit)
        form.addRow("Subtitle", self.subtitle_edit)
        form.addRow("Paper", self.paper)
        form.addRow("Orientation", self.orientation)
        form.addRow("Area", self.area)
        form.addRow("Labels", self.language)
        form.addRow("", self.safe_share)
        self.table_page = QCheckBox("Add a page with the whole township table (PDF)")
        self.table_page.setObjectName("table_page")
        form.addRow("", self.table_page)
        self.sweep_box = QCheckBox("Probability of access from the sweep, with its 5 / 50 / 95 % ranges")
        self.sweep_box.setObjectName("sweep")
        if self.sweep is not None:
            self.sweep_box.setToolTip(f"Case {self.sweep['case']}, {self.sweep['tier']} care (as chosen in the "
                                      "sweep dialog): villages coloured by the share of draws that reach care")
        self.sweep_box.setVisible(self.sweep is not None)
        form.addRow("", self.sweep_box)
        note = QLabel("" if self.result is not None else
                      "No analysis has been run: the map shows the input layers only. Run the analysis "
                      "for coverage figures.")
        note.setWordWrap(True)
        note.setObjectName("no_result_note")
        note.setVisible(self.result is None)

        self.save_pdf_button = QPushButton("Save PDF…")
        self.save_pdf_button.setObjectName("save_pdf")
        self.save_png_button = QPushButton("Save PNG…")
        self.save_png_button.setObjectName("save_png")
        self.print_button = QPushButton("Print…")
        self.print_button.setObjectName("print")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_job")
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("close")
        self.save_pdf_button.clicked.connect(self.save_pdf)
        self.save_png_button.clicked.connect(self.save_png)
        self.print_button.clicked.connect(self.print_pages)
        self.cancel_button.clicked.connect(self.cancel_job)
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for b in (self.save_pdf_button, self.save_png_button, self.print_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)

        self.progress = QProgressBar()
        self.progress.setObjectName("progress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setObjectName("status")
        self.status.setWordWrap(True)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(note)
        left.addStretch(1)
        left.addWidget(self.status)
        left.addWidget(self.progress)
        left.addLayout(buttons)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setMinimumWidth(420)

        self.preview = QLabel("Preparing the preview…")
        self.preview.setObjectName("preview")
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setMinimumSize(QSize(380, 520))
        self.preview.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.preview.setStyleSheet("QLabel#preview { background: #8a8a8a; color: white; }")
        scroll = QScrollArea()
        scroll.setWidget(self.preview)
        scroll.setWidgetResizable(True)

        layout = QHBoxLayout(self)
        layout.addWidget(left_widget, 0)
        layout.addWidget(scroll, 1)
        self.resize(1040, 700)

    # -- options ------------------------------------------------------------------------------
    def options(self) -> dict:
        area = self.area.currentData()
        return {"paper": self.paper.currentData(), "landscape": bool(self.orientation.currentData()),
                "township": None if area in (REGION, ATLAS) else area, "atlas": area == ATLAS,
                "language": self.language.currentData(), "safe_share": self.safe_share.isChecked(),
                "title": self.title_edit.text().strip(), "subtitle": self.subtitle_edit.text().strip(),
                "table_page": self.table_page.isChecked() and area in (REGION, ATLAS),
                "sweep": self.sweep if self.sweep is not None and self.sweep_box.isChecked() else None}

    def _restore(self) -> None:
        for combo, key in ((self.paper, "paper"), (self.language, "language")):
            index = combo.findData(_setting(f"print/{key}", combo.currentData()))
            if index >= 0:
                combo.setCurrentIndex(index)
        self.orientation.setCurrentIndex(1 if _setting("print/landscape", False, type=bool) else 0)
        self.safe_share.setChecked(bool(_setting("print/safe_share", False, type=bool)))
        # the region page's table is cut to what fits: the whole table is added unless declined
        self.table_page.setChecked(bool(_setting("print/table_page", True, type=bool)))

    def _remember(self) -> None:
        o = self.options()
        for key in ("paper", "language", "landscape", "safe_share"):
            _set_setting(f"print/{key}", o[key])
        _set_setting("print/table_page", self.table_page.isChecked())

    def _options_changed(self, *_):
        self._update_buttons()
        self._debounce.start()

    def _update_buttons(self) -> None:
        busy = self.job is not None
        for b in (self.save_pdf_button, self.print_button):
            b.setEnabled(not busy and self.data is not None)
        self.table_page.setEnabled(not busy and self.options()["township"] is None)
        self.save_png_button.setEnabled(not busy and self.data is not None and not self.options()["atlas"])
        self.save_png_button.setToolTip("The atlas has many pages: save it as a PDF" if self.options()["atlas"]
                                        else "Save page 1 as a PNG image (200 dpi)")
        self.cancel_button.setEnabled(busy)
        for w in (self.paper, self.orientation, self.area, self.language, self.safe_share):
            w.setEnabled(not busy)

    # -- preview ------------------------------------------------------------------------------
    def refresh_preview(self) -> None:
        if self.data is None:
            return
        if self.preview_task is not None and self.preview_task.is_running():
            self._pending = True
            return
        options = self.options()
        layers = self._layers.get(_layers_key(options))
        self.status.setText("Drawing the preview…")
        self.preview_task = self.tasks.start(
            render_preview, self.data, self.result, options, layers, PREVIEW_DPI * self._pixel_ratio(),
            label="Briefing preview", group="briefing-preview", cancellable=True,
            on_done=lambda out, o=options: self._preview_done(out, o), on_error=self._preview_failed,
            on_cancelled=self._preview_finished)

    def _pixel_ratio(self) -> float:
        try:
            return max(1.0, float(self.devicePixelRatioF()))
        except Exception:
            return 1.0

    def _preview_done(self, out, options) -> None:
        image, layers = out
        self._layers[_layers_key(options)] = layers
        self.preview_image = rgba_to_qimage(image)
        self.previews_rendered += 1
        self._show_preview()
        what = "atlas page 1 (region overview)" if options["atlas"] else "page 1"
        self.status.setText(f"Preview of {what}, {options['paper'].upper()} "
                            f"{'landscape' if options['landscape'] else 'portrait'}")
        self._preview_finished()

    def _preview_failed(self, exc) -> None:
        self.last_error = str(exc)
        self.status.setText(f"The preview could not be drawn: {exc}")
        self._preview_finished()

    def _preview_finished(self) -> None:
        if self._pending:
            self._pending = False
            QTimer.singleShot(0, self, self.refresh_preview)  # not after the dialog is gone

    def _show_preview(self) -> None:
        if self.preview_image is None:
            return
        pixmap = QPixmap.fromImage(self.preview_image)
        ratio = self._pixel_ratio()
        pixmap.setDevicePixelRatio(ratio)
        area = self.preview.size()
        scaled = pixmap.scaled(area * ratio, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        scaled.setDevicePixelRatio(ratio)
        self.preview.setPixmap(scaled)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().resizeEvent(event)
        self._show_preview()

    # -- save and print ------------------------------------------------------------------------
    def _default_name(self, suffix: str) -> str:
        o = self.options()
        name = "briefing_atlas" if o["atlas"] else (f"briefing_{o['township']}" if o["township"] else "briefing")
        name += "_" + file_part(getattr(self.result, "scenario", None)).replace("-", "_")  # baseline / scenario_x
        if o["safe_share"]:
            name += "_safe"
        folder = _setting("print/folder", "") or self._project_folder()
        return str(Path(folder) / f"{name}{suffix}")

    def _project_folder(self) -> str:
        """Where a first save goes: the project's folder (not the bundled data's), else the
        user's Documents folder, else home."""
        from coverage_app.core.data.project import ProjectError, bundled_project_path

        path = getattr(self.project, "path", None)
        if path:
            try:
                bundled = Path(path).resolve().parent == bundled_project_path().resolve().parent
            except (ProjectError, OSError):
                bundled = False
            if not bundled:
                return str(Path(path).resolve().parent)
        documents = Path.home() / "Documents"
        return str(documents if documents.is_dir() else Path.home())

    def save_pdf(self) -> None:
        self._save(".pdf", "PDF document (*.pdf)")

    def save_png(self) -> None:
        self._save(".png", "PNG image (*.png)")

    def _save(self, suffix: str, filter: str) -> None:
        path = dialogs.get_save_file(self, "Save briefing map", filter, self._default_name(suffix))
        if not path:
            return
        path = Path(path)
        if path.suffix.lower() != suffix:
            path = path.with_suffix(suffix)
        options = self.options()
        self._remember()
        _set_setting("print/folder", str(path.parent))
        pages = "the atlas" if options["atlas"] else "the briefing map"
        self._start_job(save_briefing, (path, self.data, self.result, options), f"Saving {pages}",
                        lambda out: self._saved(out))

    def _saved(self, path) -> None:
        self.last_saved = Path(path)
        self.status.setText(f"Saved to {path}")

    def _choose_printer(self):
        """A QPrinter set up by the user in Qt's print dialog, or None if cancelled (tests replace this)."""
        from PySide6.QtGui import QPageLayout, QPageSize
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        o = self.options()
        printer = QPrinter(QPrinter.HighResolution)
        printer.setPageSize(QPageSize(QPageSize.A3 if o["paper"] == "a3" else QPageSize.A4))
        printer.setPageOrientation(QPageLayout.Landscape if o["landscape"] else QPageLayout.Portrait)
        printer.setFullPage(False)
        chooser = QPrintDialog(printer, self)
        chooser.setWindowTitle("Print briefing map")
        if not dialogs.run_dialog(chooser):
            return None
        return printer

    def print_pages(self) -> None:
        printer = self._choose_printer()
        if printer is None:
            return
        self._printer = printer  # keep it alive while the worker paints
        options = self.options()
        self._remember()
        self._start_job(print_briefing, (printer, self.data, self.result, options), "Printing the briefing map",
                        lambda n: self.status.setText(f"Sent {n} page{'s' if n != 1 else ''} to the printer"))

    def _start_job(self, fn, args, label, on_done) -> None:
        if self.preview_task is not None and self.preview_task.is_running():
            self.preview_task.cancel()
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText(label + "…")
        self.last_error = ""

        def done(out):
            self._job_ended()
            on_done(out)

        def failed(exc):
            self._job_ended()
            self.last_error = str(exc)
            if isinstance(exc, InputError):
                dialogs.show_error(self, "Briefing map", str(exc))
            else:
                dialogs.show_error(self, "Briefing map", f"{label} failed: {exc}")
            self.status.setText(f"{label} failed")

        def cancelled():
            self._job_ended()
            self.status.setText(f"{label}: cancelled; no file was changed")

        self.job = self.tasks.start(fn, *args, label=label, group="briefing", on_done=done, on_error=failed,
                                    on_cancelled=cancelled)
        self.job.progressed.connect(self._job_progress)
        self._update_buttons()

    def _job_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        if message:
            self.status.setText(message)

    def _job_ended(self) -> None:
        self.job = None
        self.progress.setVisible(False)
        self._printer = None
        self._update_buttons()

    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def busy(self) -> bool:
        return self.job is not None or (self.preview_task is not None and self.preview_task.is_running())

    def done(self, code) -> None:  # noqa: D401 - QDialog.done: closing cancels our work
        if self.job is not None:
            self.job.cancel()
        if self.preview_task is not None and self.preview_task.is_running():
            self.preview_task.cancel()
        super().done(code)
        if self._own_tasks:
            self._stop_own_runner()

    def _stop_own_runner(self, *_) -> None:
        """Stop our own runner's threads once its (cancelled) tasks have reported back."""
        if self.tasks.running:
            if not self._stop_waiting:
                self._stop_waiting = True
                self.tasks.task_ended.connect(self._stop_own_runner)
            return
        if self._stop_waiting:
            self._stop_waiting = False
            self.tasks.task_ended.disconnect(self._stop_own_runner)
        self.tasks.shutdown()
