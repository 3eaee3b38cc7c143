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
returned), not the portfolio's actual position. Return a new target or
``None`` to keep the current one.

Indicators that depend on parameters: assign ``self.indicators`` (a new
dict) in ``__init__``, or define ``indicators`` as a method of ``self``::

    class Cross(BarStrategy):
        fast = 10
        slow = 30

        def indicators(self):
            return {"fast": ("sma", {"period": self.fast}),
                    "slow": ("sma", {"period": self.slow})}

The class-level dict is read-only (mutating it would change every instance,
every grid point, at once): editing it in place is a ConfigError.

It runs inside the strategy container's batch loop: indicators are still
computed vectorised per batch, and ``on_bar`` is called for each row by a
loop compiled once per strategy, with no await per bar. Load a user strategy
by ``"package.module:ClassName"``; its config ``params`` are passed to its
constructor as keyword arguments.
"""

from __future__ import annotations

import difflib
import keyword
import math
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..runtime.registry import Param, registry
from .indicators import Indicator, build
from .strategies import TARGET_MEANING, DIRECTIONS, BadTargets, RowFailed

__all__ = ("BarStrategy", "PerBarStrategy")

# CPython 3.11's compile() is not safe from threads at once (studies compile
# per-bar loops from worker threads): it fails now and then with "AST
# constructor recursion depth mismatch". One at a time costs microseconds.
_COMPILING = threading.Lock()
_BAR_FIELDS = ("timestamp", "open", "high", "low", "close", "volume")


class BarStrategy:
    """Base class for per-bar strategies (see the module docstring)."""

    indicators: Any = {}
    """``{role: (indicator name, params)}``, or a method returning it (see the
    module docstring)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("indicators")
        if isinstance(spec, Mapping) and not isinstance(spec, _ClassSpecs):
            cls.indicators = _ClassSpecs(spec, cls.__name__)

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

    @classmethod
    def __params__(cls) -> list[Param] | None:
        """The declared parameters with their defaults and types, for ``admf
        list`` (None for a subclass with its own ``__init__``: its signature
        says)."""
        if cls.__init__ is not BarStrategy.__init__:
            return None
        return class_params(cls)

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        raise NotImplementedError


class _ClassSpecs(dict):  # type: ignore[type-arg]
    """A class's indicator specs: shared by every instance, so read-only."""

    def __init__(self, specs: Mapping[str, Any], owner: str) -> None:
        super().__init__(specs)
        self._owner = owner

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise ConfigError(f"{self._owner}.indicators is the class's spec, shared by every instance "
                          "and grid point; to make indicators depend on parameters assign a new "
                          "dict (self.indicators = {...}) in __init__ or define "
                          "indicators(self) as a method")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _refuse  # type: ignore[assignment]


def specs_of(user: BarStrategy) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """The indicator specs of this instance: its own ``indicators`` (set in
    ``__init__``), the result of an ``indicators()`` method, or the class's."""
    spec = user.indicators
    if callable(spec):
        spec = spec()
    name = type(user).__name__
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{name}.indicators must be a mapping of role -> (indicator, params), "
                          f"got {type(spec).__name__}")
    out = {}
    for role, entry in spec.items():
        if not (isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[0], str)
                and isinstance(entry[1], Mapping)):
            raise ConfigError(f"{name}.indicators[{role!r}] must be (indicator name, params "
                              f"mapping), e.g. ('sma', {{'period': 10}}), got {entry!r}")
        out[str(role)] = (entry[0], dict(entry[1]))
    return out


def class_params(cls: type) -> list[Param]:
    """The class-attribute parameters of ``cls`` with their defaults and
    types (annotations where given), for ``admf list``."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        hints.update(vars(klass).get("__annotations__", {}))
    out = []
    for name in parameters_of(cls):
        default, hint = getattr(cls, name), hints.get(name)
        text = hint if isinstance(hint, str) else getattr(hint, "__name__", None)
        out.append(Param(name, text or type(default).__name__, default))
    return out


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
        self._specs = specs_of(user)
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
            f"        try:\n"  # free until it raises; names the failing bar when it does
            f"            new = on_bar(bar, ind, position)\n"
            f"            if new is not None:\n"
            f"                position = clip(new)\n"
            f"        except Exception as exc:\n"
            f"            raise RowFailed(i) from exc\n"
            f"        out[i] = position\n"
            f"    return position\n"
        )
        namespace: dict[str, Any] = {"RowFailed": RowFailed}
        with _COMPILING:
            code = compile(source, f"<per-bar loop of {type(self.user).__name__}>", "exec")
        exec(code, namespace)  # noqa: S102 - generated from validated identifiers only
        self._loop = namespace["loop"]

    def _clip(self, value: float) -> float:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise BadTargets(f"on_bar returned {value!r}; expected a number ({TARGET_MEANING}) "
                             "or None to keep the position") from None
        if math.isinf(value):
            raise BadTargets(f"on_bar returned an infinite target {value} (targets are "
                             f"finite numbers: {TARGET_MEANING})")
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
