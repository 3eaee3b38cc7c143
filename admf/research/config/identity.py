"""A config as plain data, as YAML, and its content hash."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import yaml

__all__ = ("to_dict", "dump_yaml", "config_fingerprint")


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    return value


def to_dict(config: msgspec.Struct) -> dict[str, Any]:
    """The fully merged config as plain dicts, lists and scalars, keys as
    written in YAML (``else``, ``while``)."""
    return _lists(msgspec.to_builtins(config))


def dump_yaml(config: msgspec.Struct) -> str:
    """The fully merged config as YAML (what ``results/<run>/config.yaml``
    holds); loading it back gives an equal config."""
    return yaml.safe_dump(to_dict(config), sort_keys=False, allow_unicode=True,
                          default_flow_style=False)


UNHASHED = ("limits",)
"""Sections that bound what a config may ask for but change no result: left
out of the fingerprint, so raising a limit keeps a run resumable."""


def config_fingerprint(config: msgspec.Struct) -> str:
    """sha256 (hex) of the config's canonical JSON: every struct field and
    mapping key sorted, so the order keys were written in does not matter and
    any changed value does (except in :data:`UNHASHED` sections)."""
    data = msgspec.to_builtins(config, order="sorted")
    if isinstance(data, dict):
        _drop_unhashed(data)
        for phase in data.get("phases") or ():
            if isinstance(phase, dict):
                _drop_unhashed(phase)
    return hashlib.sha256(msgspec.json.encode(data)).hexdigest()


def _drop_unhashed(section: dict[str, Any]) -> None:
    for key in UNHASHED:
        section.pop(key, None)
    defaults = section.get("defaults")
    if isinstance(defaults, dict):
        for key in UNHASHED:
            defaults.pop(key, None)
