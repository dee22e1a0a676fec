"""Empty cells found in one pass equal pandas' astype(str) / strip / isin test on every dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coverage_app.core.data.cells import blank_cells

TEXT = ["a", "  b ", "", "   ", "nan", " None", "<NA>", "NaN", "none", "x\t", "ဗမာ", None, np.nan]
COLUMNS = {
    "str": pd.Series(TEXT, dtype="str"),
    "string[python]": pd.Series(TEXT, dtype="string"),
    "object": pd.Series(TEXT + [b"", b" y", 3, 2.5, pd.NaT], dtype=object),
    "int64": pd.Series([1, 0, -3]),
    "Int64": pd.Series([1, None, 3], dtype="Int64"),
    "float64": pd.Series([1.5, np.nan, np.inf, 0.0]),
    "bool": pd.Series([True, False]),
    "datetime": pd.Series(pd.to_datetime(["2024-01-02", None])),
}


def _pandas_way(col):
    return col.isna() | col.astype(str).str.strip().isin(["", "nan", "None", "<NA>"])


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_blank_cells_equal_pandas(name):
    col = COLUMNS[name]
    col.index = col.index * 3 + 7  # not a RangeIndex from 0
    blank, text = blank_cells(col)
    expected = _pandas_way(col)
    assert blank.dtype == bool
    assert blank.index.equals(col.index)
    assert blank.tolist() == expected.tolist()
    if text is not None:
        assert [t for t, b in zip(text, blank) if not b] == \
            [str(v).strip() for v, b in zip(col.tolist(), blank) if not b]


def test_text_columns_take_the_one_pass():
    blank, text = blank_cells(pd.Series(["  a", "", None], dtype="str"))
    assert text == ["a", "", None]
    assert blank.tolist() == [False, True, True]
