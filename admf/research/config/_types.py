"""Walk a config struct's type by key path: which keys are valid where, which
values a literal allows. Used to suggest keys and name expectations."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import msgspec.inspect as mi

from ._checks import Key, dotted, suggest


@lru_cache(maxsize=None)
def info(cls: type) -> mi.Type:
    return mi.type_info(cls)


def _members(t: mi.Type) -> tuple[mi.Type, ...]:
    if isinstance(t, mi.UnionType):
        return tuple(m for m in t.types if not isinstance(m, mi.NoneType))
    return (t,)


def child(t: mi.Type | None, part: str | int) -> mi.Type | None:
    """The type one step down ``t`` at ``part``, or None if there is no such key."""
    if t is None:
        return None
    for member in _members(t):
        if isinstance(member, mi.AnyType):
            return member
        if isinstance(member, mi.StructType):
            for field in member.fields:
                if field.encode_name == part:
                    return field.type
        elif isinstance(member, mi.ListType | mi.VarTupleType) and isinstance(part, int):
            return member.item_type
        elif isinstance(member, mi.DictType):
            return member.value_type
    return None


def type_at(cls: type, path: Key) -> mi.Type | None:
    t: mi.Type | None = info(cls)
    for part in path:
        t = child(t, part)
    return t


def struct_keys(t: mi.Type | None) -> list[str] | None:
    """The keys a struct type accepts, or None if ``t`` is not a struct."""
    for member in _members(t) if t is not None else ():
        if isinstance(member, mi.StructType):
            return [f.encode_name for f in member.fields]
    return None


def literal_values(t: mi.Type | None) -> tuple[Any, ...] | None:
    for member in _members(t) if t is not None else ():
        if isinstance(member, mi.LiteralType):
            return member.values
    return None


def item_type(t: mi.Type | None) -> mi.Type | None:
    """The value type of a mapping type (for ``[...]`` in msgspec paths)."""
    for member in _members(t) if t is not None else ():
        if isinstance(member, mi.DictType):
            return member.value_type
    return None


def key_path_problem(cls: type, path: str) -> str | None:
    """Why ``"risk.stop_loss"``-style ``path`` is not a key of ``cls`` (list
    items by index, e.g. ``strategies.0.params.fast``), or None if it is."""
    t: mi.Type | None = info(cls)
    done: list[str | int] = []
    for raw in path.split("."):
        part: str | int = int(raw) if raw.isdigit() else raw
        if any(isinstance(m, mi.AnyType | mi.DictType) for m in _members(t)):
            return None
        nxt = child(t, part)
        if nxt is None:
            keys = struct_keys(t)
            at = dotted(done) or "the top level"
            if keys is None:
                return f"{path!r}: {at} takes a list index here, not {raw!r}"
            return f"unknown key {raw!r} at {at} in {path!r}" + suggest(raw, keys)
        done.append(part)
        t = nxt
    return None
