"""Deflated Sharpe ratio and probability of backtest overfitting against
hand-worked examples (arithmetic in the comments; the normal CDF from
math.erf, its quantile from the standard library, not scipy)."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.components.metrics import RunningMetrics
from admf.errors import ConfigError
from admf.research.sequences.overfitting import (
    block_statistics,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    pbo_of_blocks,
    probability_of_backtest_overfitting,
)


def phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def test_one_trial_normal_returns() -> None:
    # SR0 = 0; z = 0.1 * sqrt(200) / sqrt(1 + (3 - 1) / 4 * 0.01) = 1.4142136 / 1.0024969
    z = 0.1 * math.sqrt(200) / math.sqrt(1.005)
    assert z == pytest.approx(1.410691, abs=1e-6)
    assert deflated_sharpe_ratio(0.1, trials=1, variance=0.04, observations=201) == \
        pytest.approx(phi(z), abs=1e-12)


def test_skew_and_fat_tails_deflate() -> None:
    # spread = 1 - (-1)(0.2) + (6 - 1)/4 * 0.04 = 1.25; z = 0.2 * 10 / sqrt(1.25) = 1.7888544
    got = deflated_sharpe_ratio(0.2, trials=1, variance=0.0, observations=101,
                                skewness=-1.0, kurtosis=6.0)
    assert got == pytest.approx(phi(2 / math.sqrt(1.25)), abs=1e-12)
    assert got < deflated_sharpe_ratio(0.2, trials=1, variance=0.0, observations=101)


def test_the_expected_maximum_of_two_trials() -> None:
    # N = 2: Z(1 - 1/2) = 0, so SR0 = sqrt(0.04) * g * Z(1 - 1/(2e))
    g = 0.5772156649015329
    sr0 = 0.2 * g * NormalDist().inv_cdf(1 - 1 / (2 * math.e))
    assert expected_max_sharpe(2, 0.04) == pytest.approx(sr0, rel=1e-9)
    # a winner exactly at SR0 is a coin flip, however long the sample
    assert deflated_sharpe_ratio(sr0, trials=2, variance=0.04, observations=10_000) == \
        pytest.approx(0.5, abs=1e-9)
    # more trials raise the bar: the same Sharpe ratio deflates more
    assert expected_max_sharpe(100, 0.04) > expected_max_sharpe(10, 0.04) > sr0


def test_pbo_when_the_in_sample_winner_always_loses_out_of_sample() -> None:
    # blocks [0, 1] and [2, 3]. A: Sharpe +1.414 then -1.414; B: 0.707 in both.
    # IS block 0 -> A wins, loses OOS (rank 1 of 2, logit ln(1/2) < 0);
    # IS block 1 -> B wins, loses OOS to A's +1.414: PBO = 2/2
    a = [0.01, 0.03, -0.01, -0.03]
    b = [0.00, 0.01, 0.01, 0.00]
    assert probability_of_backtest_overfitting(list(zip(a, b)), blocks=2) == 1.0


def test_pbo_when_one_trial_dominates() -> None:
    # B (Sharpe 2.12 in both blocks) wins in sample and out of sample: PBO = 0
    a = [0.01, 0.03, -0.01, -0.03]
    b = [0.02, 0.04, 0.02, 0.04]
    assert probability_of_backtest_overfitting(list(zip(a, b)), blocks=2) == 0.0


def test_pbo_counts_every_combination() -> None:
    # four blocks, C(4, 2) = 6 splits. A is the B above (always best), so PBO = 0,
    # whichever blocks are in sample; mirrored (A always worst in sample) too
    good = [0.02, 0.04] * 4
    noise = [0.01, -0.01, 0.03, -0.02, 0.0, 0.01, -0.03, 0.02]
    assert probability_of_backtest_overfitting(list(zip(good, noise)), blocks=4) == 0.0


@pytest.mark.parametrize("blocks", [3, 1, 8])
def test_pbo_refuses_bad_blocks(blocks: int) -> None:
    with pytest.raises(ConfigError, match="blocks"):
        probability_of_backtest_overfitting([[0.1, 0.2]] * 8, blocks=blocks)


@pytest.mark.parametrize("trials", [2, 3, 10, 100, 10_000, 1_000_000])
def test_the_expected_maximum_agrees_with_scipy_quantiles(trials: int) -> None:
    # the standard library's quantile (admf's) against scipy's, an independent implementation
    from scipy.stats import norm

    g = 0.5772156649015329
    sr0 = 0.3 * ((1 - g) * norm.ppf(1 - 1 / trials) + g * norm.ppf(1 - 1 / (trials * math.e)))
    assert expected_max_sharpe(trials, 0.09) == pytest.approx(sr0, rel=1e-12, abs=1e-15)
    got = deflated_sharpe_ratio(0.05, trials=trials, variance=0.09 / 10_000, observations=5_000,
                                skewness=-0.4, kurtosis=5.0)
    z = (0.05 - sr0 / 100) * math.sqrt(4_999) / math.sqrt(1 + 0.4 * 0.05 + 4 / 4 * 0.05 ** 2)
    assert got == pytest.approx(float(norm.cdf(z)), rel=1e-12, abs=1e-300)


# -- PBO from block moments, held to the plain definition ---------------------

def reference_pbo(matrix: np.ndarray, blocks: int) -> tuple[float, float]:
    """CSCV as Bailey et al. write it: every half of the blocks in sample, the
    rows concatenated, Sharpe ratios from the rows (ddof 1), the in-sample
    best's out-of-sample rank. Returns (PBO, median logit)."""
    parts = np.array_split(matrix, blocks)
    trials = matrix.shape[1]
    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        inside = np.concatenate([parts[i] for i in chosen])
        outside = np.concatenate([parts[i] for i in range(blocks) if i not in chosen])
        sr_in = inside.mean(axis=0) / inside.std(axis=0, ddof=1)
        sr_out = outside.mean(axis=0) / outside.std(axis=0, ddof=1)
        best = int(np.argmax(sr_in))
        rank = int(np.sum(sr_out < sr_out[best])) + 1
        logits.append(math.log(rank / (trials + 1) / (1 - rank / (trials + 1))))
    return float(np.mean(np.array(logits) <= 0)), float(np.median(logits))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), trials=st.integers(2, 9), rows=st.integers(20, 400),
       blocks=st.sampled_from([2, 4, 6, 8]))
def test_pbo_from_block_moments_equals_the_plain_definition(seed: int, trials: int, rows: int,
                                                            blocks: int) -> None:
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0005, 0.01, (rows, trials)) + rng.normal(0, 0.0005, trials)
    expected, median = reference_pbo(matrix, blocks)
    got = pbo_of_blocks(block_statistics(matrix, blocks))
    assert got["value"] == expected
    assert got["median_logit"] == pytest.approx(median, abs=1e-12)
    assert got["combinations"] == math.comb(blocks, blocks // 2)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(8, 3000),
       chunk=st.integers(1, 700), blocks=st.sampled_from([2, 4, 16]))
def test_streamed_return_blocks_equal_the_matrix_blocks(seed: int, rows: int, chunk: int,
                                                        blocks: int) -> None:
    """RunningMetrics keeps each block's moments as the equity streams in
    chunks of any size: the same as the blocks of the whole return column."""
    if rows < 2 * blocks:
        blocks = 2
    rng = np.random.default_rng(seed)
    equity = 1000 * np.cumprod(1 + rng.normal(0, 0.01, rows))
    stamps = np.cumsum(rng.integers(1, 5, rows)) * 60_000_000_000
    starts = [int(stamps[p[0]]) for p in np.array_split(np.arange(rows), blocks)]
    running = RunningMetrics(initial_equity=1000.0)
    running.track_blocks(starts)
    for i in range(0, rows, chunk):
        running.update(stamps[i:i + chunk], equity[i:i + chunk], np.zeros(len(stamps[i:i + chunk])))
    returns = equity / np.concatenate([[1000.0], equity[:-1]]) - 1
    expected = block_statistics(np.stack([returns, returns], axis=1), blocks)[:, :, 0]
    got = running.return_blocks()
    assert got is not None
    np.testing.assert_array_equal(got[:, 0], expected[:, 0])
    np.testing.assert_allclose(got[:, 1:], expected[:, 1:], rtol=1e-9, atol=1e-15)


def test_return_blocks_are_none_once_equity_reaches_zero() -> None:
    running = RunningMetrics(initial_equity=100.0)
    running.track_blocks([0, 10])
    running.update(np.arange(20), np.r_[np.full(5, 100.0), 0.0, np.full(14, 1.0)], np.zeros(20))
    assert running.return_blocks() is None


def test_a_split_where_nothing_varies_in_sample_is_left_out() -> None:
    # trial returns constant over blocks 0-1: the split with those in sample names no winner
    matrix = np.array([[0.01, 0.01]] * 4 + [[0.02, -0.01], [0.0, 0.03], [0.01, 0.0], [-0.01, 0.02]])
    got = pbo_of_blocks(block_statistics(matrix, 2))
    assert got["combinations"] == 1
