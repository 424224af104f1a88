"""The record of one replication: its figures, breakdowns and what charts need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..policies.derivation import DerivedPolicy
from ..policies.replan import PolicyStep


@dataclass(eq=False)
class DailySeries:
    """Customers' demand per whole day of a run, day 0 to the horizon (cell ``d`` holds the
    orders placed in ``[d, d + 1)``, the last cell the part-day up to the horizon): units
    ordered and units not shipped from stock at the first attempt, the denominator and the
    shortfall of the item fill rate β (DOMAIN §3).  The item fill rate of days ``a..b`` is
    ``1 − units_short[a:b+1].sum() / units_demanded[a:b+1].sum()``.  Recorded from day 0
    (the warm-up included) so that a disruption early in the run has a "before"."""

    units_demanded: np.ndarray
    units_short: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DailySeries):
            return NotImplemented
        return bool(np.array_equal(self.units_demanded, other.units_demanded)
                    and np.array_equal(self.units_short, other.units_short))

    def trailing_fill_rate(self, days: int = 7) -> np.ndarray:
        """The item fill rate of the ``days`` whole days ending with each day (fewer at the
        start of the run); NaN where those days had no demand."""
        demanded = np.convolve(self.units_demanded, np.ones(days))[: len(self.units_demanded)]
        short = np.convolve(self.units_short, np.ones(days))[: len(self.units_short)]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(demanded > 0, 1.0 - short / np.maximum(demanded, 1e-300), np.nan)


@dataclass(frozen=True)
class DisruptionEvent:
    """One disruption event of a replication (DOMAIN §11).

    ``start_day``/``end_day``: when it started and ended (``end_day`` may lie beyond the
    horizon: it is not clipped).  ``before_fill_rate``: the item fill rate of the 28 whole
    days before the day the event starts in (fewer when the run is younger; days of the
    warm-up count; None without demand then).  ``recovered_day``: the end (``k + 1``) of the
    first whole day ``k`` ending at or after ``end_day``, and not before the day of the
    lowest trailing fill rate from the event's start to 30 days after its end (the event's
    worst point: a supplier outage is felt when the purchase orders it delayed are missed, a
    lead time later), whose trailing 7-day item fill rate (days ``k − 6 .. k``, see
    :meth:`DailySeries.trailing_fill_rate`) is at least ``before_fill_rate − 0.01``; None
    when no such day ends by the horizon.
    ``time_to_recover_days`` = ``recovered_day − end_day`` (None when not recovered)."""

    name: str
    kind: str
    start_day: float
    end_day: float
    recovered_day: float | None
    before_fill_rate: float | None
    time_to_recover_days: float | None


@dataclass
class ReplicationResult:
    """Figures of one replication.

    ``kpis`` has exactly :data:`servicesim.kpis.SUMMARY_KEYS`; ``details`` holds diagnostic
    and theory-check figures (time averages, rates per day, queue statistics, totals over the
    whole run for unit conservation); ``by_sku`` and ``by_segment`` are breakdowns.
    ``cycle_time_counts`` and ``units_short_by_reaction`` are what the charts of cycle times
    and of unmet demand need, so that they never run the model again.
    """

    seed: str
    kpis: dict[str, float]
    details: dict[str, float]
    by_sku: dict[str, dict[str, float]]
    by_segment: dict[str, dict[str, float]]
    policies: dict[str, DerivedPolicy]
    trace: list[tuple[float, str, dict[str, Any]]] | None = field(default=None, repr=False)
    cycle_time_counts: dict[float, int] = field(default_factory=dict)
    """Orders of the measured window closed with a delivery, by order cycle time: {upper
    edge of a :class:`~servicesim.model.histogram.DayHistogram` bin in days: orders}, for
    the non-empty bins (DOMAIN §3, order cycle time)."""
    units_short_by_reaction: dict[str, float] = field(default_factory=dict)
    """Units short at a stockout in the measured window (first attempts and retries), by
    the reaction drawn: every key of :data:`servicesim.model.reactions.REACTIONS`."""
    by_location: dict[str, dict[str, float]] = field(default_factory=dict)
    """Figures per location of a network (DOMAIN §7; empty without ``locations``): see
    :func:`servicesim.model.accounting.location_figures`."""
    policy_history: dict[str, list[PolicyStep]] = field(default_factory=dict)
    """With ``policy.replan`` (DOMAIN §8): each SKU's parameters over time, from the time-0
    derivation on, with the predicted and achieved service of each step (empty without
    re-planning)."""
    disruptions: list[DisruptionEvent] = field(default_factory=list)
    """The disruption events of the run, in order of start (DOMAIN §11; empty without
    ``disruptions``)."""
    daily: DailySeries | None = None
    """Demand and shortfall per day: recorded when the scenario has disruptions or
    ``simulate(..., daily=True)`` asks for it (None otherwise)."""
