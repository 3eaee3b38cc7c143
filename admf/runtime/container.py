"""The container: an async actor with typed ports and a six-stage lifecycle.

Subclasses declare ports in ``__init__`` (:meth:`Container.add_input`,
:meth:`Container.add_output`) and override the ``on_*`` hooks. The sequencer
drives the public stage methods, which check the transition table and then
call the hook. A container is single-use: one run through the lifecycle.
"""

from __future__ import annotations

import enum
from typing import Any

from ..errors import IllegalTransition
from ..routes import InputPort, OutputPort

__all__ = ("Container", "State", "Stage", "Role", "TRANSITIONS")


class State(enum.Enum):
    """The last stage a container has *entered* (whether or not it succeeded;
    a failure is recorded in :attr:`Container.failed_stage`)."""

    CREATED = "created"
    INITIALIZED = "initialized"
    STARTED = "started"
    EXECUTED = "executed"
    COLLECTED = "collected"
    STOPPED = "stopped"
    CLEANED = "cleaned"


class Stage(enum.Enum):
    """The six lifecycle stages, in the order the sequencer runs them."""

    INITIALIZE = "initialize"
    START = "start"
    EXECUTE = "execute"
    COLLECT = "collect"
    STOP = "stop"
    CLEANUP = "cleanup"


class Role(enum.Enum):
    """Derived from the ports: no inputs -> source; no outputs -> sink."""

    SOURCE = "source"
    PROCESSOR = "processor"
    SINK = "sink"
    STANDALONE = "standalone"


_S, _T = State, Stage
TRANSITIONS: dict[tuple[State, Stage], State] = {
    (_S.CREATED, _T.INITIALIZE): _S.INITIALIZED,
    (_S.INITIALIZED, _T.START): _S.STARTED,
    (_S.STARTED, _T.EXECUTE): _S.EXECUTED,
    (_S.EXECUTED, _T.COLLECT): _S.COLLECTED,
    # stop: after a full run, or early when the run failed part-way
    **{(s, _T.STOP): _S.STOPPED
       for s in (_S.INITIALIZED, _S.STARTED, _S.EXECUTED, _S.COLLECTED)},
    # cleanup: always, once, from any state a run can leave a container in
    **{(s, _T.CLEANUP): _S.CLEANED
       for s in (_S.INITIALIZED, _S.STARTED, _S.EXECUTED, _S.COLLECTED, _S.STOPPED)},
}
"""Legal lifecycle moves: ``(state, stage) -> next state``."""


_NAME_UNSAFE = frozenset(".%*?[]/\\ ")
"""Characters a container name cannot hold as they are: ``.`` separates the
port in ``container.port``, ``* ? [ ]`` are globs in routes and tracing rules,
``%`` is the escape itself (so escaping stays injective)."""


def safe_name(text: str) -> str:
    """``text`` as a piece of a container name: every unsafe or control
    character percent-encoded (``BRK.B`` -> ``BRK%2EB``, ``BTC/USD`` ->
    ``BTC%2FUSD``). Different texts never give the same name."""
    if all(c not in _NAME_UNSAFE and c.isprintable() for c in text):
        return text
    return "".join(c if c not in _NAME_UNSAFE and c.isprintable()
                   else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


class Container:
    """Base class of every actor in a topology."""

    def __init__(self, name: str) -> None:
        if not name or "." in name:
            raise ValueError(f"container name must be non-empty and contain no '.': {name!r}")
        self.name = name
        self.inputs: dict[str, InputPort] = {}
        self.outputs: dict[str, OutputPort] = {}
        self.state = State.CREATED
        self.failed_stage: Stage | None = None
        self.tracer: Any = None
        """Set by a debug-level tracer; see :meth:`trace`."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.state.value}>"

    # -- ports ---------------------------------------------------------------

    def add_input(self, name: str, type_: Any, *, required: bool = True) -> InputPort:
        """Declare an input port accepting ``type_`` (a message class or union)."""
        self._check_port_name(name)
        port = self.inputs[name] = InputPort(self.name, name, type_, required=required)
        return port

    def add_output(self, name: str, type_: Any) -> OutputPort:
        """Declare an output port sending ``type_`` (a message class or union)."""
        self._check_port_name(name)
        port = self.outputs[name] = OutputPort(self.name, name, type_)
        return port

    def _check_port_name(self, name: str) -> None:
        if name in self.inputs or name in self.outputs:
            raise ValueError(f"container {self.name!r} already has a port named {name!r}")

    @property
    def role(self) -> Role:
        if not self.inputs:
            return Role.SOURCE if self.outputs else Role.STANDALONE
        return Role.SINK if not self.outputs else Role.PROCESSOR

    def trace(self, kind: str, **fields: Any) -> None:
        """Record a container-specific event when traced at debug level."""
        if self.tracer is not None:
            self.tracer.record(self.name, kind, **fields)

    # -- lifecycle driver (called by the sequencer) --------------------------

    def _enter(self, stage: Stage) -> None:
        try:
            self.state = TRANSITIONS[(self.state, stage)]
        except KeyError:
            raise IllegalTransition(
                f"container {self.name!r} cannot {stage.value} from state {self.state.value!r}"
            ) from None

    async def _run_stage(self, stage: Stage, hook: Any) -> Any:
        self._enter(stage)
        try:
            return await hook()
        except BaseException:
            self.failed_stage = stage
            raise

    async def initialize(self) -> None:
        await self._run_stage(Stage.INITIALIZE, self.on_initialize)

    async def start(self) -> None:
        await self._run_stage(Stage.START, self.on_start)

    async def execute(self) -> None:
        """Run :meth:`on_execute`; close the outputs (end of stream
        downstream) as soon as it returns, then drain what is left on the
        inputs until the producers end, so no producer blocks on (or sends
        into) a consumer that finished early. However it ends, every port is
        closed afterwards."""
        try:
            await self._run_stage(Stage.EXECUTE, self.on_execute)
            for output in self.outputs.values():
                output.close()
            for input_ in self.inputs.values():
                await input_.drain()
        finally:
            self.close_ports()

    async def collect(self) -> Any:
        return await self._run_stage(Stage.COLLECT, self.on_collect)

    async def stop(self) -> None:
        await self._run_stage(Stage.STOP, self.on_stop)

    async def cleanup(self) -> None:
        try:
            await self._run_stage(Stage.CLEANUP, self.on_cleanup)
        finally:
            self.close_ports()

    def close_ports(self) -> None:
        for output in self.outputs.values():
            output.close()
        for input_ in self.inputs.values():
            input_.close()

    # -- hooks (override) ----------------------------------------------------

    async def on_initialize(self) -> None:
        """Acquire resources and validate settings. Runs concurrently with the
        other containers' initialize."""

    async def on_start(self) -> None:
        """Last preparation before messages flow (every container has
        initialized; none is executing yet)."""

    async def on_execute(self) -> None:
        """The run loop: sources produce, processors and sinks consume their
        inputs until end of stream. Returning ends this container's outputs."""

    async def on_collect(self) -> Any:
        """Return what this container produced (metrics, tables, ...)."""
        return None

    async def on_stop(self) -> None:
        """Stop producing; called in reverse topological order."""

    async def on_cleanup(self) -> None:
        """Release resources; called once, always, even after a failure or a
        cancellation (shielded)."""
