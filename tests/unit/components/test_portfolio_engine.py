"""The portfolio engine driven directly with hand-made frames.

Every golden number is worked out by hand in the comment beside it (or by the
plain-Python formula written in the test); none comes from admf. Conventions
under test are those of DESIGN.md §6 and the engine's module docstring.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admf.components import costs, sizing
from admf.components.portfolio import PortfolioEngine, RiskLimits
from admf.messages import BarBatch

NAN = math.nan
MIN = 60 * 10**9
HOUR = 3600 * 10**9

# ---------------------------------------------------------------- helpers


def bars(symbol: str, o: list[float], h: list[float] | None = None, lo: list[float] | None = None,
         c: list[float] | None = None, v: list[float] | None = None,
         t: list[int] | None = None) -> BarBatch:
    """A batch; ``c`` defaults to ``o``, ``h``/``lo`` to max/min of open and close,
    ``t`` to one bar a minute from 0."""
    o_ = np.array(o, dtype=float)
    c_ = np.array(c if c is not None else o, dtype=float)
    h_ = np.array(h, dtype=float) if h is not None else np.maximum(o_, c_)
    l_ = np.array(lo, dtype=float) if lo is not None else np.minimum(o_, c_)
    v_ = np.array(v if v is not None else [1e6] * len(o_), dtype=float)
    t_ = np.array(t if t is not None else [i * MIN for i in range(len(o_))], dtype=np.int64)
    return BarBatch(ts=int(t_[0]), symbol=symbol, timestamp=t_, open=o_, high=h_, low=l_,
                    close=c_, volume=v_)


def engine(symbols: tuple[str, ...] = ("A",), *, cash: float = 1000.0, sizer: Any = None,
           commission: Any = None, slippage: Any = None, risk: dict | None = None,
           fill: str = "next_open", general: bool = False, **kw: Any) -> PortfolioEngine:
    e = PortfolioEngine(
        "p", list(symbols), initial_cash=cash,
        sizer=sizer if sizer is not None else sizing.FixedQuantity(quantity=10),
        commission=commission if commission is not None else costs.NoCommission(),
        slippage=slippage if slippage is not None else costs.NoSlippage(),
        risk=msgspec.convert(risk or {}, RiskLimits), fill=fill, **kw)
    if general and hasattr(e, "plain_allowed"):  # force the general event loop
        e.plain_allowed = False
    return e


class Run:
    """Concatenated frame results of one engine."""

    def __init__(self, e: PortfolioEngine) -> None:
        self.engine = e
        self.results: list[Any] = []

    def __getattr__(self, name: str) -> np.ndarray:
        return np.concatenate([getattr(r, name) for r in self.results])

    @property
    def trades(self) -> list[dict[str, Any]]:
        table = self.engine.finish()
        return [dict(zip(table, row)) for row in zip(*table.values())]


def run(e: PortfolioEngine, frame: list[tuple[str, BarBatch, list[float]]],
        splits: list[int] = (), *, close_at_end: bool = False) -> Run:
    """Process ``frame`` cut into frames at times ``frame``'s first symbol has
    at the ``splits`` positions (every symbol is cut at the same time)."""
    out = Run(e)
    ref = frame[0][1].timestamp
    cuts = [int(ref[s]) for s in splits]
    bounds = [-(2**62), *cuts, 2**62]
    pieces = []
    for lo_t, hi_t in zip(bounds, bounds[1:]):
        piece = []
        for name, b, target in frame:
            tgt = np.asarray(target, dtype=float)
            a, z = np.searchsorted(b.timestamp, lo_t), np.searchsorted(b.timestamp, hi_t)
            if z > a:
                piece.append((name, b.slice(int(a), int(z)), tgt[a:z]))
        if piece:
            pieces.append(piece)
    for k, piece in enumerate(pieces):
        out.results.append(e.process(piece, last=k == len(pieces) - 1, close_at_end=close_at_end))
    return out


# ------------------------------------------------------------ fill prices

OPEN5 = [10, 11, 12, 13, 14]
CLOSE5 = [10.5, 11.5, 12.5, 13.5, 14.5]


@pytest.mark.parametrize("general", [False, True])
@pytest.mark.parametrize(
    ("fill", "entry", "exit_", "bars_at", "cash", "equity"),
    [
        # target 0 1 1 0 0; 10 units; fixed fee 1 per fill
        # next_open: buy @ open[2] = 12 (cash 1000 - 120 - 1 = 879), sell @ open[4] = 14
        #   equity: 1000, 1000, 879 + 125, 879 + 135, 879 + 140 - 1
        ("next_open", 12.0, 14.0, (2, 4), [1000, 1000, 879, 879, 1018],
         [1000, 1000, 1004, 1014, 1018]),
        # next_close: buy @ close[2] = 12.5 (cash 874), sell @ close[4] = 14.5
        ("next_close", 12.5, 14.5, (2, 4), [1000, 1000, 874, 874, 1018],
         [1000, 1000, 999, 1009, 1018]),
        # same_close: buy @ close[1] = 11.5 (cash 884), sell @ close[3] = 13.5
        ("same_close", 11.5, 13.5, (1, 3), [1000, 884, 884, 1018, 1018],
         [1000, 999, 1009, 1018, 1018]),
    ],
)
def test_fill_conventions(fill: str, entry: float, exit_: float, bars_at: tuple[int, int],
                          cash: list[float], equity: list[float], general: bool) -> None:
    e = engine(fill=fill, commission=costs.FixedCommission(amount=1.0), general=general)
    r = run(e, [("A", bars("A", OPEN5, c=CLOSE5), [0, 1, 1, 0, 0])])
    np.testing.assert_allclose(r.cash, cash, atol=1e-9)
    np.testing.assert_allclose(r.equity, equity, atol=1e-9)
    (t,) = r.trades
    assert (t["entry_price"], t["exit_price"], t["quantity"]) == (entry, exit_, 10.0)
    assert (t["entry_time"], t["exit_time"]) == (bars_at[0] * MIN, bars_at[1] * MIN)
    assert t["pnl"] == pytest.approx(10 * (exit_ - entry) - 2)  # = 18
    assert t["commission"] == pytest.approx(2.0)
    assert (t["reason"], t["open"], t["bars_held"], t["direction"]) == ("signal", False, 2, 1)
    # the sparse signals: target changes at bars 1 (to 1) and 3 (to 0)
    assert r.signal_time.tolist() == [1 * MIN, 3 * MIN]
    assert r.signal_target.tolist() == [1.0, 0.0]
    assert e.final_equity() == pytest.approx(1018.0)


def test_nan_target_keeps_and_repeats_are_not_orders() -> None:
    # target NaN 1 NaN 1 NaN 0 -> forward-filled 0 1 1 1 1 0: one entry (bar 2), exit pending
    e = engine()
    r = run(e, [("A", bars("A", [10, 11, 12, 13, 14, 15]), [NAN, 1, NAN, 1, NAN, 0])])
    assert e.ledger.fills == 1
    assert e.ledger.positions["A"].price == 12.0
    assert r.signal_target.tolist() == [1.0, 0.0]


def test_pending_order_crosses_frames() -> None:
    # the decision on the last bar of a frame fills at the next frame's first open
    b = bars("A", OPEN5, c=CLOSE5)
    for splits in ([1], [2], [1, 2], [3], [1, 2, 3, 4]):
        e = engine(commission=costs.FixedCommission(amount=1.0))
        r = run(e, [("A", b, [0, 1, 1, 0, 0])], splits)
        np.testing.assert_allclose(r.equity, [1000, 1000, 1004, 1014, 1018], atol=1e-9)
        assert [(t["entry_price"], t["exit_price"]) for t in r.trades] == [(12.0, 14.0)]


# ------------------------------------------------------------------ stops

# long trailing stop 10%: entry at bar 1's open (100)
#   bar 1: level = 100 * 0.9 = 90 (the peak starts at the entry; bar 1's own high
#          105 is not used for bar 1); low 99 > 90
#   bar 2: level = max(100, high[1] = 105) * 0.9 = 94.5; low 95 > 94.5 -> holds
#          (had bar 2's own high 120 been used: 108 -> low 95 would trigger)
#   bar 3: level = max(105, high[2] = 120) * 0.9 = 108; low 107 <= 108, open 118 above
#          -> exit at 108, pnl 8
TRAIL_LONG = dict(o=[100, 100, 104, 118, 109], h=[100, 105, 120, 119, 112],
                  lo=[100, 99, 95, 107, 108], c=[100, 104, 118, 110, 111])
# short mirror: entry short at 100
#   bar 2: level = min(100, low[1] = 95) * 1.1 = 104.5; high 104 < 104.5 -> holds
#   bar 3: level = min(95, low[2] = 80) * 1.1 = 88; high 90 >= 88; open 82 below -> 88
TRAIL_SHORT = dict(o=[100, 100, 96, 82, 89], h=[100, 101, 104, 90, 90],
                   lo=[100, 95, 80, 81, 87], c=[100, 96, 82, 89, 88])


@pytest.mark.parametrize(
    ("data", "target", "exit_price", "pnl", "equity"),
    [
        # cash 900 after the buy: 900 + 104, 900 + 118, then 900 + 108 = 1008 (flat)
        (TRAIL_LONG, 1.0, 108.0, 8.0, [1000, 1004, 1018, 1008, 1008]),
        # cash 1100 after the short: 1100 - 96, 1100 - 82, then 1100 - 88 = 1012
        (TRAIL_SHORT, -1.0, 88.0, 12.0, [1000, 1004, 1018, 1012, 1012]),
    ],
)
def test_trailing_stop_uses_extremes_of_earlier_bars(data: dict, target: float, exit_price: float,
                                                     pnl: float, equity: list[float]) -> None:
    b = bars("A", data["o"], data["h"], data["lo"], data["c"])
    for splits in ([], [1], [2], [3], [4], [1, 2, 3, 4]):  # levels carry across frames
        e = engine(sizer=sizing.FixedQuantity(quantity=1), risk={"trailing_stop": 0.10})
        r = run(e, [("A", b, [target] * 5)], splits)
        (t,) = r.trades
        assert (t["entry_price"], t["reason"]) == (100.0, "trailing_stop"), splits
        assert t["exit_price"] == pytest.approx(exit_price, abs=1e-9)
        assert t["exit_time"] == 3 * MIN
        assert t["pnl"] == pytest.approx(pnl)
        np.testing.assert_allclose(r.equity, equity, atol=1e-9)
        assert not e.ledger.positions  # stays flat: the target did not change again


def test_partial_reduction_keeps_the_trailing_peak() -> None:
    # trailing 10%, 10 units @ 100 (bar 1). Highs 101, 150, 149 -> the peak is 150.
    # Target 0.5 at bar 3 -> sell 5 @ 145 at bar 4's open (pnl 225). A reduction is
    # not a new entry: the trail still follows the highest high since entry, so at
    # bar 4 the level is 150 * 0.9 = 135, the low 134 touches it -> the other 5 go at
    # 135 (pnl 175). Resetting the peak to the entry price (level 90) would keep them.
    b = bars("A", [100, 100, 100, 148, 145, 133], [100, 101, 150, 149, 146, 134],
             [100, 99, 99, 140, 134, 131], [100, 100, 148, 145, 136, 132])
    for splits in ([], [4], [2, 5]):
        e = engine(risk={"trailing_stop": 0.10})
        r = run(e, [("A", b, [1, 1, 1, 0.5, 0.5, 0.5])], splits)
        got = [(t["quantity"], t["exit_price"], t["reason"], t["exit_time"]) for t in r.trades]
        assert got == [(5.0, 145.0, "signal", 4 * MIN),
                       (5.0, pytest.approx(135.0), "trailing_stop", 4 * MIN)], splits
        assert [t["pnl"] for t in r.trades] == [pytest.approx(225.0), pytest.approx(175.0)]


TP_BARS = {
    # take profit 10% from 100 -> 110
    "touch": ([100, 100, 104, 111], [100, 105, 112, 112], [100, 99, 103, 110],
              [100, 104, 111, 111], 110.0),  # high 112 >= 110, open 104 -> at the level
    "gap": ([100, 100, 115, 111], [100, 105, 118, 112], [100, 99, 112, 110],
            [100, 104, 116, 111], 115.0),  # opens 115 above 110 -> at the (better) open
}


@pytest.mark.parametrize("case", sorted(TP_BARS))
def test_take_profit_long(case: str) -> None:
    o, h, lo, c, expected = TP_BARS[case]
    b = bars("A", o, h, lo, c)
    for splits in ([], [2], [3]):
        e = engine(sizer=sizing.FixedQuantity(quantity=1), risk={"take_profit": 0.10})
        r = run(e, [("A", b, [1, 1, 1, 1])], splits)
        (t,) = r.trades
        assert (t["reason"], t["exit_time"]) == ("take_profit", 2 * MIN)
        assert t["exit_price"] == pytest.approx(expected, abs=1e-9)
        assert t["pnl"] == pytest.approx(expected - 100)
        assert e.ledger.fills == 2  # no re-entry after the exit


def test_take_profit_short_gap_fills_at_open() -> None:
    # short at 100, target 10% -> 90; bar 2 opens at 85, below 90 -> cover at 85, pnl 15
    b = bars("A", [100, 100, 85, 86], [100, 101, 88, 87], [100, 97, 84, 85], [100, 98, 86, 86])
    e = engine(sizer=sizing.FixedQuantity(quantity=1), risk={"take_profit": 0.10})
    r = run(e, [("A", b, [-1, -1, -1, -1])])
    (t,) = r.trades
    assert (t["exit_price"], t["reason"], t["direction"]) == (85.0, "take_profit", -1)
    assert t["pnl"] == pytest.approx(15.0)


def test_short_stop_gap_fills_at_open() -> None:
    # short at 100, stop 5% -> 105; bar 2 opens at 108 -> cover at 108 (worse), pnl -8
    b = bars("A", [100, 100, 108, 107], [100, 102, 109, 108], [100, 99, 106, 106],
             [100, 101, 107, 107])
    e = engine(sizer=sizing.FixedQuantity(quantity=1), risk={"stop_loss": 0.05})
    (t,) = run(e, [("A", b, [-1] * 4)]).trades
    assert (t["exit_price"], t["reason"]) == (108.0, "stop_loss")
    assert t["pnl"] == pytest.approx(-8.0)


def test_stop_beats_target_in_the_same_bar() -> None:
    # entry 100; stop 95 and target 105 both inside bar 2 (low 94, high 106):
    # the path is unknown, assume the worse -> stop at 95, pnl -5
    b = bars("A", [100, 100, 100, 100], [100, 101, 106, 101], [100, 99, 94, 99],
             [100, 100, 100, 100])
    e = engine(sizer=sizing.FixedQuantity(quantity=1),
               risk={"stop_loss": 0.05, "take_profit": 0.05})
    (t,) = run(e, [("A", b, [1] * 4)]).trades
    assert (t["reason"], t["exit_time"]) == ("stop_loss", 2 * MIN)
    assert t["exit_price"] == pytest.approx(95.0, abs=1e-9)
    assert t["pnl"] == pytest.approx(-5.0)


def test_stop_on_next_close_entry_starts_the_bar_after() -> None:
    # next_close: entry at bar 1's close (100); bar 1's own low 90 is before the entry
    # and must not trigger the 5% stop (95); bar 2's low 94 does -> exit at 95
    b = bars("A", [100, 100, 99, 96], [100, 101, 100, 97], [100, 90, 94, 95],
             [100, 100, 98, 96])
    e = engine(sizer=sizing.FixedQuantity(quantity=1), risk={"stop_loss": 0.05},
               fill="next_close")
    (t,) = run(e, [("A", b, [1] * 4)]).trades
    assert (t["entry_time"], t["exit_time"]) == (1 * MIN, 2 * MIN)
    assert (t["entry_price"], t["reason"]) == (100.0, "stop_loss")
    assert t["exit_price"] == pytest.approx(95.0, abs=1e-9)


# ---------------------------------------------------------------- limits


def test_max_position_caps_entries_and_increases() -> None:
    # fixed 100 units, max 30: buy 30 at bar 1; target 2 (200 units) at bar 2 -> no room
    b = bars("A", [10] * 5)
    e = engine(cash=10_000, sizer=sizing.FixedQuantity(quantity=100), risk={"max_position": 30})
    run(e, [("A", b, [1, 1, 2, 2, 2])])
    assert e.ledger.fills == 1
    assert e.ledger.positions["A"].quantity == 30
    # shorts are capped on the absolute size
    e = engine(cash=10_000, sizer=sizing.FixedQuantity(quantity=100), risk={"max_position": 30})
    run(e, [("A", b, [-1] * 5)])
    assert e.ledger.positions["A"].quantity == -30


def test_max_exposure_caps_long_and_short() -> None:
    b = bars("A", [10] * 4)
    # 100% of 1000 equity at 10 = 100 units; exposure cap 0.5 -> 500 / 10 = 50
    e = engine(sizer=sizing.PercentEquity(percent=100), risk={"max_exposure": 0.5})
    r = run(e, [("A", b, [1] * 4)])
    assert e.ledger.positions["A"].quantity == 50
    np.testing.assert_allclose(r.exposure, [0, 0.5, 0.5, 0.5])
    # 300% short = 300 units; cap 1.5 -> 1500 / 10 = 150
    e = engine(sizer=sizing.PercentEquity(percent=300), risk={"max_exposure": 1.5})
    r = run(e, [("A", b, [-1] * 4)])
    assert e.ledger.positions["A"].quantity == -150
    # equity stays 1000 (cash 2500 - 150 * 10); exposure 1500 / 1000
    np.testing.assert_allclose(r.exposure, [0, 1.5, 1.5, 1.5])


def test_max_exposure_counts_other_symbols() -> None:
    # 50% of equity per symbol, gross exposure capped at 0.8 of equity (1000)
    ta = [1, 1, 1, 1, 1]
    tb = [0, 0, 1, 1, 1]
    a, b = bars("A", [10] * 5), bars("B", [20] * 5)
    e = engine(("A", "B"), sizer=sizing.PercentEquity(percent=50), risk={"max_exposure": 0.8})
    run(e, [("A", a, ta), ("B", b, tb)])
    # A: 50% of 1000 / 10 = 50 units (500 <= 800); B at bar 3: wanted 500 / 20 = 25,
    # room = 800 - 500 = 300 -> 15 units; cash 1000 - 500 - 300 = 200
    assert e.ledger.positions["A"].quantity == 50
    assert e.ledger.positions["B"].quantity == 15
    assert e.ledger.cash == pytest.approx(200.0)


def _drawdown_frame(a_targets: list[float]) -> list[tuple[str, BarBatch, list[float]]]:
    a = bars("A", [100, 100, 70, 70, 70, 70, 70, 70, 70])
    b = bars("B", [100, 100, 100, 100, 150, 150, 150, 150, 150])
    return [("A", a, a_targets), ("B", b, [1, 1, 1, 1, 1, 1, 1, 0, 0])]


def test_max_drawdown_halts_entries_for_the_rest_of_the_run_exits_still_run() -> None:
    # cash 2000, 10 units each, max_drawdown 10%.
    # t1: buy A 10 @ 100, B 10 @ 100 -> cash 0, equity 2000 (the peak)
    # t2: A closes 70 -> equity 1700 (15% down); A's target 0 -> sell @ 70 at t3 (cash 700)
    # t3: A target 1 -> entry at t4 refused: drawdown 1 - 1700/2000 = 15% >= 10%: halt
    # t4: B closes 150 -> equity 2200, a new peak (drawdown 0)
    # t6: A target 1 again -> entry at t7 still refused: halted for the rest of the run
    # t7: B target 0 -> exit at t8 @ 150 runs (exits always run): cash 2200
    e = engine(("A", "B"), cash=2000, risk={"max_drawdown": 0.10})
    r = run(e, _drawdown_frame([1, 1, 0, 1, 1, 0, 1, 1, 1]))
    trades = sorted((t["symbol"], t["entry_price"], t["exit_price"], t["pnl"]) for t in r.trades)
    assert trades == [("A", 100.0, 70.0, -300.0), ("B", 100.0, 150.0, 500.0)]
    assert e.ledger.fills == 4
    np.testing.assert_allclose(r.equity, [2000, 2000, 1700, 1700, 2200, 2200, 2200, 2200, 2200])
    np.testing.assert_allclose(r.cash, [2000, 0, 0, 700, 700, 700, 700, 700, 2200])


def test_max_drawdown_once_breached_halts_even_if_equity_recovers_before_the_next_entry() -> None:
    # Same bars, but A does not try to re-enter until t6 (fill at t7). The equity fell
    # 15% from its peak at t2-t3 ("once the equity falls this far from its peak, no
    # new entries for the rest of the run"), so the t7 entry must be refused even
    # though B's rally has lifted the equity to a new peak by then.
    e = engine(("A", "B"), cash=2000, risk={"max_drawdown": 0.10})
    r = run(e, _drawdown_frame([1, 1, 0, 0, 0, 0, 1, 1, 1]))
    assert [t["symbol"] for t in r.trades if t["symbol"] == "A"] == ["A"]  # only the first A trade
    assert "A" not in e.ledger.positions


def test_max_drawdown_peak_is_the_same_for_any_frame_split() -> None:
    # 10 units, cash 1000, max_drawdown 10%. Buy @ 100 at t1 (cash 0).
    # t2 closes 120: equity 1200, the peak. t3 closes 105 (12.5% below the peak);
    # target 0 -> sell @ 105 at t4 (cash 1050); target 1 at t4 -> the entry at t5 is
    # refused: 1 - 1050/1200 = 12.5% >= 10%. However the bars are cut into frames.
    b = bars("A", [100, 100, 120, 105, 105, 105, 105], c=[100, 100, 120, 105, 105, 105, 105])
    targets = [1, 1, 1, 0, 1, 1, 1]
    for splits in ([], [1], [2], [3], [4], [5], [3, 5], [1, 2, 3, 4, 5, 6]):
        e = engine(risk={"max_drawdown": 0.10})
        r = run(e, [("A", b, targets)], splits)
        assert e.ledger.fills == 2, f"splits {splits}: the re-entry at t5 must be refused"
        np.testing.assert_allclose(r.equity, [1000, 1000, 1200, 1050, 1050, 1050, 1050])


def test_daily_loss_limit_blocks_entries_for_the_rest_of_that_utc_day_only() -> None:
    # hours: day 0 at 10..14h, day 1 at 10..12h (UTC). cash 2000, 10 units, limit 5%.
    # t1 buy @ 100 (cash 1000); t2 closes 80: equity 1800, 10% below the day's 2000
    # t2 target 0 -> sell @ 80 at t3 (cash 1800); t3 target 1 -> entry at t4 (day 0)
    #   refused: 1 - 1800/2000 = 10% >= 5%
    # t4 target 0, t5 (day 1) target 1 -> entry at t6 @ 85: the day opened at 1800 and
    #   equity is 1800 -> allowed; cash 1800 - 850 = 950; t7 closes 90 -> 950 + 900 = 1850
    hours = [10, 11, 12, 13, 14, 34, 35, 36]
    b = bars("A", [100, 100, 80, 80, 80, 80, 85, 90], c=[100, 100, 80, 80, 80, 85, 85, 90],
             t=[h * HOUR for h in hours])
    targets = [1, 1, 0, 1, 0, 1, 1, 1]
    for splits in ([], [3], [5], [6], [2, 4, 6]):
        e = engine(cash=2000, risk={"daily_loss_limit": 0.05})
        r = run(e, [("A", b, targets)], splits)
        assert [(t["entry_price"], t["exit_price"], t["open"]) for t in r.trades] == [
            (100.0, 80.0, False), (85.0, 90.0, True)], splits
        np.testing.assert_allclose(r.equity, [2000, 2000, 1800, 1800, 1800, 1800, 1800, 1850])


def test_daily_loss_day_open_is_the_previous_days_last_close_across_frames() -> None:
    # day 0: 20h, 22h; day 1: 01h, 02h, 03h. cash 1000, 10 units, limit 5%.
    # t0 buy decision -> buy @ 100 at t1 (cash 0). Equity at day 0's last close (t1): 1000.
    # day 1: t2 closes 96 (4% below the day open 1000), t3 closes 94 (6% below) and the
    # target goes 0 at t2 -> sell @ 96 at t3 ... -> day open must be 1000 whatever the split.
    hours = [20, 22, 25, 26, 27, 28]
    b = bars("A", [100, 100, 96, 96, 94, 94], c=[100, 100, 96, 94, 94, 94],
             t=[h * HOUR for h in hours])
    # sell at t3 @ 96 -> cash 960 (4% down: not yet blocked); t3 target 1 -> entry at t4:
    # equity at t3's close = 960 -> 1 - 960/1000 = 4% < 5% -> allowed @ 94
    targets = [1, 1, 0, 1, 1, 1]
    for splits in ([], [1], [2], [3], [1, 2, 3, 4]):
        e = engine(risk={"daily_loss_limit": 0.05})
        r = run(e, [("A", b, targets)], splits)
        assert e.ledger.fills == 3, splits
        assert e.ledger.positions["A"].price == 94.0


def test_daily_loss_day_open_when_the_day_turns_inside_a_frame_tail() -> None:
    # day 0: 20h, 22h; day 1: 01h .. 04h. cash 1000, 10 units, limit 5%.
    # t1 buy @ 100 (cash 0): equity at day 0's last close (t1) = 1000 = day 1's open.
    # t2 (01h) closes 96 (960), t3 closes 94 (940); target 0 at t3 -> sell @ 94 at t4
    # (cash 940); target 1 at t4 -> the entry at t5 is refused: 1 - 940/1000 = 6% >= 5%.
    # Cutting the frames after t2 must not move day 1's opening equity to 960.
    hours = [20, 22, 25, 26, 27, 28]
    b = bars("A", [100, 100, 98, 96, 94, 94], c=[100, 100, 96, 94, 94, 94],
             t=[h * HOUR for h in hours])
    targets = [1, 1, 1, 0, 1, 1]
    for splits in ([], [2], [3], [4], [1, 3, 5]):
        e = engine(risk={"daily_loss_limit": 0.05})
        r = run(e, [("A", b, targets)], splits)
        assert e.ledger.fills == 2, f"splits {splits}: the entry at t5 must be refused"
        np.testing.assert_allclose(r.equity, [1000, 1000, 960, 940, 940, 940])


def test_daily_loss_once_breached_blocks_the_rest_of_the_day_even_after_a_recovery() -> None:
    # one UTC day, hourly. cash 2000, 10 units each, limit 5%.
    # B bought @ 100 at t1 (cash 1000); t2 B closes 80: equity 1800, 10% below the day's
    # open (2000) -> "no new entries for the rest of the day". t3 B closes 100 again
    # (2000). A's entry at t4 must still be refused.
    hours = [10, 11, 12, 13, 14, 15]
    a = bars("A", [50] * 6, t=[h * HOUR for h in hours])
    b = bars("B", [100, 100, 80, 100, 100, 100], t=[h * HOUR for h in hours])
    e = engine(("A", "B"), cash=2000, risk={"daily_loss_limit": 0.05})
    run(e, [("A", a, [0, 0, 0, 1, 1, 1]), ("B", b, [1] * 6)])
    assert "A" not in e.ledger.positions


def test_volume_share_limits_entries_and_prices_impact() -> None:
    # fixed 50 units, limit 10% of the bar's volume, impact 0.2
    # entry at t1 (open 10, volume 100): cut to 0.1 * 100 = 10 units
    #   price 10 * (1 + 0.2 * (10/100)^2) = 10.02; slippage cost 0.02 * 10 = 0.2
    # exit at t3 (open 12, volume 20): exits fill in full (10 > 0.1 * 20)
    #   price 12 * (1 - 0.2 * (10/20)^2) = 11.4; slippage cost 0.6 * 10 = 6
    # pnl = (11.4 - 10.02) * 10 = 13.8; cash 10000 - 100.2 + 114 = 10013.8
    b = bars("A", [10, 10, 12, 12], v=[1000, 100, 1000, 20])
    e = engine(cash=10_000, sizer=sizing.FixedQuantity(quantity=50),
               slippage=costs.VolumeShareSlippage(limit=0.1, impact=0.2))
    r = run(e, [("A", b, [1, 1, 0, 0])])
    (t,) = r.trades
    assert t["quantity"] == 10.0
    assert t["entry_price"] == pytest.approx(10.02) and t["exit_price"] == pytest.approx(11.4)
    assert t["pnl"] == pytest.approx(13.8) and t["slippage"] == pytest.approx(6.2)
    assert r.cash[-1] == pytest.approx(10_013.8)


def test_tiered_commission_on_each_fill() -> None:
    # tiers [0: 1%], [1000: 0.5%], [5000: 0.1%]; 200 units
    # buy 200 @ 10 = 2000 notional -> 0.5% = 10; sell 200 @ 30 = 6000 -> 0.1% = 6
    # pnl = 200 * 20 - 16 = 3984; cash 10000 - 2010 + 5994 = 13984
    tiered = msgspec.convert({"tiers": [[0, 0.01], [1000, 0.005], [5000, 0.001]]},
                             costs.TieredCommission)
    e = engine(cash=10_000, sizer=sizing.FixedQuantity(quantity=200), commission=tiered)
    r = run(e, [("A", bars("A", [10, 10, 30, 30]), [1, 1, 0, 0])])
    (t,) = r.trades
    assert t["commission"] == pytest.approx(16.0) and t["pnl"] == pytest.approx(3984.0)
    np.testing.assert_allclose(r.cash, [10_000, 7990, 7990, 13_984])


# ---------------------------------------------------------- end of data

# 10 units, 1% commission, 100 bps slippage; target long from bar 0; opens = closes
# entry at bar 1: 11 * 1.01 = 11.11, fee 0.01 * 111.1 = 1.111, slippage 0.11 * 10 = 1.1
END = bars("A", [10, 11, 12, 13])


def end_engine(**kw: Any) -> PortfolioEngine:
    return engine(commission=costs.PercentageCommission(rate=0.01),
                  slippage=costs.FixedBpsSlippage(bps=100), **kw)


@pytest.mark.parametrize("splits", [[], [2], [3], [1, 2, 3]])
def test_close_at_end_closes_at_last_close_with_costs(splits: list[int]) -> None:
    # exit at the last close: 13 * 0.99 = 12.87, fee 1.287, slippage 1.3
    # pnl = (12.87 - 11.11) * 10 - 1.111 - 1.287 = 15.202
    # cash = 1000 - 111.1 - 1.111 + 128.7 - 1.287 = 1015.202
    e = end_engine()
    r = run(e, [("A", END, [1, 1, 1, 1])], splits, close_at_end=True)
    (t,) = r.trades
    assert (t["reason"], t["open"], t["exit_time"]) == ("end_of_data", False, 3 * MIN)
    assert t["entry_price"] == pytest.approx(11.11) and t["exit_price"] == pytest.approx(12.87)
    assert t["pnl"] == pytest.approx(15.202) and t["commission"] == pytest.approx(2.398)
    assert t["slippage"] == pytest.approx(2.4)
    assert r.cash[-1] == pytest.approx(1015.202) and r.equity[-1] == pytest.approx(1015.202)
    assert not e.ledger.positions


def test_open_trade_marked_at_last_close_without_exit_commission() -> None:
    # open row: exit_price 13 (no slippage), pnl = (13 - 11.11) * 10 - 1.111 = 17.789
    e = end_engine()
    r = run(e, [("A", END, [1, 1, 1, 1])], [2])
    (t,) = r.trades
    assert (t["reason"], t["open"], t["exit_time"], t["bars_held"]) == ("open", True, 3 * MIN, 2)
    assert t["exit_price"] == 13.0
    assert t["pnl"] == pytest.approx(17.789) and t["commission"] == pytest.approx(1.111)
    assert t["slippage"] == pytest.approx(1.1)
    # final equity = cash 887.789 + 10 * 13 = 1017.789 = initial + open pnl
    assert e.final_equity() == pytest.approx(1017.789)
    assert r.equity[-1] == pytest.approx(1017.789)


@pytest.mark.parametrize("fill", ["next_open", "next_close", "same_close"])
def test_close_at_end_leaves_nothing_open(fill: str) -> None:
    # the target turns long on the last bar: with close_at_end nothing may stay open
    e = end_engine(fill=fill)
    run(e, [("A", END, [0, 0, 0, 1])], close_at_end=True)
    assert not e.ledger.positions
    assert not any(t["open"] for t in Run(e).trades)
    assert e.final_equity() == pytest.approx(e.ledger.cash)


# ------------------------------------------------------ reversal, partial


@pytest.mark.parametrize("general", [False, True])
def test_reversal_books_two_fills_each_with_commission(general: bool) -> None:
    # 10 units, fixed fee 1. long @ 10 (bar 1); target -1 at bar 2 -> at bar 3's open 12:
    # sell 10 (close: pnl 20 - 1 - 1 = 18), then sell 10 (open short @ 12, fee 1)
    # short marked at the last close 13: pnl (12 - 13) * 10 - 1 = -11
    # cash 1000 - 100 - 1 + 120 - 1 + 120 - 1 = 1137; equity 1137 - 130 = 1007
    e = engine(commission=costs.FixedCommission(amount=1.0), general=general)
    r = run(e, [("A", bars("A", [10, 10, 11, 12, 13]), [1, 1, -1, -1, -1])])
    assert e.ledger.fills == 3
    closed, still = r.trades
    assert (closed["direction"], closed["exit_price"], closed["open"]) == (1, 12.0, False)
    assert closed["pnl"] == pytest.approx(18.0) and closed["commission"] == pytest.approx(2.0)
    assert (still["direction"], still["entry_price"], still["open"]) == (-1, 12.0, True)
    assert still["pnl"] == pytest.approx(-11.0) and still["commission"] == pytest.approx(1.0)
    np.testing.assert_allclose(r.cash, [1000, 899, 899, 1137, 1137])
    np.testing.assert_allclose(r.equity, [1000, 999, 1009, 1017, 1007])


def test_partial_reduction_books_a_partial_trade() -> None:
    # 10 units @ 10 at bar 1 (1% fee = 1.0); target 0.5 at bar 2 -> sell 5 @ 12 at bar 3
    # (fee 0.6). Partial trade: pnl = 2 * 5 - 1.0 * 5/10 - 0.6 = 8.9, commission 1.1.
    # The open rest: 5 @ 10 marked at 13: pnl 15 - 0.5 = 14.5.
    # cash 1000 - 101 + 60 - 0.6 = 958.4; equity 958.4 + 65 = 1023.4
    e = engine(commission=costs.PercentageCommission(rate=0.01))
    r = run(e, [("A", bars("A", [10, 10, 11, 12, 13]), [1, 1, 0.5, 0.5, 0.5])])
    part, rest = r.trades
    assert (part["quantity"], part["exit_price"], part["open"]) == (5.0, 12.0, False)
    assert part["pnl"] == pytest.approx(8.9) and part["commission"] == pytest.approx(1.1)
    assert (rest["quantity"], rest["open"]) == (5.0, True)
    assert rest["pnl"] == pytest.approx(14.5) and rest["commission"] == pytest.approx(0.5)
    assert e.final_equity() == pytest.approx(1023.4)
    np.testing.assert_allclose(r.equity, [1000, 999, 1009, 1018.4, 1023.4])


# ------------------------------------------------------------ multi-symbol


def test_two_symbols_share_cash_and_carry_closes() -> None:
    # A at t0 t1 t2 (10 11 12), B at t1 t2 t3 (20 21 22); cash 30; 1 unit each (fractional)
    # A: target 1 at t0 -> buy 1 @ 11 at t1 (cash 19)
    # B: target 1 at t2 -> at t3 @ 22, only 19 cash left -> 19/22 units (cash 0)
    # equity: t0 30 (B has no price yet and no position), t1 19 + 11 = 30,
    #         t2 19 + 12 = 31, t3 0 + 12 (A's close carried) + 19/22 * 22 = 31
    a = bars("A", [10, 11, 12], t=[0, MIN, 2 * MIN])
    b = bars("B", [20, 21, 22], t=[MIN, 2 * MIN, 3 * MIN])
    e = engine(("A", "B"), cash=30, sizer=sizing.FixedQuantity(quantity=1))
    r = run(e, [("A", a, [1, 1, 1]), ("B", b, [0, 1, 1])])
    assert r.timestamp.tolist() == [0, MIN, 2 * MIN, 3 * MIN]
    np.testing.assert_allclose(r.cash, [30, 19, 19, 0], atol=1e-6)
    np.testing.assert_allclose(r.equity, [30, 30, 31, 31], atol=1e-6)
    np.testing.assert_allclose(r.exposure, [0, 11 / 30, 12 / 31, 1.0], atol=1e-6)
    assert e.ledger.positions["B"].quantity == pytest.approx(19 / 22, abs=1e-9)
    assert e.final_equity() == pytest.approx(31, abs=1e-6)


def test_equity_includes_a_symbol_without_bars_in_the_frame() -> None:
    # B is bought at t1's open (21; cash 979) and has no bar in the second frame: its
    # last close (22) carries forward. Equity = 979 + 22 = 1001 on every row of frame 2.
    e = engine(("A", "B"), sizer=sizing.FixedQuantity(quantity=1))
    first = e.process([("A", bars("A", [10, 11]), np.array([0.0, 0])),
                       ("B", bars("B", [20, 21], c=[20.5, 22]), np.array([1.0, 1]))])
    np.testing.assert_allclose(first.equity, [1000, 1001])
    second = e.process([("A", bars("A", [12, 13], t=[2 * MIN, 3 * MIN]), np.array([0.0, 0]))],
                       last=True)
    np.testing.assert_allclose(second.equity, [1001, 1001])
    assert e.final_equity() == pytest.approx(1001)


# ----------------------------------------------------- volatility target


def _vol_fixture() -> tuple[BarBatch, list[float], int]:
    closes = [100, 102, 99, 101, 103, 104, 104]
    # annualised vol at bar 3 (the decision bar) over 3 log returns, ddof 1, 252/yr
    r = [math.log(closes[i] / closes[i - 1]) for i in (1, 2, 3)]
    mean = sum(r) / 3
    vol = math.sqrt(sum((x - mean) ** 2 for x in r) / 2) * math.sqrt(252)
    # units = floor(10000 * min(0.2 / vol, 1) / open[4] = 103): vol ~ 0.4559 -> 42
    units = math.floor(10_000 * min(0.2 / vol, 1.0) / 103)
    assert units == 42
    return bars("A", closes), [0, 0, 0, 1, 1, 1, 1], units


@pytest.mark.parametrize("splits", [[], [2], [3], [4], [5], [2, 4, 6]])
def test_volatility_target_sizes_from_the_decision_bar(splits: list[int]) -> None:
    b, targets, units = _vol_fixture()
    e = engine(cash=10_000, sizer=sizing.VolatilityTarget(target=0.2, lookback=3))
    run(e, [("A", b, targets)], splits)
    assert e.ledger.positions["A"].quantity == units
    assert e.ledger.positions["A"].price == 103.0


# ------------------------------------------------------------- properties


def walk(n: int, seed: int, *, hours: bool = False) -> BarBatch:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    o = np.concatenate([[100.0], c[:-1]]) * np.exp(rng.normal(0, 0.005, n))
    h = np.maximum(o, c) * (1 + rng.uniform(0, 0.02, n))
    lo = np.minimum(o, c) * (1 - rng.uniform(0, 0.02, n))
    v = rng.uniform(50, 2000, n)
    step = HOUR if hours else MIN
    return bars("A", o.tolist(), h.tolist(), lo.tolist(), c.tolist(), v.tolist(),
                [i * step for i in range(n)])


def random_targets(n: int, seed: int, values: tuple[float, ...]) -> list[float]:
    rng = np.random.default_rng(seed + 1)
    out, cur = [], 0.0
    for _ in range(n):
        if rng.random() < 0.15:
            cur = float(rng.choice(values))
        out.append(cur if rng.random() > 0.2 else NAN)
    return out


COMMISSIONS = [
    costs.NoCommission(),
    costs.PercentageCommission(rate=0.002),
    costs.PerShareCommission(rate=0.05, minimum=2.0),
    costs.FixedCommission(amount=3.0),
    msgspec.convert({"tiers": [[0, 0.01], [500, 0.004], [2000, 0.001]]}, costs.TieredCommission),
]
SLIPPAGES = [costs.NoSlippage(), costs.FixedBpsSlippage(bps=20),
             costs.PercentageSlippage(rate=0.003),
             costs.VolumeShareSlippage(limit=1.0, impact=0.5)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), commission=st.sampled_from(COMMISSIONS),
       slippage=st.sampled_from(SLIPPAGES), percent=st.sampled_from([50.0, 100.0, 250.0]),
       whole=st.booleans(), fill=st.sampled_from(["next_open", "next_close", "same_close"]))
def test_cash_never_negative_long_only_percent_equity(seed: int, commission: Any, slippage: Any,
                                                      percent: float, whole: bool,
                                                      fill: str) -> None:
    n = 80
    b = walk(n, seed)
    e = engine(cash=1000, sizer=sizing.PercentEquity(percent=percent, whole_units=whole),
               commission=commission, slippage=slippage, fill=fill)
    r = run(e, [("A", b, random_targets(n, seed, (0.0, 1.0, 0.5)))], [n // 3, n // 2])
    assert r.cash.min() >= -1e-6
    # the trade table accounts for every unit of PnL, and the curve ends at the final equity
    pnl = sum(t["pnl"] for t in r.trades)
    assert pnl == pytest.approx(e.final_equity() - 1000, abs=1e-6)
    assert r.equity[-1] == pytest.approx(e.final_equity(), abs=1e-6)


RISKS = {
    "stops": {"stop_loss": 0.03, "take_profit": 0.05, "trailing_stop": 0.04},
    "trailing": {"trailing_stop": 0.025},
    "limits": {"max_position": 7, "max_exposure": 0.8},
    "drawdown": {"max_drawdown": 0.08, "stop_loss": 0.04},
    "daily_loss": {"daily_loss_limit": 0.02},
}


def _split_run(b: BarBatch, targets: list[float], risk: dict, splits: list[int],
                   fill: str) -> Run:
    e = engine(cash=2000, sizer=sizing.PercentEquity(percent=90),
               commission=costs.PercentageCommission(rate=0.001),
               slippage=costs.FixedBpsSlippage(bps=5), risk=risk, fill=fill)
    return run(e, [("A", b, targets)], splits, close_at_end=True)


@pytest.mark.parametrize("risk", sorted(RISKS))
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_any_frame_split_gives_the_same_result(risk: str, data: st.DataObject) -> None:
    n = 120
    seed = data.draw(st.integers(0, 1000))
    fill = data.draw(st.sampled_from(["next_open", "next_close", "same_close"]))
    splits = sorted(data.draw(st.lists(st.integers(1, n - 1), min_size=1, max_size=6,
                                       unique=True)))
    b = walk(n, seed, hours=True)
    targets = random_targets(n, seed, (-1.0, 0.0, 1.0, 0.5))
    whole = _split_run(b, targets, RISKS[risk], [], fill)
    cut = _split_run(b, targets, RISKS[risk], splits, fill)
    assert [tuple(t.values()) for t in cut.trades] == [tuple(t.values()) for t in whole.trades]
    np.testing.assert_allclose(cut.equity, whole.equity, rtol=0, atol=1e-9)
    np.testing.assert_allclose(cut.cash, whole.cash, rtol=0, atol=1e-9)


def test_volatility_target_over_many_frames_matches_one_frame() -> None:
    n = 150
    b = walk(n, 5)
    targets = random_targets(n, 5, (0.0, 1.0, -1.0))

    def go(splits: list[int]) -> Run:
        e = engine(cash=10_000, sizer=sizing.VolatilityTarget(target=0.3, lookback=10),
                   risk={"max_position": 1e9})
        return run(e, [("A", b, targets)], splits)

    whole = go([])
    assert len(whole.trades) > 5
    for splits in ([40], [11, 12, 13], list(range(20, 150, 20))):
        cut = go(splits)
        assert [tuple(t.values()) for t in cut.trades] == [tuple(t.values()) for t in whole.trades]
        np.testing.assert_allclose(cut.equity, whole.equity, atol=1e-9)
