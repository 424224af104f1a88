"""A network of stock points (DOMAIN §7): locations replenished from the supplier or from an
upstream location, internal orders that wait upstream, shipments in transit on lanes.

A location's replenishment order to an upstream location (an *internal order*) is filled
from the upstream's on-hand stock at once; what is short waits there as an internal
backorder in the upstream's queue (beside its own customers' backorders), filled first come
first served when stock arrives (or, at a location whose ``allocation`` is ``priority``,
the best priority first: see :class:`_PriorityQueue`).  A lane ships ``partial`` (what
is on hand now, the rest as it arrives) or ``complete`` (the order ships whole once all of
it is allocated).
Shipped units arrive after the lane's transit time, as a receipt at the downstream
location.  The internal order lowers the upstream's inventory position like a customer's
demand, so the upstream's own policy reorders (one-for-one under base stock).

A stock point's holding cost per unit-day is its location's (``holding_rate_per_year``,
``holding_cost_per_unit_per_year``) where the location sets one, else the SKU's.  Lateral
supply (a segment's ``fallback``) is built here (:func:`build_fallbacks`) and applied where a
line meets a stockout (:meth:`~servicesim.model.reactions.ReactionsMixin._stockout_lateral`).

:class:`NetworkMixin` overrides purchase and receipt of :class:`ReplenishmentMixin` only
in :class:`NetworkModel`: a scenario without ``locations`` runs the single-location model
untouched (its figures and speed are unchanged).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from .._seeds import keyed_seeds
from ..policies.derivation import DerivedPolicy
from ..policies.network import downstream, policy_key
from ..scenario.distributions import Sampler
from ..scenario.schema import SUPPLIER, Scenario
from .clock import Receipt
from .stock import ReplenishmentMixin, StockPoints, _Stock, new_stock_point
from .streams import (
    expected_lines,
    first_block,
    generator,
    on_first_use,
    purchase_orders_expected,
    stream,
)


class _Internal:
    """An internal order waiting upstream (the ``order`` of its queue entry): the stock
    point that ordered and whether its lane ships partial orders."""

    __slots__ = ("dest", "partial")

    def __init__(self, dest: _Stock, partial: bool) -> None:
        self.dest = dest
        self.partial = partial


class _PriorityQueue(deque):  # type: ignore[type-arg]
    """What waits at a location whose ``allocation`` is ``priority``: entries kept in order
    of priority (1 first), first come first served within a priority, so that a receipt,
    which fills the queue from its head, serves the best priority first.

    An internal order ranks by the ordering location's ``priority``; a backordered line of
    a customer of this location ranks by its segment's ``priority``, on the same scale (a
    priority-1 segment here and a priority-1 branch share the front).  An entry is appended
    with its rank as a fifth field; an entry already partly allocated at the head keeps what
    it has, and a better one arriving later goes before it."""

    __slots__ = ("rank",)

    def __init__(self, rank: Callable[[Any], int]) -> None:
        super().__init__()
        self.rank = rank

    def append(self, entry: list[Any]) -> None:
        """Queue ``entry`` (``[order, units unfilled, units, since]``) behind every entry of
        the same or a better priority."""
        p = self.rank(entry[0])
        entry.append(p)
        i = len(self)
        while i and self[i - 1][4] > p:
            i -= 1
        self.insert(i, entry)


def _rank(sc: Scenario) -> Callable[[Any], int]:
    """The priority of a queue entry's order: its location's for an internal order, its
    segment's for a customer's backordered line."""
    assert sc.locations is not None
    by_location = {name: loc.priority for name, loc in sc.locations.items()}
    by_segment = {name: seg.priority for name, seg in sc.segments.items()}

    def rank(order: Any) -> int:
        if type(order) is _Internal:
            return by_location[order.dest.location]
        return by_segment[order.seg.name]

    return rank


FIRST_BLOCK_DAYS = 730.0
"""The days of expected use a network stock point's first blocks of random draws hold."""


def build_network_stock_points(sc: Scenario, policies: dict[str, DerivedPolicy],
                               root: np.random.SeedSequence) -> StockPoints:
    """A stock point per (location, held SKU), upstream locations first; streams keyed by
    ``location/sku`` so that each location's draws are its own (common random numbers)."""
    assert sc.locations is not None
    points = StockPoints()
    n_skus = len(sc.skus)
    position = {name: i for i, name in enumerate(sc.skus)}
    horizon = float(sc.run.horizon_days)
    # first blocks hold at most two years' draws, later ones come as needed: a network has
    # thousands of stock points, and blocks sized to the whole horizon made its memory grow
    # with the horizon (8 years took 15 % more than 2)
    block_share = min(1.0, FIRST_BLOCK_DAYS / horizon)
    rank = _rank(sc)
    for location in sc.network_order():
        loc = sc.locations[location]
        held = sc.held_skus(location)
        keys = [policy_key(location, sku) for sku in held]
        lead_seeds = keyed_seeds(root, "lead_time", keys)
        transit_seeds = keyed_seeds(root, "lane_transit", keys)
        quantity_seeds = keyed_seeds(root, "sku_quantity", keys)
        reaction_seeds = keyed_seeds(root, "reaction", keys)
        # first blocks sized to this location's use: its own customers' lines, and the
        # replenishment orders of the demand passing through it (the draws are the same
        # whatever the block sizes)
        own_lines = _lines_served(sc, [location]) * block_share
        through_lines = _lines_served(sc, downstream(sc, location)) * block_share
        for k, name in enumerate(held):
            i = position[name]
            pol = policies[keys[k]]
            first_orders = first_block(
                purchase_orders_expected(pol, through_lines[i], horizon * block_share))
            st = new_stock_point(sc, i, name, location, keys[k], pol,
                                 sc.location_policy(location, name),
                                 (lead_seeds[k], quantity_seeds[k], reaction_seeds[k]),
                                 first_orders, first_block(own_lines[i]))
            st.hold_per_day = loc.annual_holding_cost_per_unit(sc.skus[name]) \
                / sc.finance.days_per_year
            if loc.allocation == "priority":
                st.queue = _PriorityQueue(rank)
            if loc.replenished_from != SUPPLIER:
                st.upstream = points.at(loc.replenished_from)[i]  # held upstream (validated)
                st.lane = loc.lane
                assert st.lane is not None

                def transits(dist: Any = st.lane.transit_days, seed: Any = transit_seeds[k],
                             first: int = first_orders) -> Sampler:
                    return dist.sampler(generator(seed), first=first)

                on_first_use(st, "transit", transits)
            points.put(st, n_skus)
    return points


def _lines_served(sc: Scenario, locations: list[str]) -> Any:
    """Order lines of each SKU expected over the horizon from the segments served at
    ``locations``."""
    segments = {name: seg for name, seg in sc.segments.items() if seg.location in locations}
    return expected_lines(sc.model_copy(update={"segments": segments}))


class _Fallback:
    """A segment's lateral supply: the fallback location's stock points (indexed by SKU
    position, None where it does not hold the SKU), the transit times of lateral
    shipments (their own stream, keyed by the segment) and their costs."""

    __slots__ = ("location", "stocks", "transit", "cost_per_shipment", "cost_per_unit")

    def __init__(self, location: str, stocks: list[_Stock | None], transit: Sampler,
                 cost_per_shipment: float, cost_per_unit: float) -> None:
        self.location = location
        self.stocks = stocks
        self.transit = transit
        self.cost_per_shipment = cost_per_shipment
        self.cost_per_unit = cost_per_unit


def build_fallbacks(sc: Scenario, root: np.random.SeedSequence,
                    points: StockPoints) -> list[_Fallback | None]:
    """Each segment's lateral supply in segment order (None: no ``fallback``)."""
    out: list[_Fallback | None] = []
    for name, spec in sc.segments.items():
        fb = spec.fallback
        if fb is None:
            out.append(None)
            continue
        transit = fb.transit_days.sampler(stream(root, "lateral_transit", name))
        out.append(_Fallback(fb.location, points.at(fb.location), transit,
                             fb.cost_per_shipment, fb.cost_per_unit))
    return out


class NetworkMixin(ReplenishmentMixin):
    """Internal orders and shipments between own locations (DOMAIN §7)."""

    def _purchase(self, st: _Stock, qty: int, now: float) -> None:
        """A replenishment order: to the supplier, or an internal order upstream."""
        up = st.upstream
        if up is None:
            super()._purchase(st, qty, now)
            return
        if qty <= 0:  # a zero order of a review only marks the cycle, a transit later
            Receipt(self.env, st.transit(), st, 0, self._on_receipt)
            return
        remaining = self.horizon - now
        st.a_oo += qty * remaining
        st.on_order += qty
        st.refloor()
        st.pos += 1
        st.po_units += qty
        if self.trace is not None:
            self._log(now, "internal_order", sku=st.name, location=st.location,
                      upstream=up.location, qty=qty)
        on_hand = up.on_hand
        up.int_units += qty
        if on_hand >= qty:
            # shipped whole from stock (the common case): of the upstream's levels only the
            # on-hand changes, booked as ``settle`` would (its floor does not move)
            up.on_hand = left = on_hand - qty
            up.a_oh -= qty * remaining
            if left <= 0:
                up.t_ready -= remaining
            self._ship(st, qty, now, now)
        else:
            self._short_internal(st, up, qty, remaining, now)
        # the internal demand lowers the upstream position (inventory position, inlined)
        if up.on_hand - up.backorders + up.on_order <= up.s:
            self._reorder(up, now)

    def _short_internal(self, st: _Stock, up: _Stock, qty: int, remaining: float,
                        now: float) -> None:
        """An internal order of ``qty`` that ``up`` cannot ship whole from stock: a partial
        lane ships what is on hand, a complete one nothing; the rest waits upstream."""
        on_hand, backorders, on_order = up.on_hand, up.backorders, up.on_order
        partial = st.lane.shipping == "partial"
        take = on_hand if partial else 0
        short = qty - take
        up.int_short += short
        up.on_hand -= take
        up.backorders += short
        up.int_waiting += short
        up.a_ibo += short * remaining
        st.waiting_up += short
        st.a_wup += short * remaining
        up.stockout_since_receipt = True
        up.queue.append([_Internal(st, partial), short, qty, now])
        up.refloor()
        up.settle(remaining, on_hand, backorders, on_order)
        if take:
            self._ship(st, take, now, now)

    def _ship(self, st: _Stock, units: int, ordered: float, now: float) -> None:
        """Ship ``units`` of an internal order placed at ``ordered`` to ``st``: lane costs,
        the wait upstream and the lead time (wait + transit) of the units, a receipt
        after the transit time."""
        up = st.upstream
        assert up is not None
        lane = st.lane
        self.inbound_cost += lane.cost_per_shipment + lane.cost_per_unit * units
        transit = st.transit()
        up.int_shipped += units
        up.int_wait += units * (now - ordered)
        st.lead_units += units
        st.lead_sum += units * (now + transit - ordered)
        st.in_transit += units
        st.a_it += units * (self.horizon - now)
        if self.trace is not None:
            self._log(now, "ship", sku=st.name, location=st.location, qty=units,
                      arrives=now + transit)
        Receipt(self.env, transit, st, units, self._on_receipt)

    def _receive(self, st: _Stock, qty: int) -> None:
        """A receipt (from the supplier or a shipment from upstream), then the open
        backorders first come first served: customers' lines and internal orders."""
        now = self.env.now
        if now == st.next_review and st.snap_at != now:  # the period ends before this
            st.snap_at, st.snap_oh, st.snap_bo = now, st.on_hand, st.backorders
        if st.upstream is not None:
            st.in_transit -= qty
            st.a_it -= qty * (self.horizon - now)
        st.receipts += 1
        st.units_received += qty
        if st.backorders == 0 and not st.stockout_since_receipt:
            st.receipts_ok += 1
        st.eoc_oh += st.on_hand
        st.eoc_bo += st.backorders
        st.stockout_since_receipt = False
        if self.trace is not None:
            self._log(now, "receipt", sku=st.name, location=st.location, qty=qty,
                      on_hand_before=st.on_hand)
        if qty == 0:
            return
        on_hand, backorders, on_order = st.on_hand, st.backorders, st.on_order
        st.on_order -= qty
        st.on_hand += qty
        queue = st.queue
        shipments: list[tuple[_Stock, int, float]] | None = None
        while queue and st.on_hand > 0:
            entry = queue[0]
            order, need = entry[0], entry[1]
            take = need if need <= st.on_hand else st.on_hand
            st.on_hand -= take
            st.backorders -= take
            entry[1] = need - take
            if type(order) is _Internal:
                st.int_waiting -= take
                st.a_ibo -= take * (self.horizon - now)
                order.dest.waiting_up -= take
                order.dest.a_wup -= take * (self.horizon - now)
                if shipments is None:
                    shipments = []
                if order.partial:
                    shipments.append((order.dest, take, entry[3]))
                elif entry[1] == 0:
                    shipments.append((order.dest, entry[2], entry[3]))
                if entry[1] == 0:
                    queue.popleft()
            elif entry[1] == 0:
                queue.popleft()
                self._ship_backorder(order, st, entry[2], entry[3], now)
        st.refloor()
        st.settle(self.horizon - now, on_hand, backorders, on_order)
        if shipments is not None:
            for dest, units, ordered in shipments:
                self._ship(dest, units, ordered, now)
