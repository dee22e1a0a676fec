"""Table views for result tables: the first (name) column frozen while the others scroll,
columns sized to the window, and a header menu to pick the columns shown (remembered).

:class:`FrozenColumnView` follows Qt's "frozen column" example: a second view over the
same model and selection, showing column 0 only, laid over the main view's first column.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QStyle, QTableView

from . import settings

MAX_AUTO_WIDTH = 150   # px: a column sized to its contents is never wider than this
MIN_AUTO_WIDTH = 48
NAME_MAX_WIDTH = 220   # px: the frozen name column, fitted to its contents, in a wide view
NAME_MIN_CAP = 110     # px: the name column's cap never goes below this, however narrow the view
FIT_ROWS = 50          # rows beyond those on show that column widths are fitted to


class FrozenColumnView(QTableView):
    def __init__(self, model, settings_key: str | None = None, parent=None):
        super().__init__(parent)
        self._fitting = False  # widths being set by fit_columns / _room_for_arrow: the header is fitted after
        self.setModel(model)
        self.settings_key = settings_key
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollPerPixel)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(22)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignCenter | Qt.TextWordWrap)
        header.setContextMenuPolicy(Qt.CustomContextMenu)
        header.customContextMenuRequested.connect(lambda pos: self.column_menu().popup(header.mapToGlobal(pos)))
        # the frozen name column
        f = QTableView(self)
        f.setObjectName("frozen_column")
        f.setModel(model)
        f.setSelectionModel(self.selectionModel())
        f.setFocusPolicy(Qt.NoFocus)
        f.setSelectionBehavior(QAbstractItemView.SelectRows)
        f.setAlternatingRowColors(True)
        f.verticalHeader().setVisible(False)
        f.verticalHeader().setDefaultSectionSize(22)
        f.horizontalHeader().setSectionResizeMode(QHeaderView.Fixed)
        f.horizontalHeader().setDefaultAlignment(Qt.AlignCenter | Qt.TextWordWrap)
        f.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        f.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        f.setStyleSheet("QTableView#frozen_column { border: none; border-right: 1px solid #9a9a9a; }")
        f.horizontalHeader().sectionClicked.connect(self._frozen_header_clicked)
        self.frozen = f
        self.viewport().stackUnder(f)
        header.sectionResized.connect(self._section_resized)
        header.sortIndicatorChanged.connect(lambda *_: (self._room_for_arrow(), self._fit_header_height()))
        self.verticalHeader().sectionResized.connect(lambda i, _o, n: f.setRowHeight(i, n))
        f.verticalScrollBar().valueChanged.connect(self.verticalScrollBar().setValue)
        self.verticalScrollBar().valueChanged.connect(f.verticalScrollBar().setValue)
        model.modelReset.connect(self._sync_columns)
        model.layoutChanged.connect(self._sync_columns)
        self._hidden = set(self._saved_hidden())
        self._sync_columns()

    # -- the frozen column ----------------------------------------------------------------
    def _sync_columns(self, *_args) -> None:
        n = self.model().columnCount()
        for c in range(n):
            self.frozen.setColumnHidden(c, c != 0)
            self.setColumnHidden(c, c != 0 and self.model().headerData(c, Qt.Horizontal) in self._hidden)
        self.frozen.setColumnWidth(0, self.columnWidth(0))
        self._place_frozen()

    def _section_resized(self, index: int, _old: int, new: int) -> None:
        if index == 0:
            self.frozen.setColumnWidth(0, new)
            self._place_frozen()
        if not self._fitting:
            self._fit_header_height()

    def _frozen_header_clicked(self, _section: int) -> None:
        header = self.horizontalHeader()
        order = Qt.DescendingOrder if header.sortIndicatorSection() == 0 and \
            header.sortIndicatorOrder() == Qt.AscendingOrder else Qt.AscendingOrder
        self.sortByColumn(0, order)

    def _place_frozen(self) -> None:
        fw = self.frameWidth()
        self.frozen.horizontalHeader().setFixedHeight(self.horizontalHeader().height())
        self.frozen.setGeometry(self.verticalHeader().width() + fw, fw, self.columnWidth(0),
                                self.viewport().height() + self.horizontalHeader().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_frozen()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if getattr(self, "_fit_when_shown", False):
            self.fit_columns()

    def updateGeometries(self) -> None:
        super().updateGeometries()
        if hasattr(self, "frozen"):
            self._place_frozen()

    # -- sizes and picked columns -----------------------------------------------------------
    def fit_columns(self) -> None:
        """Columns sized to their contents (capped), widened to fill the view if there is room.
        Sized from the rows on show plus FIT_ROWS more (Qt's default, 1000 rows, took ~5 s of
        the GUI thread per what-if update on the 5,832 villages of a busy machine). No room is kept
        beside each title for the sort arrow: Qt keeps ~40 px in every section, which pushed the
        second figure out of a laptop's results dock, and Fusion draws the arrow above the title."""
        # a view not on show (another tab) has no width of its own yet: fitted again when shown
        self._fit_when_shown = not self.isVisible()
        with self._setting_widths():
            header = self.horizontalHeader()
            header.setResizeContentsPrecision(FIT_ROWS)
            arrows = header.isSortIndicatorShown()
            header.setSortIndicatorShown(False)
            self.resizeColumnsToContents()
            header.setSortIndicatorShown(arrows)
            visible = [c for c in range(header.count()) if not self.isColumnHidden(c)]
            for c in visible:
                cap = self.name_width_cap() if c == 0 else MAX_AUTO_WIDTH
                self.setColumnWidth(c, max(MIN_AUTO_WIDTH, min(self.columnWidth(c), cap)))
            total = sum(self.columnWidth(c) for c in visible)
            room = self.viewport().width() - total
            if room > 0 and len(visible) > 1:
                extra = room // (len(visible) - 1)
                for c in visible[1:]:
                    self.setColumnWidth(c, self.columnWidth(c) + extra)
        self.frozen.setColumnWidth(0, self.columnWidth(0))
        self._fit_header_height()  # the arrow's room depends on the header's height, its column's width on it
        self._room_for_arrow()
        self._fit_header_height()

    @contextlib.contextmanager
    def _setting_widths(self):
        """Column widths set inside are not each followed by a header fit (done once after)."""
        self._fitting = True
        try:
            yield
        finally:
            self._fitting = False

    def _header_margin(self) -> int:
        return self.style().pixelMetric(QStyle.PM_HeaderMargin, None, self.horizontalHeader())

    def _arrow_room(self) -> int:
        """Pixels the style takes from the sorted column's title for its arrow (QCommonStyle: half
        the header's height and two margins)."""
        return self.horizontalHeader().height() // 2 + 2 * self._header_margin()

    def _room_for_arrow(self) -> None:
        """Widen the sorted column, if need be, so that its longest title word still fits beside the
        sort arrow (a one-word title such as 'Population' was clipped at both ends)."""
        header = self.horizontalHeader()
        c = header.sortIndicatorSection()
        if not header.isSortIndicatorShown() or not 0 < c < header.count() or self.isColumnHidden(c):
            return
        words = str(self.model().headerData(c, Qt.Horizontal) or "").split()
        if not words:
            return
        need = max(header.fontMetrics().horizontalAdvance(w) for w in words) + 2 * self._header_margin() \
            + self._arrow_room() + 2
        if self.columnWidth(c) < need:
            with self._setting_widths():
                self.setColumnWidth(c, need)

    def _fit_header_height(self) -> None:
        """Header tall enough for every shown title wrapped to its column's width (a capped column
        wraps a long title onto more lines than Qt's height, taken from the titles' own lines,
        shows)."""
        header = self.horizontalHeader()
        model = self.model()
        margin = self._header_margin()
        arrow = self._arrow_room()
        sorted_column = header.sortIndicatorSection() if header.isSortIndicatorShown() else -1
        fm = header.fontMetrics()
        need = 0
        for c in range(header.count()):
            if self.isColumnHidden(c):
                continue
            text = str(model.headerData(c, Qt.Horizontal) or "")
            width = self.columnWidth(c) - 2 * margin - (arrow if c == sorted_column else 0)
            box = fm.boundingRect(QRect(0, 0, max(8, width), 10_000), int(Qt.AlignCenter | Qt.TextWordWrap), text)
            need = max(need, box.height())
        header.setFixedHeight(max(need + 2 * margin + 4, fm.height() + 2 * margin + 4))
        self._place_frozen()

    def name_width_cap(self) -> int:
        """Widest the frozen name column is fitted to (px): 220, and at most half the view, so that
        the first figure stays beside the names in a narrow dock (a 1366 x 768 laptop gives the
        results ~290 px; long village names are elided, whole in their tooltips)."""
        return int(min(NAME_MAX_WIDTH, max(NAME_MIN_CAP, self.viewport().width() // 2)))

    def column_menu(self) -> QMenu:
        """Checkable columns (the frozen name column always stays)."""
        menu = QMenu(self)
        menu.setObjectName("column_menu")
        model = self.model()
        for c in range(1, model.columnCount()):
            title = model.headerData(c, Qt.Horizontal)
            action = QAction(str(title).replace("\n", " "), menu)
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(c))
            action.toggled.connect(lambda on, t=title: self.set_column_shown(t, on))
            menu.addAction(action)
        self.last_menu = menu
        return menu

    def set_column_shown(self, title: str, shown: bool) -> None:
        if shown:
            self._hidden.discard(title)
        else:
            self._hidden.add(title)
        self._save_hidden()
        self._sync_columns()

    def shown_columns(self) -> list[str]:
        model = self.model()
        return [model.headerData(c, Qt.Horizontal) for c in range(model.columnCount()) if not self.isColumnHidden(c)]

    def _saved_hidden(self) -> list[str]:
        if not self.settings_key:
            return []
        value = settings.value(f"tables/{self.settings_key}/hidden", "") or ""
        return [v for v in (value if isinstance(value, list) else str(value).split("|")) if v]

    def _save_hidden(self) -> None:
        if self.settings_key:
            settings.set_value(f"tables/{self.settings_key}/hidden", "|".join(sorted(self._hidden)))
