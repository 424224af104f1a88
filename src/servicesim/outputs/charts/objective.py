"""Chart 1: the objective (ROI by default) against the swept parameter, with the achieved
fill rate beneath it (DOMAIN §3, §4)."""

from __future__ import annotations

import math
from typing import Any

from ...kpis import KPI_BY_KEY
from ..results import Results
from .common import (
    BACKGROUND,
    PALETTE,
    TodayPoint,
    XAxis,
    achieved_panel,
    band,
    figure_axis_label,
    figure_name,
    figure_text,
    gain_text,
    in_sentence,
    interval_arrays,
    legend_above,
    mark_today,
    new_figure,
    page,
    param_name,
    run_text,
    set_y_format,
    spans,
    styled,
    title_text,
    today_point,
    value_text,
    x_axis,
)


@styled
def objective_chart(results: Results) -> Any:
    """Chart 1: the mean objective against the swept parameter with its 95 % CI band, the
    best alternative starred, the alternatives not significantly worse shaded (paired
    one-sided t-tests against the best, Holm-corrected), today's policy marked when the
    folder has ``today.json``; beneath, the achieved item fill rate β of each alternative
    (of the swept locations' customers, for a location's target)."""
    objective = results.objective
    axis = x_axis(results)
    today = today_point(results, axis)
    figure, (ax, achieved) = new_figure(2, sharex=True, height_ratios=(3.2, 1.1))
    _draw_objective(ax, results, axis)
    best = results.best_alternative
    ax.plot([axis.x(best)], [best.mean(objective)], marker="*", markersize=24,
            color=PALETTE[3], markeredgecolor="white", markeredgewidth=1.2, linestyle="none",
            zorder=5, label="optimum")
    if today is not None:
        mark_today(ax, today, today.mean(objective),
                   label=f"today ({_where(results, today.params)})")
    ax.set_ylabel(figure_axis_label(objective, results.currency))
    set_y_format(ax, objective)
    ax.tick_params(labelbottom=False)
    legend_above(ax, ncols=3)
    achieved_panel(achieved, results, axis, today)
    legend_above(achieved, ncols=2, fontsize=12)
    axis.apply(achieved)
    what = "service target" if axis.is_target else axis.label.lower()
    page(figure, title_text(results, f"{in_sentence(figure_name(objective))} against {what}"),
         _caption(results, axis, today), _subtitle(results, today))
    return figure


def _draw_objective(ax: Any, results: Results, axis: XAxis) -> None:
    """Each series' mean objective with its 95 % CI; the alternatives not significantly
    worse than the best shaded (one numeric series) or ringed (several, or categories)."""
    objective = results.objective
    not_worse = set(results.not_worse)
    shaded = len(axis.series) == 1 and axis.key is not None
    if results.replications < 2:  # one replication: no test, nothing to mark
        not_worse = set()
    if shaded and len(not_worse) > 1:
        chosen = {axis.x(a) for a in results.alternatives if a.id in not_worse}
        for i, (low, high) in enumerate(spans(list(axis.positions.values()), chosen)):
            ax.axvspan(low, high, color=PALETTE[2], alpha=0.13, linewidth=0, gid=BACKGROUND,
                       label="not significantly worse than the best" if i == 0 else None)
    for i, (name, alts) in enumerate(axis.series.items()):
        colour = PALETTE[i % len(PALETTE)]
        band(ax, [axis.x(a) for a in alts], interval_arrays(alts, objective), colour,
             name or f"mean {in_sentence(figure_name(objective))}",
             band_label="95 % confidence interval" if i == 0 else None,
             joined=axis.key is not None)
        if not shaded:
            ring = [a for a in alts if a.id in not_worse]
            ax.scatter([axis.x(a) for a in ring], [a.mean(objective) for a in ring], s=220,
                       facecolors="none", edgecolors=colour, linewidths=2, zorder=4,
                       label="not significantly worse" if i == 0 else None)


def _subtitle(results: Results, today: TodayPoint | None) -> str:
    """The optimum in one line: where, its objective with the 95 % CI, its achieved β."""
    objective, currency = results.objective, results.currency
    best = results.best_alternative
    mean, low, high = best.interval(objective)
    short = KPI_BY_KEY[objective].label.split(" (")[0]
    interval = (f"95 % CI {figure_text(objective, low, currency)} to "
                f"{figure_text(objective, high, currency)}"
                if math.isfinite(low) and math.isfinite(high) else "one replication: no CI")
    text = (f"Optimum at {_where(results, best.params)}: {short} "
            f"{figure_text(objective, mean, currency)} ({interval}), achieved "
            f"{results.service_label if results.service_locations else 'β'} "
            f"{figure_text('item_fill_rate', best.mean(results.service_key))}")
    if today is not None:
        text += f"; today {figure_text(objective, today.mean(objective), currency)}"
    return text


def _caption(results: Results, axis: XAxis, today: TodayPoint | None) -> str:
    objective = results.objective
    marked = "Shaded" if len(axis.series) == 1 and axis.key is not None else "Ringed"
    if results.replications < 2:
        text = ("One replication per alternative: a quick look, without confidence intervals "
                "or tests.  ")
    else:
        text = (f"{marked}: alternatives whose mean {in_sentence(figure_name(objective))} is "
                "not significantly below the optimum's (one-sided paired t-tests on common "
                f"replications, Holm-corrected, α = {results.alpha:g}).  Bands and error "
                "bars: 95 % confidence intervals.  ")
    if today is not None:
        text += f"Today: the scenario's own policy.  {gain_text(results, today, objective)}  "
    return text + run_text(results)


def _where(results: Results, params: dict[str, Any]) -> str:
    return ", ".join(f"{param_name(k, results)} {value_text(k, v)}" for k, v in params.items()
                     if k in results.keys) or "as given"
