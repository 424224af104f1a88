"""Customers: segments, their arrivals, acquisitions and defections (DOMAIN §2, CRM).

Order arrivals per customer are a renewal process.  Exponential gaps (the default) are
simulated as one superposed Poisson stream per segment, and the Poisson segments of a run
share one merged arrival process (:meth:`CustomersMixin._merged_arrivals`), the model's hot
loop.  Other segments keep a heap of their customers' next orders; acquired customers of
those segments order on their own clocks.
"""

from __future__ import annotations

import functools
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from ..scenario.distributions import (
    Exponential,
    Sampler,
    as_draws,
    block_sizes,
    integer_moments,
    integer_sampler,
)
from ..scenario.schema import Scenario, Segment
from .clock import Wakeup, event_queue
from .failures import STOCKOUT, Failures, build_failures
from .reactions import shares
from .stock import MAIN, StockPoints, _Stock
from .streams import PerSku, stream, uniforms

if TYPE_CHECKING:
    from .fulfilment import _Order

_UNIT_EXPONENTIAL = Exponential.model_validate({"type": "exponential", "mean": 1.0})
FOLD_EVERY = 4096
"""Cycle times of clean orders buffered per segment before they are folded in."""


@dataclass(slots=True, init=False, repr=False, eq=False)
class _Segment:
    """One customer segment: its customers, samplers and window counters."""

    index: int
    name: str
    spec: Segment
    location: str  # the location that serves the segment (DOMAIN §7)
    stocks: list[_Stock]  # that location's stock points, indexed by SKU position
    n_customers: int
    active: list[int]  # active customers (Poisson segments: swap-remove on defection)
    pos: list[int]  # position of each customer in ``active``
    stockouts: list[int]  # stockouts met per customer; -1 marks a defected customer
    poisson: bool
    rationed: bool
    interval: Sampler
    mean_interval: float
    pick: Sampler
    lines: Callable[[], int]
    sku: Callable[[], int]
    qty: Callable[[], int]
    per_order: bool  # one reaction per order for all its short lines (reaction_per)
    patience: PerSku  # patience delays, a stream per SKU (indexed by SKU position)
    cum_other: tuple[tuple[str, float], ...]  # see reactions.shares
    last_other: str
    defect: float
    defect_step: float
    max_waits: int
    promise: float
    promise_tol: float  # the promise and a tolerance of 1e-9 day (on time: ct <= this)
    ship_cost: float  # outbound cost per shipment and per unit (for ``out_cost``)
    ship_unit_cost: float
    clv: float
    wom_debt: float
    acq_u: Sampler
    wake: simpy.Event | None
    merged_out: bool  # left the merged arrival process (no customers): acquisitions revive
    heap: list[tuple[float, int]]
    delivered: list[int]  # units delivered in the window per SKU (never reset)
    # window counters (orders, complete orders, closed orders and cycle times are derived
    # from ``clean``: the orders whose lines all shipped at once, see the properties)
    clean: int
    short_orders: int
    lines_n: int
    lines_short: int
    units: int
    units_short: int
    lost_units: int
    defections: int
    lost_clv: float
    acquired: int
    acq_cost: float
    closed_slow: int  # closed orders with a short line (the others: ``clean``)
    incomplete: int
    on_time_clean: int  # on-time orders among the clean ones
    on_time_failed: int  # ... of which damaged or with a document error
    on_time_slow: int  # on-time orders among those with a short line
    perfect_slow: int
    damaged: int
    doc_errors: int
    failed: int
    shipped_short: int  # orders with a short line that shipped something at once
    ct_sum: float
    ct_sq: float
    cts: list[float]  # cycle times of clean orders not yet folded in (FulfilmentMixin._fold)
    ct_n_slow: int
    out_cost_extra: float  # outbound cost of backorder and retry shipments
    bo_cost: float
    bo_days: float
    penalty_cost: float
    failures: Failures | None  # failure weights (DOMAIN §9); None: none set
    defected_by: list[int]  # defections of the window by cause (failures.CAUSES order)

    def reset(self) -> None:
        self.clean = self.short_orders = self.lines_n = self.lines_short = 0
        self.units = self.units_short = self.lost_units = self.defections = 0
        self.lost_clv = self.acq_cost = 0.0
        self.acquired = self.closed_slow = self.incomplete = 0
        self.on_time_clean = self.on_time_failed = self.on_time_slow = self.perfect_slow = 0
        self.damaged = self.doc_errors = self.failed = self.shipped_short = 0
        self.ct_sum = self.ct_sq = 0.0
        self.cts = []
        self.ct_n_slow = 0
        self.out_cost_extra = self.bo_cost = self.bo_days = self.penalty_cost = 0.0
        self.defected_by = [0, 0, 0, 0]

    @property
    def orders(self) -> int:
        """Orders placed in the window."""
        return self.clean + self.short_orders

    @property
    def orders_full(self) -> int:
        """Orders whose lines all shipped complete at once."""
        return self.clean

    @property
    def lines_full(self) -> int:
        """Lines filled completely at the first attempt."""
        return self.lines_n - self.lines_short

    @property
    def units_first(self) -> int:
        """Units shipped at the first attempt."""
        return self.units - self.units_short

    @property
    def closed(self) -> int:
        """Orders of the window closed by now."""
        return self.clean + self.closed_slow

    @property
    def ct_n(self) -> int:
        """Closed orders of the window with a delivery (those with a cycle time)."""
        return self.clean + self.ct_n_slow

    @property
    def on_time(self) -> int:
        """Closed orders of the window delivered within the promise."""
        return self.on_time_clean + self.on_time_slow

    @property
    def perfect(self) -> int:
        """Closed orders of the window on time, complete, undamaged, correctly documented."""
        return self.on_time_clean - self.on_time_failed + self.perfect_slow

    @property
    def out_cost(self) -> float:
        """Outbound transport cost: one shipment per order that shipped at once, its
        units, and the extra shipments of backorders and retries."""
        shipments = self.clean + self.shipped_short
        return self.ship_cost * shipments + self.ship_unit_cost * self.units_first \
            + self.out_cost_extra


# --------------------------------------------------------------------------- construction


def build_segment(sc: Scenario, root: np.random.SeedSequence, j: int, name: str,
                  spec: Segment, points: StockPoints, margins: np.ndarray) -> _Segment:
    """Segment ``name``: its customers, its streams and its reaction mix, served from
    :data:`~servicesim.model.stock.MAIN`; ``margins`` are the SKUs' unit margins."""
    seg = _Segment()
    seg.index, seg.name, seg.spec = j, name, spec
    seg.location = spec.location or MAIN
    seg.stocks = points.at(seg.location)
    n = spec.customers
    seg.n_customers = n
    seg.active = list(range(n))
    seg.pos = list(range(n))
    seg.stockouts = [0] * n
    seg.poisson = isinstance(spec.order_interval_days, Exponential)
    seg.mean_interval = spec.order_interval_days.mean
    arr_rng = stream(root, "arrivals", name)
    if seg.poisson:
        seg.interval = _UNIT_EXPONENTIAL.sampler(arr_rng)
    else:
        seg.interval = spec.order_interval_days.sampler(arr_rng)
    seg.pick = uniforms(stream(root, "customer", name))
    seg.lines = integer_sampler(spec.lines_per_order, stream(root, "lines", name))
    # the SKUs in the order of their names: a line's SKU and the customer value do not
    # depend on the order in which the scenario lists the SKUs (DOMAIN §2)
    by_name = np.array(sorted(range(len(sc.skus)), key=list(sc.skus).__getitem__),
                       dtype=np.int64)
    weights = np.asarray(sc.sku_weights(name), dtype=float)[by_name]
    probs = weights / weights.sum()
    seg.sku = _sku_picker(probs, by_name, root, name)
    seg.qty = integer_sampler(spec.units_per_line, stream(root, "quantity", name))
    # a waiting line's patience comes from a stream per SKU (the reactions too, see
    # _Stock.react_u), so it does not shift when another SKU's stockouts change
    seg.per_order = spec.reaction_per == "order"
    seg.patience = PerSku(root, "patience", name, list(sc.skus),
                          functools.partial(_patience_sampler, spec.patience_days))
    seg.defect, seg.cum_other, seg.last_other = shares(spec.reactions)
    seg.defect_step = spec.defect_increase_per_stockout
    seg.max_waits = spec.max_waits
    seg.promise = spec.promised_cycle_time_days
    seg.promise_tol = seg.promise + 1e-9
    ob = sc.outbound
    seg.ship_cost, seg.ship_unit_cost = ob.cost_per_shipment, ob.cost_per_unit
    seg.clv = _customer_value(sc, spec, probs, margins[by_name], by_name, seg.mean_interval)
    seg.wom_debt = 0.0
    # units delivered in the window, per SKU (checked per delivery: never reset)
    seg.delivered = [0] * len(sc.skus)
    seg.acq_u = uniforms(stream(root, "acquisition", name))
    seg.wake = None
    seg.merged_out = False
    seg.heap = []
    seg.failures = build_failures(spec, root, name)
    seg.reset()
    return seg


def _patience_sampler(dist: Any, rng: np.random.Generator) -> Sampler:
    """Patience delays of a SKU's waiting lines: a few per SKU, so in small blocks."""
    return dist.sampler(rng, first=4)  # type: ignore[no-any-return]


def _sku_picker(probs: np.ndarray, by_name: np.ndarray, root: np.random.SeedSequence,
                name: str) -> Callable[[], int]:
    """SKU positions drawn by inverse transform on the cumulative weights, in blocks;
    ``probs`` are the weights of the SKUs in the order of their names, ``by_name`` their
    positions in the scenario."""
    if np.count_nonzero(probs) == 1:
        return itertools.repeat(int(by_name[np.flatnonzero(probs)[0]])).__next__
    cum = np.cumsum(probs)
    cum[-1] = 1.0
    sku_rng = stream(root, "sku", name)
    blocks = (as_draws(by_name[np.searchsorted(cum, sku_rng.random(size), "right")])
              for size in block_sizes())
    return itertools.chain.from_iterable(blocks).__next__


def _customer_value(sc: Scenario, spec: Segment, probs: np.ndarray, margins: np.ndarray,
                    by_name: np.ndarray, mean_interval: float) -> float:
    """Customer lifetime value lost per defection, CLV = m·r / (1 + i − r) (DOMAIN §4,
    Gupta & Lehmann), m the annual margin of a customer's expected orders; ``probs`` and
    ``margins`` are over the SKUs in the order of their names, ``by_name`` their positions."""
    mean_lines = integer_moments(spec.lines_per_order, 1)[0]
    seg_qty = integer_moments(spec.units_per_line, 1)[0]
    skus = list(sc.skus.values())
    mean_qty = np.array([seg_qty if skus[i].units_per_line is None
                         else integer_moments(skus[i].units_per_line, 1)[0]
                         for i in by_name.tolist()])
    line_margin = float(np.dot(probs, mean_qty * margins))  # margin of a line
    annual_margin = sc.finance.days_per_year / mean_interval * mean_lines * line_margin
    ret, disc = spec.retention_rate_per_year, sc.finance.clv_discount_rate_per_year
    return annual_margin * ret / (1.0 + disc - ret)


# --------------------------------------------------------------------------- processes


class CustomersMixin:
    """Arrival, acquisition and defection processes of
    :class:`~servicesim.model.simulation.ServiceModel`."""

    env: simpy.Environment
    root: np.random.SeedSequence
    horizon: float
    warmup: float
    days_per_year: float
    trace: list[tuple[float, str, dict[str, Any]]] | None
    servers: list[float] | None
    quality_checks: bool
    returning: bool
    proc_zero: bool
    proc_time: Sampler
    transit: Sampler
    delivered_outside: list[int]
    disrupted: bool  # orders take the hooked path of model.disruptions (no inlining)
    failures_on: bool
    _LOOKAHEAD: bool
    _log: Callable[..., None]
    _catch_up: Callable[[float], bool]
    _place_order: Callable[[_Segment, int, float], None]
    _fold: Callable[[_Segment], None]
    _line: Callable[..., tuple[int, _Order | None]]
    _place_short: Callable[..., None]
    _reorder: Callable[[_Stock, float], None]

    def _arrivals(self, seg: _Segment) -> Any:
        """One generator for all customers of a segment.

        Look-ahead: when the next order comes strictly before every event in SimPy's queue
        (the run's stop event at the horizon is always there), nothing else can happen in
        between, so the process moves the clock to it and places the order at once instead
        of a round trip through the event queue (a timeout per order).  Receipts at the
        head of the queue that fall due first are booked in passing, in queue order
        (:meth:`~servicesim.model.clock.ClockMixin._catch_up`); any other event due first
        (or at the same time) makes the order wait its turn through the queue, so SimPy's
        order of events is kept.  The figures are the same either way (``_LOOKAHEAD =
        False`` turns it off; tested).
        """
        env = self.env
        timeout = env.timeout
        place = self._place_order
        queue = event_queue(env)
        lookahead = self._LOOKAHEAD
        catch_up = self._catch_up
        if seg.poisson:
            gap, pick, mean = seg.interval, seg.pick, seg.mean_interval
            active = seg.active
            while True:
                while not active:
                    seg.wake = env.event()
                    yield seg.wake
                delay = gap() * mean / len(active)
                before = env._now
                t = before + delay
                if lookahead and (queue and queue[0][0] > t or catch_up(t)):
                    env._now = t  # look-ahead (see clock)
                else:
                    yield timeout(delay if env._now == before else t - env._now)
                n = len(active)
                if n:  # no choice to draw from one customer, merged or not (same draws)
                    place(seg, active[int(pick() * n)] if n > 1 else active[0], env._now)
        else:
            yield from self._renewal_arrivals(seg)

    def _renewal_arrivals(self, seg: _Segment) -> Any:
        """The initial customers of a non-Poisson segment: a heap of their next orders."""
        env = self.env
        queue = event_queue(env)
        lookahead = self._LOOKAHEAD
        catch_up = self._catch_up
        heap = seg.heap
        gap = seg.interval
        for c in range(seg.n_customers):
            heap.append((gap(), c))
        heapq.heapify(heap)
        stockouts = seg.stockouts
        while heap:
            t, c = heap[0]
            if lookahead and (queue and queue[0][0] > t or catch_up(t)):
                env._now = t  # look-ahead (see clock)
            else:
                yield env.timeout(t - env._now)
            heapq.heappop(heap)
            if stockouts[c] >= 0:  # -1 marks a defected customer
                now = env._now
                self._place_order(seg, c, now)
                heapq.heappush(heap, (now + gap(), c))

    def _merged_arrivals(self, segments: list[_Segment]) -> Any:
        """One generator for the orders of several Poisson segments, of every location
        (each order indexes its segment's location's stock points).

        Each segment keeps its own streams and draws exactly as in :meth:`_arrivals` (the
        gap to its next order is drawn when the previous one is placed, scaled by the
        customers active then); a heap holds each segment's next order time, so one
        process serves them all and the look-ahead no longer stops at the other segments'
        pending timeouts (in a network, those of the other locations' segments too).  A
        segment without customers leaves (``merged_out``); its next acquisition starts an
        :meth:`_arrivals` process for it, which draws the next gap then, as the segment's
        own process would on being woken.  Orders of two segments
        at the very same instant (probability 0 with exponential gaps) go in segment order.

        This is the model's hot loop, and it stays long on purpose: where processing
        needs no queue and there are no quality draws or trace, the body of
        :meth:`~servicesim.model.fulfilment.FulfilmentMixin._place_order` is inlined here,
        its constants read once (a call and a dozen lookups less per order: 12 % fewer
        instructions on the 1,000-SKU benchmark, see ``inline`` below).  Same draws, in the
        same order, and the same bookkeeping (``test_fast_paths_give_the_same_figures``
        compares this loop with the plain path, which calls ``_place_order``).
        """
        env = self.env
        queue = event_queue(env)
        catch_up = self._catch_up
        place = self._place_order
        upcoming: list[tuple[float, int]] = []
        for j, seg in enumerate(segments):
            if seg.active:
                upcoming.append((env._now + seg.interval() * seg.mean_interval
                                 / len(seg.active), j))
            else:
                seg.merged_out = True
        heapq.heapify(upcoming)
        heappop, heapreplace = heapq.heappop, heapq.heapreplace
        # measured on the run of benchmarks/bench_scale.py (1,000 SKUs, 2 years, callgrind):
        # inlining _place_order here takes 1.98 G instead of 2.25 G instructions, 12 % less
        # (about 3,400 instructions per order); that is why this loop is long
        inline = self.servers is None and not self.quality_checks and self.trace is None \
            and not self.disrupted and not self.failures_on and not self.returning
        proc_zero, proc_time, transit = self.proc_zero, self.proc_time, self.transit
        warmup, horizon, outside = self.warmup, self.horizon, self.delivered_outside
        fold = self._fold
        line, place_short, reorder = self._line, self._place_short, self._reorder
        while upcoming:
            t, j = upcoming[0]
            if queue and queue[0][0] > t or catch_up(t):
                env._now = t  # look-ahead (see clock)
            else:
                yield Wakeup(env, t)
            seg = segments[j]
            active = seg.active
            n = len(active)
            if n and not inline:
                place(seg, active[int(seg.pick() * n)] if n > 1 else active[0], t)
            elif n:  # _place_order, inlined (see the docstring)
                u = seg.pick() if n > 1 else 0.0  # one customer: nothing to choose
                cust = -1  # who ordered matters only at a stockout: looked up there
                done = t if proc_zero else t + proc_time()
                delivery = done + transit()
                delivered = seg.delivered if warmup <= delivery <= horizon else outside
                n_lines = seg.lines()
                ship_units = 0
                order: _Order | None = None
                remaining = horizon - t
                pick_sku, seg_qty, stocks = seg.sku, seg.qty, seg.stocks
                for _ in range(n_lines):
                    st = stocks[pick_sku()]
                    q = seg_qty()
                    own_qty = st.qty
                    if own_qty is not None:
                        q = own_qty()
                    left = st.on_hand - q
                    if left < st.floor:
                        if left < st.ship_floor:
                            if cust < 0:
                                cust = active[int(u * n)]
                            shipped, order = line(seg, cust, st, q, t, done, delivered, order)
                            ship_units += shipped
                            continue
                        st.on_hand = left
                        reorder(st, t)
                    else:
                        st.on_hand = left
                    st.units_ordered += q
                    st.lines += 1
                    st.a_oh -= q * remaining
                    ship_units += q
                    delivered[st.index] += q
                if order is not None:
                    place_short(order, n_lines, ship_units, delivery, False, False)
                else:
                    seg.clean += 1
                    seg.units += ship_units
                    seg.lines_n += n_lines
                    cts = seg.cts
                    cts.append(delivery - t)
                    if len(cts) >= FOLD_EVERY:
                        fold(seg)
            if active:  # this segment's next order replaces the one just placed
                heapreplace(upcoming, (t + seg.interval() * seg.mean_interval / len(active),
                                       j))
            else:
                heappop(upcoming)
                seg.merged_out = True

    def _renewal_customer(self, seg: _Segment, c: int) -> Any:
        """An acquired customer of a non-Poisson segment orders on its own clock."""
        env, gap, stockouts = self.env, seg.interval, seg.stockouts
        while True:
            yield env.timeout(gap())
            if stockouts[c] < 0:
                return
            self._place_order(seg, c, env.now)

    def _acquisitions(self, seg: _Segment) -> Any:
        """New customers arrive as a Poisson process; word of mouth after defections
        cancels some of them."""
        acq = seg.spec.acquisition
        env = self.env
        mean_gap = self.days_per_year / acq.customers_per_year
        if not mean_gap < self.horizon * 1e6:  # a rate too small to matter (or underflow)
            return
        gap = _UNIT_EXPONENTIAL.sampler(stream(self.root, "acquisition_gap", seg.name))
        while True:
            yield env.timeout(gap() * mean_gap)
            if seg.wom_debt > 0.0:  # word of mouth: each defection cancels acquisitions
                u = seg.acq_u()
                cancelled = u < min(1.0, seg.wom_debt)
                seg.wom_debt = max(0.0, seg.wom_debt - 1.0)
                if cancelled:
                    continue
            self._acquire(seg)

    def _acquire(self, seg: _Segment) -> None:
        """A new customer joins ``seg`` and starts ordering."""
        env = self.env
        c = len(seg.stockouts)
        seg.stockouts.append(0)
        if seg.failures is not None:
            seg.failures.load.append(0.0)
        seg.pos.append(len(seg.active))
        seg.active.append(c)
        seg.acquired += 1
        seg.acq_cost += seg.spec.acquisition.cost_per_customer
        if self.trace is not None:
            self._log(env.now, "acquire", segment=seg.name, customer=c)
        if seg.poisson:
            if seg.wake is not None and not seg.wake.triggered:
                seg.wake.succeed()
            elif seg.merged_out:  # back from the merged arrivals (see there)
                seg.merged_out = False
                env.process(self._arrivals(seg))
        else:
            env.process(self._renewal_customer(seg, c))

    def _defect(self, seg: _Segment, cust: int, cause: int = STOCKOUT) -> None:
        """Customer ``cust`` leaves for good; its lifetime value is lost (DOMAIN §4).
        ``cause``: what made it leave, an index of :data:`~.failures.CAUSES` (DOMAIN §9)."""
        if seg.stockouts[cust] < 0:
            return
        seg.stockouts[cust] = -1
        if seg.poisson:
            active, pos = seg.active, seg.pos
            i = pos[cust]
            last = active[-1]
            active[i] = last
            pos[last] = i
            active.pop()
        seg.defections += 1
        seg.defected_by[cause] += 1
        seg.lost_clv += seg.clv
        seg.wom_debt += seg.spec.acquisition.lost_acquisitions_per_defection
        if self.trace is not None:
            self._log(self.env.now, "defect", segment=seg.name, customer=cust)

