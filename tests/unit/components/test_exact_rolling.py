"""Rolling means against exact rational arithmetic (issue 8, defect 2).

A running sum of window changes drifts by ~100 ulps and fired an SMA 10/30
crossover a bar early on an exact tie (3·Σ10 = Σ30 on cent prices). The
reference here is :class:`fractions.Fraction` over the float inputs, shared
with no admf code; the SMA must stay within two ulps of it (one rounding of the sum, one of the division), batched or whole,
and an exact tie must never read as a crossing the exact arithmetic rejects.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.components.indicators import SMA
from admf.components.strategies import SmaCrossover
from admf.messages import BarBatch


def _bars(close: np.ndarray) -> BarBatch:
    n = len(close)
    return BarBatch(ts=0, symbol="X", timestamp=np.arange(n, dtype=np.int64), open=close,
                    high=close, low=close, close=close, volume=np.ones(n))


def _exact_mean(values: list[float], n: int, end: int) -> Fraction:
    return sum(map(Fraction, values[end - n + 1: end + 1]), Fraction(0)) / n


def _cent_walk(rng: np.random.Generator, rows: int, level: int) -> np.ndarray:
    cents = level * 100 + np.cumsum(rng.integers(-60, 61, rows))
    return np.maximum(cents, 100) / 100.0


def _ulps(actual: float, exact: Fraction) -> float:
    return abs(Fraction(actual) - exact) / Fraction(math.ulp(float(exact)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), level=st.sampled_from([1, 23, 101, 4999]),
       period=st.sampled_from([3, 10, 30, 77]), cut=st.integers(1, 900))
def test_sma_is_within_two_ulps_of_the_exact_mean(seed: int, level: int, period: int,
                                                 cut: int) -> None:
    close = _cent_walk(np.random.default_rng(seed), 1200, level)
    sma = SMA(period=period)
    out = np.concatenate([sma.update(_bars(close[:cut])), sma.update(_bars(close[cut:]))])
    values = close.tolist()
    for end in range(period - 1, len(values), 13):
        assert _ulps(float(out[end]), _exact_mean(values, period, end)) <= 2


def test_sma_stays_exact_over_a_long_series_at_a_high_level() -> None:
    close = _cent_walk(np.random.default_rng(7), 200_000, 20_000)
    out = SMA(period=30).update(_bars(close))
    values = close.tolist()
    for end in range(199_000, 200_000, 97):
        assert _ulps(float(out[end]), _exact_mean(values, 30, end)) <= 2


def _tie_series(rng: np.random.Generator, tick: int) -> list[int]:
    """Price ticks whose last bar is an exact tie SMA10 == SMA30 (3·Σ10 = Σ30),
    the bar before it with SMA10 below SMA30 (a cross-up candidate)."""
    while True:
        ticks = (2000 + np.cumsum(rng.integers(-40, 41, 60))).tolist()
        earlier = ticks[-30:-10]
        if sum(earlier) % 2:
            earlier[-1] += 1
        last10 = ticks[-10:]
        last10[-1] += sum(earlier) // 2 - sum(last10)  # Σ10 = Σ20 / 2, so Σ30 = 3·Σ10
        series = ticks[:-30] + earlier + last10
        if min(series) <= 0:
            continue
        prev10, prev30 = sum(series[-11:-1]), sum(series[-31:-1])
        if 3 * prev10 < prev30:
            return series


def test_an_exact_tie_on_a_binary_tick_grid_is_an_exact_zero() -> None:
    """Quarter ticks are exact in binary: a tie must read 0, never a crossing."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        close = np.array(_tie_series(rng, 4), dtype=np.float64) / 4.0
        bars = _bars(close)
        fast, slow = SMA(period=10).update(bars), SMA(period=30).update(bars)
        assert fast[-1] - slow[-1] == 0.0
        strategy = SmaCrossover(SmaCrossover.Params(fast=10, slow=30))
        target = strategy.targets(bars, {"fast": fast, "slow": slow})
        assert target[-1] == target[-2]  # no crossing on the tie


def test_a_cent_grid_tie_reads_as_exact_arithmetic_and_fsum_read_it() -> None:
    """On cent prices the float inputs differ from the decimals by up to half
    an ulp, so at a decimal tie the exact difference of the float means is
    tiny but signed, below the resolution of one rounding. The computed
    difference must stay within two ulps of that exact difference (the old
    running sum was ~100 ulps off and fired the crossover a bar early), be
    bit-identical to backtrader's ``math.fsum(window) / n``, and the
    crossover may fire on the tie only when that difference is > 0."""
    rng = np.random.default_rng(11)
    for _ in range(300):
        ticks = _tie_series(rng, 100)
        close = np.array(ticks, dtype=np.float64) / 100.0
        values = close.tolist()
        bars = _bars(close)
        fast, slow = SMA(period=10).update(bars), SMA(period=30).update(bars)
        end = len(values) - 1
        exact = _exact_mean(values, 10, end) - _exact_mean(values, 30, end)
        diff = float(fast[-1] - slow[-1])
        resolution = Fraction(math.ulp(float(_exact_mean(values, 30, end))))
        assert abs(Fraction(diff) - exact) <= 2 * resolution
        fsum_diff = math.fsum(values[-10:]) / 10 - math.fsum(values[-30:]) / 30
        assert diff == fsum_diff
        strategy = SmaCrossover(SmaCrossover.Params(fast=10, slow=30))
        target = strategy.targets(bars, {"fast": fast, "slow": slow})
        assert (target[-1] != target[-2]) == (diff > 0)
