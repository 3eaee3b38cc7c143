"""What a process keeps between the pieces of a study: synthetic series
(``admf.research.bars``) and parsed topology patterns. Kept or not, every
run sees the same bars and builds the same topology."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import admf
from admf.data.synthetic import synthetic_bars
from admf.errors import ConfigError
from admf.research import bars
from admf.runtime.patterns import Pattern

SETTINGS: dict[str, Any] = dict(symbol="AAA", bars=3000, seed=9, start_price=50.0, volatility=0.02,
                                drift=0.0, start="2020-01-01", timeframe="1h", batch_rows=700)


def columns(batches: Any) -> dict[str, np.ndarray]:
    batches = list(batches)
    return {name: np.concatenate([getattr(b, name) for b in batches])
            for name in ("timestamp", "open", "high", "low", "close", "volume")}


@pytest.fixture(autouse=True)
def empty_cache() -> Any:
    bars._generated.clear()
    yield
    bars._generated.clear()


def test_a_kept_series_is_the_generated_one_and_read_only() -> None:
    fresh = columns(synthetic_bars(**SETTINGS))
    first, second = list(bars._synthetic(**SETTINGS)), list(bars._synthetic(**SETTINGS))
    assert [b.timestamp is c.timestamp for b, c in zip(first, second)] == [True] * 5  # kept
    kept = columns(second)
    assert all(np.array_equal(kept[k], fresh[k]) for k in fresh)
    with pytest.raises(ValueError, match="read-only"):
        second[0].close[0] = 1.0


def test_other_settings_are_another_series() -> None:
    one = columns(bars._synthetic(**SETTINGS))
    other = columns(bars._synthetic(**{**SETTINGS, "seed": 10}))
    assert not np.array_equal(one["close"], other["close"])
    assert len(bars._generated) == 2


def test_the_oldest_series_goes_when_the_rows_run_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bars, "SYNTHETIC_CACHE_ROWS", 7000)
    for seed in (1, 2, 3):
        list(bars._synthetic(**{**SETTINGS, "seed": seed}))
    assert [dict(k)["seed"] for k in bars._generated] == [2, 3]  # 3 x 3000 > 7000
    list(bars._synthetic(**{**SETTINGS, "bars": 8000}))  # longer than all: streamed, not kept
    assert [dict(k)["seed"] for k in bars._generated] == [2, 3]


def test_a_study_gives_the_same_results_with_or_without_kept_series(
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"name": "kept", "seed": 2,
              "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "bars": 1200,
                       "timeframe": "1h", "start": "2020-01-01"},
              "strategies": [{"type": "sma_crossover", "params": {"fast": [4, 8], "slow": [20, 30]}}],
              "sequence": {"type": "walk_forward", "train": 400, "test": 200, "step": 200},
              "executor": {"kind": "inline"}}
    kept = admf.run_sync(config, write=False)
    assert bars._generated
    bars._generated.clear()
    monkeypatch.setattr(bars, "SYNTHETIC_CACHE_ROWS", 0)
    streamed = admf.run_sync(config, write=False)
    assert not bars._generated
    assert json.dumps(kept.table, sort_keys=True, default=str) == \
        json.dumps(streamed.table, sort_keys=True, default=str)
    assert kept.metrics == streamed.metrics


def test_a_pattern_parsed_once_is_a_new_pattern_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (Path(admf.__file__).parent / "patterns" / "backtest.yaml").read_text()
    original = Pattern.from_dict.__func__  # type: ignore[attr-defined]

    def spoiling(cls: type, data: Any, **kwargs: Any) -> Pattern:
        built = original(cls, data, **kwargs)
        data["containers"].clear()  # a reader that changed its document...
        return built

    monkeypatch.setattr(Pattern, "from_dict", classmethod(spoiling))
    one = Pattern.from_text(text, source="backtest.yaml", default_name="backtest")
    two = Pattern.from_text(text, source="backtest.yaml", default_name="backtest")
    # ...changed only its own copy: the second parse of the same text is whole
    assert one is not two and two.containers and len(two.containers) == len(one.containers)
    assert [repr(e) for e in two.routes] == [repr(e) for e in one.routes]


def test_a_malformed_pattern_fails_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ConfigError, match="bad.yaml:3: malformed YAML"):
            Pattern.from_text("name: x\ncontainers: [\n", source="bad.yaml")
