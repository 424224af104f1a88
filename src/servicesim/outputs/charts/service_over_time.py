"""Chart 15: service over time in a run that re-plans (DOMAIN §5, §8): the fill rate achieved
in each re-planning period against the fill rate the period's policy predicts and the target,
for all SKUs together and for the SKUs with the most demand.

It reads ``policy_history.csv`` and ``scenario.yaml`` of a ``servicesim run`` folder."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from ...experiment.store import read_scenario, read_table
from ...files import OutputError
from ..results import PlotError
from .common import GREY, PALETTE, exact_formatter, new_figure, page, styled

SERVICE_OVER_TIME_STEM = "15-service-over-time"
HISTORY_FILE = "policy_history.csv"
SKU_PANELS = 3
"""Besides all SKUs together, this many SKUs (those with the most demand) get a panel."""


@dataclass
class Periods:
    """One series of re-planning periods: their start and end days, the achieved fill rate
    (mean and 95 % CI over replications), the predicted service and the target."""

    name: str
    start: np.ndarray
    end: np.ndarray
    achieved: np.ndarray
    low: np.ndarray
    high: np.ndarray
    predicted: np.ndarray
    target: float
    demanded: float


@dataclass
class ServiceHistory:
    """What the chart reads of a run folder."""

    directory: Path
    scenario_name: str
    metric: str
    warmup_days: float
    horizon_days: float
    every_days: float
    basis: str
    replications: int
    rows: list[dict[str, Any]]
    targets: dict[str, float]


def is_history_folder(directory: str | Path) -> bool:
    """Whether ``directory`` holds the policy history of a run that re-planned."""
    return (Path(directory) / HISTORY_FILE).is_file()


def load_history(directory: str | Path) -> ServiceHistory:
    """The policy history of a run folder, with the scenario it ran; a missing or broken
    file raises :class:`PlotError` naming it."""
    folder = Path(directory)
    try:
        table = read_table(folder / HISTORY_FILE)
        scenario = read_scenario(folder)
    except (OutputError, ValueError) as exc:
        raise PlotError(str(exc)) from None
    if table is None:
        raise PlotError(f"{folder / HISTORY_FILE} holds no rows")
    rows = table.rows()
    replan = scenario.policy.replan
    if replan is None:
        raise PlotError(f"{folder / 'scenario.yaml'} has no policy.replan: the history "
                        "does not belong to it")
    targets = {name: float(policy.service_target)
               for name, policy in scenario.sku_policies().items()
               if policy.service_target is not None}
    return ServiceHistory(folder, scenario.name, scenario.policy.service_metric,
                          scenario.run.warmup_days, scenario.run.horizon_days,
                          replan.every_days, replan.basis,
                          len({row["replication"] for row in rows}), rows, targets)


def _interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95 % Student-t interval (NaN bounds with one value)."""
    x = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, x.size - 1)) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, mean - half, mean + half


def _periods(name: str, rows: Sequence[Mapping[str, Any]], targets: Mapping[str, float]
             ) -> Periods:
    """The periods of ``rows`` (one SKU's, or every SKU's pooled per replication: units
    short over units demanded; the predicted service and the target weighted by demand)."""
    cells: dict[tuple[float, float], dict[int, list[float]]] = defaultdict(dict)
    for row in rows:
        cell = cells[(float(row["day"]), float(row["until_day"]))].setdefault(
            int(row["replication"]), [0.0, 0.0, 0.0, 0.0])
        demanded = float(row["units_demanded"])
        cell[0] += demanded
        cell[1] += float(row["units_short"])
        predicted = row.get("predicted_service")
        if isinstance(predicted, float | int) and math.isfinite(predicted):
            cell[2] += demanded * float(predicted)
        cell[3] += demanded * targets.get(str(row["sku"]), math.nan)
    keys = sorted(cells)
    achieved, predicted, weights, target_sum = [], [], 0.0, 0.0
    for key in keys:
        runs = cells[key].values()
        achieved.append(_interval([1 - short / d for d, short, _, _ in runs if d > 0]))
        total = sum(c[0] for c in runs)
        predicted.append(sum(c[2] for c in runs) / total if total > 0 else math.nan)
        weights += total
        target_sum += sum(c[3] for c in runs)
    arr = np.asarray(achieved, dtype=float).reshape(-1, 3)
    return Periods(name, np.array([k[0] for k in keys]), np.array([k[1] for k in keys]),
                   arr[:, 0], arr[:, 1], arr[:, 2], np.asarray(predicted, dtype=float),
                   target_sum / weights if weights > 0 else math.nan, weights)


def _series(history: ServiceHistory) -> list[Periods]:
    """All SKUs pooled, then the :data:`SKU_PANELS` SKUs with the most demand."""
    by_sku: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in history.rows:
        by_sku[str(row["sku"])].append(row)
    skus = [_periods(name, rows, history.targets) for name, rows in by_sku.items()]
    skus.sort(key=lambda p: (-p.demanded, p.name))
    if len(skus) == 1:
        return skus
    pooled = _periods(f"all {len(skus)} SKUs", history.rows, history.targets)
    return [pooled, *skus[:SKU_PANELS]]


def _steps(ax: Any, p: Periods, values: np.ndarray, **style: Any) -> Any:
    """Values held over each period, as steps."""
    xs = np.append(p.start, p.end[-1])
    return ax.stairs(values, xs, baseline=None, **style)


def _panel(ax: Any, p: Periods, history: ServiceHistory) -> None:
    xs = np.append(p.start, p.end[-1])
    ax.axvspan(0, history.warmup_days, color="#eeeeee", zorder=0,
               label="warm-up")
    ok = np.isfinite(p.low) & np.isfinite(p.high)
    if ok.any():
        ax.stairs(np.where(ok, p.high, np.nan), xs, baseline=np.where(ok, p.low, np.nan),
                  fill=True, color=PALETTE[0], alpha=0.18, label="95 % CI")
    _steps(ax, p, p.achieved, color=PALETTE[0], linewidth=2.2, label="achieved fill rate β")
    symbol = "β" if history.metric == "fill_rate" else "α"
    _steps(ax, p, p.predicted, color=PALETTE[1], linewidth=1.8, linestyle="--",
           label=f"predicted {symbol} of the policy")
    if math.isfinite(p.target):
        ax.axhline(p.target, color=GREY, linestyle=":", linewidth=1.6,
                   label=f"target {symbol}")
    ax.set_title(p.name, loc="left", fontsize=14, fontweight="bold")
    values = [v for v in (*p.achieved, *p.low, *p.high, *p.predicted, p.target)
              if math.isfinite(v)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = 0.06 * (high - low or 0.05)
    ax.set_ylim(max(0.0, low - pad), min(1.0, high + pad) if high <= 1.0 else high + pad)
    ax.set_xlim(0, history.horizon_days)
    ax.yaxis.set_major_formatter(exact_formatter("percent"))


@styled
def service_over_time_chart(history: ServiceHistory) -> Any:
    """Chart 15: per re-planning period, the achieved fill rate (mean and 95 % CI over
    replications), the predicted service of the policy then in force and the target; all
    SKUs pooled and the SKUs with the most demand."""
    series = _series(history)
    ncols = 1 if len(series) == 1 else 2
    nrows = math.ceil(len(series) / ncols)
    figure, axes = new_figure(nrows, ncols, sharex=True)
    axes = np.atleast_1d(axes).ravel()
    for ax, p in zip(axes, series, strict=False):
        _panel(ax, p, history)
    for ax in axes[len(series):]:
        ax.set_visible(False)
    for ax in axes[-ncols:]:
        ax.set_xlabel("Day of the run")
    basis = ("the demand seen in a trailing window" if history.basis == "observed"
             else "the customers active then")
    page(figure, f"{history.scenario_name}: service over time with re-planning",
         f"Every {history.every_days:g} days each SKU's policy is derived again from "
         f"{basis}, with the same target (DOMAIN §8).  Steps: the fill rate achieved while "
         "each policy was in force (units demanded then, not shipped at once), mean over "
         f"{history.replications} replications with its 95 % confidence interval; dashed: "
         "what the formula predicts for that policy; dotted: the target (pooled panel: "
         "weighted by demand).  A gap that stays comes from sales lost at a stockout (the "
         "derivation assumes backorders), lumpy demand and random lead times.  "
         f"Results folder {history.directory.name}.")
    _legend_under_header(figure, axes[0])
    return figure


_LEGEND_INCHES = 0.45


def _legend_under_header(figure: Any, ax: Any) -> None:
    """One legend for every panel, in a row between the header and the panels (the layout
    gives up that much height)."""
    engine = figure.get_layout_engine()
    left, bottom, width, height = engine.get()["rect"]
    band = _LEGEND_INCHES / figure.get_figheight()
    engine.set(rect=(left, bottom, width, height - band))
    handles, labels = ax.get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.008, bottom + height),
                  ncols=len(handles), frameon=False, borderaxespad=0.0)


__all__ = ["HISTORY_FILE", "SERVICE_OVER_TIME_STEM", "ServiceHistory", "is_history_folder",
           "load_history", "service_over_time_chart"]
