"""Sequence types added by plugins: a window scheme cuts the timeline, admf runs it.

A plugin adds a sequence type by subclassing :class:`WindowScheme` and
registering it under the kind ``"sequence"`` (the same ``admf.plugins``
entry-point group as every other component), or by naming it as
``"package.module:Name"``::

    from admf.research.sequences import WindowScheme
    from admf.runtime.registry import register

    @register("sequence", "expanding_halves")
    class ExpandingHalves(WindowScheme):
        \"\"\"Train on everything before each test half of the last third.\"\"\"

        def __init__(self, tests: int = 2) -> None:
            self.tests = tests

        def windows(self, timeline):
            ...  # yield (train, test) bar-index spans

The scheme only says *which bars* each window trains and tests on; the
runs, the selection (``sequence.objective``, ``sequence.select``), the
warm-up before each test window, the stitching of the out-of-sample curve,
resume, tracing and reports are admf's, exactly as for ``walk_forward``
(``shape = "walk_forward"``) or ``k_fold`` (``shape = "k_fold"``). Every
window the scheme returns is checked before any run: spans inside the
timeline, no train bar inside its test span, and for the walk-forward
shape every train bar before its test window and the test windows in time
order without overlap, so that no shape can read the future.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Literal

import numpy as np

from ...errors import ConfigError, PluginError
from ...runtime.registry import describe_object, registry
from .windows import Span, Window

__all__ = ("WindowScheme", "SHAPES", "scheme_class", "build_scheme", "scheme_windows")

SHAPES = ("walk_forward", "k_fold")
"""How a plugin sequence's windows are read: one stitched out-of-sample curve
(``walk_forward``) or the mean over test windows (``k_fold``)."""

SpanLike = Sequence[int]
"""``(first, last)``: inclusive bar indices of the timeline."""


class WindowScheme:
    """Base of a sequence type added by a plugin (see the module docstring).

    Subclasses take their parameters (``sequence.params``) as keyword
    arguments of ``__init__`` and implement :meth:`windows`."""

    shape: ClassVar[Literal["walk_forward", "k_fold"]] = "walk_forward"
    """``walk_forward``: train before test, test windows in time order, one
    stitched out-of-sample curve; ``k_fold``: trains may lie on either side of
    their test window, and the result is the mean over the test windows."""

    def windows(self, timeline: np.ndarray) -> Iterable[tuple[SpanLike | Sequence[SpanLike], SpanLike]]:
        """The windows over ``timeline`` (the study's bar times, int64 ns UTC,
        sorted): each a ``(train, test)`` pair where ``test`` is ``(first,
        last)`` and ``train`` is one such pair or a list of them."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement windows(timeline)")


registry.expect("sequence", WindowScheme)


def scheme_class(name: str) -> type[WindowScheme]:
    """The plugin sequence class ``name`` names (registered, or
    ``"package.module:Name"``); ConfigError on ``sequence.type`` otherwise."""
    from .. import config as _config  # the built-in names, for the message

    try:
        cls = registry.get("sequence", name)
    except PluginError as exc:
        text = str(exc)
        if text.startswith("unknown sequence"):
            builtin = ", ".join(_config.SEQUENCE_KEYS)
            plugins = [n for n in registry.names("sequence")]
            text = (f"expected one of {builtin}" + (f" or a plugin sequence ({', '.join(plugins)})"
                                                    if plugins else "")
                    + f"; got {name!r}" + _suggest(name, [*_config.SEQUENCE_KEYS, *plugins]))
        raise ConfigError(f"sequence.type: {text}") from None
    if not (isinstance(cls, type) and issubclass(cls, WindowScheme)):
        raise ConfigError(f"sequence.type: {name!r} is registered as a sequence but is not a "
                          f"subclass of admf.research.sequences.WindowScheme")
    if cls.shape not in SHAPES:
        raise ConfigError(f"sequence.type: {name!r} has shape {cls.shape!r}; expected one of "
                          f"{', '.join(SHAPES)}")
    return cls


def _suggest(name: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, choices, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def build_scheme(name: str, params: dict[str, Any] | None) -> WindowScheme:
    """An instance of plugin sequence ``name`` with ``sequence.params``; an
    unknown or missing parameter, or a constructor that raises, is a
    ConfigError naming ``sequence.params``."""
    cls = scheme_class(name)
    params = dict(params or {})
    known = [p.name for p in describe_object(cls)]
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        signature = None
    open_ended = signature is not None and any(
        p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    for key in params:
        if not open_ended and key not in known:
            raise ConfigError(f"sequence.params.{key}: sequence {name!r} has no parameter {key!r}"
                              f"{_suggest(key, known)} (parameters: {', '.join(known) or 'none'})")
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(f"sequence.params: {name}: {exc}") from None
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"sequence.params: {name} could not be built: "
                          f"{type(exc).__name__}: {exc}") from exc


def scheme_windows(name: str, params: dict[str, Any] | None, timeline: np.ndarray) -> list[Window]:
    """The windows plugin sequence ``name`` cuts from ``timeline``, checked
    (see the module docstring); ConfigError naming the window otherwise."""
    scheme = build_scheme(name, params)
    where = f"sequence.type {name!r}"
    try:
        given = list(scheme.windows(timeline))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except Exception as exc:
        raise ConfigError(f"{where}: windows() raised {type(exc).__name__}: {exc}") from exc
    if not given:
        raise ConfigError(f"{where}: windows() gave no window for {len(timeline)} bars")
    windows = [_window(where, i, item, len(timeline)) for i, item in enumerate(given)]
    for w in windows:
        for span in w.train:
            if span.first <= w.test.last and w.test.first <= span.last:
                raise ConfigError(f"{where}: window {w.index} trains on bars {span.first}..{span.last}, "
                                  f"inside its test bars {w.test.first}..{w.test.last}")
            if scheme.shape == "walk_forward" and span.last >= w.test.first:
                raise ConfigError(f"{where}: window {w.index} trains on bars up to {span.last}, after "
                                  f"its test starts (bar {w.test.first}); a walk_forward-shaped "
                                  "sequence trains on earlier bars only (shape = 'k_fold' allows "
                                  "trains on both sides)")
    if scheme.shape == "walk_forward":
        for before, after in zip(windows, windows[1:]):
            if after.test.first <= before.test.last:
                raise ConfigError(f"{where}: window {after.index}'s test (bars {after.test.first}.."
                                  f"{after.test.last}) does not start after window {before.index}'s "
                                  f"(bars {before.test.first}..{before.test.last}); the test windows "
                                  "of a walk_forward-shaped sequence are stitched, in time order")
    return windows


def _window(where: str, index: int, item: Any, bars: int) -> Window:
    try:
        train, test = item
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: window {index}: expected a (train, test) pair, got "
                          f"{item!r}") from None
    test_span = _span(where, index, "test", test, bars)
    many = isinstance(train, (list, tuple)) and bool(train) and \
        all(isinstance(s, (list, tuple, np.ndarray)) for s in train)
    spans = tuple(_span(where, index, "train", s, bars) for s in (train if many else [train]))
    return Window(index=index, train=spans, test=test_span)


def _span(where: str, index: int, what: str, value: Any, bars: int) -> Span:
    try:
        pair = tuple(value)
        first, last = (int(v) for v in pair)
        exact = all(float(v) == int(v) and not isinstance(v, bool) for v in pair)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: window {index}: {what} must be (first, last) bar indices, "
                          f"got {value!r}") from None
    if not exact or not 0 <= first <= last < bars:
        raise ConfigError(f"{where}: window {index}: {what} bars {value!r} are not inside the "
                          f"timeline (0..{bars - 1}, first <= last)")
    return Span(first, last)
