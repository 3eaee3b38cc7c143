"""The ledger: trade rows against hand-worked fills, and the PnL identity
(closed PnL + open PnL == equity - initial cash) as a property."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.components.ledger import TRADE_COLUMNS, Ledger


def rows_as_dicts(ledger: Ledger, marks: dict | None = None) -> list[dict]:
    rows = ledger.rows + (ledger.open_rows(marks) if marks else [])
    return [dict(zip(TRADE_COLUMNS, r)) for r in rows]


def test_round_trip_long() -> None:
    led = Ledger(10_000)
    # buy 100 @ 50, fee 5, slippage cost 2; sell 100 @ 55, fee 5.5, slippage 3
    led.buy_or_sell("A", 100, 50.0, 5.0, 2.0, time=1000, bar=3, reason="signal")
    assert led.cash == pytest.approx(10_000 - 5000 - 5)  # 4995
    led.buy_or_sell("A", -100, 55.0, 5.5, 3.0, time=2000, bar=10, reason="take_profit")
    assert led.cash == pytest.approx(4995 + 5500 - 5.5)  # 10489.5
    assert led.positions == {}
    (t,) = rows_as_dicts(led)
    # pnl = (55 - 50) * 100 - 5 - 5.5 = 489.5; return = 489.5 / 5000
    assert t == {"symbol": "A", "direction": 1, "entry_time": 1000, "exit_time": 2000,
                 "entry_price": 50.0, "exit_price": 55.0, "quantity": 100, "pnl": pytest.approx(489.5),
                 "return": pytest.approx(489.5 / 5000), "commission": pytest.approx(10.5),
                 "slippage": pytest.approx(5.0), "reason": "take_profit", "bars_held": 7,
                 "open": False}
    assert led.traded_notional == pytest.approx(5000 + 5500)
    assert led.fills == 2


def test_round_trip_short() -> None:
    led = Ledger(1000)
    # short 10 @ 20 (fee 1), cover @ 23 (fee 1): pnl = (20 - 23) * 10 - 2 = -32
    led.buy_or_sell("B", -10, 20.0, 1.0, 0.0, time=5, bar=0, reason="signal")
    assert led.cash == pytest.approx(1000 + 200 - 1)
    led.buy_or_sell("B", 10, 23.0, 1.0, 0.0, time=9, bar=4, reason="stop_loss")
    (t,) = rows_as_dicts(led)
    assert t["direction"] == -1
    assert t["pnl"] == pytest.approx(-32.0)
    assert t["return"] == pytest.approx(-32.0 / 200)
    assert led.cash == pytest.approx(1000 - 32)


def test_adds_average_and_partial_close_prorates_entry_commission() -> None:
    led = Ledger(100_000)
    led.buy_or_sell("A", 10, 10.0, 1.0, 0.5, time=1, bar=1, reason="signal")
    led.buy_or_sell("A", 10, 12.0, 1.0, 0.5, time=2, bar=2, reason="signal")
    pos = led.positions["A"]
    assert (pos.quantity, pos.price, pos.commission) == (20, pytest.approx(11.0), pytest.approx(2.0))
    assert pos.entry_time == 1 and pos.entry_bar == 1  # the first entry
    # sell 15 @ 13, fee 1.5: entry fee share 2 * 15/20 = 1.5
    # pnl = (13 - 11) * 15 - 1.5 - 1.5 = 27
    led.buy_or_sell("A", -15, 13.0, 1.5, 0.0, time=3, bar=5, reason="signal")
    (t,) = rows_as_dicts(led)
    assert t["quantity"] == 15 and t["entry_price"] == pytest.approx(11.0)
    assert t["pnl"] == pytest.approx(27.0)
    assert t["commission"] == pytest.approx(3.0)
    assert t["slippage"] == pytest.approx(0.75)  # 1.0 * 15/20
    assert t["bars_held"] == 4
    pos = led.positions["A"]
    assert pos.quantity == 5 and pos.commission == pytest.approx(0.5)
    assert pos.slippage == pytest.approx(0.25)
    # the rest is still open: valued at 14 without an exit fee
    # open pnl = (14 - 11) * 5 - 0.5 = 14.5
    (o,) = led.open_rows({"A": (14.0, 99, 9)})
    o = dict(zip(TRADE_COLUMNS, o))
    assert o["open"] is True and o["reason"] == "open"
    assert o["pnl"] == pytest.approx(14.5) and o["exit_price"] == 14.0
    assert o["commission"] == pytest.approx(0.5) and o["bars_held"] == 8


def test_reversal_in_one_fill_closes_then_opens() -> None:
    led = Ledger(1000)
    led.buy_or_sell("A", 5, 10.0, 0.0, 0.0, time=1, bar=0, reason="signal")
    led.buy_or_sell("A", -8, 12.0, 0.0, 0.0, time=2, bar=1, reason="signal")
    (t,) = rows_as_dicts(led)
    assert t["quantity"] == 5 and t["pnl"] == pytest.approx(10.0)  # (12 - 10) * 5
    pos = led.positions["A"]
    assert pos.quantity == pytest.approx(-3) and pos.price == 12.0 and pos.entry_time == 2


def test_trade_table_dtypes_and_empty() -> None:
    led = Ledger(1000)
    table = led.trade_table([])
    assert list(table) == list(TRADE_COLUMNS)
    assert all(len(v) == 0 for v in table.values())
    assert table["entry_time"].dtype == np.int64 and table["open"].dtype == bool
    led.buy_or_sell("A", 1, 10.0, 0.0, 0.0, time=1, bar=0, reason="signal")
    led.buy_or_sell("A", -1, 11.0, 0.0, 0.0, time=2, bar=1, reason="signal")
    table = led.trade_table(led.rows)
    assert table["pnl"].tolist() == [1.0] and table["direction"].dtype == np.int8


# ------------------------------------------------------------- property

fill = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.integers(-50, 50).filter(bool).map(float),
    st.floats(1.0, 200.0),
    st.floats(0.0, 5.0),
)


@settings(max_examples=150, deadline=None)
@given(fills=st.lists(fill, min_size=1, max_size=40),
       marks=st.fixed_dictionaries({s: st.floats(1.0, 200.0) for s in "ABC"}))
def test_pnl_identity(fills: list[tuple], marks: dict[str, float]) -> None:
    """sum(closed pnl) + sum(open pnl) == cash + sum(q * mark) - initial cash,
    and the commissions reported add up to the commissions paid."""
    initial = 1e6
    led = Ledger(initial)
    paid = 0.0
    held: dict[str, float] = {}
    for i, (sym, qty, price, fee) in enumerate(fills):
        led.buy_or_sell(sym, qty, price, fee, 0.0, time=i, bar=i, reason="signal")
        paid += fee
        held[sym] = held.get(sym, 0.0) + qty
    # the ledger's positions are the plain sums of fills
    for sym, q in held.items():
        assert led.quantity(sym) == pytest.approx(q, abs=1e-9)
    # independent cash: initial - sum(q * p + fee)
    cash = initial - sum(q * p + f for _, q, p, f in fills)
    assert led.cash == pytest.approx(cash, abs=1e-6)
    equity = cash + sum(q * marks[s] for s, q in held.items())
    rows = led.rows + led.open_rows({s: (marks[s], 0, 0) for s in led.positions})
    table = led.trade_table(rows)
    assert math.fsum(table["pnl"]) == pytest.approx(equity - initial, abs=1e-6)
    assert math.fsum(table["commission"]) == pytest.approx(paid, abs=1e-6)
    assert np.all(table["quantity"] > 0)
