"""Embed a running study in an async application and stream what it does.

::

    async with admf.Runtime("study.yaml", level="debug") as runtime:
        async for event in runtime.events():
            if event["kind"] == "frame":
                print(event["container"], event["equity"])
    print(runtime.result.metrics.sharpe_ratio)

The study runs in a worker thread, on its own event loop, so that its
synchronous work (reading data, computing portfolio frames, writing and
hashing result files) never stalls the caller's loop: the application keeps
serving its own tasks while the study runs. The worker's loop uses the same
backend as the caller's (asyncio or trio, whichever runs the caller), so
user components see the backend they were written for; the two loops share
nothing but the thread-safe bridge below.

With ``feed=`` the bars come from the application instead of ``data``
(paper trading a study inside an app; see :mod:`admf._feed`)::

    async def bars():
        async for tick in my_broker.stream():   # the application's own source
            yield {"symbol": "SPY", "timestamp": tick.time, "open": tick.o,
                   "high": tick.h, "low": tick.l, "close": tick.c, "volume": tick.v}

    async with admf.Runtime("study.yaml", feed=bars(), write=False) as runtime:
        ...

The feed is pumped by a task in the caller's loop, ``feed_capacity`` items
ahead of the study at most: a slow study backpressures the producer. The
iterable's end ends the study; :meth:`Runtime.cancel` (or leaving the block
with an exception) stops the pump and the study. ``data`` keeps saying what
the bars are (``symbols``, ``timeframe``, ``calendar``), not where they are:
no ``path``. Results stay in memory (``write=False``).

Events are the tracer's (:mod:`admf.runtime.tracing`): lifecycle stages,
route statistics, messages (``normal``), portfolio frames with their fills
and equity (``debug``). The worker puts them in a bounded buffer and wakes
the caller's loop with a fire-and-forget callback; it never waits for the
caller. A consumer that falls behind therefore does not slow the study down:
events that find the buffer full are dropped and counted in
``runtime.dropped`` (a telemetry feed must never block the run it watches).

:meth:`Runtime.cancel` stops the study only (its containers are still
stopped and cleaned up); the caller's own code carries on. Leaving the
``async with`` block waits for the study to end; leaving it with an
exception (or a cancellation) stops the study first, then lets that
exception through unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import anyio.lowlevel

from ._feed import FeedBridge, Schedule, _soon
from .api import load, running_event_loop, unwrapped
from .errors import AdmfError, ConfigError, ContainerError
from .research.config import StudyConfig
from .research.inmemory import with_frames
from .research.study import StudyResult, run_study
from .runtime.tracing import LEVELS, Tracer

__all__ = ("Runtime",)

_RULE_KEYS = ("level", "max_events")

def _scheduler(backend: str) -> Schedule:
    """The thread-safe, non-blocking way into the event loop running in the
    current thread (which runs ``backend``)."""
    if backend == "trio":
        import trio

        return trio.lowlevel.current_trio_token().run_sync_soon
    if backend == "asyncio":
        return asyncio.get_running_loop().call_soon_threadsafe
    raise AdmfError(f"admf.Runtime runs under asyncio or trio, not {backend}")


def _current_backend() -> str:
    """``"asyncio"`` or ``"trio"``: the event loop running in this thread."""
    backend = running_event_loop()
    if backend is not None:
        return backend
    raise AdmfError("admf.Runtime must be entered from an asyncio or trio event loop")


def _check_tracing(level: object, containers: object) -> None:
    allowed = ", ".join(LEVELS)
    if not isinstance(level, str) or level not in LEVELS:
        raise ConfigError(f"admf.Runtime: level must be one of {allowed}, got {level!r}")
    if containers is None:
        return
    if not isinstance(containers, Mapping):
        raise ConfigError("admf.Runtime: containers must map container name patterns to "
                          f"{{level, max_events}}, got {type(containers).__name__}")
    for pattern, rule in containers.items():
        where = f"admf.Runtime: containers[{pattern!r}]"
        if not isinstance(rule, Mapping):
            raise ConfigError(f"{where} must be a mapping with level and/or max_events, "
                              f"got {rule!r}")
        unknown = sorted(str(key) for key in rule if key not in _RULE_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                              f"expected {', '.join(_RULE_KEYS)}")
        rule_level = rule.get("level")
        if rule_level is not None and (not isinstance(rule_level, str) or rule_level not in LEVELS):
            raise ConfigError(f"{where}.level must be one of {allowed}, got {rule_level!r}")
        cap = rule.get("max_events")
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0):
            raise ConfigError(f"{where}.max_events: expected an integer > 0, got {cap!r}")


class _Bridge:
    """The tracer's event store on the worker's side, an async iterator on
    the caller's.

    The worker appends under a lock, dropping (and counting) what does not
    fit in ``capacity``; when the consumer is waiting it is woken through the
    caller's loop scheduler, without the worker ever waiting for it."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.count = 0
        self.dropped = 0  # also bumped by the tracer for per-container caps (worker thread)
        self.schedule: Schedule | None = None  # into the caller's loop, set on entering
        self._lock = threading.Lock()
        self._queue: deque[dict[str, Any]] = deque()
        self._waiter: anyio.Event | None = None
        self._ended = False  # the study is over: nothing more will come
        self._closed = False  # the consumer is gone: nothing more is wanted

    # -- worker side (the tracer's store interface) -------------------------

    def append(self, kind: str, **fields: Any) -> bool:
        with self._lock:
            if self._closed or len(self._queue) >= self.capacity:
                self.dropped += 1
                return False
            self._queue.append({"seq": self.count, "kind": kind, **fields})
            self.count += 1
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            _soon(self.schedule, waiter.set)
        return True

    def end(self) -> None:
        with self._lock:
            self._ended = True
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            _soon(self.schedule, waiter.set)

    # -- caller side ---------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._queue.clear()

    def __aiter__(self) -> _Bridge:
        return self

    async def __anext__(self) -> dict[str, Any]:
        await anyio.lowlevel.checkpoint()  # a fast producer must not starve the caller's loop
        while True:
            with self._lock:
                if self._queue:
                    return self._queue.popleft()
                if self._ended or self._closed:
                    raise StopAsyncIteration
                if self._waiter is None:
                    self._waiter = anyio.Event()
                waiter = self._waiter
            await waiter.wait()


class _StudyCancelled(Exception):
    """The worker's study was stopped by :meth:`Runtime.cancel`."""


class Runtime:
    """A study running alongside the caller's event loop (see the module docstring).

    ``level`` is the tracing level of the streamed events (``none``,
    ``minimal``, ``normal`` or ``debug``), ``containers`` per-container
    overrides as in ``tracing.containers``; ``buffer`` bounds the events
    waiting for the consumer. ``feed`` is an async iterable of bars or
    batches standing in for ``data`` (see the module docstring), at most
    ``feed_capacity`` items ahead of the study; ``write`` defaults to writing
    a results directory, except for a fed study, which keeps its results in
    memory.
    """

    def __init__(self, config: StudyConfig | Mapping[str, Any] | str | Path, *,
                 overrides: Sequence[str] = (), write: bool | None = None,
                 level: str = "normal",
                 containers: Mapping[str, Mapping[str, Any]] | None = None,
                 buffer: int = 1024, data: Mapping[str, Any] | None = None,
                 feed: AsyncIterable[Any] | None = None, feed_capacity: int = 64) -> None:
        _check_tracing(level, containers)
        if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 1:
            raise ConfigError(f"admf.Runtime: buffer must be an integer >= 1, got {buffer!r}")
        if data is not None and feed is not None:
            raise ConfigError("admf.Runtime: give data= (bars in memory) or feed= (bars as "
                              "they come), not both")
        # bars in memory (as admf.run's data=): staged until the study ends
        self._staging = contextlib.ExitStack()
        try:
            if data is not None:
                config = self._staging.enter_context(with_frames(config, data))
            study = load(config, overrides=overrides)
        except BaseException:
            self._staging.close()
            raise
        if not isinstance(study, StudyConfig) or study.sequence.type != "single_pass":
            raise ConfigError("admf.Runtime runs a single-pass study; run sequences and "
                              "workflows with admf.run")
        self._feed: FeedBridge | None = None
        if feed is not None:
            self._feed = self._fed(study, feed, feed_capacity, write)
            write = False
        self.config = study
        self.write = True if write is None else write
        self._bridge = _Bridge(buffer)
        self._tracer = Tracer(self._bridge, level=level, containers=containers)  # type: ignore[arg-type]
        self._lock = threading.Lock()
        self._stop_requested = False
        self._stop_study: Callable[[], None] | None = None  # set by the worker while it runs
        self._thread: threading.Thread | None = None
        self._done: anyio.Event | None = None
        self._result: StudyResult | None = None
        self._error: BaseException | None = None
        self._cancelled = False

    def _fed(self, study: StudyConfig, feed: AsyncIterable[Any], capacity: int,
             write: bool | None) -> FeedBridge:
        if write:
            raise ConfigError("admf.Runtime: a fed study keeps its results in memory; "
                              "drop write=True")
        if study.data.source != "synthetic" or study.data.path is not None:
            raise ConfigError(f"data.source is {study.data.source!r} and feed= gives the bars; "
                              "remove data.source and data.path (data keeps symbols, "
                              "timeframe and calendar)")
        if study.topology.pattern != "backtest":
            raise ConfigError(f"topology.pattern is {study.topology.pattern!r}; a fed study "
                              "runs the built-in live pattern (remove topology.pattern)")
        if study.data.resample is not None:
            raise ConfigError("data.resample: a fed study takes its bars as they come; "
                              "resample them before feeding")
        return FeedBridge(feed, study.data.symbols, capacity)

    @property
    def feed_items(self) -> int:
        """Items taken from the feed so far (0 without a feed)."""
        return self._feed.items if self._feed is not None else 0

    @property
    def dropped(self) -> int:
        """Events dropped because the consumer was behind."""
        return self._bridge.dropped

    @property
    def result(self) -> StudyResult:
        """The study's result, once it has finished."""
        if self._error is not None:
            raise self._error
        if self._result is not None:
            return self._result
        if self._cancelled:
            raise AdmfError(f"the study {self.config.name!r} was cancelled before it "
                            "finished: it has no result")
        if self._stop_requested:
            raise AdmfError(f"the study {self.config.name!r} was cancelled and is stopping; "
                            "it will have no result")
        raise AdmfError("the study has not finished; await runtime.wait() first")

    async def __aenter__(self) -> Runtime:
        if self._thread is not None:
            raise AdmfError("an admf.Runtime runs its study once; make a new one")
        # A thread of our own rather than anyio.to_thread.run_sync in a task
        # group: no task group encloses the caller's body (so its exceptions
        # are not wrapped and cancel() cannot reach it), and a study that runs
        # for minutes does not hold a token of anyio's default thread limiter.
        backend = _current_backend()
        self._bridge.schedule = schedule = _scheduler(backend)
        self._done = done = anyio.Event()
        if self._feed is not None:
            self._feed.start(backend, schedule)
        self._thread = threading.Thread(target=self._work, args=(backend, schedule, done),
                                        name=f"admf study {self.config.name}", daemon=True)
        self._thread.start()
        return self

    def _work(self, backend: str, schedule: Schedule, done: anyio.Event) -> None:
        """The worker thread: the study on its own event loop."""
        try:
            self._result = anyio.run(self._study, backend, backend=backend)
        except _StudyCancelled:
            self._cancelled = True
        except BaseException as exc:  # kept for wait()/result, as a run's error
            self._error = exc
        finally:
            self._staging.close()
            self._bridge.end()
            _soon(schedule, done.set)

    async def _study(self, backend: str) -> StudyResult:
        schedule = _scheduler(backend)
        running = [True]  # read and written in this loop's thread only

        def stop_in_loop() -> None:
            if running[0]:  # a request that arrives once the study is over is moot
                scope.cancel()

        if self._feed is not None:
            self._feed.study_schedule = schedule
        with anyio.CancelScope() as scope:
            with self._lock:
                self._stop_study = lambda: _soon(schedule, stop_in_loop)
                stop = self._stop_requested
            if stop:
                scope.cancel()
            try:
                return await run_study(self.config, write=self.write,
                                       instruments=(self._tracer,), feed=self._feed)
            except ContainerError as exc:  # the admf error a container met, as admf.run gives it
                error = unwrapped(exc)
                raise error from error.__cause__  # its own cause kept: the user's error
            finally:
                running[0] = False
                with self._lock:
                    self._stop_study = None
        raise _StudyCancelled  # the scope swallowed the cancellation cancel() asked for

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._done is not None
        try:
            if exc is not None:  # the application failed (or was cancelled): stop the study too
                self.cancel()
            try:
                with anyio.CancelScope(shield=exc is not None):
                    await self._done.wait()  # its containers are being cleaned up
            except BaseException:  # cancelled while waiting for the study: stop it, still wait
                self.cancel()
                with anyio.CancelScope(shield=True):
                    await self._done.wait()
                raise
        finally:
            self._bridge.close()
            if self._feed is not None:
                await self._feed.stop()
        # returning None: the body's exception, if any, goes on as itself

    def events(self) -> AsyncIterator[dict[str, Any]]:
        """The study's events as they happen (``async for``); ends when the
        study ends. Breaking out early is fine: the buffer closes on exit."""
        if self._done is None:
            raise AdmfError("enter the runtime first: async with admf.Runtime(...) as runtime")
        return self._bridge

    async def wait(self) -> StudyResult:
        """Wait for the study to finish and return its result (or raise its
        error, or an :class:`AdmfError` if it was cancelled)."""
        if self._done is None:
            raise AdmfError("enter the runtime first: async with admf.Runtime(...) as runtime")
        await self._done.wait()
        return self.result

    def cancel(self) -> None:
        """Stop the study, and only the study: the caller's code is not
        cancelled. Its containers are still stopped and cleaned up; then
        :attr:`result` and :meth:`wait` raise an :class:`AdmfError` saying it
        was cancelled. Safe to call from any thread, any number of times."""
        with self._lock:
            self._stop_requested = True
            stop = self._stop_study
        if stop is not None:
            stop()
