"""Helpers for the research and workflow tests: a per-bar strategy that
records every bar it sees, hourly CSV data, and timeline arithmetic.

The recording strategy lives in an importable module (not in a test file) so
that a process-pool executor (forkserver) can load it by
``"tests.integration.recording:Recorder"``.

Each strategy *instance* is one run over one span of the data (every run
builds fresh instances). An instance writes the timestamps of the bars it
sees, one per line, to its own file ``<log>/<pid>-<uuid>.txt``, created on
its first bar (instances built only to check parameters see no bar and
leave no file). Files, not memory: the run may happen in another process.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from admf.components.per_bar import BarStrategy

__all__ = ("Recorder", "Slow", "recorded_runs", "span_counter", "hour", "iso", "T0", "HOUR_NS",
           "write_hourly_csv")

T0 = datetime(2020, 1, 1, tzinfo=timezone.utc)
"""The first bar of every synthetic (and CSV) series in these tests."""

HOUR_NS = 3_600 * 10**9
_T0_NS = int(T0.timestamp()) * 10**9


class Recorder(BarStrategy):
    """Long while the close is above the close ``lookback`` bars ago (within
    the bars this instance has seen), flat otherwise; records every bar.

    ``log`` is the directory the bar timestamps go to (a strategy parameter,
    so that it reaches worker processes with the config)."""

    def __init__(self, log: str, lookback: int = 3) -> None:
        if not isinstance(lookback, int) or lookback < 1:
            raise TypeError(f"lookback must be an int >= 1, got {lookback!r}")
        super().__init__(log=log, lookback=lookback)
        self._file: str | None = None
        self._closes: list[float] = []

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        if self._file is None:
            self._file = os.path.join(self.log, f"{os.getpid()}-{uuid.uuid4().hex}.txt")
        with open(self._file, "a", encoding="ascii") as fh:
            fh.write(f"{int(bar.timestamp)}\n")
        self._closes.append(float(bar.close))
        if len(self._closes) <= self.lookback:
            return None
        return 1.0 if bar.close > self._closes[-1 - self.lookback] else 0.0


def recorded_runs(log: Path) -> list[list[int]]:
    """The timestamps each run (strategy instance) saw, one list per run."""
    runs = []
    for path in sorted(Path(log).glob("*.txt")):
        runs.append([int(line) for line in path.read_text(encoding="ascii").split()])
    return runs


def hour(i: int) -> int:
    """The int64 ns time of hourly bar ``i`` (bar 0 at 2020-01-01T00:00Z)."""
    return _T0_NS + i * HOUR_NS


def iso(i: int) -> str:
    """Bar ``i``'s time as the research tables write it."""
    return (T0 + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")


def span_counter(spans: list[tuple[int, int]]) -> Counter[tuple[int, ...]]:
    """A multiset of runs, each the bar times of an inclusive bar-index span."""
    return Counter(tuple(hour(i) for i in range(first, last + 1)) for first, last in spans)


def write_hourly_csv(path: Path, bars: int, seed: int) -> Path:
    """``bars`` hourly OHLCV rows of a seeded random walk from :data:`T0`."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, bars)))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, bars))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, bars))
    volume = rng.uniform(1e4, 1e5, bars)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for i in range(bars):
            out.writerow([(T0 + timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S"),
                          repr(float(open_[i])), repr(float(high[i])), repr(float(low[i])),
                          repr(float(close[i])), repr(float(volume[i]))])
    return path


class Slow(BarStrategy):
    """Long on even bars, flat on odd ones, sleeping ``delay`` seconds a bar:
    a strategy whose runs take a steady, known time (for interruption tests)."""

    def __init__(self, k: int = 0, delay: float = 0.001) -> None:
        super().__init__(k=k, delay=delay)
        self._n = 0

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        import time

        time.sleep(self.delay)
        self._n += 1
        return 1.0 if (self._n + self.k) % 2 == 0 else 0.0
