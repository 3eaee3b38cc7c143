"""A component type string only ever resolves to a component of its kind:
registered, or a subclass of the kind's base. Anything else (``os:system``,
``subprocess:run``, a plain function, a class of another kind) is refused by
``validate`` and ``run`` before it is called."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from admf.components.costs import CommissionModel, PercentageCommission
from admf.errors import PluginError
from admf.runtime.registry import Registry, registry
from tests.reliability._support import cli, manifests, study, write_config


class HalfCommission(CommissionModel, frozen=True):
    """A user commission model: half a basis point of the notional."""

    def __call__(self, quantity: float, price: float) -> float:
        return 0.00005 * quantity * price


def not_a_component(**kwargs: object) -> None:
    raise AssertionError("a type string called a plain function")


HOSTILE = {
    "execution.commission": {"type": "os:system", "command": "touch PWNED"},
    "execution.slippage": {"type": "subprocess:run", "args": ["touch", "PWNED"]},
    "portfolio.sizing": {"type": "os:system", "command": "touch PWNED"},
    "strategies": [{"type": "os:system", "params": {"command": "touch PWNED"}}],
}


def _place(config: dict, key: str, spec: object) -> None:
    if key == "strategies":
        config["strategies"] = spec
        return
    section, name = key.split(".")
    config[section][name] = spec


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("key", list(HOSTILE))
def test_hostile_type_strings_run_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          key: str, command: str) -> None:
    monkeypatch.chdir(tmp_path)
    config = study(tmp_path)
    _place(config, key, HOSTILE[key])
    status, err = cli(command, write_config(tmp_path, config))
    assert status == 2, err
    assert not (tmp_path / "PWNED").exists()
    assert "os:system" in err or "subprocess:run" in err
    assert "not a" in err and "Traceback" not in err
    assert not manifests(tmp_path)


@pytest.mark.parametrize("command", ["validate", "run"])
def test_hostile_type_through_set_runs_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               command: str) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, study(tmp_path))
    status, err = cli(command, path, "--set",
                      'execution.slippage={type: "subprocess:run", args: [touch, PWNED]}')
    assert status == 2, err
    assert "execution.slippage" in err and "subprocess:run" in err
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("spec, kind", [
    (f"{__name__}:not_a_component", "commission"),
    ("admf.components.costs:FixedBpsSlippage", "commission"),   # a class of another kind
    ("admf.components.sizing:FixedQuantity", "slippage"),
    ("admf.components.costs:PercentageCommission", "sizing"),
    ("builtins:dict", "strategy"),
    ("os:system", "indicator"),
    ("os:system", "container"),                                 # a kind with no base
])
def test_the_registry_refuses_what_is_not_of_the_kind(spec: str, kind: str) -> None:
    import admf.components.per_bar  # noqa: F401  (declares the strategy bases)
    import admf.containers.factories  # noqa: F401

    with pytest.raises(PluginError, match=f"not a.*{kind}"):
        registry.get(kind, spec)


def test_subclasses_and_registered_objects_are_accepted() -> None:
    assert registry.get("commission", f"{__name__}:HalfCommission") is HalfCommission
    assert registry.get("commission", "admf.components.costs:PercentageCommission") is PercentageCommission
    assert registry.get("commission", "percentage") is PercentageCommission


def test_a_kind_without_a_base_accepts_only_registered_objects() -> None:
    reg = Registry()
    with pytest.raises(PluginError, match="not a registered widget"):
        reg.get("widget", "os:getcwd")
    reg.add("widget", "cwd", os.getcwd)
    assert reg.get("widget", "os:getcwd") is os.getcwd


def test_a_user_commission_subclass_runs(tmp_path: Path) -> None:
    config = study(tmp_path)
    config["execution"]["commission"] = {"type": f"{__name__}:HalfCommission"}
    status, err = cli("run", write_config(tmp_path, config))
    assert status == 0, err
    assert manifests(tmp_path / "results")


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_context_strategy_is_a_strategy_of_a_study(tmp_path: Path, command: str) -> None:
    # an OrderStrategy subclass given as "pkg.mod:Name" is accepted as a
    # strategy and runs in the orders pattern (validate builds it, run runs it)
    spec = "tests.acceptance.test_orders_reference:Cooldown"
    assert registry.get("strategy", spec).__name__ == "Cooldown"
    config = study(tmp_path, strategies=[{"type": spec}])
    config.pop("risk", None)
    config.get("portfolio", {}).pop("sizing", None)
    path = write_config(tmp_path, config)
    status, err = cli(command, path)
    assert status == 0, err
    assert bool(manifests(tmp_path / "results")) == (command == "run")
