"""Throughput of admf routes against bare anyio memory streams (asyncio backend).

What it measures, end to end (from starting the run to the sink seeing end of
stream), best of three:

* ``single_1hop``: tiny frozen tagged msgspec Structs (``ts: int``), one per
  message, source -> sink through one pipe route;
* ``single_3hop``: the same through source -> fwd -> fwd -> sink;
* ``batched_3hop``: 4096-row :class:`~admf.messages.BarBatch` messages through
  source -> fwd -> fwd -> sink; the sink sums ``len(batch)``, the rate is rows/s.

Each runs once through admf (containers in a :class:`~admf.runtime.topology.Topology`
driven by :func:`~admf.runtime.sequencer.run_topology`) and once BARE: plain
anyio memory object streams and tasks in one task group, with the same
non-blocking-first pattern (``send_nowait``/``receive_nowait``, awaiting only
on ``WouldBlock``) and the same capacities. Messages are built before timing.
The bare run is the ceiling for what admf's routes can cost; the ratio is
admf / bare.

The last line printed is one JSON object (rates, ratios, ``targets_met``). The
exit code is 0 whether or not the targets are met: this is a measurement.

    python benchmarks/bench_routes.py            # full counts, ~10 s on an idle 2-core box
    python benchmarks/bench_routes.py --quick    # smaller counts, a few seconds
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import anyio
import msgspec
import numpy as np
from anyio import EndOfStream, WouldBlock
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from admf.messages import BarBatch
from admf.runtime.container import Container
from admf.runtime.sequencer import run_topology
from admf.runtime.topology import Topology

SINGLE_CAPACITY = 1024
BATCH_CAPACITY = 64  # both sides alike; 64 x 4096 rows ~ 12 MB per stream
BATCH_ROWS = 4096
BATCH_POOL = 16  # distinct batches cycled by the source; one per message would need GBs
REPEATS = 3

FULL_COUNTS = {"single": 1_000_000, "batches": 200_000}
QUICK_COUNTS = {"single": 100_000, "batches": 20_000}
# One untimed pass first: the first run of each case is up to 2x slow (cold caches, allocator).
WARMUP_COUNTS = {"single": 50_000, "batches": 10_000}

TARGETS: dict[str, float] = {
    "single_1hop_msgs_per_s": 2e6,
    "batched_3hop_rows_per_s": 2e7,
    "ratio_vs_bare": 0.8,
}


class Tick(msgspec.Struct, frozen=True, tag=True):
    """The smallest message worth routing: an event time."""

    ts: int


# -- admf side -------------------------------------------------------------------


class _Source(Container):
    def __init__(self, name: str, messages: Sequence[Any], type_: Any) -> None:
        super().__init__(name)
        self.messages = messages
        self.add_output("out", type_)

    async def on_execute(self) -> None:
        out = self.outputs["out"]
        send_nowait, send = out.send_nowait, out.send
        for message in self.messages:
            try:
                send_nowait(message)
            except WouldBlock:
                await send(message)


class _Forward(Container):
    """Non-blocking first on both ports: the loop admf's own hot containers use."""

    def __init__(self, name: str, type_: Any) -> None:
        super().__init__(name)
        self.add_input("in", type_)
        self.add_output("out", type_)

    async def on_execute(self) -> None:
        inp, out = self.inputs["in"], self.outputs["out"]
        receive_nowait, receive = inp.receive_nowait, inp.receive
        send_nowait, send = out.send_nowait, out.send
        while True:
            try:
                message = receive_nowait()
            except WouldBlock:
                try:
                    message = await receive()
                except EndOfStream:
                    return
            except EndOfStream:
                return
            try:
                send_nowait(message)
            except WouldBlock:
                await send(message)


class _CountSink(Container):
    def __init__(self, name: str, type_: Any) -> None:
        super().__init__(name)
        self.add_input("in", type_)
        self.delivered = 0

    async def on_execute(self) -> None:
        inp = self.inputs["in"]
        receive_nowait, receive = inp.receive_nowait, inp.receive
        count = 0
        while True:
            try:
                receive_nowait()
            except WouldBlock:
                try:
                    await receive()
                except EndOfStream:
                    break
            except EndOfStream:
                break
            count += 1
        self.delivered = count

    async def on_collect(self) -> int:
        return self.delivered


class _RowSink(_CountSink):
    async def on_execute(self) -> None:
        inp = self.inputs["in"]
        receive_nowait, receive = inp.receive_nowait, inp.receive
        rows = 0
        while True:
            try:
                batch = receive_nowait()
            except WouldBlock:
                try:
                    batch = await receive()
                except EndOfStream:
                    break
            except EndOfStream:
                break
            rows += len(batch)
        self.delivered = rows


def build_chain(messages: Sequence[Any], type_: Any, hops: int, capacity: int,
                sink: type[_CountSink]) -> Topology:
    """source -> (hops - 1) forwarders -> sink, joined by pipe routes."""
    topo = Topology(f"bench_{hops}hop")
    names = ["source", *(f"fwd{i}" for i in range(1, hops)), "sink"]
    topo.add(_Source("source", messages, type_))
    topo.add(*(_Forward(name, type_) for name in names[1:-1]))
    topo.add(sink("sink", type_))
    for src, dst in zip(names, names[1:]):
        topo.pipe(f"{src}.out", f"{dst}.in", capacity=capacity)
    return topo


Runner = Callable[[], Awaitable[tuple[int, float]]]
"""One timed run: (units delivered to the sink, seconds)."""


def admf_runner(messages: Sequence[Any], type_: Any, hops: int, capacity: int,
                sink: type[_CountSink]) -> Runner:
    """A runner building one fresh topology per call (topologies are single-use)."""

    async def run() -> tuple[int, float]:
        topo = build_chain(messages, type_, hops, capacity, sink)
        gc.collect()
        started = time.perf_counter()
        result = await run_topology(topo)
        return int(result.collected["sink"]), time.perf_counter() - started

    return run


# -- bare anyio side -------------------------------------------------------------


async def _bare_source(out: MemoryObjectSendStream[Any], messages: Sequence[Any]) -> None:
    send_nowait, send = out.send_nowait, out.send
    with out:
        for message in messages:
            try:
                send_nowait(message)
            except WouldBlock:
                await send(message)


async def _bare_forward(inp: MemoryObjectReceiveStream[Any],
                        out: MemoryObjectSendStream[Any]) -> None:
    receive_nowait, receive = inp.receive_nowait, inp.receive
    send_nowait, send = out.send_nowait, out.send
    with inp, out:
        while True:
            try:
                message = receive_nowait()
            except WouldBlock:
                try:
                    message = await receive()
                except EndOfStream:
                    return
            except EndOfStream:
                return
            try:
                send_nowait(message)
            except WouldBlock:
                await send(message)


async def _bare_count_sink(inp: MemoryObjectReceiveStream[Any], result: list[int]) -> None:
    receive_nowait, receive = inp.receive_nowait, inp.receive
    count = 0
    with inp:
        while True:
            try:
                receive_nowait()
            except WouldBlock:
                try:
                    await receive()
                except EndOfStream:
                    break
            except EndOfStream:
                break
            count += 1
    result.append(count)


async def _bare_row_sink(inp: MemoryObjectReceiveStream[Any], result: list[int]) -> None:
    receive_nowait, receive = inp.receive_nowait, inp.receive
    rows = 0
    with inp:
        while True:
            try:
                batch = receive_nowait()
            except WouldBlock:
                try:
                    batch = await receive()
                except EndOfStream:
                    break
            except EndOfStream:
                break
            rows += len(batch)
    result.append(rows)


def bare_runner(messages: Sequence[Any], hops: int, capacity: int,
                sink: Callable[..., Awaitable[None]]) -> Runner:
    """A runner wiring ``hops`` fresh memory streams per call."""

    async def run() -> tuple[int, float]:
        streams = [anyio.create_memory_object_stream[Any](capacity) for _ in range(hops)]
        result: list[int] = []
        gc.collect()
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            tg.start_soon(_bare_source, streams[0][0], messages)
            for (_, inp), (out, _) in zip(streams, streams[1:]):
                tg.start_soon(_bare_forward, inp, out)
            tg.start_soon(sink, streams[-1][1], result)
        return result[0], time.perf_counter() - started

    return run


# -- harness ---------------------------------------------------------------------


@dataclass
class Case:
    key: str
    label: str
    hops: int
    unit: str
    expected: int
    messages: int
    run: Runner
    rates: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return max(self.rates)


def make_batches(count: int) -> list[BarBatch]:
    """``count`` references to a small pool of distinct 4096-row batches."""
    rng = np.random.default_rng(7)
    pool = []
    for i in range(BATCH_POOL):
        close = 100.0 + rng.standard_normal(BATCH_ROWS).cumsum()
        ts = np.arange(BATCH_ROWS, dtype=np.int64) * 60_000_000_000 + i * BATCH_ROWS
        pool.append(BarBatch(ts=int(ts[0]), symbol="BENCH", timestamp=ts, open=close,
                             high=close + 0.5, low=close - 0.5, close=close,
                             volume=np.full(BATCH_ROWS, 1_000.0)))
    return [pool[i % BATCH_POOL] for i in range(count)]


def make_cases(counts: dict[str, int]) -> list[Case]:
    ticks = [Tick(ts=i) for i in range(counts["single"])]
    batches = make_batches(counts["batches"])
    n, rows = len(ticks), len(batches) * BATCH_ROWS
    specs = [
        # key, label, hops, unit, expected, messages, type, capacity, admf sink, bare sink
        ("single_1hop", "single msg, 1 hop", 1, "msgs", n, ticks, Tick, SINGLE_CAPACITY,
         _CountSink, _bare_count_sink),
        ("single_3hop", "single msg, 3 hops", 3, "msgs", n, ticks, Tick, SINGLE_CAPACITY,
         _CountSink, _bare_count_sink),
        ("batched_3hop", f"{BATCH_ROWS}-row batch, 3 hops", 3, "rows", rows, batches, BarBatch,
         BATCH_CAPACITY, _RowSink, _bare_row_sink),
    ]
    cases = []
    for key, label, hops, unit, expected, msgs, type_, cap, admf_sink, bare_sink in specs:
        cases.append(Case(key, f"admf  {label}", hops, unit, expected, len(msgs),
                          admf_runner(msgs, type_, hops, cap, admf_sink)))
        cases.append(Case(f"bare_{key}", f"bare  {label}", hops, unit, expected, len(msgs),
                          bare_runner(msgs, hops, cap, bare_sink)))
    return cases


async def measure(cases: list[Case], repeats: int) -> None:
    """Round-robin over the cases so a noisy neighbour hits them all alike."""
    for _ in range(repeats):
        for case in cases:
            delivered, seconds = await case.run()
            if delivered != case.expected:
                raise RuntimeError(f"{case.key}: delivered {delivered}, expected {case.expected}")
            case.rates.append(delivered / seconds)


def _fmt(rate: float) -> str:
    return f"{rate / 1e6:8.2f} M"


def print_table(cases: list[Case], capacities: str) -> None:
    print(f"admf route throughput, asyncio backend, best of {len(cases[0].rates)} "
          f"(Python {platform.python_version()}, anyio {version('anyio')}; "
          f"{capacities})")
    header = (f"{'case':<34}{'messages':>10}{'best /s':>12}  {'unit':<5}{'ns/msg/hop':>11}"
              "   all runs (M/s)")
    print(header)
    print("-" * len(header))
    for case in cases:
        per_msg = case.best * case.messages / case.expected  # messages per second
        ns_hop = 1e9 / (per_msg * case.hops)
        runs = " ".join(f"{r / 1e6:.2f}" for r in case.rates)
        print(f"{case.label:<34}{case.messages:>10,}{_fmt(case.best):>12}  {case.unit:<5}"
              f"{ns_hop:>11.0f}   {runs}")


def summarize(cases: list[Case], quick: bool, counts: dict[str, int]) -> dict[str, Any]:
    best = {case.key: case.best for case in cases}
    report: dict[str, Any] = {
        "single_1hop_msgs_per_s": best["single_1hop"],
        "single_3hop_msgs_per_s": best["single_3hop"],
        "batched_3hop_rows_per_s": best["batched_3hop"],
        "bare_single_1hop_msgs_per_s": best["bare_single_1hop"],
        "bare_single_3hop_msgs_per_s": best["bare_single_3hop"],
        "bare_batched_3hop_rows_per_s": best["bare_batched_3hop"],
        "ratio_vs_bare": best["batched_3hop"] / best["bare_batched_3hop"],
        "ratio_single_1hop_vs_bare": best["single_1hop"] / best["bare_single_1hop"],
        "ratio_single_3hop_vs_bare": best["single_3hop"] / best["bare_single_3hop"],
        "batched_3hop_batches_per_s": best["batched_3hop"] / BATCH_ROWS,
    }
    report["targets_met"] = {key: report[key] >= goal for key, goal in TARGETS.items()}
    report["all_runs"] = {case.key: [round(r) for r in case.rates] for case in cases}
    report["config"] = {"quick": quick, "repeats": len(cases[0].rates), **counts,
                        "batch_rows": BATCH_ROWS, "single_capacity": SINGLE_CAPACITY,
                        "batch_capacity": BATCH_CAPACITY, "backend": "asyncio",
                        "python": platform.python_version()}
    return report


def print_summary(report: dict[str, Any]) -> None:
    print()
    print(f"ratio admf/bare: batched 3 hops {report['ratio_vs_bare']:.2f}, "
          f"single 1 hop {report['ratio_single_1hop_vs_bare']:.2f}, "
          f"single 3 hops {report['ratio_single_3hop_vs_bare']:.2f}")
    print("targets:")
    for key, goal in TARGETS.items():
        value = report[key]
        shown = f"{value:.2f}" if key.startswith("ratio") else f"{value:,.0f}/s"
        mark = "MET " if report["targets_met"][key] else "MISS"
        print(f"  [{mark}] {key} >= {goal:g}: {shown}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10x smaller message counts")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="runs per case (best wins)")
    args = parser.parse_args(argv)
    counts = QUICK_COUNTS if args.quick else FULL_COUNTS

    async def bench() -> list[Case]:
        await measure(make_cases(WARMUP_COUNTS), 1)
        cases = make_cases(counts)
        await measure(cases, args.repeats)
        return cases

    cases = anyio.run(bench, backend="asyncio")
    print_table(cases, f"capacity {SINGLE_CAPACITY} single / {BATCH_CAPACITY} batched")
    report = summarize(cases, args.quick, counts)
    print_summary(report)
    print(json.dumps(report, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
