"""PySide6 desktop front end: the only package that imports Qt (DESIGN.md section 1).

Widgets collect parameters and hand core calls to :mod:`coverage_app.ui.tasks`; results are
applied on the GUI thread. Entry point: :func:`coverage_app.ui.app.run_app`.
"""
