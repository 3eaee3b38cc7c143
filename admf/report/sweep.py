"""A grid's page: the leaderboard of every run and the objective's heatmap.

The leaderboard holds every run (params and metrics, sortable by any column,
numbers as numbers); the heatmap folds every parameter but the two chosen
into one cell value (mean, median, max or min); the detailed charts are
drawn for the best few runs only, so a 1,000-point sweep stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..research.results.view import Run
from ..research.sequences.windows import LOWER_IS_BETTER
from ._calc import AGGREGATES, heatmap, sort_values
from ._page import Page, esc
from ._source import Phase, metrics_dict
from .run import run_section

__all__ = ("leaderboard", "heatmaps", "sweep_section", "parameters")

_LEADING = ("total_return", "cagr", "sharpe_ratio", "sortino_ratio", "max_drawdown", "win_rate",
            "profit_factor", "trade_count", "exposure", "final_equity")


def parameters(runs: Sequence[Run]) -> list[str]:
    """Every parameter name across the runs, in first-seen order."""
    return list(dict.fromkeys(k for r in runs for k in r.params))


def _rows(runs: Sequence[Run]) -> list[dict[str, Any]]:
    return [{"run": r.key, **r.params, **metrics_dict(r.metrics)} for r in runs]


def leaderboard(page: Page, phase: Phase, ranked: Sequence[Run]) -> str:
    """Every run, best first: rank, params, objective, then the other metrics."""
    params = parameters(ranked)
    rows = _rows(ranked)
    metrics = [phase.objective, *[m for m in _LEADING if m != phase.objective]]
    metrics += [m for m in (rows[0] if rows else {}) if m not in metrics and m not in params
                and m != "run"]
    columns = ["rank", *params, *metrics, "run"]
    body = [[i + 1, *[r.get(p) for p in params], *[r.get(m) for m in metrics], r["run"]]
            for i, r in enumerate(rows)]
    return page.table(columns, body)


def heatmaps(page: Page, phase: Phase, runs: Sequence[Run]) -> str:
    """The objective over any two parameters (pickers); empty with fewer
    than two parameters that take more than one value."""
    rows = _rows(runs)
    varied = [p for p in parameters(runs) if len(sort_values([r.get(p) for r in rows])) > 1]
    if len(varied) < 2:
        return ""
    grids = {}
    for x in varied:
        for y in varied:
            if x == y:
                continue
            for agg in AGGREGATES:
                xs, ys, z = heatmap(rows, x, y, phase.objective, agg)
                grids[f"{x}|{y}|{agg}"] = {"x": xs, "y": ys, "z": z}
    return page.heatmap(grids, varied, phase.objective, phase.objective in LOWER_IS_BETTER)


def sweep_section(page: Page, phase: Phase, *, top: int, anchor: str) -> str:
    """Leaderboard, heatmap and the best ``top`` runs in detail."""
    ranked = phase.ranked()
    initial = phase.config.portfolio.initial_cash if phase.config is not None else None
    details = "".join(
        run_section(page, run, config=phase.config, title=f"#{i + 1}: {run.key}",
                    anchor=f"{anchor}-run{i + 1}", initial=initial)
        for i, run in enumerate(ranked[:top]))
    more = (f'<p class="note">details for the best {top} of {len(ranked):,} runs; every run '
            "is in the leaderboard</p>" if len(ranked) > top else "")
    return (f"<h3>leaderboard ({len(ranked):,} runs, by {esc(phase.objective)})</h3>"
            f"{leaderboard(page, phase, ranked)}{heatmaps(page, phase, ranked)}{more}{details}")
