"""Workflows: phases of studies with dependencies, conditions and iteration.

:mod:`.coordinator` orders phases, evaluates conditions and passes outputs,
knowing nothing of backtests; :mod:`.run` runs each phase's study or
sequence into ``results/<workflow_id>/<phase>/``.
"""

from .run import WorkflowResult as WorkflowResult
from .run import run_workflow as run_workflow

__all__ = ("WorkflowResult", "run_workflow")
