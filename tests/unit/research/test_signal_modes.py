"""signal_generation and signal_replay as YAML patterns, under every sequence.

A replay study computes no strategy or indicator code (patched to raise
here) and gives the plain backtest's results byte for byte, also with a
risk grid the generation run never saw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import msgspec
import numpy as np
import pytest

import admf
from admf.cli import main
from admf.components import strategies
from admf.components.indicators import _base
from admf.errors import ConfigError
from admf.research.config import load_config
from admf.research.signals import SignalStore, generate_signals
from admf.research.signals.replay import players
from admf.research.study import run_points, strategy_points
from admf.runtime.patterns import available_patterns


def _study(store: Path, **sections: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "modes", "seed": 11,
        "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "bars": 1600,
                 "batch_rows": 256},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [4, 8], "slow": 21}},
                       {"type": "rsi_reversion", "direction": "long_short"}],
        "results": {"storage": "memory"},
        "executor": {"kind": "inline"},
        "signals": {"store": str(store)},
    }
    base.update(sections)
    return base


def _forbid_strategy_code(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("strategy or indicator code ran during replay")

    for cls in (strategies.Strategy, strategies._Crossover, strategies.RsiReversion):
        monkeypatch.setattr(cls, "targets", forbidden)
    monkeypatch.setattr(_base.Indicator, "update", forbidden)


def _same_sequence(replayed: Any, full: Any) -> None:
    assert replayed.type == full.type
    encode = msgspec.json.encode
    assert encode(replayed.table) == encode(full.table)
    assert encode(replayed.metrics) == encode(full.metrics)
    assert encode(replayed.aggregate) == encode(full.aggregate)
    assert replayed.best_params == full.best_params
    if full.equity is not None:
        for name, column in full.equity.items():
            assert replayed.equity[name].tobytes() == column.tobytes(), name


def _raw(column: np.ndarray) -> bytes:
    """The column's bytes (text columns as their UTF-8, not object pointers)."""
    if column.dtype == object:
        return "\x00".join(map(str, column)).encode()
    return column.tobytes()


def test_the_built_in_patterns_are_listed() -> None:
    assert {"backtest", "signal_generation", "signal_replay"} <= set(available_patterns())


SEQUENCES = [
    {"type": "parameter_sweep"},
    {"type": "train_test", "split": 0.6},
    {"type": "walk_forward", "train": 500, "test": 200, "step": 200},
    {"type": "walk_forward", "train": 500, "test": 200, "step": 200, "anchored": True,
     "warmup": 0},
    {"type": "k_fold", "folds": 3},
]


@pytest.mark.parametrize("sequence", SEQUENCES, ids=lambda s: "-".join(map(str, s.values())))
def test_a_replayed_sequence_is_the_backtest_byte_for_byte(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sequence: dict[str, Any]) -> None:
    store = tmp_path / "signals"
    made = admf.run_sync({**_study(store, sequence=sequence),
                          "topology": {"pattern": "signal_generation"}}, write=False)
    assert made.kind == "signal_generation"
    assert made.raw.computed > 0 and made.raw.reused == 0
    again = admf.run_sync({**_study(store, sequence=sequence),
                           "topology": {"pattern": "signal_generation"}}, write=False)
    assert again.raw.computed == 0 and again.raw.reused == made.raw.computed
    # a second study over the same strategies with a risk grid generation never saw
    grid = {"stop_loss": [0.01, None], "take_profit": 0.03}
    full = admf.run_sync(_study(store, sequence=sequence, risk=grid), write=False).raw
    _forbid_strategy_code(monkeypatch)
    replayed = admf.run_sync({**_study(store, sequence=sequence, risk=grid),
                              "topology": {"pattern": "signal_replay"}}, write=False).raw
    _same_sequence(replayed, full)


def test_a_single_pass_replays_from_yaml_and_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    store = tmp_path / "store"
    study = _study(store, results={"dir": str(tmp_path / "results"), "storage": "hybrid"})
    path = tmp_path / "gen.yaml"
    path.write_text(yaml.safe_dump({**study, "topology": {"pattern": "signal_generation"}}))
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "signal_generation: 3 computed, 0 reused" in out
    assert (store / "index.parquet").is_file()
    full = admf.run_sync({**study, "risk": {"stop_loss": [0.02, 0.05]}}, write=False)
    _forbid_strategy_code(monkeypatch)
    assert main(["run", str(path), "--set", "topology.pattern=signal_replay",
                 "--set", "risk.stop_loss=[0.02,0.05]"]) == 0
    assert "6 portfolios" in capsys.readouterr().out
    replayed = admf.run_sync(path, overrides=["topology.pattern=signal_replay",
                                              "risk.stop_loss=[0.02,0.05]"], write=False)
    assert replayed.portfolios.keys() == full.portfolios.keys()
    for pid, ref in full.portfolios.items():
        for name in ref.equity:
            assert replayed.portfolios[pid].equity[name].tobytes() == ref.equity[name].tobytes()
        for name in ref.trades:
            assert _raw(replayed.portfolios[pid].trades[name]) == _raw(ref.trades[name]), name


def test_a_replay_without_stored_signals_fails_before_writing(tmp_path: Path) -> None:
    study = {**_study(tmp_path / "empty", results={"dir": str(tmp_path / "results")}),
             "topology": {"pattern": "signal_replay"}}
    with pytest.raises(ConfigError, match=r"no stored signals under key '[0-9a-f]+' for "
                                          r"strategies\[0\].*signal_generation first"):
        admf.run_sync(study)
    assert not (tmp_path / "results").exists()
    # a walk-forward asks for each window's signals
    admf.run_sync({**study, "topology": {"pattern": "signal_generation"}}, write=False)
    walk = {**study, "sequence": {"type": "walk_forward", "train": 500, "test": 200, "step": 200}}
    with pytest.raises(ConfigError, match=r"over window \d+\.\.\d+ \(ns\)"):
        admf.run_sync(walk)


def test_changing_the_data_selection_makes_new_keys(tmp_path: Path) -> None:
    store = SignalStore(tmp_path)
    whole = load_config(_study(tmp_path))
    cut = load_config({**_study(tmp_path), "data": {**_study(tmp_path)["data"],
                                                     "end": "2020-01-01T20:00:00"}})
    first = generate_signals(whole, store)
    second = generate_signals(cut, store)
    assert second.reused == [] and set(first.keys.values()).isdisjoint(second.keys.values())


def test_replay_with_a_warm_up_span_is_the_backtest(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A test window warms its indicators on earlier bars (``trade_from``):
    its signals are generated and looked up over the span it reads."""
    config = load_config(_study(tmp_path, risk={"stop_loss": [0.01, 0.03]}))
    points = strategy_points(config)
    origin = int(np.datetime64("2020-01-01", "ns").astype(np.int64))
    minute = 60 * 10**9
    read = (origin + 300 * minute, origin + 1200 * minute)
    trade_from = origin + 340 * minute
    store = SignalStore(tmp_path / "s")
    generate_signals(config, store, window=read)

    async def backtest() -> Any:
        return await run_points(config, points, window=read, keep="curves", trade_from=trade_from)

    full, _ = anyio.run(backtest)
    _forbid_strategy_code(monkeypatch)
    play = players(config, store, points, window=read)

    async def replay() -> Any:
        return await run_points(config, points, window=read, keep="curves",
                                trade_from=trade_from, replay=play)

    replayed, _ = anyio.run(replay)
    for pid, ref in full.items():
        assert ref.equity["timestamp"][0] >= trade_from
        for name in ref.equity:
            assert replayed[pid].equity[name].tobytes() == ref.equity[name].tobytes()
        for name in ref.trades:
            assert _raw(replayed[pid].trades[name]) == _raw(ref.trades[name]), name
    # signals generated over the trading span alone are other signals: refused, not misused
    with pytest.raises(ConfigError, match="no stored signals under key"):
        players(config, store, points, window=(trade_from, read[1]))


def test_a_workflow_generates_once_and_replays_per_phase(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    base = _study(tmp_path / "store", sequence={"type": "parameter_sweep"})
    defaults = {k: v for k, v in base.items() if k != "name"}
    workflow = {"name": "gen_then_replay", "defaults": defaults, "phases": [
        {"name": "generate", "topology": {"pattern": "signal_generation"}},
        {"name": "tight", "depends_on": ["generate"], "topology": {"pattern": "signal_replay"},
         "risk": {"stop_loss": [0.01, 0.02]}},
        {"name": "wide", "depends_on": ["generate"], "topology": {"pattern": "signal_replay"},
         "risk": {"stop_loss": 0.05}},
    ]}
    full = admf.run_sync({**base, "risk": {"stop_loss": [0.01, 0.02]}}, write=False).raw
    result = admf.run_sync(workflow, write=False)
    phases = result.phases
    assert phases["generate"].outputs["aggregate"]["computed"] == 3
    assert phases["generate"].outputs["metrics"] == {}
    assert msgspec.json.encode(phases["tight"].outputs["table"]) == msgspec.json.encode(full.table)
    assert len(phases["wide"].outputs["table"]) == 3


def test_workers_of_a_process_pool_replay_from_the_store(tmp_path: Path) -> None:
    """Each worker opens ``signals.store`` itself and finds its window's keys."""
    sequence = {"type": "walk_forward", "train": 500, "test": 200, "step": 200}
    store = tmp_path / "signals"
    admf.run_sync({**_study(store, sequence=sequence), "topology": {"pattern": "signal_generation"}},
                  write=False)
    grid = {"take_profit": [0.02, 0.04]}
    full = admf.run_sync(_study(store, sequence=sequence, risk=grid), write=False).raw
    pooled = admf.run_sync({**_study(store, sequence=sequence, risk=grid,
                                     executor={"kind": "processes", "workers": 2}),
                            "topology": {"pattern": "signal_replay"}}, write=False).raw
    _same_sequence(pooled, full)


@pytest.mark.parametrize("method", ["bootstrap_returns", "parameter_noise"])
def test_a_replayed_monte_carlo_is_the_backtest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               method: str) -> None:
    one = [{"type": "sma_crossover", "params": {"fast": 6, "slow": 30}}]
    sequence = {"type": "monte_carlo", "runs": 6, "method": method}
    if method == "parameter_noise":
        sequence["noise"] = 0.2
    store = tmp_path / "signals"
    made = admf.run_sync({**_study(store, sequence=sequence, strategies=one),
                          "topology": {"pattern": "signal_generation"}}, write=False)
    assert made.raw.computed == (6 if method == "parameter_noise" else 1)
    full = admf.run_sync(_study(store, sequence=sequence, strategies=one), write=False).raw
    _forbid_strategy_code(monkeypatch)
    replayed = admf.run_sync({**_study(store, sequence=sequence, strategies=one),
                              "topology": {"pattern": "signal_replay"}}, write=False).raw
    _same_sequence(replayed, full)


def test_validate_checks_the_stored_signals_of_a_replay(tmp_path: Path) -> None:
    from admf.research.validate import validate

    replay = {**_study(tmp_path / "store"), "topology": {"pattern": "signal_replay"}}
    with pytest.raises(ConfigError, match="no stored signals under key"):
        validate(replay)
    admf.run_sync({**replay, "topology": {"pattern": "signal_generation"}}, write=False)
    assert validate(replay).topology.pattern == "signal_replay"
