"""Vectorised sanity checks on parsed bars.

Each check scans whole arrays with numpy and returns the first offending
index and a description, or ``None``. :func:`first_problem` runs them all and
reports the earliest row; on one row the checks rank in the order listed in
``_CHECKS`` (non-finite values first, inconsistent OHLC last).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ._columns import first_true
from .timeparse import format_ns

__all__ = ("Rows", "adjusted_problem", "first_problem")

Problem = tuple[int, str]


class Rows(NamedTuple):
    """Parsed columns of one chunk, where it sits in the file and what came before."""

    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    names: tuple[str | None, ...]  # the file's column names, canonical order (None: absent volume)
    row0: int  # file row number (1-based) of index 0
    previous: tuple[int, int] | None  # (timestamp, row) of the row before index 0


def _values(rows: Rows) -> tuple[np.ndarray, ...]:
    return rows.open, rows.high, rows.low, rows.close, rows.volume


def _earliest(found: list[Problem | None]) -> Problem | None:
    hits = [problem for problem in found if problem is not None]
    return min(hits, key=lambda problem: problem[0]) if hits else None


def _non_finite(rows: Rows) -> Problem | None:
    found: list[Problem | None] = []
    for name, values in zip(rows.names[1:], _values(rows)):
        if name is None:  # no volume column: NaN volume by design
            continue
        index = first_true(~np.isfinite(values))
        if index is not None:
            value = float(values[index])
            what = "NaN" if np.isnan(value) else f"infinite value {value!r}"
            found.append((index, f"{what} in column {name!r} (values must be finite numbers)"))
    return _earliest(found)


def _order(rows: Rows) -> Problem | None:
    ts = rows.timestamp
    if ts.size == 0:
        return None
    bad = np.empty(ts.size, dtype=bool)
    bad[0] = rows.previous is not None and ts[0] <= rows.previous[0]
    np.less_equal(ts[1:], ts[:-1], out=bad[1:])
    index = first_true(bad)
    if index is None:
        return None
    if index == 0:
        assert rows.previous is not None
        before, before_row = rows.previous
    else:
        before, before_row = int(ts[index - 1]), rows.row0 + index - 1
    this = int(ts[index])
    if this == before:
        return index, f"duplicate timestamp {format_ns(this)} (same as row {before_row})"
    return index, (
        f"timestamp {format_ns(this)} is earlier than row {before_row}'s {format_ns(before)} "
        "(timestamps must be strictly increasing)"
    )


def adjusted_problem(adj: np.ndarray, name: str) -> Problem | None:
    """The first adjusted close that is not a finite positive number, if any."""
    index = first_true(~(np.isfinite(adj) & (adj > 0)))
    if index is None:
        return None
    return index, f"adjusted close {name} = {float(adj[index])!r} (expected a finite positive number)"


def _non_positive(rows: Rows) -> Problem | None:
    found: list[Problem | None] = []
    for name, values in zip(rows.names[1:5], _values(rows)[:4]):
        index = first_true(values <= 0)
        if index is not None:
            found.append((index, f"non-positive price: {name} = {float(values[index])!r}"))
    return _earliest(found)


def _negative_volume(rows: Rows) -> Problem | None:
    index = first_true(rows.volume < 0)
    if index is None:
        return None
    return index, f"negative volume: {rows.names[5]} = {float(rows.volume[index])!r}"


def _inconsistent_ohlc(rows: Rows) -> Problem | None:
    o, h, lo, c = rows.open, rows.high, rows.low, rows.close
    bad = (h < lo) | (h < o) | (h < c) | (lo > o) | (lo > c)
    index = first_true(bad)
    if index is None:
        return None
    op, hi, low, cl = (float(a[index]) for a in (o, h, lo, c))
    names = dict(zip(("open", "high", "low", "close"), rows.names[1:5]))
    if hi < low:
        why = f"{names['high']} {hi!r} < {names['low']} {low!r}"
    elif hi < max(op, cl):
        side = "open" if hi < op else "close"
        why = f"{names['high']} {hi!r} < {names[side]} {max(op, cl)!r}"
    else:
        side = "open" if low > op else "close"
        why = f"{names['low']} {low!r} > {names[side]} {min(op, cl)!r}"
    return index, f"inconsistent OHLC: {why}"


_CHECKS: tuple[Callable[[Rows], Problem | None], ...] = (
    _non_finite,
    _order,
    _non_positive,
    _negative_volume,
    _inconsistent_ohlc,
)


def first_problem(rows: Rows) -> Problem | None:
    """The earliest ``(index, description)`` any check finds in ``rows``, or ``None``."""
    return _earliest([check(rows) for check in _CHECKS])
