"""``signal_replay``: run only portfolios over the bars, fed with stored
signals instead of strategy code.

Each strategy half's stored sparse rows are forward-filled onto every bar
(:class:`StoredSignals`), played by the ``signal_replay`` topology's
:class:`~admf.containers.signals.SignalReplayer` where the backtest has its
strategy bank: no indicator or strategy code runs, and the portfolios, their
risk/sizing/execution grid and everything downstream are the backtest's
own, so a replayed point's trades and equity are the backtest's exactly.

A run's signals are looked up by the window the run *reads*: a test window
whose indicators warm up on earlier bars (``trade_from``) reads from the
first warm-up bar, and its stored signals were generated over that same
span, so they are the backtest's, warm-up included.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import anyio
import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ...components.per_bar import BarStrategy
from ...components.signals import dense
from ...errors import ConfigError, DataError
from ...messages import BarBatch
from ...runtime.registry import registry
from ...containers.portfolio import PortfolioResult
from ..config import StudyConfig
from ..results.runs import data_digest
from ..study import StrategyPoint, StudyResult, Window, check_components, run_points, strategy_points
from .generate import halves_of, point_key
from .store import SignalStore

__all__ = ("StoredSignals", "replay_signals", "check_replayable", "stored_players",
           "players", "check_stored")


class StoredSignals:
    """Plays one strategy half's stored targets back as the strategy computed them."""

    def __init__(self, rows: dict[str, tuple[np.ndarray, np.ndarray]], key: str,
                 where: str) -> None:
        self.rows = rows
        self.key = key
        self.where = where

    def __call__(self, batch: BarBatch) -> np.ndarray:
        stored = self.rows.get(batch.symbol)
        if stored is None:
            raise DataError(f"{self.where}: key {self.key!r} holds no signals for symbol "
                            f"{batch.symbol!r}")
        try:
            return dense(batch.timestamp, *stored)
        except ValueError:
            raise DataError(f"{self.where}: key {self.key!r} has no stored signal at or before "
                            f"bar time {int(batch.timestamp[0])} of {batch.symbol!r}; the "
                            "replayed window must be the generated one") from None


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


def players(config: StudyConfig, store: SignalStore, points: Sequence[StrategyPoint], *,
            window: Window | None = None, digest: str | None = None
            ) -> dict[str, StoredSignals]:
    """Strategy half id -> the player of its stored signals over ``window``."""
    digest = digest or data_digest(config)
    out: dict[str, StoredSignals] = {}
    for sid, half in halves_of(points).items():
        check_replayable(half.type, half.where)
        key = point_key(config, half, digest, window)
        out[sid] = StoredSignals(store.read(key, data_digest=digest), key,
                                 f"signal store {store.path} ({half.where})")
    return out


def stored_players(config: StudyConfig, points: Sequence[StrategyPoint], *,
                   window: Window | None = None) -> dict[str, StoredSignals]:
    """:func:`players` from the store ``signals.store`` names."""
    return players(config, SignalStore(config.signal_store), points, window=window)


def check_stored(config: StudyConfig, plan: Iterable[tuple[Sequence[StrategyPoint], Window | None]],
                 store: SignalStore | None = None) -> None:
    """Before a replay writes anything: every (points, window) it will read
    is in the store, for this data; else an error naming the key (and both
    digests when the data differs) and the window."""
    store = store or SignalStore(config.signal_store)
    digest = data_digest(config)
    for points, window in plan:
        for half in halves_of(points).values():
            check_replayable(half.type, half.where)
            key = point_key(config, half, digest, window)
            row = store.index().get(key)
            span = "the whole data" if window is None else f"window {window[0]}..{window[1]} (ns)"
            if row is None:
                other = _stored_for_other_data(store, half, window, digest)
                if other is not None:  # the same point and window, generated on other data
                    raise ConfigError(
                        f"signal store {store.path}: the signals of {half.where} {half.id} over "
                        f"{span} were stored (key {other['key']!r}) for data digest "
                        f"{other['data_digest']}, but the data given has digest {digest} "
                        f"(key {key!r}): the data changed since they were generated; generate "
                        "them again (topology.pattern: signal_generation) or replay the data "
                        "they were made from")
                raise ConfigError(f"signal store {store.path}: no stored signals under key "
                                  f"{key!r} for {half.where} {half.id} over {span} (data digest "
                                  f"{digest}); run this study with topology.pattern: "
                                  "signal_generation first")
            if row["data_digest"] != digest:
                raise ConfigError(f"signal store {store.path}: key {key!r} was stored for data "
                                  f"digest {row['data_digest']}, but the data given has digest "
                                  f"{digest}")
            _check_file(store, row)


def _check_file(store: SignalStore, row: dict[str, Any]) -> None:
    """The stored file of ``row`` is there and its Parquet footer reads: a
    missing or corrupted file fails before the replay writes anything."""
    path = store.path / str(row.get("file") or f"{row['key']}.parquet")
    try:
        meta = pq.read_metadata(path)
    except FileNotFoundError:
        raise DataError(f"{path}: the signal file of key {row['key']!r} is missing from the "
                        "store (its index lists it)") from None
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a readable signal file ({exc})") from None
    if meta.num_rows != row.get("rows", meta.num_rows):
        raise DataError(f"{path}: holds {meta.num_rows} rows, but the store's index says "
                        f"{row['rows']} (a file from another key, or cut short)")


def _stored_for_other_data(store: SignalStore, half: StrategyPoint, window: Window | None,
                           digest: str) -> dict[str, Any] | None:
    """An index row of ``half`` (type, params, direction) over ``window``
    stored for data other than ``digest``, or None."""
    params = msgspec.json.encode(half.params).decode()
    first, last = (window[0], window[1]) if window else (None, None)
    for row in store.index().values():
        if (row["strategy"] == half.type and row["params"] == params
                and row["direction"] == half.direction and row["data_digest"] != digest
                and row["window_first"] == first and row["window_last"] == last):
            return row
    return None


def replay_signals(config: StudyConfig, store: SignalStore, *,
                   window: Window | None = None) -> StudyResult:
    """Run ``config``'s portfolios (every strategy point × risk/sizing/execution
    point) over its bars, fed with ``store``'s signals; nothing is written."""
    started = time.perf_counter()
    points = strategy_points(config)
    check_components(config, points)
    play = players(config, store, points, window=window)

    async def main() -> tuple[dict[str, PortfolioResult], int]:
        return await run_points(config, points, None, window=window, replay=play)

    results, bars = anyio.run(main)
    return StudyResult(name=config.name, run_id=None, path=None, portfolios=results,
                       points={p.id: p for p in points}, seconds=time.perf_counter() - started,
                       bars=bars)
