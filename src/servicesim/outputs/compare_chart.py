"""The chart of a what-if comparison: paired differences against the reference scenario
with their 95 % intervals, one panel per key figure (``compare.png`` and ``compare.svg``).

The comparison itself (runs, table, paired tests) is
:func:`servicesim.experiment.compare.compare`; this module only draws it.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..experiment.statistics import excludes_zero
from ..files import atomic_write_bytes
from ..kpis import KEY_FIGURES, KPI_BY_KEY
from ..text import clip

__all__ = ["ComparisonLike", "compare_figure", "write_compare_chart"]


class ComparisonLike(Protocol):
    """What the chart needs of :class:`servicesim.experiment.compare.Comparison`."""

    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def reference(self) -> str: ...

    @property
    def replications(self) -> int: ...

    @property
    def directory(self) -> Path | None: ...

    def row(self, figure: str, label: str) -> Mapping[str, Any]: ...

_AXIS_UNIT = {"fraction": "percentage points", "money": "money", "days": "days",
              "units": "units", "customers": "customers", "money/unit": "money/unit"}
_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")
"""Okabe & Ito: distinguishable with every common colour-vision deficiency."""
_LOCAL_STYLE = {
    "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 9.5, "xtick.labelsize": 9,
    "ytick.labelsize": 9, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "axes.grid.axis": "x", "grid.color": "#dddddd", "grid.linewidth": 0.6,
    "figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white",
    "font.family": "DejaVu Sans",
}


def _style() -> Any:
    """The house style shipped in the package when there is one, else a readable local one."""
    path = Path(__file__).with_name("style") / "servicesim.mplstyle"
    if not path.is_file():
        return [_LOCAL_STYLE]
    # eleven small panels: smaller type than a one-chart slide, and a layout of our own
    return [str(path), {"figure.constrained_layout.use": False, "font.size": 10,
                        "axes.titlesize": 11, "axes.titlepad": 6, "axes.labelsize": 9.5,
                        "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 10,
                        "axes.grid.axis": "x"}]


def write_compare_chart(result: ComparisonLike, directory: str | os.PathLike[str] | None = None,
                        figures: Sequence[str] = KEY_FIGURES) -> dict[str, Path]:
    """Bars of the paired differences with 95 % CI error bars, one panel per figure;
    writes ``compare.png`` (300 dpi) and ``compare.svg`` to ``directory`` (default: the
    comparison's folder).  Returns ``{"png": path, "svg": path}``."""
    if directory is None:
        if result.directory is None:
            raise ValueError("no folder to write the chart to: pass directory=")
        directory = result.directory
    import matplotlib.style

    folder = Path(directory)
    figure = compare_figure(result, figures)
    paths = {"png": folder / "compare.png", "svg": folder / "compare.svg"}
    with matplotlib.style.context(_style()):
        for kind, path in paths.items():
            buffer = io.BytesIO()
            figure.savefig(buffer, format=kind, dpi=300)
            atomic_write_bytes(path, buffer.getvalue())
    return paths


def compare_figure(result: ComparisonLike, figures: Sequence[str] = KEY_FIGURES) -> Any:
    """The figure :func:`write_compare_chart` writes, on the Agg canvas (no pyplot)."""
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    keys = [k for k in figures if k in KPI_BY_KEY]
    columns = 4
    rows = math.ceil((len(keys) + 1) / columns)  # one more panel for the legend
    with matplotlib.style.context(_style()):
        fig = Figure(figsize=(3.4 * columns, 0.9 + 2.1 * rows))
        FigureCanvasAgg(fig)
        flat = fig.subplots(rows, columns, squeeze=False).ravel()
        currency = _currency(result)
        for ax, key in zip(flat, keys, strict=False):
            _panel(ax, result, key, currency)
        for ax in flat[len(keys):]:
            ax.axis("off")
        _legend(flat[len(keys)], result)
        names = ", ".join(clip(result.labels[i], 40) for i in range(1, len(result.labels)))
        fig.suptitle(f"What-if: {names} vs {clip(result.reference, 40)}",
                     x=0.01, ha="left", fontsize=13, fontweight="bold")
        fig.text(0.01, 1 - 0.55 / fig.get_figheight(),
                 f"Paired difference (scenario − reference) with 95 % CI over "
                 f"{result.replications} common-random-number replications; money over the "
                 "measured window", ha="left", va="top", fontsize=9.5, color="#444444")
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.75 / fig.get_figheight()))
    return fig


def _currency(result: ComparisonLike) -> str | None:
    """The reference scenario's currency code (``finance.currency``), when it gives one."""
    scenarios = getattr(result, "scenarios", None)
    if callable(scenarios):  # a comparison read back from its folder
        try:
            scenarios = scenarios()
        except (ValueError, KeyError, TypeError):  # a manifest without valid scenarios
            scenarios = None
    finance = getattr((scenarios or [None])[0], "finance", None)
    code = getattr(finance, "currency", None)
    return code if isinstance(code, str) and code else None


def _panel(ax: Any, result: ComparisonLike, key: str, currency: str | None = None) -> None:
    """One figure's paired differences, one bar per alternative, with their 95 % CIs."""
    from matplotlib.ticker import MaxNLocator

    kpi = KPI_BY_KEY[key]
    scale = 100.0 if kpi.unit == "fraction" else 1.0
    alternatives = list(range(1, len(result.labels)))
    for position, index in enumerate(alternatives):
        row = result.row(key, result.labels[index])
        diff = row["diff"]
        if diff is None or not math.isfinite(diff):
            continue
        low, high = row["diff_ci_low"], row["diff_ci_high"]
        colour = _COLOURS[(index - 1) % len(_COLOURS)]
        strong = excludes_zero(row["diff_ci_low"], row["diff_ci_high"])
        y = -position
        ax.barh(y, scale * diff, height=0.6, color=colour, alpha=1.0 if strong else 0.35,
                edgecolor=colour, linewidth=1)
        if math.isfinite(low) and math.isfinite(high):
            ax.errorbar(scale * diff, y, xerr=[[scale * (diff - low)], [scale * (high - diff)]],
                        fmt="none", ecolor="#222222", elinewidth=1.1, capsize=3)
    ax.axvline(0, color="#222222", linewidth=0.9)
    ax.set_yticks([])
    ax.set_ylim(-len(alternatives) + 0.4, 0.6)
    ax.set_title(kpi.label, loc="left")
    unit = _AXIS_UNIT[kpi.unit]
    if currency and kpi.unit in ("money", "money/unit"):
        unit = currency if kpi.unit == "money" else f"{currency} per unit"
    ax.set_xlabel(f"Δ, {unit}")
    reference = result.row(key, result.reference)["mean"]
    _symmetric(ax, _least_reach(kpi.unit, scale * reference))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, symmetric=True))
    ax.xaxis.set_major_formatter(_tick_formatter(kpi.unit))


def _legend(ax: Any, result: ComparisonLike) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=_COLOURS[(i - 1) % len(_COLOURS)], label=clip(result.labels[i], 38))
               for i in range(1, len(result.labels))]
    handles.append(Patch(facecolor="#888888", alpha=0.35, label="pale: 95 % CI includes 0"))
    ax.legend(handles=handles, loc="center left", frameon=False,
              title=f"vs {clip(result.reference, 30)}", alignment="left")


def _tick_formatter(unit: str) -> Any:
    from matplotlib.ticker import FuncFormatter

    def show(value: float, _position: int) -> str:
        if abs(value) < 1e-12:
            return "0"
        if unit == "money":
            for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
                if abs(value) >= size:
                    return f"{value / size:+.3g}{suffix}"
            return f"{value:+,.0f}"
        if abs(value) >= 1000:  # counts in the thousands: grouped digits, never 1e+03
            return f"{value:+,.0f}"
        return f"{value:+.3g}"

    return FuncFormatter(show)


def _least_reach(unit: str, reference: float) -> float:
    """The smallest half-width of a panel's axis: 1 % of the reference's size (0.5 points
    for rates), so that noise around a tiny difference does not fill the panel."""
    floor = 0.5 if unit == "fraction" else 0.0
    size = abs(reference) if reference is not None and math.isfinite(reference) else 0.0
    return max(floor, 0.01 * size)


def _symmetric(ax: Any, least: float = 0.0) -> None:
    """Zero in the middle, so the direction of a difference reads at a glance."""
    low, high = ax.get_xlim()
    reach = max(abs(low), abs(high), least) or 1.0
    ax.set_xlim(-reach, reach)
