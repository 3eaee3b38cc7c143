"""Typed, bounded links between containers (pipe, broadcast, filter,
partition, merge) over anyio memory object streams."""

from ._channel import RouteStatistics as RouteStatistics
from .ports import InputPort as InputPort
from .ports import OutputPort as OutputPort
from .routes import DEFAULT_CAPACITY as DEFAULT_CAPACITY
from .routes import Broadcast as Broadcast
from .routes import Filter as Filter
from .routes import Merge as Merge
from .routes import Partition as Partition
from .routes import Pipe as Pipe
from .routes import Route as Route

__all__ = (
    "DEFAULT_CAPACITY",
    "Broadcast",
    "Filter",
    "InputPort",
    "Merge",
    "OutputPort",
    "Partition",
    "Pipe",
    "Route",
    "RouteStatistics",
)
