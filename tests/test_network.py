"""Networks of stock points (DOMAIN §7): the scenario's ``locations``, their problems
(reported all at once, located), and the model's internal orders on small runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from servicesim.errors import ScenarioError
from servicesim.inputs.scenario_file import load_scenario
from servicesim.model.simulation import simulate
from servicesim.policies.network import derive_network_policies, expected_wait, policy_key
from servicesim.scenario.schema import Scenario

NETWORK = """\
name: three-levels
run: {horizon_days: 3000, warmup_days: 100, replications: 1, seed: 7}
policy: {type: base_stock, order_up_to: 0, service_target: null}
skus:
  a: {}
  b: {}
segments:
  north:
    customers: 1
    order_interval_days: {type: exponential, mean: 0.5}
    reactions: {backorder: 1.0}
    location: store_n
  south:
    customers: 1
    order_interval_days: {type: exponential, mean: 1.0}
    reactions: {backorder: 1.0}
    sku_weights: {a: 1.0, b: 0.0}
    location: store_s
supplier: {lead_time_days: 4}
locations:
  dc:
    policy: {order_up_to: 14}
  regional:
    replenished_from: dc
    lane: {transit_days: 1.0, cost_per_shipment: 5.0, cost_per_unit: 0.5}
    policy: {order_up_to: 6}
  store_n:
    replenished_from: regional
    lane: {transit_days: 0.5}
    policy: {order_up_to: 4}
  store_s:
    replenished_from: dc
    skus: [a]
    lane: {transit_days: {type: uniform, low: 1.0, high: 3.0}, shipping: complete}
    policy: {order_up_to: 5}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "network.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def edited(change: dict[str, Any]) -> str:
    """The network scenario with top-level keys' sub-mappings merged with ``change``."""
    data = yaml.safe_load(NETWORK)
    for key, value in change.items():
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node[part]
        node[leaf] = value
    return yaml.safe_dump(data, sort_keys=False)


def test_network_scenario_loads_and_orders_upstream_first(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, NETWORK))
    order = sc.network_order()
    assert order.index("dc") < order.index("regional") < order.index("store_n")
    assert order.index("dc") < order.index("store_s")
    assert sc.held_skus("store_s") == ["a"]
    assert sc.location_policy("regional", "b").order_up_to == 6


def test_location_target_is_a_sweepable_dotted_key(tmp_path: Path) -> None:
    text = NETWORK.replace("policy: {type: base_stock, order_up_to: 0, service_target: null}",
                           "policy: {type: base_stock, service_target: 0.9}")
    for level in ("14", "6", "4", "5"):
        text = text.replace(f"policy: {{order_up_to: {level}}}", "policy: {}")
    sc = load_scenario(write(tmp_path, text), ["locations.store_n.policy.service_target=0.99"])
    assert sc.location_policy("store_n", "a").service_target == 0.99
    assert sc.location_policy("dc", "a").service_target == 0.9
    derived = derive_network_policies(sc)
    low = derive_network_policies(load_scenario(write(tmp_path, text)))
    key = policy_key("store_n", "a")
    assert derived[key].order_up_to > low[key].order_up_to  # a higher target holds more


def test_every_network_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = edited({
        "locations.dc.replenished_from": "store_s",  # dc <- store_s <- dc: a cycle
        "locations.regional.skus": ["a"],  # store_n holds b too, which regional lacks
        "locations.store_n.lane.transit_days": -1.0,
        "segments.south.location": "nowhere",
    })
    data = yaml.safe_load(text)
    del data["segments"]["north"]["location"]
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, yaml.safe_dump(data, sort_keys=False)))
    problems = {p.key_path: p for p in info.value.problems}
    assert "lane cycle" in problems["locations.dc.replenished_from"].message
    assert problems["locations.dc.replenished_from"].value == "store_s"
    assert "not held upstream at regional" in problems["locations.store_n.skus"].message
    assert "cannot be negative" in problems["locations.store_n.lane.transit_days"].message
    assert problems["segments.south.location"].value == "nowhere"
    assert "unknown location" in problems["segments.south.location"].message
    assert "missing" in problems["segments.north.location"].message
    for problem in problems.values():
        assert problem.file.endswith("network.yaml") and problem.line is not None


def test_segment_location_without_locations_and_lane_from_supplier(tmp_path: Path) -> None:
    data = yaml.safe_load(NETWORK)
    data["locations"]["dc"]["lane"] = {"transit_days": 1.0}
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, yaml.safe_dump(data)))
    assert "a lane joins an upstream location" in str(info.value)
    del data["locations"]
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, yaml.safe_dump(data)))
    assert [p.key_path for p in info.value.problems] == ["segments.north.location",
                                                         "segments.south.location"]


def test_three_level_network_conserves_units_and_reports_per_location(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, NETWORK))
    r = simulate(sc, 3)
    assert set(r.by_location) == {"dc", "regional", "store_n", "store_s"}
    dc, regional = r.by_location["dc"], r.by_location["regional"]
    store_n, store_s = r.by_location["store_n"], r.by_location["store_s"]
    # the DC serves no customers: it fills the regional DC's and store_s's orders
    assert dc["units_demanded"] == 0 and math.isnan(dc["fill_rate"])
    assert 0 < dc["internal_fill_rate"] < 1
    # base stock passes every unit demanded downstream upstream, one for one (up to the
    # few units in the pipeline at the warm-up)
    assert abs(regional["internal_units_ordered"] - store_n["units_demanded"]) <= 10
    assert abs(dc["internal_units_ordered"] - regional["internal_units_ordered"]
               - store_s["units_demanded"]) <= 20
    # lead time of a downstream location = wait upstream + transit (constant 0.5 to store_n)
    assert store_n["replenishment_lead_time_days"] == pytest.approx(
        0.5 + regional["internal_order_wait_days"], abs=0.05)
    assert store_s["replenishment_lead_time_days"] >= 2.0 - 0.1  # uniform(1, 3) transit
    # the inventory at every location and in transit counts; the on hand sums
    assert r.kpis["avg_on_hand_units"] == pytest.approx(
        sum(row["avg_on_hand_units"] for row in r.by_location.values()))
    # money: lane costs are inbound transport; customers' units only are backorders
    assert r.kpis["avg_backorder_units"] == pytest.approx(
        store_n["avg_backorder_units"] + store_s["avg_backorder_units"])
    # the dc -> regional lane costs 5 a shipment + 0.5 a unit; its shipments are of 1 unit
    assert r.details["inbound_transport_cost"] == pytest.approx(
        5.5 * regional["internal_units_ordered"], rel=0.02)
    # capital employed counts the stock on hand everywhere and in transit between locations
    owned = sum(row["avg_inventory_value"] + row["avg_in_transit_value"]
                for row in r.by_location.values())
    assert r.kpis["avg_inventory_value"] == pytest.approx(owned)
    assert simulate(sc, 3).by_location == r.by_location  # reproducible from the seed


def test_complete_shipping_ships_whole_orders(tmp_path: Path) -> None:
    text = edited({"locations.store_s.lane": {"transit_days": 1.0, "shipping": "complete"},
                   "locations.store_s.policy": {"type": "sQ", "reorder_point": 2,
                                                "order_quantity": 6}})
    sc = load_scenario(write(tmp_path, text))
    r = simulate(sc, 5, trace=True)
    assert r.trace is not None
    ships = [info["qty"] for _, kind, info in r.trace
             if kind == "ship" and info["location"] == "store_s"]
    assert ships and set(ships) == {6}  # never a part of an order of Q = 6


def test_expected_wait_is_metric_style() -> None:
    sc = Scenario.model_validate(yaml.safe_load(NETWORK))
    policies = derive_network_policies(sc)
    dc = policies[policy_key("dc", "a")]
    wait = expected_wait(dc)
    assert wait > 0
    # a DC holding far more than its lead-time demand makes no one wait
    assert expected_wait(derive_network_policies(Scenario.model_validate(
        yaml.safe_load(edited({"locations.dc.policy": {"order_up_to": 200}}))))[
        policy_key("dc", "a")]) < 1e-6


def test_dc_with_customers_and_a_periodic_review_store(tmp_path: Path) -> None:
    """Customers at the DC share its stock with the stores' orders (FCFS); a store that
    reviews every 7 days ends a cycle at each review, zero orders included; segments of a
    lower priority at a location that does not hold every SKU run."""
    data = yaml.safe_load(NETWORK)
    data["segments"]["walk_in"] = {
        "customers": 1, "order_interval_days": {"type": "exponential", "mean": 2.0},
        "reactions": {"backorder": 1.0}, "location": "dc", "priority": 2}
    data["segments"]["south"]["priority"] = 2
    data["locations"]["store_s"]["policy"] = {"type": "RS", "review_period_days": 7.0,
                                             "order_up_to": 12, "critical_level": 1}
    sc = load_scenario(write(tmp_path, yaml.safe_dump(data, sort_keys=False)))
    r = simulate(sc, 11)
    dc, store_s = r.by_location["dc"], r.by_location["store_s"]
    assert dc["units_demanded"] > 0 and 0 < dc["fill_rate"] <= 1
    assert 0 < dc["internal_fill_rate"] <= 1
    window = sc.run.horizon_days - sc.run.warmup_days
    cycles = r.by_sku["store_s/a"]["end_of_cycle_on_hand"]
    assert math.isfinite(cycles)
    assert store_s["units_delivered"] > 0.9 * store_s["units_demanded"]
    assert r.by_sku["store_s/a"]["purchase_orders"] <= window / 7 + 1


@pytest.mark.parametrize("case_id", ["NET1_serial_2stage_basestock",
                                     "NET2_one_DC_two_identical_stock_points"])
def test_derived_lead_time_is_transit_plus_the_exact_wait(case_id: str) -> None:
    """Base stock with Poisson demand: the METRIC-style wait is exact, so the lead time a
    stock point's derivation uses is the case's mean replenishment lead time."""
    import validation as v

    case = v.NETWORK_CASES[case_id]
    sc = Scenario.model_validate(v.network_scenario_data(case))
    policies = derive_network_policies(sc)
    assert expected_wait(policies[policy_key("DC", v.SKU)]) == pytest.approx(
        case["expected"]["DC.avg_order_wait"], rel=1e-9)
    assert policies[policy_key("R1", v.SKU)].lead_time_days_mean == pytest.approx(
        case["expected"]["R1.avg_replenishment_lead_time"], rel=1e-9)


TINY = """\
name: tiny
run: {horizon_days: 110, warmup_days: 10, replications: 1, seed: 1}
policy: {type: base_stock, order_up_to: 0, service_target: null}
skus:
  a: {unit_cost: 10.0}
segments:
  shop:
    customers: 1
    order_interval_days: {type: constant, value: 1.0}
    reactions: {backorder: 1.0}
    location: store
supplier: {lead_time_days: 2}
locations:
  dc:
    policy: {order_up_to: DC_LEVEL}
  store:
    replenished_from: dc
    lane: {transit_days: 0.5}
    policy: {order_up_to: STORE_LEVEL}
"""


@pytest.mark.parametrize(("dc_level", "store_level", "expected"), [
    # enough stock: one unit a day ships from the dc at once and reaches the store half a
    # day later; the dc's two supplier orders of lead time 2 are always under way
    (3, 2, {"dc": {"avg_on_hand_units": 1.0, "avg_echelon_units": 3.0},
            "store": {"avg_on_hand_units": 1.5, "avg_in_transit_units": 0.5,
                      "avg_backorder_units": 0.0, "avg_echelon_units": 1.5}}),
    # short: each internal order waits a day at the dc, each customer half a day
    (1, 1, {"dc": {"avg_on_hand_units": 0.0, "avg_internal_backorder_units": 1.0,
                   "avg_echelon_units": 0.0},
            "store": {"avg_on_hand_units": 0.0, "avg_in_transit_units": 0.5,
                      "avg_backorder_units": 0.5, "avg_echelon_units": -0.5}}),
])
def test_echelon_inventory_of_a_tiny_traced_network(
        tmp_path: Path, dc_level: int, store_level: int,
        expected: dict[str, dict[str, float]]) -> None:
    """Echelon inventory (DOMAIN §7) by hand: one order of one unit a day, constant lead
    times, a 100-day window of whole days, so every level repeats daily."""
    text = TINY.replace("DC_LEVEL", str(dc_level)).replace("STORE_LEVEL", str(store_level))
    r = simulate(load_scenario(write(tmp_path, text)), 1, trace=True)
    for location, figures in expected.items():
        row = r.by_location[location]
        for figure, value in figures.items():
            assert row[figure] == pytest.approx(value, abs=1e-9), (location, figure)
        assert row["avg_echelon_value"] == pytest.approx(10.0 * row["avg_echelon_units"])
    # the flows of the window, counted from the trace
    assert r.trace is not None
    shipped = sum(info["qty"] for t, kind, info in r.trace if kind == "ship" and t >= 10)
    received = {location: sum(info["qty"] for t, kind, info in r.trace
                              if kind == "receipt" and t >= 10
                              and info.get("location") == location)
                for location in ("dc", "store")}
    assert r.by_location["dc"]["internal_units_shipped"] == shipped
    assert r.by_location["store"]["units_received"] == received["store"] > 0
    assert r.by_location["dc"]["units_received"] == received["dc"] > 0
    assert r.by_location["store"]["units_delivered"] == 100


def test_network_wide_service_is_the_customers(tmp_path: Path) -> None:
    """Network-wide service figures are over the stock points serving customers; stock and
    money over every location (DOMAIN §7)."""
    r = simulate(load_scenario(write(tmp_path, NETWORK)), 3)
    facing = [row for key, row in r.by_sku.items()
              if key.split("/")[0] in ("store_n", "store_s")]
    assert len(facing) == 3 and len(r.by_sku) == 7
    assert r.kpis["ready_rate"] == pytest.approx(
        sum(row["ready_rate"] for row in facing) / len(facing))
    assert r.details["prob_no_backorder"] == pytest.approx(
        sum(row["prob_no_backorder"] for row in facing) / len(facing))
    stores = [r.by_location["store_n"], r.by_location["store_s"]]
    # fill rate β pooled over the customers' units: the demand-weighted mean of the stores'
    assert r.kpis["item_fill_rate"] == pytest.approx(
        sum(s["fill_rate"] * s["units_demanded"] for s in stores)
        / sum(s["units_demanded"] for s in stores))
    assert r.details["units_demanded"] == sum(s["units_demanded"] for s in stores)
    assert r.kpis["avg_backorder_units"] == pytest.approx(
        sum(s["avg_backorder_units"] for s in stores))
    assert r.details["avg_net_inventory_units"] == pytest.approx(
        r.kpis["avg_on_hand_units"] - r.kpis["avg_backorder_units"])


@pytest.mark.parametrize("shipping", ["partial", "complete"])
def test_units_are_conserved_for_customers_and_internal_orders(
        tmp_path: Path, shipping: str) -> None:
    """Customers: demanded = shipped + open backorders + lost + waiting (whole run).
    Internal orders (no warm-up, so the window is the whole run): ordered = shipped +
    not yet shipped, and shipped = received downstream + in transit at the end."""
    data = yaml.safe_load(NETWORK)
    data["run"]["warmup_days"] = 0
    data["run"]["horizon_days"] = 1500
    for location in ("regional", "store_n", "store_s"):
        data["locations"][location]["lane"]["shipping"] = shipping
    data["segments"]["south"]["reactions"] = {"backorder": 0.6, "switch": 0.4}
    r = simulate(load_scenario(write(tmp_path, yaml.safe_dump(data, sort_keys=False))), 9)
    d = r.details
    assert d["total_units_backordered_open"] + d["total_units_lost"] > 0
    assert d["total_units_demanded"] == (d["total_units_shipped"]
                                         + d["total_units_backordered_open"]
                                         + d["total_units_lost"] + d["total_units_waiting"])
    rows = r.by_location.values()
    ordered = sum(row["internal_units_ordered"] for row in rows)
    shipped = sum(row["internal_units_shipped"] for row in rows)
    assert ordered > 0
    assert ordered == shipped + d["total_internal_units_unshipped"]
    received = sum(r.by_location[k]["units_received"] for k in ("regional", "store_n",
                                                                   "store_s"))
    assert shipped == received + d["total_units_in_transit"]


def test_todays_value_of_a_location_key_is_what_its_skus_have_there() -> None:
    """A location's policy key: its own value, the value its SKUs inherit, or none when a
    per-SKU entry at the location disagrees."""
    from servicesim.experiment.today import own_params

    data = yaml.safe_load(NETWORK)
    data["policy"] = {"type": "base_stock", "service_target": 0.9}
    for loc in data["locations"].values():
        loc["policy"] = {}
    data["locations"]["dc"]["policy"] = {"service_target": 0.8}
    data["locations"]["regional"]["sku_policies"] = {"b": {"service_target": 0.99}}
    sc = Scenario.model_validate(data)
    keys = [f"locations.{n}.policy.service_target" for n in ("dc", "regional", "store_n")]
    assert own_params(sc, keys) == {keys[0]: 0.8, keys[1]: None, keys[2]: 0.9}
    joined = f"{keys[0]}+{keys[2]}"
    assert own_params(sc, [joined]) == {joined: None}


def test_planned_lead_time_is_what_the_policies_were_derived_with(tmp_path: Path) -> None:
    """Each location reports the lead time its policies assumed (transit + the METRIC
    expected wait upstream, or the supplier's) beside the simulated one."""
    data = yaml.safe_load(NETWORK)
    data["policy"] = {"type": "base_stock", "service_target": 0.9}
    for loc in data["locations"].values():
        loc["policy"] = {}
    sc = Scenario.model_validate(data)
    r = simulate(sc, 3)
    policies = derive_network_policies(sc)
    assert r.by_location["dc"]["planned_lead_time_days"] == pytest.approx(4.0)  # supplier
    store_n = policies[policy_key("store_n", "a")], policies[policy_key("store_n", "b")]
    weights = [p.demand_per_day for p in store_n]
    expected = sum(w * p.lead_time_days_mean for w, p in zip(weights, store_n, strict=True)) \
        / sum(weights)
    assert r.by_location["store_n"]["planned_lead_time_days"] == pytest.approx(expected)
    upstream = policies[policy_key("regional", "a")]
    assert store_n[0].lead_time_days_mean == pytest.approx(0.5 + expected_wait(upstream))


def test_each_location_reports_the_service_of_the_customers_it_serves(tmp_path: Path) -> None:
    """Line and order fill rates, on-time rate, lost sales and defections per location are
    those of the segments served there, pooled; lost sales add up to the network's."""
    data = yaml.safe_load(NETWORK)
    data["segments"]["south"]["reactions"] = {"switch": 0.6, "backorder": 0.4}
    data["segments"]["north2"] = {**data["segments"]["north"], "customers": 2}
    sc = Scenario.model_validate(data)
    r = simulate(sc, 5)
    north = [r.by_segment[s] for s in ("north", "north2")]
    store_n = r.by_location["store_n"]
    orders = sum(s["orders"] for s in north)
    assert orders > 0
    assert store_n["order_fill_rate"] == pytest.approx(
        sum(s["order_fill_rate"] * s["orders"] for s in north) / orders)
    assert r.by_location["store_s"]["line_fill_rate"] == pytest.approx(
        r.by_segment["south"]["line_fill_rate"])
    assert r.by_location["store_s"]["lost_sales_units"] > 0
    assert sum(row["lost_sales_units"] for row in r.by_location.values()) == pytest.approx(
        r.kpis["lost_sales_units"])
    assert math.isnan(r.by_location["dc"]["on_time_rate"])  # the DC serves no customers
    # the network's cycle service level pools the receipts of the customer-facing locations
    facing = [r.by_location[n]["cycle_service_level"] for n in ("store_n", "store_s")]
    assert min(facing) <= r.kpis["cycle_service_level"] <= max(facing)


def test_the_single_location_model_refuses_a_network(tmp_path: Path) -> None:
    """Built directly on a scenario with locations, the single-location model would buy
    every location's stock from the supplier: it refuses instead."""
    from servicesim.model.simulation import NetworkModel, ServiceModel

    sc = load_scenario(write(tmp_path, NETWORK))
    with pytest.raises(TypeError, match="NetworkModel"):
        ServiceModel(sc, 1)
    assert NetworkModel(sc, 1).run().by_location
