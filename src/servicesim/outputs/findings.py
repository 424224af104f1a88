"""The findings of a sweep or an optimisation in plain words: the summary sentence (the
best alternative against today's policy when the folder records it), the gap between the
service target and the service achieved (DOMAIN §5, §8), and the order of the alternatives
in tables."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from ..kpis import KPI_BY_KEY, location_words
from .formatting import (
    change_text,
    ci_text,
    finite,
    fmt,
    is_number,
    param_label,
    param_text,
    params_text,
    pct,
)
from .results import Alternative, PlotError, Results, Today, target_locations

__all__ = ["GAP_POINTS", "ServiceGap", "main_key", "ordered", "paired_today", "service_gap",
           "summary_sentence"]

GAP_POINTS = 0.03
"""Achieved service further than this from the target (3 percentage points) is explained."""


def is_target_key(key: str) -> bool:
    """Whether a swept key sets a service target (``policy.service_target``, a SKU's or a
    class's); keys joined by ``+`` are judged by the first."""
    return "service_target" in key.split("+")[0].split(".")[-2:]


def service_metric(results: Results) -> str:
    """``fill_rate`` or ``cycle_service_level``: the metric the targets are stated in."""
    for key, value in results.best_alternative.params.items():
        if key.endswith("service_metric") and isinstance(value, str):
            return value
    try:
        return str(results.scenario().policy.service_metric or "fill_rate")
    except PlotError:  # the scenario file is optional for the wording
        return "fill_rate"


def achieved_key(metric: str) -> str:
    return "item_fill_rate" if metric == "fill_rate" else "cycle_service_level"


def metric_name(metric: str) -> str:
    return "fill rate" if metric == "fill_rate" else "cycle service level"


def _service_of(results: Results, metric: str) -> tuple[str, str]:
    """The achieved-service figure a sentence quotes and its words: the item fill rate or
    cycle service level of all customers, or for a swept location target the fill rate
    of those locations' customers (DOMAIN §7)."""
    locations = results.service_locations
    if locations and metric == "fill_rate":
        return results.service_key, f"fill rate at {location_words(locations)}"
    return achieved_key(metric), metric_name(metric)


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True,
                                                                    default=str)


def varying(results: Results) -> list[str]:
    return [k for k in results.keys
            if len({json.dumps(a.params.get(k), sort_keys=True, default=str)
                    for a in results.alternatives}) > 1]


def main_key(results: Results, keys: Sequence[str] | None = None) -> str | None:
    """The key the alternatives are ordered by: a varying service target, else the first
    varying numeric key, else None (categorical alternatives)."""
    keys = varying(results) if keys is None else keys
    numeric = [k for k in keys if all(is_number(a.params.get(k)) for a in results.alternatives)]
    targets = [k for k in numeric if is_target_key(k)]
    choices: list[str | None] = [*targets, *numeric, None]
    return choices[0]


def ordered(results: Results) -> list[Alternative]:
    """The alternatives sorted by the main key (the target), then the other keys, then id."""
    key = main_key(results)
    others = [k for k in results.keys if k != key]

    def order(a: Alternative) -> tuple[Any, ...]:
        first = float(a.params[key]) if key is not None else 0.0
        rest = tuple(json.dumps(a.params.get(k), sort_keys=True, default=str) for k in others)
        return (first, rest, a.id)

    return sorted(results.alternatives, key=order)


def _line(results: Results, key: str) -> list[Alternative]:
    """The alternatives that differ from the best only in ``key``, in order of ``key``."""
    best = results.best_alternative
    others = {k: v for k, v in best.params.items() if k != key}
    same = [a for a in results.alternatives
            if all(_same(a.params.get(k), v) for k, v in others.items())]
    return sorted(same, key=lambda a: (float(a.params[key]), a.id))


def _level_text(key: str, value: Any, metric: str) -> str:
    text = param_text(key, value)
    if is_target_key(key):
        name = "fill-rate" if metric == "fill_rate" else "cycle-service-level"
        article = "an" if text.startswith(("8", "11 ", "11.", "18")) else "a"
        return f"{article} {text} {name} target"
    return f"{param_label(key, metric).lower()} {text}"


def _objective_name(objective: str) -> tuple[str, str]:
    """The objective's label at the start of a sentence and within one."""
    label = KPI_BY_KEY[objective].label.split(" (")[0]
    return label, label if label.isupper() else label[0].lower() + label[1:]


def summary_sentence(results: Results, currency: str | None = None) -> str:
    """The plain-language finding.  With ``today.json``: the best against today's policy
    (the objective with the 95 % CI of the paired difference, operating profit, inventory
    value, achieved service).  Without: where the objective peaks, with the achieved service
    and its confidence interval.  Then which levels are not significantly worse; honest about
    an optimum at the edge of the range and about a single alternative."""
    today = paired_today(results)
    currency = results.currency if currency is None else currency
    if len(results.alternatives) == 1 and today is None:
        return _single(results)
    key = main_key(results)
    first = (_against_today(results, today, key, currency) if today is not None
             else _peak(results, key))
    if len(results.alternatives) == 1:
        return first
    clause = _not_worse_clause(results, key)
    if today is not None:  # the comparison with today is long: a sentence of its own
        clause = ". " + clause[2].upper() + clause[3:]
    sentences = [first + clause]
    if key is not None:
        sentences += _edge_and_move(results, key, today is None, currency)
    others = _others_not_worse(results, key)
    if others:
        sentences.append(others)
    return " ".join(sentences)


def _close(a: Any, b: Any) -> bool:
    if is_number(a) and is_number(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return _same(a, b)


def paired_today(results: Results) -> Today | None:
    """``today.json`` when its best − today differences are about this report's best
    alternative and objective; None otherwise (no file, or a report for another objective,
    whose best differs)."""
    today = results.today
    if today is None or today.objective != results.objective:
        return None
    best = results.best_alternative.params
    if any(not _close(best.get(k), v) for k, v in today.best.items()):
        return None
    return today


def _achieved(results: Results, alternative: Alternative) -> str:
    metric = service_metric(results)
    service, words = _service_of(results, metric)
    objective = results.objective
    _, name = _objective_name(objective)
    currency = results.currency
    mean, low, high = alternative.interval(service)
    o_mean, o_low, o_high = alternative.interval(objective)
    value = fmt(objective, o_mean, currency, with_unit=True)
    if not (finite(o_low) and finite(o_high)):  # one replication: no interval to give
        return (f"achieved {words} {pct(mean)}; {name} {value}; "
                "one replication, so no confidence interval")
    return (f"achieved {words} {pct(mean)}, 95 % CI {ci_text(service, low, high)}"
            f"; {name} {value}, 95 % CI {ci_text(objective, o_low, o_high, currency=currency)}")


def _single(results: Results) -> str:
    best = results.best_alternative
    return (f"Only one alternative was simulated ({params_text(best.params)}): "
            f"{_achieved(results, best)}. There is nothing to compare it with; sweep a range "
            "of values to find where the optimum lies.")


def _peak(results: Results, key: str | None) -> str:
    label, _ = _objective_name(results.objective)
    best = results.best_alternative
    metric = service_metric(results)
    if key is None:
        return f"{label} is highest at {params_text(best.params)} ({_achieved(results, best)})"
    rest = {k: v for k, v in best.params.items() if k != key}
    return (f"{label} peaks at {_level_text(key, best.params[key], metric)}"
            + (f" (with {params_text(rest)})" if len(varying(results)) > 1 else "")
            + f" ({_achieved(results, best)})")


def _today_level(results: Results, today: Today, key: str | None) -> str:
    metric = service_metric(results)
    shown = {k: v for k, v in today.params.items() if v is not None}
    if key is not None and is_number(shown.get(key)) and is_target_key(key):
        return f"today, {param_text(key, shown[key])} target"
    return f"today, {params_text(shown, metric)}" if shown else "today"


def _against_today(results: Results, today: Today, key: str | None,
                   currency: str | None) -> str:
    """"ROI rises from 61.9 % (today, 95.0 % target) to 68.6 % at a 99.1 % fill-rate target
    (+6.7 points, 95 % CI +5.0 to +8.4 points); operating profit +71,321 EUR; ..."."""
    objective = results.objective
    label, name = _objective_name(objective)
    metric = service_metric(results)
    best = results.best_alternative
    before = today.interval(objective)[0]
    diff, low, high = today.change(objective)
    where = (_level_text(key, best.params[key], metric) if key is not None
             else params_text(best.params, metric))
    level = _today_level(results, today, key)
    if all(_same(today.params.get(k), v) for k, v in best.params.items()
           if today.params.get(k) is not None) and not (finite(diff) and diff != 0):
        return (f"Today's policy ({level.removeprefix('today, ')}) is already the best "
                f"alternative tried: {name} "
                f"{fmt(objective, best.mean(objective), currency, with_unit=True)}")
    verb = "rises" if diff > 0 else "falls" if diff < 0 else "stays"
    significant = finite(low) and finite(high) and (low > 0 or high < 0)
    if finite(low) and finite(high):
        interval = (f"{change_text(objective, diff, currency)}, 95 % CI "
                    f"{ci_text(objective, low, high, True, currency)}"
                    + ("" if significant else ": not a significant difference"))
    else:
        interval = (f"{change_text(objective, diff, currency)}; one replication, so no "
                    "confidence interval")
    text = (f"{label} {verb} from {fmt(objective, before, currency, with_unit=True)} "
            f"({level}) to "
            f"{fmt(objective, best.mean(objective), currency, with_unit=True)} at {where} "
            f"({interval})")
    service, words = _service_of(results, metric)
    parts = [f"{KPI_BY_KEY[k].label.lower()} {change_text(k, today.change(k)[0], currency)}"
             for k in ("operating_profit", "avg_inventory_value") if k in today.difference]
    parts.append(f"achieved {words} {pct(today.interval(service)[0])} today, "
                 f"{pct(best.mean(service))} at the optimum")
    return text + "; " + "; ".join(parts)


def _not_worse_clause(results: Results, key: str | None) -> str:
    best = results.best_alternative
    if key is None:
        worse = len(results.alternatives) - len(results.not_worse)
        return (f"; {len(results.not_worse) - 1} of the other {len(results.alternatives) - 1} "
                f"alternatives are not significantly worse and {worse} are.")
    line = _line(results, key)
    levels = [a for a in line if a.id in results.not_worse]
    if not [a for a in levels if a.id != best.id]:
        return "; every other level tried is significantly worse."
    values = [param_text(key, a.params[key]) for a in levels]
    positions = [line.index(a) for a in levels]
    if positions == list(range(positions[0], positions[-1] + 1)):
        span = f"levels from {values[0]} to {values[-1]} are"
    elif len(values) > 4:  # a long list reads worse than a count and a range
        tried = positions[-1] - positions[0] + 1
        span = (f"{len(values)} of the {tried} levels tried from {values[0]} to {values[-1]} "
                "are")
    else:
        span = f"the levels {', '.join(values[:-1])} and {values[-1]} are"
    return f"; {span} not significantly worse."


def _edge_and_move(results: Results, key: str, with_move: bool,
                   currency: str | None) -> list[str]:
    line = _line(results, key)
    best = results.best_alternative
    if len(line) < 2:
        return []
    index = line.index(best)
    at_top, at_bottom = index == len(line) - 1, index == 0
    out = []
    if at_top or at_bottom:
        which, other_way = ("highest", "higher") if at_top else ("lowest", "lower")
        out.append(f"The optimum is the {which} level tried, so a {other_way} one may be "
                   "better still: widen the range.")
    if with_move:
        objective = results.objective
        _, name = _objective_name(objective)
        other = line[0] if at_top else line[-1]
        inventory = other.mean("avg_inventory_value") - best.mean("avg_inventory_value")
        change = other.mean(objective) - best.mean(objective)
        size = (f"{100 * abs(change):,.1f} percentage points"
                if KPI_BY_KEY[objective].unit == "fraction"
                else fmt(objective, abs(change), currency, with_unit=True))
        out.append(
            f"Going from {param_text(key, best.params[key])} to "
            f"{param_text(key, other.params[key])} {'adds' if inventory >= 0 else 'frees'} "
            f"{fmt('avg_inventory_value', abs(inventory), currency, with_unit=True)} of "
            "average inventory value and "
            f"{'lowers' if change <= 0 else 'raises'} {name} by {size}.")
    return out


def _others_not_worse(results: Results, key: str | None) -> str:
    if key is None:
        return ""
    line = {a.id for a in _line(results, key)}
    others = len([i for i in results.not_worse if i not in line])
    if not others:
        return ""
    names = ", ".join(param_label(k).lower() for k in varying(results) if k != key)
    return (f"{others} alternative{'s' if others > 1 else ''} with other values of {names} "
            f"{'are' if others > 1 else 'is'} not significantly worse either.")


# ------------------------------------------------------------------ target vs achieved


class ServiceGap:
    """Where achieved service and target differ by more than :data:`GAP_POINTS`."""

    def __init__(self, metric: str, rows: list[tuple[Alternative, float, float]]) -> None:
        self.metric = metric
        self.rows = rows
        """(alternative, target, achieved) of every alternative whose gap is large."""

    def sentences(self, results: Results) -> list[str]:
        """What differs, by how much, and why (DOMAIN §5, §8)."""
        name = results.service_label if results.service_locations else metric_name(self.metric)
        over = [r for r in self.rows if r[2] > r[1]]
        under = [r for r in self.rows if r[2] < r[1]]
        out = [f"The achieved {name} differs from the target by more than "
               f"{100 * GAP_POINTS:.0f} percentage points at {len(self.rows)} of "
               f"{len(results.alternatives)} alternatives."]
        if over:
            out.append(f"Targets of {_span([t for _, t, _ in over])} achieve "
                       f"{_span([a for _, _, a in over])}: more than asked. The policy is "
                       "derived once, at the start of the run, from the initial demand and "
                       "as if every stockout were backordered. In the simulation customers who "
                       "meet a stockout buy elsewhere or leave for good, so demand shrinks and "
                       "the stock set for the initial demand serves the rest more often than "
                       "planned.")
        if under:
            out.append(f"Targets of {_span([t for _, t, _ in under])} achieve only "
                       f"{_span([a for _, _, a in under])}: lumpy orders, random lead times "
                       "and orders larger than the stock on hand make stockouts longer than "
                       "the safety-stock formula assumes.")
        if self.metric == "cycle_service_level":
            out.append("The targets are cycle service levels (α, the share of replenishment "
                       "cycles without a stockout); the item fill rate (β) the customers feel "
                       "is usually well above it, so compare like with like.")
        return out


def _span(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return pct(low) if math.isclose(low, high, abs_tol=5e-4) else \
        f"{100 * low:.1f}–{100 * high:.1f} %"


def _targets(results: Results) -> dict[int, float]:
    """The service target of each alternative: its swept target, else the scenario's."""
    keys = [k for k in results.keys if is_target_key(k) and "+" not in k
            and len(k.split(".")) == 2]
    out = {}
    for a in results.alternatives:
        value = a.params.get(keys[0]) if keys else None
        if not is_number(value):
            try:
                value = results.scenario(a).policy.service_target
            except PlotError:
                value = None
        if is_number(value):
            out[a.id] = float(value)
    return out


def service_gap(results: Results) -> ServiceGap | None:
    """The alternatives whose achieved service (item fill rate, or cycle service level when
    the targets are stated in it) is more than :data:`GAP_POINTS` from the target; None when
    there are none or the targets are not single numbers."""
    metric = service_metric(results)
    targets = _targets(results)
    achieved_of = achieved_key(metric)
    if results.service_locations:  # a location's target against its own customers' service
        key = next(k for k in results.keys if target_locations(k))
        targets = {a.id: float(a.params[key]) for a in results.alternatives
                   if is_number(a.params.get(key))}
        achieved_of = results.service_key
    rows = []
    for a in results.alternatives:
        if a.id not in targets:
            continue
        achieved = a.mean(achieved_of)
        if finite(achieved) and abs(achieved - targets[a.id]) > GAP_POINTS:
            rows.append((a, targets[a.id], achieved))
    return ServiceGap(metric, rows) if rows else None
