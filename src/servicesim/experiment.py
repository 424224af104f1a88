"""Replications: independent runs of one scenario, and their means with confidence intervals.

``run_replications(scenario, n, seed)`` spawns ``n`` child seeds from
``numpy.random.SeedSequence(seed)`` (STYLE habit 4), runs :func:`servicesim.model.simulate`
on each, and keeps every replication's figures (tidy rows); summaries are derived from them,
never stored instead of them (STYLE habit 6).  Confidence intervals are Student-t intervals
over replications (DOMAIN §6).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .kpis import PROBABILITY_KEYS, SUMMARY_KEYS
from .model import ReplicationResult, simulate
from .policy import DerivedPolicy, derive_policies
from .scenario import Scenario


def confidence_interval(values: Iterable[float], level: float = 0.95) -> dict[str, float]:
    """Mean and Student-t confidence interval of independent replication values.

    NaN values (a figure undefined in a replication, e.g. no orders closed) are left out;
    ``n`` says how many remained.  With one value the interval is NaN.
    """
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "std": math.nan, "n": 0}
    mean = float(x.mean())
    if n == 1:
        return {"mean": mean, "ci_low": math.nan, "ci_high": math.nan, "std": math.nan, "n": 1}
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "std": sd, "n": n}


def figure_interval(key: str, values: Iterable[float], level: float = 0.95) -> dict[str, float]:
    """:func:`confidence_interval` of one figure; clipped to [0, 1] when it is a probability
    (fill rates, service levels: :data:`~servicesim.kpis.PROBABILITY_KEYS`)."""
    ci = confidence_interval(values, level)
    if key in PROBABILITY_KEYS and ci["n"] > 1:
        ci["ci_low"], ci["ci_high"] = max(ci["ci_low"], 0.0), min(ci["ci_high"], 1.0)
    return ci


def replication_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """The child seeds of replications 0..n-1 of root ``seed``."""
    return np.random.SeedSequence(seed).spawn(n)


@dataclass
class ReplicationSet:
    """The replications of one scenario, kept whole."""

    scenario: Scenario
    seed: int
    results: list[ReplicationResult]
    policies_derived: dict[str, DerivedPolicy]

    @property
    def n(self) -> int:
        return len(self.results)

    @property
    def window_days(self) -> float:
        return self.scenario.run.horizon_days - self.scenario.run.warmup_days

    @property
    def policies(self) -> dict[str, dict[str, Any]]:
        """Derived policy per SKU as flat JSON-friendly dicts."""
        return {name: p.as_dict() for name, p in self.policies_derived.items()}

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows: one per replication, with its seed and every summary figure."""
        return [
            {"scenario": self.scenario.name, "replication": i, "seed": self.seed,
             **r.kpis}
            for i, r in enumerate(self.results)
        ]

    def summary(self, level: float = 0.95, keys: Sequence[str] = SUMMARY_KEYS
                ) -> dict[str, dict[str, float]]:
        """Mean and confidence interval of each summary figure over replications.

        Intervals of probabilities (fill rates, service levels) are clipped to [0, 1]."""
        return {k: figure_interval(k, (r.kpis[k] for r in self.results), level) for k in keys}

    def details_summary(self, level: float = 0.95) -> dict[str, dict[str, float]]:
        """Mean and confidence interval of each diagnostic figure."""
        keys = self.results[0].details.keys()
        return {k: confidence_interval((r.details[k] for r in self.results), level)
                for k in keys}

    def breakdown_summary(self, by: str, level: float = 0.95
                          ) -> dict[str, dict[str, dict[str, float]]]:
        """Per-SKU (``by="sku"``) or per-segment (``by="segment"``) means and intervals."""
        attr = {"sku": "by_sku", "segment": "by_segment"}[by]
        first: dict[str, dict[str, float]] = getattr(self.results[0], attr)
        return {
            name: {k: confidence_interval((getattr(r, attr)[name][k] for r in self.results),
                                          level)
                   for k in figures}
            for name, figures in first.items()
        }


def run_replications(
    scenario: Scenario, n: int | None = None, seed: int | None = None
) -> ReplicationSet:
    """Run ``n`` independent replications (default ``scenario.run.replications``) from root
    ``seed`` (default ``scenario.run.seed``).  Replication *i* uses child *i* of
    ``SeedSequence(seed)``, so any one of them can be rerun alone."""
    n = scenario.run.replications if n is None else int(n)
    seed = scenario.run.seed if seed is None else int(seed)
    if n < 1:
        raise ValueError(f"replications must be at least 1 (got {n})")
    policies = derive_policies(scenario)
    results = [simulate(scenario, child, policies=policies)
               for child in replication_seeds(seed, n)]
    return ReplicationSet(scenario=scenario, seed=seed, results=results,
                          policies_derived=policies)


__all__ = ["ReplicationSet", "confidence_interval", "figure_interval", "replication_seeds",
           "run_replications"]
