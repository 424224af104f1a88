"""Initial stock, salvage value at the horizon and end-of-period levels of periodic review
(DOMAIN §4, §5): tiny deterministic runs whose figures are known by construction, the
newsvendor identity, the invariant that salvage moves only the money of the stock left at
the horizon, and clear errors for bad values and for networks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servicesim import load_scenario, simulate
from servicesim.errors import ScenarioError
from servicesim.kpis import SUMMARY_KEYS
from servicesim.scenario.schema import Scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PRICE, COST = 15.0, 10.0


def one_sku(policy: dict, sku: dict | None = None, reaction: str = "switch",
            horizon: float = 5.9, warmup: float = 0.0, lead: float = 1.5) -> Scenario:
    """One customer ordering 3 units at t = 1, 2, 3, ...; no processing or transit time, so
    a unit is delivered when it ships; everything constant."""
    return Scenario.model_validate({
        "name": "gaps",
        "run": {"horizon_days": horizon, "warmup_days": warmup},
        "policy": {**policy, "service_target": None},
        "skus": {"A": {"unit_cost": COST, "price": PRICE, **(sku or {})}},
        "segments": {"c": {"customers": 1,
                           "order_interval_days": {"type": "constant", "value": 1.0},
                           "units_per_line": 3,
                           "reactions": {reaction: 1.0}}},
        "supplier": {"lead_time_days": lead},
        "order_processing": {"time_days": 0.0},
        "outbound": {"transit_days": 0.0},
    })


NEVER_ORDERS = {"type": "sQ", "reorder_point": -1000, "order_quantity": 1}
"""A policy that never reorders under lost sales: one buy at time 0, a single period."""


# ------------------------------------------------------------------------- initial stock


def test_initial_on_hand_replaces_the_policy_start() -> None:
    r = simulate(one_sku(NEVER_ORDERS, {"initial_on_hand": 10}), seed=1)
    k = r.kpis
    # on hand 10 on [0,1), 7 on [1,2), 4 on [2,3), 1 on [3,4), then 0; 15 units ordered
    assert k["avg_on_hand_units"] == pytest.approx((10 + 7 + 4 + 1) / 5.9)
    assert r.by_sku["A"]["units_delivered"] == 10
    assert k["lost_sales_units"] == 5
    assert k["revenue"] == pytest.approx(10 * PRICE)


def test_initial_on_hand_unset_keeps_the_policy_start() -> None:
    policy = {"type": "sQ", "reorder_point": 2, "order_quantity": 4}
    plain = simulate(one_sku(policy), seed=1, trace=True)
    given_start = simulate(one_sku(policy, {"initial_on_hand": 6}), seed=1, trace=True)
    assert given_start.trace == plain.trace  # s + Q = 6 is what the policy starts with
    assert given_start.kpis == plain.kpis
    empty = simulate(one_sku(policy, {"initial_on_hand": 0}), seed=1)
    assert empty.kpis["item_fill_rate"] < plain.kpis["item_fill_rate"]


def test_initial_on_hand_of_a_periodic_policy() -> None:
    policy = {"type": "RS", "review_period_days": 5.0, "order_up_to": 20,
              "first_review_day": 0.5}
    r = simulate(one_sku(policy, {"initial_on_hand": 5}, horizon=5.2), seed=1, trace=True)
    purchases = [info["qty"] for _, kind, info in r.trace or [] if kind == "purchase"]
    assert purchases == [15]  # the review at 0.5 lifts the position 5 up to S = 20


# ------------------------------------------------------------------------- salvage value


def test_salvage_is_off_by_default() -> None:
    r = simulate(one_sku(NEVER_ORDERS, {"initial_on_hand": 20}), seed=1)
    assert r.kpis["salvage_value"] == 0.0
    assert r.details["salvage_units"] == 0.0
    assert r.kpis["revenue"] == pytest.approx(15 * PRICE)  # the 5 left are kept, at cost
    assert tuple(r.kpis) == SUMMARY_KEYS


def test_single_period_salvage_gives_the_newsvendor_profit() -> None:
    """Buy 20 at time 0, sell 15, sell the 5 left off at 4: the newsvendor's profit
    p·sold + v·left − c·bought is the gross margin."""
    salvage, bought, sold = 4.0, 20, 15
    r = simulate(one_sku(NEVER_ORDERS, {"initial_on_hand": bought,
                                        "salvage_value_per_unit": salvage}), seed=1)
    left = bought - sold
    assert r.details["salvage_units"] == left
    assert r.kpis["salvage_value"] == pytest.approx(salvage * left)
    assert r.by_sku["A"]["salvage_value"] == pytest.approx(salvage * left)
    assert r.kpis["revenue"] == pytest.approx(PRICE * sold + salvage * left)
    assert r.kpis["gross_margin"] == pytest.approx(PRICE * sold + salvage * left
                                                   - COST * bought)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(salvage=st.floats(0.0, 50.0), seed=st.integers(0, 2**31), start=st.integers(0, 60))
def test_salvage_moves_only_the_money_of_the_stock_left(salvage: float, seed: int,
                                                        start: int) -> None:
    """Under common random numbers a salvage value changes no service or stock figure, and
    changes revenue by v × units left and gross margin by (v − c) × units left."""
    policy = {"type": "RS", "review_period_days": 3.0, "order_up_to": 12}
    sku = {"initial_on_hand": start}
    base = simulate(one_sku(policy, sku, horizon=40.0, warmup=5.0, lead=2.0), seed)
    sold = simulate(one_sku(policy, {**sku, "salvage_value_per_unit": salvage},
                            horizon=40.0, warmup=5.0, lead=2.0), seed)
    money = {"revenue", "gross_margin", "operating_profit", "roi", "economic_profit",
             "salvage_value"}
    for key in SUMMARY_KEYS:
        if key not in money:
            assert sold.kpis[key] == base.kpis[key] or (
                math.isnan(sold.kpis[key]) and math.isnan(base.kpis[key])), key
    left = sold.details["salvage_units"]
    assert left >= 0 and sold.kpis["salvage_value"] == pytest.approx(salvage * left)
    assert sold.kpis["revenue"] - base.kpis["revenue"] == pytest.approx(salvage * left)
    assert sold.kpis["gross_margin"] - base.kpis["gross_margin"] == pytest.approx(
        (salvage - COST) * left)
    assert sold.kpis["operating_profit"] - base.kpis["operating_profit"] == pytest.approx(
        (salvage - COST) * left)


# ----------------------------------------------------------------- end-of-period levels


def periodic(order_up_to: int, lead: float, horizon: float, warmup: float = 0.0) -> Scenario:
    """(R, S) with R = 5 days, reviews at 0.5 + 5k, backorders: 15 units are demanded in
    every review period, so just before each review (once the start has passed) the net
    stock is S − 15 when L < R and S − 30 when L = R."""
    policy = {"type": "RS", "review_period_days": 5.0, "order_up_to": order_up_to,
              "first_review_day": 0.5}
    return one_sku(policy, reaction="backorder", horizon=horizon, warmup=warmup, lead=lead)


@pytest.mark.parametrize("order_up_to, on_hand, backorders",
                         [(20, 5.0, 0.0), (10, 0.0, 5.0), (15, 0.0, 0.0)])
def test_end_of_period_levels_when_the_lead_time_is_shorter_than_the_review(
        order_up_to: int, on_hand: float, backorders: float) -> None:
    r = simulate(periodic(order_up_to, lead=2.0, horizon=22.0), seed=1)
    row = r.by_sku["A"]
    assert row["end_of_period_on_hand_units"] == on_hand
    assert row["end_of_period_backorder_units"] == backorders
    assert r.details["end_of_period_on_hand_units"] == on_hand
    assert r.details["end_of_period_backorder_units"] == backorders


def test_a_receipt_at_a_review_comes_after_the_end_of_the_period() -> None:
    """L = R: each receipt is due at the instant of a review; the period's end is measured
    before it (S − 30 = −5: nothing on hand, 5 backordered), not after (10 on hand)."""
    r = simulate(periodic(25, lead=5.0, horizon=22.0, warmup=6.0), seed=1)
    row = r.by_sku["A"]
    assert row["end_of_period_on_hand_units"] == 0.0
    assert row["end_of_period_backorder_units"] == 5.0


def test_end_of_period_counts_the_periods_ending_in_the_window() -> None:
    """L = R, starting at S = 25 with nothing on order: the first period ends with 10 on
    hand, every later one with 5 backordered.  Ends at 5.5, 10.5, 15.5 and, with the horizon
    on a review, 20.5; the end at the warm-up itself is outside the window."""
    def ends(horizon: float, warmup: float = 0.0) -> tuple[float, float]:
        row = simulate(periodic(25, lead=5.0, horizon=horizon, warmup=warmup),
                       seed=1).by_sku["A"]
        return row["end_of_period_on_hand_units"], row["end_of_period_backorder_units"]

    assert ends(20.5) == pytest.approx((10 / 4, 15 / 4))
    assert ends(20.4) == pytest.approx((10 / 3, 10 / 3))
    assert ends(20.5, warmup=5.5) == (0.0, 5.0)
    assert ends(20.5, warmup=5.4) == pytest.approx((10 / 4, 15 / 4))


def test_continuous_review_has_no_end_of_period_levels() -> None:
    r = simulate(one_sku({"type": "sQ", "reorder_point": 2, "order_quantity": 4}), seed=1)
    assert math.isnan(r.by_sku["A"]["end_of_period_on_hand_units"])
    assert math.isnan(r.details["end_of_period_backorder_units"])


# --------------------------------------------------------------------------- bad input


def _with_sku_keys(tmp_path: Path, source: str, anchor: str, keys: str) -> Path:
    text = (SCENARIOS / source).read_text(encoding="utf-8")
    assert text.count(anchor) == 1
    path = tmp_path / source
    path.write_text(text.replace(anchor, anchor + keys), encoding="utf-8")
    return path


@pytest.mark.parametrize("keys, words", [
    ("\n    initial_on_hand: 2.5", ["initial_on_hand", "2.5", "integer"]),
    ("\n    initial_on_hand: -4", ["initial_on_hand", "-4", ">= 0"]),
    ("\n    salvage_value_per_unit: -3", ["salvage_value_per_unit", "-3", ">= 0"]),
])
def test_bad_values_name_the_key_the_value_and_what_is_allowed(
        tmp_path: Path, keys: str, words: list[str]) -> None:
    path = _with_sku_keys(tmp_path, "baseline.yaml", "\n    price: 10.5", keys)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "baseline.yaml" in message and "skus.FAST-BOLT." in message
    assert all(word in message for word in words), message


def test_a_network_refuses_both_keys(tmp_path: Path) -> None:
    path = _with_sku_keys(tmp_path, "network.yaml", "\n    price: 17.5",
                          "\n    initial_on_hand: 40\n    salvage_value_per_unit: 3")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    for key in ("initial_on_hand", "salvage_value_per_unit"):
        assert f"skus.FILTER-OIL.{key}" in message
    assert "single-location" in message
