"""Metrics: hand-worked golden numbers, an independent plain-Python reference,
the NaN rules, annualisation, and streaming (RunningMetrics) == batch."""

from __future__ import annotations

import itertools
import json
import math
import statistics
import tracemalloc
from collections.abc import Sequence
from unittest import mock

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.components import metrics as metrics_module
from admf.components.metrics import (
    Metrics,
    RunningMetrics,
    compute_metrics,
    periods_per_year,
)
from admf.errors import ConfigError, DataError

SECOND = 10**9
HOUR = 3600 * SECOND
DAY = 24 * HOUR
NO_TRADES: dict[str, list[float]] = {"pnl": [], "return": []}


def daily(*days: int) -> np.ndarray:
    return np.array(days, dtype=np.int64) * DAY


def run(
    equity: Sequence[float] | np.ndarray,
    *,
    ts: np.ndarray | None = None,
    exposure: Sequence[float] | np.ndarray | None = None,
    trades: object = NO_TRADES,
    notional: float = 0.0,
    periods: float = 252.0,
    initial: float = 100.0,
) -> Metrics:
    n = len(equity)
    return compute_metrics(
        timestamp=daily(*range(n)) if ts is None else ts,
        equity=np.asarray(equity, dtype=float),
        trades=trades,  # type: ignore[arg-type]
        exposure=np.zeros(n) if exposure is None else np.asarray(exposure, dtype=float),
        traded_notional=notional,
        periods_per_year=periods,
        initial_equity=initial,
    )


def assert_same(a: Metrics, b: Metrics, *, rel: float = 1e-12) -> None:
    for name, x in a.to_dict().items():
        y = getattr(b, name)
        if isinstance(x, int):
            assert x == y, name
        elif math.isnan(x):
            assert math.isnan(y), name
        else:
            assert y == pytest.approx(x, rel=rel, abs=1e-12), name


# --- golden numbers worked by hand -------------------------------------------

# initial 100; equity 110, 99, 108.9, 119.79, 113.8005 on days 0, 1, 2, 5, 6
# (Mon Tue Wed, Mon Tue: one weekend gap).
#   returns r = +0.10, -0.10, +0.10, +0.10, -0.05           (E_-1 = 100 counts)
#   mean = 0.15 / 5 = 0.03
#   deviations .07 -.13 .07 .07 -.08, squares .0049 .0169 .0049 .0049 .0064
#   sum .038, var(ddof=1) = .038 / 4 = .0095, std = 0.0974679...
#   volatility = sqrt(.0095) * sqrt(252) = 1.5472556
#   sharpe = .03 / sqrt(.0095) * sqrt(252) = 4.8860704
#   min(r, 0)^2 = 0 .01 0 0 .0025, mean .0025, downside = .05
#   sortino = .03 / .05 * sqrt(252) = 9.5247047
#   total return = 113.8005 / 100 - 1 = .138005
#   dt = median(1, 1, 3, 1) days = 1 day; years = (6 + 1) / 365.25
#   cagr = 1.138005 ** (365.25 / 7) - 1 = 849.2029
#   peaks 110 110 110 119.79 119.79; drawdowns 0 .10 .01 0 .05; max .10
#   calmar = 849.2029 / .10 = 8492.029
#   drawdowns: bar 0 -> bar 3 (119.79 >= 110) = 3 bars, day 0 -> day 5 = 5 days;
#              bar 3 -> end (bar 4) = 1 bar. Longest: 3 bars, 5 days.
#   exposure 0 1 .5 0 2: in market 3 / 5 = .6; mean 3.5 / 5 = .7
#   turnover = 1000 / mean equity (551.4905 / 5 = 110.2981) = 9.0663393
HAND_EQUITY = [110.0, 99.0, 108.9, 119.79, 113.8005]
HAND_TS = daily(0, 1, 2, 5, 6)
HAND_EXPOSURE = [0.0, 1.0, 0.5, 0.0, 2.0]


def test_five_bar_curve_matches_hand_worked_numbers() -> None:
    m = run(HAND_EQUITY, ts=HAND_TS, exposure=HAND_EXPOSURE, notional=1000.0)
    cagr = 1.138005 ** (365.25 / 7) - 1
    expected = {
        "volatility": math.sqrt(0.0095) * math.sqrt(252),
        "sharpe_ratio": 0.03 / math.sqrt(0.0095) * math.sqrt(252),
        "sortino_ratio": 0.03 / 0.05 * math.sqrt(252),
        "total_return": 0.138005,
        "cagr": cagr,
        "max_drawdown": 0.10,
        "calmar_ratio": cagr / 0.10,
        "max_drawdown_duration_days": 5.0,
        "exposure": 0.6,
        "avg_exposure": 0.7,
        "turnover": 1000 / 110.2981,
        "final_equity": 113.8005,
    }
    for name, value in expected.items():
        assert getattr(m, name) == pytest.approx(value, rel=1e-9), name
    assert m.sharpe_ratio == pytest.approx(4.8860704, rel=1e-7)
    assert m.sortino_ratio == pytest.approx(9.5247047, rel=1e-7)
    assert m.cagr == pytest.approx(849.2029, rel=1e-6)
    assert (m.max_drawdown_duration_bars, m.bars) == (3, 5)


def test_drawdown_from_the_initial_equity_starts_one_bar_before_the_first() -> None:
    # hourly bars; initial 100 is the peak, at ts_0 - 1 h. 95 90 underwater,
    # 100 recovers at bar 2: bars -1 -> 2 = 3 bars, 3 h = 0.125 days; dd 10 %.
    m = run([95.0, 90.0, 100.0, 101.0], ts=np.arange(4) * HOUR)
    assert (m.max_drawdown_duration_bars, m.max_drawdown_duration_days) == (3, 0.125)
    assert m.max_drawdown == pytest.approx(0.10, rel=1e-12)


def test_unrecovered_drawdown_runs_to_the_last_bar() -> None:
    # peak 120 at bar 1 (day 1), never regained: bar 1 -> bar 3 = 2 bars, 9 days
    m = run([100.0, 120.0, 90.0, 100.0], ts=daily(0, 1, 3, 10))
    assert (m.max_drawdown_duration_bars, m.max_drawdown_duration_days) == (2, 9.0)
    assert m.max_drawdown == pytest.approx(0.25, rel=1e-12)


def test_equal_length_drawdowns_report_the_earliest() -> None:
    # bar 0 -> 2 (2 bars, 2 days) and bar 2 -> 4 (2 bars, 18 days): the first wins
    ts = daily(0, 1, 2, 10, 20)
    closed = [100.0, 90.0, 100.0, 90.0, 100.0]
    m = run(closed, ts=ts)
    assert (m.max_drawdown_duration_bars, m.max_drawdown_duration_days) == (2, 2.0)
    # the same when the second one is still open at the end
    m = run([100.0, 90.0, 100.0, 90.0, 95.0], ts=ts)
    assert (m.max_drawdown_duration_bars, m.max_drawdown_duration_days) == (2, 2.0)
    streamed = RunningMetrics(initial_equity=100.0)
    for lo, hi in ((0, 2), (2, 3), (3, 5)):
        streamed.update(ts[lo:hi], closed[lo:hi], np.zeros(hi - lo))
    done = streamed.finish(trades=NO_TRADES, traded_notional=0, periods_per_year=252)
    assert done.max_drawdown_duration_days == 2.0


# pnl 50 -20 30 -10 0 closed, 100 and -500 still open (excluded):
#   win rate 2 / 5 (a zero pnl is no win); gross profit 80, gross loss 30,
#   profit factor 80 / 30; avg trade 50 / 5 = 10; avg return .05 / 5 = .01;
#   best 50, worst -20 (the open -500 does not count).
HAND_TRADES = {
    "pnl": np.array([50.0, -20.0, 30.0, -10.0, 0.0, 100.0, -500.0]),
    "return": np.array([0.05, -0.02, 0.03, -0.01, 0.0, 0.10, -0.50]),
    "open": np.array([False, False, False, False, False, True, True]),
}


def test_trade_statistics_use_closed_trades_only() -> None:
    m = run(HAND_EQUITY, trades=HAND_TRADES)
    assert m.win_rate == pytest.approx(0.4)
    assert m.profit_factor == pytest.approx(80 / 30)
    assert m.avg_trade == pytest.approx(10.0)
    assert m.avg_trade_return == pytest.approx(0.01)
    assert (m.best_trade, m.worst_trade) == (50.0, -20.0)
    assert (m.trade_count, m.open_trades) == (5, 2)


def test_trades_read_by_attribute_with_return_underscore() -> None:
    class Columns(msgspec.Struct):
        pnl: np.ndarray
        return_: np.ndarray
        open: np.ndarray

    columns = Columns(HAND_TRADES["pnl"], HAND_TRADES["return"], HAND_TRADES["open"])
    assert_same(run(HAND_EQUITY, trades=HAND_TRADES), run(HAND_EQUITY, trades=columns))


def test_trades_without_open_column_are_all_closed() -> None:
    m = run(HAND_EQUITY, trades={"pnl": [10.0, -5.0], "return": [0.1, -0.05]})
    assert (m.trade_count, m.open_trades, m.win_rate, m.profit_factor) == (2, 0, 0.5, 2.0)


# --- an independent plain-Python reference ------------------------------------


def reference(
    initial: float, ts: list[int], equity: list[float], periods: float
) -> dict[str, float]:
    rets, prev = [], initial
    for e in equity:
        rets.append(e / prev - 1)
        prev = e
    n = len(rets)
    mean = sum(rets) / n
    std = math.sqrt(sum((r - mean) ** 2 for r in rets) / (n - 1))
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in rets) / n)
    peak, peak_bar, max_dd, longest = initial, -1, 0.0, (0, -1, -1)
    for t, e in enumerate(equity):
        if e >= peak:
            if t - peak_bar > 1 and t - peak_bar > longest[0]:
                longest = (t - peak_bar, peak_bar, t)
            peak, peak_bar = e, t
        max_dd = max(max_dd, 1 - e / peak)
    if n - 1 - peak_bar > longest[0]:
        longest = (n - 1 - peak_bar, peak_bar, n - 1)
    dt = statistics.median([b - a for a, b in itertools.pairwise(ts)][:10_000])
    at = [ts[0] - dt, *ts]  # bar -1 is the initial equity
    return {
        "volatility": std * math.sqrt(periods),
        "sharpe_ratio": mean / std * math.sqrt(periods),
        "sortino_ratio": mean / downside * math.sqrt(periods),
        "max_drawdown": max_dd,
        "max_drawdown_duration_bars": longest[0],
        "max_drawdown_duration_days": (at[longest[2] + 1] - at[longest[1] + 1]) / DAY,
        "cagr": (equity[-1] / initial) ** (DAY * 365.25 / (ts[-1] - ts[0] + dt)) - 1,
    }


def random_curve(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0004, 0.01, n)
    r[rng.random(n) < 0.2] = 0.0  # flat bars: exact ties with the peak
    steps = rng.choice([60, 60, 60, 900, 17 * 3600], size=n) * SECOND
    return np.cumsum(steps).astype(np.int64), 1000.0 * np.cumprod(1 + r)


@pytest.mark.parametrize(("seed", "n"), [(1, 50), (2, 777), (3, 3000), (4, 150_000)])
def test_matches_plain_python_reference(seed: int, n: int) -> None:
    ts, equity = random_curve(seed, n)
    m = run(equity, ts=ts, periods=98_280.0, initial=1000.0)
    for name, value in reference(1000.0, ts.tolist(), equity.tolist(), 98_280.0).items():
        assert getattr(m, name) == pytest.approx(value, rel=1e-9), name


# --- undefined values are NaN ---------------------------------------------------


def test_flat_curve_has_no_ratios() -> None:
    m = run([100.0] * 5)
    assert (m.volatility, m.total_return, m.cagr, m.max_drawdown) == (0.0, 0.0, 0.0, 0.0)
    assert math.isnan(m.sharpe_ratio) and math.isnan(m.sortino_ratio) and math.isnan(m.calmar_ratio)
    assert (m.max_drawdown_duration_bars, m.max_drawdown_duration_days) == (0, 0.0)


def test_constant_growth_is_not_an_invented_sharpe() -> None:
    # returns equal up to float rounding (~1e-16): std is noise, not risk
    m = run(list(100.0 * 1.01 ** np.arange(1, 50)))
    assert math.isnan(m.sharpe_ratio) and math.isnan(m.sortino_ratio)
    assert m.volatility < 1e-12


def test_single_bar() -> None:
    m = run([90.0])
    assert m.sortino_ratio == pytest.approx(-math.sqrt(252))  # -0.1 / 0.1
    assert math.isnan(m.volatility) and math.isnan(m.sharpe_ratio) and math.isnan(m.cagr)
    assert m.max_drawdown_duration_bars == 1 and math.isnan(m.max_drawdown_duration_days)


def test_no_bars() -> None:
    m = run([], notional=10.0)
    assert (m.bars, m.final_equity, m.total_return, m.max_drawdown) == (0, 100.0, 0.0, 0.0)
    undefined = ("volatility", "sharpe_ratio", "sortino_ratio", "cagr", "exposure", "avg_exposure")
    for name in (*undefined, "turnover"):
        assert math.isnan(getattr(m, name)), name


TRADE_RATIOS = (
    "win_rate",
    "profit_factor",
    "avg_trade",
    "avg_trade_return",
    "best_trade",
    "worst_trade",
)


def test_no_closed_trades() -> None:
    for trades in (NO_TRADES, {"pnl": [5.0, -1.0], "return": [0.1, -0.1], "open": [True, True]}):
        m = run(HAND_EQUITY, trades=trades)
        assert m.trade_count == 0
        for name in TRADE_RATIOS:
            assert math.isnan(getattr(m, name)), name


def test_profit_factor_without_losers_is_nan_and_without_winners_zero() -> None:
    winners = run(HAND_EQUITY, trades={"pnl": [5.0, 0.0], "return": [0.1, 0.0]})
    assert math.isnan(winners.profit_factor) and winners.win_rate == 0.5
    losers = run(HAND_EQUITY, trades={"pnl": [-5.0], "return": [-0.1]})
    assert (losers.profit_factor, losers.win_rate) == (0.0, 0.0)


def test_wiped_out_account() -> None:
    later = run([50.0, 0.0, 10.0])  # returns after a zero equity mean nothing
    assert all(math.isnan(x) for x in (later.volatility, later.sharpe_ratio, later.sortino_ratio))
    assert later.total_return == pytest.approx(-0.9)
    at_end = run([50.0, 0.0])
    assert at_end.cagr == -1.0 and at_end.volatility == pytest.approx(math.sqrt(0.125 * 252))
    negative = run([50.0, -10.0])
    assert math.isnan(negative.cagr) and negative.max_drawdown == pytest.approx(1.1)


def test_json_dict_maps_non_finite_to_null() -> None:
    # doubling within 2 ns annualises beyond a float: cagr is inf, not a number
    m = run([150.0, 200.0], ts=np.array([0, 1], dtype=np.int64))
    assert m.cagr == math.inf and math.isnan(m.calmar_ratio)
    assert math.isnan(m.to_dict()["calmar_ratio"])
    out = m.to_json_dict()
    assert (out["cagr"], out["calmar_ratio"], out["bars"]) == (None, None, 2)
    assert json.loads(json.dumps(out, allow_nan=False)) == out


# --- annualisation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "calendar", "expected"),
    [
        (DAY, "24/7", 365.25),
        (60 * SECOND, "24/7", 525_960.0),
        (HOUR, "24/7", 8_766.0),
        (DAY, "equity", 252.0),
        (60 * SECOND, "equity", 98_280.0),  # 252 * 390
        (300 * SECOND, "equity", 19_656.0),  # 252 * 78
        (HOUR, "equity", 1_638.0),  # 252 * 6.5
        (8 * HOUR, "equity", 252.0),  # longer than a session: one a day
        (2 * DAY, "equity", 126.0),
        (7 * DAY, "equity", 365.25 / 7),
        (30 * DAY, "equity", 12.175),
    ],
)
def test_periods_per_year(interval: int, calendar: str, expected: float) -> None:
    assert periods_per_year(interval, calendar) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("interval", "calendar"), [(0, "24/7"), (-DAY, "equity"), (DAY, "nyse")])
def test_periods_per_year_rejects(interval: int, calendar: str) -> None:
    with pytest.raises(ConfigError):
        periods_per_year(interval, calendar)


# --- bad input --------------------------------------------------------------------


def test_bad_input_is_refused() -> None:
    with pytest.raises(DataError, match="strictly increasing"):
        run([1.0, 2.0], ts=daily(1, 1))
    with pytest.raises(DataError, match="one length"):
        run([1.0, 2.0], ts=daily(1))
    with pytest.raises(DataError, match="finite"):
        run([1.0, math.nan])
    with pytest.raises(DataError, match="'return'"):
        run([1.0], trades={"pnl": [1.0]})
    with pytest.raises(ConfigError):
        run([1.0], initial=0.0)
    streamed = RunningMetrics(initial_equity=1.0)
    streamed.update(daily(5), [1.0], [0.0])
    with pytest.raises(DataError, match="strictly increasing"):
        streamed.update(daily(5), [1.0], [0.0])


def test_datetime64_timestamps_equal_int_nanoseconds() -> None:
    as_dt = run(HAND_EQUITY, ts=HAND_TS.astype("datetime64[ns]").astype("datetime64[s]"))
    assert_same(run(HAND_EQUITY, ts=HAND_TS), as_dt, rel=0)


# --- streaming == batch -------------------------------------------------------------

returns_bp = st.one_of(st.just(0), st.integers(-2000, 2000)).map(lambda bp: bp / 10_000)


@st.composite
def curves(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    n = draw(st.integers(0, 60))
    if draw(st.booleans()):  # few levels: many exact ties and recoveries
        levels = st.sampled_from([80.0, 95.0, 100.0, 110.0])
        equity = np.array(draw(st.lists(levels, min_size=n, max_size=n)))
    else:
        returns = draw(st.lists(returns_bp, min_size=n, max_size=n))
        equity = 100.0 * np.cumprod(1 + np.array(returns))
    steps = draw(st.lists(st.sampled_from([60, 60, 3600, 3 * 86_400]), min_size=n, max_size=n))
    exposure = draw(st.lists(st.sampled_from([0.0, 0.5, 1.7]), min_size=n, max_size=n))
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=8)))
    ts = np.cumsum(np.array(steps, dtype=np.int64) * SECOND)
    return ts, equity.astype(float), np.array(exposure, dtype=float), cuts


def stream(ts: np.ndarray, equity: np.ndarray, exposure: np.ndarray, cuts: list[int]) -> Metrics:
    acc = RunningMetrics(initial_equity=100.0)
    for lo, hi in zip([0, *cuts], [*cuts, len(ts)], strict=True):
        acc.update(ts[lo:hi], equity[lo:hi], exposure[lo:hi])
    return acc.finish(trades=HAND_TRADES, traded_notional=500.0, periods_per_year=252.0)


@settings(max_examples=300, deadline=None)
@given(curve=curves(), block=st.integers(1, 9), sample=st.integers(1, 12))
def test_streaming_equals_batch_under_any_chunking(
    curve: tuple[np.ndarray, np.ndarray, np.ndarray, list[int]], block: int, sample: int
) -> None:
    ts, equity, exposure, cuts = curve
    # tiny internal blocks and interval sample reach their boundaries on short curves
    with (
        mock.patch.object(metrics_module, "_BLOCK", block),
        mock.patch.object(metrics_module, "_INTERVAL_SAMPLE", sample),
    ):
        batch = run(equity, ts=ts, exposure=exposure, trades=HAND_TRADES, notional=500.0)
        assert_same(batch, stream(ts, equity, exposure, cuts))


def test_streaming_equals_batch_on_a_long_curve() -> None:
    ts, equity = random_curve(7, 200_000)
    exposure = (np.arange(ts.size) % 3).astype(float)
    cuts = list(np.cumsum(np.random.default_rng(7).integers(1, 90_000, 8)))
    batch = run(equity, ts=ts, exposure=exposure, trades=HAND_TRADES, notional=500.0)
    assert_same(batch, stream(ts, equity, exposure, [c for c in cuts if c < ts.size]))


def test_streaming_memory_is_flat() -> None:
    chunk, chunks = 20_000, 100  # 2M bars: 48 MB if held whole
    acc = RunningMetrics(initial_equity=100.0)
    tracemalloc.start()
    try:
        for i in range(chunks):
            ts = (np.arange(chunk, dtype=np.int64) + i * chunk) * 60 * SECOND
            equity = 100.0 + np.sin(ts / 1e13)
            acc.update(ts, equity, np.ones(chunk))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert acc.bars == chunk * chunks
    assert peak < 4 * 2**20
