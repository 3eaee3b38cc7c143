"""Each kind of interactive report, loaded in headless Chromium.

Debian's ``chromium`` (``.ci/run`` installs it) driven by Playwright's
Python client pointed at that executable: no browser download. Each test
opens a report from ``file://`` with every network request refused and
recorded, draws every chart (``admfDrawAll``; the page draws them lazily as
they scroll near), and asserts that every plot div holds a rendered plotly
SVG, that the charts hold the traces the page kind promises, and that the
console shows no error or warning. Without a Chromium the tests skip, saying
so; under CI (``CI`` set) a missing Chromium fails instead.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import admf
from admf.report import write_report

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def chromium() -> str | None:
    """The Chromium to drive: ``$ADMF_CHROMIUM``, else the first on PATH."""
    if os.environ.get("ADMF_CHROMIUM"):
        return os.environ["ADMF_CHROMIUM"]
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium under Playwright's sync API, whose event loop then runs in
    this thread: a test asks for its results (``admf.run_sync``) first."""
    path = chromium()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium for the report tests (.ci/run installs "
                        "Debian's chromium package); none found on PATH")
        pytest.skip("no Chromium found (apt-get install chromium, or set ADMF_CHROMIUM): "
                    "the interactive reports cannot be loaded in a browser here")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright (the test extra) is not installed")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=path,
                                          args=["--no-sandbox", "--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


class Loaded:
    """A report open in a page, with what its console and network saw."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"{m.type}: {m.text}")
                     if m.type in ("error", "warning", "assert") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_function("() => window.admfTimings && window.admfTimings.ready")
        self.page.evaluate("admfDrawAll()")
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('.admf-plot')]"
            ".every(d => d.querySelector('svg.main-svg'))", timeout=60_000)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:  # the report must need nothing from outside itself
            self.requests.append(url)
            route.abort()

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def plots(self) -> int:
        """Plot divs holding a rendered plotly chart (an SVG with drawn paths)."""
        count: int = self.js("[...document.querySelectorAll('.admf-plot')].filter(d => "
                             "d.querySelector('svg.main-svg') && "
                             "d.querySelectorAll('path').length > 0).length")
        return count

    def traces(self, index: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.js(
            f"document.querySelectorAll('.admf-plot')[{index}].data.map(t => "
            "({type: t.type, name: t.name, n: (t.x || []).length}))")
        return found

    def clean(self) -> None:
        assert self.problems == []
        assert self.requests == []

    def close(self) -> None:
        self.page.close()


def base(tmp: Path, name: str, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "name": name, "seed": 13,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": 2400,
                 "start": "2021-01-01"},
        "strategies": [{"type": "sma_crossover", "params": {"fast": 10, "slow": 40},
                        "direction": "long_short"}],
        "portfolio": {"initial_cash": 50_000},
        "execution": {"commission": {"type": "percentage", "rate": 0.0005}},
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp)},
    }
    config.update(sections)
    return config


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One results directory (with its report written) of every kind."""
    tmp = tmp_path_factory.mktemp("reports")
    runs = {
        "single": base(tmp, "single"),
        "sweep": base(tmp, "sweep", sequence={"type": "parameter_sweep"}, strategies=[
            {"type": "macd_crossover", "params": {"fast": [5, 12], "slow": [20, 30], "signal": [5, 9]}}]),
        "walk_forward": base(tmp, "wf", sequence={"type": "walk_forward", "train": 800,
                                                  "test": 400},
                             strategies=[{"type": "sma_crossover",
                                          "params": {"fast": [5, 10], "slow": [40, 80]}}]),
        "monte_carlo": base(tmp, "mc", sequence={"type": "monte_carlo", "runs": 40,
                                                 "method": "bootstrap_returns"}),
        "cpcv": base(tmp, "cpcv", sequence={"type": "cpcv", "groups": 4, "test_groups": 2,
                                            "purge": 10, "embargo": 10},
                     strategies=[{"type": "sma_crossover",
                                  "params": {"fast": [5, 10], "slow": [40, 80]}}]),
    }
    out = {}
    for kind, config in runs.items():
        result = admf.run_sync(config)
        out[kind] = write_report(result.path, interactive=True)
    workflow = {
        "name": "flow", "defaults": {k: v for k, v in base(tmp, "flow").items()
                                     if k not in ("name", "strategies")},
        "phases": [
            {"name": "explore", "sequence": {"type": "parameter_sweep"},
             "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10],
                                                                 "slow": [40, 80]}}]},
            {"name": "validate", "depends_on": ["explore"], "strategies": "{explore.best}",
             "sequence": {"type": "walk_forward", "train": 800, "test": 400}},
            {"name": "robustness", "depends_on": ["validate"],
             "sequence": {"type": "monte_carlo", "runs": 30, "method": "bootstrap_returns"}},
        ]}
    result = admf.run_sync(workflow)
    out["workflow"] = write_report(result.path, interactive=True)
    return out


def test_a_single_run_report_draws_price_trades_equity_and_benchmark(
        reports: dict[str, Path], browser: Any) -> None:
    page = Loaded(browser, reports["single"])
    try:
        assert page.plots() == 1
        names = {t["name"]: t for t in page.traces(0)}
        for name in ("equity", "buy and hold", "drawdown", "trade PnL", "AAA fast", "AAA slow",
                     "long entry", "short entry", "exit"):
            assert name in names and names[name]["n"] > 0, name
        assert [t["type"] for t in page.traces(0)].count("candlestick") == 1
        assert page.js("document.querySelectorAll('table.monthly tbody tr').length") >= 1
        assert page.js("document.querySelector('table.metrics').textContent").count("%") > 3
        page.clean()
    finally:
        page.close()


def _column(page: Loaded, name: str) -> list[str]:
    values: list[str] = page.js(
        "(() => { const t = document.querySelector('.admf-table table');"
        "const i = [...t.querySelectorAll('th')].findIndex(h => h.textContent === "
        f"{json.dumps(name)}); return [...t.querySelectorAll('tbody tr')]"
        ".map(r => r.children[i].textContent); })()")
    return values


def test_a_sweep_report_sorts_its_leaderboard_numerically_and_redraws_the_heatmap(
        reports: dict[str, Path], browser: Any) -> None:
    page = Loaded(browser, reports["sweep"])
    try:
        assert page.plots() == 1 + 5  # the heatmap and the best five runs
        assert _column(page, "rank") == [str(i) for i in range(1, 9)]
        fast = page.js("[...document.querySelectorAll('.admf-table th')].findIndex("
                       "h => h.textContent === 'fast')") + 1
        page.page.click(f".admf-table th:nth-child({fast})")  # first click: descending
        assert _column(page, "fast") == ["12"] * 4 + ["5"] * 4  # text order puts "5" first
        page.page.click(f".admf-table th:nth-child({fast})")
        assert _column(page, "fast") == ["5"] * 4 + ["12"] * 4
        heat = page.js("document.querySelector('.heatmap .admf-plot').data[0]")
        assert heat["type"] == "heatmap" and len(heat["z"]) == 2 and len(heat["z"][0]) == 2
        page.page.select_option(".heatmap select[data-role=y]", "signal")
        page.page.select_option(".heatmap select[data-role=agg]", "max")
        heat = page.js("document.querySelector('.heatmap .admf-plot').data[0]")
        assert heat["y"] == ["5", "9"] and "max" in page.js(
            "document.querySelector('.heatmap .gtitle').textContent")
        page.clean()
    finally:
        page.close()


def test_a_walk_forward_report_shows_its_windows_and_stitched_record(
        reports: dict[str, Path], browser: Any) -> None:
    page = Loaded(browser, reports["walk_forward"])
    try:
        summary = json.loads((reports["walk_forward"].parent / "main" / "summary.json")
                             .read_text())
        assert page.plots() == 1
        rows = page.js("document.querySelectorAll('.admf-table tbody tr').length")
        assert rows == len(summary["table"]) > 1
        assert _column(page, "test_start") == [w["test"][0] for w in summary["table"]]
        names = {t["name"] for t in page.traces(0)}
        assert {"equity", "buy and hold", "drawdown", "trade PnL"} <= names
        page.clean()
    finally:
        page.close()


def test_a_cpcv_report_shows_every_test_group_and_the_first_path(
        reports: dict[str, Path], browser: Any) -> None:
    page = Loaded(browser, reports["cpcv"])
    try:
        summary = json.loads((reports["cpcv"].parent / "main" / "summary.json").read_text())
        assert page.plots() == 1
        rows = page.js("document.querySelectorAll('.admf-table tbody tr').length")
        assert rows == len(summary["table"]) == 6 * 2  # C(4, 2) splits x 2 test groups
        names = {t["name"]: t for t in page.traces(0)}
        assert {"equity", "buy and hold", "drawdown"} <= set(names)
        page.clean()
    finally:
        page.close()


def test_a_monte_carlo_report_marks_the_actual_value_on_each_distribution(
        reports: dict[str, Path], browser: Any) -> None:
    page = Loaded(browser, reports["monte_carlo"])
    try:
        assert page.plots() == 2  # the distributions and the actual run
        histograms = [t for t in page.traces(0) if t["type"] == "histogram"]
        assert len(histograms) >= 8 and all(t["n"] == 40 for t in histograms)
        marks = page.js("document.querySelectorAll('.admf-plot')[0].layout.shapes.length")
        assert marks == len(histograms)
        page.clean()
    finally:
        page.close()


def test_a_workflow_report_links_every_phase_from_its_overview(
        reports: dict[str, Path], browser: Any) -> None:
    page = Loaded(browser, reports["workflow"])
    try:
        links = page.js("[...document.querySelectorAll('table.overview a')]"
                        ".map(a => a.getAttribute('href'))")
        assert links == ["#phase-explore", "#phase-validate", "#phase-robustness"]
        assert all(page.js(f"!!document.getElementById({json.dumps(h[1:])})") for h in links)
        # explore: a heatmap and 4 runs; validate: 1; robustness: 2
        assert page.plots() == page.js("document.querySelectorAll('.admf-plot').length") >= 7
        page.clean()
    finally:
        page.close()


def test_charts_below_the_screen_are_drawn_when_scrolled_to(
        reports: dict[str, Path], browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 700})
    try:
        page.goto(reports["sweep"].as_uri(), wait_until="load")
        page.wait_for_function("() => window.admfTimings && window.admfTimings.ready")
        last = "document.querySelectorAll('.admf-plot')[5]"
        assert page.evaluate(f"!{last}.querySelector('svg.main-svg')")
        page.evaluate(f"{last}.scrollIntoView()")
        page.wait_for_function(f"() => !!{last}.querySelector('svg.main-svg')")
    finally:
        page.close()
