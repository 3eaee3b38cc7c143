"""How failures of user code are named: a strategy point by its config key,
type and parameters; a sizer or cost model given as ``"pkg.mod:Name"`` by
its config key, found from the traceback (:func:`blamed`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..components._blame import source_file, user_site
from ..errors import AdmfError, ComponentError, ConfigError, ContainerError, PluginError
from ..runtime.registry import registry
from .config import StudyConfig

if TYPE_CHECKING:
    from .study import StrategyPoint

__all__ = ("USER_COMPONENTS", "blamed", "not_built", "strategy_label")


def not_built(point: StrategyPoint, cls: type, exc: Exception) -> ConfigError:
    """A strategy whose own construction raised: a bad input, named by its
    config key, type and parameters, and the line of the user's file."""
    site = user_site(exc, cls)
    return ConfigError(f"{strategy_label(point)} could not be built: "
                       f"{type(exc).__name__}: {exc}" + (f" ({site})" if site else ""))


def strategy_label(point: StrategyPoint) -> str:
    """How errors name a strategy point: id, config key, type and parameters."""
    params = ", ".join(f"{k}={v!r}" for k, v in point.params.items())
    shown = f"params {params}" if params else "default params"
    return f"strategy {point.signal_id!r} ({point.where}, type {point.type!r}, {shown})"


USER_COMPONENTS = (("sizing", "portfolio", "sizing"), ("commission", "execution", "commission"),
                   ("slippage", "execution", "slippage"))
"""(registry kind, config section, key) of the components a portfolio calls."""


def blamed(config: StudyConfig, error: ContainerError) -> ContainerError:
    """``error`` with a user component named when its code raised: a sizer or
    cost model given as ``"pkg.mod:Name"`` whose frame is in the traceback
    becomes a :class:`ComponentError` naming the config key, the type and the
    file and line (strategies name themselves, in the strategy container)."""
    cause = error.cause
    if isinstance(cause, AdmfError):
        return error
    for kind, section, key in USER_COMPONENTS:
        spec = getattr(getattr(config, section), key)
        name = spec.get("type") if isinstance(spec, dict) else None
        if not isinstance(name, str) or ":" not in name:
            continue  # built-ins are admf's own: a failure there is a bug, not the user's
        try:
            cls = registry.get(kind, name)
        except PluginError:
            continue
        site = user_site(cause, cls)
        if site is not None and site.startswith(f"{source_file(cls)}:"):
            named = ComponentError(f"{section}.{key} {name!r} raised "
                                   f"{type(cause).__name__}: {cause} ({site})")
            named.__cause__ = cause
            return ContainerError(error.container, error.stage, named)
    return error
