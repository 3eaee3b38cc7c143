"""parse_time, parse_duration and format_ns: every accepted form, and refusals."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
import pytest

from admf.data import format_ns, parse_duration, parse_time
from admf.errors import ConfigError


def ns(*args: int, tz: dt.tzinfo = dt.timezone.utc) -> int:
    """Nanoseconds since the epoch of ``datetime(*args)`` (UTC unless ``tz``), computed by hand."""
    moment = dt.datetime(*args, tzinfo=tz)
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)) // dt.timedelta(microseconds=1) * 1000


NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
DAY = 86_400 * 10**9


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-02", ns(2024, 1, 2)),
        ("2024-01-02T09:30", ns(2024, 1, 2, 9, 30)),
        ("2024-01-02 09:30:15", ns(2024, 1, 2, 9, 30, 15)),
        ("2024-01-02T09:30:15.123456789", ns(2024, 1, 2, 9, 30, 15) + 123_456_789),
        ("2024-01-02T09:30:00Z", ns(2024, 1, 2, 9, 30)),
        ("2024-01-02T09:30:00+01:00", ns(2024, 1, 2, 8, 30)),
        ("2024-01-02 09:30:00-0500", ns(2024, 1, 2, 14, 30)),
        ("  2024-01-02  ", ns(2024, 1, 2)),
        ("1704153600", ns(2024, 1, 2)),
        (1_704_153_600, ns(2024, 1, 2)),
        (1_704_153_600_123, ns(2024, 1, 2) + 123_000_000),
        (1_704_153_600_123_456, ns(2024, 1, 2) + 123_456_000),
        (1_704_153_600_123_456_789, ns(2024, 1, 2) + 123_456_789),
        (np.int64(1_704_153_600), ns(2024, 1, 2)),
        (-86_400, ns(1969, 12, 31)),
        (dt.date(2024, 1, 2), ns(2024, 1, 2)),
        (dt.datetime(2024, 1, 2, 9, 30), ns(2024, 1, 2, 9, 30)),
        (dt.datetime(2024, 1, 2, 9, 30, tzinfo=NEW_YORK), ns(2024, 1, 2, 14, 30)),
    ],
)
def test_parse_time_accepts(value: object, expected: int) -> None:
    assert parse_time(value) == expected  # type: ignore[arg-type]


def test_naive_times_are_local_to_tz() -> None:
    assert parse_time("2024-01-02 09:30", tz="America/New_York") == ns(2024, 1, 2, 14, 30)
    assert parse_time("2024-07-02 09:30", tz="America/New_York") == ns(2024, 7, 2, 13, 30)
    # An explicit offset, or an epoch number, is absolute: tz does not apply.
    assert parse_time("2024-01-02T09:30Z", tz="America/New_York") == ns(2024, 1, 2, 9, 30)
    assert parse_time(1_704_153_600, tz="America/New_York") == ns(2024, 1, 2)


def test_end_of_a_date_is_its_last_nanosecond() -> None:
    assert parse_time("2024-01-02", end=True) == ns(2024, 1, 3) - 1
    assert parse_time(dt.date(2024, 1, 2), end=True) == ns(2024, 1, 3) - 1
    assert parse_time("2024-01-02", end=True, tz="America/New_York") == ns(2024, 1, 3, 5) - 1
    # A day with a daylight-saving change is 23 hours long.
    assert parse_time("2024-03-10", end=True, tz="America/New_York") == ns(2024, 3, 11, 4) - 1


def test_end_with_a_time_of_day_is_that_instant() -> None:
    assert parse_time("2024-01-02T00:00", end=True) == ns(2024, 1, 2)
    assert parse_time(dt.datetime(2024, 1, 2), end=True) == ns(2024, 1, 2)


@pytest.mark.parametrize(
    "value",
    ["", "garbage", "2024-13-01", "2024-02-30", "2024-1-2", "01/02/2024", True, 1.5, None, 2**64, [2024]],
)
def test_parse_time_refuses(value: object) -> None:
    with pytest.raises(ConfigError, match="as a time"):
        parse_time(value)  # type: ignore[arg-type]


def test_parse_time_refuses_out_of_range_epochs_and_unknown_zones() -> None:
    with pytest.raises(ConfigError, match="out of range"):
        parse_time(99_999_999_999)
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        parse_time("2024-01-02", tz="Mars/Olympus")


def test_ambiguous_local_time_is_refused() -> None:
    with pytest.raises(ConfigError, match="ambiguous or does not exist in America/New_York"):
        parse_time("2024-11-03 01:30", tz="America/New_York")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1ns", 1),
        ("1us", 1_000),
        ("1µs", 1_000),
        ("1ms", 1_000_000),
        ("30s", 30 * 10**9),
        ("1m", 60 * 10**9),
        ("5m", 300 * 10**9),
        ("15min", 900 * 10**9),
        ("1h", 3_600 * 10**9),
        ("1d", DAY),
        ("90d", 90 * DAY),
        ("1w", 7 * DAY),
        (" 2 h ", 7_200 * 10**9),
        # pandas' fixed-length aliases, and a unit alone meaning one of it
        ("1H", 3_600 * 10**9),
        ("5T", 300 * 10**9),
        ("1min", 60 * 10**9),
        ("1Min", 60 * 10**9),
        ("30S", 30 * 10**9),
        ("D", DAY),
        ("1D", DAY),
        ("W", 7 * DAY),
        ("h", 3_600 * 10**9),
        ("min", 60 * 10**9),
        ("5L", 5_000_000),
        ("3U", 3_000),
        ("7N", 7),
        (dt.timedelta(minutes=5), 300 * 10**9),
    ],
)
def test_parse_duration_accepts(text: str | dt.timedelta, expected: int) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m", "M", "1.5h", "5M", "1y", "1Y", "1Q", "1B", "1mo", "5 minutes", "-5m", "1h30m", 5, None])
def test_parse_duration_refuses_garbage(text: object) -> None:
    with pytest.raises(ConfigError, match="as a duration"):
        parse_duration(text)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["0m", dt.timedelta(0), dt.timedelta(minutes=-1)])
def test_parse_duration_refuses_non_positive(value: str | dt.timedelta) -> None:
    with pytest.raises(ConfigError, match="must be positive"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (ns(2024, 1, 2), "2024-01-02T00:00:00Z"),
        (ns(2024, 1, 2, 9, 30, 15), "2024-01-02T09:30:15Z"),
        (ns(2024, 1, 2) + 500_000_000, "2024-01-02T00:00:00.500Z"),
        (ns(2024, 1, 2) + 1_000, "2024-01-02T00:00:00.000001Z"),
        (ns(2024, 1, 2) + 7, "2024-01-02T00:00:00.000000007Z"),
    ],
)
def test_format_ns(value: int, text: str) -> None:
    assert format_ns(value) == text
    assert parse_time(text) == value
