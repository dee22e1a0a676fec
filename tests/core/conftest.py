"""Fixtures shared by the core tests."""

from __future__ import annotations

import pytest

from coverage_app.core.travel import cow


@pytest.fixture(params=["cow", "copy"])
def sharing(request, monkeypatch):
    """Edits with outputs shared copy-on-write (where the system has it; any grid size) or
    plain copies (the portable path every system without memfd_create takes)."""
    if request.param == "cow":
        if not cow.available():
            pytest.skip("no copy-on-write sharing on this system")
        monkeypatch.setattr(cow, "MIN_BYTES", 0)
    else:
        monkeypatch.setattr(cow, "ENABLED", False)
    return request.param
