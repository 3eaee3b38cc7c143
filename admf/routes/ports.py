"""Typed ports: where a container's messages leave and arrive.

An :class:`OutputPort` sends through the routes attached to it; an
:class:`InputPort` receives from the one route feeding it. Both take the
non-blocking path first and await only when a buffer is full or empty, so a
message that does not need to wait costs no scheduler round trip.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Awaitable, Callable
from typing import Any

from anyio import BrokenResourceError, EndOfStream, WouldBlock
from anyio.lowlevel import checkpoint

from ._channel import YIELD_SECONDS, clock

__all__ = ("InputPort", "OutputPort", "message_types", "type_name")

Send = Callable[[Any], Awaitable[None]]


def message_types(declared: Any) -> tuple[type, ...]:
    """The classes a port or route type admits: ``A``, ``A | B``, ``Union[A, B]``;
    ``object`` or ``Any`` admit everything."""
    if declared is Any:
        return (object,)
    if isinstance(declared, types.UnionType) or typing.get_origin(declared) is typing.Union:
        return tuple(t for arg in typing.get_args(declared) for t in message_types(arg))
    if isinstance(declared, type):
        return (declared,)
    raise TypeError(f"not a message type: {declared!r}")


def type_name(types_: tuple[type, ...]) -> str:
    return " | ".join(t.__name__ for t in types_)


def admits(accepting: tuple[type, ...], offered: tuple[type, ...]) -> bool:
    """Whether every offered class is a subclass of some accepted class."""
    return all(any(issubclass(o, a) for a in accepting) for o in offered)


class OutputPort:
    """A container's named, typed output.

    ``await port.send(message)`` delivers to every attached route, waiting
    while a buffer is full; ``port.send_nowait(message)`` delivers without
    waiting or raises ``WouldBlock`` (having delivered to no one). The fastest
    loop tries ``send_nowait`` and awaits ``send`` only on ``WouldBlock``.
    With no route attached messages are discarded. The sequencer closes the
    port when its container's ``execute`` ends, ending the stream downstream.

    ``send`` and ``send_nowait`` are installed when the routes open: look them
    up in ``on_execute``, not earlier.
    """

    __slots__ = ("owner", "name", "types", "_senders", "_nowaits", "_rooms", "_closers",
                 "_deadline", "send", "send_nowait")

    def __init__(self, owner: str, name: str, type_: Any) -> None:
        self.owner = owner
        self.name = name
        self.types = message_types(type_)
        self._senders: list[Send] = []
        self._nowaits: list[Callable[[Any], None]] = []
        self._rooms: list[Callable[[], bool]] = []
        self._closers: list[Callable[[], None]] = []
        self._deadline = clock() + YIELD_SECONDS
        self.send: Send = self._discard
        self.send_nowait: Callable[[Any], None] = _drop

    @property
    def address(self) -> str:
        return f"{self.owner}.{self.name}"

    def __repr__(self) -> str:
        return f"<OutputPort {self.address}: {type_name(self.types)}>"

    def attach(self, send: Send, send_nowait: Callable[[Any], None],
               has_room: Callable[[], bool], close: Callable[[], None]) -> None:
        """Called by a route when it opens: add a destination."""
        self._senders.append(send)
        self._nowaits.append(send_nowait)
        self._rooms.append(has_room)
        self._closers.append(close)
        if len(self._senders) == 1:
            self.send, self.send_nowait = send, send_nowait
        else:
            self.send, self.send_nowait = self._fan_out, self._fan_out_nowait

    async def _fan_out(self, message: Any) -> None:
        for send in self._senders:
            await send(message)

    def _fan_out_nowait(self, message: Any) -> None:
        if not all(room() for room in self._rooms):
            raise WouldBlock
        for send_nowait in self._nowaits:
            try:
                send_nowait(message)
            except BrokenResourceError:
                # that route's consumer was cancelled; raising would make the
                # caller retry and deliver twice to the routes already served
                continue

    async def _discard(self, message: Any) -> None:
        if clock() >= self._deadline:
            await checkpoint()
            self._deadline = clock() + YIELD_SECONDS

    def close(self) -> None:
        """End of stream for every route this port feeds (idempotent)."""
        for close in self._closers:
            close()


class InputPort:
    """A container's named, typed input; iterate it with ``async for``.

    Iteration ends when every producer feeding the port has closed. An
    optional input that nothing feeds ends at once. ``received`` counts the
    messages taken. The fastest loop tries ``receive_nowait`` and awaits
    ``receive`` only on ``WouldBlock``.
    """

    __slots__ = ("owner", "name", "types", "required", "received", "discarded",
                 "_receive_nowait", "_receive", "_deadline", "_closers")

    def __init__(self, owner: str, name: str, type_: Any, *, required: bool = True) -> None:
        self.owner = owner
        self.name = name
        self.types = message_types(type_)
        self.required = required
        self.received = 0
        self.discarded = 0
        self._receive_nowait: Callable[[], Any] = _ended
        self._receive: Callable[[], Awaitable[Any]] = _ended_async
        self._deadline = clock() + YIELD_SECONDS
        self._closers: list[Callable[[], None]] = []

    @property
    def address(self) -> str:
        return f"{self.owner}.{self.name}"

    def __repr__(self) -> str:
        return f"<InputPort {self.address}: {type_name(self.types)}>"

    def bind(self, receive_nowait: Callable[[], Any],
             receive: Callable[[], Awaitable[Any]], close: Callable[[], None]) -> None:
        """Called by the route feeding this port when it opens."""
        self._receive_nowait = receive_nowait
        self._receive = receive
        self._closers.append(close)

    def receive_nowait(self) -> Any:
        """The next message, or raise ``WouldBlock`` (none buffered) or
        ``EndOfStream`` (every producer closed and the buffer is empty)."""
        message = self._receive_nowait()
        self.received += 1
        return message

    async def receive(self) -> Any:
        """The next message, waiting if none is buffered; ``EndOfStream`` at the end."""
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            raise EndOfStream from None

    def __aiter__(self) -> InputPort:
        return self

    async def __anext__(self) -> Any:
        try:
            message = self._receive_nowait()
        except WouldBlock:
            try:
                message = await self._receive()
            except EndOfStream:
                raise StopAsyncIteration from None
        except EndOfStream:
            raise StopAsyncIteration from None
        else:
            if clock() >= self._deadline:
                await checkpoint()
                self._deadline = clock() + YIELD_SECONDS
        self.received += 1
        return message

    async def drain(self) -> int:
        """Take and discard every message until the end of the stream (a
        consumer that finished early does this, so its producers never block
        on it nor meet a closed stream); returns how many were discarded."""
        count = 0
        while True:
            try:
                self._receive_nowait()
            except WouldBlock:
                try:
                    await self._receive()
                except EndOfStream:
                    break
            except EndOfStream:
                break
            count += 1
            if clock() >= self._deadline:
                await checkpoint()
                self._deadline = clock() + YIELD_SECONDS
        self.discarded += count
        return count

    def close(self) -> None:
        """Stop receiving; producers still sending drop their messages (idempotent)."""
        for close in self._closers:
            close()


def _drop(message: Any) -> None:
    """send_nowait of a port no route reads: the message goes nowhere."""


def _ended() -> Any:
    raise EndOfStream


async def _ended_async() -> Any:
    raise EndOfStream
