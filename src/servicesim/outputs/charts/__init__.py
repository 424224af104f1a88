"""Trade-off charts of a sweep or an optimisation, ready for a client slide.

``plot_all("results/baseline/sweep-...")`` reads the folder a sweep or ``optimize`` wrote
(:func:`~servicesim.outputs.results.load_results`) and writes seven charts, each as a 300 dpi
PNG and an SVG, into ``<folder>/charts/``; one module per chart:

1. :func:`objective_chart` (``objective.py``) — the objective (ROI by default) against the
   swept parameter, 95 % confidence band, the optimum and today marked, the levels not
   significantly worse shaded; the achieved fill rate beneath;
2. :func:`cost_breakdown_chart` (``cost_breakdown.py``) — logistics cost by kind and the lost
   margin, stacked, and beside it the value of the customers lost;
3. :func:`tradeoff_chart` (``tradeoff.py``) — revenue, total cost and operating profit, and
   the achieved fill rate, against the swept parameter;
4. :func:`inventory_chart` (``inventory.py``) — achieved fill rate against inventory
   investment (the exchange curve), with the efficient frontier of several series;
5. :func:`service_chart` (``service.py``) — target against achieved service (β and α);
6. :func:`cycle_time_chart` (``cycle_time.py``) — the order-cycle-time ECDF of the optimum
   and two other alternatives, with each segment's promise;
7. :func:`unmet_demand_chart` (``unmet_demand.py``) — where the units short at a stockout
   went (backorder, wait, switch, defect), and the defections;
9. :func:`heat_map_chart` (``heatmap.py``) — the objective over two swept or searched
   parameters (a colour grid for a sweep, the evaluated points for an optimisation), the
   optimum, the not-worse set and today marked; drawn only for a folder with exactly two
   numeric parameters (:data:`ONLY_WHEN`);
10. :func:`network_chart` (``network_map.py``) — the supplier, locations and lanes of the
    best alternative with their annual flows; drawn only for a network scenario.

A frontier folder (``servicesim frontier``, :func:`is_frontier_folder`) gets its own two
charts instead (:data:`FRONTIER_CHARTS`):

11. :func:`frontier_chart` (``frontier.py``) — the inventory efficient frontier, today, the
    best common target and the recommendation, and how far today sits from the frontier;
12. :func:`targets_chart` (``targets.py``) — the recommended target of each SKU against its
    velocity and unit cost, today's beside it (per class: a dot chart).

A risk folder (``servicesim risk``, :func:`is_risk_folder`) gets its own two charts
(:data:`RISK_CHARTS`, ``risk.py``):

13. :func:`risk_distribution_chart` — ROI over the replications of each alternative, the
    mean, 5th percentile and worst-5 % mean marked;
14. :func:`risk_recovery_chart` — the trailing 7-day fill rate around a disruption, aligned
    on each event's start, mean and 90 % band per alternative.

A run folder of a scenario that re-plans (``servicesim run`` with ``policy.replan``,
:func:`is_history_folder`) gets one chart, :func:`plot_service_history`:

15. :func:`service_over_time_chart` (``service_over_time.py``) — the fill rate achieved in each
    re-planning period against the policy's predicted service and the target.

Charts 6 and 7 and the lost margin of chart 2 need more than the summary figures of
``runs.csv``: replication 0 of every alternative records them when it runs (the results
store's ``chart_records.json``).  Each such chart says so in its caption.

These modules only read result files; they never run the model (an import contract checks
it).  Figures are built on matplotlib's Agg canvas without pyplot, under the house style
``style/servicesim.mplstyle`` applied as a context; global ``rcParams`` are never touched.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ...files import atomic_write_bytes
from ..frontier_results import FrontierResults, is_frontier_folder, load_frontier
from ..results import PlotError, Results, load_results
from ..risk_results import RiskResults, is_risk_folder, load_risk
from .common import GREY, PALETTE, STYLE_FILE, house_style, is_target_key
from .cost_breakdown import cost_breakdown_chart
from .cycle_time import cycle_time_chart
from .frontier import FRONTIER_STEM, frontier_chart
from .heatmap import heat_map_applies, heat_map_chart
from .inventory import inventory_chart
from .network_map import NETWORK_STEM, is_network, network_chart
from .objective import objective_chart
from .risk import (
    DISTRIBUTION_STEM,
    RECOVERY_STEM,
    risk_distribution_chart,
    risk_recovery_chart,
)
from .service import service_chart
from .service_over_time import (
    SERVICE_OVER_TIME_STEM,
    is_history_folder,
    load_history,
    service_over_time_chart,
)
from .targets import TARGETS_STEM, targets_chart
from .tradeoff import tradeoff_chart
from .unmet_demand import MAX_SHOWN, unmet_demand_chart

__all__ = [
    "CHARTS",
    "FRONTIER_CHARTS",
    "GREY",
    "MAX_SHOWN",
    "ONLY_WHEN",
    "PALETTE",
    "RISK_CHARTS",
    "STYLE_FILE",
    "cost_breakdown_chart",
    "charts_for",
    "cycle_time_chart",
    "frontier_chart",
    "heat_map_chart",
    "house_style",
    "inventory_chart",
    "is_frontier_folder",
    "is_history_folder",
    "is_risk_folder",
    "is_target_key",
    "network_chart",
    "objective_chart",
    "plot_all",
    "plot_frontier",
    "plot_service_history",
    "plot_risk",
    "risk_distribution_chart",
    "risk_recovery_chart",
    "service_chart",
    "service_over_time_chart",
    "targets_chart",
    "tradeoff_chart",
    "unmet_demand_chart",
]

CHARTS: dict[str, Callable[[Results], Any]] = {
    "01-objective": objective_chart,
    "02-cost-breakdown": cost_breakdown_chart,
    "03-revenue-cost-profit": tradeoff_chart,
    "04-inventory-tradeoff": inventory_chart,
    "05-target-vs-achieved": service_chart,
    "06-cycle-time": cycle_time_chart,
    "07-unmet-demand": unmet_demand_chart,
    "09-heat-map": heat_map_chart,
    NETWORK_STEM: network_chart,
}
"""File stem → chart function, in the order of the module docstring."""

FRONTIER_CHARTS: dict[str, Callable[[FrontierResults], Any]] = {
    FRONTIER_STEM: frontier_chart,
    TARGETS_STEM: targets_chart,
}
"""The charts of a frontier folder: file stem → chart function."""

RISK_CHARTS: dict[str, Callable[[RiskResults], Any]] = {
    DISTRIBUTION_STEM: risk_distribution_chart,
    RECOVERY_STEM: risk_recovery_chart,
}
"""The charts of a risk folder: file stem → chart function."""

ONLY_WHEN: dict[str, Callable[[Results], bool]] = {"09-heat-map": heat_map_applies,
                                                   NETWORK_STEM: is_network}
"""Charts drawn only for some folders: stem → whether it applies (not drawn, no warning)."""


def charts_for(results: Results) -> list[str]:
    """The stems of the charts a results folder gets, in :data:`CHARTS` order."""
    return [stem for stem in CHARTS if ONLY_WHEN.get(stem, lambda _: True)(results)]


def plot_all(results_dir: str | Path, out_dir: str | Path | None = None,
             formats: Sequence[str] = ("png", "svg"), objective: str | None = None
             ) -> list[Path]:
    """Write every chart of a results folder as PNG (300 dpi) and/or SVG; their paths.

    ``out_dir`` defaults to ``results_dir/charts``; a frontier folder gets its own charts
    (:func:`plot_frontier`), and so does a risk folder (:func:`plot_risk`).  Raises
    :class:`PlotError` for a folder without results or an unknown format.
    """
    formats = _formats(formats)
    if is_frontier_folder(results_dir):
        return plot_frontier(results_dir, out_dir, formats)
    if is_risk_folder(results_dir):
        return plot_risk(results_dir, out_dir, formats)
    results = load_results(results_dir, objective)
    folder = Path(out_dir) if out_dir is not None else results.directory / "charts"
    written = []
    for stem in charts_for(results):
        try:
            figure = CHARTS[stem](results)
        except PlotError as exc:  # e.g. a folder without chart records
            warnings.warn(f"chart {stem} skipped: {exc}", stacklevel=2)
            continue
        written += _save(figure, folder / stem, formats)
    return written


def plot_frontier(results_dir: str | Path, out_dir: str | Path | None = None,
                  formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write the charts of a frontier folder (:data:`FRONTIER_CHARTS`, DOMAIN §12) as PNG
    (300 dpi) and/or SVG into ``out_dir`` (default ``results_dir/charts``); their paths.
    Raises :class:`PlotError` naming the file when the folder is incomplete or broken."""
    formats = _formats(formats)
    results = load_frontier(results_dir)
    folder = Path(out_dir) if out_dir is not None else results.directory / "charts"
    written = []
    for stem, chart in FRONTIER_CHARTS.items():
        written += _save(chart(results), folder / stem, formats)
    return written


def plot_service_history(results_dir: str | Path, out_dir: str | Path | None = None,
                         formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write chart 15 (service over time) of a run folder that re-planned
    (``policy_history.csv``, DOMAIN §8) into ``out_dir`` (default ``results_dir/charts``);
    the paths written.  Raises :class:`PlotError` naming the file when it is broken."""
    formats = _formats(formats)
    history = load_history(results_dir)
    folder = Path(out_dir) if out_dir is not None else history.directory / "charts"
    return _save(service_over_time_chart(history), folder / SERVICE_OVER_TIME_STEM, formats)


def plot_risk(results_dir: str | Path, out_dir: str | Path | None = None,
              formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write the charts of a risk folder (:data:`RISK_CHARTS`, DOMAIN §11) as PNG (300 dpi)
    and/or SVG into ``out_dir`` (default ``results_dir/charts``); their paths.  Raises
    :class:`PlotError` naming the file when the folder is incomplete or broken."""
    formats = _formats(formats)
    results = load_risk(results_dir)
    folder = Path(out_dir) if out_dir is not None else results.directory / "charts"
    written = []
    for stem, chart in RISK_CHARTS.items():
        written += _save(chart(results), folder / stem, formats)
    return written


def _formats(formats: Sequence[str]) -> list[str]:
    formats = [f.strip().lower().lstrip(".") for f in formats if f.strip()]
    unknown = [f for f in formats if f not in ("png", "svg", "pdf")]
    if unknown or not formats:
        raise PlotError(f"unknown chart format(s) {', '.join(unknown) or '(none)'}; "
                        "use png, svg or pdf")
    return formats


def _save(figure: Any, stem: Path, formats: Sequence[str]) -> list[Path]:
    """One figure in each format beside ``stem``, each file written atomically."""
    written = []
    for fmt in formats:
        buffer = io.BytesIO()  # drawn whole first: a full disk never leaves half a chart
        with house_style():
            figure.savefig(buffer, format=fmt, dpi=300, metadata=_metadata(fmt))
        written.append(atomic_write_bytes(stem.with_name(f"{stem.name}.{fmt}"),
                                          buffer.getvalue()))
    return written


def _metadata(fmt: str) -> dict[str, Any] | None:
    if fmt == "svg":
        return {"Date": None}  # reproducible files
    if fmt == "png":
        return {"Software": "servicesim"}
    return None
