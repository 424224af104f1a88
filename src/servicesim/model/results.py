"""The record of one replication: its figures, breakdowns and what charts need."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..policies.derivation import DerivedPolicy
from ..policies.replan import PolicyStep


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
