"""The daily-loss limit across frames that carry no fill."""

from __future__ import annotations

import msgspec
import numpy as np

from admf.components import costs, sizing
from admf.components.portfolio import PortfolioEngine, RiskLimits
from admf.messages import BarBatch

HOUR = 3600 * 10**9
DAY = 24 * HOUR


def batch(times: list[int], prices: list[float]) -> BarBatch:
    p = np.array(prices, dtype=float)
    return BarBatch(ts=times[0], symbol="A", timestamp=np.array(times, dtype=np.int64), open=p,
                    high=p, low=p, close=p, volume=np.full(len(p), 1e6))


def test_a_new_day_opens_at_the_previous_close_even_without_fills_in_its_frame() -> None:
    # Day 0: enter 10 units at 100 (decided at hour 0, filled at hour 1's open).
    # Day 1 arrives in its own frame with no orders: closes fall 100 -> 94, a 6%
    # loss of the position's 1000 on equity 1000 - 1000 + 10 * 94 = ... let cash
    # 1000, 10 units at 100: equity at day 0's close = 1000 (cash 0 + 10 * 100).
    # Day 1 closes 97, 94: equity 970, 940 -> 6% below the day's opening 1000,
    # past the 5% limit. A later frame of day 1 then asks for a new entry (after
    # an exit): it must be refused for the rest of day 1.
    engine = PortfolioEngine("p", ["A"], initial_cash=1000.0,
                             sizer=sizing.FixedQuantity(quantity=10),
                             commission=costs.NoCommission(), slippage=costs.NoSlippage(),
                             risk=msgspec.convert({"daily_loss_limit": 0.05}, RiskLimits))
    nan = np.nan
    engine.process([("A", batch([0, HOUR, 2 * HOUR], [100, 100, 100]), np.array([1.0, nan, nan]))])
    engine.process([("A", batch([DAY, DAY + HOUR], [97, 94]), np.array([nan, nan]))])
    # exit at the next open, then ask to re-enter on day 1
    engine.process([("A", batch([DAY + 2 * HOUR, DAY + 3 * HOUR, DAY + 4 * HOUR], [94, 95, 96]),
                         np.array([0.0, 1.0, nan]))])
    assert engine.ledger.fills == 2  # the entry on day 0 and the exit; no re-entry on day 1
    assert "A" not in engine.ledger.positions
