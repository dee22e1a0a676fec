"""Detect and convert Zawgyi-encoded Burmese text (the legacy non-Unicode font encoding).

Detection uses Google's ``myanmartools`` model (a Markov chain over pairs of Burmese
characters); conversion uses ``python-myanmar``'s rule-based converter. Text that is not
Burmese scores 0 and is left alone.

A layer is checked whole with :func:`zawgyi_probabilities`: the model's pair scores are looked
up for every character of every distinct string at once (numpy), then summed per string in the
same order as ``myanmartools`` sums them, so each probability equals
``ZawgyiDetector().get_zawgyi_probability`` bit for bit (tests/core/test_zawgyi.py). The
per-character Python loop of the detector took 0.3-0.5 s on the bundled villages.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np

ZAWGYI_THRESHOLD = 0.95  # probability above which a string is treated as Zawgyi


@lru_cache(maxsize=1)
def _detector():
    from myanmartools import ZawgyiDetector

    return ZawgyiDetector()


@lru_cache(maxsize=1)
def _model() -> tuple[np.ndarray, np.ndarray, int]:
    """(state of each code point below the table's end, pair scores, number of states).

    A character's state is 1 + its position in the model's alphabet, 0 for any other
    character; the score of the pair (a, b) is ``scores[state(a) * size + state(b)]``, NaN for two
    foreign characters (as in ``myanmartools``).
    """
    detector = _detector()
    chars = detector._chars  # noqa: SLF001 - the model's alphabet and scores are what we vectorise
    size = len(chars) + 1
    # The states as the detector's own lookup gives them: it bisects an alphabet that is not
    # wholly sorted (Myanmar Extended-B and the spaces come last), so some characters that are in
    # it get state 0; the model's scores were made with that lookup.
    states = np.zeros(max(map(ord, chars)) + 1, dtype=np.int32)
    for char in chars:
        states[ord(char)] = detector._state(char)  # noqa: SLF001
    scores = np.array(detector._params, dtype=np.float64)  # noqa: SLF001 - float32 values, summed as Python floats
    return states, scores, size


_MYANMAR = re.compile("[\u1000-\u109f]")


def _has_myanmar(text: str) -> bool:
    return _MYANMAR.search(text) is not None


def zawgyi_probability(text) -> float:
    if not isinstance(text, str) or not _has_myanmar(text):
        return 0.0
    return float(zawgyi_probabilities([text])[0])


def _zawgyi_share(total: float) -> float:
    """Pz/(Pu+Pz) = 1/(1+exp(lnPu-lnPz)) from ``total`` = lnPz-lnPu, written so that exp never
    overflows, with math.exp, as myanmartools does (NumPy 2.4's vectorised exp differs from libm
    in the last bit)."""
    if total >= 0:
        z = math.exp(-total)
        return z / (z + 1)
    return 1 / (1 + math.exp(total))


def zawgyi_probabilities(texts: list[str]) -> np.ndarray:
    """Zawgyi probability (0-1) of each string of ``texts``, ``-inf`` where a string has no
    character of the model's alphabet (as ``myanmartools`` returns)."""
    n = len(texts)
    out = np.full(n, -np.inf)
    if n == 0:
        return out
    states_of, scores, size = _model()
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    # One code-point array for all strings, each preceded by a foreign (state 0) separator, and
    # one at the end: the pairs of string k are (separator, first), ..., (last, next separator).
    joined = "\0" + "\0".join(texts) + "\0"
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    states = np.zeros(len(codes), dtype=np.int64)
    known = codes < len(states_of)
    states[known] = states_of[codes[known]]
    pair_scores = scores[states[:-1] * size + states[1:]]
    foreign_pair = np.isnan(pair_scores)
    pair_scores[foreign_pair] = 0.0
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    pairs = lengths + 1
    # Sum each string's pair scores left to right, as Python's sum() does (adding 0.0 for the
    # skipped foreign pairs changes nothing): column k adds every string's k-th pair; with the
    # strings ordered longest first, the strings that still have a k-th pair are a prefix.
    order = np.argsort(-pairs, kind="stable")
    starts_sorted, pairs_sorted = starts[order], pairs[order]
    totals = np.zeros(n)
    counts = np.zeros(n, dtype=np.int64)
    active = n
    for k in range(int(pairs_sorted[0])):
        while pairs_sorted[active - 1] <= k:
            active -= 1
        at = starts_sorted[:active] + k
        totals[:active] += pair_scores[at]
        counts[:active] += ~foreign_pair[at]
    prob = np.array([_zawgyi_share(t) for t in totals.tolist()], dtype=np.float64)
    out[order] = np.where(counts > 0, prob, -np.inf)
    return out


def is_zawgyi(text) -> bool:
    return zawgyi_probability(text) > ZAWGYI_THRESHOLD


def to_unicode(text: str) -> str:
    """Convert one Zawgyi string to Unicode; Unicode or non-Burmese text is returned as is."""
    if not is_zawgyi(text):
        return text
    from myanmar import converter

    return converter.convert(text, "zawgyi", "unicode")


def zawgyi_rows(values) -> list[int]:
    """Positions (0-based) of values that look Zawgyi-encoded. Each distinct string with a
    Burmese character is scored once, all of them in one :func:`zawgyi_probabilities` call."""
    strings = {v for v in values if isinstance(v, str)}
    burmese = [s for s in strings if _has_myanmar(s)]
    if not burmese:
        return []
    flagged = {s for s, p in zip(burmese, zawgyi_probabilities(burmese)) if p > ZAWGYI_THRESHOLD}
    return [i for i, v in enumerate(values) if isinstance(v, str) and v in flagged]


def convert_zawgyi(gdf, fields=None):
    """Return (a copy of the GeoDataFrame with Zawgyi text in ``fields`` (default: all text fields)
    converted to Unicode, the number of values changed). A field not in the layer is an InputError."""
    import pandas as pd

    from coverage_app.core.errors import InputError

    out = gdf.copy()
    changed = 0
    text_columns = [c for c in out.columns if c != out.geometry.name
                    and (out[c].dtype == object or pd.api.types.is_string_dtype(out[c]))]
    missing = [f for f in fields or () if f not in out.columns or f == out.geometry.name]
    if missing:
        raise InputError(f"no field {', '.join(map(repr, missing))} in the layer; its text fields are: "
                         f"{', '.join(text_columns) or '(none)'}")
    for name in fields or text_columns:
        values = out[name].tolist()
        new = [to_unicode(v) if isinstance(v, str) else v for v in values]
        changed += sum(isinstance(a, str) and a != b for a, b in zip(values, new))
        out[name] = new
    return out, changed
