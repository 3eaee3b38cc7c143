"""How long does a 100-point parameter grid take, end to end?

The grid: SMA crossover, fast 5..50 step 5 x slow 20..200 step 20 (100
points; the 10 with fast >= slow are rejected by the strategy and reported as
skipped), long only, on 100k seeded synthetic one-minute bars, ranked by
Sharpe ratio.

Measured in one run:

* ``grid_seconds``: ``admf.run`` of the ``parameter_sweep`` study, config to
  ranked table, results kept in memory — data generation, the strategy bank
  (each distinct SMA computed once), every portfolio booking its fills, the
  metrics and the ranking; executor chosen by admf (``executor.kind`` unset).
* ``grid_seconds_written``: the same writing the results directory
  (metrics.json and trades per point, manifest; equity curves not kept).
* ``numpy_baseline_seconds``: a serial plain-numpy loop over the same 90
  valid points on the same bars: SMAs by cumulative sums, crossings, the
  position carried forward, next-open returns compounded, Sharpe — no trade
  list, no whole units, no costs.

Targets on a 2-core machine: the whole grid in <= 1.1 s, and the written
run at most 1.3x the unwritten one (issue 14; ``written_over_unwritten``).
The last line printed is one JSON object.

    python benchmarks/bench_sweep.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from typing import Any

import numpy as np

import admf
from admf.data.synthetic import synthetic_bars

BARS = 100_000
SEED = 11
PERIODS_PER_YEAR = 365.25 * 24 * 60
FAST = list(range(5, 51, 5))
SLOW = list(range(20, 201, 20))


def config(results: str | None = None) -> dict[str, Any]:
    return {
        "name": "bench_sweep", "seed": SEED,
        "data": {"source": "synthetic", "symbols": ["BENCH"], "timeframe": "1m", "bars": BARS,
                 "volatility": 0.001},
        "strategies": [{"type": "sma_crossover",
                        "params": {"fast": {"range": [5, 50, 5]}, "slow": {"range": [20, 200, 20]}}}],
        "sequence": {"type": "parameter_sweep", "objective": "sharpe_ratio"},
        "results": {"dir": results or "results", "storage": "memory", "keep_equity_curves": False},
    }


def admf_grid(write: bool) -> tuple[float, Any]:
    with tempfile.TemporaryDirectory() as results:
        start = time.perf_counter()
        result = admf.run_sync(config(results), write=write)
        return time.perf_counter() - start, result


def sma(csum: np.ndarray, period: int, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[period - 1:] = (csum[period:] - csum[:-period]) / period
    return out


def numpy_grid() -> tuple[float, dict[str, int]]:
    """Seconds for every valid point over bars already in memory (generated
    before the timer: admf's timed runs read the same bars from its
    per-process cache), and the best point."""
    batches = list(synthetic_bars(symbol="BENCH", bars=BARS, seed=SEED, volatility=0.001))
    close = np.concatenate([b.close for b in batches])
    open_ = np.concatenate([b.open for b in batches])
    start = time.perf_counter()
    csum = np.concatenate([[0.0], np.cumsum(close)])
    open_ret = np.concatenate([[0.0], open_[1:] / open_[:-1] - 1])
    best, best_sharpe = {}, -np.inf
    for fast in FAST:
        for slow in SLOW:
            if fast >= slow:
                continue
            diff = sma(csum, fast, BARS) - sma(csum, slow, BARS)
            prev = np.concatenate([[np.nan], diff[:-1]])
            event = np.where((diff > 0) & (prev <= 0), 1.0,
                             np.where((diff < 0) & (prev >= 0), 0.0, np.nan))
            idx = np.where(np.isnan(event), 0, np.arange(BARS))
            np.maximum.accumulate(idx, out=idx)
            state = np.nan_to_num(event[idx])
            held = np.concatenate([[0.0, 0.0], state[:-2]])  # decided at t, in from t+1's open
            ret = held * open_ret
            sharpe = ret.mean() / ret.std(ddof=1) * np.sqrt(PERIODS_PER_YEAR)
            if sharpe > best_sharpe:
                best, best_sharpe = {"fast": fast, "slow": slow}, sharpe
    return time.perf_counter() - start, best


def main() -> None:
    admf_grid(False)  # warm imports and caches outside the timings
    grid, result = min((admf_grid(False) for _ in range(3)), key=lambda r: r[0])
    written = min(admf_grid(True)[0] for _ in range(3))
    base, numpy_best = min((numpy_grid() for _ in range(3)), key=lambda r: r[0])
    report = {
        "points": len(FAST) * len(SLOW),
        "evaluated": result.aggregate["points"],
        "skipped": len(result.aggregate["skipped"]),
        "bars": BARS,
        "grid_seconds": grid,
        "grid_seconds_written": written,
        "numpy_baseline_seconds": base,
        "ratio_vs_numpy": base / grid,
        "written_over_unwritten": written / grid,
        "best_params": result.best_params,
        "numpy_best_params": numpy_best,
        "best_sharpe": result.metrics["sharpe_ratio"],
        "targets_met": {"grid_seconds <= 1.1": grid <= 1.1,
                        "written_over_unwritten <= 1.3": written / grid <= 1.3},
    }
    print(f"{'measure':<26}{'value':>14}")
    print("-" * 40)
    for key in ("points", "evaluated", "skipped"):
        print(f"{key:<26}{report[key]:>14}")
    for key in ("grid_seconds", "grid_seconds_written", "numpy_baseline_seconds", "ratio_vs_numpy",
                "written_over_unwritten"):
        print(f"{key:<26}{report[key]:>14.3f}")
    print(f"best_params (admf)        {result.best_params}")
    print(f"best_params (numpy)       {numpy_best}")
    for target, met in report["targets_met"].items():
        print(f"[{'MET ' if met else 'MISS'}] {target}")
    print(json.dumps(report))


if __name__ == "__main__":
    sys.exit(main())
