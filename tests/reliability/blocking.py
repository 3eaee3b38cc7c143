"""Strategies for the interrupt tests, in an importable module so that pool
workers (forkserver) load them by ``"tests.reliability.blocking:Name"``."""

from __future__ import annotations

import time
from typing import Any

from admf.components.per_bar import BarStrategy

__all__ = ("Blocking", "Steady")


class Blocking(BarStrategy):
    """Blocks in Python for ``seconds`` on its first bar (a busy loop, so no
    signal or cancellation can cut it short): a run that never reaches a
    checkpoint by itself."""

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__(seconds=seconds)
        self._started = False

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        if not self._started:
            self._started = True
            end = time.monotonic() + self.seconds
            while time.monotonic() < end:
                pass
        return 1.0


class Steady(BarStrategy):
    """Long on even bars (with ``k``'s parity), flat on odd ones, sleeping
    ``delay`` seconds a bar: runs of a steady, known length."""

    def __init__(self, k: int = 0, delay: float = 0.001) -> None:
        super().__init__(k=k, delay=delay)
        self._n = 0

    def on_bar(self, bar: Any, ind: Any, position: float) -> float | None:
        time.sleep(self.delay)
        self._n += 1
        return 1.0 if (self._n + self.k) % 2 == 0 else 0.0
