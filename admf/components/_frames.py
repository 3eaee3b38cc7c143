"""The portfolio engine's frames: per-symbol state carried between frames,
one symbol's arrays within a frame, carrying values over a frame's rows,
the frame's fill columns, and pausing the collector around the loop."""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..messages import BarBatch

__all__ = ("SymbolState", "FrameSymbol", "Fills", "carried", "carried_close", "collector_paused",
           "forward_fill", "rolling_volatility", "union_times")


@dataclass(slots=True)
class SymbolState:
    """Per-symbol state carried from frame to frame."""

    rank: int
    target: float = 0.0  # last target seen (forward-filled)
    pending: float | None = None  # order decided on a previous frame's last bar
    last_close: float = math.nan
    last_time: int = 0
    last_volume: float = math.nan
    bars: int = 0  # bars seen before this frame (global bar index offset)
    stop_epoch: int = 0
    peak: float = math.nan  # trailing extreme since entry
    log_tail: np.ndarray = field(default_factory=lambda: np.empty(0))
    last_vol: float = math.nan  # volatility at the last bar seen


@dataclass(slots=True, eq=False)  # identity: comparing arrays field by field is costly
class FrameSymbol:
    """One symbol's arrays within a frame."""

    state: SymbolState
    name: str
    bars: BarBatch
    union_index: np.ndarray  # bar i of this symbol is row union_index[i] of the frame
    fill_bars: list[int]  # local bars with a signal fill, ascending
    volatility: np.ndarray | None


def rolling_volatility(st: SymbolState, bars: BarBatch, lookback: int,
                   periods_per_year: float) -> np.ndarray:
    """Annualised volatility of log returns over ``lookback``, at each bar
    (the tail of the previous batch is carried in ``st``)."""
    logs = np.log(bars.close)
    series = np.concatenate([st.log_tail, logs])
    st.log_tail = series[-(lookback + 1):]
    returns = np.diff(series)
    out = np.full(len(bars), np.nan)
    if len(returns) >= lookback:
        windows = np.lib.stride_tricks.sliding_window_view(returns, lookback)
        vol = windows.std(axis=1, ddof=1) * math.sqrt(periods_per_year)
        k = min(len(out), len(vol))
        out[len(out) - k:] = vol[len(vol) - k:]
    return out

def carried_close(fs: FrameSymbol, rows: int) -> np.ndarray:
    """This symbol's close at every frame row, carried forward."""
    if len(fs.union_index) == rows:
        return fs.bars.close
    out = np.full(rows, fs.state.last_close)
    marks = np.zeros(rows, dtype=bool)
    marks[fs.union_index] = True
    idx = np.where(marks, np.arange(rows), -1)
    np.maximum.accumulate(idx, out=idx)
    have = idx >= 0
    local = np.cumsum(marks) - 1
    out[have] = fs.bars.close[local[have]]
    return out


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one frame's event loop.

    The loop allocates tens of thousands of small tuples (fills, trade rows)
    and no reference cycles; collections triggered by those allocations cost
    ~10% of a backtest. The pause is bounded by the frame and has no await
    inside, so nothing else runs meanwhile; the collector resumes after it."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def carried(values: np.ndarray, at: np.ndarray, rows: int, initial: float) -> np.ndarray:
    """For each of ``rows`` rows, the value recorded by the last entry with
    ``at <= row`` (``at`` ascending), or ``initial`` before the first."""
    if not len(at):
        return np.full(rows, initial)
    last_of_row = np.append(at[1:] != at[:-1], True)
    starts = at[last_of_row]
    lengths = np.diff(np.concatenate(([0], starts, [rows])))
    return np.repeat(np.concatenate(([initial], values[last_of_row])), lengths)


class Fills:
    """The frame's fills as parallel columns: row, symbol rank, the symbol's
    quantity after the fill, cash after the fill."""

    __slots__ = ("rows", "ranks", "quantities", "cash")

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.ranks: list[int] = []
        self.quantities: list[float] = []
        self.cash: list[float] = []

    def add(self, row: int, rank: int, quantity: float, cash: float) -> None:
        self.rows.append(row)
        self.ranks.append(rank)
        self.quantities.append(quantity)
        self.cash.append(cash)


def union_times(stamps: list[np.ndarray]) -> np.ndarray:
    if len(stamps) == 1:
        return stamps[0]
    return np.unique(np.concatenate(stamps))


def forward_fill(values: np.ndarray, carried: float) -> np.ndarray:
    """NaN means "keep": replace each NaN with the last value before it."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    idx = np.where(missing, -1, np.arange(len(values)))
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], carried)
