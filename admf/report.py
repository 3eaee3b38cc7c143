"""``admf report RUN_DIR``: one self-contained HTML page per results directory.

For every phase and run it shows the metrics table and, where an equity
curve was kept, SVG charts of equity and drawdown (downsampled to at most
1,500 points by keeping each bucket's first, minimum and maximum, so spikes
survive). No plotting library is needed and the page has no external
references.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from .components.metric_format import HEADLINE, format_metric
from .errors import DataError
from .research.results.store import read_json, read_table

__all__ = ("write_report", "downsample")

_WIDTH, _HEIGHT, _POINTS = 760, 180, 1500


def downsample(values: np.ndarray, points: int = _POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Indexes and values of at most ``points`` samples that keep each
    bucket's first, lowest and highest value, in index order."""
    n = len(values)
    if n <= points:
        return np.arange(n), values
    if points < 3:  # no room for a whole bucket: the extremes, as many as fit
        index = np.unique([int(np.argmin(values)), int(np.argmax(values))])[:points]
        return index, values[index]
    buckets = points // 3
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        chunk = values[lo:hi]
        keep.extend(sorted({lo, lo + int(np.argmin(chunk)), lo + int(np.argmax(chunk))}))
    index = np.asarray(keep, dtype=np.int64)
    return index, values[index]


def _svg(values: np.ndarray, *, label: str, colour: str, fill_to_top: bool = False,
         unit: str = "money") -> str:
    """A line chart of ``values``; ``fill_to_top`` shades between the line and
    the top edge (a drawdown hangs from zero)."""
    index, sample = downsample(values)
    if not len(sample):
        return ""
    lo, hi = float(np.min(sample)), float(np.max(sample))
    span = hi - lo or 1.0
    xs = index / max(len(values) - 1, 1) * (_WIDTH - 75) + 70
    ys = (1 - (sample - lo) / span) * (_HEIGHT - 30) + 10
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    area = (f'<polygon points="70,10 {points} {xs[-1]:.1f},10" fill="{colour}" '
            f'fill-opacity="0.25"/>' if fill_to_top else "")
    shown = (lambda v: f"{v * 100:.1f}%") if unit == "fraction" else (lambda v: f"{v:,.0f}")
    return (f'<svg width="{_WIDTH}" height="{_HEIGHT}" role="img" aria-label="{label}">'
            f'<text x="4" y="14" font-size="11">{html.escape(label)}</text>'
            f'<text x="4" y="28" font-size="10">{shown(hi)}</text>'
            f'<text x="4" y="{_HEIGHT - 22}" font-size="10">{shown(lo)}</text>{area}'
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.2"/>'
            f"</svg>")


def _run_section(run: Path) -> str:
    doc = read_json(run / "metrics.json")
    metrics = doc.get("metrics", {})
    cells = "".join(f"<tr><th>{m}</th><td>{format_metric(m, metrics.get(m), '–')}</td></tr>"
                    for m in HEADLINE)
    params = html.escape(", ".join(f"{k}={v}" for k, v in (doc.get("params") or {}).items()))
    charts = ""
    if (run / "equity.parquet").is_file():
        table = read_table(run / "equity.parquet")
        equity = table.column("equity").to_numpy()
        drawdown = -table.column("drawdown").to_numpy()
        charts = (_svg(equity, label="equity", colour="#1f5fa8")
                  + _svg(drawdown + 0.0, label="drawdown", colour="#b03030", fill_to_top=True,
                         unit="fraction"))
    return (f"<section><h3>{html.escape(run.name)}</h3><p>{params}</p>"
            f'<div class="run"><table>{cells}</table><div>{charts}</div></div></section>')


def write_report(run_dir: Path | str, output: Path | str | None = None) -> Path:
    """Write ``report.html`` for the results directory ``run_dir``."""
    root = Path(run_dir)
    manifest = root / "manifest.json"
    if not manifest.is_file():
        raise DataError(f"{root} has no manifest.json: not a complete admf run")
    info = read_json(manifest)
    phases = [p for p in info.get("phases", []) if (root / p).is_dir()]
    body = []
    for phase in phases:
        runs = sorted(d for d in (root / phase / "runs").glob("*") if (d / "metrics.json").is_file())
        body.append(f"<h2>{html.escape(phase)}</h2>" + "".join(_run_section(r) for r in runs))
    title = html.escape(f"{info.get('name', root.name)} — {info.get('run_id', root.name)}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
            "table{border-collapse:collapse;margin-right:2em}th,td{padding:2px 8px;"
            "text-align:right;border-bottom:1px solid #ddd}th{text-align:left;font-weight:500}"
            ".run{display:flex;align-items:flex-start}svg{display:block;margin-bottom:6px}"
            "</style></head><body>"
            f"<h1>{title}</h1><p>admf {html.escape(str(info.get('admf_version', '')))}, "
            f"seed {html.escape(str(info.get('seed')))}, config fingerprint "
            f"<code>{html.escape(str(info.get('fingerprint', ''))[:16])}</code></p>"
            + "".join(body) + "</body></html>")
    target = Path(output) if output is not None else root / "report.html"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target
