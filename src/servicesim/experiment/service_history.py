"""Target, predicted and achieved service per SKU and over time, for runs with re-planning
(DOMAIN §5, §8).

A run's :attr:`~servicesim.model.results.ReplicationResult.policy_history` holds each SKU's
parameters step by step with the units demanded and short while each step ruled.  Here they
become tidy rows (one per replication, SKU and step: ``policy_history.csv``) and one row per
SKU that sets the target, the service the formula predicts and the service achieved side by
side (``service_by_sku.csv`` and the run's table).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .statistics import figure_interval

HISTORY_COLUMNS = (
    "replication", "sku", "step", "day", "until_day", "basis", "reorder_point",
    "order_quantity", "order_up_to", "predicted_service", "demand_per_day", "window_lines",
    "units_demanded", "units_short", "achieved_fill_rate")
"""The columns of ``policy_history.csv``."""

SERVICE_COLUMNS = (
    "sku", "service_metric", "service_target", "predicted_initial", "predicted_replanned",
    "achieved", "achieved_ci_low", "achieved_ci_high", "achieved_fill_rate", "replans",
    "parameter", "parameter_min", "parameter_max")
"""The columns of ``service_by_sku.csv``."""


class _Run(Protocol):
    """What is read of a replication set (duck-typed, so that outputs need no model)."""

    scenario: Any
    results: Sequence[Any]
    policies_derived: Mapping[str, Any]


def has_history(replication_set: _Run) -> bool:
    """Whether the runs re-planned (they carry a policy history)."""
    return any(getattr(r, "policy_history", None)
               for r in getattr(replication_set, "results", ()))


def _achieved(demanded: int, short: int) -> float:
    return 1.0 - short / demanded if demanded > 0 else math.nan


def policy_history_rows(replication_set: _Run) -> list[dict[str, Any]]:
    """One row per replication, SKU and policy step: when it ruled (``day`` to
    ``until_day``), how it was found, its parameters, the predicted service and the
    units demanded and short meanwhile, with their ratio, the achieved fill rate β."""
    horizon = replication_set.scenario.run.horizon_days
    rows = []
    for i, result in enumerate(replication_set.results):
        for sku, steps in result.policy_history.items():
            for k, step in enumerate(steps):
                until = steps[k + 1].day if k + 1 < len(steps) else horizon
                rows.append({
                    "replication": i, "sku": sku, "step": k, "day": step.day,
                    "until_day": until, "basis": step.basis,
                    "reorder_point": step.reorder_point,
                    "order_quantity": step.order_quantity, "order_up_to": step.order_up_to,
                    "predicted_service": step.predicted_service,
                    "demand_per_day": step.demand_per_day, "window_lines": step.window_lines,
                    "units_demanded": step.units_demanded, "units_short": step.units_short,
                    "achieved_fill_rate": _achieved(step.units_demanded, step.units_short)})
    return rows


def _window_mean(steps: Sequence[Any], start: float, end: float) -> float:
    """The predicted service of the steps averaged over the time each ruled in
    [``start``, ``end``] (the measured window)."""
    total = weight = 0.0
    for k, step in enumerate(steps):
        until = steps[k + 1].day if k + 1 < len(steps) else end
        days = min(until, end) - max(step.day, start)
        if days > 0 and step.predicted_service is not None:
            total += days * step.predicted_service
            weight += days
    return total / weight if weight > 0 else math.nan


def _parameter(policy: Any) -> str:
    return "order_up_to" if policy.reorder_point is None else "reorder_point"


def service_by_sku(replication_set: _Run, level: float = 0.95) -> list[dict[str, Any]]:
    """Per SKU: the target and its metric, the service predicted by the time-0 policy and,
    averaged over the measured window, by the re-planned ones, the service achieved (the
    target's metric, mean and CI over replications) and the fill rate β achieved, the
    re-plans per run and the range of the re-planned parameter (s, or S without s)."""
    run = replication_set.scenario.run
    results = replication_set.results
    rows = []
    for sku, policy in replication_set.policies_derived.items():
        metric = policy.service_metric
        key = "cycle_service_level" if metric == "cycle_service_level" else "item_fill_rate"
        achieved = figure_interval(key, [r.by_sku[sku][key] for r in results], level)
        fill = figure_interval("item_fill_rate", [r.by_sku[sku]["item_fill_rate"]
                                                  for r in results], level)
        histories = [r.policy_history.get(sku, []) for r in results]
        predicted = [_window_mean(h, run.warmup_days, run.horizon_days) for h in histories
                     if h]
        parameter = _parameter(policy)
        values = [getattr(step, parameter) for h in histories for step in h
                  if getattr(step, parameter) is not None]
        replans = [sum(step.basis in ("observed", "customers") for step in h)
                   for h in histories]
        rows.append({
            "sku": sku, "service_metric": metric, "service_target": policy.service_target,
            "predicted_initial": policy.predicted_service,
            "predicted_replanned": sum(predicted) / len(predicted) if predicted else math.nan,
            "achieved": achieved["mean"], "achieved_ci_low": achieved["ci_low"],
            "achieved_ci_high": achieved["ci_high"], "achieved_fill_rate": fill["mean"],
            "replans": sum(replans) / len(replans) if replans else 0.0,
            "parameter": parameter, "parameter_min": min(values) if values else None,
            "parameter_max": max(values) if values else None})
    return rows


__all__ = ["HISTORY_COLUMNS", "SERVICE_COLUMNS", "has_history", "policy_history_rows",
           "service_by_sku"]
