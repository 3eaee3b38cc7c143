"""Sequences: how a study is run over data and parameters.

:mod:`.windows` cuts a timeline into train/test spans, walk-forward windows
and folds and ranks points (pure functions, no running); :mod:`.run` runs a
sequence's pieces through an executor and combines their results;
:mod:`.scheme` is how a plugin adds a sequence type (:class:`WindowScheme`).
"""

from .run import SequenceResult as SequenceResult
from .run import run_sequence as run_sequence
from .scheme import WindowScheme as WindowScheme

__all__ = ("SequenceResult", "WindowScheme", "run_sequence")
