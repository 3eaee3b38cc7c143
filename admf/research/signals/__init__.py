"""Stored signals: generate each strategy point's sparse signals once, keep
them content-addressed, and read them back (:mod:`.store`, :mod:`.generate`)."""

from .generate import GenerationResult, generate_signals
from .store import SignalStore, signal_key, strategy_code_version

__all__ = ("SignalStore", "signal_key", "strategy_code_version", "generate_signals",
           "GenerationResult")
