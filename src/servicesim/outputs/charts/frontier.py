"""Chart 11: the inventory efficient frontier of ``servicesim frontier`` (DOMAIN §12) — the
best demand-weighted fill rate for each inventory investment, today's allocation inside it,
the recommendation and the best common target, and how far today sits from the frontier."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..frontier_results import FrontierPoint, FrontierResults, column
from .common import (
    GREY,
    PALETTE,
    axis_label,
    exact_formatter,
    legend_above,
    money_text,
    new_figure,
    page,
    place_labels,
    styled,
)

FRONTIER_STEM = "11-frontier"
TODAY_GREY = "#7a7a7a"
KIND_COLOURS = {"today": TODAY_GREY, "common": PALETTE[1], "frontier": PALETTE[0]}
"""Confirmed runs by kind: today grey, common targets orange, frontier allocations blue."""
BUDGET_GID = "budget"
"""The gid of the budget line (tests find it by it)."""



@styled
def frontier_chart(results: FrontierResults) -> Any:
    """Chart 11: the inventory efficient frontier — the best demand-weighted item fill rate
    for each average inventory value, with its 95 % band; today's allocation, the best
    common target and the recommended allocation, the confirmed runs with 95 % CIs in both
    directions, the budget when there is one, and arrows from today to the frontier at the
    same fill rate and at the same investment."""
    figure, ax = new_figure()
    currency = results.currency or ""
    xs = column(results.frontier, "avg_inventory_value")
    ys = column(results.frontier, "item_fill_rate")
    low = column(results.frontier, "item_fill_rate_ci_low") \
        if "item_fill_rate_ci_low" in results.frontier[0] else np.full_like(ys, math.nan)
    high = column(results.frontier, "item_fill_rate_ci_high") \
        if "item_fill_rate_ci_high" in results.frontier[0] else np.full_like(ys, math.nan)
    if np.isfinite(low).any() and np.isfinite(high).any():
        ax.fill_between(xs, low, high, color=PALETTE[0], alpha=0.15, linewidth=0,
                        label="frontier's 95 % band")
    ax.plot(xs, ys, color=PALETTE[0], linewidth=2.6, label="efficient frontier", zorder=3)
    _confirmed(ax, results.confirmed)
    labels = _named_points(ax, results)
    if results.budget is not None:
        ax.axvline(results.budget, color=PALETTE[3], linestyle="--", linewidth=1.8,
                   gid=BUDGET_GID, zorder=2,
                   label=f"budget {money_text(results.budget)} {currency}".rstrip())
    _zoom(ax, results, xs, ys)
    ax.set_xlabel(axis_label("Average inventory value at unit cost", currency))
    ax.set_ylabel("Demand-weighted item fill rate β (%)")
    ax.xaxis.set_major_formatter(exact_formatter("money"))
    ax.yaxis.set_major_formatter(exact_formatter("percent"))
    legend_above(ax, ncols=3)
    page(figure, f"{results.scenario_name}: the inventory efficient frontier",
         _caption(results), subtitle=results.text("decision"))
    _you_are_here(ax, results)
    place_labels(figure, ax, labels, marker_points=9)
    return figure


def _confirmed(ax: Any, points: Sequence[FrontierPoint]) -> None:
    """The confirmed runs: markers with 95 % error bars in both directions; the legend
    shows a frontier allocation's (blue), not today's grey."""
    labelled = next((p for p in points if p.kind == "frontier"), points[0] if points else None)
    for point in points:
        colour = KIND_COLOURS.get(point.kind, PALETTE[0])
        xerr = _error(point.inventory)
        yerr = _error(point.fill)
        ax.errorbar([point.inventory.mean], [point.fill.mean], xerr=xerr, yerr=yerr,
                    color=colour, marker="o", markersize=7, capsize=4, elinewidth=1.4,
                    linestyle="none", zorder=4,
                    label="confirmed runs (95 % CI bars)" if point is labelled else None)


def _error(interval: Any) -> list[list[float]] | None:
    if not interval.known:
        return None
    return [[max(interval.mean - interval.low, 0.0)], [max(interval.high - interval.mean, 0.0)]]


def _named_points(ax: Any, results: FrontierResults) -> list[tuple[float, float, str, str]]:
    """Today (grey), the best common target and the recommendation marked; their labels,
    the recommendation's first."""
    today, best = results.today, results.recommended
    common = results.best_common
    ax.plot([today.inventory.mean], [today.fill.mean], marker="D", markersize=14,
            color=TODAY_GREY, markeredgecolor="white", markeredgewidth=1.5, linestyle="none",
            zorder=6, label="today")
    labels = [(best.inventory.mean, best.fill.mean, "recommended", PALETTE[3])]
    ax.plot([best.inventory.mean], [best.fill.mean], marker="*", markersize=26,
            color=PALETTE[3], markeredgecolor="white", linestyle="none", zorder=7,
            label="recommended")
    if common is not None:
        ax.plot([common.inventory.mean], [common.fill.mean], marker="s", markersize=12,
                color=PALETTE[1], markeredgecolor="white", linestyle="none", zorder=6,
                label="best common target")
        labels.append((common.inventory.mean, common.fill.mean, common.label, "#9a6700"))
    labels.append((today.inventory.mean, today.fill.mean, "today", "#444444"))
    return labels


def _zoom(ax: Any, results: FrontierResults, xs: np.ndarray, ys: np.ndarray) -> None:
    """The y range where the points are (not 0–100 %); the x range where the frontier is
    inside it."""
    points = [results.today, results.recommended, *results.confirmed]
    if results.best_common is not None:
        points.append(results.best_common)
    values = [p.fill.mean for p in points] + [p.fill.low for p in points if p.fill.known]
    reach = results.you_are_here("same_investment_fill")
    values += [reach] if math.isfinite(reach) else []
    values += [p.fill.high for p in points if p.fill.known]
    y_low, y_high = min(values), max(values)
    pad = max(0.25 * (y_high - y_low), 0.003)
    y_low, y_high = y_low - pad, min(y_high + pad, 1.0 + pad / 3)
    ax.set_ylim(y_low, y_high)
    inside = xs[(ys >= y_low) & (ys <= y_high)]
    xvals = [p.inventory.mean for p in points] + list(inside)
    xvals += [p.inventory.low for p in points if p.inventory.known]
    xvals += [p.inventory.high for p in points if p.inventory.known]
    if results.budget is not None:
        xvals.append(results.budget)
    x_low, x_high = min(xvals), max(xvals)
    x_pad = 0.04 * (x_high - x_low or abs(x_high) or 1.0)
    ax.set_xlim(x_low - x_pad, x_high + x_pad)


def _you_are_here(ax: Any, results: FrontierResults) -> None:
    """Arrows from today to the frontier: left at the same fill (the saving), up at the same
    investment (the fill gained), each with its figure."""
    today = results.today
    x0, y0 = today.inventory.mean, today.fill.mean
    currency = results.currency or ""
    arrow = {"arrowstyle": "-|>", "color": GREY, "linewidth": 1.8, "mutation_scale": 18,
             "shrinkA": 9, "shrinkB": 4}
    box = {"boxstyle": "round,pad=0.25", "facecolor": "white", "edgecolor": "none",
           "alpha": 0.9}
    x1, saving = results.you_are_here("same_fill_investment"), results.you_are_here("saving")
    if math.isfinite(x1) and math.isfinite(saving) and saving > 0:
        ax.annotate("", (x1, y0), (x0, y0), arrowprops=arrow, zorder=5, gid="you-are-here")
        amount = " ".join(part for part in (money_text(saving), currency) if part)
        ax.annotate(f"same fill for\n{amount} less",
                    ((x0 + x1) / 2, y0), xytext=(0, -12), textcoords="offset points",
                    ha="center", va="top", fontsize=12, color="#333333", bbox=box, zorder=8)
    y1, gain = results.you_are_here("same_investment_fill"), results.you_are_here("fill_gain")
    if math.isfinite(y1) and math.isfinite(gain) and gain > 0:
        ax.annotate("", (x0, y1), (x0, y0), arrowprops=arrow, zorder=5, gid="you-are-here")
        height, left = _gain_label_place(ax, results, x0, y0, y1)
        ax.annotate(f"+{100 * gain:.1f} points of fill\nfor the same investment",
                    (x0, height), xytext=(-10 if left else 10, 0),
                    textcoords="offset points", ha="right" if left else "left",
                    va="center", fontsize=12, color="#333333", bbox=box, zorder=8)


def _gain_label_place(ax: Any, results: FrontierResults, x0: float, y0: float,
                      y1: float) -> tuple[float, bool]:
    """Where the upward arrow's label goes: right of it, at the first height along it
    (halfway, a third, two thirds, ...) clear of the confirmed allocations just right of
    it, so that it covers none of them; on its left, halfway, if no height is clear."""
    low, high = ax.get_xlim()
    span = abs(np.subtract(*ax.get_ylim()))
    near = [p.fill.mean for p in results.confirmed
            if p.kind != "today" and 0 < p.inventory.mean - x0 < 0.35 * (high - low)]
    for share in (0.5, 0.35, 0.65, 0.2, 0.8):
        height = y0 + share * (y1 - y0)
        if all(abs(height - y) > 0.09 * span for y in near):
            return height, False
    return y0 + 0.5 * (y1 - y0), True


def _caption(results: FrontierResults) -> str:
    simulations, naive = results.count("simulations"), results.count("naive_simulations")
    runs = (f"{simulations:,} whole-assortment simulations instead of {naive:,} for a grid "
            "of every target of every item. " if simulations and naive else "")
    budget = ("The dashed line: the inventory budget; the recommendation is the best fill "
              "rate within it. " if results.budget is not None else "")
    return ("Upper left is better: more service for less inventory. The line: the best "
            "demand-weighted fill rate any allocation of per-item targets reaches at each "
            "investment (predicted, 95 % band); circles: allocations simulated together on "
            "fresh seeds, with 95 % CIs both ways. " + budget + runs
            + f"Results folder {results.directory.resolve().name}.")
