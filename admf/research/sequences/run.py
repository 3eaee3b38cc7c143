"""Run a study's sequence: parameter sweep, train/test, walk-forward, k-fold,
Monte Carlo. Every number comes from real runs over the right bars.

The runs themselves are tasks (:mod:`admf.research.tasks`) handed to an executor.
A window, fold or split restricts
the bars its runs read (``study.bar_stream``): a train run never sees a test
bar. Train runs warm their indicators up inside their window (cold start);
a test window's indicators warm up on the ``sequence.warmup`` bars just
before it (past bars only, never traded, none at or after the window's end),
so it can trade from its first bar.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import numpy as np

from ...components.metrics import Metrics, compute_metrics
from ...data.timeparse import format_ns
from ...errors import ConfigError
from ...runtime.instrument import Progress
from ..config import StudyConfig
from ..config.grid import apply_downstream
from ..executors import make_executor
from ..results.runs import finish_store, open_store
from ..results.store import ResultStore
from ..points import StrategyPoint, expand_points, warmup_bars
from ..study import bars_per_year, check_components
from ..tasks import PointSummary, Runner, estimated_bars, flat, timeline
from .plan import (noisy_points, run_plan, scored_spans, sequence_points, sequence_windows, span_of,
                   test_span)
from .windows import (LOWER_IS_BETTER, Span, Window, bootstrap_paths, cpcv_paths, cpcv_splits,
                      percentiles, rank_points)

__all__ = ("SequenceResult", "run_sequence", "strategy_of")


def strategy_of(config: StudyConfig, point: StrategyPoint | None) -> dict[str, Any] | None:
    """The whole strategy a chosen point stands for, as a ``strategies`` item:
    its type, params and direction (and name, if the user gave one), and as
    ``settings`` the risk, sizing and execution values it was chosen with
    from a grid (a component's parameter with the component's type), so that
    ``strategies: "{explore.best}"`` runs exactly the winner, whatever its type."""
    if point is None:
        return None
    out: dict[str, Any] = {"type": point.type, "params": dict(point.params),
                           "direction": point.direction}
    if point.portfolio:
        settings: dict[str, Any] = {}
        effective = apply_downstream(config, point.portfolio)
        for key, value in point.portfolio.items():
            section, *rest = key.split(".")
            if len(rest) == 2:  # a component's parameter: read with that component's type
                spec = getattr(getattr(effective, section), rest[0])
                settings.setdefault(f"{section}.{rest[0]}.type", spec["type"])
            settings[key] = value
        out["settings"] = settings
    index = int(point.where.rsplit("[", 1)[-1].rstrip("]")) if "[" in point.where else None
    if index is not None and index < len(config.strategies) and config.strategies[index].name:
        out = {"name": config.strategies[index].name, **out}
    return out


class SequenceResult(msgspec.Struct, kw_only=True):
    """What a sequence produced. ``metrics`` is the headline (the best point's
    for a sweep, out-of-sample for walk-forward, test for train/test, mean
    test for k-fold, distributions for Monte Carlo)."""

    name: str
    type: str
    run_id: str | None
    path: Any
    metrics: dict[str, Any]
    best_params: dict[str, Any] | None
    best: dict[str, Any] | None
    """The chosen strategy whole (see :func:`strategy_of`); ``best_params`` is its params."""
    table: list[dict[str, Any]]
    aggregate: dict[str, Any]
    equity: dict[str, np.ndarray] | None
    seconds: float
    shape: str = ""
    """How the result reads when ``type`` is a plugin sequence (``walk_forward``
    or ``k_fold``); "" for a built-in type, which is its own shape."""

    @property
    def kind(self) -> str:
        """The built-in sequence type this result reads like (``type`` itself,
        or a plugin sequence's shape)."""
        return self.shape or self.type

    def __repr__(self) -> str:
        return f"SequenceResult({self.name!r}, {self.type}, run_id={self.run_id!r})"

    def outputs(self) -> dict[str, Any]:
        """What a workflow phase exposes to later phases."""
        return {"metrics": self.metrics, "best_params": self.best_params, "best": self.best,
                "aggregate": self.aggregate, "table": self.table}


def _objective(summary: PointSummary, objective: str) -> float:
    try:
        return float(getattr(summary.metrics, objective))
    except AttributeError:
        raise ConfigError(f"sequence.objective: {objective!r} is not a metric; choose one of "
                          f"{', '.join(Metrics.__struct_fields__)}") from None


def _best(summaries: list[PointSummary], objective: str) -> tuple[PointSummary, list[str]]:
    order = rank_points({s.id: _objective(s, objective) for s in summaries}, objective)
    by_id = {s.id: s for s in summaries}
    return by_id[order[0]], order


def _row(summary: PointSummary, settings: Mapping[str, Any] | None = None,
         **extra: Any) -> dict[str, Any]:
    """A table row: ``extra``, the portfolio id, its params and grid
    settings (dotted keys), its metrics."""
    return {**extra, "portfolio": summary.id, **summary.params, **(settings or {}),
            **summary.metrics.to_json_dict()}


async def run_sequence(config: StudyConfig, *, write: bool = True, store: ResultStore | None = None,
                       phase: str = "main", resume: ResultStore | None = None,
                       progress: Progress | None = None) -> SequenceResult:
    """Run ``config.sequence`` and write its results (see module docstring).
    With ``resume`` (an interrupted run's store), runs already complete on
    disk are read back instead of run again."""
    started = time.perf_counter()
    points = sequence_points(config)
    check_components(config, points)
    if config.topology.pattern == "signal_replay":  # every run's stored signals, up front
        from ..signals.replay import check_stored

        check_stored(config, run_plan(config, points))
    if config.tracing.enabled and not write:
        raise ConfigError("tracing: a sequence's runs write their traces to <phase>/trace/ in the "
                          "results directory; run it with write=True, or set tracing.level: none")
    kind = config.sequence.shape  # a plugin sequence runs as the built-in it reads like
    passes = {"parameter_sweep": 1, "monte_carlo": int(config.sequence.runs or 100)
              if config.sequence.method == "parameter_noise"
              else 2 if config.sequence.over else 1}.get(kind, 2)
    line = _checked_windows(config)  # a window that cannot be cut fails before any file
    # the executor first: a process pool refuses an unguarded script before
    # the results directory exists (see executors.check_main_guard)
    executor = make_executor(config.executor.kind, config.executor.workers,
                             runs=len(points) * passes,
                             work=estimated_bars(config) * len(points) * passes,
                             address=config.executor.address)
    try:
        store, owner = open_store(config, write=write, store=store, resume=resume)
        runner = Runner(config, executor, store, phase, progress)
        runner.line = line
        handler = {"parameter_sweep": _sweep, "train_test": _train_test,
                   "walk_forward": _walk_forward, "k_fold": _k_fold, "cpcv": _cpcv,
                   "monte_carlo": _monte_carlo}[kind]
        result = await handler(config, points, runner)
    finally:
        await executor.aclose()
    result = msgspec.structs.replace(result, seconds=time.perf_counter() - started,
                                     run_id=store.run_id if store else None,
                                     path=store.path if store else None)
    if store is not None:
        phase_store = store.phase(phase)
        shape = {"shape": kind} if config.sequence.plugin else {}
        phase_store.write_summary({"type": config.sequence.type, **shape, "metrics": result.metrics,
                                   "best_params": result.best_params, "best": result.best,
                                   "table": result.table,
                                   "seconds": result.seconds})
        phase_store.write_aggregate(result.aggregate)
        if owner:
            finish_store(store, config, [phase])
    return result


WINDOWED = ("train_test", "walk_forward", "k_fold", "cpcv")
"""The shapes whose runs are cut into train/test windows of the timeline."""


def _checked_windows(config: StudyConfig) -> np.ndarray | None:
    """The timeline of a windowed sequence (or of the walk-forward a Monte
    Carlo runs over), its windows and their inner folds checked; None for a
    sequence without windows."""
    seq = config.sequence.inner() or config.sequence
    if seq.shape not in WINDOWED:
        return None
    nested = msgspec.structs.replace(config, sequence=seq)
    line = timeline(config)
    for window in sequence_windows(nested, line):
        scored_spans(nested, line, window, 0)
    return line


def _line(config: StudyConfig, runner: Runner) -> np.ndarray:
    return runner.line if runner.line is not None else timeline(config)


def _result(config: StudyConfig, **fields: Any) -> SequenceResult:
    defaults = {"best_params": None, "best": None, "table": [], "aggregate": {}, "equity": None}
    seq = config.sequence
    return SequenceResult(name=config.name, type=seq.type, run_id=None, path=None,
                          seconds=0.0, shape=seq.shape if seq.plugin else "",
                          **{**defaults, **fields})


PBO_BLOCKS = 16
"""The blocks a sweep's timeline is cut into for its probability of backtest
overfitting: C(16, 8) = 12,870 in-sample/out-of-sample splits (Bailey et al.
use 16); fewer, still even, when the data has under 2 bars per block."""


PBO_MAX_TRIALS = 20_000
"""A sweep of more points reports no PBO: its 12,870 splits rank every point
(about 9 s at this size), and the runs' block moments would be held for all."""


def pbo_starts(line: np.ndarray, blocks: int = PBO_BLOCKS) -> tuple[int, ...] | None:
    """The start times of ``blocks`` blocks of consecutive bars of ``line``
    (``numpy.array_split``'s cut), fewer when it is short; None under 4 bars."""
    blocks = min(blocks, (len(line) // 2) // 2 * 2)
    if blocks < 2:
        return None
    return tuple(int(line[part[0]]) for part in np.array_split(np.arange(len(line)), blocks))


async def _sweep(config: StudyConfig, points: list[StrategyPoint], runner: Runner) -> SequenceResult:
    starts = pbo_starts(_line(config, runner)) if 1 < len(points) <= PBO_MAX_TRIALS else None
    summaries = flat(await runner.run(runner.tasks(points, None, "", tables=True, curves=False,
                                                   blocks=starts)))
    objective = config.sequence.objective
    best, order = _best(summaries, objective)
    by_id = {s.id: s for s in summaries}
    settings = {p.id: p.portfolio for p in points}
    table = [_row(by_id[pid], settings.get(pid), rank=i + 1) for i, pid in enumerate(order)]
    return _result(config, metrics=best.metrics.to_json_dict(), best_params=best.params,
                   best=strategy_of(config, _point(points, best.id)),
                   table=table, aggregate={"objective": objective, "points": len(summaries),
                                           "best": best.id, "ranking": order,
                                           "skipped": expand_points(config)[1],
                                           "deflated_sharpe": _deflated(config, summaries,
                                                                        best, runner),
                                           "pbo": _pbo(summaries, starts)})


def _pbo(summaries: list[PointSummary], starts: tuple[int, ...] | None) -> dict[str, Any]:
    """The sweep's probability of backtest overfitting, every point a trial,
    from the returns' moments each run kept per block of the timeline."""
    from .overfitting import pbo_of_blocks

    out: dict[str, Any] = {"trials": len(summaries), "blocks": len(starts) if starts else 0}
    if starts is None:
        return {**out, "value": None, "why": f"a sweep of one point, of more than "
                                             f"{PBO_MAX_TRIALS:,} points, or under 4 bars"}
    missing = [s.id for s in summaries if s.return_blocks is None]
    if missing:
        return {**out, "value": None, "why": f"{len(missing)} point(s) have no return blocks "
                                             f"(equity reached zero, or a run resumed from an "
                                             f"older version), e.g. {missing[0]!r}"}
    stats = np.asarray([s.return_blocks for s in summaries], dtype=np.float64)  # trials, blocks, 3
    found = pbo_of_blocks(stats.transpose(1, 2, 0))
    value = found["value"]
    return {**out, "value": None if math.isnan(value) else value,
            "median_logit": None if math.isnan(found["median_logit"]) else found["median_logit"],
            "combinations": found["combinations"]}


def _deflated(config: StudyConfig, summaries: list[PointSummary], best: PointSummary,
              runner: Runner) -> dict[str, Any]:
    """The deflated Sharpe ratio of the sweep's winner (by Sharpe ratio, per
    bar), with every point as a trial. Skewness and kurtosis come from the
    winner's equity curve when the run kept one on disk; otherwise normal
    returns are assumed (and the result says so)."""
    from .overfitting import deflated_sharpe_ratio

    root = math.sqrt(bars_per_year(config))
    sharpes = [float(s.metrics.sharpe_ratio) / root for s in summaries
               if math.isfinite(float(s.metrics.sharpe_ratio))]
    top = max(summaries, key=lambda s: (math.isfinite(float(s.metrics.sharpe_ratio)),
                                        float(s.metrics.sharpe_ratio)
                                        if math.isfinite(float(s.metrics.sharpe_ratio)) else 0.0))
    out: dict[str, Any] = {"point": top.id, "trials": len(sharpes)}
    if len(sharpes) < 2 or not math.isfinite(float(top.metrics.sharpe_ratio)):
        return {**out, "value": None}
    skew, kurt, source = 0.0, 3.0, "assumed normal"
    returns = _returns_on_disk(runner, top.id, config.portfolio.initial_cash)
    if returns is not None and len(returns) > 3 and returns.std() > 0:
        skew, kurt, source = (*_moments(returns), "returns")
    variance = float(np.var(sharpes, ddof=1))
    observations = int(top.metrics.bars)
    value = deflated_sharpe_ratio(float(top.metrics.sharpe_ratio) / root, trials=len(sharpes),
                                  variance=variance, observations=observations,
                                  skewness=skew, kurtosis=kurt)
    return {**out, "value": value, "sharpe_per_bar": float(top.metrics.sharpe_ratio) / root,
            "sharpe_variance": variance, "observations": observations, "skewness": skew,
            "kurtosis": kurt, "moments_from": source}


def _moments(returns: np.ndarray) -> tuple[float, float]:
    """Skewness and (non-excess) kurtosis of ``returns`` from the population
    central moments, ``m3 / m2**1.5`` and ``m4 / m2**2``, as Bailey and López
    de Prado use them (no small-sample correction)."""
    centred = returns - returns.mean()
    m2 = float(np.mean(centred ** 2))
    return float(np.mean(centred ** 3)) / m2 ** 1.5, float(np.mean(centred ** 4)) / m2 ** 2


def _returns_on_disk(runner: Runner, pid: str, cash: float) -> np.ndarray | None:
    if runner.store is None:
        return None
    from ..results.runs import run_key
    from ..results.store import read_table

    path = runner.store.phase(runner.phase).run(run_key(pid)).path / "equity.parquet"
    if not path.is_file():
        return None
    equity = read_table(path).column("equity").to_numpy()
    previous = np.concatenate([[cash], equity[:-1]])
    return equity / previous - 1


TEST_UNITS = {"k_fold": "folds", "train_test": "test runs", "cpcv": "test groups"}
"""What the test runs of a windowed sequence are counted as (else ``windows``)."""


async def _train_then_test(config: StudyConfig, points: list[StrategyPoint], runner: Runner,
                           line: np.ndarray, windows: list[Window]) -> list[dict[str, Any]]:
    """For every window: the grid on its train span(s) (or, with
    ``sequence.select``, on the folds of its train span), the winner on its
    test span."""
    objective = config.sequence.objective
    select = config.sequence.selection()
    warm = warmup_bars(config, points)
    train_tasks, owners = [], []
    shared: dict[tuple[Span, int | None], int] = {}  # a span several windows share (cpcv) runs once
    users: list[list[tuple[int, int]]] = []
    scored: dict[int, list[Span]] = {}
    for w in windows:
        for i, (span, warm_from) in enumerate(scored_spans(config, line, w, warm)):
            scored.setdefault(w.index, []).append(span)
            if (span, warm_from) in shared:
                users[shared[span, warm_from]].append((w.index, span.bars))
                continue
            shared[span, warm_from] = len(users)
            users.append([(w.index, span.bars)])
            kind = "fold" if select else "train"
            tasks = runner.tasks(points, span_of(line, span), f"{w.key}-{kind}{i}-",
                                 tables=False, curves=False, warm_from=warm_from)
            train_tasks.extend(tasks)
            owners.extend([shared[span, warm_from]] * len(tasks))
    trained = await runner.run(train_tasks, "fold runs" if select else "train runs")
    scores: dict[int, dict[str, list[tuple[float, int]]]] = {}
    summaries: dict[int, dict[str, PointSummary]] = {}
    for owner, chunk in zip(owners, trained):
        for index, bars in users[owner]:
            for s in chunk:
                scores.setdefault(index, {}).setdefault(s.id, []).append(
                    (_objective(s, objective), bars))
                summaries.setdefault(index, {}).setdefault(s.id, s)
    chosen, test_tasks = {}, []
    combine = _worst(objective) if select and select.score == "worst" else _weighted
    for w in windows:
        combined = {pid: combine(v) for pid, v in scores[w.index].items()}
        best_id = rank_points(combined, objective)[0]
        chosen[w.index] = (best_id, combined[best_id])
        point = next(p for p in points if p.id == best_id)
        span, warm_from = test_span(line, w, warm)
        test_tasks.extend(runner.tasks([point], span, f"{w.key}-test-", tables=True,
                                       curves=True, close_at_end=True, warm_from=warm_from))
    tested = await runner.run(test_tasks, TEST_UNITS.get(config.sequence.shape, "windows"))
    rows = []
    for w, chunk in zip(windows, tested):
        best_id, score = chosen[w.index]
        test = chunk[0]
        row = {
            "window": w.index,
            "train": [[format_ns(int(line[s.first])), format_ns(int(line[s.last]))] for s in w.train],
            "test": [format_ns(int(line[w.test.first])), format_ns(int(line[w.test.last]))],
            "train_bars": sum(s.bars for s in w.train), "test_bars": w.test.bars,
            "params": test.params, "settings": dict(_point(points, best_id).portfolio),
            "train_objective": score,
            "train_metrics": summaries[w.index][best_id].metrics.to_json_dict()
            if len(w.train) == 1 and not select else None,
            "test_metrics": test.metrics.to_json_dict(), "_summary": test,
            "_best": strategy_of(config, _point(points, best_id)),
        }
        if select:  # the winner's objective on each fold, beside the fold's span
            row["folds"] = [{"span": [format_ns(int(line[f.first])), format_ns(int(line[f.last]))],
                             "bars": f.bars, "objective": value}
                            for f, (value, _) in zip(scored[w.index], scores[w.index][best_id])]
        rows.append(row)
    return rows


def _weighted(values: list[tuple[float, int]]) -> float:
    """Bar-weighted mean of an objective over train spans (NaN if any is NaN)."""
    total = sum(bars for _, bars in values)
    return sum(v * bars for v, bars in values) / total


def _worst(objective: str) -> Callable[[list[tuple[float, int]]], float]:
    """The worst of a point's fold objectives (the largest of a minimised
    objective, else the smallest); NaN if any fold is NaN."""
    pick = max if objective in LOWER_IS_BETTER else min

    def worst(values: list[tuple[float, int]]) -> float:
        found = [v for v, _ in values]
        return math.nan if any(math.isnan(v) for v in found) else float(pick(found))

    return worst


def _public(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]


async def _train_test(config: StudyConfig, points: list[StrategyPoint], runner: Runner) -> SequenceResult:
    line = _line(config, runner)
    rows = await _train_then_test(config, points, runner, line, sequence_windows(config, line))
    row = rows[0]
    return _result(config, metrics=row["test_metrics"], best_params=row["params"],
                   best=row["_best"], table=_public(rows),
                   aggregate={"train": row["train_metrics"], "test": row["test_metrics"],
                              "train_span": row["train"], "test_span": row["test"]})


async def _walk_forward(config: StudyConfig, points: list[StrategyPoint], runner: Runner) -> SequenceResult:
    line = _line(config, runner)
    rows = await _train_then_test(config, points, runner, line, sequence_windows(config, line))
    stitched, metrics = _stitch(config, [r["_summary"] for r in rows])
    return _result(config, metrics=metrics.to_json_dict(), best_params=rows[-1]["params"],
                   best=rows[-1]["_best"], table=_public(rows), equity=stitched,
                   aggregate={"windows": len(rows), "out_of_sample": metrics.to_json_dict(),
                              "chosen_params": [r["params"] for r in rows]})


def _stitch(config: StudyConfig, tests: list[PointSummary]) -> tuple[dict[str, np.ndarray], Metrics]:
    """Chain the test windows' equity curves into one out-of-sample curve
    (each window's returns compounded onto the capital the previous left)."""
    cash = config.portfolio.initial_cash
    stamps, values, exposures, pnls, returns, opens = [], [], [], [], [], []
    capital, notional = cash, 0.0
    for test in tests:
        ts, eq, exposure = test.equity  # type: ignore[misc]
        scale = capital / cash  # the window traded `cash`; the stitched curve holds `capital`
        stamps.append(ts)
        values.append(eq * scale)
        exposures.append(exposure)
        capital = float(values[-1][-1]) if len(eq) else capital
        notional += test.traded_notional * scale
        trades = test.trades or {}
        pnls.append(np.asarray(trades.get("pnl", [])) * scale)
        returns.append(np.asarray(trades.get("return", [])))
        opens.append(np.asarray(trades.get("open", []), dtype=bool))
    timestamp, equity = np.concatenate(stamps), np.concatenate(values)
    ppy = bars_per_year(config)
    metrics = compute_metrics(timestamp=timestamp, equity=equity,
                              trades={"pnl": np.concatenate(pnls), "return": np.concatenate(returns),
                                      "open": np.concatenate(opens)},
                              exposure=np.concatenate(exposures), traded_notional=notional,
                              periods_per_year=ppy, initial_equity=cash)
    return {"timestamp": timestamp, "equity": equity}, metrics


async def _k_fold(config: StudyConfig, points: list[StrategyPoint], runner: Runner) -> SequenceResult:
    line = _line(config, runner)
    rows = await _train_then_test(config, points, runner, line, sequence_windows(config, line))
    fields = rows[0]["test_metrics"].keys()
    mean = {k: _mean([r["test_metrics"][k] for r in rows]) for k in fields}
    spread = {k: percentiles([r["test_metrics"][k] for r in rows if r["test_metrics"][k] is not None])
              for k in fields}
    winner = _most_chosen([r["_best"] for r in rows])
    return _result(config, metrics=mean, best_params=winner["params"], best=winner,
                   table=_public(rows), aggregate={"folds": len(rows), "test_mean": mean,
                                                   "test_distribution": spread})


async def _cpcv(config: StudyConfig, points: list[StrategyPoint], runner: Runner) -> SequenceResult:
    """Combinatorial purged cross-validation: every split selects on its
    purged, embargoed train groups and tests the winner on each of its test
    groups; the ``C(N-1, k-1)`` paths stitch one test result per group, in
    time order, into an out-of-sample curve each (see :func:`cpcv_paths`)."""
    seq = config.sequence
    line = _line(config, runner)
    groups, splits = cpcv_splits(line, int(seq.groups), int(seq.test_groups),
                                 int(seq.purge or 0), int(seq.embargo or 0))
    windows = [w for split in splits for w in split.windows]
    rows = await _train_then_test(config, points, runner, line, windows)
    by_index = {r["window"]: r for r in rows}
    paths = cpcv_paths(len(groups), splits)
    for split in splits:
        for w, g in zip(split.windows, split.test):
            by_index[w.index].update(split=split.index, group=g,
                                     paths=[p for p, path in enumerate(paths) if w.index in path])
    curves, path_metrics = [], []
    for path in paths:
        curve, metrics = _stitch(config, [by_index[i]["_summary"] for i in path])
        curves.append(curve)
        path_metrics.append(metrics.to_json_dict())
    fields = path_metrics[0].keys()
    mean = {k: _mean([m[k] for m in path_metrics]) for k in fields}
    spread = {k: percentiles([m[k] for m in path_metrics if m[k] is not None]) for k in fields}
    winner = _most_chosen([r["_best"] for r in rows])
    return _result(config, metrics=mean, best_params=winner["params"], best=winner,
                   table=_public(rows), equity=curves[0],
                   aggregate={"groups": len(groups), "test_groups": int(seq.test_groups),
                              "splits": len(splits), "paths": len(paths),
                              "path_windows": paths, "path_metrics": path_metrics,
                              "distributions": spread, "path_mean": mean})


def _point(points: list[StrategyPoint], pid: str) -> StrategyPoint:
    return next(p for p in points if p.id == pid)


def _mean(values: list[Any]) -> float:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _most_chosen(params: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [msgspec.json.encode(p, order="sorted") for p in params]
    winner = max(range(len(keys)), key=lambda i: (keys.count(keys[i]), -i))
    return params[winner]


async def _monte_carlo(config: StudyConfig, points: list[StrategyPoint], runner: Runner) -> SequenceResult:
    seq = config.sequence
    runs = int(seq.runs or 100)
    inner = seq.inner()
    if inner is not None:
        return await _monte_carlo_over(config, inner, points, runner)
    if len(points) != 1:
        raise ConfigError(f"sequence monte_carlo studies one strategy point, got {len(points)} "
                          f"({', '.join(p.id for p in points[:3])}...); pick one, e.g. with a "
                          "parameter_sweep phase first and params: \"{phase.best_params}\"")
    if seq.method == "parameter_noise":
        draws = noisy_points(points, runs, float(seq.noise or 0.1), config.seed)
        summaries = flat(await runner.run(runner.tasks(draws, None, "", tables=False, curves=False),
                                          "draws"))
        values = {name: [getattr(s.metrics, name) for s in summaries]
                  for name in Metrics.__struct_fields__}
        table = [_row(s, draw=i) for i, s in enumerate(summaries)]
    else:
        base = flat(await runner.run(runner.tasks(points, None, "base-", tables=True, curves=True),
                                     "base runs"))
        ts, eq, _ = base[0].equity  # type: ignore[misc]
        values, table = _bootstrap(config, base[0].id, ts, eq, runs, runner.progress)
    distributions = {name: percentiles(v) for name, v in values.items()}
    return _result(config, metrics=distributions, table=table, best_params=points[0].params,
                   best=strategy_of(config, points[0]),
                   aggregate={"method": seq.method or "bootstrap_returns", "runs": runs,
                              "distributions": distributions})


async def _monte_carlo_over(config: StudyConfig, inner: Any, points: list[StrategyPoint],
                            runner: Runner) -> SequenceResult:
    """Monte Carlo over a nested sequence's out-of-sample curve: the inner
    walk-forward runs as it would alone (its windows, selection and stitching),
    then its stitched test returns, not a full-period run's, are resampled."""
    nested = msgspec.structs.replace(config, sequence=inner)
    walked = await _walk_forward(nested, points, runner)
    curve = walked.equity or {}
    runs = int(config.sequence.runs or 100)
    values, table = _bootstrap(config, f"{inner.type}-out-of-sample", curve["timestamp"],
                               curve["equity"], runs, runner.progress)
    distributions = {name: percentiles(v) for name, v in values.items()}
    return _result(config, metrics=distributions, table=table, best_params=walked.best_params,
                   best=walked.best, equity=walked.equity,
                   aggregate={"method": "bootstrap_returns", "runs": runs, "over": inner.type,
                              "distributions": distributions,
                              "out_of_sample": walked.aggregate.get("out_of_sample"),
                              "windows": walked.table})


CURVE_METRICS = ("total_return", "cagr", "volatility", "sharpe_ratio", "sortino_ratio",
                 "calmar_ratio", "max_drawdown", "max_drawdown_duration_bars",
                 "max_drawdown_duration_days", "final_equity")
"""What a resampled return path defines: trades, exposure and turnover belong
to the original run, not to a reshuffling of its returns."""


def _bootstrap(config: StudyConfig, source: str, ts: np.ndarray, eq: np.ndarray, runs: int,
               progress: Progress | None = None
               ) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """Resample the per-bar returns of equity curve ``eq`` (which starts from
    ``portfolio.initial_cash``) ``runs`` times, seeded, and compute the curve
    metrics of every resampled equity path; ``source`` names the curve."""
    ppy = bars_per_year(config)
    cash = config.portfolio.initial_cash
    values: dict[str, list[float]] = {name: [] for name in CURVE_METRICS}
    table = []
    returns = np.diff(np.concatenate([[cash], eq])) / np.concatenate([[cash], eq[:-1]])
    empty = {"pnl": np.empty(0), "return": np.empty(0)}
    for i, path in enumerate(bootstrap_paths(returns, runs, config.seed)):
        m = compute_metrics(timestamp=ts, equity=cash * np.cumprod(1 + path), trades=empty,
                            exposure=np.zeros(len(path)), traded_notional=0.0,
                            periods_per_year=ppy, initial_equity=cash).to_json_dict()
        for name in CURVE_METRICS:
            values[name].append(math.nan if m[name] is None else m[name])
        table.append({"portfolio": source, "draw": i, **{n: m[n] for n in CURVE_METRICS}})
        if progress is not None:
            progress(i + 1, runs, "draws")
    return values, table
