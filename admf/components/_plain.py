"""The event loop of the commonest frame, specialised for speed.

A *plain* frame has one symbol, targets in {-1, 0, +1}, no trailing stop, no
risk limits beyond cash, and a sizer that needs no volatility; with a fixed
stop-loss or take-profit, a slippage that moves a price by the side of the
order only (none, fixed bps, percentage). There every order is a full exit, a
full entry, or an exit then an entry (a reversal), so the loop keeps the open
position in local variables instead of going through
:class:`~admf.components.portfolio.PortfolioEngine`'s general
``_order``/``_fill`` and the ledger's per-fill calls. It books exactly what
the general loop books — same prices, costs, quantities, trade rows, in the
same order of float operations — and a property test holds it to that.

Stops: the entry price of every order that can open a position is known
before the loop (the order's reference price moved by its side's slippage),
and so are the bars it can be held over (up to the next order), so
:func:`~admf.components._stops.span_triggers` finds every entry's first stop
or target in one pass over the frame, and each becomes an exit order placed
between its entry and the next order. An exit finds no position when its
entry was refused (for cash) and does nothing, as the general loop never
searches such an entry's stop.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._stops import first_trigger, level_fill, span_triggers
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
    if engine.has_stops:
        events = _with_stops(engine, fs, events, held, entry if held else math.nan)
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


def _with_stops(engine: Any, fs: Any, events: list[tuple], held: float,
                entry: float) -> list[tuple]:
    """``events`` with each possible position's first stop or target as an
    exit order (target 0) on its bar, after its entry and before the next
    order: the position carried in (``held`` at ``entry``) and every entry."""
    risk, bars, n = engine.risk, fs.bars, len(fs.bars)
    fill_bars = fs.fill_bars
    late = engine.fill != "next_open"  # a close fill comes after that bar's intrabar checks

    def end_of(k: int) -> int:  # the bars a position opened by order k can be held over
        end = fill_bars[k] if k < len(fill_bars) else n
        return end + 1 if late and end < n else end

    exits: dict[int, tuple] = {}
    if held:  # the position carried in, from bar 0 (PortfolioEngine._search_stop)
        hit = first_trigger(bars, 0, end_of(0), held > 0, entry, fs.state.peak, risk) \
            if end_of(0) > 0 else None
        if hit is not None:
            exits[-1] = _exit(bars, hit[0], hit[1], hit[2])
    opening = [k for k, event in enumerate(events) if event[4]]
    if opening:
        slip = engine._slip
        starts = np.array([events[k][3] + late for k in opening], dtype=np.int64)
        ends = np.array([end_of(k + 1) for k in opening], dtype=np.int64)
        long = np.array([events[k][4] > 0 for k in opening])
        entries = np.array([slip(events[k][6], events[k][4], events[k][7]) for k in opening])
        found, levels, take = span_triggers(bars, starts, ends, long, entries, risk)
        opens = bars.open
        for j in np.flatnonzero(found >= 0).tolist():
            at = int(found[j])
            price = level_fill(float(opens[at]), float(levels[j]), bool(long[j]), bool(take[j]))
            exits[opening[j]] = _exit(bars, at, price, "take_profit" if take[j] else "stop_loss")
    if not exits:
        return events
    merged = [exits[-1]] if -1 in exits else []
    for k, event in enumerate(events):
        merged.append(event)
        if k in exits:
            merged.append(exits[k])
    return merged


def _exit(bars: Any, at: int, price: float, reason: str) -> tuple:
    """An exit order on frame bar ``at`` (one symbol: its row) at ``price``."""
    return (at, 1, 0, at, 0.0, reason, price, float(bars.volume[at]), int(bars.timestamp[at]))
