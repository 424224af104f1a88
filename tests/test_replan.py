"""Re-planning (DOMAIN §8): policy parameters derived again every period from recent demand
or from the customers of the moment, applied from then on, recorded per SKU."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from servicesim.errors import ScenarioError
from servicesim.experiment.engine import execute, make_tasks
from servicesim.experiment.replications import replication_seeds
from servicesim.experiment.statistics import paired_comparison
from servicesim.inputs.scenario_file import load_scenario
from servicesim.model.replan import Replanner
from servicesim.model.simulation import ServiceModel, simulate
from servicesim.policies.derivation import SkuDemand, derive_policy, sku_demands
from servicesim.policies.replan import observed_demand, rederive_policy
from servicesim.scenario.schema import Scenario
from servicesim.scenario.serialise import dump_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
TARGET = 0.8
RATE_PER_DAY = 20.0  # order lines per day of the one-SKU scenarios (300 customers / 15 days)


def one_sku(reactions: dict[str, float], replan: dict[str, Any] | None = None,
            horizon: float = 365.0, **policy: Any) -> Scenario:
    """One SKU, unit-size lines at RATE_PER_DAY, lead time 10 days, (s, Q) with Q = 100 and
    s derived for a fill rate of TARGET."""
    spec: dict[str, Any] = {"type": "sQ", "service_target": TARGET, "order_quantity": 100,
                            **policy}
    if replan is not None:
        spec["replan"] = replan
    return Scenario.model_validate({
        "name": "replan",
        "run": {"horizon_days": horizon, "warmup_days": 60},
        "supplier": {"lead_time_days": {"type": "constant", "value": 10}},
        "policy": spec,
        "skus": {"A": {"unit_cost": 10, "price": 15}},
        "segments": {"buyers": {
            "customers": 300, "order_interval_days": {"type": "exponential", "mean": 15},
            "lines_per_order": {"type": "constant", "value": 1},
            "units_per_line": {"type": "constant", "value": 1},
            "reactions": {"wait": 0, "backorder": 0, "switch": 0, "defect": 0, **reactions}}},
    })


BACKORDER = {"backorder": 1.0}  # no lost sales, no defection: demand stays as at time 0
DEFECT = {"backorder": 0.5, "defect": 0.5}  # half the customers who meet a stockout leave
EVERY_60 = {"every_days": 30, "window_days": 60}


# --- the scenario --------------------------------------------------------------------------


def test_replan_defaults_and_bad_values_name_the_key() -> None:
    plan = one_sku(BACKORDER, {}).policy.replan
    assert plan is not None
    assert (plan.every_days, plan.window_days, plan.basis, plan.min_lines) == \
        (30.0, 90.0, "observed", 10)
    assert one_sku(BACKORDER).policy.replan is None
    for bad, key in (({"every_days": 0.5}, "every_days"), ({"basis": "forecast"}, "basis"),
                     ({"window_days": -3}, "window_days"), ({"min_lines": 0}, "min_lines"),
                     ({"every": 30}, "every")):
        with pytest.raises(ValidationError) as caught:
            one_sku(BACKORDER, bad)
        assert f"policy.replan.{key}" in str(caught.value).replace("\n  ", ".")


def test_the_dump_has_a_replan_key_only_when_replanning() -> None:
    """Without re-planning the YAML (and the results folders named by its hash) reads as
    before the key existed; with it, the dump reads back to an equal scenario."""
    assert "replan:" not in dump_scenario(one_sku(BACKORDER))
    planned = one_sku(BACKORDER, {"basis": "customers", "min_lines": 3})
    text = dump_scenario(planned)
    assert "replan:" in text
    assert Scenario.model_validate(yaml.safe_load(text)) == planned


def test_a_network_refuses_replanning() -> None:
    with pytest.raises(ScenarioError, match="policy.replan.*not available.*locations"):
        load_scenario(SCENARIOS / "network.yaml", ["policy.replan={}"])


# --- the demand it derives from ------------------------------------------------------------


def test_observed_unit_lines_are_poisson_as_at_time_zero() -> None:
    base = sku_demands(one_sku(BACKORDER))["A"]
    seen = observed_demand(base, 1200, 1200, 60.0)
    assert seen.units_per_day == seen.units_var_per_day == 20.0
    assert seen.lines_per_day == 20.0 and seen.unit_size_one


def test_observed_demand_keeps_the_dispersion_of_the_line_sizes() -> None:
    """E[Q²]/E[Q]² of the scenario's line sizes carries over to the lines seen."""
    base = SkuDemand(lines_per_day=10.0, units_per_day=30.0, units_var_per_day=120.0,
                     unit_size_one=False)  # E[Q] = 3, E[Q²] = 12: ratio 4/3
    seen = observed_demand(base, lines=500, units=2000, days=100.0)  # q̄ = 4
    assert seen.units_per_day == 20.0
    assert seen.units_var_per_day == pytest.approx(5.0 * 16.0 * 4.0 / 3.0)
    assert observed_demand(base, 0, 0, 100.0).units_per_day == 0.0


def test_rederiving_at_the_time_zero_demand_gives_the_time_zero_policy() -> None:
    sc = one_sku(BACKORDER)
    first = derive_policy(sc, "A")
    again = rederive_policy(sc, "A", sc.sku_policy("A"), sku_demands(sc)["A"])
    assert (again.reorder_point, again.order_quantity) == \
        (first.reorder_point, first.order_quantity)
    less = rederive_policy(sc, "A", sc.sku_policy("A"),
                           SkuDemand(10.0, 10.0, 10.0, True))
    assert less.reorder_point < first.reorder_point
    assert less.order_quantity == 100  # given in the scenario: stays


def test_active_customers_scale_the_expected_demand() -> None:
    sc = one_sku(BACKORDER)
    assert sku_demands(sc, {"buyers": 150})["A"].units_per_day == \
        pytest.approx(sku_demands(sc)["A"].units_per_day / 2)
    assert sku_demands(sc, {})["A"].units_per_day == 0.0


# --- in a run ------------------------------------------------------------------------------


def test_without_replan_instants_the_figures_are_those_without_replanning() -> None:
    """A re-plan period beyond the horizon schedules nothing: the figures are bit-identical
    to a run without re-planning, and the record holds the time-0 step alone."""
    off = simulate(one_sku(DEFECT), 5)
    idle = simulate(one_sku(DEFECT, {"every_days": 400}), 5)
    assert idle.kpis == off.kpis and idle.by_sku == off.by_sku
    assert off.policy_history == {}
    assert [step.basis for step in idle.policy_history["A"]] == ["initial"]


def test_the_record_covers_the_run_and_its_units() -> None:
    """A step every period from day 0; the units of the steps add up to the run's units
    demanded (warm-up included), and the model keeps the last step's levels."""
    sc = one_sku(DEFECT, EVERY_60)
    model = ServiceModel(sc, 3)
    result = model.run()
    steps = result.policy_history["A"]
    assert [step.day for step in steps] == [30.0 * k for k in range(13)]
    assert steps[0].basis == "initial" and {s.basis for s in steps[1:]} == {"observed"}
    assert steps[0].reorder_point == result.policies["A"].reorder_point
    assert sum(step.units_demanded for step in steps) == \
        result.details["total_units_demanded"]
    assert all(0 <= step.units_short <= step.units_demanded for step in steps)
    assert model.stocks[0].s == steps[-1].reorder_point
    assert all(step.predicted_service is not None and step.predicted_service >= TARGET
               for step in steps)
    assert steps[1].window_lines > 0 and steps[-1].as_dict()["achieved_fill_rate"] is not None


def test_constant_demand_keeps_the_parameters_near_the_time_zero_ones() -> None:
    """With constant Poisson demand every re-derived reorder point lies between those
    derived at the demand rate ± 3 standard errors of its estimate over the window."""
    sc = one_sku(BACKORDER, EVERY_60)
    policy = sc.sku_policy("A")
    steps = simulate(sc, 11).policy_history["A"]
    for step in steps[1:]:
        days = min(step.day, 60.0)
        spread = 3.0 / math.sqrt(RATE_PER_DAY * days)  # relative SE of a Poisson count

        def s_at(rate: float) -> int | None:
            return rederive_policy(sc, "A", policy,
                                   SkuDemand(rate, rate, rate, True)).reorder_point
        low, high = s_at(RATE_PER_DAY * (1 - spread)), s_at(RATE_PER_DAY * (1 + spread))
        assert low is not None and high is not None
        assert low <= step.reorder_point <= high, (step.day, step.reorder_point, low, high)


def test_replanning_brings_the_fill_rate_closer_to_the_target_as_customers_defect() -> None:
    """Customers who meet a stockout leave: the time-0 policy over-serves the shrinking
    demand; re-planned, the achieved fill rate is nearer the target (paired over 20
    replications with common seeds)."""
    seeds = replication_seeds(7, 20)
    fixed = [simulate(one_sku(DEFECT), seed).kpis for seed in seeds]
    planned = [simulate(one_sku(DEFECT, EVERY_60), seed).kpis for seed in seeds]
    assert sum(k["defections"] for k in fixed) > 0
    gap_fixed = [abs(k["item_fill_rate"] - TARGET) for k in fixed]
    gap_planned = [abs(k["item_fill_rate"] - TARGET) for k in planned]
    test = paired_comparison(gap_fixed, gap_planned)
    assert test["diff_ci_low"] > 0 and test["p_value"] < 0.01


def test_the_customers_basis_follows_the_active_customers() -> None:
    """Basis ``customers``: each step's demand is the expected demand of the customers
    still active, so it never rises (no acquisitions) and falls as they defect."""
    result = simulate(one_sku({"defect": 1.0}, {**EVERY_60, "basis": "customers"}), 2)
    steps = result.policy_history["A"]
    rates = [step.demand_per_day for step in steps]
    assert {s.basis for s in steps[1:]} == {"customers"}
    assert all(b <= a for a, b in zip(rates, rates[1:], strict=False))
    left = 300 - result.kpis["defections"]  # defections in the window only: at most these
    assert rates[-1] <= RATE_PER_DAY * left / 300 + 1e-9
    assert rates[-1] < rates[0]


def test_a_sku_with_too_few_lines_keeps_its_parameters() -> None:
    steps = simulate(one_sku(BACKORDER, {**EVERY_60, "min_lines": 10**6}), 1
                     ).policy_history["A"]
    assert {s.basis for s in steps[1:]} == {"kept"}
    assert {(s.reorder_point, s.order_quantity) for s in steps} == \
        {(steps[0].reorder_point, steps[0].order_quantity)}


def test_a_periodic_review_orders_up_to_the_live_level() -> None:
    """(R, S): after a re-plan the review orders up to the new S."""
    sc = one_sku(BACKORDER, EVERY_60, type="RS", review_period_days=7,
                 order_quantity=None)
    model = ServiceModel(sc, 4)
    planner = model.replanner
    assert isinstance(planner, Replanner)
    order = planner.order_function(model.stocks[0])
    first = planner.live["A"]
    assert first.order_up_to is not None
    assert order(first.order_up_to - 5) == 5
    lower = rederive_policy(sc, "A", sc.sku_policy("A"), SkuDemand(10.0, 10.0, 10.0, True))
    planner.live["A"] = lower
    assert lower.order_up_to is not None and lower.order_up_to < first.order_up_to
    assert order(lower.order_up_to - 5) == 5
    steps = model.run().policy_history["A"]
    assert len({s.order_up_to for s in steps}) > 1


def test_replanning_is_reproducible_and_the_same_on_processes() -> None:
    sc = one_sku(DEFECT, EVERY_60, horizon=200.0)
    first, again = simulate(sc, 9), simulate(sc, 9)
    assert first.kpis == again.kpis
    assert [s.as_dict() for s in first.policy_history["A"]] == \
        [s.as_dict() for s in again.policy_history["A"]]
    tasks = make_tasks([({}, sc)], 4, 9)
    assert execute(tasks, workers=1) == execute(tasks, workers=2)
