"""Embed a running study in an async application and stream what it does.

::

    async with admf.Runtime("study.yaml", level="debug") as runtime:
        async for event in runtime.events():
            if event["kind"] == "frame":
                print(event["container"], event["equity"])
    print(runtime.result.metrics.sharpe_ratio)

The study runs in a task of the caller's task group, on whatever event loop
the caller uses (asyncio or trio, through anyio). Events are the tracer's
(:mod:`admf.runtime.tracing`): lifecycle stages, route statistics, messages
(``normal``), portfolio frames with their fills and equity (``debug``). They
flow through a bounded stream; a consumer that falls behind does not slow
the study down: events that find the stream full are dropped and counted in
``runtime.dropped`` (a telemetry feed must never block the run it watches).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
from anyio import WouldBlock
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .api import load
from .errors import AdmfError, ConfigError
from .runtime.config import StudyConfig
from .runtime.tracing import Tracer
from .study import StudyResult, run_study

__all__ = ("Runtime",)


class _StreamStore:
    """An event store that hands each event to a bounded stream, dropping
    (and counting) what does not fit."""

    def __init__(self, send: MemoryObjectSendStream[dict[str, Any]]) -> None:
        self.send = send
        self.count = 0
        self.dropped = 0

    def append(self, kind: str, **fields: Any) -> bool:
        event = {"seq": self.count, "kind": kind, **fields}
        try:
            self.send.send_nowait(event)
        except (WouldBlock, anyio.BrokenResourceError):
            self.dropped += 1
            return False
        self.count += 1
        return True


class Runtime:
    """A study running inside the caller's event loop (see the module docstring).

    ``level`` is the tracing level of the streamed events (``minimal``,
    ``normal`` or ``debug``), ``containers`` per-container overrides as in
    ``tracing.containers``; ``buffer`` bounds the events in flight.
    """

    def __init__(self, config: StudyConfig | Mapping[str, Any] | str | Path, *,
                 overrides: Sequence[str] = (), write: bool = True, level: str = "normal",
                 containers: Mapping[str, Mapping[str, Any]] | None = None,
                 buffer: int = 1024) -> None:
        study = load(config, overrides=overrides)
        if not isinstance(study, StudyConfig) or study.sequence.type != "single_pass":
            raise ConfigError("admf.Runtime runs a single-pass study; run sequences and "
                              "workflows with admf.run")
        self.config = study
        self.write = write
        send, receive = anyio.create_memory_object_stream[dict[str, Any]](buffer)
        self._send: MemoryObjectSendStream[dict[str, Any]] = send
        self._receive: MemoryObjectReceiveStream[dict[str, Any]] = receive
        self._store = _StreamStore(send)
        self._tracer = Tracer(self._store, level=level, containers=containers)  # type: ignore[arg-type]
        self._group: Any = None
        self._done = anyio.Event()
        self._result: StudyResult | None = None
        self._error: BaseException | None = None

    @property
    def dropped(self) -> int:
        """Events dropped because the consumer was behind."""
        return self._store.dropped

    @property
    def result(self) -> StudyResult:
        """The study's result, once it has finished."""
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise AdmfError("the study has not finished; await runtime.wait() first")
        return self._result

    async def __aenter__(self) -> Runtime:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        self._group.start_soon(self._run, name=f"admf study {self.config.name}")
        return self

    async def _run(self) -> None:
        try:
            self._result = await run_study(self.config, write=self.write,
                                           instruments=(self._tracer,))
        except Exception as exc:  # kept for wait()/result; the group is not torn down
            self._error = exc
        finally:
            self._send.close()
            self._done.set()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool | None:
        if exc is not None:  # the application failed: stop the study too
            self._group.cancel_scope.cancel()
        try:
            return await self._group.__aexit__(exc_type, exc, tb)
        finally:
            self._receive.close()

    def events(self) -> AsyncIterator[dict[str, Any]]:
        """The study's events as they happen (``async for``); ends when the
        study ends. Breaking out early is fine: the stream closes on exit."""
        return self._receive

    async def wait(self) -> StudyResult:
        """Wait for the study to finish and return its result (or raise its error)."""
        await self._done.wait()
        return self.result

    def cancel(self) -> None:
        """Stop the study (its containers are still stopped and cleaned up)."""
        self._group.cancel_scope.cancel()
