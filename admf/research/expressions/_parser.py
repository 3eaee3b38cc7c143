"""The grammar: a recursive-descent parser that climbs the binary operators'
precedence levels and builds the syntax tree of :mod:`._nodes`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from ._nodes import _Call, _Chain, _Const, _Lookup, _Name, _Node, _Unary
from ._tokens import _Fault, _tokenize
from ._values import FUNCTIONS, MAX_DEPTH

_CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False,
              "None": None}
_KEYWORDS = {"and", "or", "not", "in", *_CONSTANTS}
_LEVELS = {"or": 0, "and": 1, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3, "in": 3,
           "not in": 3, "+": 4, "-": 4, "*": 5, "/": 5, "//": 5, "%": 5}
"""Binding power of the binary operators; prefix ``not`` sits at level 2."""
_NOT_LEVEL = 2
_CHAIN_KINDS = ("logic", "logic", "", "compare", "arith", "arith")
_BINARY = {**{op: op for op in _LEVELS if op != "not in"}, "||": "or", "&&": "and"}


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
