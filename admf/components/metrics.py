"""Performance metrics of one run, from its equity curve and its trade list.

:func:`compute_metrics` takes whole arrays; :class:`RunningMetrics` takes the
curve in chunks (as it is streamed to disk) and gives the same numbers to
float rounding (~1e-12) while holding O(1) state.

Definitions. Bars ``t = 0..n-1`` have timestamps ``ts_t`` (int64 ns,
strictly increasing), equity ``E_t`` (marked to market) and gross exposure
``X_t`` (gross position value / equity). ``E_-1 = initial_equity`` (> 0) is
the starting capital and ``P`` the periods per year (:func:`periods_per_year`).

- bar interval ``dt`` = median of the first 10 000 intervals
  ``ts_t - ts_{t-1}`` (all of them on a shorter curve); the initial equity
  stands at ``ts_0 - dt``, one bar before the first bar. The median ignores
  weekend and overnight gaps; the bounded sample keeps streaming memory flat
  (dt only adds one bar to a run's span).
- returns ``r_t = E_t / E_{t-1} - 1`` for ``t = 0..n-1`` (the first bar's
  move counts); ``mean`` and ``std`` are over these ``n`` returns.
- total_return = E_{n-1} / E_-1 - 1
- years = (ts_{n-1} - ts_0 + dt) / 365.25 days
- cagr = (E_{n-1} / E_-1) ** (1 / years) - 1
- volatility = std(r, ddof=1) * sqrt(P)
- sharpe_ratio = mean(r) / std(r, ddof=1) * sqrt(P)   (risk-free rate 0)
- sortino_ratio = mean(r) / sqrt(mean(min(r, 0) ** 2)) * sqrt(P)
- peak_t = max(E_-1, E_0, ..., E_t); drawdown_t = 1 - E_t / peak_t
- max_drawdown = max_t drawdown_t, a positive fraction (0.12 = 12 %)
- calmar_ratio = cagr / max_drawdown
- max_drawdown_duration_bars = the longest drawdown, counted in bars from the
  bar of its peak (``E_-1`` is bar -1) to the first bar with
  ``E_t >= peak``, or to the last bar if equity never gets back; the
  earliest one wins a tie. 0 if equity never falls below its peak.
- max_drawdown_duration_days = that same drawdown's span in calendar days
  (86 400 s) between the two bars' timestamps.
- exposure = (bars with X_t != 0) / n, the time in the market
- avg_exposure = mean(X_t)
- turnover = traded_notional / mean(E_t), where traded_notional is the sum of
  ``|quantity * price|`` over all fills
- final_equity = E_{n-1}; bars = n

Trades: one row per trade with ``pnl`` (net of commissions; slippage is
already inside fill prices), ``return`` (pnl / entry notional) and ``open``
(still open at the end and marked to market; all False if the column is
absent). Only closed trades count, open ones are reported as open_trades:

- trade_count = closed trades
- win_rate = (closed trades with pnl > 0) / trade_count; a zero pnl is no win
- profit_factor = gross profit / gross loss = (sum of pnl > 0) / |sum of pnl < 0|;
  0 with losers and no winner
- avg_trade = mean(pnl); avg_trade_return = mean(return)
- best_trade = max(pnl); worst_trade = min(pnl)   (currency, net)

Undefined values are NaN, never a made-up number:

- sharpe_ratio when std(r) is 0; volatility and sharpe_ratio with fewer than
  2 bars; sortino_ratio when no return is negative. A dispersion below
  64 ulp of 1 (1.4e-14) counts as 0: returns of ratios near 1 carry float
  rounding of that size, which is not risk.
- volatility, sharpe_ratio, sortino_ratio when equity is <= 0 at a bar
  before the last (the account is wiped out; later returns mean nothing).
- cagr with fewer than 2 bars (no dt) or a negative final equity; it is -1
  at a final equity of 0, and inf when a short run's annualised growth
  overflows a float. calmar_ratio when max_drawdown is 0 (or cagr is NaN).
- max_drawdown_duration_days of a drawdown from E_-1 with 1 bar (no dt).
- win_rate, avg_trade, avg_trade_return, best_trade, worst_trade with no
  closed trade; profit_factor with no losing closed trade.
- exposure, avg_exposure with no bars; turnover with no bars or
  mean(E_t) <= 0.

With no bars: final_equity = E_-1, total_return = 0, max_drawdown = 0 and
both durations 0. :meth:`Metrics.to_dict` keeps NaN;
:meth:`Metrics.to_json_dict` maps NaN and inf to None (JSON null).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

import msgspec
import numpy as np
import numpy.typing as npt

from ..errors import ConfigError, DataError
from .metric_format import format_metric

__all__ = ("Metrics", "RunningMetrics", "TradeColumns", "compute_metrics", "periods_per_year")

_NS_PER_DAY = 86_400 * 10**9
_NS_PER_YEAR = 365.25 * _NS_PER_DAY
_SESSION_NS = 390 * 60 * 10**9
_TRADING_DAYS = 252.0
_ZERO = 64 * float(np.finfo(np.float64).eps)
_NAN = math.nan
_BLOCK = 1 << 16
_INTERVAL_SAMPLE = 10_000


def periods_per_year(bar_interval_ns: int, calendar: str = "24/7") -> float:
    """Bars per year, to annualise per-bar statistics.

    ``"24/7"`` (crypto, FX-like): ``365.25 days / interval``.
    ``"equity"``: 252 trading days of one 390-minute (6.5 h) session.
    Intraday bars: ``252 * max(1, 6.5 h / interval)`` (1 min -> 98 280,
    1 h -> 1 638; a bar longer than a session is one bar a day). Bars of
    1 to 7 days count trading days: ``252 * (1 day / interval)`` (1 day ->
    252). Bars of 7 days or more span weekends and holidays, so they are
    calendar-sized: ``365.25 days / interval`` (1 week -> 52.18, where
    ``252 / 7`` would undercount weeks).
    """
    interval = float(bar_interval_ns)
    if not (math.isfinite(interval) and interval > 0):
        raise ConfigError(f"bar interval must be a positive number of ns, got {bar_interval_ns!r}")
    if calendar == "24/7":
        return _NS_PER_YEAR / interval
    if calendar == "equity":
        if interval < _NS_PER_DAY:
            return _TRADING_DAYS * max(1.0, _SESSION_NS / interval)
        if interval < 7 * _NS_PER_DAY:
            return _TRADING_DAYS * _NS_PER_DAY / interval
        return _NS_PER_YEAR / interval
    raise ConfigError(f"calendar must be '24/7' or 'equity', got {calendar!r}")


class Metrics(msgspec.Struct, frozen=True, kw_only=True):
    """The metrics of one run; see the module docstring for each definition."""

    total_return: float
    cagr: float
    volatility: float
    sharpe_ratio: float
    sortino_ratio: float
    calmar_ratio: float
    max_drawdown: float
    max_drawdown_duration_bars: int
    max_drawdown_duration_days: float
    win_rate: float
    profit_factor: float
    avg_trade: float
    avg_trade_return: float
    best_trade: float
    worst_trade: float
    exposure: float
    avg_exposure: float
    turnover: float
    trade_count: int
    open_trades: int
    final_equity: float
    bars: int

    def to_dict(self) -> dict[str, float | int]:
        """Field name -> value, NaN kept."""
        return msgspec.structs.asdict(self)

    def to_json_dict(self) -> dict[str, float | int | None]:
        """Field name -> value, with NaN and inf mapped to None (JSON null)."""
        return {k: _finite_or_none(v) for k, v in self.to_dict().items()}

    @classmethod
    def from_json_dict(cls, values: Mapping[str, float | int | None]) -> Metrics:
        """The inverse of :meth:`to_json_dict` (JSON null back to NaN)."""
        nan_for_null = {k: (math.nan if v is None else v) for k, v in values.items()
                        if k in cls.__struct_fields__}
        missing = [k for k in cls.__struct_fields__ if k not in nan_for_null]
        if missing:
            raise KeyError(f"metrics without {', '.join(missing)}")
        # the constructor, not msgspec.convert: a mean over folds keeps its
        # fractional counts (trade_count 12.5) rather than failing or rounding
        return cls(**nan_for_null)

    def __getitem__(self, name: str) -> float | int:
        """``metrics["sharpe_ratio"]``, as results read from JSON were indexed."""
        if name not in self.__struct_fields__:
            raise KeyError(name)
        value: float | int = getattr(self, name)
        return value

    def __contains__(self, name: object) -> bool:
        return name in self.__struct_fields__

    def keys(self) -> tuple[str, ...]:
        return self.__struct_fields__

    def items(self) -> list[tuple[str, float | int]]:
        return list(self.to_dict().items())

    def __repr__(self) -> str:
        """One aligned line per metric, formatted for people (like
        backtesting.py's stats): a notebook or REPL shows the numbers, not a
        struct dump."""
        width = max(len(k) for k in self.__struct_fields__)
        return "\n".join(f"{k:<{width}}  {format_metric(k, getattr(self, k)):>16}"
                         for k in self.__struct_fields__)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{k}</th>"
                       f"<td style='text-align:right'>{format_metric(k, getattr(self, k))}</td></tr>"
                       for k in self.__struct_fields__)
        return f"<table class='admf-metrics'>{rows}</table>"


def _finite_or_none(value: float | int) -> float | int | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class TradeColumns(Protocol):
    """A columnar trade list, one row per trade, read by attribute.

    ``return_`` carries the ``return`` column (``return`` is a keyword); a
    plain mapping with keys ``pnl``, ``return`` and ``open`` works too.
    """

    @property
    def pnl(self) -> npt.ArrayLike: ...

    @property
    def return_(self) -> npt.ArrayLike: ...

    @property
    def open(self) -> npt.ArrayLike: ...


Trades = TradeColumns | Mapping[str, npt.ArrayLike]


def compute_metrics(
    *,
    timestamp: npt.ArrayLike,
    equity: npt.ArrayLike,
    trades: Trades,
    exposure: npt.ArrayLike,
    traded_notional: float,
    periods_per_year: float,
    initial_equity: float,
) -> Metrics:
    """Metrics of a whole equity curve (one row per bar) and its trade list.

    ``timestamp`` is int64 ns (or datetime64), strictly increasing;
    ``exposure`` is gross exposure / equity per bar; ``traded_notional`` is
    the sum of ``|quantity * price|`` over all fills.
    """
    acc = RunningMetrics(initial_equity=initial_equity)
    acc.update(timestamp, equity, exposure)
    return acc.finish(
        trades=trades, traded_notional=traded_notional, periods_per_year=periods_per_year
    )


def _merged(n_a: float, mean_a: float, m2_a: float, n_b: float, mean_b: float, m2_b: float
            ) -> tuple[float, float, float]:
    """Count, mean and sum of squared deviations of two groups together
    (Chan, Golub & LeVeque)."""
    total = n_a + n_b
    delta = mean_b - mean_a
    return total, mean_a + delta * n_b / total, m2_a + (m2_b + delta * delta * n_a * n_b / total)


class RunningMetrics:
    """Metrics of an equity curve fed in chunks, without holding the curve.

    Call :meth:`update` once per chunk in time order, then :meth:`finish`;
    the result equals :func:`compute_metrics` on the concatenated chunks.
    Return variance merges chunk means and sums of squared deviations
    (Chan et al.); the running peak and the open drawdown carry across
    chunk boundaries. State is O(1): at most 10 000 bar intervals are kept.
    """

    def __init__(self, *, initial_equity: float) -> None:
        initial = float(initial_equity)
        if not (math.isfinite(initial) and initial > 0):
            raise ConfigError(f"initial_equity must be positive, got {initial_equity!r}")
        self._initial = initial
        self._n = 0
        self._first_ts: int | None = None
        self._last_ts: int | None = None
        self._last_equity = initial
        self._returns_defined = True
        self._ret_mean = 0.0
        self._ret_m2 = 0.0
        self._down_ss = 0.0
        self._peak = initial
        self._max_dd = 0.0
        self._peak_idx = 0  # bar t is index t + 1; index 0 is the initial equity
        self._peak_ts: int | None = None  # None: at ts_0 - dt, known only at the end
        self._longest: tuple[int, int | None, int | None] = (0, None, None)
        self._exposure_sum = 0.0
        self._exposure_bars = 0
        self._equity_sum = 0.0
        self._intervals: list[np.ndarray] = []  # the first _INTERVAL_SAMPLE diffs
        self._sampled = 0
        self._edges: np.ndarray | None = None
        self._blocks: np.ndarray | None = None

    def track_blocks(self, starts: npt.ArrayLike) -> None:
        """Also keep the count, mean and sum of squared deviations of the bar
        returns in each time block: block ``k`` holds the returns of bars at
        or after ``starts[k]`` and before ``starts[k + 1]`` (the last block
        runs to the end; bars before ``starts[0]`` are in none). Call before
        the first :meth:`update`; read with :meth:`return_blocks`."""
        starts = np.asarray(starts, dtype=np.int64)
        if starts.ndim != 1 or not starts.size or np.any(np.diff(starts) <= 0):
            raise ConfigError("return blocks need increasing start times")
        self._edges = starts
        self._blocks = np.zeros((starts.size, 3))

    def return_blocks(self) -> np.ndarray | None:
        """The ``(blocks, 3)`` count, mean and sum of squared deviations per
        block (:meth:`track_blocks`), or None when not tracked or the returns
        are undefined (equity reached zero)."""
        if self._blocks is None or not self._returns_defined:
            return None
        return self._blocks.copy()

    @property
    def bars(self) -> int:
        """Bars absorbed so far."""
        return self._n

    def update(
        self, timestamp: npt.ArrayLike, equity: npt.ArrayLike, exposure: npt.ArrayLike
    ) -> None:
        """Absorb the next chunk of bars, of any length (empty is a no-op)."""
        ts, eq, xp = _as_chunk(timestamp, equity, exposure)
        # blocks that stay in cache run ~10x faster than passes over long arrays
        for i in range(0, ts.size, _BLOCK):
            block = slice(i, i + _BLOCK)
            self._sample_intervals(self._check_order(ts[block]))
            self._absorb_returns(ts[block], eq[block])
            self._absorb_drawdown(ts[block], eq[block])
            self._absorb_totals(ts[block], eq[block], xp[block])

    def finish(self, *, trades: Trades, traded_notional: float, periods_per_year: float) -> Metrics:
        """The metrics of every bar absorbed so far and of ``trades``."""
        notional, periods = float(traded_notional), float(periods_per_year)
        if not (math.isfinite(notional) and notional >= 0):
            raise DataError(f"traded_notional must be finite and >= 0, got {traded_notional!r}")
        if not (math.isfinite(periods) and periods > 0):
            raise ConfigError(f"periods_per_year must be positive, got {periods_per_year!r}")
        dt = float(np.median(np.concatenate(self._intervals))) if self._sampled else _NAN
        return Metrics(
            **self._return_stats(periods),
            **self._curve_stats(dt, notional),
            **_trade_stats(*_trade_columns(trades)),
            bars=self._n,
        )

    def _check_order(self, ts: np.ndarray) -> np.ndarray:
        diffs = np.diff(ts)
        if self._last_ts is not None:
            diffs = np.concatenate(([ts[0] - self._last_ts], diffs))
        if diffs.size and diffs.min() <= 0:
            raise DataError("equity curve timestamps must be strictly increasing")
        return diffs

    def _sample_intervals(self, diffs: np.ndarray) -> None:
        if self._sampled < _INTERVAL_SAMPLE and diffs.size:
            self._intervals.append(diffs[: _INTERVAL_SAMPLE - self._sampled].copy())
            self._sampled += self._intervals[-1].size

    def _absorb_totals(self, ts: np.ndarray, eq: np.ndarray, xp: np.ndarray) -> None:
        self._exposure_sum += float(xp.sum())
        self._exposure_bars += int(np.count_nonzero(xp))
        self._equity_sum += float(eq.sum())
        if self._first_ts is None:
            self._first_ts = int(ts[0])
        self._n += eq.size
        self._last_ts, self._last_equity = int(ts[-1]), float(eq[-1])

    def _absorb_returns(self, ts: np.ndarray, eq: np.ndarray) -> None:
        if self._last_equity <= 0 or (eq.size > 1 and eq[:-1].min() <= 0):
            self._returns_defined = False
        if not self._returns_defined:
            return
        r = np.empty(eq.size)
        r[0] = eq[0] / self._last_equity
        np.divide(eq[1:], eq[:-1], out=r[1:])
        r -= 1.0
        if self._blocks is not None:
            self._absorb_blocks(ts, r)
        mean = float(r.mean())
        downside = np.minimum(r, 0.0)
        self._down_ss += float(np.square(downside, out=downside).sum())
        r -= mean
        m2 = float(np.square(r, out=r).sum())
        if self._n == 0:
            self._ret_mean, self._ret_m2 = mean, m2
            return
        _, self._ret_mean, self._ret_m2 = _merged(self._n, self._ret_mean, self._ret_m2,
                                                   eq.size, mean, m2)

    def _absorb_blocks(self, ts: np.ndarray, r: np.ndarray) -> None:
        blocks, edges = self._blocks, self._edges
        assert blocks is not None and edges is not None
        ids = np.searchsorted(edges, ts, side="right") - 1
        cuts = np.flatnonzero(np.diff(ids)) + 1  # ts are increasing: each block one run
        for lo, hi in zip(np.concatenate(([0], cuts)), np.concatenate((cuts, [ids.size]))):
            block = int(ids[lo])
            if block < 0:
                continue
            part = r[lo:hi]
            mean = float(part.mean())
            blocks[block] = _merged(*blocks[block], part.size, mean,
                                    float(np.square(part - mean).sum()))

    def _absorb_drawdown(self, ts: np.ndarray, eq: np.ndarray) -> None:
        peak = np.maximum.accumulate(eq)
        np.maximum(peak, self._peak, out=peak)
        self._max_dd = max(self._max_dd, float((1.0 - eq / peak).max()))
        self._peak = float(peak[-1])
        at_peak = np.flatnonzero(eq >= peak) + (self._n + 1)
        if not at_peak.size:
            return
        marks = np.concatenate(([self._peak_idx], at_peak))
        gaps = np.diff(marks)
        j = int(np.argmax(gaps))
        # consecutive peaks (gap 1) are no drawdown; strict > keeps the earliest
        if gaps[j] > 1 and gaps[j] > self._longest[0]:
            start = self._peak_ts if j == 0 else int(ts[marks[j] - self._n - 1])
            self._longest = (int(gaps[j]), start, int(ts[marks[j + 1] - self._n - 1]))
        self._peak_idx = int(marks[-1])
        self._peak_ts = int(ts[marks[-1] - self._n - 1])

    def _return_stats(self, periods: float) -> dict[str, Any]:
        n = self._n
        if not self._returns_defined or n == 0:
            return {"volatility": _NAN, "sharpe_ratio": _NAN, "sortino_ratio": _NAN}
        root = math.sqrt(periods)
        std = math.sqrt(self._ret_m2 / (n - 1)) if n > 1 else _NAN
        downside = math.sqrt(self._down_ss / n)
        return {
            "volatility": std * root,
            "sharpe_ratio": self._ret_mean / std * root if std > _ZERO else _NAN,
            "sortino_ratio": self._ret_mean / downside * root if downside > _ZERO else _NAN,
        }

    def _curve_stats(self, dt: float, notional: float) -> dict[str, Any]:
        n, growth = self._n, self._last_equity / self._initial
        years = _NAN
        if self._first_ts is not None and self._last_ts is not None:
            years = (self._last_ts - self._first_ts + dt) / _NS_PER_YEAR
        cagr = _cagr(growth, years)
        mean_equity = self._equity_sum / n if n else _NAN
        return {
            "total_return": growth - 1.0,
            "cagr": cagr,
            "calmar_ratio": cagr / self._max_dd if self._max_dd > 0 else _NAN,
            "max_drawdown": self._max_dd,
            **self._drawdown_duration(dt),
            "exposure": self._exposure_bars / n if n else _NAN,
            "avg_exposure": self._exposure_sum / n if n else _NAN,
            "turnover": notional / mean_equity if mean_equity > 0 else _NAN,
            "final_equity": self._last_equity,
        }

    def _drawdown_duration(self, dt: float) -> dict[str, Any]:
        bars, start, end = self._longest
        open_bars = self._n - self._peak_idx  # from the last peak to the last bar (index n)
        if open_bars > bars:
            bars, start, end = open_bars, self._peak_ts, self._last_ts
        if bars == 0 or end is None or self._first_ts is None:
            return {"max_drawdown_duration_bars": 0, "max_drawdown_duration_days": 0.0}
        # start None: the peak is the initial equity, which stands at ts_0 - dt
        span = end - self._first_ts + dt if start is None else float(end - start)
        days = span / _NS_PER_DAY
        return {"max_drawdown_duration_bars": bars, "max_drawdown_duration_days": days}


def _cagr(growth: float, years: float) -> float:
    if not years > 0 or growth < 0:
        return _NAN
    try:
        return math.pow(growth, 1.0 / years) - 1.0
    except OverflowError:
        return math.inf


def _as_chunk(
    timestamp: npt.ArrayLike, equity: npt.ArrayLike, exposure: npt.ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ts = np.asarray(timestamp)
    if ts.dtype.kind == "M":
        ts = ts.astype("datetime64[ns]").view(np.int64)
    elif ts.size and ts.dtype.kind not in "iu":
        raise DataError(f"timestamps must be int64 ns or datetime64, got dtype {ts.dtype}")
    ts = ts.astype(np.int64, copy=False)
    eq = np.asarray(equity, dtype=np.float64)
    xp = np.asarray(exposure, dtype=np.float64)
    if not ts.ndim == eq.ndim == xp.ndim == 1 or not ts.size == eq.size == xp.size:
        raise DataError(
            "timestamp, equity and exposure must be 1-D of one length, got shapes "
            f"{ts.shape}, {eq.shape}, {xp.shape}"
        )
    if not (np.isfinite(eq).all() and np.isfinite(xp).all()):
        raise DataError("equity and exposure must be finite (no NaN or inf)")
    return ts, eq, xp


def _trade_columns(trades: Trades) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    def column(name: str, attribute: str) -> npt.ArrayLike | None:
        if isinstance(trades, Mapping):
            return trades.get(name)
        return getattr(trades, attribute, None)

    pnl, ret, is_open = column("pnl", "pnl"), column("return", "return_"), column("open", "open")
    for name, value in (("pnl", pnl), ("return", ret)):
        if value is None:
            raise DataError(f"trades have no {name!r} column")
    pnl_a = np.asarray(pnl, dtype=np.float64)
    ret_a = np.asarray(ret, dtype=np.float64)
    open_a = np.zeros(pnl_a.shape, bool) if is_open is None else np.asarray(is_open, dtype=bool)
    same_length = pnl_a.size == ret_a.size == open_a.size
    if not (pnl_a.ndim == ret_a.ndim == open_a.ndim == 1 and same_length):
        raise DataError(
            "trade columns pnl, return and open must be 1-D of one length, got shapes "
            f"{pnl_a.shape}, {ret_a.shape}, {open_a.shape}"
        )
    if not (np.isfinite(pnl_a).all() and np.isfinite(ret_a).all()):
        raise DataError("trade pnl and return must be finite (no NaN or inf)")
    return pnl_a, ret_a, open_a


def _trade_stats(pnl: np.ndarray, ret: np.ndarray, is_open: np.ndarray) -> dict[str, Any]:
    closed = ~is_open
    pnl, ret = pnl[closed], ret[closed]
    k = pnl.size
    gross_loss = -float(pnl[pnl < 0].sum())
    return {
        "win_rate": int(np.count_nonzero(pnl > 0)) / k if k else _NAN,
        "profit_factor": float(pnl[pnl > 0].sum()) / gross_loss if gross_loss > 0 else _NAN,
        "avg_trade": float(pnl.mean()) if k else _NAN,
        "avg_trade_return": float(ret.mean()) if k else _NAN,
        "best_trade": float(pnl.max()) if k else _NAN,
        "worst_trade": float(pnl.min()) if k else _NAN,
        "trade_count": k,
        "open_trades": int(is_open.sum()),
    }
