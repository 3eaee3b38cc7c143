"""Workflows: phases run in dependency order, passing real results along.

The coordinator knows nothing about backtests: it is given ``run_phase``, an
async function that runs one phase's study into a phase directory and returns
its outputs (metrics, best parameters, aggregates). It

- orders phases by ``depends_on`` (independent ones run concurrently; an
  ``else`` target waits for the phase whose branch it is);
- stores each phase's outputs as a ``PhaseOutput`` event in the workflow's
  event store, and builds every later phase's context by *querying* that
  store, so what a phase sees is exactly what was recorded;
- resolves references like ``"{explore.best_params}"`` in a phase's config;
- evaluates ``when`` (skip the phase, run its ``else`` phases instead) and
  ``repeat: {while, max, modify}`` with the safe expression language of
  :mod:`admf.research.expressions` (never ``eval``);
- skips a phase whose dependency was skipped, saying why.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import msgspec

from ...errors import ConfigError
from ...messages import PhaseOutput
from ...runtime.tracing import EventStore, query
from ..config import PhaseConfig, StudyConfig, WorkflowConfig, load_config, to_dict
from ..config.workflow import PHASE_REFERENCE
from ..expressions import evaluate, render_template

__all__ = ("PhaseResult", "Coordinator", "RunPhase")

RunPhase = Callable[[StudyConfig, str], Awaitable[tuple[dict[str, Any], Any]]]
"""``run_phase(study, directory) -> (outputs, result)``."""



class PhaseResult(msgspec.Struct, kw_only=True):
    """How one phase ended: ``ran``, ``skipped`` (with the reason)."""

    name: str
    status: str
    reason: str | None = None
    iterations: int = 0
    outputs: dict[str, Any] | None = None
    result: Any = None
    seconds: float = 0.0
    directories: list[str] = msgspec.field(default_factory=list)

    def __repr__(self) -> str:
        return f"PhaseResult({self.name!r}, {self.status}, iterations={self.iterations})"


class Coordinator:
    """Runs one workflow once (see the module docstring)."""

    def __init__(self, workflow: WorkflowConfig, run_phase: RunPhase, events: EventStore,
                 workflow_id: str) -> None:
        self.workflow = workflow
        self.run_phase = run_phase
        self.events = events
        self.workflow_id = workflow_id
        self.phases = {p.name: p for p in workflow.phases}
        self.branch_of = {target: p.name for p in workflow.phases for target in p.else_}
        self.results: dict[str, PhaseResult] = {}
        self.resolved: dict[str, StudyConfig] = {}
        self._done = {name: anyio.Event() for name in self.phases}
        self._failure: Exception | None = None

    async def run(self) -> dict[str, PhaseResult]:
        """Run every phase; the first phase to fail stops the others and its
        error (not a group of them) is raised."""
        async with anyio.create_task_group() as tg:
            for name in self.phases:
                tg.start_soon(self._phase, name, tg.cancel_scope, name=f"phase {name}")
        if self._failure is not None:
            raise self._failure
        return {name: self.results[name] for name in self.phases}

    async def _phase(self, name: str, scope: anyio.CancelScope) -> None:
        try:
            self.results[name] = await self._decide(name)
        except Exception as exc:  # noqa: BLE001 - re-raised by run()
            if self._failure is None:
                self._failure = exc
            scope.cancel()
        finally:
            self._done[name].set()

    async def _decide(self, name: str) -> PhaseResult:
        phase = self.phases[name]
        waits = [*phase.depends_on, *([self.branch_of[name]] if name in self.branch_of else [])]
        for other in waits:
            await self._done[other].wait()
        for other in phase.depends_on:
            done = self.results.get(other)
            if done is None or done.status != "ran":
                return self._skip(name, f"its dependency {other!r} did not run")
        owner = self.branch_of.get(name)
        if owner is not None:
            decided = self.results.get(owner)
            if decided is None or decided.reason != "condition false":
                why = ("whose condition held" if decided is not None and decided.status == "ran"
                       else "which did not run")
                return self._skip(name, f"it is the else branch of {owner!r}, {why}")
        context = self.context()
        if phase.when is not None and not evaluate(phase.when, context):
            return self._skip(name, "condition false")
        return await self._run(phase, context)

    def _skip(self, name: str, reason: str) -> PhaseResult:
        self.events.append("PhaseSkipped", workflow_id=self.workflow_id, phase=name, reason=reason)
        return PhaseResult(name=name, status="skipped", reason=reason)

    def context(self) -> dict[str, Any]:
        """Each phase's latest outputs, read back from the event store."""
        out: dict[str, Any] = {}
        for event in query(self.events, "PhaseOutput", workflow_id=self.workflow_id):
            outputs = event["outputs"]
            # JSON stores an undefined metric (NaN) as null: make it NaN again, so
            # "sharpe_ratio > 0.5" is false rather than an error
            outputs["metrics"] = _nan_for_null(outputs.get("metrics"))
            out[event["phase"]] = outputs
        return out

    async def _run(self, phase: PhaseConfig, context: dict[str, Any]) -> PhaseResult:
        started = time.perf_counter()
        study = self.study_of(phase, context)
        repeat = phase.repeat
        directories: list[str] = []
        iteration = 0
        while True:
            iteration += 1
            directory = phase.name if iteration == 1 else f"{phase.name}-{iteration}"
            outputs, result = await self.run_phase(study, directory)
            directories.append(directory)
            record = PhaseOutput(ts=time.time_ns(), workflow_id=self.workflow_id,
                                 phase=phase.name, outputs=outputs)
            self.events.append("PhaseOutput", iteration=iteration, directory=directory,
                               **msgspec.structs.asdict(record))
            self.resolved[phase.name] = study
            if repeat is None or iteration >= repeat.max:
                break
            context = self.context()
            if not evaluate(repeat.while_, context):
                break
            study = self._modified(study, repeat.modify, context, phase.name)
        return PhaseResult(name=phase.name, status="ran", iterations=iteration,
                           outputs=self.context()[phase.name], result=result,
                           seconds=time.perf_counter() - started, directories=directories)

    def study_of(self, phase: PhaseConfig, context: Mapping[str, Any]) -> StudyConfig:
        """The phase as a plain study: references to phase outputs resolved,
        strategies inherited when it has none, workflow-only keys dropped."""
        tree = to_dict(phase)
        for key in ("depends_on", "when", "else", "repeat"):
            tree.pop(key, None)
        if not tree.get("strategies"):
            tree["strategies"] = self._inherited_strategies(phase)
        tree = _resolve(tree, context, set(self.phases), phase.name)
        study = load_config(tree)
        if not isinstance(study, StudyConfig):  # pragma: no cover - a phase has no phases
            raise ConfigError(f"phase {phase.name!r} did not resolve to a study")
        return study

    def _inherited_strategies(self, phase: PhaseConfig) -> list[dict[str, Any]]:
        for other in phase.depends_on:
            if other in self.resolved:
                return [to_dict(s) for s in self.resolved[other].strategies]
        raise ConfigError(f"phase {phase.name!r} has no strategies and none of "
                          f"{list(phase.depends_on)} ran to lend it theirs")

    def _modified(self, study: StudyConfig, modify: Mapping[str, Any],
                  context: Mapping[str, Any], name: str) -> StudyConfig:
        """``study`` with each ``modify`` key set to its (rendered) value; a
        template sees the phase's current config keys and the phase outputs."""
        tree = to_dict(study)
        scope = {**context, **tree}
        for path, value in modify.items():
            new = render_template(value, scope) if isinstance(value, str) else value
            _set(tree, path.split("."), new, name)
        changed = load_config(tree)
        assert isinstance(changed, StudyConfig)
        return changed


def _nan_for_null(value: Any) -> Any:
    if value is None:
        return math.nan
    if isinstance(value, dict):
        return {k: _nan_for_null(v) for k, v in value.items()}
    return value


def _resolve(value: Any, context: Mapping[str, Any], phases: set[str], where: str) -> Any:
    """Render every string that refers to a phase (``{explore.…}``); other
    placeholders such as ``{symbol}`` in a data path are left alone."""
    if isinstance(value, dict):
        return {k: _resolve(v, context, phases, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, context, phases, where) for v in value]
    if isinstance(value, str):
        names = set(PHASE_REFERENCE.findall(value))
        if names & phases:
            missing = sorted(n for n in names & phases if n not in context)
            if missing:
                raise ConfigError(f"phase {where!r} refers to {missing}, which has no outputs "
                                  "(add it to depends_on)")
            return render_template(value, context)
    return value


def _set(tree: dict[str, Any], keys: list[str], value: Any, phase: str) -> None:
    node = tree
    for key in keys[:-1]:
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"phase {phase!r}: repeat.modify {'.'.join(keys)!r}: "
                              f"{key!r} is not a mapping")
        node = child
    node[keys[-1]] = value
