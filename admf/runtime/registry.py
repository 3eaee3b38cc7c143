"""Find components by name.

Built-ins register with the :func:`register` decorator under a *kind*
(``"strategy"``, ``"indicator"``, ``"commission"`` ...); any component can also
be named ``"package.module:Name"``. A second registration of the same
``(kind, name)`` is an error naming both places.

Third-party packages add components through the entry-point group
``admf.plugins``: an entry point names either a module (importing it runs its
``@register`` decorators) or a callable ``register_plugins(registry)``::

    [project.entry-points."admf.plugins"]
    mine = "my_package.admf_components"
    other = "other_package.plugin:register_plugins"

Plugins are loaded once, lazily: the first time :meth:`Registry.get` misses,
or :meth:`Registry.names`, :meth:`Registry.kinds` or :meth:`Registry.describe`
is called (see :meth:`Registry.load_plugins`), so importing admf stays fast.

:meth:`Registry.describe` lists a component's parameters with their types and
defaults, for ``admf list``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.machinery
import inspect
import os
import re
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..errors import PluginError

__all__ = (
    "PLUGIN_GROUP", "REQUIRED", "Param", "Registry", "registry", "register", "load_object",
    "instantiate", "summary_of",
)

T = TypeVar("T")

PLUGIN_GROUP = "admf.plugins"
"""The entry-point group third-party packages register their components in."""


class _Required:
    """The default of a parameter that has none."""

    _instance: _Required | None = None

    def __new__(cls) -> _Required:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REQUIRED"

    def __reduce__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
""":attr:`Param.default` of a parameter that must be given."""


@dataclass(frozen=True)
class Param:
    """One parameter of a component: its name, its type as text, its default
    (:data:`REQUIRED` when it has none) and a description when one is known."""

    name: str
    type: str
    default: Any = REQUIRED
    doc: str | None = None

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def __str__(self) -> str:
        text = f"{self.name}: {self.type}" if self.type else self.name
        text += " (required)" if self.required else f" = {self.default!r}"
        return f"{text}  -- {self.doc}" if self.doc else text


def _origin(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


def load_object(spec: str) -> Any:
    """Import ``"package.module:Name"`` (``Name`` may be dotted).

    The module is looked for on ``sys.path`` and then in the working
    directory, which joins ``sys.path`` when that finds it: so a script run
    as ``python scripts/run.py`` (whose own folder is what Python puts on
    the path) finds the user's package as ``admf run`` and a notebook do,
    and so do the worker processes it starts, which inherit the path.

    Any exception the module raises while importing (a syntax error, a failing
    top-level statement) becomes a PluginError naming the module, so user code
    never surfaces as a raw traceback."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"{spec!r} is not of the form 'package.module:Name'")
    try:
        obj: Any = _import(module_name)
    except ImportError as exc:
        raise PluginError(f"cannot import module {module_name!r} for {spec!r}: {exc}") from exc
    except SyntaxError as exc:
        raise PluginError(f"module {module_name!r} (for {spec!r}) has a syntax error: "
                          f"{exc.msg} ({exc.filename}, line {exc.lineno})") from exc
    except Exception as exc:
        raise PluginError(f"module {module_name!r} (for {spec!r}) raised while importing: "
                          f"{type(exc).__name__}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"module {module_name!r} has no attribute {attr!r} (from {spec!r})") from None
    return obj


def _import(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        top = module_name.split(".")[0]
        here = os.getcwd()
        if exc.name != top or here in sys.path or "" in sys.path or \
                importlib.machinery.PathFinder.find_spec(top, [here]) is None:
            raise
    sys.path.append(here)  # after the installed packages: it shadows none of them
    return importlib.import_module(module_name)


class Registry:
    """Named components, grouped by kind.

    ``plugin_group`` is the entry-point group whose plugins are loaded (once,
    lazily); ``None`` (the default for new registries) loads none. The shared
    :data:`registry` uses ``"admf.plugins"``.
    """

    def __init__(self, *, plugin_group: str | None = None) -> None:
        self._kinds: dict[str, dict[str, Any]] = {}
        self._where: dict[tuple[str, str], str] = {}  # (kind, name) -> the plugin that added it
        self.plugin_group = plugin_group
        self._plugins_loaded = plugin_group is None
        self._loaded_entry_points: set[tuple[str, str]] = set()
        self._loading: str | None = None  # the entry point being loaded, for messages
        self._bases: dict[str, tuple[type, ...]] = {}  # kind -> the classes a 'pkg:Name' must extend

    # ------------------------------------------------------------ registering

    def add(self, kind: str, name: str, obj: Any) -> None:
        """Register ``obj`` as ``name`` of ``kind``; a duplicate raises PluginError.

        Registering the same object again, or an object from the same
        ``module:qualname`` (a reloaded module), is not a duplicate.
        """
        entries = self._kinds.setdefault(kind, {})
        key = (kind, name)
        if name in entries and entries[name] is not obj and _origin(entries[name]) != _origin(obj):
            raise PluginError(
                f"{kind} {name!r} is registered twice: by {self._describe_origin(key, entries[name])} "
                f"and by {_origin(obj)}"
            )
        entries[name] = obj
        if self._loading is not None:
            self._where[key] = self._loading
        else:
            self._where.pop(key, None)

    def _describe_origin(self, key: tuple[str, str], obj: Any) -> str:
        where = self._where.get(key)
        return f"{_origin(obj)} ({where})" if where else _origin(obj)

    def register(self, kind: str, name: str | None = None) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name`` (default: its
        ``name`` attribute, else its ``__name__``)."""

        def decorate(obj: T) -> T:
            self.add(kind, name or getattr(obj, "name", None) or obj.__name__, obj)  # type: ignore[attr-defined]
            return obj

        return decorate

    def expect(self, kind: str, *bases: type) -> None:
        """Declare the base class(es) of ``kind``: a ``"pkg.mod:Name"`` of this
        kind must then name a subclass of one of them (or an object registered
        under ``kind``). A kind with no declared base accepts only registered
        objects, so a type string can never reach an arbitrary callable.
        Declarations add up (a kind may have several bases)."""
        known = self._bases.get(kind, ())
        self._bases[kind] = known + tuple(b for b in bases if b not in known)

    def _checked(self, kind: str, spec: str, obj: Any) -> Any:
        """``obj`` (imported from ``spec``) if it is of ``kind``, else PluginError.

        Nothing imported is ever called here: the check is on the class itself,
        so ``os:system`` or ``subprocess:run`` are refused before they can run."""
        if any(entry is obj for entry in self._kinds.get(kind, {}).values()):
            return obj
        bases = self._bases.get(kind, ())
        if bases and isinstance(obj, type) and issubclass(obj, bases):
            return obj
        what = type(obj).__name__ if not isinstance(obj, type) else f"class {_origin(obj)}"
        hint = (getattr(obj, "__admf_not_a__", None) or {}).get(kind) \
            if isinstance(obj, type) else None
        if hint:  # a class that knows why it is not of this kind says so
            raise PluginError(f"{spec!r} is a {what}, not a {kind}: {hint}")
        if bases:
            expected = " or ".join(f"{b.__module__}.{b.__qualname__}" for b in bases)
            raise PluginError(f"{spec!r} is a {what}, not a {kind}: a 'package.module:Name' "
                              f"{kind} must be a subclass of {expected} "
                              f"(or registered with @register({kind!r}))")
        raise PluginError(f"{spec!r} is a {what}, not a registered {kind}: a 'package.module:Name' "
                          f"{kind} must be registered with @register({kind!r}) in its module")

    # ---------------------------------------------------------------- plugins

    def load_plugins(self) -> list[str]:
        """Load every entry point of :attr:`plugin_group` not loaded yet.

        An entry point naming a module is imported (its ``@register``
        decorators run); one naming a callable is called with this registry.
        Returns the names of the entry points loaded by this call. A failing
        plugin raises :class:`PluginError` naming the entry point and its
        distribution (the original error chained); the plugins loaded before
        it stay loaded and the next call retries the rest.
        """
        if self.plugin_group is None or self._loading is not None:
            return []
        from importlib.metadata import entry_points

        loaded: list[str] = []
        for ep in sorted(entry_points(group=self.plugin_group), key=lambda e: (e.name, e.value)):
            key = (ep.name, ep.value)
            if key in self._loaded_entry_points:
                continue
            label = _entry_point_label(ep)
            self._loading = label
            try:
                target = ep.load()
                if not isinstance(target, types.ModuleType):
                    if not callable(target):
                        raise PluginError(f"{ep.value!r} is neither a module nor a callable "
                                          f"register_plugins(registry)")
                    target(self)
            except Exception as exc:
                detail = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
                raise PluginError(f"{label} failed to load: {detail}") from exc
            finally:
                self._loading = None
            self._loaded_entry_points.add(key)
            loaded.append(ep.name)
        self._plugins_loaded = True
        return loaded

    def _ensure_plugins(self) -> None:
        if not self._plugins_loaded:
            self.load_plugins()

    # ---------------------------------------------------------------- looking up

    def get(self, kind: str, name: str) -> Any:
        """The component ``name`` of ``kind``, or the object at ``"pkg.mod:Name"``.

        A name not registered (yet) loads the plugins before giving up. A
        ``"pkg.mod:Name"`` must be of ``kind`` (see :meth:`expect`); anything
        else is refused without being called."""
        if ":" in name:
            return self._checked(kind, name, load_object(name))
        entries = self._kinds.get(kind, {})
        if name not in entries and not self._plugins_loaded:
            self.load_plugins()
            entries = self._kinds.get(kind, {})
        try:
            return entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(entries), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(entries)) or "none"
            raise PluginError(f"unknown {kind} {name!r}{hint} (known: {known})") from None

    def names(self, kind: str) -> list[str]:
        """Registered names of ``kind`` (plugins included), sorted."""
        self._ensure_plugins()
        return sorted(self._kinds.get(kind, {}))

    def kinds(self) -> list[str]:
        """Kinds with at least one registered component (plugins included), sorted."""
        self._ensure_plugins()
        return sorted(kind for kind, entries in self._kinds.items() if entries)

    def where(self, kind: str, name: str) -> str:
        """Where the component comes from: ``module:Name``, plus the plugin
        entry point and distribution when a plugin registered it."""
        obj = self.get(kind, name)
        return self._describe_origin((kind, name), obj) if ":" not in name else _origin(obj)

    def describe(self, kind: str, name: str) -> list[Param]:
        """The parameters of component ``name`` of ``kind``, in declaration order.

        A class with a ``__params__()`` classmethod: what it returns (per-bar
        strategies: their class-attribute parameters); msgspec Structs: their fields; classes with a ``Params`` Struct
        (strategies): its fields; other classes: the keyword parameters of
        ``__init__``; functions: their parameters. ``*args``/``**kwargs`` are
        left out. A field annotated ``Annotated[T, msgspec.Meta(description=...)]``
        has that description as its ``doc``.
        """
        self._ensure_plugins()
        return describe_object(self.get(kind, name))

    def summary(self, kind: str, name: str) -> str:
        """The first sentence of the component's own docstring ("" if none)."""
        self._ensure_plugins()
        return summary_of(self.get(kind, name))


def _entry_point_label(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    if dist is not None:
        version = getattr(dist, "version", None)
        dist_text = f"distribution {dist.name} {version}" if version else f"distribution {dist.name}"
    else:
        dist_text = "unknown distribution"
    return f"plugin entry point {ep.name!r} = {ep.value!r} of {dist_text}"


# ------------------------------------------------------------------ describing


def describe_object(obj: Any) -> list[Param]:
    """The parameters of a component object (see :meth:`Registry.describe`)."""
    import msgspec

    declared = getattr(obj, "__params__", None)
    if callable(declared):  # a class that declares its parameters its own way
        described = declared()
        if described is not None:
            return list(described)
    params_cls = getattr(obj, "Params", None)
    if isinstance(params_cls, type) and issubclass(params_cls, msgspec.Struct):
        return _struct_params(params_cls)
    if isinstance(obj, type) and issubclass(obj, msgspec.Struct):
        return _struct_params(obj)
    return _signature_params(obj)


def _struct_params(cls: type) -> list[Param]:
    import msgspec

    out = []
    for field in msgspec.structs.fields(cls):
        annotation, doc = _unannotate(field.type)
        if field.default is not msgspec.NODEFAULT:
            default = field.default
        elif field.default_factory is not msgspec.NODEFAULT:
            default = field.default_factory()
        else:
            default = REQUIRED
        out.append(Param(field.name, _type_text(annotation), default, doc))
    return out


def _signature_params(obj: Any) -> list[Param]:
    if isinstance(obj, type):
        init = obj.__init__  # type: ignore[misc]
        if init is object.__init__:
            return []
        target, skip_first = init, True
    elif callable(obj):
        target, skip_first = obj, False
    else:
        return []
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    parameters = list(signature.parameters.values())[1 if skip_first else 0:]
    out = []
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation, doc = _unannotate(p.annotation)
        default = REQUIRED if p.default is p.empty else p.default
        text = "" if annotation is p.empty else _type_text(annotation)
        out.append(Param(p.name, text, default, doc))
    return out


def _unannotate(annotation: Any) -> tuple[Any, str | None]:
    """``Annotated[T, Meta(description=...)]`` -> ``(T, description)``."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        doc = next((getattr(e, "description", None) for e in extras
                    if getattr(e, "description", None)), None)
        return base, doc
    return annotation, None


def _type_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type) and not typing.get_args(annotation):
        module = annotation.__module__
        return annotation.__qualname__ if module == "builtins" else f"{module}.{annotation.__qualname__}"
    return re.sub(r"\btyping\.", "", repr(annotation))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(`])")


def summary_of(obj: Any) -> str:
    """The first sentence of ``obj``'s *own* docstring (not an inherited one),
    on one line, ````literal```` markup removed; "" without a docstring."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    if not isinstance(doc, str) or not doc.strip():
        return ""
    paragraph = inspect.cleandoc(doc).split("\n\n", 1)[0]
    text = " ".join(paragraph.split()).replace("``", "")
    return _SENTENCE_END.split(text, 1)[0]


registry = Registry(plugin_group=PLUGIN_GROUP)
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
        raise ConfigError(f"{where}: {name} {validation_text(exc, cls)}") from None
    except TypeError as exc:
        raise ConfigError(f"{where}: {name}: {exc}") from None
    except ConfigError:
        raise
    except Exception as exc:  # a user component's own constructor failed
        raise ConfigError(f"{where}: {name} could not be built: {type(exc).__name__}: {exc}"
                          f"{_raised_at(exc)}") from exc


def _raised_at(exc: BaseException) -> str:
    """`` (file:line in function)`` of the innermost frame that raised."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    return f" ({frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""


def validation_text(exc: Exception, cls: Any) -> str:
    """A msgspec validation message, with a suggestion for an unknown field."""
    text = str(exc)
    marker = "Object contains unknown field `"
    if text.startswith(marker):
        field = text[len(marker):].split("`", 1)[0]
        known = list(getattr(cls, "__struct_fields__", ()))
        close = difflib.get_close_matches(field, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"has no parameter {field!r}{hint} (parameters: {', '.join(known) or 'none'})"
    return f"parameters are invalid: {text}"
