"""Find components by name.

Built-ins register with the :func:`register` decorator under a *kind*
(``"strategy"``, ``"indicator"``, ``"commission"`` ...); any component can also
be named ``"package.module:Name"``. A second registration of the same
``(kind, name)`` is an error naming both places.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import PluginError

__all__ = ("Registry", "registry", "register", "load_object", "instantiate")

T = TypeVar("T")


def _origin(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


def load_object(spec: str) -> Any:
    """Import ``"package.module:Name"`` (``Name`` may be dotted)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"{spec!r} is not of the form 'package.module:Name'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise PluginError(f"cannot import module {module_name!r} for {spec!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"module {module_name!r} has no attribute {attr!r} (from {spec!r})") from None
    return obj


class Registry:
    """Named components, grouped by kind."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[str, Any]] = {}

    def add(self, kind: str, name: str, obj: Any) -> None:
        """Register ``obj`` as ``name`` of ``kind``; a duplicate raises PluginError."""
        entries = self._kinds.setdefault(kind, {})
        if name in entries and entries[name] is not obj:
            raise PluginError(
                f"{kind} {name!r} is registered twice: by {_origin(entries[name])} "
                f"and by {_origin(obj)}"
            )
        entries[name] = obj

    def register(self, kind: str, name: str | None = None) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name`` (default: its
        ``name`` attribute, else its ``__name__``)."""

        def decorate(obj: T) -> T:
            self.add(kind, name or getattr(obj, "name", None) or obj.__name__, obj)  # type: ignore[attr-defined]
            return obj

        return decorate

    def get(self, kind: str, name: str) -> Any:
        """The component ``name`` of ``kind``, or the object at ``"pkg.mod:Name"``."""
        if ":" in name:
            return load_object(name)
        entries = self._kinds.get(kind, {})
        try:
            return entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(entries), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(entries)) or "none"
            raise PluginError(f"unknown {kind} {name!r}{hint} (known: {known})") from None

    def names(self, kind: str) -> list[str]:
        """Registered names of ``kind``, sorted."""
        return sorted(self._kinds.get(kind, {}))

    def kinds(self) -> list[str]:
        return sorted(self._kinds)


registry = Registry()
register = registry.register


def instantiate(kind: str, spec: dict[str, Any], where: str) -> Any:
    """Build the component ``spec["type"]`` of ``kind`` from the rest of ``spec``.

    Components that are msgspec Structs are validated by conversion, so an
    unknown or mistyped parameter is refused; ``where`` (a config key path
    such as ``execution.commission``) is named in every error.
    """
    import msgspec  # local: the registry itself needs no msgspec

    from ..errors import ConfigError

    params = dict(spec)
    name = params.pop("type", None)
    if not isinstance(name, str):
        raise ConfigError(f"{where}: expected a mapping with a 'type' naming a {kind}, got {spec!r}")
    try:
        cls = registry.get(kind, name)
    except PluginError as exc:
        raise ConfigError(f"{where}.type: {exc}") from None
    try:
        if isinstance(cls, type) and issubclass(cls, msgspec.Struct):
            return msgspec.convert(params, cls)
        return cls(**params)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{where}: {name} {_validation_text(exc, cls)}") from None
    except TypeError as exc:
        raise ConfigError(f"{where}: {name}: {exc}") from None


def _validation_text(exc: Exception, cls: Any) -> str:
    text = str(exc)
    marker = "Object contains unknown field `"
    if text.startswith(marker):
        field = text[len(marker):].split("`", 1)[0]
        known = list(getattr(cls, "__struct_fields__", ()))
        close = difflib.get_close_matches(field, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"has no parameter {field!r}{hint} (parameters: {', '.join(known) or 'none'})"
    return f"parameters are invalid: {text}"
