"""Marginal analysis and the efficient frontier (servicesim.experiment.allocation,
DOMAIN §12): exact at its breakpoints for concave curves, checked against enumeration of
every allocation; safe on noisy (non-concave) curves."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from servicesim.experiment.allocation import (
    best_per_item,
    frontier_path,
    marginal_analysis,
    upper_hull,
    where_today_sits,
)


def _brute_best(value, investment, budget):
    """The most total value of any allocation within the budget, by enumeration."""
    names = list(value)
    best = -math.inf
    for steps in itertools.product(*(range(len(value[n])) for n in names)):
        spent = sum(investment[n][j] for n, j in zip(names, steps, strict=True))
        if spent <= budget + 1e-9:
            best = max(best, sum(value[n][j] for n, j in zip(names, steps, strict=True)))
    return best


@st.composite
def concave_curves(draw):
    """2–3 items, 2–5 steps each: investment strictly increasing, value increasing with
    strictly decreasing gains per unit of investment (concave)."""
    n_items = draw(st.integers(2, 3))
    value, investment = {}, {}
    for k in range(n_items):
        steps = draw(st.integers(2, 5))
        dx = draw(st.lists(st.integers(1, 9), min_size=steps - 1, max_size=steps - 1))
        ratios = sorted(draw(st.lists(st.integers(1, 50), min_size=steps - 1,
                                      max_size=steps - 1, unique=True)), reverse=True)
        x, y = [float(draw(st.integers(0, 5)))], [0.0]
        for d, r in zip(dx, ratios, strict=True):
            x.append(x[-1] + d)
            y.append(y[-1] + d * r)
        value[f"i{k}"], investment[f"i{k}"] = y, x
    return value, investment


@settings(max_examples=60, deadline=None)
@given(concave_curves())
def test_every_breakpoint_of_the_frontier_is_the_best_allocation_at_its_investment(curves):
    value, investment = curves
    path = frontier_path(value, investment)
    assert np.all(np.diff(path.investment) >= 0) and np.all(np.diff(path.value) > 0)
    for point in range(len(path)):
        steps = path.allocation(point)
        spent = sum(investment[n][j] for n, j in steps.items())
        got = sum(value[n][j] for n, j in steps.items())
        assert math.isclose(spent, path.investment[point])
        assert math.isclose(got, path.value[point])
        assert math.isclose(got, _brute_best(value, investment, spent), rel_tol=1e-12)
        # marginal analysis with that budget finds it too
        chosen = marginal_analysis(value, investment, spent)
        assert math.isclose(sum(value[n][j] for n, j in chosen.items()), got)


@settings(max_examples=60, deadline=None)
@given(concave_curves(), st.floats(0, 1))
def test_marginal_analysis_stays_within_the_budget_and_never_below_the_frontier(curves, share):
    value, investment = curves
    least = sum(x[0] for x in investment.values())
    most = sum(x[-1] for x in investment.values())
    budget = least + share * (most - least)
    chosen = marginal_analysis(value, investment, budget)
    spent = sum(investment[n][j] for n, j in chosen.items())
    got = sum(value[n][j] for n, j in chosen.items())
    assert spent <= budget + 1e-9
    path = frontier_path(value, investment)
    on_frontier = max(v for x, v in zip(path.investment, path.value, strict=True)
                      if x <= budget + 1e-9)
    assert got >= on_frontier - 1e-9
    assert got <= _brute_best(value, investment, budget) + 1e-9


def test_the_envelope_drops_steps_that_noise_puts_below_a_chord():
    # step 1 lies below the chord from step 0 to step 2; step 4 adds investment for less
    investment = [0.0, 1.0, 2.0, 3.0, 4.0]
    value = [0.0, 0.5, 2.0, 2.5, 2.4]
    assert upper_hull(investment, value) == [0, 2, 3]
    # a step of NaN (a SKU without demand in a run) is left out
    assert upper_hull([0.0, 1.0, 2.0], [0.0, math.nan, 1.0]) == [0, 2]


def test_a_noisy_curve_is_walked_along_its_envelope():
    value = {"a": [0.0, 0.5, 2.0, 2.5, 2.4], "b": [0.0, 1.0, 1.5, 1.8, 1.9]}
    investment = {"a": [0.0, 1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 2.0, 3.0, 4.0]}
    path = frontier_path(value, investment)
    reached = {item: {s for it, s in path.moves if it == item} for item in value}
    assert reached["a"] == {2, 3}  # steps 1 and 4 are never chosen
    assert reached["b"] == {1, 2, 3, 4}
    assert path.allocation(len(path) - 1) == {"a": 3, "b": 4}
    assert np.all(np.diff(path.value) > 0)
    totals = path.totals({k: np.asarray(v) for k, v in value.items()})
    assert np.allclose(totals, path.value)
    assert path.allocations([2, 0]) == [path.allocation(2), path.allocation(0)]


def test_a_step_that_does_not_fit_is_skipped_and_a_smaller_one_fills_the_budget():
    value = {"a": [0.0, 10.0], "b": [0.0, 3.0, 5.0]}
    investment = {"a": [0.0, 5.0], "b": [0.0, 1.0, 2.0]}
    # a's move (ratio 2) is best but does not fit in 3: b takes both of its steps
    assert marginal_analysis(value, investment, budget=3.0) == {"a": 0, "b": 2}
    assert marginal_analysis(value, investment, budget=6.0) == {"a": 1, "b": 1}
    assert best_per_item({"a": [3.0, 1.0, 3.0], "b": [math.nan, 1.0]}) == {"a": 0, "b": 1}


def test_today_is_placed_against_the_frontier_by_interpolation():
    investment, fill = [100.0, 200.0, 300.0], [0.90, 0.96, 0.98]
    need, reach = where_today_sits(investment, fill, today_investment=250.0,
                                   today_value=0.93)
    assert math.isclose(need, 150.0)  # halfway from 0.90 to 0.96
    assert math.isclose(reach, 0.97)  # halfway from 200 to 300
    need, reach = where_today_sits(investment, fill, 50.0, 0.99)
    assert math.isnan(need) and math.isnan(reach)
