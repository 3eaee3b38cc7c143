"""Ensembles: one strategy combining its members' targets, gated by regime.

An ensemble is an ordinary vectorised strategy (``type: ensemble``), so it
runs wherever one does: in a backtest, under every sequence, and through
``signal_generation`` / ``signal_replay`` (its combined targets are what is
stored and replayed). Members and their settings are flat parameters, so
every one of them takes the grid syntax::

    strategies:
      - type: ensemble
        params:
          method: weighted_vote        # weighted_vote | majority | unanimous | average
          m0.type: sma_crossover
          m0.fast: [5, 10]             # a member's own parameter: a grid like any
          m0.weight: [1, 2]            # a member's weight: a grid too
          m1.type: momentum
          m1.period: 50
          m1.when: up                  # active only in this regime
          regime: trend                # a classifier (admf list classifiers)
          regime.period: 100           # the classifier's parameters

Members are ``m0``, ``m1``, ... (consecutive, at least one, each with a
``type``); ``m<i>.weight`` defaults to 1 (>= 0, finite), ``m<i>.when`` to
``any`` (or one of the classifier's labels). Members run in the ensemble's
``direction``. With ``t_i`` a member's target at a bar, ``w_i`` its weight
and ``A`` the members active at that bar (by ``when``; a bar whose regime
is undefined has only the ``any`` members active):

- ``average``: ``sum(w_i t_i) / sum(w_i)`` over ``A``;
- ``weighted_vote``: ``s = sum(w_i sign(t_i)) / sum(w_i)`` over ``A``;
  ``sign(s)`` when ``|s| > threshold`` (default 0), else flat;
- ``majority``: long when more than half of ``A`` are long, short when more
  than half are short, else flat (weights not used);
- ``unanimous``: long (short) when every member of ``A`` is long (short).

No active member, or a total weight of zero, is flat. A member's NaN target
(keep the position) counts as its last target. The result is clipped to
the ensemble's direction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import msgspec
import numpy as np

from ..errors import ConfigError
from ..runtime.registry import (REQUIRED, Param, PluginError, describe_object, register,
                                registry, validation_text)
from .classifiers import UNDEFINED, Classifier
from .indicators import Indicator
from .strategies import DIRECTIONS, BadTargets, Strategy, checked_targets

__all__ = ("Ensemble", "METHODS", "combine")


class _Shown(str):
    """A default shown as words, not as a quoted string (``admf list``)."""

    def __repr__(self) -> str:
        return str(self)


METHODS = ("weighted_vote", "majority", "unanimous", "average")
_MEMBER = re.compile(r"^m(\d+)\.(\w+)$")


class _EnsembleParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    method: str = "weighted_vote"
    threshold: float = 0.0
    regime: str | None = None


def combine(targets: np.ndarray, weights: np.ndarray, active: np.ndarray, method: str,
            threshold: float = 0.0) -> np.ndarray:
    """Members' targets ``(members, bars)`` combined per bar (see the module
    docstring); ``active`` is a boolean mask of the same shape."""
    w = np.where(active, weights[:, None], 0.0)
    total = w.sum(axis=0)
    sign = np.sign(targets)
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "average":
            out = np.where(total > 0, (w * targets).sum(axis=0) / total, 0.0)
        elif method == "weighted_vote":
            score = np.where(total > 0, (w * sign).sum(axis=0) / total, 0.0)
            out = np.where(np.abs(score) > threshold, np.sign(score), 0.0)
        else:
            count = active.sum(axis=0)
            longs = (active & (sign > 0)).sum(axis=0)
            shorts = (active & (sign < 0)).sum(axis=0)
            if method == "majority":
                out = np.where(2 * longs > count, 1.0, np.where(2 * shorts > count, -1.0, 0.0))
            else:  # unanimous
                out = np.where((count > 0) & (longs == count), 1.0,
                               np.where((count > 0) & (shorts == count), -1.0, 0.0))
    return np.asarray(out, dtype=np.float64)


def _member_specs(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                      dict[str, Any]]:
    """Split flat params into the ensemble's own, its members' and its classifier's."""
    own: dict[str, Any] = {}
    members: dict[int, dict[str, Any]] = {}
    regime: dict[str, Any] = {}
    for key, value in params.items():
        match = _MEMBER.match(key)
        if match:
            members.setdefault(int(match.group(1)), {})[match.group(2)] = value
        elif key.startswith("regime."):
            regime[key.removeprefix("regime.")] = value
        else:
            own[key] = value
    if not members:
        raise ConfigError("an ensemble needs members: m0.type, m1.type, ... "
                          "(e.g. m0.type: sma_crossover)")
    order = sorted(members)
    if order != list(range(len(order))):
        missing = next(i for i in range(len(order) + 1) if i not in members)
        raise ConfigError(f"members are m0, m1, ... without gaps; m{missing} is missing "
                          f"(given: {', '.join(f'm{i}' for i in order)})")
    return own, [members[i] for i in order], regime


@register("strategy", "ensemble")
class Ensemble(Strategy):
    """Combines its members' targets (weighted vote, majority, unanimous or
    average), members gated by a regime classifier; see admf.components.ensembles."""

    name = "ensemble"
    Params = _EnsembleParams

    flat_params = True
    """``params`` arrive as the flat mapping the config gives (member keys
    ``m<i>.<name>``, classifier keys ``regime.<name>``), not as :attr:`Params`."""

    @classmethod
    def __params__(cls) -> list[Param]:
        """What ``admf list strategies`` shows: the ensemble's own keys, then
        the member and classifier key patterns."""
        return [Param("method", "str", "weighted_vote", " | ".join(METHODS)),
                Param("threshold", "float", 0.0, "weighted_vote: |score| must exceed it"),
                Param("regime", "str | None", None, "a classifier (admf list classifiers)"),
                Param("regime.<param>", "", _Shown("its default"), "the classifier's parameters"),
                Param("m<i>.type", "str", REQUIRED, "member i's strategy (m0, m1, ...)"),
                Param("m<i>.weight", "float", 1.0, "member i's weight, >= 0"),
                Param("m<i>.when", "str", "any", "the regime member i is active in"),
                Param("m<i>.<param>", "", _Shown("its default"), "member i's strategy's parameters")]

    @classmethod
    def code_parts(cls, params: Mapping[str, Any]) -> list[type]:
        """The member and classifier classes ``params`` names (their code is
        part of the ensemble's signals' key)."""
        parts: list[type] = []
        for key, value in sorted(params.items()):
            kind = "classifier" if key == "regime" else "strategy" \
                if _MEMBER.match(key) and key.endswith(".type") else None
            if kind is not None and isinstance(value, str):
                try:
                    parts.append(registry.get(kind, value))
                except PluginError:
                    pass  # refused when the ensemble is built
        return parts

    def __init__(self, params: Mapping[str, Any], *, direction: str = "long_only") -> None:
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        own, specs, regime = _member_specs(params)
        try:
            settings = msgspec.convert(own, _EnsembleParams)
        except msgspec.ValidationError as exc:
            text = validation_text(exc, _EnsembleParams)
            raise ConfigError(f"ensemble {text.replace(')', ', m<i>.<param>, regime.<param>)')}"
                              if text.startswith("has no") else f"ensemble {text}") from None
        super().__init__(settings, direction=direction)
        if settings.method not in METHODS:
            raise ConfigError(f"ensemble method: expected one of {', '.join(METHODS)}, "
                              f"got {settings.method!r}")
        if not math.isfinite(settings.threshold) or not 0 <= settings.threshold < 1:
            raise ConfigError(f"ensemble threshold: expected a number in [0, 1), got "
                              f"{settings.threshold!r}")
        self.classifier = self._classifier(settings.regime, regime)
        labels = self.classifier.labels if self.classifier is not None else ()
        self.members: list[Strategy] = []
        self.kinds: list[str] = []
        weights, self.when = [], []
        for i, spec in enumerate(specs):
            spec = dict(spec)
            kind = spec.pop("type", None)
            if not isinstance(kind, str):
                raise ConfigError(f"m{i}.type: every member needs a strategy type, got {kind!r}")
            weight = spec.pop("weight", 1.0)
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                    or not math.isfinite(weight) or weight < 0:
                raise ConfigError(f"m{i}.weight: expected a finite number >= 0, got {weight!r}")
            when = spec.pop("when", "any")
            if when != "any" and when not in labels:
                known = ", ".join(("any", *labels))
                raise ConfigError(f"m{i}.when: {when!r} is not a regime of "
                                  f"{settings.regime or 'no classifier'} (expected {known})")
            self.members.append(self._member(i, kind, spec, direction))
            self.kinds.append(kind)
            weights.append(float(weight))
            self.when.append(when)
        self.weights = np.asarray(weights, dtype=np.float64)
        if settings.method in ("weighted_vote", "average") and not self.weights.sum() > 0:
            raise ConfigError("ensemble: the members' weights sum to 0; give at least one a "
                              "positive weight")
        self._last = np.zeros(len(self.members))

    @staticmethod
    def _member(i: int, kind: str, spec: dict[str, Any], direction: str) -> Strategy:
        try:
            cls = registry.get("strategy", kind)
        except PluginError as exc:
            raise ConfigError(f"m{i}.type: {exc}") from None
        if cls is Ensemble:
            raise ConfigError(f"m{i}.type: an ensemble cannot be a member of an ensemble")
        if not (isinstance(cls, type) and issubclass(cls, Strategy)):
            # a per-bar member would need its own row loop inside this one
            raise ConfigError(f"m{i}.type: {kind!r} is not a vectorised strategy; ensemble "
                              "members are (admf list strategies)")
        try:
            params = msgspec.convert(spec, cls.Params)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"m{i}: {kind} {validation_text(exc, cls.Params)}") from None
        try:
            return cls(params, direction=direction)
        except ConfigError as exc:
            raise ConfigError(f"m{i}: {exc}") from None

    @staticmethod
    def _classifier(name: str | None, params: dict[str, Any]) -> Classifier | None:
        if name is None:
            if params:
                raise ConfigError(f"regime.{next(iter(params))}: given without a regime "
                                  "(regime: trend | volatility | a registered classifier)")
            return None
        try:
            cls = registry.get("classifier", name)
        except PluginError as exc:
            raise ConfigError(f"regime: {exc}") from None
        if not (isinstance(cls, type) and issubclass(cls, Classifier)):
            raise ConfigError(f"regime: {name!r} is not a classifier (admf list classifiers)")
        known = [p.name for p in describe_object(cls)]
        for key in params:
            if key not in known:
                raise ConfigError(f"regime.{key}: {name} has no parameter {key!r} (its "
                                  f"parameters: {', '.join(known) or 'none'})")
        try:
            return cls(**params)  # a bad value raises ConfigError naming the classifier
        except TypeError as exc:
            raise ConfigError(f"regime {name}: {exc}") from None

    def indicators(self) -> dict[str, Indicator]:
        roles: dict[str, Indicator] = {}
        for i, member in enumerate(self.members):
            for role, indicator in member.indicators().items():
                roles[f"m{i}:{role}"] = indicator
        if self.classifier is not None:
            for role, indicator in self.classifier.indicators().items():
                roles[f"regime:{role}"] = indicator
        return roles

    def targets(self, bars: Any, values: Mapping[str, Any]) -> np.ndarray:
        n = len(bars.close)
        stacked = np.empty((len(self.members), n))
        for i, member in enumerate(self.members):
            prefix = f"m{i}:"
            own = {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}
            try:
                target = checked_targets(member.targets(bars, own), n)
            except BadTargets as exc:
                raise BadTargets(f"member m{i} ({self.kinds[i]}) {exc.reason}", exc.index) \
                    from None
            # NaN keeps the member's position: carry its last target forward
            seen = np.where(np.isnan(target), -1, np.arange(n))
            np.maximum.accumulate(seen, out=seen)
            carried = np.where(seen >= 0, target[np.maximum(seen, 0)], self._last[i])
            if n:
                self._last[i] = carried[-1]
            stacked[i] = carried
        active = np.ones((len(self.members), n), dtype=bool)
        if self.classifier is not None:
            prefix = "regime:"
            own = {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}
            codes = self.classifier.classify(bars, own)
            for i, when in enumerate(self.when):
                if when != "any":
                    code = self.classifier.labels.index(when)
                    active[i] = (codes == code) & (codes != UNDEFINED)
        out = combine(stacked, self.weights, active, self.params.method,  # type: ignore[attr-defined]
                      self.params.threshold)  # type: ignore[attr-defined]
        if self.direction == "long_only":
            out = np.maximum(out, 0.0)
        elif self.direction == "short_only":
            out = np.minimum(out, 0.0)
        return out
