"""Value checks shared by the config structs.

A check that fails raises :class:`Invalid`: a :class:`ConfigError` (so Python
users constructing structs directly catch the family's error) that is also a
``ValueError`` (so msgspec, while decoding, wraps it with the location and
keeps it as ``__cause__``; the loader then reads ``key`` and ``problem`` back
to name the full key path and the line).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from msgspec.structs import force_setattr

from ...errors import ConfigError

Key = tuple[str | int, ...]



class Invalid(ConfigError, ValueError):
    """Raised by a config struct's ``__post_init__`` when a value is out of range,
    a key is not used by the chosen variant, or two values disagree."""

    def __init__(self, section: str, key: Key, problem: str) -> None:
        self.section = section
        self.key = key
        self.problem = problem
        where = dotted((section, *key) if section else key)
        super().__init__(f"{where}: {problem}" if where else problem)

    def __reduce__(self):  # keep picklable across process pools
        return (type(self), (self.section, self.key, self.problem))


def dotted(path: Iterable[str | int]) -> str:
    """``("strategies", 0, "params")`` -> ``"strategies[0].params"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def suggest(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def fail(obj: Any, key: str | int | Key, problem: str) -> Invalid:
    """An :class:`Invalid` for ``key`` (relative to struct ``obj``)."""
    path = key if isinstance(key, tuple) else (key,)
    return Invalid(getattr(type(obj), "_section", ""), path, problem)


def as_tuple(obj: Any, name: str) -> tuple[Any, ...]:
    """Make a sequence field a tuple (Python users may pass lists)."""
    value = getattr(obj, name)
    if isinstance(value, str):
        raise fail(obj, name, f"expected a list, got the string {value!r}; write [{value}]")
    if not isinstance(value, tuple):
        value = tuple(value)
        force_setattr(obj, name, value)
    return value


def iso_text(obj: Any, name: str) -> Any:
    """A date or datetime field value as its ISO string (Python users may pass
    ``date`` objects; YAML's bare dates are converted by the loader)."""
    value = getattr(obj, name)
    if isinstance(value, date | datetime):
        value = value.isoformat()
        force_setattr(obj, name, value)
    return value


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_range(obj: Any, key: str, value: float | None, *, low: float | None = None,
                high: float | None = None, low_open: bool = True, high_open: bool = True) -> None:
    """``value`` (if given) lies in the interval; the message names it."""
    if value is None:
        return
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if below or above:
        if high is None:
            expected = f"{'>' if low_open else '>='} {low:g}"
        else:
            lb, hb = ("(" if low_open else "["), (")" if high_open else "]")
            expected = f"in {lb}{low:g}, {high:g}{hb}"
        raise fail(obj, key, f"expected a number {expected}, got {value!r}")


def check_choice(obj: Any, key: str, value: str | None, choices: Sequence[str]) -> None:
    if value is not None and value not in choices:
        raise fail(obj, key, f"expected one of {', '.join(choices)}; got {value!r}"
                   + suggest(str(value), choices))


def check_name(obj: Any, key: str | int | Key, value: Any, what: str = "a non-empty string") -> None:
    if not isinstance(value, str) or not value.strip():
        raise fail(obj, key, f"expected {what}, got {value!r}")


def check_path(obj: Any, key: str | int | Key, value: str, what: str = "path") -> None:
    """A path the operating system can name: at most ``PATH_MAX`` bytes, each
    part at most ``NAME_MAX`` (checked before anything looks the path up, where
    a longer one raises an OSError instead of saying which key is wrong)."""
    path_max, name_max = _path_limits()
    size = len(os.fsencode(value))
    shown = value if len(value) <= 60 else f"{value[:40]}...{value[-12:]}"
    if size > path_max:
        raise fail(obj, key, f"the {what} {shown!r} is {size} bytes long; this system allows "
                             f"paths of at most {path_max}")
    for part in value.replace("\\", "/").split("/"):
        if len(os.fsencode(part)) > name_max:
            part_shown = part if len(part) <= 60 else f"{part[:40]}...{part[-12:]}"
            raise fail(obj, key, f"the {what} {shown!r} has a part of {len(os.fsencode(part))} "
                                 f"bytes ({part_shown!r}); this system allows file names of at "
                                 f"most {name_max}")


def _path_limits() -> tuple[int, int]:
    try:
        return os.pathconf("/", "PC_PATH_MAX"), os.pathconf("/", "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # Windows has no pathconf
        return 4096, 255


def check_component(obj: Any, key: str, spec: Any, examples: str) -> None:
    """A component spec is a mapping with a string ``type`` plus its parameters
    (checked against the component's own parameters when it is built)."""
    if not isinstance(spec, dict):
        raise fail(obj, key, f"expected a mapping like {{type: {examples.split(' | ')[0]}, ...}}, "
                             f"got {spec!r}")
    kind = spec.get("type")
    if not isinstance(kind, str) or not kind.strip():
        got = "no 'type'" if "type" not in spec else f"type {kind!r}"
        raise fail(obj, (key, "type"), f"expected a component type ({examples}, "
                                       f"or 'package.module:Name'), got {got}")


def parse_duration(text: str) -> timedelta:
    """``"90d"`` -> ``timedelta(days=90)``; every form
    :func:`admf.data.timeparse.parse_duration` reads (``5m``, ``1H``, ``D``).

    Raises ``ValueError`` with the expected form."""
    from ...data.timeparse import parse_duration as duration_ns

    if not isinstance(text, str):
        raise ValueError(f"expected a duration like '90d' (a whole number and a unit), got {text!r}")
    try:
        ns = duration_ns(text)
    except ConfigError as exc:
        raise ValueError(f"expected a duration like '90d': {exc}") from None
    return timedelta(microseconds=ns / 1_000)


def parse_instant(text: str) -> datetime:
    """An ISO date or datetime string as an aware datetime (naive means UTC).

    Raises ``ValueError`` with the expected form."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"expected an ISO date or datetime like 2024-01-02 or "
                         f"2024-01-02T09:30:00, got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def check_bars_or_duration(obj: Any, key: str, value: int | str | None) -> None:
    """A window length: a positive number of bars or a duration string."""
    if value is None:
        return
    if isinstance(value, str):
        try:
            parse_duration(value)
        except ValueError as exc:
            raise fail(obj, key, f"expected a number of bars or a duration: {exc}") from None
    elif not is_number(value) or value <= 0:
        raise fail(obj, key, f"expected a positive number of bars or a duration like '90d', "
                             f"got {value!r}")
