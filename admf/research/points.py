"""The points of a study: each strategy's grid expanded, crossed with the
risk, sizing and execution grid, each point a strategy type, parameters and
portfolio settings that one isolated portfolio runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from ..components._blame import user_site
from ..components.context import OrderStrategy
from ..components.indicators import build
from ..components.per_bar import BarStrategy, PerBarStrategy, specs_of
from ..components.strategies import Strategy
from ..data.timeparse import parse_duration
from ..errors import ConfigError, OrderError, PluginError
from ..runtime.registry import registry, validation_text
from .config import StudyConfig, expand_grid
from .config.grid import downstream_label, expand_downstream
from .faults import not_built
from .results.runs import run_key

__all__ = ("StrategyPoint", "strategy_points", "expand_points", "strategy_factory", "warmup_bars",
           "is_order_point", "with_settings", "check_settings")


class StrategyPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One strategy with one set of parameters and one set of portfolio
    settings: one portfolio.

    ``portfolio`` holds the point's values of the risk, sizing and execution
    grid (dotted keys like ``risk.stop_loss``; empty without such a grid);
    ``signals`` is the id of the strategy half, shared by every point whose
    signals are the same, so they are computed once."""

    id: str
    type: str
    params: dict[str, Any]
    direction: str
    where: str  # config key path, for errors
    portfolio: dict[str, Any] = msgspec.field(default_factory=dict)
    signals: str = ""

    @property
    def signal_id(self) -> str:
        """The strategy half's id (the point's own id without a portfolio grid)."""
        return self.signals or self.id


def strategy_points(config: StudyConfig) -> list[StrategyPoint]:
    """The valid (strategy, parameter set) points of the config, grids expanded
    in order (see :func:`expand_points` for the ones left out)."""
    return expand_points(config)[0]


def expand_points(config: StudyConfig) -> tuple[list[StrategyPoint], list[dict[str, str]]]:
    """Every point of every strategy's grid, and the grid points the strategy
    itself rejects (say fast >= slow), each with the reason. A grid whose
    every point is rejected, or a single point that is, raises the error.

    With a risk, sizing or execution grid every strategy point is crossed
    with every combination of it (strategy points vary slowest); the product
    point's id is ``<strategy point>+<portfolio values>``."""
    points: list[StrategyPoint] = []
    skipped: list[dict[str, str]] = []
    for i, strategy in enumerate(config.strategies):
        if not isinstance(strategy.params, dict):
            raise ConfigError(f"strategies[{i}].params: {strategy.params!r} is a reference to "
                              "a workflow phase's output; only a workflow can resolve it")
        grid = expand_grid(strategy.params)
        check_settings(config, i)
        base = strategy.name or strategy.type.rsplit(":", 1)[-1]
        valid: list[StrategyPoint] = []
        first_error: ConfigError | None = None
        for params in grid:
            suffix = ",".join(f"{k}={v}" for k, v in params.items())
            pid = base if len(grid) == 1 and strategy.name else f"{base}({suffix})" if suffix else base
            point = StrategyPoint(id=pid, type=strategy.type, params=params,
                                  direction=strategy.direction, where=f"strategies[{i}]")
            if len(grid) > 1:
                try:
                    strategy_factory(point)
                except ConfigError as exc:
                    first_error = first_error or exc
                    skipped.append({"portfolio": pid, "reason": str(exc)})
                    continue
            valid.append(with_settings(point, strategy.settings))
        if not valid and first_error is not None:
            raise ConfigError(f"strategies[{i}]: every point of the grid is invalid, "
                              f"e.g. {first_error}") from None
        points.extend(valid)
    downstream = expand_downstream(config)
    if downstream != [{}]:
        points = [with_settings(p, values) for p in points for values in downstream]
    seen: dict[str, str] = {}  # run directory -> portfolio
    for point in points:
        key = run_key(point.id)
        if key in seen:
            other = seen[key]
            what = (f"the same portfolio {point.id!r}" if other == point.id else
                    f"portfolios {other!r} and {point.id!r}, which share run directory {key!r}")
            raise ConfigError(f"two strategies resolve to {what}; give them distinct names")
        seen[key] = point.id
    return points, skipped


def check_settings(config: StudyConfig, i: int) -> None:
    """Strategy ``i``'s ``settings`` make valid components and limits, or the
    error naming them (they are built again with each point's grid values)."""
    settings = config.strategies[i].settings
    if not settings:
        return
    from .config.grid import apply_downstream
    from .study import _Settings  # the study module builds on this one

    try:
        _Settings(apply_downstream(config, settings))
    except ConfigError as exc:
        raise ConfigError(f"strategies[{i}].settings: {exc}") from None


def with_settings(point: StrategyPoint, values: Mapping[str, Any]) -> StrategyPoint:
    """``point`` run with the risk/sizing/execution ``values`` too (a
    strategy's own ``settings``, then a study grid's combination, which wins
    on a key both set): its id gets them as ``+key=value``, its signals stay
    the strategy half's."""
    if not values:
        return point
    portfolio = {**point.portfolio, **values}
    return msgspec.structs.replace(point, id=f"{point.signal_id}+{downstream_label(portfolio)}",
                                   portfolio=portfolio, signals=point.signal_id)


def strategy_factory(point: StrategyPoint) -> Callable[[], Any]:
    """A function making fresh instances of ``point``'s strategy (one per symbol);
    the parameters are checked now."""
    try:
        cls = registry.get("strategy", point.type)
    except PluginError as exc:
        raise ConfigError(f"{point.where}.type: {exc}") from None
    if isinstance(cls, type) and issubclass(cls, Strategy) and getattr(cls, "flat_params", False):
        try:  # an ensemble: its members' and classifier's keys are its params
            cls(dict(point.params), direction=point.direction)
        except ConfigError as exc:
            raise ConfigError(f"{point.where}.params: {exc}") from None
        return lambda: cls(dict(point.params), direction=point.direction)
    if isinstance(cls, type) and issubclass(cls, Strategy):
        try:
            params = msgspec.convert(point.params, cls.Params)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"{point.where}.params: {point.type} "
                              f"{validation_text(exc, cls.Params)}") from None
        try:
            cls(params, direction=point.direction)  # cross-parameter rules, checked now
        except ConfigError as exc:
            raise ConfigError(f"{point.where}.params: {exc}") from None
        except Exception as exc:  # the user's own __init__ failed
            raise not_built(point, cls, exc) from exc
        return lambda: cls(params, direction=point.direction)
    if isinstance(cls, type) and issubclass(cls, BarStrategy):
        try:  # parameters and indicator specs are checked now, before any run
            PerBarStrategy(cls(**point.params), direction=point.direction).indicators()
        except (TypeError, ConfigError) as exc:
            if not isinstance(exc, TypeError) or user_site(exc, cls) is None:
                raise ConfigError(f"{point.where}.params: {point.type}: {exc}") from None
            raise not_built(point, cls, exc) from exc  # a TypeError inside their code
        except Exception as exc:
            raise not_built(point, cls, exc) from exc
        return lambda: PerBarStrategy(cls(**point.params), direction=point.direction)
    if isinstance(cls, type) and issubclass(cls, OrderStrategy):
        try:  # parameters and indicator specs are checked now, before any run
            specs_of(cls(**point.params))
        except (OrderError, ConfigError) as exc:
            raise ConfigError(f"{point.where}.params: {point.type}: {exc}") from None
        except Exception as exc:
            raise not_built(point, cls, exc) from exc
        return lambda: cls(**point.params)
    raise ConfigError(f"{point.where}.type: {point.type!r} is neither an admf Strategy, a "
                      "BarStrategy nor an OrderStrategy subclass")


def is_order_point(point: StrategyPoint) -> bool:
    """Whether ``point``'s strategy places orders (an
    :class:`~admf.components.context.OrderStrategy`) rather than targets."""
    try:
        cls = registry.get("strategy", point.type)
    except PluginError:
        return False
    return isinstance(cls, type) and issubclass(cls, OrderStrategy)


def indicators_of(strategy: Any) -> dict[str, Any]:
    """The indicator objects of a fresh strategy instance, whatever its kind."""
    if isinstance(strategy, OrderStrategy):
        return {role: build(kind, params) for role, (kind, params) in specs_of(strategy).items()}  # type: ignore[arg-type]
    return strategy.indicators()


def warmup_bars(config: StudyConfig, points: Sequence[StrategyPoint]) -> int:
    """How many bars before a test window its indicators warm up on:
    ``sequence.warmup`` as a number, or for ``auto`` the longest indicator
    warm-up (leading undefined rows) of ``points`` plus one bar, so that a
    comparison with the previous value is defined on the window's first bar."""
    setting = config.sequence.warmup
    if setting is None:
        return 0
    if isinstance(setting, int):
        return setting
    longest = 0
    bar = parse_duration(config.data.bar_timeframe)
    for point in points:
        strategy = strategy_factory(point)()
        for indicator in indicators_of(strategy).values():
            span = getattr(indicator, "warmup_span_ns", None)  # a coarser-timeframe indicator
            bars = -(-int(span) // bar) if span else int(getattr(indicator, "warmup", 0))
            longest = max(longest, bars)
    return longest + 1
