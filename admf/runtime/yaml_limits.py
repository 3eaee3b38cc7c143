"""Bounds on a YAML document, checked before it can cost memory or stack.

A kilobyte of YAML can name an exponential tree through aliases (the
"billion laughs": each anchor repeats the previous one nine times), and a
document nested thousands deep overflows PyYAML's recursive composer with a
``RecursionError``. Both are refused here with a
:class:`~admf.errors.ConfigError` naming the file, in time linear in the text:

- :data:`MAX_DEPTH` nested mappings and lists, counted on the parser's event
  stream (a loop, not a recursion) before anything is composed;
- :data:`MAX_NODES` nodes once every alias is expanded, computed on the
  composed graph with one size per distinct node, however large the
  expansion would be; a recursive alias (``&a [*a]``) is refused too.

Configs (:mod:`admf.research.config.loading`, ``--set`` values) and
topology patterns (:mod:`admf.runtime.patterns`) are read through here.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import ConfigError

__all__ = ("MAX_DEPTH", "MAX_NODES", "check_depth", "check_expansion", "compose", "safe_load")

MAX_DEPTH = 64
"""The deepest nesting of mappings and lists a document may have (configs use < 10)."""

MAX_NODES = 250_000
"""The most YAML nodes a document may expand to, aliases repeated (configs have
a few hundred; a written-out list of a hundred thousand values still fits)."""


# libyaml's parser when PyYAML was built with it: the pure-Python scanner
# spends O(depth) per token on deep flow nesting (a second at 1,000 levels)
_EVENTS = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def check_depth(text: str, file: str) -> None:
    """Refuse ``text`` nested deeper than :data:`MAX_DEPTH`, before composing it."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_EVENTS):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _too_deep(file, event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):  # libyaml's own bound (1,000) met first
            raise _too_deep(file, exc.problem_mark) from None
        return  # malformed: composing it reports the problem with its line
    except yaml.YAMLError:
        return


def _too_deep(file: str, mark: Any) -> ConfigError:
    where = f"{file}:{mark.line + 1}" if mark is not None else file
    return ConfigError(f"{where}: the YAML is nested more than {MAX_DEPTH} levels deep "
                       f"(mappings and lists); refusing it, a config needs far fewer")


def check_expansion(node: yaml.Node, file: str) -> None:
    """Refuse a composed document that expands (every alias repeated) to more
    than :data:`MAX_NODES` nodes, or refers to itself. Iterative; each
    distinct node is sized once."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # on the current path: meeting one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, children_done = stack.pop()
        key = id(current)
        if children_done:
            open_.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(current))
            if total > MAX_NODES:
                raise ConfigError(f"{file}: the YAML expands to more than {MAX_NODES:,} values "
                                  f"once its aliases (*name) are repeated; refusing it (an "
                                  f"alias bomb?)")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in open_:
            mark = current.start_mark
            raise ConfigError(f"{file}:{mark.line + 1}: a YAML alias refers to the collection "
                              f"it is inside (a recursive anchor); a config cannot contain itself")
        open_.add(key)
        stack.append((current, True))
        for child in _children(current):
            child_key = id(child)
            if child_key in open_:
                mark = child.start_mark
                raise ConfigError(f"{file}:{mark.line + 1}: a YAML alias refers to the "
                                  f"collection it is inside (a recursive anchor); a config "
                                  f"cannot contain itself")
            if child_key not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def compose(loader: yaml.SafeLoader, text: str, file: str) -> yaml.Node | None:
    """``loader.get_single_node()`` (``loader`` reads ``text``), within the
    bounds above; YAML errors propagate as PyYAML raises them."""
    check_depth(text, file)
    node = loader.get_single_node()
    if node is not None:
        check_expansion(node, file)
    return node


def safe_load(text: str, file: str) -> Any:
    """``yaml.safe_load(text)`` within the bounds above (``file`` names the
    text in errors)."""
    loader = yaml.SafeLoader(text)
    try:
        node = compose(loader, text, file)
        return loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
