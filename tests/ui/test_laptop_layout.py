"""Issue 13 items 2, 3, 4 and 6 on a 1366 x 768 laptop window: the map keeps more than half
the window, the legend is a foldable corner, tables lead with the figures that matter
(name column frozen, columns picked by the user), the Analysis panel never clips or scrolls
sideways, dates are taken as typed, the view's extent survives a resize."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QPoint, QSize, Qt

from coverage_app.ui import settings
from coverage_app.ui.date_edit import DateEdit, parse_date

from .conftest import run_analysis


def _laptop(window, qtbot):
    window.resize(1366, 768)
    qtbot.waitUntil(lambda: window._docks_arranged, timeout=5000)
    qtbot.wait(100)


def test_map_keeps_half_the_window_and_the_legend_a_corner(window, qtbot):
    _laptop(window, qtbot)
    run_analysis(qtbot, window)
    c = window.canvas
    assert c.width() * c.height() >= 0.5 * window.width() * window.height(), (c.size(), window.size())
    rect = c._legend_layout()[1]
    assert rect.width() <= 0.3 * c.width() + 1 and rect.height() <= 0.4 * c.height() + 1
    assert rect.right() <= c.width() and rect.bottom() <= c.height()  # bottom-right corner
    # a click on its title folds it to a chip; the click never reaches the map tools
    clicked = []
    c.map_clicked.connect(lambda *a: clicked.append(a))
    header = c.legend_header_rect().center()
    qtbot.mouseClick(c, Qt.LeftButton, pos=QPoint(int(header.x()), int(header.y())))
    assert c.legend_collapsed and not clicked
    small = c._legend_layout()[1]
    assert small.height() < 40 and small.width() < rect.width() + 1
    assert settings.value("map/legend_collapsed") in (True, "true")
    c.grab().save(str(settings.app_data_dir() / "folded.png"))
    qtbot.mouseClick(c, Qt.LeftButton, pos=c.legend_header_rect().center().toPoint())
    assert not c.legend_collapsed


def test_the_users_dock_layout_is_remembered(qtbot, window):
    from .conftest import make_window

    _laptop(window, qtbot)
    window.resizeDocks([window.results_dock], [380], Qt.Horizontal)
    qtbot.wait(50)
    width = window.results_dock.width()
    window.close()
    again = make_window(qtbot)
    again.resize(1366, 768)
    qtbot.waitUntil(lambda: again._docks_arranged, timeout=5000)
    qtbot.wait(100)
    assert abs(again.results_dock.width() - width) <= 12
    again.dirty = False
    again.close()
    again.tasks.shutdown(20000)


def test_resizing_keeps_the_extent_in_view(window, qtbot):
    c = window.canvas
    before = c.visible_extent()
    window.resize(1900, 1050)
    qtbot.waitUntil(lambda: c.width() > 1000, timeout=5000)
    after = c.visible_extent()
    assert after[0] <= before[0] + 1 and after[1] <= before[1] + 1 and after[2] >= before[2] - 1 \
        and after[3] >= before[3] - 1
    # …and not much more: the tighter side still fits the old extent
    assert min((after[2] - after[0]) / (before[2] - before[0]), (after[3] - after[1]) / (before[3] - before[1])) < 1.05


def test_township_table_leads_with_people_and_share_without_care(window, qtbot):
    _laptop(window, qtbot)
    result = run_analysis(qtbot, window)
    view, model = window.results.township_view, window.results.township_model
    window.results.tabs.setCurrentWidget(view)
    qtbot.wait(50)
    keys = [c for c, _ in model.columns]
    assert keys[:5] == ["name_en", "pct_noprim", "pop_noprim", "pct_nosec", "pop_nosec"]
    # sorted by people without primary care, figures checked against the result's own columns
    t = result.townships.set_index("pcode")
    top = model.row_value(0, "pcode")
    assert model.row_value(0, "pop_noprim") == t.loc[top, "pop"] - t.loc[top, "pop_prim"] == \
        max(t["pop"] - t["pop_prim"])
    assert abs(model.row_value(0, "pct_noprim") - (100 - t.loc[top, "pct_prim"])) <= 0.11
    assert model.data(model.index(0, 2)) == f"{int(t.loc[top, 'pop'] - t.loc[top, 'pop_prim']):,}"
    assert model.data(model.index(0, 1)).endswith("%")
    # name and % without primary are on screen together in a 1366 px window
    name_w = view.columnWidth(0)
    assert name_w + view.columnWidth(1) <= view.viewport().width()
    # the uncovered villages too: a village's name and its population side by side, the name's
    # tooltip whole where the column elides it
    villages = window.results.village_view
    window.results.tabs.setCurrentIndex(window.results.tabs.indexOf(villages.parentWidget()))
    qtbot.wait(50)
    assert villages.model().columns[1][0] == "population"
    assert villages.columnWidth(0) + villages.columnWidth(1) <= villages.viewport().width(), \
        (villages.columnWidth(0), villages.columnWidth(1), villages.viewport().width())
    first = villages.model().index(0, 0)
    assert villages.model().data(first, Qt.ToolTipRole).startswith(villages.model().data(first) + " (no ")
    # each name carries its gap class as the map's dot (the Gap column lies off a narrow dock) and says it
    from coverage_app.core.outputs.symbology import GAP_STYLES

    gaps = result.villages.set_index("pcode")["gap"]
    seen = set()
    for r in range(villages.model().rowCount()):
        gap = gaps[villages.model().row_value(r, "pcode")]
        if gap in seen:
            continue
        seen.add(gap)
        index = villages.model().index(r, 0)
        dot = villages.model().data(index, Qt.DecorationRole).toImage()
        assert dot.pixelColor(dot.width() // 2, dot.height() // 2).name() == GAP_STYLES[gap].fill
        assert villages.model().data(index, Qt.ToolTipRole).endswith(f"({GAP_STYLES[gap].label.lower()})")
    assert seen >= {"primary", "both"}
    assert window.results.township_model.data(window.results.township_model.index(0, 0), Qt.DecorationRole) is None
    # how each village's point was placed, in words (the 8,7xx-people rows are wards at a town's point)
    vm = villages.model()
    col = [c for c, _ in vm.columns].index("pop_basis")
    basis = result.villages.set_index("pcode")["pop_basis"]
    labels = {"observed": "located", "placed_tract": "tract point", "placed_township": "township point",
              "urban_ward": "ward point", "urban_town": "town point"}
    zone_col = [c for c, _ in vm.columns].index("zone")  # and the conflict zone that slows it, if any
    zone = result.villages.set_index("pcode")["zone"]
    for r in range(min(vm.rowCount(), 30)):
        pcode = vm.row_value(r, "pcode")
        assert vm.data(vm.index(r, col)) == labels[basis[pcode]]
        assert vm.data(vm.index(r, zone_col)) == (zone[pcode].replace("_", "-") if zone[pcode] else "–")
    assert {vm.data(vm.index(r, zone_col)) for r in range(vm.rowCount())} >= {"restricted", "risk", "–"}
    # the Summary says how many people live where zones slow travel, and how many of them lack primary care
    v = result.villages
    in_zone = v["zone"].notna()
    no_prim = v["gap"].isin(["primary", "both"])
    h = result.headline()
    assert h["pop_in_zones"] == v.loc[in_zone, "population"].sum() > 1_000_000
    assert h["pop_in_zones_no_primary"] == v.loc[in_zone & no_prim, "population"].sum()
    text = window.results.summary.text()
    assert f"People in conflict zones in force (travel slowed)</td><td align='right'>{h['pop_in_zones']:,.0f}" in text
    assert f"{h['pop_in_zones_no_primary']:,.0f}" in text
    window.results.tabs.setCurrentWidget(view)
    qtbot.wait(50)
    # the frozen name column stays put while the table scrolls sideways
    view.horizontalScrollBar().setValue(view.horizontalScrollBar().maximum())
    assert view.frozen.isVisible() and view.frozen.geometry().width() == name_w
    assert view.frozen.geometry().x() <= 2 and view.frozen.model() is model
    assert view.frozen.selectionModel() is view.selectionModel()


def test_user_picks_the_columns_and_the_choice_is_kept(window, qtbot):
    from coverage_app.ui.results_dock import ResultsDock

    run_analysis(qtbot, window)
    view = window.results.township_view
    menu = view.column_menu()
    titles = [a.text() for a in menu.actions()]
    assert "Census 2014" in titles and "Township" not in titles  # the name column always stays
    census = next(a for a in menu.actions() if a.text() == "Census 2014")
    census.setChecked(False)
    assert "Census\n2014" not in view.shown_columns()
    other = ResultsDock()
    qtbot.addWidget(other)
    other.show_result(window.result)
    assert "Census\n2014" not in other.township_view.shown_columns()
    census.setChecked(True)
    assert "Census\n2014" in view.shown_columns()


def test_analysis_panel_fits_a_laptop_dock(window, qtbot):
    _laptop(window, qtbot)
    window.analysis_dock.raise_()
    qtbot.wait(50)
    panel = window.analysis_panel
    inner, viewport = panel.scroll.widget(), panel.scroll.viewport()
    assert inner.width() <= viewport.width()
    assert panel.scroll.horizontalScrollBarPolicy() == Qt.ScrollBarAlwaysOff
    for widget in (panel.as_of_today, panel.cell, panel.neighbours, panel.unknown):
        right = widget.mapTo(inner, QPoint(widget.width(), 0)).x()
        assert right <= viewport.width(), widget.objectName()
    # Tab through every field: the panel never scrolls sideways
    panel.mode.setFocus()
    for _ in range(12):
        qtbot.keyClick(window.focusWidget(), Qt.Key_Tab)
        assert panel.scroll.horizontalScrollBar().value() == 0


def test_typed_dates_are_taken_as_typed(qtbot, window):
    assert parse_date("2024-06-01") == dt.date(2024, 6, 1) and parse_date("2024/6/1") == dt.date(2024, 6, 1)
    assert parse_date("2024-13-01") is None and parse_date("06/01/2024") is None
    panel = window.analysis_panel
    panel.as_of_today.setChecked(False)
    edit = panel.as_of.edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "2024-06-01")
    qtbot.keyClick(edit, Qt.Key_Tab)
    assert panel.params().as_of == dt.date(2024, 6, 1)
    assert window.project.params.as_of == dt.date(2024, 6, 1)  # the edit reached the project
    edit.selectAll()
    qtbot.keyClicks(edit, "2024-13-01")
    qtbot.keyClick(edit, Qt.Key_Return)
    assert not panel.as_of.is_valid()
    try:
        panel.params()
        raise AssertionError("an impossible date must be refused")
    except ValueError as exc:
        assert "2024-13-01" in str(exc) and "YYYY-MM-DD" in str(exc)
    # the calendar sets the date too
    panel.as_of.calendar.clicked.emit(QDate(2023, 12, 24))
    assert panel.as_of.is_valid() and panel.params().as_of == dt.date(2023, 12, 24)
    assert edit.text() == "2023-12-24"


def test_date_edit_on_its_own(qtbot):
    box = DateEdit(dt.date(2026, 12, 1))
    qtbot.addWidget(box)
    seen = []
    box.dateChanged.connect(seen.append)
    box.edit.selectAll()
    qtbot.keyClicks(box.edit, "2024-06-01")
    assert box.py_date() == dt.date(2024, 6, 1) and seen[-1] == QDate(2024, 6, 1)
    assert box.sizeHint().width() < 200 and box.minimumSizeHint() != QSize(0, 0)


def test_identify_shows_the_values_beside_the_field_names(window, qtbot):
    """The Identify dock on a laptop: the Field column fits the field names, not the layer titles
    (a raster layer's title is ~330 px in bold), so the values stay in view without scrolling."""
    _laptop(window, qtbot)
    run_analysis(qtbot, window)
    layer = window.stack.by_title("Health facilities")
    hits = window.map_tools.identify(layer.xs[10], layer.ys[10])
    assert any(h[0].geometry == "raster" for h in hits)  # a long title is among the top rows
    qtbot.wait(50)  # the Identify dock is raised over the Results dock
    assert window.identify_panel.isVisible()
    tree = window.identify_panel.tree
    view = tree.viewport().width()
    field = tree.columnWidth(0)
    metrics = tree.fontMetrics()
    names = [tree.topLevelItem(0).child(j).text(0) for j in range(tree.topLevelItem(0).childCount())]
    assert all(metrics.horizontalAdvance(n) + tree.indentation() <= field for n in names), (field, names)
    assert view - field >= 0.4 * view, (view, field)
    assert tree.topLevelItem(0).text(1) and tree.topLevelItem(0).toolTip(0) == "Health facilities"


def _cut_off(root) -> list[str]:
    """Buttons, check boxes and one-line labels inside ``root`` (on show) narrower than their text,
    or reaching past ``root``'s right edge (a panel scrolled sideways hides them); table cells
    elide by design and are left out."""
    from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractScrollArea, QLabel, QToolButton,
                                   QWidget)

    out = []
    for w in root.findChildren(QWidget):
        if not w.isVisible() or not isinstance(w, (QAbstractButton, QLabel)) or (
                isinstance(w, QToolButton) and not w.text()):  # tab-bar arrows, icon-only buttons
            continue
        if isinstance(w, QLabel) and (w.wordWrap() or not w.text()):
            parent = w.parentWidget()
            if parent is not None and isinstance(parent, QAbstractItemView):
                continue
        if any(isinstance(a, QAbstractItemView) for a in _ancestors(w, root)):
            continue
        name = f"{type(w).__name__} {w.objectName() or ''} {getattr(w, 'text', lambda: '')()!r}"
        narrow = not (isinstance(w, QLabel) and w.wordWrap()) and w.width() < w.sizeHint().width()
        right = w.mapTo(root, QPoint(w.width(), 0)).x()
        edge = root.width()
        for a in _ancestors(w, root):  # inside a scroll area: its viewport's edge
            if isinstance(a.parentWidget(), QAbstractScrollArea) and a is a.parentWidget().viewport():
                edge = min(edge, a.mapTo(root, QPoint(a.width(), 0)).x())
        if narrow or right > edge + 1:
            out.append(f"{name}: width {w.width()} (needs {w.sizeHint().width()}), right edge {right} of {edge}")
    return out


def _ancestors(w, root):
    p = w.parentWidget()
    while p is not None and p is not root:
        yield p
        p = p.parentWidget()


def test_no_results_tab_cuts_off_its_text_on_a_laptop(window, qtbot):
    """Every results tab at 1366 x 768, the Ranges & sites tab with its ranges and suggested sites
    shown: nothing is cut at the dock's edge (the sensitivity toggle and the site buttons were, and
    the tab scrolled sideways), and each table's header fits its wrapped titles."""
    from .conftest import wait_idle

    _laptop(window, qtbot)
    run_analysis(qtbot, window)
    extras = window.results.extras
    window.results.tabs.setCurrentWidget(extras)
    extras.sensitivity.setChecked(True)
    qtbot.waitUntil(lambda: window.result.sensitivity is not None, timeout=120000)
    extras.count.setValue(3)
    extras.suggest.click()
    wait_idle(qtbot, window)
    qtbot.waitUntil(lambda: extras.site_model.rowCount() == 3, timeout=60000)
    tabs = window.results.tabs
    for i in range(tabs.count()):
        tabs.setCurrentIndex(i)
        qtbot.wait(50)
        page = tabs.currentWidget()
        assert _cut_off(page) == [], tabs.tabText(i)
    assert extras.scroll.widget().width() <= extras.scroll.viewport().width()
    fm = extras.range_view.horizontalHeader().fontMetrics()
    for view in (extras.range_view, extras.site_view, window.results.township_view, window.results.village_view):
        header = view.horizontalHeader()
        for c in range(header.count()):
            if view.isColumnHidden(c):
                continue
            text = str(view.model().headerData(c, Qt.Horizontal))
            lines = fm.boundingRect(0, 0, view.columnWidth(c) - 4, 10_000, int(Qt.AlignCenter | Qt.TextWordWrap),
                                    text).height()
            assert header.height() >= lines, (text, view.columnWidth(c), header.height(), lines)
            if c == header.sortIndicatorSection() and c > 0:  # the title's words fit beside the arrow
                room = view.columnWidth(c) - 4 - view._arrow_room()
                assert max(fm.horizontalAdvance(w) for w in text.split()) <= room, (text, view.columnWidth(c))
    for dock in (window.analysis_dock, window.scenario_dock, window.layer_dock):
        dock.raise_()
        qtbot.wait(50)
        assert _cut_off(dock.widget()) == [], dock.windowTitle()
    # the three figures that matter first are on screen beside the township names
    towns = window.results.township_view
    tabs.setCurrentWidget(towns)
    qtbot.wait(50)
    assert sum(towns.columnWidth(c) for c in range(3)) <= towns.viewport().width()


def test_the_summary_scrolls_and_says_first_that_it_is_out_of_date(window, qtbot):
    """At 1366 x 768 the Summary's figures are taller than the dock: they scroll (they were cut off
    below "People in conflict zones", the unknown-status note and the out-of-date warning unseen),
    and after a parameter change the warning is on screen without scrolling."""
    from PySide6.QtGui import QTextDocument

    _laptop(window, qtbot)
    run_analysis(qtbot, window)
    summary = window.results.summary
    window.results.tabs.setCurrentIndex(0)
    qtbot.wait(50)
    assert summary.height() >= summary.heightForWidth(summary.width())  # nothing cut: it scrolls instead
    scroll = window.results.summary_scroll
    assert summary.width() <= scroll.viewport().width()
    window.analysis_panel.primary.setValue(75)
    qtbot.waitUntil(lambda: "out of date" in summary.text(), timeout=5000)
    qtbot.wait(50)
    doc = QTextDocument()
    doc.setDefaultFont(summary.font())
    doc.setHtml(summary.text())
    doc.setTextWidth(summary.width())
    block = doc.find("out of date").block()
    bottom = doc.documentLayout().blockBoundingRect(block).bottom()
    assert scroll.verticalScrollBar().value() == 0 and bottom <= scroll.viewport().height(), (bottom,)
