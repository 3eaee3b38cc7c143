"""Load a study or workflow from YAML, a dict, or a config object.

The steps, in order: read the YAML (keeping each key's line); merge the
defaults under the user's values (:mod:`.layers`); apply ``--set``
overrides; resolve ``{template}`` references; validate into the frozen
structs. Every failure is a :class:`ConfigError` naming the file, the line
(when known), the key path and what was expected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
import yaml

from ...errors import ConfigError
from ...runtime.yaml_limits import compose
from ._checks import Invalid, Key, dotted
from ._report import Origins, explain, prefix
from .layers import (
    deep_merge,
    parse_override,
    plain,
    resolve_templates,
    set_path,
    study_defaults,
)
from .schema import StudyConfig
from .workflow import WorkflowConfig

__all__ = ("load_config", "load_study", "parse_config")

_WORKFLOW_KEYS = ("name", "defaults", "phases", "inputs", "outputs")
_PHASE_ONLY = ("depends_on", "when", "else", "repeat", "outputs")


def load_config(source: str | os.PathLike[str] | Mapping[str, Any] | msgspec.Struct, *,
                overrides: Sequence[str] = ()) -> StudyConfig | WorkflowConfig:
    """A validated study, or a workflow if the config has ``phases``.

    ``source`` is a YAML file path, a mapping (as YAML would give it; dates
    may be ``date`` objects), or a config object (to apply ``overrides`` to
    it). ``overrides`` are ``"key.path=value"`` strings, the value read as
    YAML (``"risk.stop_loss=0.03"``, ``"data.symbols=[SPY,QQQ]"``); on a
    workflow a study key sets it in every phase. A study's ``name`` defaults
    to the file's stem.

    Raises :class:`ConfigError`."""
    if isinstance(source, msgspec.Struct | Mapping):
        return _build(plain(source), None, {}, overrides, default_name=None)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"{source}: cannot read the config file: {reason}") from exc
    return parse_config(text, filename=str(source), overrides=overrides)


def load_study(source: str | os.PathLike[str] | Mapping[str, Any] | msgspec.Struct, *,
               overrides: Sequence[str] = ()) -> StudyConfig:
    """:func:`load_config` for callers that need a study (signal generation
    and replay, one :class:`~admf.Runtime`): a workflow is refused with a
    :class:`ConfigError` naming the source."""
    loaded = load_config(source, overrides=overrides)
    if not isinstance(loaded, StudyConfig):
        where = source if isinstance(source, (str, os.PathLike)) else f"workflow {loaded.name!r}"
        raise ConfigError(f"{where}: expected a study (data, strategies, sequence), "
                          f"got a workflow with phases; run it with admf.run")
    return loaded


def parse_config(text: str, *, filename: str | None = None,
                 overrides: Sequence[str] = ()) -> StudyConfig | WorkflowConfig:
    """Like :func:`load_config`, from YAML text; ``filename`` names it in errors."""
    data, lines = _read_yaml(text, filename or "<string>")
    default_name = Path(filename).stem if filename else None
    return _build(data, filename, lines, overrides, default_name=default_name)


def _read_yaml(text: str, file: str) -> tuple[Any, dict[Key, int]]:
    loader = yaml.SafeLoader(text)
    try:
        node = compose(loader, text, file)  # depth and aliases bounded before anything walks it
        lines: dict[Key, int] = {}
        if node is not None:
            _index(loader, node, (), lines, file)
        return (loader.construct_document(node) if node is not None else None), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        context = f" ({exc.context})" if exc.context else ""
        raise ConfigError(f"{where}: malformed YAML: {exc.problem}{context}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: malformed YAML: {exc}") from exc
    finally:
        loader.dispose()


def _index(loader: yaml.SafeLoader, node: yaml.Node, path: Key, lines: dict[Key, int],
           file: str) -> None:
    """Record the line of every key and list item; refuse duplicate keys
    (YAML would silently keep the last one)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
                seen.setdefault(key, line)
            except TypeError:  # an unhashable key; construction reports it
                continue
            if first is not None:
                raise ConfigError(f"{file}:{line}: duplicate key {key!r} at "
                                  f"{dotted(path) or 'the top level'} (first given at line {first})")
            lines[(*path, key)] = line
            _index(loader, value_node, (*path, key), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _index(loader, item, (*path, i), lines, file)


def _build(data: Any, file: str | None, lines: dict[Key, int], overrides: Sequence[str], *,
           default_name: str | None) -> StudyConfig | WorkflowConfig:
    if not isinstance(data, dict):
        got = "nothing (the file is empty)" if data is None else f"a {type(data).__name__}"
        raise ConfigError(prefix(f"{file}:1" if file else "",
                                 f"expected a mapping of config keys (data, strategies, ...) "
                                 f"at the top level, got {got}"))
    origins = Origins(file, lines)
    parsed = [(text, *_parse(text, origins)) for text in overrides]
    try:
        if "phases" in data:
            cls: type = WorkflowConfig
            tree = _workflow_tree(plain(data), parsed, origins)
        else:
            cls = StudyConfig
            tree = _study_tree(plain(data), parsed, origins)
    except Invalid as exc:
        raise ConfigError(explain(exc, {}, StudyConfig, origins)) from exc
    if "name" not in tree and default_name:
        tree = {"name": default_name, **tree}
    try:
        return msgspec.convert(tree, cls)
    except msgspec.ValidationError as exc:
        raise ConfigError(explain(exc, tree, cls, origins)) from exc


def _parse(text: str, origins: Origins) -> tuple[Key, Any]:
    try:
        return parse_override(text)
    except ConfigError as exc:
        raise ConfigError(f"{origins.file}: {exc}" if origins.file else str(exc)) from exc


def _apply(tree: dict[str, Any], path: Key, value: Any, text: str, origins: Origins,
           at: Key = ()) -> None:
    set_path(tree, path, value, label=origins.set_label(text))
    origins.override((*at, *path), text)


def _study_tree(data: dict[str, Any], parsed: list[tuple[str, Key, Any]],
                origins: Origins) -> dict[str, Any]:
    tree = deep_merge(study_defaults(), data)
    for text, path, value in parsed:
        _apply(tree, path, value, text, origins)
    return resolve_templates(tree)


def _workflow_tree(data: dict[str, Any], parsed: list[tuple[str, Key, Any]],
                   origins: Origins) -> dict[str, Any]:
    """Each phase merged over the study defaults and the file's ``defaults``."""
    for text, path, value in parsed:
        if path[0] in _WORKFLOW_KEYS:
            _apply(data, path, value, text, origins)
    defaults = data.get("defaults") or {}
    phases = data.get("phases")
    if not isinstance(defaults, dict):
        raise Invalid("", ("defaults",), f"expected a mapping of study keys, got {defaults!r}")
    if not isinstance(phases, list):
        raise Invalid("", ("phases",), f"expected a list of phases, got {phases!r}")
    base = deep_merge(study_defaults(), defaults)
    merged = []
    for i, phase in enumerate(phases):
        if not isinstance(phase, dict):
            raise Invalid("", ("phases", i), f"expected a phase mapping (name, ...), got {phase!r}")
        tree = deep_merge(base, phase)
        for text, path, value in parsed:
            if path[0] not in _WORKFLOW_KEYS:
                _apply(tree, path, value, text, origins, at=("phases", i))
        try:
            merged.append(resolve_templates(tree, skip=_PHASE_ONLY))
        except Invalid as exc:
            raise Invalid("", ("phases", i, *exc.key), exc.problem) from None
    return {**data, "defaults": defaults, "phases": merged}
