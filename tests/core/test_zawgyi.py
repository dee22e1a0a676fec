"""The vectorised Zawgyi detector equals myanmartools' detector bit for bit."""

import random
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from myanmar import converter
from myanmartools import ZawgyiDetector

from coverage_app.core.data.zawgyi import (ZAWGYI_THRESHOLD, is_zawgyi, zawgyi_probabilities, zawgyi_probability,
                                           zawgyi_rows)

BUNDLED = Path(__file__).resolve().parents[2] / "layers" / "sagaing.gpkg"


@pytest.fixture(scope="module")
def detector():
    return ZawgyiDetector()


@pytest.fixture(scope="module")
def bundled_burmese():
    """Every distinct Burmese string of the bundled layers."""
    texts = set()
    for layer in pyogrio.list_layers(BUNDLED)[:, 0]:
        frame = pyogrio.read_dataframe(BUNDLED, layer=layer, read_geometry=False)
        for column in frame.columns:
            texts |= {v for v in frame[column].tolist() if isinstance(v, str)}
    burmese = sorted(t for t in texts if any("\u1000" <= c <= "\u109f" for c in t))
    assert len(burmese) > 1000
    return burmese


def random_strings(n, seed):
    """Strings of Myanmar (all four blocks), the spaces the model knows, Latin, digits, an emoji
    and a lone surrogate, 0-60 characters long."""
    rng = random.Random(seed)
    alphabet = [chr(c) for c in [*range(0x1000, 0x10A0), *range(0xAA60, 0xAA80), *range(0xA9E0, 0xAA00),
                                 *range(0x2000, 0x200C)]] + list("ab 1-\u00e9\U0001F600\ud800\0")
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(n)]


def test_equals_the_detector_on_random_text(detector):
    texts = random_strings(3000, seed=1)
    expected = np.array([detector.get_zawgyi_probability(t) for t in texts])
    got = zawgyi_probabilities(texts)
    assert np.array_equal(got, expected)  # bit for bit, -inf where no character is the model's
    assert 0 < (got > ZAWGYI_THRESHOLD).sum() < len(texts)


def test_equals_the_detector_on_the_bundled_names_and_their_zawgyi_forms(detector, bundled_burmese):
    zawgyi = [converter.convert(t, "unicode", "zawgyi") for t in bundled_burmese[:1500]]
    texts = bundled_burmese + zawgyi
    expected = np.array([detector.get_zawgyi_probability(t) for t in texts])
    got = zawgyi_probabilities(texts)
    assert np.array_equal(got, expected)
    flagged = got > ZAWGYI_THRESHOLD
    assert flagged[len(bundled_burmese):].mean() > 0.8  # converted names are caught
    assert flagged[:len(bundled_burmese)].mean() < 0.01


@pytest.mark.parametrize("text", ["", " ", "Monywa", "\u1040\u1041", "\u1000", "\u2000\u2001",
                                  "\ua9e0\u1000", "\U0001F600\u1031\u1000"])
def test_edge_cases_one_at_a_time_and_in_a_batch(detector, text):
    expected = detector.get_zawgyi_probability(text)
    assert zawgyi_probabilities([text])[0] == expected
    assert zawgyi_probabilities(["\u1031\u1000" * 30, text, ""])[1] == expected
    assert zawgyi_probability(text) == (expected if any("\u1000" <= c <= "\u109f" for c in text) else 0.0)


def test_zawgyi_rows_matches_one_string_at_a_time(bundled_burmese):
    zawgyi = [converter.convert(t, "unicode", "zawgyi") for t in bundled_burmese[:300]]
    values = [*bundled_burmese[:300], None, 3.5, *zawgyi, *zawgyi[:10], "Sagaing"]
    rows = zawgyi_rows(values)
    assert rows == [i for i, v in enumerate(values) if is_zawgyi(v)]
    assert len(rows) > 250
    assert zawgyi_rows([]) == [] and zawgyi_rows([None, "Shwebo"]) == []
