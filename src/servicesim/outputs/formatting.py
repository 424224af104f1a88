"""Figures and parameters in words for the report and the workbook: percentages, money in
the scenario's currency (``finance.currency``), intervals, readable parameter names."""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

from ..kpis import figure_kpi

__all__ = ["ci_text", "fmt", "is_number", "money", "param_label", "param_text", "unit_text"]

UNIT_TEXT = {"fraction": "%", "days": "days", "units": "units", "customers": "customers",
             "money": "money", "money/unit": "money per unit"}


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def finite(value: Any) -> bool:
    return is_number(value) and math.isfinite(float(value))


def unit(key: str) -> str:
    kpi = figure_kpi(key)  # a summary figure or a location's <location>.<figure>
    return kpi.unit if kpi else ""


def unit_text(key: str, currency: str | None) -> str:
    """The unit of a figure for a column header: ``%``, ``days``, ``EUR``, ``EUR per unit``."""
    kind = unit(key)
    if kind == "money":
        return currency or "money"
    if kind == "money/unit":
        return f"{currency or 'money'} per unit"
    return UNIT_TEXT.get(kind, kind)


def pct(value: float, decimals: int = 1, signed: bool = False) -> str:
    return f"{100 * value:{'+' if signed else ''},.{decimals}f} %"


def money(value: float, currency: str | None = None, signed: bool = False,
          compact: bool = False) -> str:
    """Money for people: whole units with thousands separators (``compact``: millions as
    ``1.25 M``, for sentences); the currency code after it when given."""
    if not finite(value):
        return "n/a"
    sign = "+" if signed else ""
    value = float(value)
    text = (f"{value / 1e6:{sign},.2f} M" if compact and abs(value) >= 1e6
            else f"{value:{sign},.0f}")
    if signed and text.lstrip("+-").strip("0., M") == "":
        text = "0"
    return f"{text} {currency}" if currency else text


def fmt(key: str, value: Any, currency: str | None = None, signed: bool = False,
        with_unit: bool = False, compact: bool = False) -> str:
    """One figure for people: fractions in %, money with thousands separators (and the
    currency when ``with_unit``), days to two decimals; "n/a" for a missing value."""
    if not finite(value):
        return "n/a"
    value = float(value)
    kind = unit(key)
    sign = "+" if signed else ""
    if kind == "fraction":
        return pct(value, signed=signed)
    if kind == "money":
        return money(value, currency if with_unit else None, signed, compact)
    if kind == "money/unit":
        text = f"{value:{sign},.2f}"
        return f"{text} {currency}" if with_unit and currency else text
    if kind == "days":
        return f"{value:{sign}.2f}" + (" days" if with_unit else "")
    text = f"{value:{sign},.1f}"
    return f"{text} {kind}" if with_unit and kind in ("units", "customers") else text


def change_text(key: str, value: float, currency: str | None = None) -> str:
    """A signed change: percentage points for fractions, money with its currency."""
    if not finite(value):
        return "n/a"
    if unit(key) == "fraction":
        return f"{100 * value:+,.1f} points"
    return fmt(key, value, currency, signed=True, with_unit=True, compact=True)


def ci_text(key: str, low: float, high: float, signed: bool = False,
            currency: str | None = None) -> str:
    """A 95 % interval, or "n/a" where it is undefined (one replication); money ranges
    end with ``currency`` when given."""
    if not (finite(low) and finite(high)):
        return "n/a"
    dash = " to " if signed else "–"  # "-1.9–+5.5" would read badly
    if unit(key) == "fraction":
        sign = "+" if signed else ""
        return f"{100 * low:{sign},.1f}{dash}{100 * high:{sign},.1f}" + \
            (" points" if signed else " %")
    text = f"{fmt(key, low, signed=signed)}{dash}{fmt(key, high, signed=signed)}"
    return f"{text} {currency}" if currency and unit(key) == "money" else text


def _param_is_fraction(key: str, value: Any) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    return (is_number(value) and 0 <= float(value) <= 1
            and any(w in leaf for w in ("target", "rate", "fraction", "level", "share")))


def param_text(key: str, value: Any) -> str:
    """A parameter value: fractions of a target or rate in %, numbers plainly."""
    if value is None:
        return "as in the scenario"
    if _param_is_fraction(key, value):
        return f"{100 * float(value):.1f} %"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return str(value)
    return f"{value:,g}"


def param_label(key: str, metric: str = "fill_rate") -> str:
    """A readable name for a dotted scenario key: ``policy.service_target`` → "Fill-rate
    target"; otherwise the last part in words with the part before it, e.g. "Supplier lead
    time days mean"."""
    parts = key.split("+")[0].split(".")
    if "service_target" in parts[-2:]:
        name = "Fill-rate target" if metric == "fill_rate" else "Cycle-service-level target"
        if "+" in key or "*" in key:  # several stock points: "at north, south"
            return f"{name} {_joined_where(key)}".strip()
        where = [p for p in parts if p not in ("policy", "service_target", "skus")]
        return f"{name} {' '.join(where)}".strip()
    words = " ".join(p.replace("_", " ") for p in parts[-2:] if p != "policy")
    return words[:1].upper() + words[1:]


def _joined_where(key: str) -> str:
    """Whose targets a joined key sets: "at every location", "at north, south", "of A, B"."""
    words = {"locations": ("at", "location"), "skus": ("of", "SKU"),
             "segments": ("of", "segment")}
    phrases: dict[str, list[str]] = {}
    for part in key.split("+"):
        path = part.strip().split(".")
        if len(path) > 2 and path[0] in words:
            preposition, kind = words[path[0]]
            name = f"every {kind}" if path[1] == "*" else path[1]
            if name not in phrases.setdefault(preposition, []):
                phrases[preposition].append(name)
    return " ".join(f"{p} {', '.join(names)}" for p, names in phrases.items())


def params_text(params: dict[str, Any], metric: str = "fill_rate") -> str:
    return ", ".join(f"{param_label(k, metric).lower()} {param_text(k, v)}"
                     for k, v in params.items()) or "the base scenario"
