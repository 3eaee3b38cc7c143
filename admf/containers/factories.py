"""The container types topology patterns name (registry kind ``"container"``).

A pattern calls ``factory(context, name=..., **args)``; the backtest builder
puts a ``parts`` object in the context that knows the study (its config,
strategy points, data window and result directories) and makes the actual
containers, so these factories stay one line each.
"""

from __future__ import annotations

from typing import Any

from ..runtime.container import Container
from ..runtime.registry import register

__all__ = ("bar_source", "live_source", "strategy_bank", "portfolio", "signal_recorder",
           "signal_replayer", "bar_hub", "order_portfolio", "simulated_broker")


@register("container", "bar_source")
def bar_source(context: Any, *, name: str, symbol: str) -> Container:
    """Streams one symbol's bars (``bars`` output)."""
    return context["parts"].source(name, symbol)


@register("container", "live_source")
def live_source(context: Any, *, name: str) -> Container:
    """Every symbol's bars as an application feeds them (``bars`` output;
    ``admf.Runtime(feed=...)``)."""
    return context["parts"].live_source(name)


@register("container", "strategy_bank")
def strategy_bank(context: Any, *, name: str) -> Container:
    """Every strategy point's indicators and targets (``bars`` in, ``signals`` out)."""
    return context["parts"].strategy_bank(name)


@register("container", "portfolio")
def portfolio(context: Any, *, name: str, point: str) -> Container:
    """The portfolio of strategy point ``point`` (``signals`` in)."""
    return context["parts"].portfolio(name, point)


@register("container", "signal_recorder")
def signal_recorder(context: Any, *, name: str) -> Container:
    """Keeps every strategy's signals sparse for the signal store (``signals`` in)."""
    return context["parts"].signal_recorder(name)


@register("container", "signal_replayer")
def signal_replayer(context: Any, *, name: str) -> Container:
    """Stored signals played back in place of the strategies (``bars`` in, ``signals`` out)."""
    return context["parts"].signal_replayer(name)


@register("container", "bar_hub")
def bar_hub(context: Any, *, name: str) -> Container:
    """Every symbol's bars, merged by event time, to every consumer (``bars``
    in, ``out`` out)."""
    from .orders import BarHub

    return BarHub(name)


@register("container", "order_portfolio")
def order_portfolio(context: Any, *, name: str, point: str, remote: bool = False) -> Container:
    """Order strategy point ``point``: its strategy and execution kernel in one
    fused loop (``bars`` in); with ``remote`` its fills come from a broker
    (``orders`` out, ``reports`` in)."""
    return context["parts"].order_portfolio(name, point, remote=remote)


@register("container", "simulated_broker")
def simulated_broker(context: Any, *, name: str, point: str) -> Container:
    """The execution kernel of strategy point ``point`` as a broker actor
    (``orders`` in, ``reports`` out)."""
    return context["parts"].broker(name, point)
