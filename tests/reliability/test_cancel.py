"""Cancellation from the host application (issue 15, deliverable 2): asyncio
``task.cancel()`` and ``asyncio.wait_for``, anyio cancel scopes and trio
stop a 3M-bar run promptly (the issue asks for 0.5 s; measured 0.01-0.11 s;
asserted with a margin for a busy machine), and ``anyio.move_on_after``
around a process-pool sweep returns promptly too. A cancelled run writes
nothing more into its directory and leaves no manifest."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

import admf
from admf.research.executors import ProcessExecutor

BARS = 3_000_000
LANDS_WITHIN = 1.0  # seconds (target 0.5)


def big(tmp_path: Path) -> dict[str, Any]:
    return {"name": "big", "seed": 1,
            "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1m", "bars": BARS,
                     "start": "2015-01-01"},
            "strategies": [{"type": "sma_crossover", "params": {"fast": 10, "slow": 50}}],
            "results": {"dir": str(tmp_path / "results"), "storage": "hybrid"}}


def pool_sweep(tmp_path: Path) -> dict[str, Any]:
    return {"name": "pooled", "seed": 1,
            "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": 300,
                     "start": "2020-01-01"},
            "strategies": [{"type": "tests.reliability.blocking:Steady",
                            "params": {"k": list(range(16)), "delay": 0.002}}],
            "sequence": {"type": "parameter_sweep"},
            "executor": {"kind": "processes", "workers": 2},
            "results": {"dir": str(tmp_path / "results"), "storage": "hybrid"}}


class Started:
    """A progress callback that notes when a tenth of the bars were read."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, done: int, total: int | None, unit: str) -> None:
        if unit == "bars" and done >= BARS // 10:
            self.event.set()

    async def wait(self) -> None:
        while not self.event.is_set():
            await anyio.sleep(0.005)  # the host's loop keeps running meanwhile


def files(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def settled(tmp_path: Path) -> None:
    """Nothing written after the cancellation returned, and no manifest."""
    root = tmp_path / "results"
    before = files(root)
    time.sleep(0.5)
    assert files(root) == before
    assert not list(root.glob("**/manifest.json"))
    assert not list(root.glob("**/*.tmp"))


def report(what: str, seconds: float) -> None:
    print(f"{what}: cancellation landed in {seconds:.3f} s")
    assert seconds < LANDS_WITHIN, (what, seconds)


def test_asyncio_task_cancel(tmp_path: Path) -> None:
    async def main() -> float:
        started = Started()
        task = asyncio.create_task(admf.run(big(tmp_path), progress=started))
        await started.wait()
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - t0

    report("task.cancel()", asyncio.run(main()))
    settled(tmp_path)


def test_asyncio_wait_for(tmp_path: Path) -> None:
    timeout = 0.8  # a full run takes over 1.5 s

    async def main() -> float:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(admf.run(big(tmp_path)), timeout)
        return time.monotonic() - t0 - timeout

    report("asyncio.wait_for", asyncio.run(main()))
    settled(tmp_path)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_anyio_cancel_scope(tmp_path: Path, backend: str) -> None:
    async def main() -> float:
        started = Started()
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: admf.run(big(tmp_path), progress=started))
            await started.wait()
            t0 = time.monotonic()
            group.cancel_scope.cancel()
        return time.monotonic() - t0

    report(f"cancel scope ({backend})", anyio.run(main, backend=backend))
    settled(tmp_path)


def test_move_on_after_around_a_pool_sweep(tmp_path: Path) -> None:
    async def main() -> float:
        with anyio.move_on_after(1.0) as scope:
            await admf.run(pool_sweep(tmp_path))  # ~4 s of work on 2 workers
        assert scope.cancelled_caught
        return time.monotonic() - scope.deadline

    report("move_on_after(1) around a pool sweep", anyio.run(main))
    assert ProcessExecutor._shared is None  # its workers were stopped, not left running
    settled(tmp_path)
