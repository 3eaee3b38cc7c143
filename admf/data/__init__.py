"""Market data in and out: streaming CSV/Parquet readers, synthetic bars, writers.

Everything here is synchronous and streams: a reader yields
:class:`~admf.messages.BarBatch` es of a fixed size with memory bounded by
that size, whatever the length of the file. The data container wraps these
functions; they are also usable on their own::

    from admf.data import iter_bars, synthetic_bars, write_csv

    write_csv("spy.csv", synthetic_bars(symbol="SPY", bars=10_000, seed=7))
    for batch in iter_bars("spy.csv", symbol="SPY", start="2020-01-02", end="2020-01-03"):
        ...
"""

from .readers import detect_format as detect_format
from .readers import iter_bars as iter_bars
from .synthetic import symbol_seed as symbol_seed
from .synthetic import synthetic_bars as synthetic_bars
from .timeparse import format_ns as format_ns
from .timeparse import parse_duration as parse_duration
from .timeparse import parse_time as parse_time
from .writers import write_csv as write_csv
from .writers import write_parquet as write_parquet

__all__ = (
    "detect_format",
    "format_ns",
    "iter_bars",
    "parse_duration",
    "parse_time",
    "symbol_seed",
    "synthetic_bars",
    "write_csv",
    "write_parquet",
)
