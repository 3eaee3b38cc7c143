"""Limits before memory (issue 15, deliverable 6): a kilobyte alias bomb, YAML
nested 20,000 deep and a recursive anchor fail with exit 2 at once, naming
the file; a grid's size is a product of counts, capped by
``limits.max_grid_points`` before anything is expanded; ``validate`` checks a
million-point grid without making it."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

from admf.errors import ConfigError
from admf.research.config import load_config
from admf.research.config.grid import grid_size, range_count, range_ends
from admf.research.sampling import sample_points
from admf.runtime.yaml_limits import MAX_DEPTH, safe_load
from tests.reliability._support import cli, manifests


def bomb() -> str:
    """The "billion laughs": 9 levels of 9 aliases, 9**9 (387 million) strings."""
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text + "data: *i\nstrategies: []\n"


HOSTILE = {
    "bomb": (bomb(), "expands to more than"),
    "deep_flow": ("data: " + "[" * 20_000 + "]" * 20_000 + "\n", "nested more than"),
    "deep_mapping": ("data: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n", "nested more than"),
    "recursive": ("data: &a [1, *a]\nstrategies: []\n", "recursive anchor"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_hostile_yaml_fails_fast_naming_the_file(tmp_path: Path, name: str, command: str) -> None:
    text, problem = HOSTILE[name]
    assert len(bomb()) < 1024
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    started = time.perf_counter()
    status, err = cli(command, path)
    seconds = time.perf_counter() - started
    assert status == 2, err
    assert str(path) in err and problem in err, err
    assert "Traceback" not in err and "RecursionError" not in err
    assert seconds < 0.5, seconds  # "within a second", with margin
    assert not manifests(tmp_path)


def test_a_set_value_is_bounded_too(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump({"data": {"source": "synthetic"},
                                    "strategies": [{"type": "sma_crossover"}]}))
    status, err = cli("validate", path, "--set", "risk.stop_loss=" + "[" * 500 + "]" * 500)
    assert status == 2 and "nested more than" in err, err


def test_reasonable_yaml_is_untouched() -> None:
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert safe_load(nested, "x") is not None
    shared = "base: &b {fast: 5, slow: 20}\nother: *b\nthird: *b\n"
    assert safe_load(shared, "x")["third"] == {"fast": 5, "slow": 20}


def study(tmp_path: Path, params: dict[str, Any], **sections: Any) -> dict[str, Any]:
    return {"name": "grid", "data": {"source": "synthetic", "symbols": ["A"], "timeframe": "1h",
                                     "bars": 300},
            "strategies": [{"type": "sma_crossover", "params": params}],
            "sequence": {"type": "parameter_sweep"},
            "results": {"dir": str(tmp_path / "results")}, **sections}


TEN_MILLION = {"fast": {"range": [1, 3163, 1]}, "slow": {"range": [2, 3164, 1]}}  # 3,163**2
HALF_MILLION = {"fast": {"range": [1, 500, 1]}, "slow": {"range": [2, 1001, 1]}}  # x 2 stops


def test_counts_are_computed_without_expanding() -> None:
    assert range_count(1, 3163, 1) == 3163 and range_count(0.1, 0.3, 0.1) == 3
    assert range_ends(0.1, 0.3, 0.1) == [0.1, 0.3] and range_ends(5, 52, 5) == [5, 50]
    assert grid_size(TEN_MILLION) == 3163 * 3163
    assert grid_size({"a": [1, 2, 3], "b": 4, "c": {"range": [0, 9, 1]}}) == 30


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_ten_million_point_grid_is_refused_with_its_sizes(tmp_path: Path, command: str) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(study(tmp_path, TEN_MILLION)))
    tracemalloc.start()
    try:
        status, err = cli(command, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 2, err
    assert str(path) in err and "strategies[0].params" in err
    assert "10,004,569 portfolios" in err and "fast 3,163 x slow 3,163" in err
    assert "limits.max_grid_points = 1,000,000" in err
    assert peak < 20e6, peak  # counted, not made (10M dicts would be gigabytes)
    assert not (tmp_path / "results").exists()


def test_the_cap_counts_risk_grids_and_is_configurable(tmp_path: Path) -> None:
    config = study(tmp_path, {"fast": [5, 10], "slow": [30, 40]},
                   risk={"stop_loss": [0.01, 0.02, 0.03]}, limits={"max_grid_points": 10})
    with pytest.raises(ConfigError, match=r"12 portfolios: strategies\[0\]\.params "
                                          r"\(fast 2 x slow 2\) = 4 x risk/sizing/execution "
                                          r"\(risk\.stop_loss 3\) = 3.*max_grid_points = 10"):
        load_config(config)
    config["limits"] = {"max_grid_points": 12}
    assert load_config(config).limits.max_grid_points == 12
    with pytest.raises(ConfigError, match="limits.max_grid_points: expected an integer >= 1"):
        load_config({**config, "limits": {"max_grid_points": 0}})


def test_the_limit_is_not_part_of_the_fingerprint(tmp_path: Path) -> None:
    config = study(tmp_path, {"fast": [5, 10], "slow": 30})
    raised = {**config, "limits": {"max_grid_points": 5_000_000}}
    assert load_config(config).fingerprint == load_config(raised).fingerprint


def test_validate_checks_a_million_point_grid_without_making_it(tmp_path: Path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(study(tmp_path, HALF_MILLION,
                                         risk={"stop_loss": [0.01, 0.02]})))
    cli("validate", path)  # imports warmed up
    tracemalloc.start()
    started = time.perf_counter()
    try:
        status, err = cli("validate", path)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert status == 0, err
    assert peak < 20e6, peak  # a million points as dicts alone would be ~400 MB
    assert seconds < 2.0, seconds  # ~0.1 s measured; margin for a loaded machine


def test_the_lazy_check_finds_the_first_valid_point_and_every_invalid_grid(
        tmp_path: Path) -> None:
    config = load_config(study(tmp_path, HALF_MILLION, risk={"stop_loss": [0.01, 0.02]}))
    (point,) = sample_points(config)
    assert point.params == {"fast": 1, "slow": 2} and point.portfolio == {"risk.stop_loss": 0.01}
    hopeless = load_config(study(tmp_path, {"fast": {"range": [50, 99, 1]},
                                            "slow": {"range": [10, 49, 1]}}))
    with pytest.raises(ConfigError, match="every point of the grid is invalid"):
        sample_points(hopeless, exact_up_to=10)
    # a small grid is still checked point by point, as a run expands it
    small = load_config(study(tmp_path, {"fast": [5, 10], "slow": [30, 40]}))
    assert len(sample_points(small)) == 4
