"""The analytic validation cases as servicesim scenarios: translate, run, read the figures.

``tests/data/validation_cases.json`` is a byte-for-byte copy of the shared case file (its
README states the criterion): a case is expressed as a scenario (time unit: day), simulated
with the case's recommended replications, horizon and warm-up, and the mean over the
replications of each figure is compared with the expected value.

Cases with a curve (a figure named ``<metric>_S<n>``) are run at every base-stock level S of
the curve; ``<metric>_at_S_opt`` / ``_at_optimal_S`` and the case's plain figures are at
S* (the case's ``optimal_S``, or its input S).  Cases A1, E1 and F1 are shipped as scenario
files in ``scenarios/``; their tests load those files, so the shipped scenarios are what is
validated.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from scipy import stats

from servicesim.experiment.seeds import replication_seeds
from servicesim.experiment.statistics import confidence_interval, paired_comparison
from servicesim.model.simulation import ReplicationResult, simulate
from servicesim.policies.derivation import derive_policy, erlang_b
from servicesim.scenario.schema import Scenario

REPO_ROOT = Path(__file__).resolve().parents[1]
CASES_PATH = Path(__file__).resolve().parent / "data" / "validation_cases.json"
SHARED_CASES_PATH = REPO_ROOT.parent / "shared" / "validation" / "cases.json"
"""Where the shared original lives beside the repository (absent in a lone clone)."""

SCENARIO_FILES = {
    "A1_basestock_backorder_constL": REPO_ROOT / "scenarios" / "theory_basestock_backorder.yaml",
    "E1_lostsales_basestock_constL": REPO_ROOT / "scenarios" / "theory_lost_sales_basestock.yaml",
    "F1_order_processing_MM1": REPO_ROOT / "scenarios" / "theory_order_processing_mm1.yaml",
}
"""Cases shipped as planner-readable scenarios (their tests load these files)."""

SEEDS = {"quick": 20_250_101, "full": 20_250_102}
"""Root seed of every run of a budget (the same for each S of a curve: common random numbers)."""

WORKERS = 2
"""Processes that run replications in parallel (results are identical to a serial run)."""

DAYS_PER_YEAR = 365.0
SKU = "item"
SEGMENT = "demand"

_CURVE_POINT = re.compile(r"(?P<metric>.+)_S(?P<level>\d+)")
_AT_OPTIMUM = ("_at_S_opt", "_at_optimal_S")

CASES: dict[str, dict[str, Any]] = {
    case["id"]: case for case in json.loads(CASES_PATH.read_text(encoding="utf-8"))
}


def short_id(case_id: str) -> str:
    """``A1_basestock_backorder_constL`` -> ``A1``."""
    return case_id.split("_", 1)[0]


# ----------------------------------------------------------------------------- metrics


def kind(case: dict[str, Any], name: str) -> str:
    """``simulation``, ``formula`` or ``exact`` (the tolerance kind of an expected figure)."""
    return str(case["tolerance"][name]["kind"])


def is_curve_case(case: dict[str, Any]) -> bool:
    return "optimal_S" in case["expected"]


def optimum(case: dict[str, Any]) -> int | None:
    """S* of a base-stock case (its ``optimal_S``, else its input S); None for others."""
    if case["inputs"].get("policy", {}).get("type") != "base_stock":
        return None
    if "optimal_S" in case["expected"]:
        return int(case["expected"]["optimal_S"])
    return int(case["inputs"]["policy"]["S"])


def point(case: dict[str, Any], name: str) -> tuple[str, int | None]:
    """The base figure of an expected entry and the base-stock level S it is read at.

    ``total_cost_rate_S4`` -> (``total_cost_rate``, 4); ``fill_rate_at_optimal_S`` ->
    (``fill_rate``, S*); a plain figure -> (figure, S*) for base-stock cases, else None.
    """
    for suffix in _AT_OPTIMUM:
        if name.endswith(suffix):
            return name[: -len(suffix)], optimum(case)
    match = _CURVE_POINT.fullmatch(name)
    if match:
        return match["metric"], int(match["level"])
    return name, optimum(case)


def curve_levels(case: dict[str, Any], metric: str) -> list[int]:
    """The S values of a curve (``profit_rate`` -> [1, 2, 3, 4, 5] in E3), ascending."""
    levels = []
    for name in case["expected"]:
        match = _CURVE_POINT.fullmatch(name)
        if match and match["metric"] == metric:
            levels.append(int(match["level"]))
    return sorted(levels)


def objective(case: dict[str, Any]) -> tuple[str, Callable[..., Any]]:
    """The curve that defines ``optimal_S`` and how to pick it (argmin cost, argmax profit)."""
    if curve_levels(case, "total_cost_rate"):
        return "total_cost_rate", min
    return "profit_rate", max


def simulation_metrics(case: dict[str, Any], tier: str) -> list[str]:
    """Expected entries compared with a simulated mean at ``tier`` (``quick`` or ``full``).

    At the full budget the curves are run only at S*: curve points at another S (and
    ``optimal_S``) are checked at the quick budget only.
    """
    names = [n for n in case["expected"] if kind(case, n) == "simulation"]
    if tier == "full" and is_curve_case(case):
        names = [n for n in names if point(case, n)[1] == optimum(case)]
    return names


def levels_to_run(case: dict[str, Any], tier: str) -> list[int | None]:
    """The base-stock levels (None: the case's own policy) a budget needs for a case."""
    return sorted({point(case, n)[1] for n in simulation_metrics(case, tier)},
                  key=lambda s: -1 if s is None else s)


def _cost_rate(*keys: str) -> Callable[[ReplicationResult], float]:
    def rate(r: ReplicationResult) -> float:
        return sum(r.kpis[k] for k in keys) / r.details["window_days"]

    return rate


def _kpi(key: str) -> Callable[[ReplicationResult], float]:
    return lambda r: r.kpis[key]


def _detail(key: str) -> Callable[[ReplicationResult], float]:
    return lambda r: r.details[key]


FIGURES: dict[str, Callable[[ReplicationResult], float]] = {
    "avg_on_hand": _kpi("avg_on_hand_units"),
    "avg_backorders": _kpi("avg_backorder_units"),
    "avg_net_inventory": _detail("avg_net_inventory_units"),
    "avg_units_on_order": _detail("avg_on_order_units"),
    "fill_rate": _kpi("item_fill_rate"),
    "ready_rate": _kpi("ready_rate"),
    "prob_no_backorder": _detail("prob_no_backorder"),
    "csl_per_replenishment": _kpi("cycle_service_level"),
    "csl_cycle": _kpi("cycle_service_level"),
    "order_rate": _detail("purchase_orders_per_day"),
    "avg_customer_wait": _detail("avg_customer_wait_days"),
    "holding_cost_rate": _cost_rate("holding_cost"),
    "backorder_cost_rate": _cost_rate("backorder_cost"),
    "ordering_cost_rate": _cost_rate("ordering_cost"),
    "total_cost_rate": _cost_rate("holding_cost", "backorder_cost", "ordering_cost"),
    "end_of_cycle_on_hand": _detail("end_of_cycle_on_hand_units"),
    "end_of_cycle_backorders": _detail("end_of_cycle_backorder_units"),
    "fraction_lost": _detail("fraction_lost"),
    "prob_stockout_time": lambda r: 1.0 - r.kpis["ready_rate"],
    "sales_rate": _detail("sales_units_per_day"),
    "lost_sales_rate": _detail("lost_sales_units_per_day"),
    "profit_rate": _cost_rate("operating_profit"),
    "utilization": _detail("processing_utilization"),
    "prob_wait": _detail("processing_prob_wait"),
    "mean_wait_in_queue": _detail("processing_wait_mean_days"),
    "mean_time_in_system": _detail("processing_time_in_system_mean_days"),
    "mean_number_in_queue": _detail("processing_queue_avg"),
    "mean_number_in_system": _detail("processing_in_system_avg"),
}
"""Case figure -> how to read it from one replication (rates are per day of the window)."""


# ----------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Budget:
    """Replications, horizon and warm-up of one budget, in days."""

    replications: int
    horizon_days: float
    warmup_days: float


def budget(case: dict[str, Any], tier: str) -> Budget:
    """The case's recommended budget; a budget in customers becomes days at rate λ."""
    rec = case["recommended_simulation"][tier]
    if "customers_per_replication" in rec:
        rate = float(case["inputs"]["arrival_rate"])
        warmup = rec["warmup_customers"] / rate
        return Budget(rec["replications"], warmup + rec["customers_per_replication"] / rate,
                      warmup)
    return Budget(rec["replications"], float(rec["horizon_per_replication"]),
                  float(rec["warmup"]))


def run_settings(case: dict[str, Any], tier: str) -> dict[str, Any]:
    """The scenario's ``run`` block for a budget."""
    b = budget(case, tier)
    return {"horizon_days": b.horizon_days, "warmup_days": b.warmup_days,
            "replications": b.replications, "seed": SEEDS[tier]}


def run_overrides(case: dict[str, Any], tier: str) -> list[str]:
    """``dotted.key=value`` overrides that set a scenario file's run to a budget."""
    return [f"run.{key}={value!r}" for key, value in run_settings(case, tier).items()]


def _lead_time(spec: dict[str, Any]) -> Any:
    if spec["type"] == "constant":
        return float(spec["value"])
    if spec["type"] == "uniform":
        return {"type": "uniform", "low": float(spec["low"]), "high": float(spec["high"])}
    raise ValueError(f"lead time {spec['type']!r} has no mapping")


def scenario_data(case: dict[str, Any], tier: str = "quick",
                  order_up_to: int | None = None,
                  levels: tuple[int, int] | None = None) -> dict[str, Any]:
    """The case as plain scenario data (``order_up_to`` replaces a base-stock level S,
    ``levels`` the (s, S) of an (R, s, S) policy)."""
    inputs = case["inputs"]
    data: dict[str, Any] = {"name": case["id"], "run": run_settings(case, tier)}
    if case["model"] == "queue_MMc":
        # one station; stock is ample (S = 20 against a mean lead-time demand of 0.2)
        rate = float(inputs["arrival_rate"])
        data.update({
            "policy": {"type": "base_stock", "order_up_to": 20, "service_target": None},
            "skus": {SKU: {}},
            "segments": {SEGMENT: {
                "customers": 1,
                "order_interval_days": {"type": "exponential", "mean": 1.0 / rate},
                "reactions": {"backorder": 1.0, "switch": 0.0},
            }},
            "supplier": {"lead_time_days": 0.1},
            "order_processing": {
                "time_days": {"type": "exponential",
                              "mean": 1.0 / float(inputs["service_rate_per_server"])},
                "servers": int(inputs["servers"]),
            },
        })
        return data

    pol = inputs["policy"]
    if pol["type"] == "base_stock":
        level = order_up_to if order_up_to is not None else pol.get("S")
        policy = {"type": "base_stock", "order_up_to": int(level)}
    elif pol["type"] == "rQ":
        policy = {"type": "sQ", "reorder_point": int(pol["r"]), "order_quantity": int(pol["Q"])}
    elif pol["type"] == "RS":
        policy = {"type": "RS", "review_period_days": float(pol["R"]),
                  "order_up_to": int(pol["S"]),
                  "first_review_day": float(pol.get("first_review_time", 0.0))}
    elif pol["type"] == "RsS":
        s, big_s = levels if levels is not None else (pol["s"], pol["S"])
        policy = {"type": "RsS", "review_period_days": float(pol["R"]),
                  "reorder_point": int(s), "order_up_to": int(big_s),
                  "first_review_day": float(pol.get("first_review_time", 0.0))}
    else:
        raise ValueError(f"policy {pol['type']!r} has no mapping")
    policy["service_target"] = None

    costs = {key.replace("_per_day", "_per_time"): value  # the second file's time unit
             for key, value in inputs["costs"].items()}
    sku: dict[str, Any] = {
        "holding_cost_per_unit_per_year": costs["holding_per_unit_per_time"] * DAYS_PER_YEAR,
    }
    if "unit_margin_per_sale" in costs:
        sku.update(price=float(costs["unit_margin_per_sale"]), unit_cost=0.0)
    if inputs["stockout"] == "backorder":
        reactions = {"backorder": 1.0, "switch": 0.0}
    elif inputs["stockout"] == "lost_sales":
        reactions = {"switch": 1.0}
    else:
        raise ValueError(f"stockout {inputs['stockout']!r} has no mapping")
    stockout_costs = {}
    if "backorder_per_unit_per_time" in costs:
        stockout_costs["backorder_cost_per_unit_per_day"] = \
            float(costs["backorder_per_unit_per_time"])
    if "lost_sale_penalty" in costs:
        stockout_costs["lost_sale_penalty_per_unit"] = float(costs["lost_sale_penalty"])
    supplier: dict[str, Any] = {"lead_time_days": _lead_time(inputs["lead_time"])}
    if "fixed_cost_per_order" in costs:
        supplier["cost_per_order"] = float(costs["fixed_cost_per_order"])
    demand = inputs["demand"]
    assert demand["type"] == "poisson", demand
    data.update({
        "policy": policy,
        "skus": {SKU: sku},
        "segments": {SEGMENT: {
            "customers": 1,
            "order_interval_days": {"type": "exponential", "mean": 1.0 / float(demand["rate"])},
            "reactions": reactions,
        }},
        "supplier": supplier,
        "stockout_costs": stockout_costs,
    })
    return data


def case_scenario(case: dict[str, Any], tier: str = "quick",
                  order_up_to: int | None = None) -> Scenario:
    """The case as a validated :class:`Scenario` at a budget."""
    return Scenario.model_validate(scenario_data(case, tier, order_up_to))


def _set_dotted(data: dict[str, Any], override: str) -> None:
    key, _, value = override.partition("=")
    *parents, leaf = key.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = yaml.safe_load(value)


def load_file(path: Path, overrides: Sequence[str] = ()) -> Scenario:
    """A scenario file with overrides, through ``servicesim.errors`` when it exists."""
    try:
        from servicesim.inputs.scenario_file import load_scenario
    except ImportError:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for override in overrides:
            _set_dotted(data, override)
        return Scenario.model_validate(data)
    return load_scenario(path, overrides=list(overrides))


def model_part(scenario: Scenario) -> dict[str, Any]:
    """What a scenario says about the system (everything but name, description and run)."""
    return scenario.model_dump(mode="json", exclude={"name", "description", "run"})


def scenario_for(case: dict[str, Any], tier: str, order_up_to: int | None) -> Scenario:
    """The scenario a test runs: the shipped file when there is one, else the translation."""
    path = SCENARIO_FILES.get(case["id"])
    if path is not None and (order_up_to is None or order_up_to == optimum(case)):
        return load_file(path, run_overrides(case, tier))
    return case_scenario(case, tier, order_up_to)


# ----------------------------------------------------------------------------- running


def run_all(scenarios: Sequence[Scenario], workers: int = WORKERS) -> list[list[ReplicationResult]]:
    """Replications of each scenario (``run.replications`` from root ``run.seed``), run in
    ``workers`` processes; replication i of a scenario uses child i of its root seed, so
    the results equal :func:`servicesim.experiment.replications.run_replications`."""
    jobs = [(sc, seed) for sc in scenarios
            for seed in replication_seeds(sc.run.seed, sc.run.replications)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        flat = list(pool.map(simulate, [sc for sc, _ in jobs], [seed for _, seed in jobs]))
    out, i = [], 0
    for sc in scenarios:
        out.append(flat[i: i + sc.run.replications])
        i += sc.run.replications
    return out


class Runs:
    """Replications of every (case, S) at one budget, each run once and kept."""

    def __init__(self, tier: str) -> None:
        self.tier = tier
        self._results: dict[tuple[str, int | None], list[ReplicationResult]] = {}

    def results(self, case_id: str, order_up_to: int | None) -> list[ReplicationResult]:
        """Replications of the case at S (None: its own policy); a case's levels run
        together on first use, so a curve keeps every worker busy."""
        key = (case_id, order_up_to)
        if key not in self._results:
            case = CASES[case_id]
            levels = levels_to_run(case, self.tier)
            if order_up_to not in levels:
                levels = [order_up_to]
            runs = run_all([scenario_for(case, self.tier, s) for s in levels])
            for s, results in zip(levels, runs, strict=True):
                self._results[(case_id, s)] = results
        return self._results[key]

    def values(self, case_id: str, name: str) -> list[float]:
        """A case figure (e.g. ``fill_rate_S2``) in each replication."""
        metric, level = point(CASES[case_id], name)
        read = FIGURES[metric]
        return [read(r) for r in self.results(case_id, level)]


# ----------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Comparison:
    """A simulated mean against the expected value, with the case's tolerance."""

    case_id: str
    metric: str
    tier: str
    expected: float
    mean: float
    ci95: tuple[float, float]
    ci99: tuple[float, float]
    tolerance: float
    n: int

    @property
    def error(self) -> float:
        return abs(self.mean - self.expected)

    @property
    def passed(self) -> bool:
        return self.error <= self.tolerance

    @property
    def in_ci99(self) -> bool:
        return self.ci99[0] <= self.expected <= self.ci99[1]

    def message(self) -> str:
        return (f"{short_id(self.case_id)} {self.metric} ({self.tier} budget): expected "
                f"{self.expected:.6g}, simulated mean {self.mean:.6g} over {self.n} "
                f"replications, 95% CI [{self.ci95[0]:.6g}, {self.ci95[1]:.6g}], "
                f"99% CI [{self.ci99[0]:.6g}, {self.ci99[1]:.6g}], |error| {self.error:.3g} "
                f"vs tolerance {self.tolerance:.3g} (abs_{self.tier})")


def compare(runs: Runs, case_id: str, metric: str) -> Comparison:
    """Compare a simulated case figure with its expected value at the runs' budget."""
    return comparison(CASES[case_id], case_id, metric, runs.values(case_id, metric), runs.tier)


def comparison(case: dict[str, Any], case_id: str, metric: str, values: Sequence[float],
               tier: str) -> Comparison:
    """Simulated ``values`` of a case entry against its expected value and tolerance at
    budget ``tier``, with their 95 % and 99 % intervals."""
    ci95 = confidence_interval(values, 0.95)
    ci99 = confidence_interval(values, 0.99)
    return Comparison(
        case_id=case_id, metric=metric, tier=tier,
        expected=float(case["expected"][metric]), mean=ci95["mean"],
        ci95=(ci95["ci_low"], ci95["ci_high"]), ci99=(ci99["ci_low"], ci99["ci_high"]),
        tolerance=float(case["tolerance"][metric][f"abs_{tier}"]), n=ci95["n"],
    )


def simulated_optimum(runs: Runs, case_id: str) -> tuple[int, dict[int, float]]:
    """The S that optimises the simulated mean objective over the case's curve."""
    case = CASES[case_id]
    metric, pick = objective(case)
    means = {}
    for level in curve_levels(case, metric):
        values = runs.values(case_id, f"{metric}_S{level}")
        means[level] = sum(values) / len(values)
    return pick(means, key=means.__getitem__), means


def formula_value(case: dict[str, Any], name: str) -> float:
    """An analytic entry recomputed from the case inputs (scipy)."""
    inputs = case["inputs"]
    if name == "critical_fractile":
        h = inputs["costs"]["holding_per_unit_per_time"]
        b = inputs["costs"]["backorder_per_unit_per_time"]
        return b / (b + h)
    if name in ("cdf_at_S_opt", "cdf_at_S_opt_minus_1"):
        load = inputs["demand"]["rate"] * inputs["lead_time"]["value"]
        level = optimum(case) - (1 if name.endswith("minus_1") else 0)
        return float(stats.poisson(load).cdf(level))
    if name == "offered_load":
        lead = inputs["lead_time"]
        if lead["type"] == "constant":
            mean_lead = float(lead["value"])
        else:
            mean_lead = float(stats.uniform(lead["low"], lead["high"] - lead["low"]).mean())
        return inputs["demand"]["rate"] * mean_lead
    raise KeyError(f"no formula for {name!r}")


def servicesim_value(case: dict[str, Any], name: str) -> float | None:
    """The same analytic entry from servicesim's own helpers, where it has one."""
    if name == "offered_load":  # λ·E[L] as servicesim derives it from the scenario
        return derive_policy(case_scenario(case), SKU).lead_time_demand_mean
    if name in ("cdf_at_S_opt", "cdf_at_S_opt_minus_1"):
        # α of a base-stock level S is P(D_L <= S - 1): ask for it at S* + 1 and at S*
        level = optimum(case) + (0 if name.endswith("minus_1") else 1)
        data = scenario_data(case, order_up_to=level)
        data["policy"]["service_metric"] = "cycle_service_level"
        policy = derive_policy(Scenario.model_validate(data), SKU)
        assert policy.predicted_service is not None
        return policy.predicted_service
    return None


def erlang_fill_rates(case: dict[str, Any]) -> list[tuple[str, int, float]]:
    """(entry, S, 1 − B(S, λ·E[L])) for every fill rate of a lost-sales base-stock case."""
    load = formula_value(case, "offered_load")
    out = []
    for name in case["expected"]:
        metric, level = point(case, name)
        if metric == "fill_rate" and level is not None:
            out.append((name, level, 1.0 - erlang_b(level, load)))
    return out


def is_close(a: float, b: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


# ------------------------------------------- the second file: periodic review (R, s, S)

PERIODIC_CASES_PATH = CASES_PATH.parent / "network_periodic_assortment_cases.json"
SHARED_PERIODIC_CASES_PATH = SHARED_CASES_PATH.parent / "network_periodic_assortment_cases.json"

SECOND_CASES: dict[str, dict[str, Any]] = {
    case["id"]: case for case in json.loads(PERIODIC_CASES_PATH.read_text(encoding="utf-8"))
}
"""Every case of the second file: networks, periodic review (R, s, S) and assortments."""

PERIODIC_CASES = {c: case for c, case in SECOND_CASES.items()
                  if case["model"] == "periodic_review_RsS"}
ASSORTMENT_CASES = {c: case for c, case in SECOND_CASES.items()
                    if c not in PERIODIC_CASES and not case["model"].startswith("multi_echelon")}
"""The assortment cases of the second file: a per-SKU search judged by its totals, checked
in ``test_frontier_cases.py`` (the networks: below)."""

UNMEASURED = {
    "avg_order_size": "the model does not report units per purchase order (a new figure "
                      "would change every recorded run's details)",
    "avg_inventory_position_after_review": "the model does not record the inventory "
                                           "position at reviews; it equals the average net "
                                           "inventory + λ·(L + R/2), which is checked",
}
"""Figures of the (R, s, S) cases the model does not measure, with the reason."""

NOT_SIMULATED = {
    "optimal_s": "a decision variable on a flat cost surface: the case judges a search by "
                 "the listed costs of the neighbouring (s, S), which are checked",
    "optimal_S": "as optimal_s",
}

_LEVELS_POINT = re.compile(r"(?P<metric>.+)_s(?P<s>-?\d+)_S(?P<S>\d+)")


def periodic_point(name: str) -> tuple[str, tuple[int, int] | None]:
    """``total_cost_rate_s6_S22`` -> (``total_cost_rate``, (6, 22)); else (name, None)."""
    match = _LEVELS_POINT.fullmatch(name)
    if match:
        return match["metric"], (int(match["s"]), int(match["S"]))
    return name, None


def periodic_metrics(case: dict[str, Any]) -> list[str]:
    """The entries of an (R, s, S) case compared with a simulated mean."""
    return [n for n in case["expected"] if kind(case, n) == "simulation"
            and periodic_point(n)[0] not in UNMEASURED]


def periodic_reader(case: dict[str, Any], metric: str) -> Callable[[ReplicationResult], float]:
    """How to read an (R, s, S) figure: orders per review = orders per day × R (one review
    every R days, at most one order each); the cycle length in reviews is its inverse."""
    review = float(case["inputs"]["policy"]["R"])
    if metric == "order_prob_per_review":
        return lambda r: r.details["purchase_orders_per_day"] * review
    if metric == "expected_cycle_length_reviews":
        return lambda r: 1.0 / (r.details["purchase_orders_per_day"] * review)
    return FIGURES[metric]


class PeriodicRuns:
    """Replications of every (R, s, S) case at each (s, S) it names, at one budget."""

    def __init__(self, tier: str) -> None:
        self.tier = tier
        self._results: dict[tuple[str, tuple[int, int] | None], list[ReplicationResult]] = {}

    def results(self, case_id: str, levels: tuple[int, int] | None) -> list[ReplicationResult]:
        key = (case_id, levels)
        if key not in self._results:
            case = PERIODIC_CASES[case_id]
            points = sorted({periodic_point(n)[1] for n in periodic_metrics(case)},
                            key=lambda p: (-1, -1) if p is None else p)
            scenarios = [Scenario.model_validate(scenario_data(case, self.tier, levels=p))
                         for p in points]
            for p, results in zip(points, run_all(scenarios), strict=True):
                self._results[(case_id, p)] = results
        return self._results[key]

    def compare(self, case_id: str, name: str) -> Comparison:
        """A case entry against the simulated mean at this budget."""
        case = PERIODIC_CASES[case_id]
        metric, levels = periodic_point(name)
        read = periodic_reader(case, metric)
        values = [read(r) for r in self.results(case_id, levels)]
        return comparison(case, case_id, name, values, self.tier)


# ------------------------------------------------ the second file: networks (DOMAIN §7)

NETWORK_MODELS = ("multi_echelon_serial_base_stock", "multi_echelon_one_warehouse_base_stock")
NETWORK_CASES = {c: case for c, case in SECOND_CASES.items() if case["model"] in NETWORK_MODELS}
"""Base-stock networks with exact answers: serial, and one warehouse with N retailers."""

PLACEMENT_MODELS = ("multi_echelon_serial_cost_optimisation",)
PLACEMENT_CASES = {c: case for c, case in SECOND_CASES.items()
                   if case["model"] in PLACEMENT_MODELS}
"""Cost-optimal placement of base stock over a serial network: a search over (S_DC, S_R)."""

_NETWORK_FIGURES: dict[str, Callable[[dict[str, float]], float]] = {
    "avg_on_hand": lambda row: row["avg_on_hand_units"],
    # at the DC, stock-point order units waiting there; at a stock point, its customers'
    "avg_backorders": lambda row: row["avg_backorder_units"]
    + row["avg_internal_backorder_units"],
    "ready_rate": lambda row: row["ready_rate"],
    "prob_no_backorder": lambda row: row["prob_no_backorder"],
    "avg_units_on_order": lambda row: row["avg_on_order_units"],
    "avg_order_wait": lambda row: row["internal_order_wait_days"],
    "avg_customer_wait": lambda row: row["avg_customer_wait_days"],
    "avg_replenishment_lead_time": lambda row: row["replenishment_lead_time_days"],
    "avg_in_transit": lambda row: row["avg_in_transit_units"],
    "avg_dc_backorders_for_this_retailer": lambda row: row["avg_waiting_upstream_units"],
}
"""A case's per-location figure -> how to read it from that location's ``by_location`` row."""

_SYSTEM_FIGURES: dict[str, Callable[[ReplicationResult], float]] = {
    "fill_rate": _kpi("item_fill_rate"),
    "avg_on_hand_total": _kpi("avg_on_hand_units"),
}


def network_scenario_data(case: dict[str, Any], tier: str = "quick") -> dict[str, Any]:
    """A base-stock network case as scenario data: the DC is replenished from the supplier,
    each stock point from the DC through a lane with its transit time; each stock point
    serves one Poisson segment of unit orders that backorders (one-for-one ordering)."""
    inputs = case["inputs"]
    dc = inputs["DC"]
    assert dc["policy"]["type"] == "base_stock", dc
    locations: dict[str, Any] = {
        dc["id"]: {"policy": {"order_up_to": int(dc["policy"]["S"])}}}
    segments: dict[str, Any] = {}
    for point in inputs["stock_points"]:
        assert point["policy"]["type"] == "base_stock" and point["stockout"] == "backorder"
        assert point["demand"]["type"] == "poisson", point
        locations[point["id"]] = {
            "replenished_from": dc["id"],
            "lane": {"transit_days": _lead_time(point["transit_time_from_DC"])},
            "policy": {"order_up_to": int(point["policy"]["S"])},
        }
        segments[f"{SEGMENT}_{point['id']}"] = {
            "customers": 1,
            "order_interval_days": {"type": "exponential",
                                    "mean": 1.0 / float(point["demand"]["rate"])},
            "reactions": {"backorder": 1.0, "switch": 0.0},
            "location": point["id"],
        }
    return {
        "name": case["id"], "run": run_settings(case, tier),
        "policy": {"type": "base_stock", "order_up_to": 0, "service_target": None},
        "skus": {SKU: {}},
        "segments": segments,
        "supplier": {"lead_time_days": _lead_time(dc["supplier_lead_time"])},
        "locations": locations,
    }


def network_reader(name: str) -> Callable[[ReplicationResult], float]:
    """How to read ``DC.fill_rate``, ``R1.avg_in_transit``, ``system.fill_rate``, ...: the
    DC's fill rate is that of the stock points' orders (shipped at once from DC stock)."""
    location, _, metric = name.partition(".")
    if location == "system":
        return _SYSTEM_FIGURES[metric]
    if metric == "fill_rate":
        return lambda r: (r.by_location[location]["internal_fill_rate"]
                          if r.by_location[location]["internal_units_ordered"]
                          else r.by_location[location]["fill_rate"])
    read = _NETWORK_FIGURES[metric]
    return lambda r: read(r.by_location[location])


class NetworkRuns:
    """Replications of every network case at one budget, each run once and kept."""

    def __init__(self, tier: str) -> None:
        self.tier = tier
        self._results: dict[str, list[ReplicationResult]] = {}

    def results(self, case_id: str) -> list[ReplicationResult]:
        if case_id not in self._results:
            case = NETWORK_CASES[case_id]
            scenario = Scenario.model_validate(network_scenario_data(case, self.tier))
            self._results[case_id] = run_all([scenario])[0]
        return self._results[case_id]

    def compare(self, case_id: str, name: str) -> Comparison:
        """A case entry against the simulated mean at this budget."""
        case = NETWORK_CASES[case_id]
        values = [network_reader(name)(r) for r in self.results(case_id)]
        return comparison(case, case_id, name, values, self.tier)


# ------------------------------------------- cost-optimal placement over a serial network

_PLACEMENT_POINT = re.compile(r"total_cost_rate_Sdc(?P<dc>\d+)_Sr(?P<r>\d+)")
Placement = tuple[int, int]
"""(S_DC, S_R1): the base-stock levels of the DC and of the stock point."""


def placement_optimum(case: dict[str, Any]) -> Placement:
    return int(case["expected"]["optimal_S_DC"]), int(case["expected"]["optimal_S_R1"])


def placement_points(case: dict[str, Any]) -> dict[str, Placement]:
    """Every listed cost and where it is: ``optimal_total_cost_rate`` at the optimum, and
    ``total_cost_rate_Sdc<a>_Sr<b>`` at (a, b): the optimum's neighbours and the best
    placement with no stock at the DC."""
    points = {"optimal_total_cost_rate": placement_optimum(case)}
    for name in case["expected"]:
        match = _PLACEMENT_POINT.fullmatch(name)
        if match:
            points[name] = (int(match["dc"]), int(match["r"]))
    return points


def placement_scenario(case: dict[str, Any], levels: Placement, tier: str) -> Scenario:
    """The serial case as a scenario with explicit base-stock levels (``order_up_to`` of the
    DC and of the stock point, i.e. ``locations.DC.policy.order_up_to`` and the R1 one); the
    same root seed at every level, so every placement meets the same customers (common
    random numbers: streams are keyed by name)."""
    posed = json.loads(json.dumps(case))
    (point,) = posed["inputs"]["stock_points"]
    posed["inputs"]["DC"]["policy"]["S"], point["policy"]["S"] = levels
    return Scenario.model_validate(network_scenario_data(posed, tier))


def placement_cost(case: dict[str, Any], result: ReplicationResult) -> dict[str, float]:
    """The case's cost rates in one replication from ``result.by_location``: holding
    h_DC·E[OH_DC] + h_R1·E[OH_R1], backorders p·E[BO_R1] (the stock point's customer
    backorders), and their sum; stock in transit is not charged."""
    costs = case["inputs"]["costs"]
    (point,) = case["inputs"]["stock_points"]
    dc, r1 = result.by_location[case["inputs"]["DC"]["id"]], result.by_location[point["id"]]
    holding = (costs["holding_DC_per_unit_per_day"] * dc["avg_on_hand_units"]
               + costs[f"holding_{point['id']}_per_unit_per_day"] * r1["avg_on_hand_units"])
    backorders = costs[f"backorder_{point['id']}_per_unit_per_day"] * r1["avg_backorder_units"]
    return {"holding": holding, "backorder": backorders, "total": holding + backorders}


def placement_formula(case: dict[str, Any], name: str) -> float:
    """The case's formula figures from its inputs: the equivalent echelon base-stock levels
    (y1 = S_R1, y2 = S_DC + S_R1) and the cost rate of in-transit stock charged at h_DC."""
    s_dc, s_r = placement_optimum(case)
    (point,) = case["inputs"]["stock_points"]
    transit = point["transit_time_from_DC"]
    assert transit["type"] == "constant", transit
    return {
        "echelon_base_stock_R1": float(s_r),
        "echelon_base_stock_DC": float(s_dc + s_r),
        "in_transit_holding_cost_rate": case["inputs"]["costs"]["holding_DC_per_unit_per_day"]
        * float(point["demand"]["rate"]) * float(transit["value"]),
    }[name]


def placement_at_optimum(name: str) -> bool:
    """Whether a figure of the case is read at the optimum (``DC.fill_rate_at_opt``)."""
    return name.endswith("_at_opt")


class PlacementRuns:
    """Replications of a placement case at listed levels and one budget, each run once;
    every level from the same root seed (common random numbers)."""

    def __init__(self, tier: str) -> None:
        self.tier = tier
        self._results: dict[tuple[str, Placement], list[ReplicationResult]] = {}

    def run(self, case_id: str, levels: Sequence[Placement]) -> None:
        """Run the levels not run yet together (every worker busy)."""
        case = PLACEMENT_CASES[case_id]
        todo = [lv for lv in dict.fromkeys(levels) if (case_id, lv) not in self._results]
        if todo:
            runs = run_all([placement_scenario(case, lv, self.tier) for lv in todo])
            self._results.update({(case_id, lv): r for lv, r in zip(todo, runs, strict=True)})

    def results(self, case_id: str, levels: Placement) -> list[ReplicationResult]:
        self.run(case_id, [levels])
        return self._results[(case_id, levels)]

    def costs(self, case_id: str, levels: Placement, part: str = "total") -> list[float]:
        """The case's cost rate (``total``, ``holding`` or ``backorder``) per replication."""
        case = PLACEMENT_CASES[case_id]
        return [placement_cost(case, r)[part] for r in self.results(case_id, levels)]

    def values(self, case_id: str, name: str) -> list[float]:
        """A listed figure per replication: a cost at its levels, or a per-location figure
        (``R1.avg_on_hand_at_opt``) or system cost rate at the optimum."""
        case = PLACEMENT_CASES[case_id]
        points = placement_points(case)
        if name in points:
            return self.costs(case_id, points[name])
        optimum = placement_optimum(case)
        figure = name.removesuffix("_at_opt")
        if figure.startswith("system."):
            part = figure.removeprefix("system.").removesuffix("_cost_rate")
            return self.costs(case_id, optimum, part)
        read = network_reader(figure)
        return [read(r) for r in self.results(case_id, optimum)]

    def compare(self, case_id: str, name: str) -> Comparison:
        case = PLACEMENT_CASES[case_id]
        values = self.values(case_id, name)
        return comparison(case, case_id, name, values, self.tier)

    def paired_against_optimum(self, case_id: str) -> dict[Placement, dict[str, float]]:
        """For every listed placement other than the optimum: the paired one-sided t-test
        that its simulated cost exceeds the optimum's (replication r of each shares its
        seed), as :func:`paired_comparison` returns it."""
        case = PLACEMENT_CASES[case_id]
        optimum = placement_optimum(case)
        best = self.costs(case_id, optimum)
        return {levels: paired_comparison(self.costs(case_id, levels), best)
                for levels in placement_points(case).values() if levels != optimum}
