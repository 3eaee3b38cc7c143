"""The layers a config is built from, as plain data: defaults under the
user's values, ``--set`` overrides, then ``{template}`` references.

Merging (:func:`deep_merge`): mappings merge key by key, lists replace.
Two exceptions keep a variant's keys from leaking into another variant:
a mapping whose ``type`` differs from the one below replaces it whole
(``sizing: {type: fixed_quantity, quantity: 10}`` does not inherit
``percent``), and a ``data`` mapping whose ``source`` differs drops the
keys only the old source uses (``path``, or the synthetic keys). An empty
section (``risk:`` with everything commented out) keeps what is below.

Templates (:func:`resolve_templates`): a string ``"{a.b}"`` whose dotted
name is a key of the config is replaced by that key's value (the value
itself, with its type, when the string is only the reference; its text when
the reference is part of a longer string). Any other ``{...}`` is left
verbatim for a later layer: ``{symbol}`` and ``{timeframe}`` in
``data.path`` are filled per symbol by the data layer, and phase outputs
like ``{explore.best_params}`` by the workflow engine.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import msgspec
import yaml

from ...errors import ConfigError
from ...runtime.yaml_limits import safe_load
from ._checks import Invalid, Key, dotted
from .schema import StudyConfig
from .trading import SYNTHETIC_DEFAULTS, DataConfig

__all__ = ("study_defaults", "deep_merge", "parse_override", "set_path", "resolve_templates",
           "plain")

_SOURCE_ONLY = {"csv": ("path",), "parquet": ("path",), "synthetic": tuple(SYNTHETIC_DEFAULTS)}
_TEMPLATE = re.compile(r"\{([A-Za-z_][\w-]*(?:\.[\w-]+)*)\}")


def _field_defaults(cls: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        if field.default is not msgspec.NODEFAULT:
            value = field.default
        elif field.default_factory is not msgspec.NODEFAULT:
            value = field.default_factory()
        else:
            continue
        if value is not None:
            out[field.encode_name] = plain(msgspec.to_builtins(value))
    return out


def study_defaults() -> dict[str, Any]:
    """Every default of a study as plain data (a fresh copy), except ``name``."""
    out = _field_defaults(StudyConfig)
    out.pop("name", None)
    return {"seed": out.pop("seed"), "data": _field_defaults(DataConfig), **out}


def deep_merge(base: Any, over: Any) -> Any:
    """``over`` merged onto ``base`` (neither is modified; see the module doc)."""
    if isinstance(base, dict) and over is None:
        return copy.deepcopy(base)
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return copy.deepcopy(over)
    if "type" in base and "type" in over and base["type"] != over["type"]:
        return copy.deepcopy(over)
    merged = copy.deepcopy(base)
    old_source = base.get("source")
    if old_source in _SOURCE_ONLY and over.get("source", old_source) != old_source:
        for key in _SOURCE_ONLY[old_source]:
            merged.pop(key, None)
    for key, value in over.items():
        merged[key] = deep_merge(merged[key], value) if key in merged else copy.deepcopy(value)
    return merged


def plain(value: Any) -> Any:
    """Config data as YAML would give it: dicts, lists, scalars; dates and
    datetimes as ISO strings; structs as their dicts."""
    if isinstance(value, msgspec.Struct):
        return plain(msgspec.to_builtins(value))
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def parse_override(text: str) -> tuple[Key, Any]:
    """``"risk.stop_loss=0.03"`` -> ``(("risk", "stop_loss"), 0.03)``; the value
    is read as YAML (``[SPY, QQQ]``, ``{type: none}``, ``null``), and a
    numeric part of the key is a list index (``strategies.0.params.fast``)."""
    key, sep, raw = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(p.strip() for p in parts):
        raise ConfigError(f"--set {text}: expected key.path=value, e.g. risk.stop_loss=0.03")
    try:
        value = safe_load(raw, f"--set {key.strip()}") if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text}: the value is not valid YAML: "
                          f"{getattr(exc, 'problem', exc)}") from None
    path = tuple(int(p) if p.strip().isdigit() else p.strip() for p in parts)
    return _flat_params(path), plain(value)


def _flat_params(path: Key) -> Key:
    """A strategy's params are one flat mapping whose keys may hold dots (an
    ensemble's ``m0.weight``): ``strategies.0.params.m0.weight`` sets the key
    ``m0.weight``, not ``m0`` -> ``weight``."""
    for i in range(2, len(path) - 1):
        if path[i] == "params" and isinstance(path[i - 1], int) and path[i - 2] == "strategies":
            return (*path[:i + 1], ".".join(str(p) for p in path[i + 1:]))
    return path


def set_path(tree: dict[str, Any], path: Key, value: Any, *, label: str) -> None:
    """Set ``tree[path] = value``, creating mappings on the way."""
    node: Any = tree
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise ConfigError(f"{label}: {dotted(path[:i]) or 'the top level'} is a list of "
                                  f"{len(node)} items; {part!r} is not an index of it")
        elif isinstance(node, dict):
            part = str(part)
            if not last and not isinstance(node.get(part), dict | list):
                node[part] = {}
        else:
            raise ConfigError(f"{label}: {dotted(path[:i])} is {node!r}, not a mapping")
        if last:
            node[part] = value
        else:
            node = node[part]


def _lookup(tree: Any, name: str) -> tuple[bool, Any]:
    node = tree
    for raw in name.split("."):
        if isinstance(node, dict) and raw in node:
            node = node[raw]
        elif isinstance(node, list) and raw.isdigit() and int(raw) < len(node):
            node = node[int(raw)]
        else:
            return False, None
    return True, node


def resolve_templates(tree: dict[str, Any], *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """``tree`` with every ``{key.path}`` that names a key of ``tree`` replaced
    (see the module doc); top-level keys in ``skip`` are left untouched.

    Raises :class:`Invalid` (a ConfigError) naming the key whose value holds a
    loop of references or embeds a mapping or list in a string."""

    def text(value: str, trail: tuple[str, ...], where: Key) -> Any:
        whole = _TEMPLATE.fullmatch(value)
        if whole:
            found, target = _lookup(tree, whole.group(1))
            return resolve(target, (*trail, whole.group(1)), where) if found else value

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            found, target = _lookup(tree, name)
            if not found:
                return match.group(0)
            target = resolve(target, (*trail, name), where)
            if isinstance(target, dict | list):
                raise Invalid("", where, f"'{{{name}}}' is a {'mapping' if isinstance(target, dict) else 'list'}"
                                         f" and cannot be part of the string {value!r}")
            return str(target)

        return _TEMPLATE.sub(one, value)

    def resolve(value: Any, trail: tuple[str, ...], where: Key) -> Any:
        if len(trail) != len(set(trail)):
            loop = " -> ".join(f"{{{name}}}" for name in trail)
            raise Invalid("", where, f"templates refer to each other in a loop: {loop}")
        if isinstance(value, str):
            return text(value, trail, where)
        if isinstance(value, dict):
            return {key: resolve(item, trail, (*where, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item, trail, (*where, i)) for i, item in enumerate(value)]
        return value

    return {key: value if key in skip else resolve(value, (), (key,)) for key, value in tree.items()}
