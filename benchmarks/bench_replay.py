"""How much faster is a risk grid by signal replay, and how small is the signal store?

The grid: 64 points, stop_loss 0.5%..4% (8 values) x take_profit 1%..8% (8
values), over one SMA crossover (fast 10, slow 50, long only) on seeded
synthetic one-minute bars (1M by default), results in memory, no curves kept.

Measured in one run, all with ``admf.run_sync``:

* ``separate_seconds``: 64 separate full backtests, one per grid point (each
  generating its bars, computing the SMAs and the strategy, booking one
  portfolio): what a user without grids downstream of signals runs. With
  ``--separate K`` only K evenly spread points are run and the total is
  extrapolated (``separate_extrapolated: true``).
* ``cross_product_seconds``: one backtest with the 8 x 8 risk grid: the
  strategy runs once and its signals feed 64 portfolios.
* ``generation_seconds``: ``topology.pattern: signal_generation`` of the SMA
  point (its sparse signals stored).
* ``replay_seconds``: ``topology.pattern: signal_replay`` with the grid: 64
  portfolios fed from the store, no strategy code.
* ``vectorbt_seconds`` (when vectorbt is importable): ``Portfolio.from_signals``
  over the same 64 sl/tp columns with entries/exits from the same SMAs,
  after an untimed identical call (numba compilation not counted). Its fill convention
  (at the close by default) differs from admf's next-open fills: this times
  comparable work, it does not check equal results.

Every replayed point's final equity is checked equal to the cross product's,
and to each separate run that ran.

The store's size: 1,000 points x ``--store-bars`` bars (1M by default) of
targets in {-1, 0, 1} changing on 2% of bars (seeded), written with
``SignalStore.put`` (one Parquet file per point plus the index). Compared
with dense storage of the same series (timestamp + target per bar) as raw
bytes (16 bytes a bar) and as Parquet with pyarrow's defaults (measured on 3
points, scaled to 1,000), and with the 1M bars themselves as Parquet.

Measured on 2026-12-07 (2-core machine, lightly loaded, vectorbt 1.2.0 in
a separate virtualenv): separate 10.6 s, cross product 7.0 s, replay 7.0 s
(1.51x faster than separate runs, not the 10x the issue hoped for: the
portfolios, booking every stop and target exit and their trade rows, are
most of each run, and replay saves only the strategy and indicator work),
vectorbt 10.4 s (admf's replay is faster); on 2026-12-04, before stops
took the specialised loop: separate 23.1 s, cross product 16.8 s, replay
15.8 s, vectorbt 9.6 s. The store for 1,000 x 1M bars is 195 MB, 1.2% of
dense raw bytes and 2.7% of dense Parquet.

The last line printed is one JSON object.

    python benchmarks/bench_replay.py
    python benchmarks/bench_replay.py --bars 200000 --separate 8 --store-bars 200000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import admf
from admf.data.synthetic import synthetic_bars
from admf.research.signals.store import SIGNAL_SCHEMA, SignalStore

SEED = 17
FAST, SLOW = 10, 50
STOPS = [round(0.005 * i, 4) for i in range(1, 9)]
TAKES = [round(0.01 * i, 4) for i in range(1, 9)]


def study(bars: int, store: str, risk: dict[str, Any], pattern: str = "backtest") -> dict[str, Any]:
    return {
        "name": "bench_replay", "seed": SEED,
        "data": {"source": "synthetic", "symbols": ["BENCH"], "timeframe": "1m", "bars": bars,
                 "volatility": 0.001},
        "strategies": [{"type": "sma_crossover", "params": {"fast": FAST, "slow": SLOW}}],
        "risk": risk, "topology": {"pattern": pattern}, "signals": {"store": store},
        "results": {"storage": "memory", "keep_equity_curves": False},
    }


def timed(config: dict[str, Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = admf.run_sync(config, write=False)
    return time.perf_counter() - start, result


def finals(result: Any) -> dict[str, float]:
    """Grid point (stop_loss, take_profit) -> final equity."""
    out = {}
    for pid, res in result.portfolios.items():
        point = result.points[pid].portfolio
        out[(point.get("risk.stop_loss"), point.get("risk.take_profit"))] = res.metrics.final_equity
    return out


def grid_speed(bars: int, separate: int) -> dict[str, Any]:
    grid = {"stop_loss": STOPS, "take_profit": TAKES}
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "signals")
        cross_s, cross = timed(study(bars, store, grid))
        gen_s, _ = timed(study(bars, store, {}, "signal_generation"))
        replay_s, replayed = timed(study(bars, store, grid, "signal_replay"))
    want = finals(cross)
    got = finals(replayed)
    assert got == want, "replay differs from the in-backtest cross product"
    points = [(s, t) for s in STOPS for t in TAKES]
    chosen = points if separate >= len(points) else \
        [points[i] for i in np.linspace(0, len(points) - 1, separate).round().astype(int)]
    separate_s = 0.0
    for stop, take in chosen:
        seconds, one = timed(study(bars, "unused", {"stop_loss": stop, "take_profit": take}))
        separate_s += seconds
        assert one.metrics.final_equity == want[(stop, take)], (stop, take)
    total = separate_s * len(points) / len(chosen)
    return {"bars": bars, "grid_points": len(points), "separate_runs_timed": len(chosen),
            "separate_extrapolated": len(chosen) < len(points),
            "separate_seconds": round(total, 3), "cross_product_seconds": round(cross_s, 3),
            "generation_seconds": round(gen_s, 3), "replay_seconds": round(replay_s, 3),
            "separate_over_replay": round(total / replay_s, 2),
            "separate_over_cross_product": round(total / cross_s, 2),
            "separate_over_generation_plus_replay": round(total / (gen_s + replay_s), 2),
            "cross_product_over_replay": round(cross_s / replay_s, 2)}


def vectorbt_speed(bars: int) -> dict[str, Any]:
    if importlib.util.find_spec("vectorbt") is None:
        return {"vectorbt": "not installed; comparison skipped"}
    import pandas as pd
    import vectorbt as vbt

    batches = list(synthetic_bars(symbol="BENCH", bars=bars, seed=SEED, volatility=0.001))
    close = np.concatenate([b.close for b in batches])
    csum = np.concatenate([[0.0], np.cumsum(close)])

    def sma(period: int) -> np.ndarray:
        out = np.full(len(close), np.nan)
        out[period - 1:] = (csum[period:] - csum[:-period]) / period
        return out

    long = sma(FAST) > sma(SLOW)
    entries = long & ~np.concatenate([[False], long[:-1]])
    exits = ~long & np.concatenate([[False], long[:-1]])
    sl = np.repeat(STOPS, len(TAKES))
    tp = np.tile(TAKES, len(STOPS))
    frame = pd.DataFrame(np.repeat(close[:, None], len(sl), axis=1))
    ent = pd.DataFrame(np.repeat(entries[:, None], len(sl), axis=1))
    ext = pd.DataFrame(np.repeat(exits[:, None], len(sl), axis=1))
    # numba compiles on the first call (a call on a slice did not compile everything)
    vbt.Portfolio.from_signals(frame, ent, ext, sl_stop=sl, tp_stop=tp,
                               init_cash=100_000).final_value()
    start = time.perf_counter()
    portfolio = vbt.Portfolio.from_signals(frame, ent, ext, sl_stop=sl, tp_stop=tp,
                                           init_cash=100_000)
    portfolio.final_value()
    return {"vectorbt": vbt.__version__, "vectorbt_seconds": round(time.perf_counter() - start, 3)}


def store_size(points: int, bars: int, rate: float = 0.02) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    stamps = np.datetime64("2020-01-01", "ns").astype(np.int64) + np.arange(bars) * 60 * 10**9
    with tempfile.TemporaryDirectory() as tmp:
        store = SignalStore(Path(tmp) / "store")
        rows = 0
        dense_parquet = 0
        for i in range(points):
            at = np.flatnonzero(rng.random(bars) < rate)
            at = np.concatenate([[0], at[at > 0]])
            shift = rng.integers(1, 3, size=len(at))  # each change: to one of the other two values
            shift[0] = rng.integers(0, 3)
            values = (np.cumsum(shift) % 3 - 1).astype(np.float64)
            rows += len(at)
            symbol = np.full(len(at), "BENCH", dtype=object)
            store.put(f"p{i:04d}", {"strategy": "bench", "params": "{}", "direction": "long_only",
                                    "data_digest": "-", "code_version": "-"},
                      stamps[at], symbol, values, bars=bars)
            if i < 3:  # the dense series of the same point, as Parquet
                dense = values[np.searchsorted(at, np.arange(bars), side="right") - 1]
                table = pa.table({"timestamp": pa.array(stamps.astype("datetime64[ns]"),
                                                        type=pa.timestamp("ns", tz="UTC")),
                                  "symbol": pa.array(np.full(bars, "BENCH", dtype=object)),
                                  "target": pa.array(dense)}, schema=SIGNAL_SCHEMA)
                pq.write_table(table, Path(tmp) / "dense.parquet")
                dense_parquet += (Path(tmp) / "dense.parquet").stat().st_size
        store.flush()
        sparse_bytes = sum(p.stat().st_size for p in store.path.iterdir())
        batches = list(synthetic_bars(symbol="BENCH", bars=bars, seed=SEED))
        bars_table = pa.table({name: np.concatenate([getattr(b, name) for b in batches])
                               for name in ("timestamp", "open", "high", "low", "close", "volume")})
        pq.write_table(bars_table, Path(tmp) / "bars.parquet")
        bars_bytes = (Path(tmp) / "bars.parquet").stat().st_size
    dense_raw = points * bars * 16
    dense_pq = dense_parquet / 3 * points
    return {"store_points": points, "store_bars": bars, "change_rate": rate, "sparse_rows": rows,
            "store_bytes": sparse_bytes, "dense_raw_bytes": dense_raw,
            "dense_parquet_bytes_scaled": int(dense_pq),
            "store_over_dense_raw": round(sparse_bytes / dense_raw, 4),
            "store_over_dense_parquet": round(sparse_bytes / dense_pq, 4),
            "bars_parquet_bytes": bars_bytes,
            "store_per_point_over_bars": round(sparse_bytes / points / bars_bytes, 4)}


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--separate", type=int, default=64,
                        help="how many of the 64 separate runs to time (the rest extrapolated)")
    parser.add_argument("--store-points", type=int, default=1000)
    parser.add_argument("--store-bars", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    out = grid_speed(args.bars, args.separate)
    print(json.dumps(out), flush=True)
    out.update(vectorbt_speed(args.bars))
    out.update(store_size(args.store_points, args.store_bars))
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
