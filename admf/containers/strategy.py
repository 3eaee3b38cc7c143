"""The strategy container: indicators and strategies for every symbol.

One container hosts every strategy of a study (all points of a parameter
grid): for each incoming batch it computes each *distinct* indicator once
(indicators are shared by their canonical key) and then every strategy's
targets, sending one :class:`~admf.messages.SignalBatch` per strategy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from anyio import BrokenResourceError, WouldBlock

from ..messages import BarBatch, SignalBatch
from ..runtime.container import Container

__all__ = ("StrategyContainer",)

StrategyFactory = Callable[[], Any]


class _SymbolBank:
    """The strategies and shared indicators of one symbol."""

    def __init__(self, factories: Sequence[tuple[str, StrategyFactory]]) -> None:
        self.strategies = [(sid, factory()) for sid, factory in factories]
        self.indicators: dict[tuple, Any] = {}
        self.roles: list[dict[str, tuple]] = []
        for _, strategy in self.strategies:
            roles = {}
            for role, indicator in strategy.indicators().items():
                self.indicators.setdefault(indicator.key, indicator)
                roles[role] = indicator.key
            self.roles.append(roles)

    def run(self, batch: BarBatch) -> list[tuple[str, Any]]:
        values = {key: indicator.update(batch) for key, indicator in self.indicators.items()}
        return [(sid, strategy.targets(batch, {role: values[key] for role, key in roles.items()}))
                for (sid, strategy), roles in zip(self.strategies, self.roles)]


class StrategyContainer(Container):
    """Bars in, one signal batch per strategy and batch out.

    ``strategies`` pairs an id (the portfolio it feeds) with a factory making
    a fresh strategy instance; each symbol gets its own instances. ``fanout``
    maps a strategy id to several portfolio ids (a risk, sizing or execution
    grid): the strategy runs once and the same signal arrays are sent once
    per portfolio, under that portfolio's id.
    """

    def __init__(self, name: str, strategies: Sequence[tuple[str, StrategyFactory]],
                 fanout: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(name)
        self._fanout = {sid: tuple(ids) for sid, ids in (fanout or {}).items()}
        self.bars = self.add_input("bars", BarBatch)
        self.signals = self.add_output("signals", SignalBatch)
        self._factories = list(strategies)
        self._banks: dict[str, _SymbolBank] = {}
        self.distinct_indicators = 0

    async def on_initialize(self) -> None:
        # build once now so bad parameters fail before any data flows
        probe = _SymbolBank(self._factories)
        self.distinct_indicators = len(probe.indicators)

    async def on_execute(self) -> None:
        send_nowait, send = self.signals.send_nowait, self.signals.send
        banks = self._banks
        async for batch in self.bars:
            bank = banks.get(batch.symbol)
            if bank is None:
                bank = banks[batch.symbol] = _SymbolBank(self._factories)
            for sid, target in bank.run(batch):
                for pid in self._fanout.get(sid, (sid,)):
                    signal = SignalBatch(ts=batch.ts, strategy=pid, bars=batch, target=target)
                    try:  # a grid sends one message per point: skip the await when there is room
                        send_nowait(signal)
                    except (WouldBlock, BrokenResourceError):
                        # full: wait for room; closed (a cancelled consumer): send counts the drop
                        await send(signal)

    async def on_collect(self) -> dict[str, int]:
        return {"distinct_indicators": self.distinct_indicators, "symbols": len(self._banks)}
