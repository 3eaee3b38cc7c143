"""``signal_replay``: run only portfolios over the bars, fed with stored
signals instead of strategy code.

Each strategy half's stored sparse rows are forward-filled onto every bar
(:class:`StoredSignals`), which stands in for the strategy in the backtest
topology: no indicator or strategy code runs, and the portfolios, their
risk/sizing/execution grid and everything downstream are the backtest's
own, so a replayed point's trades and equity are the backtest's exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import msgspec
import numpy as np

from ...components.per_bar import BarStrategy
from ...errors import ConfigError, DataError
from ...messages import BarBatch
from ...runtime.registry import registry
from ..config import StudyConfig
from ..results.runs import data_digest
from ..study import StudyResult, Window, check_components, run_points, strategy_points
from .generate import point_key
from .store import SignalStore, dense

__all__ = ("StoredSignals", "replay_signals", "check_replayable")


class StoredSignals:
    """Plays one symbol's stored targets back as a strategy would compute them."""

    def __init__(self, rows: dict[str, tuple[np.ndarray, np.ndarray]], key: str,
                 where: str) -> None:
        self.rows = rows
        self.key = key
        self.where = where

    def indicators(self) -> dict[str, Any]:
        return {}

    def targets(self, batch: BarBatch, values: dict[str, Any]) -> np.ndarray:
        stored = self.rows.get(batch.symbol)
        if stored is None:
            raise DataError(f"{self.where}: key {self.key!r} holds no signals for symbol "
                            f"{batch.symbol!r}")
        try:
            return dense(batch.timestamp, *stored)
        except ValueError:
            raise DataError(f"{self.where}: key {self.key!r} has no stored signal at or before "
                            f"bar time {int(batch.timestamp[0])} of {batch.symbol!r}; the "
                            "replayed window must lie inside the generated one") from None


def check_replayable(strategy_type: str, where: str) -> None:
    """Refuse a strategy whose decisions depend on portfolio state: its
    signals change when risk or sizing settings change, so stored ones are wrong.

    A strategy declares this with a class attribute ``state_dependent = True``
    (the hook for the strategy context API; per-bar strategies are checked
    for an ``on_fill``/``on_order`` handler too)."""
    cls = registry.get("strategy", strategy_type)
    state = bool(getattr(cls, "state_dependent", False))
    if isinstance(cls, type) and issubclass(cls, BarStrategy):
        state = state or any(hasattr(cls, name) for name in ("on_fill", "on_order", "on_position"))
    if state:
        raise ConfigError(f"{where}.type: {strategy_type!r} depends on portfolio state "
                          "(position, fills or orders), so its signals change with the risk and "
                          "sizing settings; it cannot be replayed from stored signals; run it "
                          "as a backtest instead")


def players(config: StudyConfig, store: SignalStore, *, window: Window | None = None,
            digest: str | None = None) -> dict[str, Callable[[], StoredSignals]]:
    """Strategy half id -> a factory of players of its stored signals."""
    digest = digest or data_digest(config)
    out: dict[str, Callable[[], StoredSignals]] = {}
    for point in strategy_points(config):
        sid = point.signal_id
        if sid in out:
            continue
        check_replayable(point.type, point.where)
        half = msgspec.structs.replace(point, id=sid, portfolio={}, signals="")
        key = point_key(config, half, digest, window)
        rows = store.read(key, data_digest=digest)
        out[sid] = (lambda rows=rows, key=key, where=point.where:
                    StoredSignals(rows, key, f"signal store {store.path} ({where})"))
    return out


def replay_signals(config: StudyConfig, store: SignalStore, *,
                   window: Window | None = None) -> StudyResult:
    """Run ``config``'s portfolios (every strategy point × risk/sizing/execution
    point) over its bars, fed with ``store``'s signals; nothing is written."""
    started = time.perf_counter()
    points = strategy_points(config)
    check_components(config, points)
    play = players(config, store, window=window)

    async def main() -> tuple[dict[str, Any], int]:
        return await run_points(config, points, None, window=window, replay=play)

    results, bars = anyio.run(main)
    return StudyResult(name=config.name, run_id=None, path=None, portfolios=results,
                       points={p.id: p for p in points}, seconds=time.perf_counter() - started,
                       bars=bars)
