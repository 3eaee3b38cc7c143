"""From text to tokens: the regular-expression tokenizer, number and string
literals, and :class:`_Fault`, a problem at a position of the text."""

from __future__ import annotations

import math
import re
from typing import Any

_TOKEN = re.compile(r"""
      (?P<space>\s+)
    | (?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>\*\*|//|==|!=|<=|>=|&&|\|\||[-+*/%<>!()\[\],.])
""", re.VERBOSE | re.ASCII | re.DOTALL)
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


class _Fault(Exception):
    """A problem at a position of the text; becomes a ConfigError at the API."""

    def __init__(self, pos: int, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.pos, self.message, self.hint = pos, message, hint


def _tokenize(text: str) -> list[tuple[str, Any, int]]:
    """``(kind, value, position)`` tokens ending with ``("end", None, len)``."""
    tokens: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] in "'\"":
                raise _Fault(pos, "unterminated string")
            raise _Fault(pos, f"unexpected character {text[pos]!r}")
        kind, raw = match.lastgroup or "", match.group()
        if kind == "num":
            tokens.append((kind, _number_literal(raw, pos), pos))
        elif kind == "str":
            tokens.append((kind, _string_literal(raw, pos), pos))
        elif kind == "name" and raw.startswith("_"):
            raise _Fault(pos, f"names may not start with '_': {raw!r}")
        elif kind != "space":
            tokens.append((kind, raw, pos))
        pos = match.end()
    tokens.append(("end", None, len(text)))
    return tokens


def _number_literal(raw: str, pos: int) -> int | float:
    if not any(c in raw for c in ".eE"):
        return int(raw)
    value = float(raw)
    if not math.isfinite(value):
        raise _Fault(pos, f"number {raw} is too large")
    return value


def _string_literal(raw: str, pos: int) -> str:
    out, i = [], 1
    while i < len(raw) - 1:
        if raw[i] == "\\":
            if raw[i + 1] not in _ESCAPES:
                raise _Fault(pos + i, f"unknown escape '\\{raw[i + 1]}'",
                             "use \\\\ \\' \\\" \\n \\t or \\r")
            out.append(_ESCAPES[raw[i + 1]])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)
