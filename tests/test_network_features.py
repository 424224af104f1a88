"""Network model features (DOMAIN §7): internal orders rationed by the downstream location's
priority, lateral supply from a segment's fallback location, and holding cost per location;
their problems reported all at once, and their figures on small runs."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hyp

import validation
from servicesim.errors import ScenarioError
from servicesim.inputs.scenario_file import load_scenario
from servicesim.model.network import _Internal, _PriorityQueue
from servicesim.model.results import ReplicationResult
from servicesim.model.simulation import simulate
from servicesim.policies.network import derive_network_policies, policy_key
from servicesim.scenario.schema import Scenario

# one DC short of stock (base stock S = 8 against a lead-time demand of 12 units) feeding
# two branches with the same demand: the branches' orders queue at the DC
SCARCE = """\
name: scarce-dc
run: {horizon_days: 1600, warmup_days: 100, replications: 1, seed: 3}
policy: {type: base_stock, order_up_to: 0, service_target: null}
skus:
  a: {}
segments:
  first_customers:
    customers: 1
    order_interval_days: {type: exponential, mean: 1.0}
    reactions: {backorder: 1.0}
    location: first
  second_customers:
    customers: 1
    order_interval_days: {type: exponential, mean: 1.0}
    reactions: {backorder: 1.0}
    location: second
supplier: {lead_time_days: 6}
locations:
  dc:
    policy: {order_up_to: 8}
  first:
    replenished_from: dc
    lane: {transit_days: 1.0}
    policy: {order_up_to: 3}
    priority: 1
  second:
    replenished_from: dc
    lane: {transit_days: 1.0}
    policy: {order_up_to: 3}
    priority: 2
"""


def scenario(text: str, change: dict[str, Any] | None = None) -> Scenario:
    """The scenario of ``text`` with dotted keys of ``change`` set."""
    data = yaml.safe_load(text)
    for dotted, value in (change or {}).items():
        *path, last = dotted.split(".")
        node = data
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    return Scenario.model_validate(data)


def conserved(r: ReplicationResult) -> bool:
    """Units demanded = shipped + open backorders + lost + waiting (STYLE habit 8)."""
    d = r.details
    return d["total_units_demanded"] == d["total_units_shipped"] \
        + d["total_units_backordered_open"] + d["total_units_lost"] + d["total_units_waiting"]


# --------------------------------------------------------------------------- priority


class _Seg:
    def __init__(self, name: str) -> None:
        self.name = name


class _Order:
    def __init__(self, seg: str) -> None:
        self.seg = _Seg(seg)


class _Dest:
    def __init__(self, location: str) -> None:
        self.location = location


def test_priority_queue_serves_best_priority_first_fcfs_within() -> None:
    ranks = {"branch_1": 1, "branch_3": 3, "vip": 1, "retail": 2}

    def rank(order: Any) -> int:
        return ranks[order.dest.location] if type(order) is _Internal else ranks[order.seg.name]

    queue = _PriorityQueue(rank)
    arrivals = [("b3", _Internal(_Dest("branch_3"), True)),  # type: ignore[arg-type]
                ("retail", _Order("retail")),
                ("b1", _Internal(_Dest("branch_1"), True)),  # type: ignore[arg-type]
                ("vip", _Order("vip")),
                ("b3 again", _Internal(_Dest("branch_3"), True))]  # type: ignore[arg-type]
    for k, (_, order) in enumerate(arrivals):
        queue.append([order, 1, 1, float(k)])  # entered at time k
    order = [arrivals[int(entry[3])][0] for entry in queue]
    assert order == ["b1", "vip", "retail", "b3", "b3 again"]


def _branches(r: ReplicationResult) -> tuple[dict[str, float], dict[str, float]]:
    return r.by_location["first"], r.by_location["second"]


def test_priority_allocation_favours_the_priority_1_branch() -> None:
    fcfs = simulate(scenario(SCARCE), 3)
    ranked = simulate(scenario(SCARCE, {"locations.dc.allocation": "priority"}), 3)
    # first come first served: the two branches wait alike (same demand, same lane)
    first, second = _branches(fcfs)
    assert first["replenishment_lead_time_days"] == pytest.approx(
        second["replenishment_lead_time_days"], rel=0.15)
    assert first["fill_rate"] == pytest.approx(second["fill_rate"], abs=0.05)
    # by priority (the same random numbers): the priority-1 branch waits far less upstream
    # and serves its customers better; the other pays for it
    first_p, second_p = _branches(ranked)
    assert first_p["replenishment_lead_time_days"] < 0.6 * second_p[
        "replenishment_lead_time_days"]
    assert first_p["replenishment_lead_time_days"] < first["replenishment_lead_time_days"]
    assert second_p["replenishment_lead_time_days"] > second["replenishment_lead_time_days"]
    assert first_p["fill_rate"] > second_p["fill_rate"] + 0.1
    assert first_p["avg_waiting_upstream_units"] < second_p["avg_waiting_upstream_units"]
    for r in (fcfs, ranked):
        assert conserved(r)
        dc = r.by_location["dc"]
        # base stock passes each unit a branch's customers take to the DC, one for one
        demanded = sum(row["units_demanded"] for row in _branches(r))
        assert abs(dc["internal_units_ordered"] - demanded) <= 10
    # the rationing moves the wait between the branches; the DC's stock is the same
    assert ranked.by_location["dc"]["internal_units_ordered"] == pytest.approx(
        fcfs.by_location["dc"]["internal_units_ordered"], abs=10)


def test_priority_ranks_the_dcs_own_customers_by_segment_priority() -> None:
    """Customers backordered at the DC itself rank by their segment's priority, on the
    scale of the locations': a priority-1 segment at the DC is served before a priority-2
    branch, a priority-3 one after it."""
    def dc_customers(priority: int) -> Scenario:
        data = yaml.safe_load(SCARCE)
        data["segments"]["walk_in"] = {
            "customers": 1, "order_interval_days": {"type": "exponential", "mean": 1.0},
            "reactions": {"backorder": 1.0}, "location": "dc", "priority": priority}
        data["locations"]["dc"]["allocation"] = "priority"
        data["locations"]["first"]["priority"] = data["locations"]["second"]["priority"] = 2
        return Scenario.model_validate(data)

    urgent, patient = simulate(dc_customers(1), 4), simulate(dc_customers(3), 4)
    wait_urgent = urgent.by_location["dc"]["avg_customer_wait_days"]
    wait_patient = patient.by_location["dc"]["avg_customer_wait_days"]
    assert wait_urgent < 0.5 * wait_patient
    assert conserved(urgent) and conserved(patient)


def test_complete_shipping_still_ships_whole_orders_under_priority() -> None:
    sc = scenario(SCARCE, {"locations.dc.allocation": "priority",
                           "locations.first.lane.shipping": "complete",
                           "locations.first.policy": {"type": "sQ", "reorder_point": 1,
                                                      "order_quantity": 4}})
    r = simulate(sc, 5, trace=True)
    assert r.trace is not None
    shipped = [info["qty"] for _, kind, info in r.trace
               if kind == "ship" and info["location"] == "first"]
    assert shipped and set(shipped) == {4}
    assert conserved(r)


# --------------------------------------------------------------------------- lateral supply

# two branches off one DC; the north branch is short of stock, the south one holds plenty
LATERAL = """\
name: lateral
run: {horizon_days: 1000, warmup_days: 50, replications: 1, seed: 5}
policy: {type: base_stock, order_up_to: 0, service_target: null}
skus:
  a: {}
  b: {}
segments:
  north_customers:
    customers: 1
    order_interval_days: {type: exponential, mean: 0.5}
    reactions: {switch: 0.6, backorder: 0.4}
    promised_cycle_time_days: 1.5
    location: north
  south_customers:
    customers: 1
    order_interval_days: {type: exponential, mean: 2.0}
    reactions: {switch: 1.0}
    location: south
supplier: {lead_time_days: 3}
outbound: {transit_days: 1.0}
locations:
  dc:
    policy: {order_up_to: 40}
  north:
    replenished_from: dc
    lane: {transit_days: 2.0}
    policy: {order_up_to: 3}
  south:
    replenished_from: dc
    lane: {transit_days: 2.0}
    policy: {order_up_to: 12}
"""

FALLBACK = {"location": "south", "transit_days": 1.0, "cost_per_shipment": 4.0,
            "cost_per_unit": 0.5}


def test_lateral_supply_fills_short_lines_from_the_fallback() -> None:
    plain = simulate(scenario(LATERAL), 7)
    lateral = simulate(scenario(LATERAL, {"segments.north_customers.fallback": FALLBACK}), 7)
    north, south = lateral.by_location["north"], lateral.by_location["south"]
    assert north["lateral_units_received"] > 50
    assert north["lateral_units_received"] == south["lateral_units_supplied"]
    assert north["lateral_units_supplied"] == south["lateral_units_received"] == 0
    # fewer lost sales at the north branch's customers; the south branch's on hand falls
    # (its policy reorders what it gave away)
    lost, lost_before = (r.by_segment["north_customers"]["lost_sales_units"]
                         for r in (lateral, plain))
    assert lost < 0.5 * lost_before
    assert south["avg_on_hand_units"] < plain.by_location["south"]["avg_on_hand_units"]
    assert lateral.by_location["dc"]["internal_units_ordered"] > \
        plain.by_location["dc"]["internal_units_ordered"]
    # counting: short at the north branch, filled at once from network stock for customers
    seg = lateral.by_segment["north_customers"]
    assert seg["item_fill_rate"] == pytest.approx(
        north["fill_rate"] + north["lateral_units_received"] / north["units_demanded"])
    assert seg["item_fill_rate"] > north["fill_rate"] + 0.05
    assert lateral.kpis["item_fill_rate"] > plain.kpis["item_fill_rate"]
    # money: a shipment of 4 + 0.5 a unit per lateral fill, inside outbound transport
    cost = lateral.details["lateral_cost"]
    units = north["lateral_units_received"]
    assert 4.0 + 0.5 * units < cost <= 4.5 * units
    assert plain.details["lateral_cost"] == 0.0
    assert lateral.details["outbound_transport_cost"] >= cost
    assert seg["transport_cost"] > plain.by_segment["north_customers"]["transport_cost"]
    assert conserved(lateral) and conserved(plain)


def test_lateral_units_arrive_later_by_the_lateral_transit() -> None:
    def run(transit: float) -> ReplicationResult:
        fallback = {**FALLBACK, "transit_days": transit}
        return simulate(scenario(LATERAL, {"segments.north_customers.fallback": fallback}), 7)

    fast, slow = run(0.0), run(3.0)
    # the same draws (CRN): the same lateral fills, each 3 days later
    assert fast.by_location["north"]["lateral_units_received"] == \
        slow.by_location["north"]["lateral_units_received"]
    fast_seg, slow_seg = fast.by_segment["north_customers"], slow.by_segment["north_customers"]
    assert slow_seg["order_cycle_time_mean_days"] > fast_seg["order_cycle_time_mean_days"] + 0.2
    assert slow_seg["on_time_rate"] < fast_seg["on_time_rate"] - 0.05
    assert fast_seg["item_fill_rate"] == slow_seg["item_fill_rate"]


def test_lateral_supply_spares_the_fallbacks_reserve() -> None:
    """A fallback gives only what it holds above its critical level: with the reserve at
    its whole base stock it gives nothing, with a small one less than without."""
    def received(critical: int | None) -> float:
        change: dict[str, Any] = {"segments.north_customers.fallback": FALLBACK}
        if critical is not None:
            change["locations.south.policy"] = {"order_up_to": 12, "critical_level": critical}
        return simulate(scenario(LATERAL, change), 7).by_location["north"][
            "lateral_units_received"]

    assert received(12) == 0
    assert 0 < received(8) < received(None)


def test_lateral_supply_is_traced_and_reproducible() -> None:
    sc = scenario(LATERAL, {"segments.north_customers.fallback": FALLBACK})
    r = simulate(sc, 8, trace=True)
    assert r.trace is not None
    laterals = [info for _, kind, info in r.trace if kind == "lateral"]
    assert laterals and all(info["fallback"] == "south" and info["location"] == "north"
                            and info["units"] >= 1 for info in laterals)
    assert simulate(sc, 8).kpis == simulate(sc, 8).kpis


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order_up_to=hyp.tuples(*(hyp.integers(0, 6),) * 3),
       reactions=hyp.sampled_from([{"switch": 1.0}, {"backorder": 1.0},
                                   {"wait": 0.5, "defect": 0.5},
                                   {"backorder": 0.5, "switch": 0.5}]),
       both=hyp.booleans(), shared=hyp.booleans(), per_order=hyp.booleans(),
       seed=hyp.integers(0, 2**16))
def test_units_are_conserved_with_lateral_supply(order_up_to: tuple[int, int, int],
                                                 reactions: dict[str, float], both: bool,
                                                 shared: bool, per_order: bool,
                                                 seed: int) -> None:
    """Over small random networks: with the two segments at two branches, each the other's
    fallback, or both at the north branch (their arrivals merged), units are conserved and
    every lateral unit supplied is received."""
    data = yaml.safe_load(LATERAL)
    data["run"] = {"horizon_days": 150, "warmup_days": 20, "replications": 1, "seed": 1}
    for name, level in zip(("dc", "north", "south"), order_up_to, strict=True):
        data["locations"][name]["policy"]["order_up_to"] = level
    data["locations"]["south"]["allocation"] = "priority"
    data["segments"]["north_customers"]["fallback"] = FALLBACK
    if shared:
        data["segments"]["south_customers"]["location"] = "north"
    if both:
        data["segments"]["south_customers"]["fallback"] = {
            **FALLBACK, "location": "south" if shared else "north"}
    for seg in data["segments"].values():
        seg["reactions"] = reactions
        seg["lines_per_order"] = 2
        seg["reaction_per"] = "order" if per_order else "line"
    r = simulate(Scenario.model_validate(data), seed)
    assert conserved(r)
    supplied = sum(row["lateral_units_supplied"] for row in r.by_location.values())
    received = sum(row["lateral_units_received"] for row in r.by_location.values())
    assert supplied == received
    assert r.details["lateral_cost"] >= 0.0
    for row in r.by_segment.values():
        assert 0.0 <= row["item_fill_rate"] <= 1.0 or math.isnan(row["item_fill_rate"])


# --------------------------------------------------------------------------- holding cost


def test_each_stock_point_is_charged_its_locations_holding_cost() -> None:
    sc = scenario(SCARCE, {"locations.dc.holding_cost_per_unit_per_year": 182.5,
                           "locations.first.holding_rate_per_year": 0.5,
                           "skus.a.unit_cost": 20.0})
    r = simulate(sc, 2)
    w = r.details["window_days"]
    days = sc.finance.days_per_year
    rates = {"dc": 182.5 / days, "first": 0.5 * 20.0 / days,  # the location's
             "second": 0.2 * 20.0 / days}  # the SKU's (default rate 0.2)
    for location, per_day in rates.items():
        row = r.by_sku[policy_key(location, "a")]
        assert row["avg_on_hand_units"] > 0
        assert row["holding_cost"] == pytest.approx(row["avg_on_hand_units"] * w * per_day)
    assert r.kpis["holding_cost"] == pytest.approx(
        sum(row["holding_cost"] for row in r.by_sku.values()))
    # the holding cost moves the money only: every other figure is the same run's
    plain = simulate(scenario(SCARCE, {"skus.a.unit_cost": 20.0}), 2)
    assert r.by_location == plain.by_location
    assert r.kpis["holding_cost"] != plain.kpis["holding_cost"]
    assert r.kpis["operating_profit"] - plain.kpis["operating_profit"] == pytest.approx(
        plain.kpis["holding_cost"] - r.kpis["holding_cost"])


def test_placement_costs_half_as_much_per_unit_day_at_the_dc() -> None:
    """The cost-optimal placement case: holding 0.5 a unit-day at the DC, 1.0 at the
    branches; a unit-day at the DC costs half a unit-day at a branch."""
    sc = scenario(SCARCE, {"locations.dc.holding_cost_per_unit_per_year": 182.5,
                           "locations.first.holding_cost_per_unit_per_year": 365.0,
                           "locations.second.holding_cost_per_unit_per_year": 365.0})
    r = simulate(sc, 6)
    w = r.details["window_days"]
    unit_days = {k: row["avg_on_hand_units"] * w for k, row in r.by_sku.items()}
    assert r.kpis["holding_cost"] == pytest.approx(
        0.5 * unit_days["dc/a"] + unit_days["first/a"] + unit_days["second/a"])


def test_the_cost_optimal_placement_case_as_operating_profit() -> None:
    """The shared case NET3 (serial supplier -> DC -> R1, holding per unit-day 0.5 at the
    DC and 1.0 at R1, backorders 19 a unit-day) posed as an operating-profit run: with
    zero prices, −operating profit per day is the case's cost rate, and at the optimum
    (S_DC, S_R1) it meets the exact value (mean of 3 runs of 20,000 days; σ of one run is
    about 0.06)."""
    case = validation.SECOND_CASES["NET3_serial_cost_optimal_placement"]
    inputs, expected = case["inputs"], case["expected"]
    costs, days = inputs["costs"], 365.0
    r1 = inputs["stock_points"][0]
    data = {
        "name": "net3", "run": {"horizon_days": 20_100, "warmup_days": 100},
        "policy": {"type": "base_stock", "order_up_to": 0, "service_target": None},
        "skus": {"unit": {"unit_cost": 0.0, "price": 0.0}},
        "segments": {"customers": {
            "customers": 1, "reactions": {"backorder": 1.0}, "location": "R1",
            "order_interval_days": {"type": "exponential",
                                    "mean": 1.0 / r1["demand"]["rate"]}}},
        "supplier": {"lead_time_days": inputs["DC"]["supplier_lead_time"]["value"]},
        "stockout_costs": {"backorder_cost_per_unit_per_day":
                           costs["backorder_R1_per_unit_per_day"]},
        "finance": {"days_per_year": days},
        "locations": {
            "DC": {"policy": {"order_up_to": expected["optimal_S_DC"]},
                   "holding_cost_per_unit_per_year":
                       costs["holding_DC_per_unit_per_day"] * days},
            "R1": {"replenished_from": "DC",
                   "lane": {"transit_days": r1["transit_time_from_DC"]["value"]},
                   "policy": {"order_up_to": expected["optimal_S_R1"]},
                   "holding_cost_per_unit_per_year":
                       costs["holding_R1_per_unit_per_day"] * days}},
    }
    sc = Scenario.model_validate(data)
    rates = []
    for seed in (1, 2, 3):
        r = simulate(sc, seed)
        w = r.details["window_days"]
        assert -r.kpis["operating_profit"] == pytest.approx(
            r.kpis["holding_cost"] + r.kpis["backorder_cost"])
        rates.append(-r.kpis["operating_profit"] / w)
    assert sum(rates) / 3 == pytest.approx(expected["optimal_total_cost_rate"], abs=0.15)


def test_an_eoq_order_quantity_uses_the_locations_holding_cost() -> None:
    sc = scenario(SCARCE, {
        "policy": {"type": "sQ", "service_target": 0.9},
        "supplier.cost_per_order": 50.0,
        "locations.first.lane.cost_per_shipment": 50.0,
        "locations.second.lane.cost_per_shipment": 50.0,
        "locations.dc.policy": {}, "locations.first.policy": {}, "locations.second.policy": {},
        "locations.first.holding_cost_per_unit_per_year": 40.0})
    derived = derive_network_policies(sc)
    cheap, dear = derived[policy_key("second", "a")], derived[policy_key("first", "a")]
    assert cheap.order_quantity is not None and dear.order_quantity is not None
    assert dear.order_quantity < cheap.order_quantity  # EOQ ∝ 1/√h


# --------------------------------------------------------------------------- the keys


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "network.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_fallback_problems_are_reported_at_once(tmp_path: Path) -> None:
    data = yaml.safe_load(LATERAL)
    data["segments"]["north_customers"]["fallback"] = {"location": "nowhere"}
    data["segments"]["south_customers"]["fallback"] = {"location": "south",
                                                       "transit_days": -2.0}
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, data))
    problems = {p.key_path: p for p in info.value.problems}
    unknown = problems["segments.north_customers.fallback.location"]
    assert unknown.value == "nowhere" and "unknown location" in unknown.message
    assert "dc, north, south" in unknown.message
    own = problems["segments.south_customers.fallback.location"]
    assert own.value == "south" and "own location" in own.message
    assert "cannot be negative" in problems[
        "segments.south_customers.fallback.transit_days"].message
    for problem in problems.values():
        assert problem.file.endswith("network.yaml") and problem.line is not None


def test_allocation_and_priority_values_are_checked(tmp_path: Path) -> None:
    data = yaml.safe_load(SCARCE)
    data["locations"]["dc"]["allocation"] = "first"
    data["locations"]["first"]["priority"] = 0
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, data))
    problems = {p.key_path: p for p in info.value.problems}
    assert problems["locations.dc.allocation"].value == "first"
    assert "fcfs" in problems["locations.dc.allocation"].message
    assert problems["locations.first.priority"].value == 0


def test_a_fallback_needs_locations(tmp_path: Path) -> None:
    data = yaml.safe_load(LATERAL)
    del data["locations"]
    for seg in data["segments"].values():
        del seg["location"]
    data["segments"]["north_customers"]["fallback"] = {"location": "south"}
    with pytest.raises(ScenarioError) as info:
        load_scenario(_write(tmp_path, data))
    problems = {p.key_path: p for p in info.value.problems}
    assert "declares no locations" in problems[
        "segments.north_customers.fallback.location"].message


def test_the_new_keys_are_sweepable_by_dotted_path(tmp_path: Path) -> None:
    data = copy.deepcopy(yaml.safe_load(LATERAL))
    data["segments"]["north_customers"]["fallback"] = {"location": "dc"}
    path = _write(tmp_path, data)
    sc = load_scenario(path, overrides=[
        "locations.dc.allocation=priority", "locations.north.priority=2",
        "segments.north_customers.fallback.location=south",
        "segments.north_customers.fallback.transit_days=2.5",
        "locations.dc.holding_rate_per_year=0.1"])
    assert sc.locations is not None
    assert sc.locations["dc"].allocation == "priority"
    assert sc.locations["north"].priority == 2
    assert sc.locations["dc"].holding_rate_per_year == 0.1
    fallback = sc.segments["north_customers"].fallback
    assert fallback is not None and fallback.location == "south"
    assert fallback.transit_days.mean == 2.5
