"""A risk analysis in words (DOMAIN §11): the decision in one sentence, the method, and the
terminal tables.  Everything is computed from the summary (``risk.json``), never written
in advance."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..kpis import KPI_BY_KEY
from ..text import aligned_line, column_widths

__all__ = ["decision_text", "format_risk", "method_text", "points", "subject"]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(value)


def points(value: float, signed: bool = False) -> str:
    """A difference of fractions in percentage points: ``0.4``, ``+1.25``."""
    if not _finite(value):
        return "n/a"
    scaled = 100 * value
    decimals = 1 if abs(scaled) >= 0.095 or scaled == 0 else 2
    return f"{scaled:{'+' if signed else ''}.{decimals}f}"


def figure_text(key: str, value: Any) -> str:
    """A figure for people: fractions in %, days and counts with one decimal."""
    if not _finite(value):
        return "n/a"
    unit = KPI_BY_KEY[key].unit if key in KPI_BY_KEY else ""
    if unit == "fraction":
        return f"{100 * value:.1f} %"
    if unit == "money":
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _interval(key: str, cell: Mapping[str, Any]) -> str:
    low, high = cell.get("ci_low"), cell.get("ci_high")
    if not (_finite(low) and _finite(high)):
        return "(CI n/a)"
    if KPI_BY_KEY.get(key) is not None and KPI_BY_KEY[key].unit == "fraction":
        return f"({100 * low:.1f}–{100 * high:.1f})"
    return f"({figure_text(key, low)}–{figure_text(key, high)})"


def subject(params: Mapping[str, Any], label: str) -> str:
    """Who the sentence is about: "A 99 % service target", "policy.x = 3"."""
    if len(params) == 1:
        ((key, value),) = params.items()
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "service_target" and _finite(value) and key.count(".") <= 1 \
                and "+" not in key and "*" not in key:
            return f"A {100 * value:g} % service target"
        return f"Setting {key} to {label.partition('=')[2]}"
    return f"The alternative {label}"


def _ci_points(cell: Mapping[str, Any]) -> str:
    low, high = cell.get("ci_low"), cell.get("ci_high")
    if not (_finite(low) and _finite(high)):
        return "95 % CI n/a"
    return f"95 % CI {points(low, True)} to {points(high, True)}"


def _significant(cell: Mapping[str, Any]) -> bool:
    low, high = cell.get("ci_low"), cell.get("ci_high")
    return _finite(low) and _finite(high) and (low > 0 or high < 0)


def _difference_sentence(difference: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    roi = difference["roi"]
    mean, tail = roi["mean"], roi["worst_5"]
    if not (_finite(mean["value"]) and _finite(tail["value"])):
        return f"{subject(params, difference['label'])}: the differences are undefined."
    cost = "costs" if mean["value"] < 0 else "adds"
    save = "saves" if tail["value"] > 0 else "loses"
    return (f"{subject(params, difference['label'])} {cost} {points(abs(mean['value']))} "
            f"ROI points on average ({_ci_points(mean)}"
            + ("" if _significant(mean) else ", not significant")
            + f") and {save} {points(abs(tail['value']))} in the worst 5 % of replications "
            f"({_ci_points(tail)}" + ("" if _significant(tail) else ", not significant")
            + ").")


def _recovery_sentence(recovery: Mapping[str, Any], per_replication: float) -> str:
    events = recovery["events"]
    if not events:
        return "No disruption event happened in any replication."
    text = f"On average {per_replication:.1f} disruption events a replication; "
    if recovery["recovered"]:
        text += (f"the fill rate recovers a median of {recovery['median']:.1f} days after an "
                 f"event ends (95th percentile {recovery['p95']:.1f} days)")
    else:
        text += "the fill rate never recovered after any of them"
    share = recovery["not_recovered_share"]
    return text + (f", and {100 * share:.0f} % of events had not recovered by the horizon."
                   if _finite(share) and share > 0 else ".")


def decision_text(summary: Mapping[str, Any]) -> str:
    """The answer in plain words: with alternatives, what each costs on average and saves
    in the worst 5 % of replications against the first; alone, the spread of ROI and the
    time to recover."""
    alternatives = summary["alternatives"]
    first = alternatives[0]
    if summary["differences"]:
        by_label = {a["label"]: a for a in alternatives}
        parts = [_difference_sentence(d, by_label[d["label"]]["params"])
                 for d in summary["differences"]]
        return f"Against the scenario as is ({summary['replications']} replications with " \
               "random disruptions, common random numbers): " + " ".join(parts)
    roi = first["figures"]["roi"]
    return (f"Over {summary['replications']} replications with random disruptions, ROI "
            f"averages {figure_text('roi', roi['mean']['value'])} "
            f"{_interval('roi', roi['mean'])}; the worst 5 % of replications average "
            f"{figure_text('roi', roi['worst_5']['value'])} and the 5th percentile is "
            f"{figure_text('roi', roi['p5']['value'])}. "
            + _recovery_sentence(first["recovery"], first["events_per_replication"]))


def method_text(summary: Mapping[str, Any]) -> str:
    """How the figures were made, in plain words."""
    n = summary["replications"]
    return (
        f"Every alternative ran the same {n} replications (replication r on child r of "
        f"numpy.random.SeedSequence({summary['seed']})), so all meet the same disruptions, "
        "customers and lead times. Means have Student-t 95 % intervals; the median and the "
        "5th and 95th percentiles have distribution-free order-statistic (binomial) "
        "intervals; the mean of the worst 5 % of ROI and the paired differences of the 5th "
        f"percentile and of the worst-5 % mean have percentile-bootstrap intervals "
        f"({summary['bootstrap_resamples']} resamples of whole replications, seed "
        f"{summary['bootstrap_seed']} named 'risk-bootstrap' from the root seed); the "
        "paired difference of mean ROI has a paired-t interval. Time to recover (DOMAIN "
        "§11): days from the end of an event until the trailing 7-day item fill rate is "
        "back within 1 point of its level before the event, counted once the event's "
        "worst point (up to 30 days after its end) has passed.")


# ------------------------------------------------------------------------ terminal


def _table(alternative: Mapping[str, Any]) -> list[str]:
    header = ["figure", "mean (95 % CI)", "median", "5th pct (95 % CI)", "95th pct",
              "worst 5 % mean"]
    body = []
    for key, cell in alternative["figures"].items():
        worst = cell.get("worst_5")
        body.append([KPI_BY_KEY[key].label,
                     f"{figure_text(key, cell['mean']['value'])} {_interval(key, cell['mean'])}",
                     figure_text(key, cell["median"]["value"]),
                     f"{figure_text(key, cell['p5']['value'])} {_interval(key, cell['p5'])}",
                     figure_text(key, cell["p95"]["value"]),
                     figure_text(key, worst["value"]) if worst else ""])
    widths = column_widths([header, *body])
    lines = [aligned_line(header, widths, left=1)]
    lines += [aligned_line(cells, widths, left=1) for cells in body]
    return ["  " + line for line in lines]


def _recovery_line(alternative: Mapping[str, Any]) -> str:
    recovery = alternative["recovery"]
    if not recovery["events"]:
        return "  no disruption events"
    share = recovery["not_recovered_share"]
    return (f"  {recovery['events']:,} events ({alternative['events_per_replication']:.2f} a "
            f"replication, mean duration {alternative['mean_duration_days']:.1f} days); time "
            f"to recover: mean {recovery['mean']:.1f}, median {recovery['median']:.1f}, "
            f"95th pct {recovery['p95']:.1f} days; "
            f"{100 * share:.0f} % not recovered by the horizon")


def _difference_lines(differences: Sequence[Mapping[str, Any]]) -> list[str]:
    header = ["alternative − as is", "Δ mean ROI (pts)", "Δ 5th pct (pts)",
              "Δ worst 5 % mean (pts)"]
    body = []
    for d in differences:
        cells = [d["label"]]
        for name in ("mean", "p5", "worst_5"):
            cell = d["roi"][name]
            cells.append(f"{points(cell['value'], True)} "
                         f"[{points(cell['ci_low'], True)}, {points(cell['ci_high'], True)}]"
                         + (" *" if _significant(cell) else ""))
        body.append(cells)
    widths = column_widths([header, *body])
    return ["  " + aligned_line(c, widths, left=1) for c in (header, *body)]


def format_risk(summary: Mapping[str, Any]) -> str:
    """The terminal output: a compact table per alternative, the paired differences and
    the decision last."""
    lines = [f"Risk of {summary['scenario']}: {summary['replications']} replications per "
             f"alternative with random disruptions (common random numbers, root seed "
             f"{summary['seed']}); ROI annualised, fill rate and defections over the measured "
             "window"]
    for alternative in summary["alternatives"]:
        lines += ["", f"{alternative['label']}:", *_table(alternative),
                  _recovery_line(alternative)]
    if summary["differences"]:
        lines += ["", "Paired differences of ROI against the scenario as is, in percentage "
                  "points [95 % CI]; * the interval excludes 0:",
                  *_difference_lines(summary["differences"])]
    lines += ["", summary["decision"]]
    return "\n".join(lines)
