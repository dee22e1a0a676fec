"""Empty cells of an attribute column, found in one pass over its values (layer validation)."""

from __future__ import annotations

import pandas as pd

BLANK_TEXT = ("", "nan", "None", "<NA>")  # text that counts as an empty cell once stripped


def blank_cells(col: pd.Series) -> tuple[pd.Series, list | None]:
    """Which cells are empty (missing, or text that is blank, "nan", "None" or "<NA>") and, for a
    text column, each cell's stripped text (None where missing): one pass over the values instead
    of astype(str), strip and isin (numbers and dates are empty only where missing)."""
    if col.dtype.kind in "biufcmM":
        return col.isna(), None
    if not isinstance(col.dtype, pd.StringDtype):  # object columns (bytes decode in astype): pandas' way
        return col.isna() | col.astype(str).str.strip().isin(list(BLANK_TEXT)), None
    missing = col.isna().to_numpy().tolist()
    text = [None if m else v.strip() for v, m in zip(col.tolist(), missing)]
    blank = [m or t in BLANK_TEXT for t, m in zip(text, missing)]
    return pd.Series(blank, index=col.index, dtype=bool), text
