"""Indicators against independent textbook loops, batched against whole.

The reference implementations below are deliberately plain Python loops over
lists, one value at a time, sharing no code with ``admf.components.indicators``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.components import indicators as ind
from admf.errors import ConfigError
from admf.messages import BarBatch
from admf.runtime.registry import registry

NAN = math.nan
Series = list[float]
Ref = dict[str, Series]

# ------------------------------------------------------------------ data


def make_bars(n: int, seed: int, *, flat: bool = True, level: float = 100.0, vol: float = 0.01) -> BarBatch:
    """A log random walk with consistent OHLC; with ``flat``, a flat start
    (20 bars) and a flat stretch in the middle hit the zero-range conventions."""
    rng = np.random.default_rng(seed)
    close = level * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    open_ = np.concatenate(([level], close[:-1])) * np.exp(rng.normal(0.0, vol / 5, n))
    high = np.maximum(open_, close) * (1.0 + rng.exponential(0.003, n))
    low = np.minimum(open_, close) * (1.0 - rng.exponential(0.003, n))
    volume = rng.integers(100, 10_000, n).astype(np.float64)
    flats = [(0, min(20, n), level)] if flat else []
    if flat and n > 200:
        flats.append((150, 180, float(close[149])))
    for start, stop, price in flats:
        for arr in (open_, high, low, close):
            arr[start:stop] = price
    assert np.all(high >= np.maximum(open_, close)) and np.all(np.minimum(open_, close) >= low)
    return BarBatch(
        ts=0,
        symbol="TEST",
        timestamp=np.arange(n, dtype=np.int64) * 60_000_000_000,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
    )


BARS = make_bars(300, seed=7)

# ------------------------------------------------------ reference loops


def ref_sma(x: Sequence[float], n: int) -> Series:
    out = [NAN] * len(x)
    for t in range(n - 1, len(x)):
        total = 0.0
        for v in x[t - n + 1 : t + 1]:
            total += v
        out[t] = total / n
    return out


def ref_ema(x: Sequence[float], n: int) -> Series:
    out = [NAN] * len(x)
    if len(x) < n:
        return out
    alpha = 2.0 / (n + 1)
    y = sum(x[:n]) / n
    out[n - 1] = y
    for t in range(n, len(x)):
        y = alpha * x[t] + (1.0 - alpha) * y
        out[t] = y
    return out


def ref_wma(x: Sequence[float], n: int) -> Series:
    out = [NAN] * len(x)
    for t in range(n - 1, len(x)):
        num = 0.0
        for weight in range(1, n + 1):
            num += weight * x[t - n + weight]
        out[t] = num / (n * (n + 1) / 2)
    return out


def wilder(values: Sequence[float], n: int, first: int) -> Series:
    """Wilder smoothing of values[first:], seeded by their first n mean."""
    out = [NAN] * len(values)
    if len(values) < first + n:
        return out
    avg = sum(values[first : first + n]) / n
    out[first + n - 1] = avg
    for t in range(first + n, len(values)):
        avg = (avg * (n - 1) + values[t]) / n
        out[t] = avg
    return out


def ref_rsi(x: Sequence[float], n: int) -> Series:
    gains = [0.0] + [max(x[t] - x[t - 1], 0.0) for t in range(1, len(x))]
    losses = [0.0] + [max(x[t - 1] - x[t], 0.0) for t in range(1, len(x))]
    out = []
    for g, loss in zip(wilder(gains, n, 1), wilder(losses, n, 1), strict=True):
        if math.isnan(g):
            out.append(NAN)
        elif loss == 0.0:
            out.append(50.0 if g == 0.0 else 100.0)
        else:
            out.append(100.0 - 100.0 / (1.0 + g / loss))
    return out


def ref_atr(h: Series, low: Series, c: Series, n: int) -> Series:
    tr = [0.0] + [max(h[t] - low[t], abs(h[t] - c[t - 1]), abs(low[t] - c[t - 1])) for t in range(1, len(c))]
    return wilder(tr, n, 1)


def ref_std(x: Sequence[float], n: int) -> Series:
    out = [NAN] * len(x)
    for t in range(n - 1, len(x)):
        window = x[t - n + 1 : t + 1]
        mean = sum(window) / n
        out[t] = math.sqrt(sum((v - mean) ** 2 for v in window) / n)
    return out


def ref_zscore(x: Sequence[float], n: int) -> Series:
    out = [NAN] * len(x)
    for t in range(n - 1, len(x)):
        window = x[t - n + 1 : t + 1]
        if max(window) > min(window):
            mean = sum(window) / n
            std = math.sqrt(sum((v - mean) ** 2 for v in window) / n)
            out[t] = (x[t] - mean) / std
    return out


def ref_roc(x: Sequence[float], n: int) -> Series:
    return [NAN] * n + [100.0 * (x[t] - x[t - n]) / x[t - n] for t in range(n, len(x))]


def ref_bollinger(x: Sequence[float], n: int, k: float) -> Ref:
    mid, std = ref_sma(x, n), ref_std(x, n)
    return {
        "middle": mid,
        "upper": [m + k * s for m, s in zip(mid, std, strict=True)],
        "lower": [m - k * s for m, s in zip(mid, std, strict=True)],
    }


def ref_macd(x: Sequence[float], fast: int, slow: int, signal: int) -> Ref:
    line = [f - s for f, s in zip(ref_ema(x, fast), ref_ema(x, slow), strict=True)]
    sig = [NAN] * (slow - 1) + ref_ema(line[slow - 1 :], signal)
    return {"macd": line, "signal": sig, "histogram": [m - s for m, s in zip(line, sig, strict=True)]}


def ref_stochastic(h: Series, low: Series, c: Series, kn: int, dn: int) -> Ref:
    k = [NAN] * len(c)
    for t in range(kn - 1, len(c)):
        hh, ll = max(h[t - kn + 1 : t + 1]), min(low[t - kn + 1 : t + 1])
        k[t] = 50.0 if hh == ll else 100.0 * (c[t] - ll) / (hh - ll)
    return {"k": k, "d": [NAN] * (kn - 1) + ref_sma(k[kn - 1 :], dn)}


def ref_donchian(h: Series, low: Series, n: int) -> Ref:
    upper = [NAN] * (n - 1) + [max(h[t - n + 1 : t + 1]) for t in range(n - 1, len(h))]
    lower = [NAN] * (n - 1) + [min(low[t - n + 1 : t + 1]) for t in range(n - 1, len(low))]
    return {
        "upper": upper,
        "lower": lower,
        "middle": [(u + v) / 2 for u, v in zip(upper, lower, strict=True)],
    }


# --------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """An indicator, its reference on (high, low, close, volume) lists and the
    magnitude of its outputs (absolute tolerance is 1e-12 of it)."""

    id: str
    make: Callable[[], ind.Indicator[Any]]
    ref: Callable[[Series, Series, Series, Series], Series | Ref]
    scale: float


CASES = [
    Case("sma10", lambda: ind.SMA(period=10), lambda h, lo, c, v: ref_sma(c, 10), 100.0),
    Case("sma1", lambda: ind.SMA(period=1), lambda h, lo, c, v: ref_sma(c, 1), 100.0),
    Case("sma30_vol", lambda: ind.SMA(period=30, source="volume"), lambda h, lo, c, v: ref_sma(v, 30), 1e4),
    Case("ema20", lambda: ind.EMA(period=20), lambda h, lo, c, v: ref_ema(c, 20), 100.0),
    Case("ema1_high", lambda: ind.EMA(period=1, source="high"), lambda h, lo, c, v: ref_ema(h, 1), 100.0),
    Case("wma7", lambda: ind.WMA(period=7), lambda h, lo, c, v: ref_wma(c, 7), 100.0),
    Case("rsi14", lambda: ind.RSI(period=14), lambda h, lo, c, v: ref_rsi(c, 14), 100.0),
    Case("rsi2_low", lambda: ind.RSI(period=2, source="low"), lambda h, lo, c, v: ref_rsi(lo, 2), 100.0),
    Case("atr14", lambda: ind.ATR(period=14), lambda h, lo, c, v: ref_atr(h, lo, c, 14), 100.0),
    Case("std20", lambda: ind.StdDev(period=20), lambda h, lo, c, v: ref_std(c, 20), 100.0),
    Case("zscore20", lambda: ind.ZScore(period=20), lambda h, lo, c, v: ref_zscore(c, 20), 10.0),
    Case("roc10", lambda: ind.ROC(period=10), lambda h, lo, c, v: ref_roc(c, 10), 100.0),
    Case(
        "bollinger",
        lambda: ind.BollingerBands(period=20, k=2.5),
        lambda h, lo, c, v: ref_bollinger(c, 20, 2.5),
        100.0,
    ),
    Case(
        "macd",
        lambda: ind.MACD(fast=12, slow=26, signal=9),
        lambda h, lo, c, v: ref_macd(c, 12, 26, 9),
        100.0,
    ),
    Case(
        "stochastic",
        lambda: ind.Stochastic(k_period=14, d_period=3),
        lambda h, lo, c, v: ref_stochastic(h, lo, c, 14, 3),
        100.0,
    ),
    Case("donchian", lambda: ind.Donchian(period=20), lambda h, lo, c, v: ref_donchian(h, lo, 20), 100.0),
]
IDS = [case.id for case in CASES]


def as_dict(
    indicator: ind.Indicator[Any], values: np.ndarray | dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    return values if isinstance(values, dict) else {indicator.outputs[0]: values}


def run_batched(indicator: ind.Indicator[Any], bars: BarBatch, cuts: Sequence[int]) -> dict[str, np.ndarray]:
    bounds = [0, *cuts, len(bars)]
    parts = [as_dict(indicator, indicator.update(bars.slice(a, b))) for a, b in itertools.pairwise(bounds)]
    return {name: np.concatenate([p[name] for p in parts]) for name in indicator.outputs}


def reference(case: Case, bars: BarBatch) -> dict[str, np.ndarray]:
    cols = [bars.high.tolist(), bars.low.tolist(), bars.close.tolist(), bars.volume.tolist()]
    out = case.ref(*cols)
    named = out if isinstance(out, dict) else {case.make().outputs[0]: out}
    return {name: np.array(values, dtype=np.float64) for name, values in named.items()}


def assert_same(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray], scale: float) -> None:
    assert list(actual) == list(expected)
    for name, values in actual.items():
        assert values.dtype == np.float64
        np.testing.assert_allclose(values, expected[name], rtol=1e-12, atol=1e-12 * scale, err_msg=name)


# ----------------------------------------------------------------- tests


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_whole_array_matches_reference_loop(case: Case) -> None:
    indicator = case.make()
    assert_same(as_dict(indicator, indicator.update(BARS)), reference(case, BARS), case.scale)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@settings(max_examples=50, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=60))
def test_any_batch_split_matches_whole_array(case: Case, sizes: list[int]) -> None:
    cuts = [int(c) for c in np.cumsum(sizes) if c < len(BARS)]
    whole = case.make()
    expected = as_dict(whole, whole.update(BARS))
    assert_same(run_batched(case.make(), BARS, cuts), expected, case.scale)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_one_row_batches_match_reference_loop(case: Case) -> None:
    bars = BARS.slice(0, 120)
    got = run_batched(case.make(), bars, list(range(1, len(bars))))
    assert_same(got, reference(case, bars), case.scale)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_batches_longer_than_chunk_match_reference_loop(case: Case) -> None:
    bars = make_bars(ind.CHUNK * 2 + 123, seed=11)
    got = run_batched(case.make(), bars, [])
    assert_same(got, reference(case, bars), case.scale)
    # a long batch is worked CHUNK rows at a time, which bounds the rounding
    in_chunks = run_batched(case.make(), bars, [ind.CHUNK, 2 * ind.CHUNK])
    for name, values in got.items():
        np.testing.assert_array_equal(values, in_chunks[name])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_warmup_is_the_count_of_leading_nan_rows(case: Case) -> None:
    indicator = case.make()
    got = as_dict(indicator, indicator.update(make_bars(100, seed=3, flat=False)))
    assert tuple(got) == indicator.outputs
    slowest = max(int(np.argmax(~np.isnan(v))) for v in got.values())
    assert slowest == indicator.warmup
    for values in got.values():
        assert not np.isnan(values[indicator.warmup :]).any()


@pytest.mark.parametrize(
    ("indicator", "first_rows"),
    [
        (ind.MACD(fast=12, slow=26, signal=9), {"macd": 25, "signal": 33, "histogram": 33}),
        (ind.Stochastic(k_period=14, d_period=3), {"k": 13, "d": 15}),
        (ind.BollingerBands(period=20), {"middle": 19, "upper": 19, "lower": 19}),
    ],
    ids=["macd", "stochastic", "bollinger"],
)
def test_each_output_starts_where_documented(
    indicator: ind.MultiOutputIndicator, first_rows: dict[str, int]
) -> None:
    got = indicator.update(make_bars(100, seed=3, flat=False))
    assert {name: int(np.argmax(~np.isnan(v))) for name, v in got.items()} == first_rows


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reset_forgets_state(case: Case) -> None:
    indicator = case.make()
    first = as_dict(indicator, indicator.update(BARS.slice(0, 90)))
    indicator.update(BARS.slice(90, 200))
    indicator.reset()
    assert_same(as_dict(indicator, indicator.update(BARS.slice(0, 90))), first, case.scale)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_empty_batch_changes_nothing(case: Case) -> None:
    indicator = case.make()
    head = as_dict(indicator, indicator.update(BARS.slice(0, 50)))
    empty = SimpleNamespace(**{f: np.empty(0) for f in ind.SOURCES})
    assert all(len(v) == 0 for v in as_dict(indicator, indicator.update(empty)).values())
    rest = as_dict(indicator, indicator.update(BARS.slice(50, len(BARS))))
    joined = {k: np.concatenate((head[k], rest[k])) for k in head}
    assert_same(joined, reference(case, BARS), case.scale)


def test_rolling_std_is_stable_at_a_high_price_level() -> None:
    # std/price ~ 1e-5: a one-pass E[x^2] - E[x]^2 would lose ~7 digits here
    bars = make_bars(3000, seed=5, flat=False, level=1e4, vol=1e-6)
    close = bars.close.tolist()
    got = ind.StdDev(period=20).update(bars)
    np.testing.assert_allclose(got, ref_std(close, 20), rtol=1e-12, atol=1e-15)
    # z itself is ill-conditioned here: x - mean carries eps * 1e4 of rounding
    got = ind.ZScore(period=20).update(bars)
    np.testing.assert_allclose(got, ref_zscore(close, 20), rtol=1e-9, atol=1e-9)


def test_output_types_follow_the_number_of_outputs() -> None:
    single, multi = ind.SMA(period=3), ind.MACD(fast=2, slow=3, signal=2)
    assert isinstance(single, ind.SingleOutputIndicator)
    assert isinstance(multi, ind.MultiOutputIndicator)
    assert isinstance(single.update(BARS), np.ndarray)
    assert list(multi.update(BARS)) == ["macd", "signal", "histogram"]


def test_input_arrays_are_neither_modified_nor_aliased() -> None:
    close = BARS.close.copy()
    bars = SimpleNamespace(open=close, high=close, low=close, close=close, volume=close)
    out = ind.SMA(period=1).update(bars)
    assert isinstance(out, np.ndarray)
    out[:] = 0.0
    np.testing.assert_array_equal(close, BARS.close)


def test_hand_worked_sma() -> None:
    # SMA(3) of 1, 2, 4, 8, 16: (1+2+4)/3 = 7/3, (2+4+8)/3 = 14/3, (4+8+16)/3 = 28/3
    bars = SimpleNamespace(close=np.array([1.0, 2.0, 4.0, 8.0, 16.0]))
    np.testing.assert_allclose(ind.SMA(period=3).update(bars), [NAN, NAN, 7 / 3, 14 / 3, 28 / 3], rtol=1e-15)


def test_hand_worked_ema() -> None:
    # EMA(3), a = 2/4 = 0.5, of 1, 2, 3, 4, 6: seed (1+2+3)/3 = 2 at row 2,
    # then 0.5*4 + 0.5*2 = 3, then 0.5*6 + 0.5*3 = 4.5
    bars = SimpleNamespace(close=np.array([1.0, 2.0, 3.0, 4.0, 6.0]))
    np.testing.assert_allclose(ind.EMA(period=3).update(bars), [NAN, NAN, 2.0, 3.0, 4.5], rtol=1e-15)


def test_hand_worked_rsi() -> None:
    # RSI(3) of 10, 11, 10.5, 11.5, 11, 12: changes +1, -0.5, +1, -0.5, +1.
    # Row 3: G = (1+0+1)/3 = 2/3, L = (0+0.5+0)/3 = 1/6, RS = 4, RSI = 100 - 100/5 = 80.
    # Row 4: G = (2/3*2 + 0)/3 = 4/9, L = (1/6*2 + 0.5)/3 = 5/18, RS = 8/5,
    #        RSI = 100 - 100/2.6 = 61.538461538...
    # Row 5: G = (4/9*2 + 1)/3 = 17/27, L = (5/18*2 + 0)/3 = 5/27, RS = 17/5,
    #        RSI = 100 - 100/4.4 = 77.272727...
    bars = SimpleNamespace(close=np.array([10.0, 11.0, 10.5, 11.5, 11.0, 12.0]))
    expected = [NAN, NAN, NAN, 80.0, 800 / 13, 850 / 11]
    np.testing.assert_allclose(ind.RSI(period=3).update(bars), expected, rtol=1e-13)


def test_hand_worked_rsi_conventions() -> None:
    # no movement at all -> 50; only gains -> 100; only losses -> 0
    flat, up, down = ([5.0] * 4, [1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0])
    for closes, value in ((flat, 50.0), (up, 100.0), (down, 0.0)):
        out = ind.RSI(period=2).update(SimpleNamespace(close=np.array(closes)))
        np.testing.assert_allclose(out, [NAN, NAN, value, value])


def test_hand_worked_bollinger() -> None:
    # window 1, 2, 3: mean 2, population var (1 + 0 + 1)/3 = 2/3; k = 2
    out = ind.BollingerBands(period=3, k=2).update(SimpleNamespace(close=np.array([1.0, 2.0, 3.0])))
    assert isinstance(out, dict)
    width = 2 * math.sqrt(2 / 3)
    np.testing.assert_allclose(
        [out["middle"][2], out["upper"][2], out["lower"][2]], [2, 2 + width, 2 - width]
    )


def test_hand_worked_atr() -> None:
    # TR, from row 1 = max(high - low, |high - prev close|, |low - prev close|):
    # row 1: max(12-9, |12-10|, |9-10|) = 3;  row 2: max(13-11, |13-11|, |11-11|) = 2;
    # row 3: max(12-8, |12-12|, |8-12|) = 4.  ATR(2): seed (3+2)/2 = 2.5 at row 2,
    # then (2.5*1 + 4)/2 = 3.25.
    bars = SimpleNamespace(
        high=np.array([11.0, 12.0, 13.0, 12.0]),
        low=np.array([9.0, 9.0, 11.0, 8.0]),
        close=np.array([10.0, 11.0, 12.0, 9.0]),
    )
    np.testing.assert_allclose(ind.ATR(period=2).update(bars), [NAN, NAN, 2.5, 3.25])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ind.SMA(period=0), r"indicator 'sma': parameter 'period' must be an integer >= 1, got 0"),
        (
            lambda: ind.build("ema", {"period": 2.5}),
            r"indicator 'ema': parameter 'period' must be an integer >= 1, got 2\.5",
        ),
        (
            lambda: ind.WMA(period=True),
            r"indicator 'wma': parameter 'period' must be an integer >= 1, got True",
        ),
        (
            lambda: ind.build("rsi", {"period": "14"}),
            r"indicator 'rsi': parameter 'period' must be an integer >= 1, got '14'",
        ),
        (lambda: ind.ATR(period=-3), r"indicator 'atr': parameter 'period' must be an integer >= 1, got -3"),
        (
            lambda: ind.SMA(period=5, source="price"),
            r"indicator 'sma': parameter 'source' must be one of 'open', .*, 'volume', got 'price'",
        ),
        (
            lambda: ind.BollingerBands(k=0),
            r"indicator 'bollinger': parameter 'k' must be a finite number > 0, got 0",
        ),
        (lambda: ind.BollingerBands(k=math.inf), r"parameter 'k' must be a finite number > 0, got inf"),
        (
            lambda: ind.MACD(fast=26, slow=12),
            r"indicator 'macd': parameter 'fast' must be less than slow=12, got 26",
        ),
        (lambda: ind.MACD(signal=0), r"indicator 'macd': parameter 'signal' must be an integer >= 1, got 0"),
        (
            lambda: ind.Stochastic(d_period=0),
            r"indicator 'stochastic': parameter 'd_period' must be an integer >= 1",
        ),
        (
            lambda: ind.build("donchian", {"period": None}),
            r"indicator 'donchian': parameter 'period' must be .*, got None",
        ),
        (
            lambda: ind.build("sma", {"perod": 3}),
            r"indicator 'sma' has no parameter 'perod'; did you mean 'period'\?",
        ),
        (lambda: ind.build("sma", {}), r"indicator 'sma': missing parameter 'period'"),
        (lambda: ind.build("smaa", {"period": 3}), r"unknown indicator 'smaa'; did you mean 'sma'\?"),
    ],
)
def test_bad_parameters_raise_config_error(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make()


def test_keys_are_canonical_and_deduplicate_a_grid() -> None:
    assert ind.SMA(period=10).key == ("sma", "close", 10)
    assert ind.build("sma", {"period": np.int64(10)}).key == ind.SMA(period=10, source="close").key
    assert ind.BollingerBands(k=2).key == ind.BollingerBands(k=2.0).key == ("bollinger", "close", 20, 2.0)
    assert ind.SMA(period=10, source="open").key != ind.SMA(period=10).key
    assert ind.EMA(period=10).key != ind.SMA(period=10).key
    grid = [ind.build(name, {"period": p}) for name in ("sma", "ema") for p in (5, 10, 5, 10)]
    assert len({i.key for i in grid}) == 4


def test_every_indicator_is_registered_under_its_name() -> None:
    classes: list[type[ind.Indicator[Any]]] = [ind.SMA, ind.EMA, ind.WMA, ind.RSI, ind.ATR, ind.StdDev]
    classes += [ind.BollingerBands, ind.MACD, ind.Stochastic, ind.Donchian, ind.ROC, ind.ZScore]
    for cls in classes:
        assert registry.get("indicator", cls.name) is cls
    assert repr(ind.build("macd", {})) == "MACD(source='close', fast=12, slow=26, signal=9)"
