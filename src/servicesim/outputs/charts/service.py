"""Chart 5: the service targeted against the service achieved (DOMAIN §3, §5)."""

from __future__ import annotations

import math
import numbers
from typing import Any

from ..results import PlotError, Results, target_locations
from .common import (
    GREY,
    PALETTE,
    band,
    error_sizes,
    exact_formatter,
    figure_name,
    in_sentence,
    interval_arrays,
    is_target_key,
    legend_above,
    new_figure,
    page,
    run_text,
    styled,
    title_text,
)


def _targets(results: Results) -> tuple[dict[int, float], str]:
    """Each alternative's service target (after its parameters are set) and the metric; a
    swept location target is read from the alternative's parameter (a fill rate)."""
    targets: dict[int, float] = {}
    metric = "fill_rate"
    if results.service_locations:
        key = next(k for k in results.keys if target_locations(k))
        for a in results.alternatives:
            value = a.params.get(key)
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                targets[a.id] = float(value)
        return targets, metric
    for a in results.alternatives:
        try:
            scenario = results.scenario(a)
        except (PlotError, ValueError):  # no scenario.yaml: fall back to the parameter
            scenario = None
        target = getattr(getattr(scenario, "policy", None), "service_target", None)
        if scenario is not None:
            metric = scenario.policy.service_metric
        if target is None:
            target = next((v for k, v in a.params.items() if is_target_key(k)), None)
        if isinstance(target, numbers.Real) and not isinstance(target, bool):
            targets[a.id] = float(target)  # per-class targets (a mapping) are not charted
    return targets, metric


@styled
def service_chart(results: Results) -> Any:
    """Chart 5: achieved item fill rate (β) and cycle service level (α) against the service
    target of each alternative (``policy.service_target`` after its parameters are set),
    with the 45° line; per-SKU overrides of the target are not shown."""
    figure, ax = new_figure()
    targets, metric = _targets(results)
    alts = sorted([a for a in results.alternatives if a.id in targets],
                  key=lambda a: (targets[a.id], a.id))
    if not alts:
        ax.text(0.5, 0.5, "no single service target in these alternatives\n(targets per "
                "SKU class are not charted here)", ha="center", transform=ax.transAxes)
    xs = [targets[a.id] for a in alts]
    # a location's target: its customers' fill rate alone (no cycle service level per location)
    series = (((results.service_key, PALETTE[0], "o"),) if results.service_locations else
              (("item_fill_rate", PALETTE[0], "o"), ("cycle_service_level", PALETTE[1], "s")))
    values = [v for a in alts for k, _, _ in series for v in a.interval(k)] + xs
    finite = [v for v in values if math.isfinite(v)] or [0.0, 1.0]
    low, high = min(xs or [0.0]), max(xs or [1.0])
    pad = 0.03 * (high - low or 0.1)
    ax.plot([low - pad, high + pad], [low - pad, high + pad], color=GREY, linestyle="--",
            linewidth=1.5, label="achieved = target")
    for i, (key, colour, marker) in enumerate(series):
        arr = interval_arrays(alts, key)
        label = (f"achieved {results.service_label}" if results.service_locations
                 else f"achieved {in_sentence(figure_name(key))}")
        if len(alts) > 12:  # many alternatives: a band reads better than a forest of bars
            band(ax, xs, arr, colour, label, marker=marker,
                 band_label="95 % confidence interval" if i == 0 else None)
        else:
            ax.errorbar(xs, arr[:, 0], yerr=error_sizes(arr), color=colour, marker=marker,
                        markersize=7, capsize=3, label=label)
    ax.set_xlim(low - pad, high + pad)
    bottom, top = min(finite + [low]), max(finite + [high])
    ax.set_ylim(bottom - 0.03 * (top - bottom or 0.1), top + 0.03 * (top - bottom or 0.1))
    name = "item fill rate β" if metric == "fill_rate" else "cycle service level α"
    if results.service_locations:
        where = ", ".join(results.service_locations)
        ax.set_xlabel(f"Service target at {where} (%)")
        ax.set_ylabel(f"Achieved {results.service_label} (%)")
    else:
        ax.set_xlabel(f"Service target (%), a target for the {name}")
        ax.set_ylabel("Achieved service (%)")
    ax.xaxis.set_major_formatter(exact_formatter("percent"))
    ax.yaxis.set_major_formatter(exact_formatter("percent"))
    legend_above(ax, ncols=3)
    page(figure, title_text(results, "service targeted against service achieved"),
         "Above the dashed line the policy over-delivers; below it, it under-delivers.  "
         "Error bars or bands: 95 % confidence intervals.  " + _why_off_the_line(results)
         + run_text(results))
    return figure


def _replanned(results: Results) -> str:
    """How the runs re-planned (DOMAIN §8), or "" when the policies were derived once."""
    try:
        replan = results.scenario(results.alternatives[0]).policy.replan
    except (PlotError, ValueError, IndexError, AttributeError):
        return ""
    if replan is None:
        return ""
    basis = ("the demand of the last " f"{replan.window_days:g} days" if replan.basis ==
             "observed" else "the customers active then")
    return f"every {replan.every_days:g} days from {basis}"


def _why_off_the_line(results: Results) -> str:
    """The caption's sentence on why achieved service leaves the 45° line."""
    replan = _replanned(results)
    if replan:
        return (f"Policies re-derived {replan} (policy.replan), so shrinking or growing "
                "demand no longer moves service off the line; what remains comes from sales "
                "lost at a stockout (the derivation assumes backorders), lumpy demand and "
                "random lead times.  ")
    return ("Lost sales and defections shrink the demand the policy meets, so achieved "
            "service can exceed the target.  ")
