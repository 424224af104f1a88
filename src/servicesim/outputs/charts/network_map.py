"""Chart 10: the network diagram (DOMAIN §7) — the supplier, the locations and the lanes of a
network scenario, upstream at the left, for the best alternative of a sweep or optimisation.

Each lane is an arrow labelled with the units a year it carries (the units its location
received, ``<location>.units_received``); each location a box with its name, the units a
year it delivered to its own customers, their item fill rate β (for a location serving no
customers, the fill rate of the replenishment orders it received) and its average inventory
value at unit cost; the segments it serves beside it.  The figures are the means over the
replications of the ``<location>.<figure>`` columns of ``runs.csv``, measured over the window
after the warm-up and annualised with ``finance.days_per_year``.

The drawing works on plain inputs (:class:`NetworkMap`), so any caller can draw a network;
:func:`network_map` builds them from a results folder.  The layout is a left-to-right tree:
every location without downstream locations takes a row of its own, an upstream location
sits level with the middle of the rows it supplies, and lanes run as elbows (out to the
right, down or up a trunk, into the next box) so that no label sits on another.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...scenario.schema import SUPPLIER
from ..results import PlotError, Results
from .common import GREY, PALETTE, money_text, new_figure, page, run_text, styled

NETWORK_STEM = "10-network"
"""The file stem of the chart in the charts folder."""

FIGURES = ("units_delivered", "units_received", "fill_rate", "internal_fill_rate",
           "avg_inventory_value")
"""The per-location figures the diagram reads (``runs.csv`` columns ``<location>.<figure>``)."""

SUPPLIER_NAME = "Supplier"

_NAME_PT, _TEXT_PT, _LANE_PT, _SEGMENT_PT = 14.0, 12.0, 11.5, 11.0
_LINE = 1.3  # line height ÷ font size
_PAD = 0.09  # inches inside a box around its text
_STUB = 0.25  # inches from a box's right edge to the trunk of its lanes
_ROW_GAP = 0.22  # inches between rows
_MARGIN = 0.15  # inches around the drawing
_MOST_SEGMENT_LINES = 3
_TALLEST = 15.0  # inches of drawing before the type is made smaller (down to 85 %)


@dataclass(frozen=True)
class NetworkNode:
    """One location: where it is replenished from and its figures (NaN where unknown)."""

    name: str
    upstream: str | None
    """The upstream location, or None for the external supplier."""
    units_delivered_per_year: float = math.nan
    units_received_per_year: float = math.nan
    fill_rate: float = math.nan
    """Item fill rate β of its customers."""
    internal_fill_rate: float = math.nan
    """Fill rate of the replenishment orders it received from downstream locations."""
    avg_inventory_value: float = math.nan
    segments: tuple[str, ...] = ()
    """The segments it serves (none: it only replenishes other locations)."""


@dataclass(frozen=True)
class NetworkMap:
    """What the diagram draws: the locations (upstream before downstream) and the page."""

    nodes: tuple[NetworkNode, ...]
    title: str = "The network"
    currency: str | None = None
    subtitle: str = ""
    caption: str = ""
    supplier: str = SUPPLIER_NAME

    def children(self) -> dict[str | None, list[NetworkNode]]:
        """Locations by their upstream (None: the supplier), in the order given."""
        out: dict[str | None, list[NetworkNode]] = {}
        for node in self.nodes:
            out.setdefault(node.upstream, []).append(node)
        return out


# ----------------------------------------------------------------------------- from results


def is_network(results: Results) -> bool:
    """Whether a results folder's scenario declares ``locations`` (False if unreadable)."""
    try:
        return results.scenario().locations is not None
    except PlotError:
        return False


def network_charts(results: Results) -> dict[str, Callable[[Results], Any]]:
    """The charts only a network draws, by file stem; none for a single stock point."""
    return {NETWORK_STEM: network_chart} if is_network(results) else {}


def network_map(results: Results) -> NetworkMap:
    """The diagram's inputs for the best alternative of a sweep or optimisation: locations,
    lanes and segments from the scenario as run (with the alternative's values), figures the
    means of its ``runs.csv`` rows, annualised over the measured window.  A PlotError when
    the scenario has no locations or ``runs.csv`` no per-location columns."""
    best = results.best_alternative
    scenario = results.scenario(best)
    if scenario.locations is None:
        raise PlotError(f"{results.scenario_file}: no locations (the network diagram is drawn "
                        "for network scenarios only)")
    rows = [r for r in results.runs if int(r["alternative"]) == best.id]
    order = scenario.network_order()
    expected = [f"{order[0]}.{f}" for f in FIGURES]
    if not any(key in rows[0] for key in expected):
        raise PlotError(f"{results.directory / 'runs.csv'} has no per-location columns "
                        f"({', '.join(expected)}, ...): results written by an older "
                        "servicesim; run them again to draw the network diagram")
    run = scenario.run
    per_year = scenario.finance.days_per_year / max(run.horizon_days - run.warmup_days, 1e-9)
    segments: dict[str, list[str]] = {}
    for name, segment in scenario.segments.items():
        if segment.location is not None:
            segments.setdefault(segment.location, []).append(name)
    nodes = []
    for name in order:
        loc = scenario.locations[name]

        def mean(figure: str, location: str = name) -> float:
            return _mean(rows, f"{location}.{figure}")

        nodes.append(NetworkNode(
            name, None if loc.replenished_from == SUPPLIER else loc.replenished_from,
            mean("units_delivered") * per_year, mean("units_received") * per_year,
            mean("fill_rate"), mean("internal_fill_rate"), mean("avg_inventory_value"),
            tuple(segments.get(name, ()))))
    n = len(rows)
    return NetworkMap(
        tuple(nodes), _title(results, best.id), results.currency,
        caption=_caption(n, run.horizon_days - run.warmup_days) + run_text(results))


def _title(results: Results, best: int) -> str:
    what = f"the network at the best alternative (#{best})"
    return f"{results.scenario_name}: {what}" if results.scenario_name else what.capitalize()


def _caption(replications: int, window_days: float) -> str:
    return ("Arrows: units a year shipped on each lane (received by the location it points "
            "to; the thicker, the more).  Boxes: units a year delivered to the location's "
            "own customers and their item fill rate β (for a location without customers, "
            "the fill rate of the replenishment orders it received); average inventory "
            "value at unit cost.  Segments served beside each location.  "
            f"Means over {replications} replication{'s' if replications != 1 else ''}, "
            f"measured over the {window_days:g} days after the warm-up; units per year.  ")


def _mean(rows: Sequence[Mapping[str, Any]], key: str) -> float:
    values = [float(r[key]) for r in rows if isinstance(r.get(key), int | float)]
    values = [v for v in values if math.isfinite(v)]
    return sum(values) / len(values) if values else math.nan


def network_sentence(network: NetworkMap) -> str:
    """One plain sentence: what reaches the customers, at what service, and where the
    inventory sits."""
    serving = [n for n in network.nodes if n.segments]
    delivered = sum(n.units_delivered_per_year for n in serving
                    if math.isfinite(n.units_delivered_per_year))
    rated = [n for n in serving if math.isfinite(n.fill_rate)]
    count = f"the {len(serving)} locations" if len(serving) != 1 else "the location"
    parts = [f"{count} serving customers deliver {_units(delivered)} units a year to them"]
    if rated:
        low = min(rated, key=lambda n: n.fill_rate)
        high = max(rated, key=lambda n: n.fill_rate)
        parts.append(f"at item fill rates from {_percent(low.fill_rate)} ({low.name}) to "
                     f"{_percent(high.fill_rate)} ({high.name})" if low is not high else
                     f"at an item fill rate of {_percent(low.fill_rate)}")
    values = {n.name: n.avg_inventory_value for n in network.nodes
              if math.isfinite(n.avg_inventory_value)}
    total = sum(values.values())
    sentence = " ".join(parts)
    if total > 0:
        top = max(values, key=lambda k: values[k])
        currency = f" {network.currency}" if network.currency else ""
        sentence += (f"; {_percent(values[top] / total, 0)} of the network's inventory value "
                     f"({money_text(values[top])}{currency} of "
                     f"{money_text(total)}{currency}) sits at {top}")
    return sentence + "."


def _units(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "n/a"


def _percent(value: float, decimals: int = 1) -> str:
    return f"{100 * value:.{decimals}f} %" if math.isfinite(value) else "n/a"


# ----------------------------------------------------------------------------- the drawing


@dataclass
class _Box:
    """A box of the drawing: its lines and, once laid out, its place (inches)."""

    name: str
    lines: list[str]
    kind: str  # "supplier", "serving" or "internal"
    segments: list[str] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0
    x: float = 0.0  # left edge
    y: float = 0.0  # centre, downward from the top
    depth: int = 0
    lane: str = ""


def _box_lines(node: NetworkNode, currency: str | None) -> tuple[list[str], str]:
    inventory = (f"inventory {money_text(node.avg_inventory_value)}"
                 + (f" {currency}" if currency else ""))
    if node.segments:
        return [f"{_units(node.units_delivered_per_year)} units/yr delivered",
                f"fill rate {_percent(node.fill_rate)} · {inventory}"], "serving"
    return [f"internal fill rate {_percent(node.internal_fill_rate)}", inventory], "internal"


def _segment_lines(segments: Sequence[str]) -> list[str]:
    if len(segments) <= _MOST_SEGMENT_LINES:
        return list(segments)
    shown = list(segments[:_MOST_SEGMENT_LINES - 1])
    return [*shown, f"and {len(segments) - len(shown)} more"]


class _Measure:
    """Text extents in inches on the figure's renderer."""

    def __init__(self, figure: Any, scale: float) -> None:
        from matplotlib.font_manager import FontProperties

        self.renderer = figure.canvas.get_renderer()
        self.dpi = figure.dpi
        self.scale = scale
        self.fonts = {key: FontProperties(size=size * scale, weight=weight, style=style)
                      for key, (size, weight, style) in {
                          "name": (_NAME_PT, "bold", "normal"),
                          "text": (_TEXT_PT, "normal", "normal"),
                          "lane": (_LANE_PT, "normal", "normal"),
                          "segment": (_SEGMENT_PT, "normal", "italic")}.items()}

    def width(self, text: str, font: str) -> float:
        w, _, _ = self.renderer.get_text_width_height_descent(text, self.fonts[font],
                                                              ismath=False)
        return float(w) / self.dpi

    def line(self, font: str) -> float:
        return float(self.fonts[font].get_size_in_points()) * _LINE / 72


def _boxes(network: NetworkMap, measure: _Measure) -> dict[str | None, _Box]:
    boxes: dict[str | None, _Box] = {None: _Box(network.supplier, ["external"], "supplier")}
    for node in network.nodes:
        lines, kind = _box_lines(node, network.currency)
        box = _Box(node.name, lines, kind, _segment_lines(node.segments))
        box.lane = f"{_units(node.units_received_per_year)} units/yr"
        boxes[node.name] = box
    for box in boxes.values():
        box.width = 2 * _PAD + max([measure.width(box.name, "name"),
                                    *(measure.width(t, "text") for t in box.lines)])
        box.height = 2 * _PAD + measure.line("name") + len(box.lines) * measure.line("text")
    return boxes


def _layout(network: NetworkMap, boxes: dict[str | None, _Box], measure: _Measure
            ) -> tuple[float, float]:
    """Place every box (inches, y down from the top); the drawing's width and height."""
    children = network.children()
    leaves: list[str | None] = []

    def visit(name: str | None, depth: int) -> None:
        boxes[name].depth = depth
        kids = children.get(name, [])
        if not kids:
            leaves.append(name)
        for kid in kids:
            visit(kid.name, depth + 1)

    visit(None, 0)
    below = max((measure.line("segment") * len(b.segments) for n, b in boxes.items()
                 if n is not None and children.get(n) and b.segments), default=0.0)
    beside = max((measure.line("segment") * len(b.segments) for n, b in boxes.items()
                  if not children.get(n)), default=0.0)
    pitch = max(max(b.height for b in boxes.values()) + below, beside) + _ROW_GAP
    for row, name in enumerate(leaves):
        boxes[name].y = _MARGIN + pitch * (row + 0.5)

    def centre(name: str | None) -> float:
        kids = children.get(name, [])
        if kids:
            ys = [centre(k.name) for k in kids]
            boxes[name].y = (ys[0] + ys[-1]) / 2
        return boxes[name].y

    centre(None)
    depth = max(b.depth for b in boxes.values())
    widths = [max(b.width for b in boxes.values() if b.depth == d) for d in range(depth + 1)]
    gap = _STUB + 0.3 + max((measure.width(b.lane, "lane") for n, b in boxes.items()
                             if n is not None), default=0.0)
    x = _MARGIN
    for d in range(depth + 1):
        for b in boxes.values():
            if b.depth == d:  # one width a column: the boxes line up
                b.x, b.width = x, widths[d]
        x += widths[d] + gap
    right = max(b.x + b.width + (0.12 + max((measure.width(s, "segment") for s in b.segments),
                                              default=0.0) if b.segments else 0.0)
                for b in boxes.values())
    return right + _MARGIN, _MARGIN + pitch * len(leaves) + _MARGIN


def _draw_box(ax: Any, box: _Box, measure: _Measure, leaf: bool) -> None:
    from matplotlib.patches import FancyBboxPatch

    style = {"supplier": ("white", GREY, "--"), "serving": ("#E8F1FA", PALETTE[0], "-"),
             "internal": ("#F1F1F1", GREY, "-")}[box.kind]
    top = box.y - box.height / 2
    ax.add_patch(FancyBboxPatch((box.x, top), box.width, box.height,
                                boxstyle="round,pad=0,rounding_size=0.06", facecolor=style[0],
                                edgecolor=style[1], linestyle=style[2], linewidth=1.4,
                                zorder=3))
    s = measure.scale
    ax.text(box.x + _PAD, top + _PAD, box.name, fontsize=_NAME_PT * s, fontweight="bold",
            ha="left", va="top", zorder=4)
    ax.text(box.x + _PAD, top + _PAD + measure.line("name"), "\n".join(box.lines),
            fontsize=_TEXT_PT * s, ha="left", va="top", linespacing=_LINE, zorder=4)
    if not box.segments:
        return
    text = "\n".join(box.segments)
    if leaf:  # beside the box
        ax.text(box.x + box.width + 0.12, box.y, text, fontsize=_SEGMENT_PT * s,
                style="italic", color=GREY, ha="left", va="center", linespacing=_LINE)
    else:  # below it: lanes leave on the right
        ax.text(box.x + _PAD, box.y + box.height / 2 + 0.03, text, fontsize=_SEGMENT_PT * s,
                style="italic", color=GREY, ha="left", va="top", linespacing=_LINE)


def _draw_lane(ax: Any, parent: _Box, child: _Box, measure: _Measure, share: float) -> None:
    """An elbow from ``parent`` to ``child``; the arrow into the child is as thick as its
    share of the largest lane's volume (thin when unknown)."""
    trunk = parent.x + parent.width + _STUB
    if math.isclose(parent.y, child.y, abs_tol=1e-6):  # level: one straight arrow
        trunk = parent.x + parent.width
    else:
        ax.plot([parent.x + parent.width, trunk, trunk], [parent.y, parent.y, child.y],
                color=GREY, linewidth=1.2, solid_capstyle="butt", zorder=1)
    width = 1.2 + 5.0 * (share if math.isfinite(share) else 0.0)
    ax.annotate("", xy=(child.x, child.y), xytext=(trunk, child.y),
                arrowprops={"arrowstyle": "-|>", "color": GREY, "linewidth": width,
                            "shrinkA": 0, "shrinkB": 0, "mutation_scale": 12 + 2 * width},
                zorder=2)
    above = 0.04 + width / 2 / 72  # clear of the arrow's thickness (points to inches)
    ax.text(child.x - 0.1, child.y - above, child.lane, fontsize=_LANE_PT * measure.scale,
            ha="right", va="bottom", color="#222222", zorder=4)


@styled
def network_figure(network: NetworkMap) -> Any:
    """Chart 10 drawn from plain inputs: the supplier at the left, each location a box, each
    lane an arrow labelled with its annual volume (:class:`NetworkMap`)."""
    if not network.nodes:
        raise PlotError("a network diagram needs at least one location")
    figure, ax = new_figure()
    measure = _Measure(figure, 1.0)
    boxes = _boxes(network, measure)
    width, height = _layout(network, boxes, measure)
    if height > _TALLEST:  # many rows: smaller type, down to 85 %
        measure = _Measure(figure, max(0.85, _TALLEST / height))
        boxes = _boxes(network, measure)
        width, height = _layout(network, boxes, measure)
    caption_lines = math.ceil(len(network.caption) / 140) + 1
    header = 0.55 + (0.34 if network.subtitle else 0.0) + 0.1
    figure.set_size_inches(max(13.333, width + 0.3),
                           max(5.0, height + header + 0.2 * caption_lines + 0.6))
    children = network.children()
    largest = max((n.units_received_per_year for n in network.nodes
                   if math.isfinite(n.units_received_per_year)), default=0.0)
    for name, box in boxes.items():
        _draw_box(ax, box, measure, leaf=not children.get(name))
        for kid in children.get(name, []):
            share = kid.units_received_per_year / largest if largest > 0 else math.nan
            _draw_lane(ax, box, boxes[kid.name], measure, share)
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_aspect("equal", adjustable="box", anchor="C")  # an inch is an inch
    ax.set_axis_off()
    page(figure, network.title, network.caption, network.subtitle)
    return figure


def network_chart(results: Results) -> Any:
    """Chart 10: the network diagram of the best alternative — supplier, locations and
    lanes, each lane with the units a year it carries, each location with the units a year
    it delivers to its customers, their fill rate and its inventory value."""
    return network_figure(network_map(results))
