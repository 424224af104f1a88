"""Chart 7: where unmet demand went, by the customer's reaction to a stockout, and the
customers lost (DOMAIN §2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..results import Alternative, Results
from .common import (
    PALETTE,
    error_sizes,
    exact_formatter,
    interval_arrays,
    legend_above,
    new_figure,
    page,
    run_text,
    styled,
    thin,
    title_text,
    value_text,
    x_axis,
)

MAX_SHOWN = 30
"""Chart 7 shows at most this many alternatives (evenly spread) of a large search."""
MOST_LABELS = 10
"""At most this many of them carry a tick label."""
REACTIONS = (("backorder", "Backordered"), ("wait", "Waited and retried"),
             ("switch", "Switched (sale lost)"), ("defect", "Defected (customer lost)"))


def spread(items: Sequence[Alternative], count: int) -> list[Alternative]:
    """At most ``count`` items, evenly spread, the first and last included."""
    if len(items) <= count:
        return list(items)
    picks = sorted({round(i * (len(items) - 1) / (count - 1)) for i in range(count)})
    return [items[i] for i in picks]


@styled
def unmet_demand_chart(results: Results) -> Any:
    """Chart 7: units short at a stockout, by the customer's reaction (backorder, wait and
    retry, switch, defect), as a share of units demanded, against the swept parameter; beneath,
    the mean defections over all replications (from ``runs.csv``) with their 95 % CI.

    The split by reaction is the one replication 0 of each alternative shown recorded (at
    most :data:`MAX_SHOWN`, evenly spread): the summary figures only hold the lost sales and
    defections.
    """
    axis = x_axis(results)
    ordered = sorted(results.alternatives, key=lambda a: (axis.x(a), a.id))
    shown = spread(ordered, MAX_SHOWN)
    sims = results.recorded(shown)
    figure, (ax, lower) = new_figure(2, sharex=True, height_ratios=(3, 1.1))
    positions = np.arange(len(shown), dtype=float)
    bottom = np.zeros(len(shown))
    colours = (PALETTE[0], PALETTE[5], PALETTE[1], PALETTE[3])
    for (reaction, label), colour in zip(REACTIONS, colours, strict=True):
        shares = np.array([sims[a.id].short_units.get(reaction, 0.0)
                           / sims[a.id].units_demanded if sims[a.id].units_demanded else 0.0
                           for a in shown])
        ax.bar(positions, shares, bottom=bottom, width=0.7, color=colour, label=label,
               edgecolor="white", linewidth=0.6)
        bottom += shares
    top = float(bottom.max()) if bottom.size and bottom.max() > 0 else 0.01
    defections = interval_arrays(shown, "defections")
    lower.errorbar(positions, defections[:, 0], yerr=error_sizes(defections),
                   color=PALETTE[4], marker="o", capsize=3, linewidth=1.8,
                   label="Defections: customers lost for good (mean, 95 % CI)")
    lower.set_ylim(bottom=0)
    lower.tick_params(axis="x", pad=9)  # clear of the 0 of the y axis
    labelled = thin(list(range(len(shown))), MOST_LABELS)
    if axis.key is not None:
        labels = [value_text(axis.key, shown[i].params[axis.key]) for i in labelled]
    else:
        names = dict(axis.ticks)
        labels = [names[axis.x(shown[i])] for i in labelled]
    lower.set_xticks(positions[labelled], labels, fontsize=13 if len(labelled) > 8 else 14)
    lower.set_xlabel(axis.label)
    lower.set_ylabel("Customers")
    ax.set_ylabel("Units short (% of demand)")
    ax.yaxis.set_major_formatter(exact_formatter("percent"))
    ax.set_ylim(0, top * 1.08)
    ax.tick_params(labelbottom=False)
    for panel in (ax, lower):
        panel.grid(axis="x", visible=False)
    legend_above(ax, ncols=4, fontsize=13)
    legend_above(lower, ncols=1, fontsize=12)
    shown_text = ("" if len(shown) == len(ordered)
                  else f"{len(shown)} of the {len(ordered)} alternatives, evenly spread.  ")
    page(figure, title_text(results, "where unmet demand went"),
         "Bars: units short at a stockout by the customer's reaction, recorded by replication "
         "0 of each alternative, as a share of the units it demanded.  Beneath: defections, "
         f"mean over all replications.  {shown_text}{run_text(results)}")
    return figure
