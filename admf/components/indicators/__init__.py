"""Technical indicators computed incrementally, one batch of bars at a time.

Every indicator keeps the state it needs between batches (the tail of the
previous batch for rolling windows, the last value of a recursion), so feeding
a series in batches of any size gives the same values as feeding it whole, to
floating-point rounding (well inside 1e-12 relative). Work is vectorised per
batch: rolling windows run over *carried tail + batch*, and the exponential
recursions (EMA, Wilder smoothing) run in C through :func:`scipy.signal.lfilter`
with their filter state carried in ``zi``. Batches longer than ``CHUNK`` rows
are processed ``CHUNK`` rows at a time, which bounds the rounding of per-batch
cumulative sums whatever the batch size.

Outputs are float64 arrays aligned with the batch rows; rows before an
indicator's warm-up is complete are NaN. ``Indicator.warmup`` is the number of
leading NaN rows of the whole series (for several outputs, of the slowest one).
Inputs are expected finite (the data layer rejects NaN): a NaN fed to a
recursive indicator stays in its state until :meth:`Indicator.reset`.
"""

from __future__ import annotations

from ._base import CHUNK as CHUNK
from ._base import SOURCES as SOURCES
from ._base import Bars as Bars
from ._base import Indicator as Indicator
from ._base import MultiOutputIndicator as MultiOutputIndicator
from ._base import SingleOutputIndicator as SingleOutputIndicator
from ._build import build as build
from ._moving import EMA as EMA
from ._moving import MACD as MACD
from ._moving import ROC as ROC
from ._moving import SMA as SMA
from ._moving import WMA as WMA
from ._moving import BollingerBands as BollingerBands
from ._moving import StdDev as StdDev
from ._moving import ZScore as ZScore
from ._range import ATR as ATR
from ._range import RSI as RSI
from ._range import Donchian as Donchian
from ._range import Stochastic as Stochastic
from ._timeframe import OnTimeframe as OnTimeframe

__all__ = (
    "CHUNK",
    "SOURCES",
    "Bars",
    "Indicator",
    "SingleOutputIndicator",
    "MultiOutputIndicator",
    "SMA",
    "EMA",
    "WMA",
    "RSI",
    "ATR",
    "BollingerBands",
    "MACD",
    "Stochastic",
    "Donchian",
    "StdDev",
    "ROC",
    "ZScore",
    "OnTimeframe",
    "build",
)

# The public names keep this package as their home, as before it was split:
# registry origins (``admf list``), reprs and pickles name ``admf.components.indicators``.
for _public in (globals()[name] for name in __all__):
    if getattr(_public, "__module__", "").startswith(f"{__name__}."):
        _public.__module__ = __name__
del _public
