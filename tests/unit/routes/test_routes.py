"""Routes: what each kind delivers, in what order, and how it holds back a fast
producer (bounded buffers, flat memory)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

import anyio
import msgspec
import pytest
from anyio import EndOfStream, WouldBlock

from admf.errors import ContainerError
from admf.routes.routes import stable_index
from admf.runtime.container import Container
from admf.runtime.sequencer import RunResult, run_topology
from admf.runtime.topology import Topology

on_both_backends = pytest.mark.anyio  # asyncio and trio, see tests/unit/conftest.py

SYMBOLS = ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "NFLX", "IBM", "ORCL",
           "INTC", "AMD"]


class Tick(msgspec.Struct, frozen=True, tag=True):
    ts: int
    symbol: str = "A"
    source: str = ""
    seq: int = 0


class Source(Container):
    """Sends ``messages`` (or ``count`` plain ticks made on the fly, so a long
    run holds no list), optionally sleeping ``delays()`` between them."""

    def __init__(self, name: str, messages: Sequence[Tick] | None = None, *, count: int = 0,
                 delays: Callable[[], float] | None = None) -> None:
        super().__init__(name)
        self.out = self.add_output("out", Tick)
        self.messages = messages
        self.count = count
        self.delays = delays
        self.sent = 0

    async def on_execute(self) -> None:
        send = self.out.send
        if self.messages is None:
            for i in range(self.count):
                await send(Tick(ts=i))
            self.sent = self.count
            return
        for message in self.messages:
            await send(message)
            self.sent += 1
            if self.delays is not None:
                await anyio.sleep(self.delays())

    async def on_collect(self) -> Any:
        return self.sent


class Sink(Container):
    """Keeps what it receives (or only counts it); may sleep per message, yield
    every ``yield_every`` messages, or stop after ``limit`` messages."""

    def __init__(self, name: str, *, keep: bool = True, required: bool = True,
                 delays: Callable[[], float] | None = None, limit: int | None = None,
                 yield_every: int = 0) -> None:
        super().__init__(name)
        self.inp = self.add_input("inp", Tick, required=required)
        self.keep = keep
        self.delays = delays
        self.limit = limit
        self.yield_every = yield_every
        self.got: list[Tick] = []
        self.count = 0

    async def on_execute(self) -> None:
        async for message in self.inp:
            self.count += 1
            if self.keep:
                self.got.append(message)
            if self.limit is not None and self.count >= self.limit:
                return
            if self.delays is not None:
                await anyio.sleep(self.delays())
            elif self.yield_every and not self.count % self.yield_every:
                await anyio.sleep(0)

    async def on_collect(self) -> Any:
        return self.count


def ticks(n: int, symbols: Sequence[str] = ("A", "B", "C", "D")) -> list[Tick]:
    return [Tick(ts=i, symbol=symbols[i % len(symbols)], seq=i) for i in range(n)]


async def run(topo: Topology) -> RunResult:
    with anyio.fail_after(10):  # a deadlock fails fast instead of hanging
        return await run_topology(topo)


# -- broadcast, filter ---------------------------------------------------------------


@on_both_backends
async def test_broadcast_delivers_every_message_to_every_consumer() -> None:
    messages = ticks(200)
    rng = random.Random(1)
    sinks = [Sink("a"), Sink("b", delays=lambda: rng.choice([0, 0, 0.0002])), Sink("c")]
    topo = Topology("t").add(Source("src", messages), *sinks)
    route = topo.broadcast("src.out", [f"{s.name}.inp" for s in sinks], capacity=4)
    result = await run(topo)
    assert [s.got for s in sinks] == [messages] * 3
    stats = result.routes[route.name]
    assert (stats.sent, stats.received, stats.buffered, stats.dropped) == (200, 600, 0, 0)


@on_both_backends
async def test_a_broadcast_consumer_that_stops_early_does_not_starve_the_others() -> None:
    messages = ticks(300)
    sinks = [Sink("a"), Sink("quitter", limit=5), Sink("c")]
    topo = Topology("t").add(Source("src", messages), *sinks)
    route = topo.broadcast("src.out", [f"{s.name}.inp" for s in sinks], capacity=4)
    result = await run(topo)
    assert [s.got for s in sinks] == [messages, messages[:5], messages]
    stats = result.routes[route.name]
    assert (stats.sent, stats.received) == (300, 605)
    assert stats.dropped > 0


class NowaitSource(Source):
    """Sends the way the strategy hot loop does: ``send_nowait`` first, the
    awaiting ``send`` only when that raises."""

    async def on_execute(self) -> None:
        port = self.out
        for message in self.messages or ():
            try:
                port.send_nowait(message)
            except (WouldBlock, anyio.BrokenResourceError):
                await port.send(message)
            self.sent += 1


class Cancelled(Sink):
    """A consumer whose stream closes mid-run, as cancellation closes it:
    producers still sending meet a closed stream, not a drained one."""

    async def on_execute(self) -> None:
        self.inp.close()
        self.inp._receive_nowait = _at_end  # closed streams cannot be drained


def _at_end() -> Any:
    raise EndOfStream


@on_both_backends
@pytest.mark.parametrize("wiring", ["broadcast", "two routes"])
async def test_a_consumer_closed_mid_run_costs_its_messages_not_the_producer(wiring: str) -> None:
    messages = ticks(300)
    every, gone = Sink("every", yield_every=7), Cancelled("gone")
    src = NowaitSource("src", messages)
    topo = Topology("t").add(src, every, gone)
    if wiring == "broadcast":
        routes = [topo.broadcast("src.out", ["every.inp", "gone.inp"], capacity=4)]
    else:
        routes = [topo.pipe("src.out", "every.inp", capacity=4),
                  topo.pipe("src.out", "gone.inp", capacity=4)]
    result = await run(topo)
    assert src.sent == 300
    assert every.got == messages  # delivered once each: no retry duplicates
    assert gone.got == []
    if wiring == "broadcast":
        assert result.routes[routes[0].name].dropped > 0


@on_both_backends
async def test_one_output_feeding_two_routes_delivers_to_both() -> None:
    messages = ticks(100)
    every, some = Sink("every"), Sink("some")
    topo = Topology("t").add(Source("src", messages), every, some)
    topo.pipe("src.out", "every.inp", capacity=4)
    topo.filter("src.out", "some.inp", symbols=["B"], capacity=4)
    await run(topo)
    assert every.got == messages
    assert some.got == [m for m in messages if m.symbol == "B"]


@on_both_backends
async def test_filter_by_predicate_passes_exactly_the_matching_messages_in_order() -> None:
    messages = ticks(100)
    sink = Sink("sink")
    topo = Topology("t").add(Source("src", messages), sink)
    route = topo.filter("src.out", "sink.inp", predicate=lambda m: m.ts % 3 == 0, capacity=4)
    result = await run(topo)
    assert sink.got == [m for m in messages if m.ts % 3 == 0]
    assert len(sink.got) == 34
    assert route.filtered == 66
    assert result.routes[route.name].received == 34


@on_both_backends
async def test_filter_by_symbols_passes_exactly_those_symbols_in_order() -> None:
    messages = ticks(100)
    sink = Sink("sink")
    topo = Topology("t").add(Source("src", messages), sink)
    route = topo.filter("src.out", "sink.inp", symbols=["A", "C", "ZZZ"], capacity=4)
    await run(topo)
    assert sink.got == [m for m in messages if m.symbol in ("A", "C")]
    assert len(sink.got) == 50
    assert route.filtered == 50


# -- partition ---------------------------------------------------------------------


@on_both_backends
async def test_partition_with_an_assignment_sends_each_key_to_its_consumer() -> None:
    messages = ticks(120)
    assign = {"A": 2, "B": 0, "C": 2, "D": 1}
    sinks = [Sink(f"p{i}") for i in range(3)]
    topo = Topology("t").add(Source("src", messages), *sinks)
    topo.partition("src.out", [f"{s.name}.inp" for s in sinks], key="symbol", assign=assign,
                   capacity=4)
    await run(topo)
    for i, sink in enumerate(sinks):
        assert sink.got == [m for m in messages if assign[m.symbol] == i]
    assert [len(s.got) for s in sinks] == [30, 30, 60]


@on_both_backends
async def test_partition_by_stable_hash_is_consistent_and_spreads_keys() -> None:
    messages = ticks(240, SYMBOLS)
    sinks = [Sink(f"p{i}") for i in range(3)]
    topo = Topology("t").add(Source("src", messages), *sinks)
    topo.partition("src.out", [f"{s.name}.inp" for s in sinks], capacity=4)
    await run(topo)
    for i, sink in enumerate(sinks):
        assert sink.got == [m for m in messages if stable_index(m.symbol, 3) == i]
    assert all(sink.got for sink in sinks)
    assert sum(len(s.got) for s in sinks) == 240


@on_both_backends
async def test_partition_by_a_key_function() -> None:
    messages = ticks(30)
    sinks = [Sink(f"p{i}") for i in range(4)]
    topo = Topology("t").add(Source("src", messages), *sinks)
    topo.partition("src.out", [f"{s.name}.inp" for s in sinks], key=lambda m: m.ts)
    await run(topo)
    for i, sink in enumerate(sinks):
        assert [m.ts for m in sink.got] == list(range(i, 30, 4))


@on_both_backends
async def test_partition_with_an_unassigned_key_fails_naming_the_producer() -> None:
    sinks = [Sink("p0"), Sink("p1")]
    topo = Topology("t").add(Source("src", ticks(10, ["A", "B", "E"])), *sinks)
    route = topo.partition("src.out", ["p0.inp", "p1.inp"], assign={"A": 0, "B": 1})
    with pytest.raises(ContainerError) as info:
        await run(topo)
    assert (info.value.container, info.value.stage) == ("src", "execute")
    assert str(info.value.__cause__) == repr(
        f"partition route {route.name!r} has no consumer for key 'E'")


def test_stable_index_is_the_same_in_a_fresh_process_with_another_hash_seed() -> None:
    keys: list[Any] = [*SYMBOLS, "", "é", 0, 7, -3, 10**12, ("AAPL", 1)]
    here = [stable_index(key, 7) for key in keys]
    code = ("import json, sys; from admf.routes.routes import stable_index; "
            "keys = [tuple(k) if isinstance(k, list) else k for k in json.loads(sys.argv[1])]; "
            "print(json.dumps([[stable_index(k, 7) for k in keys], "
            "[hash(k) % 7 for k in keys]]))")
    builtin: list[list[int]] = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code, json.dumps(keys)], env=env,
                              capture_output=True, text=True, check=True, timeout=60)
        stable, salted = json.loads(done.stdout)
        assert stable == here
        builtin.append(salted)
    # the check means something: the built-in hash does move between those seeds
    assert builtin[0] != builtin[1]


# -- merge -------------------------------------------------------------------------


def merge_inputs(rng: random.Random) -> dict[str, list[Tick]]:
    """Three producers, each with non-decreasing ts; ties within and across them."""
    sizes = {"zeta": 20, "alpha": 15, "mid": 6}
    return {
        name: [Tick(ts=ts, source=name, seq=seq)
               for seq, ts in enumerate(sorted(rng.choices(range(12), k=size)))]
        for name, size in sizes.items()
    }


@on_both_backends
async def test_merge_order_is_deterministic_and_by_ts_then_sequence_then_source() -> None:
    inputs = merge_inputs(random.Random(42))
    expected = sorted((m for ms in inputs.values() for m in ms),
                      key=lambda m: (m.ts, m.seq, f"{m.source}.out"))
    assert len({m.ts for m in expected}) < len(expected)  # there are ties to break
    for run_index in range(50):
        rng = random.Random(run_index)
        delays = lambda: rng.choice([0, 0, 0, 0.0001, 0.0003])  # noqa: E731
        sink = Sink("sink", delays=delays)
        sources = [Source(name, msgs, delays=delays) for name, msgs in inputs.items()]
        topo = Topology("t").add(*sources, sink)
        route = topo.merge([f"{name}.out" for name in inputs], "sink.inp", capacity=2)
        result = await run(topo)
        assert sink.got == expected, f"run {run_index}"
        assert result.routes[route.name].received == len(expected)


@on_both_backends
async def test_merge_with_a_producer_that_sends_nothing() -> None:
    a = [Tick(ts=t, source="a", seq=i) for i, t in enumerate([1, 3, 5])]
    b = [Tick(ts=t, source="b", seq=i) for i, t in enumerate([2, 3, 4])]
    sink = Sink("sink")
    topo = Topology("t").add(Source("b", b), Source("a", a), Source("empty", []), sink)
    topo.merge(["b.out", "empty.out", "a.out"], "sink.inp")
    await run(topo)
    assert [(m.ts, m.source) for m in sink.got] == [
        (1, "a"), (2, "b"), (3, "a"), (3, "b"), (4, "b"), (5, "a")]


# -- ends, discards, early exits -----------------------------------------------------


@on_both_backends
async def test_an_unconnected_optional_input_ends_at_once() -> None:
    sink = Sink("sink", required=False)
    result = await run(Topology("t").add(sink))
    assert sink.got == [] and result.collected == {"sink": 0}
    with pytest.raises(EndOfStream):
        sink.inp.receive_nowait()
    with pytest.raises(EndOfStream):
        await sink.inp.receive()


@on_both_backends
async def test_an_output_with_no_route_discards_without_blocking() -> None:
    src = Source("src", count=10_000)
    result = await run(Topology("t").add(src))
    assert result.collected == {"src": 10_000}
    assert result.routes == {}


@on_both_backends
async def test_a_consumer_that_stops_early_does_not_deadlock_its_producer() -> None:
    src = Source("src", count=1_000)
    sink = Sink("sink", limit=10)
    topo = Topology("t").add(src, sink)
    route = topo.pipe("src.out", "sink.inp", capacity=4)
    result = await run(topo)
    assert result.collected == {"src": 1_000, "sink": 10}
    stats = result.routes[route.name]
    assert stats.received == 10
    assert stats.dropped > 0
    assert stats.sent == stats.received + stats.buffered + stats.dropped == 1_000


@on_both_backends
async def test_input_port_receive_nowait_and_receive() -> None:
    class Puller(Container):
        def __init__(self) -> None:
            super().__init__("pull")
            self.inp = self.add_input("inp", Tick)
            self.events: list[Any] = []

        async def on_execute(self) -> None:
            with pytest.raises(WouldBlock):  # nothing sent yet: the source waits for us
                self.inp.receive_nowait()
            gate.set()
            self.events.append(await self.inp.receive())
            while True:
                try:
                    self.events.append(await self.inp.receive())
                except EndOfStream:
                    self.events.append("end")
                    return

    class Gated(Source):
        async def on_execute(self) -> None:
            await gate.wait()
            await super().on_execute()

    gate = anyio.Event()
    puller = Puller()
    topo = Topology("t").add(Gated("src", ticks(3)), puller)
    topo.pipe("src.out", "pull.inp")
    await run(topo)
    assert puller.events == [*ticks(3), "end"]
    assert puller.inp.received == 3


# -- backpressure and memory -------------------------------------------------------


@on_both_backends
async def test_a_fast_producer_is_held_to_the_buffer_capacity() -> None:
    n, capacity = 3_000, 8
    sink = Sink("sink", keep=False, delays=lambda: 0)
    topo = Topology("t").add(Source("src", count=n), sink)
    route = topo.pipe("src.out", "sink.inp", capacity=capacity)
    samples: list[int] = []
    result: list[RunResult] = []

    async def drive() -> None:
        result.append(await run(topo))

    async with anyio.create_task_group() as tg:
        tg.start_soon(drive)
        while not result:
            samples.append(route.statistics().buffered)
            await anyio.sleep(0)
    assert len(samples) > 100
    assert max(samples) == capacity  # the buffer really filled ...
    assert all(0 <= s <= capacity for s in samples)  # ... and never beyond
    stats = result[0].routes[route.name]
    assert (stats.sent, stats.received, stats.buffered, stats.dropped) == (n, n, 0, 0)
    assert stats.capacity == capacity
    assert stats.blocked_seconds > 0


@pytest.mark.asyncio
async def test_memory_is_bounded_by_capacity_not_by_message_count() -> None:
    async def peak(n: int) -> int:
        # the consumer yields often, so an unbounded buffer would fill with the run
        sink = Sink("sink", keep=False, yield_every=8)
        topo = Topology("t").add(Source("src", count=n), sink)
        topo.pipe("src.out", "sink.inp", capacity=64)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = await run_topology(topo)
        assert result.collected == {"src": n, "sink": n}
        return tracemalloc.get_traced_memory()[1] - base

    tracemalloc.start()
    try:
        await peak(2_000)  # warm-up: first-use allocations are not growth
        small = await peak(20_000)
        large = await peak(200_000)
    finally:
        tracemalloc.stop()
    assert large < 1.5 * small, (small, large)
