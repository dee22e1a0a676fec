"""Briefing maps: one-page PDF/PNG layouts, the township atlas and the safe-share version.

A page is a matplotlib :class:`~matplotlib.figure.Figure` (no pyplot, no Qt): marking strip,
title and subtitle, date and analysis parameters, the map (townships, catchment bands,
conflict zones valid on the analysis date, roads and water, villages by gap class,
facilities by level and status), scale bar, north arrow, an inset locator of Myanmar,
legend, key figures and a table, and source credits. Styles come from
:mod:`coverage_app.core.outputs.symbology`, the same definitions the on-screen canvas uses.

The map is drawn in the metric working CRS (UTM, EPSG:32646 for Sagaing) so the scale bar
is true. Fonts are the bundled Noto Sans and Noto Sans Myanmar, embedded in the PDF
(TrueType, ``pdf.fonttype`` 42); matplotlib >= 3.11 shapes Myanmar script.

``compose_page`` builds one page; ``write_briefing`` writes a region page, a township page
or the atlas (region overview + one page per township) to PDF, or one page to PNG,
atomically. Layers are projected once per call (:func:`prepare_layers`) and shared by every
page of an atlas.

Modules, in the order a page is built (each imports only those above it):
:mod:`.style` constants and text helpers; :mod:`.drawing` matplotlib primitives;
:mod:`.page` the page, fonts and label placement; :mod:`.layers` prepared layers and key
figures; :mod:`.legend`; :mod:`.tables` key figures and the township table; :mod:`.mapview`
the map, scale bar, north arrow and inset; :mod:`.compose` whole pages; :mod:`.writer`
PDF/PNG files. The names below are the public API (callers import them from here).
"""

from coverage_app.core.outputs.briefing.compose import compose_page, compose_table_page, find_township
from coverage_app.core.outputs.briefing.layers import BriefingLayers, prepare_layers, township_pcodes, zones_valid_on
from coverage_app.core.outputs.briefing.style import (BACKGROUND_STATES, GAP_MM, INK, LANGUAGES, MAP_BACKGROUND,
                                                      MARGIN_MM, MARKING_COLOURS, MUTED, OUTPUT_SUFFIXES,
                                                      OUTSIDE_TOWNSHIPS, PAPERS_MM, PNG_DPI)
from coverage_app.core.outputs.briefing.writer import check_output_path, render_rgba, write_briefing

__all__ = [
    "BACKGROUND_STATES", "GAP_MM", "INK", "LANGUAGES", "MAP_BACKGROUND", "MARGIN_MM", "MARKING_COLOURS", "MUTED",
    "OUTPUT_SUFFIXES", "OUTSIDE_TOWNSHIPS", "PAPERS_MM", "PNG_DPI",
    "BriefingLayers", "check_output_path", "compose_page", "compose_table_page", "find_township", "prepare_layers",
    "render_rgba", "township_pcodes", "write_briefing", "zones_valid_on",
]
