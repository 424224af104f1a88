"""Every figure of a fixed set of runs, written exactly, so that a change meant to keep the
simulator's behaviour (a refactor) can prove it did: ``tests/data/figures.json`` holds the
figures recorded before the change, and ``test_figures.py`` compares every run with them.

The runs: every shipped scenario (short horizon, two seeds; the baseline also over its full
horizon), every analytic validation case at every base-stock level its quick budget runs
(shortened), and the test scenarios that exercise every mechanism (the tiny traced one, the
busy, unqueued-rationed and emptying ones).  A figure is written as ``float.hex`` so that
equality is to the bit.

Record anew (only when figures are meant to change, and say why in the commit):
``python tests/figures.py --write``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))

import test_model  # noqa: E402
import test_scale  # noqa: E402
import validation  # noqa: E402
from servicesim import load_scenario, simulate  # noqa: E402
from servicesim.scenario.schema import Scenario  # noqa: E402

FIGURES_PATH = TESTS / "data" / "figures.json"
SCENARIOS = sorted((TESTS.parent / "scenarios").glob("*.yaml"))
VALIDATION_DAYS = 400.0
"""Measured days of a validation run here: enough to reach every mechanism, short enough
that the whole set runs in seconds (the statistics are checked in test_validation)."""


def exact(value: Any) -> Any:
    """``value`` with every float written as its exact hexadecimal form."""
    if isinstance(value, float):
        return value.hex() if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k): exact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [exact(v) for v in value]
    return value


def fingerprint(scenario: Scenario, seed: int, trace: bool = False) -> dict[str, Any]:
    """Every figure of one replication, exactly."""
    result = simulate(scenario, seed, trace=trace)
    out = {
        "kpis": exact(result.kpis),
        "details": exact(result.details),
        "by_sku": exact(result.by_sku),
        "by_segment": exact(result.by_segment),
        "policies": exact({k: p.as_dict() for k, p in result.policies.items()}),
    }
    if trace:
        out["trace"] = exact([[t, kind, info] for t, kind, info in result.trace or []])
    if result.disruptions:  # the events and their recovery (runs with disruptions only)
        out["disruptions"] = exact([list(dataclasses.astuple(e)) for e in result.disruptions])
    return out


def _shortened(scenario: Scenario, days: float) -> Scenario:
    run = scenario.run.model_copy(update={
        "horizon_days": min(scenario.run.horizon_days, scenario.run.warmup_days + days)})
    return scenario.model_copy(update={"run": run})


def runs() -> Iterator[tuple[str, Callable[[], dict[str, Any]]]]:
    """(name, a function giving the run's figures) for every recorded run."""
    for path in SCENARIOS:
        full = load_scenario(path)
        short = load_scenario(path, overrides=[
            f"run.horizon_days={full.run.warmup_days + 90}"])
        for seed in (1, 2):
            yield f"scenario/{path.stem}/short/seed{seed}", (
                lambda sc=short, s=seed: fingerprint(sc, s))
        if path.stem == "baseline":
            yield f"scenario/{path.stem}/full/seed3", lambda sc=full: fingerprint(sc, 3)
    for case_id, case in validation.CASES.items():
        for level in validation.levels_to_run(case, "quick"):
            sc = _shortened(validation.scenario_for(case, "quick", level), VALIDATION_DAYS)
            yield f"validation/{case_id}/S{level}", lambda sc=sc: fingerprint(sc, 11)
    yield "test/tiny/trace", lambda: fingerprint(test_model.tiny(), 5, trace=True)
    yield "test/tiny_waits/trace", lambda: fingerprint(test_model.tiny(
        segments__c__reactions={"wait": 0.5, "defect": 0.2, "switch": 0.3},
        segments__c__patience_days=0.5), 6, trace=True)
    for make in (test_scale.busy, test_scale.busy_unqueued, test_scale.emptying):
        yield f"test/{make.__name__}", lambda make=make: fingerprint(make(150.0), 9)
    yield "test/emptying/trace", lambda: fingerprint(test_scale.emptying(30.0), 4, trace=True)
    for policy in POLICY_VARIANTS:
        name = "-".join(f"{k}={v}" for k, v in policy.items())
        yield f"test/busy/{name}", lambda policy=policy: fingerprint(_busy_with(policy), 8)


POLICY_VARIANTS: list[dict[str, Any]] = [
    {"type": t, "service_metric": m, "lead_time_demand": d, "service_target": 0.9,
     **({"review_period_days": 7.0} if t == "RS" else {})}
    for t in ("sQ", "sS", "RS", "base_stock")
    for m in ("fill_rate", "cycle_service_level")
    for d in ("auto", "normal")
] + [
    {"type": "RS", "review_period_days": 3.5, "first_review_day": 1.0, "service_target": 0.97},
    {"type": "sS", "reorder_point": 4, "order_up_to": 30, "service_target": None},
    {"type": "sQ", "service_target": 0.9, "critical_level": 3},
    {"type": "base_stock", "lead_time_demand": "negative_binomial", "service_target": 0.99},
]
"""Policies of every family, metric and lead-time demand model on the busy scenario."""


def _busy_with(policy: dict[str, Any]) -> Scenario:
    sc = test_scale.busy(120.0)
    return Scenario.model_validate({**sc.model_dump(), "policy": policy})


def record() -> dict[str, Any]:
    return {name: make() for name, make in runs()}


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    figures = record()
    FIGURES_PATH.write_text(json.dumps(figures, indent=0, sort_keys=True) + "\n",
                            encoding="utf-8")
    print(f"{len(figures)} runs written to {FIGURES_PATH}")
