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

from typing import Any, ClassVar, Literal

import msgspec
from msgspec.structs import force_setattr

from ...errors import ConfigError
from . import _checks as c
from .grid import MAX_GRID_POINTS, downstream_counts, grid_counts, grid_overflow
from .identity import config_fingerprint
from .trading import (
    DataConfig,
    ExecutionConfig,
    PortfolioConfig,
    RiskConfig,
    StrategyConfig,
    _Section,
)

__all__ = (
    "SequenceConfig",
    "ResultsConfig",
    "ContainerTracing",
    "TracingConfig",
    "ExecutorConfig",
    "TopologyConfig",
    "SignalsConfig",
    "LimitsConfig",
    "StudyConfig",
    "SEQUENCE_KEYS",
)

Storage = Literal["memory", "disk", "hybrid"]
TraceLevel = Literal["none", "minimal", "normal", "debug"]
ExecutorKind = Literal["inline", "processes", "dask"]

class Selection(msgspec.Struct, frozen=True, kw_only=True):
    """A checked ``sequence.select``: rank a window's points by k-fold scores
    over its train span (``score``: the bar-weighted ``mean`` of the folds'
    objectives, or the ``worst`` fold)."""

    folds: int
    score: Literal["mean", "worst"]


SEQUENCE_KEYS: dict[str, dict[str, Any]] = {
    "single_pass": {},
    "train_test": {"split": 0.7, "purge": 0, "warmup": "auto", "select": None},
    "walk_forward": {"train": None, "test": None, "step": None, "anchored": False, "purge": 0,
                     "warmup": "auto", "select": None},
    "k_fold": {"folds": 5, "purge": 0, "warmup": "auto"},
    "cpcv": {"groups": 6, "test_groups": 2, "purge": 0, "embargo": 0, "warmup": "auto"},
    "monte_carlo": {"runs": 100, "method": "bootstrap_returns", "noise": None, "over": None},
    "parameter_sweep": {"mode": "grid", "samples": None},
}
"""The keys each sequence type uses, with their defaults (``None``: required or
conditional). ``type`` and ``objective`` belong to every type."""

PLUGIN_SEQUENCE_KEYS: dict[str, Any] = {"params": None, "warmup": "auto", "select": None}
"""The keys a sequence type added by a plugin (:class:`admf.research.sequences.WindowScheme`)
uses: its own parameters, and the warm-up and selection admf applies to its windows."""


class SequenceConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """How a study is run. Window lengths (``train``, ``test``, ``step``) are a
    number of bars or a duration like ``"90d"``."""

    _section: ClassVar[str] = "sequence"

    type: str = "single_pass"
    """``single_pass`` (every point once over all bars), ``train_test``, ``walk_forward``,
    ``k_fold``, ``cpcv`` (combinatorial purged cross-validation), ``monte_carlo``,
    ``parameter_sweep``, or a sequence a plugin adds (registered under ``sequence``, or
    ``"package.module:Name"`` naming a ``WindowScheme`` subclass)."""
    objective: str = "sharpe_ratio"
    """The metric that ranks parameter points (any metric name); ``max_drawdown``, its
    durations and ``volatility`` rank smallest first, every other metric largest first."""
    train: int | str | None = None
    """Length of a train window: bars, or a duration like ``"90d"``."""
    test: int | str | None = None
    """Length of a test window: bars, or a duration."""
    step: int | str | None = None
    """How far each window moves on from the last; the test length when unset."""
    anchored: bool | None = None
    """``true``: every train window starts at the first bar (an expanding window)."""
    purge: int | None = None
    """Bars left out between train and test, against leakage across the boundary."""
    split: float | str | None = None
    """Where train ends: a fraction of the bars, or the date the test starts (e.g.
    ``"2024-04-01"``)."""
    folds: int | None = None
    """Number of folds; each is the test once and trains on the others."""
    groups: int | None = None
    """For ``cpcv``: contiguous groups the bars are cut into (N)."""
    test_groups: int | None = None
    """For ``cpcv``: groups tested in each split (k); ``C(N, k)`` splits give
    ``C(N-1, k-1)`` backtest paths."""
    embargo: int | None = None
    """For ``cpcv``: train bars dropped just after each test group (beside ``purge``
    before it), against leakage through serial correlation."""
    runs: int | None = None
    """Number of draws."""
    method: Literal["bootstrap_returns", "parameter_noise"] | None = None
    """``bootstrap_returns`` (resample the base run's per-bar returns, seeded) or
    ``parameter_noise`` (rerun with every numeric parameter perturbed)."""
    noise: float | None = None
    """For ``parameter_noise``: every numeric parameter is scaled by ``1 + N(0, noise)``
    (integers rounded, kept >= 1); 0.1 when unset."""
    mode: Literal["grid", "random"] | None = None
    """``grid`` (every point) or ``random`` (``samples`` points drawn with the seed)."""
    samples: int | None = None
    """Points a random sweep draws; all of them when unset."""
    warmup: int | str | None = None
    """Bars just before each test window that indicators warm up on, untraded:
    ``auto`` (the strategies' longest indicator warm-up plus one bar) or a number."""
    over: dict[str, Any] | None = None
    """For ``monte_carlo`` with ``bootstrap_returns``: a nested sequence (``{type:
    walk_forward, train: ..., test: ...}``) whose stitched out-of-sample returns are
    resampled, instead of a full-period run's; its objective defaults to this one's."""
    params: dict[str, Any] | None = None
    """For a plugin sequence: its parameters (the keyword arguments of its class)."""
    select: dict[str, Any] | None = None
    """For ``train_test``, ``walk_forward`` and plugin sequences: how a window's winner is chosen on its
    train span. Unset, each point's objective over the whole span. ``{type: k_fold,
    folds: N, score: mean | worst}`` cuts the span into N contiguous folds, runs every
    point on each fold (indicators warmed up on the bars just before it, like a test
    window) and ranks points by the bar-weighted mean of their fold objectives, or by
    their worst fold. Nothing at or after the test window is read."""

    def __post_init__(self) -> None:
        c.check_name(self, "type", self.type, "a sequence type")
        c.check_name(self, "objective", self.objective, "a metric name")
        own = self.keys()
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
        if self.over is not None:
            self.inner()
        self.selection()
        if self.plugin:
            if self.params is not None and not isinstance(self.params, dict):
                raise c.fail(self, "params", f"expected a mapping of the sequence's parameters, "
                                             f"got {self.params!r}")
            self._scheme()

    @property
    def plugin(self) -> bool:
        """Whether ``type`` is a sequence a plugin adds, not a built-in one."""
        return self.type not in SEQUENCE_KEYS

    def keys(self) -> dict[str, Any]:
        """The keys this sequence's type uses, with their defaults."""
        return SEQUENCE_KEYS.get(self.type, PLUGIN_SEQUENCE_KEYS)

    @property
    def shape(self) -> str:
        """How the results are read: the type itself, or for a plugin sequence
        the built-in it reads like (``walk_forward`` or ``k_fold``)."""
        return self._scheme_class().shape if self.plugin else self.type

    def _scheme_class(self) -> Any:
        from ..sequences.scheme import scheme_class

        try:
            return scheme_class(self.type)
        except ConfigError as exc:
            raise c.fail(self, "type", str(exc).removeprefix("sequence.type: ")) from None

    def _scheme(self) -> Any:
        """The plugin sequence, built with ``params`` (errors name the key)."""
        from ..sequences.scheme import build_scheme

        self._scheme_class()
        try:
            return build_scheme(self.type, self.params)
        except ConfigError as exc:
            key, _, problem = str(exc).partition(": ")
            raise c.fail(self, tuple(key.split(".")[1:]), problem) from None

    def selection(self) -> Selection | None:
        """``select``, checked (None without one)."""
        if self.select is None:
            return None
        if not isinstance(self.select, dict):
            raise c.fail(self, "select", f"expected a mapping like {{type: k_fold, folds: 5}}, "
                                         f"got {self.select!r}")
        unknown = sorted(set(self.select) - {"type", "folds", "score"})
        if unknown:
            raise c.fail(self, ("select", str(unknown[0])), "unknown key; valid keys: type, "
                                                            "folds, score")
        kind = self.select.get("type")
        if kind != "k_fold":
            raise c.fail(self, ("select", "type"), f"expected k_fold (the only inner selection), "
                                                   f"got {kind!r}")
        folds = self.select.get("folds", 5)
        if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
            raise c.fail(self, ("select", "folds"), f"expected an integer >= 2, got {folds!r}")
        score = self.select.get("score", "mean")
        if score not in ("mean", "worst"):
            raise c.fail(self, ("select", "score"), f"expected mean or worst, got {score!r}")
        return Selection(folds=folds, score=score)

    NESTABLE: ClassVar[tuple[str, ...]] = ("walk_forward",)
    """Sequences ``over`` may name: those with one stitched out-of-sample curve."""

    def inner(self) -> SequenceConfig | None:
        """The sequence ``over`` names, checked (None without one)."""
        if self.over is None:
            return None
        if self.method != "bootstrap_returns":
            raise c.fail(self, "over", "resamples returns: it needs method bootstrap_returns, "
                                       f"not {self.method!r}")
        got = self.over.get("type") if isinstance(self.over, dict) else self.over
        if not isinstance(self.over, dict) or not isinstance(got, str) or \
                got in SEQUENCE_KEYS and got not in self.NESTABLE:
            raise c.fail(self, ("over", "type"), f"expected one of {list(self.NESTABLE)} or a "
                                                 f"walk_forward-shaped plugin sequence (a sequence "
                                                 f"with one out-of-sample curve), got {got!r}")
        spec = {"objective": self.objective, **self.over}
        try:
            inner = msgspec.convert(spec, SequenceConfig)
        except msgspec.ValidationError as exc:  # the inner key's own message, re-rooted
            text = str(exc)
            key, _, problem = text.partition(": ")
            if key.startswith("sequence.") and problem:
                raise c.fail(self, ("over", *key.split(".")[1:]), problem) from None
            unknown = text.partition("unknown field `")[2].rstrip("`")
            if unknown:
                raise c.fail(self, ("over", unknown), "unknown key; valid keys: type, objective, "
                             + ", ".join(SEQUENCE_KEYS.get(str(self.over["type"]),
                                                           PLUGIN_SEQUENCE_KEYS))) from None
            raise c.fail(self, "over", text.replace("$.", "")) from None
        if inner.shape not in self.NESTABLE:
            raise c.fail(self, ("over", "type"), f"plugin sequence {got!r} has shape "
                                                 f"{inner.shape!r}; over needs one of "
                                                 f"{list(self.NESTABLE)} (one out-of-sample curve)")
        return inner

    def _not_used(self, key: str) -> str:
        owners = [t for t, keys in SEQUENCE_KEYS.items() if key in keys]
        owners += ["plugin sequences"] if key in PLUGIN_SEQUENCE_KEYS else []
        used = ", ".join(self.keys()) or "only type and objective"
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
        if isinstance(self.warmup, str) and self.warmup != "auto" or (
                isinstance(self.warmup, int) and (isinstance(self.warmup, bool) or self.warmup < 0)):
            raise c.fail(self, "warmup", f"expected 'auto' or a number of bars >= 0, got "
                                         f"{self.warmup!r}")
        for key in ("purge", "embargo"):
            if getattr(self, key) is not None and getattr(self, key) < 0:
                raise c.fail(self, key, f"expected a number of bars >= 0, got {getattr(self, key)!r}")
        if isinstance(c.iso_text(self, "split"), str):
            try:
                c.parse_instant(self.split)
            except ValueError as exc:
                raise c.fail(self, "split", f"expected a fraction in (0, 1) or a date: {exc}") from None
        else:
            c.check_range(self, "split", self.split, low=0, high=1)
        if self.folds is not None and self.folds < 2:
            raise c.fail(self, "folds", f"expected an integer >= 2, got {self.folds!r}")
        if self.groups is not None and self.groups < 2:
            raise c.fail(self, "groups", f"expected an integer >= 2, got {self.groups!r}")
        if self.test_groups is not None and not 1 <= self.test_groups < (self.groups or 2):
            raise c.fail(self, "test_groups", f"expected 1..{(self.groups or 2) - 1} (fewer than "
                                              f"groups: {self.groups}), got {self.test_groups!r}")
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


_ALL_SEQUENCE_KEYS = tuple(dict.fromkeys(k for keys in (*SEQUENCE_KEYS.values(), PLUGIN_SEQUENCE_KEYS)
                                         for k in keys))


class ResultsConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    _section: ClassVar[str] = "results"

    dir: str = "results"
    """The results root: each run writes ``<dir>/<run_id>/``."""
    storage: Storage = "hybrid"
    """``memory`` (everything returned), ``disk`` (streamed to files in chunks, summaries
    returned) or ``hybrid`` (summaries and trades in memory, curves on disk)."""
    keep_equity_curves: bool = True
    """Write each run's equity curve (``equity.parquet``)."""

    def __post_init__(self) -> None:
        c.check_name(self, "dir", self.dir, "a directory path")
        c.check_path(self, "dir", self.dir, "directory")
        c.check_choice(self, "storage", self.storage, ("memory", "disk", "hybrid"))


class ContainerTracing(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Tracing settings for containers whose name matches a pattern;
    ``None`` keeps the study-wide value."""

    _section: ClassVar[str] = "tracing.containers[pattern]"

    level: TraceLevel | None = None
    """The tracing level of the matching containers."""
    max_events: int | None = None
    """The most events kept for the matching containers."""

    def __post_init__(self) -> None:
        if self.max_events is not None and self.max_events <= 0:
            raise c.fail(self, "max_events", f"expected an integer > 0, got {self.max_events!r}")


class TracingConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    _section: ClassVar[str] = "tracing"

    level: TraceLevel = "none"
    """``none``, ``minimal``, ``normal`` or ``debug``: how much of the run's messages and
    stages is recorded."""
    max_events: int = 100_000
    """The most events a trace keeps."""
    containers: dict[str, ContainerTracing] = msgspec.field(default_factory=dict)
    """Settings for containers by name pattern, e.g. ``{"portfolio_*": {level: debug}}``."""
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
    """The topology: ``backtest``, ``signal_generation``, ``signal_replay`` or a pattern
    file's name (``admf list topologies``)."""
    paths: tuple[str, ...] = ()
    """Folders searched for ``<pattern>.yaml`` before the built-ins."""

    def __post_init__(self) -> None:
        c.check_name(self, "pattern", self.pattern, "a pattern name")


class SignalsConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Where stored signals live: the content-addressed store that
    ``topology.pattern: signal_generation`` writes and ``signal_replay`` reads.
    ``store: None`` is ``<results.dir>/signals``."""

    _section: ClassVar[str] = "signals"

    store: str | None = None
    """The signal store's directory; ``<results.dir>/signals`` when unset."""
    select: str | dict[str, Any] | None = None
    """In a ``signal_replay`` study without ``strategies``: which stored points it
    replays. ``all``: every strategy point stored for this data; or a filter
    ``{strategy: <type or list>, params: {name: value or list}, direction: ...}``
    (every key optional; a list means any of its values)."""

    def __post_init__(self) -> None:
        if self.store is not None:
            c.check_name(self, "store", self.store, "a directory path")
        if self.select is None or self.select == "all":
            return
        if not isinstance(self.select, dict):
            raise c.fail(self, "select", f"expected 'all' or a mapping like {{strategy: "
                                         f"sma_crossover, params: {{fast: [5, 10]}}}}, got "
                                         f"{self.select!r}")
        unknown = sorted(set(self.select) - {"strategy", "params", "direction"})
        if unknown:
            raise c.fail(self, ("select", str(unknown[0])),
                         "unknown key; valid keys: strategy, params, direction")
        strategy = self.select.get("strategy")
        names = strategy if isinstance(strategy, list) else [strategy]
        if strategy is not None and not all(isinstance(n, str) and n for n in names):
            raise c.fail(self, ("select", "strategy"),
                         f"expected a strategy type or a list of them, got {strategy!r}")
        params = self.select.get("params")
        if params is not None and not isinstance(params, dict):
            raise c.fail(self, ("select", "params"),
                         f"expected a mapping of parameter values, got {params!r}")
        direction = self.select.get("direction")
        directions = direction if isinstance(direction, list) else [direction]
        valid = ("long_only", "short_only", "long_short")
        if direction is not None and not all(d in valid for d in directions):
            raise c.fail(self, ("select", "direction"),
                         f"expected {', '.join(valid)} or a list of them, got {direction!r}")


class ExecutorConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Where independent runs go. ``kind: None`` (the default) lets the runner
    choose: a process pool when there is more than one run, inline otherwise.
    ``workers: None`` means the CPU count."""

    _section: ClassVar[str] = "executor"

    kind: ExecutorKind | None = None
    """``inline``, ``processes`` (a local pool) or ``dask``; unset, admf chooses (a pool
    when the work is large enough to pay for one)."""
    workers: int | None = None
    """Worker processes; the CPU count when unset."""
    address: str | None = None
    """The Dask scheduler, e.g. ``tcp://scheduler:8786`` (kind ``dask`` only); a local
    cluster when unset."""

    def __post_init__(self) -> None:
        c.check_choice(self, "kind", self.kind, ("inline", "processes", "dask"))
        if self.workers is not None and self.workers < 1:
            raise c.fail(self, "workers", f"expected an integer >= 1, got {self.workers!r}")
        if self.address is not None and self.kind != "dask":
            raise c.fail(self, "address", f"only used by kind 'dask' (a scheduler address), "
                                          f"not by kind {self.kind!r}")


class LimitsConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Bounds checked before anything is expanded. ``max_grid_points`` is the
    most portfolios the study's grids may make in all (each strategy's grid,
    plus the others', times the risk, sizing and execution grid), counted as a
    product of the parameters' value counts, so a typo in a range's step fails
    at once with the sizes instead of exhausting memory. Limits change no
    result, so they are not part of the config's fingerprint."""

    _section: ClassVar[str] = "limits"

    max_grid_points: int = MAX_GRID_POINTS
    """The most portfolios the study's grids may make in all."""

    def __post_init__(self) -> None:
        if self.max_grid_points < 1:
            raise c.fail(self, "max_grid_points",
                         f"expected an integer >= 1, got {self.max_grid_points!r}")


class StudyConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One study: data, strategies (with parameter grids), portfolio,
    execution, risk, how it is run (``sequence``), where results go, tracing
    and the executor. ``fingerprint`` is its content hash."""

    name: str = "study"
    """Free text naming the study; the run id (``<name>-<time>-<fingerprint>``) is derived
    from it."""
    seed: int = 0
    """Everything random in the run (synthetic bars, random sweeps, Monte Carlo draws)
    derives from this."""
    data: DataConfig
    """Where the bars come from."""
    strategies: tuple[StrategyConfig, ...] = ()
    """One or more strategies; every parameter point feeds its own portfolio. A
    ``signal_replay`` study may take them from the store instead (``signals.select``)."""
    portfolio: PortfolioConfig = msgspec.field(default_factory=PortfolioConfig)
    """Cash and position sizing of every portfolio."""
    execution: ExecutionConfig = msgspec.field(default_factory=ExecutionConfig)
    """How orders fill: fill timing, commission and slippage."""
    risk: RiskConfig = msgspec.field(default_factory=RiskConfig)
    """Stops and limits, all optional."""
    sequence: SequenceConfig = msgspec.field(default_factory=SequenceConfig)
    """How the study is run: once over all bars, or as windows, folds, draws or a sweep."""
    results: ResultsConfig = msgspec.field(default_factory=ResultsConfig)
    """Where results are written, and what is kept in memory."""
    tracing: TracingConfig = msgspec.field(default_factory=TracingConfig)
    """What the run records of its messages and lifecycle stages."""
    executor: ExecutorConfig = msgspec.field(default_factory=ExecutorConfig)
    """Where independent runs (points, windows, folds, draws) execute."""
    topology: TopologyConfig = msgspec.field(default_factory=TopologyConfig)
    """Which topology pattern runs the study."""
    signals: SignalsConfig = msgspec.field(default_factory=SignalsConfig)
    """Where ``signal_generation`` stores signals and ``signal_replay`` reads them."""
    limits: LimitsConfig = msgspec.field(default_factory=LimitsConfig)
    """Caps checked before anything runs (grid size and the like), so a mistake fails early."""

    _in_workflow: ClassVar[bool] = False  # phases may refer to / reuse earlier phases

    def __post_init__(self) -> None:
        c.check_name(self, "name", self.name)
        if self.seed < 0:
            raise c.fail(self, "seed", f"expected an integer >= 0, got {self.seed!r}")
        # a workflow phase may give "{phase.best}" for its strategies (resolved by the workflow)
        reference = self._in_workflow and isinstance(self.strategies, str)
        strategies = () if reference else c.as_tuple(self, "strategies")
        if self.signals.select is not None:
            if self.topology.pattern != "signal_replay":
                raise c.fail(self, ("signals", "select"),
                             "selects stored signals to replay: it needs topology.pattern: "
                             f"signal_replay, got {self.topology.pattern!r}")
            if strategies or reference:
                raise c.fail(self, ("signals", "select"),
                             "takes the strategies from the signal store: give strategies or "
                             "signals.select, not both")
        elif not strategies and not self._in_workflow:
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
        self._check_grid_size(strategies)
        self._check_split_date()

    def _check_grid_size(self, strategies: tuple[StrategyConfig, ...]) -> None:
        """The grids' size, as a product of counts, within ``limits`` (nothing expanded)."""
        counts = {i: grid_counts(s.params) for i, s in enumerate(strategies)
                  if isinstance(s.params, dict)}
        problem = grid_overflow(counts, downstream_counts(self), self.limits.max_grid_points)
        if problem is not None:
            key: c.Key = ("strategies",) if len(counts) != 1 else ("strategies", *counts, "params")
            raise c.fail(self, key, problem)

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
    def signal_store(self) -> str:
        """The signal store directory (``signals.store``, else ``<results.dir>/signals``)."""
        return self.signals.store or f"{self.results.dir.rstrip('/')}/signals"

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of this config (see config_fingerprint)."""
        return config_fingerprint(self)
