"""Warm-up for test windows (``sequence.warmup``, issue 13): indicators warm
up on the bars just before a test window, which are never traded, so the
window trades from its first bar; no bar after the window's end is read."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from admf.errors import ConfigError
from tests.integration.recording import hour, recorded_runs, span_counter, write_hourly_csv
from tests.integration.test_research import recorder, run, seen, study


def _closes(path: Path) -> np.ndarray:
    with path.open() as fh:
        return np.array([float(row["close"]) for row in csv.DictReader(fh)])


def test_test_windows_read_warmup_bars_before_them_and_none_after(tmp_path: Path) -> None:
    log = tmp_path / "log"
    run(study(tmp_path, strategies=recorder(log), bars=240,
              sequence={"type": "walk_forward", "train": 60, "test": 30, "step": 40,
                        "warmup": 10}))
    # starts 0, 40, 80, 120: train s..s+59 (cold), test s+60..s+89 read from s+50
    trains = [(s, s + 59) for s in (0, 40, 80, 120) for _ in range(2)]
    tests = [(s + 50, s + 89) for s in (0, 40, 80, 120)]
    assert seen(log) == span_counter(trains + tests)
    assert max(max(r) for r in recorded_runs(log)) == hour(209)  # the last test bar


def test_a_test_window_trades_from_its_first_bar(tmp_path: Path) -> None:
    write_hourly_csv(tmp_path / "X.csv", 400, seed=5)
    closes = _closes(tmp_path / "X.csv")
    data = {"source": "csv", "path": str(tmp_path / "{symbol}.csv"), "symbols": ["X"],
            "timeframe": "1h"}
    lookback, warm = 3, 10
    log = tmp_path / "log"
    config = study(tmp_path, strategies=recorder(log, [lookback]), data=data,
                   sequence={"type": "walk_forward", "train": 50, "test": 50,
                             "warmup": warm})
    result = run(config)
    # independently: the recorder's decision on the bar before each test window
    # (long when that close is above the close `lookback` bars earlier)
    firsts = [50 + 50 * k for k in range(len(result.table))]
    longs = [f for f in firsts if closes[f - 1] > closes[f - 1 - lookback]]
    assert longs and len(longs) < len(firsts)  # both cases occur
    stamps = result.equity["timestamp"]
    assert stamps[0] == hour(50) and len(stamps) == 50 * len(firsts)  # curves start at the window
    equity = result.equity["equity"]
    for k, first in enumerate(firsts):
        start = 50 * k
        capital = equity[start - 1] if start else 100_000.0  # what the window starts with
        # flat on its first bar, the window's equity there is its starting capital; a
        # position taken at that bar's open moves it (costs, close - open)
        moved = abs(equity[start] - capital) > 1e-9
        assert moved == (first in longs), first
        if first in longs:
            assert result.table[k]["test_metrics"]["exposure"] > 0

def test_cold_windows_cannot_trade_but_warm_ones_can(tmp_path: Path) -> None:
    """The issue's case: a slow average longer than the test window."""
    base = dict(strategies=[{"type": "sma_crossover", "params": {"fast": 5, "slow": 120}}],
                bars=1200)
    cold = run(study(tmp_path, **base, sequence={"type": "walk_forward", "train": 300,
                                                 "test": 100, "warmup": 0}))
    warm = run(study(tmp_path, **base, sequence={"type": "walk_forward", "train": 300,
                                                 "test": 100}))  # auto
    assert cold.metrics["trade_count"] == 0
    assert warm.metrics["trade_count"] > 0
    assert warm.metrics["bars"] == cold.metrics["bars"] == 900


@pytest.mark.parametrize("value", ["some", -1])
def test_warmup_values_are_checked(tmp_path: Path, value: Any) -> None:
    import admf

    with pytest.raises(ConfigError, match="sequence.warmup"):
        admf.load(study(tmp_path, strategies=[{"type": "sma_crossover"}],
                        sequence={"type": "walk_forward", "train": 50, "test": 50,
                                  "warmup": value}))
