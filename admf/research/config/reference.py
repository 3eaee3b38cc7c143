"""The config reference (``docs/config.md``), generated from the schema.

Every key of every section comes from the msgspec Structs of this package:
its type from :func:`msgspec.inspect.type_info`, its default from the
field (a variant's defaults from :data:`SEQUENCE_KEYS` and
:data:`SYNTHETIC_DEFAULTS`, which fill a ``None`` after the check), its
description from the attribute docstring under the field in the source. So
the page cannot drift from what is validated: ``admf config-reference``
rewrites it, and a test fails when the checked-in page is out of date.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.inspect as mi

from .schema import PLUGIN_SEQUENCE_KEYS, SEQUENCE_KEYS, StudyConfig
from .trading import SYNTHETIC_DEFAULTS
from .workflow import PhaseConfig, WorkflowConfig

__all__ = ("Key", "keys", "render")

HEADER = """\
# Config reference

Every key admf reads from a study or workflow file, with its type, its
default and what it does. Generated from the schema in
`admf/research/config/` by `admf config-reference -o docs/config.md`; a
test fails when this page is out of date. The commented tour of a study
file is in the README ("Config reference").
"""


@dataclass(frozen=True)
class Key:
    """One documented key: dotted path, type, default (text) and description."""

    path: str
    type: str
    default: str
    doc: str


def _docs(cls: type) -> dict[str, str]:
    """Attribute docstrings of ``cls`` and its bases: the string literal
    right under a field's annotation."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not isinstance(klass, type) or not issubclass(klass, msgspec.Struct) \
                or klass is msgspec.Struct:
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for field, after in zip(body, body[1:]):
            if (isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                found[field.target.id] = _markdown(after.value.value)
    return found


def _markdown(doc: str) -> str:
    """A docstring (reST literals, roles) as one line of Markdown."""
    text = " ".join(inspect.cleandoc(doc).split())
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _type(t: mi.Type) -> str:
    if isinstance(t, mi.UnionType):  # each alternative once, null last
        parts = list(dict.fromkeys(p for x in t.types for p in _type(x).split(" | ")))
        return " | ".join([p for p in parts if p != "null"] + (["null"] if "null" in parts else []))
    if isinstance(t, mi.LiteralType):
        return " | ".join(f"`{v}`" for v in t.values)
    if isinstance(t, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        return f"list of {_type(t.item_type)}"
    if isinstance(t, mi.DictType):
        return f"map of {_type(t.key_type)} to {_type(t.value_type)}"
    if isinstance(t, mi.StructType):
        return "mapping"
    names = {mi.StrType: "text", mi.IntType: "integer", mi.FloatType: "number",
             mi.BoolType: "boolean", mi.NoneType: "null", mi.AnyType: "any"}
    return names.get(type(t), type(t).__name__.removesuffix("Type").lower())


def _value(value: Any) -> str:
    if isinstance(value, msgspec.Struct):
        return "(see below)"
    if value == () or value == {}:
        return "empty"
    if isinstance(value, tuple):
        value = list(value)
    return f"`{msgspec.json.encode(value).decode()}`"


def _default(cls: type, field: mi.Field, variants: dict[str, Any] | None) -> str:
    if field.required:
        return "required"
    value = field.default_factory() if field.default is mi.NODEFAULT else field.default
    if value is None and variants:
        return variants.get(field.name, "`null`")
    return _value(value)


def _structs(t: mi.Type) -> Iterator[type]:
    if isinstance(t, mi.StructType):
        yield t.cls
    for name in ("types", "item_type", "value_type"):
        inner = getattr(t, name, None)
        for x in inner if isinstance(inner, tuple) else (inner,) if inner is not None else ():
            yield from _structs(x)


def _variants(cls: type) -> dict[str, str] | None:
    """What a ``None`` default becomes, per variant (sequence type, data source)."""
    if cls.__name__ == "SequenceConfig":
        out: dict[str, list[str]] = {}
        for kind, keys in {**SEQUENCE_KEYS, "plugin sequences": PLUGIN_SEQUENCE_KEYS}.items():
            for key, default in keys.items():
                shown = "required" if default is None and key in ("train", "test") else \
                    "= test" if key == "step" else _value(default)
                out.setdefault(key, []).append(f"{shown} ({kind})")
        return {k: "; ".join(v) for k, v in out.items()}
    if cls.__name__ == "DataConfig":
        return {k: f"{_value(v)} (synthetic)" for k, v in SYNTHETIC_DEFAULTS.items()}
    return None


def _where(t: mi.Type) -> str:
    """How a nested struct's keys are addressed under its field."""
    inner = [x for x in (t.types if isinstance(t, mi.UnionType) else (t,))
             if not isinstance(x, mi.NoneType)]
    if any(isinstance(x, mi.DictType) for x in inner):
        return ".<pattern>."
    if all(isinstance(x, (mi.ListType, mi.VarTupleType)) for x in inner):
        return "[]."
    return "."


def keys(cls: type = StudyConfig, prefix: str = "", *, skip: tuple[str, ...] = (),
         seen: set[type] | None = None) -> Iterator[tuple[type, list[Key]]]:
    """``(struct, its keys)`` for ``cls`` and, after it, every struct below it
    not in ``seen`` (those are documented once, where first met)."""
    seen = set() if seen is None else seen
    seen.add(cls)
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    docs = _docs(cls)
    variants = _variants(cls)
    rows, below = [], []
    for field in info.fields:
        if field.name in skip:
            continue
        rows.append(Key(f"{prefix}{field.encode_name}", _type(field.type),
                        _default(cls, field, variants), docs.get(field.name, "")))
        for inner in _structs(field.type):
            below.append((inner, f"{prefix}{field.encode_name}{_where(field.type)}"))
    yield cls, rows
    for inner, where in below:
        if inner not in seen:
            yield from keys(inner, where, seen=seen)


def _summary(cls: type) -> str:
    doc = cls.__doc__ or ""
    return _markdown(doc) if doc and not doc.startswith(cls.__name__) else ""


def _table(rows: list[Key]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    lines += [f"| `{r.path}` | {cell(r.type)} | {cell(r.default)} | {cell(r.doc)} |" for r in rows]
    return "\n".join(lines)


def _section(cls: type, rows: list[Key], title: str | None = None) -> str:
    name = title or f"`{rows[0].path.rsplit('.', 1)[0]}`"
    summary = _summary(cls)
    return "\n\n".join(p for p in (f"## {name}", summary, _table(rows)) if p)


def render() -> str:
    """The whole page, as checked in at ``docs/config.md``."""
    parts = [HEADER]
    seen: set[type] = set()
    for cls, rows in keys(StudyConfig, seen=seen):
        parts.append(_section(cls, rows, "A study: top-level keys" if cls is StudyConfig else None))
    parts.append("# A workflow\n\nA file with `phases:` is a workflow; each phase is a study "
                 "(every key above) merged over the file's `defaults`, plus the keys below.")
    workflow = next(keys(WorkflowConfig, seen=seen))[1]
    parts.append(_section(WorkflowConfig, workflow, "A workflow: top-level keys"))
    study = set(StudyConfig.__struct_fields__) - {"name", "strategies"}
    for cls, rows in keys(PhaseConfig, "phases[].", skip=tuple(study), seen=seen):
        parts.append(_section(cls, rows, "`phases[]`" if cls is PhaseConfig else None))
    return "\n\n".join(parts).rstrip() + "\n"
