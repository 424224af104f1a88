"""Stockout reactions (DOMAIN §2): how they are drawn and what each one does.

Each reaction is a handler in :data:`REACTIONS`; :meth:`ReactionsMixin._stockout` is the one
dispatch, used for a line's first attempt (``attempt`` 0) and for every retry of a waiting
customer (``attempt`` 1, 2, ...).  A handler takes the model, the order, the stock point, the
units short, the time and the attempt.  Adding a reaction: a handler registered here and its
probability in :class:`~servicesim.scenario.schema.Reactions` (the draw shares the
probability left after defection among the registered reactions, in registry order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import simpy

if TYPE_CHECKING:
    from .customers import _Segment
    from .fulfilment import _Order
    from .network import _Fallback
    from .stock import _Stock

    Handler = Callable[["ReactionsMixin", _Order, _Stock, int, float, int], None]


# --------------------------------------------------------------------------- the handlers


def _wait(model: ReactionsMixin, order: _Order, st: _Stock, units: int, now: float,
          attempt: int) -> None:
    """Come back after a patience delay and try again; after ``max_waits`` retries the
    customer gives up (lost).  The first attempt always comes back once."""
    if attempt and attempt >= order.seg.max_waits:
        _lose(model, order, st, units, now, attempt)  # gives up: lost
        return
    if not attempt:
        order.pending += 1
    model.tot_waiting += units
    model._schedule_retry(order, st, units, attempt + 1)


def _backorder(model: ReactionsMixin, order: _Order, st: _Stock, units: int, now: float,
               attempt: int) -> None:
    """Keep the units open; they ship first come, first served on receipt."""
    model._backorder(order, st, units, now)
    if not attempt:
        order.pending += 1  # the line's continuous-review check follows in _line
    elif st.position() <= st.s:
        model._reorder(st, now)


def _lose(model: ReactionsMixin, order: _Order, st: _Stock, units: int, now: float,
          attempt: int) -> None:
    """The units are a lost sale (DOMAIN §3); a retried line was pending and is now
    resolved.  This is all of ``switch`` (buy elsewhere, the customer stays), so it is
    registered as its handler; the other reactions call it when they lose the units."""
    seg = order.seg
    st.lost_units += units
    seg.lost_units += units
    seg.penalty_cost += model.penalty * units
    model.tot_lost += units
    order.lost = True
    if attempt:
        model._resolve(order, now)


def _defect(model: ReactionsMixin, order: _Order, st: _Stock, units: int, now: float,
            attempt: int) -> None:
    """A lost sale, and the customer never orders again: at once on a retry, once the order
    is booked on a first attempt (its other lines still draw, as ``defect``)."""
    if attempt:
        model._defect(order.seg, order.cust)
    else:
        order.defecting = True
    _lose(model, order, st, units, now, attempt)  # the units are lost


REACTIONS: dict[str, Handler] = {
    "wait": _wait,
    "backorder": _backorder,
    "switch": _lose,
    "defect": _defect,
}
"""Every stockout reaction by name (the names of :class:`~servicesim.scenario.schema.
Reactions`)."""

RISING = "defect"
"""The reaction whose chance rises with every stockout the customer has met before."""


# --------------------------------------------------------------------------- the draw


def shares(reactions: Any) -> tuple[float, tuple[tuple[str, float], ...], str]:
    """A segment's reaction mix for :func:`draw`: the chance of :data:`RISING`, the
    cumulative shares of the other reactions (registry order, but the last) and the last."""
    others = [name for name in REACTIONS if name != RISING]
    total = sum(getattr(reactions, name) for name in others)
    cumulative, edges = 0.0, []
    for name in others[:-1]:
        cumulative += getattr(reactions, name)
        edges.append((name, cumulative / total if total > 0 else 0.0))
    return getattr(reactions, RISING), tuple(edges), others[-1]


def draw(seg: _Segment, st: _Stock, cust: int, defecting: bool) -> str:
    """Draw the customer's reaction to a stockout of ``st`` (DOMAIN §2) from that SKU's
    stream (keyed by its name: another SKU's stockouts do not shift it).

    The chance of defection rises by ``defect_step`` with each stockout met before (and by
    ``defect_step`` × weight with each other service failure of the segment's
    ``failure_weights``, DOMAIN §9: see :mod:`.failures`); the other reactions share the rest
    in proportion.  A customer already defecting with this order
    defects again (the draw is still taken, so the stream does not shift)."""
    u = st.react_u()
    if defecting:
        return RISING
    met = seg.stockouts[cust]
    seg.stockouts[cust] = met + 1
    failures = seg.failures
    if failures is not None:  # F counts the weighted other failures too (DOMAIN §9)
        p_rising = seg.defect + seg.defect_step * (met + failures.load[cust])
    else:
        p_rising = seg.defect + seg.defect_step * met
    if p_rising > 1.0:
        p_rising = 1.0
    if u < p_rising:
        return RISING
    if p_rising >= 1.0:  # pragma: no cover - u < 1 always
        return RISING
    v = (u - p_rising) / (1.0 - p_rising)
    for name, edge in seg.cum_other:
        if v < edge:
            return name
    return seg.last_other


# --------------------------------------------------------------------------- the mixin


class ReactionsMixin:
    """Stockouts of :class:`~servicesim.model.simulation.ServiceModel`: the dispatch, and the
    bookkeeping the handlers share (backorders, lost units, retries)."""

    env: simpy.Environment
    horizon: float
    warmup: float
    trace: list[tuple[float, str, dict[str, Any]]] | None
    tot_waiting: int
    tot_lost: int
    bo_cost_unit: float
    bo_cost_order: float
    penalty: float
    short_by_reaction: dict[str, float]
    fallbacks: list[_Fallback | None]
    lateral_open: dict[_Order, list[tuple[int, int, float]]]
    lateral_cost: float
    _log: Callable[..., None]
    _reorder: Callable[[_Stock, float], None]
    _resolve: Callable[[_Order, float], None]
    _defect: Callable[[_Segment, int], None]
    _ship_extra: Callable[..., None]

    def _stockout(self, order: _Order, st: _Stock, units: int, now: float,
                  attempt: int) -> None:
        """``units`` of a line of ``order`` are short: draw the reaction and apply it.

        A segment that reacts per order (``reaction_per: order``, DOMAIN §2) draws at the
        order's first short line and gives every other short line of the order the same
        reaction (one stockout met, one draw, from the stream of the SKU of the first short
        line).  A waiting line that comes back short draws afresh, per line, in either mode:
        each waiting line returns after its own patience delay, so the lines of the order
        are no longer decided together."""
        seg = order.seg
        st.stockout_since_receipt = True
        if attempt or not seg.per_order:
            reaction = draw(seg, st, order.cust, order.defecting and not attempt)
        elif order.reaction is None:
            reaction = order.reaction = draw(seg, st, order.cust, order.defecting)
        else:
            reaction = order.reaction
        if self.trace is not None:
            extra = {"attempt": attempt + 1} if attempt else {}
            self._log(now, "stockout", sku=st.name, segment=seg.name, customer=order.cust,
                      short=units, reaction=reaction, **extra)
        if now >= self.warmup:
            self.short_by_reaction[reaction] += units
        REACTIONS[reaction](self, order, st, units, now, attempt)

    def _stockout_lateral(self, order: _Order, st: _Stock, units: int, now: float,
                          attempt: int) -> None:
        """:meth:`_stockout` of a run in which some segment has lateral supply (bound in its
        place at build time, so other runs pay nothing per line; DOMAIN §7).

        On a line's first attempt, the segment's fallback location gives what it has on
        hand above its critical level (the reserve kept for its own best customers; 0
        unless the policy sets one), up to the ``units`` short (:meth:`_lateral`); only
        the rest meets the stockout reaction.  A line filled completely that way draws no
        reaction.  Retries of a waiting customer come back to the own location only."""
        if not attempt:
            fallback = self.fallbacks[order.seg.index]
            if fallback is not None:
                fb = fallback.stocks[st.index]
                spare = 0 if fb is None else fb.on_hand - fb.critical
                if spare > 0:
                    assert fb is not None
                    take = units if spare >= units else spare
                    self._lateral(order, st, fb, fallback, take, now)
                    units -= take
                    if not units:
                        st.stockout_since_receipt = True  # a stockout here all the same
                        st.lateral_lines += 1
                        order.short_lines -= 1  # complete at once from network stock
                        return
        ReactionsMixin._stockout(self, order, st, units, now, attempt)

    def _lateral(self, order: _Order, st: _Stock, fb: _Stock, fallback: _Fallback,
                 units: int, now: float) -> None:
        """``units`` of a line short at ``st`` ship from ``fb`` at the fallback location:
        they leave its on-hand (its position falls, its policy may reorder), count as
        shipped at the first attempt for the customer (not for ``st``), cost one lateral
        shipment and arrive a lateral transit time after the order's own delivery (booked
        when the order is, :meth:`~servicesim.model.fulfilment.FulfilmentMixin.
        _place_short_lateral`)."""
        on_hand = fb.on_hand
        fb.on_hand = on_hand - units
        fb.settle(self.horizon - now, on_hand, fb.backorders, fb.on_order)
        fb.lateral_out += units
        st.lateral_in += units
        order.short_units -= units
        cost = fallback.cost_per_shipment + fallback.cost_per_unit * units
        order.seg.out_cost_extra += cost
        self.lateral_cost += cost
        delay = fallback.transit()
        self.lateral_open.setdefault(order, []).append((st.index, units, delay))
        if self.trace is not None:
            self._log(now, "lateral", sku=st.name, segment=order.seg.name,
                      location=st.location, fallback=fb.location, units=units,
                      transit=delay)
        if fb.position() <= fb.s:
            self._reorder(fb, now)

    def _backorder(self, order: _Order, st: _Stock, units: int, now: float) -> None:
        """Keep ``units`` of a line open; they ship first come, first served on receipt."""
        if st.backorders == 0:
            st.t_nobo -= self.horizon - now
        st.a_bo += units * (self.horizon - now)
        st.backorders += units
        st.refloor()
        st.bo_units += units
        order.seg.bo_cost += self.bo_cost_unit * units
        if not order.backordered:  # the cost per back-ordered order (DOMAIN §4), once
            order.backordered = True
            order.seg.bo_cost += self.bo_cost_order
        st.queue.append([order, units, units, now])

    def _schedule_retry(self, order: _Order, st: _Stock, units: int, attempt: int) -> None:
        seg = order.seg
        ev = self.env.timeout(seg.patience[st.index]())
        ev.callbacks.append(
            lambda _ev: self._retry(order, st, units, attempt)
        )

    def _retry(self, order: _Order, st: _Stock, units: int, attempt: int) -> None:
        """A waiting customer comes back for the missing units (retry number ``attempt``)."""
        now = self.env.now
        seg = order.seg
        self.tot_waiting -= units
        if seg.stockouts[order.cust] < 0:  # defected meanwhile: gives up, lost
            _lose(self, order, st, units, now, attempt)
            return
        available = st.on_hand - st.critical if seg.rationed else st.on_hand
        if available < units:
            self._stockout(order, st, units, now, attempt)
            return
        on_hand = st.on_hand
        st.on_hand -= units
        st.settle(self.horizon - now, on_hand, st.backorders, st.on_order)
        if self.trace is not None:
            self._log(now, "retry_filled", sku=st.name, units=units)
        self._ship_extra(order, st, units, now, expedite=False)
        if st.position() <= st.s:
            self._reorder(st, now)
