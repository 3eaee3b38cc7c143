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
- skips a phase whose dependency was skipped, saying why; a
  ``depends_on: {any: [a, b]}`` group needs only one of them to have run
  (branches join), and ``as: name`` makes the first that ran readable as
  ``{name.…}``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import msgspec

from ...errors import ConfigError
from ...messages import PhaseOutput
from ...runtime.tracing import EventStore, query
from ..config import PhaseConfig, StudyConfig, WorkflowConfig, load_config, to_dict
from ..config.workflow import PHASE_REFERENCE, OutputConfig
from ..expressions import evaluate, render_template

__all__ = ("PhaseResult", "Coordinator", "RunPhase")

RunPhase = Callable[[StudyConfig, str], Awaitable[tuple[dict[str, Any], Any]]]
"""``run_phase(study, directory) -> (outputs, result)``."""

Publish = Callable[[str, str, OutputConfig, Any], None]
"""``publish(phase, name, spec, value)``: write a phase output's file."""



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
    joined: dict[str, str] = msgspec.field(default_factory=dict)
    """For a phase joining branches (``depends_on: {any: [...]}``): the branch taken."""
    published: dict[str, Any] = msgspec.field(default_factory=dict)
    """The phase's ``outputs:``, rendered once it had run."""

    def __repr__(self) -> str:
        return f"PhaseResult({self.name!r}, {self.status}, iterations={self.iterations})"


class Coordinator:
    """Runs one workflow once (see the module docstring)."""

    def __init__(self, workflow: WorkflowConfig, run_phase: RunPhase, events: EventStore,
                 workflow_id: str, finished: Mapping[str, dict[str, Any]] | None = None,
                 inputs: Mapping[str, Any] | None = None, publish: Publish | None = None) -> None:
        self.workflow = workflow
        self.inputs = dict(inputs or {})
        """The workflow's ``inputs:`` values, readable by every phase like outputs."""
        self.publish = publish
        self.finished = dict(finished or {})
        """Phases an interrupted execution completed (their ``PhaseDone``
        events, whose outputs are already in ``events``): not run again."""
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
        waits = [*phase.upstream, *([self.branch_of[name]] if name in self.branch_of else [])]
        for other in waits:
            await self._done[other].wait()
        for other in phase.needs:
            if not self._ran(other):
                return self._skip(name, f"its dependency {other!r} did not run")
        for group in phase.any_of:
            if not any(self._ran(other) for other in group.any):
                return self._skip(name, f"none of its dependencies {list(group.any)} ran")
        owner = self.branch_of.get(name)
        if owner is not None:
            decided = self.results.get(owner)
            if decided is None or decided.reason != "condition false":
                why = ("whose condition held" if decided is not None and decided.status == "ran"
                       else "which did not run")
                return self._skip(name, f"it is the else branch of {owner!r}, {why}")
        context = self.context(phase)
        if phase.when is not None and not evaluate(phase.when, context):
            return self._skip(name, "condition false")
        if name in self.finished:
            return self._resumed(phase)
        return await self._run(phase, context)

    def _resumed(self, phase: PhaseConfig) -> PhaseResult:
        """A phase the interrupted execution finished, read back, not rerun."""
        done = self.finished[phase.name]
        study = load_config(done["study"])
        assert isinstance(study, StudyConfig)
        self.resolved[phase.name] = study
        self.events.append("PhaseDone", **done)
        return PhaseResult(name=phase.name, status="ran", iterations=done["iterations"],
                           outputs=self.context()[phase.name], result=None,
                           directories=list(done["directories"]), joined=self.joined(phase),
                           reason="resumed: finished before the interruption",
                           published=self._published(phase))

    def _published(self, phase: PhaseConfig) -> dict[str, Any]:
        """The phase's ``outputs:`` rendered from what it (and those before it)
        recorded, each file written through ``publish``."""
        from .files import render_output

        out: dict[str, Any] = {}
        context = self.context(phase)
        for name, spec in phase.outputs.items():
            out[name] = value = render_output(f"phase {phase.name!r} outputs.{name}", spec,
                                              context)
            if spec.file and self.publish is not None:
                self.publish(phase.name, name, spec, value)
        return out

    def _ran(self, name: str) -> bool:
        done = self.results.get(name)
        return done is not None and done.status == "ran"

    def joined(self, phase: PhaseConfig) -> dict[str, str]:
        """For each ``any`` group of ``phase``: the branch it took (the first
        member that ran), keyed by the group's ``as`` name or its members."""
        out = {}
        for group in phase.any_of:
            ran = [other for other in group.any if self._ran(other)]
            if ran:
                out[group.as_ or "|".join(group.any)] = ran[0]
        return out

    def _skip(self, name: str, reason: str) -> PhaseResult:
        self.events.append("PhaseSkipped", workflow_id=self.workflow_id, phase=name, reason=reason)
        return PhaseResult(name=name, status="skipped", reason=reason)

    def context(self, phase: PhaseConfig | None = None) -> dict[str, Any]:
        """Each phase's latest outputs, read back from the event store (and,
        for ``phase``, its ``as`` names bound to the branch that ran)."""
        out: dict[str, Any] = dict(self.inputs)
        for event in query(self.events, "PhaseOutput", workflow_id=self.workflow_id):
            outputs = event["outputs"]
            # JSON stores an undefined metric (NaN) as null: make it NaN again, so
            # "sharpe_ratio > 0.5" is false rather than an error
            outputs["metrics"] = _nan_for_null(outputs.get("metrics"))
            out[event["phase"]] = outputs
        for alias, names in (phase.aliases.items() if phase is not None else ()):
            ran = [n for n in names if n in out and self._ran(n)]
            if ran:
                out[alias] = out[ran[0]]
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
            context = self.context(phase)
            if not evaluate(repeat.while_, context):
                break
            study = modified_study(study, repeat.modify, context, phase.name)
        self.events.append("PhaseDone", workflow_id=self.workflow_id, phase=phase.name,
                           iterations=iteration, directories=directories, study=to_dict(study))
        return PhaseResult(name=phase.name, status="ran", iterations=iteration,
                           outputs=self.context()[phase.name], result=result,
                           seconds=time.perf_counter() - started, directories=directories,
                           joined=self.joined(phase), published=self._published(phase))

    def study_of(self, phase: PhaseConfig, context: Mapping[str, Any]) -> StudyConfig:
        """The phase as a plain study (see :func:`phase_study`)."""
        return phase_study(phase, context, {**self.phases, **dict.fromkeys(self.inputs)},
                           self.resolved)


def phase_study(phase: PhaseConfig, context: Mapping[str, Any], phases: Mapping[str, Any],
                resolved: Mapping[str, StudyConfig]) -> StudyConfig:
    """The phase as a plain study: references to phase outputs resolved
    (``strategies: "{explore.best}"`` becomes that strategy), strategies
    inherited from the first dependency in ``resolved`` when it has none,
    workflow-only keys dropped."""
    tree = to_dict(phase)
    for key in ("depends_on", "when", "else", "repeat", "outputs"):
        tree.pop(key, None)
    if not tree.get("strategies") and not (tree.get("signals") or {}).get("select"):
        tree["strategies"] = _inherited_strategies(phase, resolved)
    names = set(phases) | set(phase.aliases)
    tree = _resolve(tree, context, names, phase.name)
    if not isinstance(tree.get("strategies", []), list):
        tree["strategies"] = [tree["strategies"]]
    study = load_config(tree)
    if not isinstance(study, StudyConfig):  # pragma: no cover - a phase has no phases
        raise ConfigError(f"phase {phase.name!r} did not resolve to a study")
    return study


def _inherited_strategies(phase: PhaseConfig, resolved: Mapping[str, StudyConfig]
                          ) -> list[dict[str, Any]]:
    for other in phase.upstream:
        if other in resolved:
            return [to_dict(s) for s in resolved[other].strategies]
    raise ConfigError(f"phase {phase.name!r} has no strategies and none of "
                      f"{list(phase.upstream)} ran to lend it theirs")


def modified_study(study: StudyConfig, modify: Mapping[str, Any],
                   context: Mapping[str, Any], name: str) -> StudyConfig:
    """``study`` with each ``modify`` key set to its (rendered) value; a
    template sees the phase's current config keys and the phase outputs.
    A key path reaches list items by index (``strategies[0].params.fast``
    or ``strategies.0.params.fast``)."""
    tree = to_dict(study)
    scope = {**context, **tree}
    for path, value in modify.items():
        try:
            new = render_template(value, scope) if isinstance(value, str) else value
        except ConfigError as exc:
            raise ConfigError(f"phase {name!r}: repeat.modify {path!r}: {exc}") from None
        _set(tree, _path_keys(path), new, name, path)
    try:
        changed = load_config(tree)
    except ConfigError as exc:
        raise ConfigError(f"phase {name!r}: repeat.modify made an invalid config: {exc}") from None
    assert isinstance(changed, StudyConfig)
    return changed


def _path_keys(path: str) -> list[str | int]:
    parts = re.sub(r"\[(\d+)\]", r".\1", path).split(".")
    return [int(p) if p.isdigit() else p for p in parts]


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


def _set(tree: dict[str, Any], keys: list[str | int], value: Any, phase: str, path: str) -> None:
    node: Any = tree
    for key, nxt in zip(keys[:-1], keys[1:]):
        node = _child(node, key, isinstance(nxt, int), phase, path)
    last = keys[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or not -len(node) <= last < len(node):
            raise ConfigError(f"phase {phase!r}: repeat.modify {path!r}: no item {last!r} in a "
                              f"list of {len(node)}")
    elif not isinstance(node, dict):
        raise ConfigError(f"phase {phase!r}: repeat.modify {path!r}: {node!r} has no keys")
    node[last] = value


def _child(node: Any, key: str | int, list_next: bool, phase: str, path: str) -> Any:
    if isinstance(node, list):
        if not isinstance(key, int) or not -len(node) <= key < len(node):
            raise ConfigError(f"phase {phase!r}: repeat.modify {path!r}: expected an index "
                              f"0..{len(node) - 1} into the list, got {key!r}")
        return node[key]
    if not isinstance(node, dict):
        raise ConfigError(f"phase {phase!r}: repeat.modify {path!r}: {node!r} has no key {key!r}")
    child = node.get(key)
    if child is None:
        child = node[key] = [] if list_next else {}
    return child
