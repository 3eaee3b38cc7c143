"""How a sequence's runs execute: tasks, the executor, resuming.

A *task* is one pass of the backtest over one span of the data for a chunk
of strategy points (the strategy container shares indicators across them).
Tasks are independent: the :class:`Runner` hands them to an executor
(inline, processes, Dask), reads back runs already complete on disk when a
study resumes, and returns compact :class:`PointSummary` values in order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from ..components.metrics import Metrics
from ..errors import ConfigError
from ..runtime.instrument import Progress
from .config import StudyConfig
from .executors import Executor
from .results.runs import completed_result, run_key
from .results.store import ResultStore, read_table
from .study import StrategyPoint, bar_stream, run_points
from .workers import run_stoppable

__all__ = ("PointSummary", "Task", "Runner", "execute", "estimated_bars", "timeline", "flat")


class PointSummary(msgspec.Struct, kw_only=True):
    """What one task returns for one point: compact, picklable."""

    id: str
    params: dict[str, Any]
    metrics: Metrics
    bars: int
    equity: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # timestamp, equity, exposure
    trades: dict[str, np.ndarray] | None = None
    traded_notional: float = 0.0
    return_blocks: list[list[float]] | None = None  # the returns' moments per time block
    seconds: float = 0.0  # the task's time in its worker over its points: sizes later pieces

    def __repr__(self) -> str:
        return f"PointSummary({self.id!r}, bars={self.bars})"


class Task(msgspec.Struct, kw_only=True):
    """One backtest pass: ``points`` over ``span`` (bar times, inclusive)."""

    config: StudyConfig
    points: list[StrategyPoint]
    span: tuple[int, int] | None
    store: tuple[str, str] | None  # (results root, run id) for a worker's own writes
    phase: str
    keys: dict[str, str]  # point id -> run key
    tables: bool  # write trades/equity/signals, or only metrics.json
    curves: bool  # return the equity curve and trades
    close_at_end: bool = False  # close positions at the span's last bar (test windows)
    warm_from: int | None = None  # read from this bar time on, trading only from span[0]
    blocks: tuple[int, ...] | None = None  # start times of the blocks to keep returns' moments of


def execute(task: Task) -> list[PointSummary]:
    """Run one task in a fresh event loop (called in a worker), stopped early
    when the executor asks (see :mod:`.workers`)."""
    start = time.perf_counter()
    out = run_stoppable(_execute, task)
    each = (time.perf_counter() - start) / max(len(out), 1)
    for summary in out:
        summary.seconds = each
    return out


async def _execute(task: Task) -> list[PointSummary]:
    config = task.config
    if task.close_at_end:  # a test window ends flat: its exit costs count out of sample
        config = msgspec.structs.replace(config, portfolio=msgspec.structs.replace(
            config.portfolio, close_at_end=True))
    runs = trace = None
    if task.store is not None:
        phase = ResultStore.for_worker(*task.store).phase(task.phase)
        runs = {p.id: phase.run(task.keys[p.id]) for p in task.points}
        if config.tracing.enabled:
            trace = phase.trace_dir() / task.keys[task.points[0].id]
    keep = "curves" if task.curves else "configured" if task.tables else "summary"
    window, trade_from = task.span, None
    if task.warm_from is not None and task.span is not None:
        window, trade_from = (task.warm_from, task.span[1]), task.span[0]
    results, bars = await run_points(config, task.points, runs, window=window, keep=keep,
                                     trace=trace, trade_from=trade_from, blocks=task.blocks)
    out = []
    for point in task.points:
        res = results[point.id]
        curve = res.equity if task.curves else None
        equity = (curve["timestamp"], curve["equity"], curve["exposure"]) if curve else None
        out.append(PointSummary(id=point.id, params=point.params, metrics=res.metrics, bars=bars,
                                equity=equity, trades=res.trades if task.curves else None,
                                traded_notional=res.traded_notional,
                                return_blocks=res.return_blocks))
    return out


_BYTES_PER_ROW = {"csv": 60, "parquet": 30, "arrow": 48}


def estimated_bars(config: StudyConfig) -> int:
    """Roughly how many bars the study reads (for choosing an executor): exact
    for synthetic data, from file sizes otherwise."""
    data = config.data
    if data.source == "synthetic":
        return int(data.bars) * len(data.symbols)
    total = 0
    for symbol in data.symbols:
        path = Path(data.path_for(symbol))
        total += path.stat().st_size // _BYTES_PER_ROW[data.source] if path.exists() else 0
    return total


def timeline(config: StudyConfig) -> np.ndarray:
    """Every bar time of the study's data (all symbols, sorted, unique)."""
    stamps = []
    for symbol in config.data.symbols:
        stamps.extend(batch.timestamp for batch in bar_stream(config, symbol)())
    if not stamps:
        raise ConfigError("the data selects no bars")
    joined = np.concatenate(stamps)
    return joined if len(config.data.symbols) == 1 else np.unique(joined)


class Runner:
    """Builds tasks, skips completed runs on resume, and runs them."""

    def __init__(self, config: StudyConfig, executor: Executor, store: ResultStore | None,
                 phase: str, progress: Progress | None = None) -> None:
        self.config = config
        self.executor = executor
        self.store = store
        self.phase = phase
        self.progress = progress
        self.done = store.phase(phase).completed_runs() if store is not None else set()
        self.line: np.ndarray | None = None  # the study's timeline, once read (see timeline)

    def tasks(self, points: Sequence[StrategyPoint], span: tuple[int, int] | None, prefix: str,
              *, tables: bool, curves: bool, close_at_end: bool = False,
              warm_from: int | None = None, blocks: tuple[int, ...] | None = None) -> list[Task]:
        keys = {p.id: f"{prefix}{run_key(p.id)}" for p in points}
        # pieces are saved as they finish: small ones when there is a store to resume
        # from, one per worker (the most shared indicators) when nothing is kept
        parts = chunks(list(points), self.executor.workers, small=self.store is not None)
        where = (str(self.store.path.parent), self.store.run_id) if self.store else None
        return [Task(config=self.config, points=chunk, span=span, store=where, phase=self.phase,
                     keys={p.id: keys[p.id] for p in chunk}, tables=tables, curves=curves,
                     close_at_end=close_at_end, warm_from=warm_from, blocks=blocks)
                for chunk in parts if chunk]

    async def run(self, tasks: list[Task], unit: str = "points") -> list[list[PointSummary]]:
        """Results per task, in order; runs already complete on disk are read back.
        Progress counts runs (a task's points) as ``unit``, from those read back on.

        When results are saved, the pieces of one pass (same span and options)
        are cut by time, not count: a first round of one point per worker
        measures a point's cost, and each later round gives every worker a
        piece sized at the cost the last round measured (see
        :func:`timed_round`). Which points share a piece
        changes no result."""
        pending, known = [], {}
        for task in tasks:
            finished, rerun = [], []
            for point in (p for p in task.points if task.keys[p.id] in self.done):
                summary = self._load(task, point)
                if summary is None:  # finished, but its curve was not kept: recompute it
                    rerun.append(point)
                else:
                    known[task.keys[point.id]] = summary
                    finished.append(point)
            left = [p for p in task.points if p not in finished and p not in rerun]
            if left:
                pending.append(msgspec.structs.replace(task, points=left))
            if rerun:  # in memory only: the run directory is complete already
                pending.append(msgspec.structs.replace(task, points=rerun, store=None))
        total = sum(len(t.points) for t in tasks)
        count = [total - sum(len(t.points) for t in pending)]
        if self.progress is not None:
            self.progress(count[0], total, unit)
        workers = max(self.executor.workers, 1)
        points = [p for t in pending for p in t.points]
        if self.store is None or not _one_pass(pending) or len(points) <= 2 * workers:
            await self._map(pending, known, count, total, unit)
        else:
            keys = {pid: key for t in pending for pid, key in t.keys.items()}
            rest, cost = points, None
            while rest:
                parts = [[p] for p in rest[:workers]] if cost is None else \
                    timed_round(rest, workers, cost, share=len(points))
                batch = [_piece(pending[0], keys, part) for part in parts]
                await self._map(batch, known, count, total, unit)
                # the slowest piece's cost per point, measured anew each round: the
                # first pieces of a fresh worker pay its first-use costs
                cost = max(known[t.keys[t.points[0].id]].seconds for t in batch)
                rest = rest[sum(len(part) for part in parts):]
        return [[known[t.keys[p.id]] for p in t.points] for t in tasks]

    async def _map(self, tasks: list[Task], known: dict[str, PointSummary], count: list[int],
                   total: int, unit: str) -> None:
        """Run ``tasks`` on the executor, filing each summary in ``known`` by run
        key; ``count`` (the points done so far, in a list to update) feeds progress."""
        ends = [count[0]]
        for task in tasks:
            ends.append(ends[-1] + len(task.points))
        report = self.progress
        on_done = None if report is None else (lambda k: report(ends[k], total, unit))
        ran = await self.executor.map(execute, [(t,) for t in tasks], on_done=on_done)
        for task, summaries in zip(tasks, ran):
            for summary in summaries:
                known[task.keys[summary.id]] = summary
        count[0] = ends[-1]

    def _load(self, task: Task, point: StrategyPoint) -> PointSummary | None:
        """A finished run read back; None when the task needs its curve and the
        run did not keep one (``results.keep_equity_curves: false``)."""
        path = self.store.phase(self.phase).run(task.keys[point.id]).path  # type: ignore[union-attr]
        done = completed_result(path, point)
        if not task.curves:
            return PointSummary(id=point.id, params=point.params, metrics=done.metrics, bars=0,
                                return_blocks=done.return_blocks)
        if not (path / "equity.parquet").is_file():
            return None
        equity = read_table(path / "equity.parquet")
        trades = read_table(path / "trades.parquet")
        stamps = equity.column("timestamp").cast(pa.int64()).to_numpy()
        return PointSummary(
            id=point.id, params=point.params, metrics=done.metrics, bars=len(stamps),
            equity=(stamps, equity.column("equity").to_numpy(),
                    equity.column("exposure").to_numpy()),
            trades={name: trades.column(name).to_numpy(zero_copy_only=False)
                    for name in ("pnl", "return", "open")},
            traded_notional=done.traded_notional, return_blocks=done.return_blocks)


PIECES_PER_WORKER = 8
"""How many pieces each worker's share of a grid is cut into. A piece is one
pass (its points share indicators) and is saved when it completes, so an
interruption loses at most the pieces in flight: about ``1 / (8 * workers)``
of the grid each, not (as with one piece per worker) everything."""

MAX_PIECE = 64
"""The most points one piece holds, however large the grid."""


def chunks(points: list[StrategyPoint], workers: int, *, small: bool = True
           ) -> list[list[StrategyPoint]]:
    """``points`` in consecutive pieces: small ones (see :data:`PIECES_PER_WORKER`),
    or one per worker."""
    pieces = max(workers, 1) * (PIECES_PER_WORKER if small else 1)
    size = max(1, min(math.ceil(len(points) / pieces), MAX_PIECE))
    return [points[i:i + size] for i in range(0, len(points), size)]


PIECE_SECONDS = (0.5, 5.0)
"""How long one saved piece of a pass may take, at least and at most (see
:func:`timed_round`). Below the least, a piece's fixed costs (reading the
bars, the indicators its points share, its files) weigh on its points' own
work; above the most, an interruption loses too much and progress stalls."""


def timed_round(points: list[StrategyPoint], workers: int, seconds_per_point: float, *,
                share: int) -> list[list[StrategyPoint]]:
    """The next round of pieces from ``points`` (what is left of a pass of
    ``share`` points) at ``seconds_per_point``.

    A piece holds ``1 / PIECES_PER_WORKER`` of a worker's share of the pass,
    so a kill loses about that much, but takes no less and no more time than
    :data:`PIECE_SECONDS` allows (the least wins: tiny pieces cost more than
    they save) and holds at most :data:`MAX_PIECE` points. A round is one
    piece per worker or, when at most two rounds are left, every point left
    in pieces of equal size, their number a multiple of ``workers`` so the
    workers finish together."""
    workers = max(workers, 1)
    cost = max(seconds_per_point, 1e-9)
    least, most = PIECE_SECONDS
    size = math.ceil(share / (workers * PIECES_PER_WORKER))
    size = min(size, int(most / cost), MAX_PIECE)
    size = max(1, size, min(math.ceil(least / cost), MAX_PIECE))
    if len(points) > 2 * size * workers:
        return [points[i * size:(i + 1) * size] for i in range(workers)]
    count = math.ceil(math.ceil(len(points) / size) / workers) * workers
    size = math.ceil(len(points) / count)
    return [points[i:i + size] for i in range(0, len(points), size)]


def _one_pass(tasks: list[Task]) -> bool:
    """Whether ``tasks`` differ only in their points: one pass cut in pieces."""
    if not tasks:
        return False
    first = msgspec.structs.replace(tasks[0], points=[], keys={})
    return all(msgspec.structs.replace(t, points=[], keys={}) == first for t in tasks[1:])


def _piece(like: Task, keys: dict[str, str], points: list[StrategyPoint]) -> Task:
    """A task of the same pass as ``like`` (see :func:`_one_pass`) holding ``points``."""
    return msgspec.structs.replace(like, points=points, keys={p.id: keys[p.id] for p in points})


def flat(results: list[list[PointSummary]]) -> list[PointSummary]:
    return [s for chunk in results for s in chunk]
