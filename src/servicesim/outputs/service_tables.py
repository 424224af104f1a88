"""The run's table of target, predicted and achieved service per SKU, and the files of a run
that re-planned (DOMAIN §5, §8): ``policy_history.csv`` and ``service_by_sku.csv``."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from ..experiment.service_history import (
    HISTORY_COLUMNS,
    SERVICE_COLUMNS,
    has_history,
    policy_history_rows,
    service_by_sku,
)
from ..files import csv_text
from ..text import aligned_lines

HISTORY_FILE = "policy_history.csv"
SERVICE_FILE = "service_by_sku.csv"
_SYMBOL = {"fill_rate": "β", "cycle_service_level": "α"}


def history_texts(replication_set: Any, level: float = 0.95) -> dict[str, tuple[str, str]]:
    """``{key: (file name, CSV text)}`` of a run that re-planned; empty otherwise."""
    if not has_history(replication_set):
        return {}
    return {
        "policy_history": (HISTORY_FILE, csv_text(policy_history_rows(replication_set),
                                                  HISTORY_COLUMNS)),
        "service_by_sku": (SERVICE_FILE, csv_text(service_by_sku(replication_set, level),
                                                  SERVICE_COLUMNS)),
    }


def _percent(value: Any) -> str:
    if not isinstance(value, numbers.Real) or not math.isfinite(value):
        return "n/a"
    return f"{100 * float(value):.2f}"


def _range(row: Mapping[str, Any]) -> str:
    low, high = row.get("parameter_min"), row.get("parameter_max")
    symbol = "s" if row.get("parameter") == "reorder_point" else "S"
    if low is None or high is None:
        return ""
    return f"{symbol} {low}" if low == high else f"{symbol} {low}–{high}"


def format_service_by_sku(rows: Sequence[Mapping[str, Any]]) -> str:
    """Per SKU: target, predicted at time 0 and after re-planning, achieved with its CI, the
    re-plans per run and the range the re-planned parameter moved over."""
    header = ["SKU", "metric", "target %", "predicted t=0 %", "predicted re-planned %",
              "achieved %", "95 % CI", "re-plans", "parameter range"]
    body = [[str(r["sku"]), _SYMBOL.get(str(r["service_metric"]), "?"),
             _percent(r["service_target"]), _percent(r["predicted_initial"]),
             _percent(r["predicted_replanned"]), _percent(r["achieved"]),
             f"{_percent(r['achieved_ci_low'])} – {_percent(r['achieved_ci_high'])}",
             f"{float(r['replans']):.1f}", _range(r)] for r in rows]
    lines = aligned_lines([header, *body], left=2)
    rule = "-" * max(len(line) for line in lines)
    return "\n".join(["service per SKU: target, predicted by the policy formula, achieved "
                      "(policy.replan)", rule, lines[0], rule, *lines[1:], rule])


__all__ = ["HISTORY_FILE", "SERVICE_FILE", "format_service_by_sku", "history_texts"]
