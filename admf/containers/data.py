"""Data sources: stream one symbol's bars as :class:`~admf.messages.BarBatch`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import anyio

from ..messages import BarBatch
from ..runtime.container import Container

__all__ = ("BarSource",)

_DONE = object()


class BarSource(Container):
    """A source container: sends the batches of ``open_bars()`` on ``bars``.

    ``open_bars`` is called in ``initialize`` (so a missing file or column
    fails before anything runs) and must return an iterator of batches. With
    ``threaded`` the iterator is advanced in a worker thread, so file parsing
    (pyarrow releases the GIL) overlaps the strategy and portfolio work.
    """

    def __init__(self, name: str, open_bars: Callable[[], Iterator[BarBatch]], *,
                 threaded: bool = False) -> None:
        super().__init__(name)
        self.bars = self.add_output("bars", BarBatch)
        self._open = open_bars
        self._threaded = threaded
        self._iterator: Iterator[BarBatch] | None = None
        self.rows = 0

    async def on_initialize(self) -> None:
        if self._threaded:
            self._iterator = await anyio.to_thread.run_sync(self._open)
        else:
            self._iterator = self._open()

    async def on_execute(self) -> None:
        assert self._iterator is not None
        send = self.bars.send
        if not self._threaded:
            for batch in self._iterator:
                self.rows += len(batch)
                await send(batch)
            return
        while (batch := await anyio.to_thread.run_sync(next, self._iterator, _DONE)) is not _DONE:
            self.rows += len(batch)  # type: ignore[arg-type]
            await send(batch)

    async def on_collect(self) -> dict[str, int]:
        return {"rows": self.rows}

    async def on_cleanup(self) -> None:
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()
