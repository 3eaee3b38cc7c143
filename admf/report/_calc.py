"""The numbers a report shows that no result holds: a buy-and-hold benchmark,
monthly returns, a parameter heatmap, and curves thinned for display.

Pure numpy over the result's tables, so each can be checked against a plain
loop (tests/integration/test_report_content.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ("downsample", "candles", "buy_and_hold", "monthly_returns", "heatmap",
           "AGGREGATES", "sort_values")

_POINTS = 1500
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def downsample(values: np.ndarray, points: int = _POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Indexes and values of at most ``points`` samples that keep each
    bucket's first, lowest and highest value, in index order (min/max per
    pixel bucket: a spike or a crash survives thinning, unlike striding)."""
    n = len(values)
    if n <= points:
        return np.arange(n), values
    if points < 3:  # no room for a whole bucket: the extremes, as many as fit
        index = np.unique([int(np.argmin(values)), int(np.argmax(values))])[:points]
        return index, values[index]
    buckets = points // 3
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        chunk = values[lo:hi]
        keep.extend(sorted({lo, lo + int(np.argmin(chunk)), lo + int(np.argmax(chunk))}))
    index = np.asarray(keep, dtype=np.int64)
    return index, values[index]


def candles(timestamp: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray,
            close: np.ndarray, points: int = 1000) -> tuple[np.ndarray, ...]:
    """OHLC bars merged into at most ``points`` candles (first open, highest
    high, lowest low, last close of each run of bars, stamped with its first
    bar's time): the shape of the price survives, the page stays small."""
    n = len(timestamp)
    if n <= points:
        return timestamp, open_, high, low, close
    edges = np.linspace(0, n, points + 1).astype(np.int64)
    starts = edges[:-1]
    return (timestamp[starts], open_[starts], np.maximum.reduceat(high, starts),
            np.minimum.reduceat(low, starts), close[edges[1:] - 1])


def buy_and_hold(timestamp: np.ndarray, closes: Mapping[str, tuple[np.ndarray, np.ndarray]],
                 capital: float) -> Floats:
    """``capital`` split equally over the symbols at the first time, each part
    following its close: ``capital * mean_s(close_s(t) / close_s(t0))``. A
    symbol's close at ``t`` is its last bar at or before ``t`` (its first bar
    before it has one)."""
    if not closes:
        return np.full(len(timestamp), np.nan)
    parts = []
    for ts, close in closes.values():
        at = np.clip(np.searchsorted(ts, timestamp, side="right") - 1, 0, len(ts) - 1)
        start = at[0] if len(at) else 0
        parts.append(close[at] / close[start])
    result: Floats = capital * np.mean(parts, axis=0)
    return result


def monthly_returns(timestamp: np.ndarray, equity: np.ndarray,
                    initial: float | None = None) -> list[tuple[int, int, float]]:
    """``(year, month, return)`` for every calendar month (UTC) the curve
    spans: the month's last equity over the previous month's last (the first
    month's over ``initial``, or over the first equity value)."""
    if not len(equity):
        return []
    months = np.asarray(timestamp, dtype="datetime64[ns]").astype("datetime64[M]")
    last = np.flatnonzero(np.append(months[1:] != months[:-1], True))
    ends = equity[last]
    starts = np.concatenate([[equity[0] if initial is None else initial], ends[:-1]])
    out = []
    for i, m in zip(range(len(last)), months[last]):
        year, month = int(str(m)[:4]), int(str(m)[5:7])
        out.append((year, month, float(ends[i] / starts[i] - 1)))
    return out


def _median(values: Sequence[float]) -> float:
    return float(np.median(values))


AGGREGATES: dict[str, Callable[[Sequence[float]], float]] = {
    "mean": lambda v: float(np.mean(v)),
    "median": _median,
    "max": lambda v: float(np.max(v)),
    "min": lambda v: float(np.min(v)),
}
"""How a heatmap cell combines the runs that share its two parameter values."""


def sort_values(values: Sequence[Any]) -> list[Any]:
    """Distinct values in numeric order (numbers before text, text in text order)."""
    distinct = list(dict.fromkeys(v for v in values if v is not None))
    numbers = sorted(v for v in distinct if isinstance(v, (int, float)) and not isinstance(v, bool))
    others = sorted((v for v in distinct if v not in numbers), key=str)
    return [*numbers, *others]


def heatmap(rows: Sequence[Mapping[str, Any]], x: str, y: str, objective: str,
            aggregate: str = "mean") -> tuple[list[Any], list[Any], list[list[float | None]]]:
    """``(x values, y values, z[y][x])``: the objective aggregated over every
    run with those two parameter values (the other parameters folded in by
    ``aggregate``); a cell no run reached, or whose runs have no finite
    objective, is None."""
    xs = sort_values([r.get(x) for r in rows])
    ys = sort_values([r.get(y) for r in rows])
    cells: dict[tuple[Any, Any], list[float]] = {}
    for r in rows:
        value = r.get(objective)
        if r.get(x) is None or r.get(y) is None or not isinstance(value, (int, float)):
            continue
        if np.isfinite(value):
            cells.setdefault((r[x], r[y]), []).append(float(value))
    fold = AGGREGATES[aggregate]
    z = [[fold(cells[(a, b)]) if (a, b) in cells else None for a in xs] for b in ys]
    return xs, ys, z
