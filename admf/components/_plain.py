"""The event loop of the commonest frame, specialised for speed.

A *plain* frame has one symbol, targets in {-1, 0, +1}, no stops or targets,
no risk limits beyond cash, and a sizer that needs no volatility. There every
order is a full exit, a full entry, or an exit then an entry (a reversal), so
the loop can keep the open position in local variables instead of going
through :class:`~admf.components.portfolio.PortfolioEngine`'s general
``_order``/``_fill`` and the ledger's per-fill calls. It books exactly what
the general loop books — same prices, costs, quantities, trade rows, in the
same order of float operations — and a property test holds it to that.
"""

from __future__ import annotations

import math
from typing import Any

from .ledger import OpenPosition

__all__ = ("run_plain",)


def run_plain(engine: Any, fs: Any, events: list[tuple], fills: Any) -> None:
    """Book ``events`` (all of symbol ``fs``) for ``engine``; append to ``fills``."""
    ledger = engine.ledger
    name, st = fs.name, fs.state
    rank, offset = st.rank, st.bars
    slip, commission, size_of = engine._slip, engine.commission, engine._size
    affordable, whole = engine._affordable, engine._whole
    rows = ledger.rows
    fill_rows, fill_ranks, fill_quantities, fill_cash = (
        fills.rows.append, fills.ranks.append, fills.quantities.append, fills.cash.append)
    position = ledger.positions.pop(name, None)
    cash, traded, count = ledger.cash, ledger.traded_notional, ledger.fills
    for row, _, _, bar, target, reason, price, volume, time in events:
        if position is not None and (target == 0.0 or (position.quantity > 0) != (target > 0)):
            held = position.quantity
            px = slip(price, -held, volume)
            qty = abs(held)
            fee = commission(qty, px)
            cash -= -held * px + fee
            traded += qty * px
            count += 1
            direction = 1 if held > 0 else -1
            pnl = (px - position.price) * qty * direction - position.commission - fee
            rows.append((name, direction, position.entry_time, time, position.price, px, qty, pnl,
                         pnl / (position.price * qty), position.commission + fee,
                         position.slippage + abs(px - price) * qty, reason,
                         offset + bar - position.entry_bar, False))
            position = None
            fill_rows(row), fill_ranks(rank), fill_quantities(0.0), fill_cash(cash)
        if target == 0.0:
            continue
        if position is not None:  # same direction again: not a plain order after all
            raise AssertionError("plain frame with a repeated entry")  # pragma: no cover
        ledger.cash = cash
        wanted = math.copysign(size_of(cash, price, abs(target), math.nan), target)
        size = affordable(wanted, price, volume) if wanted > 0 else -wanted
        if whole:
            size = math.floor(size + 1e-9)
        if size <= 0:
            continue
        qty = math.copysign(size, wanted)
        px = slip(price, qty, volume)
        fee = commission(size, px)
        cash -= qty * px + fee
        traded += size * px
        count += 1
        position = OpenPosition(qty, px, time, offset + bar, fee, abs(px - price) * size)
        fill_rows(row), fill_ranks(rank), fill_quantities(qty), fill_cash(cash)
    ledger.cash, ledger.traded_notional, ledger.fills = cash, traded, count
    if position is not None:
        ledger.positions[name] = position
    st.stop_epoch += 1
