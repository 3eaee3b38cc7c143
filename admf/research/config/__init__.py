"""The user's config (``CONFIG.md``): frozen, keyword-only structs that reject
unknown keys, loaded from YAML, dicts or built in Python, with a content hash.

::

    config = load_config("sma.yaml", overrides=["risk.stop_loss=0.03"])
    config.fingerprint            # sha256 of the canonical merged config
    dump_yaml(config)             # what results/<run>/config.yaml holds

Modules: :mod:`.schema` (study sections), :mod:`.workflow` (phases),
:mod:`.grid` (parameter grids), :mod:`.layers` (defaults, merging,
overrides, templates), :mod:`.loading` (YAML and errors), :mod:`.identity`
(dict, YAML and hash).
"""

from __future__ import annotations

from ._checks import parse_duration as parse_duration
from .grid import expand_grid as expand_grid
from .grid import expand_range as expand_range
from .grid import expand_values as expand_values
from .grid import is_range_spec as is_range_spec
from .identity import config_fingerprint as config_fingerprint
from .identity import dump_yaml as dump_yaml
from .identity import to_dict as to_dict
from .layers import deep_merge as deep_merge
from .layers import study_defaults as study_defaults
from .loading import load_config as load_config
from .loading import load_study as load_study
from .loading import parse_config as parse_config
from .schema import PLUGIN_SEQUENCE_KEYS as PLUGIN_SEQUENCE_KEYS
from .schema import SEQUENCE_KEYS as SEQUENCE_KEYS
from .schema import ContainerTracing as ContainerTracing
from .schema import ExecutorConfig as ExecutorConfig
from .schema import ResultsConfig as ResultsConfig
from .schema import SequenceConfig as SequenceConfig
from .schema import StudyConfig as StudyConfig
from .schema import TracingConfig as TracingConfig
from .trading import SYNTHETIC_DEFAULTS as SYNTHETIC_DEFAULTS
from .trading import DataConfig as DataConfig
from .trading import ExecutionConfig as ExecutionConfig
from .trading import PortfolioConfig as PortfolioConfig
from .trading import RiskConfig as RiskConfig
from .trading import StrategyConfig as StrategyConfig
from .workflow import PhaseConfig as PhaseConfig
from .workflow import RepeatConfig as RepeatConfig
from .workflow import WorkflowConfig as WorkflowConfig

__all__ = (
    "load_config",
    "load_study",
    "parse_config",
    "to_dict",
    "dump_yaml",
    "config_fingerprint",
    "expand_grid",
    "expand_range",
    "expand_values",
    "is_range_spec",
    "deep_merge",
    "study_defaults",
    "parse_duration",
    "StudyConfig",
    "DataConfig",
    "StrategyConfig",
    "PortfolioConfig",
    "ExecutionConfig",
    "RiskConfig",
    "SequenceConfig",
    "ResultsConfig",
    "TracingConfig",
    "ContainerTracing",
    "ExecutorConfig",
    "WorkflowConfig",
    "PhaseConfig",
    "RepeatConfig",
    "SYNTHETIC_DEFAULTS",
    "PLUGIN_SEQUENCE_KEYS",
    "SEQUENCE_KEYS",
)
