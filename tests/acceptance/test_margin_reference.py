"""Margin accounts (issue 9, deliverable 3): buying power, margin calls and
the equity floor, against hand-worked numbers and a plain reference loop.

Hand-worked: 10,000 of cash, leverage 2 (initial margin 0.5), maintenance
0.25, no costs. A short of 400 at 50 leaves cash 30,000 and equity 10,000;
at a close P equity is 30,000 - 400 P and the maintenance margin 0.25 × 400 P,
so the call comes at the first close above 60.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import admf
from admf.components.context import Context, OrderStrategy
from admf.components.execution import ExecutionKernel, Margin
from admf.errors import ConfigError, EquityWarning
from admf.messages import Order
from tests.integration.test_order_studies import only, whole_series

HERE = "tests.acceptance.test_margin_reference"


def _kernel(**kw: Any) -> ExecutionKernel:
    return ExecutionKernel(10_000.0, whole_units=True, margin=Margin(0.5, 0.25), **kw)


def _order(oid: int, side: int, units: float, symbol: str = "X") -> Order:
    return Order(ts=0, id=oid, symbol=symbol, side=side, size=units, size_type="units")


def _bar(kernel: ExecutionKernel, ts: int, price: float, symbol: str = "X") -> None:
    kernel.on_bar(symbol, ts, price, price, price, price, 1e6)


@pytest.mark.parametrize("side", [1, -1])
def test_buying_power_cuts_a_fill_to_the_initial_margin(side: int) -> None:
    kernel = _kernel()
    kernel.submit(_order(1, side, 500))  # 25,000 of exposure; 10,000 carries 20,000
    _bar(kernel, 1, 50.0)
    assert kernel.positions["X"].units == side * 400
    assert kernel.equity() == 10_000.0


def test_what_reduces_a_position_always_fills() -> None:
    kernel = _kernel()
    kernel.submit(_order(1, 1, 400))
    _bar(kernel, 1, 50.0)
    kernel.submit(_order(2, -1, 1000))  # sells the 400, then shorts what margin allows
    _bar(kernel, 2, 50.0)
    assert kernel.positions["X"].units == -400


def test_a_margin_call_liquidates_at_the_first_close_below_maintenance() -> None:
    kernel = _kernel()
    kernel.submit(_order(1, -1, 400))
    _bar(kernel, 1, 50.0)
    _bar(kernel, 2, 59.9)  # equity 6,040 >= 5,990: no call
    assert kernel.positions["X"].units == -400
    _bar(kernel, 3, 61.0)  # equity 5,600 < 6,100
    call = kernel.fills[-1]
    assert (call.quantity, call.price, call.reason, call.phase) == (400, 61.0, "margin_call", "margin")
    assert kernel.cash == 5_600.0 and not kernel.positions["X"].units


def test_the_largest_position_is_closed_first_and_only_until_maintenance_is_met() -> None:
    kernel = ExecutionKernel(10_000.0, whole_units=True, margin=Margin(0.5, 0.4))
    kernel.submit(_order(1, 1, 150, "AAA"))
    kernel.submit(_order(2, 1, 50, "BBB"))
    kernel.on_bars([("AAA", 1, 100.0, 100.0, 100.0, 100.0, 1e6),
                    ("BBB", 1, 100.0, 100.0, 100.0, 100.0, 1e6)])
    assert kernel.cash == -10_000.0  # 20,000 bought on 10,000
    # AAA falls to 80: equity -10,000 + 150 * 80 + 50 * 100 = 7,000,
    # gross 17,000, maintenance 0.4 * 17,000 = 6,800: no call
    kernel.on_bars([("AAA", 2, 80.0, 80.0, 80.0, 80.0, 1e6),
                    ("BBB", 2, 100.0, 100.0, 100.0, 100.0, 1e6)])
    assert [f.reason for f in kernel.fills] == ["", ""]
    # AAA at 76: equity 6,400 < 0.4 * 16,400 = 6,560; closing AAA (the larger) is enough
    kernel.on_bars([("AAA", 3, 76.0, 76.0, 76.0, 76.0, 1e6),
                    ("BBB", 3, 100.0, 100.0, 100.0, 100.0, 1e6)])
    assert [(f.symbol, f.quantity, f.price) for f in kernel.fills[2:]] == [("AAA", -150, 76.0)]
    assert kernel.positions["BBB"].units == 50 and kernel.cash == 1_400.0


def test_a_gap_past_zero_floors_equity_and_stops_the_account() -> None:
    kernel = _kernel()
    kernel.submit(_order(1, -1, 400))
    _bar(kernel, 1, 50.0)
    _bar(kernel, 2, 80.0)  # equity 30,000 - 32,000 = -2,000
    assert kernel.cash == 0.0 and kernel.equity() == 0.0 and kernel.halted
    kernel.submit(_order(2, 1, 1))
    _bar(kernel, 3, 80.0)
    assert kernel.updates[-1].status == "rejected"
    assert "no equity left" in kernel.updates[-1].reason


# -- in a study, against a plain loop -------------------------------------------------------


class AllInShort(OrderStrategy):
    """Sells short ``percent`` of equity on the first bar, then holds."""

    percent = 150.0

    def on_bar(self, ctx: Context) -> None:
        if ctx.i == 0:
            ctx.sell(self.percent, size_type="percent_equity")


def reference_short(close: np.ndarray, open_: np.ndarray, percent: float, rate: float,
                    initial: float, maintenance: float) -> tuple[list[float], int | None]:
    """The strategy as a plain loop: the entry at bar 1's open, cut to the
    initial margin; the call at the first close whose equity is below the
    maintenance margin; the floor at zero."""
    cash, units, called = 100_000.0, 0.0, None
    equity = [cash]
    for i in range(1, len(close)):
        if i == 1:
            price = float(open_[1])
            want = float(np.floor(cash * percent / 100.0 / price + 1e-9))
            # equity after = cash - fee; margin = initial * q * price
            q = want
            while q > 0 and cash - rate * q * price + 1e-9 < initial * q * price:
                q -= 1
            cash += q * price - rate * q * price
            units = -q
        mark = float(close[i])
        eq = cash + units * mark
        if units and eq < maintenance * abs(units * mark):
            cash -= -units * mark + rate * abs(units) * mark
            units, called = 0.0, i
            cash = max(cash, 0.0)
            eq = cash
        equity.append(eq)
    return equity, called


@pytest.mark.parametrize(("leverage", "maintenance"), [(2.0, 0.25), (4.0, 0.1)])
def test_an_all_in_short_on_a_rising_market_is_called_where_the_plain_loop_calls_it(
        leverage: float, maintenance: float) -> None:
    config = {"name": "short", "seed": 4,
              "data": {"source": "synthetic", "symbols": ["UP"], "bars": 400, "timeframe": "1d",
                       "drift": 0.01, "volatility": 0.01},
              "strategies": [{"type": f"{HERE}:AllInShort", "direction": "long_short",
                              "params": {"percent": 150.0}}],
              "portfolio": {"initial_cash": 100_000.0,
                            "account": {"type": "margin", "leverage": leverage,
                                        "maintenance": maintenance}},
              "execution": {"commission": {"type": "percentage", "rate": 0.001}}}
    got = only(admf.run_sync(config, write=False))
    bars = whole_series(config, "UP")
    equity, called = reference_short(bars.close, bars.open, 150.0, 0.001, 1 / leverage,
                                     maintenance)
    assert called is not None
    np.testing.assert_allclose(got.equity["equity"], equity, rtol=0, atol=1e-6)
    assert min(got.equity["equity"]) >= 0
    assert "margin_call" in got.trades["reason"].tolist()


def test_the_same_short_on_a_cash_account_is_not_called() -> None:
    config = {"name": "short", "seed": 4,
              "data": {"source": "synthetic", "symbols": ["UP"], "bars": 400, "timeframe": "1d",
                       "drift": 0.01, "volatility": 0.01},
              "strategies": [{"type": f"{HERE}:AllInShort", "direction": "long_short"}],
              "portfolio": {"initial_cash": 100_000.0}}
    with pytest.warns(EquityWarning, match=r"equity fell below zero .* portfolio\.account: "
                                           r"margin gets margin calls"):
        got = only(admf.run_sync(config, write=False))
    assert "margin_call" not in got.trades["reason"].tolist()
    assert min(got.equity["equity"]) < 0  # a cash account caps buys, not shorts


def test_the_command_line_prints_the_warning_as_one_line(tmp_path: Any) -> None:
    import yaml

    from tests.reliability._support import cli

    config = {"name": "short", "seed": 4,
              "data": {"source": "synthetic", "symbols": ["UP"], "bars": 400, "timeframe": "1d",
                       "drift": 0.01, "volatility": 0.01},
              "strategies": [{"type": f"{HERE}:AllInShort", "direction": "long_short"}],
              "results": {"dir": str(tmp_path / "results")}}
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(config))
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a user's interpreter has it
        status, err = cli("run", path)
    assert status == 0, err
    assert err.count("admf: warning: a portfolio's equity fell below zero") == 1, err
    assert "warnings.warn" not in err and "study.py" not in err


# -- bad accounts ---------------------------------------------------------------------------


def _study(account: Any, strategy: str = f"{HERE}:AllInShort") -> dict[str, Any]:
    return {"name": "bad", "data": {"source": "synthetic", "symbols": ["A"], "bars": 50},
            "strategies": [{"type": strategy}], "portfolio": {"account": account}}


@pytest.mark.parametrize(("account", "expected"), [
    ("credit", r"portfolio\.account: expected cash, margin or \{type: margin"),
    ({"type": "margin", "leverage": 0.5}, r"portfolio\.account\.leverage: expected a number >= 1"),
    ({"type": "margin", "leverage": 2, "initial": 0.5},
     r"portfolio\.account\.initial: give leverage or initial, not both"),
    ({"type": "margin", "initial": 0.5, "maintenance": 0.6},
     r"portfolio\.account\.maintenance: expected a number in \(0, initial = 0\.5\], got 0\.6"),
    ({"type": "margin", "levrage": 3}, r"portfolio\.account\.levrage: unknown key.*leverage"),
    ({"type": "margin", "leverage": "high"}, r"portfolio\.account\.leverage: expected a number"),
])
def test_a_bad_account_names_its_key(account: Any, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        admf.load(_study(account))


def test_a_target_study_refuses_a_margin_account_by_name() -> None:
    with pytest.raises(ConfigError, match=r"portfolio\.account: a margin account applies to "
                                          r"order strategies"):
        admf.run_sync(_study("margin", "sma_crossover"), write=False)
