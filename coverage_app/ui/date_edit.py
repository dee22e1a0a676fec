"""A date field that keeps a typed date as typed (``2024-06-01`` stays 2024-06-01) with a
calendar button beside it.

QDateEdit edits one section at a time, so typing a whole date over a selected field could
silently keep the old year. Here the text is parsed as a whole when typing is finished
(Enter, Tab, focus out) or once a complete date is typed; an impossible date turns the
field red and :meth:`DateEdit.is_valid` is False (callers refuse it with a message). The
API follows QDateEdit where the app uses it: ``date()``, ``setDate()``, ``dateChanged``.
"""

from __future__ import annotations

import datetime as dt
import re

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import QCalendarWidget, QHBoxLayout, QLineEdit, QMenu, QToolButton, QWidget, QWidgetAction

_DATE = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\s*$|^\s*(\d{4})(\d{2})(\d{2})\s*$")
HINT = "type a date as YYYY-MM-DD (e.g. 2024-06-01) or pick it on the calendar"


def parse_date(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` (also with / or . between, or YYYYMMDD); None if not a real date."""
    m = _DATE.match(text or "")
    if not m:
        return None
    y, mo, d = (int(g) for g in (m.groups()[:3] if m.group(1) else m.groups()[3:]))
    try:
        return dt.date(y, mo, d)
    except ValueError:
        return None


class DateEdit(QWidget):
    dateChanged = Signal(QDate)

    def __init__(self, date: QDate | dt.date | None = None, parent=None):
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setObjectName("date_text")
        self.edit.setPlaceholderText("YYYY-MM-DD")
        self.edit.setToolTip(HINT)
        self.edit.setMaxLength(10)
        self.edit.setMinimumWidth(self.edit.fontMetrics().horizontalAdvance("0000-00-00") + 16)
        self.button = QToolButton()
        self.button.setObjectName("calendar_button")
        self.button.setArrowType(Qt.DownArrow)
        self.button.setToolTip("Pick the date on a calendar")
        self.calendar = QCalendarWidget()
        self.calendar.setGridVisible(True)
        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.calendar)
        menu.addAction(action)
        self.menu = menu
        self.button.setMenu(menu)
        self.button.setPopupMode(QToolButton.InstantPopup)
        menu.aboutToShow.connect(lambda: self.calendar.setSelectedDate(self._date))
        self.calendar.clicked.connect(self._picked)
        self.calendar.activated.connect(self._picked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.button)
        self.setFocusProxy(self.edit)
        self._date = QDate.currentDate()
        self._valid = True
        self.edit.editingFinished.connect(self._commit)
        self.edit.textEdited.connect(self._typed)
        self.setDate(date if date is not None else QDate.currentDate())

    # -- QDateEdit-like API -------------------------------------------------------------
    def date(self) -> QDate:
        """The last valid date (typed or picked)."""
        return QDate(self._date)

    def setDate(self, date) -> None:  # noqa: N802 - Qt naming
        if isinstance(date, dt.date):
            date = QDate(date.year, date.month, date.day)
        changed = date != self._date
        self._date = QDate(date)
        self.edit.setText(self._date.toString("yyyy-MM-dd"))
        self._set_valid(True)
        if changed:
            self.dateChanged.emit(QDate(self._date))

    def setCalendarPopup(self, _on: bool) -> None:  # noqa: N802 - the calendar is always there
        pass

    def setDisplayFormat(self, _fmt: str) -> None:  # noqa: N802 - always ISO yyyy-MM-dd
        pass

    def py_date(self) -> dt.date:
        return dt.date(self._date.year(), self._date.month(), self._date.day())

    def is_valid(self) -> bool:
        """False while the text is not a date (the field is red)."""
        return self._valid

    def text(self) -> str:
        return self.edit.text()

    # -- typing and picking -------------------------------------------------------------
    def _typed(self, text: str) -> None:
        date = parse_date(text)  # a complete date is taken at once; a partial one waits for Enter / Tab
        if date is not None and len(text.strip()) >= 8:
            self._accept(date)

    def _commit(self) -> None:
        date = parse_date(self.edit.text())
        if date is None:
            self._set_valid(False)
            return
        self._accept(date)
        self.edit.setText(date.isoformat())

    def _accept(self, date: dt.date) -> None:
        self._set_valid(True)
        q = QDate(date.year, date.month, date.day)
        if q != self._date:
            self._date = q
            self.dateChanged.emit(QDate(q))

    def _picked(self, date: QDate) -> None:
        self.setDate(date)
        self.menu.close()

    def _set_valid(self, valid: bool) -> None:
        self._valid = bool(valid)
        self.edit.setStyleSheet("" if valid else "QLineEdit { background: #ffe0e0; border: 1px solid #c0392b; }")
        self.edit.setToolTip(HINT if valid else f"“{self.edit.text()}” is not a date: {HINT}")
