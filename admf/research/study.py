"""Run one study: build the backtest topology from a config, run it, keep results.

The topology (DESIGN.md §5, ``backtest``)::

    source[SYM] ─┐ (merge by event time when several symbols)
    source[SYM] ─┴─> strategies ──(partition by strategy)──> portfolio[i]

Every point of every strategy's parameter grid feeds its own isolated
portfolio; the strategy container computes each distinct indicator once.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np

from ..components.execution import ExecutionKernel, Margin
from ..components.metrics import Metrics, periods_per_year
from ..components.portfolio import PortfolioEngine, RiskLimits
from ..containers.data import BarSource, Feed, IntervalCheck, LiveSource
from ..containers.portfolio import (
    FILL_COLUMNS,
    MemorySink,
    PortfolioContainer,
    PortfolioResult,
)
from ..components.broker import KernelProxy, SimulatedBroker
from ..containers.orders import BrokerContainer, OrderTrader
from ..containers.signals import SignalRecorder, SignalReplayer
from ..containers.strategy import StrategyContainer
from ..data.timeparse import parse_duration
from ..errors import AdmfError, ConfigError, ContainerError
from ..runtime.instrument import BarProgress, Progress
from ..runtime.patterns import load_pattern
from ..runtime.registry import instantiate
from ..runtime.sequencer import RunResult, run_topology
from ..runtime.topology import Topology
from ..runtime.tracing import EventStore, Tracer
from .bars import Window, bar_stream
from .config import StudyConfig
from .config.trading import margin_terms
from .faults import blamed, strategy_label
from .points import StrategyPoint, is_order_point, strategy_factory, strategy_points
from .config.grid import apply_downstream
from .results.runs import (
    FILL_SCHEMA,
    TRADE_SCHEMA,
    completed_result,
    curve_sinks,
    finish_store,
    open_store,
    run_key,
    write_runs,
)
from .results.store import ResultStore

if TYPE_CHECKING:
    from ..messages import BarBatch

__all__ = ("StrategyPoint", "StudyResult", "strategy_points", "build_backtest", "run_study")

# make the built-in components register themselves
from ..components import costs as _costs  # noqa: E402,F401
from ..components import ensembles as _ensembles  # noqa: E402,F401
from ..components import rebalance as _rebalance  # noqa: E402,F401
from ..components import sizing as _sizing  # noqa: E402,F401
from ..components import strategies as _strategies  # noqa: E402,F401
from ..containers import factories as _factories  # noqa: E402,F401


class StudyResult(msgspec.Struct, kw_only=True):
    """Everything one study produced."""

    name: str
    run_id: str | None
    path: Path | None
    portfolios: dict[str, PortfolioResult]
    points: dict[str, StrategyPoint]
    seconds: float
    bars: int
    trace: list[dict[str, Any]] | None = None
    """The trace events, when tracing is on and nothing is written (with a
    results directory they are in ``<phase>/trace/``)."""

    def __repr__(self) -> str:  # results hold large arrays: keep repr short
        return f"StudyResult({self.name!r}, {len(self.portfolios)} portfolios, run_id={self.run_id!r})"

    @property
    def metrics(self) -> Metrics:
        """The metrics of the only portfolio (see :attr:`portfolios` for several)."""
        return self._only().metrics

    @property
    def trades(self) -> dict[str, np.ndarray] | None:
        return self._only().trades

    @property
    def equity(self) -> dict[str, np.ndarray] | None:
        return self._only().equity

    def _only(self) -> PortfolioResult:
        if len(self.portfolios) != 1:
            raise AdmfError(f"this study has {len(self.portfolios)} portfolios; "
                             f"pick one from .portfolios")
        return next(iter(self.portfolios.values()))

    def table(self) -> list[dict[str, Any]]:
        """One row per portfolio: its parameters and metrics."""
        return [{"portfolio": pid, **self.points[pid].params, **self.points[pid].portfolio,
                 **res.metrics.to_dict()}
                for pid, res in self.portfolios.items()]

    def to_pandas(self) -> Any:
        """The metrics table as a pandas DataFrame (needs pandas installed)."""
        import pandas as pd

        return pd.DataFrame(self.table()).set_index("portfolio")


def bars_per_year(config: StudyConfig) -> float:
    """The annualisation factor of the study's bars (``data.timeframe``, or
    ``data.resample`` when set, and ``data.calendar``)."""
    return periods_per_year(parse_duration(config.data.bar_timeframe), config.data.calendar)


def check_components(config: StudyConfig, points: Sequence[StrategyPoint]) -> None:
    """Build every component and the topology once, so a bad parameter or
    pattern fails before any run directory exists."""
    executor = config.executor
    if config.sequence.type == "single_pass" and (
            executor.kind not in (None, "inline") or executor.workers is not None
            or executor.address is not None):
        raise ConfigError("executor: a single_pass study runs every point in one pass in this "
                          "process (inline), so these executor settings would go unused; use "
                          "sequence.type parameter_sweep to spread a grid over workers")
    objective = config.sequence.objective
    if objective not in Metrics.__struct_fields__:
        close = difflib.get_close_matches(objective, Metrics.__struct_fields__, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"sequence.objective: {objective!r} is not a metric{hint} "
                          f"(metrics: {', '.join(Metrics.__struct_fields__)})")
    for point in points:
        strategy_factory(point)
    check_order_study(config, points)
    build_backtest(config, points)  # components, pattern, ports; nothing runs


ORDER_PATTERNS = ("backtest", "orders", "orders_broker")
"""The patterns order strategies run in: ``backtest`` (the default) becomes
``orders`` for them; ``orders_broker`` trades through a broker actor."""


def order_study(points: Sequence[StrategyPoint]) -> bool:
    """Whether the study's strategies place orders (``orders`` pattern); a
    mix of order and target strategies is a ConfigError."""
    kinds = {is_order_point(p) for p in points}
    if len(kinds) > 1:
        orders = sorted({p.where for p in points if is_order_point(p)})
        raise ConfigError(f"strategies: {', '.join(orders)} place orders (OrderStrategy) and the "
                          "others give targets; one study runs one kind: put them in separate "
                          "studies or workflow phases")
    return kinds == {True}


def check_order_study(config: StudyConfig, points: Sequence[StrategyPoint]) -> None:
    """Refuse what does not apply to order strategies, naming the key: their
    orders carry their own size and exits, so the portfolio's sizing (but
    ``whole_units``) and risk limits would go unused."""
    if not order_study(points):
        if margin_terms(config.portfolio) is not None:
            raise ConfigError("portfolio.account: a margin account applies to order strategies "
                              "(OrderStrategy, UniverseStrategy, WeightStrategy), whose fills "
                              "the execution kernel checks against buying power; target "
                              "strategies run a cash account")
        ex = config.execution
        for key in ("intrabar", "limit_fill"):
            if getattr(ex, key) is not None:
                raise ConfigError(f"execution.{key} applies to order strategies (OrderStrategy), "
                                  "which fill orders along a bar's path; target strategies "
                                  "check risk stops adverse-first")
        return
    pattern = config.topology.pattern
    if pattern not in ORDER_PATTERNS:
        raise ConfigError(f"topology.pattern: {pattern!r} runs target strategies; order "
                          f"strategies (OrderStrategy) run in {' or '.join(ORDER_PATTERNS)} "
                          "(signal generation and replay store targets, which orders are not)")
    for key, value in msgspec.structs.asdict(config.risk).items():
        if value is not None:
            raise ConfigError(f"risk.{key}: an order strategy attaches its exits to its orders "
                              "(ctx.buy(sl=, tp=, trail=)); the portfolio's risk limits do not "
                              "apply to it")
    sizing = config.portfolio.sizing
    extra = {k: v for k, v in sizing.items() if k not in ("type", "percent", "whole_units")}
    if sizing.get("type") != "percent_equity" or sizing.get("percent", 100) != 100 or extra:
        raise ConfigError("portfolio.sizing: an order carries its own size (ctx.buy(size=, "
                          "size_type=)); only portfolio.sizing.whole_units applies to order "
                          "strategies")
    if "next_close" in (config.execution.fill if isinstance(config.execution.fill, list)
                        else [config.execution.fill]):
        raise ConfigError("execution.fill: order strategies fill at next_open (an order is live "
                          "from the next bar) or same_close; next_close is for target strategies")


class _Backtest(msgspec.Struct, kw_only=True):
    topology: Topology
    portfolios: dict[str, PortfolioContainer]
    sources: list[BarSource | LiveSource]
    recorder: SignalRecorder | None = None


class _Settings:
    """The sizer, costs, risk limits and fill convention of one portfolio."""

    def __init__(self, config: StudyConfig) -> None:
        self.sizer = instantiate("sizing", config.portfolio.sizing, "portfolio.sizing")
        self.commission = instantiate("commission", config.execution.commission,
                                      "execution.commission")
        self.slippage = instantiate("slippage", config.execution.slippage, "execution.slippage")
        self.risk = RiskLimits(**msgspec.structs.asdict(config.risk))
        self.fill = config.execution.fill


class _Parts:
    """Makes the backtest's containers for the pattern factories
    (:mod:`admf.containers.factories`)."""

    def __init__(self, config: StudyConfig, points: Sequence[StrategyPoint],
                 store_runs: Mapping[str, Any] | None, window: Window | None,
                 keep: str = "configured", trade_from: int | None = None,
                 replay: Mapping[str, Callable[[BarBatch], Any]] | None = None,
                 feed: Feed | None = None) -> None:
        self.config = config
        self.feed = feed
        self.trade_from = trade_from
        self.replay = replay
        self.keep = keep
        self.points = {p.id: p for p in points}
        self.store_runs = store_runs or {}
        self.window = window
        self.ppy = bars_per_year(config)
        # every distinct combination of the risk/sizing/execution grid, built now
        # so a bad value fails before any data flows
        self.settings = {p.id: _Settings(apply_downstream(config, p.portfolio))
                         for p in points}
        self.sources: list[BarSource | LiveSource] = []
        data = config.data  # the sources send resampled bars when data.resample is set
        self.interval_check = IntervalCheck(parse_duration(data.bar_timeframe), data.bar_timeframe,
                                            data.calendar,
                                            key="data.resample" if data.resample else "data.timeframe")
        self.portfolios: dict[str, PortfolioContainer] = {}
        self.recorder: SignalRecorder | None = None

    def source(self, name: str, symbol: str) -> BarSource:
        # File parsing releases the GIL, so a worker thread overlaps it with the
        # strategy and portfolio work; numpy generation of synthetic bars holds
        # it between its many short calls, and threading it ran 60% slower.
        data = self.config.data
        files = data.source != "synthetic"  # synthetic bars follow the timeframe by construction
        source = BarSource(name, bar_stream(self.config, symbol, self.window), threaded=files,
                           interval_check=self.interval_check if files else None,
                           origin=data.path_for(symbol) if files else None)
        self.sources.append(source)
        return source

    def live_source(self, name: str) -> LiveSource:
        if self.feed is None:
            raise ConfigError("topology.pattern 'live' reads bars an application feeds: run it "
                              "with admf.Runtime(config, feed=...)")
        source = LiveSource(name, self.feed)
        self.sources.append(source)
        return source

    def strategy_bank(self, name: str) -> StrategyContainer:
        labels = {p.signal_id: strategy_label(p) for p in self.points.values()}
        return StrategyContainer(name, self.strategy_factories(), fanout=self.fanout(),
                                 labels=labels)

    def strategy_factories(self) -> list[tuple[str, Callable[[], Any]]]:
        """One factory per distinct strategy half (its signals are computed once)."""
        return [(sid, strategy_factory(p)) for sid, p in self.halves().items()]

    def halves(self) -> dict[str, StrategyPoint]:
        """Strategy half id -> its first point: each half's signals are computed once."""
        halves: dict[str, StrategyPoint] = {}
        for point in self.points.values():
            halves.setdefault(point.signal_id, point)
        return halves

    def signal_recorder(self, name: str) -> SignalRecorder:
        self.recorder = SignalRecorder(name)
        return self.recorder

    def signal_replayer(self, name: str) -> SignalReplayer:
        """Stored signals in place of the strategies: ``replay`` when the caller
        gives players, else read from ``signals.store`` for this run's window
        when the replayer initializes (building the topology reads nothing)."""
        replay = self.replay
        if replay is not None:
            return SignalReplayer(name, lambda: replay, fanout=self.fanout())
        from .signals.replay import stored_players

        config, window, halves = self.config, self.window, list(self.halves().values())
        return SignalReplayer(name, lambda: stored_players(config, halves, window=window),
                              fanout=self.fanout())

    def fanout(self) -> dict[str, list[str]]:
        """Strategy half id -> the ids of the portfolios its signals feed."""
        out: dict[str, list[str]] = {}
        for pid, point in self.points.items():
            out.setdefault(point.signal_id, []).append(pid)
        return out

    def kernel(self, point_id: str) -> ExecutionKernel:
        """A fresh execution kernel for order strategy point ``point_id``."""
        config = self.config
        settings = self.settings[point_id]
        execution = config.execution
        return ExecutionKernel(
            config.portfolio.initial_cash, commission=settings.commission,
            slippage=settings.slippage, intrabar=execution.intrabar or "ohlc",
            limit_fill=execution.limit_fill or "touch",
            volume_share=getattr(settings.slippage, "limit", None), fill=settings.fill,
            whole_units=bool(getattr(settings.sizer, "whole_units", False)),
            direction=self.points[point_id].direction,
            margin=Margin(*terms) if (terms := margin_terms(config.portfolio)) else None)

    def broker(self, name: str, point_id: str) -> BrokerContainer:
        return BrokerContainer(name, SimulatedBroker(self.kernel(point_id)))

    def order_portfolio(self, name: str, point_id: str, *, remote: bool = False) -> OrderTrader:
        config = self.config
        point = self.points[point_id]
        kernel = self.kernel(point_id)
        if remote:  # the strategy side's view; the broker container holds the kernel
            if kernel.fill != "next_open":
                raise ConfigError("execution.fill: a strategy trading through a broker actor "
                                  "fills at next_open (a same_close fill happens inside "
                                  "on_bar, before any broker could answer)")
            kernel = KernelProxy(config.portfolio.initial_cash, whole_units=kernel.whole_units,  # type: ignore[assignment]
                                 direction=kernel.direction, leverage=kernel.leverage)  # type: ignore[assignment]
        run = self.store_runs.get(point_id)
        if self.keep == "summary":
            equity_sink = trade_sink = fill_sink = None
        else:
            equity_sink, signal_sink = curve_sinks(config, run, collect=self.keep == "curves")
            if signal_sink is not None:  # an order strategy gives no targets to keep
                signal_sink.abort()
            streamed = config.results.storage == "disk" and self.keep == "configured"
            trade_sink = run.table_writer("trades", TRADE_SCHEMA) if run and streamed else None
            fill_sink = (run.table_writer("fills", FILL_SCHEMA) if run and streamed
                         else MemorySink(FILL_COLUMNS))
        container = OrderTrader(name, config.data.symbols, strategy_factory(point), kernel,
                                label=strategy_label(point),
                                initial_cash=config.portfolio.initial_cash,
                                periods_per_year=self.ppy,
                                close_at_end=config.portfolio.close_at_end,
                                equity_sink=equity_sink, trade_sink=trade_sink,
                                fill_sink=fill_sink, trade_from=self.trade_from)
        self.portfolios[point_id] = container  # type: ignore[assignment]
        return container

    def portfolio(self, name: str, point_id: str) -> PortfolioContainer:
        config = self.config
        settings = self.settings[point_id]
        engine = PortfolioEngine(point_id, config.data.symbols,
                                 initial_cash=config.portfolio.initial_cash, sizer=settings.sizer,
                                 commission=settings.commission, slippage=settings.slippage,
                                 risk=settings.risk, fill=settings.fill,
                                 periods_per_year=self.ppy)
        run = self.store_runs.get(point_id)
        if self.keep == "summary":  # a training run: only its metrics matter
            equity_sink = signal_sink = trade_sink = None
        else:
            equity_sink, signal_sink = curve_sinks(config, run, collect=self.keep == "curves")
            streamed = config.results.storage == "disk" and self.keep == "configured"
            trade_sink = run.table_writer("trades", TRADE_SCHEMA) if run and streamed else None
        container = PortfolioContainer(name, engine, close_at_end=config.portfolio.close_at_end,
                                       equity_sink=equity_sink, signal_sink=signal_sink,
                                       trade_sink=trade_sink, trade_from=self.trade_from)
        self.portfolios[point_id] = container
        return container


def build_backtest(config: StudyConfig, points: Sequence[StrategyPoint],
                   store_runs: Mapping[str, Any] | None = None,
                   window: Window | None = None, keep: str = "configured",
                   trade_from: int | None = None,
                   replay: Mapping[str, Callable[[BarBatch], Any]] | None = None,
                   pattern: str | None = None, feed: Feed | None = None) -> _Backtest:
    """The backtest topology for ``points`` over ``window`` of the data, built
    from the pattern ``topology.pattern`` (the built-in ``backtest`` unless the
    user names their own); ``store_runs`` maps point ids to result-store run
    directories for curves streamed to disk. Bars of ``window`` before
    ``trade_from`` only warm indicators up (see :func:`warmup_bars`).
    ``replay`` (strategy half id -> player) stands stored signals in for the
    strategies of a pattern with a ``signal_replayer``; ``pattern`` overrides
    ``topology.pattern``; ``feed`` is an application's bars for the ``live`` pattern."""
    parts = _Parts(config, points, store_runs, window, keep, trade_from, replay, feed)
    name = pattern or config.topology.pattern
    if name == "backtest" and points and order_study(points):
        name = "orders"  # order strategies: their own fused portfolios
    chosen = load_pattern(name, config.topology.paths)
    context = {"config": config, "parts": parts,
               "points": [{"index": i, "id": p.id} for i, p in enumerate(points)],
               "assign": {p.id: i for i, p in enumerate(points)}}
    topology = chosen.build(context)
    topology.name = config.name
    return _Backtest(topology=topology, portfolios=parts.portfolios, sources=parts.sources,
                     recorder=parts.recorder)


def tracer_for(config: StudyConfig, path: Path | None) -> Tracer | None:
    """The tracer ``config.tracing`` asks for, writing to ``path`` (in memory
    without one), or None when nothing is traced."""
    tracing = config.tracing
    if not tracing.enabled:
        return None
    if path is not None:  # appended, not with_suffix: run keys may contain dots (k=1.5)
        path = path.with_name(f"{path.name}.{tracing.format}")
    store = EventStore(path, fmt=tracing.format, max_events=tracing.max_events)
    rules = {pattern: msgspec.structs.asdict(rule) for pattern, rule in tracing.containers.items()}
    return Tracer(store, level=tracing.level, containers=rules)


async def run_points(config: StudyConfig, points: Sequence[StrategyPoint],
                     runs: Mapping[str, Any] | None = None, *, window: Window | None = None,
                     keep: str = "configured", instruments: Sequence[Any] = (),
                     trace: Path | None = None, traced: bool = True,
                     trade_from: int | None = None,
                     replay: Mapping[str, Callable[[BarBatch], Any]] | None = None,
                     feed: Feed | None = None, blocks: Sequence[int] | None = None
                     ) -> tuple[dict[str, PortfolioResult], int]:
    """Run ``points`` over ``config``'s data (or its ``window``) in one pass;
    with ``runs`` (point id -> result-store run directory) write each
    portfolio's files there. ``keep`` is what the caller needs back:
    ``configured`` (what ``results`` says), ``curves`` (also the equity curve
    and trades in memory, as a sequence's test window does) or ``summary``
    (only metrics: a training run writes just ``metrics.json``). With tracing
    on, the trace goes to ``trace`` (a file stem). ``replay`` maps each
    strategy half's id to a stored-signal player that stands in for the
    strategy (:mod:`admf.research.signals.replay`): the ``signal_replay``
    pattern runs then; with ``topology.pattern: signal_replay`` and no
    ``replay``, the players read ``signals.store``. ``feed`` (an
    application's bars, :class:`admf.Runtime`) runs the ``live`` pattern.
    ``blocks`` (start times) asks every portfolio for its returns' moments
    per time block (:meth:`~admf.components.metrics.RunningMetrics.track_blocks`),
    as a sweep's probability of backtest overfitting needs them."""
    tables = keep != "summary"
    backtest = build_backtest(config, points, runs if tables else None, window, keep,
                              trade_from, replay,
                              pattern="signal_replay" if replay is not None else
                              "live" if feed is not None else None, feed=feed)
    if blocks is not None:
        for container in backtest.portfolios.values():
            container.metrics.track_blocks(blocks)
    tracer = tracer_for(config, trace) if traced else None
    if tracer is not None:
        instruments = (*instruments, tracer)
    try:
        outcome: RunResult = await run_topology(backtest.topology, instruments=instruments)
    except ContainerError as exc:
        raise blamed(config, exc) from exc.__cause__
    finally:
        if tracer is not None:
            tracer.store.close()
    results = {pid: outcome.collected[c.name] for pid, c in backtest.portfolios.items()}
    if blocks is not None:
        for pid, container in backtest.portfolios.items():
            moments = container.metrics.return_blocks()
            results[pid] = msgspec.structs.replace(
                results[pid], return_blocks=None if moments is None else moments.tolist())
    if runs:
        write_runs(runs, points, results, config, tables=tables)
    return results, sum(s.rows for s in backtest.sources)


async def run_study(config: StudyConfig, *, write: bool = True, store: ResultStore | None = None,
                    phase: str = "main", resume: ResultStore | None = None,
                    instruments: Sequence[Any] = (), progress: Progress | None = None,
                    feed: Feed | None = None) -> StudyResult:
    """Run ``config`` once over its data (every grid point in one pass).

    With ``write``, results go to a new run directory, or to phase ``phase``
    of ``store`` when a workflow passes its own store (the workflow then
    writes the manifest). ``resume`` is an interrupted run's store (see
    :func:`resume_store`): points whose ``metrics.json`` exists are read back,
    the rest run. ``feed`` stands an application's bars in for ``data``
    (:class:`admf.Runtime`; results are kept in memory, not written)."""
    if feed is not None and (write or store is not None or resume is not None):
        raise ConfigError("a study fed live bars keeps its results in memory: run it with "
                          "write=False (admf.Runtime(config, feed=..., write=False))")
    started = time.perf_counter()
    points = strategy_points(config)
    check_components(config, points)
    if config.topology.pattern == "signal_replay":  # the stored signals, before any writing
        from .signals.replay import check_stored

        check_stored(config, [(points, None)])
    store, owner = open_store(config, write=write, store=store, resume=resume)
    phase_store = store.phase(phase) if store is not None else None
    done = phase_store.completed_runs() if resume is not None and phase_store else set()
    todo = [p for p in points if run_key(p.id) not in done]
    runs = {p.id: phase_store.run(run_key(p.id)) for p in todo} if phase_store else None
    trace = phase_store.trace_dir() / "events" if phase_store and config.tracing.enabled else None
    kept = tracer_for(config, None) if phase_store is None else None  # traced in memory
    if progress is not None:
        total = int(config.data.bars) * len(config.data.symbols) if config.data.bars else None
        instruments = (*instruments, BarProgress(progress, total))
    if kept is not None:
        instruments = (*instruments, kept)
    if todo:
        results, bars = await run_points(config, todo, runs, instruments=instruments, trace=trace,
                                         traced=kept is None, feed=feed)
    else:  # every portfolio finished before the interruption: count the bars it read
        results = {}
        bars = sum(len(b) for symbol in config.data.symbols for b in bar_stream(config, symbol)())
    for point in points:
        if point.id not in results:  # finished before the interruption
            results[point.id] = completed_result(phase_store.run(run_key(point.id)).path, point)  # type: ignore[union-attr]
    results = {p.id: results[p.id] for p in points}
    seconds = time.perf_counter() - started
    if phase_store is not None:
        phase_store.write_summary({
            "portfolios": {pid: {"params": points_by_id(points)[pid].params,
                                 "portfolio_params": points_by_id(points)[pid].portfolio,
                                 "metrics": res.metrics.to_json_dict()}
                           for pid, res in results.items()},
            "bars": bars, "seconds": seconds, "resumed": sorted(done),
        })
    if owner and store is not None:
        finish_store(store, config, [phase])
    if store is not None and config.results.storage == "disk":  # summaries only
        results = {pid: msgspec.structs.replace(res, trades=None) for pid, res in results.items()}
    if kept is not None:
        kept.store.close()
    return StudyResult(name=config.name, run_id=store.run_id if store else None,
                       path=store.path if store else None, portfolios=results,
                       points={p.id: p for p in points}, seconds=seconds, bars=bars,
                       trace=kept.store.events if kept is not None else None)


def points_by_id(points: Sequence[StrategyPoint]) -> dict[str, StrategyPoint]:
    return {p.id: p for p in points}


