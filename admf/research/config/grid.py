"""Parameter grids: a strategy parameter given as a list, or as
``{range: [start, stop, step]}``, is a set of values to try.

``{range: [5, 50, 5]}`` is 5, 10, ..., 50: both ends are included when the
step lands on ``stop``. Integer ranges stay integers; float ranges are
computed exactly in decimal (``{range: [0.1, 0.3, 0.1]}`` is exactly
``[0.1, 0.2, 0.3]``), so no value drifts to ``0.30000000000000004``.

A parameter whose real value is a list is written as a one-item grid,
``[[0.5, 0.5]]``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from ...errors import ConfigError

__all__ = ("MAX_RANGE_VALUES", "MAX_GRID_POINTS", "is_range_spec", "range_spec", "range_count",
           "range_ends", "expand_range", "expand_values", "count_values", "grid_counts",
           "grid_size", "expand_grid", "is_grid_value", "downstream_grid", "downstream_counts",
           "expand_downstream", "apply_downstream", "downstream_label", "grid_overflow",
           "setting_problem")

MAX_RANGE_VALUES = 1_000_000
"""A range with more values than this is refused (usually a typo in ``step``)."""

MAX_GRID_POINTS = 1_000_000
"""Default of ``limits.max_grid_points``: the most portfolios a study's grids
may make in all (strategy grids times the risk, sizing and execution grid),
counted before anything is expanded."""


def is_range_spec(value: Any) -> bool:
    """Whether ``value`` is a ``{range: [...]}`` mapping."""
    return isinstance(value, Mapping) and "range" in value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_range(start: float, stop: float, step: float) -> None:
    if not all(_is_number(v) for v in (start, stop, step)):
        raise ConfigError(f"expected three numbers [start, stop, step], got "
                          f"{[start, stop, step]!r}")
    if step <= 0:
        raise ConfigError(f"expected step > 0, got {step!r}")
    if start > stop:
        raise ConfigError(f"expected start <= stop, got start {start!r} > stop {stop!r}")


def _integral(*values: float) -> bool:
    return all(isinstance(v, int) for v in values)


def _decimals(*values: float) -> tuple[Decimal, ...]:
    # Decimal of the shortest repr is the number the user wrote: 0.1 is exactly 0.1.
    return tuple(Decimal(repr(float(v))) for v in values)


def range_count(start: float, stop: float, step: float) -> int:
    """How many values :func:`expand_range` gives, computed without making
    them; raises :class:`ConfigError` as it does."""
    _check_range(start, stop, step)
    if _integral(start, stop, step):
        count = int((stop - start) // step + 1)
    else:
        d_start, d_stop, d_step = _decimals(start, stop, step)
        count = int((d_stop - d_start) / d_step) + 1
    _check_count(count)
    return count


def range_ends(start: float, stop: float, step: float) -> list[int] | list[float]:
    """The first and last value of :func:`expand_range` (one value when they
    coincide): enough to check bounds, without making the values between."""
    count = range_count(start, stop, step)
    if _integral(start, stop, step):
        ends: list[Any] = [start, start + (count - 1) * step]
    else:
        d_start, _, d_step = _decimals(start, stop, step)
        ends = [float(d_start), float(d_start + (count - 1) * d_step)]
    return ends[:1] if count == 1 else ends


def expand_range(start: float, stop: float, step: float) -> list[int] | list[float]:
    """Every value ``start + i*step`` up to and including ``stop``.

    Raises :class:`ConfigError` unless all three are numbers, ``step > 0`` and
    ``start <= stop``."""
    count = range_count(start, stop, step)
    if _integral(start, stop, step):
        return list(range(start, stop + 1, step))  # type: ignore[arg-type]
    d_start, _, d_step = _decimals(start, stop, step)
    return [float(d_start + i * d_step) for i in range(count)]


def _check_count(count: int) -> None:
    if count > MAX_RANGE_VALUES:
        raise ConfigError(f"the range has {count:,} values, more than {MAX_RANGE_VALUES:,}; "
                          f"check the step")


def range_spec(value: Mapping[str, Any]) -> list[Any]:
    """``[start, stop, step]`` of a ``{range: [...]}`` mapping, its shape checked."""
    extra = sorted(set(value) - {"range"})
    if extra:
        raise ConfigError(f"a range takes only the key 'range', got also {', '.join(extra)}")
    spec = value["range"]
    if not isinstance(spec, list | tuple) or len(spec) != 3:
        raise ConfigError(f"expected range: [start, stop, step], got {spec!r}")
    return list(spec)


def expand_values(value: Any) -> list[Any]:
    """The values one parameter takes: a list's items, a range's values, or
    the value itself."""
    if is_range_spec(value):
        return expand_range(*range_spec(value))
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def count_values(value: Any) -> int:
    """How many values :func:`expand_values` gives, without making a range's
    values; raises :class:`ConfigError` as it does."""
    if is_range_spec(value):
        return range_count(*range_spec(value))
    if isinstance(value, list | tuple):
        return len(value)
    return 1


def grid_counts(params: Mapping[str, Any]) -> dict[str, int]:
    """Each parameter's number of values (see :func:`count_values`)."""
    return {name: count_values(value) for name, value in params.items()}


def grid_size(params: Mapping[str, Any]) -> int:
    """How many combinations :func:`expand_grid` makes: the product of the
    parameters' value counts, computed instead of expanding."""
    size = 1
    for count in grid_counts(params).values():
        size *= count
    return size


def expand_grid(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the parameters' values, as a list of dicts.

    Deterministic order: the first key varies slowest; keys and values keep
    the order they were given in. ``{}`` is one empty combination."""
    names = list(params)
    choices = [expand_values(params[name]) for name in names]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*choices)]


# -- grids downstream of signals ---------------------------------------------

DOWNSTREAM_COMPONENTS = (("portfolio", "sizing"), ("execution", "commission"),
                         ("execution", "slippage"))
"""The component specs whose parameters (every key but ``type``) may be grids."""


def is_grid_value(value: Any) -> bool:
    """Whether a risk, sizing or execution value is a grid: a range, or a list
    of plain values (a list of lists, like ``tiers``, is a real value)."""
    if is_range_spec(value):
        return True
    return isinstance(value, list | tuple) and not any(
        isinstance(v, list | tuple | Mapping) for v in value)


def downstream_grid(config: Any) -> dict[str, list[Any]]:
    """The grid keys of ``config``'s ``risk``, ``portfolio.sizing`` and
    ``execution`` sections as dotted key paths -> values, in config order.

    These settings act after the signals, so a study computes each strategy
    point's signals once and books them into one portfolio per combination."""
    return {key: expand_values(value) for key, value in _downstream_values(config)}


def downstream_counts(config: Any) -> dict[str, int]:
    """:func:`downstream_grid`'s keys and how many values each takes, without
    expanding a range."""
    return {key: count_values(value) for key, value in _downstream_values(config)}


def _downstream_values(config: Any) -> Iterator[tuple[str, Any]]:
    """Each downstream grid's dotted key and its unexpanded value, in config order."""
    for name in config.risk.__struct_fields__:
        value = getattr(config.risk, name)
        if is_grid_value(value):
            yield f"risk.{name}", value
    if is_grid_value(config.execution.fill):
        yield "execution.fill", config.execution.fill
    for section, key in DOWNSTREAM_COMPONENTS:
        spec = getattr(getattr(config, section), key)
        for param, value in spec.items():
            if param != "type" and is_grid_value(value):
                yield f"{section}.{key}.{param}", value


def expand_downstream(config: Any) -> list[dict[str, Any]]:
    """Every combination of :func:`downstream_grid` (``[{}]`` without a grid)."""
    return expand_grid(downstream_grid(config))


def apply_downstream(config: Any, values: Mapping[str, Any]) -> Any:
    """``config`` with the dotted keys of ``values`` (one combination of
    :func:`expand_downstream`, a strategy's ``settings``, or both) set to
    those values: the settings of one portfolio.

    A component's ``type`` among them (``execution.commission.type``, which a
    chosen strategy's settings carry with its parameters) that differs from
    the config's own replaces the component: it starts from that type alone,
    so no parameter of the other type is left over (types are set first)."""
    import msgspec

    if not values:
        return config
    sections: dict[str, Any] = {}
    types_first = sorted(values.items(), key=lambda item: not item[0].endswith(".type"))
    for path, value in types_first:
        section, *rest = path.split(".")
        current = sections.get(section, getattr(config, section))
        if len(rest) == 1:
            current = msgspec.structs.replace(current, **{rest[0]: value})
        else:
            key, param = rest
            spec = dict(getattr(current, key))
            if param == "type" and spec.get("type") != value:
                spec = {}
            spec[param] = value
            current = msgspec.structs.replace(current, **{key: spec})
        sections[section] = current
    return msgspec.structs.replace(config, **sections)


def setting_problem(path: str, value: Any, risk_keys: Iterator[str] | tuple[str, ...]) -> str | None:
    """What is wrong with one key of a strategy's ``settings``, or None: the
    keys a risk/sizing/execution grid may vary (``risk.<limit>``,
    ``execution.fill``, ``portfolio.sizing.<param>``,
    ``execution.commission.<param>``, ``execution.slippage.<param>``, a
    component's ``type`` included), each with one plain value."""
    parts = path.split(".")
    components = {f"{section}.{key}" for section, key in DOWNSTREAM_COMPONENTS}
    if len(parts) == 2 and parts[0] == "risk":
        if parts[1] not in risk_keys:
            return f"no risk limit {parts[1]!r} (risk limits: {', '.join(risk_keys)})"
    elif len(parts) == 3 and ".".join(parts[:2]) in components:
        if parts[2] == "type" and not isinstance(value, str):
            return f"a component type is a name, got {value!r}"
    elif path != "execution.fill":
        return ("expected a dotted risk, sizing or execution key: risk.<limit>, execution.fill, "
                "portfolio.sizing.<param>, execution.commission.<param> or "
                "execution.slippage.<param>")
    if is_grid_value(value) or isinstance(value, Mapping):
        return (f"a strategy's settings hold one value per key, got {value!r} (a grid goes in "
                f"the study's own {parts[0]} section)")
    return None


def downstream_label(values: Mapping[str, Any]) -> str:
    """``{"risk.stop_loss": 0.01}`` -> ``"stop_loss=0.01"``: the portfolio half
    of a point's id (the last part of each key, the full key when two share it)."""
    tails = [k.rsplit(".", 1)[-1] for k in values]
    names = [t if tails.count(t) == 1 else k for t, k in zip(tails, values, strict=True)]
    return ",".join(f"{n}={v}" for n, v in zip(names, values.values(), strict=True))


def grid_overflow(strategies: Mapping[int, Mapping[str, int]], downstream: Mapping[str, int],
                  limit: int) -> str | None:
    """The problem, or None: whether the strategy grids (``strategies[i]`` ->
    each parameter's value count) crossed with the ``downstream`` grid make
    more than ``limit`` portfolios. Only counts are multiplied."""
    def product(counts: Mapping[str, int]) -> int:
        size = 1
        for count in counts.values():
            size *= count
        return size

    def spelled(counts: Mapping[str, int]) -> str:
        grid = {k: n for k, n in counts.items() if n > 1}
        return " x ".join(f"{k} {n:,}" for k, n in grid.items()) or "1 point"

    per_strategy = {i: product(c) for i, c in strategies.items()}
    total = sum(per_strategy.values()) * product(downstream)
    if total <= limit:
        return None
    parts = [f"strategies[{i}].params ({spelled(strategies[i])}) = {n:,}"
             for i, n in per_strategy.items() if n > 1 or len(per_strategy) == 1]
    text = " + ".join(parts) if parts else f"{sum(per_strategy.values()):,} strategies"
    if len(parts) > 1:
        text = f"({text})"
    if downstream and product(downstream) > 1:
        text += f" x risk/sizing/execution ({spelled(downstream)}) = {product(downstream):,}"
    return (f"the grids make {total:,} portfolios: {text}; that is more than "
            f"limits.max_grid_points = {limit:,}. Narrow the grid (fewer values or a "
            f"larger step), or raise limits.max_grid_points")
