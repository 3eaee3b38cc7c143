"""Sequence types added by plugins (issue 13, item 10): a ``WindowScheme``
cuts the timeline into windows, admf runs them as it runs a walk-forward or
a k-fold, and checks every window before any run.

The references are independent of the scheme code: the windows are cut by
hand (the same bars a built-in walk_forward / k_fold cuts, written out as
numbers), so the plugin sequence must give exactly the built-in's
results, and the stitched out-of-sample return must compound the windows'
test returns (hand arithmetic).
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import admf
from admf.cli import main
from admf.errors import ConfigError
from admf.research.config import load_config
from admf.research.sequences import WindowScheme
from admf.research.validate import validate

from tests.integration._support import sequence_study

HERE = "tests.integration.test_plugin_sequences"


class Listed(WindowScheme):
    """Windows given as numbers: ``spans`` is ``[[train, test], ...]``, each
    ``[first, last]`` (a train may be a list of such pairs)."""

    def __init__(self, spans: list[Any]) -> None:
        self.spans = spans

    def windows(self, timeline: np.ndarray) -> list[Any]:
        return list(self.spans)


class ListedFolds(Listed):
    """The same, read like a k-fold (trains on both sides of the test)."""

    shape = "k_fold"


class Broken(WindowScheme):
    def windows(self, timeline: np.ndarray) -> list[Any]:
        raise ValueError("no calendar for these bars")


class NotAScheme:
    def windows(self, timeline: np.ndarray) -> list[Any]:
        raise AssertionError("never called")


# 2400 bars; a walk_forward with train 900, test 500 cuts (by hand):
WALK = [[[0, 899], [900, 1399]], [[500, 1399], [1400, 1899]], [[1000, 1899], [1900, 2399]]]
# a 4-fold k-fold of 2400 bars: folds of 600, each trained on the others:
FOLDS = [[[[600, 2399]], [0, 599]], [[[0, 599], [1200, 2399]], [600, 1199]],
         [[[0, 1199], [1800, 2399]], [1200, 1799]], [[[0, 1799]], [1800, 2399]]]


def study(tmp_path: Path, sequence: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return sequence_study(tmp_path, sequence, name="plugged", seed=5, params={"fast": [5, 10], "slow": [30, 60]}, **extra)


def plugin(spans: list[Any], cls: str = "Listed", **keys: Any) -> dict[str, Any]:
    return {"type": f"{HERE}:{cls}", "params": {"spans": spans}, **keys}


def same_numbers(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], float) and math.isnan(a[key]):
            assert isinstance(b[key], float) and math.isnan(b[key]), key
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize("warmup", ["auto", 0])
def test_a_walk_forward_shaped_plugin_runs_exactly_as_the_builtin_on_the_same_windows(
        tmp_path: Path, warmup: Any) -> None:
    builtin = admf.run_sync(study(tmp_path, {"type": "walk_forward", "train": 900, "test": 500,
                                             "warmup": warmup}), write=False)
    plugged = admf.run_sync(study(tmp_path, plugin(WALK, warmup=warmup)), write=False)
    assert plugged.raw.type == f"{HERE}:Listed" and plugged.raw.kind == "walk_forward"
    assert len(plugged.raw.table) == 3
    for mine, theirs in zip(plugged.raw.table, builtin.raw.table):
        assert mine["train"] == theirs["train"] and mine["test"] == theirs["test"]
        assert mine["params"] == theirs["params"]
        same_numbers(mine["test_metrics"], theirs["test_metrics"])
    same_numbers(plugged.raw.metrics, builtin.raw.metrics)
    # the stitched curve compounds the windows' test returns (hand arithmetic)
    compounded = math.prod(1 + r["test_metrics"]["total_return"] for r in plugged.raw.table) - 1
    assert plugged.raw.metrics["total_return"] == pytest.approx(compounded, rel=1e-12)
    assert plugged.raw.metrics["trade_count"] == sum(r["test_metrics"]["trade_count"]
                                                     for r in plugged.raw.table)


def test_a_k_fold_shaped_plugin_means_its_test_windows_as_the_builtin_does(tmp_path: Path) -> None:
    builtin = admf.run_sync(study(tmp_path, {"type": "k_fold", "folds": 4, "warmup": 0}),
                            write=False)
    plugged = admf.run_sync(study(tmp_path, plugin(FOLDS, "ListedFolds", warmup=0)), write=False)
    assert plugged.raw.kind == "k_fold" and len(plugged.raw.table) == 4
    for mine, theirs in zip(plugged.raw.table, builtin.raw.table):
        assert mine["train"] == theirs["train"] and mine["params"] == theirs["params"]
        same_numbers(mine["test_metrics"], theirs["test_metrics"])
    sharpes = [r["test_metrics"]["sharpe_ratio"] for r in plugged.raw.table]
    assert plugged.raw.metrics["sharpe_ratio"] == pytest.approx(sum(sharpes) / 4, rel=1e-12)


def test_results_on_disk_name_the_plugin_and_read_like_its_shape(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]
                                                                 ) -> None:
    result = admf.run_sync(study(tmp_path, plugin(WALK)))
    summary = json.loads((Path(result.path) / "main" / "summary.json").read_text())
    assert summary["type"] == f"{HERE}:Listed" and summary["shape"] == "walk_forward"
    assert len(result.windows) == 3  # read back like a walk-forward: windows, stitched equity
    stamps = result.equity["timestamp"]
    assert len(stamps) == 1500 and list(stamps) == sorted(stamps)
    report = result.report()
    assert f"main: {HERE}:Listed (walk-forward)" in report.read_text()
    assert main(["runs", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    assert "out of sample" in out and f"{HERE}:Listed" in out


def test_a_plugin_sequence_takes_the_inner_k_fold_selection(tmp_path: Path) -> None:
    select = {"type": "k_fold", "folds": 3}
    builtin = admf.run_sync(study(tmp_path, {"type": "walk_forward", "train": 900, "test": 500,
                                             "select": select}), write=False)
    plugged = admf.run_sync(study(tmp_path, plugin(WALK, select=select)), write=False)
    for mine, theirs in zip(plugged.raw.table, builtin.raw.table):
        assert mine["folds"] == theirs["folds"] and mine["params"] == theirs["params"]
    same_numbers(plugged.raw.metrics, builtin.raw.metrics)


def test_monte_carlo_resamples_a_walk_forward_shaped_plugin(tmp_path: Path) -> None:
    over = {"type": "monte_carlo", "runs": 20, "method": "bootstrap_returns"}
    builtin = admf.run_sync(study(tmp_path, {**over, "over": {"type": "walk_forward",
                                                              "train": 900, "test": 500}}),
                            write=False)
    plugged = admf.run_sync(study(tmp_path, {**over, "over": plugin(WALK)}), write=False)
    assert plugged.raw.aggregate["over"] == f"{HERE}:Listed"
    assert plugged.raw.metrics == builtin.raw.metrics  # same curve, same seed, same draws
    with pytest.raises(ConfigError, match=r"sequence\.over\.type: plugin sequence .* has shape "
                                          r"'k_fold'"):
        load_config(study(tmp_path, {**over, "over": plugin(FOLDS, "ListedFolds")}))


@pytest.mark.parametrize(("spans", "cls", "message"), [
    ([[[0, 999], [500, 600]]], "Listed", r"window 0 trains on bars 0\.\.999, inside its test"),
    ([[[1200, 1500], [1000, 1100]]], "Listed", r"window 0 trains on bars up to 1500, after its "
                                               r"test starts \(bar 1000\)"),
    ([[[0, 999], [1000, 3000]]], "Listed", r"window 0: test bars \[1000, 3000\] are not inside "
                                           r"the timeline \(0\.\.2399"),
    ([[[0, 999], [1200, 1300]], [[0, 999], [1000, 1100]]], "Listed",
     r"window 1's test \(bars 1000\.\.1100\) does not start after window 0's"),
    ([[[0, 99.5], [200, 300]]], "Listed", r"window 0: train bars \[0, 99\.5\] are not inside"),
    ([[[0, 99]]], "Listed", r"window 0: expected a \(train, test\) pair"),
    ([], "Listed", r"windows\(\) gave no window for 2400 bars"),
    ([[[[0, 599], [1200, 2399]], [500, 700]]], "ListedFolds", r"window 0 trains on bars 0\.\.599, "
                                                              r"inside its test bars 500\.\.700"),
])
def test_windows_that_could_read_the_future_or_miss_the_data_are_refused_before_any_run(
        tmp_path: Path, spans: list[Any], cls: str, message: str) -> None:
    config = study(tmp_path, plugin(spans, cls))
    path = tmp_path / "study.yaml"
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError, match=rf"study\.yaml: sequence\.type '{HERE}:{cls}': {message}"):
        validate(str(path))
    with pytest.raises(ConfigError, match=message):
        admf.run_sync(config)
    assert not (tmp_path / "results").exists()  # nothing half-written


def test_a_k_fold_shaped_plugin_may_train_on_both_sides(tmp_path: Path) -> None:
    validate(load_config(study(tmp_path, plugin(FOLDS, "ListedFolds"))))


@pytest.mark.parametrize(("sequence", "message"), [
    ({"type": f"{HERE}:Listed", "params": {"spans": WALK, "spam": 1}},
     r"sequence\.params\.spam: sequence '.*:Listed' has no parameter 'spam'.*\(parameters: spans\)"),
    ({"type": f"{HERE}:Listed"}, r"sequence\.params: .*:Listed: .*missing 1 required .*'spans'"),
    ({"type": f"{HERE}:Listed", "params": [1]}, r"sequence\.params: expected a mapping"),
    ({"type": f"{HERE}:Listed", "params": {"spans": WALK}, "split": 0.5},
     r"sequence\.split: not used by sequence type '.*:Listed' \(its keys: params, warmup, "
     r"select\)"),
    ({"type": "walk_forward", "train": 900, "test": 500, "params": {"a": 1}},
     r"sequence\.params: not used by sequence type 'walk_forward'.* params belongs to plugin "
     r"sequences"),
    ({"type": "walk_froward"}, r"sequence\.type: expected one of single_pass, .*; got "
                               r"'walk_froward'; did you mean 'walk_forward'\?"),
    ({"type": f"{HERE}:NotAScheme"}, r"sequence\.type: '.*:NotAScheme' is a class .*, not a "
                                     r"sequence: .* must be a subclass of .*WindowScheme"),
    ({"type": "os:system"}, r"sequence\.type: 'os:system' is a builtin_function_or_method, not "
                            r"a sequence"),
])
def test_bad_plugin_sequences_are_config_errors_naming_the_key(
        tmp_path: Path, sequence: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(study(tmp_path, sequence))


def test_a_scheme_that_raises_is_named_with_its_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sequence\.type '.*:Broken': windows\(\) raised "
                                          r"ValueError: no calendar for these bars"):
        validate(load_config(study(tmp_path, {"type": f"{HERE}:Broken"})))


def test_an_entry_point_plugin_adds_a_named_sequence_listed_with_its_params(
        tmp_path: Path, plugin_site: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, module = plugin_site
    path.write_text(textwrap.dedent('''
        from admf.research.sequences import WindowScheme
        from admf.runtime.registry import register


        @register("sequence", "last_thirds")
        class LastThirds(WindowScheme):
            """Expanding train; test on each third of the last half."""

            def __init__(self, pieces: int = 3) -> None:
                self.pieces = pieces

            def windows(self, timeline):
                n = len(timeline)
                size = (n // 2) // self.pieces
                for i in range(self.pieces):
                    start = n - (self.pieces - i) * size
                    yield (0, start - 1), (start, start + size - 1)
    '''))
    assert main(["list", "sequences"]) == 0
    out = capsys.readouterr().out
    assert "last_thirds  Expanding train; test on each third of the last half." in out
    assert f"reads like: walk_forward; from {module}:LastThirds (plugin entry point 'acme'" in out
    assert "params.pieces: int = 3" in out
    result = admf.run_sync(study(tmp_path, {"type": "last_thirds", "params": {"pieces": 4}}),
                           write=False)
    tests = [r["test"] for r in result.raw.table]
    expected = [[1200 + 300 * i, 1200 + 300 * i + 299] for i in range(4)]  # by hand: 2400 bars
    line = load_config(study(tmp_path, {"type": "last_thirds"}))
    from admf.data.timeparse import format_ns
    from admf.research.tasks import timeline

    bars = timeline(line)
    assert tests == [[format_ns(int(bars[a])), format_ns(int(bars[b]))] for a, b in expected]
    with pytest.raises(ConfigError, match=r"did you mean 'last_thirds'\?"):
        load_config(study(tmp_path, {"type": "last_third"}))
