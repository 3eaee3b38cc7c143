"""Seeded synthetic bars: a geometric random walk with consistent OHLCV.

The series is generated in fixed internal blocks of ``BLOCK_ROWS`` bars, each
from its own random stream derived from ``(seed, symbol, block number)``, and
then cut into batches. So the bars depend only on ``seed``, ``symbol`` and the
other parameters: never on ``batch_rows``, and the first N bars are the same
whatever the total. Memory is bounded by one block plus one batch.

Per bar ``i`` (with ``z`` standard normal draws):

- ``close[i] = open[i] * exp(drift + volatility * z0)``, ``open[i] = close[i-1]``,
  ``open[0] = start_price``;
- ``high = max(open, close) * exp(volatility * |z1| / 2)``,
  ``low = min(open, close) * exp(-volatility * |z2| / 2)``;
- ``volume = floor(1000 * exp(z3 / 2)) + 1`` (a positive whole number);
- timestamps every ``timeframe`` from ``start``, around the clock.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator

import numpy as np

from ..errors import ConfigError
from ..messages import BarBatch
from ._batching import Columns, rechunk
from .timeparse import TimeLike, parse_duration, parse_time

__all__ = ("synthetic_bars", "symbol_seed", "BLOCK_ROWS")

BLOCK_ROWS = 65_536
_INT64_MAX = np.iinfo(np.int64).max


def symbol_seed(seed: int, symbol: str) -> np.random.SeedSequence:
    """The root seed sequence of ``symbol`` under ``seed``: stable across processes and platforms.

    The symbol enters through a BLAKE2b digest (not :func:`hash`, which is
    salted per process).
    """
    digest = hashlib.blake2b(symbol.encode("utf-8"), digest_size=16).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.SeedSequence([int(seed), *words])


def synthetic_bars(
    *,
    symbol: str,
    bars: int,
    seed: int,
    start_price: float = 100.0,
    volatility: float = 0.01,
    drift: float = 0.0,
    start: TimeLike = "2020-01-01",
    timeframe: str = "1m",
    batch_rows: int = 65_536,
) -> Iterator[BarBatch]:
    """Stream ``bars`` seeded random-walk bars of ``symbol``, ``batch_rows`` per batch.

    ``volatility`` is the standard deviation and ``drift`` the mean of the
    per-bar log return. Same arguments (except ``batch_rows``) ⇒ same bars;
    a different symbol or seed ⇒ an independent series. Raises
    :class:`~admf.errors.ConfigError` for invalid arguments.
    """
    first = parse_time(start)
    step = parse_duration(timeframe)
    _check(bars=bars, seed=seed, start_price=start_price, volatility=volatility, drift=drift, batch_rows=batch_rows)
    if first + (bars - 1) * step > _INT64_MAX:
        raise ConfigError(f"{bars} bars of {timeframe} from {start} run past the year 2262")
    blocks = _blocks(symbol_seed(seed, symbol), bars, first, step, start_price, volatility, drift)
    return rechunk(blocks, symbol=symbol, rows=batch_rows)


def _check(*, bars: int, seed: int, start_price: float, volatility: float, drift: float, batch_rows: int) -> None:
    rules = (
        ("bars", bars, _whole(bars) and bars >= 1, "a whole number >= 1"),
        ("seed", seed, _whole(seed) and seed >= 0, "a whole number >= 0"),
        ("start_price", start_price, _finite(start_price) and start_price > 0, "a positive number"),
        ("volatility", volatility, _finite(volatility) and volatility >= 0, "a number >= 0"),
        ("drift", drift, _finite(drift), "a finite number"),
        ("batch_rows", batch_rows, _whole(batch_rows) and batch_rows >= 1, "a whole number >= 1"),
    )
    for name, value, ok, expected in rules:
        if not ok:
            raise ConfigError(f"synthetic data: {name} must be {expected}, got {value!r}")


def _whole(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and math.isfinite(value)


def _blocks(
    root: np.random.SeedSequence, bars: int, first: int, step: int, price: float, volatility: float, drift: float
) -> Iterator[Columns]:
    for block, offset in enumerate(range(0, bars, BLOCK_ROWS)):
        rows = min(BLOCK_ROWS, bars - offset)
        stream = np.random.SeedSequence(root.entropy, spawn_key=(block,))
        # One row of four draws per bar, so a bar's draws never depend on the block length.
        z = np.random.Generator(np.random.PCG64(stream)).standard_normal((rows, 4))
        columns = _bars(z, price, volatility, drift)
        price = float(columns[3][-1])
        ts = first + (offset + np.arange(rows, dtype=np.int64)) * step
        yield (ts, *columns)


def _bars(z: np.ndarray, price: float, volatility: float, drift: float) -> tuple[np.ndarray, ...]:
    close = price * np.exp(np.cumsum(drift + volatility * z[:, 0]))
    open_ = np.empty_like(close)
    open_[0] = price
    open_[1:] = close[:-1]
    high = np.maximum(open_, close) * np.exp(0.5 * volatility * np.abs(z[:, 1]))
    low = np.minimum(open_, close) * np.exp(-0.5 * volatility * np.abs(z[:, 2]))
    volume = np.floor(1_000.0 * np.exp(0.5 * z[:, 3])) + 1.0
    return open_, high, low, close, volume
