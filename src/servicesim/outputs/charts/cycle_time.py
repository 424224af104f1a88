"""Chart 6: the order cycle time distribution against each segment's promise (DOMAIN §3,
§9)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..results import Alternative, Results
from .common import (
    GREY,
    PALETTE,
    exact_formatter,
    legend_above,
    new_figure,
    page,
    param_name,
    styled,
    title_text,
    value_text,
    x_axis,
)

_STYLES = ({"color": PALETTE[3], "linestyle": "-"}, {"color": PALETTE[0], "linestyle": "--"},
           {"color": PALETTE[2], "linestyle": "-."})
_PROMISE_STYLES = (":", (0, (6, 2, 1, 2)), (0, (1, 3)))


def shown_alternatives(results: Results, count: int = 3) -> list[Alternative]:
    """The optimum and the alternatives with the lowest and highest x (up to ``count``)."""
    axis = x_axis(results)
    ordered = sorted(results.alternatives, key=lambda a: (axis.x(a), a.id))
    chosen = [results.best_alternative]
    for a in (ordered[0], ordered[-1]):
        if len(chosen) < count and a.id not in {c.id for c in chosen}:
            chosen.append(a)
    return sorted(chosen, key=lambda a: (axis.x(a), a.id))


def _describe(results: Results, a: Alternative) -> str:
    text = ", ".join(f"{param_name(k, results)} {value_text(k, v)}"
                     for k, v in a.params.items()) or f"alternative {a.id}"
    return text + (" (optimum)" if a.id == results.best else "")


def _curves(results: Results) -> tuple[list[tuple[np.ndarray, np.ndarray, str]], float]:
    """The ECDF (edges, cumulative share, label) of each alternative shown and the 99.5th
    percentile of the slowest."""
    shown = shown_alternatives(results)
    sims = results.recorded(shown)
    curves, right = [], 0.0
    for a in shown:
        sim = sims[a.id]
        total = sim.cycle_time_counts.sum()
        if not total:
            continue
        cumulative = np.cumsum(sim.cycle_time_counts) / total
        last = int(np.nonzero(sim.cycle_time_counts)[0][-1]) + 1
        edges = np.concatenate([[0.0], sim.cycle_time_edges[:last]])
        ecdf = np.concatenate([[0.0], cumulative[:last]])
        index = min(int(np.searchsorted(cumulative, 0.995)), last - 1)
        right = max(right, float(sim.cycle_time_edges[index]))
        curves.append((edges, ecdf, f"{_describe(results, a)}: {int(total):,} orders"))
    return curves, right


@styled
def cycle_time_chart(results: Results) -> Any:
    """Chart 6: the empirical distribution (ECDF) of the order cycle time of the optimum and
    the lowest and highest alternatives, with each segment's promised cycle time; on the
    right, the slowest 10 % of orders, where the alternatives differ.

    The distribution is that of replication 0 of each alternative, from the cycle-time
    histogram it recorded (bins of 0.01 day below 10 days): ``runs.csv`` holds only the mean
    and 95th percentile.
    """
    curves, right = _curves(results)
    promises: dict[float, list[str]] = {}
    for name, segment in results.scenario().segments.items():
        promises.setdefault(float(segment.promised_cycle_time_days), []).append(name)
    right = max([right, *(1.15 * d for d in promises)]) or 1.0
    figure, (whole, tail) = new_figure(1, 2, width_ratios=(1.35, 1))
    for (edges, ecdf, label), style in zip(curves, _STYLES, strict=False):
        whole.step(edges, ecdf, where="post", linewidth=2.6, label=label, **style)
        tail.step(edges, ecdf, where="post", linewidth=2.6, **style)
    for j, (days, names) in enumerate(sorted(promises.items())):
        label = f"promise {days:g} days ({', '.join(n.replace('_', ' ') for n in names)})"
        for ax in (whole, tail):
            ax.axvline(days, color=GREY, linestyle=_PROMISE_STYLES[j % 3], linewidth=2,
                       label=label if ax is tail else None)
    whole.set_xlim(0, right)
    whole.set_ylim(0, 1.02)
    whole.set_yticks([0.25, 0.5, 0.75, 1.0])  # no 0 % label in the corner by the 0 days
    start = min([float(e[np.searchsorted(c, 0.9)]) for e, c, _ in curves if c[-1] >= 0.9]
                or [0.0])
    tail.set_xlim(start, right)
    tail.set_ylim(0.9, 1.003)
    whole.yaxis.set_major_formatter(exact_formatter("percent"))
    tail.yaxis.set_major_formatter(exact_formatter("percent"))
    whole.set_xlabel("Order cycle time: order to last delivery (days)")
    whole.set_ylabel("Orders delivered within (%)")
    tail.set_xlabel("The slowest 10 % of orders (days)")
    legend_above(whole, ncols=1, fontsize=12.5)
    legend_above(tail, ncols=1, fontsize=12.5)
    page(figure, title_text(results, "order cycle time distribution"),
         "Share of orders delivered within each cycle time (ECDF) for replication 0 of each "
         "alternative shown, from the histogram it recorded (runs.csv holds only the mean and "
         "95th percentile).  Left: all orders, where the curves nearly coincide; right: the "
         "slowest 10 %, where stock makes the difference.  Orders closed in the measured "
         "window; x axis cut at the 99.5th percentile.")
    return figure
