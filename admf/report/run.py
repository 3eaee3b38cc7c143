"""One run's section: price with indicators and trades, equity against buy and
hold, drawdown, trade PnL, monthly returns and the metrics.

The four charts share one time axis (zoom one, all follow). Long curves are
thinned for display only (min/max per bucket, OHLC merged into wider
candles); every number in the tables comes from the full curve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..components.metric_format import HEADLINE
from ..components.metrics import Metrics
from ..research.results.view import Run
from ._calc import buy_and_hold, candles, downsample, monthly_returns
from ._page import Page, esc, metrics_table
from ._source import Bars, bars_of, indicators_of, metrics_dict, table_or_none

__all__ = ("run_section", "Curve", "curve_of", "monthly_table")

_MAX_PRICES = 4  # price panels per run (one per symbol traded, the first few)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_GREEN, _RED, _BLUE, _GREY = "#2a9d4b", "#c43b3b", "#1f5fa8", "#888"


@dataclass
class Curve:
    """A run's equity curve with its drawdown (a positive fraction below the peak)."""

    timestamp: np.ndarray
    equity: np.ndarray
    drawdown: np.ndarray


def curve_of(run: Run) -> Curve | None:
    table = table_or_none(lambda: run.equity)
    if table is None or "equity" not in table or not len(table):
        return None
    equity = np.asarray(table["equity"], dtype=np.float64)
    if "drawdown" in table:
        drawdown = np.asarray(table["drawdown"], dtype=np.float64)
    else:
        drawdown = 1 - equity / np.maximum.accumulate(equity)
    return Curve(np.asarray(table["timestamp"], dtype=np.int64), equity, drawdown)


def _times(ns: np.ndarray) -> np.ndarray:
    """Event times (int64 ns) as the milliseconds a plotly date axis reads:
    13 digits a point instead of a 23-character date string."""
    return np.asarray(ns, dtype=np.int64) // 1_000_000


def _num(values: np.ndarray, digits: int = 7) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits of the largest, so
    the page carries no digits a chart cannot show."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.abs(values[np.isfinite(values)])
    if not len(finite) or not finite.max():
        return values
    return np.round(values, max(digits - 1 - int(np.floor(np.log10(finite.max()))), 0))


def _line(ts: np.ndarray, values: np.ndarray, *, name: str, axis: int, colour: str,
          **extra: Any) -> dict[str, Any]:
    index, sample = downsample(values)
    return {"type": "scatter", "mode": "lines", "name": name, "x": _times(ts[index]),
            "y": _num(sample), "line": {"color": colour, "width": 1.3}, "xaxis": "x",
            "yaxis": f"y{axis}" if axis > 1 else "y", **extra}


def _price_traces(bars: Bars, indicators: Mapping[str, np.ndarray], trades: Any,
                  axis: int) -> list[dict[str, Any]]:
    yaxis = f"y{axis}" if axis > 1 else "y"
    ts, o, h, low, c = candles(bars.timestamp, bars.open, bars.high, bars.low, bars.close)
    traces: list[dict[str, Any]] = [{
        "type": "candlestick", "name": bars.symbol, "x": _times(ts), "open": _num(o),
        "high": _num(h), "low": _num(low), "close": _num(c), "xaxis": "x", "yaxis": yaxis, "showlegend": False,
        "increasing": {"line": {"color": _GREEN}}, "decreasing": {"line": {"color": _RED}}}]
    palette = ("#e08a00", "#7b3fb5", "#1a9fb0", "#b0417d", "#5a7d1a")
    for i, (role, values) in enumerate(indicators.items()):
        traces.append(_line(bars.timestamp, values, name=f"{bars.symbol} {role}", axis=axis,
                            colour=palette[i % len(palette)]))
    if trades is not None and len(trades):
        mine = np.asarray(trades["symbol"]) == bars.symbol
        traces += _markers(trades, mine, axis)
    return traces


def _markers(trades: Any, mine: np.ndarray, axis: int) -> list[dict[str, Any]]:
    """Entry and exit markers; hover shows time, price, size and the trade's PnL."""
    yaxis = f"y{axis}" if axis > 1 else "y"
    direction = np.asarray(trades["direction"])[mine]
    quantity = np.asarray(trades["quantity"], dtype=np.float64)[mine]
    pnl = np.asarray(trades["pnl"], dtype=np.float64)[mine]
    is_open = np.asarray(trades["open"], dtype=bool)[mine]
    out = []
    for side, label, symbol, colour in ((1, "long entry", "triangle-up", _GREEN),
                                        (-1, "short entry", "triangle-down", _RED)):
        pick = direction == side
        if pick.any():
            out.append({
                "type": "scatter", "mode": "markers", "name": label, "xaxis": "x",
                "yaxis": yaxis, "x": _times(np.asarray(trades["entry_time"])[mine][pick]),
                "y": np.asarray(trades["entry_price"])[mine][pick],
                "customdata": np.column_stack([quantity[pick], pnl[pick]]),
                "marker": {"symbol": symbol, "size": 9, "color": colour,
                           "line": {"width": 0.5, "color": "#222"}},
                "hovertemplate": f"{label}<br>%{{x}}<br>price %{{y:,.4f}}<br>size "
                                 "%{customdata[0]:,.4g}<br>trade PnL %{customdata[1]:,.2f}"
                                 "<extra></extra>"})
    closed = ~is_open
    if closed.any():
        out.append({
            "type": "scatter", "mode": "markers", "name": "exit", "xaxis": "x", "yaxis": yaxis,
            "x": _times(np.asarray(trades["exit_time"])[mine][closed]),
            "y": np.asarray(trades["exit_price"])[mine][closed],
            "customdata": np.column_stack([quantity[closed], pnl[closed]]),
            "marker": {"symbol": "x", "size": 7, "color": "#222"},
            "hovertemplate": "exit<br>%{x}<br>price %{y:,.4f}<br>size %{customdata[0]:,.4g}"
                             "<br>PnL %{customdata[1]:,.2f}<extra></extra>"})
    return out


def monthly_table(curve: Curve, initial: float | None) -> str:
    """Years down, months across, each cell the month's return; the year's
    compounded return last."""
    months = monthly_returns(curve.timestamp, curve.equity, initial)
    if not months:
        return ""
    years = sorted({y for y, _, _ in months})
    cell = {(y, m): r for y, m, r in months}
    head = "".join(f"<th>{m}</th>" for m in _MONTHS)
    body = []
    for year in years:
        cells, total = [], 1.0
        for m in range(1, 13):
            r = cell.get((year, m))
            if r is None:
                cells.append("<td></td>")
                continue
            total *= 1 + r
            cls = "pos" if r > 0 else "neg" if r < 0 else ""
            cells.append(f'<td class="{cls}">{r * 100:.2f}%</td>')
        body.append(f"<tr><th>{year}</th>{''.join(cells)}<th>{(total - 1) * 100:.2f}%</th></tr>")
    return (f'<table class="monthly"><thead><tr><th></th>{head}<th>year</th></tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")


def run_section(page: Page, run: Run, *, config: Any, title: str, anchor: str,
                initial: float | None, metrics: Metrics | None = None,
                indicators: bool = True, note: str = "") -> str:
    """The section of one run (``metrics`` overrides the run's own, e.g. a
    walk-forward's out-of-sample figures)."""
    curve = curve_of(run)
    trades = table_or_none(lambda: run.trades)
    shown = metrics_dict(metrics if metrics is not None else run.metrics)
    params = ", ".join(f"{k}={v}" for k, v in run.params.items())
    symbols = _symbols(config, trades)
    prices = [b for b in (bars_of(config, s) for s in symbols[:_MAX_PRICES]) if b is not None]
    if curve is not None and prices:  # the bars the run traded over
        lo, hi = curve.timestamp[0], curve.timestamp[-1]
        prices = [_clip(b, lo, hi) for b in prices]
        prices = [b for b in prices if len(b.timestamp)]
    traces: list[dict[str, Any]] = []
    panels: list[tuple[str, float]] = []
    if curve is not None:
        traces.append(_line(curve.timestamp, curve.equity, name="equity", axis=1, colour=_BLUE))
        if prices:
            capital = initial if initial is not None else float(curve.equity[0])
            bench = buy_and_hold(curve.timestamp, {b.symbol: (b.timestamp, b.close)
                                                   for b in prices}, capital)
            traces.append(_line(curve.timestamp, bench, name="buy and hold", axis=1,
                                colour=_GREY, **{"line": {"color": _GREY, "width": 1.1,
                                                          "dash": "dot"}}))
        panels.append(("equity", 3.0))
        traces.append(_line(curve.timestamp, -curve.drawdown, name="drawdown", axis=2,
                            colour=_RED, fill="tozeroy"))
        panels.append(("drawdown", 1.5))
    if trades is not None and len(trades):
        pnl = np.asarray(trades["pnl"], dtype=np.float64)
        when = np.where(np.asarray(trades["open"], dtype=bool),
                        np.asarray(trades["entry_time"]), np.asarray(trades["exit_time"]))
        axis = len(panels) + 1
        traces.append({"type": "scatter", "mode": "markers", "name": "trade PnL", "xaxis": "x",
                       "yaxis": f"y{axis}" if axis > 1 else "y", "x": _times(when), "y": _num(pnl),
                       "marker": {"size": 6, "color": np.where(pnl >= 0, _GREEN, _RED)},
                       "hovertemplate": "exit %{x}<br>PnL %{y:,.2f}<extra></extra>"})
        panels.append(("trade PnL", 1.5))
    for bars in prices:
        values = indicators_of(run, bars) if indicators else {}
        traces += _price_traces(bars, values, trades, len(panels) + 1)
        panels.append((f"{bars.symbol} price", 3.0))
    chart = page.figure(traces, _layout(panels)) if traces else (
        '<p class="note">this run kept no equity curve or trades</p>')
    missing = "" if prices or not symbols else (
        '<p class="note">price chart left out: the bars could not be read again '
        "(data moved, or given in memory)</p>")
    monthly = monthly_table(curve, initial) if curve is not None else ""
    return (f'<section id="{esc(anchor)}"><h3>{esc(title)}</h3>'
            f"<p>{esc(params) or 'no parameters'}{esc(note)}</p>{chart}{missing}"
            f'<div class="row"><div><h4>metrics</h4>{metrics_table(shown, _order(shown))}</div>'
            f"<div><h4>monthly returns</h4>{monthly or '<p class=note>no equity curve</p>'}"
            "</div></div></section>")


def _order(metrics: Mapping[str, Any]) -> list[str]:
    return [*[m for m in HEADLINE if m in metrics], *[m for m in metrics if m not in HEADLINE]]


def _symbols(config: Any, trades: Any) -> list[str]:
    traded = list(dict.fromkeys(np.asarray(trades["symbol"]).tolist())) if (
        trades is not None and len(trades)) else []
    configured = list(config.data.symbols) if config is not None else []
    return [*traded, *[s for s in configured if s not in traded]]


def _clip(bars: Bars, lo: int, hi: int) -> Bars:
    a, b = np.searchsorted(bars.timestamp, [lo, hi], side="left")
    b = np.searchsorted(bars.timestamp, hi, side="right")
    return Bars(bars.symbol, *(getattr(bars, f)[a:b] for f in
                               ("timestamp", "open", "high", "low", "close")))


def _layout(panels: Sequence[tuple[str, float]]) -> dict[str, Any]:
    """Stacked panels sharing one x axis, top to bottom in ``panels`` order."""
    total = sum(w for _, w in panels)
    gap = 0.03
    usable = 1 - gap * (len(panels) - 1)
    layout: dict[str, Any] = {
        "height": int(140 + 90 * total), "margin": {"t": 30, "l": 70, "r": 20, "b": 30},
        "hovermode": "closest", "legend": {"orientation": "h", "y": 1.02, "x": 0,
                                           "yanchor": "bottom"},
        "xaxis": {"type": "date", "rangeslider": {"visible": False}, "anchor": "y"},
    }
    top = 1.0
    for i, (name, weight) in enumerate(panels):
        height = usable * weight / total
        key = "yaxis" if i == 0 else f"yaxis{i + 1}"
        axis: dict[str, Any] = {"domain": [max(top - height, 0.0), top],
                                "title": {"text": name}}
        if name == "drawdown":
            axis["tickformat"] = ".0%"
        layout[key] = axis
        top -= height + gap
    if len(panels) > 1:  # one x axis at the bottom, shared by every panel
        layout["xaxis"]["anchor"] = f"y{len(panels)}"
    return layout
