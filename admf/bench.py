"""``admf bench``: how fast this machine runs a backtest, against plain numpy.

The study is the one of ``benchmarks/bench_backtest.py`` (which measures
more: process start-up and memory): SMA 10/30 crossover, long only, on
seeded synthetic one-minute bars, percent-of-equity whole-unit sizing,
next-open fills. The baseline is the same rule as plain vectorised numpy
on the same generated bars (generation included in both).
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np

from .api import run_sync
from .components.per_bar import BarStrategy
from .data.synthetic import synthetic_bars

__all__ = ("study", "SmaCrossOnBar", "numpy_baseline", "pipeline_seconds", "measure")

SEED = 7
PERIODS_PER_YEAR = 365.25 * 24 * 60


def study(bars: int, *, strategy: str = "sma_crossover", storage: str = "memory",
          results_dir: str = "results") -> dict[str, Any]:
    params = {"fast": 10, "slow": 30} if strategy == "sma_crossover" else {}
    return {
        "name": "bench", "seed": SEED,
        "data": {"source": "synthetic", "symbols": ["BENCH"], "timeframe": "1m", "bars": bars,
                 "volatility": 0.001},
        "strategies": [{"type": strategy, "params": params}],
        "results": {"dir": results_dir, "storage": storage},
    }


class SmaCrossOnBar(BarStrategy):
    """SMA 10/30 crossover, long only, decided bar by bar."""

    indicators = {"fast": ("sma", {"period": 10}), "slow": ("sma", {"period": 30})}

    def __init__(self) -> None:
        self.prev = float("nan")

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        diff = ind.fast - ind.slow
        prev, self.prev = self.prev, diff
        if diff > 0 and prev <= 0:
            return 1.0
        if diff < 0 and prev >= 0:
            return 0.0
        return None


@functools.lru_cache(maxsize=2)
def baseline_bars(bars: int) -> tuple[np.ndarray, np.ndarray]:
    """The benchmark's open and close arrays, generated once per process."""
    batches = list(synthetic_bars(symbol="BENCH", bars=bars, seed=SEED, volatility=0.001))
    return (np.concatenate([b.open for b in batches]), np.concatenate([b.close for b in batches]))


def numpy_baseline(bars: int) -> float:
    """Seconds for the vectorised rule + Sharpe and drawdown over bars already
    in memory: generation is outside the timer, as it is for admf, which
    reads its synthetic bars from its per-process cache after the first run."""
    open_, close = baseline_bars(bars)
    start = time.perf_counter()
    csum = np.concatenate([[0.0], np.cumsum(close)])
    fast = np.full(bars, np.nan)
    slow = np.full(bars, np.nan)
    fast[9:] = (csum[10:] - csum[:-10]) / 10
    slow[29:] = (csum[30:] - csum[:-30]) / 30
    diff = fast - slow
    prev = np.concatenate([[np.nan], diff[:-1]])
    event = np.where((diff > 0) & (prev <= 0), 1.0, np.where((diff < 0) & (prev >= 0), 0.0, np.nan))
    idx = np.where(np.isnan(event), 0, np.arange(bars))
    np.maximum.accumulate(idx, out=idx)
    state = np.where(np.isnan(event[idx]), 0.0, event[idx])
    held = np.concatenate([[0.0], state[:-1]])  # decided at t, held from t+1's open
    open_ret = np.concatenate([open_[1:] / open_[:-1] - 1, [0.0]])
    equity = np.cumprod(1 + np.concatenate([[0.0], held[1:]]) * np.concatenate([[0.0], open_ret[:-1]]))
    ret = np.diff(equity) / equity[:-1]
    sharpe = ret.mean() / ret.std(ddof=1) * np.sqrt(PERIODS_PER_YEAR)
    drawdown = 1 - equity / np.maximum.accumulate(equity)
    assert np.isfinite(sharpe) and drawdown.max() >= 0
    return time.perf_counter() - start


def pipeline_seconds(bars: int, strategy: str = "sma_crossover") -> float:
    start = time.perf_counter()
    result = run_sync(study(bars, strategy=strategy), write=False)
    elapsed = time.perf_counter() - start
    assert result.metrics.bars == bars and result.metrics.trade_count > 0
    return elapsed


def measure(bars: int, repeats: int = 3) -> dict[str, float]:
    """Best-of-``repeats`` rates of the pipeline, the numpy baseline and the
    per-bar API on ``bars`` bars."""
    pipeline_seconds(min(bars, 50_000))  # imports and caches, outside the timings
    pipe = min(pipeline_seconds(bars) for _ in range(repeats))
    base = min(numpy_baseline(bars) for _ in range(repeats))
    on_bar = min(pipeline_seconds(bars, "admf.bench:SmaCrossOnBar") for _ in range(repeats))
    return {"bars": bars, "pipeline_bars_per_s": bars / pipe,
            "numpy_baseline_bars_per_s": bars / base, "ratio_vs_numpy": base / pipe,
            "on_bar_bars_per_s": bars / on_bar}
