"""The one exception family of admf.

Every error admf raises on purpose is an :class:`AdmfError`; foreign errors
(OS, parser, library) are translated at the boundary where they enter, with the
original chained as ``__cause__``.
"""

from __future__ import annotations

__all__ = (
    "AdmfError",
    "ConfigError",
    "TopologyError",
    "ContainerError",
    "IllegalTransition",
    "DataError",
    "PluginError",
    "OrderError",
    "ComponentError",
    "StrategyError",
    "LockedError",
    "AdmfWarning",
    "EquityWarning",
)


class AdmfError(Exception):
    """Base class of every error admf raises on purpose."""


class ConfigError(AdmfError):
    """Raised when a configuration is malformed: unknown key, wrong type,
    missing value, or a value outside its allowed set. The message names the
    file (when there is one), the key path and what was expected."""


class TopologyError(AdmfError):
    """Raised when a topology is invalid before it runs: duplicate container
    names, unknown ports, message types that disagree across a route,
    unconnected required inputs, or a cycle not marked as feedback."""


class IllegalTransition(AdmfError):
    """Raised when a container is driven through a lifecycle stage its
    current state does not allow (e.g. ``start`` before ``initialize``)."""


class ContainerError(AdmfError):
    """Raised when a container fails in one of its lifecycle stages.

    ``container`` and ``stage`` name where; the original exception is chained
    as ``__cause__`` and kept in ``cause``. When the cause is an admf error
    (which names the file and row, or the strategy and bar) the message leads
    with it and mentions the container last.
    """

    def __init__(self, container: str, stage: str, cause: BaseException) -> None:
        self.container = container
        self.stage = stage
        self.cause = cause
        detail = str(cause) or type(cause).__name__
        if isinstance(cause, AdmfError):  # it names the place (file and row, strategy and bar)
            super().__init__(f"{detail} (in container {container!r}, stage {stage!r})")
            return
        super().__init__(
            f"container {container!r} failed in stage {stage!r}: "
            f"{type(cause).__name__}: {detail}"
        )

    def __reduce__(self):  # keep picklable across process pools
        return (type(self), (self.container, self.stage, self.cause))


class DataError(AdmfError):
    """Raised when input data is unusable: a missing file or column, an
    unparsable value, timestamps out of order or duplicated, NaN, non-positive
    prices, high below low, or an empty selection. The message names the file
    and the row."""


class PluginError(AdmfError):
    """Raised when a component cannot be found or loaded by name
    (registry name or ``"package.module:Name"``), or two components claim the
    same name."""


class OrderError(AdmfError):
    """Raised when a strategy places or manages an order wrongly: a negative
    or NaN size, an unknown order type, a stop-loss on the wrong side of the
    entry, a cancel of an order that is not open, or a strategy callback that
    raised. The message names the strategy, the symbol, the bar time and what
    was expected."""


class ComponentError(AdmfError):
    """Raised when a component a config names (a strategy, indicator, sizer
    or cost model; built in or ``"package.module:Name"``) raises while it is
    built or used, or returns what its caller cannot use. The message names
    the component, its config key and, for user code, the file and line."""


class StrategyError(ComponentError):
    """Raised when a strategy raises during a run or returns targets a
    portfolio cannot use: not one number per bar (a scalar, the wrong length,
    strings) or an infinite one. The message names the strategy, its
    parameters, the symbol and the bar."""


class LockedError(ConfigError):
    """Raised when a run directory is already being written by another run or
    resume (it holds the directory's lock). The message names the holder: its
    pid, host, start time and command line."""


class AdmfWarning(UserWarning):
    """Base class of the warnings admf gives: a run that completed, but whose
    numbers a user should read with something in mind (``admf`` prints them
    as ``admf: warning: ...``)."""


class EquityWarning(AdmfWarning):
    """A portfolio's equity fell below zero. A cash account cuts buys to the
    cash but does not stop a losing short; order strategies with
    ``portfolio.account: margin`` get margin calls and a floor at zero."""
