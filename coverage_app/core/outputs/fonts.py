"""The fonts shipped with the app (OFL): Noto Sans Myanmar for Burmese, Noto Sans for Latin.

Registering them makes maps and the UI render the same on any laptop, Burmese included.
matplotlib >= 3.11 shapes Myanmar script (complex text layout) with these fonts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parents[2] / "resources" / "fonts"  # coverage_app/resources/fonts
LATIN_FAMILY = "Noto Sans"
MYANMAR_FAMILY = "Noto Sans Myanmar"
# matplotlib tries these families in order per glyph (font fallback).
FAMILY_STACK = [LATIN_FAMILY, MYANMAR_FAMILY, "DejaVu Sans"]


def font_files() -> list[Path]:
    return sorted(FONT_DIR.glob("*.ttf"))


@lru_cache(maxsize=1)
def register_matplotlib_fonts() -> list[str]:
    """Add the bundled fonts to matplotlib's font manager (idempotent); return the families."""
    from matplotlib import font_manager

    for path in font_files():
        font_manager.fontManager.addfont(str(path))
    return FAMILY_STACK
