"""Order strategies in a study: a strategy that places orders and sees its fills.

:class:`OrderTrader` is one isolated portfolio of one strategy point of an
:class:`~admf.components.context.OrderStrategy`: bars of every symbol in
(merged by event time), the strategy's per-bar calls and the execution
kernel's fills in one fused loop (no await per bar), and out of it the same
:class:`~admf.containers.portfolio.PortfolioResult` a target portfolio
collects — metrics, trades, equity curve — so sequences, tables, reports
and result files treat both alike.

Per timestamp, across symbols (in name order, so nothing depends on how the
config lists them): first every symbol's bar runs through the kernel's fill
procedure (:mod:`admf.components.execution`), then each symbol's strategy
instance hears its fills and order updates and runs ``on_bar``, then the
portfolio is marked at the closes (one equity row per timestamp, symbols
without a bar at their last close). Each symbol has its own strategy
instance; they share the portfolio's cash.

Rows before ``trade_from`` (a test window's warm-up) only warm up the
indicators and the kept history: no ``on_bar``, no order. With
``close_at_end`` each open position is closed at its symbol's last close
(costs applied, reason ``end_of_data``) on the final row, as the target path
does. :class:`BarHub` hands every symbol's merged bars to each trader.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from anyio import BrokenResourceError, WouldBlock
from anyio.lowlevel import checkpoint

from ..components.broker import Broker, KernelProxy
from ..components.context import SymbolRunner, Universe, UniverseStrategy, strategy_raised
from ..components.orders import where_all
from ..components.rebalance import WeightStrategy
from ..components.execution import ExecutionKernel
from ..components.ledger import Ledger
from ..components.metrics import RunningMetrics
from ..data.timeparse import format_ns
from ..errors import AdmfError
from ..messages import BarBatch, BrokerReport, BrokerRequest
from ..runtime.container import Container
from .portfolio import FILL_COLUMNS, TRADE_CHUNK, CurveSink, PortfolioResult, _columns_of

__all__ = ("OrderTrader", "BarHub", "BrokerContainer")

MARK_SPANS = True
"""Whether a weight strategy's rows between due times are marked vectorised
(:meth:`OrderTrader._mark_span`); the per-row loop otherwise. The two are
held equal by a property test."""
SPAN_ROWS = 16
"""The fewest rows worth marking as a span."""

YIELD_ROWS = 2048
"""Timestamps traded between checkpoints: at tens of thousands of bars a
second this keeps cancellation and an embedding application's event loop
within a few tens of milliseconds of a per-bar Python loop."""


class BarHub(Container):
    """Bars in (merged by event time), the same batches out to every trader."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.bars = self.add_input("bars", BarBatch)
        self.out = self.add_output("out", BarBatch)

    async def on_execute(self) -> None:
        send_nowait, send = self.out.send_nowait, self.out.send
        async for batch in self.bars:
            try:
                send_nowait(batch)
            except (WouldBlock, BrokenResourceError):
                await send(batch)


class _Symbol:
    """A symbol's runner and what the portfolio remembers of it."""

    __slots__ = ("runner", "rank", "bars", "last_close", "last_time", "last_volume")

    def __init__(self, runner: SymbolRunner, rank: int) -> None:
        self.runner = runner
        self.rank = rank
        self.bars = 0  # bars traded on (after the warm-up)
        self.last_close = float("nan")
        self.last_time = 0
        self.last_volume = float("nan")


class OrderTrader(Container):
    """Bars in; one order strategy point's :class:`PortfolioResult` collected."""

    def __init__(self, name: str, symbols: Sequence[str], make: Callable[[], Any],
                 kernel: ExecutionKernel | KernelProxy, *, label: str, initial_cash: float,
                 periods_per_year: float, close_at_end: bool,
                 equity_sink: CurveSink | None, trade_sink: CurveSink | None = None,
                 fill_sink: CurveSink | None = None, trade_from: int | None = None) -> None:
        super().__init__(name)
        self.bars = self.add_input("bars", BarBatch)
        self.kernel = kernel
        self.remote = isinstance(kernel, KernelProxy)
        """Whether fills come from a broker over routes (``orders`` out,
        ``reports`` in) rather than from a kernel of its own."""
        if self.remote:
            self.orders = self.add_output("orders", BrokerRequest)
            self.reports = self.add_input("reports", BrokerReport)
        self.ledger = Ledger(initial_cash)
        self.ledger.sink = trade_sink
        self.initial_cash = float(initial_cash)
        self.periods_per_year = periods_per_year
        self.close_at_end = close_at_end
        self.equity_sink = equity_sink
        self.trade_sink = trade_sink
        self.fill_sink = fill_sink
        self._fill_rows: list[tuple] = []
        self.trade_from = trade_from
        self.label = label
        self._make = make
        self._names = sorted(symbols)
        self._symbols: dict[str, _Symbol] = {}
        self.metrics = RunningMetrics(initial_equity=self.initial_cash)
        self._pending: dict[str, list[BarBatch]] = {s: [] for s in self._names}
        self._latest: dict[str, int] = {}
        self._framed_through = -(2**63)
        self._curve: dict[str, np.ndarray] | None = None  # the last rows, held back
        self._peak = self.initial_cash
        self._booked = 0  # kernel fills booked in the ledger
        self._shared: UniverseStrategy | None = None
        self._universe: Universe | None = None
        self._skipper: WeightStrategy | None = None
        """A weight strategy whose calls between due times do nothing: while no
        order is working, its rows until the next due time are only marked
        (:meth:`_mark_span`, vectorised)."""
        self.result: PortfolioResult | None = None

    def _symbol(self, name: str) -> _Symbol:
        state = self._symbols.get(name)
        if state is None:
            # a universe strategy is one instance over every symbol; any other, one per symbol
            strategy = self._shared if self._shared is not None else self._make()
            keep = int(getattr(strategy, "history_bars", 1000))
            runner = SymbolRunner(strategy, self.kernel, self.label, name, keep=keep)
            state = self._symbols[name] = _Symbol(runner, self._names.index(name))
            if self._universe is not None:
                self._universe.contexts[name] = runner.ctx
        return state

    def _on_bars(self, ts: int, active: list[str]) -> None:
        universe = self._universe
        universe.time, universe.active = ts, active  # type: ignore[union-attr]
        try:
            self._shared.on_bars(universe)  # type: ignore[union-attr]
        except AdmfError:
            raise
        except Exception as exc:
            raise strategy_raised(where_all(self.label, active, ts), self._shared, exc) from exc

    async def on_initialize(self) -> None:
        probe = self._make()  # bad parameters fail before any data flows
        if isinstance(probe, UniverseStrategy):
            self._shared = probe
            self._universe = Universe(self.kernel, self.label, self._names)
            if (MARK_SPANS and isinstance(probe, WeightStrategy) and not self.remote
                    and type(probe).on_bars is WeightStrategy.on_bars
                    and probe.rebalance != "every_bar"
                    and getattr(self.kernel, "margin", None) is None):
                self._skipper = probe

    async def on_execute(self) -> None:
        single = len(self._names) == 1
        async for batch in self.bars:
            if single:
                await self._frame([batch])
            else:
                await self._receive(batch)
        if not single:
            rest = [_joined(self._pending[name]) for name in self._names if self._pending[name]]
            self._pending = {s: [] for s in self._names}
            if rest:
                await self._frame(rest)
        await self._finish_curve()

    async def _exchange(self, ts: int, bars: tuple[tuple[Any, ...], ...] = ()) -> None:
        """One round trip to the broker: the commands recorded, then ``bars``."""
        proxy: KernelProxy = self.kernel  # type: ignore[assignment]
        await self.orders.send(proxy.request(ts, bars))
        proxy.apply(await self.reports.receive())

    # -- framing: rows of several symbols booked in time order ----------------------

    async def _receive(self, batch: BarBatch) -> None:
        """Buffer ``batch``; frame every pending row no later batch can precede
        (as :class:`~admf.containers.portfolio.PortfolioContainer` does)."""
        stamps = batch.timestamp
        first = int(stamps[0])
        if first <= self._framed_through:
            raise AdmfError(
                f"order portfolio {self.name!r}: a batch of {batch.symbol!r} starts at "
                f"{format_ns(first)}, but rows up to {format_ns(self._framed_through)} were "
                "already traded; the bars of several symbols must arrive merged by event time")
        self._pending[batch.symbol].append(batch)
        self._latest[batch.symbol] = int(stamps[-1])
        bound = first - 1
        if len(self._latest) == len(self._names):
            bound = max(bound, min(self._latest.values()))
        self._framed_through = max(self._framed_through, bound)
        frame = []
        for name in self._names:
            pending, rest, taken = self._pending[name], [], []
            for k, b in enumerate(pending):
                if int(b.timestamp[-1]) <= bound:
                    taken.append(b)
                    continue
                stop = int(np.searchsorted(b.timestamp, bound, side="right"))
                if stop:
                    taken.append(b.slice(0, stop))
                rest = [b.slice(stop, len(b)) if stop else b, *pending[k + 1:]]
                break
            self._pending[name] = rest
            if taken:  # one batch per symbol: a runner holds one batch's rows at a time
                frame.append(_joined(taken))
        if frame:
            await self._frame(frame)

    async def _frame(self, batches: list[BarBatch]) -> None:
        """Trade every row of ``batches`` (per symbol in time order, symbols
        interleaved by time then name)."""
        states = [self._symbol(b.symbol) for b in batches]
        for b, st in zip(batches, states):
            st.runner.feed(b)
        if len(batches) == 1:
            order = np.arange(len(batches[0]))
            which = np.zeros(len(order), dtype=np.int64)
            stamps = batches[0].timestamp
        else:
            stamps = np.concatenate([b.timestamp for b in batches])
            which = np.concatenate([np.full(len(b), k) for k, b in enumerate(batches)])
            ranks = np.array([st.rank for st in states])[which]
            order = np.lexsort((ranks, stamps))
            stamps = stamps[order]
        starts = np.concatenate([[0], np.cumsum([len(b) for b in batches])[:-1]])
        rows = (order - starts[which[order]]).tolist()
        owners = which[order].tolist()
        stamp_list = stamps.tolist()
        start = 0
        if self.trade_from is not None:
            start = int(np.searchsorted(stamps, self.trade_from, side="left"))
            if start == len(stamp_list):
                return
        arrays = None
        if self._skipper is not None:
            arrays = ((order - starts[which[order]])[start:], which[order][start:], stamps[start:])
        await self._trade(states, rows[start:], owners[start:], stamp_list[start:], arrays)

    async def _trade(self, states: list[_Symbol], rows: list[int], owners: list[int],
                     stamps: list[int], arrays: tuple[np.ndarray, ...] | None = None) -> None:
        kernel = self.kernel
        remote = self.remote
        skipper = self._skipper
        universe = self._universe is not None
        fills, updates = kernel.fills, kernel.updates
        times: list[int] = []
        equity: list[float] = []
        cash: list[float] = []
        exposure: list[float] = []
        n = len(rows)
        i = 0
        since_yield = 0
        while i < n:
            quiet = skipper.quiet_until() if skipper is not None and not kernel.book else None
            if quiet is not None and arrays is not None:
                stop = bisect_left(stamps, quiet, i)
                if stop - i >= SPAN_ROWS:
                    since_yield += self._mark_span(states, arrays, i, stop, times, equity, cash,
                                                   exposure)
                    i = stop
                    continue
            ts = stamps[i]
            group_end = i + 1
            while group_end < n and stamps[group_end] == ts:
                group_end += 1
            group = []  # every symbol's bar at this time, in name order
            for k in range(i, group_end):
                st, j = states[owners[k]], rows[k]
                r = st.runner.rows
                group.append((st.runner.symbol, ts, r[1][j], r[2][j], r[3][j], r[4][j], r[5][j]))
                st.last_close, st.last_time, st.last_volume = r[4][j], ts, r[5][j]
            if remote:  # the broker runs them
                await self._exchange(ts, tuple(group))
            else:  # every symbol's fills at this time first: opens, sells first, then paths
                kernel.on_bars(group)
            if len(fills) != self._booked or updates:
                self._dispatch(fills, updates)
            for k in range(i, group_end):  # then every strategy, on the state after them
                st = states[owners[k]]
                st.runner.step(rows[k])
                if len(fills) != self._booked or updates:  # same_close fills
                    self._dispatch(fills, updates)
                st.bars += 1
            if universe:  # one call over every symbol with a bar at this time
                self._on_bars(ts, [states[owners[k]].runner.symbol for k in range(i, group_end)])
                if len(fills) != self._booked or updates:
                    self._dispatch(fills, updates)
            times.append(ts)
            eq, gross = kernel.cash, 0.0
            for pos in kernel.positions.values():
                if pos.units:
                    value = pos.units * pos.last
                    eq += value
                    gross += abs(value)
            equity.append(eq)
            cash.append(kernel.cash)
            exposure.append(gross / eq if eq > 0 else 0.0)
            i = group_end
            since_yield += 1
            if not remote and since_yield >= YIELD_ROWS:
                since_yield = 0
                await checkpoint()  # a long batch must not hold the event loop
        del fills[:]  # booked and delivered: memory stays flat
        self._booked = 0
        if times:
            self._curve_rows(np.array(times, dtype=np.int64), np.array(equity), np.array(cash),
                             np.array(exposure))
        self.ledger.flush(at_least=TRADE_CHUNK)
        if len(self._fill_rows) >= TRADE_CHUNK:
            self._flush_fills()

    def _mark_span(self, states: list[_Symbol], arrays: tuple[np.ndarray, ...], i: int,
                   stop: int, times: list[int], equity: list[float], cash: list[float],
                   exposure: list[float]) -> int:
        """Rows ``i:stop`` when no order is working and the strategy is not
        due: what the per-row loop would do, vectorised. Each timestamp's
        equity is the cash plus every position at its latest close, summed in
        the loop's order (so the floats are the loop's, bit for bit); then
        each symbol's state is left as after its last row (its mark, bar
        counts, and its context on that row). Returns the timestamps marked."""
        kernel = self.kernel
        rows, owners, stamps = (a[i:stop] for a in arrays)
        moments, group_of = np.unique(stamps, return_inverse=True)
        count = len(moments)
        eq = np.full(count, kernel.cash)
        gross = np.zeros(count)
        present = {states[o].runner.symbol: o for o in np.unique(owners).tolist()}
        for symbol, pos in kernel.positions.items():
            if not pos.units:
                continue
            o = present.get(symbol)
            if o is None:  # no bar in these rows: marked at its last close throughout
                value = np.full(count, pos.units * pos.last)
            else:
                mine = owners == o
                closes = states[o].runner.arrays["close"][rows[mine]]
                latest = np.searchsorted(group_of[mine], np.arange(count), side="right") - 1
                marks = np.where(latest >= 0, closes[np.maximum(latest, 0)], pos.last)
                value = pos.units * marks
            eq += value
            gross += np.abs(value)
        for symbol, o in present.items():
            st = states[o]
            mine = rows[owners == o]
            seen, j = len(mine), int(mine[-1])
            r = st.runner.rows
            kernel.pass_bars(symbol, seen, r[4][j])
            st.last_close, st.last_time, st.last_volume = r[4][j], r[0][j], r[5][j]
            st.runner.step(j)
            st.bars += seen
        times.extend(moments.tolist())
        equity.extend(eq.tolist())
        cash.extend([kernel.cash] * count)
        with np.errstate(divide="ignore", invalid="ignore"):
            exposure.extend(np.where(eq > 0, gross / eq, 0.0).tolist())
        return count

    def _flush_fills(self) -> None:
        rows, self._fill_rows = self._fill_rows, []
        if self.fill_sink is not None and rows:
            self.fill_sink.write({name: np.array(col, dtype=dtype) for (name, dtype), col
                                  in zip(FILL_COLUMNS.items(), zip(*rows))})

    def _dispatch(self, fills: list, updates: list) -> None:
        """Book the kernel's new fills in the ledger (trades, costs) and hand
        fills and order updates to their symbols' strategies."""
        new = fills[self._booked:]
        self._booked = len(fills)
        by_symbol: dict[str, tuple[list, list]] = {}
        for f in new:
            st = self._symbols[f.symbol]
            reason = f.reason or "order"
            self.ledger.buy_or_sell(f.symbol, f.quantity, f.price, f.commission, f.slippage,
                                    int(f.ts), st.bars, reason)
            if self.fill_sink is not None:
                self._fill_rows.append((int(f.ts), f.order_id, f.symbol, f.quantity, f.price,
                                        f.commission, f.slippage, f.phase, reason))
            by_symbol.setdefault(f.symbol, ([], []))[0].append(f)
        for u in updates:
            by_symbol.setdefault(u.symbol, ([], []))[1].append(u)
        del updates[:]
        for symbol, (f_list, u_list) in by_symbol.items():
            state = self._symbols.get(symbol)
            if state is not None:
                state.runner.deliver(f_list, u_list)

    # -- the equity curve: one frame's rows held back for the end-of-data exits ----

    def _curve_rows(self, ts: np.ndarray, equity: np.ndarray, cash: np.ndarray,
                    exposure: np.ndarray) -> None:
        if self._curve is not None:
            self._write_curve(self._curve)
        self._curve = {"timestamp": ts, "equity": equity, "cash": cash, "exposure": exposure}

    async def _finish_curve(self) -> None:
        curve = self._curve
        if curve is None:
            return
        if self.close_at_end:
            kernel = self.kernel
            for name in self._names:
                st = self._symbols.get(name)
                pos = kernel.positions.get(name)
                if st is None or pos is None or not pos.units:
                    continue
                kernel.close_out(name, st.last_close, st.last_volume, st.last_time)
                if self.remote:
                    await self._exchange(st.last_time)
                self._dispatch(kernel.fills, kernel.updates)
            del kernel.fills[:]
            self._booked = 0
            final = kernel.equity()
            curve["equity"][-1], curve["cash"][-1] = final, kernel.cash
            curve["exposure"][-1] = 0.0
        self._write_curve(curve)
        self._curve = None

    def _write_curve(self, curve: dict[str, np.ndarray]) -> None:
        self.metrics.update(curve["timestamp"], curve["equity"], curve["exposure"])
        if self.equity_sink is not None:
            peak = np.maximum.accumulate(np.maximum(curve["equity"], self._peak))
            self._peak = float(peak[-1])
            self.equity_sink.write({**curve, "drawdown": 1.0 - curve["equity"] / peak})

    # -- results ------------------------------------------------------------------

    async def on_collect(self) -> PortfolioResult:
        ledger = self.ledger
        marks = {name: (st.last_close, st.last_time, st.bars - 1)
                 for name, st in self._symbols.items()}
        open_rows = ledger.open_rows(marks)
        if ledger.sink is None:
            trades = ledger.trade_table(ledger.rows + open_rows)
        else:
            trades = ledger.metric_columns(open_rows)
            ledger.rows.extend(open_rows)
            ledger.flush()
        metrics = self.metrics.finish(trades=trades, traded_notional=ledger.traded_notional,
                                      periods_per_year=self.periods_per_year)
        self._flush_fills()
        for sink in (self.equity_sink, self.trade_sink, self.fill_sink):
            if sink is not None:
                sink.close()
        self.result = PortfolioResult(
            name=self.name, metrics=metrics, trades=trades if self.trade_sink is None else None,
            equity=_columns_of(self.equity_sink), signals=None, fills=ledger.fills,
            final_equity=self.kernel.equity(), traded_notional=ledger.traded_notional,
            order_fills=_columns_of(self.fill_sink))
        return self.result

    async def on_cleanup(self) -> None:
        if self.result is None:  # failed or cancelled: leave nothing that looks complete
            for sink in (self.equity_sink, self.trade_sink, self.fill_sink):
                if sink is not None:
                    sink.abort()


def _joined(batches: list[BarBatch]) -> BarBatch:
    """Consecutive batches of one symbol as one."""
    if len(batches) == 1:
        return batches[0]
    return BarBatch(ts=batches[0].ts, symbol=batches[0].symbol,
                    **{f: np.concatenate([getattr(b, f) for b in batches])
                       for f in ("timestamp", "open", "high", "low", "close", "volume")})


class BrokerContainer(Container):
    """A broker as an actor: requests in (``orders``), reports out
    (``reports``), one report per request, in order."""

    def __init__(self, name: str, broker: Broker) -> None:
        super().__init__(name)
        self.broker = broker
        self.orders = self.add_input("orders", BrokerRequest)
        self.reports = self.add_output("reports", BrokerReport)
        self.requests = 0

    async def on_execute(self) -> None:
        async for request in self.orders:
            self.requests += 1
            await self.reports.send(await self.broker.handle(request))

    async def on_collect(self) -> dict[str, int]:
        return {"requests": self.requests}
