"""admf: an asyncio actor runtime for event-driven backtesting and research workflows.

``admf.run`` / ``admf.run_sync`` run a study or workflow from YAML, a dict or
a config object; ``admf.Runtime`` embeds a running study in an async
application and streams its events; ``admf.load`` validates a config.
"""

from .api import Result as Result
from .api import Run as Run
from .api import StudyResult as StudyResult
from .api import Table as Table
from .api import load as load
from .api import run as run
from .api import run_sync as run_sync
from .errors import AdmfError as AdmfError
from .errors import ConfigError as ConfigError
from .errors import ContainerError as ContainerError
from .errors import DataError as DataError
from .errors import PluginError as PluginError
from .errors import TopologyError as TopologyError
from .live import Runtime as Runtime
from .research.config import StudyConfig as Config
from .research.config import WorkflowConfig as WorkflowConfig

__all__ = (
    "AdmfError",
    "Config",
    "ConfigError",
    "ContainerError",
    "DataError",
    "PluginError",
    "Result",
    "Run",
    "Runtime",
    "StudyResult",
    "Table",
    "TopologyError",
    "WorkflowConfig",
    "load",
    "run",
    "run_sync",
)
