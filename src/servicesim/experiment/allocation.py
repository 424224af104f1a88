"""Allocating service across items by marginal analysis (DOMAIN §12).

Every item (a SKU, a class of SKUs, a stock point of a network) has a short list of
candidate steps (its service targets, or its base-stock levels), and at each step an
investment (average inventory value) and a value (units filled at once, or a profit
contribution).  These functions choose one step per item:

- :func:`upper_hull`: the steps on an item's upper concave envelope of value against
  investment.  Simulated curves are noisy and so not quite concave; marginal analysis is
  exact at its breakpoints only on concave curves (Fox 1966), and the envelope's steps are
  the ones a Lagrangian (a price per unit of investment) can choose at all (Everett 1963).
- :func:`frontier_path`: the efficient frontier as marginal analysis traces it without a
  budget: from every item's cheapest envelope step, one item raised at a time by the
  envelope segment of the best gain per unit of added investment.  A :class:`Path` keeps
  the moves, not an allocation per point, so that 1,000 items × 20 steps stay small.
- :func:`marginal_analysis`: the best value within a budget: the path's moves that fit
  taken in order (a move that does not fit is skipped, with that item's later moves), then
  single raw steps that still fit, best ratio first.  Between breakpoints the integer
  problem is a knapsack, so this can miss the optimum by a little (DOMAIN §12).
- :func:`best_per_item`: without a budget, separable values are maximised item by item.
- :func:`where_today_sits`: today's point against the frontier ("you are here").
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Path", "best_per_item", "fits", "frontier_path", "marginal_analysis", "upper_hull",
           "where_today_sits"]


def fits(spent: float, budget: float) -> bool:
    """Whether ``spent`` is within ``budget``, allowing for the rounding of sums of money
    (a part in 10^9): an investment summed in another order must not fall out of it."""
    return spent <= budget + 1e-9 * max(1.0, abs(budget))


def upper_hull(investment: Sequence[float], value: Sequence[float]) -> list[int]:
    """The steps on the upper concave envelope of (investment, value), from the step of
    least investment (the most valuable of equals) to the most valuable step; each next
    step adds investment at a lower gain per unit than the one before.  NaN steps are left
    out."""
    order = sorted((i for i in range(len(investment))
                    if not (math.isnan(investment[i]) or math.isnan(value[i]))),
                   key=lambda i: (investment[i], -value[i]))
    hull: list[int] = []
    for i in order:
        if hull and investment[i] == investment[hull[-1]]:
            continue  # the same investment for less value (sorted by value within ties)
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # b lies on or below the chord from a to i: not a vertex of the envelope
            cross = (investment[b] - investment[a]) * (value[i] - value[a]) \
                - (value[b] - value[a]) * (investment[i] - investment[a])
            if cross >= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    if not hull:
        return []
    top = max(range(len(hull)), key=lambda k: (value[hull[k]], -k))
    return hull[:top + 1]


@dataclass(frozen=True)
class Path:
    """An efficient frontier traced by marginal analysis: the starting steps and the moves
    (item, its new step) in order; point *k* is the allocation after the first *k* moves."""

    items: tuple[str, ...]
    start: dict[str, int]
    moves: list[tuple[str, int]]
    investment: np.ndarray
    """Total investment at each point (``len(moves) + 1`` of them)."""
    value: np.ndarray
    """Total value at each point."""
    _cache: dict[int, dict[str, int]] = field(default_factory=dict, repr=False,
                                              compare=False)

    def __len__(self) -> int:
        return len(self.moves) + 1

    def allocation(self, point: int) -> dict[str, int]:
        """Every item's step at ``point`` (0: the start)."""
        if not 0 <= point < len(self):
            raise IndexError(f"point {point} is not on a path of {len(self)} points")
        steps = dict(self.start)
        for item, step in self.moves[:point]:
            steps[item] = step
        return steps

    def allocations(self, points: Sequence[int]) -> list[dict[str, int]]:
        """:meth:`allocation` of several points, in one pass over the moves."""
        wanted = sorted(set(points))
        steps, out, done = dict(self.start), {}, 0
        for point in wanted:
            if not 0 <= point < len(self):
                raise IndexError(f"point {point} is not on a path of {len(self)} points")
            for item, step in self.moves[done:point]:
                steps[item] = step
            done = point
            out[point] = dict(steps)
        return [out[p] for p in points]

    def totals(self, figure: Mapping[str, np.ndarray]) -> np.ndarray:
        """The sum over items of a per-step figure (item → array over steps, any trailing
        shape such as replications) at every point: one row per point."""
        first = next(iter(figure.values()))
        total = np.zeros((len(self),) + first.shape[1:])
        current = sum((figure[item][self.start[item]] for item in self.items),
                      np.zeros(first.shape[1:]))
        total[0] = current
        steps = dict(self.start)
        for k, (item, step) in enumerate(self.moves, start=1):
            current = current + figure[item][step] - figure[item][steps[item]]
            steps[item] = step
            total[k] = current
        return total


def _segments(investment: Mapping[str, Sequence[float]], value: Mapping[str, Sequence[float]]
              ) -> tuple[dict[str, int], list[tuple[float, int, str, int, float, float]]]:
    """Every item's envelope start and its envelope segments as (−gain per investment,
    order, item, step reached, added investment, added value)."""
    start: dict[str, int] = {}
    segments: list[tuple[float, int, str, int, float, float]] = []
    for n, item in enumerate(value):
        x, y = investment[item], value[item]
        hull = upper_hull(x, y)
        if not hull:
            raise ValueError(f"item {item} has no step with a defined value and investment")
        start[item] = hull[0]
        for a, b in zip(hull, hull[1:], strict=False):
            dx, dy = x[b] - x[a], y[b] - y[a]
            if dy <= 0:
                break
            ratio = dy / dx if dx > 0 else math.inf
            segments.append((-ratio, n, item, b, dx, dy))
    return start, segments


def frontier_path(value: Mapping[str, Sequence[float]],
                  investment: Mapping[str, Sequence[float]]) -> Path:
    """The efficient frontier of total ``value`` against total ``investment`` (DOMAIN §12),
    as marginal analysis traces it over the items' concave envelopes: every item's envelope
    segments merged by gain per unit of investment, best first (each item's own segments
    are already in that order, so the merge is the greedy order).  Exact at every point for
    concave curves."""
    start, segments = _segments(investment, value)
    segments.sort()
    x0 = math.fsum(investment[item][start[item]] for item in value)
    y0 = math.fsum(value[item][start[item]] for item in value)
    xs = np.concatenate([[x0], x0 + np.cumsum([s[4] for s in segments])])
    ys = np.concatenate([[y0], y0 + np.cumsum([s[5] for s in segments])])
    return Path(tuple(value), start, [(s[2], s[3]) for s in segments], xs, ys)


def marginal_analysis(value: Mapping[str, Sequence[float]],
                      investment: Mapping[str, Sequence[float]],
                      budget: float) -> dict[str, int]:
    """The steps of most total ``value`` with total ``investment`` at most ``budget``, by
    marginal analysis (DOMAIN §12): envelope segments best gain per investment first, one
    that does not fit skipped (with the item's later ones); then single steps that still
    fit, best gain per investment first.  Exact at the frontier's breakpoints."""
    start, segments = _segments(investment, value)
    steps = dict(start)
    spent = math.fsum(investment[item][steps[item]] for item in value)
    if not fits(spent, budget):
        raise ValueError(f"the budget {budget:g} is below the least investment {spent:g}")
    blocked: set[str] = set()
    for _, _, item, step, dx, _ in sorted(segments):
        if item in blocked:
            continue
        if not fits(spent + dx, budget):
            blocked.add(item)
            continue
        spent += dx
        steps[item] = step
    return _fill_in(value, investment, steps, budget - spent, budget)


def _fill_in(value: Mapping[str, Sequence[float]], investment: Mapping[str, Sequence[float]],
             steps: dict[str, int], left: float, budget: float) -> dict[str, int]:
    """Raise single items to any step of more value that still fits in ``left``, best gain
    per added investment first, until none fits."""
    heap: list[tuple[float, int, str, int]] = []

    def offer(n: int, item: str) -> None:
        x, y, j = investment[item], value[item], steps[item]
        best: tuple[float, int, str, int] | None = None
        for k in range(len(y)):
            dx, dy = x[k] - x[j], y[k] - y[j]
            if dy > 0 and fits(budget - left + dx, budget) and not math.isnan(dx):
                ratio = dy / dx if dx > 0 else math.inf
                if best is None or -ratio < best[0]:
                    best = (-ratio, n, item, k)
        if best is not None:
            heapq.heappush(heap, best)

    names = list(value)
    for n, item in enumerate(names):
        offer(n, item)
    while heap:
        _, n, item, k = heapq.heappop(heap)
        dx = investment[item][k] - investment[item][steps[item]]
        if not fits(budget - left + dx, budget) or value[item][k] <= value[item][steps[item]]:
            offer(n, item)  # stale: the budget left shrank since it was offered
            continue
        left -= dx
        steps[item] = k
        offer(n, item)
    return steps


def best_per_item(value: Mapping[str, Sequence[float]]) -> dict[str, int]:
    """Without a budget, a separable value is maximised item by item: each item's step of
    most value (the first of equals; NaN steps never)."""
    return {item: max((j for j in range(len(v)) if not math.isnan(v[j])),
                      key=lambda j: (v[j], -j))
            for item, v in value.items()}


def where_today_sits(investment: Sequence[float], value: Sequence[float], today_investment:
                     float, today_value: float) -> tuple[float, float]:
    """Today's point against a frontier given as its points' investment and value (both
    increasing along it; DOMAIN §12, "you are here"): (the least investment at which the
    frontier reaches today's value, NaN if it never does; the most value the frontier
    reaches within today's investment, NaN if none of it fits), linear between points."""
    xs, ys = np.asarray(investment, dtype=float), np.asarray(value, dtype=float)
    need = math.nan
    above = np.nonzero(ys >= today_value)[0]
    if above.size:
        k = int(above[0])
        need = float(xs[0]) if k == 0 else float(
            xs[k - 1] + (xs[k] - xs[k - 1]) * (today_value - ys[k - 1]) / (ys[k] - ys[k - 1]))
    reach = math.nan
    within = np.nonzero(xs <= today_investment)[0]
    if within.size:
        k = int(within[-1])
        reach = float(ys[k]) if k + 1 >= len(xs) or xs[k + 1] == xs[k] else float(
            ys[k] + (ys[k + 1] - ys[k]) * (today_investment - xs[k]) / (xs[k + 1] - xs[k]))
    return need, reach
