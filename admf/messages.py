"""Every message type admf sends between containers.

Messages are frozen, tagged :class:`msgspec.Struct` values. Each carries its
event time ``ts`` as int64 nanoseconds since the epoch, UTC. Market data and
signals travel as *columnar batches* (numpy arrays of thousands of rows), so
the cost of an await is paid once per batch, not once per bar; for a batch,
``ts`` is the event time of its first row.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

__all__ = (
    "Message",
    "BarBatch",
    "SignalBatch",
    "PhaseOutput",
    "Order",
    "OrderUpdate",
    "BrokerRequest",
    "BrokerReport",
    "Fill",
    "ORDER_TYPES",
    "ORDER_STATUSES",
)

ORDER_TYPES = ("market", "limit", "stop", "stop_limit")
ORDER_STATUSES = ("accepted", "rejected", "cancelled", "expired", "partially_filled", "filled")


class Message(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Base of every message: ``ts`` is event time in int64 ns UTC."""

    ts: int


class BarBatch(Message, frozen=True, tag=True, kw_only=True):
    """Consecutive bars of one symbol as parallel numpy arrays.

    ``timestamp`` is int64 ns UTC, strictly increasing; prices and volume are
    float64. All arrays have the same length (at least one row).
    """

    symbol: str
    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.timestamp)

    def slice(self, start: int, stop: int) -> BarBatch:
        """Rows ``start:stop`` as a new batch (views, no copy)."""
        ts = self.timestamp[start:stop]
        return BarBatch(
            ts=int(ts[0]),
            symbol=self.symbol,
            timestamp=ts,
            open=self.open[start:stop],
            high=self.high[start:stop],
            low=self.low[start:stop],
            close=self.close[start:stop],
            volume=self.volume[start:stop],
        )


class SignalBatch(Message, frozen=True, tag=True, kw_only=True):
    """A strategy's target position for every bar of ``bars``.

    ``target`` is float64, one value per bar: +1 long, -1 short, 0 flat
    (fractions scale the sizing); NaN means "no opinion, keep what you hold".
    A target computed from bar *t* is acted on according to the fill
    convention (by default at bar *t+1*'s open).
    """

    strategy: str
    bars: BarBatch
    target: np.ndarray

    def __len__(self) -> int:
        return len(self.target)

    @property
    def symbol(self) -> str:
        """The symbol of the bars (so symbol filters and partitions apply to signals too)."""
        return self.bars.symbol


class PhaseOutput(Message, frozen=True, tag=True, kw_only=True):
    """What a workflow phase produced, stored for later phases to read."""

    workflow_id: str
    phase: str
    outputs: dict[str, Any]


class Order(Message, frozen=True, tag=True, kw_only=True):
    """An order as placed by a strategy (``ts``: the decision bar's time).

    ``side`` +1 buys, -1 sells. ``size`` is read per ``size_type``: ``units``,
    ``notional`` (currency), ``percent_equity`` (of equity at the fill),
    ``target_percent`` (signed percent of equity the position should become;
    ``side`` then follows from the current position). ``limit``/``stop``
    are the levels of the order ``kind`` (one of ``ORDER_TYPES``). Attached exits (created when the order
    fills, reduce-only and in one OCO group): ``sl``/``tp`` read per
    ``sl_kind``/``tp_kind`` as an absolute ``price``, a ``fraction`` of the
    fill price, or an ``atr`` multiple of ``atr`` (the indicator's value when
    the order was placed); ``trail`` a trailing stop distance per
    ``trail_kind`` (``percent`` fraction, ``price`` or ``atr``) trailing the
    bars' ``extreme`` (high/low) or ``close`` (``trail_on``). ``tif`` is
    ``gtc``, ``day`` (until the UTC day of ``ts`` ends), ``bars`` (live for
    ``tif_bars`` bars) or ``until`` (live while bar time <= ``until``)."""

    id: int
    symbol: str
    side: int
    size: float
    size_type: str = "units"
    kind: str = "market"
    limit: float | None = None
    stop: float | None = None
    sl: float | None = None
    sl_kind: str = "price"
    tp: float | None = None
    tp_kind: str = "price"
    trail: float | None = None
    trail_kind: str = "percent"
    trail_on: str = "extreme"
    atr: float | None = None
    oco: str | None = None
    tif: str = "gtc"
    tif_bars: int = 0
    until: int = 0
    reduce_only: bool = False
    whole_units: bool = False
    parent: int | None = None
    tag: str = ""


class OrderUpdate(Message, frozen=True, tag=True, kw_only=True):
    """A change of an order's status (one of ``ORDER_STATUSES``) at bar time
    ``ts``; ``filled`` is the cumulative filled units, ``remaining`` what is
    still open, ``reason`` why (for rejections, cancellations, expiries)."""

    order_id: int
    symbol: str
    status: str
    filled: float = 0.0
    remaining: float = 0.0
    reason: str = ""


class Fill(Message, frozen=True, tag=True, kw_only=True):
    """One execution at bar time ``ts``: signed ``quantity`` (+ bought) at
    ``price`` (slippage included), ``commission`` paid, ``slippage`` (what
    the price's slippage cost in cash: units times the distance from the
    reference price), and the fill's ``phase`` in the bar (``open``,
    ``intrabar``, ``close``, ``end`` for a position closed at the end of
    the data, or ``margin`` for a margin call's liquidation at the close)."""

    order_id: int
    symbol: str
    quantity: float
    price: float
    commission: float = 0.0
    phase: str = "open"
    reason: str = ""
    slippage: float = 0.0


class BrokerRequest(Message, frozen=True, tag=True, kw_only=True):
    """What an order portfolio asks its broker, to be done in this order:
    ``commands`` the strategy gave since the last request (``("submit",
    Order)``, ``("cancel", order_id, ts, reason)``, ``("close_out", symbol,
    price, volume, ts)``), then ``bars`` to run the fill procedure on, each
    ``(symbol, ts, open, high, low, close, volume)``."""

    commands: tuple[Any, ...] = ()
    bars: tuple[tuple[str, int, float, float, float, float, float], ...] = ()


class BrokerReport(Message, frozen=True, tag=True, kw_only=True):
    """The broker's answer: the fills and order updates the request made, and
    the account after it: ``cash``, ``positions`` (``(symbol, units,
    avg_price, entry_time, bars, last, realised)``), the open orders
    (``(Order, remaining units or NaN, sized)``, in placement order) and the
    next order id the strategy side may use."""

    fills: tuple[Fill, ...] = ()
    updates: tuple[OrderUpdate, ...] = ()
    cash: float = 0.0
    positions: tuple[tuple[Any, ...], ...] = ()
    book: tuple[tuple[Any, ...], ...] = ()
    next_id: int = 1
