"""A Monte Carlo over a walk-forward's out-of-sample curve (issue 13,
deliverable 5): robustness measured out of sample.

The reference is the walk-forward run on its own and a plain numpy
resampling of its stitched returns, following the documented procedure
(draw ``i`` uses ``default_rng(SeedSequence([seed, i]))`` and takes ``n``
returns with replacement); nothing is read back from the Monte Carlo code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import admf
from admf.errors import ConfigError

WALK = {"type": "walk_forward", "train": 1500, "test": 700}
SEED, DRAWS, CASH = 7, 60, 100_000.0


def study(tmp_path: Path, sequence: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "nested", "seed": SEED,
            "data": {"source": "synthetic", "symbols": ["AAA"], "bars": 5000, "timeframe": "1h",
                     "volatility": 0.006},
            "strategies": [{"type": "sma_crossover", "params": {"fast": [5, 10], "slow": [30, 60]}}],
            "portfolio": {"initial_cash": CASH}, "executor": {"kind": "inline"},
            "sequence": sequence, "results": {"dir": str(tmp_path / "results")}, **extra}


def reference_draws(equity: np.ndarray) -> np.ndarray:
    """Final equity of each resampled path, by hand."""
    previous = np.concatenate([[CASH], equity[:-1]])
    returns = equity / previous - 1.0
    n = len(returns)
    out = []
    for i in range(DRAWS):
        rng = np.random.default_rng(np.random.SeedSequence([SEED, i]))
        out.append(CASH * np.prod(1.0 + returns[rng.integers(0, n, size=n)]))
    return np.asarray(out)


@pytest.mark.parametrize("write", [False, True])
def test_monte_carlo_over_a_walk_forward_resamples_its_out_of_sample_returns(
        tmp_path: Path, write: bool) -> None:
    walked = admf.run_sync(study(tmp_path, WALK), write=False)
    nested = admf.run_sync(study(tmp_path, {"type": "monte_carlo", "runs": DRAWS, "over": WALK}),
                           write=write)
    # the inner walk-forward is the walk-forward: same windows, choices, curve
    oos = np.asarray(walked.equity["equity"])
    assert np.array_equal(np.asarray(nested.equity["equity"]), oos)
    assert nested.windows.to_pandas().equals(walked.windows.to_pandas())
    assert nested.metrics == walked.metrics          # the headline: out of sample
    assert nested.best.params == walked.best.params
    # every draw resamples the out-of-sample returns, not a full-period run's
    draws = sorted((r for r in nested.raw.table), key=lambda r: r["draw"])
    assert [r["draw"] for r in draws] == list(range(DRAWS))
    expected = reference_draws(oos)
    got = np.asarray([r["final_equity"] for r in draws])
    assert np.allclose(got, expected, rtol=1e-9, atol=0)
    p50 = nested.distributions["final_equity"]["p50"]
    assert p50 == pytest.approx(float(np.percentile(expected, 50)), rel=1e-9)
    assert nested.raw.aggregate["over"] == "walk_forward"
    if write:
        # the test windows' trades, read back from the run directory
        counts = walked.windows.to_pandas()["test_trade_count"]
        assert len(nested.trades) == int(counts.sum()) > 0


def test_monte_carlo_over_differs_from_the_full_period_bootstrap(tmp_path: Path) -> None:
    # in-sample robustness resamples one full-period run of a chosen point;
    # out of sample resamples only the test windows: fewer bars, other returns
    config = study(tmp_path, {"type": "monte_carlo", "runs": DRAWS})
    config["strategies"] = [{"type": "sma_crossover", "params": {"fast": 5, "slow": 30}}]
    full = admf.run_sync(config, write=False)
    nested = admf.run_sync(study(tmp_path, {"type": "monte_carlo", "runs": DRAWS, "over": WALK}),
                           write=False)
    assert len(nested.equity) < 5000 - WALK["train"] + 1
    assert nested.distributions["final_equity"] != full.distributions["final_equity"]


@pytest.mark.parametrize(("over", "named"), [
    ({"type": "k_fold"}, "sequence.over.type"),
    ({"type": "walk_forward", "test": 500}, "sequence.over.train"),
    ({"type": "walk_forward", "train": 1000, "test": 500, "folds": 3}, "sequence.over.folds"),
    ({"type": "walk_forward", "train": 1000, "tset": 500}, "sequence.over.tset"),
])
def test_a_bad_nested_sequence_names_its_key(tmp_path: Path, over: dict[str, Any],
                                             named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        admf.load(study(tmp_path, {"type": "monte_carlo", "over": over}))


def test_over_needs_bootstrap_returns_and_windows_that_fit(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sequence\.over: .*bootstrap_returns"):
        admf.load(study(tmp_path, {"type": "monte_carlo", "method": "parameter_noise",
                                   "over": WALK}))
    from admf.research.validate import validate

    too_long = study(tmp_path, {"type": "monte_carlo", "over": {**WALK, "train": 50_000}})
    with pytest.raises(ConfigError, match=r"^sequence\.over: .*do not fit"):
        validate(admf.load(too_long))
    assert not (tmp_path / "results").exists()
