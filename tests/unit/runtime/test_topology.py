"""Building and validating a topology: every error names the place."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pytest

from admf.errors import AdmfError, TopologyError
from admf.routes import Broadcast, Merge, Partition, Pipe
from admf.runtime.container import Container
from admf.runtime.topology import Topology


class Tick(msgspec.Struct, frozen=True, tag=True):
    ts: int
    symbol: str = "A"


class Quote(msgspec.Struct, frozen=True, tag=True):
    ts: int
    symbol: str = "A"


class Node(Container):
    """A container with the ports it is told to have."""

    def __init__(self, name: str, *, inp: Any = None, out: Any = None,
                 required: bool = True) -> None:
        super().__init__(name)
        if inp is not None:
            self.add_input("inp", inp, required=required)
        if out is not None:
            self.add_output("out", out)


def chain(*names: str) -> Topology:
    """``names[0] -> names[1] -> ...``, every node a processor of Tick."""
    topo = Topology("t")
    topo.add(*(Node(n, inp=Tick, out=Tick) for n in names))
    for a, b in zip(names, names[1:]):
        topo.pipe(f"{a}.out", f"{b}.inp")
    return topo


def raises_topology(message: str) -> Any:
    """Expect a TopologyError whose message is exactly ``message``."""
    return pytest.raises(TopologyError, match=f"^{re.escape(message)}$")


# -- types -----------------------------------------------------------------------


def test_connecting_an_output_to_an_input_of_another_type_names_both_ports_and_types() -> None:
    topo = Topology("t").add(Node("src", out=Tick), Node("dst", inp=Quote))
    with raises_topology("pipe route 'pipe:src.out->dst.inp': output src.out sends Tick "
                         "but input dst.inp accepts Quote"):
        topo.pipe("src.out", "dst.inp")
    assert topo.routes == []


def test_a_union_typed_input_accepts_a_member_type() -> None:
    topo = Topology("t").add(Node("src", out=Tick), Node("dst", inp=Tick | Quote))
    route = topo.pipe("src.out", "dst.inp")
    assert isinstance(route, Pipe)
    assert route.types == (Tick,)
    assert [c.name for c in topo.validate()] == ["src", "dst"]


def test_a_union_output_into_a_member_typed_input_is_refused() -> None:
    topo = Topology("t").add(Node("src", out=Tick | Quote), Node("dst", inp=Tick))
    with raises_topology("pipe route 'pipe:src.out->dst.inp': output src.out sends Tick | Quote "
                         "but input dst.inp accepts Tick"):
        topo.pipe("src.out", "dst.inp")


def test_a_route_type_narrower_than_its_producer_is_refused() -> None:
    topo = Topology("t").add(Node("src", out=Tick | Quote), Node("dst", inp=Tick | Quote))
    with raises_topology("pipe route 'pipe:src.out->dst.inp': output src.out sends Tick | Quote "
                         "but the route carries Tick"):
        topo.pipe("src.out", "dst.inp", type=Tick)


def test_a_route_type_wider_than_its_consumer_is_refused() -> None:
    topo = Topology("t").add(Node("src", out=Tick), Node("dst", inp=Tick))
    with raises_topology("pipe route 'pipe:src.out->dst.inp': output src.out sends Tick | Quote "
                         "but input dst.inp accepts Tick"):
        topo.pipe("src.out", "dst.inp", type=Tick | Quote)


def test_a_broadcast_names_the_consumer_that_disagrees() -> None:
    topo = Topology("t").add(Node("src", out=Tick), Node("a", inp=Tick), Node("b", inp=Quote))
    with raises_topology("broadcast route 'broadcast:src.out->a.inp,b.inp': output src.out "
                         "sends Tick but input b.inp accepts Quote"):
        topo.broadcast("src.out", ["a.inp", "b.inp"])


def test_a_merge_names_the_producer_that_disagrees() -> None:
    topo = Topology("t").add(Node("a", out=Tick), Node("b", out=Quote), Node("dst", inp=Tick))
    with raises_topology("merge route 'merge:a.out,b.out->dst.inp': output a.out, b.out "
                         "sends Tick | Quote but input dst.inp accepts Tick"):
        topo.merge(["a.out", "b.out"], "dst.inp")


# -- graph shape ---------------------------------------------------------------


def test_validate_returns_topological_order_not_insertion_order() -> None:
    topo = Topology("t").add(Node("c", inp=Tick), Node("a", out=Tick),
                             Node("b", inp=Tick, out=Tick), Node("lone"))
    topo.pipe("b.out", "c.inp")
    topo.pipe("a.out", "b.inp")
    assert [c.name for c in topo.validate()] == ["a", "lone", "b", "c"]


def test_a_cycle_is_refused_with_the_loop_spelled_out() -> None:
    topo = chain("a", "b", "c")
    topo.pipe("c.out", "a.inp")
    with raises_topology("topology 't' has a cycle: a -> b -> c -> a; mark one of its routes "
                         "feedback=True if the loop is intended"):
        topo.validate()


def test_a_cycle_off_the_sources_is_named_without_the_sources() -> None:
    topo = Topology("t").add(Node("src", out=Tick), Node("x", inp=Tick | Quote, out=Quote),
                             Node("y", inp=Quote, out=Quote))
    topo.pipe("src.out", "x.inp", type=Tick | Quote)
    topo.pipe("x.out", "y.inp")
    # x.inp is already fed, so close the loop on a second input of x
    topo["x"].add_input("back", Quote)
    topo.pipe("y.out", "x.back")
    with raises_topology("topology 't' has a cycle: x -> y -> x; mark one of its routes "
                         "feedback=True if the loop is intended"):
        topo.validate()


def test_a_feedback_route_allows_the_cycle() -> None:
    topo = chain("a", "b", "c")
    route = topo.pipe("c.out", "a.inp", feedback=True)
    assert route.feedback is True
    assert [c.name for c in topo.validate()] == ["a", "b", "c"]


def test_duplicate_container_names_are_refused() -> None:
    topo = Topology("t").add(Node("a"))
    with raises_topology("topology 't': two containers are named 'a'"):
        topo.add(Node("a"))


def test_an_unknown_container_lists_the_known_ones() -> None:
    topo = Topology("t").add(Node("b", inp=Tick), Node("a", out=Tick))
    with raises_topology("unknown container 'nope' in 'nope.out' (known: a, b)"):
        topo.pipe("nope.out", "b.inp")


def test_an_unknown_container_in_an_empty_topology() -> None:
    with raises_topology("unknown container 'a' in 'a.out' (known: none)"):
        Topology("t").pipe("a.out", "b.inp")


def test_an_unknown_output_port_lists_the_outputs() -> None:
    topo = Topology("t").add(Node("a", out=Tick), Node("b", inp=Tick))
    with raises_topology("container 'a' has no output port 'bars' (outputs: out)"):
        topo.pipe("a.bars", "b.inp")


def test_an_unknown_input_port_lists_the_inputs() -> None:
    topo = Topology("t").add(Node("a", out=Tick), Node("b", inp=Tick))
    with raises_topology("container 'b' has no input port 'bars' (inputs: inp)"):
        topo.pipe("a.out", "b.bars")


def test_an_input_used_as_a_route_source_is_not_found_among_outputs() -> None:
    topo = Topology("t").add(Node("a", inp=Tick), Node("b", inp=Tick))
    with raises_topology("container 'a' has no output port 'inp' (outputs: none)"):
        topo.pipe("a.inp", "b.inp")


def test_a_port_must_be_written_container_dot_port() -> None:
    topo = Topology("t").add(Node("a", out=Tick), Node("b", inp=Tick))
    with raises_topology("port 'a' must be written 'container.port'"):
        topo.pipe("a", "b.inp")


def test_a_port_object_of_a_foreign_container_is_refused() -> None:
    stranger = Node("x", out=Tick)
    topo = Topology("t").add(Node("b", inp=Tick))
    with raises_topology("port x.out belongs to a container not in topology 't'"):
        topo.pipe(stranger.outputs["out"], "b.inp")


def test_port_objects_work_as_endpoints() -> None:
    a, b = Node("a", out=Tick), Node("b", inp=Tick)
    topo = Topology("t").add(a, b)
    route = topo.pipe(a.outputs["out"], b.inputs["inp"])
    assert route.name == "pipe:a.out->b.inp"


def test_an_unconnected_required_input_is_refused() -> None:
    topo = Topology("t").add(Node("a", out=Tick), Node("b", inp=Tick))
    with raises_topology("required input b.inp is not connected to any output"):
        topo.validate()


def test_an_unconnected_optional_input_is_fine() -> None:
    topo = Topology("t").add(Node("b", inp=Tick, required=False))
    assert [c.name for c in topo.validate()] == ["b"]


def test_one_input_fed_by_two_routes_is_refused() -> None:
    topo = Topology("t").add(Node("a", out=Tick), Node("b", out=Tick), Node("c", inp=Tick))
    topo.pipe("a.out", "c.inp")
    with raises_topology("input c.inp is already fed by 'pipe:a.out->c.inp'; use one merge "
                         "route to bring several outputs into one input"):
        topo.pipe("b.out", "c.inp")
    assert len(topo.routes) == 1


def test_one_output_may_feed_several_routes() -> None:
    topo = Topology("t").add(Node("a", out=Tick), Node("b", inp=Tick), Node("c", inp=Tick))
    topo.pipe("a.out", "b.inp")
    topo.pipe("a.out", "c.inp")
    assert [c.name for c in topo.validate()] == ["a", "b", "c"]


def test_route_kinds_and_default_names() -> None:
    topo = Topology("t").add(Node("s", out=Tick), Node("m", out=Tick), Node("a", inp=Tick),
                             Node("b", inp=Tick), Node("c", inp=Tick), Node("d", inp=Tick))
    broadcast = topo.broadcast("s.out", ["a.inp", "b.inp"])
    partition = topo.partition("m.out", ["c.inp"], key="symbol")
    assert isinstance(broadcast, Broadcast) and isinstance(partition, Partition)
    assert broadcast.name == "broadcast:s.out->a.inp,b.inp"
    assert partition.name == "partition:m.out->c.inp"
    merge_topo = Topology("u").add(Node("z", out=Tick), Node("y", out=Tick), Node("d", inp=Tick))
    merge = merge_topo.merge(["z.out", "y.out"], "d.inp")
    assert isinstance(merge, Merge)
    # producers are ranked by address, whatever order they were given in
    assert merge.name == "merge:y.out,z.out->d.inp"


def test_a_named_route_keeps_its_name() -> None:
    topo = Topology("t").add(Node("a", out=Tick), Node("b", inp=Tick))
    assert topo.pipe("a.out", "b.inp", name="bars").name == "bars"


@pytest.mark.parametrize(
    ("connect", "message"),
    [
        (lambda t: t.pipe("a.out", "b.inp", capacity=0),
         "pipe route ['a.out'] -> ['b.inp']: route capacity must be >= 1, got 0"),
        (lambda t: t.filter("a.out", "b.inp"),
         "filter route ['a.out'] -> ['b.inp']: a filter route needs exactly one of "
         "predicate= or symbols="),
        (lambda t: t.filter("a.out", "b.inp", predicate=bool, symbols=["A"]),
         "filter route ['a.out'] -> ['b.inp']: a filter route needs exactly one of "
         "predicate= or symbols="),
        (lambda t: t.partition("a.out", ["b.inp"], assign={"A": 1}),
         "partition route ['a.out'] -> ['b.inp']: partition 'partition:a.out->b.inp': "
         "consumer indexes out of range: {'A': 1}"),
        (lambda t: t.broadcast("a.out", []),
         "a broadcast route needs at least one source and one destination"),
    ],
    ids=["capacity", "filter-neither", "filter-both", "partition-assign", "no-destination"],
)
def test_bad_route_options_are_topology_errors(connect: Any, message: str) -> None:
    topo = Topology("t").add(Node("a", out=Tick), Node("b", inp=Tick))
    with raises_topology(message):
        connect(topo)


def test_topology_error_is_an_admf_error() -> None:
    assert issubclass(TopologyError, AdmfError)
