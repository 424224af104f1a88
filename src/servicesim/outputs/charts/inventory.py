"""Chart 4: the inventory trade-off, achieved fill rate against inventory investment (the
exchange curve, DOMAIN §5, §12)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..results import Results
from .common import (
    PALETTE,
    axis_label,
    error_sizes,
    exact_formatter,
    figure_name,
    in_sentence,
    interval_arrays,
    legend_above,
    new_figure,
    page,
    param_name,
    place_labels,
    run_text,
    styled,
    thin,
    title_text,
    value_text,
    x_axis,
)

MOST_LABELS = 8
"""At most this many points carry their parameter value (the optimum first)."""


def frontier(points: Sequence[tuple[float, float, int]]) -> list[tuple[float, float, int]]:
    """The efficient (upper-left) points: no other has less inventory and more service."""
    best_service = -math.inf
    out = []
    for value, service, index in sorted(points, key=lambda p: (p[0], -p[1])):
        if service > best_service:
            out.append((value, service, index))
            best_service = service
    return out


@styled
def inventory_chart(results: Results) -> Any:
    """Chart 4: achieved item fill rate against average inventory value (the exchange curve),
    95 % CIs as error bars; with several series (e.g. policy types) the efficient frontier.
    Up to :data:`MOST_LABELS` points carry the value of the swept parameter, where they fit."""
    axis = x_axis(results)
    currency = results.currency or ""
    figure, ax = new_figure()
    labels: list[tuple[float, float, str, str]] = []
    for i, (name, alts) in enumerate(axis.series.items()):
        colour = PALETTE[i % len(PALETTE)]
        inventory = interval_arrays(alts, "avg_inventory_value")
        fill = interval_arrays(alts, "item_fill_rate")
        many = len(alts) > 25  # many crosses: pale and thin, so the curve reads
        bars = ax.errorbar(inventory[:, 0], fill[:, 0], xerr=error_sizes(inventory),
                           yerr=error_sizes(fill), color=colour, marker="o",
                           markersize=4 if many else 7, capsize=0 if many else 3,
                           elinewidth=0.8 if many else 1.2,
                           label=name or "simulated alternatives (95 % CI bars)")
        if many:
            for collection in bars.lines[2]:
                collection.set_alpha(0.3)
        if axis.key is not None:
            best = [j for j, a in enumerate(alts) if a.id == results.best]
            for j in thin(list(range(len(alts))), MOST_LABELS, keep=best):
                labels.append((inventory[j, 0], fill[j, 0],
                               value_text(axis.key, alts[j].params[axis.key]), colour))
    if len(axis.series) > 1:
        front = frontier([(a.mean("avg_inventory_value"), a.mean("item_fill_rate"), a.id)
                          for a in results.alternatives])
        ax.plot([p[0] for p in front], [p[1] for p in front], color="black", linewidth=2.2,
                linestyle="--", alpha=0.75, zorder=4, label="efficient frontier")
    best = results.best_alternative
    ax.plot([best.mean("avg_inventory_value")], [best.mean("item_fill_rate")], marker="*",
            markersize=24, color=PALETTE[3], markeredgecolor="white", linestyle="none",
            zorder=5, label=f"optimum of {in_sentence(figure_name(results.objective))}")
    ax.set_xlabel(axis_label("Average inventory value at unit cost", currency))
    ax.set_ylabel("Achieved item fill rate β (%)")
    ax.xaxis.set_major_formatter(exact_formatter("money"))
    ax.yaxis.set_major_formatter(exact_formatter("percent"))
    legend_above(ax, ncols=3)
    best_first = sorted(labels, key=lambda item: (item[0], item[1]) !=
                        (best.mean("avg_inventory_value"), best.mean("item_fill_rate")))
    caption = "Upper left is better: more service for less inventory.  "
    if labels and axis.key is not None:
        caption += (f"Numbers beside the points: their {param_name(axis.key, results)} "
                    "(a selection, where they fit).  ")
    page(figure, title_text(results, "fill rate against inventory investment"),
         caption + run_text(results))
    if labels:
        place_labels(figure, ax, best_first)
    return figure
