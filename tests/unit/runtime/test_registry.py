"""The component registry: names, ``"pkg.mod:Name"``, duplicates, parameter
descriptions and plugins found through the ``admf.plugins`` entry-point group.

Plugins are exercised with a fake installed distribution: a temporary
directory holding a ``*.dist-info`` (METADATA + entry_points.txt) and the
plugin's module, put on ``sys.path``.
"""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest

from admf.components import costs, indicators, strategies
from admf.errors import ConfigError, PluginError
from admf.runtime.registry import (
    PLUGIN_GROUP,
    REQUIRED,
    Param,
    Registry,
    instantiate,
    registry,
    summary_of,
)

# ------------------------------------------------------------------ helpers


def _in_module(cls: type, module: str) -> type:
    cls.__module__ = module
    return cls


PluginFactory = Callable[..., str]


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginFactory]:
    """``make_plugin(source, entry_points={name: value}, group=...)`` writes a
    fake distribution ``fake-plugin 1.0`` whose module (a fresh, unique name,
    returned) has ``source``; ``{mod}`` in entry point values stands for it."""
    created: list[str] = []
    counter = iter(range(1000))

    def make(source: str, *, entry_points: dict[str, str] | None = None,
             group: str = PLUGIN_GROUP, dist: str = "fake-plugin") -> str:
        root = tmp_path / f"site{next(counter)}"
        root.mkdir()
        module = f"admf_fake_plugin_{uuid.uuid4().hex[:10]}"
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        eps = entry_points or {"fake": "{mod}"}
        lines = [f"[{group}]", *(f"{k} = {v.format(mod=module)}" for k, v in eps.items())]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        monkeypatch.syspath_prepend(str(root))
        created.append(module)
        return module

    yield make
    for module in created:
        sys.modules.pop(module, None)


@pytest.fixture
def shared_registry() -> Iterator[Registry]:
    """The process-wide registry with its plugins not yet loaded; restored
    afterwards (built-ins included) so plugins never leak into other tests."""
    saved = ({k: dict(v) for k, v in registry._kinds.items()}, dict(registry._where),
             registry._plugins_loaded, set(registry._loaded_entry_points))
    registry._plugins_loaded = False
    try:
        yield registry
    finally:
        registry._kinds, registry._where = saved[0], saved[1]
        registry._plugins_loaded, registry._loaded_entry_points = saved[2], saved[3]


def _group() -> str:
    """A private entry-point group, so a fresh registry sees only this test's plugin."""
    return f"admf_test_{uuid.uuid4().hex[:10]}"


# ------------------------------------------------------------ names and specs


def test_register_get_names_kinds() -> None:
    reg = Registry()

    @reg.register("strategy", "alpha")
    class Alpha:
        pass

    @reg.register("indicator")
    class Beta:
        name = "beta"

    assert reg.get("strategy", "alpha") is Alpha
    assert reg.get("indicator", "beta") is Beta
    assert reg.names("strategy") == ["alpha"]
    assert reg.kinds() == ["indicator", "strategy"]


def test_unknown_name_suggests_and_lists_known() -> None:
    reg = Registry()
    reg.add("strategy", "sma_crossover", object)
    with pytest.raises(PluginError, match=r"unknown strategy 'sma_crosover'; did you mean 'sma_crossover'\?"):
        reg.get("strategy", "sma_crosover")


def test_module_colon_name_works_for_a_subclass_of_the_kinds_base() -> None:
    reg = Registry()
    with pytest.raises(PluginError, match="not a registered commission"):  # no base declared yet
        reg.get("commission", "admf.components.costs:FixedCommission")
    reg.expect("commission", costs.CommissionModel)
    assert reg.get("commission", "admf.components.costs:FixedCommission") is costs.FixedCommission
    with pytest.raises(PluginError, match="must be a subclass of admf.components.costs.CommissionModel"):
        reg.get("commission", "admf.components.costs:FixedBpsSlippage")
    with pytest.raises(PluginError, match="has no attribute 'Nope'"):
        reg.get("commission", "admf.components.costs:Nope")
    with pytest.raises(PluginError, match="cannot import module 'no_such_pkg_xyz'"):
        reg.get("commission", "no_such_pkg_xyz:Thing")


def test_duplicate_names_both_modules() -> None:
    reg = Registry()
    first = _in_module(type("First", (), {}), "pkg_one.models")
    second = _in_module(type("Second", (), {}), "pkg_two.other")
    reg.add("sizing", "same", first)
    with pytest.raises(PluginError) as info:
        reg.add("sizing", "same", second)
    message = str(info.value)
    assert "sizing 'same' is registered twice" in message
    assert "pkg_one.models:First" in message and "pkg_two.other:Second" in message


def test_same_object_or_reloaded_module_is_not_a_duplicate() -> None:
    reg = Registry()
    old = _in_module(type("Model", (), {}), "pkg.models")
    reloaded = _in_module(type("Model", (), {}), "pkg.models")
    reg.add("commission", "m", old)
    reg.add("commission", "m", old)
    reg.add("commission", "m", reloaded)  # importlib.reload makes a new class object
    assert reg.get("commission", "m") is reloaded


# ------------------------------------------------------------------ describe


class _Documented(msgspec.Struct, frozen=True, kw_only=True):
    """A model for the tests. It has three fields."""

    rate: Annotated[float, msgspec.Meta(description="fraction of notional")]
    levels: list[int] = msgspec.field(default_factory=lambda: [1, 2])
    label: str | None = None


def test_describe_struct_fields() -> None:
    reg = Registry()
    reg.add("commission", "documented", _Documented)
    assert reg.describe("commission", "documented") == [
        Param("rate", "float", REQUIRED, "fraction of notional"),
        Param("levels", "list[int]", [1, 2]),
        Param("label", "str | None", None),
    ]
    assert reg.summary("commission", "documented") == "A model for the tests."


def test_describe_strategy_uses_its_params_struct() -> None:
    params = registry.describe("strategy", "sma_crossover")
    assert [(p.name, p.type, p.default) for p in params] == [("fast", "int", 10), ("slow", "int", 30)]
    assert registry.summary("strategy", "sma_crossover").startswith("Long when the fast SMA crosses above")


def test_describe_plain_class_from_init_signature() -> None:
    params = registry.describe("indicator", "sma")
    assert params == [Param("period", "int", REQUIRED), Param("source", "str", "close")]
    assert params[0].required and not params[1].required
    assert registry.describe("indicator", "bollinger")[:2] == [Param("period", "int", 20),
                                                              Param("k", "float", 2.0)]
    assert summary_of(indicators.SMA) == "Simple moving average: mean(x[t-n+1..t])."


def test_describe_skips_star_args_and_handles_functions_and_bare_classes() -> None:
    reg = Registry()

    class Rule:
        def __init__(self, limit: float, *args: Any, window: int = 5, **extra: Any) -> None:
            pass

    def make_rule(threshold: float = 0.5) -> None:
        """Build a rule. More text."""

    class Bare:
        pass

    reg.add("risk", "rule", Rule)
    reg.add("risk", "fn", make_rule)
    reg.add("risk", "bare", Bare)
    assert reg.describe("risk", "rule") == [Param("limit", "float"), Param("window", "int", 5)]
    assert reg.describe("risk", "fn") == [Param("threshold", "float", 0.5)]
    assert reg.describe("risk", "bare") == []
    assert reg.summary("risk", "fn") == "Build a rule."


def test_summary_is_the_own_docstring_only() -> None:
    # a Struct without a docstring must not show msgspec.Struct's inherited one
    assert summary_of(costs.FixedCommission) == ""
    assert summary_of(strategies.EmaCrossover) == "EMA crossover (EMAs seeded with their SMA)."


def test_param_text() -> None:
    assert str(Param("fast", "int", 10)) == "fast: int = 10"
    assert str(Param("source", "str", "close")) == "source: str = 'close'"
    assert str(Param("rate", "float")) == "rate: float (required)"
    assert str(Param("rate", "float", 0.1, "per fill")) == "rate: float = 0.1  -- per fill"


# ------------------------------------------------------------------ plugins


PLUGIN_MODULE = '''
    import msgspec
    from admf.runtime.registry import register

    @register("commission", "fake_flat")
    class FakeFlat(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
        """A flat fee from a plugin."""
        fee: float = 1.5

        def __call__(self, quantity, price):
            return self.fee
'''


def test_module_plugin_is_discovered_lazily_and_once(shared_registry: Registry,
                                                     make_plugin: PluginFactory) -> None:
    module = make_plugin(PLUGIN_MODULE)
    shared_registry.get("strategy", "sma_crossover")  # a hit: no plugin loading
    assert module not in sys.modules
    cls = shared_registry.get("commission", "fake_flat")  # a miss loads the plugins
    assert module in sys.modules and cls.__module__ == module
    assert shared_registry.describe("commission", "fake_flat") == [Param("fee", "float", 1.5)]
    assert shared_registry.summary("commission", "fake_flat") == "A flat fee from a plugin."
    assert "distribution fake-plugin 1.0" in shared_registry.where("commission", "fake_flat")
    assert shared_registry.load_plugins() == []  # already loaded
    model = instantiate("commission", {"type": "fake_flat", "fee": 2}, "execution.commission")
    assert model(10, 100.0) == 2.0


def test_names_and_kinds_load_plugins(shared_registry: Registry, make_plugin: PluginFactory) -> None:
    make_plugin(PLUGIN_MODULE)
    assert "fake_flat" in shared_registry.names("commission")
    shared_registry._plugins_loaded = False
    assert shared_registry.load_plugins() == []  # the entry point is remembered as loaded


def test_callable_plugin_receives_the_registry(make_plugin: PluginFactory) -> None:
    group = _group()
    module = make_plugin('''
        class Quiet:
            """Never trades."""
            def __init__(self, *, patience: int = 3):
                self.patience = patience

        def register_plugins(registry):
            registry.add("strategy", "quiet", Quiet)
    ''', entry_points={"quiet": "{mod}:register_plugins"}, group=group)
    reg = Registry(plugin_group=group)
    assert reg.kinds() == ["strategy"]
    assert reg.get("strategy", "quiet").__module__ == module
    assert reg.describe("strategy", "quiet") == [Param("patience", "int", 3)]


def test_plugin_duplicating_a_builtin_names_both_places(shared_registry: Registry,
                                                        make_plugin: PluginFactory) -> None:
    module = make_plugin('''
        from admf.runtime.registry import register

        @register("strategy", "sma_crossover")
        class MySma:
            pass
    ''', entry_points={"dupes": "{mod}"})
    with pytest.raises(PluginError) as info:
        shared_registry.get("strategy", "not_registered_anywhere")
    message = str(info.value)
    assert "plugin entry point 'dupes'" in message and "distribution fake-plugin 1.0" in message
    assert "strategy 'sma_crossover' is registered twice" in message
    assert "admf.components.strategies:SmaCrossover" in message and f"{module}:MySma" in message


def test_builtin_registered_after_a_plugin_names_the_plugin(make_plugin: PluginFactory) -> None:
    group = _group()
    module = make_plugin('''
        class Early:
            pass

        def register_plugins(registry):
            registry.add("sizing", "shared_name", Early)
    ''', entry_points={"early": "{mod}:register_plugins"}, group=group)
    reg = Registry(plugin_group=group)
    reg.load_plugins()
    with pytest.raises(PluginError) as info:
        reg.add("sizing", "shared_name", _in_module(type("Late", (), {}), "admf.components.sizing"))
    message = str(info.value)
    assert f"{module}:Early (plugin entry point 'early'" in message
    assert "distribution fake-plugin 1.0" in message and "admf.components.sizing:Late" in message


def test_broken_plugin_names_entry_point_and_distribution(make_plugin: PluginFactory) -> None:
    group = _group()
    make_plugin('raise RuntimeError("boom at import")\n', entry_points={"broken": "{mod}"},
                group=group, dist="broken-dist")
    reg = Registry(plugin_group=group)
    with pytest.raises(PluginError) as info:
        reg.names("strategy")
    message = str(info.value)
    assert "plugin entry point 'broken'" in message and "distribution broken-dist 1.0" in message
    assert "RuntimeError: boom at import" in message
    assert isinstance(info.value.__cause__, RuntimeError)


def test_plugin_entry_point_to_a_missing_attribute_fails_every_time(make_plugin: PluginFactory) -> None:
    group = _group()
    make_plugin("VALUE = 3\n", entry_points={"gone": "{mod}:missing"}, group=group)
    reg = Registry(plugin_group=group)
    with pytest.raises(PluginError, match=r"entry point 'gone'.*AttributeError"):
        reg.load_plugins()
    with pytest.raises(PluginError, match=r"entry point 'gone'"):  # retried, not silently forgotten
        reg.get("strategy", "anything")


def test_non_callable_entry_point_is_refused(make_plugin: PluginFactory) -> None:
    group = _group()
    make_plugin("VALUE = 3\n", entry_points={"number": "{mod}:VALUE"}, group=group)
    with pytest.raises(PluginError, match=r"entry point 'number'.*neither a module nor a callable"):
        Registry(plugin_group=group).load_plugins()


def test_registry_without_plugin_group_loads_nothing(shared_registry: Registry,
                                                     make_plugin: PluginFactory) -> None:
    make_plugin(PLUGIN_MODULE)
    reg = Registry()
    assert reg.load_plugins() == [] and reg.kinds() == []


def test_instantiate_reports_an_unknown_component_as_config_error() -> None:
    with pytest.raises(ConfigError, match=r"execution\.commission\.type: unknown commission 'nope'"):
        instantiate("commission", {"type": "nope"}, "execution.commission")
