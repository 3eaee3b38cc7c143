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

from ..components._blame import user_site
from ..components.strategies import BadTargets, RowFailed, checked_targets
from ..data.timeparse import format_ns
from ..errors import AdmfError, DataError, StrategyError
from ..messages import BarBatch, SignalBatch
from ..runtime.container import Container

__all__ = ("StrategyContainer",)

StrategyFactory = Callable[[], Any]


class _SymbolBank:
    """The strategies and shared indicators of one symbol."""

    def __init__(self, factories: Sequence[tuple[str, StrategyFactory]],
                 labels: Mapping[str, str] | None = None) -> None:
        self.labels = labels or {}
        self.strategies = [(sid, self._made(sid, factory)) for sid, factory in factories]
        self.indicators: dict[tuple, Any] = {}
        self.roles: list[dict[str, tuple]] = []
        self.bars = 0  # rows seen before the current batch, to name a failing bar
        for _, strategy in self.strategies:
            roles = {}
            for role, indicator in strategy.indicators().items():
                self.indicators.setdefault(indicator.key, indicator)
                roles[role] = indicator.key
            self.roles.append(roles)

    def _made(self, sid: str, factory: StrategyFactory) -> Any:
        try:
            return factory()
        except AdmfError:
            raise
        except Exception as exc:
            site = user_site(exc)
            raise StrategyError(f"{self._label(sid)}: could not be built: "
                                f"{type(exc).__name__}: {exc}"
                                + (f" ({site})" if site else "")) from exc

    def _label(self, sid: str) -> str:
        return self.labels.get(sid, f"strategy {sid!r}")

    def run(self, batch: BarBatch) -> list[tuple[str, Any]]:
        values = {}
        for key, indicator in self.indicators.items():
            try:
                values[key] = indicator.update(batch)
            except DataError as exc:  # the data lacks what it reads: name who asked, and where
                raise DataError(f"{self._indicator_users(key)}, symbol {batch.symbol!r}: "
                                f"{exc}") from None
            except AdmfError:
                raise
            except Exception as exc:
                raise self._indicator_failed(key, indicator, batch, exc) from exc
        out = []
        n = len(batch)
        for (sid, strategy), roles in zip(self.strategies, self.roles):
            try:
                target = strategy.targets(batch, {role: values[key] for role, key in roles.items()})
                out.append((sid, checked_targets(target, n)))
            except AdmfError:
                raise
            except Exception as exc:
                raise self._failed(sid, strategy, batch, exc) from _original(exc)
        self.bars += n
        return out

    def _failed(self, sid: str, strategy: Any, batch: BarBatch, exc: Exception) -> StrategyError:
        """The error naming the strategy, its parameters and the bar (the
        batch's range when the failing row is not known)."""
        index = None
        if isinstance(exc, RowFailed):
            index, exc = exc.index, exc.__cause__ or exc  # type: ignore[assignment]
        if isinstance(exc, BadTargets):
            index = exc.index if index is None else index
            reason, site = exc.reason, None
        else:
            reason = f"raised {type(exc).__name__}: {exc}"
            site = user_site(exc, type(getattr(strategy, "user", strategy)))
        return StrategyError(f"{self._label(sid)}, symbol {batch.symbol!r}, "
                             f"{self._where(batch, index)}: {reason}"
                             + (f" ({site})" if site else ""))

    def _indicator_failed(self, key: tuple, indicator: Any, batch: BarBatch,
                          exc: Exception) -> StrategyError:
        site = user_site(exc, type(indicator))
        return StrategyError(f"indicator {type(indicator).__name__} {key!r} of "
                             f"{self._indicator_users(key)}, symbol {batch.symbol!r}, "
                             f"{self._where(batch, None)}: raised {type(exc).__name__}: {exc}"
                             + (f" ({site})" if site else ""))

    def _indicator_users(self, key: tuple) -> str:
        """The strategies that read indicator ``key``."""
        return ", ".join(self._label(sid) for (sid, _), roles in zip(self.strategies, self.roles)
                         if key in roles.values())

    def _where(self, batch: BarBatch, index: int | None) -> str:
        stamps = batch.timestamp
        if index is not None and 0 <= index < len(stamps):
            return f"bar {self.bars + index + 1} ({format_ns(int(stamps[index]))})"
        return (f"bars {self.bars + 1}-{self.bars + len(stamps)} "
                f"({format_ns(int(stamps[0]))} to {format_ns(int(stamps[-1]))})")


def _original(exc: Exception) -> BaseException | None:
    """What a strategy error chains: the user's own exception (not the
    internal per-row wrapper), nothing for a targets check."""
    if isinstance(exc, RowFailed) and exc.__cause__ is not None:
        exc = exc.__cause__  # type: ignore[assignment]
    return None if isinstance(exc, BadTargets) else exc


class StrategyContainer(Container):
    """Bars in, one signal batch per strategy and batch out.

    ``strategies`` pairs an id (the portfolio it feeds) with a factory making
    a fresh strategy instance; each symbol gets its own instances. ``fanout``
    maps a strategy id to several portfolio ids (a risk, sizing or execution
    grid): the strategy runs once and the same signal arrays are sent once
    per portfolio, under that portfolio's id. ``labels`` describe each id
    for errors (config key, type, parameters): a strategy that raises, or
    returns targets that are not one finite number or NaN per bar, fails
    with a :class:`~admf.errors.StrategyError` naming it and the bar.
    """

    def __init__(self, name: str, strategies: Sequence[tuple[str, StrategyFactory]],
                 fanout: Mapping[str, Sequence[str]] | None = None,
                 labels: Mapping[str, str] | None = None) -> None:
        super().__init__(name)
        self._labels = dict(labels or {})
        self._fanout = {sid: tuple(ids) for sid, ids in (fanout or {}).items()}
        self.bars = self.add_input("bars", BarBatch)
        self.signals = self.add_output("signals", SignalBatch)
        self._factories = list(strategies)
        self._banks: dict[str, _SymbolBank] = {}
        self.distinct_indicators = 0

    async def on_initialize(self) -> None:
        # build once now so bad parameters fail before any data flows
        probe = _SymbolBank(self._factories, self._labels)
        self.distinct_indicators = len(probe.indicators)

    async def on_execute(self) -> None:
        send_nowait, send = self.signals.send_nowait, self.signals.send
        banks = self._banks
        async for batch in self.bars:
            bank = banks.get(batch.symbol)
            if bank is None:
                bank = banks[batch.symbol] = _SymbolBank(self._factories, self._labels)
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
