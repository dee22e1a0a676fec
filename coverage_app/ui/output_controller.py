"""Exports and prints: the export dialog and export run (in the background, the folder's
previous files kept on cancel), the briefing-map print dialog, and the About box.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

from . import dialogs, jobs, settings
from .session import Controller
from .small_widgets import ExportDialog, about_html


class OutputController(Controller):
    def export_dialog(self) -> None:
        if self.session.result is None:
            dialogs.show_info(self.widget, "Export coverage", "Run an analysis first: the export writes its results.")
            return
        folder = settings.value("last_export_folder", "") or str(Path.home() / "coverage-export")
        dialog = ExportDialog(str(folder), self.widget)
        self.last_export_dialog = dialog
        if not dialogs.run_dialog(dialog):
            return
        self.export(dialog.options())

    def export(self, options: dict):
        """Write the current result with ``options`` (out_dir, formats…) in the background."""
        settings.set_value("last_export_folder", options["out_dir"])

        def done(paths):
            names = ", ".join(Path(p).name for p in paths[:12]) + (" …" if len(paths) > 12 else "")
            self.status(f"Exported {len(paths)} files to {options['out_dir']}")
            dialogs.show_info(self.widget, "Export coverage",
                              f"Exported {len(paths)} files to {options['out_dir']}:\n{names}")

        return self.tasks.start(jobs.export, self.session.result, options, self.project, label="Exporting coverage",
                                group="export", on_done=done, on_error=lambda exc: self.task_error("Export", exc),
                                on_cancelled=lambda: self.status(
                                    "Export cancelled; the folder's previous files are unchanged"))

    def print_dialog(self) -> None:
        if not print_dialog_available():
            dialogs.show_info(self.widget, "Print briefing map", "Printing is not available in this build yet.")
            return
        from .print_dialog import PrintDialog

        dialog = PrintDialog(self.widget, self.project, self.data, self.session.result)
        self.last_print_dialog = dialog
        dialog.open()

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


def print_dialog_available() -> bool:
    try:
        return importlib.util.find_spec("coverage_app.ui.print_dialog") is not None
    except (ImportError, ValueError):
        return False
