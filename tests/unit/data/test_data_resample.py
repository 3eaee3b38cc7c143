"""Resampling: streamed batch by batch it equals a whole-array reference
aggregation written here independently (plain loops over Python datetimes),
whatever the batch split; sessions and the last bucket; bad settings."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from admf.data.resample import Buckets, Resampler, check_resample, resample_bars
from admf.errors import ConfigError
from admf.messages import BarBatch

MIN = 60_000_000_000
HOUR = 60 * MIN
DAY = 24 * HOUR
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
MONDAY = dt.datetime(1970, 1, 5, tzinfo=dt.timezone.utc)


def _utc(ns: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=ns // 1000)


def _ns(when: dt.datetime) -> int:
    return (when - EPOCH) // dt.timedelta(microseconds=1) * 1000


def reference(ts: list[int], rows: list[tuple[float, float, float, float, float]], period: int,
              label: str, base: int, tz: str | None = None) -> list[tuple[float, ...]]:
    """Coarse bars by a plain loop: each bar's bucket found from datetimes,
    consecutive equal buckets aggregated, the last kept only if complete."""
    zone = zoneinfo.ZoneInfo(tz) if tz else None
    step = dt.timedelta(microseconds=period // 1000)

    def bucket(ns: int) -> tuple[dt.datetime, dt.datetime]:  # (start, end) as UTC datetimes
        when = _utc(ns) - dt.timedelta(microseconds=1 if label == "end" else 0)  # a boundary ends the bucket before
        if zone is None:
            start = MONDAY + (when - MONDAY) // step * step
            return start, start + step
        wall = when.astimezone(zone).replace(tzinfo=None)
        origin = dt.datetime(1970, 1, 5)
        start_wall = origin + (wall - origin) // step * step
        def back(w: dt.datetime) -> dt.datetime:  # local wall time -> UTC, earliest
            return w.replace(tzinfo=zone, fold=0).astimezone(dt.timezone.utc)
        return back(start_wall), back(start_wall + step)

    groups: list[tuple[tuple[dt.datetime, dt.datetime], list[int]]] = []
    for i, ns in enumerate(ts):
        b = bucket(ns)
        if groups and b[0] <= groups[-1][0][0]:  # same bucket, or a wall-clock hour repeated at fall-back
            groups[-1][1].append(i)
        else:
            groups.append((b, [i]))
    out = []
    for n, ((start, end), members) in enumerate(groups):
        if n == len(groups) - 1 and ts[members[-1]] + (base if label == "start" else 0) < _ns(end):
            break  # the last bucket is not complete by time
        volume = 0.0
        for i in members:
            volume += rows[i][4]
        out.append((_ns(end if label == "end" else start), rows[members[0]][0],
                    max(rows[i][1] for i in members), min(rows[i][2] for i in members),
                    rows[members[-1]][3], volume))
    return out


def _columns(ts: list[int], rows: list[tuple[float, ...]]) -> tuple[np.ndarray, ...]:
    arr = np.array(rows, dtype=np.float64).reshape(-1, 5)
    return (np.array(ts, dtype=np.int64), *(arr[:, k].copy() for k in range(5)))


def _streamed(cols: tuple[np.ndarray, ...], cuts: list[int], buckets: Buckets, base: int,
              out_rows: int = 7) -> list[tuple[float, ...]]:
    edges = [0, *sorted(set(c for c in cuts if 0 < c < len(cols[0]))), len(cols[0])]
    batches = [BarBatch(ts=int(cols[0][a]), symbol="X", timestamp=cols[0][a:b], open=cols[1][a:b],
                        high=cols[2][a:b], low=cols[3][a:b], close=cols[4][a:b], volume=cols[5][a:b])
               for a, b in zip(edges, edges[1:])]
    out = []
    for batch in resample_bars(batches, buckets, symbol="X", base_ns=base, batch_rows=out_rows):
        assert batch.symbol == "X"
        out.extend(zip(batch.timestamp.tolist(), batch.open.tolist(), batch.high.tolist(),
                       batch.low.tolist(), batch.close.tolist(), batch.volume.tolist()))
    return out


@st.composite
def fine_bars(draw: st.DrawFn) -> tuple[int, int, list[int], list[tuple[float, ...]], list[int]]:
    base = draw(st.sampled_from([MIN, 5 * MIN, HOUR]))
    factor = draw(st.integers(2, 30))
    gaps = draw(st.lists(st.integers(1, 3 * factor), min_size=1, max_size=150))
    first = draw(st.integers(0, 10_000)) * base + 1_700_000_000 * 10**9 // base * base
    ts = [first + base * int(k) for k in np.cumsum([0, *gaps[1:]])]
    price = st.floats(1.0, 1e4, allow_nan=False)
    rows = draw(st.lists(st.tuples(price, price, price, price, st.integers(0, 10**6).map(float)),
                         min_size=len(ts), max_size=len(ts)))
    cuts = draw(st.lists(st.integers(1, max(len(ts) - 1, 1)), max_size=12))
    return base, base * factor, [int(t) for t in ts], rows, cuts


@settings(max_examples=300, deadline=None)
@given(fine_bars(), st.sampled_from(["end", "start"]))
def test_streamed_equals_whole_array_reference(case: tuple, label: str) -> None:
    base, period, ts, rows, cuts = case
    cols = _columns(ts, rows)
    got = _streamed(cols, cuts, Buckets(period, label=label), base)  # type: ignore[arg-type]
    assert got == reference(ts, rows, period, label, base)


@settings(max_examples=200, deadline=None)
@given(fine_bars(), st.lists(st.integers(1, 150), max_size=12), st.sampled_from(["end", "start"]))
def test_result_does_not_depend_on_the_batch_split(case: tuple, other: list[int], label: str) -> None:
    base, period, ts, rows, cuts = case
    cols = list(_columns(ts, rows))
    rng = np.random.default_rng(len(ts))
    cols[5] = rng.random(len(ts)) * 1e3  # arbitrary float volumes: sums must not change with the split
    buckets = Buckets(period, label=label)  # type: ignore[arg-type]
    whole = _streamed(tuple(cols), [], buckets, base, out_rows=1000)
    assert _streamed(tuple(cols), cuts, buckets, base) == whole
    assert _streamed(tuple(cols), other, buckets, base, out_rows=1) == whole


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=2, max_size=120), st.lists(st.integers(1, 120), max_size=8),
       st.sampled_from([HOUR, 30 * MIN, DAY, 7 * DAY]), st.sampled_from(["end", "start"]))
# a bar stamped 07:00 UTC on 10 March 2024, the instant New York jumps from
# 02:00 EST to 03:00 EDT, ends the 01:00 bucket (found by hypothesis: it was
# put in a 02:00 bucket that the clock never shows)
@example(gaps=[238, 5], cuts=[], period=HOUR, label="end")
def test_session_calendar_buckets_follow_the_local_clock(gaps: list[int], cuts: list[int], period: int,
                                                         label: str) -> None:
    # 10-minute bars around the 2024 US spring-forward (10 March) and fall-back (3 November)
    start = _ns(dt.datetime(2024, 3, 8, 14, 30, tzinfo=dt.timezone.utc))
    ts = [start + 10 * MIN * int(k) for k in np.cumsum(gaps)]
    if len(gaps) % 2:
        ts = [t + _ns(dt.datetime(2024, 11, 1, tzinfo=dt.timezone.utc)) - start for t in ts]
    rows = [(10.0 + i, 12.0 + i, 9.0 + i, 11.0 + i, float(i)) for i in range(len(ts))]
    buckets = Buckets(period, label=label, calendar="equity", tz="America/New_York")  # type: ignore[arg-type]
    got = _streamed(_columns(ts, rows), cuts, buckets, 10 * MIN)
    assert got == reference(ts, rows, period, label, 10 * MIN, tz="America/New_York")


def test_the_repeated_hour_at_fall_back_joins_the_bucket_before() -> None:
    # 2024-11-03: New York wall clocks run 01:00-02:00 twice (05:00-07:00 UTC)
    start = _ns(dt.datetime(2024, 11, 3, 4, 0, tzinfo=dt.timezone.utc))
    ts = [start + k * 10 * MIN for k in range(1, 25)]  # to 08:00 UTC, 03:00 EST
    rows = [(10.0, 12.0, 9.0, 11.0, 1.0)] * len(ts)
    buckets = Buckets(30 * MIN, calendar="equity", tz="America/New_York")
    got = _streamed(_columns(ts, rows), [7, 8, 9], buckets, 10 * MIN)
    labels = [g[0] for g in got]
    assert labels == sorted(set(labels))  # strictly increasing
    assert got == reference(ts, rows, 30 * MIN, "end", 10 * MIN, tz="America/New_York")
    # (00:00, 00:30], (00:30, 01:00], (01:00, 01:30] EDT; then (01:30, 02:00] holds 01:40 and
    # 01:50 EDT and the whole repeated EST hour; (02:00, 02:30], (02:30, 03:00] EST
    assert [g[5] for g in got] == [3.0, 3.0, 3.0, 9.0, 3.0, 3.0]


def test_a_daily_bucket_never_holds_two_sessions() -> None:
    # a NY session 09:30-16:00 local: 14:30-21:00 UTC in winter; daily bars per local day
    days = [dt.datetime(2024, 1, d, 14, 30, tzinfo=dt.timezone.utc) for d in (2, 3, 4)]
    ts = [_ns(d) + k * 30 * MIN for d in days for k in range(1, 14)]
    rows = [(100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 10.0) for i in range(len(ts))]
    buckets = Buckets(DAY, calendar="equity", tz="America/New_York")
    got = _streamed(_columns(ts, rows), [5, 20], buckets, 30 * MIN)
    # two complete sessions; the third ends at local midnight, which the data never reaches
    assert [g[0] for g in got] == [_ns(dt.datetime(2024, 1, d, 5, tzinfo=dt.timezone.utc)) for d in (3, 4)]
    assert [g[1] for g in got] == [100.0, 113.0] and [g[4] for g in got] == [112.5, 125.5]
    assert [g[5] for g in got] == [130.0, 130.0]


def test_nan_volume_stays_nan() -> None:
    ts = [k * MIN + 10 * DAY for k in range(1, 121)]
    rows = [(1.0, 2.0, 0.5, 1.5, float("nan"))] * 120
    got = _streamed(_columns(ts, rows), [33], Buckets(HOUR), MIN)
    assert len(got) == 2 and all(np.isnan(g[5]) for g in got)


def test_the_last_bucket_is_emitted_only_when_complete() -> None:
    hour = [10 * DAY + k * MIN for k in range(1, 61)]  # 00:01 .. 01:00, end-stamped
    rows = [(1.0, 2.0, 0.5, 1.5, 1.0)] * 61
    resampler = Resampler(Buckets(HOUR), MIN)
    assert len(resampler.push(_columns(hour[:59], rows[:59]))[0]) == 0
    assert len(resampler.finish()[0]) == 0  # 00:01 .. 00:59: one minute short, dropped
    resampler = Resampler(Buckets(HOUR), MIN)
    resampler.push(_columns(hour, rows[:60]))
    assert resampler.finish()[0].tolist() == [10 * DAY + HOUR]
    start = Resampler(Buckets(HOUR, label="start"), MIN)  # 00:00 .. 00:59, start-stamped: complete
    start.push(_columns([t - MIN for t in hour], rows[:60]))
    assert start.finish()[0].tolist() == [10 * DAY]


@pytest.mark.parametrize(("period", "base", "calendar", "expected"), [
    (MIN, MIN, "24/7", "coarser than data.timeframe"),
    (MIN, HOUR, "24/7", "coarser than data.timeframe"),
    (7 * MIN, 2 * MIN, "24/7", "whole multiple"),
    (7 * HOUR, HOUR, "equity", "divides a day"),
])
def test_bad_settings_name_the_key(period: int, base: int, calendar: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=f"data.resample: .*{expected}"):
        check_resample(period, base, calendar)
    check_resample(HOUR, MIN, calendar)  # the same calendar takes a good one


def test_bad_label_is_refused() -> None:
    with pytest.raises(ConfigError, match="data.resample_label: expected 'end' or 'start'"):
        Buckets(HOUR, label="middle")  # type: ignore[arg-type]
