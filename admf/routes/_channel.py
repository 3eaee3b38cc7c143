"""One bounded anyio memory stream with the counters a route reports."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import anyio
from anyio import BrokenResourceError

YIELD_SECONDS = 0.005
"""The longest a port runs without yielding to the scheduler. A producer that
never blocks (say, a filter dropping everything) and a consumer whose buffer
is always full must still yield, so the run stays cancellable and shares its
event loop: by time, not by message count, since one message may be a batch
of 65,536 bars that takes milliseconds to process (a count of 1,024 such
messages held a host's loop, and its cancellation, for seconds)."""

clock = time.perf_counter


class RouteStatistics(NamedTuple):
    """What went through a route. Counts are messages (a batch counts once)."""

    sent: int
    """Messages accepted by the route from its producers."""
    received: int
    """Messages taken by consumers (a broadcast counts each consumer's copy)."""
    buffered: int
    """Messages waiting in the route's buffers right now."""
    capacity: int
    """Buffer capacity of each of the route's streams."""
    blocked_seconds: float
    """Total time producers spent waiting for buffer space."""
    dropped: int
    """Messages offered after their consumer had finished and closed its input."""


class Channel:
    """A bounded stream from one producer port to one consumer port.

    The fast path is ``send_nowait``; a producer awaits only when the buffer is
    full, and that wait is timed. Messages taken are counted by the consumer's
    port, so ``sent`` is derived (taken + buffered + dropped) and the
    producer's fast path pays for no counter.
    """

    __slots__ = ("send_stream", "receive_stream", "capacity", "dropped",
                 "blocked_seconds", "blocked_count")

    def __init__(self, capacity: int) -> None:
        self.send_stream, self.receive_stream = anyio.create_memory_object_stream[Any](capacity)
        self.capacity = capacity
        self.dropped = 0
        self.blocked_seconds = 0.0
        self.blocked_count = 0

    async def send_blocking(self, message: Any) -> None:
        """The slow path: wait for buffer space (or drop if the consumer is gone)."""
        start = time.perf_counter()
        try:
            await self.send_stream.send(message)
        except BrokenResourceError:
            self.dropped += 1
        finally:
            self.blocked_seconds += time.perf_counter() - start
            self.blocked_count += 1

    def has_room(self) -> bool:
        """Whether a message can be sent now without waiting."""
        stats = self.send_stream.statistics()
        return stats.current_buffer_used < stats.max_buffer_size or stats.tasks_waiting_receive > 0

    def buffered(self) -> int:
        return self.send_stream.statistics().current_buffer_used

    def close(self) -> None:
        self.send_stream.close()
        self.receive_stream.close()
