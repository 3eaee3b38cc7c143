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

import itertools
import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np

from ...errors import ConfigError

__all__ = ("EULER_GAMMA", "expected_max_sharpe", "deflated_sharpe_ratio",
           "probability_of_backtest_overfitting")

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


def _sharpe(returns: np.ndarray) -> np.ndarray:
    std = returns.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 0, returns.mean(axis=0) / std, np.nan)


def probability_of_backtest_overfitting(returns: Sequence[Sequence[float]] | np.ndarray,
                                        blocks: int = 16) -> float:
    """PBO of the trials whose per-bar returns are the columns of ``returns``
    (module docstring). Ties in the in-sample ranking go to the first trial;
    out-of-sample ranks count ties as the worse rank."""
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise ConfigError("probability of backtest overfitting: expected a bars x trials "
                          "matrix with at least two trials")
    if blocks < 2 or blocks % 2 or matrix.shape[0] < 2 * blocks:
        raise ConfigError(f"probability of backtest overfitting: expected an even number of "
                          f"blocks >= 2 with at least 2 rows each, got {blocks} for "
                          f"{matrix.shape[0]} rows")
    parts = np.array_split(matrix, blocks)
    trials = matrix.shape[1]
    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        inside = np.concatenate([parts[i] for i in chosen])
        outside = np.concatenate([parts[i] for i in range(blocks) if i not in chosen])
        sr_in, sr_out = _sharpe(inside), _sharpe(outside)
        best = int(np.nanargmax(sr_in))
        rank = int(np.sum(sr_out < sr_out[best])) + 1  # 1: the worst out of sample
        w = rank / (trials + 1)
        logits.append(math.log(w / (1 - w)))
    return float(np.mean(np.asarray(logits) <= 0))
