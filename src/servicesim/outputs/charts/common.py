"""What every chart shares: the house style, the page layout (title, subtitle, legend above
the plot, caption), plain-word labels, exact tick formats, the x axis of the alternatives and
the marks for today and the optimum.

The page is laid out so that nothing overlaps whatever the number of alternatives: the title
and subtitle sit in a header band, the legend above the plot area (never on the data), the
caption in a footer band sized to its wrapped lines; tick labels and point labels are thinned
to what fits.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...kpis import KPI_BY_KEY
from ..results import TODAY_FILE, Alternative, PlotError, Results

STYLE_FILE = Path(__file__).resolve().parents[1] / "style" / "servicesim.mplstyle"
"""The house style (slide-sized, large fonts, Okabe-Ito colours)."""
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")
"""Okabe-Ito, the colours of the style file, for explicit use."""
GREY = "#555555"
TODAY_COLOUR = "#000000"
BACKGROUND = "background"
"""The gid of artists that shade whole regions (they may lie under the legend)."""

_HEADER_INCHES = (0.55, 0.34)  # the title line, the subtitle line
_CAPTION_LINE_INCHES = 0.2
_CAPTION_CHARS = 150
_SUBTITLE_CHARS = 118  # at 15 pt  # characters per caption line at 11.5 pt on a 13.3 in page


# ----------------------------------------------------------------------------- style, page


@contextmanager
def house_style() -> Iterator[None]:
    """The house style as a matplotlib style context (global rcParams stay untouched)."""
    import matplotlib.style

    with matplotlib.style.context(str(STYLE_FILE)):
        yield


def styled(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run a chart function under :func:`house_style`."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with house_style():
            return function(*args, **kwargs)

    return wrapper


def new_figure(nrows: int = 1, ncols: int = 1, sharex: bool = False,
               height_ratios: Sequence[float] | None = None,
               width_ratios: Sequence[float] | None = None) -> tuple[Any, Any]:
    """A slide-sized figure on the Agg canvas (no pyplot) and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure()
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, sharex=sharex, squeeze=True,
                           height_ratios=height_ratios, width_ratios=width_ratios)
    return figure, axes


def page(figure: Any, title: str, caption: str, subtitle: str = "") -> None:
    """The title (bold) and subtitle in a header band, the caption wrapped in a footer band;
    the plot area is laid out between them."""
    height = figure.get_figheight()
    caption = " ".join(caption.split()).replace(" %", "\u00a0%").replace(
        "α = ", "α\u00a0=\u00a0")  # "95 %" and "α = 0.05" stay whole
    subtitle = subtitle.replace(" %", "\u00a0%")
    lines = textwrap.wrap(caption, _CAPTION_CHARS, break_on_hyphens=False) if caption else []
    bottom = (0.12 + _CAPTION_LINE_INCHES * len(lines)) / height
    subtitle = "\n".join(textwrap.wrap(subtitle, _SUBTITLE_CHARS))
    header = _HEADER_INCHES[0] + _HEADER_INCHES[1] * (subtitle.count("\n") + 1 if subtitle
                                                      else 0)
    top = 1 - (header + 0.06) / height
    engine = figure.get_layout_engine()
    if engine is not None:
        engine.set(rect=(0, bottom, 1, top - bottom))  # type: ignore[call-arg]
    figure.text(0.008, 1 - 0.1 / height, title, fontsize=21, fontweight="bold", ha="left",
                va="top")
    if subtitle:
        figure.text(0.008, 1 - (0.1 + _HEADER_INCHES[0]) / height, subtitle, fontsize=15,
                    ha="left", va="top", color="#222222")
    if lines:
        figure.text(0.008, 0.08 / height, "\n".join(lines), fontsize=11.5, color=GREY,
                    ha="left", va="bottom", linespacing=1.25)


LEGEND_WRAP = 40
"""Legend entries longer than this many characters wrap onto more lines."""


def legend_above(ax: Any, handles: Sequence[Any] | None = None,
                 labels: Sequence[str] | None = None, ncols: int = 3, **kwargs: Any) -> Any:
    """The legend in rows above the plot area of ``ax``, clear of the data."""
    if handles is None or labels is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    # long entries (a series of several joined keys) wrap, so that the columns of the
    # legend never squeeze the plot area
    labels = [textwrap.fill(label, LEGEND_WRAP, break_on_hyphens=False)
              if len(label) > LEGEND_WRAP and not label.startswith("$") else label
              for label in labels]
    ncols = max(1, min(ncols, len(handles)))
    return ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.0, 1.01),
                     ncols=ncols, borderaxespad=0.0, handlelength=2.4, columnspacing=1.6,
                     **kwargs)


def title_text(results: Results, what: str) -> str:
    return f"{results.scenario_name}: {what}" if results.scenario_name else what[:1].upper() \
        + what[1:]


def run_text(results: Results) -> str:
    """The sentence every caption ends with: what was run and where it is."""
    kind = "Optimisation" if results.kind == "optimize" else "Sweep"
    n = len(results.alternatives)
    reps = results.replications
    replications = f"{reps} replication" if reps == 1 else f"up to {reps} replications"
    return (f"{kind} of {n} alternative{'s' if n != 1 else ''}, {replications} each under "
            f"common random numbers; results folder {results.directory.resolve().name}.")


# ----------------------------------------------------------------------------- words


_READABLE = {
    "service_target": "service target", "order_quantity": "order quantity",
    "reorder_point": "reorder point", "order_up_to": "order-up-to level",
    "review_period_days": "review period", "lead_time_days": "lead time",
    "promised_cycle_time_days": "promised cycle time", "customers": "customers",
    "defect_increase_per_stockout": "defection increase per stockout",
    "holding_rate_per_year": "holding rate", "unit_cost": "unit cost", "price": "price",
    "type": "policy type", "service_metric": "service metric",
}


def param_name(key: str, results: Results | None = None) -> str:
    """A swept key in plain words: the scenario's own label for it when it gives one
    (``labels``), else a readable name from the key's last parts (``policy.service_target``
    → "service target", ``supplier.lead_time_days.mean`` → "lead time mean")."""
    if results is not None:
        try:
            labels = getattr(results.scenario(), "labels", None) or {}
        except ValueError:  # PlotError: no scenario.yaml
            labels = {}
        if key in labels:
            return str(labels[key])
    groups: dict[str, list[tuple[str, str]]] = {}
    for part in key.split("+"):
        what, owner = _key_words(part.strip())
        groups.setdefault(what, [])
        if owner[1] and owner not in groups[what]:
            groups[what].append(owner)
    return " + ".join(_with_owners(what, owners) for what, owners in groups.items())


_OWNERS = {"locations": ("at", "location"), "skus": ("of", "SKU"),
           "segments": ("of", "segment")}
"""Mappings of names a key may start with: how its name reads (``at north``, ``of A``)."""


def _key_words(key: str) -> tuple[str, tuple[str, str]]:
    """One dotted key as (what it sets in words, (its preposition, whose)), e.g.
    ``locations.north.policy.service_target`` → ("service target", ("at", "north")); a
    ``*`` name reads "every location"."""
    parts = key.split(".")
    kind = _OWNERS.get(parts[0]) if len(parts) > 2 else None
    owner: tuple[str, str] = ("", "")
    if kind is not None:
        owner = (kind[0], f"every {kind[1]}" if parts[1] == "*" else parts[1])
        parts = parts[2:]
    words: list[str] = []
    named = [i for i, p in enumerate(parts) if p in _READABLE]
    if named:
        i = named[-1]
        words.append(_READABLE[parts[i]])
        rest = [p for p in parts[i + 1:] if p not in ("mean",)]
        if "mean" in parts[i + 1:]:
            words.append("mean")
        if rest:
            words.append(f"({', '.join(rest)})")
    elif len(parts) >= 2 and parts[-2] == "reactions":
        words.append(f"{parts[-1]} share")
    else:
        words.append(parts[-1].replace("_days", "").replace("_", " "))
    return " ".join(words), owner


def _with_owners(what: str, owners: Sequence[tuple[str, str]]) -> str:
    """``service target at north, south``; every preposition in turn."""
    phrases = [what]
    for preposition in dict.fromkeys(p for p, _ in owners):
        phrases.append(f"{preposition} {', '.join(n for p, n in owners if p == preposition)}")
    return " ".join(phrases)


def is_target_key(key: str) -> bool:
    """Whether a swept key sets a service target: ``policy.service_target``, a SKU's, or a
    class's (``policy.service_target.A``); keys joined by ``+`` are judged by the first."""
    return "service_target" in key.split("+")[0].split(".")[-2:]


def param_is_fraction(key: str, values: Sequence[Any]) -> bool:
    leaf = key.split("+")[0].rsplit(".", 1)[-1]
    return all(isinstance(v, numbers.Real) and 0 <= float(v) <= 1 for v in values) and any(
        word in leaf for word in ("target", "rate", "fraction", "level", "share"))


def param_label(key: str, values: Sequence[Any], results: Results | None = None) -> str:
    """The axis label of a swept key: its plain name and unit."""
    name = param_name(key, results)
    name = name[:1].upper() + name[1:]
    if param_is_fraction(key, values):
        return f"{name} (%)"
    if "days" in key.split("+")[0]:
        return f"{name} (days)"
    return name


def figure_name(key: str) -> str:
    """A figure's name without a parenthesised qualifier: "ROI, annualised", "Item fill
    rate β"."""
    kpi = KPI_BY_KEY.get(key)
    if kpi is None:
        return key
    label = kpi.label
    if label.endswith(")") and " (" in label:
        head, inner = label[:-1].split(" (", 1)
        return f"{head} {inner}" if len(inner) == 1 else f"{inner.capitalize()} {head}"
    return label


def in_sentence(name: str) -> str:
    """A name inside a sentence: "annualised ROI", "item fill rate β", "ROI"."""
    return name if name[1:2].isupper() else name[:1].lower() + name[1:]


def unit_text(key: str, currency: str | None) -> str:
    """The unit of a figure for an axis label: "%", "days", the currency, ..."""
    kpi = KPI_BY_KEY.get(key)
    unit = kpi.unit if kpi else ""
    if unit == "money":
        return currency or ""
    if unit == "money/unit":
        return f"{currency} per unit" if currency else "per unit"
    return {"fraction": "%", "days": "days", "units": "units",
            "customers": "customers"}.get(unit, "")


def axis_label(what: str, unit: str) -> str:
    return f"{what} ({unit})" if unit else what


def figure_axis_label(key: str, currency: str | None) -> str:
    return axis_label(figure_name(key), unit_text(key, currency))


def is_percent(key: str) -> bool:
    kpi = KPI_BY_KEY.get(key)
    return kpi is not None and kpi.unit == "fraction"


def is_money(key: str) -> bool:
    kpi = KPI_BY_KEY.get(key)
    return kpi is not None and kpi.unit == "money"


# ----------------------------------------------------------------------------- numbers


def _decimals(values: Sequence[float], most: int = 3) -> int:
    """The fewest decimals (up to ``most``) that show every value exactly."""
    for decimals in range(most + 1):
        if all(abs(round(v, decimals) - v) < 1e-9 * max(1.0, abs(v)) for v in values):
            return decimals
    return most


def money_scale(values: Sequence[float]) -> tuple[float, str]:
    size = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    if size >= 1e6:
        return 1e6, " M"
    if size >= 1e3:
        return 1e3, " k"
    return 1.0, ""


def exact_formatter(kind: str) -> Any:
    """Tick labels that are exact: a money axis in k or M, a percent axis of fractions, each
    with as many decimals as the ticks need (1.25 M, never a rounded 1.2 M)."""
    from matplotlib.ticker import Formatter

    class Exact(Formatter):  # type: ignore[misc]
        def __init__(self) -> None:
            self.scale, self.suffix, self.decimals = 1.0, "", 0

        def _set(self, values: Sequence[float]) -> None:
            values = [float(v) for v in values if math.isfinite(v)]
            if kind == "money":
                self.scale, self.suffix = money_scale(values)
            else:
                self.scale, self.suffix = 0.01, " %"
            self.decimals = _decimals([v / self.scale for v in values])

        def format_ticks(self, values: Sequence[float]) -> list[str]:
            self._set(values)
            return [self(v, i) for i, v in enumerate(values)]

        def __call__(self, x: float, pos: Any = None) -> str:
            if pos is None:  # the cursor read-out: one value alone
                self._set([x])
            text = f"{x / self.scale:,.{self.decimals}f}"
            if float(text.replace(",", "")) == 0:
                return "0 %" if kind == "percent" else "0"
            return text + self.suffix

    return Exact()


def money_text(value: float) -> str:
    """A money amount for a label: 356 k, 1.25 M (three significant digits)."""
    if not math.isfinite(value):
        return "n/a"
    scale, suffix = money_scale([value])
    scaled = value / scale
    digits = max(0, 2 - int(math.floor(math.log10(abs(scaled))))) if scaled else 0
    return f"{scaled:,.{min(digits, 2) if scale > 1 else 0}f}{suffix}"


def figure_text(key: str, value: float, currency: str | None = None) -> str:
    if not math.isfinite(value):
        return "n/a"
    if is_percent(key):
        return f"{100 * value:.1f} %"
    if is_money(key):
        return money_text(value) + (f" {currency}" if currency else "")
    return f"{value:,.3g}"


def value_text(key: str, value: Any) -> str:
    """A parameter value in plain words: 95 % for a target, 12 for a quantity."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return json.dumps(value, ensure_ascii=False) if isinstance(value, Mapping | list) \
            else str(value)
    if param_is_fraction(key, [value]):
        return f"{100 * value:.4g} %"
    return f"{value:.6g}"


def set_y_format(ax: Any, key: str) -> None:
    if is_percent(key):
        ax.yaxis.set_major_formatter(exact_formatter("percent"))
    elif is_money(key):
        ax.yaxis.set_major_formatter(exact_formatter("money"))


def interval_arrays(alts: Sequence[Alternative], key: str) -> np.ndarray:
    """(mean, low, high) per alternative, shape (n, 3)."""
    return np.array([a.interval(key) for a in alts], dtype=float).reshape(-1, 3)


def error_sizes(values: np.ndarray) -> np.ndarray:
    """Error bar lengths below and above the mean, 0 where the interval is unknown (one
    replication)."""
    below = values[:, 0] - values[:, 1]
    above = values[:, 2] - values[:, 0]
    return np.nan_to_num(np.vstack([below, above]), nan=0.0).clip(min=0.0)


def band(ax: Any, xs: Sequence[float], values: np.ndarray, color: str, label: str,
         marker: str = "o", band_label: str | None = "95 % confidence interval",
         markersize: float | None = None, joined: bool = True) -> None:
    """A mean line with its 95 % confidence band (no band where the interval is unknown);
    for categories (``joined`` False) points with 95 % error bars, not joined."""
    if not joined:
        ax.errorbar(xs, values[:, 0], yerr=error_sizes(values), color=color, marker=marker,
                    markersize=markersize or 10, linestyle="none", capsize=6, elinewidth=2,
                    label=f"{label} (95 % CI bars)")
        return
    if np.isfinite(values[:, 1:]).any():
        ax.fill_between(xs, values[:, 1], values[:, 2], color=color, alpha=0.2, linewidth=0,
                        label=band_label)
    ax.plot(xs, values[:, 0], color=color, marker=marker, label=label,
            markersize=markersize if markersize is not None else (8 if len(xs) <= 30 else 5))


# ----------------------------------------------------------------------------- x axis


@dataclass(frozen=True)
class XAxis:
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

    @property
    def is_target(self) -> bool:
        return self.key is not None and is_target_key(self.key)

    def apply(self, ax: Any) -> None:
        ax.set_xlabel(self.label)
        if self.key is None:
            shown = thin(self.ticks, 12)
            ax.set_xticks([p for p, _ in shown], [t for _, t in shown])
            ax.set_xlim(-0.5, len(self.ticks) - 0.5)
            if len(shown) > 5 or max(len(t) for _, t in shown) > 12:
                for tick in ax.get_xticklabels():
                    tick.set_rotation(30)
                    tick.set_horizontalalignment("right")
            return
        values = sorted(set(self.positions.values()))
        gaps = np.diff(values) if len(values) > 1 else np.array([1.0])
        if len(values) <= 12 and gaps.min() >= (values[-1] - values[0]) / 15:
            # few alternatives: a tick at each, labelled with its exact value
            ax.set_xticks(values, [value_text(self.key, v) for v in values])
        elif self.percent:
            ax.xaxis.set_major_formatter(exact_formatter("percent"))


def x_axis(results: Results) -> XAxis:
    """The x axis of a sweep or search: the service target when one is swept, else the first
    numeric key, else one category per alternative; other varying keys make series."""
    alternatives = results.alternatives
    varying = [k for k in results.keys
               if len({json.dumps(a.params.get(k), sort_keys=True, default=str)
                       for a in alternatives}) > 1]
    numeric = [k for k in varying
               if all(isinstance(a.params.get(k), numbers.Real)
                      and not isinstance(a.params.get(k), bool) for a in alternatives)]
    if not varying and results.keys and all(
            isinstance(a.params.get(results.keys[0]), numbers.Real) for a in alternatives):
        numeric = [results.keys[0]]
    if numeric:
        key = next((k for k in numeric if is_target_key(k)), numeric[0])
        others = [k for k in varying if k != key]
        series: dict[str, list[Alternative]] = {}
        for a in sorted(alternatives, key=lambda a: (float(a.params[key]), a.id)):
            name = ", ".join(f"{param_name(k, results)} {value_text(k, a.params[k])}"
                             for k in others)
            series.setdefault(name, []).append(a)
        if len(others) == 1 and len(series) > 1:
            # one other key: the legend names it once, then gives the other series' values
            first, *rest = series
            values_only = {first: series[first]}
            values_only.update({value_text(others[0], series[n][0].params[others[0]]):
                                series[n] for n in rest})
            if len(values_only) == len(series):
                series = values_only
        values = [a.params[key] for a in alternatives]
        return XAxis(key, series, param_label(key, values, results),
                     param_is_fraction(key, values),
                     {a.id: float(a.params[key]) for a in alternatives}, [])
    ordered = sorted(alternatives, key=lambda a: a.id)
    ticks = [(float(i), ", ".join(value_text(k, a.params.get(k)) for k in varying) or
              f"#{a.id}") for i, a in enumerate(ordered)]
    label = " / ".join(param_name(k, results) for k in varying) if varying else "Alternative"
    return XAxis(None, {"": ordered}, label[:1].upper() + label[1:], False,
                 {a.id: float(i) for i, a in enumerate(ordered)}, ticks)


def thin(items: Sequence[Any], most: int, keep: Sequence[int] = ()) -> list[Any]:
    """At most ``most`` items evenly spread (first and last always), plus the indices
    ``keep`` (e.g. the optimum), dropping spread items closer to a kept one than the
    spacing."""
    n = len(items)
    if n <= most:
        return list(items)
    step = math.ceil((n - 1) / (most - 1))
    picks = set(range(0, n, step))
    if n - 1 - max(picks) < step / 2:  # the last is kept, not its close neighbour
        picks.discard(max(picks))
    picks.add(n - 1)
    for k in keep:
        picks = {p for p in picks if abs(p - k) >= step}
        picks.add(k)
    return [items[i] for i in sorted(picks)]


def spans(xs: Sequence[float], chosen: set[float]) -> list[tuple[float, float]]:
    """Contiguous runs of chosen x values, widened halfway to their neighbours."""
    xs = sorted(set(xs))
    out: list[tuple[float, float]] = []
    for i, x in enumerate(xs):
        if x not in chosen:
            continue
        low = (xs[i - 1] + x) / 2 if i > 0 else x
        high = (xs[i + 1] + x) / 2 if i + 1 < len(xs) else x
        if i > 0 and xs[i - 1] in chosen and out:
            out[-1] = (out[-1][0], high)
        else:
            out.append((low, high))
    if len(xs) > 1:
        pad = 0.004 * (xs[-1] - xs[0])
        out = [(lo - pad if lo == hi else lo, hi + pad if lo == hi else hi) for lo, hi in out]
    return out


# ----------------------------------------------------------------------------- today


@dataclass(frozen=True)
class TodayPoint:
    """Today's policy as the charts mark it: its x, its figures, the best minus today."""

    x: float
    params: dict[str, Any]
    figures: dict[str, dict[str, float]]
    gain: dict[str, dict[str, float]]

    def mean(self, key: str) -> float:
        value = self.figures.get(key, {}).get("mean")
        return float(value) if isinstance(value, numbers.Real) else math.nan


def today_point(results: Results, axis: XAxis) -> TodayPoint | None:
    """Today's point on the x axis (``today.json``), or None when the folder has none or
    today's value of the x parameter is not a number on this axis."""
    try:
        today = results.today
    except AttributeError:  # a JSON document that is not an object
        raise PlotError(f"{results.directory / TODAY_FILE}: not a today.json as servicesim "
                        "writes it (expected an object with 'params', 'figures', 'best', "
                        "'best_minus_today')") from None
    if today is None:
        return None
    params = today.params
    if axis.key is not None:
        value = params.get(axis.key)
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            return None
        x = float(value)
    else:
        same = [a for a in results.alternatives
                if all(a.params.get(k) == v for k, v in params.items() if k in a.params)]
        if not same:
            return None
        x = axis.x(same[0])
    return TodayPoint(x, dict(params), dict(today.figures), dict(today.difference))


def mark_today(ax: Any, today: TodayPoint, y: float, label: str | None = "today") -> None:
    if math.isfinite(y):
        ax.plot([today.x], [y], marker="D", markersize=13, color=TODAY_COLOUR,
                markerfacecolor="white", markeredgewidth=2.4, linestyle="none", zorder=6,
                label=label)


def gain_text(results: Results, today: TodayPoint, key: str) -> str:
    """"Best minus today: ROI +5.9 points (95 % CI +4.1 to +7.7)" for a caption."""
    gain = today.gain.get(key)
    if not gain:
        return ""
    mean, low, high = (float(gain.get(s, math.nan)) for s in ("mean", "ci_low", "ci_high"))
    if is_percent(key):
        def show(v: float) -> str:
            return f"{100 * v:+.1f}"
        unit = " points"
    else:
        currency = results.currency

        def show(v: float) -> str:
            return ("+" if v >= 0 else "−") + money_text(abs(v))
        unit = f" {currency}" if currency else ""
    ci = (f" (95 % CI {show(low)} to {show(high)}{unit})"
          if math.isfinite(low) and math.isfinite(high) else " (one replication: no CI)")
    return f"Best minus today: {in_sentence(figure_name(key))} {show(mean)}{unit}{ci}."


def achieved_panel(ax: Any, results: Results, axis: XAxis, today: TodayPoint | None) -> None:
    """The achieved item fill rate β of each alternative with its 95 % CI (of the swept
    locations' customers when a location's target is swept: ``results.service_key``), and
    the target itself (dashed) when the x axis is a service target: what a target delivers."""
    key = results.service_key
    for i, alts in enumerate(axis.series.values()):
        xs = [axis.x(a) for a in alts]
        values = interval_arrays(alts, key)
        # one series: green; several: each in its colour of the panel above
        colour = PALETTE[2] if len(axis.series) == 1 else PALETTE[i % len(PALETTE)]
        ax.errorbar(xs, values[:, 0], yerr=error_sizes(values), color=colour, marker="o",
                    markersize=6 if len(xs) <= 30 else 4, capsize=2, elinewidth=1.2,
                    linewidth=1.6, linestyle="-" if axis.key is not None else "none",
                    label=f"achieved {results.service_label}" if i == 0 else None)
    if axis.is_target:
        xs = sorted(axis.positions.values())
        ax.plot([xs[0], xs[-1]], [xs[0], xs[-1]], color=GREY, linestyle="--", linewidth=1.5,
                label="achieved = target")
    if today is not None:
        mark_today(ax, today, today.mean(key), label=None)
    ax.set_ylabel(f"{results.service_axis} (%)")
    ax.yaxis.set_major_formatter(exact_formatter("percent"))
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]))


_OFFSETS = (((8, -20), "left"), ((-8, 8), "right"), ((8, 8), "left"), ((-8, -20), "right"))


def place_labels(figure: Any, ax: Any, labels: Sequence[tuple[float, float, str, str]],
                 fontsize: float = 11.5, marker_points: float = 0.0) -> int:
    """Label points ``(x, y, text, colour)`` in priority order, each beside its point at the
    first offset where it overlaps no label already placed and stays inside the plot area;
    a label that fits nowhere is left out.  With ``marker_points`` > 0 a label also keeps
    off the other labelled points' markers (squares of that half-width in points).  Call it
    once the figure is otherwise complete (it fixes the layout first).  Returns the number
    of labels drawn."""
    from matplotlib.transforms import Bbox

    figure.draw_without_rendering()
    figure.set_layout_engine("none")  # the labels must not move the axes they were fit to
    renderer = figure.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    half = marker_points * figure.dpi / 72
    markers = [Bbox.from_extents(u - half, v - half, u + half, v + half)
               for u, v in (ax.transData.transform((x, y)) for x, y, _, _ in labels)]
    placed: list[Any] = []
    for k, (x, y, text, colour) in enumerate(labels):
        others = [m for i, m in enumerate(markers) if i != k] if half > 0 else []
        for offset, align in _OFFSETS:
            note = ax.annotate(text, (x, y), xytext=offset, textcoords="offset points",
                               fontsize=fontsize, color=colour, ha=align, zorder=7,
                               bbox={"boxstyle": "square,pad=0.1", "facecolor": "white",
                                     "edgecolor": "none", "alpha": 0.85})
            box = note.get_window_extent(renderer)
            inside = (box.x0 >= area.x0 and box.x1 <= area.x1 and box.y0 >= area.y0
                      and box.y1 <= area.y1)
            if inside and not any(box.overlaps(other) for other in placed + others):
                placed.append(box)
                break
            note.remove()
    return len(placed)
