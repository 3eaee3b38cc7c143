"""The broker seam: an order portfolio trading through messages.

An order portfolio (:class:`~admf.containers.orders.OrderTrader`) either
owns its :class:`~admf.components.execution.ExecutionKernel` (the fused
path) or talks to a broker over two routes: a
:class:`~admf.messages.BrokerRequest` out (the strategy's orders and
cancels, then the bars to trade) and a :class:`~admf.messages.BrokerReport`
back (fills, order updates, the account). :class:`Broker` is that interface;
:class:`SimulatedBroker` is its first implementation, the same kernel behind
messages, so the two paths book identical trades. A paper or live adapter
implements ``handle`` against its venue.

:class:`KernelProxy` is what the strategy side reads between reports: it
mirrors the account of the last report and records the strategy's commands
for the next request. Only ``fill="next_open"`` runs this way: a
``same_close`` fill happens inside ``on_bar``, which no round trip can
answer before the strategy reads its position again.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from ..messages import BrokerReport, BrokerRequest, Order
from .execution import Account, ExecutionKernel, initial_units
from .orders import Working

__all__ = ("Broker", "SimulatedBroker", "KernelProxy")


class Broker(Protocol):
    """Takes a request, does it in order, reports what happened."""

    async def handle(self, request: BrokerRequest) -> BrokerReport: ...


class SimulatedBroker:
    """The execution kernel behind the broker interface."""

    def __init__(self, kernel: ExecutionKernel) -> None:
        self.kernel = kernel

    async def handle(self, request: BrokerRequest) -> BrokerReport:
        return self.step(request)

    def step(self, request: BrokerRequest) -> BrokerReport:
        kernel = self.kernel
        for command in request.commands:
            kind = command[0]
            if kind == "submit":
                kernel.submit(command[1])
            elif kind == "cancel":
                kernel.cancel(command[1], command[2], command[3])
            elif kind == "close_out":
                kernel.close_out(*command[1:])
            else:
                raise ValueError(f"unknown broker command {kind!r}")
        if request.bars:
            kernel.on_bars(request.bars)
        fills, updates = tuple(kernel.fills), tuple(kernel.updates)
        del kernel.fills[:], kernel.updates[:]
        return BrokerReport(
            ts=request.ts, fills=fills, updates=updates, cash=kernel.cash,
            positions=tuple((s, p.units, p.avg_price, p.entry_time, p.bars, p.last, p.realised)
                            for s, p in kernel.positions.items()),
            book=tuple((w.order, w.remaining, w.sized) for w in kernel.book.values()),
            next_id=kernel._next_id)


class KernelProxy(Account):
    """The strategy side's view of a remote broker (see the module docstring):
    the kernel attributes a :class:`~admf.components.context.Context` reads."""

    fill = "next_open"

    def __init__(self, cash: float, whole_units: bool = False,
                 direction: str = "long_short", leverage: float = 1.0) -> None:
        super().__init__(cash, whole_units)
        self.direction = direction
        self.leverage = leverage
        self.commands: list[tuple[Any, ...]] = []

    def submit(self, order: Order) -> int:
        self.book[order.id] = Working(order, 0, initial_units(order, self.whole_units),
                                      order.size_type == "units")
        self.commands.append(("submit", order))
        return order.id

    def cancel(self, order_id: int, ts: int, reason: str = "cancelled") -> bool:
        if self.book.pop(order_id, None) is None:
            return False
        self.commands.append(("cancel", order_id, ts, reason))
        return True

    def close_out(self, symbol: str, price: float, volume: float, ts: int) -> None:
        self.commands.append(("close_out", symbol, price, volume, ts))

    def fill_now(self, *_: Any) -> None:
        raise NotImplementedError("same_close fills inside on_bar: the broker path runs next_open")

    def request(self, ts: int, bars: tuple[tuple[Any, ...], ...] = ()) -> BrokerRequest:
        """The next request: the commands recorded since the last one, then ``bars``."""
        commands, self.commands = tuple(self.commands), []
        return BrokerRequest(ts=ts, commands=commands, bars=bars)

    def apply(self, report: BrokerReport) -> None:
        """Take the account of ``report``; its fills and updates are appended
        to :attr:`fills` and :attr:`updates` as the kernel's would be."""
        self.cash = report.cash
        self.fills.extend(report.fills)
        self.updates.extend(report.updates)
        seen = set()
        for symbol, units, avg, entry, bars, last, realised in report.positions:
            pos = self.position(symbol)  # the same object a Context holds
            pos.units, pos.avg_price, pos.entry_time = units, avg, entry
            pos.bars, pos.last, pos.realised = bars, last, realised
            seen.add(symbol)
        for symbol, pos in self.positions.items():
            if symbol not in seen:
                pos.units, pos.avg_price, pos.last = 0.0, 0.0, math.nan
        book: dict[int, Working] = {}
        for order, remaining, sized in report.book:
            book[order.id] = Working(order, 0, remaining, sized)
        self.book = book
        self._next_id = max(self._next_id, report.next_id)
