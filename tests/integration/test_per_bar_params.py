"""Indicators of a per-bar strategy that depend on its parameters (issue 8, point 4).

Indicators used to be read from the class only, so ``self.indicators`` set
from a parameter was silently ignored and a grid over the period gave
identical results. Both parameterised forms must now change the result, and
editing the class's spec in place is an error rather than a shared mutation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import admf
from admf.components.per_bar import BarStrategy, PerBarStrategy
from admf.errors import ConfigError


class AttrCross(BarStrategy):
    """Long while the close is above an SMA whose period is a parameter,
    the spec assigned in ``__init__``."""

    period = 10

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.indicators = {"sma": ("sma", {"period": self.period})}

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        return 1.0 if bar.close > ind.sma else 0.0


class MethodCross(BarStrategy):
    """The same rule, the spec given by a method."""

    period = 10

    def indicators(self) -> dict[str, Any]:  # type: ignore[override]
        return {"sma": ("sma", {"period": self.period})}

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        return 1.0 if bar.close > ind.sma else 0.0


class Mutating(BarStrategy):
    period = 10
    indicators = {"sma": ("sma", {"period": 10})}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.indicators["sma"] = ("sma", {"period": self.period})

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        return None


def _study(tmp_path: Path, kind: str) -> dict[str, Any]:
    return {
        "name": "params",
        "seed": 3,
        "data": {"source": "synthetic", "symbols": ["AAA"], "timeframe": "1h", "bars": 400,
                 "start": "2020-01-01"},
        "strategies": [{"type": f"{__name__}:{kind}", "params": {"period": [5, 10, 20, 40]}}],
        "portfolio": {"initial_cash": 100_000,
                      "sizing": {"type": "percent_equity", "percent": 50}},
        "sequence": {"type": "parameter_sweep"},
        "executor": {"kind": "inline"},
        "results": {"dir": str(tmp_path / "results"), "storage": "memory"},
    }


@pytest.mark.parametrize("kind", ["AttrCross", "MethodCross"])
def test_a_grid_over_an_indicator_period_changes_the_result(tmp_path: Path, kind: str) -> None:
    result = admf.run_sync(_study(tmp_path, kind), write=False) if hasattr(admf, "run_sync") \
        else admf.run(_study(tmp_path, kind), write=False)
    rows = {row["portfolio"]: row for row in result.table}
    assert len(rows) == 4
    trades = [row.get("trades", row.get("total_trades")) for row in rows.values()]
    equities = {round(float(row["final_equity"]), 6) for row in rows.values()}
    assert len(equities) == 4, (trades, equities)


def test_each_instance_builds_its_own_period() -> None:
    for cls in (AttrCross, MethodCross):
        built = PerBarStrategy(cls(period=7)).indicators()
        assert built["sma"].key == ("sma", "close", 7)


def test_mutating_the_class_spec_in_place_is_an_error() -> None:
    with pytest.raises(ConfigError, match="shared by every instance"):
        Mutating(period=20)


def test_a_malformed_spec_names_the_role() -> None:
    class Bad(BarStrategy):
        indicators = {"x": "sma"}

    with pytest.raises(ConfigError, match=r"Bad.indicators\['x'\]"):
        PerBarStrategy(Bad())
