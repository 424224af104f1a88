"""Policy derivation against closed forms, textbook numbers and invariants (DOMAIN §5)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from servicesim.model.simulation import simulate
from servicesim.policies.derivation import (
    DerivedPolicy,
    SkuDemand,
    derive_policies,
    derive_policy,
    economic_order_quantity,
    erlang_b,
    normal_loss,
    sku_demands,
)
from servicesim.policies.rss import RsS
from servicesim.scenario.schema import Scenario
from servicesim.scenario.validation import scenario_from_dict


def make(policy: dict[str, Any], *, customers: int = 5, interval_mean: float = 1.0,
         lead: Any = 2.0, units_per_line: Any = 1.0, **extra: Any) -> Scenario:
    """One SKU "A", one segment: orders/day = customers / interval_mean, one line each."""
    data: dict[str, Any] = {
        "name": "t",
        "skus": {"A": {}},
        "segments": {"s": {
            "customers": customers,
            "order_interval_days": {"type": "exponential", "mean": interval_mean},
            "units_per_line": units_per_line,
        }},
        "policy": policy,
        "supplier": {"lead_time_days": lead},
    }
    data.update(extra)
    return Scenario.model_validate(data)


def brute_loss(pmf: np.ndarray, x: float) -> float:
    """E[(D − x)^+] by summing over a pmf on 0..len(pmf)−1."""
    k = np.arange(len(pmf))
    return float(np.sum(np.maximum(k - x, 0.0) * pmf))


# --- small helpers -------------------------------------------------------------------


@pytest.mark.parametrize(("z", "expected"), [
    (0.0, 0.3989422804014327), (1.0, 0.0833154705876863), (2.0, 0.0084907026168297),
])
def test_normal_loss_known_values(z: float, expected: float) -> None:
    assert normal_loss(z) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("z", [-3.0, -0.7, 0.0, 0.4, 1.5, 3.0, 6.0])
def test_normal_loss_is_the_expected_excess(z: float) -> None:
    integral, _ = integrate.quad(lambda x: (x - z) * stats.norm.pdf(x), z, np.inf,
                                 epsabs=1e-14, epsrel=1e-12)
    assert normal_loss(z) == pytest.approx(integral, rel=1e-9, abs=1e-15)
    assert normal_loss(-z) - normal_loss(z) == pytest.approx(z, abs=1e-12)  # G(−z) = G(z) + z


def test_erlang_b() -> None:
    assert erlang_b(12, 10.0) == pytest.approx(1 - 0.8802608115551749, rel=1e-12)
    assert erlang_b(12, 10.0) == pytest.approx(0.119739, abs=1e-6)
    assert erlang_b(3, 1.5) == pytest.approx(0.1343283582089552, rel=1e-12)  # 9/67
    assert erlang_b(0, 4.0) == 1.0
    assert erlang_b(5, 0.0) == 0.0
    with pytest.raises(ValueError):
        erlang_b(-1, 1.0)


def test_eoq_known_example() -> None:
    # D = 4/day × 250 days = 1000/yr, K = 8 + 2 = 10, h = 0.03·10 + 0.02·10 = 0.5 → √40000 = 200
    scenario = make(
        {"type": "sQ", "service_target": 0.9}, customers=4,
        supplier={"lead_time_days": 2.0, "cost_per_order": 8.0,
                  "inbound_cost_per_shipment": 2.0},
        skus={"A": {"unit_cost": 10.0, "holding_rate_per_year": 0.03}},
        finance={"days_per_year": 250.0, "cost_of_capital_rate_per_year": 0.02},
    )
    assert economic_order_quantity(scenario, "A", 4.0) == 200
    derived = derive_policy(scenario, "A")
    assert derived.order_quantity == 200
    assert derived.source == {"reorder_point": "derived", "order_quantity": "eoq"}
    # an absolute holding cost replaces rate × cost: h = 2.3 + 0.2 = 2.5 → √8000 = 89.44 → 89
    absolute = scenario.model_copy(update={"skus": {"A": scenario.skus["A"].model_copy(
        update={"holding_cost_per_unit_per_year": 2.3})}})
    assert economic_order_quantity(absolute, "A", 4.0) == 89


def test_eoq_fallbacks() -> None:
    free_orders = make({"type": "sQ"}, customers=7)  # K = 0: about one day of demand
    assert economic_order_quantity(free_orders, "A", 7.0) == 7
    assert economic_order_quantity(free_orders, "A", 0.2) == 1
    free_holding = make(
        {"type": "sQ"}, supplier={"lead_time_days": 1.0, "cost_per_order": 50.0},
        skus={"A": {"unit_cost": 0.0, "holding_rate_per_year": 0.0}},
    )  # h = 0: one year of demand
    assert economic_order_quantity(free_holding, "A", 2.0) == 730


# --- demand implied by the scenario ---------------------------------------------------


def test_sku_demands_two_segments() -> None:
    scenario = Scenario.model_validate({
        "name": "t",
        "skus": {"A": {}, "B": {}, "C": {}},
        "segments": {
            "retail": {
                "customers": 10,
                "order_interval_days": {"type": "exponential", "mean": 2.0},  # 5 orders/day
                # round(U(0, 2)), at least 1: P(1) = 0.75, P(2) = 0.25 → 1.25 lines/order
                "lines_per_order": {"type": "uniform", "low": 0.0, "high": 2.0},
                "units_per_line": {"type": "empirical", "values": [1, 3],
                                   "probabilities": [0.5, 0.5]},  # E[Q] = 2, E[Q²] = 5
                "sku_weights": {"A": 1.0, "B": 3.0},
            },
            "trade": {
                "customers": 6,
                "order_interval_days": 3.0,  # 2 orders/day
                "lines_per_order": 2.4,  # rounds to 2
                "sku_weights": None,  # equal over A, B, C
            },
        },
    })
    demands = sku_demands(scenario)
    assert list(demands) == ["A", "B", "C"]
    retail_lines = 5 * 1.25
    trade_lines = 2 * 2
    expected = {
        "A": (retail_lines / 4 + trade_lines / 3, retail_lines / 4 * 2 + trade_lines / 3,
              retail_lines / 4 * 5 + trade_lines / 3),
        "B": (retail_lines * 3 / 4 + trade_lines / 3, retail_lines * 3 / 4 * 2 + trade_lines / 3,
              retail_lines * 3 / 4 * 5 + trade_lines / 3),
        "C": (trade_lines / 3, trade_lines / 3, trade_lines / 3),
    }
    for name, (lines, units, var) in expected.items():
        d = demands[name]
        assert d.lines_per_day == pytest.approx(lines, rel=1e-12)
        assert d.units_per_day == pytest.approx(units, rel=1e-12)
        assert d.units_var_per_day == pytest.approx(var, rel=1e-12)
    assert not demands["A"].unit_size_one and not demands["B"].unit_size_one
    assert demands["C"].unit_size_one


# --- textbook and validation numbers ---------------------------------------------------


def test_base_stock_alpha_reproduces_case_a1() -> None:
    # Poisson(10) lead-time demand: rate 5/day, L = 2, unit lines (validation case A1)
    for metric in ("cycle_service_level", "fill_rate"):
        scenario = make({"type": "base_stock", "service_target": 0.69, "service_metric": metric})
        derived = derive_policy(scenario, "A")
        assert (derived.order_up_to, derived.reorder_point) == (12, 11)
        assert derived.lead_time_demand_model == "poisson"
        assert derived.predicted_service == pytest.approx(0.6967761463031061, rel=1e-12)
        assert derived.safety_stock == pytest.approx(2.0)
    given_s = make({"type": "base_stock", "service_target": None, "order_up_to": 11})
    assert derive_policy(given_s, "A").predicted_service < 0.69


def test_critical_fractile_poisson_3() -> None:
    # rate 1.5 (3 customers every 2 days), L = 2: Poisson(3); F(5) = 0.916 < 0.95 ≤ F(6) = 0.966
    assert stats.poisson.cdf(5, 3.0) == pytest.approx(0.9160820579686966, rel=1e-12)
    base = make({"type": "base_stock", "service_target": 0.95,
                 "service_metric": "cycle_service_level"}, customers=3, interval_mean=2.0)
    derived = derive_policy(base, "A")
    assert (derived.reorder_point, derived.order_up_to) == (6, 7)
    assert derived.predicted_service == pytest.approx(0.9664914646911588, rel=1e-12)
    s_q = make({"type": "sQ", "service_target": 0.95, "service_metric": "cycle_service_level",
                "order_quantity": 4}, customers=3, interval_mean=2.0)
    assert derive_policy(s_q, "A").reorder_point == 6
    just_at = make({"type": "sQ", "service_target": 0.9160820579686966,
                    "service_metric": "cycle_service_level", "order_quantity": 4},
                   customers=3, interval_mean=2.0)
    assert derive_policy(just_at, "A").reorder_point in (5, 6)  # equality up to rounding


def sq_fill_rate(mean: float, reorder_point: int, quantity: int) -> float:
    """(1/Q)·Σ_{y=s+1}^{s+Q} P(D ≤ y − 1), D ~ Poisson(mean) (Hadley–Whitin)."""
    y = np.arange(reorder_point + 1, reorder_point + quantity + 1)
    return float(np.mean(stats.poisson.cdf(y - 1, mean)))


def test_sq_fill_rate_reproduces_case_b1() -> None:
    # rate 4, L = 3 → Poisson(12); Q = 20, s = 14 (validation case B1)
    exact = sq_fill_rate(12.0, 14, 20)
    assert exact == pytest.approx(0.9685042105379734, rel=1e-12)
    given_all = make({"type": "sQ", "service_target": None, "reorder_point": 14,
                      "order_quantity": 20}, customers=4, lead=3.0)
    derived = derive_policy(given_all, "A")
    assert derived.predicted_service == pytest.approx(exact, rel=1e-12)
    assert derived.source == {"reorder_point": "given", "order_quantity": "given"}
    below = make({"type": "sQ", "service_target": exact - 1e-9, "order_quantity": 20},
                 customers=4, lead=3.0)
    assert derive_policy(below, "A").reorder_point == 14
    above = make({"type": "sQ", "service_target": exact + 1e-9, "order_quantity": 20},
                 customers=4, lead=3.0)
    assert derive_policy(above, "A").reorder_point == 15
    alpha = make({"type": "sQ", "service_target": None, "reorder_point": 14,
                  "order_quantity": 20, "service_metric": "cycle_service_level"},
                 customers=4, lead=3.0)
    assert derive_policy(alpha, "A").predicted_service == pytest.approx(0.7720245323035448)


def test_rs_reproduces_case_c1() -> None:
    # rate 10, R = 2, L = 3, S = 60 (validation case C1): α = P(N(5) ≤ 60), N(t) ~ Poisson(10t)
    common = {"type": "RS", "review_period_days": 2.0}
    csl = stats.poisson.cdf(60, 50.0)
    assert csl == pytest.approx(0.927839820186743, rel=1e-12)
    given_alpha = make({**common, "service_target": None, "order_up_to": 60,
                        "service_metric": "cycle_service_level"}, customers=10, lead=3.0)
    assert derive_policy(given_alpha, "A").predicted_service == pytest.approx(csl, rel=1e-12)
    # β = (1/R)∫_L^{R+L} P(N(t) ≤ S − 1) dt, an independent form of the formula
    integral, _ = integrate.quad(lambda t: stats.poisson.cdf(59, 10.0 * t), 3.0, 5.0,
                                 epsabs=1e-13, epsrel=1e-12)
    given_beta = make({**common, "service_target": None, "order_up_to": 60},
                      customers=10, lead=3.0)
    derived = derive_policy(given_beta, "A")
    assert derived.predicted_service == pytest.approx(integral / 2.0, rel=1e-10)
    assert derived.predicted_service == pytest.approx(0.985817951930693, rel=1e-10)
    assert derived.lead_time_demand_mean == pytest.approx(50.0)
    target = make({**common, "service_target": 0.92, "service_metric": "cycle_service_level"},
                  customers=10, lead=3.0)
    big_s = derive_policy(target, "A").order_up_to
    assert big_s is not None and big_s <= 60
    assert stats.poisson.cdf(big_s, 50.0) >= 0.92 > stats.poisson.cdf(big_s - 1, 50.0)


def test_negative_binomial_matches_brute_force() -> None:
    # gamma lead time → var > mean → negative binomial fitted by moments
    scenario = make({"type": "sQ", "service_target": 0.97, "order_quantity": 15},
                    customers=4, lead={"type": "gamma", "mean": 3.0, "std": 1.5})
    derived = derive_policy(scenario, "A")
    mean, var = 12.0, 3.0 * 4.0 + 16.0 * 2.25
    assert derived.lead_time_demand_model == "negative_binomial"
    assert derived.lead_time_demand_std == pytest.approx(math.sqrt(var))
    pmf = stats.nbinom.pmf(np.arange(2000), mean**2 / (var - mean), mean / var)
    s = derived.reorder_point
    assert s is not None

    def fill(x: int) -> float:
        return 1 - (brute_loss(pmf, x) - brute_loss(pmf, x + 15)) / 15

    assert derived.predicted_service == pytest.approx(fill(s), rel=1e-10)
    assert fill(s) >= 0.97 > fill(s - 1)


# --- the normal model -----------------------------------------------------------------


def test_normal_fill_rate_solves_the_loss_equation() -> None:
    # μ_L = 100 = σ_L² (Poisson moments), Q = 500 ≫ σ_L so σ_L·G(z) = (1 − β)·Q applies
    beta, quantity = 0.995, 500
    scenario = make({"type": "sQ", "service_target": beta, "order_quantity": quantity,
                     "lead_time_demand": "normal"}, customers=50)
    derived = derive_policy(scenario, "A")
    mu, sigma = 100.0, 10.0
    assert derived.lead_time_demand_model == "normal"
    assert (derived.lead_time_demand_mean, derived.lead_time_demand_std) == \
        pytest.approx((mu, sigma))
    s = derived.reorder_point
    assert s is not None
    target = (1 - beta) * quantity
    assert sigma * normal_loss((s - mu) / sigma) <= target + 1e-9
    assert sigma * normal_loss((s - 1 - mu) / sigma) > target
    z = optimize.brentq(lambda x: sigma * normal_loss(x) - target, -10, 10, xtol=1e-14)
    assert s == math.ceil(mu + z * sigma)
    assert derived.safety_stock == pytest.approx(s - mu)


@pytest.mark.parametrize("policy_type", ["sQ", "sS", "base_stock", "RS"])
@pytest.mark.parametrize("alpha", [0.3, 0.9, 0.999])
def test_normal_cycle_service_level_is_the_quantile(policy_type: str, alpha: float) -> None:
    policy: dict[str, Any] = {"type": policy_type, "service_target": alpha,
                              "service_metric": "cycle_service_level",
                              "lead_time_demand": "normal"}
    cover = 4.0
    if policy_type == "RS":
        policy["review_period_days"] = 1.5
        cover += 1.5
    scenario = make(policy, customers=3, lead={"type": "gamma", "mean": 4.0, "std": 2.0},
                    units_per_line=2.0)
    derived = derive_policy(scenario, "A")
    mu_d, var_d = 6.0, 3.0 * 4.0
    mu = mu_d * cover
    sigma = math.sqrt(cover * var_d + mu_d**2 * 4.0)  # σ² = E[T]·σ_d² + μ_d²·Var(L)
    assert derived.lead_time_demand_std == pytest.approx(sigma)
    expected = max(math.ceil(mu + stats.norm.ppf(alpha) * sigma), 0 if policy_type == "RS" else -9)
    if policy_type in ("sQ", "sS", "base_stock"):
        assert derived.reorder_point == expected
    else:
        assert derived.order_up_to == expected


# --- precedence, sources, edge cases ----------------------------------------------------


def test_given_parameters_win_and_ss_rules() -> None:
    scenario = make({"type": "sS", "service_target": 0.95, "order_quantity": 30},
                    customers=4, lead=3.0)
    derived = derive_policy(scenario, "A")
    assert derived.order_up_to == derived.reorder_point + 30
    assert derived.source == {"reorder_point": "derived", "order_up_to": "derived"}
    assert derived.order_quantity is None
    assert derived.predicted_service == pytest.approx(
        sq_fill_rate(12.0, derived.reorder_point, 30), rel=1e-12)
    # S given: s is derived with Q = S − s
    given_s = make({"type": "sS", "service_target": 0.95, "order_up_to": 40},
                   customers=4, lead=3.0)
    derived = derive_policy(given_s, "A")
    s = derived.reorder_point
    assert derived.source == {"reorder_point": "derived", "order_up_to": "given"}
    assert sq_fill_rate(12.0, s, 40 - s) >= 0.95 > sq_fill_rate(12.0, s - 1, 41 - s)
    # S given but too small to reach the target: s capped at S − 1, noted
    tight = make({"type": "sS", "service_target": 0.999, "order_up_to": 10},
                 customers=4, lead=3.0)
    derived = derive_policy(tight, "A")
    assert derived.reorder_point == 9 and derived.notes
    assert derived.predicted_service < 0.999


def test_base_stock_from_a_given_reorder_point() -> None:
    scenario = make({"type": "base_stock", "service_target": 0.99, "reorder_point": 11})
    derived = derive_policy(scenario, "A")
    assert (derived.order_up_to, derived.reorder_point) == (12, 11)
    assert derived.source["order_up_to"] == "given"


def test_sku_without_demand_and_overrides() -> None:
    scenario = Scenario.model_validate({
        "name": "t",
        "skus": {"A": {}, "Z": {}, "R": {"policy": {"type": "RS", "review_period_days": 7.0}},
                 "B": {"policy": {"type": "base_stock"}}},
        "segments": {"s": {"customers": 5, "order_interval_days": 1.0,
                           "sku_weights": {"A": 1.0, "R": 1.0}}},
        "policy": {"type": "sQ", "service_target": 0.98},
    })
    derived = derive_policies(scenario)
    assert list(derived) == ["A", "Z", "R", "B"]
    assert derived["R"].type == "RS" and derived["R"].review_period_days == 7.0
    assert derived["R"].source["review_period_days"] == "given"
    assert derived["Z"].demand_per_day == 0.0
    assert derived["Z"].reorder_point == 0 and derived["Z"].order_quantity == 1
    assert derived["B"].order_up_to == 0 and derived["B"].reorder_point == -1
    assert derived["B"].predicted_service == 1.0
    assert derived["A"].reorder_point > 0


def test_negative_binomial_falls_back_to_poisson() -> None:
    scenario = make({"type": "sQ", "service_target": 0.9,
                     "lead_time_demand": "negative_binomial"})
    derived = derive_policy(scenario, "A")
    assert derived.lead_time_demand_model == "poisson"
    assert any("Poisson" in note for note in derived.notes)
    forced = make({"type": "sQ", "service_target": 0.9, "lead_time_demand": "poisson"},
                  units_per_line=3.0)
    derived = derive_policy(forced, "A")
    assert derived.lead_time_demand_model == "poisson" and derived.notes


def test_demand_argument_and_flat_record() -> None:
    scenario = make({"type": "sQ", "service_target": 0.9, "order_quantity": 10})
    demand = SkuDemand(lines_per_day=50.0, units_per_day=50.0, units_var_per_day=50.0,
                       unit_size_one=True)
    derived = derive_policy(scenario, "A", demand)
    assert isinstance(derived, DerivedPolicy)
    assert derived.lead_time_demand_mean == pytest.approx(100.0)
    record = derived.as_dict()
    assert record["source_reorder_point"] == "derived"
    assert record["source_order_quantity"] == "given"
    assert all(not isinstance(v, dict | list | tuple) for v in record.values())
    assert json.loads(json.dumps(record)) == record


@pytest.mark.parametrize("policy_type", ["sQ", "sS", "base_stock", "RS"])
@pytest.mark.parametrize("metric", ["fill_rate", "cycle_service_level"])
@pytest.mark.parametrize(("customers", "interval_mean"), [(1, 100.0), (100_000, 1.0)])
def test_extremes_meet_the_target_minimally(policy_type: str, metric: str, customers: int,
                                            interval_mean: float) -> None:
    # μ_L = 0.01 and 100,000, β or α = 0.9999: the target is met, one less misses it
    policy: dict[str, Any] = {"type": policy_type, "service_target": 0.9999,
                              "service_metric": metric}
    if policy_type == "RS":
        policy["review_period_days"] = 1.0
    scenario = make(policy, customers=customers, interval_mean=interval_mean, lead=1.0)
    derived = derive_policy(scenario, "A")
    assert derived.predicted_service >= 0.9999
    key = "order_up_to" if policy_type in ("RS", "base_stock") else "reorder_point"
    value = getattr(derived, key)
    fixed: dict[str, Any] = {key: value - 1}
    if policy_type == "sQ":
        fixed["order_quantity"] = derived.order_quantity
    if policy_type == "sS":  # keep Q = S − s
        fixed["order_up_to"] = derived.order_up_to - 1
    one_less = make({**policy, **fixed}, customers=customers, interval_mean=interval_mean,
                    lead=1.0)
    assert derive_policy(one_less, "A").predicted_service < 0.9999


# --- invariants ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    policy_type=st.sampled_from(["sQ", "sS", "base_stock", "RS", "RsS"]),
    metric=st.sampled_from(["fill_rate", "cycle_service_level"]),
    model=st.sampled_from(["auto", "normal", "poisson"]),
    customers=st.integers(1, 2000),
    lead_mean=st.floats(0.05, 30.0),
    random_lead=st.booleans(),
    units=st.sampled_from([1.0, 4.0]),
    targets=st.tuples(st.floats(0.5, 0.9999), st.floats(0.5, 0.9999)).map(sorted),
)
def test_higher_target_never_lowers_the_parameter(
    policy_type: str, metric: str, model: str, customers: int, lead_mean: float,
    random_lead: bool, units: float, targets: list[float],
) -> None:
    lead: Any = {"type": "gamma", "mean": lead_mean, "std": lead_mean / 2} if random_lead \
        else lead_mean
    key = "order_up_to" if policy_type in ("RS", "base_stock") else "reorder_point"
    values = []
    for target in targets:
        policy: dict[str, Any] = {"type": policy_type, "service_target": target,
                                  "service_metric": metric, "lead_time_demand": model}
        if policy_type in ("sQ", "sS", "RsS"):
            policy["order_quantity"] = 25
        if policy_type in ("RS", "RsS"):
            policy["review_period_days"] = 2.0
        derived = derive_policy(make(policy, customers=customers, interval_mean=10.0,
                                     lead=lead, units_per_line=units), "A")
        assert derived.predicted_service >= target - 1e-12
        assert 0.0 <= derived.predicted_service <= 1.0
        values.append(getattr(derived, key))
    assert values[0] <= values[1]


def reacting(scenario: Scenario, reactions: dict[str, float]) -> Scenario:
    """``scenario`` with its one segment reacting to stockouts by ``reactions``."""
    data = scenario.model_dump()
    data["segments"]["s"]["reactions"] = reactions
    return Scenario.model_validate(data)


def test_lost_sales_keep_the_reorder_point_at_or_above_zero() -> None:
    """With Q far above the lead-time demand, the backorder formula lets s fall below 0 (the
    position dips below 0 while customers wait).  Lost sales never take the position below
    0, so such an s would never reorder: where demand can be lost, s is at least 0."""
    base = make({"type": "sQ", "service_target": 0.9, "order_quantity": 200}, customers=1,
                run={"horizon_days": 1200, "warmup_days": 100, "replications": 2})
    backorders = reacting(base, {"backorder": 1.0})
    assert derive_policy(backorders, "A").reorder_point < -10  # Poisson(2), 20 short a cycle
    for reactions in ({"switch": 1.0}, {"backorder": 0.7, "switch": 0.3}, {"wait": 1.0}):
        derived = derive_policy(reacting(base, reactions), "A")
        assert derived.reorder_point == 0, reactions
        assert "never falls below 0" in " ".join(derived.notes)
    # the simulated stock keeps being replenished (s < 0 would leave it empty for good)
    assert simulate(reacting(base, {"switch": 1.0}), 1).kpis["item_fill_rate"] > 0.95


# --- periodic review (R, s, S) ---------------------------------------------------------


def test_rss_is_ss_over_the_protection_interval_r_plus_l() -> None:
    """(R, s, S) derives s and S as (s, S) does with the lead time replaced by R + L
    (DOMAIN §5): here rate 5/day, L = 2, R = 3, so as (s, S) with L = 5."""
    for metric in ("fill_rate", "cycle_service_level"):
        common = {"service_target": 0.93, "service_metric": metric, "order_quantity": 12}
        periodic = derive_policy(make({"type": "RsS", "review_period_days": 3.0, **common}),
                                 "A")
        continuous = derive_policy(make({"type": "sS", **common}, lead=5.0), "A")
        assert (periodic.reorder_point, periodic.order_up_to) == \
            (continuous.reorder_point, continuous.order_up_to)
        assert periodic.predicted_service == pytest.approx(continuous.predicted_service,
                                                           rel=1e-12)
        assert periodic.order_up_to == periodic.reorder_point + 12
        assert periodic.lead_time_demand_mean == pytest.approx(25.0)
        assert periodic.review_period_days == 3.0 and periodic.order_quantity is None
        assert periodic.source == {"reorder_point": "derived", "order_up_to": "derived",
                                   "review_period_days": "given"}


def test_rss_given_parameters_win_and_s_is_derived_below_a_given_s() -> None:
    given_all = make({"type": "RsS", "review_period_days": 1.0, "reorder_point": 4,
                      "order_up_to": 10, "service_target": None,
                      "service_metric": "cycle_service_level"}, customers=6, lead=0.0)
    derived = derive_policy(given_all, "A")
    assert (derived.reorder_point, derived.order_up_to) == (4, 10)
    # α over R + L = 1 day of Poisson(6) demand, ignoring the undershoot of s
    assert derived.predicted_service == pytest.approx(stats.poisson.cdf(4, 6.0), rel=1e-12)
    capped = derive_policy(make({"type": "RsS", "review_period_days": 2.0,
                                 "order_up_to": 15, "service_target": 0.95}), "A")
    assert capped.order_up_to == 15 and capped.reorder_point is not None
    assert capped.reorder_point < 15


def test_rss_eoq_sets_s_minus_s_without_order_quantity() -> None:
    derived = derive_policy(make({"type": "RsS", "review_period_days": 7.0,
                                  "service_target": 0.9}), "A")
    assert derived.order_up_to is not None and derived.reorder_point is not None
    quantity = economic_order_quantity(make({"type": "sQ"}), "A", derived.demand_per_day)
    assert derived.order_up_to - derived.reorder_point == quantity
    assert "order_up_to = reorder point + EOQ" in "; ".join(derived.notes)


def test_rss_orders_only_when_the_position_is_at_or_below_s(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviews every day from day 0.5: each review asks the family for its order at the
    current position, which is S − position at or below s and 0 above (a zero order only
    marks the cycle); the purchase orders in the trace are those quantities."""
    asked: list[tuple[int, int]] = []
    rule = RsS.order_quantity

    def recording(self: RsS, policy: DerivedPolicy, position: int) -> int:
        asked.append((position, rule(self, policy, position)))
        return asked[-1][1]

    monkeypatch.setattr(RsS, "order_quantity", recording)
    scenario = make({"type": "RsS", "review_period_days": 1.0, "first_review_day": 0.5,
                     "reorder_point": 4, "order_up_to": 10, "service_target": None},
                    customers=6, lead=0.25, run={"horizon_days": 60.0, "warmup_days": 0.0})
    trace = simulate(scenario, 7, trace=True).trace
    assert trace is not None
    purchases = [(t, info["qty"]) for t, kind, info in trace if kind == "purchase"]
    assert [t for t, _ in purchases] == pytest.approx([0.5 + k for k in range(60)])
    assert [qty for _, qty in purchases] == [qty for _, qty in asked]
    for position, qty in asked:
        assert qty == (10 - position if position <= 4 else 0), (position, qty)
    assert {qty == 0 for _, qty in asked} == {True, False}


def test_money_beyond_a_quadrillion_is_refused_naming_the_key() -> None:
    from servicesim.errors import ScenarioError
    from servicesim.inputs.scenario_file import load_scenario

    baseline = Path(__file__).parent.parent / "scenarios" / "baseline.yaml"
    with pytest.raises(ScenarioError, match=r"supplier\.cost_per_order: value 1e308: "
                                            r"must be <= 1e\+15"):
        load_scenario(baseline, ["supplier.cost_per_order=1e308"])


def test_an_overflowing_eoq_is_the_largest_order_quantity() -> None:
    """K = 10^15 over a holding cost of 5e-324 overflows √(2KD/h): no OverflowError."""
    from servicesim.policies.derivation import MAX_ORDER_QUANTITY

    scenario = scenario_from_dict({
        "name": "eoq", "supplier": {"cost_per_order": 1e15},
        "finance": {"cost_of_capital_rate_per_year": 0},
        "skus": {"A": {"holding_cost_per_unit_per_year": 5e-324}},
        "segments": {"s": {}}})
    assert economic_order_quantity(scenario, "A", 10.0) == MAX_ORDER_QUANTITY
    assert derive_policies(scenario)["A"].order_quantity == MAX_ORDER_QUANTITY


def test_the_largest_prices_and_costs_simulate_without_overflow_warnings() -> None:
    import warnings

    from servicesim.experiment.replications import run_replications

    scenario = scenario_from_dict({
        "name": "dear", "run": {"horizon_days": 60, "warmup_days": 10, "replications": 2},
        "supplier": {"cost_per_order": 1e15, "inbound_cost_per_unit": 1e15},
        "skus": {"A": {"unit_cost": 1e15, "price": 1e15}},
        "finance": {"fixed_cost_per_year": 1e15, "fixed_logistics_assets": 1e15},
        "segments": {"s": {"customers": 50, "units_per_line": 1000,
                           "acquisition": {"cost_per_customer": 1e15,
                                           "customers_per_year": 10}}}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = run_replications(scenario).summary(level=0.95)
    assert summary
