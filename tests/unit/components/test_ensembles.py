"""Ensembles and regime classifiers against hand-worked examples and plain
loops; batch-split independence; ensembles in studies, grids and replay.

The references use lists and loops only: the classifiers' documented rules
walked bar by bar, and the combination rules of the ensembles module
docstring applied per bar to the members' own targets.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import admf
from admf.components.classifiers import UNDEFINED, TrendRegime, VolatilityRegime
from admf.components.ensembles import Ensemble, combine
from admf.components.per_bar import BarStrategy
from admf.components.strategies import BadTargets, Strategy
from admf.errors import ConfigError
from admf.research.config import load_config
from admf.research.signals import SignalStore, generate_signals, strategy_code_version
from admf.research.signals.replay import replay_signals
from admf.runtime.registry import registry
from tests._walks import walk_batch

NAN = math.nan

# ------------------------------------------------------------ combination


def test_combine_hand_worked() -> None:
    # three members over five bars; weights 1, 2, 1
    targets = np.array([[1, 1, -1, 0, 1],
                        [1, -1, -1, 1, -1],
                        [-1, -1, 1, 0, 0.5]], dtype=float)
    weights = np.array([1.0, 2.0, 1.0])
    every = np.ones_like(targets, dtype=bool)
    # average: (1*t0 + 2*t1 + 1*t2) / 4
    assert combine(targets, weights, every, "average").tolist() == \
        [0.5, -0.5, -0.5, 0.5, -0.125]
    # weighted vote on signs: (s0 + 2 s1 + s2) / 4 -> 0.5, -0.5, -0.5, 0.5, 0.0
    assert combine(targets, weights, every, "weighted_vote").tolist() == [1, -1, -1, 1, 0]
    assert combine(targets, weights, every, "weighted_vote", 0.4).tolist() == [1, -1, -1, 1, 0]
    assert combine(targets, weights, every, "weighted_vote", 0.5).tolist() == [0, 0, 0, 0, 0]
    # majority of 3 (weights ignored): longs 2,1,1,1,2; shorts 1,2,2,0,1
    assert combine(targets, weights, every, "majority").tolist() == [1, -1, -1, 0, 1]
    assert combine(targets, weights, every, "unanimous").tolist() == [0, 0, 0, 0, 0]
    # member 2 inactive on every bar: members 0 and 1 only
    active = every.copy()
    active[2] = False
    assert combine(targets, weights, active, "unanimous").tolist() == [1, 0, -1, 0, 0]
    assert combine(targets, weights, active, "average").tolist() == \
        [1.0, -1 / 3, -1.0, 2 / 3, -1 / 3]
    # no member active: flat whatever the method
    none = np.zeros_like(every)
    for method in ("average", "weighted_vote", "majority", "unanimous"):
        assert combine(targets, weights, none, method).tolist() == [0.0] * 5


# ------------------------------------------------------------ classifiers


def _batches(bars: Any, cuts: list[int]) -> list[Any]:
    edges = [0, *sorted(c for c in cuts if 0 < c < len(bars)), len(bars)]
    return [bars.slice(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def _classify(classifier: Any, bars: Any, cuts: list[int]) -> list[int]:
    indicators = classifier.indicators()
    out: list[int] = []
    for piece in _batches(bars, cuts):
        values = {role: ind.update(piece) for role, ind in indicators.items()}
        out.extend(int(c) for c in classifier.classify(piece, values))
    return out


def trend_reference(close: list[float], period: int) -> list[int]:
    out = []
    for t in range(len(close)):
        if t < period:  # SMA[t] and SMA[t-1] both need period bars
            out.append(UNDEFINED)
            continue
        now = sum(close[t - period + 1:t + 1]) / period
        before = sum(close[t - period:t]) / period
        out.append(0 if now > before else 1 if now < before else UNDEFINED)
    return out


def volatility_reference(high: list[float], low: list[float], close: list[float], period: int,
                         lookback: int, quantile: float) -> list[int]:
    n = len(close)
    tr = [NAN] + [max(high[t] - low[t], abs(high[t] - close[t - 1]), abs(low[t] - close[t - 1]))
                  for t in range(1, n)]
    atr = [NAN] * n
    if n > period:
        atr[period] = sum(tr[1:period + 1]) / period
        for t in range(period + 1, n):
            atr[t] = (atr[t - 1] * (period - 1) + tr[t]) / period
    level = [a / c for a, c in zip(atr, close)]
    out = []
    for t in range(n):
        window = level[t - lookback + 1:t + 1] if t >= lookback - 1 else []
        if not window or any(math.isnan(v) for v in window):
            out.append(UNDEFINED)
            continue
        share = sum(1 for v in window if v <= level[t]) / lookback
        out.append(0 if share > quantile else 1)
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), period=st.integers(1, 30),
       cuts=st.lists(st.integers(1, 599), max_size=4))
def test_trend_regime_is_the_sign_of_the_sma_slope(seed: int, period: int, cuts: list[int]) -> None:
    bars = walk_batch(600, seed)
    got = _classify(TrendRegime(period=period), bars, cuts)
    want = trend_reference(bars.close.tolist(), period)
    mismatched = [t for t, (a, b) in enumerate(zip(got, want)) if a != b]
    assert not mismatched, (mismatched[:5], got[mismatched[0]], want[mismatched[0]])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), period=st.integers(1, 20), lookback=st.integers(1, 80),
       quantile=st.sampled_from([0.2, 0.5, 0.8]), cuts=st.lists(st.integers(1, 499), max_size=4))
def test_volatility_regime_is_the_rolling_rank_of_atr_over_close(
        seed: int, period: int, lookback: int, quantile: float, cuts: list[int]) -> None:
    bars = walk_batch(500, seed)
    got = _classify(VolatilityRegime(period=period, lookback=lookback, quantile=quantile),
                    bars, cuts)
    want = volatility_reference(bars.high.tolist(), bars.low.tolist(), bars.close.tolist(),
                                period, lookback, quantile)
    assert got == want


def test_the_volatility_rank_crosses_its_chunks() -> None:
    """Batches longer than the ranking's chunk of 4096 rows rank the same."""
    bars = walk_batch(9000, 3)
    got = _classify(VolatilityRegime(period=5, lookback=300), bars, [])
    want = volatility_reference(bars.high.tolist(), bars.low.tolist(), bars.close.tolist(),
                                5, 300, 0.5)
    assert got == want
    assert {0, 1} <= set(got)


# ------------------------------------------------------------ ensembles


def _members(bars: Any, specs: list[tuple[str, dict[str, Any]]], direction: str) -> list[list[float]]:
    """Each member's own targets over the whole bars, NaN carried as the last target."""
    out = []
    for kind, params in specs:
        cls = registry.get("strategy", kind)
        member = cls(msgspec.convert(params, cls.Params), direction=direction)
        indicators = member.indicators()
        values = {role: ind.update(bars) for role, ind in indicators.items()}
        carried, last = [], 0.0
        for v in member.targets(bars, values).tolist():
            last = last if math.isnan(v) else v
            carried.append(last)
        out.append(carried)
    return out


def ensemble_reference(members: list[list[float]], weights: list[float], when: list[str],
                       codes: list[int] | None, labels: tuple[str, ...], method: str,
                       threshold: float, direction: str) -> list[float]:
    out = []
    for t in range(len(members[0])):
        active = [i for i, w in enumerate(when) if w == "any" or (
            codes is not None and codes[t] != UNDEFINED and labels[codes[t]] == w)]
        total = sum(weights[i] for i in active)
        sign = [(members[i][t] > 0) - (members[i][t] < 0) for i in range(len(members))]
        if method == "average":
            value = sum(weights[i] * members[i][t] for i in active) / total if total > 0 else 0.0
        elif method == "weighted_vote":
            score = sum(weights[i] * sign[i] for i in active) / total if total > 0 else 0.0
            value = float((score > 0) - (score < 0)) if abs(score) > threshold else 0.0
        else:
            longs = sum(1 for i in active if sign[i] > 0)
            shorts = sum(1 for i in active if sign[i] < 0)
            if method == "majority":
                value = 1.0 if 2 * longs > len(active) else -1.0 if 2 * shorts > len(active) else 0.0
            else:
                value = 1.0 if active and longs == len(active) else \
                    -1.0 if active and shorts == len(active) else 0.0
        if direction == "long_only":
            value = max(value, 0.0)
        elif direction == "short_only":
            value = min(value, 0.0)
        out.append(value)
    return out


SPECS = [("sma_crossover", {"fast": 5, "slow": 20}), ("momentum", {"period": 15}),
         ("rsi_reversion", {}), ("bollinger_reversion", {})]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000),
       method=st.sampled_from(["average", "weighted_vote", "majority", "unanimous"]),
       direction=st.sampled_from(["long_only", "short_only", "long_short"]),
       weights=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=4, max_size=4)
       .filter(lambda w: sum(w) > 0),
       when=st.lists(st.sampled_from(["any", "up", "down"]), min_size=4, max_size=4),
       threshold=st.sampled_from([0.0, 0.3]), cuts=st.lists(st.integers(1, 799), max_size=4))
def test_an_ensemble_is_its_rule_over_its_members(seed: int, method: str, direction: str,
                                                  weights: list[float], when: list[str],
                                                  threshold: float, cuts: list[int]) -> None:
    bars = walk_batch(800, seed)
    params: dict[str, Any] = {"method": method, "threshold": threshold, "regime": "trend",
                              "regime.period": 25}
    for i, (kind, own) in enumerate(SPECS):
        params |= {f"m{i}.type": kind, f"m{i}.weight": weights[i], f"m{i}.when": when[i],
                   **{f"m{i}.{k}": v for k, v in own.items()}}
    ensemble = Ensemble(params, direction=direction)
    indicators = ensemble.indicators()
    got: list[float] = []
    for piece in _batches(bars, cuts):
        values = {role: ind.update(piece) for role, ind in indicators.items()}
        got.extend(ensemble.targets(piece, values).tolist())
    codes = trend_reference(bars.close.tolist(), 25)
    want = ensemble_reference(_members(bars, SPECS, direction), weights, when, codes,
                              ("up", "down"), method, threshold, direction)
    assert np.allclose(got, want, rtol=0, atol=1e-12), \
        next(t for t, (a, b) in enumerate(zip(got, want)) if abs(a - b) > 1e-12)


def test_a_member_active_only_in_a_regime_is_silent_outside_it() -> None:
    bars = walk_batch(1500, 11)
    params = {"m0.type": "momentum", "m0.period": 10, "m0.when": "up", "regime": "trend",
              "regime.period": 40}
    ensemble = Ensemble(params, direction="long_short")
    values = {role: ind.update(bars) for role, ind in ensemble.indicators().items()}
    got = ensemble.targets(bars, values)
    codes = np.array(trend_reference(bars.close.tolist(), 40))
    assert np.all(got[codes != 0] == 0)
    assert np.any(got[codes == 0] != 0)


class _Broken(Strategy):
    name = "broken_member"
    Params = msgspec.defstruct("BrokenParams", [], kw_only=True, forbid_unknown_fields=True)

    def targets(self, bars: Any, values: Any) -> np.ndarray:
        return np.full(len(bars.close) + 1, 1.0)


HERE = "tests.unit.components.test_ensembles"


def test_a_members_bad_targets_name_the_member() -> None:
    ensemble = Ensemble({"m0.type": "sma_crossover", "m1.type": f"{HERE}:_Broken"})
    bars = walk_batch(50, 1)
    values = {role: ind.update(bars) for role, ind in ensemble.indicators().items()}
    with pytest.raises(BadTargets, match=r"member m1 \(.*:_Broken\) returned targets of "
                                         r"shape \(51,\) for a batch of 50 bars"):
        ensemble.targets(bars, values)


@pytest.mark.parametrize(("params", "message"), [
    ({"m0.fast": 5}, r"m0.type: every member needs a strategy type"),
    ({"m0.type": "sma_crossover", "m2.type": "momentum"}, r"m1 is missing"),
    ({"m0.type": "sma_crossover", "m0.weight": -1}, r"m0.weight: expected a finite number >= 0"),
    ({"m0.type": "sma_crossover", "m0.weight": NAN}, r"m0.weight: expected a finite number"),
    ({"m0.type": "sma_crossover", "m0.weight": 0}, r"weights sum to 0"),
    ({"m0.type": "sma_crossover", "method": "vote"}, r"method: expected one of weighted_vote"),
    ({"m0.type": "sma_crossover", "threshold": 1.5}, r"threshold: expected a number in \[0, 1\)"),
    ({"m0.type": "sma_crossover", "m0.when": "up"}, r"m0.when: 'up' is not a regime"),
    ({"m0.type": "sma_crossover", "regime": "trend", "m0.when": "high"},
     r"m0.when: 'high' is not a regime of trend \(expected any, up, down\)"),
    ({"m0.type": "ensemble"}, r"m0.type: an ensemble cannot be a member"),
    ({"m0.type": "smacross"}, r"m0.type: unknown strategy 'smacross'"),
    ({"m0.type": "sma_crossover", "m0.fst": 3}, r"m0: sma_crossover has no parameter 'fst'; "
                                                 r"did you mean 'fast'"),
    ({"m0.type": "sma_crossover", "m0.fast": 40}, r"m0: .*fast \(40\) must be less than slow"),
    ({"m0.type": "sma_crossover", "regime": "weather"}, r"regime: unknown classifier 'weather'"),
    ({"m0.type": "sma_crossover", "regime": "trend", "regime.perod": 5},
     r"regime.perod: trend has no parameter 'perod' \(its parameters: period\)"),
    ({"m0.type": "sma_crossover", "regime": "volatility", "regime.quantile": 1},
     r"quantile must be in \(0, 1\)"),
    ({"m0.type": "sma_crossover", "regime.period": 5}, r"regime.period: given without a regime"),
    ({"m0.type": "sma_crossover", "treshold": 0.1}, r"ensemble has no parameter 'treshold'; "
                                                     r"did you mean 'threshold'"),
])
def test_bad_ensembles_name_the_key(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Ensemble(params)


class PerBar(BarStrategy):
    def on_bar(self, bar: Any, ind: Any, position: float) -> float:
        return 1.0


def test_a_per_bar_member_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"m0.type: '.*:PerBar' is not a vectorised"):
        Ensemble({"m0.type": f"{HERE}:PerBar"})


# ------------------------------------------------------------ in studies


def _study(**params: Any) -> Any:
    base = {"m0.type": "sma_crossover", "m0.fast": 5, "m0.slow": 30,
            "m1.type": "momentum", "m1.period": 40, "m1.when": "up",
            "m2.type": "rsi_reversion", "regime": "trend", "regime.period": 60}
    return load_config({
        "name": "ens", "seed": 5,
        "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "bars": 3000,
                 "batch_rows": 700},
        "strategies": [{"type": "ensemble", "direction": "long_short", "params": base | params}],
        "results": {"storage": "memory"}})


def test_a_grid_over_member_weights_and_params_runs_every_point() -> None:
    result = admf.run_sync(_study(**{"m0.weight": [1, 3], "m0.fast": [5, 10]}), write=False)
    assert len(result.portfolios) == 4
    finals = {pid: p.final_equity for pid, p in result.portfolios.items()}
    assert len(set(finals.values())) == 4, finals
    assert all("m0.weight=" in pid and "m0.fast=" in pid for pid in finals)


@pytest.mark.parametrize("method", ["average", "weighted_vote", "majority", "unanimous"])
def test_an_ensemble_of_one_member_is_that_strategy(method: str) -> None:
    """Every rule reduces to the member's own target when it is the only one
    (its targets are -1, 0, +1): the study's trades and equity are the
    member's study's, byte for byte."""
    def config(strategy: dict[str, Any]) -> Any:
        return load_config({
            "name": "one", "seed": 9,
            "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "bars": 3000,
                     "batch_rows": 700},
            "strategies": [strategy | {"direction": "long_short", "name": "s"}],
            "risk": {"stop_loss": 0.02}, "results": {"storage": "memory"}})

    alone = admf.run_sync(config({"type": "sma_crossover", "params": {"fast": 7, "slow": 40}}),
                          write=False).portfolios["s"]
    ensemble = admf.run_sync(config({"type": "ensemble", "params": {
        "method": method, "m0.type": "sma_crossover", "m0.fast": 7, "m0.slow": 40}}),
        write=False).portfolios["s"]
    assert len(alone.trades["symbol"]) > 10
    assert ensemble.final_equity == alone.final_equity
    for name in alone.trades:
        assert ensemble.trades[name].tobytes() == alone.trades[name].tobytes(), name
    for name in alone.equity:
        assert ensemble.equity[name].tobytes() == alone.equity[name].tobytes(), name


def test_bad_ensemble_in_a_config_names_the_strategy_key() -> None:
    with pytest.raises(ConfigError, match=r"strategies\[0\].params: m1.weight: expected a "
                                          r"finite number >= 0, got -2"):
        admf.run_sync(_study(**{"m1.weight": -2}), write=False)


def test_replayed_ensemble_signals_are_the_backtest(tmp_path: Path) -> None:
    config = _study(**{"m0.weight": [1, 2]})
    store = SignalStore(tmp_path)
    generate_signals(config, store)
    replayed = replay_signals(config, store).portfolios
    full = admf.run_sync(config, write=False).portfolios
    assert replayed.keys() == full.keys()
    for pid, ref in full.items():
        assert replayed[pid].final_equity == ref.final_equity
        for name in ref.trades:
            assert replayed[pid].trades[name].tobytes() == ref.trades[name].tobytes()


def test_the_signal_key_covers_the_members_code() -> None:
    one = strategy_code_version(Ensemble, {"m0.type": "sma_crossover"})
    assert one == strategy_code_version(Ensemble, {"m0.type": "sma_crossover"})
    assert one != strategy_code_version(Ensemble, {"m0.type": "momentum"})
    assert one != strategy_code_version(Ensemble, {"m0.type": "sma_crossover", "regime": "trend"})
