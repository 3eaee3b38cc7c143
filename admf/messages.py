"""Every message type admf sends between containers.

Messages are frozen, tagged :class:`msgspec.Struct` values. Each carries its
event time ``ts`` as int64 nanoseconds since the epoch, UTC. Market data and
signals travel as *columnar batches* (numpy arrays of thousands of rows), so
the cost of an await is paid once per batch, not once per bar; for a batch,
``ts`` is the event time of its first row.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np

__all__ = (
    "Message",
    "BarBatch",
    "SignalBatch",
    "PhaseOutput",
)


class Message(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """Base of every message: ``ts`` is event time in int64 ns UTC."""

    ts: int


class BarBatch(Message, frozen=True, tag=True, kw_only=True):
    """Consecutive bars of one symbol as parallel numpy arrays.

    ``timestamp`` is int64 ns UTC, strictly increasing; prices and volume are
    float64. All arrays have the same length (at least one row).
    """

    symbol: str
    timestamp: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.timestamp)

    def slice(self, start: int, stop: int) -> BarBatch:
        """Rows ``start:stop`` as a new batch (views, no copy)."""
        ts = self.timestamp[start:stop]
        return BarBatch(
            ts=int(ts[0]),
            symbol=self.symbol,
            timestamp=ts,
            open=self.open[start:stop],
            high=self.high[start:stop],
            low=self.low[start:stop],
            close=self.close[start:stop],
            volume=self.volume[start:stop],
        )


class SignalBatch(Message, frozen=True, tag=True, kw_only=True):
    """A strategy's target position for every bar of ``bars``.

    ``target`` is float64, one value per bar: +1 long, -1 short, 0 flat
    (fractions scale the sizing); NaN means "no opinion, keep what you hold".
    A target computed from bar *t* is acted on according to the fill
    convention (by default at bar *t+1*'s open).
    """

    strategy: str
    bars: BarBatch
    target: np.ndarray

    def __len__(self) -> int:
        return len(self.target)

    @property
    def symbol(self) -> str:
        """The symbol of the bars (so symbol filters and partitions apply to signals too)."""
        return self.bars.symbol


class PhaseOutput(Message, frozen=True, tag=True, kw_only=True):
    """What a workflow phase produced, stored for later phases to read."""

    workflow_id: str
    phase: str
    outputs: dict[str, Any]
