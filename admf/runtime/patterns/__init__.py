"""Topology patterns: a topology written in YAML, expanded against a context.

A pattern lists containers (made by factories registered under kind
``"container"``) and the routes between them. ``build(context)`` expands it
into a validated :class:`~admf.runtime.topology.Topology`; the *context* is
a mapping holding at least ``config`` (a nested mapping or msgspec Struct)
and whatever lists the caller provides::

    name: fan_in
    description: one source per symbol, scaled, merged into one sink
    containers:
      - name: "source_{symbol}"            # a template
        type: source                       # registry.get("container", "source")
        foreach: {symbol: data.symbols}    # one entry per symbol
        args: {symbol: "{symbol}", count: {from_config: data.bars, default: 10}}
      - name: "scale_{symbol}_{point.id}"
        type: scale
        foreach: {symbol: data.symbols, point: points}   # cartesian, symbol slowest
        args: {factor: "{point.factor}"}
      - name: sink
        type: sink
        when: options.collect              # kept only when truthy ("not x" negates)
    routes:
      - connect: {from: "source_{symbol}.out", to: "scale_{symbol}_*.inp"}
        foreach: {symbol: data.symbols}
      - merge: {from: "scale_*.out", to: sink.inp,
                capacity: {from_config: routes.capacity, default: 64}}
        when: options.collect

Containers: ``name`` and ``type`` (templates), optional ``foreach``, ``when``
and ``args``. The factory is called ``factory(context, name=name, **args)``
and must return a :class:`Container` with that name.

Routes: exactly one kind key (``pipe``, ``broadcast``, ``filter``,
``partition``, ``merge``, ``connect``) mapping to ``from``/``to`` (a
``"container.port"`` template or a list of them) and options: ``capacity``,
``feedback``, ``name``; ``symbols`` or ``predicate`` (``"pkg.mod:fn"``) for
filter; ``key`` (attribute name) and ``assign`` (key -> consumer index or
container name) for partition; ``key`` for merge. A glob (``*``, ``?``,
``[...]``) in the container part expands to every matching container in
build order. ``connect`` is a pipe for one source and one target, a merge
for N sources and one target, a broadcast for one source and N targets
(``key`` applies when it becomes a merge). Routes take ``foreach`` and
``when`` too.

Values: ``"{name.path}"`` alone is the looked-up value with its type; inside
a longer string it is its text (``{{`` and ``}}`` are literal braces). A
name is a loop variable, else a context key; dots go into mappings, list
indexes and attributes. ``{from_config: a.b, default: x}`` reads
``context["config"]``; ``{from_context: a.b, default: x}`` reads the
context; without ``default`` a missing key is an error. A ``foreach`` value
is a dotted name, a template, a literal list or one of those mappings; a
later loop variable may use an earlier one.

Every error names the pattern, its file and line, the entry
(``containers[2]``, ``routes[1]``) and the loop values, and suggests the
closest name when one was misspelled. Containers are cheap and single-use,
so :meth:`Pattern.check` builds them to validate the graph; nothing runs.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import functools
import operator
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ...errors import AdmfError, ConfigError, TopologyError
from ..container import Container, safe_name
from ..registry import Registry, load_object
from ..registry import registry as default_registry
from ..topology import Topology
from ._entries import (
    _TOP_KEYS,
    _Entry,
    _parse_container,
    _parse_route,
    _read_yaml,
    _refuse_unknown,
)
from ._entries import ROUTE_KINDS as ROUTE_KINDS
from ._lookup import _WHEN, _WHOLE, _bindings, _hint, _Scope

__all__ = ("Pattern", "load_pattern", "available_patterns", "ROUTE_KINDS")

_ARITY = {"pipe": (False, False), "filter": (False, False), "broadcast": (False, True),
          "partition": (False, True), "merge": (True, False)}  # (many sources, many targets)
_GLOB = re.compile(r"[*?\[]")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Pattern:
    """A parsed topology pattern; :meth:`build` expands it against a context."""

    def __init__(self, name: str, entries: list[_Entry], *, description: str = "",
                 source: str = "<pattern>") -> None:
        self.name = name
        self.description = description
        self.source = source
        self.containers = [e for e in entries if e.section == "containers"]
        self.routes = [e for e in entries if e.section == "routes"]

    def __repr__(self) -> str:
        return f"<Pattern {self.name!r} from {self.source}>"

    # -- loading ------------------------------------------------------------------

    @classmethod
    def load(cls, source: str | os.PathLike[str] | Mapping[str, Any]) -> Pattern:
        """A pattern from a mapping, a ``.yaml``/``.yml`` path, or YAML text."""
        if isinstance(source, Mapping):
            return cls.from_dict(source)
        if isinstance(source, os.PathLike) or (
                "\n" not in source and source.strip().endswith((".yaml", ".yml"))):
            return cls.from_file(source)
        return cls.from_text(source)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Pattern:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read pattern file {str(path)!r}: {exc.strerror}") from exc
        return cls.from_text(text, source=str(path), default_name=path.stem)

    @classmethod
    def from_text(cls, text: str, *, source: str = "<text>",
                  default_name: str | None = None) -> Pattern:
        data, lines = _read_yaml_once(text, source)
        return cls.from_dict(copy.deepcopy(data), source=source, lines=lines,
                             default_name=default_name)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<dict>",
                  lines: Mapping[tuple[str, int], int] | None = None,
                  default_name: str | None = None) -> Pattern:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: a pattern is a mapping with name, containers and "
                              f"routes, got {type(data).__name__}")
        label = data.get("name", default_name)
        try:
            _refuse_unknown(data, _TOP_KEYS, "a pattern")
            if not isinstance(label, str) or not label:
                raise ConfigError(f"a pattern needs a 'name' string, got {label!r}")
            for section in ("containers", "routes"):
                if not isinstance(data.get(section) or [], list):
                    raise ConfigError(f"{section!r} must be a list")
            if not data.get("containers"):
                raise ConfigError("a pattern needs a non-empty 'containers' list")
        except ConfigError as exc:
            raise ConfigError(f"pattern {label or '?'!r} ({source}): {exc}") from None
        entries: list[_Entry] = []
        for section, parse in (("containers", _parse_container), ("routes", _parse_route)):
            for index, entry in enumerate(data.get(section) or []):
                line = (lines or {}).get((section, index))
                where = _where(label, source, section, index, line, {})
                if not isinstance(entry, Mapping):
                    raise ConfigError(f"{where}: an entry is a mapping, got {entry!r}")
                try:
                    entries.append(parse(entry, index, line))
                except ConfigError as exc:
                    raise ConfigError(f"{where}: {exc}") from None
        return cls(label, entries, description=str(data.get("description") or ""), source=source)

    # -- building -----------------------------------------------------------------

    def build(self, context: Mapping[str, Any], *, registry: Registry | None = None) -> Topology:
        """Make every container, add every route, validate; return the topology.

        Raises ConfigError (bad lookup, unknown type, factory refusal) or
        TopologyError (unknown container or port, glob matching nothing, wrong
        arity, disagreeing types), each naming the pattern and the entry."""
        registry = default_registry if registry is None else registry
        topology = Topology(self.name)
        for entry in self.containers:
            for scope in self._expand(entry, context):
                with self._located(entry, scope):
                    topology.add(_make(entry, scope, registry))
        for entry in self.routes:
            for scope in self._expand(entry, context):
                with self._located(entry, scope):
                    _add_route(topology, entry, scope)
        try:
            topology.validate()
        except TopologyError as exc:
            raise TopologyError(f"pattern {self.name!r} ({self.source}): {exc}") from exc
        return topology

    def check(self, context: Mapping[str, Any], *, registry: Registry | None = None) -> list[str]:
        """Build (containers are cheap and single-use) and validate, running
        nothing; return the container names in run order."""
        return [c.name for c in self.build(context, registry=registry).validate()]

    def _expand(self, entry: _Entry, context: Mapping[str, Any]) -> Iterator[_Scope]:
        """One scope per combination whose ``when`` holds. A ``when`` naming
        no loop variable is decided first, so a dropped entry's lists need
        not exist."""
        with self._located(entry, None):
            early = not _uses_loop_variable(entry)
            if early and not _Scope(context, {}).truthy(entry.when):
                return
            bindings = list(_bindings(context, entry.foreach, {}))
        for bound in bindings:
            scope = _Scope(context, bound)
            with self._located(entry, scope):
                keep = early or scope.truthy(entry.when)
            if keep:
                yield scope

    def _located(self, entry: _Entry,
                 scope: _Scope | None) -> contextlib.AbstractContextManager[None]:
        variables = scope.variables if scope is not None else {}
        where = _where(self.name, self.source, entry.section, entry.index, entry.line, variables)
        return _prefixed(where)


def _where(name: str | None, source: str, section: str, index: int, line: int | None,
           variables: Mapping[str, Any]) -> str:
    location = f"{source}:{line}" if line else source
    text = f"pattern {name or '?'!r} ({location}), {section}[{index}]"
    if variables:
        text += " with " + ", ".join(f"{k}={_short(v)}" for k, v in variables.items())
    return text


@contextlib.contextmanager
def _prefixed(where: str) -> Iterator[None]:
    """Prefix an admf error raised inside with the pattern location."""
    try:
        yield
    except AdmfError as exc:
        cls = TopologyError if isinstance(exc, TopologyError) else ConfigError
        raise cls(f"{where}: {exc}") from exc


def _uses_loop_variable(entry: _Entry) -> bool:
    condition = entry.when
    if isinstance(condition, str):
        match = _WHEN.fullmatch(condition.strip())
        return match is not None and match.group(2).split(".")[0] in entry.foreach
    return isinstance(condition, Mapping) and bool(entry.foreach)


def _make(entry: _Entry, scope: _Scope, registry: Registry) -> Container:
    # values put into a name are escaped (BRK.B -> BRK%2EB) so any symbol
    # makes a valid name, and two symbols never make the same one
    name = scope.render(entry.name, "name", escape=safe_name)
    if isinstance(name, str) and isinstance(entry.name, str) and _WHOLE.fullmatch(entry.name):
        name = safe_name(name)
    type_name = scope.render(entry.type, "type")
    if not isinstance(name, str) or not isinstance(type_name, str):
        raise ConfigError(f"name and type must render to strings, got {name!r} and {type_name!r}")
    known = registry.names("container")
    if ":" not in type_name and type_name not in known:
        raise ConfigError(f"unknown container type {type_name!r}{_hint(type_name, known)} "
                          f"(registered: {', '.join(known) or 'none'})")
    factory = registry.get("container", type_name)
    args = scope.render(entry.args, "args")
    try:
        container = factory(scope.context, name=name, **args)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"container type {type_name!r} refused {name!r}: {exc}") from exc
    if not isinstance(container, Container):
        raise ConfigError(f"container type {type_name!r} returned {type(container).__name__}, "
                          f"not a Container")
    if container.name != name:
        raise ConfigError(f"container type {type_name!r} named its container "
                          f"{container.name!r}, not {name!r}")
    return container


# -- routes ---------------------------------------------------------------------------


def _add_route(topology: Topology, entry: _Entry, scope: _Scope) -> None:
    ends = {"from", "to"}
    body = scope.render({k: v for k, v in entry.body.items() if k not in ends}, entry.kind)
    for end in ends & set(entry.body):  # container names, escaped as _make escapes them
        body[end] = scope.render(entry.body[end], f"{entry.kind}.{end}", escape=safe_name)
    sources = _endpoints(topology, body["from"], "from")
    targets = _endpoints(topology, body["to"], "to")
    kind = _kind(entry.kind, sources, targets)
    options = _options(kind, body, targets)
    connect = getattr(topology, kind)
    many_sources, many_targets = _ARITY[kind]
    connect(sources if many_sources else sources[0],
            targets if many_targets else targets[0], **options)


def _endpoints(topology: Topology, value: Any, end: str) -> list[str]:
    found: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, str) or "." not in item:
            raise ConfigError(f"{end!r} must be 'container.port' or a list of them, got {item!r}")
        owner, _, port = item.partition(".")
        if _GLOB.search(owner):
            matched = [n for n in topology.containers if fnmatch.fnmatchcase(n, owner)]
            if not matched:
                known = ", ".join(topology.containers) or "none"
                raise TopologyError(f"{end} {item!r} matches no container (containers: {known})")
            found += [f"{name}.{port}" for name in matched]
        elif owner not in topology.containers:
            known = list(topology.containers)
            raise TopologyError(f"{end} {item!r}: unknown container {owner!r}"
                                f"{_hint(owner, known)} (containers: {', '.join(known) or 'none'})")
        else:
            found.append(item)
    return found


def _kind(kind: str, sources: list[str], targets: list[str]) -> str:
    def listing(ends: list[str]) -> str:
        return f"{len(ends)} ({', '.join(ends)})"

    if kind == "connect":
        if len(sources) > 1 and len(targets) > 1:
            raise TopologyError(f"connect joins one to one, many to one or one to many; 'from' "
                                f"gives {listing(sources)} and 'to' gives {listing(targets)}")
        kind = "merge" if len(sources) > 1 else "broadcast" if len(targets) > 1 else "pipe"
    many_sources, many_targets = _ARITY[kind]
    if not many_sources and len(sources) != 1:
        raise TopologyError(f"a {kind} route takes exactly one source; 'from' gives "
                            f"{listing(sources)}")
    if not many_targets and len(targets) != 1:
        raise TopologyError(f"a {kind} route takes exactly one target; 'to' gives "
                            f"{listing(targets)}")
    return kind


def _options(kind: str, body: Mapping[str, Any], targets: list[str]) -> dict[str, Any]:
    options = {k: v for k, v in body.items() if k in ROUTE_KINDS[kind] and k not in ("from", "to")}
    capacity = options.get("capacity", 1)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        raise ConfigError(f"capacity must be a positive integer, got {capacity!r}")
    if not isinstance(options.get("feedback", False), bool):
        raise ConfigError(f"feedback must be true or false, got {options['feedback']!r}")
    key = options.get("key")
    if key is not None and not (isinstance(key, str) or callable(key)):
        raise ConfigError(f"key must be an attribute name, got {key!r}")
    if kind == "merge" and isinstance(key, str):
        options["key"] = operator.attrgetter(key)
    if isinstance(options.get("predicate"), str):
        options["predicate"] = load_object(options["predicate"])
    if "assign" in options:
        options["assign"] = _assignment(options["assign"], targets)
    return options


def _assignment(assign: Any, targets: list[str]) -> dict[Any, int]:
    """Partition keys -> consumer index; a string value names a target
    container (or ``container.port``) instead of an index."""
    if not isinstance(assign, Mapping):
        raise ConfigError(f"assign must map keys to consumer indexes or names, got {assign!r}")
    owners = [t.partition(".")[0] for t in targets]
    result: dict[Any, int] = {}
    for key, value in assign.items():
        if isinstance(value, str):
            if value in targets or value in owners:
                value = (targets if value in targets else owners).index(value)
            else:
                raise TopologyError(f"assign {key!r}: {value!r} is not a target of this route"
                                    f"{_hint(value, owners)} (targets: {', '.join(targets)})")
        result[key] = value
    return result


# -- finding patterns by name ------------------------------------------------------------


def _builtin_dir() -> Any:
    return resources.files("admf") / "patterns"


def available_patterns(search_paths: Sequence[str | os.PathLike[str]] = ()) -> dict[str, str]:
    """Pattern name -> file, user directories shadowing the built-ins (and an
    earlier directory shadowing a later one)."""
    found: dict[str, str] = {}
    builtin = _builtin_dir()
    places: list[Any] = [Path(p) for p in search_paths] + [builtin]
    for place in places:
        if not place.is_dir():
            continue
        for item in sorted(place.iterdir(), key=lambda t: t.name):
            if item.name.endswith(".yaml") and item.is_file():
                found.setdefault(item.name[:-len(".yaml")], str(item))
    return found


@functools.lru_cache(maxsize=32)
def _read_yaml_once(text: str, source: str) -> tuple[Any, dict[tuple[str, int], int]]:
    """:func:`._entries._read_yaml`, once per text: every backtest task builds
    its topology from the same pattern file, and parsing YAML cost more than
    the rest of the build. Callers get a deep copy of the document; an error
    is not kept, so it is raised again each time."""
    return _read_yaml(text, source)


def load_pattern(name: str, search_paths: Sequence[str | os.PathLike[str]] = ()) -> Pattern:
    """The pattern ``<name>.yaml`` from the first of ``search_paths`` holding
    it, else from the built-in ``admf/patterns/``; a path is loaded as is."""
    if name.endswith((".yaml", ".yml")) or os.sep in name or "/" in name:
        return Pattern.from_file(name)
    for directory in search_paths:
        candidate = Path(directory) / f"{name}.yaml"
        if candidate.is_file():
            return Pattern.from_file(candidate)
    builtin = _builtin_dir() / f"{name}.yaml"
    if builtin.is_file():
        return Pattern.from_text(builtin.read_text(encoding="utf-8"), source=str(builtin),
                                 default_name=name)
    known = available_patterns(search_paths)
    places = ", ".join([str(p) for p in search_paths] + ["admf/patterns (built-in)"])
    raise ConfigError(f"unknown pattern {name!r}{_hint(name, known)} (looked in: {places}; "
                      f"known: {', '.join(sorted(known)) or 'none'})")

