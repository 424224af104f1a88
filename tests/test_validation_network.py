"""servicesim against the base-stock network cases of the second shared case file (DOMAIN
§7): a serial system (supplier -> DC -> R1) and one DC with two stock points, both exact.

``validation.py`` turns a case into a scenario with ``locations`` (the DC replenished from
the supplier, each stock point from the DC through a lane) and reads each figure from
``result.by_location`` (``DC.fill_rate`` is the fill rate of the stock points' orders at
the DC).  PASS: |mean over the replications − expected| ≤ ``abs_quick`` (``abs_full`` at
the full budget in ``test_validation_full.py``, slow).  The cost-optimal placement case is
skipped with its reason.
"""

from __future__ import annotations

from typing import Any

import pytest

import validation as v


@pytest.fixture(scope="module")
def runs() -> v.NetworkRuns:
    return v.NetworkRuns("quick")


def _entries() -> list[Any]:
    return [pytest.param(case_id, name, id=f"{v.short_id(case_id)}:{name}")
            for case_id, case in v.NETWORK_CASES.items() for name in case["expected"]]


def test_both_exact_network_cases_are_checked() -> None:
    models = {case["model"] for case in v.NETWORK_CASES.values()}
    assert models == set(v.NETWORK_MODELS)
    for case in v.NETWORK_CASES.values():
        assert all(case["tolerance"][n]["kind"] == "simulation" for n in case["expected"])


@pytest.mark.parametrize(("case_id", "name"), _entries())
def test_simulated_mean_within_tolerance(runs: v.NetworkRuns, case_id: str, name: str) -> None:
    result = runs.compare(case_id, name)
    assert result.passed, result.message()


@pytest.mark.parametrize("case_id", [pytest.param(c, id=v.short_id(c))
                                     for c in v.NETWORK_CASES])
def test_theory_inside_99_percent_interval(runs: v.NetworkRuns, case_id: str) -> None:
    """STYLE habit 7: the analytic value of the case's primary figure lies in the simulated
    99 % t-interval."""
    primary = v.NETWORK_CASES[case_id]["recommended_simulation"]["driving_metric_full"]
    result = runs.compare(case_id, primary)
    assert result.in_ci99, result.message()


@pytest.mark.parametrize("case_id", [pytest.param(c, id=v.short_id(c))
                                     for c in v.NETWORK_OUT_OF_SCOPE])
def test_cost_optimal_placement_is_out_of_scope(case_id: str) -> None:
    pytest.skip(v.NETWORK_OUT_OF_SCOPE[case_id])
