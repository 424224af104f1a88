"""The SimPy model: customers order, the stock point fills or runs out, customers react.

``simulate(scenario, seed)`` runs one replication and returns a :class:`ReplicationResult`.
The model never reads files, prints or plots (STYLE, habit 1).

How an order flows (DOMAIN §2, order-to-cash):

1. A customer of a segment places an order at time *t* (order arrivals per customer are a
   renewal process; exponential gaps, the default, are simulated as one superposed Poisson
   stream per segment).
2. Stock is allocated at order entry: each line takes what is on hand.  A line that cannot be
   filled completely meets a stockout; the shortfall gets the customer's reaction
   (DOMAIN §2): ``wait`` (come back after a patience delay and try again, up to
   ``max_waits`` times, then give up: lost), ``backorder`` (the line stays open and ships
   when stock arrives, first come first served, as an extra shipment, expedited if enabled),
   ``switch`` (lost sale) or ``defect`` (lost sale, and the customer never orders again).
   The chance of defecting rises by ``defect_increase_per_stockout`` with every stockout the
   customer has met before; the other reactions shrink in proportion.
3. The order is processed (FCFS with ``servers`` servers, or no queue when unlimited), then
   what was allocated ships as one shipment; delivery = departure + transit time.
4. The order closes when every line is delivered or lost.  Its cycle time is last delivery
   − order time; it is on time when that is within the segment's promise; it is perfect when
   also complete (nothing lost), undamaged and correctly documented (DOMAIN §3).

Replenishment (DOMAIN §5): continuous review (sQ, sS, base-stock) checks the inventory
position (on hand − backorders + on order) after every demand that reduces it; periodic review
(RS) orders up to S every R days.  Lead times are drawn per purchase order (orders may
cross).  Lost demand (switch, defect, a wait that gives up) never reaches the inventory
position.

Measurement (DOMAIN §6): time averages and event counts cover ``[warmup_days, horizon_days]``
(accumulators reset at the warm-up); revenue counts units *delivered* in that window; order
figures count orders placed in the window that have closed by the horizon.

Quantities: a line draws its units from the segment's ``units_per_line``, or from the SKU's
own ``units_per_line`` where it has one (its own stream, keyed by the SKU's name; the
segment's draw is still taken, so other SKUs keep their numbers).

Scale (issue #5): memory is O(state), not O(events): counters and time integrals per SKU and
segment, open backorders and pending events, the customer table (one entry per customer
ever active: it grows with acquisitions, not with orders), a fixed-memory histogram for
percentiles; the event trace only when asked for.  Speed: orders are placed without an
event-queue round trip when nothing else is due first, receipts due first are booked in
passing, Poisson segments share one arrival process (see
:meth:`ServiceModel._arrivals`); the figures equal those of the plain SimPy path.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import simpy

from .._gc import collector_off, older_objects_frozen
from .._seeds import crc32, keyed_seeds
from ..kpis import SUMMARY_KEYS
from ..policies.derivation import DerivedPolicy, derive_policies
from ..policies.registry import policy_family
from ..scenario.distributions import (
    Constant,
    Exponential,
    Sampler,
    as_draws,
    block_sizes,
    integer_moments,
    integer_sampler,
)
from ..scenario.schema import Scenario, Segment, Supplier

SeedLike = int | np.random.SeedSequence

_REACTIONS = ("wait", "backorder", "switch", "defect")
_NEVER = -(2**62)
_NO_FAST_LINES = 2**62  # a floor no line reaches
_UNIT_EXPONENTIAL = Exponential.model_validate({"type": "exponential", "mean": 1.0})
"""Reorder point of periodic-review SKUs: the continuous-review check never fires."""


# --------------------------------------------------------------------------- random streams


def _stream(root: np.random.SeedSequence, source: str, name: str = "") -> np.random.Generator:
    """An independent generator for one stochastic source.

    The stream is keyed by the *names* of the source and of the SKU/segment, not by position,
    so adding a SKU or a segment does not reshuffle the random numbers of the others
    (common random numbers, STYLE habit 4).
    """
    key = (crc32(source), crc32(name))
    return _generator(np.random.SeedSequence(root.entropy,
                                             spawn_key=tuple(root.spawn_key) + key))


def _generator(seed: Any) -> np.random.Generator:
    """The generator of one stream: PCG64 seeded by a child ``SeedSequence`` (or the
    equal :class:`~servicesim._seeds.FixedSeed` of :func:`~servicesim._seeds.keyed_seeds`)."""
    return np.random.Generator(np.random.PCG64(seed))


def _on_first_use(owner: Any, attribute: str, make: Callable[[], Callable[[], Any]]) -> None:
    """Set ``owner.attribute`` to a sampler that ``make()`` builds on the first draw.

    The first call builds the sampler, puts it in place of itself (later calls go straight
    to it) and returns its first draw; the draws are those of ``make()`` whenever it runs.
    """

    def first_draw() -> Any:
        sampler = make()
        setattr(owner, attribute, sampler)
        return sampler()

    setattr(owner, attribute, first_draw)


def _expected_lines(sc: Scenario) -> np.ndarray:
    """Order lines of each SKU expected over the horizon (initial customers, all segments)."""
    lines = np.zeros(len(sc.skus))
    for name, seg in sc.segments.items():
        if seg.customers == 0:
            continue
        weights = np.asarray(sc.sku_weights(name), dtype=float)
        per_order = integer_moments(seg.lines_per_order, 1)[0]
        lines += seg.customers / seg.order_interval_days.mean * per_order * weights \
            / weights.sum()
    return lines * sc.run.horizon_days


def _purchase_orders_expected(pol: DerivedPolicy, lines: float, horizon: float) -> float:
    """Purchase orders of a SKU expected over the horizon (for sizing its lead-time draws)."""
    return policy_family(pol.type).purchase_orders_expected(pol, lines, horizon)


def _first_block(expected: float) -> int:
    """First block of a sampler expected to give about ``expected`` draws: that many and a
    margin of 3 standard deviations (Poisson), between 16 and 65,536."""
    if not expected < 65_536:  # also NaN
        return 65_536
    return max(16, int(expected + 3.0 * math.sqrt(expected) + 8.0))


def _uniforms(rng: np.random.Generator) -> Any:
    """Uniform [0, 1) draws, buffered in blocks (see :func:`block_sizes`)."""
    blocks = (as_draws(rng.random(size)) for size in block_sizes())
    return itertools.chain.from_iterable(blocks).__next__


# --------------------------------------------------------------------------- events


class _Receipt(simpy.Event):
    """A purchase order arriving at the stock point after its lead time.

    A timeout with its payload in plain attributes (scheduled directly, as SimPy's own
    ``Timeout`` does), so the arrival processes can recognise receipts at the head of the
    event queue and book them in passing (:meth:`ServiceModel._catch_up`).
    """

    def __init__(self, env: simpy.Environment, delay: float, stock: _Stock, qty: int,
                 callback: Callable[[simpy.Event], None]) -> None:
        self.env = env
        self.callbacks = [callback]
        self.stock = stock
        self.qty = qty
        self._value = None
        self._ok = True
        heapq.heappush(env._queue, (env._now + delay, _NORMAL, next(env._eid), self))


class _Wakeup(simpy.Event):
    """An event at the absolute time ``at`` (a timeout without the rounding of
    ``now + (at − now)``), for the merged arrival process."""

    def __init__(self, env: simpy.Environment, at: float) -> None:
        self.env = env
        self.callbacks = []
        self._value = None
        self._ok = True
        heapq.heappush(env._queue, (at, _NORMAL, next(env._eid), self))


_NORMAL = simpy.events.NORMAL
_FOLD_EVERY = 4096
"""Cycle times of clean orders buffered per segment before :meth:`ServiceModel._fold`."""


# --------------------------------------------------------------------------- histogram


class DayHistogram:
    """Fixed-memory histogram of durations in days, for percentiles (no per-event lists).

    11,801 counters whatever the number of values: bins are 0.01 day wide below 10 days,
    0.1 day below 100 days and 1 day below 10,000 days; longer durations share one last
    bin (counted at 10,000 days).  A quantile lies in the bin of the exact sample quantile
    (interpolated linearly inside it), so its error is at most one bin width:
    **at most max(0.01 day, 1 % of the value)** for values below 10,000 days (1 % relative
    from 1 day up; 0.01 day absolute below).  ``tests/test_scale.py`` checks this bound
    against exact quantiles of a sample.
    """

    __slots__ = ("counts",)
    _EDGES = (10.0, 100.0, 10_000.0)

    def __init__(self) -> None:
        self.counts = [0] * (1000 + 900 + 9900 + 1)

    @property
    def n(self) -> int:
        """Values added."""
        return sum(self.counts)

    def add(self, x: float) -> None:
        if x < 10.0:
            i = int(x * 100.0)
        elif x < 100.0:
            i = 1000 + int((x - 10.0) * 10.0)
        elif x < 10_000.0:
            i = 1900 + int(x - 100.0)
        else:
            i = 11_800
        self.counts[i] += 1

    def add_many(self, xs: np.ndarray) -> None:
        """Add the values ``xs`` (>= 0): the bins of :meth:`add`, computed with NumPy."""
        i = np.where(xs < 10.0, (xs * 100.0).astype(np.int64),
                     np.where(xs < 100.0, 1000 + ((xs - 10.0) * 10.0).astype(np.int64),
                              np.where(xs < 10_000.0, 1900 + (xs - 100.0).astype(np.int64),
                                       11_800)))
        counts = self.counts
        found, n = np.unique(i, return_counts=True)
        for index, k in zip(found.tolist(), n.tolist(), strict=True):
            counts[index] += k

    @staticmethod
    def _bin(i: int) -> tuple[float, float]:
        if i < 1000:
            return i / 100.0, (i + 1) / 100.0
        if i < 1900:
            lo = 10.0 + (i - 1000) / 10.0
            return lo, lo + 0.1
        if i < 11_800:
            lo = 100.0 + (i - 1900)
            return lo, lo + 1.0
        return 10_000.0, 10_000.0

    def quantile(self, q: float) -> float:
        """The q-quantile, interpolated linearly inside its bin; NaN when empty."""
        n = self.n
        if n == 0:
            return math.nan
        target = q * n
        cum = 0
        for i, c in enumerate(self.counts):
            if c and cum + c >= target:
                lo, hi = self._bin(i)
                return lo + (hi - lo) * max(0.0, min(1.0, (target - cum) / c))
            cum += c
        return self._bin(len(self.counts) - 1)[0]  # pragma: no cover


# --------------------------------------------------------------------------- state objects


@dataclass(slots=True, init=False, repr=False, eq=False)
class _Stock:
    """One SKU at the stock point: levels, policy, time averages and window counters.

    The fields a line on the fast path touches come first, so they share a cache line.
    """

    # the fast path of a line (ServiceModel._place_order)
    qty: Callable[[], int] | None  # the SKU's own units per line (None: the segment's)
    on_hand: int
    floor: int  # a line leaving at least this on hand takes the fast path (refloor)
    ship_floor: int  # ... at least this ships complete without emptying the shelf
    units_ordered: int
    lines: int
    a_oh: float  # time integrals: see below
    index: int
    # the rest
    name: str
    price: float
    unit_cost: float
    hold_per_day: float
    kind: str
    s: int  # reorder point; _NEVER for periodic review
    Q: int  # order quantity (sQ; 0 otherwise)
    S: int  # order-up-to level (sS, RS, base-stock; 0 otherwise)
    critical: int
    backorders: int
    on_order: int
    fast_lines: ClassVar[bool] = True
    """False sends every line through the full path (the tests' reference)."""
    queue: deque[list[Any]]  # open backordered lines: [order, units unfilled, units, since]
    lead_time: Sampler
    supplier: Supplier
    # time integrals over the window, kept *to the horizon*: a level change of Δ at time t
    # adds Δ·(horizon − t), so nothing needs bringing up to date between changes
    a_bo: float
    a_oo: float
    t_ready: float
    t_nobo: float
    stockout_since_receipt: bool
    units_short: int  # units not shipped at the first attempt (the complement is counted)
    lines_short: int  # lines not filled completely at the first attempt
    pos: int
    po_units: int
    receipts: int
    receipts_ok: int
    eoc_oh: int
    eoc_bo: int
    lost_units: int
    bo_units: int

    def __init__(self) -> None:
        self.queue = deque()
        self.on_hand = self.backorders = self.on_order = self.critical = 0
        self.floor = self.ship_floor = 1
        self.stockout_since_receipt = False
        self.reset(0.0)

    def reset(self, remaining: float) -> None:
        """Start the window with ``remaining`` days to the horizon: the integrals hold the
        current levels until the horizon; the counters are zero."""
        self.a_oh = self.on_hand * remaining
        self.a_bo = self.backorders * remaining
        self.a_oo = self.on_order * remaining
        self.t_ready = remaining if self.on_hand > 0 else 0.0
        self.t_nobo = remaining if self.backorders == 0 else 0.0
        self.units_ordered = self.units_short = self.lines = self.lines_short = 0
        self.pos = self.po_units = self.receipts = self.receipts_ok = 0
        self.eoc_oh = self.eoc_bo = 0
        self.lost_units = self.bo_units = 0

    @property
    def units_first(self) -> int:
        """Units shipped from stock at the first attempt."""
        return self.units_ordered - self.units_short

    @property
    def lines_full(self) -> int:
        """Lines filled completely at the first attempt."""
        return self.lines - self.lines_short

    def refloor(self) -> None:
        """Set ``floor``, the fewest units a line may leave on hand and still take the fast
        path of :meth:`ServiceModel._place_order`: at least ``ship_floor`` (1, so the SKU
        stays in stock, and the critical level, so a rationed segment may take the line
        whole) and above s + backorders − on order (the position stays above s: no
        reorder).  Called whenever the backorders or the units on order change."""
        floor = self.s + self.backorders - self.on_order + 1
        self.floor = floor if floor > self.ship_floor else self.ship_floor


class _Order:
    """An order with lines still open (backordered or waiting)."""

    __slots__ = ("seg", "cust", "t", "proc_done", "pending", "last_delivery", "lost",
                 "damaged", "doc_error", "short_units", "short_lines", "defecting")

    def __init__(self, seg: _Segment, cust: int, t: float, proc_done: float) -> None:
        self.seg = seg
        self.cust = cust
        self.t = t
        self.proc_done = proc_done
        self.pending = 0
        self.last_delivery = -1.0
        self.lost = False
        self.damaged = False
        self.doc_error = False
        self.short_units = 0  # units not shipped at once (backordered, waiting or lost)
        self.short_lines = 0
        self.defecting = False  # the customer defects once the order is placed


@dataclass(slots=True, init=False, repr=False, eq=False)
class _Segment:
    """One customer segment: its customers, samplers and window counters."""

    index: int
    name: str
    spec: Segment
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
    react_u: Sampler
    patience: Sampler
    cum_other: tuple[float, float]
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
    cts: list[float]  # cycle times of clean orders not yet folded in (ServiceModel._fold)
    ct_n_slow: int
    out_cost_extra: float  # outbound cost of backorder and retry shipments
    bo_cost: float
    bo_days: float
    penalty_cost: float

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


# --------------------------------------------------------------------------- result


@dataclass
class ReplicationResult:
    """Figures of one replication.

    ``kpis`` has exactly :data:`servicesim.kpis.SUMMARY_KEYS`; ``details`` holds diagnostic
    and theory-check figures (time averages, rates per day, queue statistics, totals over the
    whole run for unit conservation); ``by_sku`` and ``by_segment`` are breakdowns.
    """

    seed: str
    kpis: dict[str, float]
    details: dict[str, float]
    by_sku: dict[str, dict[str, float]]
    by_segment: dict[str, dict[str, float]]
    policies: dict[str, DerivedPolicy]
    trace: list[tuple[float, str, dict[str, Any]]] | None = field(default=None, repr=False)


# --------------------------------------------------------------------------- the model


class ServiceModel:
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
    ) -> None:
        with older_objects_frozen():
            self._build(scenario, seed, trace, policies)

    def _build(self, scenario: Scenario, seed: SeedLike, trace: bool,
               policies: dict[str, DerivedPolicy] | None) -> None:
        sc = scenario
        self.scenario = sc
        self.root = seed if isinstance(seed, np.random.SeedSequence) \
            else np.random.SeedSequence(int(seed))
        self.env = simpy.Environment()
        self.trace: list[tuple[float, str, dict[str, Any]]] | None = [] if trace else None
        self.warmup = float(sc.run.warmup_days)
        self.horizon = float(sc.run.horizon_days)
        self.days_per_year = sc.finance.days_per_year
        self.policies = policies if policies is not None else derive_policies(sc)
        root = self.root

        # -- stock point
        self.stocks: list[_Stock] = []
        lines_expected = _expected_lines(sc)
        # the seeds of every SKU's two streams, computed together (``_seeds``: the same as
        # ``_stream`` makes one at a time, at a fraction of the cost)
        lead_seeds = keyed_seeds(root, "lead_time", list(sc.skus))
        quantity_seeds = keyed_seeds(root, "sku_quantity", list(sc.skus))
        sku_policies = sc.sku_policies()
        for i, (name, sku) in enumerate(sc.skus.items()):
            st = _Stock()
            st.index, st.name = i, name
            st.price, st.unit_cost = sku.price, sku.unit_cost
            st.hold_per_day = sku.annual_holding_cost_per_unit / self.days_per_year
            pol = self.policies[name]
            st.kind = pol.type
            family = policy_family(pol.type)
            trigger, st.Q, st.S = family.levels(pol)
            st.s = _NEVER if trigger is None else trigger  # None: only reviews order
            st.on_hand = max(0, family.initial_on_hand(pol))
            sku_policy = sku_policies[name]
            if sku_policy.critical_level is not None:
                st.critical = sku_policy.critical_level
            else:  # a fraction of the reorder point (of S for RS and base-stock)
                level = family.critical_base(pol)
                st.critical = max(0, round(sku_policy.critical_level_fraction * (level or 0)))
            # a line leaving this much ships complete, keeps the SKU in stock and spares
            # its reserve (rationed segments); with fast lines off, every line is "slow"
            st.ship_floor = max(1, st.critical) if st.fast_lines else _NO_FAST_LINES
            st.refloor()
            supplier = sc.sku_supplier(name)
            st.supplier = supplier
            # streams of a SKU are made on first use (a SKU that never orders costs nothing),
            # their first blocks sized to the expected use over the horizon (one NumPy call
            # for most SKUs; the draws are the same whatever the block sizes)
            n_lines = lines_expected[i]
            n_orders = _purchase_orders_expected(pol, n_lines, self.horizon)

            def lead_times(dist: Any = supplier.lead_time_days, seed: Any = lead_seeds[i],
                           first: int = _first_block(n_orders)) -> Sampler:
                return dist.sampler(_generator(seed), first=first)

            def quantities(dist: Any = sku.units_per_line, seed: Any = quantity_seeds[i],
                           first: int = _first_block(n_lines)) -> Callable[[], int]:
                return integer_sampler(dist, _generator(seed), first=first)

            _on_first_use(st, "lead_time", lead_times)
            # a SKU's own quantity per line: its own stream, keyed by its name (CRN)
            st.qty = None
            if sku.units_per_line is not None:
                _on_first_use(st, "qty", quantities)
            self.stocks.append(st)

        # -- order processing and transport
        op = sc.order_processing
        self.proc_time = op.time_days.sampler(_stream(root, "processing"))
        self.proc_zero = isinstance(op.time_days, Constant) and op.time_days.value == 0
        self.servers: list[float] | None = [0.0] * op.servers if op.servers else None
        self.proc_cost = op.cost_per_order
        ob = sc.outbound
        self.transit = ob.transit_days.sampler(_stream(root, "transit"))
        self.ship_cost, self.ship_unit_cost = ob.cost_per_shipment, ob.cost_per_unit
        ex = ob.expedite
        self.expedite = ex.enabled
        self.exp_transit = ex.transit_days.sampler(_stream(root, "expedite"))
        self.exp_cost, self.exp_unit_cost = ex.cost_per_shipment, ex.cost_per_unit
        q = sc.quality
        self.p_damage, self.p_doc = q.damage_probability, q.documentation_error_probability
        self.quality_checks = self.p_damage > 0.0 or self.p_doc > 0.0
        self.quality_u = _uniforms(_stream(root, "quality"))
        self.recovery_cost = q.recovery_cost_per_failed_order
        so = sc.stockout_costs
        self.bo_cost_unit = so.backorder_cost_per_unit
        self.bo_cost_day = so.backorder_cost_per_unit_per_day
        self.penalty = so.lost_sale_penalty_per_unit

        # -- segments
        self.segments: list[_Segment] = []
        prices = np.array([s.price - s.unit_cost for s in sc.skus.values()])
        top = min(spec.priority for spec in sc.segments.values())
        for j, (name, spec) in enumerate(sc.segments.items()):
            seg = self._build_segment(j, name, spec, prices)
            # rationing: lower-priority segments cannot take stock at or below the critical
            # level of a SKU (which is 0, no rationing, unless the policy sets one)
            seg.rationed = spec.priority > top and any(st.critical for st in self.stocks)
            self.segments.append(seg)

        # -- window counters (reset at warm-up)
        self.hist = DayHistogram()  # cycle times of the window's orders
        # whole-run totals (never reset) for unit conservation
        # (units demanded and shipped at once are the window's plus those before it, kept
        # by _reset_window; ``tot_shipped_extra`` counts the extra shipments)
        self.tot_units_before = self.tot_first_before = 0
        self.tot_shipped_extra = self.tot_lost = self.tot_waiting = 0
        self._reset_window()
        self.delivered_outside = [0] * len(self.stocks)  # scratch: deliveries out of window
        self.revenue = self.cogs = 0.0
        self.order_seq = itertools.count()
        self.bo_wait_sum = 0.0

    # ..................................................................... construction

    def _build_segment(self, j: int, name: str, spec: Any, margins: np.ndarray) -> _Segment:
        sc, root = self.scenario, self.root
        seg = _Segment()
        seg.index, seg.name, seg.spec = j, name, spec
        n = spec.customers
        seg.n_customers = n
        seg.active = list(range(n))
        seg.pos = list(range(n))
        seg.stockouts = [0] * n
        seg.poisson = isinstance(spec.order_interval_days, Exponential)
        seg.mean_interval = spec.order_interval_days.mean
        arr_rng = _stream(root, "arrivals", name)
        if seg.poisson:
            seg.interval = _UNIT_EXPONENTIAL.sampler(arr_rng)
        else:
            seg.interval = spec.order_interval_days.sampler(arr_rng)
        seg.pick = _uniforms(_stream(root, "customer", name))
        seg.lines = integer_sampler(spec.lines_per_order, _stream(root, "lines", name))
        weights = np.asarray(sc.sku_weights(name), dtype=float)
        probs = weights / weights.sum()
        if np.count_nonzero(probs) == 1:
            seg.sku = itertools.repeat(int(np.flatnonzero(probs)[0])).__next__
        else:
            cum = np.cumsum(probs)
            cum[-1] = 1.0
            sku_rng = _stream(root, "sku", name)

            # SKU indices by inverse transform on the cumulative weights, in blocks
            blocks = (as_draws(np.searchsorted(cum, sku_rng.random(size), "right"))
                      for size in block_sizes())
            seg.sku = itertools.chain.from_iterable(blocks).__next__
        seg.qty = integer_sampler(spec.units_per_line, _stream(root, "quantity", name))
        seg.react_u = _uniforms(_stream(root, "reaction", name))
        seg.patience = spec.patience_days.sampler(_stream(root, "patience", name))
        r = spec.reactions
        seg.defect = r.defect
        other = r.wait + r.backorder + r.switch
        if other > 0:
            seg.cum_other = (r.wait / other, (r.wait + r.backorder) / other)
        else:
            seg.cum_other = (0.0, 0.0)
        seg.defect_step = spec.defect_increase_per_stockout
        seg.max_waits = spec.max_waits
        seg.promise = spec.promised_cycle_time_days
        seg.promise_tol = seg.promise + 1e-9
        ob = sc.outbound
        seg.ship_cost, seg.ship_unit_cost = ob.cost_per_shipment, ob.cost_per_unit
        # customer lifetime value lost per defection (DOMAIN §4, Gupta & Lehmann)
        mean_lines = integer_moments(spec.lines_per_order, 1)[0]
        seg_qty = integer_moments(spec.units_per_line, 1)[0]
        mean_qty = np.array([seg_qty if sku.units_per_line is None
                             else integer_moments(sku.units_per_line, 1)[0]
                             for sku in sc.skus.values()])
        line_margin = float(np.dot(probs, mean_qty * margins))  # margin of a line
        annual_margin = self.days_per_year / seg.mean_interval * mean_lines * line_margin
        ret, disc = spec.retention_rate_per_year, sc.finance.clv_discount_rate_per_year
        seg.clv = annual_margin * ret / (1.0 + disc - ret)
        seg.wom_debt = 0.0
        # units delivered in the window, per SKU (checked per delivery: never reset)
        seg.delivered = [0] * len(sc.skus)
        seg.acq_u = _uniforms(_stream(root, "acquisition", name))
        seg.wake = None
        seg.merged_out = False
        seg.heap = []
        seg.reset()
        return seg

    def _reset_window(self) -> None:
        """Start the measured window (at the warm-up): zero the window's counters, keeping
        the whole-run totals of units demanded and shipped at once."""
        remaining = self.horizon - self.env.now
        for st in self.stocks:
            st.reset(remaining)
        for seg in self.segments:
            self.tot_units_before += seg.units
            self.tot_first_before += seg.units_first
            seg.reset()
        self.hist.counts[:] = [0] * len(self.hist.counts)
        self.po_cost = self.inbound_cost = 0.0
        self.proc_n = self.proc_waited = 0
        self.proc_wait_sum = self.proc_sojourn_sum = self.proc_busy = 0.0

    # ..................................................................... helpers

    def _settle(self, st: _Stock, now: float, on_hand: int, backorders: int,
                on_order: int) -> None:
        """Book the level changes of a SKU at ``now`` (from the levels given to the current
        ones) in its time integrals, which run to the horizon (see :class:`_Stock`)."""
        remaining = self.horizon - now
        st.a_oh += (st.on_hand - on_hand) * remaining
        st.a_bo += (st.backorders - backorders) * remaining
        st.a_oo += (st.on_order - on_order) * remaining
        if (st.on_hand > 0) != (on_hand > 0):
            st.t_ready += remaining if st.on_hand > 0 else -remaining
        if (st.backorders == 0) != (backorders == 0):
            st.t_nobo += remaining if st.backorders == 0 else -remaining

    def _log(self, now: float, kind: str, **info: Any) -> None:
        assert self.trace is not None
        self.trace.append((now, kind, info))

    # ..................................................................... processes

    def _arrivals(self, seg: _Segment) -> Any:
        """One generator for all customers of a segment.

        Look-ahead: when the next order comes strictly before every event in SimPy's queue
        (the run's stop event at the horizon is always there), nothing else can happen in
        between, so the process moves the clock to it and places the order at once instead
        of a round trip through the event queue (a timeout per order).  Receipts at the
        head of the queue that fall due first are booked in passing, in queue order
        (:meth:`_catch_up`); any other event due first (or at the same time) makes the
        order wait its turn through the queue, so SimPy's order of events is kept.  The
        figures are the same either way (``_LOOKAHEAD = False`` turns it off; tested).
        """
        env = self.env
        timeout = env.timeout
        place = self._place_order
        queue = env._queue  # SimPy's event heap of (time, priority, id, event)
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
                    env._now = t
                else:
                    yield timeout(delay if env._now == before else t - env._now)
                n = len(active)
                if n:
                    place(seg, active[int(pick() * n)] if n > 1 else active[0], env._now)
        else:
            heap = seg.heap
            gap = seg.interval
            for c in range(seg.n_customers):
                heap.append((gap(), c))
            heapq.heapify(heap)
            stockouts = seg.stockouts
            while heap:
                t, c = heap[0]
                if lookahead and (queue and queue[0][0] > t or catch_up(t)):
                    env._now = t
                else:
                    yield timeout(t - env._now)
                heapq.heappop(heap)
                if stockouts[c] >= 0:  # -1 marks a defected customer
                    now = env._now
                    place(seg, c, now)
                    heapq.heappush(heap, (now + gap(), c))

    def _merged_arrivals(self, segments: list[_Segment]) -> Any:
        """One generator for the orders of several Poisson segments.

        Each segment keeps its own streams and draws exactly as in :meth:`_arrivals` (the
        gap to its next order is drawn when the previous one is placed, scaled by the
        customers active then); a heap holds each segment's next order time, so one
        process serves them all and the look-ahead no longer stops at the other segments'
        pending timeouts.  A segment without customers leaves (``merged_out``); its next
        acquisition starts an :meth:`_arrivals` process for it, which draws the next gap
        then, as the segment's own process would on being woken.  Orders of two segments
        at the very same instant (probability 0 with exponential gaps) go in segment order.

        This is the model's hot loop.  Where processing needs no queue and there are no
        quality draws or trace, the body of :meth:`_place_order` is inlined here, its
        constants read once (a call and a dozen lookups less per order); the same draws,
        in the same order, and the same bookkeeping (``test_fast_paths_give_the_same_
        figures`` compares this loop with the plain path, which calls ``_place_order``).
        """
        env = self.env
        queue = env._queue
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
        inline = self.servers is None and not self.quality_checks and self.trace is None
        proc_zero, proc_time, transit = self.proc_zero, self.proc_time, self.transit
        warmup, horizon, outside = self.warmup, self.horizon, self.delivered_outside
        stocks, fold = self.stocks, self._fold
        line, place_short, reorder = self._line, self._place_short, self._reorder
        while upcoming:
            t, j = upcoming[0]
            if queue and queue[0][0] > t or catch_up(t):
                env._now = t
            else:
                yield _Wakeup(env, t)
            seg = segments[j]
            active = seg.active
            n = len(active)
            if n and not inline:
                place(seg, active[int(seg.pick() * n)] if n > 1 else active[0], t)
            elif n:  # _place_order, inlined (see the docstring)
                u = seg.pick()
                cust = -1  # who ordered matters only at a stockout: looked up there
                done = t if proc_zero else t + proc_time()
                delivery = done + transit()
                delivered = seg.delivered if warmup <= delivery <= horizon else outside
                n_lines = seg.lines()
                ship_units = 0
                order: _Order | None = None
                remaining = horizon - t
                pick_sku, seg_qty = seg.sku, seg.qty
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
                                cust = active[int(u * n)] if n > 1 else active[0]
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
                    if len(cts) >= _FOLD_EVERY:
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
        acq = seg.spec.acquisition
        env = self.env
        mean_gap = self.days_per_year / acq.customers_per_year
        if not mean_gap < self.horizon * 1e6:  # a rate too small to matter (or underflow)
            return
        gap = _UNIT_EXPONENTIAL.sampler(_stream(self.root, "acquisition_gap", seg.name))
        while True:
            yield env.timeout(gap() * mean_gap)
            if seg.wom_debt > 0.0:  # word of mouth: each defection cancels acquisitions
                u = seg.acq_u()
                cancelled = u < min(1.0, seg.wom_debt)
                seg.wom_debt = max(0.0, seg.wom_debt - 1.0)
                if cancelled:
                    continue
            c = len(seg.stockouts)
            seg.stockouts.append(0)
            seg.pos.append(len(seg.active))
            seg.active.append(c)
            seg.acquired += 1
            seg.acq_cost += acq.cost_per_customer
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

    def _review(self, st: _Stock, period: float, first: float,
                order: Callable[[int], int]) -> Any:
        """Periodic review ((R, S), (R, s, S)): every R days order ``order(position)`` units
        (a zero order still marks the cycle, so the cycle service level counts every review
        period)."""
        env = self.env
        if first > 0:
            yield env.timeout(first)
        while True:
            ip = st.on_hand - st.backorders + st.on_order
            self._purchase(st, order(ip), env.now)
            yield env.timeout(period)

    def _warmup_reset(self) -> Any:
        yield self.env.timeout(self.warmup)
        self._reset_window()

    # ..................................................................... replenishment

    def _purchase(self, st: _Stock, qty: int, now: float) -> None:
        """Raise a purchase order of ``qty`` units (0: only marks a review cycle)."""
        if qty > 0:
            st.a_oo += qty * (self.horizon - now)
            st.on_order += qty
            st.refloor()
            st.pos += 1
            st.po_units += qty
            sup = st.supplier
            self.po_cost += sup.cost_per_order
            self.inbound_cost += sup.inbound_cost_per_shipment + sup.inbound_cost_per_unit * qty
        lt = st.lead_time()
        if self.trace is not None:
            self._log(now, "purchase", sku=st.name, qty=qty, arrives=now + lt)
        _Receipt(self.env, lt, st, qty, self._on_receipt)

    def _on_receipt(self, event: simpy.Event) -> None:
        assert isinstance(event, _Receipt)
        self._receive(event.stock, event.qty)

    def _catch_up(self, t: float) -> bool:
        """Book the receipts due at or before ``t`` that head the event queue, in queue
        order, as SimPy would process them; True when nothing else is due by ``t`` either,
        so an order at ``t`` can be placed at once (look-ahead, see :meth:`_arrivals`)."""
        env = self.env
        queue = env._queue
        while queue:
            head = queue[0]
            if head[0] > t:
                return True
            event = head[3]
            if type(event) is not _Receipt:
                return False
            heapq.heappop(queue)
            env._now = head[0]
            event.callbacks = None  # type: ignore[assignment]  # processed (SimPy's mark)
            self._receive(event.stock, event.qty)
        return True

    def _receive(self, st: _Stock, qty: int) -> None:
        now = self.env.now
        # cycle service level: the cycle ends just before this receipt (DOMAIN §3)
        st.receipts += 1
        if st.backorders == 0 and not st.stockout_since_receipt:
            st.receipts_ok += 1
        st.eoc_oh += st.on_hand
        st.eoc_bo += st.backorders
        st.stockout_since_receipt = False
        if self.trace is not None:
            self._log(now, "receipt", sku=st.name, qty=qty, on_hand_before=st.on_hand)
        if qty == 0:
            return
        on_hand, backorders, on_order = st.on_hand, st.backorders, st.on_order
        st.on_order -= qty
        st.on_hand += qty
        queue = st.queue
        while queue and st.on_hand > 0:
            entry = queue[0]
            order, need = entry[0], entry[1]
            take = need if need <= st.on_hand else st.on_hand
            st.on_hand -= take
            st.backorders -= take
            entry[1] = need - take
            if entry[1] == 0:
                queue.popleft()
                self._ship_backorder(order, st, entry[2], entry[3], now)
        st.refloor()
        self._settle(st, now, on_hand, backorders, on_order)

    def _reorder(self, st: _Stock, now: float) -> None:
        """Continuous review: called when the inventory position has fallen to s or below.

        (s, Q) orders the smallest multiple of Q that lifts the position above s; (s, S) and
        base-stock order up to S (``st.Q`` is 0 for them)."""
        ip = st.on_hand - st.backorders + st.on_order
        if st.Q:
            self._purchase(st, ((st.s - ip) // st.Q + 1) * st.Q, now)
        else:
            self._purchase(st, st.S - ip, now)

    # ..................................................................... demand

    def _place_order(self, seg: _Segment, cust: int, now: float) -> None:
        """An order arrives: allocate stock line by line, react to stockouts, ship.

        The hot path of the model.  A line takes the fast path when it leaves at least
        ``st.floor`` units on hand (see :meth:`_Stock.refloor`): it ships complete, the SKU
        stays in stock above its critical level and does not reach its reorder point, so
        only the level, its integral and two counters move.  Any other line takes
        :meth:`_line`.  An order whose lines all shipped at once closes here; the
        segment's figures it needs no counter of its own for (orders, complete orders,
        closed orders, units shipped at once, outbound cost) are derived from ``clean``
        (see :class:`_Segment`).  Window counters are kept from the start and zeroed at
        the warm-up (:meth:`_reset_window`), so nothing here asks whether it is warm.
        """
        # processing (FCFS queue computed arithmetically: start = max(arrival, free server))
        if self.proc_zero:
            done = now
        else:
            service = self.proc_time()
            servers = self.servers
            if servers is None:
                done = now + service
            else:
                start = heapq.heappop(servers)
                if start < now:
                    start = now
                done = start + service
                heapq.heappush(servers, done)
                self.proc_n += 1
                wait = start - now
                if wait > 0.0:
                    self.proc_waited += 1
                    self.proc_wait_sum += wait
                self.proc_sojourn_sum += done - now
                self.proc_busy += service
        delivery = done + self.transit()
        # units delivered in the window per SKU; outside it they go to a scratch list
        delivered = seg.delivered if self.warmup <= delivery <= self.horizon \
            else self.delivered_outside
        damaged = doc_error = False
        if self.quality_checks:
            if self.p_damage > 0.0:
                damaged = self.quality_u() < self.p_damage
            if self.p_doc > 0.0:
                doc_error = self.quality_u() < self.p_doc
        stocks = self.stocks
        n_lines = seg.lines()
        ship_units = 0
        order: _Order | None = None  # made at the first line that falls short
        remaining = self.horizon - now
        pick_sku, seg_qty = seg.sku, seg.qty
        for _ in range(n_lines):
            st = stocks[pick_sku()]
            # the segment's draw is taken for every line, so a SKU given its own quantity
            # does not shift the quantities of the others (common random numbers)
            q = seg_qty()
            own_qty = st.qty
            if own_qty is not None:
                q = own_qty()
            left = st.on_hand - q
            if left < st.floor:  # not the usual case (see the docstring)
                if left < st.ship_floor:
                    shipped, order = self._line(seg, cust, st, q, now, done, delivered, order)
                    ship_units += shipped
                    continue
                st.on_hand = left  # complete, but the position reaches s
                self._reorder(st, now)
            else:
                st.on_hand = left
            st.units_ordered += q
            st.lines += 1
            st.a_oh -= q * remaining  # time integral to the horizon (see _Stock)
            ship_units += q
            delivered[st.index] += q
        if self.trace is not None:
            self._log(now, "order", segment=seg.name, customer=cust, lines=n_lines,
                      shipped=ship_units, processed=done, delivery=delivery if ship_units
                      else None)
        if order is not None:
            self._place_short(order, n_lines, ship_units, delivery, damaged, doc_error)
            return
        # every line shipped complete: the order closes now (its cycle time is folded
        # into the figures in batches, see _fold)
        seg.clean += 1
        seg.units += ship_units
        seg.lines_n += n_lines
        cts = seg.cts
        cts.append(delivery - now)
        if len(cts) >= _FOLD_EVERY:
            self._fold(seg)
        if damaged or doc_error:
            if delivery - now <= seg.promise_tol:
                seg.on_time_failed += 1
            seg.failed += 1
            if damaged:
                seg.damaged += 1
            if doc_error:
                seg.doc_errors += 1

    def _fold(self, seg: _Segment) -> None:
        """Fold the buffered cycle times of a segment's clean orders into its figures: the
        sums for the mean and CV, the on-time count and the histogram (one NumPy pass per
        batch of :data:`_FOLD_EVERY` orders instead of a dozen operations per order; the
        buffer is bounded, so memory stays flat)."""
        if not seg.cts:
            return
        ct = np.array(seg.cts)
        seg.cts.clear()
        seg.ct_sum += float(ct.sum())
        seg.ct_sq += float(np.dot(ct, ct))
        seg.on_time_clean += int(np.count_nonzero(ct <= seg.promise_tol))
        self.hist.add_many(ct)

    def _line(self, seg: _Segment, cust: int, st: _Stock, q: int, now: float, done: float,
              delivered: list[int], order: _Order | None) -> tuple[int, _Order | None]:
        """A line of ``q`` units off the fast path of :meth:`_place_order`: it may empty
        the shelf, meet the critical level or a stockout (the customer reacts), or bring
        the position to s (a purchase order).  Returns the units shipped now and the order
        (made here at its first short line)."""
        remaining = self.horizon - now
        oh = st.on_hand
        st.units_ordered += q
        st.lines += 1
        available = oh - st.critical if seg.rationed else oh
        take = q if available >= q else (available if available > 0 else 0)
        if take:
            st.a_oh -= take * remaining
            if take == oh:
                st.t_ready -= remaining
            st.on_hand = oh - take
            delivered[st.index] += take
        if take < q:
            short = q - take
            st.lines_short += 1
            st.units_short += short
            if order is None:
                order = _Order(seg, cust, now, done)
            order.short_units += short
            order.short_lines += 1
            reaction = self._react(seg, cust, order.defecting)
            if reaction == "defect":
                order.defecting = True
            if self.trace is not None:
                self._log(now, "stockout", sku=st.name, segment=seg.name,
                          customer=cust, short=short, reaction=reaction)
            st.stockout_since_receipt = True
            if reaction == "backorder":
                self._backorder(order, st, short, now)
                order.pending += 1
            elif reaction == "wait":
                order.pending += 1
                self.tot_waiting += short
                self._schedule_retry(order, st, short, 1)
            else:
                self._lose(seg, st, short)
                order.lost = True
        if st.on_hand - st.backorders + st.on_order <= st.s:  # continuous review
            self._reorder(st, now)
        return take, order

    def _place_short(self, order: _Order, n_lines: int, ship_units: int, delivery: float,
                     damaged: bool, doc_error: bool) -> None:
        """Book an order with a short line: what shipped now, and close it if no line
        stays open (backordered or waiting)."""
        seg = order.seg
        seg.short_orders += 1
        seg.units += ship_units + order.short_units
        seg.units_short += order.short_units
        seg.lines_n += n_lines
        seg.lines_short += order.short_lines
        if damaged or doc_error:
            seg.failed += 1
        order.damaged, order.doc_error = damaged, doc_error
        if ship_units:
            seg.shipped_short += 1
            order.last_delivery = delivery
        if order.pending == 0:
            self._close(seg, order.t, order.last_delivery, order.lost, damaged, doc_error)
        if order.defecting:
            self._defect(seg, order.cust)

    def _react(self, seg: _Segment, cust: int, defecting: bool) -> str:
        """Draw the customer's reaction to a stockout (DOMAIN §2)."""
        u = seg.react_u()
        if defecting:
            return "defect"
        met = seg.stockouts[cust]
        seg.stockouts[cust] = met + 1
        p_defect = seg.defect + seg.defect_step * met
        if p_defect > 1.0:
            p_defect = 1.0
        if u < p_defect:
            return "defect"
        if p_defect >= 1.0:  # pragma: no cover - u < 1 always
            return "defect"
        v = (u - p_defect) / (1.0 - p_defect)
        w, b = seg.cum_other
        if v < w:
            return "wait"
        if v < b:
            return "backorder"
        return "switch"

    def _backorder(self, order: _Order, st: _Stock, units: int, now: float) -> None:
        """Keep ``units`` of a line open; they ship first come, first served on receipt."""
        if st.backorders == 0:
            st.t_nobo -= self.horizon - now
        st.a_bo += units * (self.horizon - now)
        st.backorders += units
        st.refloor()
        st.bo_units += units
        order.seg.bo_cost += self.bo_cost_unit * units
        st.queue.append([order, units, units, now])

    def _lose(self, seg: _Segment, st: _Stock, units: int) -> None:
        st.lost_units += units
        seg.lost_units += units
        seg.penalty_cost += self.penalty * units
        self.tot_lost += units

    def _defect(self, seg: _Segment, cust: int) -> None:
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
        seg.lost_clv += seg.clv
        seg.wom_debt += seg.spec.acquisition.lost_acquisitions_per_defection
        if self.trace is not None:
            self._log(self.env.now, "defect", segment=seg.name, customer=cust)

    def _schedule_retry(self, order: _Order, st: _Stock, units: int, attempt: int) -> None:
        seg = order.seg
        ev = self.env.timeout(seg.patience())
        ev.callbacks.append(
            lambda _ev: self._retry(order, st, units, attempt)
        )

    def _retry(self, order: _Order, st: _Stock, units: int, attempt: int) -> None:
        """A waiting customer comes back for the missing units."""
        now = self.env.now
        seg = order.seg
        self.tot_waiting -= units
        if seg.stockouts[order.cust] < 0:  # defected meanwhile: gives up
            self._lose(seg, st, units)
            order.lost = True
            self._resolve(order, now)
            return
        available = st.on_hand - st.critical if seg.rationed else st.on_hand
        if available >= units:
            on_hand = st.on_hand
            st.on_hand -= units
            self._settle(st, now, on_hand, st.backorders, st.on_order)
            if self.trace is not None:
                self._log(now, "retry_filled", sku=st.name, units=units)
            self._ship_extra(order, st, units, now, expedite=False)
            if st.on_hand - st.backorders + st.on_order <= st.s:
                self._reorder(st, now)
            return
        st.stockout_since_receipt = True
        reaction = self._react(seg, order.cust, False)
        if self.trace is not None:
            self._log(now, "stockout", sku=st.name, segment=seg.name, customer=order.cust,
                      short=units, reaction=reaction, attempt=attempt + 1)
        if reaction == "wait" and attempt < seg.max_waits:
            self.tot_waiting += units
            self._schedule_retry(order, st, units, attempt + 1)
            return
        if reaction == "backorder":
            self._backorder(order, st, units, now)
            if st.on_hand - st.backorders + st.on_order <= st.s:
                self._reorder(st, now)
            return
        self._lose(seg, st, units)
        order.lost = True
        if reaction == "defect":
            self._defect(seg, order.cust)
        self._resolve(order, now)

    # ..................................................................... shipping

    def _ship_backorder(self, order: _Order, st: _Stock, units: int, since: float,
                        now: float) -> None:
        seg = order.seg
        if order.t >= self.warmup:
            self.bo_wait_sum += (now - order.t) * units
        seg.bo_days += (now - since) * units
        self._ship_extra(order, st, units, now, expedite=self.expedite)

    def _ship_extra(self, order: _Order, st: _Stock, units: int, now: float,
                    expedite: bool) -> None:
        """A separate shipment for a backordered or re-tried line."""
        seg = order.seg
        depart = now if now > order.proc_done else order.proc_done
        if expedite:
            delivery = depart + self.exp_transit()
            seg.out_cost_extra += self.exp_cost + self.exp_unit_cost * units
        else:
            delivery = depart + self.transit()
            seg.out_cost_extra += self.ship_cost + self.ship_unit_cost * units
        self.tot_shipped_extra += units
        if self.warmup <= delivery <= self.horizon:
            seg.delivered[st.index] += units
        if delivery > order.last_delivery:
            order.last_delivery = delivery
        if self.trace is not None:
            self._log(now, "ship_extra", sku=st.name, units=units, delivery=delivery,
                      expedited=expedite)
        self._resolve(order, now)

    def _resolve(self, order: _Order, now: float) -> None:
        order.pending -= 1
        if order.pending == 0:
            self._close(order.seg, order.t, order.last_delivery, order.lost, order.damaged,
                        order.doc_error)

    def _close(self, seg: _Segment, t: float, last_delivery: float, lost: bool,
               damaged: bool, doc_error: bool) -> None:
        """Order-level figures (DOMAIN §3), for orders placed in the measured window."""
        if t < self.warmup:
            return
        seg.closed_slow += 1
        on_time = False
        if last_delivery >= 0.0:
            ct = last_delivery - t
            seg.ct_sum += ct
            seg.ct_sq += ct * ct
            seg.ct_n_slow += 1
            self.hist.add(ct)
            on_time = ct <= seg.promise_tol
        if on_time:
            seg.on_time_slow += 1
        if lost:
            seg.incomplete += 1
        if damaged:
            seg.damaged += 1
        if doc_error:
            seg.doc_errors += 1
        if on_time and not lost and not damaged and not doc_error:
            seg.perfect_slow += 1

    # ..................................................................... run

    def run(self) -> ReplicationResult:
        env = self.env
        merged = [seg for seg in self.segments if seg.poisson] if self._LOOKAHEAD else []
        if len(merged) > 1:
            env.process(self._merged_arrivals(merged))
        for seg in self.segments:
            if len(merged) < 2 or seg not in merged:
                env.process(self._arrivals(seg))
            if seg.spec.acquisition.customers_per_year > 0:
                env.process(self._acquisitions(seg))
        for st in self.stocks:
            pol = self.policies[st.name]
            family = policy_family(pol.type)
            if family.periodic:
                assert pol.review_period_days is not None
                env.process(self._review(st, pol.review_period_days, pol.first_review_day,
                                         functools.partial(family.order_quantity, pol)))
        if self.warmup > 0:
            env.process(self._warmup_reset())
        with collector_off():
            env.run(until=self.horizon)
            return self._result()

    def _result(self) -> ReplicationResult:
        """Figures of the measured window (DOMAIN §3 service, §4 money)."""
        sc = self.scenario
        stocks, segments = self.stocks, self.segments
        for seg in segments:
            self._fold(seg)
        window = self.horizon - self.warmup
        years = window / self.days_per_year
        n_sku = len(stocks)
        delivered_units = [sum(seg.delivered[st.index] for seg in segments) for st in stocks]

        by_sku: dict[str, dict[str, float]] = {}
        for st in stocks:
            units = delivered_units[st.index]
            by_sku[st.name] = {
                "item_fill_rate": _ratio(st.units_first, st.units_ordered),
                "line_fill_rate": _ratio(st.lines_full, st.lines),
                "cycle_service_level": _ratio(st.receipts_ok, st.receipts),
                "ready_rate": st.t_ready / window,
                "prob_no_backorder": st.t_nobo / window,
                "avg_on_hand_units": st.a_oh / window,
                "avg_backorder_units": st.a_bo / window,
                "avg_on_order_units": st.a_oo / window,
                "avg_inventory_value": st.a_oh / window * st.unit_cost,
                "units_ordered": float(st.units_ordered),
                "units_delivered": float(units),
                "lost_sales_units": float(st.lost_units),
                "backordered_units": float(st.bo_units),
                "purchase_orders": float(st.pos),
                "revenue": units * st.price,
                "gross_margin": units * (st.price - st.unit_cost),
                "holding_cost": st.a_oh * st.hold_per_day,
                "end_of_cycle_on_hand": _ratio(st.eoc_oh, st.receipts),
                "end_of_cycle_backorders": _ratio(st.eoc_bo, st.receipts),
                "critical_level": float(st.critical),
            }

        prices = [st.price for st in stocks]
        costs = [st.unit_cost for st in stocks]
        by_seg: dict[str, dict[str, float]] = {}
        for seg in segments:
            revenue = sum(u * p for u, p in zip(seg.delivered, prices, strict=True))
            cogs = sum(u * c for u, c in zip(seg.delivered, costs, strict=True))
            processing = self.proc_cost * seg.orders
            recovery = self.recovery_cost * seg.failed + seg.penalty_cost
            backorder = seg.bo_cost + self.bo_cost_day * seg.bo_days
            cost_to_serve = processing + seg.out_cost + backorder + recovery
            by_seg[seg.name] = {
                "orders": float(seg.orders),
                "order_fill_rate": _ratio(seg.orders_full, seg.orders),
                "line_fill_rate": _ratio(seg.lines_full, seg.lines_n),
                "item_fill_rate": _ratio(seg.units_first, seg.units),
                "on_time_rate": _ratio(seg.on_time, seg.closed),
                "perfect_order_rate": _ratio(seg.perfect, seg.closed),
                "order_cycle_time_mean_days": _ratio(seg.ct_sum, seg.ct_n),
                "lost_sales_units": float(seg.lost_units),
                "defections": float(seg.defections),
                "lost_customer_value": seg.lost_clv,
                "customers_acquired": float(seg.acquired),
                "active_customers_at_end": float(
                    len(seg.active) if seg.poisson else sum(1 for c in seg.stockouts if c >= 0)
                ),
                "revenue": revenue,
                "gross_margin": revenue - cogs,
                "processing_cost": processing,
                "transport_cost": seg.out_cost,
                "backorder_cost": backorder,
                "recovery_cost": recovery,
                "cost_to_serve": cost_to_serve,
                "acquisition_cost": seg.acq_cost,
                "profit_contribution": revenue - cogs - cost_to_serve - seg.acq_cost,
            }

        def total(rows: dict[str, dict[str, float]], key: str) -> float:
            return sum(r[key] for r in rows.values())

        units_ordered = sum(st.units_ordered for st in stocks)
        lost_units = sum(st.lost_units for st in stocks)
        orders = sum(seg.orders for seg in segments)
        closed = sum(seg.closed for seg in segments)
        receipts = sum(st.receipts for st in stocks)
        revenue = total(by_sku, "revenue")
        gross_margin = total(by_sku, "gross_margin")
        holding = total(by_sku, "holding_cost")
        # backorder cost: per unit backordered + per unit-day (time integral, exact)
        backorder_cost = sum(seg.bo_cost for seg in segments) \
            + self.bo_cost_day * sum(st.a_bo for st in stocks)
        outbound = sum(seg.out_cost for seg in segments)
        transport = self.inbound_cost + outbound
        processing = total(by_seg, "processing_cost")
        recovery = self.recovery_cost * sum(seg.failed for seg in segments)
        penalty = sum(seg.penalty_cost for seg in segments)
        acquisition = total(by_seg, "acquisition_cost")
        fixed = sc.finance.fixed_cost_per_year * years
        logistics = holding + self.po_cost + transport + backorder_cost + processing \
            + recovery + penalty
        operating_profit = gross_margin - logistics - fixed - acquisition
        inv_value = total(by_sku, "avg_inventory_value")
        receivables = sum(  # average receivables: revenue per day × payment terms
            by_seg[seg.name]["revenue"] / window * seg.spec.payment_terms_days
            for seg in segments
        )
        capital = inv_value + sc.finance.fixed_logistics_assets + receivables
        complete = closed - sum(seg.incomplete for seg in segments)
        on_time = sum(seg.on_time for seg in segments)
        undamaged = closed - sum(seg.damaged for seg in segments)
        docs_ok = closed - sum(seg.doc_errors for seg in segments)
        ct_n = sum(seg.ct_n for seg in segments)
        ct_mean = _ratio(sum(seg.ct_sum for seg in segments), ct_n)
        ct_var = (sum(seg.ct_sq for seg in segments) / ct_n - ct_mean**2) if ct_n > 1 \
            else math.nan
        ct_std = math.sqrt(max(ct_var, 0.0)) if ct_n > 1 else math.nan

        kpis = {
            "item_fill_rate": _ratio(sum(st.units_first for st in stocks), units_ordered),
            "line_fill_rate": _ratio(sum(st.lines_full for st in stocks),
                                     sum(st.lines for st in stocks)),
            "order_fill_rate": _ratio(sum(s.orders_full for s in segments), orders),
            "cycle_service_level": _ratio(sum(st.receipts_ok for st in stocks), receipts),
            "ready_rate": sum(st.t_ready for st in stocks) / (window * n_sku),
            "perfect_order_rate": _ratio(sum(s.perfect for s in segments), closed),
            "perfect_order_index": _ratio(complete, closed) * _ratio(on_time, closed)
            * _ratio(undamaged, closed) * _ratio(docs_ok, closed),
            "on_time_rate": _ratio(on_time, closed),
            "order_cycle_time_mean_days": ct_mean,
            "order_cycle_time_p95_days": self.hist.quantile(0.95),
            "avg_on_hand_units": sum(st.a_oh for st in stocks) / window,
            "avg_backorder_units": sum(st.a_bo for st in stocks) / window,
            "lost_sales_units": float(lost_units),
            "defections": float(sum(s.defections for s in segments)),
            "revenue": revenue,
            "gross_margin": gross_margin,
            "holding_cost": holding,
            "ordering_cost": self.po_cost,
            "transport_cost": transport,
            "backorder_cost": backorder_cost,
            "operating_profit": operating_profit,
            "avg_inventory_value": inv_value,
            "capital_employed": capital,
            "roi": operating_profit / years / capital if capital > 0 else math.nan,
            "economic_profit": operating_profit
            - sc.finance.cost_of_capital_rate_per_year * capital * years,
        }
        assert tuple(kpis) == SUMMARY_KEYS
        delivered = sum(delivered_units)
        c = sc.order_processing.servers
        details = {
            "window_days": window,
            "avg_net_inventory_units": sum(st.a_oh - st.a_bo for st in stocks) / window,
            "avg_on_order_units": sum(st.a_oo for st in stocks) / window,
            "prob_no_backorder": sum(st.t_nobo for st in stocks) / (window * n_sku),
            "purchase_orders_per_day": sum(st.pos for st in stocks) / window,
            "units_demanded": float(units_ordered),
            "units_delivered": float(delivered),
            "sales_units_per_day": delivered / window,
            "lost_sales_units_per_day": lost_units / window,
            "fraction_lost": _ratio(lost_units, units_ordered),
            "avg_customer_wait_days": _ratio(self.bo_wait_sum, units_ordered),
            "end_of_cycle_on_hand_units": _ratio(sum(st.eoc_oh for st in stocks), receipts),
            "end_of_cycle_backorder_units": _ratio(sum(st.eoc_bo for st in stocks), receipts),
            "order_cycle_time_std_days": ct_std,
            "order_cycle_time_cv": _ratio(ct_std, ct_mean) if ct_n > 1 else math.nan,
            "orders": float(orders),
            "orders_closed": float(closed),
            "complete_rate": _ratio(complete, closed),
            "damage_free_rate": _ratio(undamaged, closed),
            "documentation_rate": _ratio(docs_ok, closed),
            "lost_sales_value": sum(st.lost_units * st.price for st in stocks),
            "lost_customer_value": sum(s.lost_clv for s in segments),
            "customers_acquired": float(sum(s.acquired for s in segments)),
            "acquisition_cost": acquisition,
            "processing_cost": processing,
            "recovery_cost": recovery,
            "lost_sale_penalty_cost": penalty,
            "fixed_cost": fixed,
            "inbound_transport_cost": self.inbound_cost,
            "outbound_transport_cost": outbound,
            "logistics_cost": logistics,
            "receivables": receivables,
            "processing_utilization": self.proc_busy / (c * window) if c else math.nan,
            "processing_prob_wait": _ratio(self.proc_waited, self.proc_n),
            "processing_wait_mean_days": _ratio(self.proc_wait_sum, self.proc_n),
            "processing_time_in_system_mean_days": _ratio(self.proc_sojourn_sum, self.proc_n),
            "processing_queue_avg": self.proc_wait_sum / window if c else math.nan,
            "processing_in_system_avg": self.proc_sojourn_sum / window if c else math.nan,
            # whole run (never reset): demanded = shipped + open backorders + lost + waiting
            "total_units_demanded": float(self.tot_units_before
                                          + sum(seg.units for seg in segments)),
            "total_units_shipped": float(self.tot_shipped_extra + self.tot_first_before
                                         + sum(seg.units_first for seg in segments)),
            "total_units_lost": float(self.tot_lost),
            # units of backordered lines still open (some may be reserved from a receipt)
            "total_units_backordered_open": float(sum(e[2] for st in stocks for e in st.queue)),
            "total_units_waiting": float(self.tot_waiting),
        }
        return ReplicationResult(
            seed=_seed_label(self.root),
            kpis=kpis,
            details=details,
            by_sku=by_sku,
            by_segment=by_seg,
            policies=self.policies,
            trace=self.trace,
        )


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def _seed_label(ss: np.random.SeedSequence) -> str:
    key = ".".join(str(k) for k in ss.spawn_key)
    return f"{ss.entropy}" + (f"/{key}" if key else "")


def simulate(
    scenario: Scenario,
    seed: SeedLike | None = None,
    *,
    trace: bool = False,
    policies: dict[str, DerivedPolicy] | None = None,
) -> ReplicationResult:
    """Run one replication of ``scenario``; reproducible from (scenario, seed).

    ``seed`` is an int or a ``numpy.random.SeedSequence`` (default: ``scenario.run.seed``).
    With ``trace=True`` the result carries the event trace ``(time, kind, info)``.
    """
    if seed is None:
        seed = scenario.run.seed
    return ServiceModel(scenario, seed, trace=trace, policies=policies).run()


__all__ = ["DayHistogram", "ReplicationResult", "ServiceModel", "simulate"]
