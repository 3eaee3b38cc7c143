"""Sequences: how a study is run over data and parameters.

:mod:`.windows` cuts a timeline into train/test spans, walk-forward windows
and folds and ranks points (pure functions, no running); :mod:`.run` runs a
sequence's pieces through an executor and combines their results.
"""

from .run import SequenceResult as SequenceResult
from .run import run_sequence as run_sequence

__all__ = ("SequenceResult", "run_sequence")
