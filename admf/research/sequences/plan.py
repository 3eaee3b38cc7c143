"""What a sequence's runs read: its points and windows, known before any run.

The sequence runner (:mod:`.run`) cuts its train and test windows here, and
signal generation walks the same plan, so that a ``signal_replay`` study of
any sequence finds each run's stored signals under the window it reads:
every train span, and every test span from its first warm-up bar on. Test
windows are planned for every point, since which point a window chooses
depends on the portfolio settings a replay may change.
"""

from __future__ import annotations

import random
from typing import Any

import msgspec
import numpy as np

from ...errors import ConfigError
from ..config import StudyConfig
from ..points import StrategyPoint, strategy_factory, strategy_points, warmup_bars
from ..tasks import timeline
from .scheme import scheme_windows
from .windows import (Span, Window, cpcv_splits, inner_folds, k_fold_windows, split_train_test,
                      walk_forward_windows)

__all__ = ("sequence_points", "sequence_windows", "span_of", "test_span", "scored_spans",
           "run_plan", "noisy_points")

Plan = list[tuple[list[StrategyPoint], "tuple[int, int] | None"]]


def sequence_points(config: StudyConfig) -> list[StrategyPoint]:
    """The points a sequence runs: the grid, or a seeded sample of it for a
    random sweep (points the strategy rejects are reported by the sweep)."""
    points = strategy_points(config)
    seq = config.sequence
    if seq.type == "parameter_sweep" and seq.mode == "random":
        rng = random.Random(config.seed)
        count = min(seq.samples or len(points), len(points))
        chosen = sorted(rng.sample(range(len(points)), count))
        points = [points[i] for i in chosen]
    return points


def sequence_windows(config: StudyConfig, line: np.ndarray) -> list[Window]:
    """The train/test windows of a train_test, walk_forward, k_fold, cpcv or
    plugin sequence (cpcv: one window per test group of each split; a plugin:
    its scheme's windows, checked)."""
    seq = config.sequence
    if seq.type == "train_test":
        return [split_train_test(line, seq.split, int(seq.purge or 0), tz=config.data.tz)]
    if seq.type == "walk_forward":
        return walk_forward_windows(line, train=seq.train, test=seq.test, step=seq.step,
                                    anchored=bool(seq.anchored), purge=int(seq.purge or 0))
    if seq.type == "k_fold":
        return k_fold_windows(line, int(seq.folds), int(seq.purge or 0))
    if seq.type == "cpcv":
        _, splits = cpcv_splits(line, int(seq.groups), int(seq.test_groups), int(seq.purge or 0),
                                int(seq.embargo or 0))
        return [w for split in splits for w in split.windows]
    if seq.plugin:
        return scheme_windows(seq.type, seq.params, line)
    raise ValueError(f"sequence {seq.type!r} has no train/test windows")


def span_of(line: np.ndarray, span: Span) -> tuple[int, int]:
    """A span's first and last bar time."""
    return int(line[span.first]), int(line[span.last])


def test_span(line: np.ndarray, window: Window, warm: int) -> tuple[tuple[int, int], int | None]:
    """A test window's span and the bar time its indicators warm up from
    (None when there are no earlier bars to warm up on)."""
    first = max(0, window.test.first - warm)
    return span_of(line, window.test), int(line[first]) if first < window.test.first else None


def scored_spans(config: StudyConfig, line: np.ndarray, window: Window, warm: int
                 ) -> list[tuple[Span, int | None]]:
    """The spans a window's points are scored on before its winner is chosen,
    each with the bar time its indicators warm up from: the train span(s)
    themselves (no warm-up: a train span warms up inside itself), or with
    ``sequence.select`` the k folds of each train span, warmed up on the
    ``warm`` bars before each fold (earlier bars only, never the test window's)."""
    select = config.sequence.selection()
    if select is None:
        return [(span, None) for span in window.train]
    spans: list[tuple[Span, int | None]] = []
    for train in window.train:
        for fold in inner_folds(train, select.folds, window.index):
            first = max(0, fold.first - warm)
            spans.append((fold, int(line[first]) if first < fold.first else None))
    return spans


def run_plan(config: StudyConfig, points: list[StrategyPoint] | None = None) -> Plan:
    """(points, read window) for every run the sequence makes; None is the whole data."""
    points = sequence_points(config) if points is None else points
    seq = config.sequence
    if seq.type in ("single_pass", "parameter_sweep"):
        return [(points, None)]
    if seq.type == "monte_carlo":
        if seq.method == "parameter_noise":
            return [(noisy_points(points, int(seq.runs or 100), float(seq.noise or 0.1),
                                  config.seed), None)]
        return [(points, None)]
    line = timeline(config)
    warm = warmup_bars(config, points)
    reads: dict[tuple[int, int], None] = {}
    for w in sequence_windows(config, line):
        for span, warm_from in scored_spans(config, line, w, warm):
            first, last = span_of(line, span)
            reads[(warm_from if warm_from is not None else first, last)] = None
        (first, last), warm_from = test_span(line, w, warm)
        reads[(warm_from if warm_from is not None else first, last)] = None
    return [(points, read) for read in reads]


def noisy_points(points: list[StrategyPoint], runs: int, noise: float, seed: int
                 ) -> list[StrategyPoint]:
    """``runs`` draws of each point with every numeric parameter scaled by
    ``1 + N(0, noise)`` (ints rounded, kept >= 1); draws the strategy rejects
    (say fast >= slow) are redrawn, up to 100 tries."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x6e6f697365]))
    draws = []
    for point in points:
        for i in range(runs):
            for _ in range(100):
                params = {k: _perturb(v, noise, rng) for k, v in point.params.items()}
                candidate = msgspec.structs.replace(point, id=f"{point.id}#draw{i}", params=params)
                try:
                    strategy_factory(candidate)
                except ConfigError:
                    continue
                draws.append(candidate)
                break
            else:
                raise ConfigError(f"monte_carlo: no valid parameter draw for {point.id} in 100 tries; "
                                  f"lower sequence.noise ({noise})")
    return draws


def _perturb(value: Any, noise: float, rng: np.random.Generator) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    scaled = value * (1 + rng.normal(0.0, noise))
    return max(1, int(round(scaled))) if isinstance(value, int) else float(scaled)
