"""Service per SKU across an assortment (DOMAIN §12): per-SKU curves measured by simulation
under common random numbers, and marginal analysis over them.

The building block of the inventory efficient frontier.  One simulation of the whole
assortment sets every SKU to its *j*-th candidate level at once; every SKU's figures at that
level are read from the run's ``by_sku`` breakdown.  So ``steps`` simulations (× the
replications) give every SKU's curve over ``steps`` levels, instead of ``steps`` per SKU.
This is exact for SKUs that share nothing; customers who buy several SKUs and defect after
stockouts couple them, which a whole-scenario simulation of the chosen allocation must
confirm (DOMAIN §12).

Work in progress: the command, the frontier itself, the confirmation run and the outputs
are not built yet.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..model.simulation import simulate
from ..policies.derivation import derive_policies
from ..scenario.overrides import with_overrides
from ..scenario.schema import Scenario
from .seeds import replication_seeds


@dataclass(frozen=True)
class SkuCurves:
    """Every SKU's figures at each of its candidate levels, means over replications run on
    the same seeds at every step (common random numbers)."""

    levels: dict[str, list[int]]
    """SKU → its candidate levels, one per step, in step order."""
    figures: dict[str, list[dict[str, float]]]
    """SKU → one ``by_sku`` row (means over the replications) per step."""
    simulations: int

    def curve(self, sku: str, figure: str) -> list[float]:
        """One figure of one SKU over its levels."""
        return [row[figure] for row in self.figures[sku]]


def sku_curves(scenario: Scenario, levels: Mapping[str, Sequence[int]], replications: int,
               seed: int, key: Callable[[str], str] = lambda sku:
               f"skus.{sku}.policy.order_up_to") -> SkuCurves:
    """Simulate ``scenario`` once per step (× ``replications``), step *j* setting every
    SKU's ``key(sku)`` to ``levels[sku][j]``; every list of levels has the same length."""
    steps = {len(v) for v in levels.values()}
    if len(steps) != 1:
        raise ValueError("every SKU needs the same number of candidate levels")
    (n_steps,) = steps
    seeds = replication_seeds(seed, replications)
    figures: dict[str, list[dict[str, float]]] = {sku: [] for sku in levels}
    for j in range(n_steps):
        stepped = with_overrides(scenario, [f"{key(sku)}={int(v[j])}"
                                            for sku, v in levels.items()])
        policies = derive_policies(stepped)
        results = [simulate(stepped, child, policies=policies) for child in seeds]
        for sku in levels:
            rows = [r.by_sku[sku] for r in results]
            figures[sku].append({name: math.fsum(row[name] for row in rows) / len(rows)
                                 for name in rows[0]})
    return SkuCurves({sku: [int(x) for x in v] for sku, v in levels.items()}, figures,
                     n_steps * replications)


def best_per_sku(costs: Mapping[str, Sequence[float]]) -> dict[str, int]:
    """Without a budget, separable costs are minimised SKU by SKU: each SKU's step of
    least cost (the first of equals)."""
    return {sku: min(range(len(c)), key=c.__getitem__) for sku, c in costs.items()}


def marginal_analysis(value: Mapping[str, Sequence[float]],
                      investment: Mapping[str, Sequence[float]],
                      budget: float) -> dict[str, int]:
    """Greedy marginal analysis (Fox 1966; DOMAIN §12): from every SKU's first step, raise
    the SKU whose next step adds the most ``value`` per unit of added ``investment``, while
    the total investment stays within ``budget``; a step that does not fit is skipped and
    the next best tried.  Exact at its own breakpoints for concave value in investment."""
    step = {sku: 0 for sku in value}
    spent = math.fsum(investment[sku][0] for sku in value)
    while True:
        best, best_ratio = None, -math.inf
        for sku, j in step.items():
            if j + 1 >= len(value[sku]):
                continue
            gain = value[sku][j + 1] - value[sku][j]
            cost = investment[sku][j + 1] - investment[sku][j]
            if spent + cost > budget or gain <= 0:
                continue
            ratio = gain / cost if cost > 0 else math.inf
            if ratio > best_ratio:
                best, best_ratio = sku, ratio
        if best is None:
            return step
        j = step[best]
        spent += investment[best][j + 1] - investment[best][j]
        step[best] = j + 1


@dataclass(frozen=True)
class FrontierPoint:
    """One breakpoint of the efficient frontier: the levels' steps, their total investment
    and total value."""

    investment: float
    value: float
    steps: dict[str, int]


def frontier_path(value: Mapping[str, Sequence[float]],
                  investment: Mapping[str, Sequence[float]]) -> list[FrontierPoint]:
    """The efficient frontier as marginal analysis traces it without a budget (DOMAIN §12):
    from every SKU's first step, one point after each raise of the SKU with the best gain
    per unit of added investment; exact at these breakpoints for concave value."""
    step = {sku: 0 for sku in value}
    spent = math.fsum(investment[sku][0] for sku in value)
    total = math.fsum(value[sku][0] for sku in value)
    path = [FrontierPoint(spent, total, dict(step))]
    while True:
        best, best_ratio = None, -math.inf
        for sku, j in step.items():
            if j + 1 >= len(value[sku]):
                continue
            gain = value[sku][j + 1] - value[sku][j]
            cost = investment[sku][j + 1] - investment[sku][j]
            if gain <= 0:
                continue
            ratio = gain / cost if cost > 0 else math.inf
            if ratio > best_ratio:
                best, best_ratio = sku, ratio
        if best is None:
            return path
        j = step[best]
        spent += investment[best][j + 1] - investment[best][j]
        total += value[best][j + 1] - value[best][j]
        step[best] = j + 1
        path.append(FrontierPoint(spent, total, dict(step)))


def where_today_sits(path: Sequence[FrontierPoint], investment: float,
                     value: float) -> tuple[float, float]:
    """Today's point against the frontier: (the investment the frontier needs for today's
    value, the value the frontier reaches with today's investment); the differences to
    today's are the money and the service today leaves on the table."""
    need = next((p.investment for p in path if p.value >= value), math.inf)
    reach = max((p.value for p in path if p.investment <= investment), default=-math.inf)
    return need, reach
