"""How a saved pass is cut into pieces (``admf.research.tasks.timed_round``):
by measured time, not count, and never in a way that changes a result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import admf
from admf.research import tasks
from admf.research.tasks import timed_round


def sizes(parts: list[list[Any]]) -> list[int]:
    return [len(p) for p in parts]


def test_a_cheap_point_makes_pieces_of_at_least_half_a_second() -> None:
    # 0.01 s a point: 1/8 of the share (100 points, 1 worker) is 13 points = 0.13 s,
    # below the least (0.5 s = 50 points); 98 left <= 2 rounds of 50: all of it, evenly
    assert sizes(timed_round(list(range(98)), 1, 0.01, share=100)) == [49, 49]


def test_a_dear_point_makes_pieces_of_at_most_five_seconds() -> None:
    # 2 s a point: 1/8 of 2 workers' share of 1000 points is 63, over 5 s (2 points)
    parts = timed_round(list(range(990)), 2, 2.0, share=1000)
    assert sizes(parts) == [2, 2] and parts[1] == [2, 3]


def test_between_the_bounds_a_piece_is_an_eighth_of_a_workers_share() -> None:
    # 0.1 s a point, 2 workers, 800 points: 800 / 16 = 50 points = 5 s (the most)
    assert sizes(timed_round(list(range(700)), 2, 0.1, share=800)) == [50, 50]
    # 0.05 s: 50 points = 2.5 s, within [0.5, 5]
    assert sizes(timed_round(list(range(700)), 2, 0.05, share=800)) == [50, 50]


def test_the_last_rounds_are_cut_evenly_in_a_multiple_of_the_workers() -> None:
    # size 50 (as above); 150 left <= 2 rounds of 2 x 50: ceil(150 / 50) = 3 -> 4 pieces
    assert sizes(timed_round(list(range(150)), 2, 0.05, share=800)) == [38, 38, 38, 36]
    assert sizes(timed_round(list(range(3)), 2, 0.05, share=800)) == [2, 1]


def test_a_piece_never_holds_more_than_max_piece() -> None:
    assert max(sizes(timed_round(list(range(10_000)), 1, 1e-6, share=10_000))) == tasks.MAX_PIECE


def study(results: Path) -> dict[str, Any]:
    return {
        "name": "pieces", "seed": 4,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": 800,
                 "start": "2021-01-01"},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [3, 5, 8, 13],
                                                           "slow": [21, 34, 55]}}],
        "sequence": {"type": "parameter_sweep", "objective": "sharpe_ratio"},
        "executor": {"kind": "inline"},
        "results": {"dir": str(results), "storage": "memory"},
    }


def run_files(root: Path) -> dict[str, bytes]:
    (run_dir,) = [p for p in root.iterdir() if p.is_dir()]
    runs = run_dir / "main" / "runs"
    return {p.relative_to(runs).as_posix(): p.read_bytes() for p in sorted(runs.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("bounds", [(1e-9, 1e-9), (1e9, 1e10)])
def test_the_pieces_change_no_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     bounds: tuple[float, float]) -> None:
    # one point a piece, or everything after the first round in one piece, against
    # the pass run whole (nothing saved: one piece)
    whole = admf.run_sync(study(tmp_path / "whole"), write=False)
    cuts: list[list[int]] = []
    original = tasks.timed_round
    monkeypatch.setattr(tasks, "PIECE_SECONDS", bounds)
    monkeypatch.setattr(tasks, "PIECES_PER_WORKER", 10**6 if bounds[0] < 1 else 1)
    monkeypatch.setattr(tasks, "timed_round",
                        lambda *a, **k: cuts.append(sizes(original(*a, **k))) or original(*a, **k))
    cut = admf.run_sync(study(tmp_path / "cut"))
    assert cuts and (max(max(c) for c in cuts) == 1 if bounds[0] < 1 else cuts == [[11]])
    assert json.dumps(cut.table, sort_keys=True) == json.dumps(whole.table, sort_keys=True)
    monkeypatch.undo()  # the default cut: the same files
    admf.run_sync(study(tmp_path / "again"))
    assert run_files(tmp_path / "cut") == run_files(tmp_path / "again")
