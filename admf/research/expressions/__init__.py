"""A small safe expression language for workflow conditions and templates.

Workflow ``when:`` and ``repeat.while`` conditions and ``repeat.modify``
values are evaluated here. The text is tokenized and parsed by this module
(a regular-expression tokenizer and a recursive-descent parser that climbs
the binary operators' precedence levels); nothing is ever handed to
``eval``, ``exec``, ``compile`` or :mod:`ast`. An expression can read values
from a context mapping, compute with them and call five whitelisted
functions; it cannot reach attributes, call methods, import, assign or loop.

Grammar (lowest precedence first)::

    expression := or_expr
    or_expr    := and_expr (("or" | "||") and_expr)*
    and_expr   := not_expr (("and" | "&&") not_expr)*
    not_expr   := ("not" | "!") not_expr | comparison
    comparison := sum (compare_op sum)*          # chained: 0 < x < 1
    compare_op := "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in"
    sum        := term (("+" | "-") term)*
    term       := unary (("*" | "/" | "//" | "%") unary)*
    unary      := ("-" | "+") unary | postfix
    postfix    := primary ("[" expression "]" | "." NAME)*
    primary    := NUMBER | STRING | "true" | "false" | "null"
                | FUNCTION "(" [expression ("," expression)*] ")"
                | NAME ("." NAME)*
                | "(" expression ")"

- NUMBER: ``12``, ``1.5``, ``.5``, ``1e-3``. STRING: single or double
  quotes; escapes ``\\\\ \\' \\" \\n \\t \\r``. ``True``, ``False`` and
  ``None`` are accepted for ``true``, ``false`` and ``null``.
- NAME: ASCII letters, digits and ``_``, not starting with ``_`` (so no
  private or dunder name can even be written). A dotted name
  ``explore.metrics.sharpe_ratio`` is looked up in the context: mapping
  keys, and the declared fields of msgspec Structs, dataclasses and named
  tuples. A context key may itself hold dots (``"risk.stop_loss"``); the
  longest such key wins. ``a[0]`` indexes a list or string, ``a["k"]`` a
  mapping or a field.
- FUNCTION: ``abs``, ``len``, ``min``, ``max``, ``round``; calling anything
  else is a syntax error.
- ``and``/``or`` short-circuit and return an operand, as in Python
  (``false and missing.name`` is ``false``); ``!``, ``&&`` and ``||`` are
  spellings of ``not``, ``and`` and ``or`` with their precedence.
- Arithmetic is on numbers only (no string or list concatenation or
  repetition, no exponentiation). A float result that is not finite although
  its operands were (overflow) is an error; a NaN from the context
  propagates as in IEEE arithmetic.

Templates (:func:`render_template`): each ``{expression}`` in a string is
evaluated. A string that is one placeholder gives the value itself
(``"{explore.best_params}"`` -> a mapping); a string of number placeholders,
number literals, arithmetic operators and parentheses is computed
(``"{risk.stop_loss} * 1.5"`` -> ``0.03``); any other string gets each value
written plainly (``"data/{symbol}.csv"``).

Limits: an expression is at most :data:`MAX_LENGTH` characters and nests
(parentheses, brackets, call arguments, unary operators) at most
:data:`MAX_DEPTH` levels; a computed int has at most 10,000 bits. So no text
can hang, exhaust memory or the Python stack: every problem, in the text or
while evaluating it, is a :class:`~admf.errors.ConfigError` naming the
column, with a caret line.
"""

from __future__ import annotations

from ._expression import Expression as Expression
from ._expression import evaluate as evaluate
from ._expression import parse as parse
from ._templates import render_template as render_template
from ._values import FUNCTIONS as FUNCTIONS
from ._values import MAX_DEPTH as MAX_DEPTH
from ._values import MAX_LENGTH as MAX_LENGTH

__all__ = ("MAX_LENGTH", "MAX_DEPTH", "FUNCTIONS", "Expression", "parse", "evaluate",
           "render_template")

# The public classes and functions keep this package as their home, as before it was split.
for _public in (Expression, parse, evaluate, render_template):
    _public.__module__ = __name__
del _public
