"""Templates: :func:`render_template` fills each ``{expression}`` of a string,
giving the value itself, a computed number or the text with the values
written plainly."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError
from ._expression import _compile, evaluate
from ._parser import _Parser
from ._tokens import _Fault, _tokenize
from ._values import _COLLECTIONS, MAX_LENGTH, _fields, _kind, _number

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ARITHMETIC_TOKENS = {"+", "-", "*", "/", "//", "%", "(", ")"}


def render_template(text: Any, context: Mapping[str, Any]) -> Any:
    """Fill the ``{expression}`` placeholders of ``text`` from ``context``.

    - ``"{explore.best_params}"`` (one placeholder, nothing else): the value
      itself, with its type (here a mapping).
    - ``"{risk.stop_loss} * 1.5"``: when every placeholder is a number and
      the rest is numbers, arithmetic operators and parentheses, the computed
      number (``0.03`` for a stop loss of ``0.02``).
    - otherwise the text with each placeholder replaced by its value written
      plainly (``0.02``, ``true``, ``null``; a mapping or list is an error).

    A text without placeholders, or a value that is not a string, is returned
    unchanged. Raises ConfigError for a placeholder that does not evaluate."""
    if not isinstance(text, str):
        return text
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"template is {len(text)} characters long; the limit is {MAX_LENGTH}")
    pieces = _PLACEHOLDER.split(text)
    literals, inners = pieces[0::2], pieces[1::2]
    if not inners:
        return text
    values = []
    for inner in inners:
        try:
            values.append(evaluate(inner, context))
        except ConfigError as error:
            raise ConfigError(f"in template {text!r}: {error}") from None
    if len(inners) == 1 and literals == ["", ""]:
        return values[0]
    if _is_arithmetic(literals, values):
        joined = "".join(lit + f"({inner})" for lit, inner in zip(literals, inners)) + literals[-1]
        try:  # the added parentheses may take the text past MAX_LENGTH
            return _compile(joined).evaluate(context)
        except ConfigError as error:
            raise ConfigError(f"in template {text!r}: {error}") from None
    return "".join(lit + _plain(text, inner, value)
                   for lit, inner, value in zip(literals, inners, values)) + literals[-1]


def _is_arithmetic(literals: list[str], values: list[Any]) -> bool:
    if any(_number(value) is None for value in values):
        return False
    skeleton = " 0 ".join(literals)
    try:
        tokens = _tokenize(skeleton)[:-1]
        _Parser(skeleton).parse()
    except (_Fault, RecursionError):
        return False
    ops = [value for kind, value, _ in tokens if kind == "op"]
    return bool(ops) and all(op in _ARITHMETIC_TOKENS for op in ops) and all(
        kind in ("num", "op") for kind, _, _ in tokens)


def _plain(text: str, inner: str, value: Any) -> str:
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, (Mapping, *_COLLECTIONS)) or _fields(value) is not None:
        raise ConfigError(f"in template {text!r}: '{{{inner}}}' is {_kind(value)} "
                          f"and cannot be part of a longer string")
    number = _number(value)
    return str(value if number is None else number)
