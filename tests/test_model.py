"""The SimPy model: an exact event trace of a tiny deterministic scenario, and behaviours."""

from __future__ import annotations

import math

import pytest

from servicesim.kpis import SUMMARY_KEYS
from servicesim.model.histogram import DayHistogram
from servicesim.model.simulation import simulate
from servicesim.scenario.schema import Scenario


def tiny(**changes: object) -> Scenario:
    """One customer ordering 3 units every day; (s, Q) = (2, 4); lead time 1.5 days;
    processing 0.25 day, transit 1 day; stockouts are backordered.  Everything constant."""
    doc: dict = {
        "name": "tiny",
        "run": {"horizon_days": 5.9, "warmup_days": 0.0, "replications": 2},
        "policy": {"type": "sQ", "reorder_point": 2, "order_quantity": 4,
                   "service_target": None},
        "skus": {"A": {"unit_cost": 10.0, "price": 15.0,
                       "holding_cost_per_unit_per_year": 365.0}},
        "segments": {"c": {"customers": 1,
                           "order_interval_days": {"type": "constant", "value": 1.0},
                           "units_per_line": 3,
                           "promised_cycle_time_days": 1.3,
                           "reactions": {"backorder": 1.0, "switch": 0.0}}},
        "supplier": {"lead_time_days": 1.5, "cost_per_order": 7.0},
        "order_processing": {"time_days": 0.25},
        "outbound": {"transit_days": 1.0, "cost_per_shipment": 2.0},
    }
    for path, value in changes.items():
        node = doc
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return Scenario.model_validate(doc)


def test_trace_of_tiny_scenario_is_exact() -> None:
    result = simulate(tiny(), seed=1, trace=True)
    events = [(t, kind) for t, kind, _ in result.trace or []]
    assert events == [
        (1.0, "order"),
        (2.0, "purchase"), (2.0, "order"),
        (3.0, "stockout"), (3.0, "purchase"), (3.0, "order"),
        (3.5, "receipt"), (3.5, "ship_extra"),
        (4.0, "stockout"), (4.0, "purchase"), (4.0, "order"),
        (4.5, "receipt"), (4.5, "ship_extra"),
        (5.0, "stockout"), (5.0, "order"),
        (5.5, "receipt"), (5.5, "ship_extra"),
    ]
    info = {(t, kind): data for t, kind, data in result.trace or []}
    assert info[(2.0, "purchase")] == {"sku": "A", "qty": 4, "arrives": 3.5}
    assert info[(3.0, "stockout")]["short"] == 3
    assert info[(4.0, "stockout")]["short"] == 2  # one unit was on hand
    assert info[(4.5, "ship_extra")]["delivery"] == 5.5
    assert info[(1.0, "order")]["delivery"] == 2.25  # processed at 1.25, 1 day in transit


def test_tiny_scenario_figures_by_hand() -> None:
    k = simulate(tiny(), seed=1).kpis
    d = simulate(tiny(), seed=1).details
    window = 5.9
    # on hand: 6 on [0,1), 3 on [1,2), 1 on [3.5,4), 2 on [4.5,5), 3 on [5.5,5.9)
    assert k["avg_on_hand_units"] == pytest.approx((6 + 3 + 0.5 + 1 + 0.4 * 3) / window)
    # backorders: 3 on [3,3.5), 2 on [4,4.5), 1 on [5,5.5)
    assert k["avg_backorder_units"] == pytest.approx(3.0 / window)
    assert k["item_fill_rate"] == pytest.approx(9 / 15)
    assert k["line_fill_rate"] == pytest.approx(2 / 5)
    assert k["order_fill_rate"] == pytest.approx(2 / 5)
    assert k["cycle_service_level"] == 0.0  # every receipt found backorders waiting
    assert k["ready_rate"] == pytest.approx((1 + 1 + 0.5 + 0.5 + 0.4) / window)
    # cycle times: 1.25, 1.25, 1.5, 1.5, 1.5 (order 5 closes when its backorder ships)
    assert k["order_cycle_time_mean_days"] == pytest.approx(1.4)
    assert k["on_time_rate"] == pytest.approx(2 / 5)  # promise 1.3 days
    assert k["perfect_order_rate"] == pytest.approx(2 / 5)
    # delivered in the window: 3+3+3+1+2 units (order 5's units arrive after 5.9)
    assert k["revenue"] == pytest.approx(12 * 15.0)
    assert k["gross_margin"] == pytest.approx(12 * 5.0)
    assert k["ordering_cost"] == pytest.approx(3 * 7.0)
    # shipments: 4 immediate (orders 1,2,4,5) + 3 backorder shipments
    assert k["transport_cost"] == pytest.approx(7 * 2.0)
    assert k["holding_cost"] == pytest.approx(k["avg_on_hand_units"] * window)
    assert d["purchase_orders_per_day"] == pytest.approx(3 / window)
    assert set(k) == set(SUMMARY_KEYS)


def test_same_seed_same_result_and_different_seed_differs() -> None:
    sc = Scenario.model_validate({
        "name": "r", "run": {"horizon_days": 200, "warmup_days": 20},
        "skus": {"A": {}, "B": {}},
        "segments": {"s": {"customers": 30, "order_interval_days": {
            "type": "exponential", "mean": 3.0}, "reactions": {
            "wait": 0.3, "backorder": 0.3, "switch": 0.2, "defect": 0.2}}},
        "policy": {"service_target": 0.8},
    })
    a, b, c = simulate(sc, 7), simulate(sc, 7), simulate(sc, 8)
    assert a.kpis == b.kpis and a.details == b.details
    assert a.kpis != c.kpis


def test_defection_removes_demand_for_good() -> None:
    """Every stockout makes the customer defect and nothing is ever replenished
    (lead time far beyond the horizon): the customers who met a stockout never return."""
    sc = Scenario.model_validate({
        "name": "d", "run": {"horizon_days": 100, "warmup_days": 0},
        "policy": {"type": "sQ", "reorder_point": 0, "order_quantity": 5,
                   "service_target": None},
        "skus": {"A": {}},
        "segments": {"s": {"customers": 10, "order_interval_days": {
            "type": "exponential", "mean": 1.0}, "reactions": {"defect": 1.0, "switch": 0}}},
        "supplier": {"lead_time_days": 1000.0},
    })
    r = simulate(sc, 3)
    # 5 units in stock; then each customer meets one stockout and leaves: 10 defections
    assert r.kpis["defections"] == 10
    assert r.by_segment["s"]["active_customers_at_end"] == 0
    assert r.kpis["lost_sales_units"] == 10  # one unit each, then no more orders
    assert r.details["units_demanded"] == 15


def test_wait_customers_come_back() -> None:
    """Customers who always wait get their units once stock arrives: nothing is lost."""
    sc = Scenario.model_validate({
        "name": "w", "run": {"horizon_days": 400, "warmup_days": 0},
        "policy": {"type": "sQ", "reorder_point": 2, "order_quantity": 10,
                   "service_target": None},
        "skus": {"A": {}},
        "segments": {"s": {"customers": 5, "order_interval_days": {
            "type": "exponential", "mean": 2.0}, "max_waits": 1000,
            "patience_days": 0.5, "reactions": {"wait": 1.0, "switch": 0}}},
        "supplier": {"lead_time_days": 4.0},
    })
    r = simulate(sc, 11)
    assert r.kpis["item_fill_rate"] < 0.95  # stockouts happened
    assert r.kpis["lost_sales_units"] == 0
    d = r.details
    assert d["total_units_demanded"] == d["total_units_shipped"] + d["total_units_waiting"]


def test_expedited_backorders_cost_more_and_arrive_sooner() -> None:
    base = {"outbound__transit_days": 3.0, "run__horizon_days": 200.0,
            "segments__c__order_interval_days": {"type": "exponential", "mean": 1.0}}
    slow = simulate(tiny(**base), 5)
    fast = simulate(tiny(**base, outbound__expedite={
        "enabled": True, "transit_days": 0.5, "cost_per_shipment": 50.0}), 5)
    assert fast.kpis["transport_cost"] > slow.kpis["transport_cost"]
    assert fast.kpis["order_cycle_time_mean_days"] < slow.kpis["order_cycle_time_mean_days"]
    assert fast.kpis["item_fill_rate"] == slow.kpis["item_fill_rate"]  # same demand, stock


def test_processing_queue_delays_orders() -> None:
    free = simulate(tiny(order_processing={"time_days": {"type": "exponential",
                                                          "mean": 0.9}}), 2)
    queued = simulate(tiny(order_processing={"time_days": {"type": "exponential",
                                                            "mean": 0.9}, "servers": 1}), 2)
    assert queued.details["processing_wait_mean_days"] > 0
    assert queued.kpis["order_cycle_time_mean_days"] > free.kpis["order_cycle_time_mean_days"]


def test_perfect_order_index_is_product_of_components() -> None:
    r = simulate(tiny(quality={"damage_probability": 0.2,
                               "documentation_error_probability": 0.1},
                      run__horizon_days=300.0), 4)
    d, k = r.details, r.kpis
    assert k["perfect_order_index"] == pytest.approx(
        d["complete_rate"] * k["on_time_rate"] * d["damage_free_rate"]
        * d["documentation_rate"])
    assert k["perfect_order_rate"] <= min(k["on_time_rate"], d["damage_free_rate"])
    assert 0.7 < d["damage_free_rate"] < 0.9


def test_money_identities() -> None:
    sc = tiny(run__horizon_days=400.0, run__warmup_days=30.0,
              finance={"fixed_cost_per_year": 1000.0, "fixed_logistics_assets": 500.0,
                       "cost_of_capital_rate_per_year": 0.1})
    r = simulate(sc, 9)
    k, d = r.kpis, r.details
    years = 370.0 / 365.0
    assert k["operating_profit"] == pytest.approx(
        k["gross_margin"] - d["logistics_cost"] - d["fixed_cost"] - d["acquisition_cost"])
    assert d["logistics_cost"] == pytest.approx(
        k["holding_cost"] + k["ordering_cost"] + k["transport_cost"] + k["backorder_cost"]
        + d["processing_cost"] + d["recovery_cost"] + d["lost_sale_penalty_cost"])
    assert k["capital_employed"] == pytest.approx(
        k["avg_inventory_value"] + 500.0 + d["receivables"])
    assert k["roi"] == pytest.approx(k["operating_profit"] / years / k["capital_employed"])
    assert k["economic_profit"] == pytest.approx(
        k["operating_profit"] - 0.1 * k["capital_employed"] * years)
    assert k["avg_inventory_value"] == pytest.approx(k["avg_on_hand_units"] * 10.0)


def test_periodic_review_orders_up_to_s() -> None:
    sc = tiny(policy={"type": "RS", "review_period_days": 2.0, "order_up_to": 9,
                      "service_target": None}, run__horizon_days=9.9)
    r = simulate(sc, 1, trace=True)
    purchases = [(t, info["qty"]) for t, kind, info in r.trace or [] if kind == "purchase"]
    assert [t for t, _ in purchases] == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert purchases[0][1] == 0  # starts at S: nothing to order, the cycle is still marked


def test_day_histogram_quantiles() -> None:
    h = DayHistogram()
    for i in range(1000):
        h.add(i / 100.0)  # 0.00 .. 9.99
    assert h.quantile(0.95) == pytest.approx(9.5, abs=0.011)
    assert math.isnan(DayHistogram().quantile(0.5))
    h.add(50.0)
    h.add(20_000.0)
    assert h.n == 1002


def test_rationing_serves_the_priority_segment_better() -> None:
    """With a critical level, stock at or below it is kept for the priority-1 segment: its
    fill rate rises, the other segment's falls, and total demand is unchanged (backorders
    only, so no one leaves)."""
    def run(fraction: float) -> dict:
        sc = Scenario.model_validate({
            "name": "ration", "run": {"horizon_days": 400, "warmup_days": 20},
            "policy": {"type": "sQ", "reorder_point": 20, "order_quantity": 20,
                       "service_target": None, "critical_level_fraction": fraction},
            "skus": {"A": {}},
            "segments": {
                "key": {"customers": 5, "priority": 1, "order_interval_days": {
                    "type": "exponential", "mean": 2.0},
                    "reactions": {"backorder": 1.0, "switch": 0.0}},
                "retail": {"customers": 10, "priority": 2, "order_interval_days": {
                    "type": "exponential", "mean": 2.0},
                    "reactions": {"backorder": 1.0, "switch": 0.0}}},
            "supplier": {"lead_time_days": 5.0},
        })
        return simulate(sc, 8).by_segment

    plain, rationed = run(0.0), run(0.5)
    assert rationed["key"]["item_fill_rate"] > plain["key"]["item_fill_rate"] + 0.05
    assert rationed["retail"]["item_fill_rate"] < plain["retail"]["item_fill_rate"]
    assert rationed["key"]["orders"] == plain["key"]["orders"]


def test_stock_points_are_keyed_by_location_and_sku() -> None:
    """One location today: every SKU's stock point sits at ``MAIN``, in SKU order, and each
    segment holds that location's list (the order loop indexes it by SKU position)."""
    from servicesim.model.simulation import ServiceModel
    from servicesim.model.stock import MAIN

    model = ServiceModel(tiny(), 5)
    names = list(model.scenario.skus)
    assert [st.name for st in model.stock_points.at(MAIN)] == names
    assert len(model.stock_points) == len(names)
    for i, name in enumerate(names):
        assert model.stock_points[MAIN, name] is model.stocks[i]
        assert model.stocks[i].index == i and model.stocks[i].location == MAIN
    for seg in model.segments:
        assert seg.stocks is model.stock_points.at(MAIN)


def test_every_stockout_reaction_has_a_handler_and_a_probability() -> None:
    """The registry of reactions and the scenario's reaction mix name the same reactions;
    a run records the units short by every one of them."""
    from servicesim.model.reactions import REACTIONS, RISING
    from servicesim.scenario.schema import Reactions

    assert set(REACTIONS) == set(Reactions.model_fields)
    assert RISING in REACTIONS
    result = simulate(tiny(), 5)
    assert list(result.units_short_by_reaction) == list(REACTIONS)
    assert all(v >= 0.0 for v in result.units_short_by_reaction.values())
