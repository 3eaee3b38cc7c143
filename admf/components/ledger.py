"""Positions, cash and the trade list of one portfolio.

The ledger books fills: it keeps cash, the signed quantity and average entry
price of each symbol, and turns every reduction of a position into a closed
trade row whose PnL is net of the commissions of both legs (the entry
commission is allocated pro rata to the part closed). Slippage is inside the
fill prices; its cost is reported per trade.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ("Ledger", "OpenPosition", "TRADE_COLUMNS")

TRADE_COLUMNS = (
    "symbol", "direction", "entry_time", "exit_time", "entry_price", "exit_price",
    "quantity", "pnl", "return", "commission", "slippage", "reason", "bars_held", "open",
)
"""Columns of the trade table (times are int64 ns UTC; ``open`` marks trades
still open at the end, valued at the last close)."""


@dataclass(slots=True)
class OpenPosition:
    """An open position: signed quantity, average entry price, costs so far."""

    quantity: float
    price: float
    entry_time: int
    entry_bar: int
    commission: float
    slippage: float


class Ledger:
    """Cash, positions and trades. Prices are per unit; quantities signed."""

    def __init__(self, initial_cash: float) -> None:
        self.cash = float(initial_cash)
        self.positions: dict[str, OpenPosition] = {}
        self.rows: list[tuple] = []
        self.traded_notional = 0.0
        self.fills = 0
        self.sink: Any = None
        """Where closed trades go in chunks (``write(columns)``) when the
        trade list must not grow in memory; see :meth:`flush`."""
        self._pnl = array("d")  # of flushed trades, for the metrics
        self._returns = array("d")

    def flush(self, *, at_least: int = 0) -> None:
        """Write the closed trades held in memory to :attr:`sink` (if any) once
        there are ``at_least`` of them, keeping only their pnl and return."""
        if self.sink is None or not self.rows or len(self.rows) < at_least:
            return
        columns = self.trade_table(self.rows)
        self.sink.write(columns)
        self._pnl.extend(columns["pnl"].tolist())
        self._returns.extend(columns["return"].tolist())
        self.rows = []

    def metric_columns(self, open_rows: list[tuple]) -> dict[str, np.ndarray]:
        """pnl, return and open of every trade, flushed or not, in trade order
        (what the metrics need), without the other columns."""
        pnl = np.concatenate([np.frombuffer(self._pnl), [r[7] for r in self.rows + open_rows]])
        returns = np.concatenate([np.frombuffer(self._returns),
                                  [r[8] for r in self.rows + open_rows]])
        is_open = np.zeros(len(pnl), dtype=bool)
        if open_rows:
            is_open[-len(open_rows):] = True
        return {"pnl": pnl, "return": returns, "open": is_open}

    def quantity(self, symbol: str) -> float:
        position = self.positions.get(symbol)
        return position.quantity if position is not None else 0.0

    def buy_or_sell(self, symbol: str, quantity: float, price: float, commission: float,
                    slippage_cost: float, time: int, bar: int, reason: str) -> None:
        """Book a fill of signed ``quantity`` at ``price`` (slippage included)."""
        self.cash -= quantity * price + commission
        self.traded_notional += abs(quantity) * price
        self.fills += 1
        position = self.positions.get(symbol)
        if position is None:
            self.positions[symbol] = OpenPosition(quantity, price, time, bar, commission, slippage_cost)
            return
        if (position.quantity > 0) == (quantity > 0):  # adding to the position
            total = position.quantity + quantity
            position.price = (position.price * position.quantity + price * quantity) / total
            position.quantity = total
            position.commission += commission
            position.slippage += slippage_cost
            return
        closed = min(abs(quantity), abs(position.quantity))
        self._close_part(symbol, position, closed, price, commission, slippage_cost, time, bar, reason)
        if abs(quantity) > closed + 1e-12:  # a reversal: the rest opens the other way
            rest = quantity + (closed if quantity < 0 else -closed)
            self.positions[symbol] = OpenPosition(rest, price, time, bar, 0.0, 0.0)

    def _close_part(self, symbol: str, position: OpenPosition, closed: float, price: float,
                    commission: float, slippage_cost: float, time: int, bar: int,
                    reason: str) -> None:
        fraction = closed / abs(position.quantity)
        entry_commission = position.commission * fraction
        entry_slippage = position.slippage * fraction
        direction = 1 if position.quantity > 0 else -1
        pnl = (price - position.price) * closed * direction - entry_commission - commission
        self.rows.append((
            symbol, direction, position.entry_time, time, position.price, price, closed, pnl,
            pnl / (position.price * closed), entry_commission + commission,
            entry_slippage + slippage_cost, reason, bar - position.entry_bar, False,
        ))
        position.commission -= entry_commission
        position.slippage -= entry_slippage
        position.quantity -= closed * direction
        if abs(position.quantity) <= 1e-12:
            del self.positions[symbol]

    def open_rows(self, marks: dict[str, tuple[float, int, int]]) -> list[tuple]:
        """Rows for the positions still open, valued at ``marks[symbol] =
        (price, time, bar)``; no exit commission is charged."""
        rows = []
        for symbol, position in self.positions.items():
            price, time, bar = marks[symbol]
            direction = 1 if position.quantity > 0 else -1
            quantity = abs(position.quantity)
            pnl = (price - position.price) * quantity * direction - position.commission
            rows.append((
                symbol, direction, position.entry_time, time, position.price, price, quantity,
                pnl, pnl / (position.price * quantity), position.commission, position.slippage,
                "open", bar - position.entry_bar, True,
            ))
        return rows

    def trade_table(self, rows: list[tuple]) -> dict[str, np.ndarray]:
        """Rows as numpy columns (empty columns of the right dtype when no rows)."""
        dtypes = (object, np.int8, np.int64, np.int64, float, float, float, float, float, float,
                  float, object, np.int64, bool)
        columns = list(zip(*rows)) if rows else [()] * len(TRADE_COLUMNS)
        return {name: np.array(col, dtype=dt)
                for name, col, dt in zip(TRADE_COLUMNS, columns, dtypes)}
