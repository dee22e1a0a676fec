"""Copy-on-write outputs of incremental edits (core/travel/cow.py): parents stay bitwise
unchanged, children equal full runs, pages are really shared where the system allows, and
the portable fallback (plain copies) gives the same results."""

from __future__ import annotations

import copy
import os
import pickle

import numpy as np
import pytest

from coverage_app.core.travel import cow, engine

needs_cow = pytest.mark.skipif(not cow.available(), reason="no copy-on-write sharing on this system")


@pytest.fixture(scope="module", autouse=True)
def _compiled():
    engine.warm_up()


def case(seed=3, shape=(90, 110), n=12):
    rng = np.random.default_rng(seed)
    cost = (rng.random(shape) * 0.05 + 0.01).astype(np.float32)
    cost[rng.random(shape) < 0.05] = np.inf
    free = np.flatnonzero(np.isfinite(cost))
    cells = rng.choice(free, n + 4, replace=False)
    rows, cols = np.unravel_index(cells, shape)
    return cost, rows, cols


def bits(res):
    """The outputs as raw bits (NaN-exact)."""
    return res.minutes.view(np.uint32).copy(), res.allocation.copy()


def assert_bits(res, expected):
    m, a = bits(res)
    np.testing.assert_array_equal(m, expected[0])
    np.testing.assert_array_equal(a, expected[1])


def test_parent_stays_bitwise_unchanged_through_a_chain_of_edits(sharing):
    cost, rows, cols = case()
    ids = list(range(12))
    full = lambda ids: engine.travel_time(cost, 25.0, rows[ids], cols[ids], ids)  # noqa: E731
    r = full(ids)
    r0 = bits(r)
    a = engine.remove_source(r, 5, cost, 25.0)
    assert_bits(r, r0)
    a0 = bits(a)
    b = engine.add_source(a, rows[13], cols[13], 13, cost, 25.0)  # the child edited again
    c = engine.remove_source(b, 2, cost, 25.0)
    assert_bits(r, r0)
    assert_bits(a, a0)
    for res, ids_ in ((a, [i for i in ids if i != 5]), (b, [i for i in ids if i != 5] + [13]),
                      (c, [i for i in ids if i not in (2, 5)] + [13])):
        ref = full(ids_)
        np.testing.assert_array_equal(res.minutes, ref.minutes)  # minutes exact
        np.testing.assert_array_equal(res.allocation, ref.allocation)
    # a sibling branch from the root, made after the chain, is right too
    d = engine.add_source(r, rows[14], cols[14], 14, cost, 25.0)
    np.testing.assert_array_equal(d.minutes, full(ids + [14]).minutes)
    assert_bits(r, r0)
    assert_bits(a, a0)
    if sharing == "copy":
        assert r.outputs is a.outputs is c.outputs is None
        assert a.minutes.flags.writeable


@needs_cow
def test_children_share_the_parents_image_and_record_only_the_changed_cells(monkeypatch):
    monkeypatch.setattr(cow, "MIN_BYTES", 0)
    cost, rows, cols = case(shape=(120, 150))
    r = engine.travel_time(cost, 25.0, rows[:12], cols[:12], list(range(12)))
    a = engine.remove_source(r, 4, cost, 25.0)
    b = engine.remove_source(a, 7, cost, 25.0)
    assert r.outputs is not None and a.outputs.image is r.outputs.image is b.outputs.image
    assert r.outputs.diff.size == 0
    changed_a = engine.changed_cells(r, a)
    np.testing.assert_array_equal(a.outputs.diff, changed_a)
    np.testing.assert_array_equal(b.outputs.diff, np.union1d(changed_a, engine.changed_cells(a, b)))
    assert 0 < b.outputs.diff.size < r.minutes.size // 2
    # every cell outside the recorded diff is the parent's (that is what makes sharing exact)
    outside = np.ones(r.minutes.size, bool)
    outside[b.outputs.diff] = False
    np.testing.assert_array_equal(b.allocation.reshape(-1)[outside], r.allocation.reshape(-1)[outside])
    # shared arrays are read-only, so nothing can change an image under its results
    for res in (r, a, b):
        assert not res.minutes.flags.writeable and not res.allocation.flags.writeable
        with pytest.raises(ValueError):
            res.minutes[0, 0] = 1.0


@needs_cow
def test_small_grids_and_the_disabled_switch_use_plain_copies(monkeypatch):
    cost, rows, cols = case()
    r = engine.travel_time(cost, 25.0, rows[:12], cols[:12], list(range(12)))
    assert r.minutes.nbytes < cow.MIN_BYTES
    a = engine.remove_source(r, 4, cost, 25.0)
    assert r.outputs is None and a.outputs is None and a.minutes.flags.writeable
    monkeypatch.setattr(cow, "MIN_BYTES", 0)
    monkeypatch.setattr(cow, "ENABLED", False)
    assert cow.share(r.minutes, r.allocation) is None
    assert engine.share_outputs(r) is None and r.minutes.flags.writeable


@needs_cow
def test_share_outputs_keeps_values_and_is_idempotent(monkeypatch):
    monkeypatch.setattr(cow, "MIN_BYTES", 0)
    cost, rows, cols = case()
    r = engine.travel_time(cost, 25.0, rows[:12], cols[:12], list(range(12)))
    before = bits(r)
    old_minutes = r.minutes
    out = engine.share_outputs(r)
    assert out is not None and r.minutes is out.minutes and r.minutes is not old_minutes
    assert_bits(r, before)
    assert engine.share_outputs(r) is out


@needs_cow
def test_copies_and_pickles_of_shared_results_are_plain_and_editable(monkeypatch):
    monkeypatch.setattr(cow, "MIN_BYTES", 0)
    cost, rows, cols = case()
    r = engine.travel_time(cost, 25.0, rows[:12], cols[:12], list(range(12)))
    a = engine.remove_source(r, 4, cost, 25.0)
    for dup in (copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert dup.outputs is None
        assert_bits(dup, bits(a))
        b = engine.remove_source(dup, 7, cost, 25.0)
        ids = [i for i in range(12) if i not in (4, 7)]
        np.testing.assert_array_equal(b.minutes, engine.travel_time(cost, 25.0, rows[ids], cols[ids],
                                                                    ids).minutes)


@needs_cow
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_dropped_results_give_their_file_descriptors_back(monkeypatch):
    monkeypatch.setattr(cow, "MIN_BYTES", 0)
    cost, rows, cols = case()
    r = engine.travel_time(cost, 25.0, rows[:12], cols[:12], list(range(12)))
    engine.share_outputs(r)
    n0 = len(os.listdir("/proc/self/fd"))
    for i in range(30):
        engine.add_source(r, rows[12], cols[12], 12, cost, 25.0)  # made and dropped
    assert len(os.listdir("/proc/self/fd")) <= n0 + 2
    del r
    import gc

    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= n0 - 1  # the image's own descriptor is gone too
