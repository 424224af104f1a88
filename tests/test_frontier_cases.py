"""The frontier's per-SKU curves and marginal analysis against the assortment cases of the
second shared case file (DOMAIN §12).

The cases are posed on base-stock levels, so the curves are measured over levels
(``measure_curves(..., field_name="order_up_to")``): one simulation of all 20 SKUs per step
(× replications, common random numbers), every SKU's figures from the run's per-SKU
breakdown.  The cases judge a simulation-based search by its totals, not by the levels
(their decision notes: neighbouring levels differ by about 1e-3 in cost and 1e-5 in fill
rate): ASSORT1 by the total cost rate at the levels found, ASSORT3 by the demand-weighted
fill rate and the inventory investment within the budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import validation as v
from servicesim.experiment.allocation import best_per_item, marginal_analysis
from servicesim.experiment.frontier import measure_curves
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


def test_every_assortment_case_is_checked_here() -> None:
    assert set(v.ASSORTMENT_CASES) == {ASSORT1, ASSORT3}


@pytest.mark.slow
def test_unconstrained_per_sku_levels_reach_the_optimal_total_cost() -> None:
    case = v.SECOND_CASES[ASSORT1]
    expected, tolerance = case["expected"], case["tolerance"]
    skus = case["inputs"]["skus"]
    optimum = {s["id"]: expected[f"optimal_S.{s['id']}"] for s in skus}
    levels = {k: [max(0, s + offset) for offset in range(-3, 4)] for k, s in optimum.items()}
    curves, simulations = measure_curves(assortment(case), levels, field_name="order_up_to",
                                         replications=10, seed=11, workers=1)
    rate = {s["id"]: (s["holding_per_unit_per_day"], s["backorder_per_unit_per_day"])
            for s in skus}
    on_hand, backorders = curves.mean("avg_on_hand_units"), curves.mean("avg_backorder_units")
    costs = {k: rate[k][0] * on_hand[k] + rate[k][1] * backorders[k] for k in levels}
    best = best_per_item({k: list(-c) for k, c in costs.items()})
    total = sum(costs[k][j] for k, j in best.items())
    assert abs(total - expected["total_cost_rate_at_optimum"]) \
        <= tolerance["total_cost_rate_at_optimum"]["abs_quick"]
    # most levels are the exact optimum; the others sit next to it on a flat cost
    exact = sum(levels[k][j] == optimum[k] for k, j in best.items())
    assert exact >= 15 and all(abs(levels[k][j] - optimum[k]) <= 1 for k, j in best.items())
    assert simulations == 7 * 10  # against 7 levels x 20 SKUs x 10 one SKU at a time


@pytest.mark.slow
def test_marginal_analysis_under_the_budget_reaches_the_best_fill_rate() -> None:
    case = v.SECOND_CASES[ASSORT3]
    expected, tolerance = case["expected"], case["tolerance"]
    skus, budget = case["inputs"]["skus"], case["inputs"]["budget"]
    optimum = {s["id"]: expected[f"optimal_S.{s['id']}"] for s in skus}
    levels = {k: [max(0, s - 4) + i for i in range(8)] for k, s in optimum.items()}
    curves, _ = measure_curves(assortment(case), levels, field_name="order_up_to",
                               replications=10, seed=11, workers=1)
    total = sum(s["demand"]["rate"] for s in skus)
    share = {s["id"]: s["demand"]["rate"] / total for s in skus}
    first, ordered = curves.mean("units_first"), curves.mean("units_ordered")
    value = {k: share[k] * first[k] / ordered[k] for k in levels}
    investment = curves.mean("avg_inventory_value")
    pick = marginal_analysis(value, investment, budget)
    fill = sum(value[k][j] for k, j in pick.items())
    spent = sum(investment[k][j] for k, j in pick.items())
    assert spent <= budget
    assert abs(fill - expected["weighted_fill_rate_at_optimum"]) \
        <= tolerance["weighted_fill_rate_at_optimum"]["abs_quick"]
    assert abs(spent - expected["inventory_investment_at_optimum"]) \
        <= tolerance["inventory_investment_at_optimum"]["abs_quick"]
    assert np.all(np.isfinite(fill))
