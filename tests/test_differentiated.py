"""Differentiated service (DOMAIN §2, CRM): the optimiser searches two fields at once —
the fill-rate target and the share of stock reserved for the priority segment."""

from __future__ import annotations

from pathlib import Path

from servicesim.experiment.optimize import optimize
from servicesim.inputs.scenario_file import load_scenario
from servicesim.model.simulation import simulate

BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
SHORT = ["run.horizon_days=270", "run.warmup_days=30"]


def test_reserving_stock_raises_key_account_service_in_the_baseline() -> None:
    plain = load_scenario(BASELINE, overrides=SHORT)
    reserved = load_scenario(BASELINE, overrides=[*SHORT, "policy.critical_level_fraction=0.5"])
    a, b = simulate(plain, 3).by_segment, simulate(reserved, 3).by_segment
    assert b["key_accounts"]["item_fill_rate"] > a["key_accounts"]["item_fill_rate"]
    assert b["retail"]["item_fill_rate"] < a["retail"]["item_fill_rate"]


def test_two_parameter_search_for_a_differentiated_service_package() -> None:
    scenario = load_scenario(BASELINE, overrides=SHORT)
    result = optimize(scenario, ["policy.service_target=0.85:0.99",
                                 "policy.critical_level_fraction=0:0.6"],
                      replications=3, max_replications=6, resolution=[0.035, 0.15],
                      seed=5, out_dir=None, workers=2)
    assert set(result.best) == {"policy.service_target", "policy.critical_level_fraction"}
    assert 0.85 <= result.best["policy.service_target"] <= 0.99
    assert 0.0 <= result.best["policy.critical_level_fraction"] <= 0.6
    assert result.best in result.not_worse
    assert result.n_simulations < result.fine_grid_simulations
