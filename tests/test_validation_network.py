"""servicesim against the base-stock network cases of the second shared case file (DOMAIN
§7): a serial system (supplier -> DC -> R1) and one DC with two stock points, both exact.

``validation.py`` turns a case into a scenario with ``locations`` (the DC replenished from
the supplier, each stock point from the DC through a lane) and reads each figure from
``result.by_location`` (``DC.fill_rate`` is the fill rate of the stock points' orders at
the DC).  PASS: |mean over the replications − expected| ≤ ``abs_quick`` (``abs_full`` at
the full budget in ``test_validation_full.py``, slow).  The cost-optimal placement case
(NET3) simulates the optimum and its listed rivals on common random numbers and checks the
listed costs, the figures at the optimum and the argmin by paired comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import validation as v
from servicesim.experiment.statistics import holm, paired_comparison


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


# ------------------------------------------------ cost-optimal placement (serial network)
#
# The case's cost rate h_DC·E[OH_DC] + h_R1·E[OH_R1] + p·E[BO_R1] is computed per replication
# from ``result.by_location`` (validation.placement_cost) at explicit base-stock levels
# (``order_up_to`` of DC and R1), every placement from the same root seed (common random
# numbers).  At the quick budget a placement is 10 replications of 50,000 days at 2 demands
# a day (about 5 s on two unloaded cores): the optimum runs in the quick suite; its seven
# listed rivals and the two neighbours of (0, 15) (about 45 s more) are marked slow.  The
# full budget (10 times as long per placement, over 7 minutes in all) does not fit the full
# suite's minute and is not run.

@pytest.fixture(scope="module")
def placement_runs() -> v.PlacementRuns:
    return v.PlacementRuns("quick")


def _placement(names: Any) -> list[Any]:
    return [pytest.param(c, n, id=f"{v.short_id(c)}:{n}")
            for c, case in v.PLACEMENT_CASES.items() for n in names(case)]


AT_OPTIMUM = _placement(lambda case: ["optimal_total_cost_rate", *(
    n for n in case["expected"] if v.placement_at_optimum(n))])
ELSEWHERE = _placement(lambda case: [
    n for n in v.placement_points(case) if n != "optimal_total_cost_rate"])
FORMULAS = _placement(lambda case: [
    n for n in case["expected"] if case["tolerance"][n]["kind"] == "formula"])


def test_every_placement_figure_is_checked() -> None:
    for case in v.PLACEMENT_CASES.values():
        checked = {n for group in (AT_OPTIMUM, ELSEWHERE, FORMULAS) for p in group
                   for n in p.values[1:]}
        decisions = {"optimal_S_DC", "optimal_S_R1", "best_S_R1_if_S_DC_0"}  # argmin tests
        assert checked | decisions == set(case["expected"])
        assert v.placement_optimum(case) == (11, 5)


@pytest.mark.parametrize(("case_id", "name"), AT_OPTIMUM)
def test_placement_figures_at_the_optimum(placement_runs: v.PlacementRuns, case_id: str,
                                          name: str) -> None:
    result = placement_runs.compare(case_id, name)
    assert result.passed, result.message()


@pytest.mark.parametrize(("case_id", "name"), FORMULAS)
def test_placement_formulas(case_id: str, name: str) -> None:
    case = v.PLACEMENT_CASES[case_id]
    assert v.placement_formula(case, name) == pytest.approx(case["expected"][name], rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(("case_id", "name"), ELSEWHERE)
def test_placement_costs_of_the_listed_rivals(placement_runs: v.PlacementRuns, case_id: str,
                                              name: str) -> None:
    placement_runs.run(case_id, list(v.placement_points(v.PLACEMENT_CASES[case_id]).values()))
    result = placement_runs.compare(case_id, name)
    assert result.passed, result.message()


@pytest.mark.slow
@pytest.mark.parametrize("case_id", [pytest.param(c, id=v.short_id(c))
                                     for c in v.PLACEMENT_CASES])
def test_the_optimum_beats_every_listed_rival_by_paired_comparison(
        placement_runs: v.PlacementRuns, case_id: str) -> None:
    """The argmin of the simulated mean cost over the listed placements is the case's
    optimum, and a one-sided paired t-test under common random numbers (Holm-corrected over
    the rivals, α = 0.05) finds every rival costlier, the runner-up (12, 5) included
    (exact gap 0.89 %).  The case allows judging by the listed costs when CRN cannot
    separate the two; at the quick budget it can."""
    case = v.PLACEMENT_CASES[case_id]
    points = list(v.placement_points(case).values())
    placement_runs.run(case_id, points)
    means = {lv: float(np.mean(placement_runs.costs(case_id, lv))) for lv in points}
    assert min(means, key=means.__getitem__) == v.placement_optimum(case), means
    tests = placement_runs.paired_against_optimum(case_id)
    adjusted = dict(zip(tests, holm([t["p_value"] for t in tests.values()]), strict=True))
    not_separated = {lv: (tests[lv]["diff"], p) for lv, p in adjusted.items() if p > 0.05}
    assert not not_separated, f"rivals not separated from the optimum: {not_separated}"


@pytest.mark.slow
@pytest.mark.parametrize("case_id", [pytest.param(c, id=v.short_id(c))
                                     for c in v.PLACEMENT_CASES])
def test_with_no_stock_at_the_dc_the_listed_level_is_not_worse(
        placement_runs: v.PlacementRuns, case_id: str) -> None:
    """``best_S_R1_if_S_DC_0``: with S_DC = 0, the listed S_R1 is not significantly costlier
    than either neighbour (paired one-sided t-tests on common random numbers, Holm), and the
    level below is significantly costlier.  The level above is exactly 0.025 (0.36 %)
    costlier (stock-point stock X ~ Poisson(λ(L_w + L_r))), a gap the quick budget cannot
    resolve even paired, so the decision is judged by the listed cost, as the case's
    decision note allows (``total_cost_rate_Sdc0_Sr15`` above)."""
    best = int(v.PLACEMENT_CASES[case_id]["expected"]["best_S_R1_if_S_DC_0"])
    levels = [(0, best - 1), (0, best), (0, best + 1)]
    placement_runs.run(case_id, levels)
    listed = placement_runs.costs(case_id, (0, best))
    below, above = (paired_comparison(listed, placement_runs.costs(case_id, lv))
                    for lv in (levels[0], levels[2]))
    assert min(holm([below["p_value"], above["p_value"]])) > 0.05, (below, above)
    lower = paired_comparison(placement_runs.costs(case_id, levels[0]), listed)
    assert lower["p_value"] < 0.05, lower
