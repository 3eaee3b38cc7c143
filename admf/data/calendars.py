"""Telling a session calendar from the bars themselves.

Annualised metrics trust ``data.calendar``: under the default ``24/7``
calendar a year has 365.25 days of bars, under ``equity`` 252 sessions.
Daily bars that never fall on a Saturday or Sunday are almost surely
exchange sessions, and annualising them as 365.25 bars a year inflates
Sharpe by about ``sqrt(365.25 / 252) = 1.20``. :func:`weekday_only` spots
them so the study can warn (it does not switch the calendar itself: a
silent change of the annualisation would be worse than a wrong default
that is named).
"""

from __future__ import annotations

import numpy as np

from ..errors import AdmfWarning

__all__ = ("CalendarWarning", "DAY_NS", "weekday_only")

DAY_NS = 86_400_000_000_000
_THURSDAY = 3  # 1970-01-01, day 0 of the epoch


class CalendarWarning(AdmfWarning):
    """Raised (as a warning) when the bars look like exchange sessions but
    ``data.calendar`` is ``24/7``, so annualised metrics would be mis-scaled."""


def weekday_only(stamps: np.ndarray, interval_ns: int) -> bool:
    """Whether ``stamps`` (int64 ns UTC, sorted) are daily bars that span at
    least one whole weekend and have no bar on a Saturday or Sunday."""
    if interval_ns != DAY_NS or len(stamps) < 5 or int(stamps[-1] - stamps[0]) < 7 * DAY_NS:
        return False
    weekday = (stamps // DAY_NS + _THURSDAY) % 7  # Monday 0 ... Sunday 6
    return not bool(np.any(weekday >= 5))
