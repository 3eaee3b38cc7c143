"""How big is a 1,000-point sweep's report, and how fast does it open in a browser?

The sweep: SMA crossover, fast 2..41 x slow 50..74 (1,000 points) on seeded
synthetic hourly bars, written to a temporary results directory. Its report
(leaderboard of all 1,000 runs, the heatmap, charts for the best 5) is
opened in headless Chromium (Debian's ``chromium``, driven by Playwright)
from ``file://``, a fresh page each time, best of ``--repeats``:

* ``first_screen_s``: navigation start until every chart on the first screen
  is drawn (the page draws the others as they scroll near);
* ``all_charts_s``: until every chart of the page is drawn (``admfDrawAll``);
* ``plotly_only_s``: the baseline, a page holding nothing but the same
  inlined plotly.js; ``first_screen_s`` over it is the report's own cost.

Targets: the report under 10 MB and its first screen under 3 s. On a shared
machine wall times swing with the load average, which is printed too. The
last line printed is one JSON object.

    python benchmarks/bench_report.py            # ~1 min: the sweep, then 3 loads
    python benchmarks/bench_report.py --bars 1000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import admf
from admf.report import write_report

FIRST_SCREEN = ("() => window.admfTimings && window.admfTimings.ready && "
                "[...document.querySelectorAll('.admf-plot')]"
                ".filter(d => d.getBoundingClientRect().top < innerHeight)"
                ".every(d => d.querySelector('svg.main-svg'))")
ALL_DRAWN = ("() => [...document.querySelectorAll('.admf-plot')]"
             ".every(d => d.querySelector('svg.main-svg'))")


def sweep(root: Path, bars: int) -> Path:
    config = {
        "name": "sweep1000", "seed": 11,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": bars,
                 "start": "2020-01-01"},
        "strategies": [{"type": "sma_crossover",
                        "params": {"fast": {"range": [2, 41, 1]}, "slow": {"range": [50, 74, 1]}}}],
        "sequence": {"type": "parameter_sweep"},
        "results": {"dir": str(root)},
    }
    result = admf.run_sync(config)
    assert len(result.runs) == 1000, len(result.runs)
    assert result.path is not None
    return Path(result.path)


def load(browser: Any, path: Path) -> tuple[float, float, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(path.as_uri(), wait_until="commit")
        page.wait_for_function(FIRST_SCREEN, polling=10, timeout=60_000)
        first = page.evaluate("performance.now()") / 1000
        page.evaluate("admfDrawAll()")
        page.wait_for_function(ALL_DRAWN, polling=10, timeout=60_000)
        whole = page.evaluate("performance.now()") / 1000
    finally:
        page.close()
    return first, whole, problems


def baseline(browser: Any, folder: Path) -> float:
    from plotly.offline import get_plotlyjs

    path = folder / "plotly_only.html"
    path.write_text("<!doctype html><html><head><meta charset='utf-8'><script>"
                    f"{get_plotlyjs()}</script></head><body><script>window.ready = "
                    "typeof Plotly === 'object'</script></body></html>", encoding="utf-8")
    page = browser.new_page()
    try:
        page.goto(path.as_uri(), wait_until="commit")
        page.wait_for_function("() => window.ready", polling=10)
        seconds: float = page.evaluate("performance.now()") / 1000
    finally:
        page.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bars", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    chromium = os.environ.get("ADMF_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        sys.exit("no chromium on PATH (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        run_dir = sweep(folder / "results", args.bars)
        sweep_s = time.perf_counter() - started
        started = time.perf_counter()
        report = write_report(run_dir, interactive=True)
        write_s = time.perf_counter() - started
        size_mb = report.stat().st_size / 1e6
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium,
                                             args=["--no-sandbox", "--disable-gpu"])
            try:
                loads = [load(browser, report) for _ in range(args.repeats)]
                plain = min(baseline(browser, folder) for _ in range(args.repeats))
            finally:
                browser.close()
    first = min(x[0] for x in loads)
    whole = min(x[1] for x in loads)
    problems = sorted({p for x in loads for p in x[2]})
    out = {"runs": 1000, "bars": args.bars, "sweep_s": round(sweep_s, 2),
           "write_report_s": round(write_s, 2), "size_mb": round(size_mb, 2),
           "first_screen_s": round(first, 3), "all_charts_s": round(whole, 3),
           "plotly_only_s": round(plain, 3), "ratio_vs_plotly_only": round(first / plain, 2),
           "console_errors": problems, "load_average": round(os.getloadavg()[0], 2),
           "size_ok": size_mb < 10, "first_screen_ok": first < 3}
    print(f"report {size_mb:.2f} MB (target < 10), first screen {first:.2f} s (target < 3), "
          f"all charts {whole:.2f} s, plotly.js alone {plain:.2f} s, "
          f"load average {out['load_average']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
