"""A walk-forward (or train/test) whose winner is chosen by an inner k-fold
(issue 13, deliverable 5): ``sequence.select: {type: k_fold, folds, score}``.

The reference is computed apart from the selection code: each grid point
is run as a plain single pass over each fold's bars (``data.start`` /
``data.end`` at the fold's first and last bar time, no warm-up), its
objectives are combined by hand (bar-weighted mean, or the worst fold) and
the best point is picked by hand. The sequence must choose that point in
every window, report the same fold objectives, and test it on the window's
test span.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import admf
from admf.errors import ConfigError
from admf.research.config import load_config
from admf.research.validate import validate
from admf.research.points import strategy_points, warmup_bars
from admf.research.sequences.plan import run_plan, scored_spans, sequence_windows
from admf.research.tasks import timeline

from tests.integration._support import sequence_study

GRID = {"fast": [5, 10], "slow": [30, 60]}
POINTS = [{"fast": f, "slow": s} for f in GRID["fast"] for s in GRID["slow"]]


def study(tmp_path: Path, sequence: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return sequence_study(tmp_path, sequence, name="inner", seed=11, params=GRID, **extra)


def single(tmp_path: Path, params: dict[str, Any], first: str, last: str) -> Any:
    base = study(tmp_path, {"type": "single_pass"})
    base["data"] = {**base["data"], "start": first, "end": last}
    base["strategies"] = [{"type": "sma_crossover", "params": params}]
    return admf.run_sync(base, write=False)


def fold_bounds(n: int, folds: int) -> list[tuple[int, int]]:
    """Contiguous folds of an n-bar span, by hand: fold i is bars
    [floor-round(i*n/k), round((i+1)*n/k) - 1]."""
    edges = [round(i * n / folds) for i in range(folds + 1)]
    return [(edges[i], edges[i + 1] - 1) for i in range(folds)]


@pytest.mark.parametrize(("objective", "score", "folds"), [
    ("sharpe_ratio", "mean", 3), ("total_return", "mean", 4), ("max_drawdown", "worst", 3),
    ("sharpe_ratio", "worst", 2)])
def test_each_window_chooses_the_point_with_the_best_fold_score(
        tmp_path: Path, objective: str, score: str, folds: int) -> None:
    sequence = {"type": "walk_forward", "train": 900, "test": 500, "objective": objective,
                "warmup": 0, "select": {"type": "k_fold", "folds": folds, "score": score}}
    result = admf.run_sync(study(tmp_path, sequence), write=False)
    line = timeline(load_config(study(tmp_path, sequence)))
    lower = objective == "max_drawdown"
    rows = result.raw.table
    assert len(rows) == 3
    for row, start in zip(rows, (0, 500, 1000)):
        per_point = {}
        spans = [(start + a, start + b) for a, b in fold_bounds(900, folds)]
        for params in POINTS:
            values = []
            for a, b in spans:
                run = single(tmp_path, params, admf_time(line[a]), admf_time(line[b]))
                values.append((getattr(run.metrics, objective), b - a + 1))
            if score == "mean":
                per_point[tuple(params.values())] = (
                    sum(v * n for v, n in values) / sum(n for _, n in values), values)
            else:
                found = [v for v, _ in values]
                per_point[tuple(params.values())] = (max(found) if lower else min(found), values)
        ranked = sorted(per_point.items(), key=lambda kv: kv[1][0] if lower else -kv[1][0])
        (fast, slow), (best, values) = ranked[0]
        assert len({v for v, _ in per_point.values()}) == len(POINTS)  # no tie decides it
        assert row["params"] == {"fast": fast, "slow": slow}
        assert math.isclose(row["train_objective"], best, rel_tol=1e-12, abs_tol=1e-12)
        assert [f["objective"] for f in row["folds"]] == pytest.approx([v for v, _ in values],
                                                                         rel=1e-12, abs=1e-12)
        assert [f["bars"] for f in row["folds"]] == [b - a + 1 for a, b in spans]
        assert [f["span"] for f in row["folds"]] == [[admf_time(line[a]), admf_time(line[b])]
                                                     for a, b in spans]
        assert row["train_metrics"] is None  # not a whole-span run any more


def admf_time(ns: Any) -> str:
    from admf.data.timeparse import format_ns
    return format_ns(int(ns))


def test_a_plain_walk_forward_is_unchanged_without_select(tmp_path: Path) -> None:
    plain = {"type": "walk_forward", "train": 900, "test": 500}
    result = admf.run_sync(study(tmp_path, plain), write=False)
    assert all("folds" not in row and row["train_metrics"] is not None for row in result.raw.table)


def test_folds_warm_up_on_earlier_bars_only_and_never_read_the_test_window(tmp_path: Path) -> None:
    sequence = {"type": "walk_forward", "train": 900, "test": 500,
                "select": {"type": "k_fold", "folds": 3}}
    config = load_config(study(tmp_path, sequence))
    line = timeline(config)
    warm = warmup_bars(config, strategy_points(config))
    assert warm == 60  # SMA(60) leaves 59 undefined rows, plus the previous bar a cross compares
    reads = {read for _, read in run_plan(config)}
    for w in sequence_windows(config, line):
        spans = scored_spans(config, line, w, warm)
        assert [(s.first, s.last) for s, _ in spans] == [
            (w.train[0].first + a, w.train[0].first + b) for a, b in fold_bounds(900, 3)]
        for span, warm_from in spans:
            assert span.last < w.test.first            # nothing at or after the test window
            first = max(0, span.first - warm)          # warmed on the bars just before the fold
            assert warm_from == (int(line[first]) if first < span.first else None)
            assert (warm_from or int(line[span.first]), int(line[span.last])) in reads


def test_train_test_takes_an_inner_selection_too(tmp_path: Path) -> None:
    sequence = {"type": "train_test", "split": 0.5, "warmup": 0,
                "select": {"type": "k_fold", "folds": 2}}
    result = admf.run_sync(study(tmp_path, sequence), write=True)
    row = result.raw.table[0]
    assert len(row["folds"]) == 2 and sum(f["bars"] for f in row["folds"]) == 1200
    written = json.loads((Path(result.path) / "main" / "summary.json").read_text())["table"][0]
    assert [f["bars"] for f in written["folds"]] == [600, 600]
    objectives = [f["objective"] for f in written["folds"]]
    assert written["train_objective"] == pytest.approx(sum(objectives) / 2)


def test_a_monte_carlo_over_a_selected_walk_forward_runs(tmp_path: Path) -> None:
    inner = {"type": "walk_forward", "train": 900, "test": 500,
             "select": {"type": "k_fold", "folds": 3}}
    walked = admf.run_sync(study(tmp_path, inner), write=False)
    nested = admf.run_sync(study(tmp_path, {"type": "monte_carlo", "runs": 5, "over": inner}),
                           write=False)
    assert nested.metrics == walked.metrics


@pytest.mark.parametrize(("select", "message"), [
    ({"type": "cpcv"}, "sequence.select.type: expected k_fold"),
    ({"folds": 3}, "sequence.select.type: expected k_fold"),
    ({"type": "k_fold", "folds": 1}, "sequence.select.folds: expected an integer >= 2"),
    ({"type": "k_fold", "folds": "3"}, "sequence.select.folds: expected an integer >= 2"),
    ({"type": "k_fold", "score": "median"}, "sequence.select.score: expected mean or worst"),
    ({"type": "k_fold", "fold": 3}, "sequence.select.fold: unknown key"),
    ("k_fold", "sequence.select: expected a mapping"),
])
def test_a_bad_select_names_its_key(tmp_path: Path, select: Any, message: str) -> None:
    sequence = {"type": "walk_forward", "train": 900, "test": 500, "select": select}
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        validate(study(tmp_path, sequence))


def test_select_is_refused_where_it_has_no_meaning(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sequence\.select: not used by sequence type 'k_fold'"):
        validate(study(tmp_path, {"type": "k_fold", "folds": 3,
                                       "select": {"type": "k_fold"}}))


def test_too_many_folds_for_a_train_window_fails_in_validate(tmp_path: Path) -> None:
    sequence = {"type": "walk_forward", "train": 40, "test": 500,
                "select": {"type": "k_fold", "folds": 50}}
    with pytest.raises(ConfigError, match=r"sequence\.select\.folds: 50 folds do not fit "
                                          r"window 0's train span of 40 bars"):
        validate(study(tmp_path, sequence))


def test_the_cli_table_heads_the_train_column_as_the_k_fold_score() -> None:
    from admf._cli_runs import _window_table
    row = {"window": 0, "test": ["a", "b"], "params": {"fast": 5}, "train_objective": 1.0,
           "test_metrics": {}}
    assert "train sharpe_ratio" in _window_table("walk_forward", [row], "sharpe_ratio")
    folded = {**row, "folds": [{"span": ["a", "b"], "bars": 10, "objective": 1.0}]}
    table = _window_table("walk_forward", [folded], "sharpe_ratio")
    assert "k-fold sharpe_ratio" in table and "train sharpe_ratio" not in table
