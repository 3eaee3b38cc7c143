"""The API of the language: :func:`parse` text into an :class:`Expression`,
:func:`evaluate` it, and faults turned into ConfigErrors with a caret line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError
from ._nodes import _Node
from ._parser import _Parser
from ._tokens import _Fault
from ._values import MAX_LENGTH, _kind


def _config_error(text: str, fault: _Fault) -> ConfigError:
    start = max(0, min(fault.pos - 40, len(text) - 80))
    shown = "".join(c if c.isprintable() else " " for c in text[start:start + 80])
    lead = "..." if start else ""
    hint = f"; {fault.hint}" if fault.hint else ""
    caret = " " * (len(lead) + fault.pos - start) + "^"
    return ConfigError(f"{fault.message} at column {fault.pos + 1}{hint}\n"
                       f"  {lead}{shown}\n  {caret}")


class Expression:
    """A parsed expression: evaluate it against contexts, list its names."""

    __slots__ = ("text", "_root", "_names")

    def __init__(self, text: str, root: _Node, names: frozenset[str]) -> None:
        self.text, self._root, self._names = text, root, names

    @property
    def names(self) -> frozenset[str]:
        """The dotted names the expression reads (function names excluded),
        whether or not a given evaluation reaches them."""
        return self._names

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The value of the expression with names looked up in ``context``.

        Raises ConfigError for an unknown name (suggesting close ones), an
        operation on the wrong types, a division by zero or an overflow."""
        try:
            return self._root.compute(context)
        except _Fault as fault:
            raise _config_error(self.text, fault) from None
        except RecursionError:
            raise ConfigError(f"expression {self.text[:80]!r} nests too deeply") from None

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def parse(text: str) -> Expression:
    """Parse ``text``; raises ConfigError naming the column of a syntax error."""
    if not isinstance(text, str):
        raise ConfigError(f"an expression must be a string, not {_kind(text)}")
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    return _compile(text)


def _compile(text: str) -> Expression:
    try:
        parser = _Parser(text)
        return Expression(text, parser.parse(), frozenset(parser.names))
    except _Fault as fault:
        raise _config_error(text, fault) from None
    except RecursionError:
        raise ConfigError(f"expression {text[:80]!r} nests too deeply") from None


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """``parse(text).evaluate(context)``."""
    return parse(text).evaluate(context)
