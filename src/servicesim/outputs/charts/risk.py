"""Charts 13 and 14 of ``servicesim risk`` (DOMAIN §11):

13. :func:`risk_distribution_chart` — the distribution of annualised ROI over the
    replications of each alternative: a box (quartiles, whiskers at the 5th and 95th
    percentiles), every replication as a point, the mean, the 5th percentile and the mean
    of the worst 5 % marked;
14. :func:`risk_recovery_chart` — the trailing 7-day item fill rate around a disruption,
    aligned on each event's start: the mean over events and a 90 % band (5th to 95th
    percentile), per alternative, the events' mean duration shaded.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np

from ..risk_results import RiskResults, display_label
from .common import (
    BACKGROUND,
    GREY,
    PALETTE,
    exact_formatter,
    legend_above,
    new_figure,
    page,
    styled,
)

DISTRIBUTION_STEM, RECOVERY_STEM = "13-risk-distribution", "14-risk-recovery"
P5_COLOUR = PALETTE[3]
TAIL_COLOUR = "#7a1f00"
MAX_SHOWN = 8
"""At most this many alternatives are drawn side by side (the first ones)."""


def _label(text: str, width: int) -> str:
    return textwrap.fill(text, width, break_on_hyphens=False, break_long_words=True)


def _shown(results: RiskResults) -> list[tuple[int, dict[str, Any]]]:
    return list(enumerate(results.alternatives))[:MAX_SHOWN]


@styled
def risk_distribution_chart(results: RiskResults) -> Any:
    """Chart 13: ROI over the replications of each alternative (see the module)."""
    figure, ax = new_figure()
    shown = _shown(results)
    rng = np.random.default_rng(0)  # the strip's horizontal jitter only: same chart each time
    for position, (number, alternative) in enumerate(shown):
        values = np.array([v for v in results.values(number, "roi") if math.isfinite(v)])
        if values.size == 0:
            continue
        colour = PALETTE[position % len(PALETTE)] if position else PALETTE[0]
        ax.bxp([_box(values, position)], positions=[position], widths=0.42,
               showfliers=False, patch_artist=True,
               boxprops={"facecolor": colour, "alpha": 0.18, "edgecolor": colour},
               medianprops={"color": colour, "linewidth": 2.4},
               whiskerprops={"color": colour}, capprops={"color": colour})
        jitter = rng.uniform(-0.16, 0.16, size=values.size)
        ax.scatter(position + jitter, values, s=16, color=colour, alpha=0.55, linewidths=0,
                   zorder=3, label="one replication" if position == 0 else None)
        figures = alternative["figures"]["roi"]
        ax.plot([position], [figures["mean"]["value"]], marker="D", markersize=11,
                color="white", markeredgecolor="black", markeredgewidth=2, linestyle="none",
                zorder=5, label="mean" if position == 0 else None)
        p5 = figures["p5"]["value"]
        ax.hlines(p5, position - 0.3, position + 0.3, color=P5_COLOUR, linewidth=3,
                  zorder=4, label="5th percentile" if position == 0 else None)
        worst = figures.get("worst_5", {}).get("value", math.nan)
        if math.isfinite(worst):
            ax.hlines(worst, position - 0.3, position + 0.3, color=TAIL_COLOUR, linewidth=2,
                      linestyle=(0, (2, 1.5)), zorder=4,
                      label="mean of the worst 5 %" if position == 0 else None)
        ax.annotate(f"5th pct {100 * p5:.1f} %", (position + 0.31, p5), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=12, color=P5_COLOUR)
        if math.isfinite(worst):
            ax.annotate(f"worst 5 % {100 * worst:.1f} %", (position + 0.31, worst),
                        xytext=(4, -2), textcoords="offset points", va="top", fontsize=12,
                        color=TAIL_COLOUR)
    width = 18 if len(shown) > 3 else 30
    ax.set_xticks(range(len(shown)), [_label(display_label(a), width) for _, a in shown])
    if len(shown) == 1:  # one box, not stretched over the page
        ax.set_xlim(-1.4, 1.8)
        ax.set_xlabel("The scenario as is, over random disruptions")
    else:
        ax.set_xlim(-0.6, len(shown) - 1 + 0.9)  # room for the labels right of the last
        ax.set_xlabel("Alternative (the same replications: common random numbers)")
    ax.set_ylabel("ROI, annualised (%)")
    ax.yaxis.set_major_formatter(exact_formatter("percent"))
    legend_above(ax, ncols=4)
    page(figure, f"{results.scenario_name}: ROI under random disruptions",
         _distribution_caption(results), subtitle=results.text("decision"))
    return figure


def _box(values: np.ndarray, position: int) -> dict[str, float]:
    """A box of the quartiles and whiskers at the 5th and 95th percentiles."""
    q5, q25, q50, q75, q95 = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {"med": q50, "q1": q25, "q3": q75, "whislo": q5, "whishi": q95,
            "label": str(position)}


def _distribution_caption(results: RiskResults) -> str:
    n = results.count("replications")
    more = len(results.alternatives) - MAX_SHOWN
    return ((f"{n} replications per alternative" if n else "Replications")
            + ", each with its own random disruptions, customers and lead times, the same "
            "for every alternative. Box: the middle half (25th to 75th percentile) and the "
            "median; whiskers: 5th to 95th percentile; points: one replication each. "
            "Intervals of every figure are in the report and risk.json."
            + (f" The first {MAX_SHOWN} alternatives of {len(results.alternatives)} are "
               "drawn." if more > 0 else "")
            + f" Results folder {results.directory.resolve().name}.")


@styled
def risk_recovery_chart(results: RiskResults) -> Any:
    """Chart 14: the trailing fill rate around a disruption (see the module): one panel per
    alternative (at most :data:`MAX_PANELS`), the first alternative's mean repeated in the
    others as a grey line for reference; or, for a single alternative with disruptions of
    several kinds, one panel per kind."""
    panels = _panels(results)
    figure, axes = new_figure(1, len(panels))
    axes = list(np.atleast_1d(axes))
    values = [v for p in panels if p["curve"] is not None
              for v in np.concatenate([p["curve"][1], p["curve"][2]]) if math.isfinite(v)]
    bottom = max(min(values), 0.0) if values else 0.0
    for position, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
        _panel(ax, panel, position == 0, narrow=len(panels) > 2)
        ax.set_ylim(bottom - 0.03 * (1 - bottom), 1.0 + 0.02 * (1 - bottom))
        if len(panels) > 1:
            ax.set_title(_label(panel["title"], 90 // len(panels)), fontsize=16,
                         fontweight="normal", loc="left", pad=8)
        if position:
            ax.tick_params(labelleft=False)
    axes[0].set_ylabel("Item fill rate β, trailing 7 days (%)")
    handles, labels = _legend(axes)
    if len(axes) == 1:
        legend_above(axes[0], handles, labels, ncols=len(handles))
    events = max((p["events"] for p in panels), default=0)
    page(figure, f"{results.scenario_name}: service around a disruption",
         _recovery_caption(results, events, panels), subtitle=_recovery_subtitle(results))
    if len(axes) > 1:
        _legend_over_panels(figure, handles, labels)
    return figure


def _panels(results: RiskResults) -> list[dict[str, Any]]:
    """What each panel shows: its title, curve, events' mean duration, recovery, colour and
    the reference curve (the first alternative's mean, in the panels of the others)."""
    shown = _shown(results)[:MAX_PANELS]
    by_kind = shown[0][1].get("by_kind") or {}
    if len(shown) == 1 and len(by_kind) > 1:
        kinds = sorted(by_kind, key=lambda k: -by_kind[k]["recovery"].get("events", 0))
        return [{"title": kind.replace("_", " "), "curve": _curve(by_kind[kind]["curve"]),
                 "duration": by_kind[kind].get("mean_duration_days", math.nan),
                 "recovery": by_kind[kind]["recovery"], "colour": PALETTE[0],
                 "reference": None, "events": int(by_kind[kind]["curve"].get("events", 0))}
                for kind in kinds[:MAX_PANELS]]
    first = _curve(shown[0][1]["curve"])
    return [{"title": display_label(a), "curve": _curve(a["curve"]),
             "duration": a.get("mean_duration_days", math.nan), "recovery": a["recovery"],
             "colour": PALETTE[i % len(PALETTE)],
             "reference": (first, f"{display_label(shown[0][1])}: mean") if i else None,
             "events": int(a["curve"].get("events", 0))}
            for i, (_, a) in enumerate(shown)]


def _panel(ax: Any, panel: dict[str, Any], first: bool, narrow: bool) -> None:
    duration = panel["duration"]
    if isinstance(duration, int | float) and math.isfinite(duration) and duration > 0:
        ax.axvspan(0, duration, color="#bbbbbb", alpha=0.35, linewidth=0, gid=BACKGROUND,
                   label="the events' mean duration")
    ax.axvline(0, color=GREY, linewidth=1.2, linestyle="--")
    if panel["reference"] is not None and panel["reference"][0] is not None:
        curve, label = panel["reference"]
        ax.plot(curve[0], curve[1], color=GREY, linewidth=1.6, label=label)
    if panel["curve"] is not None:
        xs, mean, low, high = panel["curve"]
        ax.fill_between(xs, low, high, color=panel["colour"], alpha=0.2, linewidth=0,
                        label="90 % of events" if first else None)
        ax.plot(xs, mean, color=panel["colour"], linewidth=2.8,
                label="mean over events" if first else None)
        ax.set_xlim(xs[0], xs[-1])
    ax.text(0.98, 0.04, _recovery_note(panel["recovery"], duration), transform=ax.transAxes,
            ha="right", va="bottom", fontsize=10.5 if narrow else 12, color="#333333",
            bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "alpha": 0.9,
                  "edgecolor": "none"})
    ax.set_xlabel("Days from the event's start" if narrow
                  else "Days from the start of the event")
    ax.yaxis.set_major_formatter(exact_formatter("percent"))


LEGEND_INCHES = 0.5


def _legend_over_panels(figure: Any, handles: list[Any], labels: list[str]) -> None:
    """The legend in one row under the page's header, above every panel: the panels'
    layout area is lowered by its height."""
    engine = figure.get_layout_engine()
    x, y, width, height = engine.get()["rect"]
    room = LEGEND_INCHES / figure.get_figheight()
    engine.set(rect=(x, y, width, height - room))
    figure.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.05, y + height),
                  ncols=len(handles), handlelength=2.4, columnspacing=1.6,
                  borderaxespad=0.0)


MAX_PANELS = 4
"""The recovery chart draws at most this many alternatives side by side."""


def _curve(curve: dict[str, Any]) -> tuple[np.ndarray, ...] | None:
    if not curve.get("mean"):
        return None
    xs = np.asarray(curve["offsets"], dtype=float)
    return (xs, *(np.array([math.nan if v is None else v for v in curve[k]], dtype=float)
                  for k in ("mean", "p5", "p95")))


def _legend(axes: list[Any]) -> tuple[list[Any], list[str]]:
    """The legend's entries of every panel, each once."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    return list(seen.values()), list(seen)


def _recovery_note(recovery: dict[str, Any], duration: Any) -> str:
    """The panel's figures: events' mean duration, median time to recover, share not
    recovered."""
    median = recovery.get("median")
    if not recovery.get("events"):
        return "no events"
    lines = [f"{recovery['events']:,} events, lasting {duration:.1f} days on average"
             if isinstance(duration, int | float) and math.isfinite(duration)
             else f"{recovery['events']:,} events"]
    if isinstance(median, int | float) and math.isfinite(median):
        lines.append(f"median recovery {median:.1f} days after the end")
    share = recovery.get("not_recovered_share") or 0.0
    lines.append(f"{100 * share:.0f} % not recovered by the horizon")
    return "\n".join(lines)


def _recovery_subtitle(results: RiskResults) -> str:
    first = results.alternatives[0]
    recovery = first["recovery"]
    if not recovery.get("events"):
        return "No disruption event happened in any replication."
    median = recovery.get("median")
    share = recovery.get("not_recovered_share")
    text = ("the fill rate is back within 1 point of its level before the event a median "
            f"of {median:.1f} days after the event ends" if isinstance(median, int | float)
            and math.isfinite(median) else "no event recovered")
    text = f"{display_label(first)}: {text}" if len(results.alternatives) > 1 \
        else text[:1].upper() + text[1:]
    if isinstance(share, int | float) and share > 0:
        text += f"; {100 * share:.0f} % of events had not recovered by the horizon"
    return text + "."


def _recovery_caption(results: RiskResults, events: int, panels: list[dict[str, Any]]
                      ) -> str:
    by_kind = len(results.alternatives) == 1 and len(panels) > 1
    more = len(results.alternatives) - len(panels)
    pooled = ("One panel per kind of disruption." if by_kind
              else "Events of every kind are pooled.")
    return ("Every disruption event of every replication, aligned on the day it starts (day "
            "0); the line is the mean over the events with demand that day, the band holds "
            "90 % of them (5th to 95th percentile); shaded: the events' mean duration. The "
            "trailing 7-day fill rate is the share of units ordered in the last 7 days "
            f"shipped from stock at once. {pooled} events.csv lists each."
            + (f" The first {len(panels)} alternatives of {len(results.alternatives)} are "
               "drawn." if more > 0 and not by_kind else "")
            + f" Results folder {results.directory.resolve().name}.")
