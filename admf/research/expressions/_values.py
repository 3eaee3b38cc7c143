"""The evaluation rules: the limits, what a value is called in messages,
looking up keys, fields and positions, truth, arithmetic and comparisons,
and the whitelisted :data:`FUNCTIONS`."""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import operator
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from ._tokens import _Fault

MAX_LENGTH = 1000
"""The longest expression (or template) text accepted, in characters."""

MAX_DEPTH = 50
"""The deepest nesting of parentheses, brackets, call arguments and unary operators."""

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge}
_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod}
_COLLECTIONS = (list, tuple, set, frozenset)
_CONTAINERS = (str, Mapping, *_COLLECTIONS)
_MISSING = object()
_MAX_INT_BITS = 10_000  # keeps every computed int printable (CPython refuses > 4300 digits)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, _COLLECTIONS):
        return "a list"
    if isinstance(value, numbers.Integral):
        return "an int"
    if isinstance(value, numbers.Real):
        return "a float"
    return f"a {type(value).__name__}"


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, [c for c in choices if isinstance(c, str)], n=3)
    return f"did you mean {' or '.join(map(repr, close))}?" if close else ""


# ---------------------------------------------------------------- values

def _number(value: Any) -> int | float | None:
    """``value`` as a plain int or float, or None when it is not a number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _fields(value: Any) -> tuple[str, ...] | None:
    """The public declared fields of a Struct, dataclass or named tuple."""
    if isinstance(value, msgspec.Struct):
        names: tuple[str, ...] = type(value).__struct_fields__
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = tuple(f.name for f in dataclasses.fields(value))
    elif isinstance(value, tuple) and isinstance(getattr(type(value), "_fields", None), tuple):
        names = type(value)._fields  # type: ignore[attr-defined]
    else:
        return None
    return tuple(n for n in names if not n.startswith("_"))


def _member(value: Any, key: Any, where: str, pos: int) -> Any:
    """``value[key]`` for a mapping, a field or a list/string position."""
    if isinstance(value, Mapping):
        try:
            found = value[key] if key in value else _MISSING
        except TypeError:
            raise _Fault(pos, f"{_kind(key)} cannot be a key of {where}") from None
        if found is _MISSING:
            raise _Fault(pos, f"{where} has no key {key!r}", _did_you_mean(str(key), value))
        return found
    fields = _fields(value)
    if fields is not None and isinstance(key, str):
        if key not in fields:
            raise _Fault(pos, f"{where} has no field {key!r}", _did_you_mean(key, fields))
        return getattr(value, key)
    if isinstance(value, list | tuple | str) and not isinstance(key, str):
        if isinstance(key, bool) or not isinstance(key, numbers.Integral):
            raise _Fault(pos, f"{where} is {_kind(value)}, indexed by whole numbers, not {key!r}")
        if not -len(value) <= key < len(value):
            raise _Fault(pos, f"index {key!r} is out of range for {where} of length {len(value)}")
        return value[int(key)]
    raise _Fault(pos, f"{where} is {_kind(value)} and has no {key!r}")


def _truth(value: Any, pos: int) -> bool:
    try:
        return bool(value)
    except (TypeError, ValueError):
        raise _Fault(pos, f"{_kind(value)} is neither true nor false") from None


def _arith(op: str, left: Any, right: Any, pos: int) -> int | float:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        raise _Fault(pos, f"'{op}' needs two numbers, not {_kind(left)} and {_kind(right)}")
    try:
        result = _ARITH[op](a, b)
    except ZeroDivisionError:
        raise _Fault(pos, "division by zero") from None
    except OverflowError:
        raise _Fault(pos, "number too large for a float") from None
    if isinstance(result, float) and not math.isfinite(result) and _finite(a) and _finite(b):
        raise _Fault(pos, f"'{op}' overflowed (the result is not a finite number)")
    if isinstance(result, int) and result.bit_length() > _MAX_INT_BITS:
        raise _Fault(pos, f"'{op}' overflowed (the result has more than {_MAX_INT_BITS} bits)")
    return result


def _finite(value: int | float) -> bool:
    return isinstance(value, int) or math.isfinite(value)


def _compare(op: str, left: Any, right: Any, pos: int) -> bool:
    if op in ("in", "not in"):
        if isinstance(right, str) and not isinstance(left, str):
            raise _Fault(pos, f"'{op}' a string needs a string on the left, not {_kind(left)}")
        if not isinstance(right, _CONTAINERS):
            raise _Fault(pos, f"'{op}' needs a list, string or mapping on the right, "
                              f"not {_kind(right)}")
        try:
            return (left in right) == (op == "in")
        except TypeError:
            raise _Fault(pos, f"{_kind(left)} cannot be looked up in {_kind(right)}") from None
    try:
        return bool(_COMPARE[op](left, right))
    except (TypeError, ValueError):
        raise _Fault(pos, f"cannot compare {_kind(left)} and {_kind(right)} with '{op}'") from None


# ---------------------------------------------------------------- functions

def _abs(pos: int, value: Any) -> int | float:
    number = _number(value)
    if number is None:
        raise _Fault(pos, f"abs() needs a number, not {_kind(value)}")
    return abs(number)


def _len(pos: int, value: Any) -> int:
    if not isinstance(value, _CONTAINERS):
        raise _Fault(pos, f"len() needs a list, string or mapping, not {_kind(value)}")
    return len(value)


def _round(pos: int, value: Any, digits: Any = None) -> int | float:
    number = _number(value)
    if number is None:
        raise _Fault(pos, f"round() needs a number, not {_kind(value)}")
    if digits is not None and (not isinstance(digits, int) or isinstance(digits, bool)
                               or abs(digits) > 100):
        raise _Fault(pos, "round() takes a whole number of digits between -100 and 100")
    try:
        return round(number, digits)
    except (ValueError, OverflowError):
        raise _Fault(pos, f"cannot round {number!r}") from None


def _extreme(name: str, pick: Callable[..., Any]) -> Callable[..., Any]:
    def call(pos: int, *args: Any) -> Any:
        items = args[0] if len(args) == 1 else args
        if not isinstance(items, _COLLECTIONS):
            raise _Fault(pos, f"{name}() of one value needs a list, not {_kind(items)}")
        try:
            return pick(items)
        except (TypeError, ValueError):
            raise _Fault(pos, f"{name}() needs a non-empty list of comparable values") from None
    return call


FUNCTIONS: dict[str, tuple[int, int, Callable[..., Any]]] = {
    "abs": (1, 1, _abs), "len": (1, 1, _len), "round": (1, 2, _round),
    "min": (1, MAX_LENGTH, _extreme("min", min)), "max": (1, MAX_LENGTH, _extreme("max", max))}
"""The callable functions: name -> (fewest arguments, most arguments, implementation)."""
