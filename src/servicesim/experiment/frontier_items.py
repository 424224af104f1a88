"""What gets one service target in a frontier run, and the targets it may get (DOMAIN
§12): SKUs, ABC classes, or a network's stock points at the locations that serve customers;
the candidate targets; a scenario with an allocation of targets set."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import NOT_SET, Problem, ScenarioError
from ..scenario.schema import PolicyOverride, Scenario


def bad_option(option: str, value: Any, message: str) -> ScenarioError:
    """A bad command-line option (or keyword) as a :class:`ScenarioError` naming it."""
    return ScenarioError([Problem(option, option, value if value is not None else NOT_SET,
                                  message, None, f"{option} {value}")])


def parse_targets(text: str, option: str = "--targets") -> tuple[float, ...]:
    """``LOW:HIGH:STEP`` (inclusive) or ``a,b,c``: the candidate service targets, each
    strictly between 0 and 1, at least two, at most 100."""
    text = text.strip()
    try:
        if ":" in text:
            parts = [Decimal(p.strip()) for p in text.split(":")]
            if len(parts) != 3:
                raise bad_option(option, text, "a range is LOW:HIGH:STEP, e.g. 0.80:0.99:0.01")
            low, high, step = parts
            if step <= 0 or high < low:
                raise bad_option(option, text, "needs STEP > 0 and HIGH ≥ LOW, e.g. 0.80:0.99:0.01")
            count = int((high - low) / step) + 1
            if count > 100:
                raise bad_option(option, text, f"gives {count} targets; at most 100 are allowed")
            values = [float(low + k * step) for k in range(count)]
        else:
            values = [float(Decimal(p.strip())) for p in text.split(",")]
    except InvalidOperation:
        raise bad_option(option, text, "targets must be numbers, e.g. 0.80:0.99:0.01 or "
                                 "0.9,0.95,0.98,0.99") from None
    return check_targets(values, option)


def check_targets(values: Sequence[float], option: str = "targets") -> tuple[float, ...]:
    """The targets sorted, once each; an error unless 2–100 lie strictly between 0 and 1."""
    bad = [v for v in values if not (isinstance(v, float | int) and 0 < v < 1)]
    if bad:
        raise bad_option(option, ",".join(map(str, values)),
                   f"{bad[0]} is not a service target: each must lie strictly between 0 "
                   "and 1 (0.95 for 95 %)")
    out = tuple(sorted({float(v) for v in values}))
    if not 2 <= len(out) <= 100:
        raise bad_option(option, ",".join(map(str, values)),
                   f"needs 2 to 100 different targets (got {len(out)})")
    return out


@dataclass(frozen=True)
class Item:
    """What gets one target: a SKU, an ABC class, or a network's stock point."""

    name: str
    points: tuple[str, ...]
    """Its stock points as the run's per-SKU breakdown names them."""
    skus: tuple[str, ...]
    location: str | None
    abc_class: str | None
    unit_cost: float
    today_target: float | None


SET_BY_TARGET = {"sQ": "reorder_point", "sS": "reorder_point", "RsS": "reorder_point",
                 "RS": "order_up_to", "base_stock": "order_up_to"}
"""The parameter a service target sets, per policy type (DOMAIN §5): given explicitly, it
wins, and a target would change nothing."""


def _today_target(scenario: Scenario, sku: str, location: str | None) -> float | None:
    """The SKU's target today; None when its policy has none or a target would not set it
    (its safety parameter is given explicitly)."""
    policy = scenario.location_policy(location, sku) if location else scenario.sku_policy(sku)
    if getattr(policy, SET_BY_TARGET[policy.type]) is not None:
        return None
    target = policy.service_target
    return float(target) if isinstance(target, float | int) else None


def items_of(scenario: Scenario, by: str = "sku") -> list[Item]:
    """The items that get one target each: every SKU (``by="sku"``), every ABC class
    (``by="class"``), in a network every stock point at a location that serves customers."""
    if by not in ("sku", "class"):
        raise bad_option("--by", by, "allowed: sku, class")
    if scenario.locations is not None:
        served = {seg.location for seg in scenario.segments.values()}
        units = [(loc, sku) for loc in scenario.network_order() if loc in served
                 for sku in scenario.held_skus(loc)]
    else:
        units = [(None, sku) for sku in scenario.skus]
    singles = [Item(f"{loc}/{sku}" if loc else sku, (f"{loc}/{sku}" if loc else sku,),
                    (sku,), loc, scenario.skus[sku].abc_class, scenario.skus[sku].unit_cost,
                    _today_target(scenario, sku, loc)) for loc, sku in units]
    _check_targeted(scenario, singles)
    if by == "sku":
        return singles
    missing = [i.name for i in singles if i.abc_class is None]
    if missing:
        raise bad_option("--by", by, f"{len(missing)} SKUs have no ABC class (first: "
                                     f"{missing[0]}); "
                               "classify them (items.master classifies by revenue) or use "
                               "--by sku")
    classes: dict[str, list[Item]] = {}
    for item in singles:
        classes.setdefault(str(item.abc_class), []).append(item)
    return [Item(label, tuple(p for i in members for p in i.points),
                 tuple(s for i in members for s in i.skus), None, label,
                 math.fsum(i.unit_cost for i in members) / len(members),
                 _common(i.today_target for i in members))
            for label, members in sorted(classes.items())]


def _common(values: Iterator[float | None] | Any) -> float | None:
    found = set(values)
    return found.pop() if len(found) == 1 else None


def _check_targeted(scenario: Scenario, items: Sequence[Item]) -> None:
    """Every item's policy must be set by a service target (its parameters derived)."""
    fixed = [i.name for i in items if i.today_target is None]
    if fixed:
        raise ScenarioError([Problem(
            "policy.service_target", "policy.service_target", NOT_SET,
            f"the frontier chooses service targets, but {len(fixed)} SKUs have explicit "
            f"policy parameters that a target would not change (first: {fixed[0]}); "
            "leave their reorder_point or order_up_to out and give a service_target", None,
            "frontier")])


def allocation_scenario(scenario: Scenario, items: Sequence[Item],
                        values: Mapping[str, float], field_name: str = "service_target"
                        ) -> Scenario:
    """``scenario`` with every item's stock points' ``field_name`` (a service target, or
    a base-stock level) set to the item's value; other items keep theirs."""
    if scenario.locations is None:
        skus = dict(scenario.skus)
        for item in items:
            if item.name in values:
                for sku in item.skus:
                    own = skus[sku]
                    skus[sku] = own.model_copy(update={"policy": own.policy.model_copy(
                        update={field_name: values[item.name]})})
        return scenario.model_copy(update={"skus": skus})
    locations = dict(scenario.locations)
    for item in items:
        if item.name not in values:
            continue
        for point in item.points:
            loc, _, sku = point.partition("/")
            place = locations[loc]
            own = place.sku_policies.get(sku, PolicyOverride())
            policies = {**place.sku_policies,
                        sku: own.model_copy(update={field_name: values[item.name]})}
            locations[loc] = place.model_copy(update={"sku_policies": policies})
    return scenario.model_copy(update={"locations": locations})


def items_of_any(scenario: Scenario, by: str, field_name: str) -> list[Item]:
    """:func:`items_of`, or for levels (not targets) every SKU without the target check."""
    if field_name == "service_target":
        return items_of(scenario, by)
    return [Item(s, (s,), (s,), None, scenario.skus[s].abc_class, scenario.skus[s].unit_cost,
                 None) for s in scenario.skus]
