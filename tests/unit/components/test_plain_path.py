"""The specialised loop for plain frames books exactly what the general loop books."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.components.costs import (
    FixedBpsSlippage,
    FixedCommission,
    PercentageSlippage,
    NoCommission,
    NoSlippage,
    PercentageCommission,
    PerShareCommission,
    VolumeShareSlippage,
)
from admf.components.portfolio import PortfolioEngine, RiskLimits
from admf.components.sizing import FixedNotional, FixedQuantity, PercentEquity
from admf.messages import BarBatch

COMMISSIONS = [NoCommission(), PercentageCommission(rate=0.001), FixedCommission(amount=5.0),
               PerShareCommission(rate=0.01, minimum=1.0)]
SLIPPAGES = [NoSlippage(), FixedBpsSlippage(bps=3.0), PercentageSlippage(rate=0.001),
             VolumeShareSlippage(limit=1.0, impact=0.2)]
RISKS = [RiskLimits(), RiskLimits(stop_loss=0.01), RiskLimits(take_profit=0.015),
         RiskLimits(stop_loss=0.004, take_profit=0.006), RiskLimits(stop_loss=0.0, take_profit=0.0),
         RiskLimits(stop_loss=0.02, trailing_stop=0.01)]
SIZERS = [PercentEquity(), PercentEquity(percent=50, whole_units=False), FixedQuantity(quantity=7),
          FixedNotional(notional=20_000)]


def bars(n: int, seed: int) -> BarBatch:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    return BarBatch(ts=0, symbol="X", timestamp=np.arange(n, dtype=np.int64) * 60_000_000_000,
                    open=open_, high=np.maximum(open_, close) * 1.002,
                    low=np.minimum(open_, close) * 0.998, close=close,
                    volume=rng.uniform(1e3, 1e5, n))


def run(plain: bool, batch: BarBatch, target: np.ndarray, split: list[int], fill: str,
        commission, slippage, sizer, close_at_end: bool, risk: RiskLimits = RiskLimits()):
    engine = PortfolioEngine("p", ["X"], initial_cash=100_000, sizer=sizer,
                             commission=commission, slippage=slippage, fill=fill, risk=risk)
    engine.plain_allowed = plain
    equity = []
    edges = [0, *split, len(target)]
    for k, (a, b) in enumerate(zip(edges, edges[1:])):
        frame = engine.process([("X", batch.slice(a, b), target[a:b])],
                               last=k == len(edges) - 2, close_at_end=close_at_end)
        equity.append(frame.equity)
    return np.concatenate(equity), engine.finish(), engine.ledger


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 10_000), data=st.data())
def test_plain_loop_equals_general_loop(seed: int, data: st.DataObject) -> None:
    n = 300
    rng = np.random.default_rng(seed)
    target = rng.choice([np.nan, np.nan, np.nan, -1.0, 0.0, 1.0], size=n)
    split = sorted(set(data.draw(st.lists(st.integers(1, n - 1), max_size=4))))
    options = dict(
        fill=data.draw(st.sampled_from(["next_open", "next_close", "same_close"])),
        commission=data.draw(st.sampled_from(COMMISSIONS)),
        slippage=data.draw(st.sampled_from(SLIPPAGES)),
        sizer=data.draw(st.sampled_from(SIZERS)),
        close_at_end=data.draw(st.booleans()),
        risk=data.draw(st.sampled_from(RISKS)),
    )
    batch = bars(n, seed)
    eq_fast, trades_fast, ledger_fast = run(True, batch, target, split, **options)
    eq_slow, trades_slow, ledger_slow = run(False, batch, target, split, **options)
    np.testing.assert_array_equal(eq_fast, eq_slow)
    assert trades_fast.keys() == trades_slow.keys()
    for name in trades_fast:
        np.testing.assert_array_equal(trades_fast[name], trades_slow[name], err_msg=name)
    assert ledger_fast.cash == ledger_slow.cash
    assert ledger_fast.fills == ledger_slow.fills
    assert ledger_fast.traded_notional == ledger_slow.traded_notional
