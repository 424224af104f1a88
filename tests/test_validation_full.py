"""servicesim against inventory and queueing theory at the full budget (slow; CI runs it).

Every case's figures are compared with ``abs_full`` after the case's full budget (see
``validation.py``).  To keep the suite's time reasonable, the curves of A2 and E3 are run at
the full budget only at the optimal level S*: the figures at S* (including the curve point
at S*) are checked here, while the other curve points and ``optimal_S`` are checked at the
quick budget only (``test_validation.py``).  The periodic review (R, s, S) cases and the
base-stock network cases of the second case file run at their full budget too.
"""

from __future__ import annotations

import pytest

import validation as v

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs() -> v.Runs:
    return v.Runs("full")


SIMULATED = [pytest.param(c, m, id=f"{v.short_id(c)}:{m}")
             for c, case in v.CASES.items() for m in v.simulation_metrics(case, "full")]


@pytest.mark.parametrize(("case_id", "metric"), SIMULATED)
def test_simulated_mean_within_full_tolerance(runs: v.Runs, case_id: str, metric: str) -> None:
    result = v.compare(runs, case_id, metric)
    assert result.passed, result.message()


@pytest.fixture(scope="module")
def periodic_runs() -> v.PeriodicRuns:
    return v.PeriodicRuns("full")


PERIODIC = [pytest.param(c, n, id=f"{v.short_id(c)}:{n}")
            for c, case in v.PERIODIC_CASES.items() for n in v.periodic_metrics(case)]


@pytest.mark.parametrize(("case_id", "name"), PERIODIC)
def test_periodic_mean_within_full_tolerance(periodic_runs: v.PeriodicRuns, case_id: str,
                                             name: str) -> None:
    """The (R, s, S) cases of the second file (``test_validation_periodic.py`` says which
    figures are skipped and why)."""
    result = periodic_runs.compare(case_id, name)
    assert result.passed, result.message()


@pytest.fixture(scope="module")
def network_runs() -> v.NetworkRuns:
    return v.NetworkRuns("full")


NETWORK = [pytest.param(c, n, id=f"{v.short_id(c)}:{n}")
           for c, case in v.NETWORK_CASES.items() for n in case["expected"]]


@pytest.mark.parametrize(("case_id", "name"), NETWORK)
def test_network_mean_within_full_tolerance(network_runs: v.NetworkRuns, case_id: str,
                                            name: str) -> None:
    """The base-stock network cases of the second file (serial; one DC, two stock points),
    each about 100 s on two workers."""
    result = network_runs.compare(case_id, name)
    assert result.passed, result.message()
