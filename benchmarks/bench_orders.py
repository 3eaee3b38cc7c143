"""How fast is a state-aware strategy on the order kernel, against backtesting.py?

The rule: SMA 10/30 crossover, long only, written against the context API
(:mod:`admf.components.context`): on a cross up while flat buy with a 2 %
stop-loss and a 4 % take-profit (fractions of the fill), on a cross down
close. Seeded random-walk one-minute bars.

Measured in one run:

* ``orders_bars_per_s``: :func:`admf.components.context.run_orders` over
  ``--bars`` bars (indicators, fused per-bar loop, kernel fills).
* ``backtesting_bars_per_s``: backtesting.py running the same rule
  (``Strategy.next`` with ``self.buy(sl=, tp=)``) on ``--bt-bars`` bars, when
  backtesting.py is installed (skipped cleanly otherwise); ``ratio`` is ours
  over theirs.
* ``pipeline_ratio``: the vectorised pipeline over the numpy baseline
  (``admf.bench``), as in ``bench_backtest.py``.

Targets (issue 8): orders >= 1M bars/s and >= 6x backtesting.py; pipeline
>= 0.6x numpy. The last line printed is one JSON object.

    python benchmarks/bench_orders.py             # 1M bars, backtesting.py on 100k
    python benchmarks/bench_orders.py --quick
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from admf.components.context import OrderStrategy, run_orders
from admf.messages import BarBatch

MIN = 60_000_000_000


def walk(n: int, seed: int = 1) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0, 0.001, n))
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    return open_, high, low, close, np.full(n, 1e6)


class Cross(OrderStrategy):
    indicators = {"fast": ("sma", {"period": 10}), "slow": ("sma", {"period": 30})}

    def on_bar(self, ctx: Any) -> None:
        if ctx.crossed("fast", "slow"):
            if not ctx.position:
                ctx.buy(sl=0.02, sl_kind="fraction", tp=0.04, tp_kind="fraction")
        elif ctx.crossed("slow", "fast") and ctx.position:
            ctx.close()


def admf_rate(n: int) -> tuple[float, int]:
    o, h, lo, c, v = walk(n)
    bars = BarBatch(ts=0, symbol="X", timestamp=np.arange(n, dtype=np.int64) * MIN,
                    open=o, high=h, low=lo, close=c, volume=v)
    t0 = time.perf_counter()
    run = run_orders(Cross(), bars, cash=1_000_000.0)
    return n / (time.perf_counter() - t0), len(run.trades)


def backtesting_rate(n: int) -> tuple[float, int] | None:
    try:
        import pandas as pd
        from backtesting import Backtest, Strategy
        from backtesting.lib import crossover
    except ImportError:
        return None
    o, h, lo, c, v = walk(n)
    frame = pd.DataFrame({"Open": o, "High": h, "Low": lo, "Close": c, "Volume": v},
                         index=pd.date_range("2020-01-01", periods=n, freq="min"))

    def sma(x: Any, k: int) -> Any:
        return pd.Series(x).rolling(k).mean()

    class BtCross(Strategy):
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, 10)
            self.slow = self.I(sma, self.data.Close, 30)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                if not self.position:
                    price = self.data.Close[-1]
                    self.buy(sl=price * 0.98, tp=price * 1.04)
            elif crossover(self.slow, self.fast) and self.position:
                self.position.close()

    bt = Backtest(frame, BtCross, cash=1_000_000.0, commission=0.0)
    t0 = time.perf_counter()
    stats = bt.run()
    return n / (time.perf_counter() - t0), int(stats["# Trades"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--bt-bars", type=int, default=100_000)
    args = parser.parse_args()
    n = 200_000 if args.quick else args.bars
    bt_n = 20_000 if args.quick else args.bt_bars
    ours, trades = admf_rate(n)
    out: dict[str, Any] = {"bars": n, "orders_bars_per_s": round(ours), "trades": trades}
    print(f"admf orders:   {ours:,.0f} bars/s over {n:,} bars ({trades} trades)")
    theirs = backtesting_rate(bt_n)
    if theirs is None:
        print("backtesting.py not installed: comparison skipped")
    else:
        rate, bt_trades = theirs
        out.update(backtesting_bars=bt_n, backtesting_bars_per_s=round(rate),
                   backtesting_trades=bt_trades, ratio=round(ours / rate, 2))
        print(f"backtesting.py: {rate:,.0f} bars/s over {bt_n:,} bars ({bt_trades} trades); "
              f"ratio {ours / rate:.1f}x")
    from admf.bench import numpy_baseline, pipeline_seconds

    pipe_n = 200_000 if args.quick else 1_000_000
    pipe = min(pipeline_seconds(pipe_n) for _ in range(2))
    base = min(numpy_baseline(pipe_n) for _ in range(2))
    out["pipeline_ratio"] = round(base / pipe, 2)
    print(f"pipeline {pipe_n / pipe:,.0f} bars/s vs numpy {pipe_n / base:,.0f}: "
          f"{base / pipe:.2f}x")
    out["targets_met"] = {"orders_1m_per_s": ours >= 1e6,
                          "vs_backtesting_6x": None if theirs is None else ours / theirs[0] >= 6,
                          "pipeline_0.6x": base / pipe >= 0.6}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
