"""A results directory opened as the result API sees it, plus the bars.

The report is drawn from :class:`~admf.Run` objects (trades, equity read from
the run directories) and, for sequences, the
:class:`~admf._views.SequenceResultView` rebuilt from the phase's
``summary.json`` / ``aggregate.json`` (windows, stitched out-of-sample
record, Monte Carlo draws). Prices and indicator values are not stored with
a run: they are read again through the config's own data section, and
left out (with a note on the page) when the data is no longer there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._views import SequenceResultView
from ..components.metrics import Metrics
from ..errors import AdmfError, DataError
from ..research.config import StudyConfig, WorkflowConfig, load_config
from ..research.results.store import read_json, read_table
from ..research.results.view import Run, Table, read_runs
from ..research.sequences.run import SequenceResult
from ..research.sequences.windows import rank_points
from ..research.bars import bar_stream
from ..research.points import StrategyPoint, strategy_factory

__all__ = ("Phase", "Bars", "open_results", "bars_of", "indicators_of", "stitched")


@dataclass
class Phase:
    """One phase directory of a results directory, as the report reads it."""

    name: str
    kind: str
    runs: list[Run]
    objective: str
    config: StudyConfig | None
    view: SequenceResultView | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> Run | None:
        """The headline run (best point, out-of-sample record, Monte Carlo base)."""
        if self.view is not None:
            try:
                return self.view.best
            except AdmfError:
                return None
        if not self.runs:
            return None
        order = rank_points({r.key: _score(r, self.objective) for r in self.runs},
                            self.objective)
        return next(r for r in self.runs if r.key == order[0])

    def ranked(self) -> list[Run]:
        """The phase's runs, best first by the objective."""
        order = rank_points({r.key: _score(r, self.objective) for r in self.runs},
                            self.objective)
        by_key = {r.key: r for r in self.runs}
        return [by_key[k] for k in order]


def _score(run: Run, objective: str) -> float:
    value = getattr(run.metrics, objective, math.nan)
    return float(value) if isinstance(value, (int, float)) else math.nan


def open_results(root: Path) -> tuple[dict[str, Any], list[Phase], list[dict[str, Any]]]:
    """The manifest, the phases that have a directory (in run order) and, for
    a workflow, its phase table from ``summary.json`` (status, reasons)."""
    manifest = root / "manifest.json"
    if not manifest.is_file():
        raise DataError(f"{root} has no manifest.json: not a complete admf run")
    info: dict[str, Any] = read_json(manifest)
    config: StudyConfig | WorkflowConfig | None
    try:
        config = load_config(root / "config.yaml")
    except AdmfError:
        config = None
    workflow: list[dict[str, Any]] = []
    if isinstance(config, WorkflowConfig) and (root / "summary.json").is_file():
        workflow = list(read_json(root / "summary.json").get("phases", []))
    phases = []
    for directory in info.get("phases", []):
        if (root / directory).is_dir():
            phases.append(_phase(root, directory, info, config, workflow))
    return info, phases, workflow


def _phase_config(config: StudyConfig | WorkflowConfig | None, directory: str,
                  workflow: list[dict[str, Any]]) -> StudyConfig | None:
    if isinstance(config, StudyConfig):
        return config
    if isinstance(config, WorkflowConfig):
        name = next((p["phase"] for p in workflow if directory in p.get("directories", [])),
                    directory)
        return next((p for p in config.phases if p.name == name), None)
    return None


def _phase(root: Path, directory: str, info: dict[str, Any],
           config: StudyConfig | WorkflowConfig | None, workflow: list[dict[str, Any]]) -> Phase:
    study = _phase_config(config, directory, workflow)
    objective = study.sequence.objective if study is not None else "sharpe_ratio"
    summary_file = root / directory / "summary.json"
    summary: dict[str, Any] = read_json(summary_file) if summary_file.is_file() else {}
    runs = read_runs(root / directory)
    for run in runs:  # a risk/sizing/execution grid's values are parameters too
        run.params.update(strategy_of(run).get("portfolio_params") or {})
    kind = str(summary.get("type", "single_pass"))
    if kind == "single_pass":
        return Phase(directory, kind, runs, objective, study, summary=summary)
    aggregate_file = root / directory / "aggregate.json"
    raw = SequenceResult(
        name=str(info.get("name", root.name)), type=kind, run_id=info.get("run_id"), path=root,
        metrics=summary.get("metrics") or {}, best_params=summary.get("best_params"),
        best=summary.get("best"), table=list(summary.get("table") or []),
        aggregate=read_json(aggregate_file) if aggregate_file.is_file() else {},
        equity=None, seconds=float(summary.get("seconds", 0.0)), shape=str(summary.get("shape", "")))
    kind = raw.kind  # a plugin sequence reads like the built-in of its shape
    if kind in ("walk_forward", "train_test", "k_fold") and study is not None:
        raw.equity = stitched(runs, raw.table, study.portfolio.initial_cash)
    elif kind == "cpcv" and study is not None:  # the first backtest path's test groups
        first = sorted((r for r in raw.table if 0 in r.get("paths", ())), key=lambda r: r["group"])
        raw.equity = stitched(runs, first, study.portfolio.initial_cash)
    view = SequenceResultView(raw, objective=objective, phase=directory)
    return Phase(directory, kind, runs, objective, study, view=view, summary=summary)


def stitched(runs: list[Run], table: list[dict[str, Any]],
             cash: float) -> dict[str, np.ndarray] | None:
    """The test windows' equity curves chained into one out-of-sample curve,
    as the sequence runner chains them (each window traded ``cash``; its
    returns are compounded onto the capital the previous window left)."""
    stamps, values = [], []
    capital = cash
    for row in table:
        prefix = f"w{int(row['window']):03d}-test"
        test = next((r for r in runs if r.key.startswith(prefix)), None)
        if test is None or test.path is None or not (test.path / "equity.parquet").is_file():
            return None
        curve = read_table(test.path / "equity.parquet")
        ts = curve.column("timestamp").cast("int64").to_numpy()
        eq = curve.column("equity").to_numpy() * (capital / cash)
        stamps.append(ts)
        values.append(eq)
        capital = float(eq[-1]) if len(eq) else capital
    if not stamps:
        return None
    return {"timestamp": np.concatenate(stamps), "equity": np.concatenate(values)}


@dataclass
class Bars:
    """One symbol's bars, read again through the config's data section."""

    symbol: str
    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray


def bars_of(config: StudyConfig | None, symbol: str) -> Bars | None:
    """``symbol``'s bars as the study read them; None when they cannot be read
    again (moved files, frames that were only in memory)."""
    if config is None or config.data.path is None and config.data.source != "synthetic":
        return None
    try:
        batches = list(bar_stream(config, symbol)())
    except (AdmfError, OSError):
        return None
    if not batches:
        return None
    return Bars(symbol, *(np.concatenate([getattr(b, f) for b in batches])
                          for f in ("timestamp", "open", "high", "low", "close")))


def strategy_of(run: Run) -> dict[str, Any]:
    """The run's strategy type, params and direction, from its metrics.json."""
    if run.path is None or not (run.path / "metrics.json").is_file():
        return {}
    doc: dict[str, Any] = read_json(run.path / "metrics.json")
    return doc


def indicators_of(run: Run, bars: Bars) -> dict[str, np.ndarray]:
    """The run's strategy's indicator values over ``bars``, by role (``fast``,
    ``slow``, ``upper``...); empty when the strategy declares none or cannot
    be built here."""
    doc = strategy_of(run)
    if not doc.get("strategy"):
        return {}
    point = StrategyPoint(id=str(doc.get("portfolio", run.key)), type=str(doc["strategy"]),
                          params=dict(doc.get("params") or {}),
                          direction=str(doc.get("direction", "long_only")), where="report")
    try:
        strategy = strategy_factory(point)()
        indicators = strategy.indicators()
    except (AdmfError, AttributeError, TypeError):
        return {}
    from ..messages import BarBatch

    batch = BarBatch(ts=int(bars.timestamp[0]), symbol=bars.symbol, timestamp=bars.timestamp,
                     open=bars.open, high=bars.high, low=bars.low, close=bars.close,
                     volume=np.zeros(len(bars.timestamp)))
    out: dict[str, np.ndarray] = {}
    for role, indicator in indicators.items():
        try:
            values = indicator.update(batch)
        except (AdmfError, AttributeError, TypeError, ValueError):
            continue
        if isinstance(values, dict):
            out.update({f"{role}.{k}": np.asarray(v, dtype=np.float64) for k, v in values.items()})
        else:
            out[role] = np.asarray(values, dtype=np.float64)
    return out


def table_or_none(get: Any) -> Table | None:
    """A run's table, or None when the run kept none."""
    try:
        table: Table = get()
    except AdmfError:
        return None
    return table


def metrics_dict(metrics: Metrics) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in metrics.to_dict().items()}
