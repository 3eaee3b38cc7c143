"""How a study is cut into runs: splits, walk-forward windows, folds, draws.

Pure functions of a bar timeline (the int64 ns timestamps of the study's
bars): every window is a pair of inclusive bar-index ranges, turned into
``data.start``/``data.end`` times so that each run *reads only its own bars*.
Selection by objective and Monte Carlo resampling of returns live here too;
nothing in this module knows what a bar or a strategy is.

Lengths (``train``, ``test``, ``step``, ``purge``) are bar counts (ints) or
durations ("90d", "12h"); a duration window covers the bars whose time falls
in ``[start, start + duration)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import numpy as np

from ...errors import ConfigError

__all__ = (
    "Span", "Window", "LOWER_IS_BETTER", "split_train_test", "walk_forward_windows",
    "k_fold_windows", "inner_folds", "CpcvSplit", "cpcv_splits", "cpcv_paths", "rank_points", "bootstrap_paths", "percentiles",
)

LOWER_IS_BETTER = frozenset({"max_drawdown", "max_drawdown_duration_bars",
                             "max_drawdown_duration_days", "volatility"})
"""Objectives that are minimised; every other metric is maximised."""


class Span(msgspec.Struct, frozen=True):
    """Bars ``first..last`` (inclusive indices) of the timeline."""

    first: int
    last: int

    @property
    def bars(self) -> int:
        return self.last - self.first + 1


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """One train/test pair. ``train`` may be several spans (k-fold trains on
    the folds before and after the test fold)."""

    index: int
    train: tuple[Span, ...]
    test: Span

    @property
    def key(self) -> str:
        return f"w{self.index:03d}"


def _length(value: int | str, timeline: np.ndarray, start: int, what: str) -> int:
    """Bars covered by ``value`` (a bar count or a duration) from bar ``start``."""
    if isinstance(value, int):
        if value <= 0:
            raise ConfigError(f"sequence.{what}: expected a positive number of bars, got {value}")
        return value
    from ...data.timeparse import parse_duration

    span = parse_duration(value)
    end = int(np.searchsorted(timeline, timeline[start] + span, side="left"))
    return end - start


def split_train_test(timeline: np.ndarray, split: float | str, purge: int = 0,
                     tz: str | None = None) -> Window:
    """Train on the bars before the split, test on the rest. ``split`` is the
    train fraction (0 < split < 1: the first ``round-down(n * split)`` bars,
    computed so that 0.57 of 100 bars is 57) or the first time of the test
    set (naive times in ``tz``). ``purge`` drops that many train bars before
    the test set."""
    n = len(timeline)
    if isinstance(split, str):
        from ...data.timeparse import parse_time

        cut = int(np.searchsorted(timeline, parse_time(split, tz=tz), side="left"))
    else:
        cut = int(math.floor(round(n * split, 9)))  # n * 0.57 is 56.99999999999999
    if cut < 1 or cut > n - 1:
        raise ConfigError(f"sequence.split {split!r} leaves no bars for "
                          f"{'train' if cut < 1 else 'test'} ({n} bars in the data)")
    if cut - purge < 1:
        raise ConfigError(f"sequence.purge {purge} leaves no training bars before the split")
    return Window(index=0, train=(Span(0, cut - 1 - purge),), test=Span(cut, n - 1))


def walk_forward_windows(timeline: np.ndarray, *, train: int | str, test: int | str,
                         step: int | str | None = None, anchored: bool = False,
                         purge: int = 0) -> list[Window]:
    """Rolling (or, ``anchored``, expanding) train windows each followed by a
    test window; the start moves by ``step`` (default: ``test``). A final
    test window shorter than ``test`` is dropped. ``purge`` drops that many
    bars at the end of each train window, before its test window."""
    n = len(timeline)
    if step is not None and _shorter(step, test):
        raise ConfigError(f"sequence.step {step!r} is shorter than sequence.test {test!r}: test "
                          "windows would overlap and the out-of-sample curve count bars twice")
    windows: list[Window] = []
    start = 0
    while True:
        train_bars = _length(train, timeline, start, "train")
        test_start = start + train_bars
        if test_start >= n:
            break
        test_bars = _length(test, timeline, test_start, "test")
        if test_start + test_bars > n or (isinstance(test, str) and _duration_cut(timeline, test_start, test)):
            break
        first = 0 if anchored else start
        if test_start - 1 - purge < first:
            raise ConfigError(f"sequence.purge {purge} leaves window {len(windows)} no training bars")
        windows.append(Window(index=len(windows), train=(Span(first, test_start - 1 - purge),),
                              test=Span(test_start, test_start + test_bars - 1)))
        start += _length(step if step is not None else test, timeline, start, "step")
    if not windows:
        raise ConfigError(f"sequence: train={train!r} and test={test!r} do not fit even one "
                          f"walk-forward window in {n} bars")
    return windows


def _shorter(a: int | str, b: int | str) -> bool:
    """Whether length ``a`` is shorter than ``b`` (both bars, or both durations)."""
    if isinstance(a, int) and isinstance(b, int):
        return a < b
    if isinstance(a, str) and isinstance(b, str):
        from ...data.timeparse import parse_duration

        return parse_duration(a) < parse_duration(b)
    return False  # mixed units are refused by the config


def _duration_cut(timeline: np.ndarray, start: int, duration: str) -> bool:
    """Whether a duration window starting at bar ``start`` runs past the data."""
    from ...data.timeparse import parse_duration

    return int(timeline[start]) + parse_duration(duration) > int(timeline[-1]) + _bar(timeline)


def _bar(timeline: np.ndarray) -> int:
    return int(np.median(np.diff(timeline[: 10_001]))) if len(timeline) > 1 else 0


def k_fold_windows(timeline: np.ndarray, folds: int, purge: int = 0) -> list[Window]:
    """``folds`` contiguous folds of (nearly) equal size; each is the test set
    once, trained on the others less ``purge`` bars on each side of the test
    fold (so no train bar sits right next to a test bar)."""
    n = len(timeline)
    if folds < 2 or folds > n:
        raise ConfigError(f"sequence.folds: expected 2..{n} folds for {n} bars, got {folds}")
    edges = [round(i * n / folds) for i in range(folds + 1)]
    windows = []
    for i in range(folds):
        lo, hi = edges[i], edges[i + 1] - 1
        before = Span(0, lo - 1 - purge) if lo - purge > 0 else None
        after = Span(hi + 1 + purge, n - 1) if hi + 1 + purge <= n - 1 else None
        train = tuple(s for s in (before, after) if s is not None and s.bars > 0)
        if not train:
            raise ConfigError(f"sequence.purge {purge} leaves fold {i} no training bars")
        windows.append(Window(index=i, train=train, test=Span(lo, hi)))
    return windows


def inner_folds(span: Span, folds: int, window: int) -> tuple[Span, ...]:
    """``span`` cut into ``folds`` contiguous folds of (nearly) equal size, the
    validation folds of an inner k-fold selection (``sequence.select``) of
    window ``window``."""
    if folds > span.bars:
        raise ConfigError(f"sequence.select.folds: {folds} folds do not fit window {window}'s "
                          f"train span of {span.bars} bars (at most {span.bars})")
    edges = [span.first + round(i * span.bars / folds) for i in range(folds + 1)]
    return tuple(Span(edges[i], edges[i + 1] - 1) for i in range(folds))


class CpcvSplit(msgspec.Struct, frozen=True, kw_only=True):
    """One split of combinatorial purged cross-validation: the ``test``
    groups (indices, ascending) and its windows, one per test group, which
    share the purged and embargoed train spans."""

    index: int
    test: tuple[int, ...]
    windows: tuple[Window, ...]


def cpcv_splits(timeline: np.ndarray, groups: int, test_groups: int, purge: int = 0,
                embargo: int = 0) -> tuple[list[Span], list[CpcvSplit]]:
    """Combinatorial purged cross-validation (López de Prado, *Advances in
    Financial Machine Learning*, 2018, ch. 12): the bars cut into ``groups``
    contiguous groups of (nearly) equal size; every one of the
    ``C(groups, test_groups)`` choices of test groups is a split, trained on
    the other groups less ``purge`` bars before and ``embargo`` bars after
    each test group (adjacent train groups joined into one span). Returns the
    groups' spans and the splits in lexicographic order of their test groups;
    window ``index`` is ``split * test_groups + position``."""
    from itertools import combinations

    n = len(timeline)
    if groups < 2 or groups > n:
        raise ConfigError(f"sequence.groups: expected 2..{n} groups for {n} bars, got {groups}")
    if not 1 <= test_groups < groups:
        raise ConfigError(f"sequence.test_groups: expected 1..{groups - 1} (fewer than the "
                          f"{groups} groups), got {test_groups}")
    edges = [round(i * n / groups) for i in range(groups + 1)]
    spans = [Span(edges[g], edges[g + 1] - 1) for g in range(groups)]
    splits = []
    for s, test in enumerate(combinations(range(groups), test_groups)):
        dropped = np.zeros(n, dtype=bool)
        for g in test:
            lo, hi = spans[g].first, spans[g].last
            dropped[max(0, lo - purge): min(n, hi + 1 + embargo)] = True
        keep = np.flatnonzero(~dropped)
        if not len(keep):
            raise ConfigError(f"sequence.purge/embargo ({purge}/{embargo} bars) leave split {s} "
                              f"(test groups {list(test)}) no training bars")
        breaks = np.flatnonzero(np.diff(keep) > 1)
        firsts = np.concatenate(([keep[0]], keep[breaks + 1]))
        lasts = np.concatenate((keep[breaks], [keep[-1]]))
        train = tuple(Span(int(a), int(b)) for a, b in zip(firsts, lasts))
        windows = tuple(Window(index=s * test_groups + j, train=train, test=spans[g])
                        for j, g in enumerate(test))
        splits.append(CpcvSplit(index=s, test=test, windows=windows))
    return spans, splits


def cpcv_paths(groups: int, splits: Sequence[CpcvSplit]) -> list[list[int]]:
    """The backtest paths: ``C(groups - 1, test_groups - 1)`` of them, path
    ``p`` taking, for every group in time order, the window of the ``p``-th
    split (in split order) that tests that group. Each entry is a window index."""
    tested: list[list[int]] = [[] for _ in range(groups)]
    for split in splits:
        for window, g in zip(split.windows, split.test):
            tested[g].append(window.index)
    count = len(tested[0])
    return [[tested[g][p] for g in range(groups)] for p in range(count)]


def rank_points(objectives: Mapping[str, float], objective: str) -> list[str]:
    """Point ids best first. NaN ranks last; ties keep the grid order."""
    sign = 1.0 if objective in LOWER_IS_BETTER else -1.0

    def key(item: tuple[int, tuple[str, float]]) -> tuple[int, float, int]:
        order, (_, value) = item
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        return (1 if missing else 0, 0.0 if missing else sign * value, order)

    return [pid for _, (pid, _) in sorted(enumerate(objectives.items()), key=key)]


def bootstrap_paths(returns: np.ndarray, runs: int, seed: int, *, block: int = 1) -> Any:
    """Yield ``runs`` resampled return paths (same length as ``returns``):
    blocks of ``block`` consecutive returns drawn with replacement, seeded.
    Draw ``i`` uses its own stream, so it is the same however many are drawn."""
    n = len(returns)
    if n == 0:
        raise ConfigError("monte_carlo: the run produced no returns to resample")
    blocks = -(-n // block)
    for i in range(runs):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        starts = rng.integers(0, n - block + 1, size=blocks)
        idx = (starts[:, None] + np.arange(block)).ravel()[:n]
        yield returns[idx]


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """Distribution summary: mean, std and the 5/25/50/75/95th percentiles
    (NaN values are left out and counted)."""
    arr = np.asarray(values, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    if not len(finite):
        return {"mean": math.nan, "std": math.nan, "p5": math.nan, "p25": math.nan,
                "p50": math.nan, "p75": math.nan, "p95": math.nan, "count": 0,
                "undefined": int(len(arr))}
    p = np.percentile(finite, [5, 25, 50, 75, 95])
    return {"mean": float(finite.mean()), "std": float(finite.std(ddof=1)) if len(finite) > 1 else math.nan,
            "p5": float(p[0]), "p25": float(p[1]), "p50": float(p[2]), "p75": float(p[3]),
            "p95": float(p[4]), "count": int(len(finite)), "undefined": int(len(arr) - len(finite))}
