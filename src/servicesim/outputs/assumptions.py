"""A scenario's assumptions in plain words for the report and the workbook: tables of the
customer segments, the SKUs, supply and logistics, finance and the run (DOMAIN §2–§5), and
the scenario as YAML without its unset (null) fields for an appendix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from ..scenario.schema import Scenario

__all__ = ["Table", "assumption_tables", "distribution_text", "scenario_yaml"]


@dataclass(frozen=True)
class Table:
    """A titled table of text cells (first row of ``rows`` under ``header``)."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


def number(value: float, decimals: int = 2) -> str:
    """A number without needless decimals: 4,000; 2.5; 0.005."""
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".")
    return text if text not in ("0", "-0") else f"{value:.2g}"


def _pct(value: float) -> str:
    return f"{number(100 * value, 1)} %"


def _amount(value: float, currency: str | None) -> str:
    return f"{number(value)} {currency}" if currency else number(value)


def distribution_text(dist: Any, unit: str = "") -> str:
    """A distribution in words: "gamma, mean 10 d, sd 3 d", "always 1", "1 (60 %), 2 (30 %)"."""
    u = f" {unit}" if unit else ""
    kind = getattr(dist, "type", "")
    if kind == "constant":
        return f"always {number(dist.value)}{u}"
    if kind == "empirical":
        return ", ".join(f"{number(v)}{u} ({_pct(p)})"
                         for v, p in zip(dist.values, dist.probabilities, strict=True))
    if kind == "uniform":
        return f"uniform {number(dist.low)}–{number(dist.high)}{u}"
    if kind == "triangular":
        return (f"triangular {number(dist.low)}–{number(dist.high)}{u}, "
                f"most often {number(dist.mode)}{u}")
    name = {"negative_binomial": "negative binomial", "poisson": "Poisson",
            "normal_rounded": "normal (rounded)"}.get(kind, kind)
    text = f"{name}, mean {number(dist.mean)}{u}"
    if kind in ("normal", "normal_rounded", "lognormal", "gamma", "negative_binomial"):
        text += f", sd {number(dist.std)}{u}"
    return text


def average_text(dist: Any, unit: str = "") -> str:
    """A distribution by its mean first: "7 d on average (exponential)", "2.5 (Poisson)"."""
    u = f" {unit}" if unit else ""
    kind = getattr(dist, "type", "")
    if kind == "constant":
        return f"{number(dist.value)}{u}"
    if kind in ("empirical", "uniform", "triangular"):
        return distribution_text(dist, unit)
    name = distribution_text(dist, unit).split(",")[0]
    spread = (f", sd {number(dist.std)}{u}"
              if kind in ("normal", "normal_rounded", "lognormal", "gamma",
                          "negative_binomial") else "")
    return f"{number(dist.mean)}{u} on average ({name}{spread})"


def _reactions(segment: Any) -> str:
    shares = segment.reactions.model_dump()
    words = {"wait": "wait", "backorder": "backorder", "switch": "buy elsewhere",
             "defect": "leave for good"}
    text = ", ".join(f"{words.get(k, k)} {_pct(v)}" for k, v in shares.items() if v)
    if shares.get("wait"):
        text += (f" (patience {distribution_text(segment.patience_days, 'd')}, "
                 f"at most {segment.max_waits} waits)")
    return text + f"; per {segment.reaction_per}"


def _failures(weights: Any) -> str:
    """The failure weights in words (DOMAIN §9), or nothing when none is set."""
    words = {"late": "a late order", "damaged": "a damaged order",
             "documentation": "a documentation error"}
    named = [f"{words[k]} {number(v)}" for k, v in weights.model_dump().items() if v]
    return "; counted as stockouts for defection: " + ", ".join(named) if named else ""


def _segments(scenario: Scenario, currency: str | None) -> Table:
    rows = []
    for name, s in scenario.segments.items():
        acquisition = s.acquisition
        gained = (f"{number(acquisition.customers_per_year)} a year at "
                  f"{_amount(acquisition.cost_per_customer, currency)} each"
                  if acquisition.customers_per_year else "none")
        rows.append((name, number(s.customers),
                     f"every {average_text(s.order_interval_days, 'd')}",
                     f"lines: {average_text(s.lines_per_order)}; units per line: "
                     f"{average_text(s.units_per_line)}",
                     _reactions(s), f"{number(s.promised_cycle_time_days)} d",
                     f"{_pct(s.retention_rate_per_year)} a year; "
                     f"+{_pct(s.defect_increase_per_stockout)} defection per stockout"
                     + _failures(s.failure_weights),
                     gained))
    return Table("Customer segments",
                 ("Segment", "Customers", "Orders", "Order size", "Reaction to a stockout",
                  "Promise", "Retention", "New customers"), tuple(rows),
                 "A customer orders at random intervals; each line that meets a stockout "
                 "draws one of the reactions in the shares given.")


def _value(value: Any) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return number(value)
    return str(value)


def _skus(scenario: Scenario, currency: str | None) -> Table:
    rows = []
    for name, sku in scenario.skus.items():
        policy = sku.policy.model_dump(exclude_none=True)
        margin = (sku.price - sku.unit_cost) / sku.price if sku.price else float("nan")
        rows.append((name, _amount(sku.unit_cost, currency), _amount(sku.price, currency),
                     _pct(margin) if sku.price else "n/a",
                     f"{_pct(sku.holding_rate_per_year)} a year",
                     ", ".join(f"{k.replace('_', ' ')} {_value(v)}"
                               for k, v in policy.items()) or "the default policy",
                     "own supplier" if sku.supplier is not None else "the common supplier"))
    return Table("Products (SKUs)", ("SKU", "Unit cost", "Price", "Margin", "Holding cost",
                                     "Policy", "Supplier"), tuple(rows))


def _policy_rows(scenario: Scenario) -> list[tuple[str, str]]:
    policy = scenario.policy
    target = policy.service_target
    if isinstance(target, dict):
        target_text = ", ".join(f"{k} {_pct(v)}" for k, v in target.items())
    else:
        target_text = _pct(target) if target is not None else "none (parameters given)"
    metric = ("item fill rate (β)" if policy.service_metric == "fill_rate"
              else "cycle service level (α)")  # both read after "an"
    return [("Inventory policy", f"{policy.type}, derived from an {metric} target of "
             f"{target_text}; lead-time demand model {policy.lead_time_demand}"),
            ("Rationing", f"{_pct(policy.critical_level_fraction)} of the reorder point kept "
             "for priority-1 segments" if policy.critical_level_fraction else "none")]


def _supply(scenario: Scenario, currency: str | None) -> Table:
    supplier, processing = scenario.supplier, scenario.order_processing
    outbound, quality, stockout = scenario.outbound, scenario.quality, scenario.stockout_costs
    a = lambda v: _amount(v, currency)  # noqa: E731 - a short local formatter
    expedite = outbound.expedite
    rows = [
        *_policy_rows(scenario),
        ("Supplier lead time", distribution_text(supplier.lead_time_days, "d")),
        ("Purchase order cost", f"{a(supplier.cost_per_order)} per order; inbound "
         f"{a(supplier.inbound_cost_per_shipment)} per shipment + "
         f"{a(supplier.inbound_cost_per_unit)} per unit"),
        ("Order processing", f"{distribution_text(processing.time_days, 'd')}; "
         f"{processing.servers or 'unlimited'} servers; {a(processing.cost_per_order)} "
         "per order"),
        ("Outbound transport", f"{distribution_text(outbound.transit_days, 'd')}; "
         f"{a(outbound.cost_per_shipment)} per shipment + {a(outbound.cost_per_unit)} per unit"),
        ("Expedited backorders", (f"{distribution_text(expedite.transit_days, 'd')}; "
                                  f"{a(expedite.cost_per_shipment)} per shipment + "
                                  f"{a(expedite.cost_per_unit)} per unit")
         if expedite.enabled else "no"),
        ("Quality", f"damage {_pct(quality.damage_probability)}, documentation errors "
         f"{_pct(quality.documentation_error_probability)}; "
         f"{a(quality.recovery_cost_per_failed_order)} per failed order"),
        ("Backorder costs", f"{a(stockout.backorder_cost_per_unit)} per unit + "
         f"{a(stockout.backorder_cost_per_unit_per_day)} per unit-day + "
         f"{a(stockout.backorder_cost_per_order)} per order; lost-sale penalty "
         f"{a(stockout.lost_sale_penalty_per_unit)} per unit"),
    ]
    return Table("Supply, logistics and policy", ("Item", "Assumption"), tuple(rows))


def _finance(scenario: Scenario, currency: str | None) -> Table:
    f, run = scenario.finance, scenario.run
    rows = [("Fixed cost", f"{_amount(f.fixed_cost_per_year, currency)} a year"),
            ("Fixed logistics assets", _amount(f.fixed_logistics_assets, currency)),
            ("Cost of capital", f"{_pct(f.cost_of_capital_rate_per_year)} a year"),
            ("Discount rate of customer lifetime value",
             f"{_pct(f.clv_discount_rate_per_year)} a year"),
            ("Currency", f.currency or "not stated"),
            ("Simulated period", f"{number(run.horizon_days)} days, of which the first "
             f"{number(run.warmup_days)} are a warm-up left out of every figure"),
            ("Replications and seed", f"{run.replications}, root seed {run.seed}")]
    return Table("Finance and run", ("Item", "Assumption"), tuple(rows))


def assumption_tables(scenario: Scenario) -> list[Table]:
    """The scenario's assumptions as plain-words tables (segments, SKUs, supply, finance)."""
    currency = scenario.finance.currency
    return [_segments(scenario, currency), _skus(scenario, currency),
            _supply(scenario, currency), _finance(scenario, currency)]


def _pruned(value: Any) -> Any:
    """Plain data of a model without the fields that are unset (None by default)."""
    if isinstance(value, BaseModel):
        data = value.model_dump(mode="json", by_alias=True)
        out = {}
        for name, info in type(value).model_fields.items():
            key = info.alias or name
            field_value = getattr(value, name)
            if (field_value is None and info.default is None) or field_value == "":
                continue  # unset, or empty text (a scenario without a description)
            out[key] = _pruned(field_value) if isinstance(field_value, BaseModel | dict) \
                else data.get(key)
        return out
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items()}
    return value


class _Dumper(yaml.SafeDumper):
    """Long or multi-line text as a literal block, never a quoted scalar split over lines."""


def _text(dumper: yaml.SafeDumper, data: str) -> Any:
    if "\n" in data or len(data) > 80:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data.strip() + "\n", style=">")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _mapping(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> Any:
    """A distribution (a mapping with a ``type``) on one line, as scenario files write it."""
    flow = ("type" in data and len(data) <= 4
            and not any(isinstance(v, dict) for v in data.values()))
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)


def _sequence(dumper: yaml.SafeDumper, data: list[Any]) -> Any:
    flow = not any(isinstance(v, dict | list) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(dict, _mapping)
_Dumper.add_representer(list, _sequence)


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario as YAML for an appendix: every field set, unset (null) ones left out."""
    return yaml.dump(_pruned(scenario), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=90)
