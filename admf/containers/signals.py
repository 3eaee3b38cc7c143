"""The signal recorder and the signal replayer: the two containers that
make ``signal_generation`` and ``signal_replay`` topologies.

:class:`SignalRecorder` (signals in) keeps every strategy's targets sparse,
one row per change, per symbol: what the signal store writes.
:class:`SignalReplayer` (bars in, signals out) stands where the strategy
bank stands in a backtest, but sends stored targets instead of running any
indicator or strategy code, so the portfolios downstream are the backtest's
own and see the same signal arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from anyio import BrokenResourceError, WouldBlock

from ..components.signals import sparse
from ..messages import BarBatch, SignalBatch
from ..runtime.container import Container

__all__ = ("SignalRecorder", "Recorded", "SignalReplayer", "Player")

Player = Callable[[BarBatch], np.ndarray]
"""The stored target of every bar of one batch, for one strategy."""


class Recorded:
    """What a recorder kept: per strategy id and symbol, the sparse rows
    (times int64 ns, targets float64); and the bars seen per symbol."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, list[tuple[np.ndarray, np.ndarray]]]] = {}
        self.bars: dict[str, int] = {}

    def series(self, sid: str, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        chunks = self.rows.get(sid, {}).get(symbol, [])
        if not chunks:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        return (np.concatenate([c[0] for c in chunks]),
                np.concatenate([c[1] for c in chunks]))


class SignalRecorder(Container):
    """Signals in; every strategy's targets kept sparse, per symbol."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.signals = self.add_input("signals", SignalBatch)
        self.recorded = Recorded()
        self._last: dict[tuple[str, str], float] = {}
        self._counted: dict[str, str] = {}  # symbol -> the strategy id its bars are counted by

    async def on_execute(self) -> None:
        rows, bars, last = self.recorded.rows, self.recorded.bars, self._last
        async for signal in self.signals:
            symbol = signal.bars.symbol
            if self._counted.setdefault(symbol, signal.strategy) == signal.strategy:
                bars[symbol] = bars.get(symbol, 0) + len(signal)
            ts, tg = sparse(signal.bars.timestamp, np.asarray(signal.target, dtype=np.float64))
            slot = (signal.strategy, symbol)
            if slot in last and len(tg) and _same(last[slot], float(tg[0])):
                ts, tg = ts[1:], tg[1:]  # no change across the batch boundary
            if len(tg):
                last[slot] = float(tg[-1])
                rows.setdefault(signal.strategy, {}).setdefault(symbol, []).append((ts, tg))

    async def on_collect(self) -> Recorded:
        return self.recorded


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


class SignalReplayer(Container):
    """Bars in, one signal batch per stored strategy and batch out.

    ``load`` returns the players (strategy id -> :data:`Player`); it is
    called when the container initializes, so building a topology to check
    it reads no store. ``fanout`` maps a strategy id to the portfolio ids its
    signals feed (a risk, sizing or execution grid), as in the strategy bank.
    """

    def __init__(self, name: str, load: Callable[[], Mapping[str, Player]],
                 fanout: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(name)
        self._load = load
        self._fanout = {sid: tuple(ids) for sid, ids in (fanout or {}).items()}
        self.bars = self.add_input("bars", BarBatch)
        self.signals = self.add_output("signals", SignalBatch)
        self._players: list[tuple[str, Player]] = []

    async def on_initialize(self) -> None:
        self._players = list(self._load().items())

    async def on_execute(self) -> None:
        send_nowait, send = self.signals.send_nowait, self.signals.send
        players, fanout = self._players, self._fanout
        async for batch in self.bars:
            for sid, play in players:
                target = play(batch)
                for pid in fanout.get(sid, (sid,)):
                    signal = SignalBatch(ts=batch.ts, strategy=pid, bars=batch, target=target)
                    try:
                        send_nowait(signal)
                    except (WouldBlock, BrokenResourceError):
                        await send(signal)

    async def on_collect(self) -> dict[str, int]:
        return {"replayed": len(self._players)}
