"""How fast do rebalancing portfolios run across many symbols?

Two studies on ``--symbols`` seeded synthetic series of ``--bars`` hourly
bars sharing one account (issue 9, deliverable 5):

* ``equal_weight``, rebalanced monthly (every leg costed, whole units,
  sells before buys at each open);
* ``momentum_rotation``, the top 5 by 500-bar return, rebalanced weekly.

Each is one ``admf.run_sync`` (``write=False``): bars read, indicators,
the per-timestamp universe loop and the kernel's fills. Measured in the
same run as a baseline: the monthly equal-weight rebalance written in
plain numpy over the same closes (units fixed at each month's first close,
no costs, no cash cut): a lower bound on what any engine must do.
``ratio`` is ours over that.

Target (issue 9): each >= 1M bar-symbols/s. The last line printed is one
JSON object.

    python benchmarks/bench_rebalance.py               # 50 symbols x 20,000 bars
    python benchmarks/bench_rebalance.py --quick       # 20 x 5,000
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

import admf

SYMBOLS = [f"S{i:02d}" for i in range(100)]


def study(symbols: int, bars: int, strategy: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"name": f"bench_{strategy}", "seed": 5,
            "data": {"source": "synthetic", "symbols": SYMBOLS[:symbols], "bars": bars,
                     "timeframe": "1h"},
            "strategies": [{"type": strategy, "params": params}],
            "portfolio": {"initial_cash": 10_000_000.0,
                          "sizing": {"type": "percent_equity", "percent": 100,
                                     "whole_units": True}},
            "execution": {"commission": {"type": "percentage", "rate": 0.0005}}}


def admf_rate(config: dict[str, Any]) -> tuple[float, int]:
    t0 = time.perf_counter()
    result = admf.run_sync(config, write=False)
    seconds = time.perf_counter() - t0
    (portfolio,) = result.portfolios.values()
    symbols, bars = len(config["data"]["symbols"]), config["data"]["bars"]
    return symbols * bars / seconds, int(portfolio.fills)


def numpy_rate(config: dict[str, Any]) -> float:
    """The monthly equal-weight rebalance in plain numpy over the study's closes."""
    from admf.research.bars import bar_stream
    from admf.research.config import load_study

    loaded = load_study(config)
    closes = np.stack([np.concatenate([b.close for b in bar_stream(loaded, s)()])
                       for s in config["data"]["symbols"]], axis=1)
    stamps = np.concatenate([b.timestamp for b in bar_stream(loaded, config["data"]["symbols"][0])()])
    t0 = time.perf_counter()
    months = stamps.astype("datetime64[ns]").astype("datetime64[M]")
    starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    equity = np.empty(len(stamps))
    value = 1.0
    n = closes.shape[1]
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(stamps)
        units = value / n / closes[start]
        block = closes[start:end] @ units
        equity[start:end] = block
        value = block[-1]
    seconds = time.perf_counter() - t0
    assert np.isfinite(equity).all()
    return closes.size / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--bars", type=int, default=20_000)
    args = parser.parse_args()
    symbols, bars = (20, 5_000) if args.quick else (args.symbols, args.bars)
    out: dict[str, Any] = {"symbols": symbols, "bars": bars}
    cases = {"monthly_equal_weight": ("equal_weight", {"rebalance": "monthly"}),
             "weekly_top5_rotation": ("momentum_rotation",
                                      {"lookback": 500, "top": 5, "rebalance": "weekly"})}
    base = numpy_rate(study(symbols, bars, "equal_weight", {}))
    out["numpy_bar_symbols_per_s"] = round(base)
    for name, (strategy, params) in cases.items():
        rate, fills = admf_rate(study(symbols, bars, strategy, params))
        out[f"{name}_bar_symbols_per_s"] = round(rate)
        out[f"{name}_fills"] = fills
        out[f"{name}_ratio"] = round(rate / base, 4)
        print(f"{name}: {rate:,.0f} bar-symbols/s ({symbols} symbols x {bars:,} bars, "
              f"{fills:,} fills); numpy {base:,.0f}")
    out["targets_met"] = {f"{name}_1m_per_s": out[f"{name}_bar_symbols_per_s"] >= 1e6
                          for name in cases}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
