"""signals.select: a replay study takes its strategies from the signal store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

import admf
from admf.errors import ConfigError
from admf.research.validate import validate

from .test_signal_modes import _forbid_strategy_code, _same_sequence, _study

GRID = {"stop_loss": [0.01, None], "take_profit": 0.03}


def _replay(store: Path, select: Any, **sections: Any) -> dict[str, Any]:
    study = _study(store, **sections)
    study.pop("strategies")
    return {**study, "topology": {"pattern": "signal_replay"},
            "signals": {"store": str(store), "select": select}}


def _generate(store: Path, **sections: Any) -> None:
    admf.run_sync({**_study(store, **sections), "topology": {"pattern": "signal_generation"}},
                  write=False)


def _by_strategy(result: Any) -> dict[str, bytes]:
    """Portfolio metrics keyed by what the portfolio ran (type, params, risk)."""
    out = {}
    for pid, res in result.portfolios.items():
        point = result.points[pid]
        key = msgspec.json.encode([point.type, point.params, point.direction, point.portfolio])
        out[key.decode()] = msgspec.json.encode(res.metrics)
    return out


@pytest.mark.parametrize("sequence", [{"type": "single_pass"},
                                      {"type": "walk_forward", "train": 500, "test": 200,
                                       "step": 200}])
def test_select_all_replays_every_stored_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               sequence: dict[str, Any]) -> None:
    store = tmp_path / "signals"
    _generate(store, sequence=sequence)
    full = admf.run_sync(_study(store, sequence=sequence, risk=GRID), write=False)
    _forbid_strategy_code(monkeypatch)
    replayed = admf.run_sync(_replay(store, "all", sequence=sequence, risk=GRID), write=False)
    if sequence["type"] == "single_pass":
        assert len(replayed.portfolios) == 6  # 3 stored points x 2 stops
        assert _by_strategy(replayed) == _by_strategy(full)
    else:
        _same_sequence(replayed.raw, full.raw)


def test_a_filter_selects_by_strategy_params_and_direction(tmp_path: Path) -> None:
    store = tmp_path / "signals"
    _generate(store)
    one = admf.run_sync(_replay(store, {"strategy": "sma_crossover", "params": {"fast": [8, 99]}}),
                        write=False)
    assert [p.params["fast"] for p in one.points.values()] == [8]
    both = admf.run_sync(_replay(store, {"strategy": ["sma_crossover"]}), write=False)
    assert sorted(p.params["fast"] for p in both.points.values()) == [4, 8]
    shorts = admf.run_sync(_replay(store, {"direction": "long_short"}), write=False)
    assert [p.type for p in shorts.points.values()] == ["rsi_reversion"]
    reference = admf.run_sync(_study(store, strategies=[
        {"type": "sma_crossover", "params": {"fast": 8, "slow": 21}}]), write=False)
    assert _by_strategy(one) == _by_strategy(reference)


def test_the_run_directory_names_the_points_it_replayed(tmp_path: Path) -> None:
    store = tmp_path / "signals"
    _generate(store)
    config = _replay(store, "all", results={"dir": str(tmp_path / "results"), "storage": "hybrid"})
    run = admf.run_sync(config)
    saved = yaml.safe_load((Path(run.path) / "config.yaml").read_text())
    assert saved["signals"]["select"] is None
    assert sorted((s["type"], s["params"].get("fast")) for s in saved["strategies"]) == [
        ("rsi_reversion", None), ("sma_crossover", 4), ("sma_crossover", 8)]
    again = admf.run_sync(Path(run.path) / "config.yaml", write=False)  # the saved study runs
    assert _by_strategy(again) == _by_strategy(run)


def test_a_workflow_replays_what_its_generation_phase_stored(tmp_path: Path) -> None:
    base = _study(tmp_path / "store", sequence={"type": "parameter_sweep"})
    defaults = {k: v for k, v in base.items() if k not in ("name", "strategies")}
    workflow = {"name": "select_wf", "defaults": defaults, "phases": [
        {"name": "generate", "topology": {"pattern": "signal_generation"},
         "strategies": base["strategies"]},
        {"name": "replay", "depends_on": ["generate"], "topology": {"pattern": "signal_replay"},
         "signals": {"store": str(tmp_path / "store"), "select": "all"},
         "risk": {"stop_loss": [0.01, 0.02]}},
    ]}
    validate(workflow)  # before the store exists: the generation phase's points are checked
    full = admf.run_sync({**base, "risk": {"stop_loss": [0.01, 0.02]}}, write=False).raw
    result = admf.run_sync(workflow, write=False)
    table = result.phases["replay"].outputs["table"]
    assert len(table) == 6
    def rows(rows: list[dict[str, Any]]) -> list[tuple]:
        return sorted((r["final_equity"], r["sharpe_ratio"], r["trade_count"]) for r in rows)

    assert rows(table) == rows(full.table)


@pytest.mark.parametrize(("change", "message"), [
    ({"strategies": [{"type": "sma_crossover"}]}, "give strategies or signals.select, not both"),
    ({"topology": {"pattern": "backtest"}}, "needs topology.pattern: signal_replay"),
    ({"signals": {"select": "some"}}, "expected 'all' or a mapping"),
    ({"signals": {"select": {"strategy": "x", "fast": 3}}}, r"signals\.select\.fast: unknown key"),
    ({"signals": {"select": {"direction": "sideways"}}}, "expected long_only, short_only"),
])
def test_bad_selections_name_the_key(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    config = {**_replay(tmp_path / "s", "all"), **change}
    if "signals" in change:
        config["signals"] = {"store": str(tmp_path / "s"), **change["signals"]}
    with pytest.raises(ConfigError, match=message):
        admf.run_sync(config, write=False)


def test_an_empty_selection_says_what_the_store_holds(tmp_path: Path) -> None:
    store = tmp_path / "signals"
    with pytest.raises(ConfigError, match="holds no signals; run a study with topology.pattern"):
        admf.run_sync(_replay(store, "all"), write=False)
    _generate(store)
    with pytest.raises(ConfigError, match=r"no stored point matches .*stored for this data: "
                                          r"rsi_reversion .*sma_crossover"):
        admf.run_sync(_replay(store, {"params": {"fast": 5}}), write=False)
    other = _replay(store, "all")
    other["data"] = {**other["data"], "volatility": 0.03}
    with pytest.raises(ConfigError, match="holds no signals for this data .*the data changed"):
        validate(other)


def test_the_cli_replays_a_selection_of_a_yaml_study(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from admf.cli import main

    store = tmp_path / "signals"
    _generate(store)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(_study(store)))
    replay = ["--set", "topology.pattern=signal_replay", "--set", "strategies=[]"]
    assert main(["run", str(path), *replay, "--set", "signals.select=all", "--no-write"]) == 0
    assert "3 portfolios" in capsys.readouterr().out
    assert main(["run", str(path), *replay, "--set", "signals.select={params: {fast: 7}}"]) == 2
    assert f"{path}: signals.select: signal store" in capsys.readouterr().err
