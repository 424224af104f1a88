"""The figures of a replication, computed once from the model's counters at the horizon.

Service figures follow DOMAIN §3 and money follows DOMAIN §4 (the Strategic Profit Model):
revenue and gross margin from the units delivered in the window; logistics cost = holding +
ordering + inbound and outbound transport + backorder cost + service recovery and lost-sale
penalties; operating profit = gross margin − logistics cost − fixed cost − acquisition
cost; capital employed = average inventory value at cost + fixed logistics assets +
receivables; ROI = annualised operating profit ÷ capital employed; economic profit =
operating profit − cost-of-capital rate × capital employed × years.  The value of customers
lost (their CLV) is reported beside the costs, never subtracted from profit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..kpis import LOCATION_FIGURES, SUMMARY_KEYS
from .failures import DEFECTION_KEYS
from .network import _Internal
from .results import ReplicationResult
from .returns import apply_returns, returns_details, returns_kpis, returns_money

if TYPE_CHECKING:
    import numpy as np

    from .customers import _Segment
    from .simulation import ServiceModel
    from .stock import _Stock

Rows = dict[str, dict[str, float]]


def ratio(num: float, den: float) -> float:
    """num ÷ den, NaN when den is 0."""
    return num / den if den else math.nan


def seed_label(ss: np.random.SeedSequence) -> str:
    """The seed as recorded: the entropy and the spawn key, ``entropy/k1.k2``."""
    key = ".".join(str(k) for k in ss.spawn_key)
    return f"{ss.entropy}" + (f"/{key}" if key else "")


@dataclass(frozen=True, slots=True)
class Window:
    """The measured window: its length in days and in years."""

    days: float
    years: float


def replication_result(model: ServiceModel) -> ReplicationResult:
    """Every figure of the measured window (DOMAIN §3 service, §4 money)."""
    for seg in model.segments:
        model._fold(seg)
    days = model.horizon - model.warmup
    window = Window(days, days / model.days_per_year)
    if model.network:  # a stock point delivers to the segments at its location
        delivered = [sum(seg.delivered[st.index] for seg in model.segments
                         if seg.location == st.location) for st in model.stocks]
    else:
        delivered = [sum(seg.delivered[st.index] for seg in model.segments)
                     for st in model.stocks]
    by_sku = sku_figures(model.stocks, delivered, window, keyed=model.network,
                         horizon=model.horizon)
    by_seg = segment_figures(model, window)
    if model.returning:  # refunds, restocks and reverse logistics (DOMAIN §10)
        apply_returns(model, by_sku, by_seg)
    money = Money.of(model, by_sku, by_seg, window)
    return ReplicationResult(
        seed=seed_label(model.root),
        kpis=kpis(model, money, window, sum(delivered)),
        details=details(model, money, sum(delivered), window),
        by_sku=by_sku,
        by_segment=by_seg,
        policies=model.policies,
        trace=model.trace,
        cycle_time_counts=model.hist.by_upper_edge(),
        units_short_by_reaction=dict(model.short_by_reaction),
        by_location=location_figures(model, delivered, window) if model.network else {},
    )


def salvage(st: _Stock) -> tuple[float, float]:
    """(proceeds, their gross margin) of selling off the stock left on hand at the horizon
    at the SKU's salvage value (DOMAIN §4): proceeds = salvage value × units, margin =
    (salvage value − unit cost) × units, since the model books the unit cost of a unit only
    when it leaves stock; (0, 0) when the SKU has no salvage value (the stock is kept)."""
    if st.salvage is None:
        return 0.0, 0.0
    return st.salvage * st.on_hand, (st.salvage - st.unit_cost) * st.on_hand


def sku_figures(stocks: list[_Stock], delivered: list[int], window: Window,
                keyed: bool = False, horizon: float = math.nan) -> Rows:
    """Service, stock and money figures per SKU (DOMAIN §3, §4); ``delivered`` holds the
    units delivered in the window per SKU (``keyed``: per stock point, in ``stocks`` order,
    and the rows are keyed ``location/sku``, a network's stock points).  Revenue and gross
    margin include the salvage of the stock left at the horizon (:func:`salvage`);
    end-of-period levels are over the review periods ending in the window, ``horizon``
    included (NaN for continuous review)."""
    by_sku: Rows = {}
    w = window.days
    for k, st in enumerate(stocks):
        units = delivered[k] if keyed else delivered[st.index]
        proceeds, salvage_margin = salvage(st)
        eop_oh, eop_bo, periods = st.period_ends(horizon)
        by_sku[st.policy_key if keyed else st.name] = {
            "item_fill_rate": ratio(st.units_first, st.units_ordered),
            "line_fill_rate": ratio(st.lines_full, st.lines),
            "cycle_service_level": ratio(st.receipts_ok, st.receipts),
            "ready_rate": st.t_ready / w,
            "prob_no_backorder": st.t_nobo / w,
            "avg_on_hand_units": st.a_oh / w,
            "avg_backorder_units": st.a_bo / w,
            "avg_on_order_units": st.a_oo / w,
            "avg_inventory_value": st.a_oh / w * st.unit_cost,
            "units_ordered": float(st.units_ordered),
            "units_delivered": float(units),
            "lost_sales_units": float(st.lost_units),
            "backordered_units": float(st.bo_units),
            "purchase_orders": float(st.pos),
            "revenue": units * st.price + proceeds,
            "gross_margin": units * (st.price - st.unit_cost) + salvage_margin,
            "holding_cost": st.a_oh * st.hold_per_day,
            "end_of_cycle_on_hand": ratio(st.eoc_oh, st.receipts),
            "end_of_cycle_backorders": ratio(st.eoc_bo, st.receipts),
            "critical_level": float(st.critical),
            "salvage_value": proceeds,
            "end_of_period_on_hand_units": ratio(eop_oh, periods),
            "end_of_period_backorder_units": ratio(eop_bo, periods),
        }
    return by_sku


def segment_figures(model: ServiceModel, window: Window) -> Rows:
    """Service figures, cost to serve and profit contribution per segment."""
    prices = [sku.price for sku in model.scenario.skus.values()]
    costs = [sku.unit_cost for sku in model.scenario.skus.values()]
    by_seg: Rows = {}
    for seg in model.segments:
        revenue = sum(u * p for u, p in zip(seg.delivered, prices, strict=True))
        cogs = sum(u * c for u, c in zip(seg.delivered, costs, strict=True))
        processing = model.proc_cost * seg.orders
        recovery = model.recovery_cost * seg.failed + seg.penalty_cost
        backorder = seg.bo_cost + model.bo_cost_day * seg.bo_days
        cost_to_serve = processing + seg.out_cost + backorder + recovery
        by_seg[seg.name] = {
            "orders": float(seg.orders),
            "order_fill_rate": ratio(seg.orders_full, seg.orders),
            "line_fill_rate": ratio(seg.lines_full, seg.lines_n),
            "item_fill_rate": ratio(seg.units_first, seg.units),
            "on_time_rate": ratio(seg.on_time, seg.closed),
            "perfect_order_rate": ratio(seg.perfect, seg.closed),
            "order_cycle_time_mean_days": ratio(seg.ct_sum, seg.ct_n),
            "lost_sales_units": float(seg.lost_units),
            "defections": float(seg.defections),
            **defections_by_cause([seg]),
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
    return by_seg


def _total(rows: Rows, key: str) -> float:
    return sum(r[key] for r in rows.values())


@dataclass(frozen=True, slots=True)
class Money:
    """The money of the window (DOMAIN §4), named as there."""

    revenue: float
    gross_margin: float
    holding_cost: float
    ordering_cost: float
    inbound_transport_cost: float
    outbound_transport_cost: float
    transport_cost: float
    backorder_cost: float
    processing_cost: float
    recovery_cost: float
    lost_sale_penalty_cost: float
    acquisition_cost: float
    fixed_cost: float
    logistics_cost: float
    operating_profit: float
    avg_inventory_value: float
    receivables: float
    capital_employed: float
    roi: float
    economic_profit: float
    refunds: float
    reverse_logistics_cost: float

    @classmethod
    def of(cls, model: ServiceModel, by_sku: Rows, by_seg: Rows, window: Window) -> Money:
        """Totals of the rows and the model's cost counters; profit, capital and returns."""
        finance = model.scenario.finance
        stocks, segments = model.stocks, model.segments
        holding = _total(by_sku, "holding_cost")
        # backorder cost: per unit and per order backordered + per unit-day (time integral)
        backorder = sum(seg.bo_cost for seg in segments) \
            + model.bo_cost_day * sum(st.a_bo - st.a_ibo for st in stocks)
        outbound = sum(seg.out_cost for seg in segments)
        transport = model.inbound_cost + outbound
        processing = _total(by_seg, "processing_cost")
        recovery = model.recovery_cost * sum(seg.failed for seg in segments)
        penalty = sum(seg.penalty_cost for seg in segments)
        acquisition = _total(by_seg, "acquisition_cost")
        fixed = finance.fixed_cost_per_year * window.years
        refunds, reverse = returns_money(model)  # revenue in by_sku is net of the refunds
        logistics = holding + model.po_cost + transport + backorder + processing \
            + recovery + penalty + reverse
        gross_margin = _total(by_sku, "gross_margin")
        operating_profit = gross_margin - logistics - fixed - acquisition
        inv_value = _total(by_sku, "avg_inventory_value")
        if model.network:  # owned stock in transit between own locations (DOMAIN §7)
            inv_value += sum(st.a_it * st.unit_cost for st in stocks) / window.days
        receivables = sum(  # average receivables: revenue per day × payment terms
            by_seg[seg.name]["revenue"] / window.days * seg.spec.payment_terms_days
            for seg in segments
        )
        capital = inv_value + finance.fixed_logistics_assets + receivables
        return cls(
            revenue=_total(by_sku, "revenue"), gross_margin=gross_margin,
            holding_cost=holding, ordering_cost=model.po_cost,
            inbound_transport_cost=model.inbound_cost, outbound_transport_cost=outbound,
            transport_cost=transport, backorder_cost=backorder, processing_cost=processing,
            recovery_cost=recovery, lost_sale_penalty_cost=penalty,
            acquisition_cost=acquisition, fixed_cost=fixed, logistics_cost=logistics,
            operating_profit=operating_profit, avg_inventory_value=inv_value,
            receivables=receivables, capital_employed=capital,
            roi=operating_profit / window.years / capital if capital > 0 else math.nan,
            economic_profit=operating_profit
            - finance.cost_of_capital_rate_per_year * capital * window.years,
            refunds=refunds, reverse_logistics_cost=reverse,
        )


@dataclass(frozen=True, slots=True)
class Orders:
    """Order-level counts of the window's closed orders and their cycle times (DOMAIN §3)."""

    orders: int
    closed: int
    complete: int
    on_time: int
    undamaged: int
    docs_ok: int
    ct_n: int
    ct_mean: float
    ct_std: float

    @classmethod
    def of(cls, segments: list[_Segment]) -> Orders:
        closed = sum(seg.closed for seg in segments)
        ct_n = sum(seg.ct_n for seg in segments)
        ct_mean = ratio(sum(seg.ct_sum for seg in segments), ct_n)
        ct_var = (sum(seg.ct_sq for seg in segments) / ct_n - ct_mean**2) if ct_n > 1 \
            else math.nan
        return cls(
            orders=sum(seg.orders for seg in segments),
            closed=closed,
            complete=closed - sum(seg.incomplete for seg in segments),
            on_time=sum(seg.on_time for seg in segments),
            undamaged=closed - sum(seg.damaged for seg in segments),
            docs_ok=closed - sum(seg.doc_errors for seg in segments),
            ct_n=ct_n,
            ct_mean=ct_mean,
            ct_std=math.sqrt(max(ct_var, 0.0)) if ct_n > 1 else math.nan,
        )


def customer_stocks(model: ServiceModel) -> list[_Stock]:
    """The stock points that serve customers: every one of a single location; in a network
    (DOMAIN §7) those at a location some segment is served from (a DC that only fills
    other locations' orders is left out)."""
    if not model.network:
        return model.stocks
    served = {seg.location for seg in model.segments}
    return [st for st in model.stocks if st.location in served]


def kpis(model: ServiceModel, money: Money, window: Window,
         delivered: int) -> dict[str, float]:
    """The summary figures, :data:`~servicesim.kpis.SUMMARY_KEYS` in order.

    In a network the service figures are the customers' (DOMAIN §7): fill rates pooled
    over the customers' units and lines (so weighted by demand), cycle service level pooled
    over the receipts of the stock points that serve customers, ready rate the plain mean
    over those stock points (as over the SKUs of a single location), backorders, lost sales
    and waits those of customers; internal orders count only in :func:`location_figures`.
    Stock and money (on hand, inventory value, capital, ROI) are the whole network's."""
    stocks, segments = model.stocks, model.segments
    facing = customer_stocks(model)
    o = Orders.of(segments)
    w = window.days
    # units and lines completed from a fallback location (lateral supply) count as filled
    # at the first attempt from network stock here, short at their own stock point
    out = {
        "item_fill_rate": ratio(sum(st.units_first + st.lateral_in for st in facing),
                                sum(st.units_ordered for st in facing)),
        "line_fill_rate": ratio(sum(st.lines_full + st.lateral_lines for st in facing),
                                sum(st.lines for st in facing)),
        "order_fill_rate": ratio(sum(s.orders_full for s in segments), o.orders),
        "cycle_service_level": ratio(sum(st.receipts_ok for st in facing),
                                     sum(st.receipts for st in facing)),
        "ready_rate": sum(st.t_ready for st in facing) / (w * len(facing)),
        "perfect_order_rate": ratio(sum(s.perfect for s in segments), o.closed),
        "perfect_order_index": ratio(o.complete, o.closed) * ratio(o.on_time, o.closed)
        * ratio(o.undamaged, o.closed) * ratio(o.docs_ok, o.closed),
        "on_time_rate": ratio(o.on_time, o.closed),
        "order_cycle_time_mean_days": o.ct_mean,
        "order_cycle_time_p95_days": model.hist.quantile(0.95),
        "avg_on_hand_units": sum(st.a_oh for st in stocks) / w,
        "avg_backorder_units": sum(st.a_bo - st.a_ibo for st in stocks) / w,
        "lost_sales_units": float(sum(st.lost_units for st in stocks)),
        "defections": float(sum(s.defections for s in segments)),
        **defections_by_cause(segments),
        **{key: getattr(money, key) for key in (
            "revenue", "gross_margin", "holding_cost", "ordering_cost", "transport_cost",
            "backorder_cost", "operating_profit", "avg_inventory_value",
            "capital_employed", "roi", "economic_profit")},
        "lost_customer_value": sum(s.lost_clv for s in segments),
        "salvage_value": sum(salvage(st)[0] for st in stocks),
        **returns_kpis(model, delivered),
    }
    assert tuple(out) == SUMMARY_KEYS
    return out


def details(model: ServiceModel, money: Money, delivered: int,
            window: Window) -> dict[str, float]:
    """Diagnostic and theory-check figures: time averages, rates, order counts, costs
    (``delivered``: units delivered in the window).

    In a network, net inventory is the on hand everywhere less customers' backorders; the
    no-backorder time share and the end-of-cycle figures are over the stock points that
    serve customers (:func:`customer_stocks`; at a location that also fills internal
    orders, its backorders include theirs); units on order and purchase orders count every
    stock point's orders, internal ones included (DOMAIN §7)."""
    stocks, segments = model.stocks, model.segments
    facing = customer_stocks(model)
    o = Orders.of(segments)
    w = window.days
    units_ordered = sum(st.units_ordered for st in stocks)
    lost_units = sum(st.lost_units for st in stocks)
    receipts = sum(st.receipts for st in facing)
    return {
        "window_days": w,
        "avg_net_inventory_units": sum(st.a_oh - (st.a_bo - st.a_ibo) for st in stocks) / w,
        "avg_on_order_units": sum(st.a_oo for st in stocks) / w,
        "prob_no_backorder": sum(st.t_nobo for st in facing) / (w * len(facing)),
        "purchase_orders_per_day": sum(st.pos for st in stocks) / w,
        "units_demanded": float(units_ordered),
        "units_delivered": float(delivered),
        "sales_units_per_day": delivered / w,
        "lost_sales_units_per_day": lost_units / w,
        "fraction_lost": ratio(lost_units, units_ordered),
        "avg_customer_wait_days": ratio(model.bo_wait_sum, units_ordered),
        "end_of_cycle_on_hand_units": ratio(sum(st.eoc_oh for st in facing), receipts),
        "end_of_cycle_backorder_units": ratio(sum(st.eoc_bo for st in facing), receipts),
        **end_of_period(stocks, model.horizon),
        "salvage_units": float(sum(st.on_hand for st in stocks if st.salvage is not None)),
        "order_cycle_time_std_days": o.ct_std,
        "order_cycle_time_cv": ratio(o.ct_std, o.ct_mean) if o.ct_n > 1 else math.nan,
        "orders": float(o.orders),
        "orders_closed": float(o.closed),
        "complete_rate": ratio(o.complete, o.closed),
        "damage_free_rate": ratio(o.undamaged, o.closed),
        "documentation_rate": ratio(o.docs_ok, o.closed),
        "lost_sales_value": sum(st.lost_units * st.price for st in stocks),
        "customers_acquired": float(sum(s.acquired for s in segments)),
        **{key: getattr(money, key) for key in (
            "acquisition_cost", "processing_cost", "recovery_cost",
            "lost_sale_penalty_cost", "fixed_cost", "inbound_transport_cost",
            "outbound_transport_cost", "logistics_cost", "receivables")},
        **processing_figures(model, w),
        **conservation(model),
        **(internal_conservation(model) if model.network else {}),
        # lateral shipments' cost (part of the outbound transport cost) in a network run
        **({"lateral_cost": model.lateral_cost} if model.network else {}),
        **(returns_details(model) if model.returning else {}),
    }


def end_of_period(stocks: list[_Stock], horizon: float) -> dict[str, float]:
    """On hand and backorders just before each review, averaged over the review periods
    ending in the window, summed over the periodic-review stock points (DOMAIN §5: what
    costs charged on end-of-period stock are charged on); NaN when none reviews
    periodically."""
    ends = [st.period_ends(horizon) for st in stocks]
    ends = [(oh / n, bo / n) for oh, bo, n in ends if n]
    if not ends:
        return {"end_of_period_on_hand_units": math.nan,
                "end_of_period_backorder_units": math.nan}
    return {"end_of_period_on_hand_units": sum(oh for oh, _ in ends),
            "end_of_period_backorder_units": sum(bo for _, bo in ends)}


def processing_figures(model: ServiceModel, w: float) -> dict[str, float]:
    """The order-processing station (M/G/c checks): utilisation, waits, queue lengths."""
    c = model.scenario.order_processing.servers
    n = model.proc_n
    return {
        "processing_utilization": model.proc_busy / (c * w) if c else math.nan,
        "processing_prob_wait": ratio(model.proc_waited, n),
        "processing_wait_mean_days": ratio(model.proc_wait_sum, n),
        "processing_time_in_system_mean_days": ratio(model.proc_sojourn_sum, n),
        "processing_queue_avg": model.proc_wait_sum / w if c else math.nan,
        "processing_in_system_avg": model.proc_sojourn_sum / w if c else math.nan,
    }


def conservation(model: ServiceModel) -> dict[str, float]:
    """Whole-run unit totals (never reset): demanded = shipped + open backorders + lost +
    waiting (STYLE habit 8)."""
    segments = model.segments
    return {
        "total_units_demanded": float(model.tot_units_before
                                      + sum(seg.units for seg in segments)),
        "total_units_shipped": float(model.tot_shipped_extra + model.tot_first_before
                                     + sum(seg.units_first for seg in segments)),
        "total_units_lost": float(model.tot_lost),
        # units of customers' backordered lines still open (some may be reserved from a
        # receipt); a network's internal orders waiting upstream are not customer demand
        # (counted apart: internal_conservation)
        "total_units_backordered_open": float(sum(e[2] for st in model.stocks
                                                  for e in st.queue
                                                  if type(e[0]) is not _Internal)),
        "total_units_waiting": float(model.tot_waiting),
    }


def internal_conservation(model: ServiceModel) -> dict[str, float]:
    """A network's internal orders and shipments at the horizon (DOMAIN §7): units of
    internal orders not yet shipped (waiting upstream, or allocated to an order that ships
    complete) and units in transit between own locations.  With no warm-up, the units
    ordered internally = shipped + not yet shipped, and shipped = received + in transit
    (see :func:`location_figures`)."""
    return {
        "total_internal_units_unshipped": float(sum(
            (e[1] if e[0].partial else e[2]) for st in model.stocks for e in st.queue
            if type(e[0]) is _Internal)),
        "total_units_in_transit": float(sum(st.in_transit for st in model.stocks)),
    }


def downstream(model: ServiceModel) -> dict[str, list[str]]:
    """Each location and every location below it (DOMAIN §7: replenished from it, directly
    or through others), the location itself first."""
    locations = model.scenario.locations
    assert locations is not None
    parent = {name: loc.replenished_from for name, loc in locations.items()}
    below: dict[str, list[str]] = {name: [name] for name in locations}
    for name in locations:
        up = parent[name]
        while up in below:  # the supplier is no location
            below[up].append(name)
            up = parent[up]
    return below


def echelon(sts: list[_Stock], own: str, w: float) -> tuple[float, float]:
    """Echelon inventory of location ``own`` from the stock points of it and of every
    location below it (DOMAIN §7): time averages of its on hand + their on hand and units
    in transit to them − customers' backorders at all of them; (units, value at cost)."""
    units = value = 0.0
    for st in sts:
        level = st.a_oh - (st.a_bo - st.a_ibo) + (st.a_it if st.location != own else 0.0)
        units += level
        value += level * st.unit_cost
    return units / w, value / w


def planned_lead_time(model: ServiceModel, sts: list[_Stock]) -> float:
    """The lead time the policies of a location's stock points were derived with (DOMAIN
    §7: transit + the expected wait upstream, or the supplier's), weighted by each SKU's
    derived demand rate (a plain mean when none has demand)."""
    policies = [model.policies[st.policy_key] for st in sts]
    weights = [p.demand_per_day for p in policies]
    if sum(weights) <= 0:
        weights = [1.0] * len(policies)
    return sum(w * p.lead_time_days_mean for w, p in zip(weights, policies, strict=True)) \
        / sum(weights)


def defections_by_cause(segments: list[Any]) -> dict[str, float]:
    """Defections of the window by cause (DOMAIN §9): at a stockout, at the delivery of a
    late, a damaged or a wrongly documented order; they sum to the defections."""
    return {key: float(sum(seg.defected_by[i] for seg in segments))
            for i, key in enumerate(DEFECTION_KEYS)}


def customer_figures(segments: list[Any]) -> dict[str, float]:
    """The service of the customers of some segments pooled (DOMAIN §3): line and order fill
    rates, on-time and perfect-order rates, mean order cycle time, lost sales, defections
    (in all and by cause, DOMAIN §9) and the value of the customers lost; rates NaN where
    the segments had no orders."""
    def total(attr: str) -> float:
        return float(sum(getattr(seg, attr) for seg in segments))

    return {
        "line_fill_rate": ratio(total("lines_full"), total("lines_n")),
        "order_fill_rate": ratio(total("orders_full"), total("orders")),
        "on_time_rate": ratio(total("on_time"), total("closed")),
        "perfect_order_rate": ratio(total("perfect"), total("closed")),
        "order_cycle_time_mean_days": ratio(total("ct_sum"), total("ct_n")),
        "lost_sales_units": total("lost_units"),
        "defections": total("defections"),
        **defections_by_cause(segments),
        "lost_customer_value": total("lost_clv"),
    }


def location_figures(model: ServiceModel, delivered: list[int], window: Window) -> Rows:
    """Figures per location of a network (DOMAIN §7), over its stock points, keys
    :data:`~servicesim.kpis.LOCATION_FIGURES`: the service of its customers (fill rate β
    from its own stock, ready rate, no-backorder time share, mean customer wait), stock (on
    hand, customer and internal backorders, on order, in transit from upstream, its orders'
    units waiting upstream, inventory value at cost, echelon inventory), flows in the
    window (units demanded by and delivered to its customers, units received from upstream
    or the supplier), the internal orders it received (units, units shipped, fill rate,
    mean wait), the mean lead time of its own replenishment (wait upstream + transit) and
    lateral supply (units it supplied to other locations' customers, units its customers
    received from their fallback)."""
    w = window.days
    rows: Rows = {}
    served_from = {name: spec.location for name, spec in model.scenario.segments.items()}
    groups: dict[str, list[int]] = {}
    for k, st in enumerate(model.stocks):
        groups.setdefault(st.location, []).append(k)
    below = downstream(model)
    for location, ks in groups.items():
        sts = [model.stocks[k] for k in ks]
        ordered = sum(st.units_ordered for st in sts)
        int_units = sum(st.int_units for st in sts)
        shipped = sum(st.int_shipped for st in sts)
        lead_units = sum(st.lead_units for st in sts)
        ech_units, ech_value = echelon(
            [st for st in model.stocks if st.location in below[location]], location, w)
        row = {
            "fill_rate": ratio(sum(st.units_first for st in sts), ordered),
            "ready_rate": sum(st.t_ready for st in sts) / (w * len(sts)),
            "cycle_service_level": ratio(sum(st.receipts_ok for st in sts),
                                         sum(st.receipts for st in sts)),
            "prob_no_backorder": sum(st.t_nobo for st in sts) / (w * len(sts)),
            # Little: mean wait over all units demanded = customer backorders ÷ demand rate
            "avg_customer_wait_days": ratio(sum(st.a_bo - st.a_ibo for st in sts), ordered),
            "avg_on_hand_units": sum(st.a_oh for st in sts) / w,
            "avg_backorder_units": sum(st.a_bo - st.a_ibo for st in sts) / w,
            "avg_internal_backorder_units": sum(st.a_ibo for st in sts) / w,
            "avg_on_order_units": sum(st.a_oo for st in sts) / w,
            "avg_in_transit_units": sum(st.a_it for st in sts) / w,
            "avg_waiting_upstream_units": sum(st.a_wup for st in sts) / w,
            "avg_inventory_value": sum(st.a_oh * st.unit_cost for st in sts) / w,
            "avg_in_transit_value": sum(st.a_it * st.unit_cost for st in sts) / w,
            "avg_echelon_units": ech_units,
            "avg_echelon_value": ech_value,
            "units_demanded": float(ordered),
            "units_delivered": float(sum(delivered[k] for k in ks)),
            "units_received": float(sum(st.units_received for st in sts)),
            "internal_units_ordered": float(int_units),
            "internal_units_shipped": float(shipped),
            "internal_fill_rate": ratio(int_units - sum(st.int_short for st in sts),
                                        int_units),
            "internal_order_wait_days": ratio(sum(st.int_wait for st in sts), shipped),
            "replenishment_lead_time_days": ratio(sum(st.lead_sum for st in sts),
                                                  lead_units),
            "planned_lead_time_days": planned_lead_time(model, sts),
            # lateral supply: units this location shipped to other locations' customers,
            # and units its customers received from a fallback location
            "lateral_units_supplied": float(sum(st.lateral_out for st in sts)),
            "lateral_units_received": float(sum(st.lateral_in for st in sts)),
            **customer_figures([seg for seg in model.segments
                                if served_from[seg.name] == location]),
        }
        assert tuple(row) == LOCATION_FIGURES
        rows[location] = row
    return rows
