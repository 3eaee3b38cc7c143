"""``admf list``: the registered components with their parameters and defaults,
built-ins and plugins of the ``admf.plugins`` entry-point group."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from admf.cli import main
from admf.runtime.registry import registry

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # no wrapping unless a test asks for it


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["list", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_list_strategies(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "strategies")
    assert status == 0 and err == ""
    lines = out.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("sma_crossover "))
    assert lines[i].split(None, 1)[1].startswith("Long when the fast SMA crosses above the slow SMA")
    assert lines[i + 1:i + 3] == ["    fast: int = 10", "    slow: int = 30"]
    names = [line.split()[0] for line in lines if not line.startswith(" ")]
    assert names == sorted(names) and {"donchian_breakout", "rsi_reversion", "momentum"} <= set(names)
    assert "    exit_period: int = 10" in lines


@pytest.mark.parametrize(("alias", "kind"), [("strategy", "strategies"), ("Indicator", "indicators"),
                                             ("sizers", "sizing"), ("commissions", "commission")])
def test_singular_plural_and_aliases_agree(capsys: pytest.CaptureFixture[str], alias: str, kind: str) -> None:
    assert run(capsys, alias) == run(capsys, kind)


def test_list_shows_required_parameters_and_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    _, indicators, _ = run(capsys, "indicators")
    assert re.search(r"^sma +Simple moving average.*\n    period: int \(required\)\n"
                     r"    source: str = 'close'$", indicators, re.MULTILINE)
    _, sizing, _ = run(capsys, "sizing")
    assert "volatility_target\n    target: float (required)\n    lookback: int = 20\n" in sizing
    _, slippage, _ = run(capsys, "slippage")
    assert "    limit: float = 0.025\n    impact: float = 0.1" in slippage


def test_list_everything_has_a_section_per_kind(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys)
    assert status == 0
    headings = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert headings[:6] == ["strategies:", "indicators:", "regime classifiers:", "sizing:",
                            "commission models:", "slippage models:"]
    assert "  sma_crossover  " in out and "      fast: int = 10" in out
    assert "  ensemble  " in out and "      m<i>.type: str (required)" in out
    assert "  trend  " in out and "      period: int = 50" in out
    assert "  percent_equity" in out and "      percent: float = 100.0" in out


def test_patterns_sequences_and_risk_are_listed_though_not_registered(
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "patterns")
    assert status == 0 and out.startswith("backtest  One source per symbol")
    assert "admf/patterns/backtest.yaml" in out
    status, out, _ = run(capsys, "sequences")
    assert "walk_forward\n    train (required)\n    test (required)" in out
    assert "k_fold\n    folds = 5\n    purge = 0" in out
    status, out, _ = run(capsys, "risk")
    assert out.splitlines()[0] == "stop_loss: float | None = None"


def test_unknown_kind_exits_2_with_known_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "widgets")
    assert status == 2 and out == ""
    assert "unknown kind 'widgets'" in err
    for kind in ("strategy", "indicator", "sizing", "commission", "slippage", "sequence", "topology"):
        assert kind in err


def test_long_summaries_wrap_under_the_summary_column(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    _, out, _ = run(capsys, "strategies")
    lines = out.splitlines()
    assert max(map(len, lines)) < 60
    i = next(i for i, line in enumerate(lines) if line.startswith("donchian_breakout "))
    column = lines[i].index("Breakout:")
    assert lines[i + 1].startswith(" " * column) and lines[i + 1][column] != " "


# ------------------------------------------------------------------ plugins


def test_plugin_components_are_listed(capsys: pytest.CaptureFixture[str],
                                      plugin_site: tuple[Path, str]) -> None:
    path, _ = plugin_site
    path.write_text(textwrap.dedent('''
        import msgspec
        from admf.runtime.registry import register

        @register("strategy", "acme_trend")
        class AcmeTrend:
            """Follows the trend, the Acme way."""
            class Params(msgspec.Struct, frozen=True):
                lookback: int = 55
                band: float = 0.5

        @register("filter", "acme_liquidity")
        class Liquidity(msgspec.Struct, frozen=True):
            """Skips thin bars."""
            min_volume: float
    '''))
    status, out, _ = run(capsys, "strategies")
    assert status == 0
    assert "acme_trend           Follows the trend, the Acme way.\n    lookback: int = 55\n    band: float = 0.5\n" in out
    status, out, _ = run(capsys, "filters")  # a kind only a plugin registers
    assert (status, out) == (0, "acme_liquidity  Skips thin bars.\n    min_volume: float (required)\n")


def test_per_bar_plugin_strategies_list_their_class_parameters(
        capsys: pytest.CaptureFixture[str], plugin_site: tuple[Path, str]) -> None:
    path, _ = plugin_site
    path.write_text(textwrap.dedent('''
        from admf.components.per_bar import BarStrategy
        from admf.runtime.registry import register

        class Base(BarStrategy):
            lookback: int = 20

        @register("strategy", "acme_breakout")
        class Breakout(Base):
            """Buys the breakout."""
            indicators = {"sma": ("sma", {"period": 20})}
            cap = 80.0
            side = "long"

            def on_bar(self, bar, ind, position):
                return None

        @register("strategy", "acme_own_init")
        class OwnInit(BarStrategy):
            """Takes its parameters in __init__."""
            def __init__(self, width: float = 2.0):
                super().__init__()
                self.width = width
    '''))
    status, out, _ = run(capsys, "strategies")
    assert status == 0
    assert ("acme_breakout        Buys the breakout.\n    lookback: int = 20\n"
            "    cap: float = 80.0\n    side: str = 'long'\n") in out
    assert "acme_own_init        Takes its parameters in __init__.\n    width: float = 2.0\n" in out


def test_broken_plugin_is_an_error_naming_it(capsys: pytest.CaptureFixture[str],
                                             plugin_site: tuple[Path, str]) -> None:
    path, _ = plugin_site
    path.write_text("import no_such_dependency_xyz\n")
    status, out, err = run(capsys, "strategies")
    assert status == 2 and out == ""
    assert "plugin entry point 'acme'" in err and "distribution acme-admf 2.0" in err
    assert "no_such_dependency_xyz" in err


def test_list_in_a_fresh_process() -> None:
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "admf", "list", "commission"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "per_share\n    rate: float (required)\n    minimum: float = 0.0\n" in proc.stdout


def test_builtin_modules_cover_every_builtin_component() -> None:
    """``admf list`` imports BUILTIN_MODULES itself; a module that registers
    built-ins but is missing there would be listed only by accident."""
    import importlib
    import pkgutil

    import admf
    from admf._cli_list import BUILTIN_MODULES

    for info in pkgutil.walk_packages(admf.__path__, "admf."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    modules = {obj.__module__ for kind in registry.kinds() for name in registry.names(kind)
               for obj in [registry.get(kind, name)] if obj.__module__.startswith("admf.")}
    assert modules <= set(BUILTIN_MODULES), sorted(modules - set(BUILTIN_MODULES))
