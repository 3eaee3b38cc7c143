"""Walk-forward (and train/test, k-fold) and Monte Carlo pages.

A windowed sequence shows its windows table (train and test dates, the
parameters each window chose, out-of-sample metrics) and the stitched
out-of-sample record drawn like a run. A Monte Carlo shows each metric's
distribution over the draws with the actual (base run's) value marked.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..components.metric_format import HEADLINE
from ._page import Page, esc, metrics_table
from ._source import Phase, metrics_dict
from .run import run_section

__all__ = ("windows_section", "monte_carlo_section", "draws")

_PERCENTILES = ("mean", "std", "p5", "p25", "p50", "p75", "p95", "count", "undefined")


def windows_section(page: Page, phase: Phase, *, anchor: str) -> str:
    assert phase.view is not None
    view = phase.view
    table = view.windows
    params = [c for c in table.columns if c not in _WINDOW_COLUMNS
              and not c.startswith(("test_", "train_"))]
    columns = [*_WINDOW_COLUMNS, *params, *[f"test_{m}" for m in HEADLINE],
               f"train_{phase.objective}"]
    columns = [c for c in columns if c in table]
    rows = [[row.get(c) for c in columns] for row in table.rows()]
    signed = [c in ("test_total_return", "test_sharpe_ratio", "test_cagr") for c in columns]
    initial = phase.config.portfolio.initial_cash if phase.config is not None else None
    best = phase.best
    record = run_section(
        page, best, config=phase.config, title="stitched out-of-sample record",
        anchor=f"{anchor}-oos", initial=initial, metrics=view.metrics, indicators=False,
        note=" (each window's test run, compounded onto the capital the previous one left)",
    ) if best is not None else '<p class="note">no out-of-sample record was kept</p>'
    return (f"<h3>out-of-sample metrics</h3>{metrics_table(metrics_dict(view.metrics))}"
            f"<h3>windows ({len(table)})</h3>{page.table(columns, rows, signed=signed)}{record}")


_WINDOW_COLUMNS = ["window", "train_start", "train_end", "test_start", "test_end",
                   "train_bars", "test_bars"]


def draws(phase: Phase) -> dict[str, np.ndarray]:
    """Each metric's value in every Monte Carlo draw (NaN where undefined)."""
    assert phase.view is not None
    rows = phase.view.raw.table
    names = [k for k in phase.view.distributions if any(k in r for r in rows)]
    return {k: np.array([_number(r.get(k)) for r in rows], dtype=np.float64) for k in names}


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else math.nan


def monte_carlo_section(page: Page, phase: Phase, *, anchor: str) -> str:
    assert phase.view is not None
    view = phase.view
    values = draws(phase)
    base = phase.best
    actual = metrics_dict(base.metrics) if base is not None else {}
    names = [m for m in values if np.isfinite(values[m]).any()]
    cols = 2
    traces, shapes, annotations = [], [], []
    layout: dict[str, Any] = {"height": 230 * math.ceil(len(names) / cols) + 60,
                              "showlegend": False, "margin": {"t": 40, "l": 50, "r": 20},
                              "bargap": 0.05}
    rows_n = max(math.ceil(len(names) / cols), 1)
    for i, name in enumerate(names):
        n = i + 1
        suffix = "" if n == 1 else str(n)
        row, col = divmod(i, cols)
        x0, x1 = col / cols + 0.04, (col + 1) / cols - 0.04
        y1 = 1 - row / rows_n - 0.06 / rows_n
        y0 = 1 - (row + 1) / rows_n + 0.12 / rows_n
        layout[f"xaxis{suffix}"] = {"domain": [x0, x1], "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"domain": [y0, y1], "anchor": f"x{suffix}"}
        finite = values[name][np.isfinite(values[name])]
        traces.append({"type": "histogram", "x": finite, "name": name, "nbinsx": 30,
                       "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
                       "marker": {"color": "#8fb3de"},
                       "hovertemplate": f"{name} %{{x}}<br>%{{y}} draws<extra></extra>"})
        annotations.append({"text": f"<b>{esc(name)}</b>", "showarrow": False,
                            "xref": f"x{suffix} domain", "yref": f"y{suffix} domain",
                            "x": 0, "y": 1.12, "xanchor": "left"})
        value = actual.get(name)
        if isinstance(value, (int, float)) and math.isfinite(value):
            shapes.append({"type": "line", "x0": value, "x1": value, "y0": 0, "y1": 1,
                           "xref": f"x{suffix}", "yref": f"y{suffix} domain",
                           "line": {"color": "#c43b3b", "width": 2}})
            annotations.append({"text": "actual", "showarrow": False, "x": value, "y": 1,
                                "xref": f"x{suffix}", "yref": f"y{suffix} domain",
                                "font": {"color": "#c43b3b", "size": 10},
                                "xanchor": "left", "yanchor": "top"})
    layout["shapes"], layout["annotations"] = shapes, annotations
    chart = page.figure(traces, layout) if names else '<p class="note">no draws</p>'
    dist = view.distributions
    columns = ["metric", "actual", *_PERCENTILES]
    rows = [[m, actual.get(m), *[(dist.get(m) or {}).get(p) for p in _PERCENTILES]]
            for m in dist]
    formats = [["metric", *[m] * (len(columns) - 3), "count", "undefined"] for m in dist]
    table = page.table(columns, rows, scroll=False, formats=formats)
    method = esc(str(view.aggregate.get("method", "")))
    initial = phase.config.portfolio.initial_cash if phase.config is not None else None
    detail = run_section(page, base, config=phase.config, title=f"actual run: {base.key}",
                         anchor=f"{anchor}-base", initial=initial) if base is not None else ""
    return (f"<h3>distributions over {len(view.raw.table):,} draws ({method})</h3>"
            f"<p>the red line is the actual run's value</p>{chart}{table}{detail}")
