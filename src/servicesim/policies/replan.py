"""Re-planning (DOMAIN §8): a SKU's policy derived again, with the same target, from the
demand of a recent window or of the customer base of the moment.

The derivation is the time-0 one (:func:`~servicesim.policies.derivation.derive_policy`);
only the demand it starts from changes.  The model (:mod:`servicesim.model.replan`) decides
when, counts what was demanded and applies the result; this module turns counts into
demand and keeps the record of the parameters over time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..scenario.schema import Policy, Scenario
from .derivation import DerivedPolicy, SkuDemand, derive_policy


def observed_demand(base: SkuDemand, lines: int, units: int, days: float) -> SkuDemand:
    """Demand per day from ``lines`` order lines of ``units`` units seen over ``days``.

    μ̂_d = units / days and the compound-Poisson variance σ̂_d² = λ̂·E[Q²] with λ̂ = lines /
    days and E[Q²] = q̄²·(E[Q²]/E[Q]²), q̄ = units / lines the mean line seen and the ratio
    E[Q²]/E[Q]² that of ``base`` (the scenario's quantity distributions, which customers
    leaving or joining do not change; lines arrive as Poisson, as at time 0).  Without base
    demand the ratio is 1 (every line of q̄ units)."""
    if days <= 0 or lines <= 0:
        return SkuDemand(0.0, 0.0, 0.0, base.unit_size_one)
    lines_per_day, units_per_day = lines / days, units / days
    ratio = 1.0
    if base.units_per_day > 0:
        ratio = base.units_var_per_day * base.lines_per_day / base.units_per_day**2
    unit_size_one = units == lines
    if unit_size_one and base.unit_size_one:
        variance = units_per_day  # exactly Poisson, as at time 0
    else:
        variance = units_per_day * (units / lines) * ratio
    return SkuDemand(lines_per_day, units_per_day, variance, unit_size_one)


def rederive_policy(scenario: Scenario, sku_name: str, policy: Policy,
                    demand: SkuDemand) -> DerivedPolicy:
    """The policy of ``sku_name`` (``policy``: its effective policy) derived again from
    ``demand``, with the same target and metric: parameters given in the scenario stay,
    the derived ones (and an EOQ order quantity) follow the demand."""
    return derive_policy(scenario, sku_name, demand, policy)


@dataclass(slots=True)
class PolicyStep:
    """The parameters of one SKU from ``day`` until the next step (or the horizon), how
    they were found, and the service they achieved meanwhile.

    ``basis``: ``initial`` (the time-0 derivation), ``observed`` or ``customers`` (a
    re-derivation), ``kept`` (too few lines in the window: the parameters before stay).
    ``units_demanded`` and ``units_short`` count the units demanded while the step ruled
    and those not shipped at the first attempt (their ratio is the achieved β of the step;
    the whole run, warm-up included)."""

    day: float
    basis: str
    reorder_point: int | None
    order_quantity: int | None
    order_up_to: int | None
    predicted_service: float | None
    """The formula's α or β at these parameters (DOMAIN §5)."""
    demand_per_day: float
    """μ_d the derivation used (units per day)."""
    window_lines: int
    """Order lines seen in the window (``observed``; 0 otherwise)."""
    units_demanded: int = 0
    units_short: int = 0

    @classmethod
    def of(cls, day: float, basis: str, policy: DerivedPolicy,
           window_lines: int = 0) -> PolicyStep:
        """The step of ``policy`` from ``day``."""
        return cls(day, basis, policy.reorder_point, policy.order_quantity,
                   policy.order_up_to, policy.predicted_service, policy.demand_per_day,
                   window_lines)

    @property
    def achieved_fill_rate(self) -> float | None:
        """β achieved while the step ruled (None: nothing demanded)."""
        if not self.units_demanded:
            return None
        return 1.0 - self.units_short / self.units_demanded

    def as_dict(self) -> dict[str, Any]:
        """A flat, JSON-friendly record (with the achieved β)."""
        return {**asdict(self), "achieved_fill_rate": self.achieved_fill_rate}
