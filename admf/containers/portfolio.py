"""The portfolio container: books one strategy's signals, marks every bar,
and collects metrics, trades, the equity curve and the sparse signals.

Several symbols arrive interleaved, merged by event time: the merge route
delivers batches in order of their *first* row's time. So when a batch
starting at time T arrives, no later batch of any symbol holds a row before
T, and every pending row before T is handed to the engine as a frame (rows at
exactly T stay pending: another symbol's batch may start at T too). Rows up
to the earliest of each symbol's latest bar time are final as well (each
symbol's own bars arrive in order), so they go too. Fills across symbols are
thus booked in time order, and a symbol whose data ends early does not hold
the others back: the pending rows stay bounded (about one batch per symbol).
A batch that starts at or before rows already framed means the signals were
not merged by event time; that is an error, not a silent misbooking.

One frame is held back until the next arrives, so the engine knows which
frame is the last (``close_at_end``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import msgspec
import numpy as np

from ..components.metrics import Metrics, RunningMetrics
from ..components.portfolio import FrameResult, PortfolioEngine
from ..data.timeparse import format_ns
from ..errors import AdmfError
from ..messages import BarBatch, SignalBatch
from ..runtime.container import Container

__all__ = ("PortfolioContainer", "PortfolioResult", "CurveSink", "MemorySink")

Frame = list[tuple[str, BarBatch, np.ndarray]]
EQUITY_COLUMNS = {"timestamp": np.int64, "equity": np.float64, "cash": np.float64,
                  "exposure": np.float64, "drawdown": np.float64}
SIGNAL_COLUMNS = {"timestamp": np.int64, "symbol": object, "target": np.float64}
FILL_COLUMNS = {"timestamp": np.int64, "order_id": np.int64, "symbol": object,
                "quantity": np.float64, "price": np.float64, "commission": np.float64,
                "slippage": np.float64, "phase": object, "reason": object}
TRADE_CHUNK = 8192
"""Closed trades held in memory before they are streamed to the trade sink."""


class CurveSink(Protocol):
    """Where chunks of a curve go: memory, or a streaming Parquet writer."""

    def write(self, columns: dict[str, np.ndarray]) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class MemorySink:
    """Keeps the chunks and concatenates them at the end. ``columns`` maps
    each column name to its dtype (what an empty result has)."""

    def __init__(self, columns: Mapping[str, Any]) -> None:
        self.dtypes = dict(columns)
        self._chunks: list[dict[str, np.ndarray]] = []
        self.columns: dict[str, np.ndarray] | None = None

    def write(self, columns: dict[str, np.ndarray]) -> None:
        self._chunks.append(columns)

    def close(self) -> None:
        chunks = self._chunks
        self.columns = {n: (np.concatenate([c[n] for c in chunks]) if chunks else np.empty(0, dt))
                        for n, dt in self.dtypes.items()}
        self._chunks = []

    def abort(self) -> None:
        self._chunks = []


class PortfolioResult(msgspec.Struct, kw_only=True):
    """What one portfolio produced."""

    name: str
    metrics: Metrics
    trades: dict[str, np.ndarray] | None
    equity: dict[str, np.ndarray] | None
    signals: dict[str, np.ndarray] | None
    fills: int
    final_equity: float
    traded_notional: float = 0.0
    order_fills: dict[str, np.ndarray] | None = None
    """An order strategy's fills (``FILL_COLUMNS``) when kept in memory."""
    return_blocks: list[list[float]] | None = None
    """Count, mean and sum of squared deviations of the bar returns per time
    block, when the run was asked for them (a sweep's PBO)."""

    def __repr__(self) -> str:  # the tables are large; asyncio may repr a task's result
        return f"PortfolioResult({self.name!r}, fills={self.fills}, final_equity={self.final_equity:.2f})"


class PortfolioContainer(Container):
    """Signals in; a :class:`PortfolioResult` collected."""

    def __init__(self, name: str, engine: PortfolioEngine, *, close_at_end: bool,
                 equity_sink: CurveSink | None, signal_sink: CurveSink | None,
                 trade_sink: CurveSink | None = None, trade_from: int | None = None) -> None:
        super().__init__(name)
        self.trade_from = trade_from
        """Bars before this time (int64 ns) are warm-up: their signals are
        computed (indicators warm up) but nothing is booked or marked; the
        target decided on the last of them is ordered on the first bar after."""
        self._warm: dict[str, float] = {}
        self.signals = self.add_input("signals", SignalBatch)
        self.engine = engine
        self.close_at_end = close_at_end
        self.equity_sink = equity_sink
        self.signal_sink = signal_sink
        self.trade_sink = trade_sink
        engine.ledger.sink = trade_sink  # trades streamed: memory stays flat on long runs
        self.metrics = RunningMetrics(initial_equity=engine.initial_cash)
        self._symbols = list(engine.symbols)
        self._pending: dict[str, list[SignalBatch]] = {s: [] for s in self._symbols}
        self._latest: dict[str, int] = {}
        self._framed_through = -(2**63)  # every row at or before this time is framed
        self._held: Frame | None = None
        self.max_pending_batches = 0
        """The most batches (or pieces) any one symbol had waiting at once."""
        self.max_pending_rows = 0
        """The most rows waiting, over every symbol, at once."""
        self._peak = engine.initial_cash
        self.result: PortfolioResult | None = None

    async def on_execute(self) -> None:
        single = len(self._symbols) == 1
        async for batch in self.signals:
            if self.trade_from is not None:
                batch = self._after_warmup(batch)  # type: ignore[assignment]
                if batch is None:
                    continue
            if single:
                self._advance([(batch.bars.symbol, batch.bars, batch.target)])
                continue
            self._receive(batch)
        rest = self._cut(None) if not single else []
        if rest:
            self._advance(rest)
        if self._held is not None:
            self._book(self._held, last=True)
            self._held = None

    def _after_warmup(self, batch: SignalBatch) -> SignalBatch | None:
        """The rows of ``batch`` from ``trade_from`` on; the warm-up rows only
        leave their last target, which seeds the engine as an order decided
        on the bar before its first (as if a previous frame had ended there)."""
        stamps = batch.bars.timestamp
        cut = int(np.searchsorted(stamps, self.trade_from, side="left"))
        symbol = batch.bars.symbol
        if cut:
            decided = batch.target[:cut][~np.isnan(batch.target[:cut])]
            if len(decided):
                self._warm[symbol] = float(decided[-1])
        if cut == len(stamps):
            return None
        if symbol in self._warm:
            target = self._warm.pop(symbol)
            state = self.engine.symbols[symbol]
            if state.bars == 0 and target != state.target:
                state.target = target
                state.pending = target
        return batch if cut == 0 else _slice(batch, cut, len(stamps))

    def _receive(self, batch: SignalBatch) -> None:
        """Buffer ``batch`` and frame every pending row no later batch can precede."""
        symbol = batch.bars.symbol
        stamps = batch.bars.timestamp
        first = int(stamps[0])
        if first <= self._framed_through:
            raise AdmfError(
                f"portfolio {self.name!r}: a batch of {symbol!r} starts at {format_ns(first)}, "
                f"but rows up to {format_ns(self._framed_through)} were already booked; the "
                "signals of several "
                "symbols must arrive merged by event time (a merge route keyed on ts, as in "
                "the built-in backtest pattern)")
        pending = self._pending[symbol]
        pending.append(batch)
        self._latest[symbol] = int(stamps[-1])
        self.max_pending_batches = max(self.max_pending_batches, len(pending))
        rows = sum(len(b) for p in self._pending.values() for b in p)
        self.max_pending_rows = max(self.max_pending_rows, rows)
        # no later batch starts before `first`; rows at `first` may still come
        bound = first - 1
        if len(self._latest) == len(self._symbols):  # every symbol's own stream is in order
            bound = max(bound, min(self._latest.values()))
        self._framed_through = max(self._framed_through, bound)
        frame = self._cut(bound)
        if frame:
            self._advance(frame)

    def _advance(self, frame: Frame) -> None:
        if self._held is not None:
            self._book(self._held, last=False)
        self._held = frame

    def _cut(self, bound: int | None) -> Frame:
        """Every symbol's pending rows with time <= ``bound`` (all if None).

        Only the rows that leave are copied (once, into the frame); what
        stays pending is kept as views of the batches it came in."""
        frame: Frame = []
        for symbol in self._symbols:
            pending = self._pending[symbol]
            if not pending:
                continue
            if bound is None:
                taken, rest = pending, []
            else:
                k = 0
                while k < len(pending) and int(pending[k].bars.timestamp[-1]) <= bound:
                    k += 1
                taken, rest = pending[:k], pending[k:]
                if rest:  # the first batch left may straddle the bound
                    head = rest[0]
                    stop = int(np.searchsorted(head.bars.timestamp, bound, side="right"))
                    if stop:
                        taken.append(_slice(head, 0, stop))
                        rest[0] = _slice(head, stop, len(head))
            if taken:
                bars, target = _concat(taken)
                frame.append((symbol, bars, target))
            self._pending[symbol] = rest
        return frame

    def _book(self, frame: Frame, *, last: bool) -> None:
        fills = self.engine.ledger.fills
        result = self.engine.process(frame, last=last, close_at_end=self.close_at_end)
        self.metrics.update(result.timestamp, result.equity, result.exposure)
        self.engine.ledger.flush(at_least=TRADE_CHUNK)
        if self.tracer is not None and len(result.timestamp):
            self.trace("frame", first=int(result.timestamp[0]), last=int(result.timestamp[-1]),
                       rows=len(result.timestamp), fills=self.engine.ledger.fills - fills,
                       equity=float(result.equity[-1]), signals=len(result.signal_time))
        if self.equity_sink is not None:
            self.equity_sink.write(self._equity_columns(result))
        if self.signal_sink is not None and len(result.signal_time):
            self.signal_sink.write({"timestamp": result.signal_time,
                                    "symbol": result.signal_symbol,
                                    "target": result.signal_target})

    def _equity_columns(self, result: FrameResult) -> dict[str, np.ndarray]:
        peak = np.maximum.accumulate(np.maximum(result.equity, self._peak))
        if len(peak):
            self._peak = float(peak[-1])
        return {"timestamp": result.timestamp, "equity": result.equity, "cash": result.cash,
                "exposure": result.exposure, "drawdown": 1.0 - result.equity / peak}

    async def on_collect(self) -> PortfolioResult:
        engine = self.engine
        trades = engine.finish()
        metrics = self.metrics.finish(trades=trades, traded_notional=engine.ledger.traded_notional,
                                      periods_per_year=engine.periods_per_year)
        for sink in (self.equity_sink, self.signal_sink, self.trade_sink):
            if sink is not None:
                sink.close()
        self.result = PortfolioResult(
            name=self.name, metrics=metrics, trades=trades if self.trade_sink is None else None,
            equity=_columns_of(self.equity_sink), signals=_columns_of(self.signal_sink),
            fills=engine.ledger.fills, final_equity=engine.final_equity(),
            traded_notional=engine.ledger.traded_notional,
        )
        return self.result

    async def on_cleanup(self) -> None:
        if self.result is None:  # failed or cancelled: leave nothing that looks complete
            for sink in (self.equity_sink, self.signal_sink, self.trade_sink):
                if sink is not None:
                    sink.abort()


def _columns_of(sink: Any) -> dict[str, np.ndarray] | None:
    return sink.columns if isinstance(sink, MemorySink) else None


def _slice(batch: SignalBatch, start: int, stop: int) -> SignalBatch:
    bars = batch.bars.slice(start, stop)
    return SignalBatch(ts=int(bars.ts), strategy=batch.strategy, bars=bars,
                       target=batch.target[start:stop])


def _concat(batches: list[SignalBatch]) -> tuple[BarBatch, np.ndarray]:
    if len(batches) == 1:
        return batches[0].bars, batches[0].target
    bars = [b.bars for b in batches]
    joined = BarBatch(
        ts=bars[0].ts, symbol=bars[0].symbol,
        **{f: np.concatenate([getattr(b, f) for b in bars])
           for f in ("timestamp", "open", "high", "low", "close", "volume")},
    )
    return joined, np.concatenate([b.target for b in batches])
