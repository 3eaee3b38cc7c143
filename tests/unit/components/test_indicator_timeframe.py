"""An indicator on a coarser timeframe: equal to a plain reference loop over
completed coarse bars, whatever the batch split, and blind to the coarse bar
still forming (poisoned future fine bars change nothing before them)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import admf
from admf.components.per_bar import BarStrategy
from admf.components.indicators import SMA, BollingerBands, OnTimeframe, build
from admf.errors import ConfigError
from admf.messages import BarBatch

MIN = 60_000_000_000
HOUR = 60 * MIN
DAY = 24 * HOUR


def _bars(ts: np.ndarray, seed: int = 1) -> BarBatch:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(ts))))
    return BarBatch(ts=int(ts[0]), symbol="X", timestamp=ts.astype(np.int64), open=close * 0.999,
                    high=close * 1.01, low=close * 0.99, close=close, volume=np.ones(len(ts)))


def _feed(indicator: OnTimeframe, bars: BarBatch, cuts: list[int]) -> np.ndarray:
    edges = [0, *sorted(set(c for c in cuts if 0 < c < len(bars))), len(bars)]
    return np.concatenate([indicator.update(bars.slice(a, b)) for a, b in zip(edges, edges[1:])])


def reference_daily_sma(ts: list[int], close: list[float], period: int, n: int) -> list[float]:
    """For each fine bar: the mean close of the last ``n`` coarse bars whose
    bucket end (next multiple of ``period`` from Monday 1970-01-05, a time on
    a boundary ending its bucket) is at or before the bar's time."""
    monday = 4 * DAY
    coarse: list[tuple[int, float]] = []  # (bucket end, close of its last fine bar)
    for t, c in zip(ts, close):
        end = monday + math.ceil((t - monday) / period) * period
        if coarse and coarse[-1][0] == end:
            coarse[-1] = (end, c)
        else:
            coarse.append((end, c))
    out = []
    for t in ts:
        done = [c for end, c in coarse if end <= t]
        out.append(sum(done[-n:]) / n if len(done) >= n else float("nan"))
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 200), min_size=20, max_size=400), st.lists(st.integers(1, 400), max_size=10),
       st.sampled_from([HOUR, 4 * HOUR, DAY]), st.integers(1, 4), st.integers(0, 5))
def test_equals_a_reference_loop_over_completed_coarse_bars(gaps: list[int], cuts: list[int], period: int,
                                                            n: int, phase: int) -> None:
    # 10-minute steps from an hour boundary (plus ``phase`` minutes): bars often land on bucket ends
    ts = 1_700_000_000 * 10**9 // DAY * DAY + phase * MIN + np.cumsum(gaps) * 10 * MIN
    bars = _bars(ts)
    got = _feed(OnTimeframe(SMA(period=n), period), bars, cuts)
    expected = reference_daily_sma(ts.tolist(), bars.close.tolist(), period, n)
    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)


def test_poisoned_rest_of_the_forming_coarse_bar_is_never_read() -> None:
    # five days of minute bars 09:30-16:00 UTC; a 2-day SMA of daily closes
    days = [DAY * (19_700 + d) for d in range(5)]
    ts = np.array([d + 9 * HOUR + 30 * MIN + k * MIN for d in days for k in range(1, 391)])
    bars = _bars(ts)
    clean = OnTimeframe(SMA(period=2), "1d").update(bars)
    for cut in (390 * 2 + 5, 390 * 3 + 200, 390 * 4 + 389):  # inside days 3, 4 and 5
        poisoned = {f: getattr(bars, f).copy() for f in ("open", "high", "low", "close", "volume")}
        for f in poisoned:
            poisoned[f][cut + 1:] = 1e12  # the rest of the forming day, and everything after
        dirty = BarBatch(ts=bars.ts, symbol="X", timestamp=bars.timestamp, **poisoned)
        got = OnTimeframe(SMA(period=2), "1d").update(dirty)
        np.testing.assert_array_equal(got[: cut + 1], clean[: cut + 1])
        day_end = (cut // 390 + 1) * 390  # the poisoned rows of the forming day still see finished days only
        np.testing.assert_array_equal(got[cut + 1: day_end], clean[cut + 1: day_end])
        assert day_end == len(got) or got[day_end] > 1e6  # the poison shows once its day completes
    # during day 3 the value is the mean of day 1 and day 2 closes; it changes only on day 4
    close = bars.close
    assert clean[2 * 390] == pytest.approx((close[389] + close[779]) / 2, rel=1e-15)
    assert np.all(clean[2 * 390: 3 * 390] == clean[2 * 390])
    assert np.isnan(clean[: 2 * 390]).all()


def test_a_bar_stamped_at_the_bucket_end_completes_it() -> None:
    ts = np.arange(1, 181) * MIN + 10 * DAY  # end-stamped: 00:01 .. 03:00
    out = OnTimeframe(SMA(period=1), "1h").update(_bars(ts))
    assert np.isnan(out[:59]).all()  # the first hour completes with the bar stamped 01:00
    assert out[59] == _bars(ts).close[59] and out[119] == _bars(ts).close[119]


def test_multi_output_and_spec_forms() -> None:
    ts = np.arange(1, 3001) * MIN
    bars = _bars(ts)
    bands = OnTimeframe(BollingerBands(period=3), "1h").update(bars)
    assert set(bands) == {"middle", "upper", "lower"}
    via_spec = build("sma", {"period": 3, "timeframe": "1H"})
    np.testing.assert_allclose(via_spec.update(bars), bands["middle"], rtol=1e-12)
    assert via_spec.key != build("sma", {"period": 3}).key
    with pytest.raises(ConfigError, match="'timeframe' must be a bar interval"):
        build("sma", {"period": 3, "timeframe": "1 month"})


class DailyTrend(BarStrategy):
    """Long above the 3-day SMA of daily closes, computed on minute bars."""

    indicators = {"daily": ("sma", {"period": 3, "timeframe": "1d"})}
    seen: ClassVar[list[tuple[int, float]]] = []

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        DailyTrend.seen.append((bar.timestamp, ind.daily))
        if math.isnan(ind.daily):
            return None
        return 1.0 if bar.close > ind.daily else 0.0


def test_a_per_bar_strategy_reads_a_daily_indicator_on_minute_bars(tmp_path: Any) -> None:
    DailyTrend.seen.clear()
    config = {"name": "mtf", "seed": 1,
              "data": {"source": "synthetic", "symbols": ["X"], "timeframe": "1m", "bars": 8 * 1440},
              "strategies": [{"type": f"{__name__}:DailyTrend"}],
              "results": {"dir": str(tmp_path), "storage": "memory"}}
    result = admf.run_sync(config, write=False)
    assert result.metrics.trade_count > 0
    stamps = np.array([t for t, _ in DailyTrend.seen], dtype=np.int64)
    values = np.array([v for _, v in DailyTrend.seen])
    from admf.data import synthetic_bars
    bars = next(iter(synthetic_bars(symbol="X", bars=8 * 1440, seed=1, batch_rows=10**6)))
    assert np.array_equal(stamps, bars.timestamp)
    expected = reference_daily_sma(bars.timestamp.tolist(), bars.close.tolist(), DAY, 3)
    np.testing.assert_allclose(values, expected, rtol=1e-12, equal_nan=True)
