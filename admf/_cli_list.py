"""``admf list [KIND]``: the registered components, topology patterns,
sequence types and risk settings, each with its parameters."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ("cmd_list", "BUILTIN_MODULES", "KINDS")


BUILTIN_MODULES = ("admf.components.strategies", "admf.components.ensembles",
                   "admf.components.rebalance",
                   "admf.components.classifiers", "admf.components.indicators",
                   "admf.components.sizing", "admf.components.costs",
                   "admf.containers.factories")
"""Modules whose import registers the built-in components (``admf list``)."""

KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    # kind: (heading, other names accepted on the command line)
    "strategy": ("strategies", ("strategies",)),
    "indicator": ("indicators", ("indicators",)),
    "classifier": ("regime classifiers", ("classifiers", "regime", "regimes")),
    "sizing": ("sizing", ("sizer", "sizers", "sizings")),
    "commission": ("commission models", ("commissions",)),
    "slippage": ("slippage models", ("slippages",)),
    "risk": ("risk rules", ("risks", "risk_rule", "risk_rules", "rules")),
    "sequence": ("sequences", ("sequences",)),
    "topology": ("topologies", ("topologies", "pattern", "patterns")),
    "container": ("containers", ("containers",)),
}
"""The documented kinds, in listing order; any other registered kind follows."""


def cmd_list(args: argparse.Namespace) -> int:
    import importlib

    from .runtime.registry import registry

    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    registered = registry.kinds()
    if args.kind is None:
        kinds = [k for k in KINDS if k in registered or _builtin_listing(k) is not None]
        kinds += [k for k in registered if k not in KINDS]
        print("\n\n".join(f"{_heading(k)}:\n" + (_builtin_listing(k, indent="  ")
                                                   or _listing(registry, k, indent="  "))
                           for k in kinds))
        return 0
    kind = _resolve_kind(args.kind, registered)
    if kind is None:
        known = sorted({*KINDS, *registered})
        print(f"admf: error: unknown kind {args.kind!r} (known kinds: {', '.join(known)})", file=sys.stderr)
        return 2
    builtin = _builtin_listing(kind)
    print(builtin if builtin is not None else _listing(registry, kind) if kind in registered
          else f"no {_heading(kind)} registered")
    return 0


def _plugin_sequence(registry: Any, name: str, shape: str, keys: dict[str, Any], indent: str) -> str:
    """A plugin sequence: its name, summary, shape, ``params`` and the other keys."""
    summary = registry.summary("sequence", name)
    lines = [f"{indent}{name}  {summary}".rstrip(),
             f"{indent}    reads like: {shape}; from {registry.where('sequence', name)}"]
    lines += [f"{indent}    params.{p}" for p in registry.describe("sequence", name)]
    lines += [f"{indent}    {key} = {default!r}" for key, default in keys.items() if key != "params"]
    return "\n".join(lines)


def _builtin_listing(kind: str, indent: str = "") -> str | None:
    """Kinds that are not registry components: topology patterns (YAML files),
    sequence types and risk settings (config keys)."""
    if kind == "topology":
        from .runtime.patterns import available_patterns, load_pattern

        return "\n".join(f"{indent}{name}  {load_pattern(name).description or ''}".rstrip()
                         + f"\n{indent}    file: {path}"
                         for name, path in available_patterns().items())
    if kind == "sequence":
        from .research.config import PLUGIN_SEQUENCE_KEYS, SEQUENCE_KEYS
        from .research.sequences.scheme import scheme_class
        from .runtime.registry import registry

        builtin = "\n".join(f"{indent}{name}" + "".join(
            f"\n{indent}    {key} = {default!r}" if default is not None
            else f"\n{indent}    {key} (required)" if key in ("train", "test") else
            f"\n{indent}    {key} = None" for key, default in keys.items())
            for name, keys in SEQUENCE_KEYS.items())
        plugins = [_plugin_sequence(registry, name, scheme_class(name).shape, PLUGIN_SEQUENCE_KEYS,
                                    indent) for name in registry.names("sequence")]
        return "\n".join([builtin, *plugins])
    if kind == "risk":
        from .research.config import RiskConfig

        return "\n".join(f"{indent}{field}: float | None = None"
                         for field in RiskConfig.__struct_fields__)
    return None


def _heading(kind: str) -> str:
    return KINDS[kind][0] if kind in KINDS else kind


def _resolve_kind(text: str, registered: list[str]) -> str | None:
    """A kind from its name, plural or alias (``strategies``, ``sizers``, ``patterns``)."""
    word = text.strip().lower().replace("-", "_")
    candidates = {*KINDS, *registered}
    if word in candidates:
        return word
    for kind, (_, aliases) in KINDS.items():
        if word in aliases:
            return kind
    for singular in (word[:-1] if word.endswith("s") else None,
                     word[:-3] + "y" if word.endswith("ies") else None):
        if singular in candidates:
            return singular
    return None


def _listing(registry: Any, kind: str, indent: str = "") -> str:
    """``name  summary`` per component, then one ``param: type = default`` line
    per parameter."""
    import shutil
    import textwrap

    names = registry.names(kind)
    width = max(map(len, names))
    columns = max(shutil.get_terminal_size((100, 24)).columns, 60)
    hanging = " " * (len(indent) + width + 2)
    lines = []
    for name in names:
        head = f"{indent}{name.ljust(width)}  "
        summary = registry.summary(kind, name)
        lines.extend(textwrap.wrap(summary, columns - 1, initial_indent=head, subsequent_indent=hanging,
                                   break_on_hyphens=False) or [head.rstrip()])
        for param in registry.describe(kind, name):
            lines.extend(textwrap.wrap(str(param), columns - 1, initial_indent=f"{indent}    ",
                                       subsequent_indent=f"{indent}        ",
                                       break_on_hyphens=False) or [f"{indent}    {param}"])
    return "\n".join(lines)
