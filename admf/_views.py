"""One result API for studies, sequences and workflows: the :class:`Result`
views :func:`admf.run` returns over what each runner produced."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .components.metrics import Metrics
from .errors import AdmfError
from .research.results.view import Run, Table, read_runs, runs_table
from .research.sequences.windows import rank_points
from .research.study import StudyResult

__all__ = ("Result", "StudyResultView", "SequenceResultView", "WorkflowResultView",
           "GenerationResultView", "wrap")

if TYPE_CHECKING:
    import pandas
    import polars

    from .research.sequences.run import SequenceResult
    from .research.workflow.run import WorkflowResult


class Result:
    """What :func:`run` returns, whatever ran: a single pass, a sequence or a
    workflow. ``metrics`` is the headline (formatted when printed), ``runs``
    one row per run, ``best`` the winning run, ``trades`` / ``equity`` the
    headline run's tables (read from the run directory when they were
    streamed there), ``report()`` the HTML report."""

    kind: str = "study"
    raw: StudyResult | SequenceResult | WorkflowResult
    """What the runner returned, with every field it has."""

    def __init__(self, name: str, run_id: str | None, path: Path | None, seconds: float) -> None:
        self.name = name
        self.run_id = run_id
        self.path = path
        self.seconds = seconds

    @property
    def metrics(self) -> Metrics:
        raise NotImplementedError

    @property
    def runs(self) -> Table:
        """One row per run: its key, parameters and metrics."""
        raise NotImplementedError

    @property
    def best(self) -> Run:
        raise NotImplementedError

    @property
    def trades(self) -> Table:
        """The headline run's trades (the best point's; out-of-sample for a walk-forward)."""
        return self.best.trades

    @property
    def equity(self) -> Table:
        """The headline run's equity curve (stitched out-of-sample for a walk-forward)."""
        return self.best.equity

    @property
    def fills(self) -> Table:
        """The headline run's fills (order strategies only)."""
        return self.best.fills

    @property
    def windows(self) -> Table:
        """Train/test dates, chosen parameters and metrics per window (train/test,
        walk-forward and k-fold sequences)."""
        raise AdmfError(f"a {self.kind} result has no windows; walk_forward, train_test and "
                        "k_fold sequences have")

    def report(self, output: str | Path | None = None) -> Path:
        """Write the HTML report of this result's run directory; its path."""
        if self.path is None:
            raise AdmfError("this result was not written (write=False): there is no run "
                            "directory to report on")
        from .report import write_report

        return write_report(self.path, output)

    def to_pandas(self) -> pandas.DataFrame:
        """:attr:`runs` as a pandas DataFrame (``pip install 'admf[pandas]'``)."""
        return self.runs.to_pandas()

    def to_polars(self) -> polars.DataFrame:
        """:attr:`runs` as a polars DataFrame (``pip install 'admf[polars]'``)."""
        return self.runs.to_polars()

    def __repr__(self) -> str:
        where = f", {self.path}" if self.path is not None else ""
        return f"<{self.kind} {self.name!r}{where}>\n{self.metrics!r}"

    def _repr_html_(self) -> str:
        import html

        return (f"<p><b>{html.escape(self.kind)}</b> {html.escape(self.name)}</p>"
                + self.metrics._repr_html_())


def _within(settings: Mapping[str, object], chosen: Mapping[str, object] | None) -> bool:
    """Whether a run's grid settings are the chosen point's (which also
    carry each component's type)."""
    return all((chosen or {}).get(k) == v for k, v in settings.items())


def _best_key(runs: list[Run], objective: str) -> Run:
    order = rank_points({r.key: float(getattr(r.metrics, objective)) for r in runs}, objective)
    return next(r for r in runs if r.key == order[0])


class StudyResultView(Result):
    """A single pass: one run per strategy point, all over the same bars."""

    kind = "single_pass"

    def __init__(self, raw: StudyResult, *, objective: str = "sharpe_ratio",
                 phase: str = "main", best_params: dict[str, object] | None = None,
                 best_settings: Mapping[str, object] | None = None) -> None:
        super().__init__(raw.name, raw.run_id, raw.path, raw.seconds)
        self.raw = raw
        from .research.results.runs import run_key

        phase_dir = raw.path / phase / "runs" if raw.path is not None else None
        self._runs = [Run(run_key(pid), raw.points[pid].params, res.metrics,
                          settings=raw.points[pid].portfolio,
                          path=phase_dir / run_key(pid) if phase_dir is not None else None,
                          trades=res.trades, equity=res.equity, fills=res.order_fills)
                      for pid, res in raw.portfolios.items()]
        chosen = [r for r in self._runs if best_params is not None and r.params == best_params
                  and _within(r.settings, best_settings)]
        self._best = chosen[0] if chosen else _best_key(self._runs, objective)

    @property
    def metrics(self) -> Metrics:
        """The best portfolio's metrics (the only one's, usually)."""
        return self._best.metrics

    @property
    def runs(self) -> Table:
        return runs_table(self._runs)

    @property
    def best(self) -> Run:
        return self._best

    # the study result's own fields, as before
    @property
    def portfolios(self) -> dict[str, Any]:
        return self.raw.portfolios

    @property
    def points(self) -> dict[str, Any]:
        return self.raw.points

    @property
    def bars(self) -> int:
        return self.raw.bars

    @property
    def trace(self) -> list[dict[str, Any]] | None:
        return self.raw.trace

    def table(self) -> list[dict[str, Any]]:
        return self.raw.table()


class SequenceResultView(Result):
    """A parameter sweep, train/test, walk-forward, k-fold or Monte Carlo."""

    def __init__(self, raw: SequenceResult, *, objective: str = "sharpe_ratio",
                 phase: str = "main") -> None:
        super().__init__(raw.name, raw.run_id, raw.path, raw.seconds)
        self.raw = raw
        self.kind = raw.kind  # a plugin sequence reads like the built-in of its shape
        self.objective = objective
        self._phase_dir = Path(raw.path) / phase if raw.path is not None else None
        self._on_disk = read_runs(self._phase_dir) if self._phase_dir is not None else None

    def _all_runs(self) -> list[Run]:
        if self._on_disk is not None:
            return self._on_disk
        rows = self.raw.table
        if self.kind == "parameter_sweep":  # a row: rank, portfolio, its params, its metrics
            runs = []
            for r in rows:
                metrics = Metrics.from_json_dict(r)
                measured = set(metrics.to_json_dict())
                rest = {k: v for k, v in r.items() if k not in measured
                        and k not in ("rank", "portfolio")}
                runs.append(Run(str(r["portfolio"]), {k: v for k, v in rest.items() if "." not in k},
                                metrics, settings={k: v for k, v in rest.items() if "." in k}))
            return runs
        windows = self._window_rows()
        if windows is not None:
            return [Run(f"w{int(r['window']):03d}-test", r["params"],
                        Metrics.from_json_dict(r["test_metrics"]),
                        settings=r.get("settings") or {}) for r in windows]
        return []  # a Monte Carlo draw in memory has no params of its own

    def _window_rows(self) -> list[dict[str, Any]] | None:
        """The windows' rows: a windowed sequence's table, or those of the
        walk-forward a Monte Carlo ran over (``sequence.over``); else None."""
        if self.kind in ("walk_forward", "train_test", "k_fold", "cpcv"):
            return self.raw.table
        nested: list[dict[str, Any]] | None = self.raw.aggregate.get("windows") \
            if self.raw.aggregate.get("over") else None
        return nested

    @property
    def metrics(self) -> Metrics:
        """The headline: the best point's (sweep), out-of-sample (walk-forward),
        test (train/test), mean test (k-fold; counts are means too), or the
        actual base run's (Monte Carlo; medians of the draws when no base ran; the
        walk-forward's out-of-sample one for a Monte Carlo ``over`` it)."""
        if self.kind == "monte_carlo" and self.raw.aggregate.get("over"):
            return Metrics.from_json_dict(self.raw.aggregate["out_of_sample"])
        if self.kind == "monte_carlo":
            base = [r for r in self._on_disk or [] if r.key.startswith("base-")]
            if base:
                return base[0].metrics
            medians = {k: d.get("p50") for k, d in self.distributions.items()}
            return Metrics.from_json_dict(_zeros() | {k: (round(v) if isinstance(v, float) and
                                               Metrics.__annotations__.get(k) == "int" and
                                               np.isfinite(v) else v)
                                           for k, v in medians.items()})
        return Metrics.from_json_dict(self.raw.metrics)

    @property
    def distributions(self) -> dict[str, dict[str, float]]:
        """Monte Carlo: each metric's mean, std, percentiles and counts."""
        found: dict[str, dict[str, float]] = self.raw.aggregate.get("distributions", {})
        return found

    @property
    def runs(self) -> Table:
        return runs_table(self._all_runs())

    def _test_runs(self) -> list[Run]:
        runs = self._all_runs()
        rows = self._window_rows() or []
        if self.kind == "cpcv":  # one path's test groups: the first path, in time order
            rows = [r for r in rows if 0 in r.get("paths", ())]
            rows.sort(key=lambda r: r["group"])
        keys = [f"w{int(r['window']):03d}-test" for r in rows]
        return [next(r for r in runs if r.key.startswith(k)) for k in keys
                if any(r.key.startswith(k) for r in runs)]

    @property
    def best(self) -> Run:
        """The winning run: the best point (sweep), the out-of-sample record
        (windowed sequences, and a Monte Carlo over one: test trades, stitched
        equity), the base run (Monte Carlo)."""
        runs = self._all_runs()
        if self.kind == "parameter_sweep":  # the winning point, by its id
            from .research.results.runs import run_key

            best_id = str(self.raw.aggregate.get("best", ""))
            chosen = [r for r in runs if r.key in (best_id, run_key(best_id))]
            return chosen[0] if chosen else _best_key(runs, self.objective)
        if self.kind == "monte_carlo" and not self.raw.aggregate.get("over"):
            base = [r for r in runs if r.key.startswith("base-")]
            if base:
                return base[0]
            raise AdmfError("this Monte Carlo kept no base run (parameter_noise draws only, or "
                            "write=False); see .runs and .distributions")
        tests = self._test_runs()
        trades = _concat([t.trades for t in tests]) if all(
            t.path is not None for t in tests) and tests else None
        equity = (self.raw.equity if self.raw.equity is not None
                  else _concat([t.equity for t in tests]) if tests and all(
                      t.path is not None for t in tests) else None)
        return Run("out_of_sample", self.raw.best_params or {}, self.metrics,
                   trades=trades, equity=equity)

    @property
    def windows(self) -> Table:
        windows = self._window_rows()
        if windows is None:
            return super().windows
        rows: list[dict[str, object]] = []
        for r in windows:
            train = r["train"]
            row: dict[str, object] = {
                "window": r["window"],
                "train_start": train[0][0] if train else None,
                "train_end": train[-1][1] if train else None,
                "test_start": r["test"][0], "test_end": r["test"][1],
                "train_bars": r["train_bars"], "test_bars": r["test_bars"],
                **{str(k): v for k, v in r["params"].items()},
                **(r.get("settings") or {}),
            }
            row.update({f"test_{k}": v for k, v in r["test_metrics"].items()})
            row.update({f"train_{k}": v for k, v in (r["train_metrics"] or {}).items()})
            rows.append(row)
        return Table.from_rows(rows, "windows")

    # the sequence result's own fields, as before
    @property
    def type(self) -> str:
        return self.raw.type

    @property
    def table(self) -> list[dict[str, Any]]:
        return self.raw.table

    @property
    def aggregate(self) -> dict[str, Any]:
        return self.raw.aggregate

    @property
    def best_params(self) -> dict[str, Any] | None:
        return self.raw.best_params

    def outputs(self) -> dict[str, Any]:
        return self.raw.outputs()


def _zeros() -> dict[str, float | int | None]:
    """Metrics a resampled return path does not define (trades, exposure): NaN."""
    return {k: None for k in ("win_rate", "profit_factor", "avg_trade", "avg_trade_return",
                              "best_trade", "worst_trade", "exposure", "avg_exposure",
                              "turnover", "trade_count", "open_trades", "bars")
            if k in Metrics.__struct_fields__}


def _concat(tables: list[Table]) -> dict[str, np.ndarray] | None:
    """Several runs' tables as one, with the run key in a ``run`` column."""
    if not tables:
        return None
    joined = pa.concat_tables([t.to_arrow() for t in tables], promote_options="permissive")
    keys = np.concatenate([np.full(len(t), t.name.split(" ")[0], dtype=object) for t in tables])
    columns = {"run": keys, **{n: joined.column(n).to_numpy(zero_copy_only=False)
                              for n in joined.column_names}}
    return columns


class WorkflowResultView(Result):
    """Phases in order; the headline is the last phase that ran."""

    kind = "workflow"

    def __init__(self, raw: WorkflowResult) -> None:
        super().__init__(raw.name, raw.workflow_id, Path(raw.path) if raw.path else None,
                         raw.seconds)
        self.raw = raw
        self._phases: dict[str, Result] = {}
        for name, phase in raw.phases.items():
            if phase.result is None:
                continue
            directory = phase.directories[-1] if phase.directories else name
            best = (phase.outputs or {}).get("best") or {}
            self._phases[name] = wrap(phase.result, phase=directory,
                                      best_params=(phase.outputs or {}).get("best_params"),
                                      best_settings=best.get("settings") or {})

    def phase(self, name: str) -> Result:
        """The result of phase ``name`` (its last iteration's)."""
        if name not in self._phases:
            raise AdmfError(f"workflow {self.name!r} has no result for phase {name!r}; phases "
                            f"that ran: {', '.join(self._phases) or 'none'}")
        return self._phases[name]

    def _last(self) -> Result:
        if not self._phases:
            raise AdmfError(f"no phase of workflow {self.name!r} ran")
        return list(self._phases.values())[-1]

    @property
    def metrics(self) -> Metrics:
        return self._last().metrics

    @property
    def runs(self) -> Table:
        """Every phase's runs, with a ``phase`` column first."""
        tables = []
        for name, result in self._phases.items():
            arrow = result.runs.to_arrow()
            tables.append(arrow.add_column(0, "phase", pa.array([name] * arrow.num_rows)))
        if not tables:
            return Table(pa.table({}), "runs")
        return Table(pa.concat_tables(tables, promote_options="permissive"), "runs")

    @property
    def best(self) -> Run:
        return self._last().best

    # the workflow result's own fields, as before
    @property
    def workflow_id(self) -> str | None:
        return self.raw.workflow_id

    @property
    def phases(self) -> dict[str, Any]:
        return self.raw.phases

    def summary(self) -> list[dict[str, Any]]:
        return self.raw.summary()

    @property
    def outputs(self) -> dict[str, Any]:
        """The workflow's ``outputs:`` (None where a phase it names did not
        run); a phase's own are ``.phases[name].published``."""
        return self.raw.outputs


def wrap(raw: StudyResult | SequenceResult | WorkflowResult, *, objective: str = "sharpe_ratio",
         phase: str = "main", best_params: dict[str, object] | None = None,
         best_settings: Mapping[str, object] | None = None) -> Result:
    """The :class:`Result` view of what a runner returned."""
    if isinstance(raw, StudyResult):
        return StudyResultView(raw, objective=objective, phase=phase, best_params=best_params,
                               best_settings=best_settings)
    from .research.sequences.run import SequenceResult

    if isinstance(raw, SequenceResult):
        return SequenceResultView(raw, objective=objective, phase=phase)
    from .research.signals.run import GenerationRun

    if isinstance(raw, GenerationRun):
        return GenerationResultView(raw)
    return WorkflowResultView(raw)


class GenerationResultView(Result):
    """A ``signal_generation`` study: signals stored, no portfolio ran, so
    there are no metrics; :attr:`runs` lists each stored key."""

    kind = "signal_generation"
    raw: Any  # a GenerationRun

    def __init__(self, raw: Any) -> None:
        super().__init__(raw.name, None, Path(raw.store), raw.seconds)
        self.raw = raw

    @property
    def metrics(self) -> Metrics:
        raise AdmfError("a signal_generation study stores signals and runs no portfolio, so it "
                        "has no metrics; run the same study with topology.pattern: "
                        "signal_replay to trade them")

    @property
    def runs(self) -> Table:
        """One row per (window, strategy point): its store key and whether it
        was computed now or reused from the store."""
        return Table.from_rows(self.raw.table, "signals")

    @property
    def best(self) -> Run:
        raise AdmfError("a signal_generation study has no best run: it ran no portfolio")

    def report(self, output: str | Path | None = None) -> Path:
        raise AdmfError("a signal_generation study has no report: it ran no portfolio")

    def __repr__(self) -> str:
        return (f"<signal_generation {self.name!r}, {self.path}>\n{self.raw.computed} "
                f"computed, {self.raw.reused} reused over {self.raw.windows} window(s)")

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(repr(self))}</pre>"
