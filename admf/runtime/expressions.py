"""A small safe expression language for workflow conditions and templates.

Workflow ``when:`` and ``repeat.while`` conditions and ``repeat.modify``
values are evaluated here. The text is tokenized and parsed by this module
(a regular-expression tokenizer and a recursive-descent parser that climbs
the binary operators' precedence levels); nothing is ever handed to
``eval``, ``exec``, ``compile`` or :mod:`ast`. An expression can read values
from a context mapping, compute with them and call five whitelisted
functions; it cannot reach attributes, call methods, import, assign or loop.

Grammar (lowest precedence first)::

    expression := or_expr
    or_expr    := and_expr (("or" | "||") and_expr)*
    and_expr   := not_expr (("and" | "&&") not_expr)*
    not_expr   := ("not" | "!") not_expr | comparison
    comparison := sum (compare_op sum)*          # chained: 0 < x < 1
    compare_op := "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in"
    sum        := term (("+" | "-") term)*
    term       := unary (("*" | "/" | "//" | "%") unary)*
    unary      := ("-" | "+") unary | postfix
    postfix    := primary ("[" expression "]" | "." NAME)*
    primary    := NUMBER | STRING | "true" | "false" | "null"
                | FUNCTION "(" [expression ("," expression)*] ")"
                | NAME ("." NAME)*
                | "(" expression ")"

- NUMBER: ``12``, ``1.5``, ``.5``, ``1e-3``. STRING: single or double
  quotes; escapes ``\\\\ \\' \\" \\n \\t \\r``. ``True``, ``False`` and
  ``None`` are accepted for ``true``, ``false`` and ``null``.
- NAME: ASCII letters, digits and ``_``, not starting with ``_`` (so no
  private or dunder name can even be written). A dotted name
  ``explore.metrics.sharpe_ratio`` is looked up in the context: mapping
  keys, and the declared fields of msgspec Structs, dataclasses and named
  tuples. A context key may itself hold dots (``"risk.stop_loss"``); the
  longest such key wins. ``a[0]`` indexes a list or string, ``a["k"]`` a
  mapping or a field.
- FUNCTION: ``abs``, ``len``, ``min``, ``max``, ``round``; calling anything
  else is a syntax error.
- ``and``/``or`` short-circuit and return an operand, as in Python
  (``false and missing.name`` is ``false``); ``!``, ``&&`` and ``||`` are
  spellings of ``not``, ``and`` and ``or`` with their precedence.
- Arithmetic is on numbers only (no string or list concatenation or
  repetition, no exponentiation). A float result that is not finite although
  its operands were (overflow) is an error; a NaN from the context
  propagates as in IEEE arithmetic.

Templates (:func:`render_template`): each ``{expression}`` in a string is
evaluated. A string that is one placeholder gives the value itself
(``"{explore.best_params}"`` -> a mapping); a string of number placeholders,
number literals, arithmetic operators and parentheses is computed
(``"{risk.stop_loss} * 1.5"`` -> ``0.03``); any other string gets each value
written plainly (``"data/{symbol}.csv"``).

Limits: an expression is at most :data:`MAX_LENGTH` characters and nests
(parentheses, brackets, call arguments, unary operators) at most
:data:`MAX_DEPTH` levels; a computed int has at most 10,000 bits. So no text
can hang, exhaust memory or the Python stack: every problem, in the text or
while evaluating it, is a :class:`~admf.errors.ConfigError` naming the
column, with a caret line.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import msgspec

from ..errors import ConfigError

__all__ = ("MAX_LENGTH", "MAX_DEPTH", "FUNCTIONS", "Expression", "parse", "evaluate",
           "render_template")

MAX_LENGTH = 1000
"""The longest expression (or template) text accepted, in characters."""

MAX_DEPTH = 50
"""The deepest nesting of parentheses, brackets, call arguments and unary operators."""

_TOKEN = re.compile(r"""
      (?P<space>\s+)
    | (?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>\*\*|//|==|!=|<=|>=|&&|\|\||[-+*/%<>!()\[\],.])
""", re.VERBOSE | re.ASCII | re.DOTALL)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False,
              "None": None}
_KEYWORDS = {"and", "or", "not", "in", *_CONSTANTS}
_LEVELS = {"or": 0, "and": 1, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "in": 3,
           "not in": 3, "+": 4, "-": 4, "*": 5, "/": 5, "//": 5, "%": 5}
"""Binding power of the binary operators; prefix ``not`` sits at level 2."""
_NOT_LEVEL = 2
_CHAIN_KINDS = ("logic", "logic", "", "compare", "arith", "arith")
_BINARY = {**{op: op for op in _LEVELS if op != "not in"}, "||": "or", "&&": "and"}
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


class _Fault(Exception):
    """A problem at a position of the text; becomes a ConfigError at the API."""

    def __init__(self, pos: int, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.pos, self.message, self.hint = pos, message, hint


def _config_error(text: str, fault: _Fault) -> ConfigError:
    start = max(0, min(fault.pos - 40, len(text) - 80))
    shown = "".join(c if c.isprintable() else " " for c in text[start:start + 80])
    lead = "..." if start else ""
    hint = f"; {fault.hint}" if fault.hint else ""
    caret = " " * (len(lead) + fault.pos - start) + "^"
    return ConfigError(f"{fault.message} at column {fault.pos + 1}{hint}\n"
                       f"  {lead}{shown}\n  {caret}")


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


# ---------------------------------------------------------------- syntax tree
# Every node records the position of its text, for errors. Operator chains are
# one node each and evaluated in a loop, so a long ``1 + 1 + ...`` stays flat.

class _Node:
    __slots__ = ()

    def compute(self, ctx: Mapping[str, Any]) -> Any:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True, slots=True)
class _Const(_Node):
    pos: int
    value: Any

    def compute(self, ctx: Mapping[str, Any]) -> Any:
        return self.value


@dataclasses.dataclass(frozen=True, slots=True)
class _Name(_Node):
    pos: int
    path: tuple[str, ...]

    def compute(self, ctx: Mapping[str, Any]) -> Any:
        name = ".".join(self.path)
        for cut in range(len(self.path), 0, -1):  # the longest context key that matches
            if ".".join(self.path[:cut]) in ctx:
                break
        else:
            raise _Fault(self.pos, f"unknown name {name!r}",
                         _did_you_mean(self.path[0], ctx) or
                         f"known names: {', '.join(sorted(map(str, ctx))[:12]) or 'none'}")
        value = ctx[".".join(self.path[:cut])]
        for i in range(cut, len(self.path)):
            try:
                value = _member(value, self.path[i], repr(".".join(self.path[:i])), self.pos)
            except _Fault as fault:
                raise _Fault(self.pos, f"unknown name {name!r}: {fault.message}",
                             fault.hint) from None
        return value


@dataclasses.dataclass(frozen=True, slots=True)
class _Lookup(_Node):
    """``base[key]...`` / ``base.name...``; a step is (position, key, source text of
    what it indexes)."""

    pos: int
    base: _Node
    steps: tuple[tuple[int, _Node, str], ...]

    def compute(self, ctx: Mapping[str, Any]) -> Any:
        value = self.base.compute(ctx)
        for pos, key, label in self.steps:
            value = _member(value, key.compute(ctx), repr(label), pos)
        return value


@dataclasses.dataclass(frozen=True, slots=True)
class _Call(_Node):
    pos: int
    name: str
    args: tuple[_Node, ...]

    def compute(self, ctx: Mapping[str, Any]) -> Any:
        return FUNCTIONS[self.name][2](self.pos, *(arg.compute(ctx) for arg in self.args))


@dataclasses.dataclass(frozen=True, slots=True)
class _Unary(_Node):
    pos: int
    op: str
    operand: _Node

    def compute(self, ctx: Mapping[str, Any]) -> Any:
        value = self.operand.compute(ctx)
        if self.op == "not":
            return not _truth(value, self.pos)
        number = _number(value)
        if number is None:
            raise _Fault(self.pos, f"unary '{self.op}' needs a number, not {_kind(value)}")
        return -number if self.op == "-" else number


@dataclasses.dataclass(frozen=True, slots=True)
class _Chain(_Node):
    """``first op node op node ...`` of one kind: arith, compare or logic."""

    kind: str
    first: _Node
    rest: tuple[tuple[str, int, _Node], ...]

    def compute(self, ctx: Mapping[str, Any]) -> Any:
        left = self.first.compute(ctx)
        for op, pos, node in self.rest:
            if self.kind == "logic":  # short-circuit: and stops at false, or at true
                if _truth(left, pos) == (op == "or"):
                    return left
                left = node.compute(ctx)
            elif self.kind == "compare":
                right = node.compute(ctx)
                if not _compare(op, left, right, pos):
                    return False
                left = right
            else:
                left = _arith(op, left, node.compute(ctx), pos)
        return True if self.kind == "compare" else left


# ---------------------------------------------------------------- parser

def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    """``(kind, value, position)`` tokens ending with ``("end", None, len)``."""
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] in "'\"":
                raise _Fault(pos, "unterminated string")
            raise _Fault(pos, f"unexpected character {text[pos]!r}")
        kind, raw = match.lastgroup or "", match.group()
        if kind == "num":
            tokens.append((kind, _number_literal(raw, pos), pos))
        elif kind == "str":
            tokens.append((kind, _string_literal(raw, pos), pos))
        elif kind == "name" and raw.startswith("_"):
            raise _Fault(pos, f"names may not start with '_': {raw!r}")
        elif kind != "space":
            tokens.append((kind, raw, pos))
        pos = match.end()
    tokens.append(("end", None, len(text)))
    return tokens


def _number_literal(raw: str, pos: int) -> int | float:
    if not any(c in raw for c in ".eE"):
        return int(raw)
    value = float(raw)
    if not math.isfinite(value):
        raise _Fault(pos, f"number {raw} is too large")
    return value


def _string_literal(raw: str, pos: int) -> str:
    out, i = [], 1
    while i < len(raw) - 1:
        if raw[i] == "\\":
            if raw[i + 1] not in _ESCAPES:
                raise _Fault(pos + i, f"unknown escape '\\{raw[i + 1]}'",
                             "use \\\\ \\' \\\" \\n \\t or \\r")
            out.append(_ESCAPES[raw[i + 1]])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.i, self.depth = text, _tokenize(text), 0, 0
        self.names: set[str] = set()

    @property
    def token(self) -> tuple[str, Any, int]:
        return self.tokens[self.i]

    def accept(self, *values: str) -> int | None:
        """Consume an operator or keyword among ``values``; its position, or None."""
        kind, value, pos = self.token
        if kind in ("op", "name") and value in values:
            self.i += 1
            return pos
        return None

    def expect(self, value: str) -> None:
        if self.accept(value) is None:
            self.unexpected(f"expected '{value}'")

    def unexpected(self, hint: str = "") -> NoReturn:
        kind, value, pos = self.token
        what = {"end": "end of expression", "op": f"'{value}'", "num": f"number {value!r}",
                "str": f"string {value!r}", "name": f"name {value!r}"}[kind]
        if value == "**":
            hint = "exponentiation is not supported"
        raise _Fault(pos, f"unexpected {what}", hint)

    def nested(self, parse: Callable[[], _Node], pos: int) -> _Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Fault(pos, f"expression nests deeper than {MAX_DEPTH} levels")
        node = parse()
        self.depth -= 1
        return node

    def parse(self) -> _Node:
        node = self.expr()
        if self.token[0] != "end":
            self.unexpected("expected an operator" if self.token[0] != "op" else "")
        return node

    def binary_op(self) -> tuple[str, int] | None:
        """The binary operator at the current token, spelled canonically, and
        how many tokens it takes; None when there is none."""
        kind, value, _ = self.token
        if kind == "name" and value == "not" and self.tokens[self.i + 1][:2] == ("name", "in"):
            return "not in", 2
        if kind in ("op", "name") and value in _BINARY:
            return _BINARY[value], 1
        return None

    def expr(self, lowest: int = 0) -> _Node:
        """Precedence climbing over the binary operators of level >= ``lowest``;
        each run of operators of one level becomes one flat _Chain."""
        if lowest <= _NOT_LEVEL and (pos := self.accept("not", "!")) is not None:
            left = _Unary(pos, "not", self.nested(lambda: self.expr(_NOT_LEVEL), pos))
        else:
            left = self.unary()
        while (found := self.binary_op()) is not None and _LEVELS[found[0]] >= lowest:
            level, rest = _LEVELS[found[0]], []
            while (found := self.binary_op()) is not None and _LEVELS[found[0]] == level:
                pos, self.i = self.token[2], self.i + found[1]
                rest.append((found[0], pos, self.expr(level + 1)))
            left = _Chain(_CHAIN_KINDS[level], left, tuple(rest))
        return left

    def unary(self) -> _Node:
        if (pos := self.accept("-", "+")) is not None:
            return _Unary(pos, self.tokens[self.i - 1][1], self.nested(self.unary, pos))
        return self.postfix()

    def postfix(self) -> _Node:
        start = self.token[2]
        base = self.primary()
        steps: list[tuple[int, _Node, str]] = []
        while True:
            pos = self.token[2]
            label = self.text[start:pos].strip()
            if self.accept("[") is not None:
                steps.append((pos, self.nested(self.expr, pos), label))
                self.expect("]")
            elif self.accept(".") is not None:
                steps.append((pos, _Const(pos, self.name()), label))
            elif self.token[1] == "(" and self.token[0] == "op":
                raise _Fault(pos, "only functions can be called",
                             f"functions: {', '.join(sorted(FUNCTIONS))}")
            else:
                break
        return _Lookup(start, base, tuple(steps)) if steps else base

    def name(self) -> str:
        kind, value, _ = self.token
        if kind != "name":
            self.unexpected("expected a name")
        self.i += 1
        return str(value)

    def primary(self) -> _Node:
        kind, value, pos = self.token
        if kind in ("num", "str"):
            self.i += 1
            return _Const(pos, value)
        if self.accept("(") is not None:
            node = self.nested(self.expr, pos)
            self.expect(")")
            return node
        if kind != "name" or value in _KEYWORDS - _CONSTANTS.keys():
            self.unexpected()
        self.i += 1
        if value in _CONSTANTS:
            return _Const(pos, _CONSTANTS[value])
        if self.token[1] == "(" and self.token[0] == "op":
            return self.call(pos, value)
        path = [value]
        while self.accept(".") is not None:
            path.append(self.name())
        self.names.add(".".join(path))
        return _Name(pos, tuple(path))

    def call(self, pos: int, name: str) -> _Node:
        if name not in FUNCTIONS:
            raise _Fault(pos, f"unknown function {name!r}",
                         f"functions: {', '.join(sorted(FUNCTIONS))}")
        self.expect("(")
        args: list[_Node] = []
        while self.accept(")") is None:
            if args:
                self.expect(",")
            args.append(self.nested(self.expr, pos))
        fewest, most, _ = FUNCTIONS[name]
        if not fewest <= len(args) <= most:
            count = f"{fewest}" if fewest == most else f"{fewest} to {most}"
            raise _Fault(pos, f"{name}() takes {count} argument(s), got {len(args)}")
        return _Call(pos, name, tuple(args))


# ---------------------------------------------------------------- API

class Expression:
    """A parsed expression: evaluate it against contexts, list its names."""

    __slots__ = ("text", "_root", "_names")

    def __init__(self, text: str, root: _Node, names: frozenset[str]) -> None:
        self.text, self._root, self._names = text, root, names

    @property
    def names(self) -> frozenset[str]:
        """The dotted names the expression reads (function names excluded),
        whether or not a given evaluation reaches them."""
        return self._names

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The value of the expression with names looked up in ``context``.

        Raises ConfigError for an unknown name (suggesting close ones), an
        operation on the wrong types, a division by zero or an overflow."""
        try:
            return self._root.compute(context)
        except _Fault as fault:
            raise _config_error(self.text, fault) from None
        except RecursionError:
            raise ConfigError(f"expression {self.text[:80]!r} nests too deeply") from None

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def parse(text: str) -> Expression:
    """Parse ``text``; raises ConfigError naming the column of a syntax error."""
    if not isinstance(text, str):
        raise ConfigError(f"an expression must be a string, not {_kind(text)}")
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    return _compile(text)


def _compile(text: str) -> Expression:
    try:
        parser = _Parser(text)
        return Expression(text, parser.parse(), frozenset(parser.names))
    except _Fault as fault:
        raise _config_error(text, fault) from None
    except RecursionError:
        raise ConfigError(f"expression {text[:80]!r} nests too deeply") from None


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """``parse(text).evaluate(context)``."""
    return parse(text).evaluate(context)


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ARITHMETIC_TOKENS = {"+", "-", "*", "/", "//", "%", "(", ")"}


def render_template(text: Any, context: Mapping[str, Any]) -> Any:
    """Fill the ``{expression}`` placeholders of ``text`` from ``context``.

    - ``"{explore.best_params}"`` (one placeholder, nothing else): the value
      itself, with its type (here a mapping).
    - ``"{risk.stop_loss} * 1.5"``: when every placeholder is a number and
      the rest is numbers, arithmetic operators and parentheses, the computed
      number (``0.03`` for a stop loss of ``0.02``).
    - otherwise the text with each placeholder replaced by its value written
      plainly (``0.02``, ``true``, ``null``; a mapping or list is an error).

    A text without placeholders, or a value that is not a string, is returned
    unchanged. Raises ConfigError for a placeholder that does not evaluate."""
    if not isinstance(text, str):
        return text
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"template is {len(text)} characters long; the limit is {MAX_LENGTH}")
    pieces = _PLACEHOLDER.split(text)
    literals, inners = pieces[0::2], pieces[1::2]
    if not inners:
        return text
    values = []
    for inner in inners:
        try:
            values.append(evaluate(inner, context))
        except ConfigError as error:
            raise ConfigError(f"in template {text!r}: {error}") from None
    if len(inners) == 1 and literals == ["", ""]:
        return values[0]
    if _is_arithmetic(literals, values):
        joined = "".join(lit + f"({inner})" for lit, inner in zip(literals, inners)) + literals[-1]
        try:  # the added parentheses may take the text past MAX_LENGTH
            return _compile(joined).evaluate(context)
        except ConfigError as error:
            raise ConfigError(f"in template {text!r}: {error}") from None
    return "".join(lit + _plain(text, inner, value)
                   for lit, inner, value in zip(literals, inners, values)) + literals[-1]


def _is_arithmetic(literals: list[str], values: list[Any]) -> bool:
    if any(_number(value) is None for value in values):
        return False
    skeleton = " 0 ".join(literals)
    try:
        tokens = _tokenize(skeleton)[:-1]
        _Parser(skeleton).parse()
    except (_Fault, RecursionError):
        return False
    ops = [value for kind, value, _ in tokens if kind == "op"]
    return bool(ops) and all(op in _ARITHMETIC_TOKENS for op in ops) and all(
        kind in ("num", "op") for kind, _, _ in tokens)


def _plain(text: str, inner: str, value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, (Mapping, *_COLLECTIONS)) or _fields(value) is not None:
        raise ConfigError(f"in template {text!r}: '{{{inner}}}' is {_kind(value)} "
                          f"and cannot be part of a longer string")
    number = _number(value)
    return str(value if number is None else number)
