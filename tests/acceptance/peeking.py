"""A per-bar strategy that peeks at the bar it decides on (for the look-ahead test)."""

from admf.components.per_bar import BarStrategy


class Peek(BarStrategy):
    """Long exactly while the current bar closes above its open."""

    def on_bar(self, bar, ind, position):
        return 1.0 if bar.close > bar.open else 0.0
