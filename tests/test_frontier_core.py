"""Per-SKU curves and marginal analysis (servicesim.experiment.frontier) against the
assortment cases of the second shared case file (DOMAIN §12).

The cases judge a simulation-based search by its totals, not by the levels (their
decision notes: neighbouring levels differ by about 1e-3 in cost, 1e-5 in fill rate):
ASSORT1 by the total cost rate at the levels found, ASSORT3 by the demand-weighted fill
rate and the inventory investment within the budget.
"""

from __future__ import annotations

from typing import Any

import pytest

import validation as v
from servicesim.experiment.frontier import best_per_sku, marginal_analysis, sku_curves
from servicesim.scenario.schema import Scenario

ASSORT1 = "ASSORT1_unconstrained_cost_optimal_base_stock"
ASSORT3 = "ASSORT3_budget_max_fill_rate"


def assortment(case: dict[str, Any]) -> Scenario:
    """The case's independent base-stock SKUs: one segment whose single-unit Poisson orders
    split over the SKUs by their rates, each SKU with its own lead time and holding cost,
    backorders (the quick budget: 2,000 days, warm-up 300)."""
    skus = case["inputs"]["skus"]
    total = sum(s["demand"]["rate"] for s in skus)
    return Scenario.model_validate({
        "name": case["id"],
        "run": {"horizon_days": 2000, "warmup_days": 300, "replications": 10, "seed": 11},
        "policy": {"type": "base_stock", "order_up_to": 1, "service_target": None},
        "skus": {s["id"]: {"holding_cost_per_unit_per_year": s["holding_per_unit_per_day"] * 365,
                           "unit_cost": s["unit_cost"], "price": 1.5 * s["unit_cost"],
                           "supplier": {"lead_time_days": s["lead_time"]["value"]}}
                 for s in skus},
        "segments": {"all": {"customers": 1,
                             "order_interval_days": {"type": "exponential", "mean": 1 / total},
                             "sku_weights": {s["id"]: s["demand"]["rate"] for s in skus},
                             "reactions": {"backorder": 1.0, "switch": 0.0}}},
        "finance": {"days_per_year": 365},
    })


def test_marginal_analysis_raises_the_best_gain_per_investment_within_the_budget() -> None:
    value = {"a": [0.0, 5.0, 6.0], "b": [0.0, 3.0, 5.5]}
    investment = {"a": [0.0, 1.0, 2.0], "b": [0.0, 1.0, 2.0]}
    assert marginal_analysis(value, investment, budget=2.0) == {"a": 1, "b": 1}
    assert marginal_analysis(value, investment, budget=1.0) == {"a": 1, "b": 0}
    assert marginal_analysis(value, investment, budget=4.0) == {"a": 2, "b": 2}
    assert best_per_sku({"a": [3.0, 1.0, 2.0]}) == {"a": 1}


@pytest.mark.slow
def test_unconstrained_per_sku_levels_reach_the_optimal_total_cost() -> None:
    case = v.SECOND_CASES[ASSORT1]
    expected, tolerance = case["expected"], case["tolerance"]
    skus = case["inputs"]["skus"]
    optimum = {s["id"]: expected[f"optimal_S.{s['id']}"] for s in skus}
    levels = {k: [max(0, s + offset) for offset in range(-3, 4)] for k, s in optimum.items()}
    curves = sku_curves(assortment(case), levels, replications=10, seed=11)
    rate = {s["id"]: (s["holding_per_unit_per_day"], s["backorder_per_unit_per_day"])
            for s in skus}
    costs = {k: [rate[k][0] * row["avg_on_hand_units"] + rate[k][1] * row["avg_backorder_units"]
                 for row in curves.figures[k]] for k in levels}
    best = best_per_sku(costs)
    total = sum(costs[k][j] for k, j in best.items())
    assert abs(total - expected["total_cost_rate_at_optimum"]) \
        <= tolerance["total_cost_rate_at_optimum"]["abs_quick"]
    assert curves.simulations == 7 * 10  # against 7 levels x 20 SKUs x 10 one SKU at a time


@pytest.mark.slow
def test_marginal_analysis_under_the_budget_reaches_the_best_fill_rate() -> None:
    case = v.SECOND_CASES[ASSORT3]
    expected, tolerance = case["expected"], case["tolerance"]
    skus, budget = case["inputs"]["skus"], case["inputs"]["budget"]
    optimum = {s["id"]: expected[f"optimal_S.{s['id']}"] for s in skus}
    levels = {k: [max(0, s - 4) + i for i in range(8)] for k, s in optimum.items()}
    curves = sku_curves(assortment(case), levels, replications=10, seed=11)
    total = sum(s["demand"]["rate"] for s in skus)
    share = {s["id"]: s["demand"]["rate"] / total for s in skus}
    value = {k: [share[k] * row["item_fill_rate"] for row in curves.figures[k]] for k in levels}
    investment = {k: curves.curve(k, "avg_inventory_value") for k in levels}
    pick = marginal_analysis(value, investment, budget)
    fill = sum(value[k][j] for k, j in pick.items())
    spent = sum(investment[k][j] for k, j in pick.items())
    assert spent <= budget
    assert abs(fill - expected["weighted_fill_rate_at_optimum"]) \
        <= tolerance["weighted_fill_rate_at_optimum"]["abs_quick"]
    assert abs(spent - expected["inventory_investment_at_optimum"]) \
        <= tolerance["inventory_investment_at_optimum"]["abs_quick"]


def test_the_frontier_path_rises_by_the_best_ratio_and_places_today() -> None:
    from servicesim.experiment.frontier import frontier_path, where_today_sits

    value = {"a": [0.0, 5.0, 6.0], "b": [0.0, 3.0, 5.5]}
    investment = {"a": [0.0, 1.0, 2.0], "b": [0.0, 1.0, 2.0]}
    path = frontier_path(value, investment)
    assert [(p.investment, p.value) for p in path] == [(0, 0), (1, 5), (2, 8), (3, 10.5),
                                                       (4, 11.5)]
    # every point agrees with marginal analysis at its own budget
    for p in path:
        assert marginal_analysis(value, investment, p.investment) == p.steps
    # today: a at its top, b at its bottom (investment 2, value 6)
    need, reach = where_today_sits(path, investment=2.0, value=6.0)
    assert need == 2.0 and reach == 8.0  # the same value for no less, 2 more for the same
