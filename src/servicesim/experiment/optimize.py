"""The service level that maximises an objective, with its uncertainty (DOMAIN §1, §6).

``optimize(scenario, ["policy.service_target=0.80:0.999"])`` searches one to three numeric
scenario fields for the values that maximise a summary figure (``roi`` by default) and
reports, besides the best point and its 95 % confidence interval, the set of points whose
objective is *not significantly below* the best's — the honest answer when the top of the
curve is flat against the simulation noise.

The search is adaptive and builds on the sweep engine (:mod:`servicesim.experiment.engine`):

1. Every parameter lives on a lattice at the final resolution.  A coarse grid (9 points
   for one parameter, 5 per parameter for two, 4 for three) is simulated with a few
   replications each.
2. Each round: the best point is the one with the highest mean over its replications.  Every
   other point is compared with it by a one-sided paired t-test on their common replications
   (common random numbers: replication *r* of every point uses the same seed), the p-values
   Holm-corrected over all comparisons; the not-worse set is the best plus every point whose
   comparison is not rejected at ``alpha``.
3. Points of the not-worse set (the undecided comparisons) get more replications — the count
   doubles, up to ``max_replications`` — and the grid is refined around the best: its
   neighbours (the 3^d neighbourhood) at the coarsest step whose neighbourhood is not yet
   simulated, halving the step down to the resolution.  New points get the best's replication
   count, so their pairs with the best are complete.
4. It stops when the best's neighbourhood is simulated at every step down to the resolution
   and the not-worse set is the best alone or every member has ``max_replications``.

When the search ends, *today* — the scenario as given — runs for as many replications as
the best point has, from the same seeds, and the best is compared with it on those common
replications (``today.csv``, ``today.json``; :mod:`servicesim.experiment.today`), so the
result says how much better than today's policy the best is, not only where it lies.

The tests compare each point with the *observed* best, as DOMAIN §6 words it; since that
best is itself chosen by the noise, the set can be slightly too small when many points are
nearly equal (a screening procedure comparing every pair, Nelson et al. 2001, would be the
conservative alternative).

All simulations of a round run as one batch through :func:`servicesim.experiment.engine.execute`, so
they run in parallel; every decision depends only on the rows, so the result is the same
whichever executor ran them.  For the same reason an interrupted search can resume: Ctrl-C
(or SIGTERM) writes the finished rows to ``runs.csv`` with a ``result.json`` of status
``interrupted`` and raises :class:`OptimizeInterrupted`; ``optimize(..., resume=True)``
replays the search, taking every row it already has from that ``runs.csv`` instead of
simulating it again, and ends with the same files as an uninterrupted search.  After every
round the finished rows are saved as well (``result.json`` status ``running``), so even a
hard kill (SIGKILL, power loss) loses at most the round in progress.
"""

from __future__ import annotations

import difflib
import itertools
import math
import numbers
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .._version import VERSION
from ..errors import NOT_SET, Problem, ScenarioError
from ..files import (
    OutputError,
    csv_cell,
    csv_text,
    safe_folder_name,
)
from ..kpis import KPI_BY_KEY, SUMMARY_KEYS
from ..scenario.schema import Scenario
from ..scenario.serialise import dump_scenario
from .engine import Task, execute, make_tasks
from .executors import ProcessPool, ignoring_interrupts, signal_number
from .params import apply_params, check_disjoint
from .statistics import confidence_interval, holm, paired_comparison
from .store import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    RUNNING,
    RUNS_FILE,
    SCENARIO_FILE,
    ChartRecords,
    ResultsFolder,
    check_run_id,
    content_id,
    figure_columns,
    read_chart_records,
    with_chart_records,
)
from .sweep import progress_bar, today_tasks
from .today import (
    Today,
    decision_lines,
    figure_text,
    own_params,
    param_text,
    plain_key,
    read_today_rows,
    remove_today,
    short_label,
    step_text,
    summarise_today,
    today_columns,
    write_today,
    write_today_rows,
)

DEFAULT_REPLICATIONS = 5
"""Replications of every point of the coarse grid."""
DEFAULT_MAX_REPLICATIONS = 40
"""Replications a point near the top may get at most."""
COARSE_POINTS = {1: 9, 2: 5, 3: 4}
"""Points per parameter of the coarse grid, by the number of parameters."""
MAX_DIMENSIONS = 3
FINE_STEPS = 200
"""The default resolution of a continuous parameter: its range / 200, rounded to a nice step
(but never finer than :data:`FINEST_RELATIVE_STEP` allows)."""
FINEST_RELATIVE_STEP = 0.001
"""The finest default step, relative to the larger of 1 and the largest bound: 0.001 for a
service target (a tenth of a percentage point; finer steps than that differ by less than
the simulation resolves and only print as long runs of digits)."""
MAX_ROUNDS = 1_000
"""A guard only: the search ends long before (the lattice and the replications are finite)."""

RESULT_FILE, EVALUATIONS_FILE = "result.json", "evaluations.csv"

Point = tuple[int, ...]
"""A point of the search: one lattice index per parameter."""


# --------------------------------------------------------------------------- the space


@dataclass(frozen=True)
class Bound:
    """One searched field: its dotted key and the closed range ``[low, high]``.

    ``integer`` makes the values whole numbers; a field the schema only allows as an
    integer (``policy.order_up_to``) is treated as one whatever this says.
    """

    key: str
    low: float
    high: float
    integer: bool = False


def _problem(option: str, key: str, value: Any, message: str,
             text: str | None = None) -> ScenarioError:
    return ScenarioError([Problem(option, key, value, message, None,
                                  f"{option} {text}" if text else None)])


def parse_bound(text: str, option: str = "--param") -> Bound:
    """``key=low:high`` → :class:`Bound`; a :class:`ScenarioError` naming the text if bad.

    Whether the key exists and the bounds are allowed is checked by :func:`optimize`.
    """
    key, sep, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key:
        raise _problem(option, key, NOT_SET, "expects KEY=LOW:HIGH, e.g. "
                       "policy.service_target=0.80:0.999", text)
    parts = spec.split(":")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise _problem(option, key, spec or NOT_SET, "bounds are LOW:HIGH, e.g. 0.80:0.999",
                       text)
    try:
        low, high = (Decimal(p.strip()) for p in parts)
    except InvalidOperation:
        raise _problem(option, key, spec, "LOW and HIGH must be numbers", text) from None
    if not (low.is_finite() and high.is_finite()):
        raise _problem(option, key, spec, "LOW and HIGH must be finite numbers", text)
    integral = low == low.to_integral_value() and high == high.to_integral_value() \
        and "." not in spec and "e" not in spec.lower()
    return Bound(key, int(low) if integral else float(low),
                 int(high) if integral else float(high))


def default_step(low: float, high: float) -> float:
    """The default resolution of a continuous parameter on ``[low, high]``: the range /
    :data:`FINE_STEPS`, rounded by :func:`nice_step`, and never finer than
    :data:`FINEST_RELATIVE_STEP` × max(1, |low|, |high|), rounded likewise (0.001 for any
    service target: 0.9:0.999 gets 0.001, not 0.0005)."""
    fine = nice_step((high - low) / FINE_STEPS)
    floor = nice_step(FINEST_RELATIVE_STEP * max(1.0, abs(low), abs(high)))
    return max(fine, floor)


def nice_step(raw: float) -> float:
    """The nearest of 1, 2, 2.5, 5 × 10^k to ``raw`` (on a log scale), e.g. 0.000995 → 0.001."""
    exponent = math.floor(math.log10(raw))
    mantissa = raw / 10.0 ** exponent
    best = min((1, 2, 2.5, 5, 10), key=lambda m: abs(math.log(mantissa / m)))
    return float(Decimal(str(best)).scaleb(exponent))


@dataclass(frozen=True)
class Axis:
    """One parameter on its lattice: ``low + k·step`` for k = 0..intervals (the last is
    ``high``).  Integer parameters have whole-number steps and values."""

    key: str
    low: Decimal
    high: Decimal
    step: Decimal
    intervals: int
    integer: bool

    def value(self, k: int) -> int | float:
        """The parameter value at lattice index ``k``."""
        exact = self.high if k >= self.intervals else min(self.low + k * self.step, self.high)
        return int(exact) if self.integer else float(exact)

    @property
    def size(self) -> int:
        """Lattice points: the fine grid's count along this parameter."""
        return self.intervals + 1

    def describe(self) -> dict[str, Any]:
        return {"key": self.key, "low": self.value(0), "high": self.value(self.intervals),
                "resolution": int(self.step) if self.integer else float(self.step),
                "integer": self.integer, "points": self.size}


def _decimal(x: float) -> Decimal:
    return Decimal(repr(float(x))) if not isinstance(x, int) else Decimal(x)


def _is_integer_field(scenario: Scenario, bound: Bound) -> bool:
    """Whether the schema refuses a fractional value where it accepts a whole number."""
    whole = math.ceil(bound.low)
    fraction = whole + 0.5 if whole + 0.5 <= bound.high else whole - 0.5
    if whole > bound.high or fraction < bound.low:
        return False
    try:
        apply_params(scenario, {bound.key: fraction})
        return False
    except ScenarioError:
        pass
    try:
        apply_params(scenario, {bound.key: whole})
    except ScenarioError:
        return False
    return True


def _axes(scenario: Scenario, space: Sequence[Bound],
          resolution: float | Sequence[float] | None) -> list[Axis]:
    """Validate the space (keys, bounds, corners against the schema) and build the lattice."""
    if not space or len(space) > MAX_DIMENSIONS:
        shown_keys = ", ".join(b.key for b in space) or "(none)"
        raise _problem("--param", shown_keys, NOT_SET, f"the optimiser searches 1 to "
                       f"{MAX_DIMENSIONS} parameters at once; got {len(space)}")
    keys = [b.key for b in space]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise _problem("--param", ", ".join(twice), NOT_SET, "searched twice")
    check_disjoint(scenario, keys)
    problems = []
    for b in space:
        shown = f"{b.low}:{b.high}"
        if not all(isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)
                   for x in (b.low, b.high)):
            problems.append(Problem("--param", b.key, shown, "bounds must be finite numbers"))
        elif b.low >= b.high:
            problems.append(Problem("--param", b.key, shown,
                                    f"the lower bound ({b.low}) must be below the upper bound "
                                    f"({b.high})"))
    if problems:
        raise ScenarioError(problems)
    if resolution is None:
        steps: list[float | None] = [None] * len(space)
    elif isinstance(resolution, Sequence):
        steps = [float(r) for r in resolution]
        if len(steps) != len(space):
            raise _problem("--resolution", "", list(resolution),
                           f"one resolution per parameter: {len(space)} expected")
    else:
        steps = [float(resolution)] * len(space)
    axes = []
    for b, step in zip(space, steps, strict=True):
        if step is not None and not (math.isfinite(step) and step > 0):
            raise _problem("--resolution", b.key, step, "the resolution must be > 0")
        if b.integer or _is_integer_field(scenario, b):
            low, high = math.ceil(b.low), math.floor(b.high)
            if low >= high:
                raise _problem("--param", b.key, f"{b.low}:{b.high}",
                               "an integer parameter needs at least two whole numbers "
                               "between its bounds")
            whole = max(1, round(step)) if step is not None else 1
            intervals = math.ceil((high - low) / whole)
            axes.append(Axis(b.key, Decimal(low), Decimal(high), Decimal(whole), intervals,
                             True))
        else:
            lo, hi = _decimal(b.low), _decimal(b.high)
            exact = _decimal(step if step is not None else default_step(float(lo), float(hi)))
            intervals = max(1, math.ceil((hi - lo) / exact - Decimal("1e-9")))
            axes.append(Axis(b.key, lo, hi, exact, intervals, False))
    # every corner of the box must be a valid scenario (unknown keys, schema bounds)
    for corner in itertools.product(*((a.value(0), a.value(a.intervals)) for a in axes)):
        apply_params(scenario, dict(zip(keys, corner, strict=True)))
    return axes


# --------------------------------------------------------------------------- statistics






@dataclass
class _Candidate:
    """A simulated point: its lattice index, parameter values, scenario and objective values
    per replication (replications 0..n-1, in order)."""

    id: int
    index: Point
    params: dict[str, Any]
    scenario: Scenario
    values: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        finite = [v for v in self.values if not math.isnan(v)]
        return sum(finite) / len(finite) if finite else -math.inf


@dataclass(frozen=True)
class _Assessment:
    best: _Candidate
    rows: dict[int, dict[str, Any]]
    not_worse: list[_Candidate]


def _assess(candidates: Sequence[_Candidate], alpha: float) -> _Assessment:
    """The best point, each point's comparison with it, and the not-worse set."""
    best = max(candidates, key=lambda c: (c.mean, -c.id))
    others = [c for c in candidates if c is not best]
    tests = [paired_comparison(best.values, c.values) for c in others]
    adjusted = holm([t["p_value"] for t in tests])
    rows: dict[int, dict[str, Any]] = {}
    for c in candidates:
        ci = confidence_interval(c.values, 0.95)
        rows[c.id] = {"n": c.n, "mean": ci["mean"], "std": ci["std"],
                      "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]}
    rows[best.id].update(n_common=best.n, diff=0.0, diff_ci_low=0.0, diff_ci_high=0.0,
                         p_value=1.0, p_holm=1.0, not_worse=True, best=True)
    for c, test, p_holm in zip(others, tests, adjusted, strict=True):
        rows[c.id].update(test, p_holm=p_holm, not_worse=p_holm > alpha, best=False)
    not_worse = [c for c in candidates if rows[c.id]["not_worse"]]
    return _Assessment(best, rows, not_worse)


# --------------------------------------------------------------------------- the result


@dataclass
class OptimizeResult:
    """What the optimiser found (DOMAIN §6): the best point with its 95 % CI, the points not
    significantly below it, and what it cost against the fine grid."""

    best: dict[str, float]
    objective: str
    best_estimate: dict[str, float]
    not_worse: list[dict[str, float]]
    n_simulations: int
    fine_grid_simulations: int
    evaluations: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    directory: Path | None
    space: list[dict[str, Any]] = field(default_factory=list)
    alpha: float = 0.05
    seed: int | None = None
    scenario_name: str = ""
    rounds: int = 0
    today: Today | None = field(default=None, repr=False)
    """The scenario as given and the best point against it (``today.json``)."""
    currency: str | None = None
    """The scenario's currency (``finance.currency``), for money in :meth:`report`."""

    def to_frames(self) -> tuple[Any, Any]:
        """``(evaluations, runs)`` as pandas DataFrames (``pip install 'servicesim[pandas]'``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("OptimizeResult.to_frames needs pandas: "
                              "pip install 'servicesim[pandas]'") from None
        return pd.DataFrame(self.evaluations), pd.DataFrame(self.runs)

    def report(self) -> str:
        """Plain-language summary: what was searched, where the files are, and the decision
        (:meth:`decision`): today, the best with its 95 % CI, the difference, the set not
        significantly below the best and the simulations it took."""
        lines = [self.searched()]
        if self.directory is not None:
            lines.append(f"Results in {self.directory}")
        return "\n".join([*lines, "", self.decision()])

    def searched(self) -> str:
        """One sentence: the searched range and step of each parameter and the objective."""
        kpi = KPI_BY_KEY.get(self.objective)
        label = kpi.label if kpi else self.objective
        ranges = []
        for a in self.space:
            key = a["key"]
            ranges.append(f"{plain_key(key)} from {param_text(key, a['low'])} to "
                          f"{param_text(key, a['high'])} in steps of "
                          f"{step_text(key, a['resolution'])} ({a['points']:,} values)")
        return (f"Searched {' and '.join(ranges)} for the highest {label} of scenario "
                f"{self.scenario_name!r}.")

    def decision(self) -> str:
        """The decision in plain words (see :func:`~servicesim.experiment.today.decision_lines`)."""
        keys = [a["key"] for a in self.space] or list(self.best)
        simulations = f"{self.n_simulations:,} for the search ({len(self.evaluations)} " \
                      f"points, {self.rounds} rounds)"
        if self.today is not None:
            simulations += f" and {len(self.today.runs)} of today"
        simulations += (f"; a fine grid of the same resolution and replications would take "
                        f"{self.fine_grid_simulations:,}")
        if self.today is None:  # a result made without today: the best alone
            est = self.best_estimate
            shown = [figure_text(self.objective, est[s], self.currency)
                     for s in ("mean", "ci_low", "ci_high")]
            return "\n".join([
                "Best: " + ", ".join(f"{plain_key(k)} {param_text(k, self.best[k])}"
                                     for k in keys)
                + f": {short_label(self.objective)} {shown[0]} (95 % CI {shown[1]} to "
                f"{shown[2]}).", f"Simulations: {simulations}."])
        simulated = [{k: e[k] for k in keys} for e in self.evaluations]
        return "\n".join(decision_lines(self.today, keys, self.currency, self.not_worse,
                                        simulated, simulations, self.alpha))


# --------------------------------------------------------------------------- the search


def _coarse_indices(intervals: int, points: int) -> list[int]:
    if intervals < points:
        return list(range(intervals + 1))
    return sorted({math.floor(k * intervals / (points - 1) + 0.5) for k in range(points)})


def _strides(axes: Sequence[Axis], points: int) -> list[tuple[int, ...]]:
    """Steps (in lattice units) per parameter, coarse to fine, each about half the last."""
    current = [max(1, math.ceil(a.intervals / (points - 1))) for a in axes]
    levels = [tuple(current)]
    while any(s > 1 for s in current):
        current = [max(1, math.ceil(s / 2)) for s in current]
        levels.append(tuple(current))
    return levels


def _neighbours(index: Point, stride: Sequence[int], axes: Sequence[Axis]) -> list[Point]:
    """The 3^d neighbourhood of ``index`` at ``stride``, clipped to the bounds."""
    ranges = [sorted({min(max(i + e * s, 0), a.intervals) for e in (-1, 0, 1)})
              for i, s, a in zip(index, stride, axes, strict=True)]
    return [p for p in itertools.product(*ranges) if p != index]


def _replication_goal(not_worse: Sequence[_Candidate], cap: int) -> int:
    """Replications every not-worse point should reach next (0: none needed)."""
    if len(not_worse) < 2:
        return 0
    most = max(c.n for c in not_worse)
    if any(c.n < most for c in not_worse):
        return most
    return min(cap, 2 * most) if most < cap else 0


@contextmanager
def _pool(executor: Executor | None, workers: int | None) -> Iterator[Executor | None]:
    """One process pool for the whole search (not one per round), unless told otherwise."""
    if executor is not None or workers == 1:
        yield executor
        return
    with ProcessPool(workers or os.cpu_count() or 1) as pool:
        yield pool


def _content_id(scenario: Scenario, axes: Sequence[Axis], settings: Mapping[str, Any]) -> str:
    """``optimize-`` and a hash of the scenario, the space and the settings."""
    return content_id("optimize", {"scenario": dump_scenario(scenario),
                                   "space": [a.describe() for a in axes], **settings},
                      compact=False)


def _check_settings(objective: str, replications: int, max_replications: int,
                    alpha: float) -> None:
    problems = []
    if objective not in SUMMARY_KEYS:
        close = difflib.get_close_matches(objective, SUMMARY_KEYS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        problems.append(Problem("--objective", "", objective, "unknown objective; allowed: "
                                + ", ".join(SUMMARY_KEYS) + hint))
    if not isinstance(replications, numbers.Integral) or replications < 2:
        problems.append(Problem("--replications", "", replications,
                                "at least 2 replications per point (a paired test needs 2)"))
    elif not isinstance(max_replications, numbers.Integral) or max_replications < replications:
        problems.append(Problem("--max-replications", "", max_replications,
                                f"must be a whole number >= replications ({replications})"))
    if not (isinstance(alpha, numbers.Real) and 0 < alpha < 1):
        problems.append(Problem("--alpha", "", alpha, "must be between 0 and 1"))
    if problems:
        raise ScenarioError(problems)


def optimize(
    scenario: Scenario,
    space: Sequence[str | Bound],
    *,
    objective: str = "roi",
    replications: int | None = None,
    max_replications: int | None = None,
    resolution: float | Sequence[float] | None = None,
    alpha: float = 0.05,
    seed: int | None = None,
    executor: Executor | None = None,
    workers: int | None = None,
    out_dir: str | os.PathLike[str] | None = "results",
    run_id: str | None = None,
    progress: bool = False,
    command: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
) -> OptimizeResult:
    """Find the values of 1–3 fields that maximise ``objective`` (DOMAIN §1), with the set
    of values not significantly worse than the best (DOMAIN §6).

    ``space``: :class:`Bound`\\ s or ``"key=low:high"`` strings.  ``replications`` (default
    5) per point at first, up to ``max_replications`` (default 40) near the top;
    ``resolution``: the finest step (default 1 for integer fields, otherwise
    :func:`default_step`: the range / 200 rounded to a nice number, never finer than 0.001
    for a service target); ``alpha``: level of the Holm-corrected paired tests.
    ``seed`` (default ``scenario.run.seed``) is the root of the common random numbers.
    Simulations run on ``executor`` (any ``concurrent.futures.Executor``) or a pool of
    ``workers`` processes (``workers=1``: serially).  With ``out_dir`` the result files go
    to ``out_dir/<scenario>/<run_id>/``.  Bad input raises :class:`ScenarioError`.
    Ctrl-C writes the rows finished so far and raises :class:`OptimizeInterrupted`;
    ``resume=True`` reuses the rows of an earlier (interrupted) run in the same folder, and
    those of its ``today.csv``.  The result's :attr:`OptimizeResult.today` compares the best
    point with the scenario as given.
    A folder that holds another optimisation (or rows without a ``result.json``) is refused
    unless ``overwrite=True``, which replaces its files.
    """
    started = datetime.now(UTC)
    bounds = [parse_bound(b) if isinstance(b, str) else b for b in space]
    n0 = DEFAULT_REPLICATIONS if replications is None else replications
    cap = max(n0, DEFAULT_MAX_REPLICATIONS) if max_replications is None else max_replications
    _check_settings(objective, n0, cap, alpha)
    n0, cap = int(n0), int(cap)
    axes = _axes(scenario, bounds, resolution)
    root = int(scenario.run.seed if seed is None else seed)
    folder = None
    if out_dir is not None:
        try:
            folder = Path(out_dir) / safe_folder_name(scenario.name)
        except ValueError as exc:
            raise OutputError(str(exc)) from None
        if run_id is not None:
            check_run_id(run_id)
    settings = {"objective": objective, "replications": n0, "max_replications": cap,
                "alpha": alpha, "seed": root}
    this_id = _content_id(scenario, axes, settings)
    store = None if folder is None else ResultsFolder(folder / (run_id or this_id), RESULT_FILE)
    with store.lock() if store is not None else nullcontext():
        earlier = _earlier_rows(store, this_id, resume, overwrite) \
            if store is not None else {}
        if overwrite and store is not None:  # nothing of the replaced search stays
            (store.directory / EVALUATIONS_FILE).unlink(missing_ok=True)
        earlier_today: dict[int, dict[str, Any]] = {}
        if store is not None:
            if resume and not overwrite:
                earlier_today = read_today_rows(store.directory, root,
                                                columns=today_columns(scenario))
            remove_today(store.directory, csv_too=not earlier_today)
        return _search(scenario, axes, objective, n0, cap, alpha, root, settings, this_id,
                       store, (earlier, earlier_today), executor, workers, progress, command,
                       started)


def _search(scenario: Scenario, axes: Sequence[Axis], objective: str, n0: int, cap: int,
            alpha: float, root: int, settings: Mapping[str, Any], search_id: str,
            store: ResultsFolder | None,
            found: tuple[Mapping[tuple[int, int], Mapping[str, Any]],
                         Mapping[int, dict[str, Any]]],
            executor: Executor | None, workers: int | None, progress: bool,
            command: str | None, started: datetime) -> OptimizeResult:
    """The search of :func:`optimize`, its files written to ``store`` (held by it);
    ``found``: the rows of an earlier run (resume) and of its today.csv."""
    earlier, earlier_today = found
    today_rows: dict[int, dict[str, Any]] = {}  # today's rows by replication
    n_today = 0
    keys = [a.key for a in axes]
    directory = None if store is None else store.directory
    say = _progress_printer(progress)
    search = _Search(scenario, axes, root, cap)
    batch = search.coarse_batch(n0)
    rounds = 0
    this_round: list[dict[str, Any]] = []  # rows of the round running now
    charts = None if store is None else ChartRecords(store, keep=bool(earlier))
    try:
        with _pool(executor, workers) as pool:
            while batch and rounds < MAX_ROUNDS:
                rounds += 1
                known = [row for row in (_reuse(earlier, t, keys) for t in batch) if row]
                this_round[:] = known
                have = {(r["alternative"], r["replication"]) for r in known}
                batch = [t for t in batch if (t.alternative, t.replication) not in have]
                with progress_bar(progress, len(batch), 0,
                                  f"optimize round {rounds}") as tick:
                    def on_row(row: dict[str, Any], tick: Callable[[], None] = tick) -> None:
                        this_round.append(row)
                        tick()

                    rows = execute(batch, executor=pool, workers=workers, on_row=on_row,
                                   on_chart=None if charts is None else charts.add)
                search.record(sorted([*known, *rows], key=lambda r: (r["alternative"],
                                                                     r["replication"])),
                              objective)
                this_round.clear()
                if store is not None:  # a checkpoint: a hard kill loses one round at most
                    with ignoring_interrupts(defer=True):
                        if charts is not None:  # records first: no row without its record
                            charts.write()
                        _write_progress(store, scenario, keys, settings, search_id,
                                        search.runs, command, started, rounds, RUNNING,
                                        with_scenario=rounds == 1)
                _say_round(search, objective, alpha, rounds, say)
                batch = search.next_batch(_assess(search.all(), alpha))
            best = _assess(search.all(), alpha).best
            if math.isfinite(best.mean):
                n_today = _run_today(search, best.n, pool, workers, earlier_today,
                                     today_rows, progress, say)
    except KeyboardInterrupt as exc:
        rows = [*search.runs, *this_round]
        if store is not None:
            with ignoring_interrupts():
                if charts is not None:
                    charts.write()
                _write_progress(store, scenario, keys, settings, search_id, rows,
                                command, started, rounds, INTERRUPTED)
                if today_rows:
                    write_today_rows(store, today_rows.values(), today_columns(scenario))
        raise OptimizeInterrupted(directory, len(rows), signal_number(exc)) from None
    except BaseException:
        _mark_failed(store, scenario, keys, settings, search_id, [*search.runs, *this_round],
                     command, started, rounds)
        if store is not None and today_rows:
            with ignoring_interrupts(), suppress(OutputError):
                write_today_rows(store, today_rows.values(), today_columns(scenario))
        raise
    state = _assess(search.all(), alpha)
    if not math.isfinite(state.best.mean):
        raise _problem("--objective", "", objective, "is undefined (NaN) in every replication "
                       "of every point; choose another objective")
    ordered = sorted(search.all(), key=lambda c: c.index)
    evaluations = [{"alternative": c.id, **c.params, **state.rows[c.id]} for c in ordered]
    most = max(c.n for c in ordered)
    ci = confidence_interval(state.best.values, 0.95)
    result = OptimizeResult(
        best=dict(state.best.params), objective=objective,
        best_estimate={"mean": ci["mean"], "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
                       "n": ci["n"]},
        not_worse=[dict(c.params) for c in ordered if state.rows[c.id]["not_worse"]],
        n_simulations=len(search.runs), fine_grid_simulations=math.prod(a.size for a in axes)
        * most, evaluations=evaluations,
        runs=sorted(search.runs, key=lambda r: (r["alternative"], r["replication"])),
        directory=None, space=[a.describe() for a in axes], alpha=alpha, seed=root,
        scenario_name=scenario.name, rounds=rounds,
        today=summarise_today(own_params(scenario, keys), list(today_rows.values()),
                              state.best.params,
                              [r for r in search.runs if r["alternative"] == state.best.id],
                              objective, n_today),
        currency=scenario.finance.currency)
    if store is not None:
        try:
            if charts is not None:
                charts.write()
            _write(result, store, scenario, keys, {**settings, "content_id": search_id},
                   command, started)
        except BaseException:
            _mark_failed(store, scenario, keys, settings, search_id, search.runs, command,
                         started, rounds)
            raise
        result.directory = directory
    return result


def _run_today(search: _Search, replications: int, pool: Executor | None,
               workers: int | None, earlier: Mapping[int, dict[str, Any]],
               rows: dict[int, dict[str, Any]], progress: bool,
               say: Callable[[str], None]) -> int:
    """Simulate today (the scenario as given) for ``replications`` replications on the
    search's seeds, into ``rows`` (by replication), taking those of an earlier today.csv;
    how many were simulated."""
    rows.update({r: row for r, row in earlier.items() if r < replications})
    tasks = today_tasks(search.scenario, replications, search.root_seed, rows)
    if not tasks:
        return 0
    say(f"today: simulating the scenario as given ({len(tasks)} "
        f"replication{'s' if len(tasks) != 1 else ''}) to compare the best with it")
    with progress_bar(progress, len(tasks), 0, "optimize today") as tick:
        def on_row(row: dict[str, Any]) -> None:
            rows[int(row["replication"])] = row
            tick()

        for row in execute(tasks, executor=pool, workers=workers, on_row=on_row):
            rows[int(row["replication"])] = row
    return len(tasks)


def _say_round(search: _Search, objective: str, alpha: float, rounds: int,
               say: Callable[[str], None]) -> None:
    state = _assess(search.all(), alpha)
    best = ", ".join(f"{plain_key(k)} {param_text(k, v)}" for k, v in state.best.params.items())
    say(f"round {rounds}: {len(search.runs):,} simulations, {len(search.candidates)} "
        f"points; best so far {best} ({short_label(objective)} "
        f"{figure_text(objective, state.best.mean, search.scenario.finance.currency)}), "
        f"{len(state.not_worse)} not significantly below it")


class OptimizeInterrupted(KeyboardInterrupt):
    """An optimisation stopped by Ctrl-C (or SIGTERM) after writing its finished rows to
    ``directory/runs.csv`` (``result.json`` status ``interrupted``); ``resume=True``
    continues it.  ``signum`` is the signal (SIGINT or SIGTERM)."""

    def __init__(self, directory: Path | None, done: int,
                 signum: int = int(signal.SIGINT)) -> None:
        where = f" kept in {directory}" if directory is not None else " (no out_dir: not kept)"
        super().__init__(f"optimisation interrupted: {done} runs{where}")
        self.directory, self.done, self.signum = directory, done, signum


def _earlier_rows(store: ResultsFolder, search_id: str, resume: bool, overwrite: bool = False
                  ) -> dict[tuple[int, int], dict[str, Any]]:
    """The rows of an earlier run of the same search in the folder, by (alternative,
    replication), with ``resume`` (none without it).  A folder holding another search, or
    rows of something else, is refused either way: its files are never overwritten."""
    document = None if overwrite else store.read_manifest()
    if document is None:
        if store.has_rows() and not overwrite:
            raise OutputError(f"{store.directory} holds {RUNS_FILE} but no {RESULT_FILE}, "
                              "so it is not this optimisation's; choose another --id or "
                              "--out, or --overwrite to replace it")
        return {}
    found = document.get("content_id")
    if found != search_id:
        raise OutputError(f"cannot {'resume' if resume else 'write'} {store.directory}: it "
                          f"holds another optimisation (content id {found!r}, this one is "
                          f"{search_id!r}); run the same scenario, --param, --bounds and "
                          "settings as before to continue it (--resume), or choose another "
                          "--id, or --overwrite to replace it")
    table = store.read_runs() if resume else None
    if table is None:
        return {}
    return with_chart_records(table.by_key(), read_chart_records(store.directory))


def _reuse(earlier: Mapping[tuple[int, int], Mapping[str, Any]], task: Task,
           keys: Sequence[str]) -> dict[str, Any] | None:
    """The earlier row of ``task`` as :func:`~servicesim.experiment.engine.run_task` would
    return it, if there is one for the same point and seed (else None: it is simulated)."""
    row = earlier.get((task.alternative, task.replication))
    if row is None:
        return None
    params = dict(task.params)
    if any(csv_cell(row.get(k)) != csv_cell(params[k]) for k in keys) or \
            row.get("seed") != task.root_seed or type(row.get("seed")) is not int:
        return None
    figures = {k: v for k, v in row.items()
               if k not in ("alternative", "replication", "seed", *keys)}
    if any(k not in figures for k in figure_columns(task.scenario)) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in figures.values()):
        return None
    return {"alternative": task.alternative, **params, "replication": task.replication,
            "seed": task.root_seed, **figures}


def _write_progress(store: ResultsFolder, scenario: Scenario, keys: Sequence[str],
                    settings: Mapping[str, Any], search_id: str,
                    rows: Sequence[dict[str, Any]], command: str | None,
                    started: datetime, rounds: int, status: str,
                    with_scenario: bool = True) -> None:
    """runs.csv (the finished rows), scenario.yaml and a result.json of ``status``:
    ``running`` after each round (a checkpoint that ``--resume`` continues from, should the
    process be killed outright), ``interrupted`` after Ctrl-C or SIGTERM."""
    ordered = sorted(rows, key=lambda r: (r["alternative"], r["replication"]))
    store.write_runs(ordered, _run_columns(keys, scenario), extend=True)
    if with_scenario:
        store.write_text(SCENARIO_FILE, dump_scenario(scenario))
    store.write_manifest(_progress_document(scenario, settings, search_id, ordered, command,
                                            started, rounds, status))


def _progress_document(scenario: Scenario, settings: Mapping[str, Any], search_id: str,
                       rows: Sequence[dict[str, Any]], command: str | None,
                       started: datetime, rounds: int, status: str) -> dict[str, Any]:
    """The result.json of a search not finished (yet): its ``status`` and how far it got."""
    return {
        "status": status, "scenario": scenario.name, **settings,
        "content_id": search_id, "n_simulations": len(rows), "rounds": rounds,
        "command": command, "servicesim_version": VERSION,
        "started": started.isoformat(timespec="seconds"),
        ("interrupted" if status == INTERRUPTED else "saved"):
            datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _mark_failed(store: ResultsFolder | None, scenario: Scenario, keys: Sequence[str],
                 settings: Mapping[str, Any], search_id: str, rows: Sequence[dict[str, Any]],
                 command: str | None, started: datetime, rounds: int) -> None:
    """After an error (a full disk, a worker that keeps dying): the rows so far and a
    result.json of status ``failed``, as far as they can be written; the first error is
    the one to tell."""
    if store is None:
        return
    with ignoring_interrupts():
        with suppress(OutputError):
            _write_progress(store, scenario, keys, settings, search_id, rows, command,
                            started, rounds, FAILED)
            return
        with suppress(OutputError):  # the rows could not be saved: at least the status
            store.write_manifest(_progress_document(scenario, settings, search_id, rows,
                                                    command, started, rounds, FAILED))


class _Search:
    """The points simulated so far and how to extend them (no simulation happens here)."""

    def __init__(self, scenario: Scenario, axes: Sequence[Axis], root_seed: int,
                 max_replications: int) -> None:
        self.scenario = scenario
        self.axes = list(axes)
        self.root_seed = root_seed
        self.max_replications = max_replications
        self.points_per_axis = COARSE_POINTS[len(axes)]
        self.strides = _strides(axes, self.points_per_axis)
        self.candidates: dict[Point, _Candidate] = {}
        self.runs: list[dict[str, Any]] = []

    def all(self) -> list[_Candidate]:
        return list(self.candidates.values())

    def candidate(self, index: Point) -> _Candidate:
        """The point at a lattice index (created, with its validated scenario, on first use)."""
        if index not in self.candidates:
            params = {a.key: a.value(i) for a, i in zip(self.axes, index, strict=True)}
            self.candidates[index] = _Candidate(len(self.candidates), index, params,
                                                apply_params(self.scenario, params))
        return self.candidates[index]

    def tasks_for(self, c: _Candidate, goal: int) -> list[Task]:
        """Tasks that bring ``c`` to ``goal`` replications (the next seeds in order)."""
        if goal <= c.n:
            return []
        tasks = make_tasks([(c.params, c.scenario)], goal, self.root_seed,
                           first_alternative=c.id)
        return [t for t in tasks if t.replication >= c.n]

    def coarse_batch(self, replications: int) -> list[Task]:
        grid = itertools.product(*(_coarse_indices(a.intervals, self.points_per_axis)
                                   for a in self.axes))
        return [t for index in grid for t in self.tasks_for(self.candidate(index),
                                                             replications)]

    def record(self, rows: Sequence[dict[str, Any]], objective: str) -> None:
        """Append finished rows; they come sorted by (alternative, replication)."""
        by_id = {c.id: c for c in self.candidates.values()}
        for row in rows:
            by_id[row["alternative"]].values.append(float(row[objective]))
        self.runs.extend(rows)

    def next_batch(self, state: _Assessment) -> list[Task]:
        """More replications for the undecided points, and the best's missing neighbours at
        the coarsest step where some are missing, at the best's new replication count."""
        goal = _replication_goal(state.not_worse, self.max_replications)
        tasks = [t for c in state.not_worse for t in self.tasks_for(c, goal)]
        best_n = max(goal, state.best.n)
        for stride in self.strides:
            missing = [p for p in _neighbours(state.best.index, stride, self.axes)
                       if p not in self.candidates]
            if missing:
                for index in missing:
                    tasks.extend(self.tasks_for(self.candidate(index), best_n))
                break
        return tasks


def _progress_printer(enabled: bool) -> Callable[[str], None]:
    def say(message: str) -> None:
        if enabled:
            print(f"optimize: {message}", file=sys.stderr, flush=True)

    return say


# --------------------------------------------------------------------------- the files


def _write(result: OptimizeResult, store: ResultsFolder, scenario: Scenario, keys: Sequence[str],
           settings: Mapping[str, Any], command: str | None, started: datetime) -> None:
    """runs.csv, evaluations.csv, scenario.yaml, then result.json — each atomically."""
    evaluations = csv_text(result.evaluations, ["alternative", *keys])
    document = {
        "status": COMPLETE,
        "scenario": scenario.name, "objective": result.objective, "best": result.best,
        "best_estimate": {**result.best_estimate, "confidence_level": 0.95},
        "not_worse": result.not_worse, "n_simulations": result.n_simulations,
        "fine_grid_simulations": result.fine_grid_simulations,
        "points_simulated": len(result.evaluations), "rounds": result.rounds,
        "space": result.space, **settings, "common_random_numbers": True,
        "comparison": "one-sided paired t-test against the best on common replications, "
                      "Holm-corrected", "command": command, "servicesim_version": VERSION,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    store.write_runs(result.runs, _run_columns(keys, scenario), extend=True)
    store.write_text(EVALUATIONS_FILE, evaluations)
    store.write_text(SCENARIO_FILE, dump_scenario(scenario))
    if result.today is not None:
        write_today(store, result.today, today_columns(scenario))
    store.write_manifest(document)


def _run_columns(keys: Sequence[str], scenario: Scenario) -> list[str]:
    """The first columns of ``runs.csv``: the point, its parameters, the replication, the
    root seed, then every figure (a network's per location too:
    :func:`~servicesim.experiment.store.figure_columns`)."""
    return ["alternative", *keys, "replication", "seed", *figure_columns(scenario)]


__all__ = ["Axis", "Bound", "OptimizeInterrupted", "OptimizeResult", "default_step", "holm",
           "nice_step", "optimize", "paired_comparison", "parse_bound"]
