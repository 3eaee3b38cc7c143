"""Helpers shared by the integration tests: data files, configs, a failing
strategy, and a digest of a study's results.

Run as a script it runs one study in a fresh process and prints its digests,
for the cross-process determinism tests::

    python -m tests.integration._support CONFIG.json
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from admf.components.context import OrderStrategy
from admf.components.per_bar import BarStrategy
from tests._walks import walk_arrays

START = datetime(2024, 1, 2, tzinfo=timezone.utc)
HEADER = ["timestamp", "open", "high", "low", "close", "volume"]


def random_walk(n: int, seed: int) -> list[list[Any]]:
    """``n`` one-minute OHLCV rows (timestamp first) of a seeded random walk."""
    open_, high, low, close, volume = walk_arrays(n, seed)
    return [[(START + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S"),
             *(repr(float(v)) for v in row)]
            for i, row in enumerate(zip(open_, high, low, close, volume))]


def write_csv(path: Path, rows: list[list[Any]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows(rows)
    return path


def csv_study(data_dir: Path, results_dir: Path, *, symbol: str = "X", **sections: Any) -> dict[str, Any]:
    """A single-pass study over ``data_dir/<symbol>.csv``; ``sections`` replace
    top-level keys."""
    config: dict[str, Any] = {
        "name": "integration",
        "seed": 7,
        "data": {"source": "csv", "path": str(data_dir / "{symbol}.csv"), "symbols": [symbol],
                 "timeframe": "1m"},
        "strategies": [{"type": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "portfolio": {"initial_cash": 100_000,
                      "sizing": {"type": "percent_equity", "percent": 100, "whole_units": True}},
        "execution": {"commission": {"type": "percentage", "rate": 0.0005},
                      "slippage": {"type": "fixed_bps", "bps": 1}},
        "results": {"dir": str(results_dir), "storage": "memory"},
    }
    config.update(sections)
    return config


def sequence_study(tmp_path: Path, sequence: dict[str, Any], *, name: str, seed: int,
                   params: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A one-symbol (AAA, 2400 one-minute bars written once to ``tmp_path``)
    SMA-crossover grid of ``params`` run through ``sequence``, inline, with
    results under ``tmp_path / "results"``; ``extra`` adds or replaces sections."""
    path = tmp_path / "AAA.csv"
    if not path.exists():
        write_csv(path, random_walk(2400, seed=seed))
    return {"name": name, "seed": seed,
            "data": {"source": "csv", "path": str(tmp_path / "{symbol}.csv"), "symbols": ["AAA"],
                     "timeframe": "1m"},
            "strategies": [{"type": "sma_crossover", "params": params}],
            "executor": {"kind": "inline"}, "sequence": sequence,
            "results": {"dir": str(tmp_path / "results")}, **extra}


def synthetic_study(results_dir: Path, *, seed: int = 7, symbols: tuple[str, ...] = ("AAA",),
                    bars: int = 3000, **sections: Any) -> dict[str, Any]:
    """A single-pass study over the seeded synthetic source."""
    config: dict[str, Any] = {
        "name": "synthetic",
        "seed": seed,
        "data": {"source": "synthetic", "symbols": list(symbols), "timeframe": "1h",
                 "bars": bars, "start": "2020-01-01", "volatility": 0.01},
        "strategies": [{"type": "sma_crossover", "params": {"fast": 5, "slow": 20},
                        "direction": "long_short"}],
        "portfolio": {"initial_cash": 100_000, "sizing": {"type": "percent_equity", "percent": 30}},
        "execution": {"commission": {"type": "percentage", "rate": 0.0005},
                      "slippage": {"type": "fixed_bps", "bps": 1}},
        "risk": {"stop_loss": 0.03},
        "results": {"dir": str(results_dir), "storage": "memory"},
    }
    config.update(sections)
    return config


class Boom(BarStrategy):
    """A per-bar strategy that raises on its ``fail_at``-th bar."""

    fail_at = 100

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.seen = 0

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        self.seen += 1
        if self.seen >= self.fail_at:
            raise RuntimeError(f"boom at bar {self.seen}")
        return 1.0 if bar.close > bar.open else 0.0


def _column_bytes(values: np.ndarray) -> bytes:
    values = np.asarray(values)
    if values.dtype == object:
        return "\x1f".join(map(str, values.tolist())).encode()
    return values.dtype.str.encode() + np.ascontiguousarray(values).tobytes()


def trades_digest(result: Any) -> str:
    """sha256 over every portfolio's trade table (names, dtypes and bytes)."""
    digest = hashlib.sha256()
    for pid in sorted(result.portfolios):
        trades = result.portfolios[pid].trades
        assert trades is not None, "trades_digest needs trades in memory"
        digest.update(pid.encode() + b"\x00")
        for name in sorted(trades):
            digest.update(name.encode() + b"\x00" + _column_bytes(trades[name]) + b"\x00")
    return digest.hexdigest()


def metrics_digest(result: Any) -> str:
    """sha256 over every portfolio's metrics (exact float repr via JSON)."""
    doc = {pid: res.metrics.to_json_dict() for pid, res in result.portfolios.items()}
    return hashlib.sha256(msgspec.json.encode(doc, order="sorted")).hexdigest()


def trade_count(result: Any) -> int:
    return sum(len(res.trades["pnl"]) for res in result.portfolios.values())


def main(argv: list[str]) -> int:
    import admf

    config = json.loads(Path(argv[0]).read_text())
    result = admf.run_sync(config, write=False)
    print(json.dumps({"trades": trades_digest(result), "metrics": metrics_digest(result),
                      "count": trade_count(result)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


class VolumeBreak(BarStrategy):
    """Long while volume is above its 5-bar mean: it needs bar volume."""

    indicators = {"v": ("sma", {"period": 5, "source": "volume"})}

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        return 1.0 if bar.volume > ind.v else 0.0


class VolumeBuyer(OrderStrategy):
    """An order strategy reading a volume indicator."""

    indicators = {"v": ("sma", {"period": 5, "source": "volume"})}

    def on_bar(self, ctx: Any) -> None:
        if not ctx.position and ctx.bar.volume > ctx.ind.v:
            ctx.buy()
