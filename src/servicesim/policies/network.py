"""Policies of a network's stock points (DOMAIN §5, §7): each location's SKUs derived as
if the location were a single stock point seeing its own demand and its effective lead time.

A location's demand is that of the segments it serves and of every location downstream of
it (one-for-one pass-through of downstream demand: the rates add up, which is exact for
base-stock policies and a first approximation for batch-ordering ones).  Its lead time is
the supplier's when it is replenished from the supplier; from an upstream location it is
the lane's transit time plus the expected wait for upstream stock, estimated METRIC-style
(Sherbrooke 1968) from the upstream policy: E[wait] = E[B_up] / λ_up (Little), with the
upstream backorders E[B_up] from the upstream's lead-time demand model at its levels
(:func:`expected_wait`; exact for base stock with Poisson demand).
Limits: the wait is added to the *mean* lead time (a non-constant transit time is replaced
by a constant of transit mean + wait, so transit variability is not protected against);
the variance of the wait itself is ignored, as in METRIC; rationing between downstream
locations is taken as first come first served even where the upstream's ``allocation`` is
``priority`` (every downstream location is given the same, average, expected wait: a
priority-1 location waits less than that in the run, the others more).  A location's own
holding cost, where it sets one, replaces the SKU's in its view.
"""

from __future__ import annotations

from typing import Any

from ..scenario.distributions import Constant
from ..scenario.schema import SUPPLIER, PolicyOverride, Scenario, Supplier
from .derivation import DerivedPolicy, _lead_time_demand, derive_policies


def policy_key(location: str, sku: str) -> str:
    """The key of a network stock point's policy: ``location/sku`` (names have no '/')."""
    return f"{location}/{sku}"


def downstream(scenario: Scenario, location: str) -> list[str]:
    """``location`` and every location it replenishes, directly or through others."""
    locs = scenario.locations or {}
    out = [location]
    for name in scenario.network_order():
        if locs[name].replenished_from in out and name not in out:
            out.append(name)
    return out


def expected_wait(policy: DerivedPolicy) -> float:
    """METRIC-style expected wait of a replenishment order at an upstream stock point:
    its expected backorders ÷ its demand rate (Little); 0 without demand.

    The backorders use the lead-time demand model of the upstream's derivation (Poisson,
    negative binomial or normal, with its moments): E[(D − S)^+] at the order-up-to level
    S of a base-stock or (R, S) policy (exact for base stock with Poisson demand), the
    mean of E[(D − y)^+] over y = s + 1 .. s + Q for (s, Q) and (s, S) policies."""
    if policy.demand_per_day <= 0:
        return 0.0
    demand, _ = _lead_time_demand(policy.lead_time_demand_mean,
                                  policy.lead_time_demand_std ** 2,
                                  policy.lead_time_demand_model, [], policy.sku)
    s, quantity = policy.reorder_point, policy.order_quantity
    if policy.type in ("sQ", "sS") and s is not None and quantity:
        step = max(1, quantity // 200)  # at most some 200 points of the average
        levels = range(s + 1, s + quantity + 1, step)
        backorders = sum(demand.loss(y) for y in levels) / len(levels)
    else:
        level = policy.order_up_to if policy.order_up_to is not None else (s or 0) + 1
        backorders = demand.loss(level)
    return backorders / policy.demand_per_day


def location_view(scenario: Scenario, location: str, lead_days: dict[str, float] | None,
                  ) -> Scenario:
    """The location as a single stock point: its SKUs' policies, the demand of the segments
    it serves directly or through downstream locations, and (from an upstream location)
    a supplier whose lead time is ``lead_days[sku]`` with the lane's costs."""
    locs = scenario.locations or {}
    loc = locs[location]
    served = set(downstream(scenario, location))
    segments = {n: s for n, s in scenario.segments.items() if s.location in served}
    skus: dict[str, Any] = {}
    for name in scenario.held_skus(location):
        update: dict[str, Any] = {
            "policy": PolicyOverride.model_validate(scenario.location_override(location, name))}
        if loc.holding_rate_per_year is not None or loc.holding_cost_per_unit_per_year \
                is not None:  # the location's holding cost (an EOQ order quantity uses it)
            update["holding_cost_per_unit_per_year"] = loc.annual_holding_cost_per_unit(
                scenario.skus[name])
        if loc.replenished_from != SUPPLIER and loc.lane is not None and lead_days is not None:
            update["supplier"] = Supplier(
                lead_time_days=Constant(value=lead_days[name]),
                inbound_cost_per_shipment=loc.lane.cost_per_shipment,
                inbound_cost_per_unit=loc.lane.cost_per_unit)
        skus[name] = scenario.skus[name].model_copy(update=update)
    if not segments:  # a location serving nobody still gets its levels (no demand)
        first = next(iter(scenario.segments.values()))
        segments = {"none": first.model_copy(update={"customers": 0})}
    return scenario.model_copy(update={"skus": skus, "segments": segments, "locations": None})


def derive_network_policies(scenario: Scenario) -> dict[str, DerivedPolicy]:
    """Every (location, SKU)'s policy keyed by :func:`policy_key`, upstream first, each
    downstream lead time = transit + the METRIC-style expected wait upstream."""
    locs = scenario.locations or {}
    out: dict[str, DerivedPolicy] = {}
    waits: dict[str, float] = {}  # per upstream stock point: its locations share the wait

    def wait(key: str) -> float:
        if key not in waits:
            waits[key] = expected_wait(out[key])
        return waits[key]

    for location in scenario.network_order():
        loc = locs[location]
        lead: dict[str, float] | None = None
        if loc.replenished_from != SUPPLIER:
            transit = loc.lane.transit_days.mean if loc.lane is not None else 0.0
            lead = {sku: transit + wait(policy_key(loc.replenished_from, sku))
                    for sku in scenario.held_skus(location)}
        derived = derive_policies(location_view(scenario, location, lead))
        for sku, policy in derived.items():
            out[policy_key(location, sku)] = policy
    return out
