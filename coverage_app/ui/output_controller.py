"""Exports and prints: the export dialog and export run (in the background, the folder's
previous files kept on cancel), the briefing-map print dialog, and the About box.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

from coverage_app.core.data.project import ProjectError, bundled_project_path
from coverage_app.core.outputs.scenario_label import edit_lines, file_part, scenario_heading

from . import dialogs, jobs, settings
from .session import Controller
from .small_widgets import ExportDialog, about_html


class OutputController(Controller):
    protection = None  # the ProtectController: safe-sharing defaults and encrypted exports

    def export_dialog(self) -> None:
        if self.session.result is None:
            dialogs.show_info(self.widget, "Export coverage", "Run an analysis first: the export writes its results.")
            return
        scenario = self.session.result.scenario
        dialog = ExportDialog(str(self.export_folder(scenario)), self.widget,
                              scenario_text=f"Exporting: {scenario_heading(scenario)}"
                              + "".join(f"\n  • {line}" for line in edit_lines(scenario)))
        if self.protection is not None:
            self.protection.adapt_export_dialog(dialog)
        self.last_export_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return
        options = self.protection.export_options(dialog) if self.protection is not None else dialog.options()
        if options is not None:  # None: a full protected export without the right passphrase
            self.export(options)

    def export_folder(self, scenario) -> Path:
        """The folder offered: ``coverage-<project>-<baseline|scenario-name>`` beside the last
        export, else in the project's folder (never the bundled data), else the home folder."""
        last = settings.value("last_export_folder", "") or ""
        if last:
            base = Path(last).parent
        elif self.project is not None and self.project.path and not _bundled(self.project.path):
            base = Path(self.project.path).parent
        else:
            base = Path.home()
        stem = _slug(self.project.name) if self.project is not None else "project"
        return base / f"coverage-{stem}-{file_part(scenario)}"

    def export(self, options: dict):
        """Write the current result with ``options`` (out_dir, formats…) in the background."""
        if not (self.project is not None and self.project.protected):  # its folder names the project
            settings.set_value("last_export_folder", options["out_dir"])

        def done(paths):
            names = ", ".join(Path(p).name for p in paths[:12]) + (" …" if len(paths) > 12 else "")
            self.status(f"Exported {len(paths)} files to {options['out_dir']}")
            dialogs.show_info(self.widget, "Export coverage",
                              f"Exported {len(paths)} files to {options['out_dir']}:\n{names}")

        job = self.protection.export_job(options) if self.protection is not None else jobs.export
        return self.tasks.start(job, self.session.result, options, self.project, label="Exporting coverage",
                                group="export", on_done=done, on_error=lambda exc: self.task_error("Export", exc),
                                on_cancelled=lambda: self.status(
                                    "Export cancelled; the folder's previous files are unchanged"))

    def print_dialog(self) -> None:
        if not print_dialog_available():
            dialogs.show_info(self.widget, "Print briefing map", "Printing is not available in this build yet.")
            return
        from .print_dialog import PrintDialog

        dialog = PrintDialog(self.widget, self.project, self.data, self.session.result, sweep=self.sweep_for_print())
        if self.protection is not None:
            self.protection.adapt_print_dialog(dialog)
        self.last_print_dialog = dialog
        dialog.open()

    def sweep_for_print(self) -> dict | None:
        """The session's sweep result with the case and tier its dialog shows (None: no sweep yet)."""
        sweeps = getattr(self.widget, "sweeps", None)
        dialog = getattr(sweeps, "dialog", None)
        if dialog is None or dialog.result is None:
            return None
        case = dialog.case.currentData() if dialog.case.count() else 0
        field = dialog.tier.currentData()
        return {"result": dialog.result, "case": int(case or 0),
                "tier": "secondary" if field == "p_sec" else "primary"}

    def about(self) -> None:
        dialog = QDialog(self.widget)
        dialog.setObjectName("about_dialog")
        dialog.setWindowTitle("About Coverage analyser")
        browser = QTextBrowser()
        browser.setOpenLinks(False)
        browser.setHtml(about_html(self.project))
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(browser)
        layout.addWidget(buttons)
        dialog.resize(560, 480)
        self.about_dialog = dialog
        dialog.open()


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^0-9A-Za-z\u1000-\u109f]+", "-", str(text)).strip("-").lower() or "project"


def _bundled(path) -> bool:
    try:
        return Path(path).resolve().parent == bundled_project_path().resolve().parent
    except (ProjectError, OSError):
        return False


def print_dialog_available() -> bool:
    try:
        return importlib.util.find_spec("coverage_app.ui.print_dialog") is not None
    except (ImportError, ValueError):
        return False
