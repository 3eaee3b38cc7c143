"""Progress reports: bars read by a study, runs finished by a sequence."""

from __future__ import annotations

import io
from pathlib import Path

import admf
from admf.progress import terminal


def test_a_study_reports_its_bars_up_to_the_total(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None, str]] = []
    admf.run_sync({"data": {"source": "synthetic", "symbols": ["A", "B"], "bars": 5000},
                   "strategies": [{"type": "sma_crossover"}]},
                  write=False, progress=lambda *args: seen.append(args))
    assert seen[-1] == (10_000, 10_000, "bars")
    assert all(done <= 10_000 for done, _, _ in seen)


def test_a_sequence_reports_each_finished_run(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None, str]] = []
    admf.run_sync({"data": {"source": "synthetic", "symbols": ["A"], "bars": 3000},
                   "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10]}}],
                   "sequence": {"type": "parameter_sweep"}, "executor": {"kind": "inline"}},
                  write=False, progress=lambda *args: seen.append(args))
    assert seen == [(1, 1, "runs")]  # one task: both points share one pass


def test_the_terminal_line_redraws_and_ends_when_done() -> None:
    out = io.StringIO()
    report = terminal(out)
    report(50, 100, "bars")
    report(100, 100, "bars")
    assert out.getvalue() == "\rbars: 50 / 100 (50%)  \rbars: 100 / 100 (100%)  \n"
