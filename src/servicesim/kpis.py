"""The figures servicesim reports: keys, units and one-line definitions (DOMAIN §3, §4).

Money is summed over the measured window ``[warmup_days, horizon_days]``; ``roi`` is
annualised.  The summary of a run uses exactly :data:`SUMMARY_KEYS`, in this order.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple


class Kpi(NamedTuple):
    key: str
    label: str
    unit: str  # "fraction", "days", "units", "customers", "money", "money/unit"
    definition: str


KPIS: tuple[Kpi, ...] = (
    Kpi("item_fill_rate", "Item fill rate (β)", "fraction",
        "units shipped from on-hand stock at the first attempt ÷ units ordered"),
    Kpi("line_fill_rate", "Line fill rate", "fraction",
        "order lines filled completely at the first attempt ÷ order lines"),
    Kpi("order_fill_rate", "Order fill rate", "fraction",
        "orders with every line filled completely at the first attempt ÷ orders"),
    Kpi("cycle_service_level", "Cycle service level (α)", "fraction",
        "replenishment cycles with no stockout ÷ cycles (checked just before each receipt)"),
    Kpi("ready_rate", "Ready rate", "fraction",
        "fraction of time on-hand > 0 (averaged over SKUs)"),
    Kpi("perfect_order_rate", "Perfect order rate", "fraction",
        "orders complete AND on time AND damage-free AND correctly documented ÷ orders"),
    Kpi("perfect_order_index", "Perfect order index", "fraction",
        "product of the complete, on-time, damage-free and documentation rates"),
    Kpi("on_time_rate", "On-time rate", "fraction",
        "orders delivered within the segment's promised cycle time ÷ orders"),
    Kpi("order_cycle_time_mean_days", "Order cycle time, mean", "days",
        "mean of (last delivery − order time) over orders with a delivery"),
    Kpi("order_cycle_time_p95_days", "Order cycle time, 95th percentile", "days",
        "95th percentile of the order cycle time"),
    Kpi("avg_on_hand_units", "Average on-hand", "units",
        "time-average on-hand inventory, all SKUs"),
    Kpi("avg_backorder_units", "Average backorders", "units",
        "time-average units on backorder, all SKUs"),
    Kpi("lost_sales_units", "Lost sales", "units",
        "units lost to switch, defect and waits that gave up"),
    Kpi("defections", "Defections", "customers", "customers lost for good"),
    Kpi("defections_stockout", "Defections at stockouts", "customers",
        "customers lost for good at a stockout (the defect reaction)"),
    Kpi("defections_late", "Defections at late orders", "customers",
        "customers lost for good at the delivery of a late order (failure_weights.late)"),
    Kpi("defections_damaged", "Defections at damaged orders", "customers",
        "customers lost for good at the delivery of a damaged order (failure_weights.damaged)"),
    Kpi("defections_documentation", "Defections at documentation errors", "customers",
        "customers lost for good at the delivery of an order with a documentation error "
        "(failure_weights.documentation)"),
    Kpi("revenue", "Revenue", "money",
        "price × units delivered − refunds of returns (+ the salvage value of stock sold "
        "off at the horizon)"),
    Kpi("gross_margin", "Gross margin", "money",
        "revenue − unit cost × (units delivered − units restocked from returns) (and × "
        "units sold off at the horizon)"),
    Kpi("holding_cost", "Holding cost", "money",
        "holding rate × average inventory value (excluding the cost of capital)"),
    Kpi("ordering_cost", "Ordering cost", "money", "fixed cost per purchase order"),
    Kpi("transport_cost", "Transport cost", "money",
        "inbound + outbound (incl. backorder and expedited) shipments and units"),
    Kpi("backorder_cost", "Backorder cost", "money",
        "per unit backordered + per unit-day on backorder + per order with a backordered line"),
    Kpi("operating_profit", "Operating profit", "money",
        "gross margin − logistics cost − fixed cost"),
    Kpi("avg_inventory_value", "Average inventory value", "money",
        "time-average on-hand inventory at unit cost"),
    Kpi("capital_employed", "Capital employed", "money",
        "average inventory value + fixed logistics assets + receivables"),
    Kpi("roi", "ROI (annualised)", "fraction",
        "annualised operating profit ÷ average capital employed"),
    Kpi("economic_profit", "Economic profit", "money",
        "operating profit − cost of capital × capital employed (for the window)"),
    Kpi("lost_customer_value", "Value of customers lost", "money",
        "lifetime value (CLV) of the customers who defected in the window; beside the "
        "costs, never subtracted from profit"),
    Kpi("salvage_value", "Salvage value", "money",
        "salvage value per unit × units left on hand at the horizon (SKUs with a salvage "
        "value; part of revenue); 0 when none has one"),
    Kpi("return_rate", "Return rate", "fraction",
        "units back from customers ÷ units delivered (returns, DOMAIN §10; 0 without)"),
    Kpi("units_returned", "Units returned", "units",
        "units back at the stock point from customers (damaged, wrong, customer returns)"),
    Kpi("units_restocked", "Units restocked", "units",
        "returned units put back on hand after processing (wrong, customer returns and "
        "repaired damaged units)"),
    Kpi("units_scrapped", "Units scrapped", "units",
        "returned damaged units not repaired: their cost is lost"),
    Kpi("refunds", "Refunds", "money",
        "price × units returned; revenue is net of them"),
    Kpi("reverse_logistics_cost", "Reverse logistics cost", "money",
        "per returned unit + per return shipment + repairs; part of the logistics cost"),
)

SUMMARY_KEYS: tuple[str, ...] = tuple(k.key for k in KPIS)
PROBABILITY_KEYS: frozenset[str] = frozenset(
    k.key for k in KPIS if k.unit == "fraction" and k.key != "roi"
)
"""Figures that are probabilities: their confidence intervals are clipped to [0, 1]."""
KPI_BY_KEY: dict[str, Kpi] = {k.key: k for k in KPIS}
KEY_FIGURES: tuple[str, ...] = (
    "item_fill_rate", "order_fill_rate", "on_time_rate", "order_cycle_time_mean_days",
    "lost_sales_units", "defections", "revenue", "operating_profit", "avg_inventory_value",
    "roi", "economic_profit",
)
"""The figures a what-if comparison's report and chart show (its table has every figure)."""

LOCATION_KPIS: tuple[Kpi, ...] = (
    Kpi("fill_rate", "Fill rate of its customers (β)", "fraction",
        "units its customers received from stock at the first attempt ÷ units they ordered"),
    Kpi("ready_rate", "Ready rate", "fraction",
        "share of time with stock on hand, mean over the SKUs it holds"),
    Kpi("cycle_service_level", "Cycle service level (α)", "fraction",
        "its replenishment cycles (receipts) with no backorder just before ÷ cycles"),
    Kpi("prob_no_backorder", "Time without backorders", "fraction",
        "share of time with no backorder (customers' or internal), mean over its SKUs"),
    Kpi("avg_customer_wait_days", "Mean customer wait", "days",
        "customers' backorders ÷ their demand rate: the mean wait per unit demanded"),
    Kpi("avg_on_hand_units", "Average on hand", "units", "time-average units on hand"),
    Kpi("avg_backorder_units", "Customer backorders", "units",
        "time-average units backordered to its customers"),
    Kpi("avg_internal_backorder_units", "Internal backorders", "units",
        "time-average units of downstream locations' orders waiting here"),
    Kpi("avg_on_order_units", "Average on order", "units",
        "time-average units it has ordered and not received"),
    Kpi("avg_in_transit_units", "In transit to it", "units",
        "time-average units shipped from upstream and not yet arrived"),
    Kpi("avg_waiting_upstream_units", "Waiting upstream", "units",
        "time-average units of its orders waiting for stock upstream"),
    Kpi("avg_inventory_value", "Inventory value", "money",
        "time-average value at cost of its units on hand"),
    Kpi("avg_in_transit_value", "In-transit value", "money",
        "time-average value at cost of the units in transit to it"),
    Kpi("avg_echelon_units", "Echelon inventory", "units",
        "its on hand + on hand and in transit at every location below it − customers' "
        "backorders at it and below it (time average)"),
    Kpi("avg_echelon_value", "Echelon value", "money",
        "echelon inventory at cost (time average)"),
    Kpi("units_demanded", "Units demanded", "units", "units its customers ordered"),
    Kpi("units_delivered", "Units delivered", "units", "units delivered to its customers"),
    Kpi("units_received", "Units received", "units",
        "units received from its upstream location or the supplier"),
    Kpi("internal_units_ordered", "Internal units ordered", "units",
        "units other locations ordered from it"),
    Kpi("internal_units_shipped", "Internal units shipped", "units",
        "units it shipped to other locations"),
    Kpi("internal_fill_rate", "Internal fill rate", "fraction",
        "units of other locations' orders shipped from stock at once ÷ units they ordered"),
    Kpi("internal_order_wait_days", "Internal order wait", "days",
        "mean wait here of the units it shipped to other locations"),
    Kpi("replenishment_lead_time_days", "Replenishment lead time", "days",
        "mean lead time of the units it received from upstream: wait there + transit"),
    Kpi("planned_lead_time_days", "Planned lead time", "days",
        "the lead time its policies were derived with: the supplier's, or the lane's transit "
        "+ the METRIC-style expected wait upstream; mean over its SKUs weighted by demand"),
    Kpi("lateral_units_supplied", "Lateral units supplied", "units",
        "units it shipped to other locations' customers as their fallback (lateral supply)"),
    Kpi("lateral_units_received", "Lateral units received", "units",
        "units its customers received from their fallback location (lateral supply); "
        "counted short here, so outside its fill rate"),
    Kpi("line_fill_rate", "Line fill rate of its customers", "fraction",
        "order lines of its customers filled completely at the first attempt ÷ lines"),
    Kpi("order_fill_rate", "Order fill rate of its customers", "fraction",
        "orders of its customers with every line filled at the first attempt ÷ orders"),
    Kpi("on_time_rate", "On-time rate of its customers", "fraction",
        "its customers' orders delivered within their segment's promise ÷ orders closed"),
    Kpi("perfect_order_rate", "Perfect order rate of its customers", "fraction",
        "its customers' orders complete, on time, undamaged and correctly documented ÷ "
        "orders closed"),
    Kpi("order_cycle_time_mean_days", "Order cycle time of its customers", "days",
        "mean delivery time − order time of its customers' orders"),
    Kpi("lost_sales_units", "Lost sales of its customers", "units",
        "units its customers did not buy here after a stockout (switch, defect, gave up)"),
    Kpi("defections", "Defections of its customers", "customers",
        "its customers lost for good after stockouts or other service failures"),
    Kpi("defections_stockout", "Its defections at stockouts", "customers",
        "its customers lost for good at a stockout"),
    Kpi("defections_late", "Its defections at late orders", "customers",
        "its customers lost for good at the delivery of a late order"),
    Kpi("defections_damaged", "Its defections at damaged orders", "customers",
        "its customers lost for good at the delivery of a damaged order"),
    Kpi("defections_documentation", "Its defections at documentation errors", "customers",
        "its customers lost for good at the delivery of an order with a documentation error"),
    Kpi("lost_customer_value", "Value of its customers lost", "money",
        "the future margin (CLV) of the customers it lost"),
)
"""The figures of each location of a network (DOMAIN §7), over the measured window, in the
order of their ``<location>.<figure>`` columns."""
LOCATION_FIGURES: tuple[str, ...] = tuple(k.key for k in LOCATION_KPIS)
LOCATION_KPI_BY_KEY: dict[str, Kpi] = {k.key: k for k in LOCATION_KPIS}


def location_columns(locations: Sequence[str]) -> tuple[str, ...]:
    """The columns ``<location>.<figure>`` of a network's locations (in the order given),
    each with :data:`LOCATION_FIGURES` in order."""
    return tuple(f"{location}.{figure}" for location in locations
                 for figure in LOCATION_FIGURES)


def figure_kpi(key: str) -> Kpi | None:
    """The definition of a summary figure, or of a location's figure by its column
    ``<location>.<figure>`` (None for neither)."""
    if key in KPI_BY_KEY:
        return KPI_BY_KEY[key]
    location, dot, figure = key.rpartition(".")
    return LOCATION_KPI_BY_KEY.get(figure) if dot and location else None


def is_probability(key: str) -> bool:
    """Whether the figure ``key`` (a summary key or a ``<location>.<figure>`` column) is a
    probability, whose confidence interval is clipped to [0, 1]."""
    if key in PROBABILITY_KEYS or key == ACHIEVED:
        return True
    if key in KPI_BY_KEY:  # a summary figure in % that is no probability (ROI) is not clipped
        return False
    kpi = figure_kpi(key)
    return kpi is not None and kpi.unit == "fraction"


# ------------------------------------------- the achieved service of a swept location target

ACHIEVED = "achieved_target_fill_rate"
"""The figure the charts set against a swept location target (:func:`achieved_service`):
added to each alternative's figures when the swept key names locations' targets."""
_LOCATION_TARGET = ("locations", "policy", "service_target")


def target_locations(key: str | None) -> tuple[str, ...]:
    """The locations whose service target a swept key sets: ``locations.<L>.policy.
    service_target``, or such keys joined by ``+`` (all take the same value); () for any
    other key (a joined key with any other part included)."""
    if not key:
        return ()
    found = []
    for part in key.split("+"):
        pieces = part.strip().split(".")
        if len(pieces) != 4 or (pieces[0], pieces[2], pieces[3]) != _LOCATION_TARGET:
            return ()
        found.append(pieces[1])
    return tuple(dict.fromkeys(found))


def achieved_service(row: Mapping[str, Any], locations: Sequence[str]) -> float:
    """The fill rate the named locations achieved in one row of ``runs.csv`` (DOMAIN §3,
    §7): their fill rates weighted by their weights, where a location serving customers
    weighs its customers' units (``<L>.fill_rate`` by ``<L>.units_demanded``) and one
    serving none (a DC) the units other locations ordered from it (``<L>.internal_fill_rate``
    by ``<L>.internal_units_ordered``).  NaN when no named location had any demand."""
    if "*" in locations:  # every location: those with figures in the row
        locations = list(dict.fromkeys(k.rpartition(".")[0] for k in row
                                       if k.endswith(".units_demanded")))
    total = weight_sum = 0.0
    for location in locations:
        demanded = _cell(row, f"{location}.units_demanded")
        rate, weight = (_cell(row, f"{location}.fill_rate"), demanded) if demanded > 0 \
            else (_cell(row, f"{location}.internal_fill_rate"),
                  _cell(row, f"{location}.internal_units_ordered"))
        if weight > 0 and math.isfinite(rate):
            total += rate * weight
            weight_sum += weight
    return total / weight_sum if weight_sum > 0 else math.nan


def _cell(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) \
        else math.nan


def location_words(locations: Sequence[str]) -> str:
    """The named locations in words: "north, south", or "every location" for ``*``."""
    return "every location" if "*" in locations else ", ".join(locations)
