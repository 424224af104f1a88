"""servicesim against the periodic review (R, s, S) cases of the second shared case file,
quick budget (DOMAIN §5).

``tests/data/network_periodic_assortment_cases.json`` is a byte-for-byte copy of the shared
file; ``validation.py`` turns a case into a scenario (reviews at 0, R, 2R, ...; a review
orders up to S when the inventory position is at or below s; a zero order marks the cycle,
so ``csl_cycle`` and ``end_of_cycle_*`` are read just before each review's receipt, kR + L,
which in steady state is the case's kR + L + R of the review before).  PASS: |mean over the
replications − expected| ≤ ``abs_quick``.  The figures the model does not measure are
skipped with their reason; the assortment cases are checked in ``test_frontier_cases.py``.  The network cases are checked in
``test_validation_network.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

import validation as v


@pytest.fixture(scope="module")
def runs() -> v.PeriodicRuns:
    return v.PeriodicRuns("quick")


def _entries() -> list[Any]:
    params = []
    for case_id, case in v.PERIODIC_CASES.items():
        for name in case["expected"]:
            marks = []
            metric = v.periodic_point(name)[0]
            if metric in v.UNMEASURED:
                marks.append(pytest.mark.skip(reason=v.UNMEASURED[metric]))
            elif name in v.NOT_SIMULATED:
                marks.append(pytest.mark.skip(reason=v.NOT_SIMULATED[name]))
            params.append(pytest.param(case_id, name, id=f"{v.short_id(case_id)}:{name}",
                                       marks=marks))
    return params


@pytest.mark.parametrize(("case_id", "name"), _entries())
def test_simulated_mean_within_tolerance(runs: v.PeriodicRuns, case_id: str,
                                         name: str) -> None:
    result = runs.compare(case_id, name)
    assert result.passed, result.message()


def test_every_periodic_entry_is_checked_or_skipped_with_a_reason() -> None:
    for case in v.PERIODIC_CASES.values():
        for name in case["expected"]:
            metric = v.periodic_point(name)[0]
            assert metric in v.FIGURES or metric in v.UNMEASURED or name in v.NOT_SIMULATED \
                or metric in ("order_prob_per_review", "expected_cycle_length_reviews"), name


def test_second_case_file_is_an_identical_copy() -> None:
    if not v.SHARED_PERIODIC_CASES_PATH.exists():
        pytest.skip(f"no shared case file at {v.SHARED_PERIODIC_CASES_PATH}")
    assert v.PERIODIC_CASES_PATH.read_bytes() == v.SHARED_PERIODIC_CASES_PATH.read_bytes(), (
        f"{v.PERIODIC_CASES_PATH} differs from {v.SHARED_PERIODIC_CASES_PATH}: copy it again")


@pytest.mark.parametrize("case_id", [pytest.param(c, id=v.short_id(c))
                                     for c in v.PERIODIC_CASES])
def test_theory_inside_99_percent_interval(runs: v.PeriodicRuns, case_id: str) -> None:
    """STYLE habit 7: the analytic value of the case's primary figure (the one its budget is
    sized on) lies in the simulated 99 % t-interval."""
    primary = v.PERIODIC_CASES[case_id]["recommended_simulation"]["driving_metric_full"]
    result = runs.compare(case_id, primary)
    assert result.in_ci99, result.message()
