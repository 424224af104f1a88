"""The shared contract of the policy families (STYLE: one contract test runs on every
implementation of an interface): every family in the registry runs the busy scenario of
``test_scale`` — every mechanism that keeps state — with its units conserved, the same
result from the same seed, and a fill rate that a higher service target does not lower
under common random numbers.  A new family is picked up without a change here."""

from __future__ import annotations

import typing

import pytest

from servicesim.model.simulation import ReplicationResult, simulate
from servicesim.policies.registry import FAMILIES, policy_family
from servicesim.scenario.schema import COMMON_POLICY_KEYS, POLICY_KEYS, PolicyType, Scenario
from test_scale import busy

HORIZON_DAYS = 200.0
SEEDS = (3, 11)
TARGETS = (0.7, 0.85, 0.97)


def busy_with(name: str, target: float) -> Scenario:
    """The busy scenario under family ``name`` with every SKU's parameters derived from
    ``target`` (β); a periodic family reviews every 3 days."""
    policy: dict[str, typing.Any] = {"type": name, "service_target": target}
    if policy_family(name).periodic:
        policy["review_period_days"] = 3.0
    data = busy(HORIZON_DAYS).model_dump()
    data["policy"] = policy
    return Scenario.model_validate(data)


def run(name: str, target: float, seed: int) -> ReplicationResult:
    return simulate(busy_with(name, target), seed)


FAMILY_NAMES = [pytest.param(name, id=name) for name in FAMILIES]


def test_the_schema_accepts_exactly_the_registered_families() -> None:
    assert set(typing.get_args(PolicyType)) == set(FAMILIES) == set(POLICY_KEYS)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_family_takes_the_keys_the_schema_lists(name: str) -> None:
    family = FAMILIES[name]
    assert family.name == name
    assert set(family.parameters) == set(POLICY_KEYS[name].accepts)
    assert not set(family.parameters) & set(COMMON_POLICY_KEYS)
    assert ("review_period_days" in family.parameters) == family.periodic


@pytest.mark.parametrize("name", FAMILY_NAMES)
@pytest.mark.parametrize("seed", SEEDS)
def test_units_are_conserved(name: str, seed: int) -> None:
    """ordered = shipped + open backorders + lost + still waiting to retry."""
    d = run(name, 0.9, seed).details
    assert d["total_units_demanded"] > 0
    assert d["total_units_demanded"] == (
        d["total_units_shipped"] + d["total_units_backordered_open"]
        + d["total_units_lost"] + d["total_units_waiting"])


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_same_seed_same_result(name: str) -> None:
    a, b = run(name, 0.9, SEEDS[0]), run(name, 0.9, SEEDS[0])
    assert repr(a.kpis) == repr(b.kpis)  # repr: NaN-safe exact comparison
    assert repr(a.by_sku) == repr(b.by_sku)


@pytest.mark.parametrize("name", FAMILY_NAMES)
@pytest.mark.parametrize("seed", SEEDS)
def test_a_higher_target_never_lowers_the_fill_rate(name: str, seed: int) -> None:
    """More stock (the parameters derived from a higher target) under common random
    numbers: the item fill rate does not fall."""
    fill_rates = [run(name, target, seed).kpis["item_fill_rate"] for target in TARGETS]
    assert fill_rates == sorted(fill_rates), dict(zip(TARGETS, fill_rates, strict=True))
