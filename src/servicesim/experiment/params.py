"""Scenario parameters set by dotted key: what an alternative of a sweep, an optimisation
or a comparison changes in the base scenario."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from ..errors import NOT_SET, Problem, ScenarioError
from ..scenario.overrides import Override, expand_key, with_overrides
from ..scenario.schema import Scenario


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix(
        "\n...").strip()


def apply_params(scenario: Scenario, assignment: Mapping[str, Any],
                 option: str = "--param") -> Scenario:
    """The scenario with every ``key: value`` of ``assignment`` set and validated.

    A key that does not exist, or a value the schema does not allow, raises
    :class:`ScenarioError` naming the option, key, value and what is allowed.  Keys joined
    by ``+`` move together: ``skus.A.policy.service_target+skus.B.policy.service_target``
    sets both to the value (one target for a class of SKUs), and a ``*`` part stands for
    every name of that mapping (``locations.*.policy.service_target``: every location's
    target; :func:`key_parts`).
    """
    if not assignment:
        return scenario
    return with_overrides(scenario, [Override(k, _yaml_scalar(v), option)
                                     for key, v in assignment.items()
                                     for k in key_parts(scenario, key, option)])


def key_parts(scenario: Scenario, key: str, option: str = "--param") -> list[str]:
    """The dotted keys a swept key sets, in a stable order: its ``+``-joined parts, each
    ``*`` expanded to every name of that mapping in the scenario's order (DOMAIN §7).
    A malformed part raises :class:`ScenarioError` naming the option and the part."""
    return expand_key(scenario, key, option)


def check_disjoint(scenario: Scenario, keys: Sequence[str], option: str = "--param") -> None:
    """Raise :class:`ScenarioError` when two swept keys set the same field (a ``*`` key and
    one of its names, or a part repeated in two joined keys): one would silently undo the
    other."""
    owner: dict[str, str] = {}
    problems: list[Problem] = []
    for key in keys:
        for part in key_parts(scenario, key, option):
            if part in owner and owner[part] != key:
                problems.append(Problem(option, part, NOT_SET, f"set by two swept keys, "
                                        f"{owner[part]!r} and {key!r}: sweep each field in one "
                                        "key only", None, f"{option} {key}"))
            owner.setdefault(part, key)
    if problems:
        raise ScenarioError(problems)
