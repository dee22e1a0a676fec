"""Passphrase dialogs for protected projects and archives.

:func:`ask_passphrase` blocks for an answer (tests replace it with ``monkeypatch``, like
:func:`coverage_app.ui.dialogs.ask`). The dialog never stores the passphrase anywhere but
in its own line edits, which are cleared when it closes.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout)

from coverage_app.core.data import protect
from coverage_app.core.data.roles import ROLES

from . import dialogs

ADVICE = ("Choose a passphrase of four or five unrelated words (at least 12 characters) that you do not use "
          "anywhere else, and tell it to colleagues in person, not in the same message as the file. "
          "It cannot be recovered: without it the protected file cannot be opened by anyone, including you.")


class PassphraseDialog(QDialog):
    """Asks for a passphrase; ``new=True`` asks twice and refuses weak ones."""

    def __init__(self, parent=None, title: str = "Passphrase", text: str = "", new: bool = False):
        super().__init__(parent)
        self.setObjectName("passphrase_dialog")
        self.setWindowTitle(title)
        self.new = new
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("passphrase")
        self.passphrase.setEchoMode(QLineEdit.Password)
        self.repeat = QLineEdit()
        self.repeat.setObjectName("repeat")
        self.repeat.setEchoMode(QLineEdit.Password)
        self.show_text = QCheckBox("Show")
        self.show_text.toggled.connect(self._toggle_echo)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setStyleSheet("color:#b2182b")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Passphrase", self.passphrase)
        if new:
            form.addRow("Repeat", self.repeat)
        form.addRow("", self.show_text)
        layout = QVBoxLayout(self)
        if text:
            intro = QLabel(text)
            intro.setWordWrap(True)
            layout.addWidget(intro)
        layout.addLayout(form)
        if new:
            advice = QLabel(ADVICE)
            advice.setWordWrap(True)
            advice.setStyleSheet("color:#444")
            layout.addWidget(advice)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(420)

    def _toggle_echo(self, on: bool) -> None:
        mode = QLineEdit.Normal if on else QLineEdit.Password
        self.passphrase.setEchoMode(mode)
        self.repeat.setEchoMode(mode)

    def problem(self) -> str | None:
        text = self.passphrase.text()
        if not text:
            return "Type the passphrase."
        if self.new:
            weak = protect.passphrase_problem(text)
            if weak:
                return f"Too weak: {weak}."
            if text != self.repeat.text():
                return "The two passphrases differ."
        return None

    def _accept(self) -> None:
        problem = self.problem()
        if problem:
            self.error.setText(problem)
            return
        self.accept()

    def value(self) -> str:
        return self.passphrase.text()

    def clear(self) -> None:
        self.passphrase.clear()
        self.repeat.clear()


def ask_passphrase(parent, title: str, text: str = "", new: bool = False) -> str | None:
    """The passphrase typed, or None if cancelled (blocking)."""
    dialog = PassphraseDialog(parent, title, text, new=new)
    try:
        return dialog.value() if dialogs.run_dialog(dialog) else None
    finally:
        dialog.clear()
        dialog.deleteLater()


class SensitiveLayersDialog(QDialog):
    """Which vector layers go inside the protected file (facilities always do)."""

    def __init__(self, parent, project):
        super().__init__(parent)
        self.setObjectName("sensitive_layers_dialog")
        self.setWindowTitle("Layers to protect")
        layout = QVBoxLayout(self)
        intro = QLabel("These layers are copied into the protected file, encrypted. The others stay where they "
                       "are and are only referenced (roads, rivers and census villages are usually public).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.boxes: dict[str, QCheckBox] = {}
        for ref in project.layers:
            if ref.role in ROLES and ROLES[ref.role].raster:
                continue
            box = QCheckBox(f"{ref.name} ({ref.role})")
            box.setChecked(protect.is_sensitive(ref))
            if ref.role in protect.SENSITIVE_ROLES:
                box.setEnabled(False)  # facilities are always protected
            self.boxes[ref.name] = box
            layout.addWidget(box)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen(self) -> list[str]:
        return [name for name, box in self.boxes.items() if box.isChecked()]


def choose_sensitive_layers(parent, project) -> list[str] | None:
    """Names of the layers to protect, or None if cancelled (blocking)."""
    dialog = SensitiveLayersDialog(parent, project)
    try:
        return dialog.chosen() if dialogs.run_dialog(dialog) else None
    finally:
        dialog.deleteLater()
