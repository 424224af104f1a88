"""Stock points: their state, how they are built, and replenishment (DOMAIN §5, §7).

A stock point is one SKU at one location.  :class:`StockPoints` keys them by (location,
SKU); a run has one location today (:data:`MAIN`), and a segment is served from one
location (DOMAIN §7), so several stock points per SKU are a change of data: each segment
holds the SKU-indexed list of its location's stock points, resolved once at build time,
and the order loop indexes that flat list as before (no per-line cost).

:class:`ReplenishmentMixin` raises purchase orders and books receipts; it is a mixin of
:class:`~servicesim.model.simulation.ServiceModel` for the reason given there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import simpy

from .._seeds import keyed_seeds
from ..policies.derivation import DerivedPolicy
from ..policies.registry import policy_family
from ..scenario.distributions import Sampler, integer_sampler
from ..scenario.schema import Scenario, Supplier
from .clock import Receipt
from .streams import (
    expected_lines,
    first_block,
    generator,
    on_first_use,
    purchase_orders_expected,
    uniforms,
)

if TYPE_CHECKING:
    from .fulfilment import _Order

MAIN = "main"
"""The one location of a run (a segment is served from one location, DOMAIN §7)."""
NEVER = -(2**62)
"""Reorder point of periodic-review SKUs: the continuous-review check never fires."""
_NO_FAST_LINES = 2**62  # a floor no line reaches


@dataclass(slots=True, init=False, repr=False, eq=False)
class _Stock:
    """One SKU at one location: levels, policy, time averages and window counters.

    The fields a line on the fast path touches come first, so they share a cache line.
    """

    # the fast path of a line (FulfilmentMixin._place_order)
    qty: Callable[[], int] | None  # the SKU's own units per line (None: the segment's)
    on_hand: int
    floor: int  # a line leaving at least this on hand takes the fast path (refloor)
    ship_floor: int  # ... at least this ships complete without emptying the shelf
    units_ordered: int
    lines: int
    a_oh: float  # time integrals: see below
    index: int  # the SKU's position in the scenario (and in its location's list)
    # the rest
    name: str
    location: str
    price: float
    unit_cost: float
    hold_per_day: float
    kind: str
    s: int  # reorder point; NEVER for periodic review
    Q: int  # order quantity (sQ; 0 otherwise)
    S: int  # order-up-to level (sS, RS, base-stock; 0 otherwise)
    critical: int
    backorders: int
    on_order: int
    fast_lines: ClassVar[bool] = True
    """False sends every line through the full path (the tests' reference)."""
    queue: deque[list[Any]]  # open backordered lines: [order, units unfilled, units, since]
    lead_time: Sampler
    react_u: Sampler  # uniforms for the reactions to this SKU's stockouts (its own stream)
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
    # a network's stock points (DOMAIN §7; model.network): the policy's key, the upstream
    # stock point and lane (None: replenished from the supplier), units in transit from
    # upstream and their time integral, and the internal orders this stock point receives
    # (units ordered, units not shipped at once) and ships (units, their total wait
    # upstream) in the window, and for its own orders the total lead time of units received
    policy_key: str
    upstream: _Stock | None
    lane: Any
    transit: Sampler
    in_transit: int
    a_it: float
    int_waiting: int  # internal backorders: units of downstream orders waiting here
    a_ibo: float  # ... and their time integral (both part of ``backorders`` and its)
    waiting_up: int  # units of this stock point's orders waiting upstream
    a_wup: float  # ... and their time integral
    int_units: int
    int_short: int
    int_shipped: int
    int_wait: float
    lead_units: int
    lead_sum: float
    units_received: int  # units received from upstream or the supplier (network only)
    # lateral supply (model.network): units this stock point's customers received from a
    # fallback location (counted short here), its lines those units completed, and units
    # it supplied to another location's customers, in the window
    lateral_in: int
    lateral_lines: int
    lateral_out: int
    # periodic review (DOMAIN §5): on hand and backorders summed over the review periods
    # that end in the window (just before each review), and their count; the time of the
    # next review, and the levels just before a receipt due at that very time (a receipt
    # and a review at one instant: the period ended before the receipt)
    eop_oh: int
    eop_bo: int
    periods: int
    next_review: float
    snap_at: float
    snap_oh: int
    snap_bo: int
    salvage: float | None  # money per unit left on hand at the horizon (None: kept)

    def __init__(self) -> None:
        self.queue = deque()
        self.on_hand = self.backorders = self.on_order = self.critical = 0
        self.upstream = self.lane = None
        self.in_transit = self.waiting_up = self.int_waiting = 0
        self.floor = self.ship_floor = 1
        self.stockout_since_receipt = False
        self.next_review = self.snap_at = -1.0  # no time of a run
        self.snap_oh = self.snap_bo = 0
        self.salvage = None
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
        self.a_it = self.in_transit * remaining
        self.a_wup = self.waiting_up * remaining
        self.a_ibo = self.int_waiting * remaining
        self.int_units = self.int_short = self.int_shipped = self.lead_units = 0
        self.int_wait = self.lead_sum = 0.0
        self.units_received = 0
        self.lateral_in = self.lateral_lines = self.lateral_out = 0
        self.eop_oh = self.eop_bo = self.periods = 0

    @property
    def units_first(self) -> int:
        """Units shipped from stock at the first attempt."""
        return self.units_ordered - self.units_short

    @property
    def lines_full(self) -> int:
        """Lines filled completely at the first attempt."""
        return self.lines - self.lines_short

    def period_ends(self, horizon: float) -> tuple[int, int, int]:
        """(on hand, backorders, periods): the levels just before each review, summed over
        the review periods ending in the window, the one ending at ``horizon`` included
        when the horizon is a review time (periodic review, DOMAIN §5; 0 periods else)."""
        if self.next_review != horizon:
            return self.eop_oh, self.eop_bo, self.periods
        on_hand, backorders = (self.snap_oh, self.snap_bo) if self.snap_at == horizon \
            else (self.on_hand, self.backorders)
        return self.eop_oh + on_hand, self.eop_bo + backorders, self.periods + 1

    def position(self) -> int:
        """The inventory position: on hand − backorders + on order (DOMAIN §5)."""
        return self.on_hand - self.backorders + self.on_order

    def refloor(self) -> None:
        """Set ``floor``, the fewest units a line may leave on hand and still take the fast
        path of the order loop: at least ``ship_floor`` (1, so the SKU stays in stock, and
        the critical level, so a rationed segment may take the line whole) and above
        s + backorders − on order (the position stays above s: no reorder).  Called
        whenever the backorders or the units on order change."""
        floor = self.s + self.backorders - self.on_order + 1
        self.floor = floor if floor > self.ship_floor else self.ship_floor

    def settle(self, remaining: float, on_hand: int, backorders: int, on_order: int) -> None:
        """Book the level changes from the levels given to the current ones, ``remaining``
        days before the horizon, in the time integrals (which run to the horizon)."""
        self.a_oh += (self.on_hand - on_hand) * remaining
        self.a_bo += (self.backorders - backorders) * remaining
        self.a_oo += (self.on_order - on_order) * remaining
        if (self.on_hand > 0) != (on_hand > 0):
            self.t_ready += remaining if self.on_hand > 0 else -remaining
        if (self.backorders == 0) != (backorders == 0):
            self.t_nobo += remaining if self.backorders == 0 else -remaining


class StockPoints:
    """The stock points of a run, keyed by (location, SKU name)."""

    __slots__ = ("_by_location",)

    def __init__(self) -> None:
        self._by_location: dict[str, list[_Stock]] = {}

    def add(self, st: _Stock) -> None:
        """Add ``st`` at its location; its ``index`` is its place in that location's list."""
        self._by_location.setdefault(st.location, []).append(st)

    def at(self, location: str) -> list[_Stock]:
        """The stock points of ``location``, indexed by SKU position (the order loop's
        list)."""
        return self._by_location[location]

    def __getitem__(self, key: tuple[str, str]) -> _Stock:
        location, sku = key
        return next(st for st in self._by_location[location]
                    if st is not None and st.name == sku)

    def put(self, st: _Stock, skus: int) -> None:
        """Put ``st`` at its location at its ``index`` (a network: a location's list has a
        slot per SKU of the scenario, None where the location does not hold it)."""
        self._by_location.setdefault(st.location, [None] * skus)[st.index] = st  # type: ignore[list-item]

    def __iter__(self) -> Iterator[_Stock]:
        for stocks in self._by_location.values():
            yield from (st for st in stocks if st is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def build_stock_points(sc: Scenario, policies: dict[str, DerivedPolicy],
                       root: np.random.SeedSequence) -> StockPoints:
    """A stock point per SKU at :data:`MAIN`, stocked and ruled by its derived policy."""
    points = StockPoints()
    lines_expected = expected_lines(sc)
    # the seeds of every SKU's two streams, computed together (``_seeds``: the same as
    # ``stream`` makes one at a time, at a fraction of the cost)
    lead_seeds = keyed_seeds(root, "lead_time", list(sc.skus))
    quantity_seeds = keyed_seeds(root, "sku_quantity", list(sc.skus))
    # the reactions to a SKU's stockouts draw from its own stream, so they do not shift
    # when another SKU's stockouts change (DOMAIN §2)
    reaction_seeds = keyed_seeds(root, "reaction", list(sc.skus))
    sku_policies = sc.sku_policies()
    horizon = float(sc.run.horizon_days)
    for i, name in enumerate(sc.skus):
        pol = policies[name]
        # streams' first blocks sized to the expected use over the horizon (one NumPy call
        # for most SKUs; the draws are the same whatever the block sizes)
        n_lines = lines_expected[i]
        n_orders = purchase_orders_expected(pol, n_lines, horizon)
        st = new_stock_point(sc, i, name, MAIN, name, pol, sku_policies[name],
                             (lead_seeds[i], quantity_seeds[i], reaction_seeds[i]),
                             first_block(n_orders), first_block(n_lines))
        points.add(st)
    return points


def new_stock_point(sc: Scenario, index: int, name: str, location: str, key: str,
                    pol: DerivedPolicy, spec: Any, seeds: tuple[Any, Any, Any],
                    first_orders: int, first_lines: int) -> _Stock:
    """The stock point of SKU ``name`` at ``location`` (``key``: its policy's and streams'
    name), stocked and ruled by its derived policy ``pol`` (``spec``: the policy as
    specified).  Its streams, from the (lead time, quantity, reaction) ``seeds``, are made on
    first use (a SKU that never orders costs nothing), their first blocks ``first_orders``
    and ``first_lines`` draws long."""
    sku = sc.skus[name]
    st = _Stock()
    st.index, st.name, st.location, st.policy_key = index, name, location, key
    st.price, st.unit_cost = sku.price, sku.unit_cost
    st.hold_per_day = sku.annual_holding_cost_per_unit / sc.finance.days_per_year
    _set_policy(st, pol, spec)
    if sku.initial_on_hand is not None:  # the scenario's start instead of the policy's
        st.on_hand = sku.initial_on_hand
    st.salvage = sku.salvage_value_per_unit
    st.supplier = sc.sku_supplier(name)
    lead_seed, quantity_seed, reaction_seed = seeds

    def lead_times(dist: Any = st.supplier.lead_time_days, seed: Any = lead_seed,
                   first: int = first_orders) -> Sampler:
        return dist.sampler(generator(seed), first=first)

    def quantities(dist: Any = sku.units_per_line, seed: Any = quantity_seed,
                   first: int = first_lines) -> Callable[[], int]:
        return integer_sampler(dist, generator(seed), first=first)

    def reaction_uniforms(seed: Any = reaction_seed) -> Sampler:
        return uniforms(generator(seed))

    on_first_use(st, "lead_time", lead_times)
    on_first_use(st, "react_u", reaction_uniforms)
    # a SKU's own quantity per line: its own stream, keyed by its name (CRN)
    st.qty = None
    if sku.units_per_line is not None:
        on_first_use(st, "qty", quantities)
    return st


def _set_policy(st: _Stock, pol: DerivedPolicy, sku_policy: Any) -> None:
    """The policy's levels, the initial stock, the critical level and the fast-path floor."""
    st.on_hand = max(0, policy_family(pol.type).initial_on_hand(pol))
    set_levels(st, pol, sku_policy)


def set_levels(st: _Stock, pol: DerivedPolicy, sku_policy: Any) -> None:
    """The policy's levels (s, Q, S), the critical level and the fast-path floor; the stock
    and the orders open stay as they are (a re-plan applies from the next demand or
    review on)."""
    st.kind = pol.type
    family = policy_family(pol.type)
    trigger, st.Q, st.S = family.levels(pol)
    st.s = NEVER if trigger is None else trigger  # None: only reviews order
    if sku_policy.critical_level is not None:
        st.critical = sku_policy.critical_level
    else:  # a share of the family's base level (the reorder point, or S)
        level = family.critical_base(pol)
        st.critical = max(0, round(sku_policy.critical_level_fraction * (level or 0)))
    # a line leaving this much ships complete, keeps the SKU in stock and spares its
    # reserve (rationed segments); with fast lines off, every line is "slow"
    st.ship_floor = max(1, st.critical) if st.fast_lines else _NO_FAST_LINES
    st.refloor()


class ReplenishmentMixin:
    """Purchase orders and receipts (DOMAIN §5): continuous review after every demand that
    lowers the position, periodic review every R days; lead times drawn per purchase order
    (orders may cross)."""

    env: simpy.Environment
    horizon: float
    warmup: float
    trace: list[tuple[float, str, dict[str, Any]]] | None
    po_cost: float
    inbound_cost: float
    _log: Callable[..., None]
    _on_receipt: Callable[[simpy.Event], None]
    _ship_backorder: Callable[[_Order, _Stock, int, float, float], None]

    def _review(self, st: _Stock, period: float, first: float,
                order: Callable[[int], int]) -> Any:
        """Periodic review ((R, S), (R, s, S)): every R days order ``order(position)`` units
        (a zero order still marks the cycle, so the cycle service level counts every review
        period); each later review ends a review period, whose end-of-period levels are
        booked when it ends in the window."""
        env = self.env
        if first > 0:
            yield env.timeout(first)
        warmup = self.warmup
        now = env.now  # the first review starts the first period
        while True:
            st.next_review = now + period  # the time of the next review, exactly
            self._purchase(st, order(st.position()), now)
            yield env.timeout(period)
            now = env.now
            if now > warmup:  # a review period ended in the window
                self._period_end(st, now)

    @staticmethod
    def _period_end(st: _Stock, now: float) -> None:
        """Book the end of a review period at ``now``: on hand and backorders just before
        the review (before a receipt due at the same time, if one came first)."""
        if st.snap_at == now:
            st.eop_oh += st.snap_oh
            st.eop_bo += st.snap_bo
        else:
            st.eop_oh += st.on_hand
            st.eop_bo += st.backorders
        st.periods += 1

    def _reorder(self, st: _Stock, now: float) -> None:
        """Continuous review: called when the inventory position has fallen to s or below.

        (s, Q) orders the smallest multiple of Q that lifts the position above s; (s, S) and
        base-stock order up to S (``st.Q`` is 0 for them)."""
        ip = st.on_hand - st.backorders + st.on_order  # the position, inlined: per order
        if st.Q:
            self._purchase(st, ((st.s - ip) // st.Q + 1) * st.Q, now)
        else:
            self._purchase(st, st.S - ip, now)

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
        Receipt(self.env, lt, st, qty, self._on_receipt)

    def _receive(self, st: _Stock, qty: int) -> None:
        """A receipt: it ends a replenishment cycle, then fills open backorders first come,
        first served."""
        now = self.env.now
        if now == st.next_review and st.snap_at != now:  # the period ends before this
            st.snap_at, st.snap_oh, st.snap_bo = now, st.on_hand, st.backorders
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
        self._put_away(st, qty, qty, now)

    def _put_away(self, st: _Stock, qty: int, ordered: int, now: float) -> None:
        """``qty`` units go on hand at ``now`` (``ordered`` of them were on order: a receipt;
        none for restocked returns) and fill open backorders first come, first served; the
        fast-path floor and the time integrals follow."""
        on_hand, backorders, on_order = st.on_hand, st.backorders, st.on_order
        st.on_order -= ordered
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
        st.settle(self.horizon - now, on_hand, backorders, on_order)
