"""Chart 3: revenue, total cost and operating profit against the swept parameter, with the
achieved fill rate beneath (DOMAIN §4)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..results import Results
from .common import (
    PALETTE,
    achieved_panel,
    axis_label,
    error_sizes,
    exact_formatter,
    legend_above,
    mark_today,
    money_text,
    new_figure,
    page,
    run_text,
    styled,
    title_text,
    today_point,
    x_axis,
)


@styled
def tradeoff_chart(results: Results) -> Any:
    """Chart 3: revenue and total cost (revenue − operating profit: goods, logistics, fixed
    and acquisition cost) on top, operating profit with its 95 % CI in the middle, the
    achieved item fill rate β beneath (of the swept locations, for a location's target),
    against the swept parameter; today's policy marked when the folder has ``today.json``."""
    axis = x_axis(results)
    today = today_point(results, axis)
    currency = results.currency or ""
    figure, (top, middle, achieved) = new_figure(3, sharex=True, height_ratios=(2.2, 1.6, 1))
    for i, (name, alts) in enumerate(axis.series.items()):
        xs = [axis.x(a) for a in alts]
        suffix = f" ({name})" if name else ""
        revenue = np.array([a.mean("revenue") for a in alts])
        profit = np.array([a.interval("operating_profit") for a in alts]).reshape(-1, 3)
        style = "-" if i == 0 else ["--", ":", "-."][(i - 1) % 3]
        if axis.key is None:  # categories: points, not a line between them
            style = "none"
        size = 7 if len(xs) <= 30 else 4
        top.plot(xs, revenue, color=PALETTE[0], linestyle=style, marker="o", markersize=size,
                 label="Revenue" + suffix)
        top.plot(xs, revenue - profit[:, 0], color=PALETTE[3], linestyle=style, marker="s",
                 markersize=size, label="Total cost" + suffix)
        middle.errorbar(xs, profit[:, 0], yerr=error_sizes(profit), color=PALETTE[2],
                        linestyle=style, marker="o", markersize=size, capsize=2,
                        elinewidth=1.1, label="Operating profit, 95 % CI" + suffix)
    best = max(results.alternatives, key=lambda a: (a.mean("operating_profit"), -a.id))
    middle.plot([axis.x(best)], [best.mean("operating_profit")], marker="*", markersize=22,
                color=PALETTE[3], markeredgecolor="white", linestyle="none", zorder=5,
                label=f"highest profit: {money_text(best.mean('operating_profit'))}"
                      f"{' ' + currency if currency else ''}")
    if today is not None:
        mark_today(top, today, today.mean("revenue"), label="today")
        mark_today(middle, today, today.mean("operating_profit"), label=None)
    top.set_ylabel(axis_label("Revenue, cost", currency), fontsize=14)
    middle.set_ylabel(axis_label("Profit", currency), fontsize=14)
    for ax in (top, middle):
        ax.yaxis.set_major_formatter(exact_formatter("money"))
        ax.tick_params(labelbottom=False)
    legend_above(top, ncols=3, fontsize=13)
    legend_above(middle, ncols=2, fontsize=13)
    achieved_panel(achieved, results, axis, today)
    legend_above(achieved, ncols=2, fontsize=12)
    achieved.set_ylabel(f"{results.service_axis.removeprefix('Achieved ')} (%)", fontsize=14)
    axis.apply(achieved)
    figure.align_ylabels((top, middle, achieved))
    what = "service target" if axis.is_target else axis.label.lower()
    page(figure, title_text(results, f"revenue, cost and profit against {what}"),
         "Window totals, means over replications.  Total cost = revenue − operating profit "
         "(cost of goods, logistics, fixed and acquisition cost).  Error bars: 95 % "
         f"confidence intervals.  {run_text(results)}")
    return figure
