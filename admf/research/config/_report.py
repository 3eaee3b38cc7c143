"""Turn a validation failure into a message that names the file, the line,
the key path and what was expected.

:class:`Origins` remembers where each key path of the merged config came
from: a line of the file, a ``--set`` override, or (for a workflow phase)
the file's ``defaults``. :func:`explain` reads msgspec's error (its
``$.a.b[0]`` path and wording) back into that form.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import msgspec.inspect as mi

from ._checks import Invalid, Key, dotted, suggest
from ._types import item_type, literal_values, struct_keys, type_at

_MESSAGE = re.compile(r"^(?P<msg>.*?)(?: - at `(?:(?P<key>[^`]*)` in `)?(?P<path>\$[^`]*)`)?$", re.S)
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]|(\[\.\.\.\])")
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]*)`(?P<rest>[^,]*)(?:, got `(?P<got>[^`]*)`)?$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<key>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<key>[^`]*)`$")
_ENUM = re.compile(r"^Invalid enum value (?P<value>.*)$")

_WORDS = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
          "array": "a list", "object": "a mapping", "null": "null"}
_GOT = {**_WORDS, "bool": "a boolean"}


class Origins:
    """Where the key paths of a merged config came from."""

    def __init__(self, file: str | None, lines: dict[Key, int]) -> None:
        self.file = file
        self.lines = dict(lines)
        self.sets: dict[Key, str] = {}

    def set_label(self, text: str) -> str:
        return f"{self.file} (--set {text})" if self.file else f"--set {text}"

    def override(self, path: Key, text: str) -> None:
        """``path`` now comes from ``--set text``; forget the file lines below it."""
        for table in (self.lines, self.sets):
            for key in [k for k in table if k[:len(path)] == path]:
                del table[key]
        self.sets[path] = self.set_label(text)

    def _place(self, path: Key) -> str | None:
        if path in self.sets:
            return self.sets[path]
        if path in self.lines:
            return f"{self.file}:{self.lines[path]}" if self.file else f"line {self.lines[path]}"
        return None

    def locate(self, path: Key) -> tuple[str, Key]:
        """(where, shown path): the closest known origin of ``path``; a phase
        key that came from the workflow's defaults is shown as ``defaults.…``."""
        phase = len(path) >= 2 and path[0] == "phases" and isinstance(path[1], int)
        for n in range(len(path), 0, -1):
            place = self._place(path[:n])
            if place is not None:
                return place, path
            if phase and n > 2:
                alias = ("defaults", *path[2:])
                place = self._place(alias[:n - 1])
                if place is not None:
                    return place, alias
        return self.file or "", path


def prefix(where: str, body: str) -> str:
    return f"{where}: {body}" if where else body


def _value_at(tree: Any, path: Key) -> tuple[bool, Any]:
    node = tree
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def _parse_path(text: str, tree: Any, cls: type) -> Key:
    path: list[str | int] = []
    for name, index, anykey in _PATH_PART.findall(text[1:]):
        if anykey:
            path.append(_failing_key(tree, cls, tuple(path)))
        else:
            path.append(int(index) if index else name)
    return tuple(path)


def _failing_key(tree: Any, cls: type, path: Key) -> str:
    """Which entry of the mapping at ``path`` failed (msgspec writes ``[...]``)."""
    _, mapping = _value_at(tree, path)
    value_type = item_type(type_at(cls, path))
    for key, value in (mapping or {}).items():
        if not isinstance(key, str):
            return key
        if isinstance(value_type, mi.StructType):
            try:
                msgspec.convert(value, value_type.cls)
            except msgspec.ValidationError:
                return key
    return "[...]"


def _describe(spec: str, words: dict[str, str] = _WORDS) -> str:
    return " or ".join(words.get(part.strip(), f"`{part.strip()}`") for part in spec.split("|"))


def _type_words(t: mi.Type | None) -> str:
    if isinstance(t, mi.StructType):
        return "a mapping"
    if isinstance(t, mi.ListType | mi.VarTupleType):
        return "a list"
    if isinstance(t, mi.LiteralType):
        return "one of " + ", ".join(map(str, t.values))
    names = {mi.StrType: "a string", mi.IntType: "an integer", mi.FloatType: "a number",
             mi.BoolType: "true or false", mi.DictType: "a mapping"}
    return names.get(type(t), "a value")


def explain(exc: Exception, tree: Any, cls: type, origins: Origins) -> str:
    """The message for a failed ``msgspec.convert(tree, cls)`` (or an
    :class:`Invalid` raised by a layer before it)."""
    if isinstance(exc, Invalid):
        where, shown = origins.locate(exc.key)
        return prefix(where, f"{dotted(shown)}: {exc.problem}")
    match = _MESSAGE.match(str(exc))
    msg, path = match.group("msg"), _parse_path(match.group("path") or "$", tree, cls)
    cause = exc.__cause__
    if isinstance(cause, Invalid):
        where, shown = origins.locate(path + cause.key)
        return prefix(where, f"{dotted(shown)}: {cause.problem}")
    if match.group("key") is not None:
        where, shown = origins.locate(path)
        return prefix(where, f"{dotted(shown) or 'the top level'}: every key must be a string "
                             f"({msg[0].lower()}{msg[1:]})")
    if m := _UNKNOWN.match(msg):
        return _unknown_key(m.group("key"), path, cls, origins)
    if m := _MISSING.match(msg):
        full = (*path, m.group("key"))
        where, shown = origins.locate(path)
        want = _type_words(type_at(cls, full))
        return prefix(where, f"missing required key {dotted((*shown, m.group('key')))!r} "
                             f"(expected {want})")
    where, shown = origins.locate(path)
    key = dotted(shown) or "the top level"
    found, value = _value_at(tree, path)
    if m := _ENUM.match(msg):
        choices = [str(v) for v in literal_values(type_at(cls, path)) or ()]
        got = str(value) if found else m.group("value")
        return prefix(where, f"{key}: expected one of {', '.join(choices)}; got {got!r}"
                             + suggest(got, choices))
    if m := _EXPECTED.match(msg):
        want = _describe(m.group("want")) + m.group("rest")
        body = f"{key}: expected {want}"
        if m.group("got"):
            body += f", got {_describe(m.group('got'), _GOT)}" + (f" ({value!r})" if found else "")
        if found and isinstance(value, str) and "array" in m.group("want"):
            body += f"; write [{value}] for a single item"
        return prefix(where, body)
    return prefix(where, f"{key}: {msg[0].lower()}{msg[1:]}")


def _unknown_key(key: str, path: Key, cls: type, origins: Origins) -> str:
    where, shown = origins.locate((*path, key))
    keys = struct_keys(type_at(cls, path)) or []
    at = dotted(shown[:-1]) or "the top level"
    body = f"unknown key {key!r} at {at}"
    hint = suggest(key, keys)
    if not path and "phases" in keys and key not in keys:
        from .workflow import STUDY_KEYS

        if key in STUDY_KEYS:
            hint = ("; in a workflow, settings shared by every phase go under 'defaults:', "
                    "the others into a phase")
    return prefix(where, body + (hint or f"; valid keys: {', '.join(keys)}"))
