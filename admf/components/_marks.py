"""Marking a portfolio to market: cash, positions and equity at every row.

Each row of a frame carries the state after the last fill at or before it;
values are the ledger's own running numbers, summed in a fixed (symbol rank)
order, so the curve is the same however the data is batched.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._frames import Fills, FrameSymbol, SymbolState, carried
from .ledger import Ledger, OpenPosition

__all__ = ("mark_frame", "ranked_positions")


def mark_frame(ledger: Ledger, states: Mapping[str, SymbolState], times: np.ndarray,
               symbols: list[FrameSymbol], closes: list[np.ndarray], fills: Fills,
               start: tuple[float, dict[str, float]]) -> tuple[np.ndarray, ...]:
    """``(times, equity, cash, exposure)`` at every frame row, from the cash
    and positions at the frame's ``start`` and its ``fills``."""
    rows = len(times)
    at = np.array(fills.rows, dtype=np.int64)
    cash = carried(np.array(fills.cash), at, rows, start[0])
    equity = cash.copy()
    gross = np.zeros(rows)
    ranks, quantities = np.array(fills.ranks, dtype=np.int64), np.array(fills.quantities)
    index = {fs.name: k for k, fs in enumerate(symbols)}
    # summed in rank order, a symbol without bars here at its last close: the
    # same float operations whichever frame a symbol's last bars fell in
    for name, st in states.items():
        k = index.get(name)
        if k is None:
            held = ledger.positions.get(name)
            if held is not None:
                absent = held.quantity * st.last_close
                equity += absent
                gross += abs(absent)
            continue
        fs, close = symbols[k], closes[k]
        mine = ranks == fs.state.rank
        position = carried(quantities[mine], at[mine], rows, start[1][fs.name])
        # before a symbol's first bar its close is NaN, and it holds nothing
        value = np.multiply(position, close, out=np.zeros(rows), where=position != 0)
        equity += value
        gross += np.abs(value)
    exposure = np.divide(gross, equity, out=np.zeros(rows), where=equity > 0)
    return times, equity, cash, exposure


def ranked_positions(ledger: Ledger,
                     states: Mapping[str, SymbolState]) -> list[tuple[str, OpenPosition]]:
    """The open positions in symbol rank order (a fixed order of summation)."""
    positions = ledger.positions
    if len(positions) <= 1:
        return list(positions.items())
    return sorted(positions.items(), key=lambda item: states[item[0]].rank)
