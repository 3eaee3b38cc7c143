"""One HTML page: plotly.js inlined once, figures and tables as JSON drawn on load.

Every figure is a ``<div class="admf-plot">`` with its spec in a
``<script type="application/json">`` beside it; one small script draws them
all with ``Plotly.newPlot``. Tables too are JSON (raw values to sort by,
formatted text to show), so a 1,000-run leaderboard sorts numerically in the
browser without a table library. The page references nothing outside itself.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..components.metric_format import format_metric
from ..components.metrics import Metrics

__all__ = ("Page", "esc", "plain")

esc = html.escape


def plain(value: Any) -> Any:
    """``value`` as JSON can hold it: NaN and infinities as null, numpy scalars as numbers."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def _json(obj: Any) -> str:
    """JSON safe inside a <script> element."""
    from plotly.io.json import to_json_plotly

    text: str = to_json_plotly(obj)
    return text.replace("</", "<\\/")


def shown(column: str, value: Any) -> str:
    """A table cell as people read it (metrics formatted as everywhere in admf)."""
    if value is None or isinstance(value, float) and not math.isfinite(value):
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    name = column.removeprefix("test_").removeprefix("train_")
    if name not in Metrics.__struct_fields__:  # a parameter, a rank, a count of draws
        return f"{value:,}" if isinstance(value, int) else f"{value:g}"
    return format_metric(name, value, "–")


_CSS = """
body{font:14px system-ui,sans-serif;margin:1.5em 2em;color:#222}
h1{font-size:1.5em}h2{border-bottom:2px solid #ccd;padding-bottom:3px;margin-top:2em}
table{border-collapse:collapse;margin:0.5em 1.5em 0.5em 0}
th,td{padding:2px 8px;text-align:right;border-bottom:1px solid #e3e3e3;white-space:nowrap}
th{font-weight:600;background:#f4f5f8}th.metric{text-align:left;font-weight:500;background:none}
.admf-table th{cursor:pointer;user-select:none;position:sticky;top:0}
.admf-table th.asc::after{content:" \\25B2"}.admf-table th.desc::after{content:" \\25BC"}
.scroll{max-height:28em;max-width:100%;overflow:auto;display:inline-block;border:1px solid #e3e3e3}
.row{display:flex;flex-wrap:wrap;align-items:flex-start;gap:1em}
.admf-plot{width:100%;min-height:200px}.note{color:#777}
td.pos{background:#e3f3e6}td.neg{background:#f8e1e1}
nav a{margin-right:1em}
"""

_SCRIPT = r"""
(function(){
function sortTable(t, spec, col, dir){
  var idx = spec.rows.map(function(_, i){ return i; });
  idx.sort(function(a, b){
    var x = spec.rows[a][col], y = spec.rows[b][col];
    if (x === null && y === null) return a - b;
    if (x === null) return 1;
    if (y === null) return -1;
    var c = (typeof x === 'number' && typeof y === 'number') ? x - y
            : String(x).localeCompare(String(y));
    return (c === 0 ? a - b : dir * c);
  });
  t.order = idx;
}
function drawTable(t){
  var spec = t.spec, out = [];
  for (var k = 0; k < t.order.length; k++){
    var i = t.order[k], cells = spec.text[i], row = spec.rows[i];
    out.push('<tr>' + cells.map(function(c, j){
      var cls = spec.signed && spec.signed[j] && typeof row[j] === 'number'
                ? (row[j] > 0 ? ' class="pos"' : row[j] < 0 ? ' class="neg"' : '') : '';
      return '<td' + cls + '>' + c + '</td>'; }).join('') + '</tr>');
  }
  t.body.innerHTML = out.join('');
}
function makeTable(holder){
  var spec = JSON.parse(document.getElementById(holder.dataset.spec).textContent);
  var table = document.createElement('table'), head = document.createElement('thead');
  var tr = document.createElement('tr'), body = document.createElement('tbody');
  var t = {spec: spec, body: body, order: spec.rows.map(function(_, i){ return i; })};
  spec.columns.forEach(function(name, col){
    var th = document.createElement('th');
    th.textContent = name;
    th.addEventListener('click', function(){
      var dir = th.classList.contains('desc') ? 1 : -1;
      tr.querySelectorAll('th').forEach(function(h){ h.classList.remove('asc', 'desc'); });
      th.classList.add(dir > 0 ? 'asc' : 'desc');
      sortTable(t, spec, col, dir);
      drawTable(t);
    });
    tr.appendChild(th);
  });
  head.appendChild(tr); table.appendChild(head); table.appendChild(body);
  holder.appendChild(table);
  drawTable(t);
}
function makeHeatmap(div, spec){
  var sel = {}, holder = div.parentNode;
  holder.querySelectorAll('select').forEach(function(s){
    sel[s.dataset.role] = s;
    s.addEventListener('change', redraw);
  });
  function redraw(){
    var key = sel.x.value + '|' + sel.y.value + '|' + sel.agg.value;
    var cell = spec.grids[key];
    var note = holder.querySelector('.note');
    if (!cell){ note.textContent = 'choose two different parameters'; return; }
    note.textContent = '';
    Plotly.react(div, [{type: 'heatmap', x: cell.x.map(String), y: cell.y.map(String),
                        z: cell.z, colorscale: 'RdBu', reversescale: spec.lower,
                        hovertemplate: sel.x.value + '=%{x}<br>' + sel.y.value + '=%{y}<br>' +
                          spec.objective + ' (' + sel.agg.value + ')=%{z:.4g}<extra></extra>',
                        colorbar: {title: {text: spec.objective}}}],
                 {title: {text: spec.objective + ' by ' + sel.x.value + ' and ' + sel.y.value +
                          ' (' + sel.agg.value + ' over the other parameters)'},
                  xaxis: {title: {text: sel.x.value}, type: 'category'},
                  yaxis: {title: {text: sel.y.value}, type: 'category'},
                  height: 420, margin: {t: 50}}, {displaylogo: false, responsive: true});
  }
  redraw();
}
var timings = window.admfTimings = {start: performance.now(), figures: []};
document.querySelectorAll('.admf-table').forEach(makeTable);
timings.tables = performance.now();
function draw(div){
  if (div.dataset.drawn) return;
  div.dataset.drawn = '1';
  var t0 = performance.now();
  var spec = JSON.parse(document.getElementById(div.dataset.spec).textContent);
  if (spec.heatmap) { makeHeatmap(div, spec.heatmap); }
  else { Plotly.newPlot(div, spec.data, spec.layout, {displaylogo: false, responsive: true}); }
  timings.figures.push(performance.now() - t0);
}
var plots = Array.prototype.slice.call(document.querySelectorAll('.admf-plot'));
// a chart is drawn when it comes near the screen: a page of many runs opens
// as fast as its first screen; admfDrawAll() (and printing) draws the rest
window.admfDrawAll = function(){ plots.forEach(draw); };
window.addEventListener('beforeprint', window.admfDrawAll);
if ('IntersectionObserver' in window) {
  var seen = new IntersectionObserver(function(entries){
    entries.forEach(function(e){ if (e.isIntersecting) { seen.unobserve(e.target); draw(e.target); } });
  }, {rootMargin: '400px'});
  plots.forEach(function(div){ seen.observe(div); });
} else { window.admfDrawAll(); }
requestAnimationFrame(function(){ timings.ready = performance.now(); });
})();
"""


class Page:
    """Collects sections; :meth:`html` lays out the page with plotly.js once."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []
        self._specs: list[str] = []

    def add(self, text: str) -> None:
        self.parts.append(text)

    def _spec(self, obj: Any) -> str:
        ident = f"spec{len(self._specs)}"
        self._specs.append(f'<script type="application/json" id="{ident}">{_json(obj)}</script>')
        return ident

    def figure(self, data: Sequence[Mapping[str, Any]], layout: Mapping[str, Any]) -> str:
        """A plot div for plotly traces ``data`` and ``layout``."""
        ident = self._spec({"data": list(data), "layout": dict(layout)})
        height = int(layout.get("height", 450))
        return f'<div class="admf-plot" style="height:{height}px" data-spec="{ident}"></div>'

    def heatmap(self, grids: Mapping[str, Any], params: Sequence[str], objective: str,
                lower_is_better: bool) -> str:
        """A heatmap with pickers for its two parameters and the aggregate."""
        from ._calc import AGGREGATES

        ident = self._spec({"heatmap": {"grids": grids, "objective": objective,
                                        "lower": lower_is_better}})

        def picker(role: str, options: Sequence[str], chosen: str) -> str:
            items = "".join(f'<option{" selected" if o == chosen else ""}>{esc(o)}</option>'
                            for o in options)
            return f'<label>{role} <select data-role="{role}">{items}</select></label> '

        controls = (picker("x", params, params[0]) + picker("y", params, params[1])
                    + picker("agg", list(AGGREGATES), "mean"))
        return (f'<div class="heatmap"><p>{controls}<span class="note"></span></p>'
                f'<div class="admf-plot" style="height:420px" data-spec="{ident}"></div></div>')

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], *,
              signed: Sequence[bool] | None = None, scroll: bool = True,
              formats: Sequence[Sequence[str]] | None = None) -> str:
        """A sortable table (click a header): raw values sort, formatted ones
        show, each cell formatted as the metric its column (or ``formats``,
        row by row) names."""
        raw = [[plain(v) for v in row] for row in rows]
        names = formats if formats is not None else [list(columns)] * len(raw)
        text = [[esc(shown(c, v)) for c, v in zip(kinds, row)] for kinds, row in zip(names, raw)]
        ident = self._spec({"columns": list(columns), "rows": raw, "text": text,
                            "signed": list(signed) if signed else None})
        holder = f'<div class="admf-table" data-spec="{ident}"></div>'
        return f'<div class="scroll">{holder}</div>' if scroll else holder

    def html(self) -> str:
        from plotly.offline import get_plotlyjs

        title = esc(self.title)
        return ("<!doctype html><html><head><meta charset='utf-8'>"
                f"<title>{title}</title><style>{_CSS}</style>"
                f"<script>{get_plotlyjs()}</script></head><body>"
                + "".join(self.parts) + "".join(self._specs)
                + f"<script>{_SCRIPT}</script></body></html>")


def metrics_table(metrics: Mapping[str, Any], names: Sequence[str] | None = None) -> str:
    """A two-column table of metrics, formatted."""
    keys = list(names) if names is not None else list(metrics)
    rows = "".join(f'<tr><th class="metric">{esc(k)}</th>'
                   f"<td>{esc(format_metric(k, metrics.get(k), '–'))}</td></tr>"
                   for k in keys if k in metrics)
    return f'<table class="metrics">{rows}</table>'


def json_dumps(obj: Any) -> str:
    return json.dumps(plain(obj))
