"""The syntax tree: one node class per construct, each computing its value
from a context with the rules of :mod:`._values`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ._tokens import _Fault
from ._values import (
    FUNCTIONS,
    _arith,
    _compare,
    _did_you_mean,
    _kind,
    _member,
    _number,
    _truth,
)

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
