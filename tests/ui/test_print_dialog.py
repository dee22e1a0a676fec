"""File > Print briefing map…: preview, Save PDF/PNG and Print, all off the GUI thread."""

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("PySide6.QtPrintSupport")

from PySide6.QtCore import Qt  # noqa: E402

from coverage_app.core.data.model import load_project_data  # noqa: E402
from coverage_app.core.data.project import load_project  # noqa: E402
from coverage_app.ui import dialogs  # noqa: E402
from coverage_app.ui import settings as app_settings  # noqa: E402
from coverage_app.ui.print_dialog import PrintDialog  # noqa: E402


@pytest.fixture(scope="module")
def project_data(bundled_project_path):
    project = load_project(bundled_project_path)
    return project, load_project_data(project)


@pytest.fixture(scope="module")
def result(project_data):
    from coverage_app.core.analysis.pipeline import run_analysis

    _, data = project_data
    return run_analysis(data, data.project.params.replace(cell_size_m=1000.0, as_of=dt.date(2024, 6, 1)))


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    app_settings.use_settings_file(tmp_path / "settings.ini")
    monkeypatch.setattr(dialogs, "create_boxes", False)
    dialogs.shown.clear()
    yield
    app_settings.use_settings_file(None)


def make_dialog(qtbot, project_data, result):
    project, data = project_data
    dialog = PrintDialog(None, project, data, result)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.previews_rendered >= 1, timeout=30000)
    return dialog


def wait_job(qtbot, dialog, timeout=60000):
    qtbot.waitUntil(lambda: dialog.job is None, timeout=timeout)


def test_preview_renders_page_one_and_follows_the_options(qtbot, project_data, result):
    dialog = make_dialog(qtbot, project_data, result)
    assert dialog.preview_image is not None and not dialog.preview_image.isNull()
    portrait = dialog.preview_image.size()
    assert portrait.height() > portrait.width()
    assert dialog.preview.pixmap() is not None and not dialog.preview.pixmap().isNull()
    # landscape and a township: a new preview, wider than tall
    dialog.orientation.setCurrentIndex(dialog.orientation.findData(True))
    dialog.area.setCurrentIndex(dialog.area.findData("MMR005022"))
    qtbot.waitUntil(lambda: dialog.previews_rendered >= 2 and not dialog.busy(), timeout=30000)
    qtbot.waitUntil(lambda: dialog.preview_image.width() > dialog.preview_image.height(), timeout=30000)
    assert "landscape" in dialog.status.text()
    # the atlas cannot be a PNG
    dialog.area.setCurrentIndex(dialog.area.findData("__atlas__"))
    assert not dialog.save_png_button.isEnabled()
    assert dialog.save_pdf_button.isEnabled()


def test_save_pdf_and_png_in_the_background(qtbot, project_data, result, tmp_path, monkeypatch):
    dialog = make_dialog(qtbot, project_data, result)
    target = tmp_path / "out" / "brief"
    target.parent.mkdir()
    monkeypatch.setattr(dialogs, "get_save_file", lambda *a, **k: str(target))
    dialog.title_edit.setText("Briefing for the cluster meeting")
    dialog.safe_share.setChecked(True)
    qtbot.mouseClick(dialog.save_pdf_button, Qt.LeftButton)
    assert dialog.job is not None and not dialog.save_pdf_button.isEnabled()  # runs off the GUI thread
    wait_job(qtbot, dialog)
    pdf = target.with_suffix(".pdf")
    assert dialog.last_saved == pdf and pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "Briefing for the cluster meeting" in text and "Safe-share version" in text
    qtbot.mouseClick(dialog.save_png_button, Qt.LeftButton)
    wait_job(qtbot, dialog)
    assert target.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert app_settings.value("print/safe_share", False, type=bool) is True


def test_save_error_is_shown_plainly(qtbot, project_data, result, tmp_path, monkeypatch):
    dialog = make_dialog(qtbot, project_data, result)
    monkeypatch.setattr(dialogs, "get_save_file", lambda *a, **k: str(tmp_path / "missing" / "x.pdf"))
    dialog.save_pdf()
    wait_job(qtbot, dialog)
    assert dialogs.shown and dialogs.shown[-1].kind == "error"
    assert "does not exist" in dialogs.shown[-1].text


def test_print_paints_the_page_on_the_printer(qtbot, project_data, result, tmp_path, monkeypatch):
    from PySide6.QtGui import QPageSize
    from PySide6.QtPrintSupport import QPrinter

    dialog = make_dialog(qtbot, project_data, result)
    out = tmp_path / "printed.pdf"

    def printer_to_file():
        printer = QPrinter(QPrinter.ScreenResolution)
        printer.setOutputFormat(QPrinter.PdfFormat)
        printer.setOutputFileName(str(out))
        printer.setPageSize(QPageSize(QPageSize.A4))
        return printer

    monkeypatch.setattr(dialog, "_choose_printer", printer_to_file)
    dialog.area.setCurrentIndex(dialog.area.findData("MMR005001"))
    dialog.table_page.setChecked(True)
    assert not dialog.table_page.isEnabled()  # a township page has no township table page
    qtbot.mouseClick(dialog.print_button, Qt.LeftButton)
    wait_job(qtbot, dialog)
    assert "Sent 1 page" in dialog.status.text()
    assert out.exists() and out.stat().st_size > 10_000
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.M)
    # the region page with the whole township table: two pages
    dialog.area.setCurrentIndex(dialog.area.findData("__region__"))
    assert dialog.table_page.isEnabled()
    dialog.print_pages()
    wait_job(qtbot, dialog)
    assert "Sent 2 pages" in dialog.status.text()


def test_cancel_a_print_job(qtbot, project_data, result, tmp_path, monkeypatch):
    from PySide6.QtPrintSupport import QPrinter

    dialog = make_dialog(qtbot, project_data, result)

    def printer_to_file():
        printer = QPrinter(QPrinter.ScreenResolution)
        printer.setOutputFormat(QPrinter.PdfFormat)
        printer.setOutputFileName(str(tmp_path / "cancelled.pdf"))
        return printer

    monkeypatch.setattr(dialog, "_choose_printer", printer_to_file)
    dialog.area.setCurrentIndex(dialog.area.findData("__atlas__"))
    dialog.print_pages()
    qtbot.waitUntil(lambda: "Printing page 2" in dialog.status.text() or dialog.job is None, timeout=60000)
    dialog.cancel_job()
    wait_job(qtbot, dialog)
    assert "cancelled" in dialog.status.text()
    assert dialog.save_pdf_button.isEnabled()


def test_without_a_result_the_inputs_are_mapped(qtbot, project_data):
    dialog = make_dialog(qtbot, project_data, None)
    assert dialog.findChild(type(dialog.status), "no_result_note").isVisibleTo(dialog)
    assert not dialog.preview_image.isNull()


def test_without_a_window_the_dialog_runs_on_its_own_task_runner(qtbot, project_data, result, tmp_path,
                                                                  monkeypatch):
    from coverage_app.ui import print_dialog
    from coverage_app.ui.tasks import TaskRunner

    assert not hasattr(print_dialog, "_ThreadRunner")  # ui/tasks.py is the only thread starter
    dialog = make_dialog(qtbot, project_data, result)  # no parent, so no window runner
    assert isinstance(dialog.tasks, TaskRunner) and dialog.tasks.parent() is dialog
    monkeypatch.setattr(dialogs, "get_save_file", lambda *a, **k: str(tmp_path / "own.pdf"))
    dialog.save_pdf()
    assert dialog.job is not None
    wait_job(qtbot, dialog)
    assert (tmp_path / "own.pdf").read_bytes()[:5] == b"%PDF-"
    # closing stops the dialog's own worker threads (once their tasks have reported back)
    dialog.preview_task = None
    dialog.refresh_preview()
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.tasks.running and not dialog.tasks._workers, timeout=30000)


def test_a_runner_held_by_the_parent_is_reused(qtbot, project_data, result):
    from PySide6.QtWidgets import QWidget

    from coverage_app.ui.tasks import TaskRunner

    host = QWidget()
    qtbot.addWidget(host)
    host.tasks = TaskRunner(host)
    child = QWidget(host)
    project, data = project_data
    dialog = PrintDialog(child, project, data, result)  # closed with its host
    assert dialog.tasks is host.tasks
    dialog.show()
    qtbot.waitUntil(lambda: dialog.previews_rendered >= 1, timeout=30000)
    dialog.reject()
    assert host.tasks._workers  # not ours to stop
    host.tasks.shutdown(20000)


def test_file_print_opens_the_dialog_on_the_window_result(qtbot, window):
    from tests.ui.conftest import run_analysis

    result = run_analysis(qtbot, window)
    assert window.act_print.isEnabled()
    window.act_print.trigger()
    dialog = window.outputs.last_print_dialog
    assert isinstance(dialog, PrintDialog) and dialog.result is result
    assert dialog.tasks is window.tasks  # the window's runner: one place starts threads
    qtbot.waitUntil(lambda: dialog.previews_rendered >= 1, timeout=30000)
    assert not dialog.preview_image.isNull()
    dialog.close()


def test_print_dialog_adds_the_sweep_probability_layer_and_ranges(qtbot, window, tmp_path, monkeypatch):
    """With a sweep in the session, File > Print offers its probability map and 5/50/95 % ranges
    (the case and tier shown in the sweep dialog); the saved PDF prints the sweep's own figures."""
    from tests.ui.conftest import FAST_CELL_M, errors_shown, run_analysis

    run_analysis(qtbot, window)
    window.act_print.trigger()
    plain = window.outputs.last_print_dialog
    assert plain.sweep_box.isHidden() and plain.options()["sweep"] is None  # no sweep yet: nothing offered
    plain.close()
    from PySide6.QtWidgets import QPushButton

    qtbot.mouseClick(window.results.findChild(QPushButton, "sweep_button"), Qt.LeftButton)
    sweep_dialog = window.sweeps.dialog
    sweep_dialog.cell.setValue(FAST_CELL_M)
    sweep_dialog.draws.setValue(5)
    sweep_dialog.seed.setValue(9)
    sweep_dialog.modes["motorbike"].setChecked(True)
    sweep_dialog.out_dir.setText(str(tmp_path / "sweep"))
    qtbot.mouseClick(sweep_dialog.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: sweep_dialog.result is not None, timeout=120000)
    sweep_dialog.case.setCurrentIndex(1)  # motorbike
    sweep_dialog.tier.setCurrentIndex(1)  # secondary care
    window.act_print.trigger()
    dialog = window.outputs.last_print_dialog
    assert not dialog.sweep_box.isHidden() and not dialog.sweep_box.isChecked()
    qtbot.waitUntil(lambda: dialog.previews_rendered >= 1, timeout=60000)
    dialog.sweep_box.setChecked(True)
    qtbot.waitUntil(lambda: dialog.previews_rendered >= 2, timeout=60000)
    options = dialog.options()
    assert options["sweep"]["case"] == 1 and options["sweep"]["tier"] == "secondary"
    target = tmp_path / "out" / "sweep-brief"
    target.parent.mkdir()
    monkeypatch.setattr(dialogs, "get_save_file", lambda *a, **k: str(target))
    qtbot.mouseClick(dialog.save_pdf_button, Qt.LeftButton)
    wait_job(qtbot, dialog)
    pdf = target.with_suffix(".pdf")
    assert dialog.last_saved == pdf and not errors_shown()
    dialog.grab().save(str(tmp_path / "print_dialog_sweep.png"))
    shots = Path(os.environ.get("COVERAGE_APP_SHOTS", tempfile.gettempdir()))
    shutil.copy(pdf, shots / "print_dialog_sweep.pdf")
    dialog.grab().save(str(shots / "print_dialog_sweep_dialog.png"))
    if not shutil.which("pdftotext"):
        return
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split())
    row = sweep_dialog.result.series.iloc[1].to_dict()  # the sweep's own 5/50/95 % (motorbike case)
    minutes = window.project.params.secondary_minutes
    assert "Uncertainty (5 draws" in text and "motorbike" in text
    assert (f"Secondary care within {minutes:g} min: {row['sec_pct50']:.1f} % "
            f"({row['sec_pct5']:.1f}–{row['sec_pct95']:.1f} %)") in text, text[:2000]
    dialog.close()
