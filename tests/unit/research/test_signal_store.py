"""The signal store, signal_generation and signal_replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import admf
from admf.components import strategies
from admf.errors import ConfigError, DataError
from admf.research.config import load_config
from admf.research.signals import SignalStore, generate_signals
from admf.research.signals.replay import replay_signals
from admf.research.signals.store import dense, sparse
from admf.research.study import run_points, strategy_points


def _config(**sections: Any) -> Any:
    base: dict[str, Any] = {
        "name": "sig", "seed": 5,
        "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "bars": 2500,
                 "batch_rows": 600},
        "strategies": [{"type": "sma_crossover", "params": {"fast": [4, 9], "slow": 25}},
                       {"type": "rsi_reversion", "direction": "long_short"}],
        "risk": {"stop_loss": [0.01, None], "take_profit": 0.03},
        "results": {"storage": "memory"},
    }
    base.update(sections)
    return load_config(base)


def test_sparse_rows_forward_fill_back_to_the_dense_targets() -> None:
    rng = np.random.default_rng(1)
    target = rng.choice([np.nan, -1.0, 0.0, 1.0], size=500, p=[0.1, 0.1, 0.7, 0.1])
    target = np.repeat(target[:50], 10)  # runs of equal values
    times = np.arange(500, dtype=np.int64) * 60
    ts, tg = sparse(times, target)
    assert len(tg) < 60
    back = dense(times, ts, tg)
    assert np.array_equal(back, target, equal_nan=True)
    # an independent count of changes
    changes = 1 + sum(1 for a, b in zip(target[:-1], target[1:])
                      if not (a == b or (np.isnan(a) and np.isnan(b))))
    assert len(tg) == changes


def test_generation_stores_once_and_reuses_keys(tmp_path: Path) -> None:
    config = _config()
    store = SignalStore(tmp_path / "signals")
    first = generate_signals(config, store)
    assert len(first.computed) == 3 and first.reused == []
    again = generate_signals(config, SignalStore(tmp_path / "signals"))
    assert again.computed == [] and sorted(again.reused) == sorted(first.computed)
    assert again.keys == first.keys
    index = pq.read_table(tmp_path / "signals" / "index.parquet").to_pylist()
    assert {r["key"] for r in index} == set(first.keys.values())
    assert all(r["data_digest"] == first.data_digest for r in index)
    assert all(r["bars"] == 2500 for r in index)
    # another seed is other data: new keys
    other = generate_signals(_config(seed=6), store)
    assert set(other.keys.values()).isdisjoint(first.keys.values())


def test_replay_runs_no_strategy_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config()
    store = SignalStore(tmp_path)
    generate_signals(config, store)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("strategy code ran during replay")

    monkeypatch.setattr(strategies.SmaCrossover, "targets", forbidden)
    monkeypatch.setattr(strategies.SmaCrossover, "indicators", forbidden)
    monkeypatch.setattr(strategies.RsiReversion, "targets", forbidden)
    result = replay_signals(config, store)
    assert len(result.portfolios) == 3 * 2


def _assert_same(replayed: dict[str, Any], full: dict[str, Any]) -> None:
    assert replayed.keys() == full.keys()
    for pid, ref in full.items():
        got = replayed[pid]
        assert got.final_equity == ref.final_equity, pid
        for name in ref.trades:
            assert got.trades[name].tobytes() == ref.trades[name].tobytes(), (pid, name)
        for name in ref.equity:
            assert got.equity[name].tobytes() == ref.equity[name].tobytes(), (pid, name)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 50), batch=st.sampled_from([97, 600, 4096]),
       cut=st.tuples(st.floats(0, 0.5), st.floats(0.55, 1.0)),
       fill=st.sampled_from(["next_open", "next_close"]))
def test_replay_is_byte_identical_to_the_backtest(tmp_path_factory: Any, seed: int, batch: int,
                                                  cut: tuple[float, float], fill: str) -> None:
    """Over a window as any sequence cuts them (train, test, fold, walk-forward step)."""
    config = _config(seed=seed, execution={"fill": fill},
                     data={"source": "synthetic", "symbols": ["AAA", "BBB"], "bars": 2500,
                           "batch_rows": batch})
    origin = np.datetime64("2020-01-01", "ns").astype(np.int64)
    step = 60 * 10**9
    window = (int(origin + int(cut[0] * 2500) * step), int(origin + int(cut[1] * 2500) * step))
    store = SignalStore(tmp_path_factory.mktemp("store"))
    generate_signals(config, store, window=window)
    replayed = replay_signals(config, store, window=window).portfolios

    async def full() -> Any:
        return await run_points(config, strategy_points(config), None, window=window)

    results, _ = anyio.run(full)
    _assert_same(replayed, results)
    # the whole data, against the public API
    generate_signals(config, store)
    whole = admf.run_sync(config, write=False)
    _assert_same(replay_signals(config, store).portfolios, whole.portfolios)


def test_missing_key_names_key_and_digest(tmp_path: Path) -> None:
    store = SignalStore(tmp_path)
    generate_signals(_config(), store)
    with pytest.raises(ConfigError, match=r"no stored signals under key '[0-9a-f]+'.*digest"):
        replay_signals(_config(strategies=[{"type": "sma_crossover",
                                            "params": {"fast": 3, "slow": 40}}]), store)


def test_digest_mismatch_names_key_and_both_digests(tmp_path: Path) -> None:
    config = _config()
    store = SignalStore(tmp_path)
    made = generate_signals(config, store)
    # tamper: record the rows as if stored for other data
    key = next(iter(made.keys.values()))
    store.index()[key]["data_digest"] = "0" * 64
    with pytest.raises(ConfigError) as info:
        replay_signals(config, store)
    text = str(info.value)
    assert key in text and "0" * 64 in text and made.data_digest in text


def test_corrupted_file_names_the_file(tmp_path: Path) -> None:
    config = _config()
    store = SignalStore(tmp_path)
    made = generate_signals(config, store)
    key = next(iter(made.keys.values()))
    path = tmp_path / f"{key}.parquet"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataError, match=str(path)):
        replay_signals(config, SignalStore(tmp_path))
    (tmp_path / "index.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="index.parquet"):
        replay_signals(config, SignalStore(tmp_path))


def test_state_dependent_strategy_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config()
    store = SignalStore(tmp_path)
    generate_signals(config, store)
    monkeypatch.setattr(strategies.RsiReversion, "state_dependent", True, raising=False)
    with pytest.raises(ConfigError, match=r"strategies\[1\]\.type: 'rsi_reversion' depends on "
                                          r"portfolio state"):
        replay_signals(config, store)


def test_the_code_version_follows_the_strategy_file_not_the_ast(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # editing the file that defines a strategy changes its code version (stale
    # signals are never reused); the version is read without parsing the module,
    # so a process whose ast module has failed once (CPython gh-106905) still keys signals
    import importlib
    import inspect as inspect_module

    from admf.research.signals.store import strategy_code_version

    module = tmp_path / "edited_strategy.py"
    module.write_text("class Edited:\n    period = 5\n\nclass Other:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    edited = importlib.import_module("edited_strategy")
    first = strategy_code_version(edited.Edited)
    assert first == strategy_code_version(edited.Edited)
    assert first != strategy_code_version(edited.Other)  # same file, another class

    def broken(*_: Any, **__: Any) -> Any:
        raise SystemError("AST constructor recursion depth mismatch (before=90, after=85)")

    monkeypatch.setattr(inspect_module, "getsource", broken)
    assert strategy_code_version(edited.Edited) == first
    module.write_text("class Edited:\n    period = 6\n\nclass Other:\n    pass\n")
    assert strategy_code_version(edited.Edited) != first


def test_data_changed_since_generation_names_both_digests(tmp_path: Path) -> None:
    """Not a tampered index: the same study over other data (another
    volatility) finds the points stored under other keys, and says so."""
    store = SignalStore(tmp_path)
    made = generate_signals(_config(), store)
    changed = _config(data={"source": "synthetic", "symbols": ["AAA", "BBB"], "bars": 2500,
                            "batch_rows": 600, "volatility": 0.02})
    from admf.research.results.runs import data_digest
    from admf.research.sequences.plan import run_plan
    from admf.research.signals.replay import check_stored

    with pytest.raises(ConfigError) as info:
        check_stored(changed, run_plan(changed), SignalStore(tmp_path))
    text = str(info.value)
    assert made.data_digest in text and data_digest(changed) in text
    assert "the data changed since they were generated" in text


def test_a_corrupted_signal_file_fails_before_the_results_directory(tmp_path: Path) -> None:
    config = _config()
    store = SignalStore(tmp_path / "store")
    made = generate_signals(config, store)
    path = tmp_path / "store" / f"{next(iter(made.keys.values()))}.parquet"
    path.write_bytes(path.read_bytes()[:100])
    study = {"name": "sig", "seed": 5,
             "data": {"source": "synthetic", "symbols": ["AAA", "BBB"], "bars": 2500,
                      "batch_rows": 600},
             "strategies": [{"type": "sma_crossover", "params": {"fast": [4, 9], "slow": 25}},
                            {"type": "rsi_reversion", "direction": "long_short"}],
             "risk": {"stop_loss": [0.01, None], "take_profit": 0.03},
             "topology": {"pattern": "signal_replay"}, "signals": {"store": str(tmp_path / "store")},
             "results": {"dir": str(tmp_path / "results")}}
    with pytest.raises(DataError, match=str(path)):
        admf.run_sync(study)
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
