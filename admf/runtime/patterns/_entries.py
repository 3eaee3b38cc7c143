"""Reading a topology pattern: YAML with the line of every entry and no
duplicate keys, and each ``containers``/``routes`` entry checked and parsed
into an :class:`_Entry`; :data:`ROUTE_KINDS` lists the route kinds and their
options."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec
import yaml

from ...errors import ConfigError
from ..yaml_limits import compose
from ._lookup import _WHEN, _hint

_COMMON = ("from", "to", "capacity", "feedback", "name")
ROUTE_KINDS: dict[str, tuple[str, ...]] = {
    "pipe": _COMMON,
    "broadcast": _COMMON,
    "filter": (*_COMMON, "symbols", "predicate"),
    "partition": (*_COMMON, "key", "assign"),
    "merge": (*_COMMON, "key"),
    "connect": (*_COMMON, "key"),
}
"""Route kinds a pattern may use, with the options each accepts."""

_TOP_KEYS = ("name", "description", "containers", "routes")
_CONTAINER_KEYS = ("name", "type", "foreach", "when", "args")
_VARIABLE = re.compile(r"[A-Za-z_]\w*")


class _Entry(msgspec.Struct, frozen=True, kw_only=True):
    section: str
    """``"containers"`` or ``"routes"``."""
    index: int
    line: int | None
    foreach: dict[str, Any]
    when: Any
    name: str = ""
    type: str = ""
    args: dict[str, Any] = {}
    kind: str = ""
    body: dict[str, Any] = {}


def _refuse_unknown(entry: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> None:
    for key in entry:
        if key not in allowed:
            raise ConfigError(f"unknown key {key!r} in {what}{_hint(str(key), allowed)} "
                              f"(allowed: {', '.join(allowed)})")


def _common(entry: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    foreach = entry.get("foreach") or {}
    if not isinstance(foreach, Mapping):
        raise ConfigError(f"foreach must map loop variables to lists, got {foreach!r}")
    for variable in foreach:
        if not isinstance(variable, str) or not _VARIABLE.fullmatch(variable):
            raise ConfigError(f"foreach variable {variable!r} is not an identifier")
    when = entry.get("when", True)
    if isinstance(when, str) and not _WHEN.fullmatch(when.strip()):
        raise ConfigError(f"when must be a dotted name, 'not <name>', a boolean or a "
                          f"from_config/from_context lookup, got {when!r}")
    if not isinstance(when, str | bool | Mapping):
        raise ConfigError(f"when must be a name or a boolean, got {when!r}")
    return dict(foreach), when


def _parse_container(entry: Mapping[str, Any], index: int, line: int | None) -> _Entry:
    _refuse_unknown(entry, _CONTAINER_KEYS, "a container entry")
    for key in ("name", "type"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigError(f"a container entry needs a {key!r} string, got {entry.get(key)!r}")
    args = entry.get("args") or {}
    if not isinstance(args, Mapping):
        raise ConfigError(f"args must be a mapping, got {args!r}")
    if "name" in args:
        raise ConfigError("args may not set 'name'; the entry's name is passed to the factory")
    foreach, when = _common(entry)
    return _Entry(section="containers", index=index, line=line, foreach=foreach, when=when,
                  name=entry["name"], type=entry["type"], args=dict(args))


def _parse_route(entry: Mapping[str, Any], index: int, line: int | None) -> _Entry:
    kinds = [key for key in entry if key in ROUTE_KINDS]
    _refuse_unknown(entry, (*ROUTE_KINDS, "foreach", "when"), "a route entry")
    if len(kinds) != 1:
        given = " and ".join(repr(k) for k in kinds) if kinds else "none"
        raise ConfigError(f"a route entry takes exactly one kind of {', '.join(ROUTE_KINDS)} "
                          f"(given: {given})")
    kind = kinds[0]
    body = entry[kind]
    if not isinstance(body, Mapping):
        raise ConfigError(f"{kind} must map to {{from: ..., to: ...}}, got {body!r}")
    _refuse_unknown(body, ROUTE_KINDS[kind], f"a {kind} route")
    for end in ("from", "to"):
        if end not in body:
            raise ConfigError(f"a {kind} route needs {end!r}")
    foreach, when = _common(entry)
    return _Entry(section="routes", index=index, line=line, foreach=foreach, when=when,
                  kind=kind, body=dict(body))


def _read_yaml(text: str, source: str) -> tuple[Any, dict[tuple[str, int], int]]:
    """The document and the line of each containers[i] / routes[i] item."""
    loader = yaml.SafeLoader(text)
    try:
        node = compose(loader, text, source)  # depth and aliases bounded
        _refuse_duplicates(node, source)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError(f"{where}: malformed YAML: {getattr(exc, 'problem', exc)}") from exc
    finally:
        loader.dispose()
    lines: dict[tuple[str, int], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(value, yaml.SequenceNode):
                for i, item in enumerate(value.value):
                    lines[(key.value, i)] = item.start_mark.line + 1
    return data, lines


def _refuse_duplicates(node: yaml.Node | None, source: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    line = key.start_mark.line + 1
                    raise ConfigError(f"{source}:{line}: duplicate key {key.value!r}")
                seen.add(key.value)
            _refuse_duplicates(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_duplicates(item, source)
