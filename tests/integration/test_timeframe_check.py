"""A bar source checks the configured timeframe against the bars themselves.

Annualised metrics trust ``data.timeframe``: daily bars read with the default
``1m`` would inflate the Sharpe ratio about 38-fold without a word. Given the
expected interval, :class:`~admf.containers.data.BarSource` measures the
median time between the first bars of its symbol (robust to weekends between
daily bars and nights between intraday bars) and refuses a timeframe more
than 1.5 times off either way, before anything runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from admf.containers.data import BarSource, IntervalCheck, _compact
from admf.data.calendars import CalendarWarning
from admf.data.readers import iter_bars
from admf.errors import ConfigError, ContainerError
from admf.messages import BarBatch
from admf.runtime.container import Container
from admf.runtime.sequencer import run_topology
from admf.runtime.topology import Topology

from ._support import HEADER, write_csv

pytestmark = pytest.mark.anyio

MINUTE = 60 * 10**9
HOUR = 60 * MINUTE
DAY = 24 * HOUR
HOLIDAYS = {datetime(2024, 1, 15).date(), datetime(2024, 2, 19).date()}


class Sink(Container):
    """Collects every batch it receives."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.bars = self.add_input("bars", BarBatch)
        self.batches: list[BarBatch] = []

    async def on_execute(self) -> None:
        async for batch in self.bars:
            self.batches.append(batch)

    async def on_collect(self) -> Any:
        return len(self.batches)


def rows_at(stamps: list[datetime]) -> list[list[Any]]:
    close = 100 + np.cumsum(np.sin(np.arange(len(stamps))))
    return [[t.strftime("%Y-%m-%d %H:%M:%S"), c, c + 1, c - 1, c, 1000.0]
            for t, c in zip(stamps, close)]


def business_days(n: int, start: datetime = datetime(2024, 1, 2, tzinfo=UTC)) -> list[datetime]:
    """``n`` weekdays from ``start``, US-style holidays left out (weekend and holiday gaps)."""
    days, day = [], start
    while len(days) < n:
        if day.weekday() < 5 and day.date() not in HOLIDAYS:
            days.append(day)
        day += timedelta(days=1)
    return days


def sessions(days: int, every: timedelta = timedelta(minutes=1), *, first_bar: str = "09:30"
             ) -> list[datetime]:
    """Intraday bars from ``first_bar`` to 16:00 on ``days`` business days (overnight gaps)."""
    out = []
    for day in business_days(days):
        hour, minute = map(int, first_bar.split(":"))
        t = day.replace(hour=hour, minute=minute)
        while t < day.replace(hour=16, minute=0):
            out.append(t)
            t += every
        first_bar = "09:30"
    return out


async def stream(path: Path, *, symbol: str = "SPY", batch_rows: int = 65536,
                 threaded: bool = False, expected_interval_ns: int | None = None,
                 timeframe: str | None = None, origin: str | None = None,
                 calendar: str = "equity") -> list[BarBatch]:
    check = (IntervalCheck(expected_interval_ns, timeframe or _compact(expected_interval_ns),
                           calendar) if expected_interval_ns is not None else None)
    source = BarSource("source", lambda: iter_bars(path, symbol=symbol, batch_rows=batch_rows),
                       threaded=threaded, interval_check=check, origin=origin)
    sink = Sink("sink")
    topology = Topology("t").add(source, sink)
    topology.pipe("source.bars", "sink.bars")
    await run_topology(topology)
    assert sum(map(len, sink.batches)) == source.rows
    return sink.batches


def stamps_of(batches: list[BarBatch]) -> np.ndarray:
    return np.concatenate([b.timestamp for b in batches])


@pytest.mark.parametrize("threaded", [False, True])
async def test_daily_bars_under_the_default_minute_timeframe_are_refused(
        tmp_path: Path, threaded: bool) -> None:
    path = write_csv(tmp_path / "SPY.csv", rows_at(business_days(300)), HEADER)
    with pytest.raises(ContainerError) as info:
        await stream(path, threaded=threaded, expected_interval_ns=MINUTE, timeframe="1m",
                     origin=str(path))
    assert info.value.stage == "start"  # every source measured its bars; none has sent any
    assert isinstance(info.value.cause, ConfigError)
    assert str(info.value.cause) == (f"data.timeframe is '1m' but the bars of SPY in {path} are "
                                     "1 day apart (median); set data.timeframe: 1d")


@pytest.mark.parametrize("batch_rows", [65536, 10, 3, 1])
async def test_daily_bars_with_weekends_and_holidays_pass_as_1d(tmp_path: Path,
                                                                batch_rows: int) -> None:
    days = business_days(300)
    path = write_csv(tmp_path / "SPY.csv", rows_at(days), HEADER)
    batches = await stream(path, batch_rows=batch_rows, expected_interval_ns=DAY, timeframe="1d")
    # every bar arrives once, in order, read-ahead batches included
    assert len(stamps_of(batches)) == len(days)
    assert np.all(np.diff(stamps_of(batches)) > 0)
    assert all(len(b) <= batch_rows for b in batches)


async def test_weekday_daily_bars_under_the_24_7_calendar_warn_once(tmp_path: Path) -> None:
    # Sharpe would be annualised with 365.25 bars a year instead of 252 sessions
    path = write_csv(tmp_path / "SPY.csv", rows_at(business_days(40)), HEADER)
    with pytest.warns(CalendarWarning) as caught:
        await stream(path, expected_interval_ns=DAY, timeframe="1d", calendar="24/7", origin="x.csv")
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "\n" not in message and "data.calendar: equity" in message and "SPY in x.csv" in message


async def test_daily_bars_with_weekends_do_not_warn(tmp_path: Path) -> None:
    days = [datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=k) for k in range(40)]
    path = write_csv(tmp_path / "BTC.csv", rows_at(days), HEADER)
    await stream(path, expected_interval_ns=DAY, timeframe="1d", calendar="24/7")  # warnings are errors


@pytest.mark.parametrize("first_bar", ["09:30", "15:50"])  # the first rows may span a night
@pytest.mark.parametrize("batch_rows", [65536, 7])
async def test_minute_bars_with_overnight_gaps_pass_as_1m(tmp_path: Path, batch_rows: int,
                                                          first_bar: str) -> None:
    path = write_csv(tmp_path / "SPY.csv", rows_at(sessions(3, first_bar=first_bar)), HEADER)
    batches = await stream(path, batch_rows=batch_rows, expected_interval_ns=MINUTE,
                           timeframe="1m", threaded=True)
    assert len(stamps_of(batches)) == len(sessions(3, first_bar=first_bar))


@pytest.mark.parametrize(("every", "configured", "expected", "measured", "suggested"), [
    (timedelta(minutes=1), "1h", HOUR, "1 minute", "1m"),
    (timedelta(minutes=1), "5m", 5 * MINUTE, "1 minute", "1m"),
    (timedelta(minutes=5), "1m", MINUTE, "5 minutes", "5m"),
    (timedelta(minutes=2), "1m", MINUTE, "2 minutes", "2m"),
    (timedelta(hours=1), "1d", DAY, "1 hour", "1h"),
])
async def test_a_timeframe_more_than_1_5x_off_either_way_is_refused(
        tmp_path: Path, every: timedelta, configured: str, expected: int, measured: str,
        suggested: str) -> None:
    path = write_csv(tmp_path / "QQQ.csv", rows_at(sessions(2, every)), HEADER)
    with pytest.raises(ContainerError) as info:
        await stream(path, symbol="QQQ", expected_interval_ns=expected, timeframe=configured,
                     origin="data/QQQ.csv")
    assert str(info.value.cause) == (
        f"data.timeframe is {configured!r} but the bars of QQQ in data/QQQ.csv are {measured} "
        f"apart (median); set data.timeframe: {suggested}")


@pytest.mark.parametrize(("every", "expected"), [
    (timedelta(minutes=1), MINUTE), (timedelta(minutes=5), 5 * MINUTE),
    (timedelta(hours=1), HOUR), (timedelta(minutes=30), HOUR // 2),
])
async def test_a_matching_timeframe_passes(tmp_path: Path, every: timedelta, expected: int) -> None:
    path = write_csv(tmp_path / "QQQ.csv", rows_at(sessions(4, every)), HEADER)
    await stream(path, symbol="QQQ", expected_interval_ns=expected)


async def test_without_an_expected_interval_nothing_is_checked(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "SPY.csv", rows_at(business_days(50)), HEADER)
    assert len(stamps_of(await stream(path))) == 50


async def test_fewer_than_three_bars_are_not_checked(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "SPY.csv", rows_at(business_days(2)), HEADER)
    assert len(stamps_of(await stream(path, expected_interval_ns=MINUTE))) == 2


async def test_the_message_words_the_interval_without_a_label_or_origin(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "SPY.csv", rows_at(business_days(20)), HEADER)
    with pytest.raises(ContainerError) as info:
        await stream(path, expected_interval_ns=MINUTE)
    assert str(info.value.cause) == ("data.timeframe is '1m' but the bars of SPY are 1 day "
                                     "apart (median); set data.timeframe: 1d")


def test_the_expected_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        IntervalCheck(0, "0s")


async def test_with_several_symbols_the_finest_interval_is_the_timeline(tmp_path: Path) -> None:
    # a 1-minute symbol and a 5-minute one: the portfolio is marked every
    # minute, so 1m is right and 5m is not (and the message names the 1m symbol)
    fine = write_csv(tmp_path / "A.csv", rows_at(sessions(2, timedelta(minutes=1))), HEADER)
    coarse = write_csv(tmp_path / "B.csv", rows_at(sessions(2, timedelta(minutes=5))), HEADER)

    async def both(expected: int, label: str) -> None:
        check = IntervalCheck(expected, label)
        sources = [BarSource(f"source_{s}", lambda p=p, s=s: iter_bars(p, symbol=s),
                             interval_check=check) for s, p in (("A", fine), ("B", coarse))]
        sinks = [Sink(f"sink_{s}") for s in ("A", "B")]
        topology = Topology("t").add(*sources, *sinks)
        for s in ("A", "B"):
            topology.pipe(f"source_{s}.bars", f"sink_{s}.bars")
        await run_topology(topology)

    await both(MINUTE, "1m")
    with pytest.raises(ContainerError) as info:
        await both(5 * MINUTE, "5m")
    assert "the bars of A are 1 minute apart" in str(info.value.cause)
