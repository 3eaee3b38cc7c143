"""Check a study's grids without expanding them (``admf validate``, ``admf.load``).

A run must make every grid point, and :func:`~admf.research.study.strategy_points`
does (within ``limits.max_grid_points``). A check does not need to: for a grid
of more than :data:`EXACT_UP_TO` portfolios it walks each strategy's grid
lazily to its first valid point (the run skips invalid points and fails only
when none is valid, so that is the same verdict), builds every value of the
risk, sizing and execution grid once on that point (the sum of the value
counts, not their product), and hands those few points on to the component
and topology checks. A million-point grid is checked in milliseconds and
kilobytes; small grids are still expanded and checked point by point.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any


from ..errors import ConfigError
from .config import StudyConfig
from .config.grid import (
    apply_downstream,
    downstream_counts,
    downstream_grid,
    expand_values,
    grid_size,
)
from .points import (
    StrategyPoint,
    check_settings,
    strategy_factory,
    strategy_points,
    with_settings,
)
from .study import _Settings

__all__ = ("EXACT_UP_TO", "grid_total", "sample_points")

EXACT_UP_TO = 1_000
"""Grids up to this many portfolios are expanded and checked point by point."""


def grid_total(config: StudyConfig) -> int:
    """How many portfolios the study's grids make (before the strategies'
    own rules drop any), as a product of counts."""
    downstream = 1
    for count in downstream_counts(config).values():
        downstream *= count
    return sum(grid_size(s.params) for s in config.strategies
               if isinstance(s.params, dict)) * downstream


def sample_points(config: StudyConfig, *, exact_up_to: int = EXACT_UP_TO) -> list[StrategyPoint]:
    """The points a check builds: every point of a small grid, else each
    strategy's first valid point with the first risk/sizing/execution
    combination (every other value of that grid is built once on its own)."""
    if grid_total(config) <= exact_up_to:
        return strategy_points(config)
    points = [_first_valid(config, i) for i in range(len(config.strategies))]
    grid = downstream_grid(config)
    if not grid:
        return points
    first = {key: values[0] for key, values in grid.items()}
    for key, values in grid.items():
        for value in values[1:]:
            _Settings(apply_downstream(config, {**first, key: value}))
    return [with_settings(p, first) for p in points]


def _lazy_grid(params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    names = list(params)
    choices = [expand_values(params[name]) for name in names]
    for combo in itertools.product(*choices):
        yield dict(zip(names, combo, strict=True))


def _first_valid(config: StudyConfig, i: int) -> StrategyPoint:
    strategy = config.strategies[i]
    if not isinstance(strategy.params, dict):
        raise ConfigError(f"strategies[{i}].params: {strategy.params!r} is a reference to "
                          "a workflow phase's output; only a workflow can resolve it")
    check_settings(config, i)
    base = strategy.name or strategy.type.rsplit(":", 1)[-1]
    first_error: ConfigError | None = None
    for params in _lazy_grid(strategy.params):
        suffix = ",".join(f"{k}={v}" for k, v in params.items())
        point = StrategyPoint(id=f"{base}({suffix})" if suffix else base, type=strategy.type,
                              params=params, direction=strategy.direction,
                              where=f"strategies[{i}]")
        try:
            strategy_factory(point)
        except ConfigError as exc:
            first_error = first_error or exc
            continue
        return with_settings(point, strategy.settings)
    raise ConfigError(f"strategies[{i}]: every point of the grid is invalid, "
                      f"e.g. {first_error}") from None
