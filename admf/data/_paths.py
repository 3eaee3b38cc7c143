"""Finding one symbol's bars: a file, a directory or glob of per-symbol files,
or a Parquet dataset partitioned by symbol.

* A path with ``{symbol}`` is filled in (the data config does that).
* A **directory** of per-symbol files: ``<dir>/<SYMBOL>.csv`` (or ``.csv.gz``,
  ``.parquet``, ``.pq``, ``.arrow``, ``.feather``), the file's stem being the symbol.
* A **glob** (``data/*_1m.csv``, ``data/**/*.parquet``): the match whose stem is
  the symbol, or whose stem *starts* with the symbol followed by ``_``, ``-``
  or ``.`` (``SPY_1m.csv``); exactly one match must fit.
* A directory with ``symbol=<SYMBOL>`` subdirectories is a hive-partitioned
  Parquet **dataset**: it is read as a whole, filtered to the symbol and the
  time window by :mod:`pyarrow.dataset` (see :mod:`._datasets`).
"""

from __future__ import annotations

import glob
from pathlib import Path

from ..errors import DataError

__all__ = ("GLOB_CHARS", "file_name", "is_collection", "is_partitioned", "symbol_file", "stem")

GLOB_CHARS = frozenset("*?[")
_SUFFIXES = (".csv.gz", ".csv", ".parquet", ".pq", ".parq", ".arrow", ".feather", ".ipc")


_FILE_UNSAFE = frozenset('%/\\:*?"<>|')
"""Characters no portable file name holds as they are (``%`` is the escape)."""


def file_name(symbol: str) -> str:
    """``symbol`` as a file name: as it is when it can be one (``BRK.B``,
    ``BF-B``, ``^GSPC``, ``EURUSD=X``), else with each unsafe or control
    character percent-encoded (``BTC/USD`` -> ``BTC%2FUSD``). Different
    symbols never share a file; this is what ``{symbol}`` in ``data.path``
    becomes and the stem a directory of per-symbol files is searched for."""
    if symbol in (".", ".."):
        return "".join(f"%{ord(c):02X}" for c in symbol)
    return "".join(c if c not in _FILE_UNSAFE and c.isprintable()
                   else "".join(f"%{b:02X}" for b in c.encode()) for c in symbol)


def stem(path: Path) -> str:
    """The file name without its data suffix: ``SPY`` for ``SPY.csv.gz``."""
    name = path.name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def is_collection(path: str) -> bool:
    """Whether ``path`` names many files (a glob, or an existing directory)."""
    return bool(GLOB_CHARS & set(path)) or _is_dir(Path(path))


def is_partitioned(path: str | Path) -> bool:
    """Whether ``path`` is a directory holding ``symbol=...`` partitions."""
    path = Path(path)
    return _is_dir(path) and any(child.name.startswith("symbol=") for child in path.iterdir())


def _is_dir(path: Path) -> bool:
    # a path the OS cannot even look at (too long, no permission) is no
    # directory: reading it then fails with a DataError naming the file
    try:
        return path.is_dir()
    except OSError:
        return False


def symbol_file(path: str, symbol: str) -> Path:
    """The one file of ``symbol`` in the directory or glob ``path`` (see the module docstring)."""
    if Path(path).is_dir():
        candidates = sorted(p for p in Path(path).iterdir() if p.is_file() and p.name.lower().endswith(_SUFFIXES))
        where = f"directory {path}"
    else:
        candidates = sorted(Path(p) for p in glob.glob(path, recursive=True) if Path(p).is_file())
        where = f"glob {path!r}"
    symbol = file_name(symbol)
    exact = [p for p in candidates if stem(p) == symbol]
    if not exact:
        exact = [p for p in candidates if any(stem(p).startswith(symbol + sep) for sep in "_-.")]
    if len(exact) == 1:
        return exact[0]
    if not exact and Path(path).is_dir():
        odd = [p for p in Path(path).iterdir() if not p.is_file() and p.name.lower().endswith(_SUFFIXES)
               and stem(p) == symbol]
        if odd:
            raise DataError(f"{odd[0]}: is a directory, expected the bars file of symbol {symbol!r}")
    if not exact:
        shown = [p.name for p in candidates[:10]] + (["..."] if len(candidates) > 10 else [])
        raise DataError(f"{where}: no file for symbol {symbol!r} (expected {symbol}.csv or similar); found {shown}")
    raise DataError(f"{where}: several files could be symbol {symbol!r}: {[p.name for p in exact]}; keep one")
