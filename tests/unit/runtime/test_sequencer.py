"""The sequencer: concurrent stages, reverse-order wind-down, one clear error,
cleanup always (failure and cancellation), instrument hooks, RunResult."""

from __future__ import annotations

import gc
import random
import warnings
from collections import Counter
from typing import Any

import anyio
import msgspec
import pytest
from anyio import ClosedResourceError
from anyio.lowlevel import checkpoint

from admf.errors import ContainerError, IllegalTransition, TopologyError
from admf.routes import DEFAULT_CAPACITY, Route, RouteStatistics
from admf.runtime.container import Container, Stage, State
from admf.runtime.instrument import Instrument
from admf.runtime.sequencer import RunResult, run_topology
from admf.runtime.topology import Topology

pytestmark = pytest.mark.anyio

STAGES = [stage.value for stage in Stage]
CONCURRENT = ["initialize", "start", "execute", "collect"]


class Tick(msgspec.Struct, frozen=True, tag=True):
    ts: int
    symbol: str = "A"


class Probe(Container):
    """A source (``out`` only), processor or sink (``inp`` only) of Tick.

    Logs ``(stage, name, "enter"|"exit")`` for every hook into a shared list,
    yields inside every hook (so a driver that is not concurrent, or a cleanup
    that is not shielded, shows), and raises ``RuntimeError("boom")`` in the
    stage named by ``fail``.
    """

    def __init__(self, name: str, log: list[tuple[str, str, str]], *, inp: bool = False,
                 out: bool = False, count: int = 5, endless: bool = False,
                 delay: float = 0.0, fail: str | None = None,
                 jitter: random.Random | None = None) -> None:
        super().__init__(name)
        self.log = log
        self.count = count
        self.endless = endless
        self.delay = delay
        self.fail = fail
        self.jitter = jitter
        self.calls: Counter[str] = Counter()
        self.finished: Counter[str] = Counter()
        self.seen: list[Tick] = []
        self.sent = 0
        if inp:
            self.add_input("inp", Tick)
        if out:
            self.add_output("out", Tick)

    async def _hook(self, stage: str) -> None:
        self.calls[stage] += 1
        self.log.append((stage, self.name, "enter"))
        if self.jitter is not None:
            await anyio.sleep(self.jitter.choice([0, 0, 0.001]))
        else:
            await checkpoint()
        if self.fail == stage:
            raise RuntimeError("boom")

    def _done(self, stage: str) -> None:
        self.finished[stage] += 1
        self.log.append((stage, self.name, "exit"))

    async def on_initialize(self) -> None:
        await self._hook("initialize")
        self._done("initialize")

    async def on_start(self) -> None:
        await self._hook("start")
        self._done("start")

    async def on_execute(self) -> None:
        await self._hook("execute")
        if "inp" in self.inputs:
            async for message in self.inputs["inp"]:
                self.seen.append(message)
                if "out" in self.outputs:
                    await self.outputs["out"].send(message)
                if self.delay:
                    await anyio.sleep(self.delay)
        elif "out" in self.outputs:
            i = 0
            while self.endless or i < self.count:
                await self.outputs["out"].send(Tick(ts=i))
                self.sent += 1
                i += 1
        self._done("execute")

    async def on_collect(self) -> Any:
        await self._hook("collect")
        self._done("collect")
        return list(self.seen)

    async def on_stop(self) -> None:
        await self._hook("stop")
        self._done("stop")

    async def on_cleanup(self) -> None:
        await self._hook("cleanup")
        self._done("cleanup")


def three_stage(log: list[Any], *, fail: dict[str, str] | None = None,
                count: int = 5) -> tuple[Topology, list[Probe]]:
    """src -> mid -> sink, added out of order so insertion order is not topological."""
    fail = fail or {}
    src = Probe("src", log, out=True, count=count, fail=fail.get("src"))
    mid = Probe("mid", log, inp=True, out=True, fail=fail.get("mid"))
    sink = Probe("sink", log, inp=True, fail=fail.get("sink"))
    topo = Topology("t").add(sink, src, mid)
    topo.pipe("src.out", "mid.inp")
    topo.pipe("mid.out", "sink.inp")
    return topo, [src, mid, sink]


def names(log: list[tuple[str, str, str]], stage: str, phase: str = "enter") -> list[str]:
    return [name for s, name, p in log if s == stage and p == phase]


def assert_routes_closed(routes: list[Route]) -> None:
    for route in routes:
        assert route.channels, route
        for channel in route.channels:
            with pytest.raises(ClosedResourceError):
                channel.send_stream.send_nowait(None)
            with pytest.raises(ClosedResourceError):
                channel.receive_stream.receive_nowait()


# -- lifecycle -------------------------------------------------------------------


class Rendezvous(Container):
    """Signals its own event and waits for the other's, in one stage: only a
    driver running that stage of both containers at once can finish."""

    def __init__(self, name: str, stage: str, mine: anyio.Event, other: anyio.Event) -> None:
        super().__init__(name)
        self.stage = stage
        self.mine = mine
        self.other = other

    async def _meet(self, stage: str) -> None:
        if stage == self.stage:
            self.mine.set()
            await self.other.wait()

    async def on_initialize(self) -> None:
        await self._meet("initialize")

    async def on_start(self) -> None:
        await self._meet("start")

    async def on_execute(self) -> None:
        await self._meet("execute")

    async def on_collect(self) -> Any:
        await self._meet("collect")
        return self.stage


@pytest.mark.parametrize("stage", CONCURRENT)
async def test_a_stage_runs_every_container_concurrently(stage: str) -> None:
    a_ready, b_ready = anyio.Event(), anyio.Event()
    topo = Topology("t").add(Rendezvous("a", stage, a_ready, b_ready),
                             Rendezvous("b", stage, b_ready, a_ready))
    with anyio.fail_after(2):  # a stage-by-stage, one-at-a-time driver deadlocks here
        result = await run_topology(topo)
    assert a_ready.is_set() and b_ready.is_set()
    assert result.collected == {"a": stage, "b": stage}
    assert [c.state for c in topo.containers.values()] == [State.CLEANED, State.CLEANED]


async def test_each_concurrent_stage_ends_everywhere_before_the_next_begins() -> None:
    log: list[Any] = []
    rng = random.Random(7)
    probes = [Probe("src", log, out=True, jitter=rng),
              Probe("mid", log, inp=True, out=True, jitter=rng),
              Probe("sink", log, inp=True, jitter=rng),
              Probe("lone", log, jitter=rng)]
    topo = Topology("t").add(*probes)
    topo.pipe("src.out", "mid.inp")
    topo.pipe("mid.out", "sink.inp")
    await run_topology(topo)
    position = {event: i for i, event in enumerate(log)}
    for before, after in zip(STAGES, STAGES[1:]):
        last_exit = max(position[(before, p.name, "exit")] for p in probes)
        first_enter = min(position[(after, p.name, "enter")] for p in probes)
        assert last_exit < first_enter, (before, after)
    assert all(p.calls == Counter(dict.fromkeys(STAGES, 1)) for p in probes)
    assert probes[2].seen == [Tick(ts=i) for i in range(5)]


async def test_stop_and_cleanup_run_in_reverse_topological_order() -> None:
    log: list[Any] = []
    a, b, c = (Probe(n, log, inp=n != "a", out=n != "c") for n in "abc")
    topo = Topology("t").add(c, a, b)
    topo.pipe("b.out", "c.inp")
    topo.pipe("a.out", "b.inp")
    await run_topology(topo)
    wind_down = [(stage, name) for stage, name, phase in log
                 if stage in ("stop", "cleanup") and phase == "enter"]
    assert wind_down == [("stop", "c"), ("stop", "b"), ("stop", "a"),
                         ("cleanup", "c"), ("cleanup", "b"), ("cleanup", "a")]


async def test_an_unconnected_required_input_fails_before_any_container_runs() -> None:
    log: list[Any] = []
    sink = Probe("sink", log, inp=True)
    with pytest.raises(TopologyError, match=r"^required input sink\.inp is not connected "
                                            r"to any output$"):
        await run_topology(Topology("t").add(sink))
    assert log == []
    assert sink.state is State.CREATED


async def test_a_topology_runs_once() -> None:
    log: list[Any] = []
    topo, _ = three_stage(log)
    await run_topology(topo)
    with pytest.raises(ContainerError) as info:
        await run_topology(topo)
    assert info.value.stage == "initialize"
    assert isinstance(info.value.__cause__, IllegalTransition)
    assert str(info.value.__cause__).endswith("cannot initialize from state 'cleaned'")


# -- end of stream ---------------------------------------------------------------


@pytest.mark.parametrize("relays", [1, 3])
async def test_end_of_stream_propagates_down_a_chain(relays: int) -> None:
    n = 300
    log: list[Any] = []
    src = Probe("src", log, out=True, count=n)
    middle = [Probe(f"r{i}", log, inp=True, out=True) for i in range(relays)]
    sink = Probe("sink", log, inp=True)
    topo = Topology("t").add(src, *middle, sink)
    path = [src, *middle, sink]
    routes = [topo.pipe(f"{a.name}.out", f"{b.name}.inp", capacity=4)
              for a, b in zip(path, path[1:])]
    with anyio.fail_after(10):
        result = await run_topology(topo)
    expected = [Tick(ts=i) for i in range(n)]
    assert sink.seen == expected
    # every processor's loop ended on end of stream and closed its output
    assert all(p.finished["execute"] == 1 and p.seen == expected for p in middle)
    assert sink.finished["execute"] == 1
    for route in routes:
        stats = result.routes[route.name]
        assert (stats.sent, stats.received, stats.buffered, stats.dropped) == (n, n, 0, 0)


# -- fault injection -------------------------------------------------------------


@pytest.mark.parametrize("failing", ["src", "mid", "sink"])
@pytest.mark.parametrize("stage", STAGES)
async def test_a_failure_in_any_stage_surfaces_one_error_and_still_winds_down(
        stage: str, failing: str) -> None:
    log: list[Any] = []
    topo, probes = three_stage(log, fail={failing: stage})
    recorder = Recorder()
    with anyio.fail_after(5):
        with pytest.raises(ContainerError) as info:
            await run_topology(topo, instruments=[recorder])
    error = info.value
    assert type(error) is ContainerError
    assert (error.container, error.stage) == (failing, stage)
    assert str(error) == f"container {failing!r} failed in stage {stage!r}: RuntimeError: boom"
    assert type(error.__cause__) is RuntimeError and str(error.__cause__) == "boom"
    assert error.cause is error.__cause__
    assert recorder.finished == [("t", error)]

    by_name = {p.name: p for p in probes}
    assert by_name[failing].calls[stage] == 1
    for probe in probes:
        reached = probe.calls["initialize"] == 1
        assert probe.calls["stop"] == probe.calls["cleanup"] == int(reached), probe.name
        assert probe.state is (State.CLEANED if reached else State.CREATED)
        if stage != "initialize":
            assert reached, probe.name
    # shielded: every cleanup ran to its end, except the one that raised
    cleaned = [p.name for p in probes if p.finished["cleanup"] == 1]
    assert cleaned == [p.name for p in probes
                       if p.calls["cleanup"] and not (stage == "cleanup" and p.name == failing)]
    # the run went no further than the failing stage
    if stage in CONCURRENT:
        later = CONCURRENT[CONCURRENT.index(stage) + 1:]
        assert not any(p.calls[s] for p in probes for s in later)
    # still in reverse topological order
    order = [n for n in ("sink", "mid", "src") if by_name[n].calls["initialize"]]
    assert names(log, "stop") == order
    assert names(log, "cleanup") == order


async def test_a_failing_producer_while_its_consumer_waits() -> None:
    log: list[Any] = []

    class Faulty(Probe):
        async def on_execute(self) -> None:
            for i in range(3):
                await self.outputs["out"].send(Tick(ts=i))
            await anyio.sleep(0.02)  # the sink is now waiting on an empty buffer
            raise RuntimeError("producer down")

    src = Faulty("src", log, out=True)
    sink = Probe("sink", log, inp=True)
    topo = Topology("t").add(src, sink)
    topo.pipe("src.out", "sink.inp")
    with anyio.fail_after(5), pytest.raises(ContainerError) as info:
        await run_topology(topo)
    assert str(info.value) == ("container 'src' failed in stage 'execute': "
                               "RuntimeError: producer down")
    assert sink.seen == [Tick(ts=i) for i in range(3)]
    assert [(p.calls["stop"], p.calls["cleanup"]) for p in (src, sink)] == [(1, 1), (1, 1)]


async def test_a_failing_consumer_while_its_producer_is_blocked_on_a_full_buffer() -> None:
    log: list[Any] = []

    class Faulty(Probe):
        async def on_execute(self) -> None:
            await self.inputs["inp"].receive()
            stats = route.channels[0].send_stream.statistics
            while stats().tasks_waiting_send == 0:  # wait until the producer is blocked
                await anyio.sleep(0.001)
            raise RuntimeError("consumer down")

    src = Probe("src", log, out=True, endless=True)
    sink = Faulty("sink", log, inp=True)
    topo = Topology("t").add(src, sink)
    route = topo.pipe("src.out", "sink.inp", capacity=2)
    with anyio.fail_after(5), pytest.raises(ContainerError) as info:
        await run_topology(topo)
    assert str(info.value) == ("container 'sink' failed in stage 'execute': "
                               "RuntimeError: consumer down")
    assert route.statistics().blocked_seconds > 0
    assert src.finished["execute"] == 0  # the endless producer was cancelled
    assert [(p.calls["stop"], p.calls["cleanup"]) for p in (src, sink)] == [(1, 1), (1, 1)]
    assert_routes_closed([route])


# -- cancellation from outside -------------------------------------------------------


def blocked_pipeline(log: list[Any]) -> tuple[Topology, list[Probe], Route]:
    """An endless source blocked on a slow sink behind a 2-slot buffer."""
    src = Probe("src", log, out=True, endless=True)
    sink = Probe("sink", log, inp=True, delay=0.002)
    topo = Topology("t").add(src, sink)
    route = topo.pipe("src.out", "sink.inp", capacity=2)
    return topo, [src, sink], route


def assert_wound_down(probes: list[Probe], routes: list[Route]) -> None:
    for probe in probes:
        assert probe.calls["stop"] == probe.calls["cleanup"] == 1, probe.name
        assert probe.finished["cleanup"] == 1, probe.name  # ran past an await: shielded
        assert probe.finished["execute"] == 0, probe.name  # cancelled mid-run
        assert probe.state is State.CLEANED
    assert_routes_closed(routes)


async def test_a_deadline_from_outside_cancels_the_run_and_still_cleans_up() -> None:
    log: list[Any] = []
    topo, probes, route = blocked_pipeline(log)
    with pytest.raises(TimeoutError):  # the cancellation, not a ContainerError
        with anyio.fail_after(0.1):
            await run_topology(topo)
    assert probes[1].seen  # it really was running
    assert_wound_down(probes, [route])


async def test_cancelling_the_enclosing_task_group_cleans_up_and_propagates() -> None:
    log: list[Any] = []
    topo, probes, route = blocked_pipeline(log)
    outcome: list[Any] = []

    async def run() -> None:
        try:
            await run_topology(topo)
        except BaseException as exc:
            outcome.append(type(exc))
            raise
        outcome.append("returned")

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            while not (route.channels and
                       route.channels[0].send_stream.statistics().tasks_waiting_send):
                await anyio.sleep(0.001)
            tg.cancel_scope.cancel()
    assert outcome == [anyio.get_cancelled_exc_class()]
    assert_wound_down(probes, [route])


async def test_a_cancelled_run_leaves_no_unclosed_stream() -> None:
    async def cancelled_run() -> None:
        topo, _, _ = blocked_pipeline([])
        with anyio.move_on_after(0.05):
            await run_topology(topo)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await cancelled_run()
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


# -- instruments and results -----------------------------------------------------


class Recorder(Instrument):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.finished: list[tuple[str, BaseException | None]] = []

    def run_started(self, topology: Any) -> None:
        self.events.append(("run_started", topology.name))

    def stage_entered(self, container: Any, stage: str) -> None:
        self.events.append(("entered", container.name, stage))

    def stage_exited(self, container: Any, stage: str, error: BaseException | None) -> None:
        self.events.append(("exited", container.name, stage, error))

    def run_finished(self, topology: Any, error: BaseException | None) -> None:
        self.events.append(("run_finished", topology.name))
        self.finished.append((topology.name, error))


async def test_instrument_hooks_are_called_per_container_per_stage() -> None:
    log: list[Any] = []
    topo, probes = three_stage(log)
    recorder = Recorder()

    class OnlyFinish:  # an instrument need not subclass Instrument
        def __init__(self) -> None:
            self.calls = 0

        def run_finished(self, topology: Any, error: BaseException | None) -> None:
            self.calls += 1

    partial = OnlyFinish()
    await run_topology(topo, instruments=[recorder, partial])
    events = recorder.events
    assert events[0] == ("run_started", "t") and events[-1] == ("run_finished", "t")
    assert [e[0] for e in events].count("run_started") == 1
    assert recorder.finished == [("t", None)]
    assert partial.calls == 1
    body = events[1:-1]
    assert len(body) == 2 * len(probes) * len(STAGES)
    for probe in probes:
        for stage in STAGES:
            entered = body.index(("entered", probe.name, stage))
            exited = body.index(("exited", probe.name, stage, None))
            assert entered < exited
            assert body.count(("entered", probe.name, stage)) == 1


async def test_an_instrument_sees_the_failure() -> None:
    log: list[Any] = []
    topo, _ = three_stage(log, fail={"mid": "start"})
    recorder = Recorder()
    with pytest.raises(ContainerError) as info:
        await run_topology(topo, instruments=[recorder])
    failed = [e for e in recorder.events if e[0] == "exited" and e[3] is not None
              and not isinstance(e[3], anyio.get_cancelled_exc_class())]
    assert failed == [("exited", "mid", "start", info.value)]
    assert recorder.finished == [("t", info.value)]


async def test_run_result_holds_collected_values_and_route_statistics() -> None:
    log: list[Any] = []
    topo, _ = three_stage(log, count=7)
    result = await run_topology(topo)
    assert isinstance(result, RunResult)
    assert result.topology == "t"
    ticks = [Tick(ts=i) for i in range(7)]
    assert result.collected == {"src": [], "mid": ticks, "sink": ticks}
    clean = RouteStatistics(sent=7, received=7, buffered=0, capacity=DEFAULT_CAPACITY,
                            blocked_seconds=0.0, dropped=0)
    assert result.routes == {"pipe:src.out->mid.inp": clean, "pipe:mid.out->sink.inp": clean}
    assert set(result.stage_seconds) == set(CONCURRENT)
    assert all(seconds >= 0 for seconds in result.stage_seconds.values())
