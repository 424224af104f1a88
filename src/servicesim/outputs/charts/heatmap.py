"""Chart 9: the objective over two swept or searched parameters — for a network, where the
safety stock pays best: at the DC, at the branches, or both (DOMAIN §4, §7)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...kpis import KPI_BY_KEY
from ..results import Alternative, PlotError, Results
from .common import (
    GREY,
    PALETTE,
    TODAY_COLOUR,
    TodayPoint,
    exact_formatter,
    figure_axis_label,
    figure_name,
    figure_text,
    gain_text,
    in_sentence,
    is_money,
    is_percent,
    legend_above,
    money_text,
    new_figure,
    page,
    param_is_fraction,
    param_label,
    param_name,
    run_text,
    styled,
    thin,
    title_text,
    value_text,
)

COLOUR_MAP = "viridis"
"""Perceptually uniform and readable in grey and by colour-blind readers; high is yellow."""
MAX_CELL_LABELS = 12
"""Up to this many values per axis, each cell of a sweep's grid shows its value."""
MAX_TITLE_CHARS = 75
LEGEND_ORDER = {"optimum": 0, "today": 1, "not significantly worse than the optimum": 2}
"""The markers first in the legend; the replication sizes of an optimisation follow."""
"""A longer title (long parameter names) says "over the two parameters" instead."""


@dataclass(frozen=True)
class Plane:
    """The two parameters of the chart: key 1 on x, key 2 on y, and the alternatives on it.

    On a sweep's grid every value is one column or row of equal size (position = its index,
    a value between two of them in proportion); an optimisation's points sit at their
    values."""

    keys: tuple[str, str]
    alternatives: list[Alternative]
    grid: bool

    def point(self, alternative: Alternative) -> tuple[float, float]:
        """The alternative's values of the two keys."""
        return (float(alternative.params[self.keys[0]]),
                float(alternative.params[self.keys[1]]))

    def values(self, axis: int) -> list[float]:
        """The distinct values of key ``axis`` (0 or 1), increasing."""
        return sorted({self.point(a)[axis] for a in self.alternatives})

    def at(self, x: float, y: float) -> tuple[float, float] | None:
        """Where values (x, y) sit on the chart; None outside a sweep's grid."""
        if not self.grid:
            return x, y
        spots = []
        for axis, value in enumerate((x, y)):
            values = self.values(axis)
            if not values[0] <= value <= values[-1]:
                return None
            spots.append(float(np.interp(value, values, range(len(values)))))
        return spots[0], spots[1]


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(float(value))


def heat_map_applies(results: Results) -> bool:
    """Whether the folder has exactly two parameters, each numeric with two values or more
    (a sweep's two-key grid, or an optimisation of two keys)."""
    if len(results.keys) != 2:
        return False
    if not all(_number(a.params.get(k)) for a in results.alternatives for k in results.keys):
        return False
    return all(len({float(a.params[k]) for a in results.alternatives}) >= 2
               for k in results.keys)


def plane(results: Results) -> Plane:
    """The chart's plane; a :class:`PlotError` saying why when the folder has no such two
    parameters."""
    if not heat_map_applies(results):
        raise PlotError(f"{results.directory}: the heat map needs exactly two swept or "
                        "searched parameters with numeric values, two or more each (this "
                        f"folder has {', '.join(results.keys) or 'none'})")
    first, second = results.keys
    return Plane((first, second), list(results.alternatives), results.kind == "sweep")


@styled
def heat_map_chart(results: Results) -> Any:
    """Chart 9: the objective over the two swept or searched parameters — for a sweep, a
    colour grid of the mean objective of every alternative; for an optimisation, its
    evaluated points coloured by their mean objective and sized by their replications.  The
    optimum is starred, the alternatives not significantly worse than it are outlined
    (one-sided paired t-tests on common replications, Holm-corrected), today's values are
    marked when known."""
    space = plane(results)
    objective = results.objective
    figure, ax = new_figure()
    if results.kind == "sweep":
        colours = _grid(ax, results, space)
    else:
        colours = _points(ax, results, space)
    bar = figure.colorbar(colours, ax=ax, pad=0.02, fraction=0.05)
    bar.set_label(figure_axis_label(objective, results.currency))
    if is_percent(objective) or is_money(objective):
        bar.formatter = exact_formatter("percent" if is_percent(objective) else "money")
        bar.update_ticks()
    small = len(space.values(0)) > 7 or len(space.values(1)) > 7
    ax.plot(*_at(space, space.point(results.best_alternative)), marker="*",
            markersize=22 if small else 30, color=PALETTE[3], markeredgecolor="black",
            markeredgewidth=1.2, linestyle="none", zorder=6, label="optimum")
    today = _today(results, space)
    if today is not None:
        ax.plot(*today, marker="D", markersize=11 if small else 14, color=TODAY_COLOUR,
                markerfacecolor="white", markeredgewidth=2.6, linestyle="none", zorder=7,
                label="today")
    for axis, key in enumerate(space.keys):
        _axis(ax, axis, key, space, results)
    ax.grid(False)
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: (LEGEND_ORDER.get(labels[i], 9), i))
    legend_above(ax, [handles[i] for i in order], [labels[i] for i in order], ncols=3)
    names = " and ".join(param_name(k, results) for k in space.keys)
    what = f"{in_sentence(figure_name(objective))} over {names}"
    if len(title_text(results, what)) > MAX_TITLE_CHARS:  # the axes name them
        what = f"{in_sentence(figure_name(objective))} over the two parameters"
    page(figure, title_text(results, what),
         _caption(results, today is not None), _subtitle(results, space))
    return figure


def _at(space: Plane, values: tuple[float, float]) -> tuple[float, float]:
    spot = space.at(*values)
    assert spot is not None  # an alternative is on its own grid
    return spot


def _grid(ax: Any, results: Results, space: Plane) -> Any:
    """The sweep's grid as equal coloured cells (white where an alternative has no mean),
    the value in each cell when the grid is small, the not-worse cells outlined."""
    xs, ys = space.values(0), space.values(1)
    z = np.full((len(ys), len(xs)), np.nan)
    cell = {}
    for a in space.alternatives:
        x, y = space.point(a)
        i, j = ys.index(y), xs.index(x)
        z[i, j] = a.mean(results.objective)
        cell[a.id] = (i, j)
    x_edges, y_edges = np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(z), cmap=COLOUR_MAP,
                         shading="flat", edgecolors="white", linewidth=0.6)
    if max(len(xs), len(ys)) <= MAX_CELL_LABELS:
        today = _today(results, space)
        on_a_cell = today is not None and all(float(v).is_integer() for v in today)
        marked = [cell[results.best]] + ([(int(today[1]), int(today[0]))]
                                         if today is not None and on_a_cell else [])
        _cell_labels(ax, results, z, mesh, marked)
    chosen = {cell[i] for i in results.not_worse if i in cell}
    if results.replications >= 2 and len(chosen) > 1:
        _outline(ax, chosen, x_edges, y_edges)
    return mesh


def _cell_labels(ax: Any, results: Results, z: np.ndarray, mesh: Any,
                 marked: Sequence[tuple[int, int]]) -> None:
    """Each cell's mean objective, in black on light cells and white on dark ones; beside
    the marker in a cell that holds the optimum or today."""
    rows, columns = z.shape
    size = 13 if max(rows, columns) <= 7 else 10
    decimals = 1 if np.nanmax(np.abs(z)) * (100 if is_percent(results.objective) else 1) \
        < 1000 else 0
    for i in range(rows):
        for j in range(columns):
            if not math.isfinite(z[i, j]):
                continue
            red, green, blue, _ = mesh.cmap(mesh.norm(z[i, j]))
            dark = 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5
            beside = (i, j) in marked
            ax.annotate(_short(results, z[i, j], decimals), (j, i),
                        xytext=(14 if beside else 0, 0), textcoords="offset points",
                        ha="left" if beside else "center", va="center", fontsize=size,
                        color="white" if dark else "black", zorder=3)


def _short(results: Results, value: float, decimals: int) -> str:
    """A cell's value without its unit (the colour bar gives it)."""
    if is_percent(results.objective):
        return f"{100 * value:,.{decimals}f}"
    return money_text(value) if is_money(results.objective) else f"{value:,.3g}"


def _outline(ax: Any, chosen: set[tuple[int, int]], x_edges: np.ndarray,
             y_edges: np.ndarray) -> None:
    """The border of the union of the chosen cells (row, column): each cell side that no
    chosen neighbour shares."""
    from matplotlib.collections import LineCollection

    segments = []
    for i, j in chosen:
        x0, x1, y0, y1 = x_edges[j], x_edges[j + 1], y_edges[i], y_edges[i + 1]
        if (i - 1, j) not in chosen:
            segments.append([(x0, y0), (x1, y0)])
        if (i + 1, j) not in chosen:
            segments.append([(x0, y1), (x1, y1)])
        if (i, j - 1) not in chosen:
            segments.append([(x0, y0), (x0, y1)])
        if (i, j + 1) not in chosen:
            segments.append([(x1, y0), (x1, y1)])
    ax.add_collection(LineCollection(segments, colors=PALETTE[3], linewidths=3.2, zorder=4,
                                     capstyle="round",
                                     label="not significantly worse than the optimum"))


def _points(ax: Any, results: Results, space: Plane) -> Any:
    """The optimisation's evaluated points, coloured by mean objective and sized by their
    replications; the not-worse points ringed."""
    objective = results.objective
    alts = sorted(space.alternatives, key=lambda a: a.figures[objective]["n"])
    reps = np.array([a.figures[objective]["n"] for a in alts], dtype=float)
    sizes = 40 + 460 * np.sqrt(reps / max(reps.max(), 1.0))
    points = np.array([space.point(a) for a in alts])
    dots = ax.scatter(points[:, 0], points[:, 1], c=[a.mean(objective) for a in alts],
                      s=sizes, cmap=COLOUR_MAP, edgecolors="white", linewidths=0.6, zorder=3)
    ring = [a for a in alts if a.id in set(results.not_worse)]
    if ring and results.replications >= 2:
        ax.scatter([space.point(a)[0] for a in ring], [space.point(a)[1] for a in ring],
                   s=[sizes[alts.index(a)] * 1.15 + 40 for a in ring], facecolors="none",
                   edgecolors=PALETTE[3], linewidths=1.6, zorder=4)
        ax.scatter([], [], s=160, facecolors="none", edgecolors=PALETTE[3], linewidths=2.2,
                   label="not significantly worse than the optimum")  # the legend's ring
    for n in sorted({int(reps.min()), int(reps.max())}):  # the size key
        ax.scatter([], [], s=40 + 460 * math.sqrt(n / max(reps.max(), 1.0)), color=GREY,
                   label=f"{n} replication{'s' if n != 1 else ''}")
    return dots


def _axis(ax: Any, axis: int, key: str, space: Plane, results: Results) -> None:
    """Label one axis in words with its unit: a grid's exact values as ticks (evenly
    thinned when many), an optimisation's in % for a fraction."""
    values = space.values(axis)
    (ax.set_xlabel if axis == 0 else ax.set_ylabel)(param_label(key, values, results))
    if space.grid:
        shown = thin(list(enumerate(values)), MAX_CELL_LABELS)
        (ax.set_xticks if axis == 0 else ax.set_yticks)(
            [i for i, _ in shown], [value_text(key, v) for _, v in shown])
    elif param_is_fraction(key, values):
        (ax.xaxis if axis == 0 else ax.yaxis).set_major_formatter(exact_formatter("percent"))


def _today(results: Results, space: Plane) -> tuple[float, float] | None:
    """Where today's values of both parameters sit (``today.json``), when both are numbers
    (and, on a sweep's grid, inside it)."""
    today = results.today
    if today is None:
        return None
    values = [today.params.get(k) for k in space.keys]
    if not all(_number(v) for v in values):
        return None
    return space.at(float(values[0]), float(values[1]))


def _subtitle(results: Results, space: Plane) -> str:
    objective, currency = results.objective, results.currency
    best = results.best_alternative
    mean, low, high = best.interval(objective)
    where = ", ".join(f"{param_name(k, results)} {value_text(k, best.params[k])}"
                      for k in space.keys)
    short = KPI_BY_KEY[objective].label.split(" (")[0]
    interval = (f" (95 % CI {figure_text(objective, low, currency)} to "
                f"{figure_text(objective, high, currency)})"
                if math.isfinite(low) and math.isfinite(high) else "")
    return (f"Optimum at {where}: {short} {figure_text(objective, mean, currency)}{interval}; "
            f"{len(results.not_worse)} of {len(space.alternatives)} "
            f"{'alternatives' if results.kind == 'sweep' else 'points'} not significantly "
            "worse")


def _caption(results: Results, today: bool) -> str:
    objective = in_sentence(figure_name(results.objective))
    if results.kind == "sweep":
        text = (f"Colour: the mean {objective} of each alternative of the grid (numbers in "
                "the cells when the grid is small).  ")
        marked = "Outlined"
    else:
        text = (f"Each point is one the optimiser evaluated: colour its mean {objective}, "
                "size its replications (more near the top, where the search refines).  ")
        marked = "Ringed"
    if results.replications >= 2:
        text += (f"{marked}: not significantly below the optimum (one-sided paired t-tests "
                 f"on common replications, Holm-corrected, α = {results.alpha:g}).  ")
    if today:
        doc = results.today
        gain = "" if doc is None else gain_text(results, TodayPoint(
            math.nan, dict(doc.params), dict(doc.figures), dict(doc.difference)),
            results.objective)
        text += f"Diamond: today, the scenario's own values.  {gain}  "
    return text + run_text(results)
