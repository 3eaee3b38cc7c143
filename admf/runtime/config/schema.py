"""The study config: frozen, keyword-only msgspec Structs, one per section of
``CONFIG.md``.

Types are checked when a config is decoded (:func:`load_config`); values,
ranges and the keys that belong to the chosen variant (a ``source``, a
sequence ``type``) are checked in ``__post_init__``, so a struct built
directly in Python is checked too. Keys that only make sense for one variant
default to ``None`` and are filled with that variant's defaults after the
check, so the merged config shows every value that runs, and a value given
for the wrong variant is an error instead of being ignored.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, ClassVar, Literal

import msgspec
from msgspec.structs import force_setattr

from ...errors import ConfigError
from . import _checks as c
from .grid import expand_grid, expand_values, is_range_spec
from .identity import config_fingerprint

__all__ = (
    "DataConfig",
    "StrategyConfig",
    "PortfolioConfig",
    "ExecutionConfig",
    "RiskConfig",
    "SequenceConfig",
    "ResultsConfig",
    "ContainerTracing",
    "TracingConfig",
    "ExecutorConfig",
    "TopologyConfig",
    "StudyConfig",
    "SYNTHETIC_DEFAULTS",
    "SEQUENCE_KEYS",
)

Source = Literal["csv", "parquet", "synthetic"]
Direction = Literal["long_only", "short_only", "long_short"]
Fill = Literal["next_open", "next_close", "same_close"]
SequenceType = Literal["single_pass", "train_test", "walk_forward", "k_fold", "monte_carlo",
                       "parameter_sweep"]
Storage = Literal["memory", "disk", "hybrid"]
TraceLevel = Literal["none", "minimal", "normal", "debug"]
ExecutorKind = Literal["inline", "processes", "dask"]
Calendar = Literal["24/7", "equity"]

SYNTHETIC_DEFAULTS: dict[str, float] = {"bars": 10_000, "start_price": 100.0,
                                        "volatility": 0.01, "drift": 0.0}
"""Values of the synthetic (seeded random-walk) source's keys when not given."""

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_REFERENCE = re.compile(r"^\{[A-Za-z_][\w-]*(\.[\w-]+)+\}$")


class _Section(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    _section: ClassVar[str] = ""


class DataConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Where bars come from. ``path`` may contain ``{symbol}`` and
    ``{timeframe}``, filled per symbol by the data layer."""

    _section: ClassVar[str] = "data"

    source: Source = "synthetic"
    path: str | None = None
    symbols: tuple[str, ...]
    timeframe: str = "1m"
    start: str | None = None
    end: str | None = None
    tz: str | None = None
    batch_rows: int = 65536
    bars: int | None = None
    start_price: float | None = None
    volatility: float | None = None
    drift: float | None = None
    calendar: Calendar = "24/7"
    """How many bars make a year, for annualised metrics: ``24/7`` (365.25
    days of bars) or ``equity`` (252 sessions of 6.5 hours)."""

    def __post_init__(self) -> None:
        symbols = c.as_tuple(self, "symbols")
        if not symbols:
            raise c.fail(self, "symbols", "expected at least one symbol, got an empty list")
        for i, symbol in enumerate(symbols):
            c.check_name(self, ("symbols", i), symbol, "a symbol name")
        if len(set(symbols)) != len(symbols):
            dup = next(s for s in symbols if symbols.count(s) > 1)
            raise c.fail(self, "symbols", f"symbol {dup!r} is listed twice")
        try:
            c.parse_duration(self.timeframe)
        except ValueError as exc:
            raise c.fail(self, "timeframe", f"expected a bar interval: {exc}") from None
        self._check_window()
        if self.batch_rows <= 0:
            raise c.fail(self, "batch_rows", f"expected an integer > 0, got {self.batch_rows!r}")
        if self.tz is not None:
            self._check_tz()
        if self.source == "synthetic":
            self._check_synthetic()
        else:
            self._check_file_source()

    def _check_window(self) -> None:
        bounds = {}
        for key in ("start", "end"):
            value = c.iso_text(self, key)
            if value is not None:
                try:
                    bounds[key] = c.parse_instant(value)
                except ValueError as exc:
                    raise c.fail(self, key, str(exc)) from None
        if len(bounds) == 2 and bounds["start"] > bounds["end"]:
            raise c.fail(self, "end", f"expected end >= start ({self.start}), got {self.end}")

    def _check_tz(self) -> None:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(self.tz)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            if self.tz.upper() != "UTC":
                raise c.fail(self, "tz", f"expected an IANA time zone like 'America/New_York', "
                                         f"got {self.tz!r}") from None

    def _check_synthetic(self) -> None:
        if self.path is not None:
            raise c.fail(self, "path", "not used by source 'synthetic' (it generates its bars); "
                                       "remove it or set source: csv | parquet")
        for key, default in SYNTHETIC_DEFAULTS.items():
            if getattr(self, key) is None:
                force_setattr(self, key, default)
        if self.bars <= 0:
            raise c.fail(self, "bars", f"expected an integer > 0, got {self.bars!r}")
        c.check_range(self, "start_price", self.start_price, low=0)
        c.check_range(self, "volatility", self.volatility, low=0, low_open=False)

    def _check_file_source(self) -> None:
        for key in SYNTHETIC_DEFAULTS:
            if getattr(self, key) is not None:
                raise c.fail(self, key, f"only used by source 'synthetic', not by "
                                        f"source {self.source!r}")
        if self.path is None:
            raise c.fail(self, "path", f"required by source {self.source!r}, e.g. "
                                       f"'data/{{symbol}}.{self.source}'")
        names = _PLACEHOLDER.findall(self.path)
        for name in names:
            if name not in ("symbol", "timeframe"):
                raise c.fail(self, "path", f"unknown placeholder {{{name}}} in {self.path!r}; "
                                           f"expected {{symbol}} or {{timeframe}}"
                                           + c.suggest(name, ("symbol", "timeframe")))
        if len(self.symbols) > 1 and "symbol" not in names:
            raise c.fail(self, "path", f"{self.path!r} has no {{symbol}} placeholder, so all "
                                       f"{len(self.symbols)} symbols would read the same file")

    def path_for(self, symbol: str) -> str:
        """``path`` with ``{symbol}`` and ``{timeframe}`` filled in."""
        return str(self.path).replace("{symbol}", symbol).replace("{timeframe}", self.timeframe)

    @property
    def interval(self) -> timedelta:
        """The bar interval (``timeframe``) as a timedelta."""
        return c.parse_duration(self.timeframe)


class StrategyConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One strategy. A ``params`` value that is a list or ``{range: [start,
    stop, step]}`` makes a grid (see :func:`expand_grid`). In a workflow
    phase ``params`` may instead be a reference to an earlier phase's output,
    e.g. ``"{explore.best_params}"``."""

    _section: ClassVar[str] = "strategy"

    name: str | None = None
    type: str
    params: dict[str, Any] | str = msgspec.field(default_factory=dict)
    direction: Direction = "long_only"

    def __post_init__(self) -> None:
        if self.name is not None:
            c.check_name(self, "name", self.name)
        c.check_name(self, "type", self.type, "a registered strategy name or 'package.module:Name'")
        module, sep, attr = self.type.partition(":")
        if sep and not (module and attr):
            raise c.fail(self, "type", f"expected 'package.module:Name', got {self.type!r}")
        if isinstance(self.params, str):
            if not _REFERENCE.match(self.params):
                raise c.fail(self, "params", f"expected a mapping of parameters or a phase "
                                             f"output reference like '{{explore.best_params}}', "
                                             f"got {self.params!r}")
            return
        for key, value in self.params.items():
            try:
                values = expand_values(value)
            except ConfigError as exc:
                sub = ("params", key, "range") if is_range_spec(value) else ("params", key)
                raise c.fail(self, sub, str(exc)) from None
            if not values:
                raise c.fail(self, ("params", key), "an empty list makes an empty grid; give at "
                                                    "least one value")

    @property
    def is_reference(self) -> bool:
        """Whether ``params`` is a phase output reference, resolved by the workflow."""
        return isinstance(self.params, str)

    def grid(self) -> list[dict[str, Any]]:
        """Every parameter combination (one item when there is no grid)."""
        if isinstance(self.params, str):
            raise ConfigError(f"strategy {self.type!r}: params {self.params!r} is a reference, "
                              f"resolved when the workflow runs")
        return expand_grid(self.params)


class PortfolioConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    _section: ClassVar[str] = "portfolio"

    initial_cash: float = 100_000.0
    sizing: dict[str, Any] = msgspec.field(
        default_factory=lambda: {"type": "percent_equity", "percent": 100, "whole_units": True})
    close_at_end: bool = False

    def __post_init__(self) -> None:
        c.check_range(self, "initial_cash", self.initial_cash, low=0)
        c.check_component(self, "sizing", self.sizing, "fixed_quantity | fixed_notional | "
                                                       "percent_equity | volatility_target")


class ExecutionConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    _section: ClassVar[str] = "execution"

    fill: Fill = "next_open"
    commission: dict[str, Any] = msgspec.field(default_factory=lambda: {"type": "none"})
    slippage: dict[str, Any] = msgspec.field(default_factory=lambda: {"type": "none"})

    def __post_init__(self) -> None:
        c.check_choice(self, "fill", self.fill, ("next_open", "next_close", "same_close"))
        c.check_component(self, "commission", self.commission,
                          "none | per_share | percentage | fixed | tiered")
        c.check_component(self, "slippage", self.slippage,
                          "none | fixed_bps | percentage | volume_share")


class RiskConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Every limit is optional; ``None`` means no limit."""

    _section: ClassVar[str] = "risk"

    stop_loss: float | None = None
    take_profit: float | None = None
    trailing_stop: float | None = None
    max_position: float | None = None
    max_exposure: float | None = None
    max_drawdown: float | None = None
    daily_loss_limit: float | None = None

    def __post_init__(self) -> None:
        for key in ("stop_loss", "take_profit", "trailing_stop"):
            c.check_range(self, key, getattr(self, key), low=0, high=1)
        for key in ("max_position", "max_exposure"):
            c.check_range(self, key, getattr(self, key), low=0)
        for key in ("max_drawdown", "daily_loss_limit"):
            c.check_range(self, key, getattr(self, key), low=0, high=1, high_open=False)


SEQUENCE_KEYS: dict[str, dict[str, Any]] = {
    "single_pass": {},
    "train_test": {"split": 0.7, "purge": 0},
    "walk_forward": {"train": None, "test": None, "step": None, "anchored": False, "purge": 0},
    "k_fold": {"folds": 5, "purge": 0},
    "monte_carlo": {"runs": 100, "method": "bootstrap_returns", "noise": None},
    "parameter_sweep": {"mode": "grid", "samples": None},
}
"""The keys each sequence type uses, with their defaults (``None``: required or
conditional). ``type`` and ``objective`` belong to every type."""


class SequenceConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """How a study is run. Window lengths (``train``, ``test``, ``step``) are a
    number of bars or a duration like ``"90d"``."""

    _section: ClassVar[str] = "sequence"

    type: SequenceType = "single_pass"
    objective: str = "sharpe_ratio"
    train: int | str | None = None
    test: int | str | None = None
    step: int | str | None = None
    anchored: bool | None = None
    purge: int | None = None
    split: float | str | None = None
    folds: int | None = None
    runs: int | None = None
    method: Literal["bootstrap_returns", "parameter_noise"] | None = None
    noise: float | None = None
    mode: Literal["grid", "random"] | None = None
    samples: int | None = None

    def __post_init__(self) -> None:
        c.check_choice(self, "type", self.type, tuple(SEQUENCE_KEYS))
        c.check_name(self, "objective", self.objective, "a metric name")
        own = SEQUENCE_KEYS[self.type]
        for key in _ALL_SEQUENCE_KEYS:
            if key not in own and getattr(self, key) is not None:
                raise c.fail(self, key, self._not_used(key))
        if self.type == "walk_forward":
            for key in ("train", "test"):
                if getattr(self, key) is None:
                    raise c.fail(self, key, "required by sequence type 'walk_forward' "
                                            "(a number of bars or a duration like '90d')")
            if self.step is None:
                force_setattr(self, "step", self.test)
        for key, default in own.items():
            if getattr(self, key) is None and default is not None:
                force_setattr(self, key, default)
        self._check_values()

    def _not_used(self, key: str) -> str:
        owners = [t for t, keys in SEQUENCE_KEYS.items() if key in keys]
        used = ", ".join(SEQUENCE_KEYS[self.type]) or "only type and objective"
        return (f"not used by sequence type {self.type!r} (its keys: {used}); "
                f"{key} belongs to {' | '.join(owners)}")

    def _check_values(self) -> None:
        for key in ("train", "test", "step"):
            c.check_bars_or_duration(self, key, getattr(self, key))
        given = [k for k in ("train", "test", "step") if getattr(self, k) is not None]
        kinds = [isinstance(getattr(self, k), str) for k in given]
        if len(set(kinds)) > 1:
            raise c.fail(self, given[kinds.index(not kinds[0])],
                         "train, test and step must all be bars or all durations, not a mix")
        if self.purge is not None and self.purge < 0:
            raise c.fail(self, "purge", f"expected a number of bars >= 0, got {self.purge!r}")
        if isinstance(c.iso_text(self, "split"), str):
            try:
                c.parse_instant(self.split)
            except ValueError as exc:
                raise c.fail(self, "split", f"expected a fraction in (0, 1) or a date: {exc}") from None
        else:
            c.check_range(self, "split", self.split, low=0, high=1)
        if self.folds is not None and self.folds < 2:
            raise c.fail(self, "folds", f"expected an integer >= 2, got {self.folds!r}")
        for key in ("runs", "samples"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise c.fail(self, key, f"expected an integer >= 1, got {value!r}")
        if self.method == "parameter_noise" and self.noise is None:
            force_setattr(self, "noise", 0.1)
        elif self.method == "bootstrap_returns" and self.noise is not None:
            raise c.fail(self, "noise", "only used by method 'parameter_noise', not by "
                                        "'bootstrap_returns'")
        c.check_range(self, "noise", self.noise, low=0)
        if self.mode == "random" and self.samples is None:
            raise c.fail(self, "samples", "required by mode 'random' (how many grid points "
                                          "to draw)")
        if self.mode == "grid" and self.samples is not None:
            raise c.fail(self, "samples", "only used by mode 'random'; a grid runs every point")


_ALL_SEQUENCE_KEYS = tuple(dict.fromkeys(k for keys in SEQUENCE_KEYS.values() for k in keys))


class ResultsConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    _section: ClassVar[str] = "results"

    dir: str = "results"
    storage: Storage = "hybrid"
    keep_equity_curves: bool = True

    def __post_init__(self) -> None:
        c.check_name(self, "dir", self.dir, "a directory path")
        c.check_choice(self, "storage", self.storage, ("memory", "disk", "hybrid"))


class ContainerTracing(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Tracing settings for containers whose name matches a pattern;
    ``None`` keeps the study-wide value."""

    _section: ClassVar[str] = "tracing.containers[pattern]"

    level: TraceLevel | None = None
    max_events: int | None = None

    def __post_init__(self) -> None:
        if self.max_events is not None and self.max_events <= 0:
            raise c.fail(self, "max_events", f"expected an integer > 0, got {self.max_events!r}")


class TracingConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    _section: ClassVar[str] = "tracing"

    level: TraceLevel = "none"
    max_events: int = 100_000
    containers: dict[str, ContainerTracing] = msgspec.field(default_factory=dict)
    format: Literal["jsonl", "msgpack"] = "jsonl"
    """How trace files are written: JSON lines, or length-prefixed msgpack."""

    @property
    def enabled(self) -> bool:
        """Whether anything is traced (globally or for some container)."""
        return self.level != "none" or any(
            rule.level not in (None, "none") for rule in self.containers.values())

    def __post_init__(self) -> None:
        c.check_choice(self, "level", self.level, ("none", "minimal", "normal", "debug"))
        if self.max_events <= 0:
            raise c.fail(self, "max_events", f"expected an integer > 0, got {self.max_events!r}")


class TopologyConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Which topology pattern a study runs: a built-in (``backtest``) or a
    ``<pattern>.yaml`` in one of ``paths`` (searched first)."""

    _section: ClassVar[str] = "topology"

    pattern: str = "backtest"
    paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        c.check_name(self, "pattern", self.pattern, "a pattern name")


class ExecutorConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Where independent runs go. ``kind: None`` (the default) lets the runner
    choose: a process pool when there is more than one run, inline otherwise.
    ``workers: None`` means the CPU count."""

    _section: ClassVar[str] = "executor"

    kind: ExecutorKind | None = None
    workers: int | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        c.check_choice(self, "kind", self.kind, ("inline", "processes", "dask"))
        if self.workers is not None and self.workers < 1:
            raise c.fail(self, "workers", f"expected an integer >= 1, got {self.workers!r}")
        if self.address is not None and self.kind != "dask":
            raise c.fail(self, "address", f"only used by kind 'dask' (a scheduler address), "
                                          f"not by kind {self.kind!r}")


class StudyConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One study: data, strategies (with parameter grids), portfolio,
    execution, risk, how it is run (``sequence``), where results go, tracing
    and the executor. ``fingerprint`` is its content hash."""

    name: str = "study"
    seed: int = 0
    data: DataConfig
    strategies: tuple[StrategyConfig, ...]
    portfolio: PortfolioConfig = msgspec.field(default_factory=PortfolioConfig)
    execution: ExecutionConfig = msgspec.field(default_factory=ExecutionConfig)
    risk: RiskConfig = msgspec.field(default_factory=RiskConfig)
    sequence: SequenceConfig = msgspec.field(default_factory=SequenceConfig)
    results: ResultsConfig = msgspec.field(default_factory=ResultsConfig)
    tracing: TracingConfig = msgspec.field(default_factory=TracingConfig)
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)
    topology: TopologyConfig = msgspec.field(default_factory=TopologyConfig)

    _in_workflow: ClassVar[bool] = False  # phases may refer to / reuse earlier phases

    def __post_init__(self) -> None:
        c.check_name(self, "name", self.name)
        if self.seed < 0:
            raise c.fail(self, "seed", f"expected an integer >= 0, got {self.seed!r}")
        strategies = c.as_tuple(self, "strategies")
        if not strategies and not self._in_workflow:
            raise c.fail(self, "strategies", "expected at least one strategy, got an empty list")
        seen: dict[str, int] = {}
        for i, strategy in enumerate(strategies):
            if strategy.is_reference and not self._in_workflow:
                raise c.fail(self, ("strategies", i, "params"),
                             f"{strategy.params!r} refers to a workflow phase's output; "
                             f"only a workflow phase can use it")
            if strategy.name is not None:
                if strategy.name in seen:
                    raise c.fail(self, ("strategies", i, "name"),
                                 f"{strategy.name!r} is also the name of strategies[{seen[strategy.name]}]")
                seen[strategy.name] = i
        self._check_split_date()

    def _check_split_date(self) -> None:
        split = self.sequence.split
        if not isinstance(split, str):
            return
        at = c.parse_instant(split)
        start, end = self.data.start, self.data.end
        if (start and at <= c.parse_instant(start)) or (end and at > c.parse_instant(end)):
            raise c.fail(self, ("sequence", "split"),
                         f"expected a date inside the data window ({start} .. {end}), got {split}")

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of this config (see config_fingerprint)."""
        return config_fingerprint(self)
