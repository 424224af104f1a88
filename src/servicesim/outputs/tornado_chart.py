"""Chart 08: how the optimum moves with the uncertain behavioural inputs (a tornado).

``write_tornado_chart("results/baseline/optimize-...")`` reads ``sensitivity.json`` of a
folder (written by :func:`servicesim.experiment.sensitivity.sensitivity`) and writes
``charts/08-sensitivity.png`` (300 dpi) and ``.svg``, atomically.  Two panels share one row
per input, sorted by how far the objective at the optimum swings:

- left, the objective at each variant's optimum (ROI by default): a bar from the base to the
  low variant and one from the base to the high variant, the base as a line;
- right, each variant's best target with the range of targets not significantly below it,
  the base's range shaded: whether the decision itself changes.

This module reads result files only; it never runs the model.
"""

from __future__ import annotations

import io
import json
import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..files import OutputError, atomic_write_bytes
from ..kpis import KPI_BY_KEY
from .plots import GREY, PALETTE, house_style

__all__ = ["CHART_STEM", "SensitivityChartError", "tornado_chart", "write_tornado_chart"]

CHART_STEM = "08-sensitivity"
CAPTION_WIDTH = 150
"""Characters per caption line (11.5 pt on the 13.3-inch slide)."""
LOW_COLOUR, HIGH_COLOUR = PALETTE[0], PALETTE[3]
"""Blue for the low factor, vermilion for the high one (Okabe-Ito)."""


class SensitivityChartError(OutputError):
    """``sensitivity.json`` is missing or unreadable; the message names it."""


def read_sensitivity(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``sensitivity.json`` document of a results folder."""
    path = Path(directory) / "sensitivity.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        document["base"]["objective"]["mean"]  # noqa: B018 - the contract's core
        return dict(document)
    except FileNotFoundError:
        raise SensitivityChartError(f"{path} is missing: run servicesim sensitivity (or "
                                    "optimize --sensitivity) first") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SensitivityChartError(f"cannot read {path}: {exc}") from None


# ------------------------------------------------------------------------------ formats


def _is_percent(objective: str) -> bool:
    kpi = KPI_BY_KEY.get(objective)
    return objective == "roi" or (kpi is not None and kpi.unit == "fraction")


def _objective_text(objective: str, value: float | None, currency: str | None) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    if _is_percent(objective):
        return f"{100 * value:.1f} %"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f} M"
    return f"{value / 1e3:,.0f} k" if abs(value) >= 1e3 else f"{value:,.0f}"


def _objective_label(objective: str, currency: str | None) -> str:
    if objective == "roi":
        return "ROI at the best target"
    label = KPI_BY_KEY[objective].label if objective in KPI_BY_KEY else objective
    unit = f" ({currency})" if currency and not _is_percent(objective) else ""
    return f"{label} at the best target{unit}"


def _target_label(param: str) -> str:
    return "Service target" if "service_target" in param.split(".")[-2:] else param


def _factor(factor: float) -> str:
    return f"x{factor:g}"


def _formatter(function: Any) -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos=None: function(v))


# ------------------------------------------------------------------------------ drawing


def _swing(entry: Mapping[str, Any]) -> float:
    return abs(entry["high"]["objective"]["mean"] - entry["low"]["objective"]["mean"])


def _objective_panel(ax: Any, document: Mapping[str, Any], inputs: Sequence[Any]) -> None:
    objective, currency = document["objective"], document.get("currency")
    base = document["base"]["objective"]["mean"]
    values = [base]
    for row, entry in enumerate(inputs):
        for side, offset, colour in (("low", 0.2, LOW_COLOUR), ("high", -0.2, HIGH_COLOUR)):
            value = entry[side]["objective"]["mean"]
            values.append(value)
            ax.barh(row + offset, value - base, left=base, height=0.36, color=colour)
            right = value >= base
            ax.annotate(f"{_factor(entry[side]['factor'])}  "
                        f"{_objective_text(objective, value, currency)}",
                        (value, row + offset), xytext=(6 if right else -6, 0),
                        textcoords="offset points", va="center",
                        ha="left" if right else "right", fontsize=13)
    ax.axvline(base, color="black", linewidth=1.6)
    low, high = min(values), max(values)
    pad = max(high - low, abs(base) * 0.02, 1e-9)
    ax.set_xlim(low - 0.7 * pad, high + 0.7 * pad)
    ax.xaxis.get_major_locator().set_params(nbins=5)
    decimals = 0 if _is_percent(objective) and high - low + 1.4 * pad > 0.03 else 1
    ax.xaxis.set_major_formatter(_formatter(
        lambda v: f"{100 * v:.{decimals}f} %" if _is_percent(objective)
        else _objective_text(objective, v, currency)))
    ax.set_xlabel(_objective_label(objective, currency))
    name = "ROI" if objective == "roi" else (
        KPI_BY_KEY[objective].label if objective in KPI_BY_KEY else objective)
    ax.set_title(f"{name} at the optimum (base {_objective_text(objective, base, currency)})",
                 loc="left", fontsize=17)
    ax.grid(axis="y", visible=False)


def _target_panel(ax: Any, document: Mapping[str, Any], inputs: Sequence[Any]) -> None:
    base = document["base"]
    lo, hi = base["not_worse"]
    ax.axvspan(lo, hi, color=GREY, alpha=0.15, linewidth=0)
    ax.axvline(base["optimum"], color="black", linewidth=1.6)
    for row, entry in enumerate(inputs):
        for side, offset, colour in (("low", 0.2, LOW_COLOUR), ("high", -0.2, HIGH_COLOUR)):
            found = entry[side]
            left, right = found["not_worse"]
            ax.errorbar(found["optimum"], row + offset,
                        xerr=[[found["optimum"] - left], [right - found["optimum"]]],
                        fmt="o", color=colour, capsize=4, markersize=9, linewidth=2)
    shown = [lo, hi, *(x for entry in inputs for side in ("low", "high")
                       for x in entry[side]["not_worse"])]
    span = max(shown) - min(shown) or abs(base["optimum"]) * 0.01 or 1.0
    if "service_target" in document["param"].split(".")[-2:]:  # a target is below 100 %
        ax.set_xlim(min(shown) - 0.12 * span, min(max(shown) + 0.12 * span, 1.0))
        ax.xaxis.set_major_formatter(_formatter(lambda v: f"{100 * v:.1f} %"))
        ax.xaxis.get_major_locator().set_params(nbins=4, steps=[1, 2, 5, 10])
    else:
        ax.set_xlim(min(shown) - 0.12 * span, max(shown) + 0.12 * span)
    ax.set_xlabel(_target_label(document["param"]))
    ax.set_title("Best target", loc="left", fontsize=17)
    ax.grid(axis="y", visible=False)


def _caption_text(document: Mapping[str, Any]) -> str:
    targets = document.get("targets") or []
    is_target = "service_target" in document["param"].split(".")[-2:]
    grid = (f"{len(targets)} targets from {100 * min(targets):.1f} % to "
            f"{100 * max(targets):.1f} %" if targets and is_target
            else f"{len(targets)} values of {document['param']}")
    text = (f"Each input varied alone, in every segment, the others as in the scenario; each "
            f"variant simulated at {grid}, {document.get('replications', '?')} replications "
            "each, under common random numbers (the same seeds for every variant and target). "
            "Best target: highest mean; its bar spans the targets not significantly below it "
            "(one-sided paired t-tests, Holm-corrected, alpha = "
            f"{document.get('alpha', 0.05):g}).")
    return textwrap.fill(text, CAPTION_WIDTH)


def _legend(figure: Any, document: Mapping[str, Any]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=LOW_COLOUR, label="low factor"),
               Patch(color=HIGH_COLOUR, label="high factor"),
               Line2D([], [], color="black", linewidth=1.6, label="base scenario"),
               Patch(color=GREY, alpha=0.15, label="base: targets not significantly worse")]
    figure.legend(handles=handles, loc="center", bbox_to_anchor=(0.5, 0.155), ncols=4,
                  fontsize=13)


def tornado_chart(document: Mapping[str, Any]) -> Any:
    """Chart 08 of a ``sensitivity.json`` document, as a matplotlib Figure (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    inputs = sorted(document["inputs"], key=_swing)  # the widest swing on top
    with house_style():
        figure = Figure()
        FigureCanvasAgg(figure)
        engine = figure.get_layout_engine()
        if engine is not None:  # room for the legend and the caption below
            engine.set(rect=(0, 0.19, 1, 0.81))  # type: ignore[call-arg]
        left, right = figure.subplots(1, 2, sharey=True, width_ratios=(1.25, 1))
        _objective_panel(left, document, inputs)
        _target_panel(right, document, inputs)
        left.set_yticks(range(len(inputs)),
                        [f"{e['name']}\n{_factor(e['low']['factor'])} / "
                         f"{_factor(e['high']['factor'])}" for e in inputs])
        left.set_ylim(-0.6, len(inputs) - 0.4)
        _legend(figure, document)
        figure.suptitle(f"{document.get('scenario', '')}: how the optimum moves with customer "
                        "behaviour", x=0.01, ha="left", fontsize=21, fontweight="bold")
        figure.text(0.01, 0.012, _caption_text(document), fontsize=11.5, color=GREY,
                    ha="left", va="bottom")
    return figure


def write_tornado_chart(directory: str | os.PathLike[str],
                        out_dir: str | os.PathLike[str] | None = None,
                        formats: Sequence[str] = ("png", "svg")) -> dict[str, Path]:
    """Draw chart 08 from ``directory/sensitivity.json`` into ``out_dir`` (default
    ``directory/charts``): ``{format: path}``, each file written atomically."""
    unknown = [f for f in formats if f not in ("png", "svg", "pdf")]
    if unknown or not formats:
        raise SensitivityChartError(f"unknown chart format(s) {', '.join(unknown) or '(none)'}"
                                    "; use png, svg or pdf")
    document = read_sensitivity(directory)
    if not document.get("inputs"):
        raise SensitivityChartError(f"{Path(directory) / 'sensitivity.json'} varies no input: "
                                    "nothing to chart")
    figure = tornado_chart(document)
    folder = Path(out_dir) if out_dir is not None else Path(directory) / "charts"
    written = {}
    for fmt in formats:
        buffer = io.BytesIO()
        with house_style():
            figure.savefig(buffer, format=fmt, dpi=300,
                           metadata={"Date": None} if fmt == "svg" else None)
        written[fmt] = atomic_write_bytes(folder / f"{CHART_STEM}.{fmt}", buffer.getvalue())
    return written
