"""Returns and reverse logistics (DOMAIN §10).

A unit delivered to a customer of a segment with ``returns`` comes back with the
probability of its reason — ``damaged``, ``wrong`` (wrong or mis-documented) or
``customer`` (the customer's own return), independently of the other units.  Each line
delivered draws how many of its units come back (binomial, one uniform) and then each
returned unit's reason, from a stream per segment and SKU (keyed by their names: common
random numbers, DOMAIN §2).  The returned units of one
delivery travel back together as one *return shipment*: back at the stock point that
shipped them ``delay_days`` after the delivery, then inspected for
``reverse_logistics.processing_days``.  Damaged units are repaired (a share, at a cost)
and restocked, or scrapped; wrong and customer returns are restocked.

Money, booked when it falls in the measured window:

* at the return's arrival back: the refund (the unit's price: revenue is net of refunds,
  DOMAIN §4) and the reverse-logistics cost per unit and per return shipment;
* at restock or scrap: the repair cost, and for a restocked unit its cost back out of the
  cost of goods sold (the model books a unit's cost when it leaves stock, so a restocked
  unit's cost returns to stock; a scrapped unit's cost is lost).

Restocked units go on hand through the receipt's path
(:meth:`~servicesim.model.stock.ReplenishmentMixin._put_away`): open backorders first, the
time integrals and the fast-path floor follow.  They are not purchase orders: they end no
replenishment cycle and leave the units on order alone.

Cost when off: the order loop asks :attr:`ReturnsMixin.returning` once per order and once
per extra shipment; the merged arrivals' inlined loop is left for the plain path whenever
returns are on.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from ..scenario.distributions import Sampler
from ..scenario.schema import ReturnShares, Scenario
from .clock import Restock
from .streams import PerSku, stream, uniforms

if TYPE_CHECKING:
    from .customers import _Segment
    from .stock import _Stock

REASONS = ("damaged", "wrong", "customer")
"""Why a unit comes back (DOMAIN §10)."""


@dataclass(slots=True, init=False, repr=False, eq=False)
class _SegmentReturns:
    """One segment's returns: cut-offs per SKU, streams, and its window figures."""

    cuts: list[tuple[float, float, float] | None]  # per SKU position: damaged, +wrong,
    # +customer (a uniform below the last comes back); None: the SKU never comes back
    u: PerSku  # uniforms per SKU for the units' reasons and repairs
    delay: Sampler  # delivery -> back at the stock point, per return shipment
    units: int  # units back in the window
    refunds: float
    restocked_value: float  # unit cost of the units restocked in the window
    cost: float  # reverse-logistics cost: per unit, per shipment and repairs


@dataclass(slots=True, init=False, repr=False, eq=False)
class _Returns:
    """The run's returns: per-SKU window counts, reasons, costs and whole-run totals.

    Window counts are booked when drawn, by the time each part falls due (so nothing is
    reset at the warm-up); whole-run totals (never reset) check the units are conserved:
    delivered = kept + returned + still coming back, and returned = restocked + scrapped +
    in processing, with ``run_restocked`` counted as the units go on hand."""

    units: list[int]  # per SKU position: units back at the stock point in the window
    restocked: list[int]  # restocked in the window
    scrapped: list[int]  # scrapped in the window
    by_reason: dict[str, int]
    shipments: int
    repaired: int
    handling_cost: float  # per unit and per return shipment
    repair_cost: float
    run_delivered: int  # units delivered (by the horizon) to segments with returns
    run_kept: int
    run_returned: int  # back at the stock point by the horizon
    run_coming_back: int  # drawn to come back, not back by the horizon
    run_restocked: int  # put on hand by the horizon
    run_scrapped: int
    run_processing: int  # back, neither restocked nor scrapped by the horizon


def _cuts(shares: ReturnShares) -> tuple[float, float, float] | None:
    damaged = shares.damaged
    wrong = damaged + shares.wrong
    back = wrong + shares.customer
    return (damaged, wrong, back) if back > 0.0 else None


def _returned(x: float, units: int, p: float) -> int:
    """How many of ``units`` units, each back with probability ``p``, come back: the
    binomial (``units``, ``p``) drawn by inverse transform from one uniform ``x`` (one draw
    per line instead of one per unit: most lines return nothing, and ``x`` below
    (1 − p)^units says so at once)."""
    if p >= 1.0:
        return units
    pmf = (1.0 - p) ** units
    cdf, k = pmf, 0
    odds = p / (1.0 - p)
    while x >= cdf and k < units:
        pmf *= (units - k) / (k + 1) * odds
        k += 1
        cdf += pmf
    return k


def _segment_returns(sc: Scenario, root: np.random.SeedSequence, seg: _Segment
                     ) -> _SegmentReturns:
    spec = seg.spec.returns
    assert spec is not None
    out = _SegmentReturns()
    out.cuts = [_cuts(sku.returns if sku.returns is not None else spec)
                for sku in sc.skus.values()]
    out.u = PerSku(root, "returns", seg.name, list(sc.skus), uniforms)
    out.delay = spec.delay_days.sampler(stream(root, "return_delay", seg.name))
    out.units = 0
    out.refunds = out.restocked_value = out.cost = 0.0
    return out


class ReturnsMixin:
    """Returns of :class:`~servicesim.model.simulation.ServiceModel` (DOMAIN §10)."""

    env: simpy.Environment
    root: np.random.SeedSequence
    horizon: float
    warmup: float
    segments: list[_Segment]
    stocks: list[_Stock]
    trace: list[tuple[float, str, dict[str, Any]]] | None
    _log: Callable[..., None]
    _put_away: Callable[[_Stock, int, int, float], None]

    returning = False
    """Whether some segment returns units (the hooks in the order loop ask this first)."""

    def _build_returns(self, sc: Scenario) -> None:
        """The segments' returns and the reverse-logistics operation, when any segment has
        returns (otherwise only :attr:`returning`, False)."""
        self.returning = any(seg.spec.returns is not None for seg in self.segments)
        if not self.returning:
            return
        # the units per SKU position of the shipment being placed: one counter reused
        # order after order (FulfilmentMixin._place_order counts into it, _deliver empties it)
        self.ret_sent: defaultdict[int, int] = defaultdict(int)
        self.seg_returns: list[_SegmentReturns | None] = [
            None if seg.spec.returns is None else _segment_returns(sc, self.root, seg)
            for seg in self.segments]
        rl = sc.reverse_logistics
        self.reverse = rl
        self.ret_processing = rl.processing_days.sampler(stream(self.root,
                                                                "return_processing"))
        n = len(sc.skus)
        ret = self.ret = _Returns()
        ret.units, ret.restocked, ret.scrapped = [0] * n, [0] * n, [0] * n
        ret.by_reason = dict.fromkeys(REASONS, 0)
        ret.shipments = ret.repaired = 0
        ret.handling_cost = ret.repair_cost = 0.0
        ret.run_delivered = ret.run_kept = ret.run_returned = ret.run_coming_back = 0
        ret.run_restocked = ret.run_scrapped = ret.run_processing = 0

    def _deliver(self, seg: _Segment, shipped: dict[int, int], delivered: list[int],
                 delivery: float) -> None:
        """A shipment of ``seg``'s order (units per SKU position in ``shipped``) is
        delivered at ``delivery``: count it in ``delivered`` (the window's list or the
        scratch one) and draw its returns."""
        for i, units in shipped.items():
            delivered[i] += units
        self._draw_returns(seg, shipped.items(), delivery)
        shipped.clear()  # the scratch counter of the next order (see _build_returns)

    def _draw_returns(self, seg: _Segment, shipped: Iterable[tuple[int, int]],
                      delivery: float) -> None:
        """Which units of a delivery come back and why, as one return shipment."""
        sr = self.seg_returns[seg.index]
        if sr is None or delivery > self.horizon:
            return
        ret = self.ret
        share = self.reverse.repair_share
        back: list[tuple[int, int, list[int], int]] = []  # SKU, units, by reason, repaired
        total = 0
        for i, units in shipped:
            ret.run_delivered += units
            cuts = sr.cuts[i]
            if cuts is None:
                ret.run_kept += units
                continue
            damaged, wrong, anyhow = cuts
            u = sr.u[i]
            n = _returned(u(), units, anyhow)
            ret.run_kept += units - n
            if n:
                reasons = [0, 0, 0]
                for _ in range(n):  # each unit back: its reason, in proportion
                    x = u() * anyhow
                    reasons[0 if x < damaged else 1 if x < wrong else 2] += 1
                if share >= 1.0:
                    repaired = reasons[0]
                elif share > 0.0:  # a draw per damaged unit: repaired, or scrapped
                    repaired = sum(1 for _ in range(reasons[0]) if u() < share)
                else:
                    repaired = 0
                back.append((i, n, reasons, repaired))
                total += n
        if total:
            self._return_shipment(seg, sr, back, total, delivery)

    def _return_shipment(self, seg: _Segment, sr: _SegmentReturns,
                         back: list[tuple[int, int, list[int], int]], total: int,
                         delivery: float) -> None:
        """Book a return shipment of ``total`` units (``back``: per SKU position, units,
        units by reason, units repaired) delivered at ``delivery``: its arrival back, its
        money in the window, and the restock of what is restocked."""
        ret, rl = self.ret, self.reverse
        arrival = delivery + sr.delay()
        done = arrival + self.ret_processing()
        horizon, warmup = self.horizon, self.warmup
        if arrival > horizon:
            ret.run_coming_back += total
            return
        ret.run_returned += total
        stocks = seg.stocks
        if arrival >= warmup:  # back in the window: refunds and handling
            cost = rl.cost_per_shipment + rl.cost_per_unit * total
            ret.shipments += 1
            ret.handling_cost += cost
            sr.cost += cost
            sr.units += total
            for i, n, reasons, _ in back:
                ret.units[i] += n
                sr.refunds += n * stocks[i].price
                for reason, k in zip(REASONS, reasons, strict=True):
                    ret.by_reason[reason] += k
        if done >= horizon:  # still being inspected at the horizon
            ret.run_processing += total
            return
        restock: list[tuple[_Stock, int]] = []
        for i, n, reasons, repaired in back:
            scrapped = reasons[0] - repaired
            ret.run_scrapped += scrapped
            if n > scrapped:
                restock.append((stocks[i], n - scrapped))
            if done >= warmup:
                ret.restocked[i] += n - scrapped
                ret.scrapped[i] += scrapped
                ret.repaired += repaired
                cost = rl.repair_cost_per_unit * repaired
                ret.repair_cost += cost
                sr.cost += cost
                sr.restocked_value += (n - scrapped) * stocks[i].unit_cost
        if self.trace is not None:
            self._log(self.env.now, "return", segment=seg.name, units=total,
                      back=arrival, processed=done,
                      restocked=sum(n for _, n in restock))
        for st, units in restock:  # booked in passing, as receipts are (model.clock)
            Restock(self.env, done, st, units, self._on_restock)

    def _on_restock(self, event: simpy.Event) -> None:
        """A restock processed by SimPy itself (it headed no look-ahead)."""
        assert isinstance(event, Restock)
        self._restock_units(event.stock, event.qty)

    def _restock_units(self, st: _Stock, units: int) -> None:
        """Returned units inspected: back on hand, through the receipt's path."""
        now = self.env.now
        if now == st.next_review and st.snap_at != now:  # the period ends before this
            st.snap_at, st.snap_oh, st.snap_bo = now, st.on_hand, st.backorders
        self.ret.run_restocked += units
        if self.trace is not None:
            self._log(now, "restock", sku=st.name, units=units, on_hand_before=st.on_hand)
        self._put_away(st, units, 0, now)


# --------------------------------------------------------------------------- figures

Rows = dict[str, dict[str, float]]


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def apply_returns(model: ReturnsMixin, by_sku: Rows, by_seg: Rows) -> None:
    """Returns in the per-SKU and per-segment rows (DOMAIN §10, §4): revenue net of refunds,
    gross margin net of refunds with restocked units' cost back, the reverse-logistics cost
    in a segment's cost to serve, and the return figures themselves."""
    ret = model.ret
    for st in model.stocks:
        row = by_sku[st.name]
        i = st.index
        refunds = ret.units[i] * st.price
        row["revenue"] -= refunds
        row["gross_margin"] += ret.restocked[i] * st.unit_cost - refunds
        row["units_returned"] = float(ret.units[i])
        row["return_rate"] = _ratio(ret.units[i], row["units_delivered"])
        row["units_restocked"] = float(ret.restocked[i])
        row["units_scrapped"] = float(ret.scrapped[i])
        row["refunds"] = refunds
    for seg, sr in zip(model.segments, model.seg_returns, strict=True):
        row = by_seg[seg.name]
        units, refunds, cost, restocked = (0, 0.0, 0.0, 0.0) if sr is None else \
            (sr.units, sr.refunds, sr.cost, sr.restocked_value)
        row["revenue"] -= refunds
        row["gross_margin"] += restocked - refunds
        row["cost_to_serve"] += cost
        row["profit_contribution"] += restocked - refunds - cost
        row["units_returned"] = float(units)
        row["return_rate"] = _ratio(units, sum(seg.delivered))
        row["refunds"] = refunds
        row["reverse_logistics_cost"] = cost


def returns_money(model: ReturnsMixin) -> tuple[float, float]:
    """(refunds, reverse-logistics cost) of the window; (0, 0) without returns."""
    if not model.returning:
        return 0.0, 0.0
    ret = model.ret
    refunds = sum(n * st.price for n, st in zip(ret.units, model.stocks, strict=True))
    return refunds, ret.handling_cost + ret.repair_cost


def returns_kpis(model: ReturnsMixin, delivered: int) -> dict[str, float]:
    """The summary's return figures (``delivered``: units delivered in the window)."""
    refunds, cost = returns_money(model)
    if not model.returning:
        return {"return_rate": _ratio(0, delivered), "units_returned": 0.0,
                "units_restocked": 0.0, "units_scrapped": 0.0, "refunds": 0.0,
                "reverse_logistics_cost": 0.0}
    ret = model.ret
    return {
        "return_rate": _ratio(sum(ret.units), delivered),
        "units_returned": float(sum(ret.units)),
        "units_restocked": float(sum(ret.restocked)),
        "units_scrapped": float(sum(ret.scrapped)),
        "refunds": refunds,
        "reverse_logistics_cost": cost,
    }


def returns_details(model: ReturnsMixin) -> dict[str, float]:
    """Diagnostics of returns: units back by reason, shipments, repairs and their costs in
    the window; whole-run totals for unit conservation (delivered = kept + returned +
    coming back; returned = restocked + scrapped + in processing)."""
    ret = model.ret
    return {
        **{f"units_returned_{reason}": float(n) for reason, n in ret.by_reason.items()},
        "return_shipments": float(ret.shipments),
        "units_repaired": float(ret.repaired),
        "return_handling_cost": ret.handling_cost,
        "repair_cost": ret.repair_cost,
        "total_units_delivered_returnable": float(ret.run_delivered),
        "total_units_kept": float(ret.run_kept),
        "total_units_returned": float(ret.run_returned),
        "total_units_coming_back": float(ret.run_coming_back),
        "total_units_restocked": float(ret.run_restocked),
        "total_units_scrapped": float(ret.run_scrapped),
        "total_units_in_processing": float(ret.run_processing),
    }
