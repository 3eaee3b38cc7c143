"""The per-bar API: a BarStrategy written bar by bar gives the same targets
as the vectorised built-in; ``None`` keeps; direction clipping; indicator
roles of multi-output indicators."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.components.per_bar import BarStrategy, PerBarStrategy
from admf.errors import ConfigError
from admf.messages import BarBatch
from admf.runtime.registry import registry
from tests._walks import walk_batch as random_walk

NAN = math.nan
DIRS = ("long_only", "short_only", "long_short")


def feed(strategy: Any, bars: BarBatch, splits: list[int] = ()) -> np.ndarray:
    """Targets of ``strategy`` fed ``bars`` in pieces, as the strategy container does."""
    indicators = strategy.indicators()
    cuts = [0, *splits, len(bars)]
    out = []
    for a, b in zip(cuts, cuts[1:]):
        if b > a:
            piece = bars.slice(a, b)
            out.append(strategy.targets(piece, {r: i.update(piece) for r, i in indicators.items()}))
    return np.concatenate(out)


class Cross(BarStrategy):
    """SMA crossover, bar by bar: +1 on a crossing up, -1 on a crossing down
    (clipping to the direction turns -1 into an exit for long_only, +1 into
    an exit for short_only); None otherwise."""

    indicators = {"fast": ("sma", {"period": 5}), "slow": ("sma", {"period": 20})}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.prev = NAN

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        diff = ind.fast - ind.slow
        prev, self.prev = self.prev, diff
        if prev <= 0 < diff:  # NaN compares false: no crossing during warm-up
            return 1.0
        if prev >= 0 > diff:
            return -1.0
        return None


@pytest.mark.parametrize("direction", DIRS)
def test_bar_strategy_equals_sma_crossover(direction: str) -> None:
    bars = random_walk(2000, seed=9)
    cls = registry.get("strategy", "sma_crossover")
    builtin = cls(msgspec.convert({"fast": 5, "slow": 20}, cls.Params), direction=direction)
    expected = feed(builtin, bars)
    got = feed(PerBarStrategy(Cross(), direction=direction), bars)
    assert np.count_nonzero(np.diff(expected)) > 20
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=15, deadline=None)
@given(splits=st.lists(st.integers(1, 299), max_size=5, unique=True),
       direction=st.sampled_from(DIRS))
def test_bar_strategy_batch_splits(splits: list[int], direction: str) -> None:
    bars = random_walk(300, seed=2)
    whole = feed(PerBarStrategy(Cross(), direction=direction), bars)
    pieces = feed(PerBarStrategy(Cross(), direction=direction), bars, sorted(splits))
    np.testing.assert_array_equal(pieces, whole)


class Scripted(BarStrategy):
    """Returns ``script[i]`` on bar i and records what it was shown."""

    indicators = {}

    def __init__(self, script: list[float | None]) -> None:
        super().__init__(script=script)
        self.i = 0
        self.seen_positions: list[float] = []
        self.seen_bars: list[tuple] = []

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        self.seen_positions.append(position)
        self.seen_bars.append((bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume,
                               bar.symbol))
        value = self.script[self.i]
        self.i += 1
        return value


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        # script:        None  1    None  -1    None  0.5   None  0
        ("long_short", [0.0, 1.0, 1.0, -1.0, -1.0, 0.5, 0.5, 0.0]),
        ("long_only", [0.0, 1.0, 1.0, 0.0, 0.0, 0.5, 0.5, 0.0]),  # -1 clipped to 0
        ("short_only", [0.0, 0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0]),  # +1, 0.5 clipped to 0
    ],
)
def test_none_keeps_and_direction_clips(direction: str, expected: list[float]) -> None:
    script = [None, 1.0, None, -1.0, None, 0.5, None, 0.0]
    user = Scripted(script)
    bars = random_walk(8, seed=1)
    got = feed(PerBarStrategy(user, direction=direction), bars, [3])  # state carried over a split
    assert got.tolist() == expected
    # ``position`` is what the strategy held before the bar (its last clipped return)
    assert user.seen_positions == [0.0, *expected[:-1]]


def test_bar_fields_are_the_rows() -> None:
    bars = random_walk(5, seed=3)
    user = Scripted([None] * 5)
    feed(PerBarStrategy(user), bars, [2])
    for i, seen in enumerate(user.seen_bars):
        assert seen == (int(bars.timestamp[i]), bars.open[i], bars.high[i], bars.low[i],
                        bars.close[i], bars.volume[i], "X")
        assert isinstance(seen[0], int)


class Bands(BarStrategy):
    indicators = {"bands": ("bollinger", {"period": 4, "k": 2.0}), "rsi": ("rsi", {"period": 3})}

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[float, float, float, float]] = []

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        self.rows.append((ind.bands_upper, ind.bands_middle, ind.bands_lower, ind.rsi))
        return None


def test_multi_output_indicator_roles() -> None:
    closes = [10.0, 11.0, 13.0, 12.0, 15.0, 14.0]
    c = np.array(closes)
    bars = BarBatch(ts=0, symbol="X", timestamp=np.arange(6, dtype=np.int64), open=c, high=c + 1,
                    low=c - 1, close=c, volume=np.full(6, 1.0))
    user = Bands()
    feed(PerBarStrategy(user), bars, [2])
    # Bollinger(4, 2): window 10 11 13 12 -> mean 11.5, pop var (2.25+.25+2.25+.25)/4 = 1.25
    #   upper = 11.5 + 2*sqrt(1.25) = 13.7360680, lower = 9.2639320
    # window 11 13 12 15 -> mean 12.75, var (3.0625+.0625+.5625+5.0625)/4 = 2.1875
    # window 13 12 15 14 -> mean 13.5, var (.25+2.25+2.25+.25)/4 = 1.25
    expected_bands = [(NAN, NAN, NAN)] * 3 + [
        (11.5 + 2 * math.sqrt(1.25), 11.5, 11.5 - 2 * math.sqrt(1.25)),
        (12.75 + 2 * math.sqrt(2.1875), 12.75, 12.75 - 2 * math.sqrt(2.1875)),
        (13.5 + 2 * math.sqrt(1.25), 13.5, 13.5 - 2 * math.sqrt(1.25)),
    ]
    # RSI(3): changes +1 +2 -1 +3 -1; seed G = 3/3 = 1, L = 1/3 at row 3 -> 75
    # row 4: G = (2*1 + 3)/3 = 5/3, L = (2/3)/3 = 2/9 -> 100*(5/3)/(5/3+2/9) = 88.2352941
    # row 5: G = (10/3)/3 = 10/9, L = (4/9 + 1)/3 = 13/27 -> 100*(30/27)/(43/27) = 69.7674419
    expected_rsi = [NAN, NAN, NAN, 75.0, 100 * (5 / 3) / (5 / 3 + 2 / 9), 3000 / 43]
    got = np.array(user.rows)
    np.testing.assert_allclose(got[:, :3], np.array(expected_bands), rtol=1e-12)
    np.testing.assert_allclose(got[:, 3], expected_rsi, rtol=1e-12)


def test_role_must_be_an_identifier() -> None:
    class Bad(BarStrategy):
        indicators = {"class": ("sma", {"period": 3})}

        def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
            return None

    with pytest.raises(ConfigError, match="must be a Python identifier"):
        PerBarStrategy(Bad())
    with pytest.raises(ConfigError, match="direction must be one of"):
        PerBarStrategy(Scripted([]), direction="sideways")


def test_params_become_attributes() -> None:
    s = Cross(threshold=0.5, name="x")
    assert (s.threshold, s.name) == (0.5, "x")


def test_a_parameter_must_be_declared_and_a_typo_is_named() -> None:
    from admf.errors import ConfigError

    class Threshold(BarStrategy):
        level = 0.5

        def on_bar(self, bar, ind, position):
            return None

    assert Threshold(level=0.7).level == 0.7
    with pytest.raises(ConfigError, match="Threshold has no parameter 'levle'; did you mean 'level'"):
        Threshold(levle=0.7)
