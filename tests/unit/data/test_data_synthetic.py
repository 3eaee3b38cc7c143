"""synthetic_bars: seeded, batch-size independent, per-symbol, consistent OHLCV."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.data import parse_time, synthetic_bars
from admf.data.synthetic import BLOCK_ROWS
from admf.errors import ConfigError
from tests.unit.data.bars_helpers import FIELDS, assert_same_bars, joined, ns

SPAN = BLOCK_ROWS + 1_000  # crosses one internal block boundary


def bars(n: int = 500, **options: object) -> dict[str, np.ndarray]:
    arguments: dict[str, object] = {"symbol": "SPY", "bars": n, "seed": 7, **options}
    return joined(synthetic_bars(**arguments))  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None)
@given(batch_rows=st.one_of(st.integers(7, 5_000), st.integers(5_000, 2 * SPAN)))
def test_series_does_not_depend_on_batch_rows(batch_rows: int) -> None:
    assert_same_bars(bars(SPAN, batch_rows=batch_rows), REFERENCE)


REFERENCE = bars(SPAN)


def test_batches_have_exactly_batch_rows() -> None:
    sizes = [len(b) for b in synthetic_bars(symbol="SPY", bars=1_000, seed=1, batch_rows=300)]
    assert sizes == [300, 300, 300, 100]


def test_first_bars_do_not_depend_on_the_total() -> None:
    short = bars(100)
    assert_same_bars(short, {name: values[:100] for name, values in REFERENCE.items()})


def test_same_seed_same_series_other_seed_or_symbol_other_series() -> None:
    assert_same_bars(bars(500), bars(500))
    assert not np.array_equal(bars(500)["close"], bars(500, seed=8)["close"])
    assert not np.array_equal(bars(500)["close"], bars(500, symbol="QQQ")["close"])


def test_series_is_the_same_in_a_fresh_process_with_another_hash_seed() -> None:
    code = (
        "from admf.data import synthetic_bars as s; "
        "print(repr(float(next(s(symbol='SPY', bars=5, seed=7)).close[-1])))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert float(output.stdout) == REFERENCE["close"][4]


def test_ohlcv_is_consistent() -> None:
    data = REFERENCE
    o, h, lo, c, v = (data[name] for name in FIELDS[1:])
    assert o[0] == 100.0
    np.testing.assert_array_equal(o[1:], c[:-1])
    assert np.all(h >= np.maximum(o, c)) and np.all(lo <= np.minimum(o, c)) and np.all(lo > 0)
    assert np.all(h > lo)  # noise widens every bar
    assert np.all(v >= 1) and np.all(v == np.floor(v))


def test_timestamps_step_by_timeframe_from_start() -> None:
    data = bars(10, start="2024-01-02 09:30", timeframe="5m")
    expected = ns(2024, 1, 2, 9, 30) + np.arange(10) * 300 * 10**9
    np.testing.assert_array_equal(data["timestamp"], expected)
    assert parse_time("2024-01-02 09:30") == data["timestamp"][0]


def test_volatility_and_drift_shape_the_returns() -> None:
    returns = np.diff(np.log(REFERENCE["close"]))
    assert abs(returns.std() / 0.01 - 1) < 0.02
    assert abs(returns.mean()) < 0.0002
    trending = np.diff(np.log(bars(SPAN, drift=0.001, volatility=0.002)["close"]))
    assert abs(trending.mean() / 0.001 - 1) < 0.05  # about six standard errors
    flat = bars(100, volatility=0.0, start_price=50.0)
    assert np.all(flat["close"] == 50.0) and np.all(flat["high"] == 50.0)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"bars": 0}, "bars must be a whole number >= 1"),
        ({"bars": 1.5}, "bars must be"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
        ({"seed": "7"}, "seed must be"),
        ({"start_price": 0.0}, "start_price must be a positive number"),
        ({"start_price": float("nan")}, "start_price must be"),
        ({"volatility": -0.1}, "volatility must be a number >= 0"),
        ({"drift": float("inf")}, "drift must be a finite number"),
        ({"batch_rows": 0}, "batch_rows must be"),
        ({"timeframe": "1x"}, "as a duration"),
        ({"start": "later"}, "as a time"),
        ({"bars": 10**12, "timeframe": "1d"}, "run past the year 2262"),
    ],
)
def test_bad_arguments(options: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        synthetic_bars(**{"symbol": "SPY", "bars": 10, "seed": 1, **options})  # type: ignore[arg-type]
