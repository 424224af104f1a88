"""The SimPy model: customers order, the stock point fills or runs out, customers react.

``simulate(scenario, seed)`` runs one replication and returns a :class:`ReplicationResult`.
The model never reads files, prints or plots (STYLE, habit 1).

How an order flows (DOMAIN §2, order-to-cash):

1. A customer of a segment places an order at time *t* (:mod:`.customers`: order arrivals
   per customer are a renewal process; exponential gaps, the default, are simulated as one
   superposed Poisson stream per segment).
2. Stock is allocated at order entry (:mod:`.fulfilment`): each line takes what is on hand.
   A line that cannot be filled completely meets a stockout; the shortfall gets the
   customer's reaction (:mod:`.reactions`, DOMAIN §2): ``wait`` (come back after a patience
   delay and try again, up to ``max_waits`` times, then give up: lost), ``backorder`` (the
   line stays open and ships when stock arrives, first come first served, as an extra
   shipment, expedited if enabled), ``switch`` (lost sale) or ``defect`` (lost sale, and
   the customer never orders again).  The chance of defecting rises by
   ``defect_increase_per_stockout`` with every stockout the customer has met before; the
   other reactions shrink in proportion.
3. The order is processed (FCFS with ``servers`` servers, or no queue when unlimited), then
   what was allocated ships as one shipment; delivery = departure + transit time.
4. The order closes when every line is delivered or lost.  Its cycle time is last delivery
   − order time; it is on time when that is within the segment's promise; it is perfect when
   also complete (nothing lost), undamaged and correctly documented (DOMAIN §3).
5. A segment with ``returns`` sends some delivered units back (:mod:`.returns`, DOMAIN
   §10): refunded, then restocked or scrapped after processing.

Replenishment (:mod:`.stock`, DOMAIN §5): continuous review (sQ, sS, base-stock) checks the
inventory position (on hand − backorders + on order) after every demand that reduces it;
periodic review (RS) orders up to S every R days.  Lead times are drawn per purchase order
(orders may cross).  Lost demand (switch, defect, a wait that gives up) never reaches the
inventory position.  With ``policy.replan`` the parameters are derived again every period
from recent demand and rule from then on (:mod:`.replan`, DOMAIN §8).  With
``disruptions`` (supplier outages, lane closures, demand surges, capacity losses) the events
are drawn at build time and act through hooks bound only then (:mod:`.disruptions`,
DOMAIN §11); the result then carries the events, their recovery and the demand per day.

Measurement (DOMAIN §6): time averages and event counts cover ``[warmup_days, horizon_days]``
(accumulators reset at the warm-up); revenue counts units *delivered* in that window; order
figures count orders placed in the window that have closed by the horizon.  Every figure is
computed in :mod:`.accounting`.

Quantities: a line draws its units from the segment's ``units_per_line``, or from the SKU's
own ``units_per_line`` where it has one (its own stream, keyed by the SKU's name; the
segment's draw is still taken, so other SKUs keep their numbers).

Scale: memory is O(state), not O(events): counters and time integrals per SKU and segment,
open backorders and pending events, the customer table (one entry per customer ever active:
it grows with acquisitions, not with orders), a fixed-memory histogram for percentiles; the
event trace only when asked for.  Speed: orders are placed without an event-queue round
trip when nothing else is due first, receipts due first are booked in passing
(:mod:`.clock`), Poisson segments share one arrival process; the figures equal those of the
plain SimPy path.

How the collaborators are wired: :class:`ServiceModel` is composed of mixins split by
concern (clock, replenishment, reactions, fulfilment, customers), each in its own module
with the state it works on.  Mixins rather than separate objects because the order loop
binds the methods it calls (``self._line``, ``self._reorder``, ...) once and reads the
shared counters as attributes of one object: separate collaborator objects would add an
attribute hop to every counter update off the fast path and to each receipt booked in
passing, for no gain in what each module may touch.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import simpy

from .._gc import collector_off, older_objects_frozen
from ..policies.derivation import DerivedPolicy, derive_policies
from ..policies.registry import policy_family
from ..scenario.distributions import Constant
from ..scenario.schema import Scenario
from .accounting import replication_result
from .clock import ClockMixin
from .customers import CustomersMixin, _Segment, build_segment
from .disruptions import DisruptionsMixin
from .failures import FailuresMixin
from .fulfilment import FulfilmentMixin
from .histogram import DayHistogram
from .network import NetworkMixin, build_fallbacks, build_network_stock_points
from .reactions import REACTIONS, ReactionsMixin
from .replan import Replanner
from .results import ReplicationResult
from .returns import ReturnsMixin
from .stock import ReplenishmentMixin, StockPoints, _Stock, build_stock_points
from .streams import stream, uniforms

SeedLike = int | np.random.SeedSequence


class ServiceModel(ClockMixin, ReplenishmentMixin, ReactionsMixin, FulfilmentMixin,
                   CustomersMixin, DisruptionsMixin, FailuresMixin, ReturnsMixin):
    """One replication of a scenario on its own SimPy environment and random streams."""

    _LOOKAHEAD = True
    """Place an order without a queue round trip when no event can come before it."""

    def __init__(
        self,
        scenario: Scenario,
        seed: SeedLike,
        *,
        trace: bool = False,
        policies: dict[str, DerivedPolicy] | None = None,
        daily: bool = False,
    ) -> None:
        with older_objects_frozen():
            self._build(scenario, seed, trace, policies, daily)

    def _build(self, scenario: Scenario, seed: SeedLike, trace: bool,
               policies: dict[str, DerivedPolicy] | None, daily: bool = False) -> None:
        sc = scenario
        if sc.locations is not None and not isinstance(self, NetworkMixin):
            # the single-location model would buy every location's stock from the supplier
            raise TypeError("a scenario with locations runs on NetworkModel (simulate() "
                            "chooses the model class)")
        self.scenario = sc
        self.root = seed if isinstance(seed, np.random.SeedSequence) \
            else np.random.SeedSequence(int(seed))
        self.env = simpy.Environment()
        self.trace: list[tuple[float, str, dict[str, Any]]] | None = [] if trace else None
        self.warmup = float(sc.run.warmup_days)
        self.horizon = float(sc.run.horizon_days)
        self.days_per_year = sc.finance.days_per_year
        self.network = sc.locations is not None
        self.policies = policies if policies is not None else derive_policies(sc)
        if self.network:
            self.stock_points: StockPoints = build_network_stock_points(sc, self.policies,
                                                                        self.root)
        else:
            self.stock_points = build_stock_points(sc, self.policies, self.root)
        self.stocks: list[_Stock] = list(self.stock_points)
        self._build_services(sc)
        self.segments: list[_Segment] = []
        margins = np.array([s.price - s.unit_cost for s in sc.skus.values()])
        top = min(spec.priority for spec in sc.segments.values())
        for j, (name, spec) in enumerate(sc.segments.items()):
            seg = build_segment(sc, self.root, j, name, spec, self.stock_points, margins)
            # rationing: lower-priority segments cannot take stock at or below the critical
            # level of a SKU (which is 0, no rationing, unless the policy sets one)
            seg.rationed = spec.priority > top and any(
                st is not None and st.critical for st in seg.stocks)
            self.segments.append(seg)
        # late, damaged, documented orders drive defection in some segment (DOMAIN §9)
        self.failures_on = any(seg.failures is not None for seg in self.segments)
        self.lateral_open = {}
        self._build_returns(sc)  # returns and reverse logistics (DOMAIN §10), when on
        if self.network and any(spec.fallback for spec in sc.segments.values()):
            self._bind_lateral_supply(sc)
        # window counters (reset at warm-up)
        self.hist = DayHistogram()  # cycle times of the window's orders
        # whole-run totals (never reset) for unit conservation
        # (units demanded and shipped at once are the window's plus those before it, kept
        # by _reset_window; ``tot_shipped_extra`` counts the extra shipments)
        self.tot_units_before = self.tot_first_before = 0
        self.tot_shipped_extra = self.tot_lost = self.tot_waiting = 0
        replan = sc.policy.replan
        self.replanner = None if replan is None or self.network else \
            Replanner(sc, replan, self.policies, self.stocks, self.segments)
        self._reset_window()
        self.delivered_outside = [0] * len(self.stocks)  # scratch: deliveries out of window
        self.bo_wait_sum = 0.0
        self._build_disruptions(sc, daily)  # DOMAIN §11; nothing bound without disruptions

    def _bind_lateral_supply(self, sc: Scenario) -> None:
        """Lateral supply (segments' ``fallback``, DOMAIN §7): the fallbacks, and the
        stockout and short-order handlers that use them bound in place of the plain ones,
        so that a run without a fallback pays nothing for it per line."""
        self.fallbacks = build_fallbacks(sc, self.root, self.stock_points)
        self._stockout = self._stockout_lateral  # type: ignore[method-assign]
        self._place_short = self._place_short_lateral  # type: ignore[method-assign]

    def _build_services(self, sc: Scenario) -> None:
        """Order processing, outbound transport, quality and stockout costs."""
        root = self.root
        op = sc.order_processing
        self.proc_time = op.time_days.sampler(stream(root, "processing"))
        self.proc_zero = isinstance(op.time_days, Constant) and op.time_days.value == 0
        self.servers: list[float] | None = [0.0] * op.servers if op.servers else None
        self.proc_cost = op.cost_per_order
        ob = sc.outbound
        self.transit = ob.transit_days.sampler(stream(root, "transit"))
        self.ship_cost, self.ship_unit_cost = ob.cost_per_shipment, ob.cost_per_unit
        ex = ob.expedite
        self.expedite = ex.enabled
        self.exp_transit = ex.transit_days.sampler(stream(root, "expedite"))
        self.exp_cost, self.exp_unit_cost = ex.cost_per_shipment, ex.cost_per_unit
        q = sc.quality
        self.p_damage, self.p_doc = q.damage_probability, q.documentation_error_probability
        self.quality_checks = self.p_damage > 0.0 or self.p_doc > 0.0
        self.quality_u = uniforms(stream(root, "quality"))
        self.recovery_cost = q.recovery_cost_per_failed_order
        so = sc.stockout_costs
        self.bo_cost_unit = so.backorder_cost_per_unit
        self.bo_cost_day = so.backorder_cost_per_unit_per_day
        self.bo_cost_order = so.backorder_cost_per_order
        self.penalty = so.lost_sale_penalty_per_unit

    def _reset_window(self) -> None:
        """Start the measured window (at the warm-up): zero the window's counters, keeping
        the whole-run totals of units demanded and shipped at once."""
        remaining = self.horizon - self.env.now
        if self.replanner is not None:
            self.replanner.carry()
        for st in self.stocks:
            st.reset(remaining)
        for seg in self.segments:
            self.tot_units_before += seg.units
            self.tot_first_before += seg.units_first
            seg.reset()
        self.hist.clear()
        self.po_cost = self.inbound_cost = 0.0
        self.proc_n = self.proc_waited = 0
        self.proc_wait_sum = self.proc_sojourn_sum = self.proc_busy = 0.0
        self.short_by_reaction = dict.fromkeys(REACTIONS, 0.0)
        self.lateral_cost = 0.0

    def _warmup_reset(self) -> Any:
        yield self.env.timeout(self.warmup)
        self._reset_window()

    def _log(self, now: float, kind: str, **info: Any) -> None:
        assert self.trace is not None
        self.trace.append((now, kind, info))

    def run(self) -> ReplicationResult:
        """Start every process, run to the horizon and compute the figures."""
        env = self.env
        # the Poisson segments, of every location, share one arrival process (separate
        # processes would stop each other's look-ahead with their pending timeouts)
        poisson = [seg for seg in self.segments if seg.poisson and self._LOOKAHEAD
                   and seg.index not in self.surges]
        merged = [poisson] if len(poisson) > 1 else []
        for group in merged:
            env.process(self._merged_arrivals(group))
        for seg in self.segments:
            if seg.index in self.surges:  # a demand surge (model.disruptions)
                env.process(self._surged_arrivals(seg) if seg.poisson
                            else self._surged_renewal_arrivals(seg))
            elif not any(seg in group for group in merged):
                env.process(self._arrivals(seg))
            if seg.spec.acquisition.customers_per_year > 0:
                env.process(self._acquisitions(seg))
        for st in self.stocks:
            pol = self.policies[st.policy_key]
            family = policy_family(pol.type)
            if family.periodic:
                assert pol.review_period_days is not None
                order = functools.partial(family.order_quantity, pol) \
                    if self.replanner is None else self.replanner.order_function(st)
                env.process(self._review(st, pol.review_period_days, pol.first_review_day,
                                         order))
        if self.warmup > 0:
            env.process(self._warmup_reset())
        if self.replanner is not None:
            env.process(self.replanner.process(env, self.horizon))
        with collector_off():
            env.run(until=self.horizon)
            result = replication_result(self)
        if self.replanner is not None:
            result.policy_history = self.replanner.finish()
        self._finish_disruptions(result)
        return result


class NetworkModel(NetworkMixin, ServiceModel):
    """A replication of a scenario with ``locations`` (DOMAIN §7; :mod:`.network`)."""


def simulate(
    scenario: Scenario,
    seed: SeedLike | None = None,
    *,
    trace: bool = False,
    policies: dict[str, DerivedPolicy] | None = None,
    daily: bool = False,
) -> ReplicationResult:
    """Run one replication of ``scenario``; reproducible from (scenario, seed).

    ``seed`` is an int or a ``numpy.random.SeedSequence`` (default: ``scenario.run.seed``).
    With ``trace=True`` the result carries the event trace ``(time, kind, info)``.  With
    ``daily=True`` (or when the scenario has ``disruptions``) it carries the demand and
    shortfall per day (``result.daily``; DOMAIN §11).
    """
    if seed is None:
        seed = scenario.run.seed
    model = NetworkModel if scenario.locations is not None else ServiceModel
    return model(scenario, seed, trace=trace, policies=policies, daily=daily).run()


__all__ = ["DayHistogram", "NetworkModel", "ReplicationResult", "ServiceModel", "simulate"]
