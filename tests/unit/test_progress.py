"""Progress reports count what a user waits for: bars read by a single pass,
points of a sweep, train runs then windows (or folds) of a windowed
sequence, draws of a Monte Carlo; each unit ends at its total. The terminal
surface draws a tqdm bar on a terminal and plain lines elsewhere."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

import admf
from admf.progress import plain, terminal

Seen = list[tuple[int, "int | None", str]]

DATA = {"source": "synthetic", "symbols": ["A"], "bars": 3000}
GRID = [{"type": "sma_crossover", "params": {"fast": [5, 10, 15], "slow": [30, 40]}}]


def _run(config: dict[str, Any], *, write: bool = False, tmp: Path | None = None) -> Seen:
    seen: Seen = []
    if tmp is not None:
        config = {**config, "results": {"dir": str(tmp)}}
    admf.run_sync({"executor": {"kind": "inline"}, **config}, write=write,
                  progress=lambda *args: seen.append(args))
    return seen


def _units(seen: Seen) -> list[str]:
    return list(dict.fromkeys(unit for _, _, unit in seen))


def _check_monotone_to_total(seen: Seen, unit: str, total: int) -> None:
    counts = [done for done, _, u in seen if u == unit]
    assert all(t == total for _, t, u in seen if u == unit)
    assert counts == sorted(counts) and counts[-1] == total and counts[0] <= total


def test_a_study_reports_its_bars_up_to_the_total() -> None:
    seen = _run({"data": {**DATA, "symbols": ["A", "B"], "bars": 5000},
                 "strategies": [{"type": "sma_crossover"}]})
    assert seen[-1] == (10_000, 10_000, "bars")
    assert all(done <= 10_000 for done, _, _ in seen)


def test_a_sweep_counts_points_not_chunks(tmp_path: Path) -> None:
    # written: the grid is cut into small pieces, so progress moves in steps
    seen = _run({"data": DATA, "strategies": GRID, "sequence": {"type": "parameter_sweep"}},
                write=True, tmp=tmp_path)
    assert _units(seen) == ["points"]
    _check_monotone_to_total(seen, "points", 6)
    assert seen[0][0] == 0 and len(seen) > 2  # starts at nothing, several steps


def test_a_walk_forward_counts_train_runs_then_windows() -> None:
    seen = _run({"data": DATA, "strategies": GRID,
                 "sequence": {"type": "walk_forward", "train": 1000, "test": 500}})
    # windows: (3000 - 1000) // 500 = 4; each trains all 6 points once
    assert _units(seen) == ["train runs", "windows"]
    _check_monotone_to_total(seen, "train runs", 4 * 6)
    _check_monotone_to_total(seen, "windows", 4)


def test_a_k_fold_counts_folds() -> None:
    seen = _run({"data": DATA, "strategies": GRID, "sequence": {"type": "k_fold", "folds": 3}})
    assert _units(seen) == ["train runs", "folds"]
    # each fold trains on the others' bars, one run per contiguous span: the
    # first and last folds' rest is one span, the middle fold's two; 6 points each
    _check_monotone_to_total(seen, "train runs", (1 + 2 + 1) * 6)
    _check_monotone_to_total(seen, "folds", 3)


@pytest.mark.parametrize("method, units", [("bootstrap_returns", ["base runs", "draws"]),
                                           ("parameter_noise", ["draws"])])
def test_a_monte_carlo_counts_draws(method: str, units: list[str]) -> None:
    seen = _run({"data": DATA, "strategies": [{"type": "sma_crossover",
                                               "params": {"fast": 10, "slow": 40}}],
                 "sequence": {"type": "monte_carlo", "runs": 7, "method": method}})
    assert _units(seen) == units
    _check_monotone_to_total(seen, "draws", 7)


def test_a_workflow_names_the_phase_in_the_unit() -> None:
    seen: Seen = []
    admf.run_sync({"name": "wf", "defaults": {"data": DATA, "executor": {"kind": "inline"}},
                   "phases": [{"name": "explore", "strategies": GRID,
                             "sequence": {"type": "parameter_sweep"}}]},
                  write=False, progress=lambda *args: seen.append(args))
    assert _units(seen) == ["explore: points"]
    _check_monotone_to_total(seen, "explore: points", 6)


def test_on_a_terminal_a_bar_with_rate_and_eta_ends_at_the_total() -> None:
    out = io.StringIO()
    report = terminal(out, tty=True)
    for done in (0, 10, 20, 30):
        report(done, 30, "points")
    report(30, 30, "points")  # a repeated final report draws nothing more
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    last = text.rstrip("\n").split("\r")[-1]
    assert re.search(r"^points: 100%\|.*\| 30/30 \[\d\d:\d\d<\d\d:\d\d, .* points/s\]$", last), last
    first = text.split("\r")[1]
    assert "0/30" in first and "?" in first  # no rate yet: the ETA is unknown


def test_a_new_unit_starts_a_new_bar() -> None:
    out = io.StringIO()
    report = terminal(out, tty=True)
    report(4, 4, "train runs")
    report(0, 2, "windows")
    report(2, 2, "windows")
    lines = [line.split("\r")[-1] for line in out.getvalue().split("\n") if line]
    assert [line.split(":")[0] for line in lines] == ["train runs", "windows"]
    assert "2/2" in lines[1]


def test_off_a_terminal_plain_lines_without_carriage_returns() -> None:
    out = io.StringIO()
    report = terminal(out, tty=False)
    report(0, 30, "points")
    report(12, 30, "points")  # within `every` seconds of the first: not printed
    report(30, 30, "points")
    report(30, 30, "points")
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0] == "points: 0 / 30 (0%)"
    assert re.fullmatch(r"points: 30 / 30 \(100%\), [\d,.]+/s", lines[1]), lines[1]
    assert len(lines) == 2


def test_plain_lines_give_rate_and_eta_while_running() -> None:
    out = io.StringIO()
    report = plain(out, every=0.0)
    report(0, 100, "bars")
    import time

    time.sleep(0.05)
    report(50, 100, "bars")
    line = out.getvalue().splitlines()[1]
    assert re.fullmatch(r"bars: 50 / 100 \(50%\), [\d,.]+/s, eta \d+s", line), line


def test_an_unknown_total_counts_without_a_share() -> None:
    out = io.StringIO()
    report = plain(out, every=0.0)
    report(5, None, "bars")
    assert out.getvalue().splitlines() == ["bars: 5"]
