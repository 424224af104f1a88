"""Stockout reactions: drawn per line or per order (DOMAIN §2), the cost per back-ordered
order (DOMAIN §4, with Coyle's cost-of-failure check), and the shared contract every
registered reaction keeps in both modes (STYLE: one contract test runs on every
implementation of an interface; a reaction added to the registry is picked up here)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import pytest

from servicesim.model.reactions import REACTIONS
from servicesim.model.simulation import ServiceModel, simulate
from servicesim.model.stock import _Stock
from servicesim.policies.registry import FAMILIES, policy_family
from servicesim.scenario.schema import Scenario

PER = ("line", "order")


def b2b(reaction_per: str = "order", *, horizon_days: float = 300.0,
        reactions: dict[str, float] | None = None, lines: float = 3.0,
        costs: dict[str, float] | None = None, policy: dict[str, Any] | None = None,
        ) -> Scenario:
    """Multi-line orders over five SKUs with frequent stockouts; a key-account segment
    (priority 1) and a rationed retail segment (priority 2) meet the critical level."""
    return Scenario.model_validate({
        "name": "b2b", "run": {"horizon_days": horizon_days, "warmup_days": 0.0},
        "policy": policy or {"type": "sQ", "service_target": 0.75,
                             "critical_level_fraction": 0.5},
        "skus": {f"K{i}": {"unit_cost": 2.0 + i, "price": 4.0 + 2 * i} for i in range(5)},
        "segments": {
            "key": {"customers": 40, "reaction_per": reaction_per,
                    "order_interval_days": {"type": "exponential", "mean": 4.0},
                    "lines_per_order": {"type": "poisson", "mean": lines},
                    "units_per_line": {"type": "poisson", "mean": 2.0},
                    "reactions": reactions or {"wait": 0.2, "backorder": 0.4,
                                               "switch": 0.3, "defect": 0.1},
                    "patience_days": 1.0},
            "retail": {"customers": 60, "priority": 2,
                       "order_interval_days": {"type": "exponential", "mean": 6.0},
                       "lines_per_order": {"type": "poisson", "mean": 1.5},
                       "reactions": {"wait": 0.3, "backorder": 0.2, "switch": 0.5},
                       "patience_days": 2.0},
        },
        "supplier": {"lead_time_days": {"type": "uniform", "low": 2.0, "high": 10.0}},
        "stockout_costs": costs or {},
    })


def first_attempts(trace: list[tuple[float, str, dict[str, Any]]],
                   segment: str) -> dict[tuple[float, int], list[str]]:
    """The reactions of the short lines of each order of ``segment`` at their first
    attempt, by order (its time and customer: one order per customer and instant)."""
    by_order: dict[tuple[float, int], list[str]] = defaultdict(list)
    for t, kind, info in trace:
        if kind == "stockout" and info["segment"] == segment and "attempt" not in info:
            by_order[(t, info["customer"])].append(info["reaction"])
    return by_order


# --------------------------------------------------------------------------- per order


def test_a_reaction_drawn_per_order_applies_to_every_short_line_of_the_order() -> None:
    per_order = simulate(b2b("order", horizon_days=800.0), 4, trace=True)
    per_line = simulate(b2b("line", horizon_days=800.0), 4, trace=True)
    assert per_order.trace is not None and per_line.trace is not None
    orders = first_attempts(per_order.trace, "key")
    several = [r for r in orders.values() if len(r) > 1]
    assert len(several) > 10  # orders with several short lines
    assert all(len(set(r)) == 1 for r in orders.values())
    assert len({r[0] for r in several}) == len(REACTIONS)  # every reaction, whole orders
    # per line, the short lines of one order do differ (the test can tell the modes apart)
    mixed = [r for r in first_attempts(per_line.trace, "key").values() if len(set(r)) > 1]
    assert len(mixed) > 2
    # a segment left at the default draws per line in both runs
    assert any(len(set(r)) > 1 for r in first_attempts(per_order.trace, "retail").values())


def test_a_waiting_line_that_comes_back_short_draws_again_for_itself() -> None:
    """Per order, the first attempt decides for all short lines; each waiting line returns
    after its own patience delay, and if it is short again it draws its own reaction."""
    mix = {"wait": 0.6, "backorder": 0.2, "switch": 0.2}
    r = simulate(b2b("order", reactions=mix), 8, trace=True)
    assert r.trace is not None
    retries = [info for _, kind, info in r.trace
               if kind == "stockout" and info["segment"] == "key" and "attempt" in info]
    assert retries  # waiting lines came back short and drew again
    assert len({info["reaction"] for info in retries}) > 1


def test_the_cost_per_back_ordered_order_is_charged_once_per_order() -> None:
    costs = {"backorder_cost_per_order": 150.0}
    for per in PER:
        r = simulate(b2b(per, costs=costs), 6, trace=True)
        assert r.trace is not None
        backordered = set()
        for t, kind, info in r.trace:
            if kind == "stockout" and info["reaction"] == "backorder" \
                    and "attempt" not in info:
                backordered.add((info["segment"], t, info["customer"]))
        retried = sum(1 for _, kind, info in r.trace if kind == "stockout"
                      and info["reaction"] == "backorder" and "attempt" in info)
        lines = sum(1 for _, kind, info in r.trace
                    if kind == "stockout" and info["reaction"] == "backorder")
        assert lines > len(backordered) > 20  # orders with several backordered lines
        # a waiting line backordered on a retry is charged for its order only if the
        # order had no backordered line before: at most one charge per order
        low = 150.0 * len(backordered)
        assert low <= r.kpis["backorder_cost"] <= low + 150.0 * retried
        without = simulate(b2b(per), 6)
        assert without.kpis["backorder_cost"] == 0.0
        assert without.kpis["operating_profit"] == pytest.approx(
            r.kpis["operating_profit"] + r.kpis["backorder_cost"], rel=1e-12)


def test_coyles_cost_of_service_failure() -> None:
    """DOMAIN §4: of the orders not filled, 70 % are backordered at $150 each and 30 %
    cancelled at $12,500 of lost profit each: $3,855 per failed order, so 5,000 orders at
    80 % order fill cost $3,855,000 and at 92 % fill $1,542,000.  One-line, one-unit orders
    drawn per order, the cancellation charged as the lost-sale penalty of its one unit."""
    per_failed = 0.7 * 150.0 + 0.3 * 12_500.0
    assert 5_000 * (1 - 0.80) * per_failed == pytest.approx(3_855_000.0)
    assert 5_000 * (1 - 0.92) * per_failed == pytest.approx(1_542_000.0)
    sc = Scenario.model_validate({
        **b2b().model_dump(),
        "run": {"horizon_days": 1500.0, "warmup_days": 0.0},
        "segments": {"key": {"customers": 40, "reaction_per": "order",
                             "order_interval_days": {"type": "exponential", "mean": 4.0},
                             "reactions": {"backorder": 0.7, "switch": 0.3}}},
        "stockout_costs": {"backorder_cost_per_order": 150.0,
                           "lost_sale_penalty_per_unit": 12_500.0},
    })
    r = simulate(sc, 2)
    failed = r.details["orders"] * (1.0 - r.kpis["order_fill_rate"])
    assert failed > 1_000
    cost = r.kpis["backorder_cost"] + r.details["lost_sale_penalty_cost"]
    # cost per failed order: 150 w.p. 0.7, 12,500 w.p. 0.3; within four standard errors
    std = (12_500.0 - 150.0) * math.sqrt(0.7 * 0.3)
    assert cost / failed == pytest.approx(per_failed, abs=4 * std / math.sqrt(failed))


# --------------------------------------------------------------------------- the contract


def only(reaction: str) -> dict[str, float]:
    """A mix where ``reaction`` is most likely and every other reaction can happen."""
    others = [name for name in REACTIONS if name != reaction]
    return {reaction: 0.7, **{name: 0.3 / len(others) for name in others}}


@pytest.mark.parametrize("per", PER)
@pytest.mark.parametrize("reaction", list(REACTIONS))
def test_every_reaction_conserves_units_and_repeats_with_its_seed(reaction: str,
                                                                 per: str) -> None:
    """ordered = shipped + open backorders + lost + still waiting, for every registered
    reaction in both modes; the same seed gives the same result."""
    sc = b2b(per, horizon_days=150.0, reactions=only(reaction),
             costs={"backorder_cost_per_order": 10.0, "backorder_cost_per_unit": 1.0})
    a, b = simulate(sc, 12), simulate(sc, 12)
    d = a.details
    assert d["total_units_demanded"] > 0
    assert d["total_units_demanded"] == (
        d["total_units_shipped"] + d["total_units_backordered_open"]
        + d["total_units_lost"] + d["total_units_waiting"])
    assert a.units_short_by_reaction[reaction] > 0
    assert repr(a.kpis) == repr(b.kpis) and repr(a.details) == repr(b.details)


def family_policy(name: str) -> dict[str, Any]:
    policy: dict[str, Any] = {"type": name, "service_target": 0.75,
                              "critical_level_fraction": 0.5}
    if policy_family(name).periodic:
        policy["review_period_days"] = 2.0
    return policy


@pytest.mark.parametrize("per", PER)
@pytest.mark.parametrize("name", list(FAMILIES))
def test_the_fast_path_floor_skips_no_reorder_and_no_critical_level(
        monkeypatch: pytest.MonkeyPatch, name: str, per: str) -> None:
    """Every policy family, both reaction modes: lines on the fast path (and orders placed
    without a queue round trip) give the figures of the full path, on a run that reorders
    often and rations the retail segment at the critical level."""
    sc = b2b(per, horizon_days=200.0, policy=family_policy(name),
             costs={"backorder_cost_per_order": 10.0})
    fast = ServiceModel(sc, 5)
    r_fast = fast.run()
    assert all(st.critical > 0 for st in fast.stocks)  # rationing is on
    assert r_fast.details["purchase_orders_per_day"] > 1.0
    key, retail = r_fast.by_segment["key"], r_fast.by_segment["retail"]
    assert key["item_fill_rate"] > retail["item_fill_rate"]  # the reserve served key
    monkeypatch.setattr(ServiceModel, "_LOOKAHEAD", False)
    monkeypatch.setattr(_Stock, "fast_lines", False)
    r_slow = simulate(sc, 5)
    for key_name in (*r_fast.kpis, *r_fast.details):
        x = r_fast.kpis.get(key_name, r_fast.details.get(key_name))
        y = r_slow.kpis.get(key_name, r_slow.details.get(key_name))
        assert x == pytest.approx(y, rel=1e-9, abs=1e-9, nan_ok=True), key_name
    for sku, row in r_fast.by_sku.items():
        for key_name, x in row.items():
            y = r_slow.by_sku[sku][key_name]
            assert x == pytest.approx(y, rel=1e-9, abs=1e-9, nan_ok=True), (sku, key_name)
