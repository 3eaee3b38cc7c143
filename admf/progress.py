"""Progress of long work, for people watching a terminal.

A *progress callback* is ``progress(done, total, unit)`` (see
:data:`admf.runtime.instrument.Progress`); :func:`terminal` is the one
``admf run`` uses on a terminal.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .runtime.instrument import Progress

__all__ = ("terminal",)


def terminal(stream: TextIO = sys.stderr) -> Progress:
    """A callback that redraws one status line on ``stream`` (at most ~10
    times a second) and ends it with a newline when the work is done."""
    last = [0.0]

    def report(done: int, total: int | None, unit: str) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - last[0] < 0.1:
            return
        last[0] = now
        share = f" ({done / total:.0%})" if total else ""
        of = f" / {total:,}" if total else ""
        stream.write(f"\r{unit}: {done:,}{of}{share}  ")
        if finished:
            stream.write("\n")
        stream.flush()

    return report
