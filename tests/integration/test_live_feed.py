"""admf.Runtime(feed=...): an application's bars feed a study as they come."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import numpy as np
import pytest

import admf
from admf.components.per_bar import BarStrategy
from admf.errors import AdmfError, ConfigError
from admf.messages import BarBatch
from tests._walks import walk_arrays

MINUTE = 60_000_000_000
ORIGIN = int(np.datetime64("2024-01-02T00:00", "ns").astype(np.int64))
SYMBOLS = ("AAA", "BBB")


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return request.param


def config(**extra: Any) -> dict[str, Any]:
    return {"name": "fed", "seed": 1,
            "data": {"symbols": list(SYMBOLS), "timeframe": "1m"},
            "strategies": [{"type": "sma_crossover", "params": {"fast": [4, 9], "slow": 25},
                            "direction": "long_short"}],
            "portfolio": {"sizing": {"type": "percent_equity", "percent": 40}},
            "execution": {"commission": {"type": "per_share", "rate": 0.005, "minimum": 1.0}},
            "risk": {"stop_loss": 0.01}, **extra}


def frames(n: int = 1500) -> dict[str, dict[str, np.ndarray]]:
    """Each symbol's bars as a dict of arrays; BBB starts 30 bars late and has a hole."""
    out = {}
    for k, symbol in enumerate(SYMBOLS):
        o, h, lo, c, v = walk_arrays(n, 10 + k)
        ts = ORIGIN + np.arange(n, dtype=np.int64) * MINUTE
        keep = np.ones(n, dtype=bool)
        if symbol == "BBB":
            keep[:30] = False
            keep[700:760] = False
        out[symbol] = {"timestamp": ts[keep], "open": o[keep], "high": h[keep], "low": lo[keep],
                       "close": c[keep], "volume": v[keep]}
    return out


def in_time_order(data: dict[str, dict[str, np.ndarray]]) -> list[tuple[int, str, int]]:
    rows = [(int(t), s, i) for s in SYMBOLS for i, t in enumerate(data[s]["timestamp"])]
    return sorted(rows)


async def one_bar_at_a_time(data: dict[str, dict[str, np.ndarray]]) -> AsyncIterator[Any]:
    for k, (t, symbol, i) in enumerate(in_time_order(data)):
        cols = data[symbol]
        stamp: Any = [t, np.datetime64(t, "ns"),
                      dt.datetime.fromtimestamp(t / 1e9, tz=dt.timezone.utc)][k % 3]
        yield {"symbol": symbol, "timestamp": stamp, **{n: float(cols[n][i]) for n in
                                                        ("open", "high", "low", "close", "volume")}}
        if k % 97 == 0:
            await anyio.sleep(0)  # a producer that yields to its loop now and then


async def batches(data: dict[str, dict[str, np.ndarray]], seed: int) -> AsyncIterator[Any]:
    """Runs of each symbol's bars as BarBatch, cut at random, in order of first row."""
    rng = np.random.default_rng(seed)
    pieces = []
    for symbol in SYMBOLS:
        cols = data[symbol]
        n = len(cols["timestamp"])
        cuts = np.unique(np.concatenate(([0], rng.integers(1, n, 40), [n])))
        for a, b in zip(cuts[:-1], cuts[1:]):
            ts = cols["timestamp"][a:b]
            pieces.append(BarBatch(ts=int(ts[0]), symbol=symbol, timestamp=ts,
                                   **{k: cols[k][a:b] for k in
                                      ("open", "high", "low", "close", "volume")}))
    pieces.sort(key=lambda p: (p.ts, p.symbol))
    for piece in pieces:
        yield piece


def assert_same(fed: Any, reference: Any) -> None:
    assert fed.portfolios.keys() == reference.portfolios.keys()
    for pid, ref in reference.portfolios.items():
        got = fed.portfolios[pid]
        assert got.final_equity == ref.final_equity, pid
        assert got.fills == ref.fills and got.fills > 20
        for name in ref.trades:
            assert got.trades[name].tobytes() == ref.trades[name].tobytes(), (pid, name)
        for name in ref.equity:
            assert got.equity[name].tobytes() == ref.equity[name].tobytes(), (pid, name)


@pytest.mark.anyio
@pytest.mark.parametrize("shape", ["bars", "batches"])
async def test_a_fed_study_books_what_the_same_bars_in_memory_book(shape: str) -> None:
    data = frames()
    reference = await admf.run(config(results={"storage": "memory"}), data=data, write=False)
    feed = one_bar_at_a_time(data) if shape == "bars" else batches(data, 3)
    async with admf.Runtime(config(), feed=feed, level="none") as runtime:
        fed = await runtime.wait()
    assert fed.bars == sum(len(d["timestamp"]) for d in data.values())
    assert_same(fed, reference)


class Slow(BarStrategy):
    """Takes a millisecond a bar: a study slower than its feed."""

    def on_bar(self, bar: Any, ind: Any, position: float) -> float:
        time.sleep(0.001)
        return 0.0


async def endless(taken: list[int], closed: list[bool]) -> AsyncIterator[Any]:
    i = 0
    try:
        while True:
            taken[0] = i + 1
            yield {"symbol": "AAA", "timestamp": ORIGIN + i * MINUTE, "open": 10.0,
                   "high": 10.5, "low": 9.5, "close": 10.0}
            i += 1
    finally:
        closed[0] = True


@pytest.mark.anyio
async def test_a_slow_study_backpressures_the_feed_and_cancel_stops_both() -> None:
    taken, closed = [0], [False]
    slow = config(strategies=[{"type": "tests.integration.test_live_feed:Slow"}])
    async with admf.Runtime(slow, feed=endless(taken, closed), feed_capacity=16,
                            level="none") as runtime:
        await anyio.sleep(0.5)
        # the producer could have made millions of bars by now; it made what the
        # study took (about one a millisecond) plus the buffer and the routes
        assert 50 < taken[0] < 1500, taken[0]
        assert runtime._feed is not None and runtime._feed.high_water <= 16
        started = time.perf_counter()
        runtime.cancel()
        with pytest.raises(AdmfError, match="cancelled"):
            await runtime.wait()
        assert time.perf_counter() - started < 2.0
    assert closed[0]  # the application's generator was closed when the runtime left


@pytest.mark.anyio
async def test_a_feed_that_waits_is_stopped_by_cancel() -> None:
    closed = [False]
    never = anyio.Event()

    async def quiet() -> AsyncIterator[Any]:
        try:
            yield {"symbol": "AAA", "timestamp": ORIGIN, "open": 1.0, "high": 1.0, "low": 1.0,
                   "close": 1.0}
            await never.wait()
            yield {}
        finally:
            closed[0] = True

    async with admf.Runtime(config(), feed=quiet(), level="none") as runtime:
        await anyio.sleep(0.2)
        runtime.cancel()
        with anyio.fail_after(3):
            with pytest.raises(AdmfError, match="cancelled"):
                await runtime.wait()
    assert closed[0]


@pytest.mark.anyio
async def test_leaving_the_block_early_stops_a_fed_study() -> None:
    taken, closed = [0], [False]
    slow = config(strategies=[{"type": "tests.integration.test_live_feed:Slow"}])
    with anyio.fail_after(5):
        with pytest.raises(RuntimeError, match="the app failed"):
            async with admf.Runtime(slow, feed=endless(taken, closed), level="none"):
                await anyio.sleep(0.1)
                raise RuntimeError("the app failed")
    assert closed[0]


def _bar(symbol: str, i: int, **prices: float) -> dict[str, Any]:
    bar = {"symbol": symbol, "timestamp": ORIGIN + i * MINUTE, "open": 10.0, "high": 11.0,
           "low": 9.0, "close": 10.0, "volume": 100.0}
    return bar | prices


@pytest.mark.anyio
@pytest.mark.parametrize(("items", "message"), [
    ([_bar("AAA", 0), _bar("ZZZ", 1)],
     r"feed item 2: symbol 'ZZZ' is not in data.symbols \(AAA, BBB\)"),
    ([_bar("AAA", 0), _bar("AAA", 1), _bar("AAA", 1)],
     r"feed item 3: AAA bar 3 at 2024-01-02T00:01.*duplicate timestamp"),
    ([_bar("AAA", 0), _bar("BBB", 5), _bar("AAA", 3)],
     r"feed item 3: AAA bar 2 at 2024-01-02T00:03.* comes after an item starting at "
     r"2024-01-02T00:05.*event time"),
    ([_bar("AAA", 0), _bar("AAA", 1, close=float("nan"))],
     r"feed item 2: AAA bar 2 at 2024-01-02T00:01.*NaN in column 'close'"),
    ([_bar("AAA", 0, high=8.0)], r"feed item 1: AAA bar 1 at .*inconsistent OHLC: high 8.0 < low"),
    ([{"symbol": "AAA", "timestamp": ORIGIN, "close": 1.0}],
     r"feed item 1: the item has no open, high, low"),
    ([_bar("AAA", 0) | {"bid": 1.0}], r"feed item 1: unknown key\(s\) bid"),
    ([_bar("AAA", 0) | {"timestamp": "today"}], r"feed item 1: a timestamp is int ns.*got str"),
    ([42], r"feed item 1: a feed item is a BarBatch or a mapping"),
])
async def test_bad_feed_items_fail_the_study_naming_item_symbol_and_bar(
        items: list[Any], message: str) -> None:
    async def feed() -> AsyncIterator[Any]:
        for item in items:
            yield item

    async with admf.Runtime(config(), feed=feed(), level="none") as runtime:
        with pytest.raises(AdmfError, match=message):
            await runtime.wait()


@pytest.mark.anyio
async def test_a_feed_that_raises_fails_the_study_with_its_error() -> None:
    async def feed() -> AsyncIterator[Any]:
        yield _bar("AAA", 0)
        raise ConnectionError("the broker hung up")

    async with admf.Runtime(config(), feed=feed(), level="none") as runtime:
        with pytest.raises(Exception, match="the broker hung up"):
            await runtime.wait()


@pytest.mark.parametrize(("kwargs", "extra", "message"), [
    ({"feed": [1, 2]}, {}, r"feed must be an async iterable"),
    ({"write": True}, {}, r"keeps its results in memory; drop write=True"),
    ({"data": {"AAA": {}}}, {}, r"give data= .* or feed= .*, not both"),
    ({}, {"data": {"source": "csv", "path": "x/{symbol}.csv", "symbols": ["AAA"]}},
     r"data.source is 'csv' and feed= gives the bars"),
    ({}, {"topology": {"pattern": "signal_replay"}}, r"runs the built-in live pattern"),
    ({"feed_capacity": 0}, {}, r"feed_capacity must be an integer >= 1"),
])
def test_bad_feed_options_are_config_errors(kwargs: dict[str, Any], extra: dict[str, Any],
                                            message: str) -> None:
    async def feed() -> AsyncIterator[Any]:
        yield _bar("AAA", 0)

    options = {"feed": feed(), **kwargs}
    with pytest.raises(ConfigError, match=message):
        admf.Runtime(config(**extra), **options)


def test_the_live_pattern_without_a_feed_says_how_to_feed_it() -> None:
    with pytest.raises(ConfigError, match=r"admf.Runtime\(config, feed=...\)"):
        admf.run_sync(config(topology={"pattern": "live"}), write=False)
