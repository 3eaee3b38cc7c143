"""admf: an asyncio actor runtime for event-driven backtesting and research workflows."""

from .api import StudyResult as StudyResult
from .api import load as load
from .api import run as run
from .api import run_sync as run_sync

__all__ = ("StudyResult", "load", "run", "run_sync")
