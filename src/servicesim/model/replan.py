"""Re-planning in a run (DOMAIN §8): every ``policy.replan.every_days`` each SKU's policy is
derived again from recent demand and rules from then on.

One SimPy process per run walks two kinds of instants in time order: the start of each
re-plan's window (``k·every_days − window_days``), where it marks every SKU's cumulative
order lines, units and units short, and the re-plan itself (``k·every_days``, k = 1, 2, ...
while before the horizon), which derives each SKU again from the demand since its mark
(basis ``observed``) or from the customers active then (basis ``customers``) and applies the
new levels (:func:`~servicesim.model.stock.set_levels`): the stock and the purchase orders
open stay; the next demand (continuous review) or review (periodic) uses them.  The counts
are those the order loop keeps anyway (``lines``, ``units_ordered``, ``units_short`` of each
stock point), so a line costs nothing more; the warm-up's reset of those counters is carried
over (:meth:`Replanner.carry`).

Re-plans start from day ``every_days`` of the run, not from the end of the warm-up: the
warm-up then also warms up re-planning, so the measured window starts with parameters
already re-derived from the run's own demand, as it would in a business that has always
re-planned.  A window that would start before day 0 starts at day 0 (it is shorter).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..policies.derivation import DerivedPolicy, SkuDemand, sku_demands
from ..policies.registry import policy_family
from ..policies.replan import PolicyStep, observed_demand, rederive_policy
from ..scenario.schema import Replan, Scenario
from .stock import _Stock, set_levels

if TYPE_CHECKING:
    from .customers import _Segment

_MARK, _REPLAN = 0, 1  # at the same instant, a window's mark comes before a re-plan


class Replanner:
    """The re-planning of one run: the live policy of each SKU, the window marks and the
    record of the parameters over time (:class:`~servicesim.policies.replan.PolicyStep`)."""

    def __init__(self, scenario: Scenario, spec: Replan, policies: dict[str, DerivedPolicy],
                 stocks: list[_Stock], segments: list[_Segment]) -> None:
        self.scenario, self.spec = scenario, spec
        self.stocks, self.segments = stocks, segments
        self.live: dict[str, DerivedPolicy] = dict(policies)
        """The policy ruling each stock point now (by its policy key)."""
        self.specs = scenario.sku_policies()
        self.base = sku_demands(scenario)
        self.carried = [(0, 0, 0)] * len(stocks)  # counts before the warm-up's reset
        self.marks: dict[int, tuple[float, list[tuple[int, int, int]]]] = {}
        self.history: dict[str, list[PolicyStep]] = {
            st.policy_key: [PolicyStep.of(0.0, "initial", policies[st.policy_key])]
            for st in stocks}
        self._top = min(seg.spec.priority for seg in segments)

    def counts(self) -> list[tuple[int, int, int]]:
        """Each stock point's order lines, units and units short since time 0."""
        return [(lines + st.lines, units + st.units_ordered, short + st.units_short)
                for st, (lines, units, short) in zip(self.stocks, self.carried, strict=True)]

    def carry(self) -> None:
        """Before the window counters are reset (the warm-up): keep what they held."""
        self.carried = self.counts()

    def instants(self, horizon: float) -> Iterator[tuple[float, int, int]]:
        """(day, kind, k) of every mark and re-plan before ``horizon``, in time order."""
        every, window = self.spec.every_days, self.spec.window_days
        events = []
        k = 1
        while k * every < horizon:
            events.append((max(0.0, k * every - window), _MARK, k))
            events.append((k * every, _REPLAN, k))
            k += 1
        return iter(sorted(events))

    def process(self, env: Any, horizon: float) -> Iterator[Any]:
        """The SimPy process: marks and re-plans at their instants."""
        for day, kind, k in self.instants(horizon):
            if day > env.now:
                yield env.timeout(day - env.now)
            if kind == _MARK:
                self.marks[k] = (env.now, self.counts())
            else:
                self.replan(env.now, *self.marks.pop(k))

    def replan(self, now: float, since: float, marked: list[tuple[int, int, int]]) -> None:
        """Derive every SKU again from its demand since ``since`` (counts ``marked`` then),
        or from the customers active now, and apply the new levels."""
        demands: dict[str, SkuDemand] | None = None
        if self.spec.basis == "customers":
            active = {seg.name: sum(1 for n in seg.stockouts if n >= 0)
                      for seg in self.segments}
            demands = sku_demands(self.scenario, active)
        counts = self.counts()
        for st, (lines, units, short), (lines0, units0, _) in zip(
                self.stocks, counts, marked, strict=True):
            key = st.policy_key
            seen = lines - lines0
            if demands is not None:
                demand = demands[st.name]
            elif seen >= self.spec.min_lines:
                demand = observed_demand(self.base[st.name], seen, units - units0,
                                         now - since)
            else:
                self._step(st, now, "kept", self.live[key], seen, (lines, units, short))
                continue
            pol = rederive_policy(self.scenario, st.name, self.specs[st.name], demand)
            set_levels(st, pol, self.specs[st.name])
            self.live[key] = pol
            self._step(st, now, self.spec.basis, pol, seen if demands is None else 0,
                       (lines, units, short))
        for seg in self.segments:  # a re-derived critical level may start or end rationing
            seg.rationed = seg.spec.priority > self._top and any(
                st is not None and st.critical for st in seg.stocks)

    def _step(self, st: _Stock, now: float, basis: str, pol: DerivedPolicy, seen: int,
              count: tuple[int, int, int]) -> None:
        """Close the SKU's step before ``now`` and open the next; ``count``: the SKU's
        counts now (:meth:`counts`)."""
        steps = self.history[st.policy_key]
        _close(steps[-1], count)
        step = PolicyStep.of(now, basis, pol, seen)
        step.units_demanded, step.units_short = -count[1], -count[2]  # closed later
        steps.append(step)

    def finish(self) -> dict[str, list[PolicyStep]]:
        """At the horizon: close every SKU's last step; the record of the run."""
        for st, count in zip(self.stocks, self.counts(), strict=True):
            _close(self.history[st.policy_key][-1], count)
        return self.history

    def order_function(self, st: _Stock) -> Callable[[int], int]:
        """A periodic review's order for an inventory position, under the live policy."""
        family = policy_family(self.live[st.policy_key].type)
        return functools.partial(_live_order, family.order_quantity, self.live, st.policy_key)


def _live_order(order: Callable[[DerivedPolicy, int], int], live: dict[str, DerivedPolicy],
                key: str, position: int) -> int:
    """``order`` under the policy ``live[key]`` of the moment."""
    return order(live[key], position)


def _close(step: PolicyStep, count: tuple[int, int, int]) -> None:
    """A step's units demanded and short: the counts now minus those at its start (kept
    negated while the step is open)."""
    step.units_demanded += count[1]
    step.units_short += count[2]
