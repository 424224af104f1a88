"""A service target per SKU: the inventory efficient frontier and the targets that maximise
the objective (DOMAIN §12).

The method, in four steps:

1. **Curves under common random numbers.**  For each candidate target (say 20 from 80 % to
   99 %), one whole-scenario simulation (× the replications) sets every item to that
   target at once; every item's figures at that target are read from the run's per-SKU
   breakdown.  So 20 × R simulations measure every SKU's curve, where a per-SKU grid needs
   20 × R per SKU.  These are also the "one target for all" alternatives.
2. **Marginal analysis on the curves' concave envelopes** (:mod:`.allocation`).  The
   fill-rate frontier: units filled at once against average inventory value.  The
   objective: each item's gross margin less holding cost, plus a share of what is not
   per SKU (backorder and recovery costs, processing, customers lost and acquired, fixed
   cost, receivables).  That remainder is fitted, over the common-target runs, as a line in
   the demand-weighted fill rate, and each item gets its slope × its share of demand as a
   value per unit filled: the coupling through customers, to first order.  The targets
   that maximise the objective are the frontier's point of best predicted objective.
3. **Confirmation** on fresh seeds (common random numbers among the alternatives): today's
   policies, the best common target and the recommended targets, each simulated as a whole
   scenario, with CIs and paired differences.
4. **A local search along the frontier** that sees the coupling: its points at 5 % and
   10 % less and more inventory are confirmed too, and the search moves on while the best
   sits at an end (at most :data:`MAX_ROUNDS` rounds).  The best confirmed allocation on
   the frontier is the recommendation; if today or a common target is significantly
   better, the decision says so.

Items are SKUs (``by="sku"``), ABC classes (``by="class"``: one target per class), or in a
network the stock points of the locations that serve customers (upstream locations keep
their policies: their targets change the branches' lead times, so they are not separable;
search them with ``optimize`` and per-echelon keys).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np

from .._version import VERSION
from ..errors import NOT_SET, Problem, ScenarioError
from ..files import OutputError, csv_text, safe_folder_name
from ..scenario.schema import PolicyOverride, Scenario
from ..scenario.serialise import dump_scenario
from .allocation import Path as FrontierPath
from .allocation import frontier_path, marginal_analysis, where_today_sits
from .engine import Task, execute
from .executors import ignoring_interrupts, make_executor, signal_number
from .frontier_runs import (
    ALLOCATIONS_FILE,
    ITEM_FIGURES,
    Measured,
    RunFiles,
    read_measured,
    run_items_task,
)
from .statistics import figure_interval, paired_comparison
from .store import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    RUNNING,
    SCENARIO_FILE,
    ResultsFolder,
    check_run_id,
    content_id,
    figure_columns,
)
from .sweep import progress_bar
from .today import difference_text, figure_text, money, not_worse_ids

OBJECTIVES = ("roi", "operating_profit", "economic_profit")
DEFAULT_TARGETS = (0.70, 0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.975, 0.98,
                   0.985, 0.99, 0.9925, 0.995, 0.9965, 0.998, 0.999, 0.9995)
"""The 20 targets a SKU can get by default: denser near 100 %, where a point of service
costs the most stock and the optimum of a valuable SKU often lies."""
STEPS = (0.05, 0.10)
"""The local search's steps along the frontier: these fractions of the recommended
allocation's inventory, less and more."""
MAX_ROUNDS = 3
FRONTIER_FILE, TARGETS_FILE, SUMMARY_FILE = "frontier.csv", "targets.csv", "frontier.json"
MANIFEST = "manifest.json"
MAX_FRONTIER_ROWS = 200
ALPHA = 0.05
FILL = "item_fill_rate"
INVESTMENT = "avg_inventory_value"
_F = {name: k for k, name in enumerate(ITEM_FIGURES)}


class FrontierError(OutputError):
    """A frontier folder that cannot be used (it holds another run, say)."""


class FrontierInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a frontier run; the finished runs are kept."""

    def __init__(self, directory: Path, done: int, signum: int) -> None:
        super().__init__(f"interrupted; {done} runs kept in {directory}")
        self.directory, self.done, self.signum = directory, done, signum


# ----------------------------------------------------------------------------- input


def _bad(option: str, value: Any, message: str) -> ScenarioError:
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
                raise _bad(option, text, "a range is LOW:HIGH:STEP, e.g. 0.80:0.99:0.01")
            low, high, step = parts
            if step <= 0 or high < low:
                raise _bad(option, text, "needs STEP > 0 and HIGH ≥ LOW, e.g. 0.80:0.99:0.01")
            count = int((high - low) / step) + 1
            if count > 100:
                raise _bad(option, text, f"gives {count} targets; at most 100 are allowed")
            values = [float(low + k * step) for k in range(count)]
        else:
            values = [float(Decimal(p.strip())) for p in text.split(",")]
    except InvalidOperation:
        raise _bad(option, text, "targets must be numbers, e.g. 0.80:0.99:0.01 or "
                                 "0.9,0.95,0.98,0.99") from None
    return check_targets(values, option)


def check_targets(values: Sequence[float], option: str = "targets") -> tuple[float, ...]:
    """The targets sorted, once each; an error unless 2–100 lie strictly between 0 and 1."""
    bad = [v for v in values if not (isinstance(v, float | int) and 0 < v < 1)]
    if bad:
        raise _bad(option, ",".join(map(str, values)),
                   f"{bad[0]} is not a service target: each must lie strictly between 0 "
                   "and 1 (0.95 for 95 %)")
    out = tuple(sorted({float(v) for v in values}))
    if not 2 <= len(out) <= 100:
        raise _bad(option, ",".join(map(str, values)),
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
        raise _bad("--by", by, "allowed: sku, class")
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
        raise _bad("--by", by, f"{len(missing)} SKUs have no ABC class (first: {missing[0]}); "
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


# --------------------------------------------------------------------------- curves


@dataclass(frozen=True)
class Curves:
    """Every item's figures at each step of the search, per replication: ``data[item]``
    has shape (figures, steps, replications), figures :data:`ITEM_FIGURES`; ``totals``
    holds each step's whole-scenario figures per replication."""

    items: tuple[str, ...]
    values: dict[str, tuple[float, ...]]
    """Item → its value (target or level) at each step."""
    data: dict[str, np.ndarray]
    totals: dict[str, np.ndarray]
    margin_short: dict[str, np.ndarray]
    """Item → the gross margin of its units short (units short × unit margin, summed over
    its stock points): array (steps, replications)."""

    def per_replication(self, figure: str) -> dict[str, np.ndarray]:
        """One figure per item: array (steps, replications); ``units_short`` is units
        ordered − units filled at once, ``margin_short`` their gross margin."""
        if figure == "units_short":
            return {i: self.data[i][_F["units_ordered"]] - self.data[i][_F["units_first"]]
                    for i in self.items}
        if figure == "margin_short":
            return self.margin_short
        return {i: self.data[i][_F[figure]] for i in self.items}

    def mean(self, figure: str) -> dict[str, np.ndarray]:
        """One figure per item over the steps, mean over replications."""
        return {i: v.mean(axis=-1) for i, v in self.per_replication(figure).items()}

    def total(self, figure: str) -> np.ndarray:
        """One figure summed over items at each step (all items at that step)."""
        return sum(self.mean(figure).values())  # type: ignore[return-value]


def curves_from(measured: Measured, items: Sequence[Item], steps: int, replications: int,
                values: Mapping[str, Sequence[float]], figures: Sequence[str],
                margins: Mapping[str, float]) -> Curves:
    """The curves of the search's first ``steps`` alternatives; ``margins``: each stock
    point's gross margin per unit (price − unit cost)."""
    index = {p: k for k, p in enumerate(measured.points)}
    stacked = [measured.stack(j, replications) for j in range(steps)]  # (points, figs, reps)
    data, margin_short = {}, {}
    for item in items:
        rows = [index[p] for p in item.points]
        unit = np.array([margins[p] for p in item.points])[:, None]
        data[item.name] = np.stack([s[rows].sum(axis=0) for s in stacked], axis=1)
        margin_short[item.name] = np.stack([
            (unit * (s[rows, _F["units_ordered"]] - s[rows, _F["units_first"]])).sum(axis=0)
            for s in stacked])
    totals = {name: np.array([measured.figure(j, replications, name) for j in range(steps)])
              for name in figures}
    return Curves(tuple(i.name for i in items), {k: tuple(v) for k, v in values.items()},
                  data, totals, margin_short)


def unit_margins(scenario: Scenario, points: Sequence[str]) -> dict[str, float]:
    """Every stock point's gross margin per unit: its SKU's price − unit cost."""
    skus = scenario.skus
    return {p: skus[p.rpartition("/")[2]].price - skus[p.rpartition("/")[2]].unit_cost
            for p in points}


# -------------------------------------------------------------------------- prediction


@dataclass(frozen=True)
class Prediction:
    """The objective of an allocation predicted from per-item figures (DOMAIN §4, §12).

    Operating profit before holding cost, and capital employed beyond inventory, are each
    fitted over the common-target runs as a curve (a quadratic) in the *margin short*: the
    gross margin of the units demanded but not filled at once from stock, summed over
    items.  A unit short of a dear SKU weighs more than one of a cheap SKU, as a lost sale
    does; the fit measures on the whole scenario what shortage costs beyond that (recovery
    and backorder costs, customers who defect and stop buying every SKU), so it carries the
    coupling between SKUs to first order.  Marginal analysis needs separable values: it
    gets the curve's tangent at the allocation chosen so far, and the choice is repeated at
    the new tangent until it stays (:func:`_choose`).  The prediction only proposes: the
    search along the frontier and the confirmation runs judge allocations whole.
    """

    profit_fit: tuple[float, ...]
    """Polynomial (highest power first) of operating profit before holding cost in the
    margin short."""
    capital_fit: tuple[float, ...]
    """Polynomial of capital employed beyond inventory in the margin short."""
    years: float
    cost_of_capital: float

    @classmethod
    def fit(cls, curves: Curves, years: float, cost_of_capital: float) -> Prediction:
        holding, inventory, short = (curves.total(k) for k in (
            "holding_cost", INVESTMENT, "margin_short"))
        profit = curves.totals["operating_profit"].mean(axis=-1)
        capital = curves.totals["capital_employed"].mean(axis=-1)
        return cls(_poly(short, profit + holding), _poly(short, capital - inventory),
                   years, cost_of_capital)

    def values(self, curves: Curves, short: float
               ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per item and step, linearised at ``short`` margin short in all: its part of
        operating profit (−holding + the profit curve's slope × its margin short) and of
        capital employed (inventory + the capital curve's slope × its margin short)."""
        a = float(np.polyval(np.polyder(self.profit_fit), short))
        b = float(np.polyval(np.polyder(self.capital_fit), short))
        holding, inventory, shorts = (curves.mean(k) for k in (
            "holding_cost", INVESTMENT, "margin_short"))
        return ({i: a * shorts[i] - holding[i] for i in curves.items},
                {i: inventory[i] + b * shorts[i] for i in curves.items})

    def objective(self, name: str, holding: np.ndarray, inventory: np.ndarray,
                  short: np.ndarray) -> np.ndarray:
        """The objective at total holding cost, inventory value and margin short."""
        profit = np.polyval(self.profit_fit, short) - holding
        employed = inventory + np.polyval(self.capital_fit, short)
        if name == "roi":
            return profit / self.years / employed
        if name == "economic_profit":
            return profit - self.cost_of_capital * employed * self.years
        return profit

    def along(self, name: str, curves: Curves, path: FrontierPath) -> np.ndarray:
        """The objective predicted at every point of ``path``."""
        return self.objective(name, *(path.totals(curves.mean(k)) for k in (
            "holding_cost", INVESTMENT, "margin_short")))


def _poly(x: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
    """Least-squares quadratic (a line with three points or fewer; a constant when x does
    not vary), highest power first."""
    if np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        return (float(np.mean(y)),)
    degree = 2 if len(x) > 3 else 1
    return tuple(float(c) for c in np.polyfit(x, y, degree))


# ------------------------------------------------------------------------------ plan


@dataclass(frozen=True)
class Settings:
    """What decides a frontier run's rows (its identity) and how it runs."""

    objective: str
    budget: float | None
    maximise: str
    by: str
    targets: tuple[float, ...]
    replications: int
    confirm_replications: int
    seed: int

    def identity(self, scenario: Scenario) -> dict[str, Any]:
        return {"kind": "frontier", "scenario": json.loads(scenario.model_dump_json()),
                "objective": self.objective, "budget": self.budget,
                "maximise": self.maximise, "by": self.by, "targets": list(self.targets),
                "replications": self.replications,
                "confirm_replications": self.confirm_replications, "seed": self.seed}


def named_seed(seed: int, name: str) -> int:
    """The root seed of one phase of the search, named from the run's seed (``refine``,
    ``confirm``): fresh random numbers for each phase, so that the luck of the runs that
    chose an allocation does not flatter it where it is judged."""
    digest = hashlib.sha256(f"{seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _settings(scenario: Scenario, objective: str, budget: float | None, maximise: str | None,
              by: str, targets: Sequence[float] | None, replications: int | None,
              confirm_replications: int | None, seed: int | None) -> Settings:
    if objective not in OBJECTIVES:
        raise _bad("--objective", objective, f"allowed: {', '.join(OBJECTIVES)}")
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        raise _bad("--budget", budget, "the budget is an average inventory value at cost, a "
                                       "positive amount of money")
    if maximise is None:
        maximise = FILL if budget is not None else objective
    if maximise not in (FILL, objective):
        raise _bad("--maximise", maximise, f"allowed: {FILL}, {objective}")
    reps = scenario.run.replications if replications is None else replications
    confirm = max(2 * reps, 10) if confirm_replications is None else confirm_replications
    for option, n in (("--replications", reps), ("--confirm-replications", confirm)):
        if not 2 <= n <= 1000:
            raise _bad(option, n, "needs 2 to 1000 replications (confidence intervals need two)")
    return Settings(objective, budget, maximise, by,
                    check_targets(DEFAULT_TARGETS if targets is None else targets),
                    reps, confirm, scenario.run.seed if seed is None else seed)


def estimated_simulations(scenario: Scenario, targets: Sequence[float] | None,
                          confirm_replications: int | None) -> int:
    """About how many simulations a frontier run takes: the common-target runs (× the
    replications), the search along the frontier and the confirmation (× the
    confirmation's replications)."""
    reps = scenario.run.replications
    confirm = max(2 * reps, 10) if confirm_replications is None else confirm_replications
    steps = len(DEFAULT_TARGETS if targets is None else targets)
    return steps * reps + (REFINE_POINTS + 1 + 2 * REFINE_ROUNDS + 3) * confirm


# --------------------------------------------------------------------------- running


class _Runner:
    """Runs the alternatives of a frontier search and keeps their rows (in a folder, or in
    memory without one)."""

    def __init__(self, scenario: Scenario, items: Sequence[Item], settings: Settings,
                 directory: Path | None, measured: Measured, executor: Executor | None,
                 workers: int | None, progress: bool) -> None:
        self.scenario, self.items, self.settings = scenario, list(items), settings
        self.directory, self.measured = directory, measured
        self.executor, self.workers, self.progress = executor, workers, progress
        self.allocations: dict[int, dict[str, Any]] = {}
        self.files = RunFiles(directory, figure_columns(scenario), measured) \
            if directory is not None else None
        self.simulations = 0

    def alternative(self, label: str, phase: str, values: Mapping[str, float] | None) -> int:
        """The number of the alternative with this label and phase (a new one if none)."""
        for number, known in self.allocations.items():
            if known["label"] == label and known["phase"] == phase:
                return number
        number = len(self.allocations)
        self.allocations[number] = {"label": label, "phase": phase,
                                    "values": None if values is None else dict(values)}
        return number

    def run(self, numbers: Sequence[int], replications: int, root: int,
            field_name: str = "service_target") -> None:
        """Simulate what is missing of these alternatives' first ``replications``."""
        from .seeds import replication_seeds

        seeds = replication_seeds(root, replications)
        tasks = []
        for number in numbers:
            known = self.allocations[number]
            self._check_earlier(number, known["label"])
            scenario = self.scenario if known["values"] is None else allocation_scenario(
                self.scenario, self.items, known["values"], field_name)
            tasks += [Task(number, (("allocation", known["label"]), ("phase", known["phase"])),
                           r, root, seeds[r], scenario)
                      for r in range(replications) if not self.measured.has(number, r)]
        if self.directory is not None:
            ResultsFolder(self.directory).write_text(
                ALLOCATIONS_FILE, json.dumps({str(k): v for k, v in self.allocations.items()},
                                             indent=1) + "\n")
        if not tasks:
            return
        with progress_bar(self.progress, len(tasks), 0, desc="frontier") as advance:
            def on_row(row: dict[str, Any]) -> None:
                if self.files is not None:
                    self.files.add(row)
                else:
                    items = row.pop("_items")
                    self.measured.add(row, items)
                self.simulations += 1
                advance()

            local = min(self.workers or 1, len(tasks))
            if self.executor is not None or local == 1:
                execute(tasks, self.executor, workers=1, on_row=on_row, run=run_items_task)
            else:
                with make_executor(workers=local) as (pool, _):
                    execute(tasks, pool, workers=1, on_row=on_row, run=run_items_task)
        if self.files is not None:
            self.files.write()


    def _check_earlier(self, number: int, label: str) -> None:
        """Rows kept from an earlier session must be of the same allocation: the search
        numbers its alternatives in the same order every time, from the same rows."""
        for (alternative, _), row in self.measured.runs.items():
            if alternative == number and row.get("allocation") != label:
                raise FrontierError(
                    f"cannot resume {self.directory}: its alternative {number} is "
                    f"{row.get('allocation')!r} where this run has {label!r}; choose another "
                    "--id")


def measure_curves(scenario: Scenario, values: Mapping[str, Sequence[float]], *,
                   by: str = "sku", field_name: str = "service_target",
                   replications: int, seed: int, executor: Executor | None = None,
                   workers: int | None = 1) -> tuple[Curves, int]:
    """Step 1 alone, in memory: every item's curve over its ``values`` (one list per item,
    all of the same length; step *j* sets every item's ``field_name`` to its *j*-th value),
    and the number of simulations it took.  The validation cases use it with base-stock
    levels (``field_name="order_up_to"``)."""
    items = [i for i in items_of_any(scenario, by, field_name) if i.name in values]
    lengths = {len(v) for v in values.values()}
    if len(lengths) != 1:
        raise ValueError("every item needs the same number of candidate values")
    (steps,) = lengths
    points = tuple(p for i in items for p in i.points)
    runner = _Runner(scenario, items, Settings("operating_profit", None, "operating_profit",
                                               by, (), replications, replications, seed),
                     None, Measured(points), executor, workers, False)
    numbers = [runner.alternative(f"step {j}", "search",
                                  {i.name: values[i.name][j] for i in items})
               for j in range(steps)]
    runner.run(numbers, replications, seed, field_name)
    curves = curves_from(runner.measured, items, steps, replications, values,
                         (FILL, "operating_profit", "capital_employed"),
                         unit_margins(scenario, points))
    return curves, runner.simulations


def items_of_any(scenario: Scenario, by: str, field_name: str) -> list[Item]:
    """:func:`items_of`, or for levels (not targets) every SKU without the target check."""
    if field_name == "service_target":
        return items_of(scenario, by)
    return [Item(s, (s,), (s,), None, scenario.skus[s].abc_class, scenario.skus[s].unit_cost,
                 None) for s in scenario.skus]


# ---------------------------------------------------------------------------- search


@dataclass
class _Candidate:
    label: str
    kind: str
    number: int
    values: dict[str, float] | None
    point: int | None = None


@dataclass(frozen=True)
class FrontierResult:
    """A finished frontier run: the recommended targets, the frontier, the confirmed
    alternatives and where the files are (DOMAIN §12)."""

    directory: Path | None
    summary: dict[str, Any]
    """What ``frontier.json`` holds (see the docs' results page)."""
    targets: list[dict[str, Any]]
    """One row per item, as ``targets.csv``."""
    frontier: list[dict[str, Any]]
    """One row per frontier point, as ``frontier.csv``."""
    recommended: dict[str, float]
    """Item → its recommended target."""
    simulations: int

    @property
    def decision(self) -> str:
        return str(self.summary["decision"])


def frontier(scenario: Scenario, *, objective: str = "roi", budget: float | None = None,
             maximise: str | None = None, by: str = "sku",
             targets: Sequence[float] | str | None = None, replications: int | None = None,
             confirm_replications: int | None = None, seed: int | None = None,
             executor: Executor | None = None, workers: int | None = None,
             out_dir: str | Path | None = "results", run_id: str | None = None,
             resume: bool = False, progress: bool = False,
             command: str | None = None) -> FrontierResult:
    """Choose a service target per SKU (``by="sku"``) or per ABC class (``by="class"``)
    that maximises ``objective`` (``roi``, ``operating_profit``, ``economic_profit``), or,
    under an inventory ``budget`` (average inventory value at cost), the demand-weighted
    fill rate (``maximise="item_fill_rate"``, the default then) or the objective; and trace
    the inventory efficient frontier (DOMAIN §12; the method: this module's docstring).

    ``targets``: the candidates (default 0.80, 0.81, …, 0.99; or ``"LOW:HIGH:STEP"``).
    ``replications`` (default the scenario's) per search step; ``confirm_replications``
    (default twice that, at least 10) per confirmed alternative, on fresh seeds.  Files go
    to ``out_dir/<scenario>/<run_id>/`` (default id ``frontier-<hash>``); ``resume=True``
    continues an interrupted run there; a folder holding rows is otherwise refused.
    ``out_dir=None`` keeps everything in memory.  Ctrl-C keeps the finished runs and
    raises :class:`FrontierInterrupted`.
    """
    if isinstance(targets, str):
        targets = parse_targets(targets)
    settings = _settings(scenario, objective, budget, maximise, by, targets, replications,
                         confirm_replications, seed)
    items = items_of(scenario, by)
    points = tuple(p for i in items for p in i.points)
    if scenario.locations is not None:  # upstream stock points are measured, not targeted
        points = tuple(dict.fromkeys(points + tuple(
            f"{loc}/{sku}" for loc in scenario.network_order()
            for sku in scenario.held_skus(loc))))
    identity = settings.identity(scenario)
    directory = None
    if out_dir is not None:
        name = run_id or content_id("frontier", identity)
        check_run_id(name, error=FrontierError)
        directory = Path(out_dir) / safe_folder_name(scenario.name) / name
    with _folder(directory, identity, resume) as (measured_rows, sessions):
        measured = measured_rows(points, figure_columns(scenario))
        runner = _Runner(scenario, items, settings, directory, measured,
                         executor, workers or None, progress)
        session = {"command": command, "started": _now(), "ended": None, "status": RUNNING}
        _manifest(directory, identity, [*sessions, session], RUNNING, runner)
        try:
            result = _search(scenario, items, settings, runner)
        except KeyboardInterrupt as exc:
            with ignoring_interrupts():
                _finish(runner, identity, sessions, session, INTERRUPTED)
            raise FrontierInterrupted(directory or Path("."), len(measured.runs),
                                      signal_number(exc)) from None
        except BaseException:
            with suppress(OutputError):
                _finish(runner, identity, sessions, session, FAILED)
            raise
        with ignoring_interrupts():
            _write_outputs(directory, scenario, result)
            _finish(runner, identity, sessions, session, COMPLETE)
    return result


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def _folder(directory: Path | None, identity: Mapping[str, Any], resume: bool
            ) -> Iterator[tuple[Callable[..., Measured], list[dict[str, Any]]]]:
    """The folder held for this run, with a reader of its earlier rows (checked to belong
    to the same run) and its earlier sessions."""
    if directory is None:
        yield (lambda points, figures: Measured(tuple(points))), []
        return
    folder = ResultsFolder(directory, MANIFEST, FrontierError)
    directory.mkdir(parents=True, exist_ok=True)
    with folder.lock():
        manifest = folder.read_manifest()
        if folder.has_rows() and not resume:
            raise FrontierError(f"{directory} already holds runs (runs.csv); continue them "
                                "with --resume, or choose another --id or --out")
        if resume and manifest is not None and manifest.get("identity") != jsonable_identity(
                identity):
            raise FrontierError(f"cannot resume {directory}: it holds a different run (its "
                                "scenario or settings differ); run the same scenario and "
                                "options as before, or choose another --id")
        sessions = [s for s in (manifest or {}).get("sessions", []) if isinstance(s, dict)] \
            if resume else []
        folder.write_text(SCENARIO_FILE, dump_scenario_from(identity))

        def measured_rows(points: Sequence[str], figures: Sequence[str]) -> Measured:
            if not resume:
                return Measured(tuple(points))
            try:
                return read_measured(directory, points, figures)
            except OutputError as exc:
                raise FrontierError(str(exc)) from None

        yield measured_rows, sessions


def jsonable_identity(identity: Mapping[str, Any]) -> Any:
    return json.loads(json.dumps(identity, sort_keys=True, default=str))


def dump_scenario_from(identity: Mapping[str, Any]) -> str:
    from ..scenario.validation import scenario_from_dict

    return dump_scenario(scenario_from_dict(identity["scenario"]))


def _manifest(directory: Path | None, identity: Mapping[str, Any],
              sessions: Sequence[Mapping[str, Any]], status: str, runner: _Runner) -> None:
    if directory is None:
        return
    ResultsFolder(directory, MANIFEST).write_manifest({
        "kind": "frontier", "version": VERSION, "status": status,
        "identity": jsonable_identity(identity),
        "runs": len(runner.measured.runs), "sessions": list(sessions)})


def _finish(runner: _Runner, identity: Mapping[str, Any], sessions: list[dict[str, Any]],
            session: dict[str, Any], status: str) -> None:
    try:
        if runner.files is not None:
            runner.files.write()
    finally:
        session.update(status=status, ended=_now(), simulations=runner.simulations)
        _manifest(runner.directory, identity, [*sessions, session], status, runner)


def _search(scenario: Scenario, items: Sequence[Item], settings: Settings,
            runner: _Runner) -> FrontierResult:
    """Steps 1–4 of the module docstring."""
    reps, targets = settings.replications, settings.targets
    steps = [runner.alternative(f"all at {_pct(t)}", "search",
                                {i.name: t for i in items}) for t in targets]
    runner.run(steps, reps, settings.seed)
    values = {i.name: targets for i in items}
    curves = curves_from(runner.measured, items, len(targets), reps, values,
                         (FILL, "operating_profit", "capital_employed", INVESTMENT,
                          settings.objective), unit_margins(scenario, runner.measured.points))
    years = (scenario.run.horizon_days - scenario.run.warmup_days) \
        / scenario.finance.days_per_year
    prediction = Prediction.fit(curves, years, scenario.finance.cost_of_capital_rate_per_year)
    fill_path = frontier_path(curves.mean("units_first"), curves.mean(INVESTMENT))
    path, choice = _choose(settings, curves, prediction)
    candidates, searched = _confirm(items, settings, runner, curves, fill_path, path, choice)
    return _result(scenario, items, settings, runner, curves, fill_path, prediction,
                   candidates, searched)


def _pct(target: float) -> str:
    return f"{100 * target:g} %"


def _targets_at(curves: Curves, steps: Mapping[str, int]) -> dict[str, float]:
    return {item: float(curves.values[item][j]) for item, j in steps.items()}


MAX_TANGENTS = 8
"""How often :func:`_choose` may move the tangent of the objective's curve."""


def _choose(settings: Settings, curves: Curves, prediction: Prediction
            ) -> tuple[FrontierPath, dict[str, int] | int]:
    """The objective's frontier and the recommended allocation on it: the point of best
    predicted objective (within the budget, if any), found at the tangent of the predicted
    profit and capital curves at the point found before, until the point stays; or, for
    the fill rate under a budget, marginal analysis's steps."""
    if settings.budget is not None and settings.maximise == FILL:
        try:
            steps = marginal_analysis(curves.mean("units_first"), curves.mean(INVESTMENT),
                                      settings.budget)
        except ValueError:
            raise _bad("--budget", settings.budget,
                       "is below the inventory of every item at the lowest target; raise it or "
                       "lower --targets") from None
        return frontier_path(*prediction.values(curves, float(curves.total("margin_short")
                                                                 .mean()))), steps
    short = float(curves.total("margin_short").mean())
    seen: set[float] = set()
    for _ in range(MAX_TANGENTS):
        path = frontier_path(*prediction.values(curves, short))
        predicted = prediction.along(settings.objective, curves, path)
        if settings.budget is not None:
            inventory = path.totals(curves.mean(INVESTMENT))
            predicted = np.where(inventory <= settings.budget, predicted, -np.inf)
            if not np.isfinite(predicted).any():
                raise _bad("--budget", settings.budget, "is below the inventory of every item "
                                                        "at the lowest target")
        point = int(np.argmax(predicted))
        short = float(path.totals(curves.mean("margin_short"))[point])
        if short in seen:
            break
        seen.add(short)
    return path, point


REFINE_POINTS = 7
"""Points of the frontier simulated whole in the first round of the search along it."""
REFINE_ROUNDS = 2
"""Rounds of halving the interval around the best point found so far."""


def _confirm(items: Sequence[Item], settings: Settings, runner: _Runner, curves: Curves,
             fill_path: FrontierPath, path: FrontierPath, choice: dict[str, int] | int
             ) -> tuple[list[_Candidate], list[_Candidate]]:
    """Steps 3 and 4: the search along the frontier (on its own seeds), then today, the
    best common target and the best allocation found, on fresh seeds under common random
    numbers.  Returns (the confirmed, the allocations searched)."""
    searched: list[_Candidate] = []
    if isinstance(choice, dict):
        chosen = _targets_at(curves, choice)
    else:
        searched = _along(settings, runner, curves, fill_path,
                          _targets_at(curves, path.allocation(choice)))
        best = max(searched, key=lambda c: _mean(runner, c, settings.confirm_replications,
                                                  settings.maximise))
        chosen = dict(best.values or {})
    common = _best_common(curves, settings)
    cands = [_Candidate("today", "today", runner.alternative("today", "confirm", None), None),
             _Candidate(f"all at {_pct(common)}", "common",
                        runner.alternative(f"all at {_pct(common)}", "confirm",
                                           {i.name: common for i in items}), None),
             _Candidate("recommended", "frontier",
                        runner.alternative("recommended", "confirm", chosen), chosen)]
    runner.run([c.number for c in cands], settings.confirm_replications,
               named_seed(settings.seed, "confirm"))
    return cands, searched


def _along(settings: Settings, runner: _Runner, curves: Curves, path: FrontierPath,
           predicted: dict[str, float]) -> list[_Candidate]:
    """The search along the efficient frontier, by whole-scenario runs that see how SKUs
    couple: the predicted best allocation and points of the frontier evenly spread in
    inventory (within the budget), then twice the points halfway between the best so far
    and its neighbours."""
    reps, root = settings.confirm_replications, named_seed(settings.seed, "refine")
    inventory = path.investment
    last = len(inventory) - 1
    if settings.budget is not None:
        last = max(int(np.nonzero(inventory <= settings.budget)[0][-1]), 0) \
            if (inventory <= settings.budget).any() else 0
    made: dict[int, _Candidate] = {}

    def at(point: int) -> _Candidate:
        if point not in made:
            label = f"frontier point {point}"
            targets = _targets_at(curves, path.allocation(point))
            made[point] = _Candidate(label, "frontier",
                                     runner.alternative(label, "refine", targets), targets,
                                     point)
        return made[point]

    def nearest(goal: float) -> int:
        return int(np.argmin(np.abs(inventory[:last + 1] - goal)))

    best_guess = _Candidate("predicted best", "frontier",
                            runner.alternative("predicted best", "refine", predicted),
                            predicted)
    for goal in np.linspace(inventory[0], inventory[last], REFINE_POINTS):
        at(nearest(goal))
    runner.run([best_guess.number, *(c.number for c in made.values())], reps, root)
    for _round in range(REFINE_ROUNDS):
        ordered = sorted(made.values(), key=lambda c: inventory[c.point or 0])
        best = max(range(len(ordered)),
                   key=lambda k: _mean(runner, ordered[k], reps, settings.maximise))
        here = inventory[ordered[best].point or 0]
        for k in (best - 1, best + 1):
            if 0 <= k < len(ordered):
                at(nearest((here + inventory[ordered[k].point or 0]) / 2))
        runner.run([c.number for c in made.values()], reps, root)
    return [best_guess, *sorted(made.values(), key=lambda c: inventory[c.point or 0])]


def _mean(runner: _Runner, candidate: _Candidate, reps: int, figure: str) -> float:
    return float(np.mean(runner.measured.figure(candidate.number, reps, figure)))


def _best_common(curves: Curves, settings: Settings) -> float:
    """The common target of the best search mean (within the budget, if any)."""
    figure = settings.maximise
    means = curves.totals[figure].mean(axis=-1)
    if settings.budget is not None:
        inventory = curves.totals[INVESTMENT].mean(axis=-1)
        means = np.where(inventory <= settings.budget, means, -np.inf)
        if not np.isfinite(means).any():
            means = -inventory  # none fits: the cheapest
    return float(settings.targets[int(np.argmax(means))])


# ---------------------------------------------------------------------------- result


def _interval(key: str, values: np.ndarray) -> dict[str, float]:
    ci = figure_interval(key, values.tolist())
    return {"mean": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]}


def _figures(runner: _Runner, number: int, reps: int, objective: str) -> dict[str, Any]:
    return {key: _interval(key, runner.measured.figure(number, reps, key))
            for key in dict.fromkeys((INVESTMENT, FILL, objective))}


def _per_item(runner: _Runner, items: Sequence[Item], number: int, reps: int
              ) -> dict[str, np.ndarray]:
    """Every item's :data:`ITEM_FIGURES` over the replications of an alternative:
    item → array (figures, reps)."""
    index = {p: k for k, p in enumerate(runner.measured.points)}
    stacked = runner.measured.stack(number, reps)
    return {i.name: stacked[[index[p] for p in i.points]].sum(axis=0) for i in items}


def _fill(figures: np.ndarray) -> np.ndarray:
    ordered = figures[_F["units_ordered"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ordered > 0, figures[_F["units_first"]] / ordered, np.nan)


def _confirmed_rows(runner: _Runner, candidates: Sequence[_Candidate], settings: Settings
                    ) -> tuple[list[dict[str, Any]], _Candidate]:
    """The confirmed alternatives with their figures, differences to today, the best and
    the not-worse set; and the recommendation: the best confirmed point of the frontier."""
    reps, figure = settings.confirm_replications, settings.maximise
    series = {c.number: runner.measured.figure(c.number, reps, figure) for c in candidates}
    best = max(candidates, key=lambda c: float(series[c.number].mean()))
    kept = not_worse_ids(series, best.number, ALPHA)
    today = series[candidates[0].number]
    rows = []
    for c in candidates:
        diff = paired_comparison(series[c.number], today, alternative="two-sided")
        rows.append({"label": c.label, "kind": c.kind,
                     **_figures(runner, c.number, reps, settings.objective),
                     **({} if figure == settings.objective else
                        {figure: _interval(figure, series[c.number])}),
                     "difference_vs_today": {"figure": figure, "mean": diff["diff"],
                                             "ci_low": diff["diff_ci_low"],
                                             "ci_high": diff["diff_ci_high"],
                                             "p": diff["p_value"]},
                     "best": c is best, "not_worse": c.number in kept})
    on_frontier = [c for c in candidates if c.kind == "frontier"]
    chosen = max(on_frontier, key=lambda c: float(series[c.number].mean()))
    return rows, chosen


def _target_rows(runner: _Runner, items: Sequence[Item], settings: Settings,
                 today: _Candidate, chosen: _Candidate, years: float, network: bool
                 ) -> list[dict[str, Any]]:
    reps = settings.confirm_replications
    before = _per_item(runner, items, today.number, reps)
    after = _per_item(runner, items, chosen.number, reps)
    rows = []
    for item in items:
        b, a = before[item.name], after[item.name]
        fill_b, fill_a = _interval(FILL, _fill(b)), _interval(FILL, _fill(a))
        change = _interval(INVESTMENT, a[_F[INVESTMENT]] - b[_F[INVESTMENT]])
        target = (chosen.values or {}).get(item.name)
        was = item.today_target
        move = "same" if target is None or was is None or abs(target - was) < 1e-9 else (
            "up" if target > was else "down")
        rows.append({
            ("class" if settings.by == "class" else "sku"): item.name if not network
            else item.skus[0] if settings.by == "sku" else item.name,
            **({"location": item.location} if network and settings.by == "sku" else {}),
            "abc_class": item.abc_class,
            "units_per_year": float(b[_F["units_ordered"]].mean()) / years,
            "unit_cost": item.unit_cost, "today_target": was,
            "today_fill_rate": fill_b["mean"], "today_fill_rate_ci_low": fill_b["ci_low"],
            "today_fill_rate_ci_high": fill_b["ci_high"], "recommended_target": target,
            "recommended_fill_rate": fill_a["mean"],
            "recommended_fill_rate_ci_low": fill_a["ci_low"],
            "recommended_fill_rate_ci_high": fill_a["ci_high"],
            "today_inventory_value": float(b[_F[INVESTMENT]].mean()),
            "recommended_inventory_value": float(a[_F[INVESTMENT]].mean()),
            "inventory_value_change": change["mean"],
            "inventory_value_change_ci_low": change["ci_low"],
            "inventory_value_change_ci_high": change["ci_high"], "move": move})
    return rows


def _frontier_rows(curves: Curves, path: FrontierPath, prediction: Prediction,
                   settings: Settings) -> list[dict[str, Any]]:
    """The fill-rate frontier's points (at most :data:`MAX_FRONTIER_ROWS`, evenly spread in
    investment, the first and last kept), each with its fill rate's CI over the search's
    replications and the objective predicted there."""
    first = path.totals({i: curves.data[i][_F["units_first"]] for i in curves.items})
    ordered = path.totals({i: curves.data[i][_F["units_ordered"]] for i in curves.items})
    fill = first / ordered
    objective = prediction.along(settings.objective, curves, path)
    targeted = path.totals({i: curves.data[i][_F["units_ordered"]].mean(axis=-1)
                            * np.asarray(curves.values[i]) for i in curves.items})
    mean_target = targeted / ordered.mean(axis=-1)
    keep = _spread(path.investment, MAX_FRONTIER_ROWS)
    rows = []
    for n, k in enumerate(keep):
        ci = _interval(FILL, fill[k])
        rows.append({"point": n, INVESTMENT: float(path.investment[k]), FILL: ci["mean"],
                     f"{FILL}_ci_low": ci["ci_low"], f"{FILL}_ci_high": ci["ci_high"],
                     settings.objective: float(objective[k]),
                     "mean_target": float(mean_target[k])})
    return rows


def _spread(xs: np.ndarray, n: int) -> list[int]:
    if len(xs) <= n:
        return list(range(len(xs)))
    goals = np.linspace(xs[0], xs[-1], n)
    picked = sorted({int(np.searchsorted(xs, g)) for g in goals} | {0, len(xs) - 1})
    return [min(k, len(xs) - 1) for k in picked]


def _result(scenario: Scenario, items: Sequence[Item], settings: Settings, runner: _Runner,
            curves: Curves, fill_path: FrontierPath, prediction: Prediction,
            candidates: Sequence[_Candidate], searched: Sequence[_Candidate]
            ) -> FrontierResult:
    years = prediction.years
    confirmed, chosen = _confirmed_rows(runner, candidates, settings)
    today = candidates[0]
    network = scenario.locations is not None
    targets = _target_rows(runner, items, settings, today, chosen, years, network)
    frontier_rows = _frontier_rows(curves, fill_path, prediction, settings)
    today_row = confirmed[0]  # today's policies as confirmed: the most replications
    today_inv, today_fill = today_row[INVESTMENT]["mean"], today_row[FILL]["mean"]
    need, reach = where_today_sits([r[INVESTMENT] for r in frontier_rows],
                                   [r[FILL] for r in frontier_rows], today_inv, today_fill)
    moves = {m: sum(1 for r in targets if r["move"] == m) for m in ("up", "down", "same")}
    by_label = {row["label"]: row for row in confirmed}
    common = next(row for row in confirmed if row["kind"] == "common")
    summary = {
        "kind": "frontier", "scenario": scenario.name,
        "currency": scenario.finance.currency, "objective": settings.objective,
        "maximise": settings.maximise, "budget": settings.budget, "by": settings.by,
        "service_metric": scenario.policy.service_metric, "targets": list(settings.targets),
        "replications": settings.replications,
        "confirm_replications": settings.confirm_replications, "seed": settings.seed,
        "refine_seed": named_seed(settings.seed, "refine"),
        "confirm_seed": named_seed(settings.seed, "confirm"), "items": len(items),
        "simulations": len(runner.measured.runs),
        "naive_simulations": len(settings.targets) * len(items) * settings.replications,
        "today": _strip(by_label["today"]),
        "recommended": {**_strip(by_label[chosen.label]), "label": chosen.label},
        "best_common": {**_strip(common),
                        "target": float(common["label"].split()[-2]) / 100},
        "confirmed": confirmed,
        "along_frontier": [{"label": c.label, **_figures(runner, c.number,
                                                          settings.confirm_replications,
                                                          settings.objective)}
                           for c in searched],
        "you_are_here": {"today_investment": today_inv, "today_fill_rate": today_fill,
                         "same_fill_investment": need, "saving": today_inv - need,
                         "same_investment_fill": reach, "fill_gain": reach - today_fill},
        "moves": moves,
        "prediction": {"profit_before_holding_in_margin_short": list(prediction.profit_fit),
                       "capital_beyond_inventory_in_margin_short":
                           list(prediction.capital_fit)},
    }
    summary["decision"] = decision_text(summary)
    summary["method"] = method_text(summary)
    return FrontierResult(runner.directory, summary, targets, frontier_rows,
                          {r.get("sku") or r.get("class"): r["recommended_target"]
                           for r in targets}, runner.simulations)


def _strip(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items()
            if k in (INVESTMENT, FILL, "roi", "operating_profit", "economic_profit")}


def decision_text(summary: Mapping[str, Any]) -> str:
    """The plain-language decision: how many items move, what it does to the figure
    maximised and to inventory, measured on the confirmation runs (DOMAIN §12)."""
    figure, currency = summary["maximise"], summary["currency"]
    noun = {"sku": "SKUs", "class": "classes"}[summary["by"]]
    today, rec = summary["today"], summary["recommended"]
    row = next(r for r in summary["confirmed"] if r["label"] == rec["label"])
    diff = row["difference_vs_today"]
    moves = summary["moves"]
    inventory = rec[INVESTMENT]["mean"] - today[INVESTMENT]["mean"]
    more = "more" if inventory > 0 else "less"
    what = {"roi": "ROI", "operating_profit": "operating profit",
            "economic_profit": "economic profit", FILL: "the fill rate"}[figure]
    change = "raises" if diff["mean"] > 0 else "lowers"
    text = (f"Moving {moves['up']:,} {noun} up and {moves['down']:,} down {change} {what} "
            f"from {figure_text(figure, today[figure]['mean'], currency)} to "
            f"{figure_text(figure, rec[figure]['mean'], currency)} with "
            f"{money(abs(inventory), currency)} {more} inventory")
    if summary["budget"] is not None:
        text += f", within the budget of {money(summary['budget'], currency)}"
    significant = diff["p"] is not None and diff["p"] < ALPHA
    text += (f" (difference {difference_text(figure, diff['mean'], currency)}, 95 % CI "
             f"{difference_text(figure, diff['ci_low'], currency)} to "
             f"{difference_text(figure, diff['ci_high'], currency)}"
             + ("" if significant else "; not significant") + ").")
    common = summary["best_common"]
    best_common = next(r for r in summary["confirmed"] if r["kind"] == "common")
    text += (f" The best single target for all, {100 * common['target']:g} %, reaches "
             f"{figure_text(figure, common[figure]['mean'], currency)}")
    if best_common["best"]:
        text += ", the best of all confirmed: per-SKU targets did not beat it."
    elif best_common["not_worse"]:
        text += ", not significantly below."
    else:
        text += ", significantly below."
    return text


def method_text(summary: Mapping[str, Any]) -> str:
    """How the answer was found, in plain words, with the simulations it took."""
    item = "SKU" if summary["by"] == "sku" else "class"
    return (
        f"Each of {len(summary['targets'])} candidate targets was simulated for every {item} "
        f"at once ({summary['replications']} replications, common random numbers), giving "
        f"every {item}'s units filled, inventory, margin and holding cost at each target. "
        "Marginal analysis on the concave envelopes of these curves traced the efficient "
        "frontier (the most units filled at once for each inventory investment) and an "
        "allocation of best predicted objective, in which what shortage costs beyond the "
        "lost margin (backorder and recovery costs, customers who defect, receivables) was "
        "fitted over the common-target runs. That allocation and points spread along the "
        "frontier were then simulated whole, which measures how SKUs couple through "
        f"customers who defect ({summary['confirm_replications']} replications each, seeds "
        "of their own), narrowing in on the best twice. Today's policies, the best common "
        "target and the best allocation found were confirmed on fresh seeds. "
        f"{summary['simulations']:,} simulations in all, against "
        f"{summary['naive_simulations']:,} for a per-{item} grid at the same resolution.")


def _write_outputs(directory: Path | None, scenario: Scenario, result: FrontierResult) -> None:
    if directory is None:
        return
    folder = ResultsFolder(directory, MANIFEST)
    folder.write_text(TARGETS_FILE, csv_text(result.targets, list(result.targets[0])))
    folder.write_text(FRONTIER_FILE, csv_text(result.frontier, list(result.frontier[0])))
    from ..files import jsonable

    folder.write_text(SUMMARY_FILE, json.dumps(jsonable(result.summary), indent=1,
                                               ensure_ascii=False, allow_nan=False) + "\n")
