"""Which of a file's (or frame's) columns are the bar columns.

Matching is case-insensitive. The timestamp may be called ``timestamp``,
``datetime``, ``date`` or ``time``, or be an *unnamed first column* (the
empty header pandas writes for an unnamed index, or ``Unnamed: 0`` after a
round trip through ``read_csv``): that is how backtesting.py's GOOG, EURUSD
and BTCUSD CSVs look. ``volume`` is optional (absent means NaN volume).
``Adj Close`` (``adj close``, ``adj_close``, ``adjclose``) is looked for only
when ``data.adjust: ohlc`` asks for it. An explicit ``mapping`` (``data.columns``)
names the file's column for any key and wins over the rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..errors import DataError

__all__ = ("COLUMNS", "KEYS", "TIMESTAMP_ALIASES", "UNNAMED", "resolve_columns")

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
KEYS = (*COLUMNS, "adj_close")
"""Every key ``data.columns`` may map."""
# Used, in this order of preference, only when there is no "timestamp" column.
TIMESTAMP_ALIASES = ("datetime", "date", "time")
_ADJ_ALIASES = ("adj close", "adj_close", "adjclose", "adjusted close", "adjusted_close")
UNNAMED = "(unnamed)"
"""What messages call a column with an empty header."""
_UNNAMED = re.compile(r"(unnamed: 0|index|__index_level_0__|\(unnamed\))?")


def resolve_columns(
    found: Sequence[str],
    location: str,
    *,
    mapping: Mapping[str, str] | None = None,
    adjust: bool = False,
) -> tuple[str | None, ...]:
    """The names of the bar columns in ``found``: timestamp, open, high, low,
    close, volume (``None`` when there is no volume), and with ``adjust`` a
    seventh, the adjusted close.

    Extra columns are ignored. Raises :class:`DataError` naming what is
    missing and what was found, two columns that both match one key, or a
    mapping to a column that is not there (both names).
    """
    mapping = dict(mapping or {})
    for key, name in mapping.items():
        if name not in found:
            raise DataError(
                f"{location}: data.columns maps {key!r} to column {name!r}, which is not there; found {list(found)}"
            )
    mapped = set(mapping.values())
    by_key: dict[str, list[str]] = {}
    for name in found:
        if name not in mapped:
            by_key.setdefault(name.strip().lower(), []).append(name)
    for key, name in mapping.items():
        by_key[key] = [name]
    if "timestamp" not in by_key:
        by_key.update(_timestamp_guess(found, by_key, location))
    if adjust and "adj_close" not in by_key:
        for alias in _ADJ_ALIASES:
            if alias in by_key:
                by_key["adj_close"] = by_key[alias]
                break
    wanted = KEYS if adjust else COLUMNS
    missing = [key for key in wanted if key not in by_key and key != "volume"]
    if missing:
        what = "" if not adjust else "; data.adjust: ohlc needs an 'Adj Close' column"
        raise DataError(
            f"{location}: missing columns {missing}; found {list(found)} "
            f"(expected {', '.join(COLUMNS)}, any case, volume optional; the timestamp may be called "
            f"{', '.join(TIMESTAMP_ALIASES)} or be an unnamed first column; or map names with data.columns{what})"
        )
    for key in wanted:
        if len(by_key.get(key, ())) > 1:
            raise DataError(f"{location}: columns {by_key[key]} all match {key!r}; keep one or map it with data.columns")
    return tuple(by_key[key][0] if key in by_key else None for key in wanted)


def _timestamp_guess(found: Sequence[str], by_key: dict[str, list[str]], location: str) -> dict[str, list[str]]:
    aliases = [alias for alias in TIMESTAMP_ALIASES if alias in by_key]
    if len(aliases) > 1:
        both = " and ".join(repr(by_key[a][0]) for a in aliases)
        raise DataError(
            f"{location}: columns {both} could both be the timestamp; "
            "rename one to 'timestamp' or set data.columns: {timestamp: ...}"
        )
    if aliases:
        return {"timestamp": by_key[aliases[0]]}
    if found and _UNNAMED.fullmatch(found[0].strip().lower()):
        return {"timestamp": [found[0]]}
    return {}
