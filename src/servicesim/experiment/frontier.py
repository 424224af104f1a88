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

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

from .._version import VERSION
from ..files import OutputError, safe_folder_name
from ..scenario.schema import Scenario
from ..scenario.serialise import dump_scenario
from .allocation import Path as FrontierPath
from .allocation import frontier_path, marginal_analysis
from .executors import ignoring_interrupts, pool_or_given, signal_number
from .frontier_curves import Curves, Prediction, curves_from, unit_margins
from .frontier_items import (
    Item,
    allocation_scenario,
    bad_option,
    check_targets,
    items_of,
    items_of_any,
    parse_targets,
)
from .frontier_result import (
    MANIFEST,
    Candidate,
    FrontierResult,
    Settings,
    build_result,
    named_seed,
    write_outputs,
)
from .frontier_runs import FILL, INVESTMENT, FrontierError, Measured, Runner, read_measured
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
    utc_now,
)
from .sweep import progress_bar

__all__ = ["FILL", "FrontierError", "FrontierInterrupted", "FrontierResult", "allocation_scenario",
           "estimated_simulations", "frontier", "items_of", "measure_curves", "parse_targets"]

OBJECTIVES = ("roi", "operating_profit", "economic_profit")
DEFAULT_TARGETS = (0.70, 0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.95, 0.96, 0.97, 0.975, 0.98,
                   0.985, 0.99, 0.9925, 0.995, 0.9965, 0.998, 0.999, 0.9995)
"""The 20 targets a SKU can get by default: denser near 100 %, where a point of service
costs the most stock and the optimum of a valuable SKU often lies."""
STEPS = (0.05, 0.10)
"""The local search's steps along the frontier: these fractions of the recommended
allocation's inventory, less and more."""
MAX_ROUNDS = 3


class FrontierInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a frontier run; the finished runs are kept."""

    def __init__(self, directory: Path, done: int, signum: int) -> None:
        super().__init__(f"interrupted; {done} runs kept in {directory}")
        self.directory, self.done, self.signum = directory, done, signum


def _settings(scenario: Scenario, objective: str, budget: float | None, maximise: str | None,
              by: str, targets: Sequence[float] | None, replications: int | None,
              confirm_replications: int | None, seed: int | None) -> Settings:
    if objective not in OBJECTIVES:
        raise bad_option("--objective", objective, f"allowed: {', '.join(OBJECTIVES)}")
    if budget is not None and not (math.isfinite(budget) and budget > 0):
        raise bad_option("--budget", budget, "the budget is an average inventory value at cost, a "
                                       "positive amount of money")
    if maximise is None:
        maximise = FILL if budget is not None else objective
    if maximise not in (FILL, objective):
        raise bad_option("--maximise", maximise, f"allowed: {FILL}, {objective}")
    reps = scenario.run.replications if replications is None else replications
    confirm = max(2 * reps, 10) if confirm_replications is None else confirm_replications
    for option, n in (("--replications", reps), ("--confirm-replications", confirm)):
        if not 2 <= n <= 1000:
            raise bad_option(option, n, "needs 2 to 1000 replications (confidence intervals "
                                        "need two)")
    return Settings(objective, budget, maximise, by,
                    check_targets(DEFAULT_TARGETS if targets is None else targets),
                    reps, confirm, scenario.run.seed if seed is None else seed)


def estimated_simulations(scenario: Scenario, targets: Sequence[float] | None,
                          confirm_replications: int | None, replications: int | None = None
                          ) -> int:
    """About how many simulations a frontier run takes: the common-target runs (× the
    replications), the search along the frontier and the confirmation (× the
    confirmation's replications)."""
    reps = scenario.run.replications if replications is None else replications
    confirm = max(2 * reps, 10) if confirm_replications is None else confirm_replications
    steps = len(DEFAULT_TARGETS if targets is None else targets)
    return steps * reps + (REFINE_POINTS + 1 + 2 * REFINE_ROUNDS + 3) * confirm


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
    runner = Runner(scenario, items, None, Measured(points))
    numbers = [runner.alternative(f"step {j}", "search",
                                  {i.name: values[i.name][j] for i in items})
               for j in range(steps)]
    with pool_or_given(executor, workers) as pool:
        runner.executor = pool
        runner.run(numbers, replications, seed, field_name)
    curves = curves_from(runner.measured, items, steps, replications, values,
                         (FILL, "operating_profit", "capital_employed"),
                         unit_margins(scenario, points))
    return curves, runner.simulations


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
    with _folder(directory, scenario, identity, resume) as (measured_rows, sessions):
        measured = measured_rows(points, figure_columns(scenario))
        runner = Runner(scenario, items, directory, measured)
        session = {"command": command, "started": utc_now(), "ended": None, "status": RUNNING}
        _manifest(directory, identity, [*sessions, session], RUNNING, runner)
        total = estimated_simulations(scenario, settings.targets, settings.confirm_replications,
                                      settings.replications)
        try:
            with pool_or_given(executor, workers) as pool, \
                    progress_bar(progress, max(total, len(measured.runs)), len(measured.runs),
                                 desc="frontier") as advance:
                runner.executor, runner.advance = pool, advance
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
            write_outputs(directory, scenario, result)
            _finish(runner, identity, sessions, session, COMPLETE)
    return result


@contextmanager
def _folder(directory: Path | None, scenario: Scenario, identity: Mapping[str, Any],
            resume: bool
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
        folder.write_text(SCENARIO_FILE, dump_scenario(scenario))

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


def _manifest(directory: Path | None, identity: Mapping[str, Any],
              sessions: Sequence[Mapping[str, Any]], status: str, runner: Runner) -> None:
    if directory is None:
        return
    ResultsFolder(directory, MANIFEST).write_manifest({
        "kind": "frontier", "version": VERSION, "status": status,
        "identity": jsonable_identity(identity),
        "runs": len(runner.measured.runs), "sessions": list(sessions)})


def _finish(runner: Runner, identity: Mapping[str, Any], sessions: list[dict[str, Any]],
            session: dict[str, Any], status: str) -> None:
    try:
        if runner.files is not None:
            runner.files.write()
    finally:
        session.update(status=status, ended=utc_now(), simulations=runner.simulations)
        _manifest(runner.directory, identity, [*sessions, session], status, runner)


def _search(scenario: Scenario, items: Sequence[Item], settings: Settings,
            runner: Runner) -> FrontierResult:
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
    steps = _choose(settings, curves, prediction)
    candidates, searched = _confirm(items, settings, runner, curves, fill_path, steps)
    return build_result(scenario, items, settings, runner, curves, fill_path, prediction,
                   candidates, searched)


def _pct(target: float) -> str:
    return f"{100 * target:g} %"


def _targets_at(curves: Curves, steps: Mapping[str, int]) -> dict[str, float]:
    return {item: float(curves.values[item][j]) for item, j in steps.items()}


MAX_TANGENTS = 8
"""How often :func:`_choose` may move the tangent of the objective's curve."""


def _choose(settings: Settings, curves: Curves, prediction: Prediction) -> dict[str, int]:
    """Every item's step in the allocation step 2 proposes: the point of the objective's
    frontier of best predicted objective (within the budget, if any), found at the tangent
    of the predicted profit and capital curves at the point found before, until the point
    stays; or, for the fill rate under a budget, marginal analysis's steps."""
    if settings.budget is not None and settings.maximise == FILL:
        try:
            steps = marginal_analysis(curves.mean("units_first"), curves.mean(INVESTMENT),
                                      settings.budget - curves.other_inventory)
        except ValueError:
            raise bad_option("--budget", settings.budget,
                             "is below the inventory of every item at the lowest target; "
                             "raise it or lower --targets") from None
        return steps
    short = float(curves.total("margin_short").mean())
    seen: set[float] = set()
    for _ in range(MAX_TANGENTS):
        path = frontier_path(*prediction.values(curves, short))
        predicted = prediction.along(settings.objective, curves, path)
        if settings.budget is not None:
            inventory = path.totals(curves.mean(INVESTMENT)) + curves.other_inventory
            predicted = np.where(inventory <= settings.budget, predicted, -np.inf)
            if not np.isfinite(predicted).any():
                raise bad_option("--budget", settings.budget,
                                 "is below the inventory of every item at the lowest target")
        point = int(np.argmax(predicted))
        short = float(path.totals(curves.mean("margin_short"))[point])
        if short in seen:
            break
        seen.add(short)
    return path.allocation(point)


REFINE_POINTS = 7
"""Points of the frontier simulated whole in the first round of the search along it."""
REFINE_ROUNDS = 2
"""Rounds of halving the interval around the best point found so far."""


def _confirm(items: Sequence[Item], settings: Settings, runner: Runner, curves: Curves,
             fill_path: FrontierPath, steps: dict[str, int]
             ) -> tuple[list[Candidate], list[Candidate]]:
    """Steps 3 and 4: the search along the frontier (on its own seeds; not for the fill
    rate under a budget, which marginal analysis answers), then today, the best common
    target and the best allocation found, on fresh seeds under common random numbers.
    Returns (the confirmed, the allocations searched)."""
    searched: list[Candidate] = []
    if settings.budget is not None and settings.maximise == FILL:
        chosen = _targets_at(curves, steps)
    else:
        searched = _along(settings, runner, curves, fill_path, _targets_at(curves, steps))
        best = max(searched, key=lambda c: _mean(runner, c, settings.confirm_replications,
                                                  settings.maximise))
        chosen = dict(best.values or {})
    common = _best_common(curves, settings)
    cands = [Candidate("today", "today", runner.alternative("today", "confirm", None), None),
             Candidate(f"all at {_pct(common)}", "common",
                        runner.alternative(f"all at {_pct(common)}", "confirm",
                                           {i.name: common for i in items}), None),
             Candidate("recommended", "frontier",
                        runner.alternative("recommended", "confirm", chosen), chosen)]
    runner.run([c.number for c in cands], settings.confirm_replications,
               named_seed(settings.seed, "confirm"))
    return cands, searched


def _along(settings: Settings, runner: Runner, curves: Curves, path: FrontierPath,
           predicted: dict[str, float]) -> list[Candidate]:
    """The search along the efficient frontier, by whole-scenario runs that see how SKUs
    couple: the predicted best allocation and points of the frontier evenly spread in
    inventory (within the budget), then twice the points halfway between the best so far
    and its neighbours."""
    reps, root = settings.confirm_replications, named_seed(settings.seed, "refine")
    inventory = path.investment + curves.other_inventory
    last = len(inventory) - 1
    if settings.budget is not None:
        last = max(int(np.nonzero(inventory <= settings.budget)[0][-1]), 0) \
            if (inventory <= settings.budget).any() else 0
    made: dict[int, Candidate] = {}

    def at(point: int) -> Candidate:
        if point not in made:
            label = f"frontier point {point}"
            targets = _targets_at(curves, path.allocation(point))
            made[point] = Candidate(label, "frontier",
                                     runner.alternative(label, "refine", targets), targets,
                                     point)
        return made[point]

    def nearest(goal: float) -> int:
        return int(np.argmin(np.abs(inventory[:last + 1] - goal)))

    best_guess = Candidate("predicted best", "frontier",
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


def _mean(runner: Runner, candidate: Candidate, reps: int, figure: str) -> float:
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


