"""Helpers shared by the data tests: hand-computed times and batch comparisons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np

from admf.messages import BarBatch

FIELDS = ("timestamp", "open", "high", "low", "close", "volume")


def ns(*args: int, tz: dt.tzinfo = dt.timezone.utc) -> int:
    """Nanoseconds since the epoch of ``datetime(*args)`` (UTC unless ``tz``), computed by hand."""
    moment = dt.datetime(*args, tzinfo=tz)
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1) * 1000


def joined(batches: Iterable[BarBatch]) -> dict[str, np.ndarray]:
    """All batches' columns concatenated, by field name."""
    batches = list(batches)
    return {name: np.concatenate([getattr(b, name) for b in batches]) for name in FIELDS}


def assert_same_bars(left: dict[str, np.ndarray], right: dict[str, np.ndarray]) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(left[name], right[name], err_msg=name)
