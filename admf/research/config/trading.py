"""What is traded and how: the ``data``, ``strategies``, ``portfolio``,
``execution`` and ``risk`` sections of a study config (see :mod:`.schema` for
how values are checked).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, ClassVar, Literal

import msgspec
from msgspec.structs import force_setattr

from ...data._paths import file_name, is_collection, is_partitioned, symbol_file
from ...errors import ConfigError
from . import _checks as c
from .grid import (
    count_values,
    expand_grid,
    expand_values,
    is_grid_value,
    is_range_spec,
    range_ends,
    range_spec,
    setting_problem,
)

__all__ = (
    "DataConfig",
    "StrategyConfig",
    "PortfolioConfig",
    "ExecutionConfig",
    "RiskConfig",
    "SYNTHETIC_DEFAULTS",
)

Source = Literal["csv", "parquet", "arrow", "synthetic"]
Adjust = Literal["none", "ohlc"]
Direction = Literal["long_only", "short_only", "long_short"]
Fill = Literal["next_open", "next_close", "same_close"]
Calendar = Literal["24/7", "equity"]
Label = Literal["end", "start"]

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
    """``csv``, ``parquet`` or ``arrow`` files, or ``synthetic`` (a seeded random walk)."""
    path: str | None = None
    """The file of each symbol, with ``{symbol}`` and ``{timeframe}`` filled in (a directory
    or glob of per-symbol files, or a Parquet dataset partitioned by symbol, works too);
    required by file sources."""
    symbols: tuple[str, ...]
    """The symbols to read: at least one, none twice."""
    timeframe: str = "1m"
    """The bar interval, e.g. ``1m``, ``1h``, ``1d``; metrics are annualised from it."""
    start: str | None = None
    """The first bar time used, inclusive (ISO date or datetime); from the first bar when
    unset."""
    end: str | None = None
    """The last bar time used, inclusive; to the last bar when unset."""
    tz: str | None = None
    """The IANA time zone of timestamps written without one (e.g. ``America/New_York``); UTC
    when unset."""
    batch_rows: int = 65536
    """Bars per batch on the hot path: the cost of passing a message is paid once per
    batch."""
    bars: int | None = None
    """Bars generated per symbol (synthetic only)."""
    start_price: float | None = None
    """The first open of the random walk (synthetic only)."""
    volatility: float | None = None
    """Standard deviation of the per-bar log return (synthetic only)."""
    drift: float | None = None
    """Mean of the per-bar log return (synthetic only)."""
    calendar: Calendar = "24/7"
    """How many bars make a year, for annualised metrics: ``24/7`` (365.25
    days of bars) or ``equity`` (252 sessions of 6.5 hours)."""
    columns: dict[str, str] | None = None
    """The file's (or frame's) names for bar columns where the defaults do not
    find them, e.g. ``{timestamp: "Open time", close: "Price"}``."""
    adjust: Adjust = "none"
    """``ohlc``: scale open, high, low and close by ``Adj Close / Close``."""
    resample: str | None = None
    """Aggregate the ``timeframe`` bars to this coarser interval (``1h``,
    ``1D``, ...) before anything reads them; metrics annualise by it (see
    :mod:`admf.data.resample`)."""
    resample_label: Label = "end"
    """Which end of its bar a timestamp marks, in and out of resampling:
    ``end`` (a bucket is ``(end - period, end]``, stamped at its end) or
    ``start`` (``[start, start + period)``, stamped at its start)."""

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
        self._check_columns()
        self._check_resample()
        if self.source == "synthetic":
            self._check_synthetic()
        else:
            self._check_file_source()

    def _check_columns(self) -> None:
        from ...data._names import KEYS

        if self.columns is None:
            if self.adjust != "none" and self.source == "synthetic":
                raise c.fail(self, "adjust", "only used by file or in-memory data, not by source 'synthetic'")
            return
        if self.source == "synthetic":
            raise c.fail(self, "columns", "only used by file or in-memory data, not by source 'synthetic'")
        for key, name in self.columns.items():
            if key not in KEYS:
                raise c.fail(self, ("columns", key), f"unknown bar column {key!r}; expected one of "
                                                     f"{', '.join(KEYS)}" + c.suggest(key, KEYS))
            if not isinstance(name, str) or not name:
                raise c.fail(self, ("columns", key), f"expected the file's column name, got {name!r}")
        if "adj_close" in self.columns and self.adjust == "none":
            raise c.fail(self, ("columns", "adj_close"), "is only read with adjust: ohlc")

    def _check_resample(self) -> None:
        from ...data.resample import resample_problem

        if self.resample is None:
            if self.resample_label != "end":
                raise c.fail(self, "resample_label", "only used with data.resample")
            return
        try:
            period = c.parse_duration(self.resample)
        except ValueError as exc:
            raise c.fail(self, "resample", f"expected a bar interval coarser than data.timeframe: "
                                           f"{exc}") from None
        problem = resample_problem(_ns(period), _ns(c.parse_duration(self.timeframe)), self.calendar,
                                   self.timeframe)
        if problem is not None:
            raise c.fail(self, "resample", f"{problem}; got {self.resample!r}")

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
        c.check_path(self, "path", self.path)
        for symbol in self.symbols if "{symbol}" in self.path else ():
            c.check_path(self, "path", self.path_for(symbol), f"path of symbol {symbol!r}")
        names = _PLACEHOLDER.findall(self.path)
        for name in names:
            if name not in ("symbol", "timeframe"):
                raise c.fail(self, "path", f"unknown placeholder {{{name}}} in {self.path!r}; "
                                           f"expected {{symbol}} or {{timeframe}}"
                                           + c.suggest(name, ("symbol", "timeframe")))
        if len(self.symbols) > 1 and "symbol" not in names and not is_collection(self.path):
            raise c.fail(self, "path", f"{self.path!r} has no {{symbol}} placeholder, so all "
                                       f"{len(self.symbols)} symbols would read the same file")

    def path_for(self, symbol: str) -> str:
        """``path`` with ``{symbol}`` and ``{timeframe}`` filled in; for a directory
        or glob of per-symbol files, the symbol's file; a Parquet dataset
        partitioned by symbol stays the dataset's directory (see
        :mod:`admf.data._paths`)."""
        template = str(self.path)
        path = template.replace("{symbol}", file_name(symbol)).replace("{timeframe}",
                                                                        self.timeframe)
        if "{symbol}" not in template and is_collection(path) and not is_partitioned(path):
            return str(symbol_file(path, symbol))
        return path

    @property
    def interval(self) -> timedelta:
        """The bar interval (``timeframe``) as a timedelta."""
        return c.parse_duration(self.timeframe)

    @property
    def bar_timeframe(self) -> str:
        """The interval of the bars the study sees: ``resample`` if set, else
        ``timeframe``; metrics annualise by it."""
        return self.resample or self.timeframe


def _ns(span: timedelta) -> int:
    return span // timedelta(microseconds=1) * 1_000


class StrategyConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One strategy. A ``params`` value that is a list or ``{range: [start,
    stop, step]}`` makes a grid (see :func:`expand_grid`). In a workflow
    phase ``params`` may instead be a reference to an earlier phase's output,
    e.g. ``"{explore.best_params}"``."""

    _section: ClassVar[str] = "strategy"

    name: str | None = None
    """An optional label; the type with its params when unset."""
    type: str
    """A registered strategy (``admf list strategies``) or ``package.module:Name``, looked
    for on the Python path and then in the working directory."""
    params: dict[str, Any] | str = msgspec.field(default_factory=dict)
    """The strategy's parameters; a list or ``{range: [start, stop, step]}`` (both ends
    included) makes a grid. In a workflow phase, a reference like
    ``"{explore.best_params}"``."""
    direction: Direction = "long_only"
    """Which side it trades: ``long_only``, ``short_only`` or ``long_short``."""
    settings: dict[str, Any] = msgspec.field(default_factory=dict)
    """Risk, sizing and execution values this strategy's portfolios run with, over the
    study's own: dotted keys such as ``risk.stop_loss`` or ``execution.commission.rate``
    (with ``execution.commission.type``), one value each. A phase's ``best`` carries the
    ones its winner was chosen with from a risk/sizing/execution grid, so ``strategies:
    "{explore.best}"`` runs the winner whole; a grid over the same key in this study
    overrides it."""

    def __post_init__(self) -> None:
        if self.name is not None:
            c.check_name(self, "name", self.name)
        for key, value in self.settings.items():
            problem = setting_problem(key, value, RiskConfig.__struct_fields__)
            if problem is not None:
                raise c.fail(self, ("settings", key), problem)
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
                count = count_values(value)  # checked, not expanded: grids are capped later
            except ConfigError as exc:
                sub = ("params", key, "range") if is_range_spec(value) else ("params", key)
                raise c.fail(self, sub, str(exc)) from None
            if not count:
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
    """Starting cash of every portfolio."""
    sizing: dict[str, Any] = msgspec.field(
        default_factory=lambda: {"type": "percent_equity", "percent": 100, "whole_units": True})
    """Position size: ``fixed_quantity {quantity}``, ``fixed_notional {notional}``,
    ``percent_equity {percent, whole_units}`` or ``volatility_target {target, lookback}``;
    values may be grids."""
    close_at_end: bool = False
    """Close open positions at the last bar's close, so their exit costs count."""
    account: str | dict[str, Any] = "cash"
    """``cash`` (buys cut to the cash; the default) or ``{type: margin, leverage,
    initial, maintenance}`` (order strategies): a fill that opens or grows a position
    (long or short) needs ``initial`` × the gross exposure of equity after it
    (``initial`` = 1 / ``leverage``, default leverage 2), and below ``maintenance`` ×
    the gross exposure (default ``initial`` / 2) a margin call closes the largest
    positions at the close; equity is floored at zero."""

    def __post_init__(self) -> None:
        c.check_range(self, "initial_cash", self.initial_cash, low=0)
        margin_terms(self)
        c.check_component(self, "sizing", self.sizing, "fixed_quantity | fixed_notional | "
                                                       "percent_equity | volatility_target")
        _component_grids(self, "sizing")


class ExecutionConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    _section: ClassVar[str] = "execution"

    fill: Fill | list[Fill] = "next_open"
    """When a signal's order fills: ``next_open`` (the next bar's open), ``next_close``, or
    ``same_close`` (the signal bar's own close: look-ahead, an explicit opt-in). A list is a
    grid."""
    commission: dict[str, Any] = msgspec.field(default_factory=lambda: {"type": "none"})
    """Charged on every fill: ``none``, ``per_share {rate, minimum}``, ``percentage
    {rate}``, ``fixed {amount}`` or ``tiered {tiers}``; values may be grids."""
    slippage: dict[str, Any] = msgspec.field(default_factory=lambda: {"type": "none"})
    """Applied to every fill's price: ``none``, ``fixed_bps {bps}``, ``percentage {rate}``
    or ``volume_share {limit, impact}``; values may be grids."""

    intrabar: Literal["ohlc", "olhc", "adverse"] | None = None
    """Order strategies only: the path a bar's price walks for resting orders:
    ``ohlc`` (the default), ``olhc``, or ``adverse`` (for a long the low first,
    for a short the high first: stops before targets)."""
    limit_fill: Literal["touch", "through"] | None = None
    """Order strategies only: a limit fills when the price ``touch``es it (the
    default) or only when it trades ``through`` it."""

    def __post_init__(self) -> None:
        for fill in _grid_values(self, "fill"):
            c.check_choice(self, "fill", fill, ("next_open", "next_close", "same_close"))
        c.check_component(self, "commission", self.commission,
                          "none | per_share | percentage | fixed | tiered")
        c.check_component(self, "slippage", self.slippage,
                          "none | fixed_bps | percentage | volume_share")
        _component_grids(self, "commission")
        _component_grids(self, "slippage")


class RiskConfig(_Section, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Every limit is optional; ``None`` means no limit. A list or ``{range:
    [start, stop, step]}`` is a grid: one portfolio per value, all fed the same
    signals (see :func:`~admf.research.config.grid.downstream_grid`)."""

    _section: ClassVar[str] = "risk"

    stop_loss: float | list[float | None] | dict[str, Any] | None = None
    """Exit when the price moves this fraction against the entry (checked intrabar on
    high/low; a gap through it fills at the open)."""
    take_profit: float | list[float | None] | dict[str, Any] | None = None
    """Exit when the price moves this fraction in favour of the entry."""
    trailing_stop: float | list[float | None] | dict[str, Any] | None = None
    """Exit when the price gives back this fraction from its best since the entry."""
    max_position: float | list[float | None] | dict[str, Any] | None = None
    """The most units held per symbol."""
    max_exposure: float | list[float | None] | dict[str, Any] | None = None
    """The most gross exposure, as a multiple of equity."""
    max_drawdown: float | list[float | None] | dict[str, Any] | None = None
    """Stop opening positions once the drawdown from the equity peak passes this
    fraction."""
    daily_loss_limit: float | list[float | None] | dict[str, Any] | None = None
    """Stop opening positions for the rest of a day once equity is this fraction below the
    day's opening equity."""

    def __post_init__(self) -> None:
        bounds = {"stop_loss": {"high": 1}, "take_profit": {"high": 1},
                  "trailing_stop": {"high": 1}, "max_position": {}, "max_exposure": {},
                  "max_drawdown": {"high": 1, "high_open": False},
                  "daily_loss_limit": {"high": 1, "high_open": False}}
        for key, limits in bounds.items():
            for value in _grid_values(self, key):
                c.check_range(self, key, value, low=0, **limits)


def _grid_values(obj: Any, key: str) -> list[Any]:
    """The values a risk or execution key takes (one unless it is a grid)."""
    value = getattr(obj, key)
    if isinstance(value, dict) and not is_range_spec(value):
        raise c.fail(obj, key, f"expected a number, a list of them (a grid) or "
                               f"{{range: [start, stop, step]}}, got {value!r}")
    try:  # a range's bounds are its ends: no need to make the values between
        values = (range_ends(*range_spec(value)) if is_range_spec(value)
                  else expand_values(value) if is_grid_value(value) else [value])
    except ConfigError as exc:
        raise c.fail(obj, (key, "range") if is_range_spec(value) else key, str(exc)) from None
    if not values:
        raise c.fail(obj, key, "an empty list makes an empty grid; give at least one value")
    return values


def _component_grids(obj: Any, key: str) -> None:
    """Check the grid parameters of a sizing, commission or slippage spec."""
    for param, value in getattr(obj, key).items():
        if param == "type" or not is_grid_value(value):
            continue
        try:
            count = count_values(value)
        except ConfigError as exc:
            raise c.fail(obj, (key, param), str(exc)) from None
        if not count:
            raise c.fail(obj, (key, param), "an empty list makes an empty grid; give at "
                                            "least one value")


MARGIN_KEYS = ("type", "leverage", "initial", "maintenance")


def margin_terms(portfolio: Any) -> tuple[float, float] | None:
    """``portfolio.account`` as ``(initial, maintenance)`` margins; None for
    a cash account. Raises the error naming the key otherwise."""
    account = portfolio.account
    if account == "cash":
        return None
    if account == "margin":
        account = {"type": "margin"}
    if not isinstance(account, dict) or account.get("type") != "margin":
        raise c.fail(portfolio, "account", f"expected cash, margin or {{type: margin, leverage, "
                     f"initial, maintenance}}; got {account!r}")
    unknown = [k for k in account if k not in MARGIN_KEYS]
    if unknown:
        raise c.fail(portfolio, ("account", unknown[0]), f"unknown key; a margin account takes "
                     f"{', '.join(MARGIN_KEYS[1:])}" + c.suggest(str(unknown[0]), MARGIN_KEYS))
    for key in MARGIN_KEYS[1:]:
        if key in account and not c.is_number(account[key]):
            raise c.fail(portfolio, ("account", key), f"expected a number, got {account[key]!r}")
    if "leverage" in account and "initial" in account:
        raise c.fail(portfolio, ("account", "initial"), "give leverage or initial, not both "
                     "(initial = 1 / leverage)")
    if "leverage" in account and account["leverage"] < 1:
        raise c.fail(portfolio, ("account", "leverage"), f"expected a number >= 1, got "
                     f"{account['leverage']!r}")
    initial = float(account["initial"]) if "initial" in account else \
        1.0 / float(account.get("leverage", 2.0))
    if not 0 < initial <= 1:
        raise c.fail(portfolio, ("account", "initial"), f"expected a number in (0, 1], got "
                     f"{account['initial']!r}")
    maintenance = float(account.get("maintenance", initial / 2))
    if not 0 < maintenance <= initial:
        raise c.fail(portfolio, ("account", "maintenance"), f"expected a number in (0, initial "
                     f"= {initial:g}], got {account['maintenance']!r}")
    return initial, maintenance
