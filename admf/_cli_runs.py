"""The CLI's results tables: the one printed at the end of a run, ``admf runs``
and ``admf compare``.

Past runs are read from their directories alone (``manifest.json``,
``config.yaml``, each phase's ``summary.json`` and the runs'
``metrics.json``), so listing and comparing needs no config file and no
import of the code that produced them. Kept apart from :mod:`admf.cli`,
which parses arguments and dispatches.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .components.metric_format import HEADLINE, format_metric
from .components.metrics import Metrics
from .errors import DataError
from .research.results.store import read_json
from .research.sequences.windows import rank_points

__all__ = ("text_table", "sequence_table", "RunInfo", "run_info", "list_runs", "runs_table",
           "resolve_run", "compare_table")

def text_table(header: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1,
               align: str | None = None) -> str:
    """Columns padded to their widest cell; the first ``left`` columns flush
    left (names), the rest flush right (numbers), unless ``align`` spells
    each column out (``"llr"``)."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    sides = align or "l" * left + "r" * (len(header) - left)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if sides[i] == "l" else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def shown_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """A chosen point's settings as a line shows them: the values, without
    the component types they carry (``execution.commission.type``)."""
    return {k: v for k, v in (settings or {}).items() if not k.endswith(".type")}


def _params(params: Mapping[str, Any] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (params or {}).items()) or "-"


def _columns(objective: str) -> list[str]:
    """The objective first, then the other headline metrics."""
    return [objective, *(m for m in HEADLINE if m != objective)]


# -- the table at the end of a run ----------------------------------------------


def sequence_table(kind: str, table: list[dict[str, Any]], metrics: Mapping[str, Any], *,
                   objective: str, top: int = 10, aggregate: Mapping[str, Any] | None = None) -> str:
    """A sequence's results: the top ``top`` points by ``objective`` (sweep),
    one row per window or fold (train/test, walk-forward, k-fold), each
    metric's distribution (Monte Carlo), one row per test group of each split
    and the distribution over the backtest paths (cpcv)."""
    if kind == "parameter_sweep":
        return _sweep_table(table, objective, top)
    if kind in ("walk_forward", "train_test", "k_fold"):
        return _window_table(kind, table, objective)
    if kind == "cpcv":
        paths = (aggregate or {}).get("distributions") or {}
        return (_window_table(kind, table, objective) + f"\n\ndistribution over "
                f"{(aggregate or {}).get('paths', '?')} paths:\n" + _distribution_table(paths))
    if kind == "monte_carlo":
        return _distribution_table(metrics)
    return ""


def _sweep_table(table: list[dict[str, Any]], objective: str, top: int) -> str:
    # the runner ranks the table by the objective already; rank again so the
    # table is right whatever order it comes in
    order = rank_points({str(i): _number(r.get(objective)) for i, r in enumerate(table)}, objective)
    rows = [table[int(i)] for i in order[:top]]
    columns = _columns(objective)
    header = ["rank", "portfolio", *columns]
    body = [[str(n + 1), str(r.get("portfolio", "-")), *(format_metric(m, r.get(m)) for m in columns)]
            for n, r in enumerate(rows)]
    shown = f"top {len(rows)} of {len(table)}" if len(table) > len(rows) else f"all {len(table)}"
    return f"{shown} points by {objective}:\n" + text_table(header, body, left=2)


def _window_table(kind: str, table: list[dict[str, Any]], objective: str) -> str:
    name = {"k_fold": "fold", "cpcv": "test group"}.get(kind, "window")
    shown = [objective, *(m for m in ("total_return", "max_drawdown", "trade_count") if m != objective)]
    # with sequence.select the train column is the winner's k-fold score
    scored = "k-fold" if any("folds" in r for r in table) else "train"
    header = [name, "test start", "test end", "params", f"{scored} {objective}",
              *(f"test {m}" for m in shown)]
    body = [[str(r["window"]), str(r["test"][0]), str(r["test"][1]),
             _params({**(r.get("params") or {}), **(r.get("settings") or {})}),
             format_metric(objective, r.get("train_objective")),
             *(format_metric(m, (r.get("test_metrics") or {}).get(m)) for m in shown)]
            for r in table]
    return text_table(header, body, left=4)


def _distribution_table(metrics: Mapping[str, Any]) -> str:
    header = ["metric", "mean", "p5", "p25", "p50", "p75", "p95"]
    body = [[name, *(format_metric(name, d.get(k)) for k in header[1:])]
            for name, d in metrics.items() if isinstance(d, Mapping)
            and name in (*HEADLINE, "volatility")]
    return f"distribution over {_draws(metrics)} draws:\n" + text_table(header, body)


def _draws(metrics: Mapping[str, Any]) -> str:
    counts = {int(d.get("count", 0)) + int(d.get("undefined", 0))
              for d in metrics.values() if isinstance(d, Mapping)}
    return f"{max(counts):,}" if counts else "0"


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


# -- past runs --------------------------------------------------------------------


_STAMP = re.compile(r"-(\d{8}-\d{6})-[0-9a-z_-]+$")


@dataclass
class RunInfo:
    """One run directory as ``admf runs`` and ``admf compare`` see it."""

    path: Path
    name: str
    time: datetime
    kind: str
    complete: bool
    objective: str
    value: float | None = None
    value_note: str = ""
    params: dict[str, Any] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


def _config(path: Path) -> dict[str, Any]:
    import yaml

    file = path / "config.yaml"
    if not file.is_file():
        return {}
    loaded = yaml.safe_load(file.read_text())
    return loaded if isinstance(loaded, dict) else {}


def _started(path: Path) -> datetime:
    match = _STAMP.search(path.name)
    if match:
        try:
            return datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and ((path / "manifest.json").is_file() or (path / "config.yaml").is_file())


def run_info(path: Path) -> RunInfo:
    """What ``path`` ran and its headline: the best point (sweep, single
    pass), out of sample (walk-forward, train/test), the mean test fold
    (k-fold), the base run (Monte Carlo), the last phase (workflow)."""
    manifest = read_json(path / "manifest.json") if (path / "manifest.json").is_file() else {}
    config = _config(path)
    name = str(manifest.get("name") or config.get("name") or path.name)
    info = RunInfo(path=path, name=name, time=_started(path), kind="unknown",
                   complete=bool(manifest.get("complete")), objective="sharpe_ratio")
    if "phases" in config and isinstance(config["phases"], list):
        _workflow(info, path, manifest)
    else:
        sequence = config.get("sequence") or {}
        info.kind = str(sequence.get("type") or "single_pass")
        info.objective = str(sequence.get("objective") or "sharpe_ratio")
        _phase(info, path / "main")
    if info.metrics and info.value is None:
        value = info.metrics.get(info.objective)
        info.value = value if isinstance(value, (int, float)) else None
    return info


def _workflow(info: RunInfo, path: Path, manifest: Mapping[str, Any]) -> None:
    info.kind = "workflow"
    summary = read_json(path / "summary.json") if (path / "summary.json").is_file() else {}
    ran = [row for row in summary.get("phases", []) if row.get("directories")]
    if not ran:
        return
    last = ran[-1]
    info.objective = str(last.get("primary_metric") or "sharpe_ratio")
    _phase(info, path / str(last["directories"][-1]), kind=str(last.get("sequence")))
    info.value_note = f"{last['phase']}: {info.value_note}"


def _phase(info: RunInfo, phase: Path, kind: str | None = None) -> None:
    """The headline metrics and params of one phase directory."""
    kind = kind or info.kind
    info.value_note = HEADLINE_OF.get(kind, "")
    if not (phase / "summary.json").is_file():
        return
    summary = read_json(phase / "summary.json")
    if summary.get("shape"):  # a plugin sequence reads like the built-in of its shape
        kind = str(summary["shape"])
        info.value_note = HEADLINE_OF.get(kind, "")
    if kind == "single_pass":
        portfolios = summary.get("portfolios") or {}
        if portfolios:
            scores = {pid: _number((p.get("metrics") or {}).get(info.objective))
                      for pid, p in portfolios.items()}
            best = portfolios[rank_points(scores, info.objective)[0]]
            info.metrics, info.params = dict(best.get("metrics") or {}), best.get("params")
        return
    info.params = summary.get("best_params")
    settings = shown_settings((summary.get("best") or {}).get("settings"))
    if info.params is not None and settings:  # both halves of the chosen point
        info.params = {**info.params, **settings}
    metrics = dict(summary.get("metrics") or {})
    if kind == "monte_carlo":  # distributions: the base run's own metrics are the headline
        base = sorted((phase / "runs").glob("base-*/metrics.json"))
        if base:
            info.metrics = dict(read_json(base[0]).get("metrics") or {})
        else:
            info.metrics = {k: d.get("p50") for k, d in metrics.items() if isinstance(d, Mapping)}
            info.value_note = "median of the draws"
        return
    info.metrics = metrics


HEADLINE_OF = {"single_pass": "best point", "parameter_sweep": "best point",
               "walk_forward": "out of sample", "train_test": "test", "k_fold": "mean of the folds",
               "cpcv": "mean of the paths",
               "monte_carlo": "base run"}
"""Which run's metrics stand for a run of each kind (``admf runs``' last column)."""


def list_runs(directory: Path) -> list[RunInfo]:
    """Every run directory under ``directory``, oldest first."""
    if not directory.is_dir():
        raise DataError(f"{directory}: no such results directory (runs are written to "
                        "results.dir, default 'results')")
    found = [run_info(p) for p in directory.iterdir() if is_run_dir(p)]
    return sorted(found, key=lambda r: (r.time, r.path.name))


def runs_table(runs: Sequence[RunInfo]) -> str:
    """``admf runs``: one line per run."""
    header = ["run", "name", "time (UTC)", "kind", "status", "objective", "value", "of"]
    body = [[r.path.name, r.name, f"{r.time:%Y-%m-%d %H:%M:%S}", r.kind,
             "complete" if r.complete else "unfinished", r.objective,
             format_metric(r.objective, r.value), r.value_note] for r in runs]
    return text_table(header, body, align="llllllrl")


def resolve_run(text: str, results: Path) -> Path:
    """A run from a path, a run id under ``results``, or a study name (its
    latest run under ``results``)."""
    given = Path(text)
    if is_run_dir(given):
        return given
    if is_run_dir(results / text):
        return results / text
    if results.is_dir():
        named = [r for r in list_runs(results) if r.name == text]
        if named:
            return named[-1].path
    raise DataError(f"{text!r}: not a run directory, nor a run id or a study name under "
                    f"{results} (see `admf runs {results}`)")


def compare_table(runs: Sequence[RunInfo]) -> str:
    """``admf compare``: every metric as a row, one column per run."""
    header = ["", *(r.path.name for r in runs)]
    body = [["name", *(r.name for r in runs)], ["kind", *(r.kind for r in runs)],
            ["objective", *(r.objective for r in runs)],
            ["params", *(_params(r.params) for r in runs)]]
    names = [m for m in Metrics.__struct_fields__ if any(m in r.metrics for r in runs)]
    body += [[m, *(format_metric(m, r.metrics.get(m)) for r in runs)] for m in names]
    return text_table(header, body)
