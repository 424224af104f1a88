"""Trade-off charts of a sweep or an optimisation, ready for a client slide.

``plot_all("results/baseline/sweep-...")`` reads the folder a sweep or ``optimize`` wrote
(:func:`load_results`) and writes seven charts, each as a 300 dpi PNG and an SVG, into
``<folder>/charts/``:

1. :func:`objective_chart` — the objective (ROI by default) against the swept parameter, 95 %
   confidence band, the optimum marked, the levels not significantly worse shaded;
2. :func:`cost_breakdown_chart` — logistics cost by kind and the lost margin, stacked, per
   alternative ordered by the achieved item fill rate;
3. :func:`tradeoff_chart` — revenue, total cost and operating profit against service;
4. :func:`inventory_chart` — inventory investment against achieved fill rate (the exchange
   curve), with the efficient frontier when several policies are swept;
5. :func:`service_chart` — target against achieved service (β and α) with the 45° line;
6. :func:`cycle_time_chart` — the order-cycle-time ECDF of the optimum and two other
   alternatives, with each segment's promise;
7. :func:`unmet_demand_chart` — where the units short at a stockout went (backorder, wait,
   switch, defect) against service.

Charts 6 and 7 and the lost margin of chart 2 need more than the summary figures of
``runs.csv``: replication 0 of every alternative records them when it runs (the
order-cycle-time histogram, the units short by reaction, units delivered; the results
store's ``chart_records.json``).  Each such chart says so in its caption.

This module only reads result files; it never runs the model (an import contract checks it).
Figures are built on matplotlib's Agg canvas without pyplot, under the house style
``style/servicesim.mplstyle`` applied as a context; global ``rcParams`` are never touched.
"""

from __future__ import annotations

import functools
import io
import json
import math
import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..files import atomic_write_bytes
from ..kpis import KPI_BY_KEY
from .results import Alternative, PlotError, RecordedRun, Results, load_results

__all__ = [
    "CHARTS",
    "STYLE_FILE",
    "Alternative",
    "PlotError",
    "Results",
    "RecordedRun",
    "cost_breakdown_chart",
    "cycle_time_chart",
    "inventory_chart",
    "load_results",
    "objective_chart",
    "plot_all",
    "service_chart",
    "tradeoff_chart",
    "unmet_demand_chart",
]

STYLE_FILE = Path(__file__).with_name("style") / "servicesim.mplstyle"
"""The house style (slide-sized, large fonts, Okabe-Ito colours)."""
MAX_SHOWN = 25
"""Chart 7 shows at most this many alternatives (evenly spread) of a large search."""
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
"""Okabe-Ito, the colours of the style file, for explicit use."""
GREY = "#555555"


# ----------------------------------------------------------------------------- layout


@contextmanager
def house_style() -> Iterator[None]:
    """The house style as a matplotlib style context (global rcParams stay untouched)."""
    import matplotlib.style

    with matplotlib.style.context(str(STYLE_FILE)):
        yield


def _new_figure(nrows: int = 1, sharex: bool = False) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure()
    FigureCanvasAgg(figure)
    engine = figure.get_layout_engine()
    if engine is not None:  # room for the caption
        engine.set(rect=(0, 0.075, 1, 0.925))  # type: ignore[call-arg]
    axes = figure.subplots(nrows, 1, sharex=sharex, squeeze=True)
    return figure, axes


def _caption(figure: Any, text: str) -> None:
    figure.text(0.01, 0.012, text, fontsize=11.5, color=GREY, ha="left", va="bottom",
                wrap=True)


def _styled(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with house_style():
            return function(*args, **kwargs)

    return wrapper


def _label(key: str) -> str:
    kpi = KPI_BY_KEY.get(key)
    return kpi.label if kpi else key


def _is_percent(key: str) -> bool:
    kpi = KPI_BY_KEY.get(key)
    return kpi is not None and kpi.unit == "fraction"


def _unit_suffix(key: str) -> str:
    kpi = KPI_BY_KEY.get(key)
    if kpi is None:
        return ""
    return {"fraction": " (%)", "days": " (days)", "units": " (units)",
            "customers": " (customers)", "money": " (money)",
            "money/unit": " (money per unit)"}.get(kpi.unit, "")


def _param_is_fraction(key: str, values: Sequence[Any]) -> bool:
    leaf = key.split("+")[0].rsplit(".", 1)[-1]
    return all(isinstance(v, numbers.Real) and 0 <= float(v) <= 1 for v in values) and any(
        word in leaf for word in ("target", "rate", "fraction", "level", "share"))


def is_target_key(key: str) -> bool:
    """Whether a swept key sets a service target: ``policy.service_target``, a SKU's, or a
    class's (``policy.service_target.A``); keys joined by ``+`` are judged by the first."""
    return "service_target" in key.split("+")[0].split(".")[-2:]


def _param_label(key: str, values: Sequence[Any]) -> str:
    leaf = key.split("+")[0]
    if is_target_key(leaf):
        text = f"Service target ({key})"
    else:
        text = key
    if _param_is_fraction(key, values):
        return text + ", %"
    if "days" in leaf:
        return text + ", days"
    return text


def _percent(decimals: int | None = None) -> Any:
    """Percent ticks of a fraction axis; decimals chosen from the view when None."""
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=decimals, symbol=" %")


def _money_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    def text(v: float, _pos: Any = None) -> str:
        size = abs(v)
        if size >= 1e6:
            return f"{v / 1e6:,.1f} M"
        if size >= 1e3:
            return f"{v / 1e3:,.0f} k"
        return f"{v:,.0f}"

    return FuncFormatter(text)


def _money_text(v: float) -> str:
    return _money_formatter()(v)


def _value_text(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, Mapping | list) \
            else str(value)
    if _param_is_fraction(key, [value]):
        return f"{100 * value:.4g} %"
    return f"{value:.6g}"


def _figure_text(key: str, value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if _is_percent(key):
        return f"{100 * value:.1f} %"
    kpi = KPI_BY_KEY.get(key)
    if kpi is not None and kpi.unit in ("money", "money/unit"):
        return _money_text(value)
    return f"{value:,.3g}"


def _set_y_format(ax: Any, key: str) -> None:
    if _is_percent(key):
        ax.yaxis.set_major_formatter(_percent())
    elif KPI_BY_KEY.get(key) is not None and KPI_BY_KEY[key].unit == "money":
        ax.yaxis.set_major_formatter(_money_formatter())


def _title(ax: Any, results: Results, what: str) -> None:
    ax.set_title(f"{results.scenario_name}: {what}")


def _n_text(results: Results) -> str:
    return (f"{results.kind} in {results.directory.name}; {len(results.alternatives)} "
            f"alternatives, up to {results.replications} replications each under common "
            "random numbers; bands and bars are 95 % confidence intervals")


# ----------------------------------------------------------------------------- x axis


@dataclass(frozen=True)
class _Axis:
    """How the alternatives sit on the x axis: one numeric key, or categories."""

    key: str | None
    """The numeric parameter on x, or None (categorical)."""
    series: dict[str, list[Alternative]]
    """Alternatives by the values of the other parameters (one line each), in x order."""
    label: str
    percent: bool
    positions: dict[int, float]
    ticks: list[tuple[float, str]]

    def x(self, alternative: Alternative) -> float:
        return self.positions[alternative.id]

    def apply(self, ax: Any) -> None:
        ax.set_xlabel(self.label)
        if self.key is None:
            ax.set_xticks([p for p, _ in self.ticks], [t for _, t in self.ticks])
            if len(self.ticks) > 5 or max(len(t) for _, t in self.ticks) > 12:
                for tick in ax.get_xticklabels():
                    tick.set_rotation(30)
                    tick.set_horizontalalignment("right")
        elif self.percent:
            ax.xaxis.set_major_formatter(_percent())


def _x_axis(results: Results) -> _Axis:
    alternatives = results.alternatives
    varying = [k for k in results.keys
               if len({json.dumps(a.params.get(k), sort_keys=True, default=str)
                       for a in alternatives}) > 1]
    numeric = [k for k in varying
               if all(isinstance(a.params.get(k), numbers.Real)
                      and not isinstance(a.params.get(k), bool) for a in alternatives)]
    if numeric:
        key = next((k for k in numeric if is_target_key(k)), numeric[0])
        others = [k for k in varying if k != key]
        series: dict[str, list[Alternative]] = {}
        for a in sorted(alternatives, key=lambda a: (float(a.params[key]), a.id)):
            name = ", ".join(f"{k.rsplit('.', 1)[-1]} = {_value_text(k, a.params[k])}"
                             for k in others)
            series.setdefault(name, []).append(a)
        values = [a.params[key] for a in alternatives]
        return _Axis(key, series, _param_label(key, values), _param_is_fraction(key, values),
                     {a.id: float(a.params[key]) for a in alternatives}, [])
    ordered = sorted(alternatives, key=lambda a: a.id)
    ticks = [(float(i), "\n".join(_value_text(k, a.params.get(k)) for k in varying) or
              f"#{a.id}") for i, a in enumerate(ordered)]
    label = " / ".join(varying) if varying else (", ".join(results.keys) or "alternative")
    return _Axis(None, {"": ordered}, label, False,
                 {a.id: float(i) for i, a in enumerate(ordered)}, ticks)


def _spans(xs: Sequence[float], chosen: set[float]) -> list[tuple[float, float]]:
    """Contiguous runs of chosen x values, widened halfway to their neighbours."""
    xs = sorted(set(xs))
    spans: list[tuple[float, float]] = []
    for i, x in enumerate(xs):
        if x not in chosen:
            continue
        low = (xs[i - 1] + x) / 2 if i > 0 else x
        high = (xs[i + 1] + x) / 2 if i + 1 < len(xs) else x
        if i > 0 and xs[i - 1] in chosen and spans:
            spans[-1] = (spans[-1][0], high)
        else:
            spans.append((low, high))
    if len(xs) > 1:
        pad = 0.004 * (xs[-1] - xs[0])
        spans = [(lo - pad if lo == hi else lo, hi + pad if lo == hi else hi)
                 for lo, hi in spans]
    return spans


def _band(ax: Any, xs: Sequence[float], alts: Sequence[Alternative], key: str, color: str,
          label: str | None, scale: float = 1.0, marker: str = "o") -> None:
    means = np.array([a.interval(key)[0] for a in alts]) * scale
    lows = np.array([a.interval(key)[1] for a in alts]) * scale
    highs = np.array([a.interval(key)[2] for a in alts]) * scale
    ax.fill_between(xs, lows, highs, color=color, alpha=0.2, linewidth=0,
                    label=f"{label}: 95 % CI" if label else "95 % confidence interval")
    ax.plot(xs, means, color=color, marker=marker, label=label)


# ----------------------------------------------------------------------------- charts


@_styled
def objective_chart(results: Results) -> Any:
    """Chart 1: the mean objective against the swept parameter with its 95 % CI band; the
    best alternative marked and annotated, the alternatives not significantly worse shaded
    (paired one-sided t-tests vs the best, Holm-corrected)."""
    objective = results.objective
    axis = _x_axis(results)
    figure, ax = _new_figure()
    best = results.best_alternative
    nw = set(results.not_worse)
    single = len(axis.series) == 1
    if single and len(nw) > 1:
        chosen = {axis.x(a) for a in results.alternatives if a.id in nw}
        for i, (lo, hi) in enumerate(_spans(list(axis.positions.values()), chosen)):
            ax.axvspan(lo, hi, color=PALETTE[2], alpha=0.13, linewidth=0,
                       label="not significantly worse than the best" if i == 0 else None)
    for i, (name, alts) in enumerate(axis.series.items()):
        color = PALETTE[i % len(PALETTE)]
        _band(ax, [axis.x(a) for a in alts], alts, objective, color,
              name or _label(objective))
        if not single:
            ring = [a for a in alts if a.id in nw]
            ax.scatter([axis.x(a) for a in ring], [a.mean(objective) for a in ring], s=220,
                       facecolors="none", edgecolors=color, linewidths=2, zorder=4,
                       label="not significantly worse" if i == 0 else None)
    mean, low, high = best.interval(objective)
    ax.plot([axis.x(best)], [mean], marker="*", markersize=24, color=PALETTE[3],
            markeredgecolor="white", markeredgewidth=1.2, linestyle="none", zorder=5,
            label="optimum")
    where = ", ".join(_value_text(k, v) for k, v in best.params.items())
    text = (f"Optimum: {where}\n{_label(objective)} {_figure_text(objective, mean)}\n"
            f"(95 % CI {_figure_text(objective, low)} to {_figure_text(objective, high)})")
    xs = list(axis.positions.values())
    middle = (min(xs) + max(xs)) / 2
    right = axis.x(best) > middle
    # the box sits low on the optimum's side, under the curve, clear of the points
    ax.annotate(text, xy=(axis.x(best), mean), xytext=(0.97 if right else 0.03, 0.22),
                textcoords="axes fraction", ha="right" if right else "left", va="bottom",
                fontsize=14,
                bbox={"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": GREY,
                      "alpha": 0.92},
                arrowprops={"arrowstyle": "->", "color": GREY, "linewidth": 1.5}, zorder=6)
    axis.apply(ax)
    ax.set_ylabel(_label(objective) + _unit_suffix(objective))
    _set_y_format(ax, objective)
    ax.legend(loc="lower left" if axis.x(best) > middle else "lower right")
    target = axis.key is not None and is_target_key(axis.key)
    _title(ax, results, f"{_label(objective)} against {'service target' if target else axis.label}")
    _caption(figure, f"Shaded: levels whose mean {objective} is not significantly below the "
                     f"optimum's (one-sided paired t-tests on common replications, Holm-"
                     f"corrected, α = {results.alpha:g}).  {_n_text(results)}.")
    return figure


COST_KEYS = ("holding_cost", "ordering_cost", "transport_cost", "backorder_cost")


def _lost_margin(results: Results, alternative: Alternative) -> float:
    """Mean lost units × the average unit margin (gross margin ÷ units delivered) of the
    alternative's replication 0."""
    sim = results.recorded([alternative])[alternative.id]
    margin = sim.gross_margin / sim.units_delivered if sim.units_delivered else 0.0
    return alternative.mean("lost_sales_units") * margin


@_styled
def cost_breakdown_chart(results: Results) -> Any:
    """Chart 2: holding, ordering, transport and backorder cost and the lost margin, stacked
    per alternative, the alternatives ordered by their achieved item fill rate.

    Lost margin = mean lost sales units × the average unit margin, where the average unit
    margin is gross margin ÷ units delivered of replication 0 (units delivered is not in
    ``runs.csv``; it is in the chart records).  Without the records the lost margin is left
    out.
    """
    ordered = sorted(results.alternatives, key=lambda a: (a.mean("item_fill_rate"), a.id))
    figure, ax = _new_figure()
    layers = {_label(k): np.array([a.mean(k) for a in ordered]) for k in COST_KEYS}
    note = ("Lost margin = mean lost sales units × average unit margin (gross margin ÷ units "
            "delivered of replication 0).")
    try:
        layers["Lost margin"] = np.array([_lost_margin(results, a) for a in ordered])
    except PlotError as exc:
        note = f"Lost margin left out: {exc}."
    positions = np.arange(len(ordered))
    bottom = np.zeros(len(ordered))
    colors = (PALETTE[0], PALETTE[5], PALETTE[2], PALETTE[1], PALETTE[3])
    for (name, values), color in zip(layers.items(), colors, strict=False):
        ax.bar(positions, values, bottom=bottom, width=0.7, color=color, label=name,
               edgecolor="white", linewidth=0.6,
               hatch="//" if name == "Lost margin" else None)
        bottom += values
    top = bottom.max() if bottom.size else 1.0
    for x, total in zip(positions, bottom, strict=True):
        ax.text(x, total + 0.01 * top, _money_text(total), ha="center", va="bottom",
                fontsize=12.5, color="#222222")
    keys = [k for k in results.keys]
    labels = []
    for a in ordered:
        lines = [f"β {100 * a.mean('item_fill_rate'):.1f} %"]
        lines += [_value_text(k, a.params.get(k)) for k in keys][:2]
        labels.append("\n".join(lines))
    ax.set_xticks(positions, labels, fontsize=12.5 if len(ordered) > 8 else 14)
    ax.set_xlabel("Achieved item fill rate β (%), and the alternative's "
                  + " / ".join(k.rsplit(".", 1)[-1] for k in keys))
    ax.set_ylabel("Cost over the measured window (money)")
    ax.yaxis.set_major_formatter(_money_formatter())
    ax.set_ylim(0, top * 1.1)
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _title(ax, results, "logistics cost and lost margin by achieved fill rate")
    _caption(figure, f"{note}  Means over replications.  {_n_text(results)}.")
    return figure


@_styled
def tradeoff_chart(results: Results) -> Any:
    """Chart 3: revenue and total cost (revenue − operating profit: goods, logistics, fixed
    and acquisition cost) above, operating profit below, against the swept parameter."""
    axis = _x_axis(results)
    figure, (top, bottom) = _new_figure(2, sharex=True)
    figure.get_layout_engine().set(rect=(0, 0.075, 1, 0.925), hspace=0.06)
    for i, (name, alts) in enumerate(axis.series.items()):
        xs = [axis.x(a) for a in alts]
        suffix = f" ({name})" if name else ""
        revenue = np.array([a.mean("revenue") for a in alts])
        profit = np.array([a.interval("operating_profit") for a in alts])
        cost = revenue - profit[:, 0]
        style = "-" if i == 0 else ["--", ":", "-."][(i - 1) % 3]
        top.plot(xs, revenue, color=PALETTE[0], linestyle=style, marker="o",
                 label="Revenue" + suffix)
        top.plot(xs, cost, color=PALETTE[3], linestyle=style, marker="s",
                 label="Total cost" + suffix)
        bottom.fill_between(xs, profit[:, 1], profit[:, 2], color=PALETTE[2], alpha=0.2,
                            linewidth=0, label="95 % confidence interval" if i == 0 else None)
        bottom.plot(xs, profit[:, 0], color=PALETTE[2], linestyle=style, marker="o",
                    label="Operating profit" + suffix)
    best = max(results.alternatives, key=lambda a: (a.mean("operating_profit"), -a.id))
    bottom.plot([axis.x(best)], [best.mean("operating_profit")], marker="*", markersize=22,
                color=PALETTE[3], markeredgecolor="white", linestyle="none", zorder=5,
                label=f"highest profit: {_money_text(best.mean('operating_profit'))}")
    top.set_ylabel("Revenue, cost (money)")
    bottom.set_ylabel("Operating profit (money)")
    for ax in (top, bottom):
        ax.yaxis.set_major_formatter(_money_formatter())
        ax.legend(loc="best", fontsize=13)
    axis.apply(bottom)
    _title(top, results, "revenue, cost and profit against service")
    _caption(figure, "Total cost = revenue − operating profit (cost of goods, logistics, "
                     f"fixed and acquisition cost); window totals.  {_n_text(results)}.")
    return figure


def _frontier(points: Sequence[tuple[float, float, int]]) -> list[tuple[float, float, int]]:
    """The efficient (upper-left) points: no other has less inventory and more service."""
    best_service = -math.inf
    out = []
    for value, service, index in sorted(points, key=lambda p: (p[0], -p[1])):
        if service > best_service:
            out.append((value, service, index))
            best_service = service
    return out


@_styled
def inventory_chart(results: Results) -> Any:
    """Chart 4: achieved item fill rate against average inventory value (the exchange curve),
    95 % CIs as error bars; with several series (e.g. policy types) the efficient frontier."""
    axis = _x_axis(results)
    figure, ax = _new_figure()
    for i, (name, alts) in enumerate(axis.series.items()):
        color = PALETTE[i % len(PALETTE)]
        inv = np.array([a.interval("avg_inventory_value") for a in alts])
        fill = np.array([a.interval("item_fill_rate") for a in alts])
        ax.errorbar(inv[:, 0], fill[:, 0], xerr=[inv[:, 0] - inv[:, 1], inv[:, 2] - inv[:, 0]],
                    yerr=[fill[:, 0] - fill[:, 1], fill[:, 2] - fill[:, 0]], color=color,
                    marker="o", capsize=3, elinewidth=1.2, label=name or "simulated alternatives")
        if axis.key is not None and len(alts) <= 12:
            # labels below-right for the first series, above-left for the second, ...
            offset, align = ((8, -18), "left") if i % 2 == 0 else ((-8, 10), "right")
            for a, x, y in zip(alts, inv[:, 0], fill[:, 0], strict=True):
                ax.annotate(_value_text(axis.key, a.params[axis.key]), (x, y),
                            xytext=offset, textcoords="offset points", fontsize=11.5,
                            color=color, ha=align)
    if len(axis.series) > 1:
        points = [(a.mean("avg_inventory_value"), a.mean("item_fill_rate"), a.id)
                  for a in results.alternatives]
        front = _frontier(points)
        ax.plot([p[0] for p in front], [p[1] for p in front], color="black", linewidth=2.2,
                linestyle="--", alpha=0.75, zorder=4, label="efficient frontier")
    best = results.best_alternative
    ax.plot([best.mean("avg_inventory_value")], [best.mean("item_fill_rate")], marker="*",
            markersize=24, color=PALETTE[3], markeredgecolor="white", linestyle="none",
            zorder=5, label=f"optimum of {_label(results.objective)}")
    ax.set_xlabel("Average inventory value (money, at unit cost)")
    ax.set_ylabel("Achieved item fill rate β (%)")
    ax.xaxis.set_major_formatter(_money_formatter())
    ax.yaxis.set_major_formatter(_percent())
    ax.legend(loc="lower right")
    _title(ax, results, "the inventory trade-off: fill rate against inventory investment")
    labels = f"Point labels: {axis.key}.  " if axis.key is not None else ""
    _caption(figure, f"{labels}Upper left is better: more service for less inventory.  "
                     f"{_n_text(results)}.")
    return figure


@_styled
def service_chart(results: Results) -> Any:
    """Chart 5: achieved item fill rate (β) and cycle service level (α) against the service
    target of each alternative (``policy.service_target`` after its parameters are set),
    with the 45° line; per-SKU overrides of the target are not shown."""
    figure, ax = _new_figure()
    targets: dict[int, float] = {}
    metric = "fill_rate"
    for a in results.alternatives:
        try:
            scenario = results.scenario(a)
        except Exception:  # noqa: BLE001 - no scenario.yaml: fall back to the parameter
            scenario = None
        target = getattr(getattr(scenario, "policy", None), "service_target", None)
        if scenario is not None:
            metric = scenario.policy.service_metric
        if target is None:
            target = next((v for k, v in a.params.items() if is_target_key(k)), None)
        if isinstance(target, numbers.Real) and not isinstance(target, bool):
            targets[a.id] = float(target)  # per-class targets (a mapping) are not charted
    alts = sorted([a for a in results.alternatives if a.id in targets],
                  key=lambda a: (targets[a.id], a.id))
    if not alts:
        ax.text(0.5, 0.5, "no single service target in these alternatives\n(targets per "
                "SKU class are not charted here)", ha="center",
                transform=ax.transAxes)
        alts = []
    xs = [targets[a.id] for a in alts]
    values = [v for a in alts for k in ("item_fill_rate", "cycle_service_level")
              for v in a.interval(k)] + xs
    finite = [v for v in values if math.isfinite(v)] or [0.0, 1.0]
    low, high = min(finite), max(finite)
    pad = 0.03 * (high - low or 0.1)
    ax.plot([low - pad, high + pad], [low - pad, high + pad], color=GREY, linestyle="--",
            linewidth=1.5, label="achieved = target (45° line)")
    for key, color, marker in (("item_fill_rate", PALETTE[0], "o"),
                               ("cycle_service_level", PALETTE[1], "s")):
        arr = np.array([a.interval(key) for a in alts]).reshape(-1, 3)
        ax.errorbar(xs, arr[:, 0], yerr=[arr[:, 0] - arr[:, 1], arr[:, 2] - arr[:, 0]],
                    color=color, marker=marker, capsize=4, label=_label(key))
    ax.set_xlim(low - pad, high + pad)
    ax.set_ylim(low - pad, high + pad)
    name = "item fill rate β" if metric == "fill_rate" else "cycle service level α"
    ax.set_xlabel(f"Service target (%; policy.service_target, a target {name})")
    ax.set_ylabel("Achieved service (%)")
    ax.xaxis.set_major_formatter(_percent())
    ax.yaxis.set_major_formatter(_percent())
    ax.legend(loc="upper left")
    _title(ax, results, "service targeted against service achieved")
    _caption(figure, "Above the line the policy over-delivers; below it, under-delivers.  "
                     f"{_n_text(results)}.")
    return figure


def _shown_alternatives(results: Results, count: int = 3) -> list[Alternative]:
    """The optimum and the alternatives with the lowest and highest x (up to ``count``)."""
    axis = _x_axis(results)
    ordered = sorted(results.alternatives, key=lambda a: (axis.x(a), a.id))
    chosen = [results.best_alternative]
    for a in (ordered[0], ordered[-1]):
        if len(chosen) < count and a.id not in {c.id for c in chosen}:
            chosen.append(a)
    return sorted(chosen, key=lambda a: (axis.x(a), a.id))


def _describe(results: Results, a: Alternative) -> str:
    text = ", ".join(f"{k.rsplit('.', 1)[-1]} {_value_text(k, v)}" for k, v in a.params.items())
    return text + (" (optimum)" if a.id == results.best else "")


@_styled
def cycle_time_chart(results: Results) -> Any:
    """Chart 6: the empirical distribution (ECDF) of the order cycle time of the optimum and
    the lowest and highest alternatives, with each segment's promised cycle time.

    The distribution is that of replication 0 of each alternative, from the cycle-time
    histogram it recorded (bins of 0.01 day below 10 days): ``runs.csv`` holds only the mean
    and 95th percentile.
    """
    figure, ax = _new_figure()
    shown = _shown_alternatives(results)
    sims = results.recorded(shown)
    right = 0.0
    curves = []
    for i, a in enumerate(shown):
        sim = sims[a.id]
        total = sim.cycle_time_counts.sum()
        if not total:
            continue
        cumulative = np.cumsum(sim.cycle_time_counts) / total
        used = np.nonzero(sim.cycle_time_counts)[0]
        last = used[-1] + 1
        edges = np.concatenate([[0.0], sim.cycle_time_edges[:last]])
        ecdf = np.concatenate([[0.0], cumulative[:last]])
        idx = int(np.searchsorted(cumulative, 0.995))
        right = max(right, float(sim.cycle_time_edges[min(idx, last - 1)]))
        style = {"color": PALETTE[[3, 0, 2][i % 3]],
                 "linewidth": 3.2 if a.id == results.best else 2.2}
        ax.step(edges, ecdf, where="post", label=f"{_describe(results, a)}: {int(total):,} "
                "orders", **style)
        curves.append((edges, ecdf, style))
    scenario = results.scenario()
    promises: dict[float, list[str]] = {}
    for name, segment in scenario.segments.items():
        promises.setdefault(float(segment.promised_cycle_time_days), []).append(name)
    for j, (days, names) in enumerate(sorted(promises.items())):
        ax.axvline(days, color=GREY, linestyle=[":", "--", "-."][j % 3], linewidth=2)
        ax.annotate(f"promise {days:g} d\n({', '.join(names)})", (days, 0.04),
                    xytext=(6, 0), textcoords="offset points", fontsize=12.5, color=GREY,
                    ha="left", va="bottom")
        right = max(right, days * 1.15)
    ax.set_xlim(0, right or None)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(_percent(0))
    if curves:  # the alternatives differ in the tail (backorders, waits): zoom on it
        start = min(float(e[np.searchsorted(c, 0.9)]) for e, c, _ in curves if c[-1] >= 0.9)
        tail = ax.inset_axes((0.56, 0.2, 0.41, 0.44))
        for edges, ecdf, style in curves:
            tail.step(edges, ecdf, where="post", **style)
        for j, days in enumerate(sorted(promises)):
            tail.axvline(days, color=GREY, linestyle=[":", "--", "-."][j % 3], linewidth=1.5)
        tail.set_facecolor("white")
        tail.set_zorder(6)
        tail.set_xlim(start, right or None)
        tail.set_ylim(0.9, 1.002)
        tail.yaxis.set_major_formatter(_percent(0))
        tail.tick_params(labelsize=11)
        tail.set_title("the slowest 10 % of orders", fontsize=12.5)
        tail.grid(True, alpha=0.4)
    ax.set_xlabel("Order cycle time: order to last delivery (days)")
    ax.set_ylabel("Orders delivered within (%)")
    ax.legend(loc="upper left", title="Alternative (replication 0)", title_fontsize=14)
    _title(ax, results, "order cycle time distribution")
    _caption(figure, "ECDF of replication 0 of each alternative (the histogram it "
                     "recorded); runs.csv holds only the mean and 95th percentile per "
                     "replication.  Orders closed in the measured window; x axis cut at the "
                     "99.5th percentile.")
    return figure


REACTIONS = (("backorder", "Backordered"), ("wait", "Waited and retried"),
             ("switch", "Switched (sale lost)"), ("defect", "Defected (customer lost)"))


def _spread(items: Sequence[Alternative], count: int) -> list[Alternative]:
    if len(items) <= count:
        return list(items)
    picks = sorted({round(i * (len(items) - 1) / (count - 1)) for i in range(count)})
    return [items[i] for i in picks]


@_styled
def unmet_demand_chart(results: Results) -> Any:
    """Chart 7: units short at a stockout, by the customer's reaction (backorder, wait and
    retry, switch, defect), as a share of units demanded, against the swept parameter;
    above each bar the mean defections over all replications (from ``runs.csv``).

    The split by reaction is the one replication 0 of each alternative shown recorded (at
    most :data:`MAX_SHOWN`, evenly spread): the summary figures only hold the lost sales and
    defections.
    """
    axis = _x_axis(results)
    ordered = sorted(results.alternatives, key=lambda a: (axis.x(a), a.id))
    shown = _spread(ordered, MAX_SHOWN)
    sims = results.recorded(shown)
    figure, ax = _new_figure()
    positions = np.arange(len(shown))
    bottom = np.zeros(len(shown))
    colors = (PALETTE[0], PALETTE[5], PALETTE[1], PALETTE[3])
    for (reaction, label), color in zip(REACTIONS, colors, strict=True):
        shares = np.array([sims[a.id].short_units.get(reaction, 0.0)
                           / sims[a.id].units_demanded if sims[a.id].units_demanded else 0.0
                           for a in shown])
        ax.bar(positions, shares, bottom=bottom, width=0.7, color=color, label=label,
               edgecolor="white", linewidth=0.6)
        bottom += shares
    top = float(bottom.max()) if bottom.size and bottom.max() > 0 else 0.01
    for x, total, a in zip(positions, bottom, shown, strict=True):
        ax.text(x, total + 0.012 * top, f"{a.mean('defections'):.1f}", ha="center",
                va="bottom", fontsize=12, color="#222222")
    if axis.key is not None:
        labels = [_value_text(axis.key, a.params[axis.key]) for a in shown]
    else:
        labels = [t for p, t in axis.ticks if p in {axis.x(a) for a in shown}]
    ax.set_xticks(positions, labels, fontsize=12.5 if len(shown) > 8 else 14)
    ax.set_xlabel(axis.label)
    ax.set_ylabel("Units short at a stockout (% of units demanded)")
    ax.yaxis.set_major_formatter(_percent(1 if top < 0.1 else 0))
    ax.set_ylim(0, top * 1.15)
    ax.grid(axis="x", visible=False)
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    # a text-only entry (no mathtext marker: it would need fonts the machine may lack)
    handles.append(Line2D([], [], linestyle="none", marker=""))
    labels.append("numbers above the bars: defections (customers, mean)")
    ax.legend(handles, labels, loc="upper right")
    _title(ax, results, "where unmet demand went")
    _caption(figure, "Reactions recorded by replication 0 of each alternative; "
                     "numbers above the bars: mean defections (customers) "
                     f"over all replications.  {_n_text(results)}.")
    return figure


CHARTS: dict[str, Callable[[Results], Any]] = {
    "01-objective": objective_chart,
    "02-cost-breakdown": cost_breakdown_chart,
    "03-revenue-cost-profit": tradeoff_chart,
    "04-inventory-tradeoff": inventory_chart,
    "05-target-vs-achieved": service_chart,
    "06-cycle-time": cycle_time_chart,
    "07-unmet-demand": unmet_demand_chart,
}
"""File stem → chart function, in the order of the module docstring."""


def plot_all(results_dir: str | Path, out_dir: str | Path | None = None,
             formats: Sequence[str] = ("png", "svg"), objective: str | None = None
             ) -> list[Path]:
    """Write every chart of a results folder as PNG (300 dpi) and/or SVG; their paths.

    ``out_dir`` defaults to ``results_dir/charts``.  Raises :class:`PlotError` for a
    folder without results or an unknown format.
    """
    formats = [f.strip().lower().lstrip(".") for f in formats if f.strip()]
    unknown = [f for f in formats if f not in ("png", "svg", "pdf")]
    if unknown or not formats:
        raise PlotError(f"unknown chart format(s) {', '.join(unknown) or '(none)'}; "
                        "use png, svg or pdf")
    results = load_results(results_dir, objective)
    folder = Path(out_dir) if out_dir is not None else results.directory / "charts"
    written = []
    for stem, chart in CHARTS.items():
        try:
            figure = chart(results)
        except PlotError as exc:  # e.g. a folder without chart records
            warnings.warn(f"chart {stem} skipped: {exc}", stacklevel=2)
            continue
        for fmt in formats:
            buffer = io.BytesIO()  # drawn whole first: a full disk never leaves half a chart
            with house_style():
                figure.savefig(buffer, format=fmt, dpi=300, metadata=_metadata(fmt))
            written.append(atomic_write_bytes(folder / f"{stem}.{fmt}", buffer.getvalue()))
    return written


def _metadata(fmt: str) -> dict[str, Any] | None:
    if fmt == "svg":
        return {"Date": None}  # reproducible files
    if fmt == "png":
        return {"Software": "servicesim"}
    return None
