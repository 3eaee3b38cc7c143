"""The workflow config: phases, each a full study merged over the file's
``defaults``, with ``depends_on`` (names, or ``{any: [a, b]}`` groups that
join branches), a ``when`` condition, ``else`` branches and ``repeat``.

Condition and ``repeat`` expressions are kept as text for the workflow
engine's safe expression language; nothing here evaluates them.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import msgspec

from ...errors import ConfigError
from . import _checks as c
from ._types import key_path_problem
from .identity import config_fingerprint
from .schema import StudyConfig
from .trading import StrategyConfig

__all__ = ("AnyOf", "RepeatConfig", "OutputConfig", "PhaseConfig", "WorkflowConfig",
           "STUDY_KEYS", "PHASE_REFERENCE", "REFUSED_MODIFY", "INPUT_SUFFIXES", "OUTPUT_SUFFIXES")

INPUT_SUFFIXES = (".json", ".yaml", ".yml", ".parquet")
"""What an ``inputs:`` file may be: JSON or YAML (a value), Parquet (a table: a list of rows)."""
OUTPUT_SUFFIXES = (".json", ".parquet")
"""What an ``outputs:`` file may be: JSON (any value) or Parquet (a table)."""

_PHASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

STUDY_KEYS: tuple[str, ...] = tuple(f.encode_name for f in msgspec.structs.fields(StudyConfig))
"""The top-level keys of a study (and so of a phase and of ``defaults``)."""


REFUSED_MODIFY = {"results.dir": "a workflow writes all its iterations under one results "
                                  "directory (results/<workflow_id>/<phase>-<n>/); set "
                                  "results.dir in defaults instead",
                  "name": "a phase's name is how later phases refer to it"}
"""``repeat.modify`` keys that cannot change between iterations, and why."""


class AnyOf(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """``depends_on: {any: [a, b], as: chosen}``: the phase runs when at least
    one of ``any`` ran (the branches of a ``when``/``else`` join here). With
    ``as``, ``{chosen.…}`` in conditions and templates reads the outputs of
    the first of them (in list order) that ran."""

    _section: ClassVar[str] = "depends_on"

    any: tuple[str, ...]
    """The phases of which at least one must have run."""
    as_: str | None = msgspec.field(default=None, name="as")
    """A name for the first of them that ran, for conditions and templates."""

    def __post_init__(self) -> None:
        names = c.as_tuple(self, "any")
        if len(names) < 2:
            raise c.fail(self, "any", f"expected two or more phase names, got {list(names)!r}")
        if self.as_ is not None and not (isinstance(self.as_, str) and _PHASE_NAME.match(self.as_)):
            raise c.fail(self, "as", f"expected a name of letters, digits and _, got {self.as_!r}")


class OutputConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """``outputs: {chosen: {value: "{explore.best}", file: best.json}}``: a
    value the phase (or the workflow) publishes once it has run, rendered
    from phase outputs like a template, and optionally written to a file:
    JSON for any value, Parquet for a table (a list of rows such as
    ``{explore.table}``). A phase's files go to ``<run>/<phase>/outputs/``,
    the workflow's to ``<run>/outputs/``."""

    _section: ClassVar[str] = "outputs"

    value: str
    """A template naming a phase or an input, e.g. ``"{explore.best}"`` or
    ``"{validate.metrics.sharpe_ratio}"``."""
    file: str | None = None
    """A file name (``.json`` or ``.parquet``) under the outputs folder; none: only in the result."""

    def __post_init__(self) -> None:
        c.check_name(self, "value", self.value, "a template like '{explore.best}'")
        if not PHASE_REFERENCE.search(self.value):
            raise c.fail(self, "value", f"expected a template naming a phase or an input, like "
                                        f"'{{explore.best}}', got {self.value!r}")
        if self.file is not None:
            c.check_name(self, "file", self.file, "a file name like best.json")
            parts = re.split(r"[\\/]", self.file)
            if self.file.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", self.file) \
                    or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
                raise c.fail(self, "file", f"expected a relative file name inside the outputs "
                                           f"folder (no '..', no leading '/' or '.'), got "
                                           f"{self.file!r}")
            if not self.file.endswith(OUTPUT_SUFFIXES):
                raise c.fail(self, "file", f"expected a .json or .parquet file, got {self.file!r}")


def _check_outputs(obj: Any, outputs: dict[str, Any]) -> None:
    for name in outputs:
        if not isinstance(name, str) or not _PHASE_NAME.match(name):
            raise c.fail(obj, ("outputs", name), "expected an output name of letters, digits "
                                                 "and _")


class RepeatConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Run the phase again while ``while`` holds, at most ``max`` times in all,
    applying ``modify`` (study key path -> value or expression) before each
    repeat."""

    _section: ClassVar[str] = "repeat"

    while_: str = msgspec.field(name="while")
    """The condition to repeat on, e.g. ``"robustness.metrics.sharpe_ratio.p25 < 0"``."""
    max: int = 10
    """The most runs of the phase, the first included."""
    modify: dict[str, Any] = msgspec.field(default_factory=dict)
    """Study keys changed before each repeat: key path to a value or an expression like
    ``"{risk.stop_loss} * 1.5"``."""

    def __post_init__(self) -> None:
        c.check_name(self, "while", self.while_, "a condition expression")
        _parsed(self, "while", self.while_)
        if self.max < 1:
            raise c.fail(self, "max", f"expected an integer >= 1, got {self.max!r}")
        for key in self.modify:
            if key in REFUSED_MODIFY:
                raise c.fail(self, ("modify", key), f"cannot be modified: {REFUSED_MODIFY[key]}")
            problem = key_path_problem(StudyConfig, _dotted_indices(key))
            if problem is not None:
                raise c.fail(self, ("modify", key), f"expected a study key path: {problem}")


class PhaseConfig(StudyConfig, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One phase: a complete study (already merged over the workflow's
    ``defaults``) plus how it fits in the workflow. ``strategies[].params``
    may refer to an earlier phase's output, e.g. ``"{explore.best_params}"``,
    and ``strategies`` itself may be ``"{explore.best}"``: the whole winning
    strategy (type, params, direction); a phase with no ``strategies``
    (CONFIG.md's ``robustness``) runs those its ``depends_on`` phases ended
    with."""

    _section: ClassVar[str] = "phase"
    _in_workflow: ClassVar[bool] = True

    name: str
    """The phase's name: its results folder, and how later phases refer to it
    (``{explore.best}``)."""
    strategies: tuple[StrategyConfig, ...] | str = ()
    """As in a study, or an earlier phase's winner, e.g. ``"{explore.best}"``; empty: the
    strategies its ``depends_on`` phases ended with."""
    depends_on: tuple[str | AnyOf, ...] | AnyOf = ()
    """Phases that finish first; ``{any: [a, b]}`` is whichever of them ran."""
    when: str | None = None
    """A condition on earlier phases' outputs in the safe expression language (never
    ``eval``), e.g. ``"explore.metrics.sharpe_ratio > 0.5"``; the phase is skipped when it
    is false."""
    else_: tuple[str, ...] = msgspec.field(default=(), name="else")
    """Phases that run instead when ``when`` is false."""
    repeat: RepeatConfig | None = None
    """Run the phase again while a condition holds."""
    outputs: dict[str, OutputConfig] = msgspec.field(default_factory=dict)
    """Values the phase publishes once it has run (see :class:`OutputConfig`),
    written to ``<run>/<phase>/outputs/``."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.name, str) or not _PHASE_NAME.match(self.name):
            raise c.fail(self, "name", f"expected a phase name of letters, digits and _ "
                                       f"(it is used in references like '{{name.best_params}}'), "
                                       f"got {self.name!r}")
        if self.name in STUDY_KEYS:
            raise c.fail(self, "name", f"{self.name!r} is a config key, so '{{{self.name}.…}}' "
                                       f"would be ambiguous; choose another phase name")
        _check_outputs(self, self.outputs)
        if isinstance(self.depends_on, AnyOf):
            msgspec.structs.force_setattr(self, "depends_on", (self.depends_on,))
        c.as_tuple(self, "depends_on")
        if isinstance(self.strategies, str):
            if not PHASE_REFERENCE.match(self.strategies):
                raise c.fail(self, "strategies", f"expected a list of strategies or a phase "
                                                 f"output reference like '{{explore.best}}', "
                                                 f"got {self.strategies!r}")
        elif not c.as_tuple(self, "depends_on") and not c.as_tuple(self, "strategies"):
            raise c.fail(self, "strategies", "expected at least one strategy (a phase without "
                                             "strategies must depend on one whose strategies it "
                                             "reuses)")
        c.as_tuple(self, "else_")
        if self.when is not None:
            c.check_name(self, "when", self.when, "a condition expression")
            _parsed(self, "when", self.when)
        elif self.else_:
            raise c.fail(self, "else", "only used with 'when' (the phases to run when the "
                                       "condition is false)")

    @property
    def needs(self) -> tuple[str, ...]:
        """The ``depends_on`` phases that must all have run."""
        return tuple(d for d in self.depends_on if isinstance(d, str))

    @property
    def any_of(self) -> tuple[AnyOf, ...]:
        """The ``{any: [...]}`` groups: at least one phase of each must have run."""
        return tuple(d for d in self.depends_on if isinstance(d, AnyOf))

    @property
    def upstream(self) -> tuple[str, ...]:
        """Every phase named in ``depends_on`` (all waited for), in order."""
        out: list[str] = []
        for d in self.depends_on:
            out.extend([d] if isinstance(d, str) else d.any)
        return tuple(dict.fromkeys(out))

    @property
    def aliases(self) -> dict[str, tuple[str, ...]]:
        """``as`` name -> the phases of its group."""
        return {g.as_: g.any for g in self.any_of if g.as_ is not None}


class WorkflowConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Phases run in dependency order. ``defaults`` is kept as written (it is
    already merged into every phase)."""

    _section: ClassVar[str] = ""

    name: str = "workflow"
    """Free text; the workflow id is derived from it."""
    defaults: dict[str, Any] = msgspec.field(default_factory=dict)
    """Study keys every phase is merged over."""
    phases: tuple[PhaseConfig, ...]
    """The phases: each a study plus the keys of ``phases[]``."""
    inputs: dict[str, str] = msgspec.field(default_factory=dict)
    """Values read from files before any phase runs, by name: ``{prior.best}``
    in a template reads ``prior``'s file (a path from the working directory;
    JSON or YAML for a value, Parquet for a table, read as a list of rows), e.g.
    the ``best.json`` an earlier workflow wrote as an output."""
    outputs: dict[str, OutputConfig] = msgspec.field(default_factory=dict)
    """Values the workflow publishes once every phase has run (see
    :class:`OutputConfig`), written to ``<run>/outputs/``; a value naming a
    phase that did not run is null."""

    def __post_init__(self) -> None:
        c.check_name(self, "name", self.name)
        _check_outputs(self, self.outputs)
        for key in self.defaults:
            if key not in STUDY_KEYS or key == "name":
                raise c.fail(self, ("defaults", key), f"unknown study key {key!r} in defaults"
                                                      + c.suggest(str(key), STUDY_KEYS))
        phases = c.as_tuple(self, "phases")
        if not phases:
            raise c.fail(self, "phases", "expected at least one phase, got an empty list")
        index: dict[str, int] = {}
        for i, phase in enumerate(phases):
            if phase.name in index:
                raise c.fail(self, ("phases", i, "name"),
                             f"{phase.name!r} is also the name of phases[{index[phase.name]}]")
            index[phase.name] = i
        for i, phase in enumerate(phases):
            for alias in phase.aliases:
                if alias in index or alias in STUDY_KEYS:
                    raise c.fail(self, ("phases", i, "depends_on", "as"),
                                 f"{alias!r} is already the name of a phase or a config key")
            for key, names in (("depends_on", phase.upstream), ("else", phase.else_)):
                for j, other in enumerate(names):
                    if other == phase.name:
                        raise c.fail(self, ("phases", i, key, j),
                                     f"phase {other!r} cannot refer to itself")
                    if other not in index:
                        raise c.fail(self, ("phases", i, key, j),
                                     f"unknown phase {other!r}" + c.suggest(other, index)
                                     + f" (phases: {', '.join(index)})")
        for name, path in self.inputs.items():
            if not isinstance(name, str) or not _PHASE_NAME.match(name):
                raise c.fail(self, ("inputs", name), "expected an input name of letters, "
                                                     "digits and _")
            if name in index or name in STUDY_KEYS or any(name in p.aliases for p in phases):
                raise c.fail(self, ("inputs", name), f"{name!r} is already the name of a phase, "
                                                     "an 'as' group or a config key")
            c.check_name(self, ("inputs", name), path, "a file path")
            if not path.endswith(INPUT_SUFFIXES):
                raise c.fail(self, ("inputs", name), f"expected a .json, .yaml or .parquet "
                                                     f"file, got {path!r}")
        self._check_acyclic(index)
        self._check_references(index)
        self._check_output_references(index)
        where = phases[0].results.dir
        for i, phase in enumerate(phases):
            if phase.results.dir != where:
                raise c.fail(self, ("phases", i, "results", "dir"),
                             f"a workflow writes all its phases under one results directory; "
                             f"expected {where!r} (set results.dir in defaults), got "
                             f"{phase.results.dir!r}")

    def _check_references(self, index: dict[str, int]) -> None:
        """Every phase a condition or template names exists and runs before the
        phase that names it (is among its transitive depends_on); ``repeat``
        may also name the phase itself. Checked now, before any phase runs."""
        for i, phase in enumerate(self.phases):
            before = self._upstream(phase.name, sure=True) | set(phase.aliases) | set(self.inputs)
            maybe = self._upstream(phase.name) - before
            uses: list[tuple[Any, set[str], str]] = []
            if phase.when is not None:
                uses.append(("when", _parsed(phase, "when", phase.when).names, "its condition"))
            if phase.repeat is not None:
                uses.append((("repeat", "while"), _parsed(phase.repeat, "while", phase.repeat.while_).names,
                             "its repeat condition"))
            uses.append(("strategies", _template_phases(phase.strategies), "a template"))
            for key, names, what in uses:
                for name in sorted({n.split(".")[0] for n in names}):
                    allowed = before | ({phase.name} if what == "its repeat condition" else set())
                    if name in maybe:
                        raise c.fail(self, ("phases", i, *((key,) if isinstance(key, str) else key)),
                                     f"{what} refers to phase {name!r}, which may not run (it is "
                                     f"one branch of depends_on.any); name the group with "
                                     f"'as: <name>' and refer to that")
                    if name in phase.aliases or name in self.inputs:
                        continue
                    if name not in index:
                        raise c.fail(self, ("phases", i, *((key,) if isinstance(key, str) else key)),
                                     f"{what} refers to unknown phase {name!r}"
                                     + c.suggest(name, index) + f" (phases: {', '.join(index)})")
                    if name not in allowed:
                        raise c.fail(self, ("phases", i, *((key,) if isinstance(key, str) else key)),
                                     f"{what} refers to phase {name!r}, which does not run "
                                     f"before {phase.name!r}: add it to depends_on")

    def _check_output_references(self, index: dict[str, int]) -> None:
        """A phase's outputs name itself, phases that surely ran before it, its
        ``as`` groups or inputs; the workflow's name any phase or input."""
        known = set(index) | set(self.inputs)
        for i, phase in enumerate(self.phases):
            allowed = self._upstream(phase.name, sure=True) | set(phase.aliases) \
                | set(self.inputs) | {phase.name}
            for out, spec in phase.outputs.items():
                for name in sorted(set(PHASE_REFERENCE.findall(spec.value))):
                    if name not in allowed:
                        why = (f"unknown phase or input {name!r}" + c.suggest(name, known)
                               if name not in known else
                               f"phase {name!r}, which does not surely run before "
                               f"{phase.name!r} (add it to depends_on)")
                        raise c.fail(self, ("phases", i, "outputs", out, "value"),
                                     f"the output refers to {why}")
        for out, spec in self.outputs.items():
            for name in sorted(set(PHASE_REFERENCE.findall(spec.value))):
                if name not in known:
                    raise c.fail(self, ("outputs", out, "value"),
                                 f"the output refers to unknown phase or input {name!r}"
                                 + c.suggest(name, known) + f" (phases: {', '.join(index)})")
        files = [("outputs", spec.file) for spec in self.outputs.values() if spec.file]
        for phase in self.phases:
            files += [(phase.name, spec.file) for spec in phase.outputs.values() if spec.file]
        seen: set[tuple[str, str]] = set()
        for where, file in files:
            if (where, file) in seen:
                raise c.fail(self, "outputs", f"two outputs write {where}/{file}")
            seen.add((where, file))

    def _upstream(self, name: str, *, sure: bool = False) -> set[str]:
        """The phases ``name`` depends on, directly or through others (with
        ``sure``, only those that have run whenever ``name`` runs: not the
        members of an ``any`` group)."""
        seen: set[str] = set()
        todo = list(self._deps(name, sure))
        while todo:
            other = todo.pop()
            if other not in seen:
                seen.add(other)
                todo.extend(self._deps(other, sure))
        return seen

    def _deps(self, name: str, sure: bool) -> tuple[str, ...]:
        phase = self.phase(name)
        return phase.needs if sure else phase.upstream

    def _check_acyclic(self, index: dict[str, int]) -> None:
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(name: str, trail: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join([*trail[trail.index(name):], name])
                raise c.fail(self, ("phases", index[name], "depends_on"),
                             f"phases depend on each other in a cycle: {cycle}")
            state[name] = 1
            for other in self.phases[index[name]].upstream:
                visit(other, [*trail, name])
            state[name] = 2

        for name in index:
            visit(name, [])

    def phase(self, name: str) -> PhaseConfig:
        """The phase called ``name``."""
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(name)

    @property
    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of this workflow (see config_fingerprint)."""
        return config_fingerprint(self)


PHASE_REFERENCE = re.compile(r"\{\s*([A-Za-z_]\w*)\s*[.}\[]")
"""The name a ``{name.path}`` template starts with (a phase, when it refers to outputs)."""


def _parsed(obj: Any, key: str, text: str) -> Any:
    """``text`` parsed by the safe expression language, or a ConfigError at ``key``."""
    from ..expressions import parse

    try:
        return parse(text)
    except ConfigError as exc:
        raise c.fail(obj, key, f"not a valid condition: {exc}") from None


def _template_phases(strategies: Any) -> set[str]:
    """Names referenced as ``{name...}`` in strategy values (phase outputs)."""
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            names.update(PHASE_REFERENCE.findall(value))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    if isinstance(strategies, str):
        walk(strategies)
        return names
    for strategy in strategies:
        walk(msgspec.structs.asdict(strategy))
    return names


def _dotted_indices(path: str) -> str:
    """``strategies[0].params.fast`` -> ``strategies.0.params.fast``."""
    return re.sub(r"\[(\d+)\]", r".\1", path)
