"""The figures servicesim reports: keys, units and one-line definitions (DOMAIN §3, §4).

Money is summed over the measured window ``[warmup_days, horizon_days]``; ``roi`` is
annualised.  The summary of a run uses exactly :data:`SUMMARY_KEYS`, in this order.
"""

from __future__ import annotations

from typing import NamedTuple


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
    Kpi("revenue", "Revenue", "money", "price × units delivered"),
    Kpi("gross_margin", "Gross margin", "money", "revenue − unit cost × units delivered"),
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
