"""One seeded random walk of OHLCV bars, shared by the unit, integration and
acceptance tiers so they all exercise the same kind of price path."""

from __future__ import annotations

import numpy as np

from admf.messages import BarBatch

MINUTE_NS = 60_000_000_000


def walk_arrays(n: int, seed: int) -> tuple[np.ndarray, ...]:
    """``open, high, low, close, volume`` of ``n`` bars: log-normal closes,
    opens gapping a little from the previous close, highs and lows around both."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0, 0.003, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    volume = rng.uniform(1e5, 1e6, n)
    return open_, high, low, close, volume


def walk_batch(n: int, seed: int, symbol: str = "X") -> BarBatch:
    """The walk as one batch of one-minute bars starting at the epoch."""
    open_, high, low, close, volume = walk_arrays(n, seed)
    return BarBatch(ts=0, symbol=symbol, timestamp=np.arange(n, dtype=np.int64) * MINUTE_NS,
                    open=open_, high=high, low=low, close=close, volume=volume)
