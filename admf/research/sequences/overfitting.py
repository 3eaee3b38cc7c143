"""How much a sweep's winner owes to luck: the deflated Sharpe ratio and the
probability of backtest overfitting.

Both are pure functions of numbers a sweep produces; nothing here runs a
backtest.

- :func:`deflated_sharpe_ratio` — Bailey & López de Prado, "The Deflated
  Sharpe Ratio: Correcting for Selection Bias, Backtest Overfitting and
  Non-Normality", *Journal of Portfolio Management* 40(5), 2014. With
  per-bar Sharpe ratios (not annualised), ``N`` trials whose Sharpe ratios
  have variance ``V``, the expected maximum Sharpe ratio of ``N`` unskilled
  trials is::

      SR0 = sqrt(V) * ((1 - g) * Z(1 - 1/N) + g * Z(1 - 1/(N e)))

  (``Z`` the standard normal quantile, ``g`` the Euler–Mascheroni constant),
  and the winner's observed ``SR`` over ``T`` returns with skewness ``s`` and
  kurtosis ``k`` (3 for a normal) deflates to the probability::

      DSR = Phi((SR - SR0) * sqrt(T - 1) / sqrt(1 - s * SR + (k - 1) / 4 * SR^2))

- :func:`probability_of_backtest_overfitting` — Bailey, Borwein, López de
  Prado & Zhu, "The Probability of Backtest Overfitting", *Journal of
  Computational Finance* 20(4), 2017 (combinatorially symmetric
  cross-validation). The ``T x N`` matrix of per-bar returns of ``N`` trials
  is cut into ``S`` (even) blocks of consecutive rows; for each of the
  ``C(S, S/2)`` ways to pick half the blocks as in-sample (the rest
  out-of-sample) the in-sample best trial ``n*`` (by Sharpe ratio) gets its
  out-of-sample relative rank ``w = rank / (N + 1)`` (rank 1 the worst) and
  the logit ``l = ln(w / (1 - w))``. PBO is the share of combinations with
  ``l <= 0``: how often the in-sample winner is no better than the median
  out of sample.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from ...errors import ConfigError

__all__ = ("EULER_GAMMA", "expected_max_sharpe", "deflated_sharpe_ratio",
           "probability_of_backtest_overfitting", "block_statistics", "pbo_of_blocks")

EULER_GAMMA = 0.5772156649015329

# the standard normal from the standard library: scipy.stats takes ~1.3 s to
# import, which every sweep would pay for two quantiles and one probability
_NORMAL = NormalDist()


def expected_max_sharpe(trials: int, variance: float) -> float:
    """``SR0``: the expected largest Sharpe ratio of ``trials`` unskilled
    trials whose Sharpe ratios have ``variance`` (see the module docstring)."""
    if trials < 2:
        return 0.0
    g = EULER_GAMMA
    return math.sqrt(variance) * ((1 - g) * _NORMAL.inv_cdf(1 - 1 / trials)
                                  + g * _NORMAL.inv_cdf(1 - 1 / (trials * math.e)))


def deflated_sharpe_ratio(sharpe: float, *, trials: int, variance: float, observations: int,
                          skewness: float = 0.0, kurtosis: float = 3.0) -> float:
    """The probability that the winner's true (per-bar) Sharpe ratio exceeds
    what ``trials`` unskilled trials would show at best (module docstring)."""
    if observations < 2:
        raise ConfigError(f"deflated Sharpe ratio: expected at least 2 observations, got "
                          f"{observations}")
    spread = 1 - skewness * sharpe + (kurtosis - 1) / 4 * sharpe ** 2
    if spread <= 0:
        return math.nan
    sr0 = expected_max_sharpe(trials, variance)
    return float(_NORMAL.cdf((sharpe - sr0) * math.sqrt(observations - 1) / math.sqrt(spread)))


def block_statistics(returns: Sequence[Sequence[float]] | np.ndarray, blocks: int) -> np.ndarray:
    """The ``(blocks, 3, trials)`` count, mean and sum of squared deviations
    of each of ``blocks`` consecutive row blocks (``numpy.array_split``'s
    cut) of the bars x trials ``returns``: all that PBO needs of them."""
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise ConfigError("probability of backtest overfitting: expected a bars x trials "
                          "matrix with at least two trials")
    _check_blocks(blocks, matrix.shape[0])
    out = np.empty((blocks, 3, matrix.shape[1]))
    for k, part in enumerate(np.array_split(matrix, blocks)):
        mean = part.mean(axis=0)
        out[k, 0], out[k, 1], out[k, 2] = len(part), mean, ((part - mean) ** 2).sum(axis=0)
    return out


def _check_blocks(blocks: int, rows: int) -> None:
    if blocks < 2 or blocks % 2 or rows < 2 * blocks:
        raise ConfigError(f"probability of backtest overfitting: expected an even number of "
                          f"blocks >= 2 with at least 2 rows each, got {blocks} for "
                          f"{rows} rows")


def _sharpe(count: np.ndarray, total: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """Sharpe ratios (ddof 1) of groups with ``count`` returns summing to
    ``total`` whose squared deviations from their block means plus the
    blocks' ``n * mean**2`` sum to ``squares`` (see :func:`pbo_of_blocks`)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / count
        spread = squares - count * mean * mean
        # what rounding leaves of constant returns is no variation
        spread = np.where(spread > 1e-12 * squares, spread, 0.0)
        std = np.sqrt(spread / (count - 1))
        return np.where(std > 0, mean / std, np.nan)


def probability_of_backtest_overfitting(returns: Sequence[Sequence[float]] | np.ndarray,
                                        blocks: int = 16) -> float:
    """PBO of the trials whose per-bar returns are the columns of ``returns``
    (module docstring). Ties in the in-sample ranking go to the first trial;
    out-of-sample ranks count ties as the worse rank."""
    return pbo_of_blocks(block_statistics(returns, blocks))["value"]


@functools.lru_cache(maxsize=4)
def _halves(blocks: int) -> np.ndarray:
    """Every way to pick half of ``blocks`` blocks, one 0/1 row each, in
    ``itertools.combinations`` order."""
    every = np.zeros((math.comb(blocks, blocks // 2), blocks))
    for row, chosen in enumerate(itertools.combinations(range(blocks), blocks // 2)):
        every[row, list(chosen)] = 1.0
    every.flags.writeable = False
    return every


def pbo_of_blocks(stats: np.ndarray) -> dict[str, float | int]:
    """PBO (module docstring) from :func:`block_statistics` (or the same
    numbers accumulated while the runs streamed): ``value``, the median
    logit, and how many of the ``C(S, S/2)`` combinations had an in-sample
    winner (a split where no trial's returns vary names none and is left out).

    A trial's Sharpe ratio over a half is its blocks' moments merged, so a
    combination costs O(trials), not O(bars x trials), and all of them are
    a few matrix products."""
    blocks, _, trials = stats.shape
    if trials < 2:
        raise ConfigError("probability of backtest overfitting: expected at least two trials")
    if blocks < 2 or blocks % 2:
        _check_blocks(blocks, 0)
    count, mean, m2 = stats[:, 0], stats[:, 1], stats[:, 2]
    # a half's moments are sums over its blocks: counts, sums, and squared
    # deviations plus n * mean**2 (the between-block spread), as matrix products
    parts = np.stack([count, count * mean, m2 + count * mean * mean])  # 3, blocks, trials
    every = _halves(blocks)
    whole = parts.sum(axis=1)  # 3, trials: a half's complement is the whole less the half
    logits = []
    step = max(1, 2_000_000 // trials)  # combinations at a time: memory stays bounded
    for lo in range(0, len(every), step):
        half = [every[lo:lo + step] @ part for part in parts]
        sr_in = _sharpe(*half)
        sr_out = _sharpe(*(total - h for total, h in zip(whole, half)))
        ranked = np.where(np.isnan(sr_in), -np.inf, sr_in)
        named = ~np.all(np.isnan(sr_in), axis=1)  # a split where nothing varies names no winner
        best = np.argmax(ranked, axis=1)  # ties go to the first trial
        at_best = np.take_along_axis(sr_out, best[:, None], axis=1)
        rank = np.sum(sr_out < at_best, axis=1) + 1  # 1: the worst out of sample
        w = rank[named] / (trials + 1)
        logits.append(np.log(w / (1 - w)))
    values = np.concatenate(logits)
    if not values.size:
        return {"value": math.nan, "median_logit": math.nan, "combinations": 0}
    return {"value": float(np.mean(values <= 0)), "median_logit": float(np.median(values)),
            "combinations": int(values.size)}
