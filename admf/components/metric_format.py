"""Metric values for people: which metrics a summary shows and how each is
written (fractions as percentages, money with cents).

Kept apart from :mod:`admf.components.metrics`, which computes the numbers;
tables, the CLI and reports only need this presentation half.
"""
from __future__ import annotations

import math
from typing import Any

HEADLINE = ("total_return", "cagr", "sharpe_ratio", "sortino_ratio", "max_drawdown",
            "win_rate", "profit_factor", "trade_count", "exposure", "final_equity")
"""The metrics a summary table shows, in order."""
_FRACTIONS = {"total_return", "cagr", "max_drawdown", "win_rate", "exposure", "avg_exposure",
              "volatility", "avg_trade_return"}


def format_metric(name: str, value: Any, missing: str = "-") -> str:
    """``value`` of metric ``name`` for people: fractions as percentages,
    counts with separators, money with cents, ratios to three places."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    if name in _FRACTIONS:
        return f"{value * 100:.2f}%"
    if isinstance(value, int):
        return f"{value:,}"
    if name in ("final_equity", "avg_trade", "best_trade", "worst_trade"):
        return f"{value:,.2f}"
    return f"{value:.3f}"
