"""Qt-free engine of the coverage analyser: data model, analysis, export and printing.

Sub-packages follow the data flow, each importing only those before it:
``data`` (files, roles, project) <- ``travel`` (friction, engine) <- ``analysis`` (run,
scenarios, siting) <- ``outputs`` (export, briefing, safe sharing, symbology). The small
shared modules at this level (params, feedback, errors, atomic, grid, results) are used by
all of them and import none of them. Nothing in this package imports PySide6 or
``matplotlib.pyplot`` (tests/test_architecture.py checks it).
"""
