"""Topology patterns: foreach, templates, lookups, globs, connect, when; every
error names the pattern, the entry and what is wrong; a built pattern runs."""

from __future__ import annotations

import contextlib
import operator
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from admf.errors import AdmfError, ConfigError, TopologyError
from admf.routes import Broadcast, Filter, Merge, Partition, Pipe
from admf.runtime import patterns
from admf.runtime.container import Container
from admf.runtime.patterns import Pattern, available_patterns, load_pattern
from admf.runtime.registry import Registry
from admf.runtime.sequencer import run_topology
from admf.runtime.topology import Topology


class Tick(msgspec.Struct, frozen=True, tag=True):
    ts: int
    symbol: str
    value: float = 1.0


class Quote(msgspec.Struct, frozen=True, tag=True):
    ts: int


class Source(Container):
    """Emits ``count`` ticks per symbol, ts = first, first+1, ..."""

    def __init__(self, name: str, *, symbols: list[str], count: int = 3, first: int = 0) -> None:
        super().__init__(name)
        self.symbols, self.count, self.first = symbols, count, first
        self.out = self.add_output("out", Tick)

    async def on_execute(self) -> None:
        for i in range(self.count):
            for symbol in self.symbols:
                await self.out.send(Tick(ts=self.first + i, symbol=symbol, value=float(i)))


class Scale(Container):
    def __init__(self, name: str, *, factor: float = 1.0) -> None:
        super().__init__(name)
        self.factor = factor
        self.add_input("inp", Tick)
        self.out = self.add_output("out", Tick)

    async def on_execute(self) -> None:
        async for tick in self.inputs["inp"]:
            await self.out.send(msgspec.structs.replace(tick, value=tick.value * self.factor))


class Sink(Container):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.add_input("inp", Tick)
        self.seen: list[Tick] = []

    async def on_execute(self) -> None:
        async for tick in self.inputs["inp"]:
            self.seen.append(tick)

    async def on_collect(self) -> list[Tick]:
        return self.seen


class QuoteSink(Container):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.add_input("inp", Quote)


class Record(Container):
    """No ports; keeps the arguments it was made with."""

    def __init__(self, name: str, **args: Any) -> None:
        super().__init__(name)
        self.args = args


def factory(cls: type[Container]) -> Any:
    def make(context: Any, *, name: str, **args: Any) -> Container:
        return cls(name, **args)

    return make


@pytest.fixture
def registry() -> Registry:
    """A private registry, so these test types never reach the global one."""
    registry = Registry()
    for name, cls in {"source": Source, "scale": Scale, "sink": Sink, "quote_sink": QuoteSink,
                      "record": Record}.items():
        registry.add("container", name, factory(cls))
    registry.add("container", "nameless", lambda context, *, name: Record("other"))
    registry.add("container", "not_a_container", lambda context, *, name: object())
    return registry


def build(text: str, context: dict[str, Any], registry: Registry) -> Topology:
    return Pattern.load(textwrap.dedent(text)).build(context, registry=registry)


@contextlib.contextmanager
def raises(cls: type[AdmfError], *parts: str) -> Iterator[None]:
    """Expect ``cls`` whose message contains every one of ``parts``."""
    with pytest.raises(cls) as info:
        yield
    message = str(info.value)
    missing = [p for p in parts if p not in message]
    assert not missing, f"{missing} not in {message!r}"


CONTEXT: dict[str, Any] = {"config": {}, "data": {"symbols": ["A", "B"]}}

# -- foreach ---------------------------------------------------------------------


def test_foreach_builds_the_cartesian_product_with_the_first_variable_slowest(
        registry: Registry) -> None:
    context = {**CONTEXT, "points": [{"id": 1}, {"id": 2}, {"id": 3}]}
    topo = build("""
        name: grid
        containers:
          - name: "rec_{symbol}_{point.id}"
            type: record
            foreach: {symbol: data.symbols, point: points}
            args: {symbol: "{symbol}", point: "{point}"}
        """, context, registry)
    assert list(topo.containers) == ["rec_A_1", "rec_A_2", "rec_A_3",
                                     "rec_B_1", "rec_B_2", "rec_B_3"]
    rec = topo.containers["rec_B_2"]
    assert isinstance(rec, Record)
    assert rec.args == {"symbol": "B", "point": {"id": 2}}


def test_a_later_loop_variable_may_use_an_earlier_one_and_lists_may_be_literal(
        registry: Registry) -> None:
    context = {"config": {}, "groups": [{"g": "x", "members": [1, 2]}, {"g": "y", "members": [3]}]}
    topo = build("""
        name: nested
        containers:
          - name: "rec_{group.g}{member}_{side}"
            type: record
            foreach: {group: groups, member: group.members, side: [long, short]}
        """, context, registry)
    assert list(topo.containers) == ["rec_x1_long", "rec_x1_short", "rec_x2_long",
                                     "rec_x2_short", "rec_y3_long", "rec_y3_short"]


def test_foreach_over_an_empty_list_makes_no_container(registry: Registry) -> None:
    topo = build("""
        name: empty
        containers:
          - {name: "rec_{s}", type: record, foreach: {s: data.symbols}}
          - {name: keep, type: record}
        """, {"config": {}, "data": {"symbols": []}}, registry)
    assert list(topo.containers) == ["keep"]


# -- templates and lookups -----------------------------------------------------------


class Window(msgspec.Struct, frozen=True):
    window: int = 20


def test_a_whole_reference_keeps_its_type_and_a_partial_one_is_text(registry: Registry) -> None:
    context = {"config": {}, "n": 3, "point": {"ratio": 0.5, "tags": ["a"]}, "settings": Window()}
    topo = build("""
        name: types
        containers:
          - name: rec
            type: record
            args:
              count: "{n}"
              point: "{point}"
              ratio: "{point.ratio}"
              first_tag: "{point.tags.0}"
              window: "{settings.window}"
              label: "n={n}, r={point.ratio}"
              nested: {inner: ["{n}", "x{n}"]}
              path: "{{symbol}}.csv"
              literal: 5
        """, context, registry)
    assert topo.containers["rec"].args == {  # type: ignore[attr-defined]
        "count": 3, "point": {"ratio": 0.5, "tags": ["a"]}, "ratio": 0.5, "first_tag": "a",
        "window": 20, "label": "n=3, r=0.5", "nested": {"inner": [3, "x3"]},
        "path": "{symbol}.csv", "literal": 5}


class RoutesConfig(msgspec.Struct, frozen=True):
    capacity: int = 8


class StudyConfig(msgspec.Struct, frozen=True):
    routes: RoutesConfig = RoutesConfig()
    strategy: Window = Window(window=30)


@pytest.mark.parametrize("config", [
    {"routes": {"capacity": 8}, "strategy": {"window": 30}},
    StudyConfig(),
], ids=["mapping", "struct"])
def test_from_config_reads_a_mapping_or_a_struct_and_falls_back_to_its_default(
        registry: Registry, config: Any) -> None:
    topo = build("""
        name: lookups
        containers:
          - name: source
            type: source
            args: {symbols: [A], count: {from_config: strategy.window}}
          - name: sink
            type: sink
        routes:
          - pipe:
              from: source.out
              to: sink.inp
              capacity: {from_config: routes.capacity, default: 64}
              name: {from_config: routes.name, default: "main"}
        """, {"config": config}, registry)
    assert topo.containers["source"].count == 30  # type: ignore[attr-defined]
    assert topo.routes[0].capacity == 8
    assert topo.routes[0].name == "main"


def test_from_context_reads_the_context_with_a_default(registry: Registry) -> None:
    topo = build("""
        name: ctx
        containers:
          - name: rec
            type: record
            args:
              symbols: {from_context: data.symbols}
              seed: {from_context: run.seed, default: 7}
        """, CONTEXT, registry)
    assert topo.containers["rec"].args == {"symbols": ["A", "B"], "seed": 7}  # type: ignore[attr-defined]


def test_from_config_without_a_default_names_the_key_the_pattern_and_the_entry(
        registry: Registry) -> None:
    with raises(ConfigError, "pattern 'lookups' (<text>:5), containers[1]",
                "from_config 'strategy.windw'", "'config.strategy' has no 'windw'",
                "did you mean 'window'?", "no default is given"):
        build("""
            name: lookups
            containers:
              - {name: a, type: record}
              - name: b
                type: record
                args: {w: {from_config: strategy.windw}}
            """, {"config": {"strategy": {"window": 3}}}, registry)


def test_a_lookup_mapping_refuses_unknown_keys(registry: Registry) -> None:
    with raises(ConfigError, "containers[0]", "unknown key 'defualt' in a from_config lookup",
                "did you mean 'default'?"):
        build("""
            name: typo
            containers:
              - {name: a, type: record, args: {w: {from_config: x, defualt: 3}}}
            """, CONTEXT, registry)


# -- globs and connect ---------------------------------------------------------------


PIPELINE = """
    name: pipeline
    containers:
      - name: "source_{symbol}"
        type: source
        foreach: {symbol: data.symbols}
        args: {symbols: ["{symbol}"], count: 4, first: "{first_ts}"}
      - name: "scale_{symbol}"
        type: scale
        foreach: {symbol: data.symbols}
        args: {factor: {from_config: scale.factor, default: 10.0}}
      - {name: sink, type: sink}
    routes:
      - connect: {from: "source_{symbol}.out", to: "scale_{symbol}.inp"}
        foreach: {symbol: data.symbols}
      - connect: {from: "scale_*.out", to: sink.inp, capacity: 2}
    """


def test_a_glob_expands_in_build_order_and_connect_picks_pipe_or_merge(registry: Registry) -> None:
    context = {"config": {}, "data": {"symbols": ["B", "A"]}, "first_ts": 0}
    topo = build(PIPELINE, context, registry)
    assert list(topo.containers) == ["source_B", "source_A", "scale_B", "scale_A", "sink"]
    pipes, merge = topo.routes[:2], topo.routes[2]
    assert [type(r) for r in pipes] == [Pipe, Pipe]
    assert [r.producers[0].address for r in pipes] == ["source_B.out", "source_A.out"]
    assert isinstance(merge, Merge) and merge.capacity == 2
    assert sorted(p.address for p in merge.producers) == ["scale_A.out", "scale_B.out"]


def test_connect_from_one_to_many_is_a_broadcast_in_build_order(registry: Registry) -> None:
    topo = build("""
        name: fan_out
        containers:
          - {name: source, type: source, args: {symbols: [A]}}
          - {name: "sink_{s}", type: sink, foreach: {s: [z, a, m]}}
        routes:
          - connect: {from: source.out, to: "sink_*.inp"}
        """, CONTEXT, registry)
    (route,) = topo.routes
    assert isinstance(route, Broadcast)
    assert [c.address for c in route.consumers] == ["sink_z.inp", "sink_a.inp", "sink_m.inp"]


def test_connect_refuses_many_to_many(registry: Registry) -> None:
    with raises(TopologyError, "routes[0]", "connect joins one to one, many to one or one to many",
                "'from' gives 2 (source_A.out, source_B.out)", "'to' gives 2"):
        build("""
            name: m2m
            containers:
              - {name: "source_{s}", type: source, foreach: {s: data.symbols}, args: {symbols: [A]}}
              - {name: "sink_{s}", type: sink, foreach: {s: data.symbols}}
            routes:
              - connect: {from: "source_*.out", to: "sink_*.inp"}
            """, CONTEXT, registry)


def test_routes_take_lists_partition_assigns_by_name_and_filter_loads_a_predicate(
        registry: Registry) -> None:
    topo = build("""
        name: split
        containers:
          - {name: source, type: source, args: {symbols: "{data.symbols}"}}
          - {name: "sink_{s}", type: sink, foreach: {s: data.symbols}}
          - {name: filtered, type: sink}
          - {name: side, type: source, args: {symbols: [A]}}
          - {name: by_function, type: sink}
          - {name: tap, type: source, args: {symbols: [A]}}
        routes:
          - partition: {from: source.out, to: ["sink_B.inp", "sink_A.inp"],
                        key: symbol, assign: {A: sink_A, B: 0}}
          - filter: {from: side.out, to: filtered.inp, symbols: "{data.symbols}"}
          - filter: {from: tap.out, to: by_function.inp, predicate: "operator:truth"}
        """, CONTEXT, registry)
    partition, filter_, by_function = topo.routes
    assert isinstance(partition, Partition) and partition.assign == {"A": 1, "B": 0}
    assert isinstance(filter_, Filter)
    assert isinstance(by_function, Filter) and by_function.predicate is operator.truth


# -- when ------------------------------------------------------------------------------


def test_when_keeps_or_drops_containers_and_routes(registry: Registry) -> None:
    context = {"config": {"debug": False}, "options": {"sink": True, "extra": False},
               "points": [{"id": 1, "on": True}, {"id": 2, "on": False}]}
    topo = build("""
        name: optional
        containers:
          - {name: source, type: source, args: {symbols: [A]}}
          - {name: sink, type: sink, when: options.sink}
          - {name: extra, type: record, when: options.extra}
          - {name: no_extra, type: record, when: not options.extra}
          - {name: debug, type: record, when: {from_config: debug, default: true}}
          - {name: "rec_{point.id}", type: record, foreach: {point: points}, when: point.on}
          - {name: "never_{x}", type: record, foreach: {x: absent.list}, when: options.extra}
        routes:
          - pipe: {from: source.out, to: sink.inp}
            when: options.sink
          - pipe: {from: source.out, to: extra.inp}
            when: options.extra
        """, context, registry)
    assert list(topo.containers) == ["source", "sink", "no_extra", "rec_1"]
    assert len(topo.routes) == 1


def test_when_with_an_unknown_name_is_an_error(registry: Registry) -> None:
    with raises(ConfigError, "containers[0]", "unknown name 'option'", "did you mean 'options'?"):
        build("""
            name: w
            containers:
              - {name: a, type: record, when: option.sink}
            """, {"config": {}, "options": {}}, registry)


# -- errors ----------------------------------------------------------------------------


def test_an_unknown_container_type_suggests_the_closest_registered_one(
        registry: Registry) -> None:
    with raises(ConfigError, "pattern 'bad_type' (<text>:4), containers[0] with symbol='A'",
                "unknown container type 'sourse' (did you mean 'source'?)",
                "(registered: nameless, not_a_container, quote_sink, record, scale, sink, source)"):
        build("""
            name: bad_type
            containers:
              - {name: "s_{symbol}", type: sourse, foreach: {symbol: data.symbols}}
            """, CONTEXT, registry)


@pytest.mark.parametrize(("entry", "parts"), [
    ('{name: "a_{s}", type: record, foreach: {s: data.symbol}}',
     ("foreach s: unknown name 'data.symbol'", "'data' has no 'symbol'",
      "did you mean 'symbols'?")),
    ('{name: "a_{s}", type: record, foreach: {s: dta.symbols}}',
     ("foreach s: unknown name 'dta'", "did you mean 'data'?", "known: config, data")),
    ('{name: "a_{s}", type: record, foreach: {s: data}}',
     ("foreach s: 'data' is a dict, expected a list",)),
    ('{name: "a_{symbl}", type: record, foreach: {symbol: data.symbols}}',
     ("with symbol='A': name: unknown name 'symbl'", "did you mean 'symbol'?")),
    ('{name: a, type: record, args: {x: ["v{data}"]}}',
     ("args.x[0]: '{data}' is a dict and cannot be part of the string 'v{data}'",)),
], ids=["foreach-key", "foreach-root", "foreach-not-list", "template", "template-mapping"])
def test_an_unknown_or_unusable_name_is_named_with_a_suggestion(
        registry: Registry, entry: str, parts: tuple[str, ...]) -> None:
    with raises(ConfigError, "pattern 'names'", "containers[0]", *parts):
        build(f"name: names\ncontainers:\n  - {entry}\n", CONTEXT, registry)


@pytest.mark.parametrize(("routes", "cls", "parts"), [
    ("pipe: {from: source.out, to: sinc.inp}", TopologyError,
     ("to 'sinc.inp': unknown container 'sinc' (did you mean 'sink'?)",
      "(containers: source, sink)")),
    ("pipe: {from: source.out, to: sink.input}", TopologyError,
     ("container 'sink' has no input port 'input' (inputs: inp)",)),
    ("pipe: {from: source.out, to: proc_*.inp}", TopologyError,
     ("to 'proc_*.inp' matches no container (containers: source, sink)",)),
    ("pipe: {from: source.out, to: '*.inp'}", TopologyError,
     ("a pipe route takes exactly one target; 'to' gives 2 (source.inp, sink.inp)",)),
    ("merge: {from: source.out, to: [sink.inp, source.out]}", TopologyError,
     ("a merge route takes exactly one target; 'to' gives 2 (sink.inp, source.out)",)),
    ("broadcast: {from: [source.out, source.out], to: sink.inp}", TopologyError,
     ("a broadcast route takes exactly one source; 'from' gives 2",)),
    ("pipe: {from: source.out, to: sink.inp, capacty: 3}", ConfigError,
     ("unknown key 'capacty' in a pipe route (did you mean 'capacity'?)",)),
    ("pipe: {from: source.out, to: sink.inp, symbols: [A]}", ConfigError,
     ("unknown key 'symbols' in a pipe route", "allowed: from, to, capacity")),
    ("pipe: {from: source.out, to: sink.inp, capacity: '8'}", ConfigError,
     ("capacity must be a positive integer, got '8'",)),
    ("pipe: {from: source.out}", ConfigError, ("a pipe route needs 'to'",)),
    ("pipe: {from: source, to: sink.inp}", ConfigError,
     ("'from' must be 'container.port' or a list of them, got 'source'",)),
    ("{pipe: {from: source.out, to: sink.inp}, merge: {from: source.out, to: sink.inp}}",
     ConfigError, ("exactly one kind", "given: 'pipe' and 'merge'")),
    ("{pipes: {from: source.out, to: sink.inp}}", ConfigError,
     ("unknown key 'pipes' in a route entry (did you mean 'pipe'?)",)),
    ("filter: {from: source.out, to: sink.inp}", TopologyError,
     ("needs exactly one of predicate= or symbols=",)),
    ("partition: {from: source.out, to: sink.inp, assign: {A: snk}}", TopologyError,
     ("assign 'A': 'snk' is not a target of this route (did you mean 'sink'?)",)),
], ids=["unknown-container", "unknown-port", "glob-nothing", "glob-two", "merge-arity",
        "broadcast-arity", "option-typo", "option-of-other-kind", "capacity-type", "missing-to",
        "no-port", "two-kinds", "kind-typo", "filter-without-symbols", "assign-unknown"])
def test_a_bad_route_names_the_pattern_the_entry_and_the_problem(
        registry: Registry, routes: str, cls: type[AdmfError], parts: tuple[str, ...]) -> None:
    entry = routes if routes.startswith("{") else "{" + routes + "}"
    text = ("name: routes\ncontainers:\n  - {name: source, type: source, args: {symbols: [A]}}\n"
            f"  - {{name: sink, type: sink}}\nroutes:\n  - {entry}\n")
    with raises(cls, "pattern 'routes' (<text>:6), routes[0]", *parts):
        build(text, CONTEXT, registry)


def test_a_route_between_disagreeing_types_names_the_entry_and_both_ports(
        registry: Registry) -> None:
    with raises(TopologyError, "routes[0]", "output source.out sends Tick",
                "input sink.inp accepts Quote"):
        build("""
            name: types
            containers:
              - {name: source, type: source, args: {symbols: [A]}}
              - {name: sink, type: quote_sink}
            routes:
              - pipe: {from: source.out, to: sink.inp}
            """, CONTEXT, registry)


@pytest.mark.parametrize(("containers", "cls", "parts"), [
    ("{name: a, type: record, agrs: {}}", ConfigError,
     ("unknown key 'agrs' in a container entry (did you mean 'args'?)",)),
    ("{name: a}", ConfigError, ("a container entry needs a 'type' string",)),
    ("{name: a, type: record, args: {name: b}}", ConfigError, ("args may not set 'name'",)),
    ("{name: a, type: record, when: 'x or y'}", ConfigError, ("when must be a dotted name",)),
    ("{name: a, type: record, foreach: {1x: [1]}}", ConfigError,
     ("foreach variable '1x' is not an identifier",)),
    ("{name: 'a_{s}', type: record, foreach: {s: [1, 1]}}", TopologyError,
     ("with s=1", "two containers are named 'a_1'")),
    ("{name: a, type: source, args: {symbol: A}}", ConfigError,
     ("container type 'source' refused 'a'", "unexpected keyword argument 'symbol'")),
    ("{name: a, type: nameless}", ConfigError,
     ("container type 'nameless' named its container 'other', not 'a'",)),
    ("{name: a, type: not_a_container}", ConfigError,
     ("container type 'not_a_container' returned object, not a Container",)),
], ids=["key-typo", "no-type", "name-in-args", "bad-when", "bad-variable", "duplicate-name",
        "factory-refuses", "factory-renames", "factory-not-container"])
def test_a_bad_container_entry_names_the_pattern_the_entry_and_the_problem(
        registry: Registry, containers: str, cls: type[AdmfError], parts: tuple[str, ...]) -> None:
    with raises(cls, "pattern 'entries' (<text>:3), containers[0]", *parts):
        build(f"name: entries\ncontainers:\n  - {containers}\n", CONTEXT, registry)


@pytest.mark.parametrize(("text", "parts"), [
    ("name: p\ncontainers: [{name: a, type: record}]\nroute: []\n",
     ("pattern 'p' (<text>)", "unknown key 'route' in a pattern (did you mean 'routes'?)")),
    ("name: p\ncontainers: []\n", ("a pattern needs a non-empty 'containers' list",)),
    ("containers: [{name: a, type: record}]\n", ("a pattern needs a 'name' string",)),
    ("name: p\ncontainers:\n  - {name: a, type: record, type: sink}\n",
     ("<text>:3: duplicate key 'type'",)),
    ("name: p\ncontainers: [\n", ("<text>:", "malformed YAML")),
    ("- just a list\n", ("a pattern is a mapping",)),
], ids=["top-key-typo", "no-containers", "no-name", "duplicate-key", "malformed", "not-mapping"])
def test_a_malformed_pattern_is_refused_when_loaded(text: str, parts: tuple[str, ...]) -> None:
    with raises(ConfigError, *parts):
        Pattern.load(text)


def test_an_unconnected_required_input_names_the_pattern(registry: Registry) -> None:
    with raises(TopologyError, "pattern 'open' (<text>)",
                "required input sink.inp is not connected"):
        build("name: open\ncontainers: [{name: sink, type: sink}]\n", CONTEXT, registry)


# -- loading ---------------------------------------------------------------------------


def test_a_pattern_file_error_names_the_file_and_line(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "lined.yaml"
    path.write_text("containers:\n  - {name: a, type: record}\n\n  - {name: b, type: recrod}\n")
    pattern = Pattern.load(path)
    assert pattern.name == "lined"  # the file's stem when the pattern has no name
    with raises(ConfigError, f"pattern 'lined' ({path}:4), containers[1]",
                "unknown container type 'recrod' (did you mean 'record'?)"):
        pattern.build(CONTEXT, registry=registry)
    assert Pattern.load(str(path)).source == str(path)


def test_load_pattern_searches_user_directories_in_order(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        directory.mkdir()
        (directory / "shared.yaml").write_text(
            f"name: shared\ndescription: from {directory.name}\n"
            "containers: [{name: a, type: record}]\n")
    (second / "only_second.yaml").write_text("name: x\ncontainers: [{name: a, type: record}]\n")
    assert load_pattern("shared", search_paths=(first, second)).description == "from first"
    assert load_pattern("only_second", search_paths=[first, second]).name == "x"
    assert load_pattern(str(second / "shared.yaml")).description == "from second"
    found = available_patterns((first, second))
    assert found["shared"] == str(first / "shared.yaml")
    assert found["only_second"] == str(second / "only_second.yaml")
    with raises(ConfigError, "unknown pattern 'sharde' (did you mean 'shared'?)",
                str(first), "admf/patterns (built-in)"):
        load_pattern("sharde", search_paths=(first, second))


def test_user_directories_shadow_the_built_in_patterns(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builtin, user = tmp_path / "builtin", tmp_path / "user"
    for directory, names in ((builtin, ("common", "builtin_only")), (user, ("common",))):
        directory.mkdir()
        for name in names:
            (directory / f"{name}.yaml").write_text(
                f"name: {name}\ndescription: {directory.name}\n"
                "containers: [{name: a, type: record}]\n")
    monkeypatch.setattr(patterns, "_builtin_dir", lambda: builtin)
    assert load_pattern("common", search_paths=(user,)).description == "user"
    assert load_pattern("common").description == "builtin"
    assert load_pattern("builtin_only", search_paths=(user,)).description == "builtin"
    assert sorted(available_patterns((user,))) == ["builtin_only", "common"]


def test_the_built_in_pattern_directory_is_inside_the_package() -> None:
    import admf

    builtin = Path(str(patterns._builtin_dir()))
    assert builtin == Path(admf.__file__).parent / "patterns"
    assert (builtin / "backtest.yaml").is_file()


def test_check_builds_and_validates_without_running(registry: Registry) -> None:
    context = {"config": {}, "data": {"symbols": ["A"]}, "first_ts": 0}
    order = Pattern.load(textwrap.dedent(PIPELINE)).check(context, registry=registry)
    assert order == ["source_A", "scale_A", "sink"]


# -- end to end ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_built_pattern_runs_and_the_data_arrives(
        registry: Registry, anyio_backend: str) -> None:
    context = {"config": {"scale": {"factor": 2.0}}, "data": {"symbols": ["A", "B", "C"]},
               "first_ts": 100}
    topo = build(PIPELINE, context, registry)
    result = await run_topology(topo)
    seen = result.collected["sink"]
    assert len(seen) == 12
    assert [t.ts for t in seen] == sorted(t.ts for t in seen)  # merged by event time
    assert [(t.ts, t.symbol, t.value) for t in seen[:3]] == [
        (100, "A", 0.0), (100, "B", 0.0), (100, "C", 0.0)]
    assert {t.value for t in seen} == {0.0, 2.0, 4.0, 6.0}  # scaled by from_config factor


@pytest.mark.anyio
async def test_a_partition_and_filter_pattern_routes_each_symbol_to_its_sink(
        registry: Registry, anyio_backend: str) -> None:
    topo = build("""
        name: split
        containers:
          - {name: source, type: source, args: {symbols: [A, B, C], count: 5}}
          - {name: "sink_{s}", type: sink, foreach: {s: data.symbols}}
          - {name: others, type: sink}
          - {name: tap, type: source, args: {symbols: [A, C], count: 2}}
        routes:
          - partition: {from: source.out, to: "sink_*.inp", key: symbol,
                        assign: {A: sink_A, B: sink_B, C: sink_B}}
          - filter: {from: tap.out, to: others.inp, symbols: [C]}
        """, CONTEXT, registry)
    result = await run_topology(topo)
    assert {t.symbol for t in result.collected["sink_A"]} == {"A"}
    assert len(result.collected["sink_A"]) == 5
    assert [t.symbol for t in result.collected["sink_B"]] == ["B", "C"] * 5
    assert [(t.ts, t.symbol) for t in result.collected["others"]] == [(0, "C"), (1, "C")]
