"""The per-bar API, for users who think in bars.

Subclass :class:`BarStrategy`, list the indicators you want, and write
``on_bar``::

    class Cross(BarStrategy):
        indicators = {"fast": ("sma", {"period": 10}), "slow": ("sma", {"period": 30})}

        def on_bar(self, bar, ind, position):
            if ind.fast > ind.slow and position <= 0:
                return 1.0
            if ind.fast < ind.slow and position > 0:
                return 0.0
            return None  # keep

``bar`` has ``timestamp`` (int ns), ``open``, ``high``, ``low``, ``close``,
``volume`` and ``symbol``; ``ind`` has one attribute per indicator role (a
multi-output indicator gives ``role_output``, e.g. ``bands_upper``), NaN
during warm-up; ``position`` is the target this strategy holds (what it last
returned). Return a new target or ``None`` to keep the current one.

It runs inside the strategy container's batch loop: indicators are still
computed vectorised per batch, and ``on_bar`` is called for each row by a
loop compiled once per strategy, with no await per bar. Load a user strategy
by ``"package.module:ClassName"``; its config ``params`` are passed to its
constructor as keyword arguments.
"""

from __future__ import annotations

import difflib
import keyword
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError
from .indicators import Indicator, build
from ..runtime.registry import registry
from .strategies import DIRECTIONS

__all__ = ("BarStrategy", "PerBarStrategy")

_BAR_FIELDS = ("timestamp", "open", "high", "low", "close", "volume")


class BarStrategy:
    """Base class for per-bar strategies (see the module docstring)."""

    indicators: ClassVar[Mapping[str, tuple[str, Mapping[str, Any]]]] = {}

    def __init__(self, **params: Any) -> None:
        """Set each of ``params`` (the config's ``params``). A parameter must be
        declared on the class with its default (``threshold = 0.5``), so a
        misspelt one is an error rather than a silently unused value; a
        subclass with its own ``__init__`` signature declares them there."""
        own_signature = type(self).__init__ is not BarStrategy.__init__
        declared = parameters_of(type(self))
        for name, value in params.items():
            if not own_signature and name not in declared:
                close = difflib.get_close_matches(name, declared, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                known = ", ".join(declared) or "none declared"
                raise ConfigError(f"{type(self).__name__} has no parameter {name!r}{hint} "
                                  f"(parameters: {known}; declare one as a class attribute "
                                  "with its default)")
            setattr(self, name, value)

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        raise NotImplementedError


def parameters_of(cls: type) -> list[str]:
    """The parameters a BarStrategy subclass declares: its public, non-callable
    class attributes other than ``indicators``."""
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        if klass in (object, BarStrategy):
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and name != "indicators" and not callable(value) \
                    and not isinstance(value, (staticmethod, classmethod, property)):
                names[name] = None
    return list(names)


registry.expect("strategy", BarStrategy)  # ... or this


class _Bar:
    __slots__ = ("symbol", *_BAR_FIELDS)


class PerBarStrategy:
    """Adapts a :class:`BarStrategy` to the vectorised strategy interface."""

    name = "per_bar"

    def __init__(self, user: BarStrategy, *, direction: str = "long_only") -> None:
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        self.user = user
        self.direction = direction
        self.state = 0.0
        self._specs = dict(type(user).indicators)
        for role in self._specs:
            if not role.isidentifier() or keyword.iskeyword(role):
                raise ConfigError(f"{type(user).__name__}: indicator role {role!r} "
                                  "must be a Python identifier")
        self._bar = _Bar()
        self._ind: Any = None
        self._loop: Any = None

    def indicators(self) -> dict[str, Indicator]:
        return {role: build(name, params) for role, (name, params) in self._specs.items()}

    def _compile(self, values: Mapping[str, Any]) -> None:
        """Build the row loop for this strategy's indicator columns once."""
        names = []
        for role, value in values.items():
            if isinstance(value, dict):
                names.extend(f"{role}_{output}" for output in value)
            else:
                names.append(role)
        self._ind = type("Indicators", (), {"__slots__": tuple(names)})()
        self._columns = names
        cols = ", ".join(f"c{i}" for i in range(len(names)))
        assign = "".join(f"        ind.{n} = c{i}\n" for i, n in enumerate(names))
        source = (
            f"def loop(on_bar, bar, ind, rows, out, position, clip):\n"
            f"    for i, (timestamp, open_, high, low, close, volume{', ' if names else ''}{cols}) in enumerate(rows):\n"
            f"        bar.timestamp = timestamp; bar.open = open_; bar.high = high\n"
            f"        bar.low = low; bar.close = close; bar.volume = volume\n"
            f"{assign}"
            f"        new = on_bar(bar, ind, position)\n"
            f"        if new is not None:\n"
            f"            position = clip(new)\n"
            f"        out[i] = position\n"
            f"    return position\n"
        )
        namespace: dict[str, Any] = {}
        exec(compile(source, f"<per-bar loop of {type(self.user).__name__}>", "exec"), namespace)  # noqa: S102 - generated from validated identifiers only
        self._loop = namespace["loop"]

    def _clip(self, value: float) -> float:
        value = float(value)
        if self.direction == "long_only":
            return max(value, 0.0)
        if self.direction == "short_only":
            return min(value, 0.0)
        return value

    def targets(self, bars: Any, values: Mapping[str, Any]) -> np.ndarray:
        if self._loop is None:
            self._compile(values)
            self._bar.symbol = getattr(bars, "symbol", "")
        columns = [getattr(bars, f).tolist() for f in _BAR_FIELDS]
        for role, value in values.items():
            if isinstance(value, dict):
                columns.extend(v.tolist() for v in value.values())
            else:
                columns.append(value.tolist())
        out = np.empty(len(bars.close))
        self.state = self._loop(self.user.on_bar, self._bar, self._ind, zip(*columns), out,
                                self.state, self._clip)
        return out
