"""The event loop of the commonest frame, specialised for speed.

A *plain* frame has one symbol, targets in {-1, 0, +1}, no stops or targets,
no risk limits beyond cash, and a sizer that needs no volatility. There every
order is a full exit, a full entry, or an exit then an entry (a reversal), so
the loop keeps the open position in local variables instead of going through
:class:`~admf.components.portfolio.PortfolioEngine`'s general
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
    affordable, whole, frictionless = engine._affordable, engine._whole, engine._frictionless
    rows = ledger.rows
    fill_rows, fill_ranks, fill_quantities, fill_cash = (
        fills.rows.append, fills.ranks.append, fills.quantities.append, fills.cash.append)
    cash, traded, count = ledger.cash, ledger.traded_notional, ledger.fills
    held = 0.0  # the open position: quantity, price, time, bar, commission, slippage
    position = ledger.positions.pop(name, None)
    if position is not None:
        held, entry, since, at, fees, slipped = (
            position.quantity, position.price, position.entry_time, position.entry_bar,
            position.commission, position.slippage)
    for row, _, _, bar, target, reason, price, volume, time in events:
        if held and (target == 0.0 or (held > 0) != (target > 0)):
            px = slip(price, -held, volume)
            qty = abs(held)
            fee = commission(qty, px)
            cash -= -held * px + fee
            traded += qty * px
            count += 1
            direction = 1 if held > 0 else -1
            pnl = (px - entry) * qty * direction - fees - fee
            rows.append((name, direction, since, time, entry, px, qty, pnl, pnl / (entry * qty),
                         fees + fee, slipped + abs(px - price) * qty, reason,
                         offset + bar - at, False))
            held = 0.0
            fill_rows(row), fill_ranks(rank), fill_quantities(0.0), fill_cash(cash)
        if target == 0.0:
            continue
        if held:  # same direction again: not a plain order after all
            raise AssertionError("plain frame with a repeated entry")  # pragma: no cover
        wanted = math.copysign(size_of(cash, price, abs(target), math.nan), target)
        if wanted > 0 and not (frictionless and wanted * price <= cash + 1e-9):
            ledger.cash = cash
            size = affordable(wanted, price, volume)
        else:
            size = abs(wanted)
        if whole:
            size = math.floor(size + 1e-9)
        if size <= 0:
            continue
        held = math.copysign(size, wanted)
        entry = slip(price, held, volume)
        fees = commission(size, entry)
        cash -= held * entry + fees
        traded += size * entry
        count += 1
        since, at, slipped = time, offset + bar, abs(entry - price) * size
        fill_rows(row), fill_ranks(rank), fill_quantities(held), fill_cash(cash)
    ledger.cash, ledger.traded_notional, ledger.fills = cash, traded, count
    if held:
        ledger.positions[name] = OpenPosition(held, entry, since, at, fees, slipped)
    st.stop_epoch += 1
