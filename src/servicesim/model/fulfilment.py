"""Fulfilment: order placement, shipping and closing orders (DOMAIN §2, order-to-cash).

Stock is allocated at order entry: each line takes what is on hand; a line that cannot be
filled completely meets a stockout and the customer reacts
(:mod:`servicesim.model.reactions`).  The order is processed (FCFS with ``servers``
servers, computed arithmetically, or no queue when unlimited), then what was allocated ships
as one shipment; backordered and retried lines ship separately.  The order closes when
every line is delivered or lost; its cycle time is last delivery − order time (DOMAIN §3).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from ..scenario.distributions import Sampler
from .customers import FOLD_EVERY, _Segment
from .histogram import DayHistogram

if TYPE_CHECKING:
    from .stock import _Stock


class _Order:
    """An order with lines still open (backordered or waiting)."""

    __slots__ = ("seg", "cust", "t", "proc_done", "pending", "last_delivery", "lost",
                 "damaged", "doc_error", "short_units", "short_lines", "defecting", "reaction",
                 "backordered")

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
        self.reaction: str | None = None  # drawn once for the order (``reaction_per: order``)
        self.backordered = False  # a line was backordered (the per-order backorder cost)


class FulfilmentMixin:
    """Orders of :class:`~servicesim.model.simulation.ServiceModel`, from placement to
    closing."""

    env: simpy.Environment
    horizon: float
    warmup: float
    trace: list[tuple[float, str, dict[str, Any]]] | None
    hist: DayHistogram
    proc_zero: bool
    proc_time: Sampler
    servers: list[float] | None
    proc_n: int
    proc_waited: int
    proc_wait_sum: float
    proc_sojourn_sum: float
    proc_busy: float
    transit: Sampler
    exp_transit: Sampler
    expedite: bool
    exp_cost: float
    exp_unit_cost: float
    ship_cost: float
    ship_unit_cost: float
    quality_checks: bool
    p_damage: float
    p_doc: float
    quality_u: Sampler
    delivered_outside: list[int]
    tot_shipped_extra: int
    bo_wait_sum: float
    _log: Callable[..., None]
    _reorder: Callable[[_Stock, float], None]
    _stockout: Callable[[_Order, _Stock, int, float, int], None]
    _defect: Callable[[_Segment, int], None]
    _experience: Callable[[_Segment, int, float, float, bool, bool], None]
    lateral_open: dict[_Order, list[tuple[int, int, float]]]
    returning: bool
    seg_returns: list[Any]
    ret_sent: dict[int, int]
    _deliver: Callable[..., None]
    _draw_returns: Callable[..., None]

    def _place_order(self, seg: _Segment, cust: int, now: float) -> None:
        """An order arrives: allocate stock line by line, react to stockouts, ship.

        The hot path of orders outside the merged arrivals, kept in one piece so that a
        line on the fast path makes no call (the inlined copy in the merged arrivals saves
        12 % of the instructions of the 1,000-SKU benchmark).  A line takes the fast path when it
        leaves at least ``st.floor`` units on hand (see :meth:`_Stock.refloor`): it ships
        complete, the SKU stays in stock above its critical level and does not reach its
        reorder point, so only the level, its integral and two counters move.  Any other
        line takes :meth:`_line`.  An order whose lines all shipped at once closes here;
        the segment's figures it needs no counter of its own for (orders, complete orders,
        closed orders, units shipped at once, outbound cost) are derived from ``clean``
        (see :class:`_Segment`).  Window counters are kept from the start and zeroed at
        the warm-up, so nothing here asks whether it is warm.
        """
        done = now if self.proc_zero else self._process(now)
        delivery = done + self.transit()
        # units delivered in the window per SKU; outside it they go to a scratch list
        delivered = seg.delivered if self.warmup <= delivery <= self.horizon \
            else self.delivered_outside
        sent: list[int] | None = None
        if self.returning and self.seg_returns[seg.index] is not None:
            # the shipment's units per SKU, counted apart for its returns (model.returns)
            sent, delivered = delivered, self.ret_sent  # type: ignore[assignment]
        damaged = doc_error = False
        if self.quality_checks:
            damaged, doc_error = self._quality()
        n_lines = seg.lines()
        ship_units = 0
        order: _Order | None = None  # made at the first line that falls short
        remaining = self.horizon - now
        pick_sku, seg_qty, stocks = seg.sku, seg.qty, seg.stocks
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
        if sent is not None:
            self._deliver(seg, delivered, sent, delivery)  # type: ignore[arg-type]
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
        if len(cts) >= FOLD_EVERY:
            self._fold(seg)
        if damaged or doc_error:
            self._failed_clean(seg, delivery - now, damaged, doc_error)
        if seg.failures is not None:  # failures drive defection (DOMAIN §9)
            self._experience(seg, cust, now, delivery, damaged, doc_error)

    def _process(self, now: float) -> float:
        """Order processing of an order entered at ``now``; returns when it is done.

        FCFS with ``servers`` servers computed arithmetically (start = max(arrival, first
        free server)), or no queue when servers are unlimited."""
        service = self.proc_time()
        servers = self.servers
        if servers is None:
            return now + service
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
        return done

    def _quality(self) -> tuple[bool, bool]:
        """Whether the order arrives damaged, and whether its documents are wrong."""
        damaged = doc_error = False
        if self.p_damage > 0.0:
            damaged = self.quality_u() < self.p_damage
        if self.p_doc > 0.0:
            doc_error = self.quality_u() < self.p_doc
        return damaged, doc_error

    def _failed_clean(self, seg: _Segment, cycle_time: float, damaged: bool,
                      doc_error: bool) -> None:
        """A clean order that arrives damaged or wrongly documented: not perfect."""
        if cycle_time <= seg.promise_tol:
            seg.on_time_failed += 1
        seg.failed += 1
        if damaged:
            seg.damaged += 1
        if doc_error:
            seg.doc_errors += 1

    def _fold(self, seg: _Segment) -> None:
        """Fold the buffered cycle times of a segment's clean orders into its figures: the
        sums for the mean and CV, the on-time count and the histogram (one NumPy pass per
        batch of :data:`FOLD_EVERY` orders instead of a dozen operations per order; the
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
            self._stockout(order, st, short, now, 0)
        if st.position() <= st.s:  # continuous review
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
            if seg.failures is not None:  # failures drive defection (DOMAIN §9)
                self._experience(seg, order.cust, order.t, order.last_delivery, damaged,
                                 doc_error)
        if order.defecting:
            self._defect(seg, order.cust)

    def _place_short_lateral(self, order: _Order, n_lines: int, ship_units: int,
                             delivery: float, damaged: bool, doc_error: bool) -> None:
        """:meth:`_place_short` of a run with lateral supply (bound in its place at build
        time; DOMAIN §7).  Units an order got from a fallback location arrive their
        lateral transit time after ``delivery`` (in the window or not by that time) and
        count as shipped at once with the order's shipment; an order whose short lines
        were all filled that way closes as a complete order (its cycle time runs to the
        last lateral delivery)."""
        laterals = self.lateral_open.pop(order, None)
        if laterals is None:
            FulfilmentMixin._place_short(self, order, n_lines, ship_units, delivery, damaged,
                                         doc_error)
            return
        seg = order.seg
        last, units = delivery, 0
        for index, n, delay in laterals:
            arrival = delivery + delay
            delivered = seg.delivered if self.warmup <= arrival <= self.horizon \
                else self.delivered_outside
            delivered[index] += n
            units += n
            if arrival > last:
                last = arrival
        if order.short_lines:
            FulfilmentMixin._place_short(self, order, n_lines, ship_units + units, last,
                                         damaged, doc_error)
            return
        seg.clean += 1  # complete at once from network stock (see _place_order)
        seg.units += ship_units + units
        seg.lines_n += n_lines
        seg.cts.append(last - order.t)
        if len(seg.cts) >= FOLD_EVERY:
            self._fold(seg)
        if damaged or doc_error:
            self._failed_clean(seg, last - order.t, damaged, doc_error)
        if seg.failures is not None:  # failures drive defection (DOMAIN §9)
            self._experience(seg, order.cust, order.t, last, damaged, doc_error)

    # ..................................................................... shipping

    def _ship_backorder(self, order: _Order, st: _Stock, units: int, since: float,
                        now: float) -> None:
        """Backordered units filled from a receipt ship, expedited if enabled."""
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
        if self.returning:
            self._draw_returns(seg, ((st.index, units),), delivery)
        if delivery > order.last_delivery:
            order.last_delivery = delivery
        if self.trace is not None:
            self._log(now, "ship_extra", sku=st.name, units=units, delivery=delivery,
                      expedited=expedite)
        self._resolve(order, now)

    # ..................................................................... closing

    def _resolve(self, order: _Order, now: float) -> None:
        """One open line of ``order`` is shipped or lost; the last one closes it."""
        order.pending -= 1
        if order.pending == 0:
            self._close(order.seg, order.t, order.last_delivery, order.lost, order.damaged,
                        order.doc_error)
            if order.seg.failures is not None:  # failures drive defection (DOMAIN §9)
                self._experience(order.seg, order.cust, order.t, order.last_delivery,
                                 order.damaged, order.doc_error)

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
