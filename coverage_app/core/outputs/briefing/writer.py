"""Writing: output-path checks, rendering to RGBA for previews and printing, and
:func:`write_briefing` (one page, or the atlas, to PDF/PNG, atomically).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from coverage_app.core.atomic import atomic_path
from coverage_app.core.errors import InputError
from coverage_app.core.feedback import report
from coverage_app.core.outputs.briefing.compose import (compose_figure, compose_table_page, default_titles,
                                                        resolve_township)
from coverage_app.core.outputs.briefing.layers import prepare_layers, township_pcodes
from coverage_app.core.outputs.briefing.page import check_options, font_rc
from coverage_app.core.outputs.briefing.style import OUTPUT_SUFFIXES, PNG_DPI
from coverage_app.core.outputs.fonts import register_matplotlib_fonts


def check_output_path(path) -> Path:
    """The output path is usable: a .pdf or .png in an existing, writable folder."""
    import os

    path = Path(path)
    if path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"{path.name}: write the briefing map to a .pdf or .png file "
                         f"(not '{path.suffix or 'no suffix'}')")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}: the folder {folder} does not exist; create it or choose another place")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{path}: the folder {folder} is not writable; choose another place")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name ending in .pdf or .png")
    return path


def render_rgba(fig: Figure, dpi: float = 100) -> np.ndarray:
    """The page as an RGBA uint8 array (rows, cols, 4): for previews and printing."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    old = fig.dpi
    with font_rc(register_matplotlib_fonts()):
        try:
            fig.set_dpi(dpi)
            canvas.draw()
            return np.asarray(canvas.buffer_rgba()).copy()
        finally:
            fig.set_dpi(old)


MAX_DPI = 600  # an A3 page at 600 dpi is 7,016 x 9,921 pixels (280 MB while drawn)


def check_dpi(dpi) -> None:
    """InputError unless ``dpi`` (a PNG's resolution) is a whole number from 50 to MAX_DPI."""
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 50 <= dpi <= MAX_DPI:
        raise InputError(f"the PNG resolution (--dpi) must be a whole number from 50 to {MAX_DPI} dots per inch, "
                         f"not {dpi!r}")


def write_briefing(path, data, result=None, *, atlas: bool = False, paper: str = "a4", landscape: bool = False,
                   township=None, language: str = "en", safe_share: bool = False, title: str | None = None,
                   subtitle: str | None = None, extra_credits=(), table_page: bool = False,
                   safe_method: str = "township", dpi: int = PNG_DPI, printed_on: dt.date | None = None,
                   sweep=None, feedback=None) -> Path:
    """Write a briefing map: one page (region, or ``township``) or the ``atlas``; PDF or PNG.

    The atlas is the region overview followed by one page per township (sorted by pcode);
    ``table_page`` adds the whole township table after the overview. ``sweep``
    (:func:`~coverage_app.core.outputs.sweep_export.sweep_map_view`) maps the villages'
    probability of access and prints the sweep's 5/50/95 % shares. PNG holds one page
    (``dpi`` dots per inch). The file is written atomically; bad options raise
    :class:`InputError` before anything is drawn.
    """
    path = check_output_path(path)
    check_options(paper, language)
    png = path.suffix.lower() == ".png"
    if png:
        check_dpi(dpi)
    if png and (atlas or table_page):
        raise InputError(f"{path.name}: the atlas and the table page have several pages; write them to a .pdf")
    family = register_matplotlib_fonts()
    from coverage_app.core.feedback import sub

    layers = prepare_layers(data, result, safe_share=safe_share, safe_method=safe_method,
                            extra_credits=extra_credits, sweep=sweep, feedback=sub(feedback, 0.0, 0.08))
    if township is not None:
        resolve_township(layers, township)
    printed_on = printed_on or dt.date.today()
    common = dict(paper=paper, landscape=landscape, language=language, printed_on=printed_on, family=family)
    plan = [("page", township, title, subtitle)]
    if atlas:
        plan = [("page", None, title, subtitle)]
        if table_page:
            plan.append(("table", None, None, None))
        plan += [("page", p, None, None) for p in township_pcodes(layers)]
    elif table_page and township is None:
        plan.append(("table", None, None, None))
    total = len(plan)
    try:
        with font_rc(family), atomic_path(path) as tmp:
            if png:
                report(feedback, 0.1, "Drawing the page")
                fig = compose_figure(layers, township=township, title=title, subtitle=subtitle, **common)
                fig.savefig(tmp, dpi=dpi, format="png", metadata={"Software": "coverage-app"})
            else:
                from matplotlib.backends.backend_pdf import PdfPages

                metadata = {"Title": title or default_titles(layers, None if township is None else
                                                             resolve_township(layers, township), "en")[0][0],
                            "Creator": "coverage-app", "Subject": "Health-care access briefing map"}
                with PdfPages(tmp, metadata=metadata) as pdf:
                    for i, (kind, pcode, t, s) in enumerate(plan):
                        name = "overview" if pcode is None else pcode
                        report(feedback, 0.08 + 0.92 * i / total, f"Drawing page {i + 1} of {total} ({name})")
                        if kind == "table":
                            fig = compose_table_page(layers, paper=paper, landscape=landscape, language=language,
                                                     printed_on=printed_on)
                        else:
                            fig = compose_figure(layers, township=pcode, title=t, subtitle=s, **common)
                        pdf.savefig(fig)
                        fig.clear()
            report(feedback, 1.0, f"Written {path.name}")
    except OSError as exc:  # the folder refuses new files (/proc, a read-only card), a full disk
        raise InputError(f"{path}: cannot be written ({exc.strerror or exc}); no file was changed: "
                         "choose another folder (or free some space)") from None
    return path
