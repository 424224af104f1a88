"""Chart 2: what each alternative costs, by kind, and beside it the value of the customers
it lost (DOMAIN §4)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..results import Alternative, PlotError, Results
from .common import (
    PALETTE,
    axis_label,
    exact_formatter,
    figure_name,
    legend_above,
    money_text,
    new_figure,
    page,
    run_text,
    styled,
    thin,
    title_text,
    value_text,
    x_axis,
)

COST_KEYS = ("holding_cost", "ordering_cost", "transport_cost", "backorder_cost")
RETURNS_COST = "reverse_logistics_cost"
"""A layer of its own where some alternative has returns (DOMAIN §10), else left out."""
MOST_LABELS = 10
"""At most this many alternatives carry a tick label and a total (evenly spread, the
optimum always): more would run into each other."""


def lost_margin(results: Results, alternative: Alternative) -> float:
    """Mean lost units × the average unit margin (gross margin ÷ units delivered) of the
    alternative's replication 0."""
    sim = results.recorded([alternative])[alternative.id]
    margin = sim.gross_margin / sim.units_delivered if sim.units_delivered else 0.0
    return alternative.mean("lost_sales_units") * margin


@styled
def cost_breakdown_chart(results: Results) -> Any:
    """Chart 2: holding, ordering, transport and backorder cost (and the reverse-logistics
    cost of returns, where there are any) and the lost margin, stacked per alternative in
    the order of the swept parameter; beside each stack, hatched and apart from the total,
    the value of the customers lost (mean ``lost_customer_value``: the CLV of the customers
    who defected in the window, DOMAIN §4).

    Lost margin = mean lost sales units × the average unit margin, where the average unit
    margin is gross margin ÷ units delivered of replication 0 (units delivered is not in
    ``runs.csv``; it is in the chart records).  Without the records it is left out.
    """
    axis = x_axis(results)
    ordered = sorted(results.alternatives, key=lambda a: (axis.x(a), a.id))
    currency = results.currency
    figure, ax = new_figure()
    layers = {figure_name(k): np.array([a.mean(k) for a in ordered]) for k in COST_KEYS}
    colours = [PALETTE[0], PALETTE[5], PALETTE[2], PALETTE[1]]
    reverse = np.nan_to_num(np.array([a.mean(RETURNS_COST) for a in ordered]))
    if reverse.any():
        layers[figure_name(RETURNS_COST)] = reverse
        colours.append(PALETTE[6])
    note = ("Lost margin = mean lost sales units × average unit margin (gross margin ÷ units "
            "delivered, replication 0).")
    try:
        layers["Lost margin"] = np.array([lost_margin(results, a) for a in ordered])
    except PlotError as exc:
        note = f"Lost margin left out: {exc}."
    positions = np.arange(len(ordered), dtype=float)
    width = 0.4
    bottom = np.zeros(len(ordered))
    colours.append(PALETTE[3])  # the lost margin
    for (name, values), colour in zip(layers.items(), colours, strict=False):
        ax.bar(positions - width / 2, values, bottom=bottom, width=width, color=colour,
               label=name, edgecolor="white", linewidth=0.4 if len(ordered) > 30 else 0.6,
               hatch="//" if name == "Lost margin" else None)
        bottom += values
    lost = np.nan_to_num(np.array([a.mean("lost_customer_value") for a in ordered]))
    ax.bar(positions + width / 2, lost, width=width, facecolor="white", edgecolor=PALETTE[4],
           hatch="xx", linewidth=1.0,
           label="Value of customers lost (their CLV; not in the cost total)")
    best = next(i for i, a in enumerate(ordered) if a.id == results.best)
    labelled = thin(list(range(len(ordered))), MOST_LABELS, keep=[best])
    top = float(max(bottom.max(initial=0.0), lost.max(initial=0.0))) or 1.0
    ax.set_xticks(positions[labelled],
                  [_tick(results, axis.key, ordered[i], bottom[i]) for i in labelled],
                  fontsize=12.5 if len(labelled) > 6 else 14)
    ax.get_xticklabels()[labelled.index(best)].set_fontweight("bold")  # the optimum
    ax.set_xlim(-0.7, len(ordered) - 0.3)
    ax.set_xlabel(f"{axis.label}; the item fill rate β it achieved; its total cost")
    ax.set_ylabel(axis_label("Cost over the measured window", currency or ""))
    ax.yaxis.set_major_formatter(exact_formatter("money"))
    ax.set_ylim(0, top * 1.1)
    ax.grid(axis="x", visible=False)
    ax.tick_params(axis="x", pad=9)  # clear of the 0 of the y axis
    legend_above(ax, ncols=3)
    shown = "" if len(labelled) == len(ordered) else (
        f"  Tick labels on {len(labelled)} of the {len(ordered)} alternatives (evenly spread, "
        "the optimum's in bold).")
    page(figure, title_text(results, "what each alternative costs, and the customers it "
                                     "loses"),
         f"Stacked: logistics cost and lost margin, window totals, means over replications; "
         f"the third line under a stack is its total.  Hatched bar beside it: the value of the "
         f"customers who defected in the window (the lifetime value, CLV, of each; mean over "
         f"replications): what low service costs beyond the window, not a cost "
         f"of the window and not in the total.  {note}{shown}  {run_text(results)}")
    return figure


def _tick(results: Results, key: str | None, alternative: Alternative, total: float) -> str:
    """The alternative's parameter value, its achieved fill rate and its stacked total."""
    beta = f"β {100 * alternative.mean('item_fill_rate'):.1f} %"
    if key is None:
        name = ", ".join(value_text(k, alternative.params.get(k)) for k in results.keys)
    else:
        name = value_text(key, alternative.params[key])
    return "\n".join([name or f"#{alternative.id}", beta, money_text(total)])
