"""Names and templates in topology patterns, looked up in a build context.

A :class:`_Scope` is the loop variables of one expansion over the build
context. It looks up dotted names (``data.symbols``, ``point.factor``: into
mappings, list indexes and attributes), renders ``"{name.path}"`` templates
(alone: the value with its type; inside a longer string: its text; ``{{`` and
``}}`` are literal braces), resolves ``{from_config: a.b, default: x}`` and
``{from_context: a.b, default: x}`` mappings, decides ``when`` conditions
(a name, ``not <name>``, a boolean or a lookup) and gives the values of a
``foreach`` loop; :func:`_bindings` walks every combination of the loops.
Errors are ConfigErrors that suggest the closest name when one was misspelled.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import msgspec

from ...errors import ConfigError

_LOOKUPS = ("from_config", "from_context")
_NAME = r"[A-Za-z_][\w-]*(?:\.[\w-]+)*"
_WHOLE = re.compile(r"\{(" + _NAME + r")\}")
_TEMPLATE = re.compile(r"\{\{|\}\}|\{(" + _NAME + r")\}")
_DOTTED = re.compile(_NAME)
_WHEN = re.compile(r"(not\s+)?\{?(" + _NAME + r")\}?")


def _hint(word: str, known: Any) -> str:
    close = difflib.get_close_matches(word, [str(k) for k in known], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Missing(Exception):
    """A dotted lookup that found nothing; the text says where it stopped."""


def _names_of(node: Any) -> list[str]:
    if isinstance(node, Mapping):
        return [str(k) for k in node]
    if isinstance(node, msgspec.Struct):
        return list(node.__struct_fields__)
    return [a for a in dir(node) if not a.startswith("_")]


def _child(node: Any, part: str) -> tuple[bool, Any]:
    if part.startswith("_"):
        return False, None
    if isinstance(node, Mapping):
        return (part in node), node.get(part)
    if isinstance(node, list | tuple):
        index = int(part) if part.isdigit() else len(node)
        return (index < len(node)), (node[index] if index < len(node) else None)
    if isinstance(node, str | int | float | bool) or node is None:
        return False, None
    return hasattr(node, part), getattr(node, part, None)


def _descend(node: Any, parts: list[str], label: str) -> Any:
    for part in parts:
        found, child = _child(node, part)
        if not found:
            known = _names_of(node)
            listing = f" (has: {', '.join(known)})" if known and len(known) <= 12 else ""
            raise _Missing(f"{label!r} has no {part!r}{_hint(part, known) or listing}")
        node, label = child, f"{label}.{part}"
    return node


class _Scope:
    """Loop variables over the build context: what names and templates see."""

    def __init__(self, context: Mapping[str, Any], variables: Mapping[str, Any]) -> None:
        self.context = context
        self.variables = variables

    def lookup(self, dotted: str) -> Any:
        head, *rest = dotted.split(".")
        if head in self.variables:
            root = self.variables[head]
        elif head in self.context:
            root = self.context[head]
        else:
            known = sorted({*self.variables, *self.context})
            raise ConfigError(f"unknown name {head!r}{_hint(head, known)} "
                              f"(known: {', '.join(known) or 'none'})")
        try:
            return _descend(root, rest, head)
        except _Missing as exc:
            raise ConfigError(f"unknown name {dotted!r}: {exc}") from None

    def render(self, value: Any, path: str = "", *,
               escape: Callable[[str], str] | None = None) -> Any:
        """``value`` with every template and lookup mapping resolved; errors
        name ``path``, where the value sits in the entry. ``escape`` is applied
        to each value substituted into a longer string (container names made
        from symbols: ``source_{symbol}`` with ``BRK.B``)."""
        if isinstance(value, Mapping) and not any(k in value for k in _LOOKUPS):
            return {key: self.render(item, f"{path}.{key}" if path else str(key), escape=escape)
                    for key, item in value.items()}
        if isinstance(value, list):
            return [self.render(item, f"{path}[{i}]", escape=escape)
                    for i, item in enumerate(value)]
        try:
            if isinstance(value, str):
                return self._text(value, escape)
            return self._lookup_mapping(value) if isinstance(value, Mapping) else value
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}" if path else str(exc)) from None

    def _text(self, value: str, escape: Callable[[str], str] | None = None) -> Any:
        whole = _WHOLE.fullmatch(value)
        if whole:
            return self.lookup(whole.group(1))

        def one(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return match.group(0)[0]
            found = self.lookup(match.group(1))
            if isinstance(found, Mapping | list | tuple):
                raise ConfigError(f"'{{{match.group(1)}}}' is a {type(found).__name__} "
                                  f"and cannot be part of the string {value!r}")
            return str(found) if escape is None else escape(str(found))

        return _TEMPLATE.sub(one, value)

    def _lookup_mapping(self, value: Mapping[str, Any]) -> Any:
        kind = next(k for k in _LOOKUPS if k in value)
        for key in value:
            if key not in (kind, "default"):
                raise ConfigError(f"unknown key {key!r} in a {kind} lookup"
                                  f"{_hint(key, (kind, 'default'))}; it takes {kind} and default")
        path = self.render(value[kind])
        if not isinstance(path, str) or not _DOTTED.fullmatch(path):
            raise ConfigError(f"{kind} must be a dotted key such as 'routes.capacity', got {path!r}")
        try:
            if kind == "from_context":
                head, *rest = path.split(".")
                if head not in self.context:
                    raise _Missing(f"the build context has no {head!r}"
                                   f"{_hint(head, self.context)}")
                return _descend(self.context[head], rest, head)
            if "config" not in self.context:
                raise _Missing("the build context has no 'config'")
            return _descend(self.context["config"], path.split("."), "config")
        except _Missing as exc:
            if "default" in value:
                return self.render(value["default"])
            raise ConfigError(f"{kind} {path!r}: {exc}, and no default is given") from None

    def truthy(self, condition: Any) -> bool:
        if isinstance(condition, str):
            match = _WHEN.fullmatch(condition.strip())
            assert match is not None  # checked when the pattern was parsed
            value = bool(self.lookup(match.group(2)))
            return not value if match.group(1) else value
        return bool(self.render(condition))

    def values(self, variable: str, expression: Any) -> list[Any]:
        try:
            found = (self.lookup(expression) if isinstance(expression, str) and "{" not in expression
                     else self.render(expression))
        except ConfigError as exc:
            raise ConfigError(f"foreach {variable}: {exc}") from None
        if not isinstance(found, list | tuple | range):
            raise ConfigError(f"foreach {variable}: {expression!r} is a {type(found).__name__}, "
                              f"expected a list")
        return list(found)


def _bindings(context: Mapping[str, Any], foreach: Mapping[str, Any],
              bound: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every combination of the loop variables, the first one slowest."""
    if not foreach:
        yield bound
        return
    variable, expression = next(iter(foreach.items()))
    rest = {k: v for k, v in foreach.items() if k != variable}
    for value in _Scope(context, bound).values(variable, expression):
        yield from _bindings(context, rest, {**bound, variable: value})
