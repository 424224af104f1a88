"""Chart 12: the recommended service target of each SKU against its velocity, coloured by
unit cost, with today's target beside it (DOMAIN §12: a fast, cheap SKU buys service
cheaply, a slow, dear one does not); per class, today's and the recommended target of each
class."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..frontier_results import FrontierResults
from .common import (
    PALETTE,
    axis_label,
    exact_formatter,
    legend_above,
    money_text,
    new_figure,
    page,
    styled,
)

TARGETS_STEM = "12-targets"
TODAY_GREY = "#9a9a9a"


def _column(rows: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([float(r[key]) if isinstance(r.get(key), int | float) else math.nan
                     for r in rows], dtype=float)


@styled
def targets_chart(results: FrontierResults) -> Any:
    """Chart 12: the recommended target of each SKU against its demand (units a year, log
    scale), coloured by unit cost, today's target as a faint mark joined to it; with targets
    per class, today's and the recommended target of each class."""
    if results.item_column == "class":
        return _class_chart(results)
    return _sku_chart(results)


def _marker_size(n: int) -> tuple[float, float, float]:
    """Marker area (points²), its opacity and the opacity of the moves: smaller and fainter
    as SKUs grow many, so that thousands still read as a cloud, not a curtain."""
    if n <= 100:
        return 70.0, 0.9, 0.6
    if n <= 1000:
        return 26.0, 0.7, 0.18
    return 12.0, 0.5, 0.08


NAMED_SKUS = 12
"""Up to this many SKUs, each dot carries its SKU's name."""


def _name_dots(figure: Any, ax: Any, x: np.ndarray, y: np.ndarray, names: list[str]) -> None:
    """Each dot's name beside it, the fastest SKUs first; a name that would overlap one
    already placed is left out (the table in the report names every SKU)."""
    renderer = figure.canvas.get_renderer()
    placed: list[Any] = []
    for k in np.argsort(-x, kind="stable"):
        label = ax.annotate(names[k], (x[k], y[k]), xytext=(6, 4), textcoords="offset points",
                            fontsize="small", color="#333333", zorder=5)
        box = label.get_window_extent(renderer)
        if any(box.overlaps(other) for other in placed):
            label.remove()
        else:
            placed.append(box)


def _sku_chart(results: FrontierResults) -> Any:
    from matplotlib.collections import LineCollection
    from matplotlib.colors import LogNorm

    rows = results.targets
    units = _column(rows, "units_per_year")
    cost = _column(rows, "unit_cost")
    today = _column(rows, "today_target")
    recommended = _column(rows, "recommended_target")
    keep = np.isfinite(units) & (units > 0) & np.isfinite(recommended)
    units, cost, today, recommended = units[keep], cost[keep], today[keep], recommended[keep]
    size, alpha, faint = _marker_size(len(units))
    figure, ax = new_figure()
    moved = np.isfinite(today) & (today != recommended)
    segments = np.stack([np.column_stack([units[moved], today[moved]]),
                         np.column_stack([units[moved], recommended[moved]])], axis=1)
    ax.add_collection(LineCollection(segments, colors="#b0b0b0", linewidths=0.8,
                                     alpha=faint, zorder=2,
                                     label="move from today's target"))
    ax.scatter(units, today, s=size * 0.7, facecolors="none", edgecolors=TODAY_GREY,
               linewidths=0.8, alpha=alpha, zorder=3, label="today's target")
    positive = cost[np.isfinite(cost) & (cost > 0)]
    norm = LogNorm(positive.min(), positive.max()) if len(positive) and \
        positive.max() > positive.min() else None
    dots = ax.scatter(units, recommended, c=cost, s=size, cmap="viridis", norm=norm,
                      alpha=alpha, edgecolors="none", zorder=4, label="recommended target")
    _colour_bar(figure, ax, dots, results.currency or "", norm is not None)
    ax.set_xscale("log")
    ax.set_xlabel("Demand (units a year, log scale)")
    ax.set_ylabel("Fill-rate target (%)")
    ax.yaxis.set_major_formatter(exact_formatter("percent"))
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: _count_text(v)))
    # within two decades the 2s and 5s are labelled too, alike; beyond, they would crowd
    decades = math.log10(max(units) / min(units)) if min(units) > 0 else math.inf
    ax.xaxis.set_minor_formatter(FuncFormatter(
        lambda v, _p: _count_text(v) if decades <= 2 and v > 0
        and round(v / 10 ** math.floor(math.log10(v))) in (2, 5) else ""))
    everything = np.concatenate([recommended, today[np.isfinite(today)]])
    pad = max(0.08 * float(np.ptp(everything)), 0.005)
    ax.set_ylim(float(everything.min()) - pad, min(float(everything.max()) + pad, 1.0 + pad))
    if len(units) <= NAMED_SKUS:  # a few SKUs are named beside their dots
        names = [str(r.get("sku") or r.get("class") or "") for r, k in zip(rows, keep,
                                                                           strict=True) if k]
        _name_dots(figure, ax, units, recommended, names)
    handles, labels = ax.get_legend_handles_labels()
    legend = legend_above(ax, handles, labels, ncols=3)
    for handle in legend.legend_handles:  # the legend shows full-strength marks
        handle.set_alpha(1.0)
    moves = results.moves()
    where = " at each location" if results.has_locations else ""
    page(figure, f"{results.scenario_name}: the recommended target of each SKU{where}",
         _sku_caption(results, len(units)),
         subtitle=moves_text(moves, *_words(results))
         + ": service goes where it is cheap to buy")
    return figure


def _colour_bar(figure: Any, ax: Any, dots: Any, currency: str, log: bool) -> None:
    """The unit-cost scale beside the plot: ticks at 1, 2, 5 × 10ⁿ on a log scale."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    colour_bar = figure.colorbar(dots, ax=ax, pad=0.01, aspect=30)
    colour_bar.set_label(axis_label("Unit cost", currency))
    if log:
        colour_bar.ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        colour_bar.ax.yaxis.set_minor_formatter(NullFormatter())
    colour_bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: _money_tick(v)))


def _money_tick(value: float) -> str:
    """A unit cost on the colour bar: 0.5, 2, 50, 1 k, 20 k."""
    if value >= 1e3:
        return f"{value / 1e3:g} k"
    return f"{value:g}"


def moves_text(moves: dict[str, int], one: str, many: str) -> str:
    """"312 SKUs up, 540 down, 148 unchanged"."""
    return (f"{moves['up']:,} {one if moves['up'] == 1 else many} up, {moves['down']:,} "
            f"down, {moves['same']:,} unchanged")


def _count_text(value: float) -> str:
    """A count for people (three significant digits at most): 10, 1,000, 10 k, 115 k,
    1.2 M."""
    if value >= 1e6:
        return f"{value / 1e6:.3g} M"
    if value >= 1e4:
        return f"{value / 1e3:,.0f} k"
    return f"{value:,.0f}" if value >= 1 else f"{value:.2g}"


def _words(results: FrontierResults) -> tuple[str, str]:
    """What one row of targets.csv is, one and many: a SKU, or a SKU at a location."""
    return ("SKU–location pair", "SKU–location pairs") if results.has_locations \
        else ("SKU", "SKUs")


def _sku_caption(results: FrontierResults, n: int) -> str:
    return (f"Each of the {n:,} {_words(results)[n != 1]}: its recommended fill-rate target "
            "(filled dot, colour by unit cost) against its demand, its target today (grey "
            "ring) and the move between them (grey line). Fast, cheap SKUs buy service "
            "cheaply; slow, dear ones do not. "
            f"Results folder {results.directory.resolve().name}.")


def _class_chart(results: FrontierResults) -> Any:
    """Per class: today's target (grey ring) and the recommended (filled), an arrow
    between, each class's demand and inventory change under its name."""
    rows = sorted(results.targets, key=lambda r: str(r["class"]))
    figure, ax = new_figure()
    positions = np.arange(len(rows), dtype=float)
    today = _column(rows, "today_target")
    recommended = _column(rows, "recommended_target")
    for x, old, new in zip(positions, today, recommended, strict=True):
        if math.isfinite(old) and math.isfinite(new) and old != new:
            ax.annotate("", (x, new), (x, old), zorder=3,
                        arrowprops={"arrowstyle": "-|>", "color": "#888888", "linewidth": 2,
                                    "mutation_scale": 20, "shrinkA": 9, "shrinkB": 11})
    ax.plot(positions, today, linestyle="none", marker="o", markersize=16,
            markerfacecolor="white", markeredgecolor=TODAY_GREY, markeredgewidth=2.5,
            zorder=4, label="today's target")
    ax.plot(positions, recommended, linestyle="none", marker="o", markersize=16,
            color=PALETTE[3], zorder=5, label="recommended target")
    for x, old, new in zip(positions, today, recommended, strict=True):
        if math.isfinite(new):
            ax.annotate(f"{100 * new:.4g} %", (x, new), xytext=(16, 0),
                        textcoords="offset points", va="center", fontsize=14,
                        color=PALETTE[3], fontweight="bold")
        if math.isfinite(old):
            ax.annotate(f"{100 * old:.4g} %", (x, old), xytext=(-16, 0),
                        textcoords="offset points", va="center", ha="right", fontsize=14,
                        color="#666666")
    currency = results.currency or ""
    ticks = []
    for row in rows:
        change = row.get("inventory_value_change")
        change_text = (("+" if change >= 0 else "−") + money_text(abs(change))
                       + f" {currency}".rstrip()) if isinstance(change, int | float) else ""
        ticks.append(f"class {row['class']}\n{_count_text(float(row['units_per_year']))} "
                     f"units/yr\n{change_text}")
    ax.set_xticks(positions, ticks)
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("Fill-rate target (%)")
    ax.yaxis.set_major_formatter(exact_formatter("percent"))
    values = np.concatenate([today[np.isfinite(today)], recommended[np.isfinite(recommended)]])
    pad = max(0.15 * float(np.ptp(values)), 0.01)
    ax.set_ylim(float(values.min()) - pad, min(float(values.max()) + pad, 1.0 + pad / 2))
    legend_above(ax, ncols=2)
    moves = results.moves()
    page(figure, f"{results.scenario_name}: the recommended target of each class",
         subtitle=moves_text(moves, "class", "classes"),
         caption="Each class: its fill-rate target today (grey ring) and the recommended one "
         "(filled), with its demand (units a year) and the change in average inventory value "
         f"at unit cost under its name. Results folder {results.directory.resolve().name}.")
    return figure
