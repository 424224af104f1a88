"""servicesim: which customer service level earns the best return on the money it ties up?

The public API (the CLI is a thin layer over it)::

    import servicesim
    scenario = servicesim.load_scenario("scenarios/baseline.yaml")
    one = servicesim.simulate(scenario, seed=1)            # one replication
    reps = servicesim.run_replications(scenario, n=10, seed=1)
    reps.summary()["roi"]                                   # mean and 95 % CI
    sweep = servicesim.sweep(scenario, ["policy.service_target=0.80:0.99:0.01"])
    sweep.best("roi"), sweep.directory                      # runs.csv, summary.csv, ...
    path = servicesim.generate_dataset(skus=1000, days=730, seed=7, out_dir="data/gen")
    big, fit = servicesim.load_with_fit(path)    # item master + history, fitted per SKU
"""

from ._version import VERSION
from .errors import ScenarioError
from .experiment.executors import ExecutorError, make_executor
from .experiment.optimize import Bound, OptimizeResult, optimize, parse_bound
from .experiment.replications import ReplicationSet, run_replications
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

__all__ = [
    "Bound",
    "OptimizeResult",
    "optimize",
    "parse_bound",
    "KPIS",
    "SUMMARY_KEYS",
    "DerivedPolicy",
    "ItemsFit",
    "ExecutorError",
    "ReplicationResult",
    "ReplicationSet",
    "Scenario",
    "ScenarioError",
    "SweepError",
    "SweepInterrupted",
    "SweepResult",
    "__version__",
    "confidence_interval",
    "derive_policies",
    "generate_dataset",
    "load_with_fit",
    "dump_scenario",
    "load_scenario",
    "make_executor",
    "run_replications",
    "scenario_from_dict",
    "sensitivity",
    "SensitivityResult",
    "simulate",
    "sweep",
]
