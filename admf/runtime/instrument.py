"""Optional hooks into a run, for tracing and progress.

An instrument implements any subset of the methods of :class:`Instrument`;
the sequencer calls only the hooks an installed instrument defines, so with
none installed the run pays nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ("Instrument",)


class Instrument:
    """Base class listing every hook; override the ones you need."""

    def run_started(self, topology: Any) -> None:
        """The sequencer is about to initialize ``topology`` (its routes are open)."""

    def stage_entered(self, container: Any, stage: str) -> None:
        """``container`` begins ``stage``."""

    def stage_exited(self, container: Any, stage: str, error: BaseException | None) -> None:
        """``container`` finished ``stage`` (``error`` if it raised)."""

    def run_finished(self, topology: Any, error: BaseException | None) -> None:
        """Every container has been cleaned up."""


HOOKS = ("run_started", "stage_entered", "stage_exited", "run_finished")


def hooks_of(instruments: list[Any]) -> dict[str, list[Any]]:
    """For each hook name, the bound methods of the instruments overriding it."""
    table: dict[str, list[Any]] = {name: [] for name in HOOKS}
    for instrument in instruments:
        for name in HOOKS:
            method = getattr(instrument, name, None)
            base = getattr(Instrument, name)
            if method is not None and getattr(method, "__func__", None) is not base:
                table[name].append(method)
    return table
