"""Warnings a consultant should read before showing the numbers: inputs that are clearly
implausible, and simulated figures a client would not believe without an explanation.

:func:`scenario_warnings` checks a scenario (prices below unit cost, promises the logistics
cannot keep even from stock); :func:`figure_warnings` checks the figures of one run (ROI
above 100 % a year, achieved service more than 5 points from the target, DOMAIN §5 and §8);
:func:`alternatives_warnings` does the same for the alternatives of a sweep or an
optimisation, once per kind of warning, naming the alternatives it affects.  Warnings
never fail anything and nothing here prints: the CLI shows them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ScenarioError
from ..scenario.schema import Scenario
from .params import apply_params

__all__ = ["ROI_LIMIT", "SERVICE_GAP", "alternatives_from_runs", "alternatives_warnings",
           "figure_warnings", "scenario_warnings", "service_target"]

ROI_LIMIT = 1.0
"""ROI a year above which a figure is flagged: few businesses earn more than 100 %."""
SERVICE_GAP = 0.05
"""Achieved service further than this from the target (5 points) is flagged."""
PROMISE_KEPT = 0.9
"""Share of orders shipped from stock that a segment's promise must cover not to be flagged."""
PROMISE_SEED = 20_261_207
"""Seed of the draws that estimate how often a promise is kept from stock."""
MAX_SKUS_NAMED = 10
"""SKUs named one by one in a warning; the rest are counted."""
MAX_ALTERNATIVES_NAMED = 6
"""Alternatives named in a grouped warning; the rest are counted."""

ACHIEVED_FIGURE = {"fill_rate": "item_fill_rate", "cycle_service_level": "cycle_service_level"}
"""The simulated figure that measures each ``policy.service_metric`` (DOMAIN §3)."""
METRIC_WORDS = {"fill_rate": "item fill rate", "cycle_service_level": "cycle service level"}

Figures = Mapping[str, Any]
"""Figures by key (``roi``, ``item_fill_rate``...): a number, or a mapping with its
``mean`` (as :meth:`ReplicationSet.summary` and ``SweepResult.intervals`` give them)."""


# ------------------------------------------------------------------------- the scenario


def scenario_warnings(scenario: Scenario) -> list[str]:
    """What is clearly implausible in ``scenario`` (DOMAIN §3, §4): SKUs priced below their
    unit cost, and promised cycle times that processing plus transit keep for fewer than
    90 % of the orders shipped from stock."""
    return [*_price_warnings(scenario), *_promise_warnings(scenario)]


def _money(scenario: Scenario, value: float) -> str:
    currency = scenario.finance.currency
    text = f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} {currency}" if currency else text


def _price_warnings(scenario: Scenario) -> list[str]:
    below = [(name, sku) for name, sku in scenario.skus.items() if sku.price < sku.unit_cost]
    out = [f"SKU {name}: price {_money(scenario, sku.price)} is below its unit cost "
           f"{_money(scenario, sku.unit_cost)}: every unit sold loses money"
           for name, sku in below[:MAX_SKUS_NAMED]]
    if len(below) > MAX_SKUS_NAMED:
        out.append(f"{len(below) - MAX_SKUS_NAMED:,} more SKUs (of {len(scenario.skus):,}) "
                   "are priced below their unit cost")
    return out


def _promise_warnings(scenario: Scenario) -> list[str]:
    """Segments promised a cycle time that order processing and transit keep for fewer than
    :data:`PROMISE_KEPT` of the orders shipped from stock: their on-time rate stays low
    whatever the stock (DOMAIN §3, §9)."""
    total = _time_from_stock(scenario)
    out = []
    for name, segment in scenario.segments.items():
        promise = segment.promised_cycle_time_days
        kept = float(np.mean(total <= promise + 1e-9))
        if kept < PROMISE_KEPT:
            keeps = math.ceil(float(np.quantile(total, 0.95)) - 1e-9)
            out.append(
                f"segment {name} is promised delivery within {promise:g} days, but order "
                f"processing and transit (together {float(np.mean(total)):.2f} days on "
                f"average) keep that promise for only {_percent(kept)} of the orders shipped "
                f"from stock, so its on-time rate stays near or below that whatever the "
                f"stock; a promise of {keeps:g} days is kept for 95 % of them "
                f"(segments.{name}.promised_cycle_time_days)")
    return out


def _time_from_stock(scenario: Scenario, draws: int = 20_000) -> np.ndarray:
    """Order processing plus outbound transit of ``draws`` orders shipped from stock, from a
    generator of its own with a fixed seed (the same warning every time; no global state).
    Queueing for processing servers is left out: real orders take at least this long."""
    rng = np.random.default_rng(PROMISE_SEED)
    processing = scenario.order_processing.time_days.filler(rng)(draws)
    transit = scenario.outbound.transit_days.filler(rng)(draws)
    return np.maximum(np.asarray(processing, dtype=float), 0.0) \
        + np.maximum(np.asarray(transit, dtype=float), 0.0)


# -------------------------------------------------------------------------- the figures


@dataclass(frozen=True)
class _Finding:
    """One warning about one set of figures: its kind (the same for every alternative it
    affects), this alternative's numbers, and why and what to check (the same per kind)."""

    kind: str
    headline: str
    numbers: str
    reason: str
    amount: float
    """How far off, in ``unit``: what a grouped warning gives the range of."""
    unit: str

    def text(self) -> str:
        return f"{self.headline}: {self.numbers}. {self.reason}"


def figure_warnings(scenario: Scenario, figures: Figures,
                    params: Mapping[str, Any] | None = None) -> list[str]:
    """Warnings about the simulated ``figures`` of ``scenario`` (with ``params`` set, the
    assignment of a sweep's alternative): ROI above :data:`ROI_LIMIT` a year, and achieved
    service (the figure of ``policy.service_metric``) further than :data:`SERVICE_GAP` from
    the target, with the likely reason (DOMAIN §5, §8)."""
    return [f.text() for f in _findings(_with_params(scenario, params), figures)]


def alternatives_warnings(scenario: Scenario,
                          alternatives: Iterable[tuple[Mapping[str, Any], Figures]],
                          scenarios: Sequence[Scenario] | None = None) -> list[str]:
    """:func:`figure_warnings` for every ``(params, figures)`` alternative of a sweep or an
    optimisation of ``scenario``, one warning per kind, naming the alternatives affected.

    ``scenarios``, when given, holds each alternative's scenario with its params already
    set (a sweep plan has them), which saves validating them again."""
    found: dict[str, list[tuple[Mapping[str, Any], _Finding]]] = {}
    count = 0
    for count, (params, figures) in enumerate(alternatives, start=1):
        own = scenarios[count - 1] if scenarios is not None else _with_params(scenario, params)
        for finding in _findings(own, figures):
            found.setdefault(finding.kind, []).append((params, finding))
    out = []
    for hits in found.values():
        first = hits[0][1]
        amounts = [f.amount for _, f in hits]
        low, high = min(amounts), max(amounts)
        spread = (f"{low:,.1f} {first.unit}" if low == high
                  else f"from {low:,.1f} to {high:,.1f} {first.unit}")
        worst_params, worst = max(hits, key=lambda hit: hit[1].amount)
        out.append(f"{first.headline} in {len(hits)} of {count} alternatives "
                   f"({_name_alternatives([p for p, _ in hits])}): {spread} "
                   f"(at {_describe(worst_params)}: {worst.numbers}). {first.reason}")
    return out


def _name_alternatives(assignments: Sequence[Mapping[str, Any]]) -> str:
    """The alternatives' parameters, shortened: ``key = 0.5, 0.6, ..., 0.99``."""
    keys = list(assignments[0]) if assignments else []
    if len(keys) == 1:
        raw = [p[keys[0]] for p in assignments]
        if all(_is_number(v) for v in raw):
            raw = sorted(raw)
        values = [_value(v) for v in raw]
        if len(values) > MAX_ALTERNATIVES_NAMED:
            values = [*values[:MAX_ALTERNATIVES_NAMED - 2], "...", values[-1]]
        return f"{keys[0]} = " + ", ".join(values)
    named = [f"({_describe(p)})" for p in assignments[:MAX_ALTERNATIVES_NAMED]]
    if len(assignments) > MAX_ALTERNATIVES_NAMED:
        named.append(f"and {len(assignments) - MAX_ALTERNATIVES_NAMED} more")
    return "; ".join(named)


def _value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def alternatives_from_runs(runs: Sequence[Mapping[str, Any]], keys: Sequence[str]
                           ) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """``(params, mean figures)`` of each alternative of tidy ``runs`` rows (one per
    alternative × replication, with an ``alternative`` column and the ``keys`` swept)."""
    by_alternative: dict[Any, list[Mapping[str, Any]]] = {}
    for row in runs:
        by_alternative.setdefault(row["alternative"], []).append(row)
    out = []
    for rows in by_alternative.values():
        figures = {}
        for key in ("roi", *ACHIEVED_FIGURE.values(), "revenue"):
            values = [float(r[key]) for r in rows if _is_number(r.get(key))]
            figures[key] = math.fsum(values) / len(values) if values else math.nan
        out.append(({k: rows[0][k] for k in keys}, figures))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) \
        and math.isfinite(value)


def _with_params(scenario: Scenario, params: Mapping[str, Any] | None) -> Scenario:
    if not params:
        return scenario
    try:
        return apply_params(scenario, params)
    except ScenarioError:  # the figures came from this assignment, so it applied then
        return scenario


def _describe(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} = {_value(value)}" for key, value in params.items()) \
        or "the scenario"


def _mean(figures: Figures, key: str) -> float:
    value = figures.get(key)
    if isinstance(value, Mapping):
        value = value.get("mean")
    return float(value) if _is_number(value) else math.nan


def _percent(share: float) -> str:
    return f"{100 * share:,.1f} %"


def _findings(scenario: Scenario, figures: Figures) -> list[_Finding]:
    found = [_roi_finding(scenario, figures), _service_finding(scenario, figures)]
    return [f for f in found if f is not None]


def _roi_finding(scenario: Scenario, figures: Figures) -> _Finding | None:
    roi = _mean(figures, "roi")
    if not roi > ROI_LIMIT:
        return None
    finance = scenario.finance
    numbers = f"{_percent(roi)} a year"
    revenue = _mean(figures, "revenue")
    window_years = (scenario.run.horizon_days - scenario.run.warmup_days) / finance.days_per_year
    if math.isfinite(revenue) and window_years > 0:
        numbers += f" on a revenue of {_money(scenario, revenue / window_years)} a year"
    return _Finding(
        "roi", f"ROI above {100 * ROI_LIMIT:g} % a year", numbers,
        "Few businesses earn that: check finance.fixed_cost_per_year "
        f"({_money(scenario, finance.fixed_cost_per_year)}) and "
        f"finance.fixed_logistics_assets ({_money(scenario, finance.fixed_logistics_assets)}) "
        "against the size of the business: a distributor's overheads and fixed assets each "
        "run at about 15 % of its annual revenue.", 100 * roi, "% a year")


def _service_finding(scenario: Scenario, figures: Figures) -> _Finding | None:
    metric = scenario.policy.service_metric
    if scenario.locations:
        return _location_service_finding(scenario, figures, metric)
    target = service_target(scenario, metric)
    achieved = _mean(figures, ACHIEVED_FIGURE[metric])
    if target is None or not math.isfinite(achieved) or abs(achieved - target) <= SERVICE_GAP:
        return None
    return _gap_finding(scenario, metric, achieved, target, "a target")


def _gap_finding(scenario: Scenario, metric: str, achieved: float, target: float,
                 whose: str) -> _Finding:
    words = METRIC_WORDS[metric]
    above = achieved > target
    gap = 100 * abs(achieved - target)
    direction = "above" if above else "below"
    return _Finding(f"{metric}_{direction}",
                    f"achieved {words} more than {100 * SERVICE_GAP:g} points {direction} "
                    "the target",
                    f"{_percent(achieved)} achieved against {whose} of {_percent(target)}",
                    _over_service_reason(scenario) if above
                    else _under_service_reason(scenario), gap, "points")


def _location_service_finding(scenario: Scenario, figures: Figures,
                              metric: str) -> _Finding | None:
    """In a network each location's customers are held to that location's target: the
    largest gap between a location's fill rate (``<location>.fill_rate``) and its target
    (DOMAIN §7).  A cycle-service-level target has no per-location figure to compare."""
    if metric != "fill_rate":
        return None
    served = {segment.location for segment in scenario.segments.values()}
    worst: tuple[float, str, float, float] | None = None
    for location in scenario.network_order():
        achieved = _mean(figures, f"{location}.fill_rate")
        target = location_target(scenario, location, metric)
        if location not in served or target is None or not math.isfinite(achieved):
            continue
        gap = abs(achieved - target)
        if gap > SERVICE_GAP and (worst is None or gap > worst[0]):
            worst = (gap, location, achieved, target)
    if worst is None:
        return None
    _, location, achieved, target = worst
    return _gap_finding(scenario, metric, achieved, target, f"{location}'s target")


def location_target(scenario: Scenario, location: str, metric: str) -> float | None:
    """The service target of a network location for ``metric``: the one its SKUs share
    there, else their mean weighted by the SKUs' demand; ``None`` without such targets."""
    policies = {sku: scenario.location_policy(location, sku)
                for sku in scenario.held_skus(location)}
    return _demand_weighted(scenario, {
        name: p.service_target for name, p in policies.items()
        if p.service_metric == metric and isinstance(p.service_target, float)})


def service_target(scenario: Scenario, metric: str) -> float | None:
    """The service target of ``scenario`` for ``metric``: the one target when every SKU
    shares it, else the mean of the SKUs' targets weighted by their demand (units a day,
    DOMAIN §5); ``None`` when no SKU derives its policy from a target of that metric."""
    policies = scenario.sku_policies()
    return _demand_weighted(scenario, {
        name: p.service_target for name, p in policies.items()
        if p.service_metric == metric and isinstance(p.service_target, float)})


def _demand_weighted(scenario: Scenario, targets: dict[str, float]) -> float | None:
    """SKUs' targets as one: the one they share, else their mean weighted by the SKUs'
    demand (units a day); ``None`` for no targets."""
    if not targets:
        return None
    distinct = set(targets.values())
    if len(distinct) == 1:
        return distinct.pop()
    # Imported here: the derivation loads SciPy, which `validate` (scenario warnings only)
    # does not need.
    from ..policies.derivation import sku_demands

    demand = sku_demands(scenario)
    weights = {name: demand[name].units_per_day for name in targets}
    total = math.fsum(weights.values())
    if total <= 0:
        return math.fsum(targets.values()) / len(targets)
    return math.fsum(targets[n] * weights[n] for n in targets) / total


def _over_service_reason(scenario: Scenario) -> str:
    segments = scenario.segments.values()
    reasons = []
    replan = scenario.policy.replan
    if replan is None and any(s.reactions.defect > 0 or s.defect_increase_per_stockout > 0
                              for s in segments):
        reasons.append("customers who defect shrink demand below what the policy was derived "
                       "for at time 0, so it over-serves (policy.replan derives it again as "
                       "demand moves)")
    if any(s.reactions.backorder < 1 for s in segments):
        reasons.append("sales lost at a stockout leave the stock to the next customers, "
                       "while the derivation assumes backorders")
    if any(s.returns is not None for s in segments):
        reasons.append("restocked returns add stock the policy was not derived for (it plans "
                       "for the units ordered, not for those coming back)")
    reasons.append("the lead-time demand model (policy.lead_time_demand: "
                   f"{scenario.policy.lead_time_demand}) may overstate its spread")
    return "Likely reasons: " + "; ".join(reasons) + \
        ". Compare targets by the service they achieve, not by the target alone."


def _under_service_reason(scenario: Scenario) -> str:
    growing = any(s.acquisition.customers_per_year > 0 for s in scenario.segments.values())
    reasons = ["lumpy demand, random lead times or customers who wait and come back make "
               "lead-time demand more variable than the lead-time demand model "
               f"(policy.lead_time_demand: {scenario.policy.lead_time_demand}) assumes"]
    if growing and scenario.policy.replan is None:
        reasons.append("new customers grow demand beyond what the policy was derived for "
                       "at time 0 (policy.replan derives it again as demand moves)")
    return "Likely reasons: " + "; ".join(reasons) + \
        ". The target does not buy the service it names here."
