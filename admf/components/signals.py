"""Sparse signals: a target series kept only where it changes.

A strategy's target rarely changes from one bar to the next, so storing the
rows where it does (the first row always) and forward-filling them back onto
the bars loses nothing: :func:`dense` of :func:`sparse` is the series itself,
bit for bit (NaN counts as equal to NaN, so a run of "no opinion" is one row).
"""

from __future__ import annotations

import numpy as np

__all__ = ("sparse", "dense")


def sparse(timestamp: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows where ``target`` changes (the first row always): what a
    forward fill of the result gives back exactly. NaN equals NaN here."""
    if not len(target):
        return timestamp[:0], target[:0]
    prev = target[:-1]
    nxt = target[1:]
    changed = ~((prev == nxt) | (np.isnan(prev) & np.isnan(nxt)))
    keep = np.concatenate(([True], changed))
    return timestamp[keep], target[keep]


def dense(times: np.ndarray, stored_times: np.ndarray, stored_target: np.ndarray) -> np.ndarray:
    """The target at every bar of ``times`` from the sparse rows (forward fill).

    Raises :class:`ValueError` when a bar precedes the first stored row."""
    at = np.searchsorted(stored_times, times, side="right") - 1
    if len(at) and at[0] < 0:
        raise ValueError("bars before the first stored signal row")
    return stored_target[at]
