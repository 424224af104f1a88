"""Replications: independent runs of one scenario, and their means with confidence intervals.

``run_replications(scenario, n, seed)`` spawns ``n`` child seeds from
``numpy.random.SeedSequence(seed)`` (STYLE habit 4), runs
:func:`servicesim.model.simulation.simulate`
on each, and keeps every replication's figures (tidy rows); summaries are derived from them,
never stored instead of them (STYLE habit 6).  Confidence intervals are Student-t intervals
over replications (DOMAIN §6).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..kpis import SUMMARY_KEYS
from ..model.simulation import ReplicationResult, simulate
from ..policies.derivation import DerivedPolicy, derive_policies
from ..scenario.schema import Scenario
from .engine import location_cells
from .seeds import replication_seeds
from .statistics import confidence_interval, figure_interval


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
        """Tidy rows: one per replication, with its seed and every summary figure (a
        network's per location too, ``<location>.<figure>``)."""
        return [
            {"scenario": self.scenario.name, "replication": i, "seed": self.seed,
             **r.kpis, **location_cells(r)}
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
        """Per-SKU (``by="sku"``), per-segment (``by="segment"``) or, in a network, per-location
        (``by="location"``: probabilities clipped to [0, 1]) means and intervals."""
        attr = {"sku": "by_sku", "segment": "by_segment", "location": "by_location"}[by]
        first: dict[str, dict[str, float]] = getattr(self.results[0], attr)
        if by == "location":
            return {name: {k: figure_interval(f"{name}.{k}", (r.by_location[name][k]
                                                              for r in self.results), level)
                           for k in figures}
                    for name, figures in first.items()}
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
