"""``signal_generation``: compute every strategy point's signals over the
data (or a window of it) and store them sparse, reusing keys already stored.

The run is the ``signal_generation`` topology (sources, the strategy bank,
a :class:`~admf.containers.signals.SignalRecorder`): only indicators and
strategies run, each distinct indicator once per symbol, as in a backtest;
no portfolio runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import anyio
import msgspec
import numpy as np

from ...runtime.registry import registry
from ...runtime.sequencer import run_topology
from ..config import StudyConfig
from ..results.runs import data_digest
from ..study import StrategyPoint, Window, build_backtest, strategy_points
from .store import SignalStore, signal_key, strategy_code_version

__all__ = ("GenerationResult", "generate_signals", "generate", "point_key", "data_view")


class GenerationResult(msgspec.Struct, kw_only=True):
    """Which keys a generation run stored and which it found already stored."""

    keys: dict[str, str]  # strategy point id -> key
    computed: list[str]
    reused: list[str]
    data_digest: str
    seconds: float
    bars: int = 0
    rows: int = 0  # sparse rows written


def data_view(config: StudyConfig) -> str:
    """The data settings that change the bars a strategy sees besides the
    bytes of the files (start, end, resampling, adjustment, columns, time
    zone, symbols); not ``path`` or ``batch_rows``, which change neither."""
    settings = {k: v for k, v in msgspec.to_builtins(config.data).items()
                if k not in ("path", "batch_rows")}
    return msgspec.json.encode(settings, order="sorted").decode()


def point_key(config: StudyConfig, point: StrategyPoint, digest: str,
              window: Window | None = None) -> str:
    """The store key of ``point``'s signals over ``config``'s data."""
    cls = registry.get("strategy", point.type)
    return signal_key(strategy=point.type, params=point.params, direction=point.direction,
                      data_digest=digest, window=window,
                      code_version=strategy_code_version(cls, point.params), symbols=config.data.symbols,
                      data_view=data_view(config))


def halves_of(points: Sequence[StrategyPoint]) -> dict[str, StrategyPoint]:
    """Strategy half id -> a point standing for it (a risk or sizing grid does
    not change signals, so each half is computed once)."""
    halves: dict[str, StrategyPoint] = {}
    for point in points:
        halves.setdefault(point.signal_id, msgspec.structs.replace(
            point, id=point.signal_id, signals=""))
    return halves


async def generate(config: StudyConfig, store: SignalStore, *, window: Window | None = None,
                   points: Sequence[StrategyPoint] | None = None,
                   digest: str | None = None) -> GenerationResult:
    """Compute and store the signals of ``points`` (default: every strategy
    point of ``config``) over ``window``; keys already stored are reused."""
    started = time.perf_counter()
    digest = digest or data_digest(config)
    halves = halves_of(strategy_points(config) if points is None else points)
    keys = {sid: point_key(config, p, digest, window) for sid, p in halves.items()}
    todo = [sid for sid in halves if keys[sid] not in store]
    reused = [sid for sid in halves if sid not in todo]
    bars = rows = 0
    if todo:
        run = build_backtest(config, [halves[sid] for sid in todo], window=window,
                             keep="summary", pattern="signal_generation")
        if run.recorder is None:
            raise AssertionError("the signal_generation pattern has no signal_recorder")
        outcome = await run_topology(run.topology)
        recorded = outcome.collected[run.recorder.name]
        bars = sum(s.rows for s in run.sources)
        per_symbol = bars // max(len(config.data.symbols), 1)
        for sid in todo:
            rows += _put(config, store, keys[sid], halves[sid], recorded, digest, window,
                         per_symbol)
        store.flush()
    return GenerationResult(keys=keys, computed=todo, reused=reused, data_digest=digest,
                            seconds=time.perf_counter() - started, bars=bars, rows=rows)


def _put(config: StudyConfig, store: SignalStore, key: str, point: StrategyPoint,
         recorded: Any, digest: str, window: Window | None, bars: int) -> int:
    series = [(symbol, *recorded.series(point.id, symbol)) for symbol in config.data.symbols]
    ts = np.concatenate([s[1] for s in series])
    tg = np.concatenate([s[2] for s in series])
    sym = np.concatenate([np.full(len(s[1]), s[0], dtype=object) for s in series])
    meta: dict[str, Any] = {
        "strategy": point.type, "params": msgspec.json.encode(point.params).decode(),
        "direction": point.direction, "data_digest": digest,
        "window_first": window[0] if window else None,
        "window_last": window[1] if window else None,
        "code_version": strategy_code_version(registry.get("strategy", point.type), point.params)}
    store.put(key, meta, ts, sym, tg, bars=bars)
    return len(tg)


def generate_signals(config: StudyConfig, store: SignalStore, *,
                     window: Window | None = None,
                     points: Sequence[StrategyPoint] | None = None) -> GenerationResult:
    """:func:`generate` for scripts (not inside a running event loop)."""
    return anyio.run(lambda: generate(config, store, window=window, points=points))
