"""The charts of a sweep or an optimisation under their historical name: ``plot_all``,
``CHARTS`` and every chart function, from :mod:`servicesim.outputs.charts` (one module per
chart)."""

from __future__ import annotations

from .charts import (
    CHARTS,
    GREY,
    MAX_SHOWN,
    ONLY_WHEN,
    PALETTE,
    STYLE_FILE,
    charts_for,
    cost_breakdown_chart,
    cycle_time_chart,
    heat_map_chart,
    house_style,
    inventory_chart,
    is_target_key,
    network_chart,
    objective_chart,
    plot_all,
    service_chart,
    tradeoff_chart,
    unmet_demand_chart,
)
from .results import Alternative, PlotError, RecordedRun, Results, load_results

__all__ = [
    "CHARTS",
    "GREY",
    "MAX_SHOWN",
    "ONLY_WHEN",
    "PALETTE",
    "STYLE_FILE",
    "Alternative",
    "PlotError",
    "RecordedRun",
    "Results",
    "charts_for",
    "cost_breakdown_chart",
    "cycle_time_chart",
    "heat_map_chart",
    "house_style",
    "inventory_chart",
    "is_target_key",
    "load_results",
    "network_chart",
    "objective_chart",
    "plot_all",
    "service_chart",
    "tradeoff_chart",
    "unmet_demand_chart",
]
