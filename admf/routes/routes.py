"""The five kinds of route: pipe, broadcast, filter, partition, merge.

A route links producer output ports to consumer input ports and declares the
message type it carries. When it opens it creates one bounded
:class:`~admf.routes._channel.Channel` per stream it needs and installs a send
function on each producer port; producers do the routing themselves, so a
route adds no task and no hop.
"""

from __future__ import annotations

import heapq
import operator
import zlib
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import Any

from anyio import BrokenResourceError, EndOfStream, WouldBlock
from anyio.lowlevel import checkpoint

from ._channel import YIELD_SECONDS, Channel, RouteStatistics, clock
from .ports import InputPort, OutputPort, Send, admits, message_types, type_name

__all__ = ("DEFAULT_CAPACITY", "Route", "Pipe", "Broadcast", "Filter", "Partition", "Merge")

DEFAULT_CAPACITY = 8
"""Messages buffered per stream. A batch carries tens of thousands of rows,
so a handful in flight keeps every container busy; memory is bounded by
capacity x batch size (8 x 65536 bars of OHLCV is 25 MB per stream)."""


def channel_nowait(channel: Channel) -> Callable[[Any], None]:
    """Deliver without waiting, or raise ``WouldBlock``: the stream's own
    ``send_nowait``, with no wrapper on the hot path. A consumer that finishes
    early keeps draining its input until its producers end (see
    :meth:`~admf.routes.ports.InputPort.drain`), so this meets a closed
    consumer only when a run is cancelled; callers then fall back to the
    awaiting sender, which counts the message as dropped."""
    return channel.send_stream.send_nowait


def channel_sender(channel: Channel) -> Send:
    """A send function for one channel: non-blocking first, awaiting only on a
    full buffer, yielding to the scheduler at least every YIELD_SECONDS."""
    send_nowait = channel.send_stream.send_nowait
    slow = channel.send_blocking
    deadline = clock() + YIELD_SECONDS

    async def send(message: Any) -> None:
        nonlocal deadline
        try:
            send_nowait(message)
        except WouldBlock:
            await slow(message)
            return
        except BrokenResourceError:
            channel.dropped += 1
        if clock() >= deadline:
            await checkpoint()
            deadline = clock() + YIELD_SECONDS

    return send


class Route:
    """Base of every route kind; see the subclasses."""

    kind = "route"

    def __init__(self, producers: Sequence[OutputPort], consumers: Sequence[InputPort], *,
                 type_: Any = None, capacity: int = DEFAULT_CAPACITY, feedback: bool = False,
                 name: str | None = None) -> None:
        if capacity < 1:
            raise ValueError(f"route capacity must be >= 1, got {capacity}")
        self.producers = list(producers)
        self.consumers = list(consumers)
        self.types = message_types(type_) if type_ is not None else _union(self.producers)
        self.capacity = capacity
        self.feedback = feedback
        self.name = name or self._default_name()
        self.channels: list[Channel] = []

    def _default_name(self) -> str:
        src = ",".join(p.address for p in self.producers)
        dst = ",".join(c.address for c in self.consumers)
        return f"{self.kind}:{src}->{dst}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: {type_name(self.types)}>"

    def type_mismatch(self) -> str | None:
        """Why the ends of this route disagree on message type, or None."""
        for producer in self.producers:
            if not admits(self.types, producer.types):
                return (f"{self.kind} route {self.name!r}: output {producer.address} sends "
                        f"{type_name(producer.types)} but the route carries {type_name(self.types)}")
        for consumer in self.consumers:
            if not admits(consumer.types, self.types):
                src = ", ".join(p.address for p in self.producers)
                return (f"{self.kind} route {self.name!r}: output {src} sends "
                        f"{type_name(self.types)} but input {consumer.address} accepts "
                        f"{type_name(consumer.types)}")
        return None

    def open(self) -> None:
        """Create the streams and wire the ports."""
        raise NotImplementedError

    def close(self) -> None:
        for channel in self.channels:
            channel.close()

    def _bind_consumer(self, consumer: InputPort, channel: Channel) -> None:
        stream = channel.receive_stream
        consumer.bind(stream.receive_nowait, stream.receive, stream.close)

    def _in_flight(self) -> int:
        return sum(ch.buffered() + ch.dropped for ch in self.channels)

    def statistics(self) -> RouteStatistics:
        received = sum(c.received for c in self.consumers)
        discarded = sum(c.discarded for c in self.consumers)
        return RouteStatistics(
            sent=received + discarded + self._in_flight(),
            received=received,
            buffered=sum(ch.buffered() for ch in self.channels),
            capacity=self.capacity,
            blocked_seconds=sum(ch.blocked_seconds for ch in self.channels),
            dropped=discarded + sum(ch.dropped for ch in self.channels),
        )


def _union(ports: Sequence[OutputPort]) -> tuple[type, ...]:
    seen: dict[type, None] = {}
    for port in ports:
        seen.update(dict.fromkeys(port.types))
    return tuple(seen)


class Pipe(Route):
    """One output to one input."""

    kind = "pipe"

    def open(self) -> None:
        channel = Channel(self.capacity)
        self.channels = [channel]
        self.producers[0].attach(channel_sender(channel), channel_nowait(channel),
                                 channel.has_room, channel.send_stream.close)
        self._bind_consumer(self.consumers[0], channel)


class Broadcast(Route):
    """One output to N inputs; every consumer gets every message."""

    kind = "broadcast"

    def open(self) -> None:
        self.channels = [Channel(self.capacity) for _ in self.consumers]
        senders = [channel_sender(ch) for ch in self.channels]
        nowaits = [channel_nowait(ch) for ch in self.channels]

        async def send(message: Any) -> None:
            for sender in senders:
                await sender(message)

        pairs = list(zip(nowaits, self.channels))

        def send_nowait(message: Any) -> None:
            if not self.has_room():
                raise WouldBlock  # all or nothing: no consumer gets it twice on retry
            for nowait, channel in pairs:
                try:
                    nowait(message)
                except BrokenResourceError:  # a cancelled consumer: the others still get it
                    channel.dropped += 1

        self.producers[0].attach(send, send_nowait, self.has_room, self.close_senders)
        for consumer, channel in zip(self.consumers, self.channels):
            self._bind_consumer(consumer, channel)

    def close_senders(self) -> None:
        for channel in self.channels:
            channel.send_stream.close()

    def has_room(self) -> bool:
        return all(ch.has_room() for ch in self.channels)

    def statistics(self) -> RouteStatistics:
        stats = super().statistics()
        first = self.channels[0] if self.channels else None
        head = self.consumers[0]
        sent = (head.received + head.discarded + first.buffered() + first.dropped) if first else 0
        return stats._replace(sent=sent)


class Filter(Route):
    """One output to one input, passing only messages that match.

    Give ``predicate(message) -> bool``, or ``symbols`` to pass messages whose
    ``symbol`` attribute is in the set. ``filtered`` counts what was held back.
    """

    kind = "filter"

    def __init__(self, producers: Sequence[OutputPort], consumers: Sequence[InputPort], *,
                 predicate: Callable[[Any], bool] | None = None,
                 symbols: Collection[str] | None = None, **options: Any) -> None:
        if (predicate is None) == (symbols is None):
            raise ValueError("a filter route needs exactly one of predicate= or symbols=")
        if symbols is not None:
            allowed = frozenset(symbols)
            predicate = lambda message: message.symbol in allowed  # noqa: E731
        self.predicate: Callable[[Any], bool] = predicate  # type: ignore[assignment]
        self.filtered = 0
        super().__init__(producers, consumers, **options)

    def open(self) -> None:
        channel = Channel(self.capacity)
        self.channels = [channel]
        inner = channel_sender(channel)
        inner_nowait = channel_nowait(channel)
        predicate = self.predicate
        deadline = clock() + YIELD_SECONDS

        def send_nowait(message: Any) -> None:
            if predicate(message):
                inner_nowait(message)
            else:
                self.filtered += 1

        async def send(message: Any) -> None:
            nonlocal deadline
            if predicate(message):
                await inner(message)
                return
            self.filtered += 1
            if clock() >= deadline:
                await checkpoint()
                deadline = clock() + YIELD_SECONDS

        self.producers[0].attach(send, send_nowait, channel.has_room, channel.send_stream.close)
        self._bind_consumer(self.consumers[0], channel)


def stable_index(key: Hashable, n: int) -> int:
    """A consumer index for ``key`` that is the same in every process (unlike
    ``hash``, which is salted per process for strings)."""
    if isinstance(key, int):
        return key % n
    data = key.encode() if isinstance(key, str) else repr(key).encode()
    return zlib.crc32(data) % n


class Partition(Route):
    """One output to N inputs, each message to exactly one consumer by key.

    ``key`` is an attribute name (e.g. ``"symbol"``) or a function of the
    message. ``assign`` maps keys to consumer indexes explicitly; without it a
    stable hash spreads keys over the consumers.
    """

    kind = "partition"

    def __init__(self, producers: Sequence[OutputPort], consumers: Sequence[InputPort], *,
                 key: str | Callable[[Any], Hashable] = "symbol",
                 assign: Mapping[Hashable, int] | None = None, **options: Any) -> None:
        self.key = operator.attrgetter(key) if isinstance(key, str) else key
        self.assign = dict(assign) if assign is not None else None
        super().__init__(producers, consumers, **options)
        if self.assign is not None:
            bad = {k: i for k, i in self.assign.items() if not 0 <= i < len(self.consumers)}
            if bad:
                raise ValueError(f"partition {self.name!r}: consumer indexes out of range: {bad}")

    def index_of(self, message: Any) -> int:
        key = self.key(message)
        if self.assign is None:
            return stable_index(key, len(self.consumers))
        try:
            return self.assign[key]
        except KeyError:
            raise KeyError(f"partition route {self.name!r} has no consumer for key {key!r}") from None

    def open(self) -> None:
        self.channels = [Channel(self.capacity) for _ in self.consumers]
        senders = [channel_sender(ch) for ch in self.channels]
        nowaits = [channel_nowait(ch) for ch in self.channels]
        index_of = self.index_of

        async def send(message: Any) -> None:
            await senders[index_of(message)](message)

        def send_nowait(message: Any) -> None:
            nowaits[index_of(message)](message)

        def has_room() -> bool:
            return all(ch.has_room() for ch in self.channels)

        def close() -> None:
            for channel in self.channels:
                channel.send_stream.close()

        self.producers[0].attach(send, send_nowait, has_room, close)
        for consumer, channel in zip(self.consumers, self.channels):
            self._bind_consumer(consumer, channel)


class Merge(Route):
    """N outputs into one input, in deterministic event-time order.

    The consumer receives the message with the smallest ``(key, sequence,
    source)``: ``key`` defaults to the message's ``ts``, ``sequence`` is the
    message's position in its own producer's stream, and ``source`` ranks the
    producers by address. A message is released only once every open
    producer has one waiting, so the order never depends on which task woke
    first.
    """

    kind = "merge"

    def __init__(self, producers: Sequence[OutputPort], consumers: Sequence[InputPort], *,
                 key: Callable[[Any], Any] = operator.attrgetter("ts"), **options: Any) -> None:
        self.key = key
        self._merger: _Merger | None = None
        super().__init__(sorted(producers, key=lambda p: p.address), consumers, **options)

    def open(self) -> None:
        self.channels = [Channel(self.capacity) for _ in self.producers]
        for producer, channel in zip(self.producers, self.channels):
            producer.attach(channel_sender(channel), channel_nowait(channel), channel.has_room,
                            channel.send_stream.close)
        self._merger = _Merger(self.channels, self.key)
        self.consumers[0].bind(self._merger.receive_nowait, self._merger.receive,
                               self._merger.close)

    def _in_flight(self) -> int:
        held = len(self._merger.heap) if self._merger else 0
        return super()._in_flight() + held


class _Merger:
    """K-way merge over the producers' streams (see :class:`Merge`)."""

    def __init__(self, channels: list[Channel], key: Callable[[Any], Any]) -> None:
        self.streams = [ch.receive_stream for ch in channels]
        self.key = key
        self.heap: list[tuple[Any, int, int, Any]] = []
        self.sequence = [0] * len(channels)
        self.waiting = list(range(len(channels)))  # open streams with no head in the heap

    def _push(self, rank: int, message: Any) -> None:
        seq = self.sequence[rank]
        self.sequence[rank] = seq + 1
        heapq.heappush(self.heap, (self.key(message), seq, rank, message))

    def _pop(self) -> Any:
        if not self.heap:
            raise EndOfStream
        _, _, rank, message = heapq.heappop(self.heap)
        self.waiting.append(rank)
        return message

    def receive_nowait(self) -> Any:
        while self.waiting:
            rank = self.waiting[-1]
            try:
                message = self.streams[rank].receive_nowait()
            except EndOfStream:
                self.waiting.pop()
                continue
            self.waiting.pop()
            self._push(rank, message)
        return self._pop()

    async def receive(self) -> Any:
        while self.waiting:
            rank = self.waiting[-1]
            try:
                message = await self.streams[rank].receive()
            except EndOfStream:
                self.waiting.pop()
                continue
            self.waiting.pop()
            self._push(rank, message)
        return self._pop()

    def close(self) -> None:
        for stream in self.streams:
            stream.close()
