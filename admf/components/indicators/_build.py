"""Building an indicator from its registry name and a parameter mapping."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

from ...errors import ConfigError, PluginError
from ...runtime.registry import registry
from ._base import Indicator


def build(name: str, params: Mapping[str, Any]) -> Indicator[Any]:
    """The indicator registered as ``name`` (or ``"pkg.mod:Name"``) built from
    ``params``; an unknown or missing parameter raises ConfigError naming it.

    A ``timeframe`` parameter (``"1d"``) computes it on that coarser
    timeframe of the same bars (:class:`~._timeframe.OnTimeframe`)."""
    if "timeframe" in params:
        from ._timeframe import OnTimeframe

        rest = {k: v for k, v in params.items() if k != "timeframe"}
        return OnTimeframe(build(name, rest), params["timeframe"])
    try:
        cls = registry.get("indicator", name)
    except PluginError as exc:
        raise ConfigError(str(exc)) from None
    signature = inspect.signature(cls).parameters
    for param in params:
        if param not in signature:
            close = difflib.get_close_matches(param, list(signature), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"indicator {name!r} has no parameter {param!r}{hint} (expected: {', '.join(signature)})"
            )
    missing = [p for p, spec in signature.items() if spec.default is spec.empty and p not in params]
    if missing:
        raise ConfigError(f"indicator {name!r}: missing parameter {', '.join(map(repr, missing))}")
    indicator: Indicator[Any] = cls(**params)
    return indicator
