"""Vectorised conversion of Arrow columns to numpy, locating the first bad value.

Every conversion is one Arrow compute call over the whole array on the happy
path. When a call fails, :func:`first_failure` bisects the array (the failing
half is searched again) to find the first offending element, so the error
path costs about two more passes, never a Python loop per row. Problems are
reported as :class:`RowProblem` with the index *within the array*; the reader
turns that into a file row number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = (
    "RowProblem",
    "TimestampParser",
    "epoch_to_ns",
    "first_failure",
    "first_null",
    "first_true",
    "to_float64",
)

_INT64_MAX = np.iinfo(np.int64).max
_NS = pa.timestamp("ns")
_NS_UTC = pa.timestamp("ns", "UTC")
# Epoch numbers: the unit is chosen per value by magnitude. Below 1e11 is
# seconds (up to year 5138), below 1e14 milliseconds, below 1e17 microseconds,
# anything larger nanoseconds; so every date from 1973 on is unambiguous.
_EPOCH_BOUNDS = (1e11, 1e14, 1e17)
_EPOCH_SCALES = (1_000_000_000, 1_000_000, 1_000)
_NUMERIC = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_KIND_HINTS = {
    "epoch": "an epoch number, like the first row",
    "naive": "ISO-8601 without a zone offset, like the first row",
    "offset": "ISO-8601 with a zone offset, like the first row",
}


class RowProblem(Exception):
    """A value the data layer cannot accept: ``index`` within the array
    (``None`` when the whole column is wrong) and what is wrong with it."""

    def __init__(self, index: int | None, problem: str) -> None:
        super().__init__(problem)
        self.index = index
        self.problem = problem


def first_true(mask: np.ndarray) -> int | None:
    """Index of the first true element of a boolean array, or ``None``."""
    if mask.size == 0:
        return None
    index = int(np.argmax(mask))
    return index if mask[index] else None


def first_null(arr: pa.Array) -> int | None:
    """Index of the first null of an Arrow array, or ``None``."""
    if arr.null_count == 0:
        return None
    return first_true(pc.is_null(arr).to_numpy(zero_copy_only=False))


def first_failure(arr: pa.Array, fn: Callable[[pa.Array], Any]) -> int:
    """Index of the first element on which the elementwise ``fn`` raises.

    ``fn(arr)`` must be known to fail; the array is bisected, keeping the
    half that still fails.
    """
    lo, hi = 0, len(arr)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            fn(arr.slice(lo, mid - lo))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
        else:
            lo = mid
    return lo


def _cast_or_locate(arr: pa.Array, target: pa.DataType, describe: Callable[[Any], str]) -> pa.Array:
    def cast(a: pa.Array) -> pa.Array:
        return pc.cast(a, target)

    try:
        return cast(arr)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        index = first_failure(arr, cast)
        raise RowProblem(index, describe(arr[index].as_py())) from None


def _decoded(arr: pa.Array) -> pa.Array:
    return arr.dictionary_decode() if pa.types.is_dictionary(arr.type) else arr


def to_float64(arr: pa.Array, column: str) -> np.ndarray:
    """A null-free Arrow column of numbers (or numeric strings) as float64."""
    arr = _decoded(arr)
    kind = arr.type
    if pa.types.is_float64(kind):
        return arr.to_numpy(zero_copy_only=False)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return pc.cast(arr, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        parsed = _cast_or_locate(arr, pa.float64(), lambda v: f"unparsable number {v!r} in column {column!r}")
        return parsed.to_numpy(zero_copy_only=False)
    raise RowProblem(None, f"column {column!r} has type {kind}; expected numbers")


def epoch_to_ns(values: np.ndarray) -> np.ndarray:
    """Epoch numbers (int or float, unit chosen per value by magnitude) as int64 ns."""
    magnitude = np.abs(values.astype(np.float64))
    scale = np.select([magnitude < bound for bound in _EPOCH_BOUNDS], _EPOCH_SCALES, 1)
    if values.dtype.kind == "f":
        # Whole and fractional parts apart: at 1e18 a float64 is only exact to 256 ns.
        finite = np.isfinite(values)
        whole = np.floor(np.where(finite, values, 0.0))
        bad = ~finite | (np.abs(whole) >= 2.0**62)
        ints = np.where(bad, 0.0, whole).astype(np.int64)
        fraction = np.rint((np.where(bad, 0.0, values) - whole) * scale).astype(np.int64)
    else:
        ints = values.astype(np.int64)
        bad = np.zeros(len(ints), dtype=bool)
        fraction = np.zeros(len(ints), dtype=np.int64)
    bad |= np.abs(ints) > (_INT64_MAX - scale) // scale
    index = first_true(bad)
    if index is not None:
        raise RowProblem(index, f"epoch timestamp {values[index].item()!r} is out of range (years 1677-2262)")
    return ints * scale + fraction


class TimestampParser:
    """Turns a timestamp column into int64 ns UTC, one batch at a time.

    Accepts Arrow timestamps and dates, epoch numbers (:func:`epoch_to_ns`)
    and strings: ISO-8601 dates and datetimes with ``T`` or a space, optional
    fraction and optional zone offset (``Z``, ``+01:00``, ``-0500``), or epoch
    numbers. Naive values are local time in ``tz`` (UTC when ``None``).
    Which string form the column uses is fixed by its first value, so a
    column that mixes forms fails at the first row that differs.
    """

    def __init__(self, tz: str | None) -> None:
        self._tz = None if tz in (None, "UTC") else tz
        self._kind: str | None = None

    def __call__(self, arr: pa.Array) -> np.ndarray:
        arr = _decoded(arr)
        kind = arr.type
        if pa.types.is_timestamp(kind):
            return self._from_timestamps(arr)
        if pa.types.is_date(kind):
            return self._localize(pc.cast(arr, _NS), arr)
        if pa.types.is_integer(kind):
            return epoch_to_ns(_cast_or_locate(arr, pa.int64(), _out_of_range).to_numpy())
        if pa.types.is_floating(kind):
            return epoch_to_ns(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False))
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return self._from_strings(arr)
        raise RowProblem(None, f"timestamp column has type {kind}; expected dates, times or epoch numbers")

    def _from_timestamps(self, arr: pa.Array) -> np.ndarray:
        if arr.type.tz is not None:
            return _int64(_cast_or_locate(arr, pa.timestamp("ns", arr.type.tz), _out_of_range))
        return self._localize(_cast_or_locate(arr, _NS, _out_of_range), arr)

    def _from_strings(self, arr: pa.Array) -> np.ndarray:
        if self._kind is None:
            self._kind = _string_kind(arr[0].as_py())
        hint = _KIND_HINTS[self._kind]

        def describe(value: Any) -> str:
            return f"unparsable timestamp {value!r} (expected {hint})"

        if self._kind == "epoch":
            try:
                return epoch_to_ns(pc.cast(arr, pa.int64()).to_numpy())
            except pa.ArrowInvalid:
                return epoch_to_ns(_cast_or_locate(arr, pa.float64(), describe).to_numpy())
        if self._kind == "offset":
            return _int64(_cast_or_locate(arr, _NS_UTC, describe))
        return self._localize(_cast_or_locate(arr, _NS, describe), arr)

    def _localize(self, naive: pa.Array, original: pa.Array) -> np.ndarray:
        if self._tz is None:
            return _int64(naive)
        tz = self._tz

        def assume(a: pa.Array) -> pa.Array:
            return pc.assume_timezone(a, tz, ambiguous="raise", nonexistent="raise")

        try:
            return _int64(assume(naive))
        except pa.ArrowInvalid:
            index = first_failure(naive, assume)
            value = original[index].as_py()
            raise RowProblem(
                index, f"local time {value!r} is ambiguous or does not exist in {tz} (a daylight-saving change)"
            ) from None


def _string_kind(value: str) -> str:
    if _NUMERIC.fullmatch(value):
        return "epoch"
    for kind, target in (("naive", _NS), ("offset", _NS_UTC)):
        try:
            pc.cast(pa.array([value]), target)
        except pa.ArrowInvalid:
            continue
        return kind
    raise RowProblem(0, f"unparsable timestamp {value!r} (expected an ISO-8601 date or datetime, or an epoch number)")


def _int64(timestamps: pa.Array) -> np.ndarray:
    return timestamps.cast(pa.int64()).to_numpy()


def _out_of_range(value: Any) -> str:
    return f"timestamp {value!r} is out of range (years 1677-2262)"
