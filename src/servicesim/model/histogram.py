"""The fixed-memory histogram of order cycle times (percentiles without per-order lists)."""

from __future__ import annotations

import itertools
import math

import numpy as np


class DayHistogram:
    """Fixed-memory histogram of durations in days, for percentiles (no per-event lists).

    11,801 counters whatever the number of values: bins are 0.01 day wide below 10 days,
    0.1 day below 100 days and 1 day below 10,000 days; longer durations share one last
    bin (counted at 10,000 days).  A quantile lies in the bin of the exact sample quantile
    (interpolated linearly inside it), so its error is at most one bin width:
    **at most max(0.01 day, 1 % of the value)** for values below 10,000 days (1 % relative
    from 1 day up; 0.01 day absolute below).  ``tests/test_scale.py`` checks this bound
    against exact quantiles of a sample.
    """

    __slots__ = ("counts",)
    _EDGES = (10.0, 100.0, 10_000.0)

    def __init__(self) -> None:
        self.counts = [0] * (1000 + 900 + 9900 + 1)

    @property
    def n(self) -> int:
        """Values added."""
        return sum(self.counts)

    def add(self, x: float) -> None:
        if x < 10.0:
            i = int(x * 100.0)
        elif x < 100.0:
            i = 1000 + int((x - 10.0) * 10.0)
        elif x < 10_000.0:
            i = 1900 + int(x - 100.0)
        else:
            i = 11_800
        self.counts[i] += 1

    def add_many(self, xs: np.ndarray) -> None:
        """Add the values ``xs`` (>= 0): the bins of :meth:`add`, computed with NumPy."""
        i = np.where(xs < 10.0, (xs * 100.0).astype(np.int64),
                     np.where(xs < 100.0, 1000 + ((xs - 10.0) * 10.0).astype(np.int64),
                              np.where(xs < 10_000.0, 1900 + (xs - 100.0).astype(np.int64),
                                       11_800)))
        counts = self.counts
        found, n = np.unique(i, return_counts=True)
        for index, k in zip(found.tolist(), n.tolist(), strict=True):
            counts[index] += k

    def clear(self) -> None:
        """Zero every counter (in place)."""
        self.counts[:] = [0] * len(self.counts)

    @staticmethod
    def _bin(i: int) -> tuple[float, float]:
        if i < 1000:
            return i / 100.0, (i + 1) / 100.0
        if i < 1900:
            lo = 10.0 + (i - 1000) / 10.0
            return lo, lo + 0.1
        if i < 11_800:
            lo = 100.0 + (i - 1900)
            return lo, lo + 1.0
        return 10_000.0, 10_000.0

    def by_upper_edge(self) -> dict[float, int]:
        """The non-empty bins as {upper edge in days: count}, in increasing order.

        The last 1-day bin [9,999, 10,000) and the bin of longer durations share the upper
        edge 10,000 days: their counts are added under it."""
        counts, upper = self.counts, _UPPER
        out: dict[float, int] = {}
        for i in itertools.compress(range(len(counts)), counts):
            edge = upper[i]
            out[edge] = out.get(edge, 0) + counts[i]
        return out

    def quantile(self, q: float) -> float:
        """The q-quantile, interpolated linearly inside its bin; NaN when empty."""
        n = self.n
        if n == 0:
            return math.nan
        target = q * n
        cum = 0
        for i, c in enumerate(self.counts):
            if c and cum + c >= target:
                lo, hi = self._bin(i)
                return lo + (hi - lo) * max(0.0, min(1.0, (target - cum) / c))
            cum += c
        return self._bin(len(self.counts) - 1)[0]  # pragma: no cover


_UPPER = tuple(DayHistogram._bin(i)[1] for i in range(len(DayHistogram().counts)))
"""The upper edge of every bin, in days (made once: reading a result walks only the
non-empty bins)."""
