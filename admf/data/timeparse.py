"""Times and durations as int64 nanoseconds.

:func:`parse_time` reads one point in time with the very parser the data
files go through (so ``start: 2024-01-02`` means what a ``2024-01-02`` cell
means); :func:`parse_duration` reads bar intervals and window lengths such as
``"5m"`` or ``"90d"``; :func:`format_ns` prints a time back.

Epoch numbers (in files and here) pick their unit by magnitude, per value:
``|v| < 1e11`` is seconds, ``< 1e14`` milliseconds, ``< 1e17`` microseconds,
anything larger nanoseconds. Every date from 1973 to 2262 is therefore read
correctly whatever unit it was written in.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo

import numpy as np
import pyarrow as pa

from ..errors import ConfigError
from ._columns import RowProblem, TimestampParser, epoch_to_ns

__all__ = ("parse_time", "parse_duration", "format_ns", "check_timezone")

TimeLike = str | dt.date | dt.datetime | int

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DURATION = re.compile(r"\s*(\d*)\s*([a-zA-Zµ]+)\s*")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "min": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
# pandas' offset aliases for fixed lengths (``5T``, ``1H``, ``D``, ``1min``).
# ``M`` (pandas: month end), ``Y``, ``Q`` and ``B`` are not fixed lengths.
_ALIASES = {"T": "m", "Min": "m", "H": "h", "D": "d", "S": "s", "W": "w", "L": "ms", "U": "us", "N": "ns"}
# A unit without a number means one of it, as in pandas, except ``m``: pandas
# reads a bare ``m`` as a month.
_BARE = frozenset(_UNIT_NS).union(_ALIASES) - {"m"}


def check_timezone(tz: str | None) -> str | None:
    """Return ``tz`` if it names an IANA time zone (or is ``None``), else raise ConfigError."""
    if tz is None:
        return None
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"unknown time zone {tz!r}; expected an IANA name like 'America/New_York'") from None
    return tz


def parse_time(value: TimeLike, *, end: bool = False, tz: str | None = None) -> int:
    """One point in time as int64 nanoseconds since the epoch, UTC.

    ``value`` is an ISO-8601 date or datetime string (``T`` or a space, with
    or without a fraction and zone offset), a :class:`datetime.date` or
    :class:`datetime.datetime`, a :class:`numpy.datetime64` (exact), or an
    epoch number (int, or a string of digits; unit by magnitude, see the
    module docstring). Naive values are
    local time in ``tz`` (UTC when ``None``). With ``end=True`` a date
    without a time means the *end* of that day (its last nanosecond), so an
    inclusive end date includes the whole day.

    Raises :class:`~admf.errors.ConfigError` for anything else.
    """
    check_timezone(tz)
    if isinstance(value, np.datetime64):  # exact, no unit guessing (an internal bound)
        if np.isnat(value):
            raise ConfigError("cannot read NaT as a time")
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if isinstance(value, bool) or not isinstance(value, (str, dt.date, int, np.integer)):
        raise ConfigError(f"cannot read {value!r} as a time: expected an ISO-8601 string, a date, or an epoch number")
    if isinstance(value, (int, np.integer)):
        return _parse_epoch(int(value))
    if isinstance(value, str):  # config bounds: the same few strings, parsed per piece
        return _parse_string(value, end, tz)
    return _parse_value(value, end, tz)


@functools.lru_cache(maxsize=4096)
def _parse_string(value: str, end: bool, tz: str | None) -> int:
    return _parse_value(value, end, tz)


def _parse_value(value: str | dt.date, end: bool, tz: str | None) -> int:
    text = value.strip() if isinstance(value, str) else value.isoformat()
    if end and _DATE_ONLY.fullmatch(text):
        next_day = dt.date.fromisoformat(text) + dt.timedelta(days=1)
        return _parse_text(next_day.isoformat(), value, tz) - 1
    return _parse_text(text, value, tz)


def _parse_epoch(value: int) -> int:
    if not -(2**63) <= value < 2**63:
        raise ConfigError(f"cannot read {value!r} as a time: out of range (years 1677-2262)")
    try:
        return int(epoch_to_ns(np.array([value], dtype=np.int64))[0])
    except RowProblem as exc:
        raise ConfigError(f"cannot read {value!r} as a time: {exc.problem}") from None


def _parse_text(text: str, original: TimeLike, tz: str | None) -> int:
    try:
        return int(TimestampParser(tz)(pa.array([text], pa.string()))[0])
    except RowProblem as exc:
        raise ConfigError(f"cannot read {original!r} as a time: {exc.problem}") from None


def parse_duration(value: str | dt.timedelta) -> int:
    """A positive duration as int64 nanoseconds.

    ``value`` is a whole number followed by a unit: ``ns``, ``us`` (or
    ``µs``), ``ms``, ``s``, ``m`` or ``min`` (minutes), ``h``, ``d``, ``w``
    (7 days) — e.g. ``"1m"``, ``"5m"``, ``"1h"``, ``"90d"``, ``"1ms"`` — or a
    :class:`datetime.timedelta`. pandas' fixed-length aliases are read too:
    ``T`` and ``Min`` (minutes), ``H``, ``D``, ``S``, ``W`` (7 days), ``L``
    (ms), ``U`` (us), ``N`` (ns), so ``"5T"``, ``"1H"`` and ``"1D"`` work; a
    unit alone means one of it (``"D"``, ``"h"``, ``"min"``), except ``m``.
    ``M`` could mean minutes or months, so it is refused; months and years
    are not fixed lengths and are not accepted.

    Raises :class:`~admf.errors.ConfigError` for anything else, including
    zero and bare numbers.
    """
    ns = None
    if isinstance(value, dt.timedelta):
        ns = (value // dt.timedelta(microseconds=1)) * 1_000
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value)):
        count, unit = match[1], _ALIASES.get(match[2], match[2])
        if unit in _UNIT_NS and (count or match[2] in _BARE):
            ns = int(count or 1) * _UNIT_NS[unit]
    if ns is None:
        units = ", ".join([*_UNIT_NS, *_ALIASES])
        expected = f"a whole number and a unit ({units}), like '5m' or '1H'"
        raise ConfigError(f"cannot read {value!r} as a duration: expected {expected}")
    if ns <= 0:
        raise ConfigError(f"duration {value!r} must be positive")
    return ns


def format_ns(ns: int) -> str:
    """An int64 ns UTC time as ISO-8601, as coarse as is exact: ``2024-01-02T09:30:00Z``."""
    stamp = np.datetime64(int(ns), "ns")
    for unit, step in (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)):
        if ns % step == 0:
            return f"{np.datetime_as_string(stamp, unit=unit)}Z"
    return f"{np.datetime_as_string(stamp, unit='ns')}Z"
