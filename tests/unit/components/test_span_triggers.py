"""Many holding spans' stops found at once equal one span's search, span by span."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.components._risk import RiskLimits
from admf.components._stops import first_trigger, span_triggers
from admf.messages import BarBatch


def bars(n: int, seed: int) -> BarBatch:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0, 0.004, n))  # gaps
    return BarBatch(ts=0, symbol="X", timestamp=np.arange(n, dtype=np.int64),
                    open=open_, high=np.maximum(open_, close) * 1.003,
                    low=np.minimum(open_, close) * 0.997, close=close, volume=np.ones(n))


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10_000), data=st.data())
def test_span_triggers_equal_first_trigger_per_span(seed: int, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 200))
    batch = bars(n, seed)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=12)))
    starts, ends = np.array(cuts[0::2], np.int64), np.array(cuts[1::2], np.int64)
    starts = starts[:len(ends)]
    rng = np.random.default_rng(seed + 1)
    long = rng.random(len(starts)) < 0.5
    entries = batch.open[np.minimum(starts, n - 1)] * np.exp(rng.normal(0, 0.002, len(starts)))
    risk = RiskLimits(stop_loss=data.draw(st.sampled_from([None, 0.0, 0.005, 0.02])),
                      take_profit=data.draw(st.sampled_from([None, 0.0, 0.005, 0.02])))
    found, levels, take = span_triggers(batch, starts, ends, long, entries, risk)
    for k in range(len(starts)):
        want = first_trigger(batch, int(starts[k]), int(ends[k]), bool(long[k]), float(entries[k]),
                             float("nan"), risk) if ends[k] > starts[k] else None
        if want is None:
            assert found[k] == -1, k
            continue
        offset, price, reason = want
        at = int(found[k])
        assert at == starts[k] + offset, k
        assert bool(take[k]) == (reason == "take_profit"), k
        opened = float(batch.open[at])
        upper = (long[k] and take[k]) or (not long[k] and not take[k])
        assert (max(opened, levels[k]) if upper else min(opened, levels[k])) == price, k


def test_a_stop_beats_a_target_in_the_same_bar() -> None:
    # one bar whose range crosses both levels: the stop is booked (the worse case)
    batch = BarBatch(ts=0, symbol="X", timestamp=np.arange(3, dtype=np.int64),
                     open=np.array([100.0, 100.0, 100.0]), high=np.array([100.5, 103.0, 100.0]),
                     low=np.array([99.5, 97.0, 100.0]), close=np.array([100.0, 100.0, 100.0]),
                     volume=np.ones(3))
    found, levels, take = span_triggers(batch, np.array([0]), np.array([3]), np.array([True]),
                                        np.array([100.0]), RiskLimits(stop_loss=0.02, take_profit=0.02))
    assert found.tolist() == [1] and levels.tolist() == [98.0] and take.tolist() == [False]
