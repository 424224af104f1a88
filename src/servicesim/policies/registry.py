"""The inventory policy families by name: the one place that lists them.

Every part of servicesim that depends on the policy type (derivation, the model's stock
point) asks :func:`policy_family`.  The scenario layer, below this one, keeps its own table
of the keys each type takes (:data:`servicesim.scenario.schema.POLICY_KEYS`); the import of
this module checks that it names the same families with the same keys.
"""

from __future__ import annotations

import typing

from ..scenario.schema import POLICY_KEYS, PolicyType
from .base import PolicyFamily
from .base_stock import BaseStock
from .rs import RS
from .rss import RsS
from .sq import SQ
from .ss import SS

FAMILIES: dict[str, PolicyFamily] = {
    family.name: family for family in (SQ(), SS(), RS(), BaseStock(), RsS())
}
"""``policy.type`` -> its family, in the order the documentation lists them."""


def policy_family(name: str) -> PolicyFamily:
    """The family of ``policy.type`` ``name`` (a KeyError names the known ones)."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown policy type {name!r}; known: {', '.join(FAMILIES)}") from None


def _check_scenario_table() -> None:
    """The scenario layer accepts exactly these families, each with its own keys."""
    names = set(typing.get_args(PolicyType))
    if names != set(FAMILIES) or set(POLICY_KEYS) != set(FAMILIES):
        raise ImportError(f"policy types differ: families {sorted(FAMILIES)}, schema "
                          f"PolicyType {sorted(names)}, POLICY_KEYS {sorted(POLICY_KEYS)}")
    for name, family in FAMILIES.items():
        if set(POLICY_KEYS[name].accepts) != set(family.parameters):
            raise ImportError(f"policy {name}: the family takes {family.parameters}, the "
                              f"schema's POLICY_KEYS {POLICY_KEYS[name].accepts}")


_check_scenario_table()
