"""``signal_generation``: compute every strategy point's signals over the
data (or a window of it) and store them sparse, reusing keys already stored.

Only indicators and strategies run here; no portfolio. Each distinct
indicator is computed once per symbol, as in the backtest's strategy bank.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import numpy as np

from ...containers.strategy import _SymbolBank
from ...runtime.registry import registry
from ..config import StudyConfig
from ..results.runs import data_digest
from ..faults import strategy_label
from ..study import StrategyPoint, Window, bar_stream, strategy_factory, strategy_points
from .store import SignalStore, signal_key, sparse, strategy_code_version

__all__ = ("GenerationResult", "generate_signals", "point_key")


class GenerationResult(msgspec.Struct, kw_only=True):
    """Which keys a generation run stored and which it found already stored."""

    keys: dict[str, str]  # strategy point id -> key
    computed: list[str]
    reused: list[str]
    data_digest: str
    seconds: float


def point_key(config: StudyConfig, point: StrategyPoint, digest: str,
              window: Window | None = None) -> str:
    """The store key of ``point``'s signals over ``config``'s data."""
    cls = registry.get("strategy", point.type)
    return signal_key(strategy=point.type, params=point.params, direction=point.direction,
                      data_digest=digest, window=window,
                      code_version=strategy_code_version(cls), symbols=config.data.symbols)


def generate_signals(config: StudyConfig, store: SignalStore, *,
                     window: Window | None = None) -> GenerationResult:
    """Compute and store the signals of every strategy point of ``config``
    (the strategy halves: a risk or sizing grid does not change signals)."""
    started = time.perf_counter()
    digest = data_digest(config)
    halves: dict[str, StrategyPoint] = {}
    for point in strategy_points(config):
        halves.setdefault(point.signal_id, msgspec.structs.replace(
            point, id=point.signal_id, portfolio={}, signals=""))
    keys = {sid: point_key(config, p, digest, window) for sid, p in halves.items()}
    todo = [sid for sid in halves if keys[sid] not in store]
    reused = [sid for sid in halves if sid not in todo]
    if todo:
        factories = [(sid, strategy_factory(halves[sid])) for sid in todo]
        parts: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {sid: [] for sid in todo}
        bars = 0
        for symbol in config.data.symbols:
            bank = _SymbolBank(factories, {sid: strategy_label(halves[sid]) for sid in todo})
            last: dict[str, float] = {}
            for batch in bar_stream(config, symbol, window)():
                bars += len(batch)
                for sid, target in bank.run(batch):
                    ts, tg = sparse(batch.timestamp, np.asarray(target, dtype=np.float64))
                    if sid in last and len(tg) and _same(last[sid], tg[0]):
                        ts, tg = ts[1:], tg[1:]  # no change across the batch boundary
                    if len(tg):
                        last[sid] = float(tg[-1])
                        parts[sid].append((symbol, ts, tg))
        for sid in todo:
            point = halves[sid]
            chunks = parts[sid]
            ts = np.concatenate([c[1] for c in chunks]) if chunks else np.empty(0, np.int64)
            tg = np.concatenate([c[2] for c in chunks]) if chunks else np.empty(0)
            sym = np.concatenate([np.full(len(c[1]), c[0], dtype=object) for c in chunks]) \
                if chunks else np.empty(0, object)
            meta: dict[str, Any] = {
                "strategy": point.type, "params": msgspec.json.encode(point.params).decode(),
                "direction": point.direction, "data_digest": digest,
                "window_first": window[0] if window else None,
                "window_last": window[1] if window else None,
                "code_version": strategy_code_version(registry.get("strategy", point.type))}
            store.put(keys[sid], meta, ts, sym, tg, bars=bars // len(config.data.symbols))
        store.flush()
    return GenerationResult(keys=keys, computed=todo, reused=reused, data_digest=digest,
                            seconds=time.perf_counter() - started)


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)
