"""Distributions: validation, analytic moments against samples, integer transforms."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from servicesim.scenario.distributions import (
    DISTRIBUTION_TYPES,
    Constant,
    Distribution,
    Lognormal,
    NegativeBinomial,
    Normal,
    Poisson,
    as_draws,
    check_count,
    coerce_distribution,
    count_ceiling,
    integer_moments,
    integer_pmf,
    integer_sampler,
)

ADAPTER: TypeAdapter = TypeAdapter(Distribution)

CASES = [
    {"type": "constant", "value": 2.5},
    {"type": "exponential", "mean": 2.0},
    {"type": "uniform", "low": 1.0, "high": 4.0},
    {"type": "triangular", "low": 1.0, "mode": 2.0, "high": 6.0},
    {"type": "normal", "mean": 10.0, "std": 2.0},
    {"type": "normal_rounded", "mean": 6.0, "std": 1.5},
    {"type": "lognormal", "mean": 3.0, "std": 1.5},
    {"type": "gamma", "mean": 4.0, "std": 2.0},
    {"type": "poisson", "mean": 3.5},
    {"type": "negative_binomial", "mean": 3.0, "std": 2.5},
    {"type": "empirical", "values": [1, 2, 5], "probabilities": [0.5, 0.3, 0.2]},
]


def test_every_type_has_a_case() -> None:
    assert sorted(c["type"] for c in CASES) == sorted(DISTRIBUTION_TYPES)


@pytest.mark.parametrize("spec", CASES, ids=[c["type"] for c in CASES])
def test_sample_moments_match_analytic(spec: dict) -> None:
    """The mean of 200,000 draws lies within 4.5 standard errors of the analytic mean, and
    the sample variance within 3 % of the analytic one (rounding adds 1/12 for
    normal_rounded)."""
    dist = ADAPTER.validate_python(spec)
    draw = dist.sampler(np.random.default_rng(42))
    x = np.array([draw() for _ in range(200_000)])
    var = dist.variance + (1 / 12 if spec["type"] == "normal_rounded" else 0.0)
    se = math.sqrt(var / x.size) if var else 1e-12
    assert abs(x.mean() - dist.mean) <= 4.5 * se + 1e-12
    assert x.var() == pytest.approx(var, rel=0.03, abs=1e-12)


def test_samplers_are_reproducible_and_blocked_draws_equal_single_stream() -> None:
    dist = ADAPTER.validate_python({"type": "gamma", "mean": 2.0, "std": 1.0})
    a = dist.sampler(np.random.default_rng(7), block=16)
    b = dist.sampler(np.random.default_rng(7), block=16)
    assert [a() for _ in range(100)] == [b() for _ in range(100)]


def test_bare_number_is_a_constant() -> None:
    dist = ADAPTER.validate_python(coerce_distribution(3))
    assert dist.type == "constant" and dist.mean == 3 and dist.variance == 0


def test_repr_is_readable() -> None:
    assert repr(ADAPTER.validate_python({"type": "exponential", "mean": 2})) == \
        "Exponential(mean=2.0)"


@pytest.mark.parametrize("spec", [
    {"type": "negative_binomial", "mean": 3.0, "std": 1.0},   # variance below mean
    {"type": "uniform", "low": 3.0, "high": 1.0},
    {"type": "empirical", "values": [1, 2], "probabilities": [0.5, 0.4]},
    {"type": "empirical", "values": [1, 2], "probabilities": [1.0]},
    {"type": "exponential", "mean": -1.0},
    {"type": "exponential", "mean": float("inf")},
    {"type": "gamma", "mean": 1.0},                           # missing std
    {"type": "weibull", "mean": 1.0},                         # unknown type
    {"type": "poisson", "mean": 1.0, "scale": 2},             # unknown key
])
def test_invalid_parameters_are_rejected(spec: dict) -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(spec)


def test_integer_moments_are_exact_for_the_transformed_count() -> None:
    # Poisson(0.5) clamped at 1: P(0)+P(1) at 1, the rest as is
    dist = ADAPTER.validate_python({"type": "poisson", "mean": 0.5})
    mean, var = integer_moments(dist, 1)
    p0 = math.exp(-0.5)
    assert mean == pytest.approx(0.5 + p0)  # E[max(1,X)] = E[X] + P(X=0)
    draw = integer_sampler(dist, np.random.default_rng(3))
    x = np.array([draw() for _ in range(100_000)])
    assert x.min() == 1
    assert abs(x.mean() - mean) < 4.5 * math.sqrt(var / x.size)
    support, probs = integer_pmf(dist, 1)
    assert support[0] == 1 and probs.sum() == pytest.approx(1.0)


def test_integer_sampler_of_continuous_rounds() -> None:
    dist = ADAPTER.validate_python({"type": "normal", "mean": 4.0, "std": 1.0})
    draw = integer_sampler(dist, np.random.default_rng(5))
    values = {draw() for _ in range(1000)}
    assert all(isinstance(v, int) and v >= 1 for v in values)
    mean, _ = integer_moments(dist, 1)
    assert mean == pytest.approx(4.0, abs=0.01)


def test_draw_blocks_hand_out_the_values_and_types_of_tolist() -> None:
    rng = np.random.default_rng(3)
    for values in (rng.random(37), rng.integers(-2**62, 2**62, 37), np.arange(5, dtype=np.int32),
                   rng.random(0), rng.random((4, 3))[:, 1]):  # the last one is not contiguous
        block = as_draws(values)
        assert list(block) == values.tolist()
        assert [type(x) for x in block] == [type(x) for x in values.tolist()]


@pytest.mark.parametrize("std", [1000.0, 1e6])
def test_a_heavy_tailed_quantity_is_refused_before_it_costs_memory(std: float) -> None:
    """A lognormal of mean 10 and std 1,000 reaches 1.8e8 units at its 1 - 1e-12 quantile:
    the policy derivation would sum 1.4 GB of points for it (std 1e6: 340 GB)."""
    from servicesim.errors import ScenarioError
    from servicesim.scenario.validation import scenario_from_dict

    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"segments\.s\.units_per_line.*quantile.*"
                                            r"over the 1,000,000 a count may reach"):
        scenario_from_dict({"name": "heavy", "skus": {"A": {}}, "segments": {"s": {
            "units_per_line": {"type": "lognormal", "mean": 10, "std": std}}}})
    assert time.perf_counter() - start < 2
    with pytest.raises(ValueError, match="1,000,000"):
        integer_pmf(Lognormal(mean=10, std=std))


def test_quantities_of_real_order_lines_pass_the_count_ceiling() -> None:
    for dist in (Lognormal(mean=10, std=20), NegativeBinomial(mean=500, std=400),
                 Poisson(mean=1e5), Normal(mean=1e5, std=1e4), Constant(value=1e6)):
        assert check_count(dist) is dist
    assert count_ceiling(Lognormal(mean=10, std=20)) == pytest.approx(
        Lognormal(mean=10, std=20).scipy().ppf(1 - 1e-12))
