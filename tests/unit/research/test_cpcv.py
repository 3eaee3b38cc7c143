"""Combinatorial purged cross-validation (issue 13, deliverable 7).

The splits and paths are checked against a hand-worked example (60 bars, 6
groups of 10, 2 test groups, purge 2, embargo 3) and by counting; a run's
path metrics against plain arithmetic on its own per-group test results.
"""

from __future__ import annotations

import math
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

import admf
from admf.errors import ConfigError
from admf.research.sequences.windows import Span, cpcv_paths, cpcv_splits

LINE = np.arange(60, dtype=np.int64)


def test_the_hand_worked_splits() -> None:
    groups, splits = cpcv_splits(LINE, 6, 2, purge=2, embargo=3)
    assert groups == [Span(0, 9), Span(10, 19), Span(20, 29), Span(30, 39), Span(40, 49),
                      Span(50, 59)]
    assert [s.test for s in splits] == list(combinations(range(6), 2))
    # test groups 0 and 2: bars 0-9 and 20-29 out; 10-12 embargoed after group 0,
    # 18-19 purged before group 2, 30-32 embargoed after it
    (first, second) = splits[1].windows
    assert splits[1].test == (0, 2)
    assert first.train == second.train == (Span(13, 17), Span(33, 59))
    assert (first.test, second.test) == (Span(0, 9), Span(20, 29))
    # test groups 4 and 5: everything before 40 less the purge, one span
    assert splits[-1].windows[0].train == (Span(0, 37),)


@pytest.mark.parametrize(("n", "k"), [(6, 2), (5, 1), (8, 3), (4, 3)])
def test_every_group_is_in_c_n_1_k_1_paths_once_each(n: int, k: int) -> None:
    groups, splits = cpcv_splits(np.arange(200, dtype=np.int64), n, k, purge=1, embargo=2)
    assert len(splits) == math.comb(n, k)
    paths = cpcv_paths(n, splits)
    assert len(paths) == math.comb(n - 1, k - 1) == len(splits) * k // n
    test_group = {w.index: g for s in splits for w, g in zip(s.windows, s.test)}
    for path in paths:
        assert [test_group[i] for i in path] == list(range(n))  # each group once, in time order
    used = sorted(i for path in paths for i in path)
    assert used == list(range(len(splits) * k))               # every test result in one path
    for split in splits:                                      # nothing leaks into training
        for window in split.windows:
            for span in window.train:
                for g in split.test:
                    test = groups[g]
                    assert span.last < test.first - 1 or span.first > test.last + 2


def test_purge_and_embargo_that_leave_no_training_bars_are_refused() -> None:
    with pytest.raises(ConfigError, match="no training bars"):
        cpcv_splits(LINE, 3, 2, purge=30, embargo=30)
    with pytest.raises(ConfigError, match="sequence.test_groups"):
        cpcv_splits(LINE, 4, 4)


def study(tmp_path: Path, **sequence: object) -> dict[str, object]:
    return {"name": "cpcv", "seed": 4,
            "data": {"source": "synthetic", "symbols": ["AAA"], "bars": 3000, "timeframe": "1h",
                     "volatility": 0.006},
            "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": [30, 60]}}],
            "executor": {"kind": "inline"},
            "sequence": {"type": "cpcv", "groups": 5, "test_groups": 2, "purge": 10,
                         "embargo": 10, **sequence},
            "results": {"dir": str(tmp_path / "results")}}


@pytest.mark.parametrize("write", [False, True])
def test_a_cpcv_run_stitches_each_path_from_its_groups_test_results(tmp_path: Path,
                                                                    write: bool) -> None:
    result = admf.run_sync(study(tmp_path), write=write)
    rows = {r["window"]: r for r in result.raw.table}
    aggregate = result.raw.aggregate
    assert (aggregate["splits"], aggregate["paths"]) == (10, 4)
    assert len(rows) == 20
    for split in range(10):  # one selection per split, shared by its test groups
        pair = [r for r in rows.values() if r["split"] == split]
        assert len(pair) == 2 and pair[0]["params"] == pair[1]["params"]
        assert pair[0]["train_objective"] == pair[1]["train_objective"]
    for path, windows in enumerate(aggregate["path_windows"]):
        assert [rows[i]["group"] for i in windows] == [0, 1, 2, 3, 4]
        growth = np.prod([1 + rows[i]["test_metrics"]["total_return"] for i in windows])
        assert aggregate["path_metrics"][path]["total_return"] == pytest.approx(growth - 1, rel=1e-9)
        trades = sum(rows[i]["test_metrics"]["trade_count"] for i in windows)
        assert aggregate["path_metrics"][path]["trade_count"] == trades
    sharpes = [m["sharpe_ratio"] for m in aggregate["path_metrics"]]
    assert result.metrics.sharpe_ratio == pytest.approx(float(np.mean(sharpes)), rel=1e-12)
    assert result.distributions["sharpe_ratio"]["p50"] == pytest.approx(float(np.median(sharpes)))
    assert len(result.windows) == 20
    assert len(result.equity) == 3000  # the first path covers every bar once
    if write:
        first = aggregate["path_windows"][0]
        assert len(result.trades) == sum(rows[i]["test_metrics"]["trade_count"] for i in first)


def test_cpcv_keys_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sequence\.test_groups"):
        admf.load(study(tmp_path, test_groups=5))
    with pytest.raises(ConfigError, match=r"sequence\.embargo"):
        admf.load(study(tmp_path, embargo=-1))
    with pytest.raises(ConfigError, match=r"sequence\.folds"):
        admf.load(study(tmp_path, folds=3))
