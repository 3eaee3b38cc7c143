"""Built-in strategies against plain-Python reference loops of their
documented rules; batch-split independence; the ``hold`` state machine.

The references below use lists and loops only and share no code with admf:
each indicator is the textbook recursion named in the strategy's docstring,
each strategy's events are its docstring's rule, and the position is the
documented event state machine, walked bar by bar.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admf.components import strategies as strat
from admf.errors import ConfigError
from admf.messages import BarBatch
from admf.runtime.registry import registry
from tests._walks import walk_batch as random_walk

NAN = math.nan
DIRS = ("long_only", "short_only", "long_short")

# ------------------------------------------------------------------- data


def closes_batch(closes: list[float]) -> BarBatch:
    c = np.array(closes, dtype=float)
    return BarBatch(ts=0, symbol="X", timestamp=np.arange(len(c), dtype=np.int64), open=c,
                    high=c + 0.5, low=c - 0.5, close=c, volume=np.full(len(c), 1000.0))


def run_strategy(kind: str, params: dict[str, Any], direction: str, bars: BarBatch,
                 splits: list[int] = ()) -> np.ndarray:
    """Targets of a fresh strategy fed ``bars`` in pieces cut at ``splits``."""
    cls = registry.get("strategy", kind)
    strategy = cls(msgspec.convert(params, cls.Params), direction=direction)
    indicators = strategy.indicators()
    out = []
    cuts = [0, *splits, len(bars)]
    for start, stop in zip(cuts, cuts[1:]):
        if stop <= start:
            continue
        piece = bars.slice(start, stop)
        values = {role: ind.update(piece) for role, ind in indicators.items()}
        out.append(strategy.targets(piece, values))
    return np.concatenate(out)


# ---------------------------------------------------- reference indicators


def sma(x: list[float], n: int) -> list[float]:
    return [NAN if i < n - 1 else sum(x[i - n + 1:i + 1]) / n for i in range(len(x))]


def ema(x: list[float], n: int) -> list[float]:
    """Seeded with the mean of the first n values (defined from row n-1);
    NaN inputs before the first defined value are skipped (for MACD's signal)."""
    out = [NAN] * len(x)
    a = 2 / (n + 1)
    first = next((i for i, v in enumerate(x) if not math.isnan(v)), len(x))
    if len(x) - first < n:
        return out
    prev = sum(x[first:first + n]) / n
    out[first + n - 1] = prev
    for i in range(first + n, len(x)):
        prev = a * x[i] + (1 - a) * prev
        out[i] = prev
    return out


def rsi(x: list[float], n: int) -> list[float]:
    out = [NAN] * len(x)
    gains = [0.0] + [max(x[i] - x[i - 1], 0.0) for i in range(1, len(x))]
    losses = [0.0] + [max(x[i - 1] - x[i], 0.0) for i in range(1, len(x))]
    if len(x) <= n:
        return out
    g = sum(gains[1:n + 1]) / n
    l = sum(losses[1:n + 1]) / n
    for i in range(n, len(x)):
        if i > n:
            g = (g * (n - 1) + gains[i]) / n
            l = (l * (n - 1) + losses[i]) / n
        out[i] = 50.0 if g + l == 0 else 100 * g / (g + l)
    return out


def bollinger(x: list[float], n: int, k: float) -> tuple[list[float], list[float], list[float]]:
    mid, up, lo = [NAN] * len(x), [NAN] * len(x), [NAN] * len(x)
    for i in range(n - 1, len(x)):
        w = x[i - n + 1:i + 1]
        m = sum(w) / n
        sd = math.sqrt(sum((v - m) ** 2 for v in w) / n)
        mid[i], up[i], lo[i] = m, m + k * sd, m - k * sd
    return mid, up, lo


def roc(x: list[float], n: int) -> list[float]:
    return [NAN if i < n else 100 * (x[i] - x[i - n]) / x[i - n] for i in range(len(x))]


# ------------------------------------------------------ reference strategies

Events = tuple[list[bool], list[bool], list[bool], list[bool]]


def crossing_events(diff: list[float]) -> Events:
    """Up: previous diff <= 0 and now > 0 (both defined); down mirrors.
    Up enters long and exits short; down exits long and enters short."""
    up, down = [False] * len(diff), [False] * len(diff)
    for i in range(1, len(diff)):
        p, d = diff[i - 1], diff[i]
        if math.isnan(p) or math.isnan(d):
            continue
        up[i] = p <= 0 < d
        down[i] = p >= 0 > d
    return up, down, down, up


def ref_events(kind: str, p: dict[str, Any], bars: BarBatch) -> Events:
    c = bars.close.tolist()
    h, lo = bars.high.tolist(), bars.low.tolist()
    n = len(c)
    if kind == "sma_crossover":
        f, s = sma(c, p["fast"]), sma(c, p["slow"])
        return crossing_events([a - b for a, b in zip(f, s)])
    if kind == "ema_crossover":
        f, s = ema(c, p["fast"]), ema(c, p["slow"])
        return crossing_events([a - b for a, b in zip(f, s)])
    if kind == "macd_crossover":
        line = [a - b for a, b in zip(ema(c, p["fast"]), ema(c, p["slow"]))]
        signal = ema(line, p["signal"])
        return crossing_events([a - b for a, b in zip(line, signal)])
    if kind == "rsi_reversion":
        r = rsi(c, p["period"])
        # enter long below lower, exit long at/above exit; short above upper, exit at/below exit
        return ([v < p["lower"] for v in r], [v >= p["exit"] for v in r],
                [v > p["upper"] for v in r], [v <= p["exit"] for v in r])
    if kind == "bollinger_reversion":
        mid, up, low = bollinger(c, p["period"], p["k"])
        return ([c[i] < low[i] for i in range(n)], [c[i] >= mid[i] for i in range(n)],
                [c[i] > up[i] for i in range(n)], [c[i] <= mid[i] for i in range(n)])
    if kind == "donchian_breakout":
        P, E = p["period"], p["exit_period"]
        # highest high / lowest low of the *previous* P (or E) bars
        el = [i >= P and c[i] > max(h[i - P:i]) for i in range(n)]
        xl = [i >= E and c[i] < min(lo[i - E:i]) for i in range(n)]
        es = [i >= P and c[i] < min(lo[i - P:i]) for i in range(n)]
        xs = [i >= E and c[i] > max(h[i - E:i]) for i in range(n)]
        return el, xl, es, xs
    if kind == "momentum":
        r, t = roc(c, p["period"]), p["threshold"]
        return [v > t for v in r], [v < 0 for v in r], [v < -t for v in r], [v > 0 for v in r]
    raise AssertionError(kind)


def ref_hold(el: list[bool], xl: list[bool], es: list[bool], xs: list[bool], direction: str,
             state: float = 0.0) -> list[float]:
    """Walk the bars: exits first, then entries; an exit (or the opposite
    entry) on the same bar as an entry wins; direction masks entries."""
    if direction == "long_only":
        es = [False] * len(es)
    elif direction == "short_only":
        el = [False] * len(el)
    pos, out = state, []
    for a, b, c, d in zip(el, xl, es, xs):
        if pos > 0 and (b or c):
            pos = 0.0
        if pos < 0 and (d or a):
            pos = 0.0
        if a and not b and not c:
            pos = 1.0
        elif c and not d and not a:
            pos = -1.0
        out.append(pos)
    return out


CASES: dict[str, dict[str, Any]] = {
    "sma_crossover": {"fast": 5, "slow": 20},
    "ema_crossover": {"fast": 6, "slow": 19},
    "macd_crossover": {"fast": 6, "slow": 13, "signal": 5},
    "rsi_reversion": {"period": 7, "lower": 30.0, "upper": 70.0, "exit": 50.0},
    "bollinger_reversion": {"period": 12, "k": 1.5},
    "donchian_breakout": {"period": 15, "exit_period": 6},
    "momentum": {"period": 10, "threshold": 1.0},
}


@pytest.mark.parametrize("direction", DIRS)
@pytest.mark.parametrize("kind", sorted(CASES))
def test_matches_reference_rule(kind: str, direction: str) -> None:
    bars = random_walk(1500, seed=sum(map(ord, kind)))
    params = CASES[kind]
    expected = ref_hold(*ref_events(kind, params, bars), direction)
    got = run_strategy(kind, params, direction, bars)
    assert got.dtype == np.float64 and len(got) == len(bars)
    changes = int(np.count_nonzero(np.diff(np.asarray(expected)))) if expected else 0
    assert changes >= 10, "the reference must trade for the test to mean anything"
    mismatch = np.flatnonzero(got != np.asarray(expected))
    assert not len(mismatch), f"first mismatch at bar {mismatch[0]}: {got[mismatch[0]]} vs " \
                              f"{expected[mismatch[0]]}"
    allowed = {"long_only": {0.0, 1.0}, "short_only": {0.0, -1.0},
               "long_short": {0.0, 1.0, -1.0}}[direction]
    assert set(np.unique(got).tolist()) <= allowed
    if direction == "long_short":
        assert {1.0, -1.0} <= set(np.unique(got).tolist())


def test_default_params_match_reference() -> None:
    bars = random_walk(800, seed=3)
    for kind in CASES:
        cls = registry.get("strategy", kind)
        defaults = msgspec.structs.asdict(msgspec.convert({}, cls.Params))
        expected = ref_hold(*ref_events(kind, defaults, bars), "long_short")
        np.testing.assert_array_equal(run_strategy(kind, {}, "long_short", bars), expected,
                                      err_msg=kind)


@pytest.mark.parametrize("kind", sorted(CASES))
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_batch_splits_do_not_change_targets(kind: str, data: st.DataObject) -> None:
    n = 400
    bars = random_walk(n, seed=17)
    direction = data.draw(st.sampled_from(DIRS))
    splits = sorted(data.draw(st.lists(st.integers(1, n - 1), max_size=6, unique=True)))
    whole = run_strategy(kind, CASES[kind], direction, bars)
    pieces = run_strategy(kind, CASES[kind], direction, bars, splits)
    np.testing.assert_array_equal(pieces, whole)


def test_one_bar_batches_match_whole() -> None:
    bars = random_walk(200, seed=4)
    for kind in CASES:
        whole = run_strategy(kind, CASES[kind], "long_short", bars)
        singles = run_strategy(kind, CASES[kind], "long_short", bars, list(range(1, len(bars))))
        np.testing.assert_array_equal(singles, whole, err_msg=kind)


# ------------------------------------------------------------------ hold

T, F = True, False


def arr(*v: bool) -> np.ndarray:
    return np.array(v, dtype=bool)


@pytest.mark.parametrize(
    ("el", "xl", "es", "xs", "state", "expected"),
    [
        # enter long at 1, exit at 3
        ((F, T, F, F, F), (F, F, F, T, F), (F,) * 5, (F,) * 5, 0.0, [0, 1, 1, 0, 0]),
        # an exit on the same bar as the entry wins
        ((F, T, F), (F, T, F), (F,) * 3, (F,) * 3, 0.0, [0, 0, 0]),
        # entering long and short on one bar: neither
        ((T, F), (F, F), (T, F), (F, F), 0.0, [0, 0]),
        # reversal: long at 0, an enter-short at 2 flips straight to short
        ((T, F, F, F), (F,) * 4, (F, F, T, F), (F,) * 4, 0.0, [1, 1, -1, -1]),
        # carried long state holds until an exit
        ((F, F, F), (F, F, T), (F,) * 3, (F,) * 3, 1.0, [1, 1, 0]),
        # carried short state, an exit-long is irrelevant, exit-short ends it
        ((F, F, F), (T, F, F), (F,) * 3, (F, F, T), -1.0, [-1, -1, 0]),
        # carried long, a fresh enter-long with an exit on the same bar: flat
        ((F, T, F), (F, T, F), (F,) * 3, (F,) * 3, 1.0, [1, 0, 0]),
        # carried short, enter long with exit-short (a crossing up): long
        ((F, T), (F, F), (F, F), (F, T), -1.0, [-1, 1]),
        # exit then re-enter on the next bar
        ((T, F, T), (F, T, F), (F,) * 3, (F,) * 3, 0.0, [1, 0, 1]),
        # short entry and exit on one bar: flat; later entry short
        ((F, F, F), (F, F, F), (T, F, T), (T, F, F), 0.0, [0, 0, -1]),
    ],
)
def test_hold_state_machine(el: tuple, xl: tuple, es: tuple, xs: tuple, state: float,
                            expected: list[float]) -> None:
    target, last = strat.hold(arr(*el), arr(*xl), arr(*es), arr(*xs), state)
    assert target.tolist() == [float(v) for v in expected]
    assert last == float(expected[-1])
    # the plain loop agrees with the hand answer (it is the other reference)
    assert ref_hold(list(el), list(xl), list(es), list(xs), "long_short", state) == expected


def test_hold_empty_keeps_state() -> None:
    e = np.zeros(0, dtype=bool)
    target, last = strat.hold(e, e, e, e, -1.0)
    assert len(target) == 0 and last == -1.0


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_hold_matches_loop_on_random_events(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 40))
    events = [data.draw(st.lists(st.booleans(), min_size=n, max_size=n)) for _ in range(4)]
    state = data.draw(st.sampled_from([-1.0, 0.0, 1.0]))
    split = data.draw(st.integers(0, n))
    expected = ref_hold(*events, "long_short", state)
    first, mid = strat.hold(*(np.array(e[:split], dtype=bool) for e in events), state)
    second, _ = strat.hold(*(np.array(e[split:], dtype=bool) for e in events), mid)
    assert np.concatenate([first, second]).tolist() == expected


# ------------------------------------------------------------- crossovers


def test_no_entry_on_first_bar_after_warmup_without_a_crossing() -> None:
    # rising closes: SMA2 > SMA3 from the first bar where both exist (bar 2:
    # 2.5 > 2.0), but nothing crossed there, so no entry at all.
    bars = closes_batch([1, 2, 3, 4, 5, 6, 7, 8])
    for direction in DIRS:
        got = run_strategy("sma_crossover", {"fast": 2, "slow": 3}, direction, bars)
        assert got.tolist() == [0.0] * 8, direction
        # fed one bar at a time, the first defined diff still has no previous one
        got = run_strategy("sma_crossover", {"fast": 2, "slow": 3}, direction, bars,
                           list(range(1, 8)))
        assert got.tolist() == [0.0] * 8, direction


def test_crossing_enters_on_the_crossing_bar() -> None:
    # closes 5 4 3 2 3 4 5: SMA2 = _, 4.5, 3.5, 2.5, 2.5, 3.5, 4.5
    #                        SMA3 = _, _, 4, 3, 2.667, 3, 4
    # diff = _, _, -0.5, -0.5, -0.167, +0.5, +0.5 -> crosses up at bar 5
    bars = closes_batch([5, 4, 3, 2, 3, 4, 5])
    got = run_strategy("sma_crossover", {"fast": 2, "slow": 3}, "long_only", bars)
    assert got.tolist() == [0, 0, 0, 0, 0, 1, 1]


def test_crossing_on_the_first_bar_with_a_previous_difference() -> None:
    # fast = SMA1 (the close), slow = SMA3; closes 3 2 1 5
    # diff at bar 2 = 1 - 2 = -1 (first defined); bar 3: 5 - 8/3 = +2.33 -> cross up at 3
    bars = closes_batch([3, 2, 1, 5])
    assert run_strategy("sma_crossover", {"fast": 1, "slow": 3}, "long_only",
                        bars).tolist() == [0, 0, 0, 1]
    # the same crossing when bar 3 arrives in its own batch
    assert run_strategy("sma_crossover", {"fast": 1, "slow": 3}, "long_only", bars,
                        [3]).tolist() == [0, 0, 0, 1]


def test_crossing_down_from_zero_difference() -> None:
    # fast=SMA1, slow=SMA2; closes 2 2 1 3: diff = _, 0, -0.5, +1
    # bar 2: previous 0 -> now < 0 is a crossing down; bar 3 crosses up
    bars = closes_batch([2, 2, 1, 3])
    assert run_strategy("sma_crossover", {"fast": 1, "slow": 2}, "long_short",
                        bars).tolist() == [0, 0, -1, 1]
    assert run_strategy("sma_crossover", {"fast": 1, "slow": 2}, "short_only",
                        bars).tolist() == [0, 0, -1, 0]
    assert run_strategy("sma_crossover", {"fast": 1, "slow": 2}, "long_only",
                        bars).tolist() == [0, 0, 0, 1]


# ------------------------------------------------------- rule spot checks


def test_rsi_reversion_hand_example() -> None:
    # RSI(2) on closes 10 9 8 9 10 11: changes -1 -1 +1 +1 +1
    # seed (rows 1..2): G = 0, L = 1 -> RSI[2] = 0  (< 30: enter long)
    # row 3: G = 0.5, L = 0.5 -> 50  (>= exit 50: exit long)
    # row 4: G = 0.75, L = 0.25 -> 75 (> 70: enter short); row 5: G=.875, L=.125 -> 87.5
    bars = closes_batch([10, 9, 8, 9, 10, 11])
    params = {"period": 2}
    assert run_strategy("rsi_reversion", params, "long_only", bars).tolist() == [0, 0, 1, 0, 0, 0]
    assert run_strategy("rsi_reversion", params, "long_short", bars).tolist() == [0, 0, 1, 0, -1, -1]
    assert run_strategy("rsi_reversion", params, "short_only", bars).tolist() == [0, 0, 0, 0, -1, -1]


def test_donchian_uses_previous_bars_only() -> None:
    # period 3: bar 3 closes 12 > max(high[0..2]) = 11.5 -> long. Using bar 3's own
    # high (12.5) would never let the close exceed the channel.
    bars = closes_batch([10, 11, 10, 12, 12])
    got = run_strategy("donchian_breakout", {"period": 3, "exit_period": 2}, "long_only", bars)
    assert got.tolist() == [0, 0, 0, 1, 1]


def test_momentum_threshold_is_in_percent() -> None:
    # ROC(1): bar1 +0.5%, bar2 +2%, bar3 -0.1% ... threshold 1 (%)
    bars = closes_batch([100, 100.5, 102.51, 102.40749])
    got = run_strategy("momentum", {"period": 1, "threshold": 1.0}, "long_only", bars)
    assert got.tolist() == [0, 0, 1, 0]


# ------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("sma_crossover", {"fast": 30, "slow": 10}, "fast (30) must be less than slow (10)"),
        ("ema_crossover", {"fast": 5, "slow": 5}, "must be less than slow"),
        ("rsi_reversion", {"lower": 60, "exit": 50}, "lower < exit < upper"),
        ("momentum", {"threshold": -1.0}, "threshold must be >= 0"),
    ],
)
def test_invalid_params(kind: str, params: dict, message: str) -> None:
    cls = registry.get("strategy", kind)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cls(msgspec.convert(params, cls.Params))


def test_unknown_param_and_direction_rejected() -> None:
    cls = registry.get("strategy", "sma_crossover")
    with pytest.raises(msgspec.ValidationError, match="unknown field `fats`"):
        msgspec.convert({"fats": 3}, cls.Params)
    with pytest.raises(ConfigError, match="direction must be one of"):
        cls(msgspec.convert({}, cls.Params), direction="both")
