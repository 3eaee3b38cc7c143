"""``admf report RUN_DIR`` / ``result.report()``: one self-contained HTML page.

The interactive report is drawn with plotly (``pip install 'admf[report]'``):
plotly.js is inlined once per page, so the file opens offline with nothing
fetched. Per run: price candles with the strategy's indicators and the
trades, equity against buy and hold, drawdown, trade PnL, monthly returns
and metrics. A sweep adds a sortable leaderboard and a heatmap of the
objective; a walk-forward its windows table and stitched out-of-sample
record; a Monte Carlo each metric's distribution; a workflow a phase overview
linking each phase. Without plotly the static page (:mod:`.static`: metrics
and SVG equity/drawdown charts) is written instead, with a one-line notice.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..errors import DataError
from ._calc import downsample
from ._page import Page, esc, metrics_table
from ._source import Phase, open_results
from .run import run_section
from .sequence import monte_carlo_section, windows_section
from .sweep import leaderboard, sweep_section

__all__ = ("write_report", "downsample", "interactive_available", "MISSING")

TOP = 5
"""Runs of a grid drawn in detail (the rest are in the leaderboard)."""
MISSING = ("plotly is not installed, so the report is the static one; "
           "pip install 'admf[report]' for the interactive report")


def interactive_available() -> bool:
    return importlib.util.find_spec("plotly") is not None


def write_report(run_dir: Path | str, output: Path | str | None = None, *,
                 interactive: bool | None = None, top: int = TOP) -> Path:
    """Write ``report.html`` (or ``output``) for the results directory
    ``run_dir``; its path. ``interactive=None`` draws with plotly when it is
    installed; ``top`` is how many of a grid's runs get charts."""
    root = Path(run_dir)
    if not (root / "manifest.json").is_file():
        raise DataError(f"{root} has no manifest.json: not a complete admf run")
    if interactive is None:
        interactive = interactive_available()
        if not interactive:
            print(MISSING, file=sys.stderr)
    target = Path(output) if output is not None else root / "report.html"
    if not interactive:
        from .static import write_static

        return write_static(root, target)
    text = render(root, top=top)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target


def render(root: Path, *, top: int = TOP) -> str:
    """The interactive page of ``root`` as text."""
    info, phases, workflow = open_results(root)
    title = f"{info.get('name', root.name)} — {info.get('run_id', root.name)}"
    page = Page(title)
    page.add(f"<h1>{esc(title)}</h1><p>admf {esc(str(info.get('admf_version', '')))}, seed "
             f"{esc(str(info.get('seed')))}, config fingerprint "
             f"<code>{esc(str(info.get('fingerprint', ''))[:16])}</code></p>")
    if workflow:
        page.add(_overview(workflow, {p.name for p in phases}))
    for phase in phases:
        anchor = f"phase-{phase.name}"
        named = str(phase.summary.get("type", phase.kind))  # a plugin sequence: its own name
        what = _KINDS.get(phase.kind, phase.kind)
        what = what if named == phase.kind else f"{named} ({what})"
        heading = f'<h2 id="{esc(anchor)}">{esc(phase.name)}: {esc(what)}</h2>'
        page.add(heading + _phase_body(page, phase, anchor=anchor, top=top))
    return page.html()


_KINDS = {"single_pass": "single pass", "parameter_sweep": "parameter sweep",
          "walk_forward": "walk-forward", "train_test": "train/test", "k_fold": "k-fold",
          "cpcv": "combinatorial purged CV", "monte_carlo": "Monte Carlo"}


def _phase_body(page: Page, phase: Phase, *, anchor: str, top: int) -> str:
    initial = phase.config.portfolio.initial_cash if phase.config is not None else None
    if phase.kind == "parameter_sweep":
        return sweep_section(page, phase, top=top, anchor=anchor)
    if phase.kind in ("walk_forward", "train_test", "k_fold", "cpcv"):
        return windows_section(page, phase, anchor=anchor)
    if phase.kind == "monte_carlo":
        return monte_carlo_section(page, phase, anchor=anchor)
    ranked = phase.ranked()
    board = (f"<h3>portfolios ({len(ranked)})</h3>{leaderboard(page, phase, ranked)}"
             if len(ranked) > 1 else "")
    return board + "".join(
        run_section(page, run, config=phase.config, title=run.key, anchor=f"{anchor}-run{i + 1}",
                    initial=initial) for i, run in enumerate(ranked[:top]))


def _overview(workflow: list[dict[str, Any]], present: set[str]) -> str:
    """One row per phase: status, sequence, headline value, why it was skipped;
    each phase that ran links to its section."""
    rows = []
    for p in workflow:
        dirs = [d for d in p.get("directories", []) if d in present]
        links = " ".join(f'<a href="#phase-{esc(d)}">{esc(d)}</a>' for d in dirs)
        value = p.get("primary_value")
        shown = metrics_table({p.get("primary_metric") or "": value}) if value is not None else ""
        params = ", ".join(f"{k}={v}" for k, v in (p.get("best_params") or {}).items())
        rows.append(f"<tr><td style='text-align:left'>{links or esc(str(p.get('phase')))}</td>"
                    f"<td>{esc(str(p.get('status', '')))}</td>"
                    f"<td>{esc(_KINDS.get(str(p.get('sequence', '')), str(p.get('sequence', ''))))}"
                    f"</td><td>{esc(str(p.get('iterations', '')))}</td><td>{shown}</td>"
                    f"<td>{esc(params)}</td><td style='text-align:left'>"
                    f"{esc(str(p.get('reason') or ''))}</td></tr>")
    head = ("<tr><th>phase</th><th>status</th><th>sequence</th><th>iterations</th>"
            "<th>headline</th><th>chosen parameters</th><th>reason</th></tr>")
    return (f'<h2 id="overview">phases</h2><table class="overview"><thead>{head}</thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")
