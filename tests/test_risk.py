"""The statistics of a risk analysis (DOMAIN §11): order-statistic intervals of quantiles,
the worst-tail mean, paired differences under common random numbers, the recovery
summary and the trailing fill rate around an event."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from servicesim.experiment.risk_runs import OFFSETS, aligned_fill, trailing_fill
from servicesim.experiment.risk_stats import (
    distribution,
    paired_risk_difference,
    quantile_interval,
    recovery_summary,
    tail_count,
    tail_mean,
)


@pytest.mark.parametrize(("n", "q"), [(100, 0.05), (100, 0.5), (120, 0.95), (250, 0.05)])
def test_quantile_interval_ranks_have_the_binomial_coverage(n: int, q: float) -> None:
    """The interval [X(l), X(u)] holds the q quantile with probability P(l <= B < u),
    B ~ Binomial(n, q), whatever the distribution: at least 95 %, and each tail at most
    2.5 % (the ranks are the binomial's quantiles, not wider than needed)."""
    found = quantile_interval(np.arange(n, dtype=float), q)
    low, high = found["rank_low"], found["rank_high"]
    exact = stats.binom.cdf(high - 1, n, q) - stats.binom.cdf(low - 1, n, q)
    assert found["coverage"] == pytest.approx(exact)
    assert exact >= 0.95
    assert stats.binom.cdf(low - 1, n, q) < 0.025  # the lower tail left out
    assert stats.binom.cdf(low, n, q) >= 0.025      # one rank more would leave out more
    assert 1 - stats.binom.cdf(high - 1, n, q) <= 0.025
    assert stats.binom.cdf(high - 2, n, q) < 0.975
    # the bounds are those order statistics of the sorted sample
    assert found["ci_low"] == float(low - 1) and found["ci_high"] == float(high - 1)


def test_quantile_interval_covers_a_known_quantile() -> None:
    """Over many samples of an exponential distribution, the interval of the 5th
    percentile holds the true one about as often as its stated coverage."""
    rng = np.random.default_rng(20261208)
    n, q, trials = 100, 0.05, 4000
    truth = -math.log(1 - q)
    samples = np.sort(rng.exponential(size=(trials, n)), axis=1)
    found = quantile_interval(samples[0], q)
    low, high = found["rank_low"], found["rank_high"]
    held = (samples[:, low - 1] <= truth) & (truth < samples[:, high - 1])
    se = math.sqrt(found["coverage"] * (1 - found["coverage"]) / trials)
    assert abs(held.mean() - found["coverage"]) < 4 * se


def test_quantile_interval_without_enough_replications_has_no_lower_bound() -> None:
    """Ten values cannot bound the 5th percentile from below: P(B = 0) > 2.5 %."""
    found = quantile_interval(np.linspace(0, 1, 10), 0.05)
    assert found["rank_low"] == 0 and math.isnan(found["ci_low"])
    assert math.isfinite(found["ci_high"])


def test_tail_mean_is_the_mean_of_the_worst_share() -> None:
    values = np.random.default_rng(3).normal(size=100)
    assert tail_count(100) == 5 and tail_count(101) == 6 and tail_count(10) == 1
    assert tail_mean(values) == pytest.approx(np.sort(values)[:5].mean())
    assert tail_mean([np.nan, 2.0, 1.0]) == 1.0


def test_distribution_intervals_hold_their_estimates_and_repeat() -> None:
    values = np.random.default_rng(5).normal(0.1, 0.05, size=120).tolist()
    first = distribution(values, seed=9, worst_tail=True)
    again = distribution(values, seed=9, worst_tail=True)
    assert first == again  # the bootstrap's seed is named, not drawn
    for name in ("mean", "median", "p5", "p95", "worst_5"):
        cell = first[name]
        assert cell["ci_low"] <= cell["value"] <= cell["ci_high"], name
    assert first["p5"]["value"] < first["median"]["value"] < first["p95"]["value"]
    assert first["worst_5"]["value"] < first["p5"]["value"]
    assert "worst_5" not in distribution(values, seed=9)


def test_paired_difference_of_a_shift_is_the_shift() -> None:
    """An alternative that adds a constant to every replication's ROI differs by exactly
    that in its mean, 5th percentile and worst-5 % mean, with zero-width intervals."""
    reference = np.random.default_rng(11).normal(0.2, 0.1, size=80)
    found = paired_risk_difference(reference, reference + 0.03, seed=1)
    for name in ("mean", "p5", "worst_5"):
        cell = found[name]
        assert cell["value"] == pytest.approx(0.03)
        assert cell["ci_low"] == pytest.approx(0.03) and cell["ci_high"] == pytest.approx(0.03)
    assert found["n_pairs"] == 80


def test_pairing_sharpens_the_difference() -> None:
    """Common random numbers: a large shared spread and a small difference of the tail.
    The paired interval of the worst-5 % mean excludes 0; the difference of two
    independent samples' tails would not be distinguishable at this spread."""
    rng = np.random.default_rng(17)
    shared = rng.normal(0.2, 0.2, size=200)
    other = shared + np.where(shared < np.quantile(shared, 0.1), 0.05, -0.002)
    found = paired_risk_difference(shared, other, seed=2)
    assert found["worst_5"]["ci_low"] > 0
    assert found["mean"]["value"] == pytest.approx(float(np.mean(other - shared)))
    assert found["mean"]["ci_low"] <= found["mean"]["value"] <= found["mean"]["ci_high"]


def test_recovery_summary_counts_the_unrecovered() -> None:
    found = recovery_summary([2.0, None, 4.0, 6.0])
    assert found["events"] == 4 and found["recovered"] == 3
    assert found["not_recovered_share"] == 0.25
    assert found["mean"] == 4.0 and found["median"] == 4.0
    assert math.isnan(recovery_summary([])["mean"])


def test_trailing_fill_and_its_alignment_on_an_event() -> None:
    """Seven days of demand 10 with a shortage of 7 on day 20: the trailing 7-day fill rate
    is 0.9 on days 20 to 26 and 1 elsewhere; aligned on an event starting on day 20.5, the
    curve's day 0 is day 20, and days before day 0 of the run are NaN."""
    demanded = np.full(60, 10.0)
    short = np.zeros(60)
    short[20] = 7.0
    fill = trailing_fill(demanded, short)
    assert fill[19] == 1.0 and fill[20] == pytest.approx(0.9) and fill[26] == pytest.approx(0.9)
    assert fill[27] == 1.0
    curve = np.array(aligned_fill(fill, 20.5))
    zero = OFFSETS.index(0)
    assert curve[zero] == pytest.approx(0.9) and curve[zero - 1] == 1.0
    assert np.isnan(curve[OFFSETS.index(40)])  # day 60: past the run
    early = np.array(aligned_fill(fill, 3.0))
    assert np.isnan(early[0]) and early[OFFSETS.index(-3)] == 1.0
    assert np.isnan(trailing_fill(np.zeros(3), np.zeros(3))).all()
