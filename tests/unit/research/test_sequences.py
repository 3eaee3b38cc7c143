"""The pure sequence math (admf/runtime/sequences.py): train/test splits,
walk-forward windows, k-fold folds, ranking, bootstrap draws, percentiles.

Every expected window below is worked out by hand on a small timeline of
hourly bars (bar ``i`` at 2020-01-01T00:00Z + i hours) and written as
inclusive bar-index spans ``(first, last)``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from admf.errors import ConfigError
from admf.research.sequences.windows import (
    LOWER_IS_BETTER,
    Span,
    Window,
    bootstrap_paths,
    k_fold_windows,
    percentiles,
    rank_points,
    split_train_test,
    walk_forward_windows,
)

H = 3_600 * 10**9
T0 = 1_577_836_800 * 10**9  # 2020-01-01T00:00:00Z in ns


def hourly(n: int) -> np.ndarray:
    """``n`` hourly bars from 2020-01-01T00:00Z."""
    return T0 + np.arange(n, dtype=np.int64) * H


def spans(windows: list[Window]) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """Windows as ([train spans], test span) of (first, last) bar indices."""
    return [([(s.first, s.last) for s in w.train], (w.test.first, w.test.last)) for w in windows]


# -- Span / Window -----------------------------------------------------------


def test_span_bars_and_window_key() -> None:
    assert Span(3, 7).bars == 5  # 3, 4, 5, 6, 7
    assert Span(4, 4).bars == 1
    w = Window(index=7, train=(Span(0, 3),), test=Span(4, 5))
    assert w.key == "w007"


# -- split_train_test --------------------------------------------------------


def test_split_fraction_on_20_bars() -> None:
    # 20 * 0.7 = 14 train bars: 0..13; test 14..19 (6 bars)
    w = split_train_test(hourly(20), 0.7)
    assert spans([w]) == [([(0, 13)], (14, 19))]
    assert w.index == 0
    assert sum(s.bars for s in w.train) + w.test.bars == 20


def test_split_fraction_rounds_down_to_whole_bars() -> None:
    # 20 * 0.33 = 6.6 -> 6 train bars (0..5), test 6..19
    assert spans([split_train_test(hourly(20), 0.33)]) == [([(0, 5)], (6, 19))]
    # 20 * 0.99 = 19.8 -> 19 train bars, one test bar
    assert spans([split_train_test(hourly(20), 0.99)]) == [([(0, 18)], (19, 19))]


@pytest.mark.parametrize(("fraction", "train_bars"), [(0.57, 57), (0.29, 29), (0.58, 58)])
def test_split_fraction_is_the_train_share_exactly(fraction: float, train_bars: int) -> None:
    # By hand: 57 % of 100 bars is 57 bars, 29 % is 29, 58 % is 58. In binary
    # floating point 100 * 0.57 = 56.99999999999999 and 100 * 0.29 =
    # 28.999999999999996, so a bare floor() loses a bar.
    w = split_train_test(hourly(100), fraction)
    assert (w.train[0].first, w.train[0].last) == (0, train_bars - 1)
    assert (w.test.first, w.test.last) == (train_bars, 99)


def test_split_at_a_date() -> None:
    line = hourly(20)
    # a bar's own time: that bar is the first test bar (bar 5 = 05:00)
    assert spans([split_train_test(line, "2020-01-01T05:00:00Z")]) == [([(0, 4)], (5, 19))]
    # between bars (05:30): the next bar (06:00, bar 6) starts the test set
    assert spans([split_train_test(line, "2020-01-01T05:30:00Z")]) == [([(0, 5)], (6, 19))]
    # a plain date: midnight of 2020-01-01 is bar 0, so train would be empty
    with pytest.raises(ConfigError, match="leaves no bars for train"):
        split_train_test(line, "2020-01-01")


@pytest.mark.parametrize(("split", "side"), [
    (0.01, "train"),                    # floor(0.2) = 0 train bars
    ("2019-12-31T00:00:00Z", "train"),  # before the first bar
    ("2020-01-02T00:00:00Z", "test"),   # after the last bar (19:00)
    ("2020-01-01T19:30:00Z", "test"),   # after the last bar, same day
])
def test_split_that_leaves_a_side_empty_is_refused(split: float | str, side: str) -> None:
    with pytest.raises(ConfigError) as info:
        split_train_test(hourly(20), split)
    message = str(info.value)
    assert f"leaves no bars for {side}" in message
    assert "(20 bars in the data)" in message
    assert "sequence.split" in message


def test_split_purge_drops_train_bars_before_the_test_set() -> None:
    # 20 bars, 0.7: cut 14; purge 3 drops bars 11, 12, 13 from train: 0..10, test 14..19
    assert spans([split_train_test(hourly(20), 0.7, purge=3)]) == [([(0, 10)], (14, 19))]
    # purge 13 leaves bar 0 alone; purge 14 leaves nothing
    assert spans([split_train_test(hourly(20), 0.7, purge=13)]) == [([(0, 0)], (14, 19))]
    with pytest.raises(ConfigError, match="sequence.purge 14 leaves no training bars before the split"):
        split_train_test(hourly(20), 0.7, purge=14)


# -- walk_forward_windows ----------------------------------------------------


def test_walk_forward_rolling_by_bars_step_equals_test() -> None:
    # 20 bars, train 8, test 4 (step defaults to test):
    #   start 0: train 0..7,  test 8..11
    #   start 4: train 4..11, test 12..15
    #   start 8: train 8..15, test 16..19
    #   start 12: test would start at 20 = n -> stop
    windows = walk_forward_windows(hourly(20), train=8, test=4)
    assert spans(windows) == [([(0, 7)], (8, 11)), ([(4, 11)], (12, 15)),
                              ([(8, 15)], (16, 19))]
    assert [w.index for w in windows] == [0, 1, 2]
    assert [w.key for w in windows] == ["w000", "w001", "w002"]


def test_walk_forward_step_larger_than_test_and_partial_window_dropped() -> None:
    # 20 bars, train 6, test 3, step 5:
    #   start 0:  train 0..5,   test 6..8
    #   start 5:  train 5..10,  test 11..13
    #   start 10: train 10..15, test 16..18
    #   start 15: train 15..20?  test would start at 21 > n -> stop
    assert spans(walk_forward_windows(hourly(20), train=6, test=3, step=5)) == [
        ([(0, 5)], (6, 8)), ([(5, 10)], (11, 13)), ([(10, 15)], (16, 18))]
    # 20 bars, train 6, test 4, step 4:
    #   start 0: test 6..9; start 4: test 10..13; start 8: test 14..17;
    #   start 12: test 18..21 needs 2 bars past the end -> dropped (18, 19 unused)
    windows = walk_forward_windows(hourly(20), train=6, test=4, step=4)
    assert spans(windows) == [([(0, 5)], (6, 9)), ([(4, 9)], (10, 13)), ([(8, 13)], (14, 17))]
    assert all(w.test.bars == 4 for w in windows)


@pytest.mark.parametrize(("step", "test"), [(2, 4), ("12h", "1d")])
def test_walk_forward_step_shorter_than_test_is_refused(step: int | str, test: int | str) -> None:
    # overlapping test windows would count bars twice in the stitched curve
    train = 10 if isinstance(test, int) else "1d"
    with pytest.raises(ConfigError) as info:
        walk_forward_windows(hourly(100), train=train, test=test, step=step)
    message = str(info.value)
    assert f"sequence.step {step!r}" in message and f"sequence.test {test!r}" in message


def test_walk_forward_anchored_expands_the_train_window() -> None:
    # 20 bars, train 8, test 4, anchored: train always starts at bar 0
    #   start 0: train 0..7,  test 8..11
    #   start 4: train 0..11, test 12..15
    #   start 8: train 0..15, test 16..19
    assert spans(walk_forward_windows(hourly(20), train=8, test=4, anchored=True)) == [
        ([(0, 7)], (8, 11)), ([(0, 11)], (12, 15)), ([(0, 15)], (16, 19))]


def test_walk_forward_by_durations_on_hourly_bars() -> None:
    # 7 days = 168 hourly bars; train "2d" = 48 bars, test "1d" = 24, step = test:
    #   start 0:  train 0..47,   test 48..71
    #   start 24: train 24..71,  test 72..95
    #   start 48: train 48..95,  test 96..119
    #   start 72: train 72..119, test 120..143
    #   start 96: train 96..143, test 144..167 (ends exactly at the last bar: kept)
    #   start 120: train 120..167, test would start at 168 = n -> stop
    windows = walk_forward_windows(hourly(168), train="2d", test="1d", step="1d")
    assert spans(windows) == [([(s, s + 47)], (s + 48, s + 71)) for s in (0, 24, 48, 72, 96)]


def test_walk_forward_duration_partial_final_test_dropped() -> None:
    # 160 bars: as above but the 5th test window (144..167) has only 16 of its
    # 24 hours of data (144..159), so it is dropped: 4 windows.
    windows = walk_forward_windows(hourly(160), train="2d", test="1d")
    assert spans(windows) == [([(s, s + 47)], (s + 48, s + 71)) for s in (0, 24, 48, 72)]


def test_walk_forward_anchored_durations_with_a_longer_step() -> None:
    # 120 bars (5 days), train "2d", test "1d", step "36h", anchored:
    #   start 0:  train 0..47, test 48..71
    #   start 36: train 0..83, test 84..107
    #   start 72: test would start at 72 + 48 = 120 = n -> stop
    windows = walk_forward_windows(hourly(120), train="2d", test="1d", step="36h", anchored=True)
    assert spans(windows) == [([(0, 47)], (48, 71)), ([(0, 83)], (84, 107))]
    # the same, rolling: train s..s+47
    windows = walk_forward_windows(hourly(120), train="2d", test="1d", step="36h")
    assert spans(windows) == [([(0, 47)], (48, 71)), ([(36, 83)], (84, 107))]


def test_walk_forward_durations_are_calendar_time_across_a_gap() -> None:
    # bars at hours 0..9 and 20..29 (10 missing hours); train "5h", test "5h":
    #   start bar 0 (00:00):  train [00:00, 05:00) = bars 0..4,  test [05:00, 10:00) = bars 5..9
    #   start bar 5 (05:00):  train bars 5..9, test from bar 10 (20:00): [20:00, 01:00) = 10..14
    #   start bar 10 (20:00): train 10..14, test [01:00, 06:00) = bars 15..19 (ends at the end)
    #   start bar 15: train 15..19, test would start at bar 20 = n -> stop
    line = T0 + np.array([*range(10), *range(20, 30)], dtype=np.int64) * H
    windows = walk_forward_windows(line, train="5h", test="5h")
    assert spans(windows) == [([(0, 4)], (5, 9)), ([(5, 9)], (10, 14)), ([(10, 14)], (15, 19))]


def test_walk_forward_purge_drops_the_end_of_each_train_window() -> None:
    # 20 bars, train 8, test 4, purge 2: train s..s+5, test s+8..s+11 for s = 0, 4, 8
    assert spans(walk_forward_windows(hourly(20), train=8, test=4, purge=2)) == [
        ([(0, 5)], (8, 11)), ([(4, 9)], (12, 15)), ([(8, 13)], (16, 19))]
    # anchored: train 0..s+5
    assert spans(walk_forward_windows(hourly(20), train=8, test=4, purge=2, anchored=True)) == [
        ([(0, 5)], (8, 11)), ([(0, 9)], (12, 15)), ([(0, 13)], (16, 19))]
    # purge 7 of 8 train bars leaves one; purge 8 leaves none
    assert spans(walk_forward_windows(hourly(20), train=8, test=4, purge=7))[0] == ([(0, 0)], (8, 11))
    with pytest.raises(ConfigError, match="sequence.purge 8 leaves window 0 no training bars"):
        walk_forward_windows(hourly(20), train=8, test=4, purge=8)


@pytest.mark.parametrize(("train", "test"), [(20, 1), (17, 4), ("1d", "1h")])
def test_walk_forward_that_does_not_fit_is_refused(train: int | str, test: int | str) -> None:
    # 20 bars cannot hold 20 + 1 or 17 + 4 bars; 20 hourly bars are less than a day
    with pytest.raises(ConfigError) as info:
        walk_forward_windows(hourly(20), train=train, test=test)
    message = str(info.value)
    assert f"train={train!r} and test={test!r}" in message
    assert "do not fit even one walk-forward window in 20 bars" in message


def test_walk_forward_exact_fit_is_one_window() -> None:
    # 10 bars, train 8, test "2h": train 0..7, test [08:00, 10:00) = bars 8, 9
    assert spans(walk_forward_windows(hourly(10), train=8, test="2h")) == [([(0, 7)], (8, 9))]
    # 10 bars, train 7, test 3: train 0..6, test 7..9
    assert spans(walk_forward_windows(hourly(10), train=7, test=3)) == [([(0, 6)], (7, 9))]


@pytest.mark.parametrize("what", ["train", "test", "step"])
def test_walk_forward_non_positive_bar_counts_are_refused(what: str) -> None:
    lengths: dict[str, int] = {"train": 8, "test": 4, "step": 4}
    lengths[what] = 0
    # (a step of 0 may also be refused as shorter than the test window)
    message = (rf"sequence\.{what}: expected a positive number of bars, got 0" if what != "step"
               else r"sequence\.step(: expected a positive number of bars, got 0| 0 is shorter)")
    with pytest.raises(ConfigError, match=message):
        walk_forward_windows(hourly(20), **lengths)  # type: ignore[arg-type]


# -- k_fold_windows ------------------------------------------------------------


def test_k_fold_even_folds_no_purge() -> None:
    # 20 bars, 4 folds of 5: 0..4, 5..9, 10..14, 15..19; each trained on the rest
    windows = k_fold_windows(hourly(20), 4)
    assert spans(windows) == [
        ([(5, 19)], (0, 4)),
        ([(0, 4), (10, 19)], (5, 9)),
        ([(0, 9), (15, 19)], (10, 14)),
        ([(0, 14)], (15, 19)),
    ]
    assert [w.index for w in windows] == [0, 1, 2, 3]


def test_k_fold_uneven_folds() -> None:
    # 20 bars, 3 folds: edges round(0), round(6.67)=7, round(13.33)=13, 20
    #   fold sizes 7, 6, 7: 0..6, 7..12, 13..19
    windows = k_fold_windows(hourly(20), 3)
    assert spans(windows) == [
        ([(7, 19)], (0, 6)),
        ([(0, 6), (13, 19)], (7, 12)),
        ([(0, 12)], (13, 19)),
    ]
    # 10 bars, 4 folds: edges 0, round(2.5)=2, 5, round(7.5)=8, 10 -> sizes 2, 3, 3, 2
    assert [(w.test.first, w.test.last) for w in k_fold_windows(hourly(10), 4)] == [
        (0, 1), (2, 4), (5, 7), (8, 9)]


def test_k_fold_tests_partition_the_timeline() -> None:
    for n, folds in ((20, 3), (23, 5), (7, 7), (100, 6)):
        tests = [w.test for w in k_fold_windows(hourly(n), folds)]
        covered = [i for s in tests for i in range(s.first, s.last + 1)]
        assert covered == list(range(n))
        assert max(s.bars for s in tests) - min(s.bars for s in tests) <= 1


def test_k_fold_purge_removes_bars_on_both_sides_of_the_test_fold() -> None:
    # 20 bars, 3 folds (0..6, 7..12, 13..19), purge 2:
    #   fold 0: train after = 6+1+2 = 9..19
    #   fold 1: train before = 0..(7-1-2)=4, after = 12+1+2 = 15..19
    #   fold 2: train before = 0..(13-1-2)=10
    windows = k_fold_windows(hourly(20), 3, purge=2)
    assert spans(windows) == [
        ([(9, 19)], (0, 6)),
        ([(0, 4), (15, 19)], (7, 12)),
        ([(0, 10)], (13, 19)),
    ]
    for w in windows:  # no train bar within 2 bars of a test bar
        for s in w.train:
            assert s.last < w.test.first - 2 or s.first > w.test.last + 2


def test_k_fold_purge_that_empties_one_side_keeps_the_other() -> None:
    # 20 bars, 4 folds of 5, purge 5: fold 1 (5..9) has before = 0..-1 (gone),
    # after = 15..19; fold 2 (10..14) has before = 0..4, after = 20.. (gone)
    windows = k_fold_windows(hourly(20), 4, purge=5)
    assert spans(windows) == [
        ([(10, 19)], (0, 4)),
        ([(15, 19)], (5, 9)),
        ([(0, 4)], (10, 14)),
        ([(0, 9)], (15, 19)),
    ]


def test_k_fold_purge_leaving_no_training_bars_is_refused() -> None:
    # 10 bars, 2 folds (0..4, 5..9), purge 5: fold 0 would train on 10..9 -> nothing
    with pytest.raises(ConfigError, match=r"sequence\.purge 5 leaves fold 0 no training bars"):
        k_fold_windows(hourly(10), 2, purge=5)
    # purge 4 leaves exactly bar 9 for fold 0 and bar 0 for fold 1
    assert spans(k_fold_windows(hourly(10), 2, purge=4)) == [([(9, 9)], (0, 4)),
                                                             ([(0, 0)], (5, 9))]


@pytest.mark.parametrize("folds", [1, 0, 21])
def test_k_fold_bad_fold_count_is_refused(folds: int) -> None:
    with pytest.raises(ConfigError, match=rf"sequence\.folds: expected 2\.\.20 folds for 20 bars, got {folds}"):
        k_fold_windows(hourly(20), folds)


# -- rank_points -----------------------------------------------------------------


def test_rank_points_higher_is_better_nan_last_ties_in_order() -> None:
    scores = {"a": 1.0, "b": math.nan, "c": 3.0, "d": -2.0, "e": 3.0, "f": None}
    # 3.0 (c, e: tie, grid order), 1.0 (a), -2.0 (d), then undefined in order (b, f)
    assert rank_points(scores, "sharpe_ratio") == ["c", "e", "a", "d", "b", "f"]


def test_rank_points_lower_is_better_objectives() -> None:
    assert {"max_drawdown", "volatility"} <= LOWER_IS_BETTER
    drawdowns = {"a": 0.20, "b": 0.05, "c": math.nan, "d": 0.05, "e": 0.30}
    # smallest drawdown first (b, d tie in order), NaN still last
    assert rank_points(drawdowns, "max_drawdown") == ["b", "d", "a", "e", "c"]
    assert rank_points({"x": 0.3, "y": 0.1}, "volatility") == ["y", "x"]
    # total_return is maximised, not minimised
    assert rank_points({"x": 0.3, "y": 0.1}, "total_return") == ["x", "y"]


def test_rank_points_negative_and_all_nan() -> None:
    assert rank_points({"a": -1.0, "b": -0.5, "c": -3.0}, "sharpe_ratio") == ["b", "a", "c"]
    assert rank_points({"a": math.nan, "b": math.nan}, "sharpe_ratio") == ["a", "b"]


# -- bootstrap_paths ---------------------------------------------------------------


def test_bootstrap_paths_are_seeded_resamples() -> None:
    returns = np.linspace(-0.05, 0.05, 25)
    first = list(bootstrap_paths(returns, 6, seed=3))
    again = list(bootstrap_paths(returns, 6, seed=3))
    other = list(bootstrap_paths(returns, 6, seed=4))
    assert len(first) == 6
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))
    for path in first:
        assert len(path) == len(returns)
        assert set(path.tolist()) <= set(returns.tolist())  # drawn from the returns
    # six different draws (25 values, 25 draws each: equal paths are essentially impossible)
    assert len({path.tobytes() for path in first}) == 6


def test_bootstrap_draw_i_does_not_depend_on_how_many_are_drawn() -> None:
    returns = np.arange(40, dtype=np.float64) / 1000
    few = list(bootstrap_paths(returns, 3, seed=11))
    many = list(bootstrap_paths(returns, 10, seed=11))
    for a, b in zip(few, many[:3]):
        np.testing.assert_array_equal(a, b)


def test_bootstrap_blocks_are_runs_of_consecutive_returns() -> None:
    # returns 0, 1, ..., 9 and blocks of 3: 4 blocks (ceil(10/3)), cut to 10 values;
    # inside each block the values step by exactly 1
    returns = np.arange(10, dtype=np.float64)
    for path in bootstrap_paths(returns, 20, seed=1, block=3):
        assert len(path) == 10
        for start in (0, 3, 6):
            block = path[start:start + 3]
            np.testing.assert_array_equal(np.diff(block), [1.0, 1.0])
            assert block[0] <= 7  # a block starts at 0..n-block
        assert path[9] <= 7


def test_bootstrap_of_no_returns_is_refused() -> None:
    with pytest.raises(ConfigError, match="no returns to resample"):
        list(bootstrap_paths(np.empty(0), 3, seed=0))


# -- percentiles ---------------------------------------------------------------------


def test_percentiles_by_hand() -> None:
    # 1..5, linear interpolation: p5 = 1 + 0.05*4 = 1.2, p25 = 2, p50 = 3,
    # p75 = 4, p95 = 1 + 0.95*4 = 4.8; mean 3; sample std = sqrt(10/4) = 1.5811...
    out = percentiles([5.0, 1.0, 4.0, 2.0, 3.0])
    assert out["p5"] == pytest.approx(1.2)
    assert out["p25"] == pytest.approx(2.0)
    assert out["p50"] == pytest.approx(3.0)
    assert out["p75"] == pytest.approx(4.0)
    assert out["p95"] == pytest.approx(4.8)
    assert out["mean"] == pytest.approx(3.0)
    assert out["std"] == pytest.approx(math.sqrt(2.5))
    assert (out["count"], out["undefined"]) == (5, 0)


def test_percentiles_leave_out_and_count_nan() -> None:
    out = percentiles([1.0, math.nan, 2.0, 3.0, 4.0, 5.0, math.inf])
    assert out["p50"] == pytest.approx(3.0)
    assert (out["count"], out["undefined"]) == (5, 2)
    single = percentiles([7.0])
    assert single["p5"] == single["p95"] == single["mean"] == 7.0
    assert math.isnan(single["std"])
    empty = percentiles([math.nan, math.nan])
    assert empty["count"] == 0 and empty["undefined"] == 2
    assert all(math.isnan(empty[k]) for k in ("mean", "std", "p5", "p25", "p50", "p75", "p95"))


def test_percentiles_are_ordered() -> None:
    values = np.random.default_rng(0).normal(size=200).tolist()
    out = percentiles(values)
    assert out["p5"] <= out["p25"] <= out["p50"] <= out["p75"] <= out["p95"]
