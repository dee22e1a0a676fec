"""Qt-free engine of the coverage analyser: data model, analysis, export and printing.

Nothing in this package imports PySide6 or ``matplotlib.pyplot`` (a test checks it).
"""
