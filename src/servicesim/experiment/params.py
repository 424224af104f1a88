"""Scenario parameters set by dotted key: what an alternative of a sweep, an optimisation
or a comparison changes in the base scenario."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from ..scenario.overrides import Override, with_overrides
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
    sets both to the value (one target for a class of SKUs).
    """
    if not assignment:
        return scenario
    return with_overrides(scenario, [Override(k.strip(), _yaml_scalar(v), option)
                                     for key, v in assignment.items()
                                     for k in key.split("+")])
