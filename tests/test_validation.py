"""servicesim against inventory and queueing theory: every analytic case, quick budget.

The cases, their expected values and tolerances are ``tests/data/validation_cases.json``
(a copy of the shared validation file); ``validation.py`` turns a case into a scenario and
reads its figures.  PASS: |mean over the replications − expected| ≤ ``abs_quick``.  Each
scenario is simulated once per session (module fixture); replications run in two processes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import validation as v
from servicesim.experiment.replications import run_replications


@pytest.fixture(scope="module")
def runs() -> v.Runs:
    return v.Runs("quick")


def _params(pairs: list[tuple[str, str]]) -> list[Any]:
    return [pytest.param(c, m, id=f"{v.short_id(c)}:{m}") for c, m in pairs]


SIMULATED = [(c, m) for c, case in v.CASES.items() for m in v.simulation_metrics(case, "quick")]
FORMULAS = [(c, m) for c, case in v.CASES.items() for m in case["expected"]
            if v.kind(case, m) == "formula"]
CURVES = [c for c, case in v.CASES.items() if v.is_curve_case(case)]
LOST_SALES = [c for c, case in v.CASES.items()
              if case["inputs"].get("stockout") == "lost_sales"]

PRIMARY = {c: case["recommended_simulation"]["driving_metric_full"]
           for c, case in v.CASES.items()}
"""The primary figure of each case: the one its budget is sized on (the noisiest)."""


@pytest.mark.parametrize(("case_id", "metric"), _params(SIMULATED))
def test_simulated_mean_within_tolerance(runs: v.Runs, case_id: str, metric: str) -> None:
    result = v.compare(runs, case_id, metric)
    assert result.passed, result.message()


@pytest.mark.parametrize("case_id", [pytest.param(c, id=v.short_id(c)) for c in PRIMARY])
def test_theory_inside_99_percent_interval(runs: v.Runs, case_id: str) -> None:
    """STYLE habit 7: the analytic value lies in the simulated 99 % t-interval (not widened)."""
    result = v.compare(runs, case_id, PRIMARY[case_id])
    assert result.in_ci99, result.message()


@pytest.mark.parametrize("case_id", [pytest.param(c, id=v.short_id(c)) for c in CURVES])
def test_simulated_optimum_is_exact(runs: v.Runs, case_id: str) -> None:
    """The base-stock level that optimises the simulated mean curve is the analytic S*."""
    case = v.CASES[case_id]
    found, means = v.simulated_optimum(runs, case_id)
    metric, _ = v.objective(case)
    assert found == case["expected"]["optimal_S"], f"simulated mean {metric} by S: {means}"


@pytest.mark.parametrize(("case_id", "name"), _params(FORMULAS))
def test_formula_entries(case_id: str, name: str) -> None:
    """Analytic entries recomputed with scipy and, where it has one, servicesim's helper."""
    case = v.CASES[case_id]
    rel = case["tolerance"][name]["rel"]
    expected = case["expected"][name]
    assert v.is_close(v.formula_value(case, name), expected, rel), name
    own = v.servicesim_value(case, name)
    if own is not None:
        assert v.is_close(own, expected, rel), f"servicesim gives {own}, expected {expected}"


@pytest.mark.parametrize("case_id", [pytest.param(c, id=v.short_id(c)) for c in LOST_SALES])
def test_lost_sales_fill_rates_are_erlang_b(case_id: str) -> None:
    """Lost-sales base stock: β = 1 − B(S, λ·E[L]) with servicesim.policies.derivation.erlang_b."""
    case = v.CASES[case_id]
    checks = v.erlang_fill_rates(case)
    assert checks
    for name, level, fill_rate in checks:
        assert v.is_close(fill_rate, case["expected"][name], 1e-6), (name, level)


@pytest.mark.parametrize("case_id", [pytest.param(c, id=v.short_id(c)) for c in v.CASES])
def test_every_entry_is_checked(case_id: str) -> None:
    """No expected entry is left out silently: each has a figure, a formula or is S*."""
    case = v.CASES[case_id]
    for name in case["expected"]:
        kind = v.kind(case, name)
        if kind == "simulation":
            assert v.point(case, name)[0] in v.FIGURES, name
        elif kind == "formula":
            assert math.isfinite(v.formula_value(case, name)), name
        else:
            assert (kind, name) == ("exact", "optimal_S"), name


@pytest.mark.parametrize("case_id", [pytest.param(c, id=v.short_id(c))
                                     for c in v.SCENARIO_FILES])
def test_shipped_scenario_is_the_case(case_id: str) -> None:
    """The scenario file describes the case's system; its run block is the quick budget."""
    case = v.CASES[case_id]
    shipped = v.load_file(v.SCENARIO_FILES[case_id])
    translated = v.case_scenario(case, "quick")
    assert v.model_part(shipped) == v.model_part(translated)
    assert shipped.run == translated.run


def test_case_file_is_an_identical_copy() -> None:
    if not v.SHARED_CASES_PATH.exists():
        pytest.skip(f"no shared case file at {v.SHARED_CASES_PATH}")
    assert v.CASES_PATH.read_bytes() == v.SHARED_CASES_PATH.read_bytes(), (
        f"{v.CASES_PATH} differs from {v.SHARED_CASES_PATH}: copy it again")


def test_parallel_runs_equal_serial_replications() -> None:
    case = v.CASES["E1_lostsales_basestock_constL"]
    data = v.scenario_data(case)
    data["run"].update(horizon_days=200.0, warmup_days=10.0, replications=3)
    scenario = v.Scenario.model_validate(data)
    (parallel,) = v.run_all([scenario])
    serial = run_replications(scenario).results
    # NaN-aware equality (e.g. ROI is NaN when no capital is employed)
    np.testing.assert_equal([r.kpis for r in parallel], [r.kpis for r in serial])
    np.testing.assert_equal([r.details for r in parallel], [r.details for r in serial])
