"""servicesim: which customer service level earns the best return on the money it ties up?

The public API (the CLI is a thin layer over it)::

    import servicesim
    scenario = servicesim.load_scenario("scenarios/baseline.yaml")
    one = servicesim.simulate(scenario, seed=1)            # one replication
    reps = servicesim.run_replications(scenario, n=10, seed=1)
    reps.summary()["roi"]                                   # mean and 95 % CI
    sweep = servicesim.sweep(scenario, ["policy.service_target=0.80:0.99:0.01"])
    sweep.best("roi"), sweep.directory                      # runs.csv, summary.csv, ...
    spread = servicesim.risk(scenario_with_disruptions, ["policy.service_target=0.99"])
    spread.decision                                         # ROI on average and in the worst 5 %
    path = servicesim.generate_dataset(skus=1000, days=730, seed=7, out_dir="data/gen")
    big, fit = servicesim.load_with_fit(path)    # item master + history, fitted per SKU

The names are imported on first use (PEP 562), so ``import servicesim`` and the
``servicesim --version`` / ``--help`` commands do not pay for SciPy, SimPy or the model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import VERSION

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and IDEs
    from .errors import ScenarioError
    from .experiment.executors import ExecutorError, make_executor
    from .experiment.frontier import (
        FrontierError,
        FrontierInterrupted,
        FrontierResult,
        frontier,
    )
    from .experiment.optimize import Bound, OptimizeResult, optimize, parse_bound
    from .experiment.replications import ReplicationSet, run_replications
    from .experiment.risk import RiskError, RiskInterrupted, RiskResult, risk
    from .experiment.sensitivity import SensitivityResult, sensitivity
    from .experiment.statistics import confidence_interval
    from .experiment.sweep import SweepError, SweepInterrupted, SweepResult, sweep
    from .inputs.generate import generate_dataset
    from .inputs.items import ItemsFit, load_with_fit
    from .inputs.scenario_file import load_scenario
    from .kpis import KPIS, SUMMARY_KEYS
    from .model.simulation import ReplicationResult, simulate
    from .policies.derivation import DerivedPolicy, derive_policies
    from .scenario.schema import Scenario
    from .scenario.serialise import dump_scenario
    from .scenario.validation import scenario_from_dict

__version__ = VERSION

_HOMES = {
    ".errors": ("ScenarioError",),
    ".experiment.executors": ("ExecutorError", "make_executor"),
    ".experiment.frontier": ("FrontierError", "FrontierInterrupted", "FrontierResult",
                             "frontier"),
    ".experiment.optimize": ("Bound", "OptimizeResult", "optimize", "parse_bound"),
    ".experiment.replications": ("ReplicationSet", "run_replications"),
    ".experiment.risk": ("RiskError", "RiskInterrupted", "RiskResult", "risk"),
    ".experiment.sensitivity": ("SensitivityResult", "sensitivity"),
    ".experiment.statistics": ("confidence_interval",),
    ".experiment.sweep": ("SweepError", "SweepInterrupted", "SweepResult", "sweep"),
    ".inputs.generate": ("generate_dataset",),
    ".inputs.items": ("ItemsFit", "load_with_fit"),
    ".inputs.scenario_file": ("load_scenario",),
    ".kpis": ("KPIS", "SUMMARY_KEYS"),
    ".model.simulation": ("ReplicationResult", "simulate"),
    ".policies.derivation": ("DerivedPolicy", "derive_policies"),
    ".scenario.schema": ("Scenario",),
    ".scenario.serialise": ("dump_scenario",),
    ".scenario.validation": ("scenario_from_dict",),
}
"""The module each public name lives in."""

_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "Bound",
    "DerivedPolicy",
    "ExecutorError",
    "FrontierError",
    "FrontierInterrupted",
    "FrontierResult",
    "ItemsFit",
    "KPIS",
    "OptimizeResult",
    "ReplicationResult",
    "ReplicationSet",
    "RiskError",
    "RiskInterrupted",
    "RiskResult",
    "SUMMARY_KEYS",
    "Scenario",
    "ScenarioError",
    "SweepError",
    "SweepInterrupted",
    "SweepResult",
    "__version__",
    "confidence_interval",
    "derive_policies",
    "dump_scenario",
    "frontier",
    "generate_dataset",
    "load_scenario",
    "load_with_fit",
    "make_executor",
    "optimize",
    "parse_bound",
    "risk",
    "run_replications",
    "scenario_from_dict",
    "sensitivity",
    "SensitivityResult",
    "simulate",
    "sweep",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use and then kept here."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups find it without calling __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
