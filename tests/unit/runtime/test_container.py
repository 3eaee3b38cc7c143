"""The container: ports, roles and the lifecycle transition table."""

from __future__ import annotations

import itertools
from typing import Any

import msgspec
import pytest

from admf.errors import AdmfError, IllegalTransition
from admf.runtime.container import TRANSITIONS, Container, Role, Stage, State

pytestmark = pytest.mark.anyio


class Tick(msgspec.Struct, frozen=True, tag=True):
    ts: int


class Hooked(Container):
    """Records every hook it runs."""

    def __init__(self, name: str = "c") -> None:
        super().__init__(name)
        self.calls: list[str] = []

    async def on_initialize(self) -> None:
        self.calls.append("initialize")

    async def on_start(self) -> None:
        self.calls.append("start")

    async def on_execute(self) -> None:
        self.calls.append("execute")

    async def on_collect(self) -> Any:
        self.calls.append("collect")
        return {"answer": 42}

    async def on_stop(self) -> None:
        self.calls.append("stop")

    async def on_cleanup(self) -> None:
        self.calls.append("cleanup")


# -- transition table ----------------------------------------------------------

LEGAL = {
    (State.CREATED, Stage.INITIALIZE): State.INITIALIZED,
    (State.INITIALIZED, Stage.START): State.STARTED,
    (State.STARTED, Stage.EXECUTE): State.EXECUTED,
    (State.EXECUTED, Stage.COLLECT): State.COLLECTED,
    (State.INITIALIZED, Stage.STOP): State.STOPPED,
    (State.STARTED, Stage.STOP): State.STOPPED,
    (State.EXECUTED, Stage.STOP): State.STOPPED,
    (State.COLLECTED, Stage.STOP): State.STOPPED,
    (State.INITIALIZED, Stage.CLEANUP): State.CLEANED,
    (State.STARTED, Stage.CLEANUP): State.CLEANED,
    (State.EXECUTED, Stage.CLEANUP): State.CLEANED,
    (State.COLLECTED, Stage.CLEANUP): State.CLEANED,
    (State.STOPPED, Stage.CLEANUP): State.CLEANED,
}
ALL_PAIRS = list(itertools.product(State, Stage))
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in LEGAL]


def test_transition_table_is_exactly_the_documented_lifecycle() -> None:
    assert TRANSITIONS == LEGAL
    assert len(ILLEGAL) == len(State) * len(Stage) - 13 == 29


@pytest.mark.parametrize(("state", "stage"), ILLEGAL, ids=lambda v: v.value)
async def test_every_pair_outside_the_table_raises(state: State, stage: Stage) -> None:
    container = Hooked()
    container.state = state
    with pytest.raises(IllegalTransition) as info:
        await getattr(container, stage.value)()
    assert str(info.value) == f"container 'c' cannot {stage.value} from state {state.value!r}"
    assert container.state is state
    assert container.calls == []
    assert container.failed_stage is None


@pytest.mark.parametrize(("state", "stage"), list(LEGAL), ids=lambda v: v.value)
async def test_every_pair_in_the_table_moves_to_its_next_state(state: State, stage: Stage) -> None:
    container = Hooked()
    container.state = state
    await getattr(container, stage.value)()
    assert container.state is LEGAL[(state, stage)]
    assert container.calls == [stage.value]


async def test_a_full_run_walks_every_state_in_order_and_calls_each_hook_once() -> None:
    container = Hooked()
    states = [container.state]
    collected = None
    for stage in Stage:
        result = await getattr(container, stage.value)()
        if stage is Stage.COLLECT:
            collected = result
        states.append(container.state)
    assert states == list(State)
    assert container.calls == [stage.value for stage in Stage]
    assert collected == {"answer": 42}


async def test_start_before_initialize_is_illegal() -> None:
    container = Hooked("early")
    with pytest.raises(IllegalTransition) as info:
        await container.start()
    assert str(info.value) == "container 'early' cannot start from state 'created'"
    assert container.calls == []


async def test_execute_twice_is_illegal() -> None:
    container = Hooked("twice")
    await container.initialize()
    await container.start()
    await container.execute()
    with pytest.raises(IllegalTransition) as info:
        await container.execute()
    assert str(info.value) == "container 'twice' cannot execute from state 'executed'"
    assert container.calls == ["initialize", "start", "execute"]


async def test_cleanup_twice_is_illegal() -> None:
    container = Hooked("once")
    await container.initialize()
    await container.cleanup()
    with pytest.raises(IllegalTransition) as info:
        await container.cleanup()
    assert str(info.value) == "container 'once' cannot cleanup from state 'cleaned'"
    assert container.calls == ["initialize", "cleanup"]


async def test_a_failing_hook_records_its_stage_and_keeps_the_entered_state() -> None:
    class Failing(Container):
        async def on_start(self) -> None:
            raise RuntimeError("boom")

    container = Failing("f")
    await container.initialize()
    with pytest.raises(RuntimeError, match="^boom$"):
        await container.start()
    assert container.state is State.STARTED
    assert container.failed_stage is Stage.START
    await container.stop()
    assert container.state is State.STOPPED


def test_illegal_transition_is_an_admf_error() -> None:
    assert issubclass(IllegalTransition, AdmfError)


# -- ports and roles -------------------------------------------------------------


def _container(inputs: int, outputs: int) -> Container:
    container = Container("c")
    for i in range(inputs):
        container.add_input(f"in{i}", Tick)
    for i in range(outputs):
        container.add_output(f"out{i}", Tick)
    return container


@pytest.mark.parametrize(
    ("inputs", "outputs", "role"),
    [
        (0, 1, Role.SOURCE),
        (0, 2, Role.SOURCE),
        (1, 1, Role.PROCESSOR),
        (2, 3, Role.PROCESSOR),
        (1, 0, Role.SINK),
        (2, 0, Role.SINK),
        (0, 0, Role.STANDALONE),
    ],
)
def test_role_is_derived_from_the_ports(inputs: int, outputs: int, role: Role) -> None:
    assert _container(inputs, outputs).role is role


def test_an_optional_input_still_makes_a_sink() -> None:
    container = Container("c")
    container.add_input("maybe", Tick, required=False)
    assert container.role is Role.SINK


def test_ports_are_named_after_their_owner() -> None:
    container = Container("strategy")
    inp = container.add_input("bars", Tick)
    out = container.add_output("signals", Tick)
    assert (inp.address, out.address) == ("strategy.bars", "strategy.signals")
    assert container.inputs == {"bars": inp}
    assert container.outputs == {"signals": out}
    assert inp.required is True


def test_a_port_name_is_used_once_across_inputs_and_outputs() -> None:
    container = Container("c")
    container.add_input("x", Tick)
    with pytest.raises(ValueError) as info:
        container.add_output("x", Tick)
    assert str(info.value) == "container 'c' already has a port named 'x'"


@pytest.mark.parametrize("name", ["", "a.b"])
def test_container_names_are_non_empty_and_dotless(name: str) -> None:
    with pytest.raises(ValueError) as info:
        Container(name)
    assert str(info.value) == f"container name must be non-empty and contain no '.': {name!r}"


def test_a_port_type_must_be_a_message_class_or_union() -> None:
    container = Container("c")
    with pytest.raises(TypeError, match=r"^not a message type: 'Tick'$"):
        container.add_input("x", "Tick")
