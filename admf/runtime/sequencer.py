"""Run one topology through the container lifecycle.

1. ``initialize`` every container concurrently, await all;
2. ``start`` every container concurrently, await all;
3. ``execute`` every container concurrently (sources produce only now, once
   every container has started; end of stream propagates downstream);
4. ``collect`` from every container concurrently;
5. ``stop`` in reverse topological order;
6. ``cleanup`` in reverse topological order, always: after success, after a
   failure, after cancellation (shielded).

A failure in any container at any stage cancels the stage, still stops and
cleans up every container that was initialised, and raises one
:class:`~admf.errors.ContainerError` naming the container and stage, with the
original exception chained.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import anyio
import msgspec

from ..errors import ContainerError
from ..routes import RouteStatistics
from .container import Container, Stage, State
from .instrument import hooks_of
from .topology import Topology

__all__ = ("Sequencer", "RunResult", "run_topology")


class RunResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a topology run produced."""

    topology: str
    collected: dict[str, Any]
    """What each container's ``collect`` returned, by container name."""
    routes: dict[str, RouteStatistics]
    """Each route's statistics at the end of the run, by route name."""
    stage_seconds: dict[str, float]
    """Wall time of each concurrent stage (initialize, start, execute, collect)."""


_STOPPABLE = (State.INITIALIZED, State.STARTED, State.EXECUTED, State.COLLECTED)


class Sequencer:
    """Drives one :class:`Topology` through one run (a topology is single-use)."""

    def __init__(self, topology: Topology, *, instruments: Sequence[Any] = ()) -> None:
        self.topology = topology
        self.order: list[Container] = topology.validate()
        self._hooks = hooks_of(list(instruments))
        self._failures: list[ContainerError] = []

    async def run(self) -> RunResult:
        for route in self.topology.routes:
            route.open()
        for hook in self._hooks["run_started"]:  # routes are open: a tracer may wrap ports
            hook(self.topology)
        collected: dict[str, Any] = {}
        seconds: dict[str, float] = {}
        try:
            for stage in (Stage.INITIALIZE, Stage.START, Stage.EXECUTE, Stage.COLLECT):
                started = time.perf_counter()
                await self._concurrently(stage, self.order, collected)
                seconds[stage.value] = time.perf_counter() - started
        except BaseException:
            if not self._failures:
                raise  # outside cancellation or a kernel bug: propagate after cleanup
        finally:
            with anyio.CancelScope(shield=True):
                await self._wind_down()
        if self._failures:
            first = self._failures[0]
            raise first from first.cause
        return RunResult(
            topology=self.topology.name,
            collected=collected,
            routes={route.name: route.statistics() for route in self.topology.routes},
            stage_seconds=seconds,
        )

    async def _concurrently(self, stage: Stage, containers: Iterable[Container],
                            collected: dict[str, Any]) -> None:
        async with anyio.create_task_group() as tg:
            for container in containers:
                tg.start_soon(self._guarded, container, stage, collected,
                              name=f"{container.name}.{stage.value}")

    async def _guarded(self, container: Container, stage: Stage,
                       collected: dict[str, Any] | None = None) -> None:
        """Run one stage of one container, translating its failure."""
        for hook in self._hooks["stage_entered"]:
            hook(container, stage.value)
        error: BaseException | None = None
        try:
            result = await getattr(container, stage.value)()
            if stage is Stage.COLLECT and collected is not None:
                collected[container.name] = result
        except Exception as exc:
            error = ContainerError(container.name, stage.value, exc)
            self._failures.append(error)
            raise error from exc
        except BaseException as exc:  # cancellation: not this container's fault
            error = exc
            raise
        finally:
            for hook in self._hooks["stage_exited"]:
                hook(container, stage.value, error)

    async def _wind_down(self) -> None:
        """Stop, then clean up, in reverse topological order; record failures
        but carry on so every container is cleaned up exactly once."""
        reverse = list(reversed(self.order))
        for container in reverse:
            if container.state in _STOPPABLE:
                await self._quietly(container, Stage.STOP)
        for container in reverse:
            if container.state is not State.CREATED:
                await self._quietly(container, Stage.CLEANUP)
        for route in self.topology.routes:
            route.close()
        error = self._failures[0] if self._failures else None
        for hook in self._hooks["run_finished"]:
            hook(self.topology, error)

    async def _quietly(self, container: Container, stage: Stage) -> None:
        try:
            await self._guarded(container, stage)
        except ContainerError:
            pass  # recorded in self._failures


async def run_topology(topology: Topology, *, instruments: Sequence[Any] = ()) -> RunResult:
    """Validate ``topology`` and run it once through the lifecycle."""
    return await Sequencer(topology, instruments=instruments).run()
