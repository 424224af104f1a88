"""Scenario sweeps: alternatives × replications under common random numbers.

An *alternative* is the base scenario with some fields set (``{"policy.service_target":
0.95}``); a *task* is one replication of one alternative.  Replication *r* of every
alternative uses the same seed — child *r* of ``SeedSequence(root)`` — so every alternative
meets the same customers, quantities and lead times (common random numbers, DOMAIN §6) and
differences between alternatives are sharp.  A task's row depends only on (alternative,
replication), never on where or in which order it ran, so serial, process-pool and Dask runs
give identical rows.

This module is the engine; ``servicesim sweep``/``optimize`` and their result files build on
it.
"""

from __future__ import annotations

import gc
import itertools
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    ProcessPoolExecutor,
    as_completed,
    wait,
)
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import yaml

from ..errors import NOT_SET, Problem, ScenarioError
from ..model.simulation import ReplicationResult, simulate
from ..scenario.schema import Scenario
from .executors import ProcessPool
from .params import apply_params
from .seeds import replication_seeds

MAX_ALTERNATIVES = 100_000
"""A grid larger than this is refused (a typo in a range, not a plan)."""

STEP_RESOLUTION = Decimal("1e-9")
"""The finest step of a ``start:stop:step`` range, relative to its largest bound: finer
steps are below what the figures resolve and print as long runs of digits."""


@dataclass(frozen=True)
class Param:
    """One swept field: its dotted key and the values it takes, in order."""

    key: str
    values: tuple[Any, ...]


def _bad(text: str, option: str, message: str) -> ScenarioError:
    key = text.partition("=")[0].strip()
    return ScenarioError([Problem(option, key, text.partition("=")[2].strip() or NOT_SET,
                                  message, None, f"{option} {text}")])


def _range_values(text: str, spec: str, option: str) -> tuple[Any, ...]:
    """``start:stop:step`` → start, start+step, ... up to stop (inclusive), exact decimals."""
    parts = spec.split(":")
    if len(parts) != 3:
        raise _bad(text, option, "a range is start:stop:step, e.g. 0.80:0.995:0.005")
    try:
        start, stop, step = (Decimal(p.strip()) for p in parts)
    except InvalidOperation:
        raise _bad(text, option, "start, stop and step of a range must be numbers") from None
    if not all(x.is_finite() for x in (start, stop, step)):
        raise _bad(text, option, "start, stop and step must be finite numbers")
    if step <= 0:
        raise _bad(text, option, f"the step must be > 0 (got {step})")
    if stop < start:
        raise _bad(text, option, f"the range is empty: stop ({stop}) is below start ({start})")
    if not all(math.isfinite(float(x)) for x in (start, stop, step)):
        raise _bad(text, option, "start, stop and step must be numbers a float can hold "
                                 "(at most about 1.8e308)")
    if step < STEP_RESOLUTION * max(abs(start), abs(stop)):
        finest = float(STEP_RESOLUTION * max(abs(start), abs(stop)))
        raise _bad(text, option, f"the step {float(step):g} is finer than the range resolves: "
                                 f"the smallest step allowed is {finest:g} "
                                 f"({STEP_RESOLUTION:g} × the largest bound)")
    count = int((stop - start) / step) + 1
    if count > MAX_ALTERNATIVES:
        raise _bad(text, option, f"the range has {count:,} values; at most "
                                 f"{MAX_ALTERNATIVES:,} are allowed")
    integral = all(x == x.to_integral_value() for x in (start, step))
    values = [start + i * step for i in range(count)]
    return tuple(int(v) if integral else float(v) for v in values)


def parse_param(text: str, option: str = "--param") -> Param:
    """Parse ``key=start:stop:step`` (inclusive range), ``key=a,b,c`` (YAML values) or
    ``key=[v1, v2]`` (a YAML list, whose items may be mappings such as reaction mixes).

    Raises :class:`ScenarioError` naming the option, key and value when it is malformed;
    whether the key exists and the values are allowed is checked by :func:`alternatives`.
    """
    key, sep, spec = text.partition("=")
    key, spec = key.strip(), spec.strip()
    if not sep or not key:
        raise _bad(text, option, "expects KEY=VALUES, e.g. policy.service_target=0.80:0.99:0.01"
                                 " or policy.service_target=0.9,0.95,0.99")
    if not spec:
        raise _bad(text, option, "no values given")
    if key in EXPERIMENT_KEYS:
        refuse_experiment_keys({key: spec}, option)
    if ":" in spec and not spec.lstrip().startswith(("{", "[")):
        return Param(key, _range_values(text, spec, option))
    if spec.startswith("["):  # a YAML list: each item is one value (mappings allowed)
        try:
            items = yaml.safe_load(spec)
        except yaml.YAMLError:
            raise _bad(text, option, f"cannot read {spec!r} as a YAML list") from None
        if not isinstance(items, list) or not items:
            raise _bad(text, option, "a [list] of values needs at least one value")
        return Param(key, tuple(items))
    values = []
    for item in spec.split(",") if not spec.startswith("{") else [spec]:
        item = item.strip()
        if not item:
            raise _bad(text, option, "an empty value in the list")
        try:
            values.append(yaml.safe_load(item))
        except yaml.YAMLError:
            raise _bad(text, option, f"cannot read {item!r} as a value") from None
    return Param(key, tuple(values))


def grid(params: Sequence[Param]) -> list[dict[str, Any]]:
    """The full grid: one assignment ``{key: value}`` per alternative, first key slowest."""
    keys = [p.key for p in params]
    if len(set(keys)) != len(keys):
        raise ScenarioError([Problem("--param", k, NOT_SET, "swept twice", None, "--param")
                             for k in sorted({k for k in keys if keys.count(k) > 1})])
    size = int(np.prod([len(p.values) for p in params])) if params else 1
    if size > MAX_ALTERNATIVES:
        raise ScenarioError([Problem("--param", ", ".join(keys), NOT_SET,
                                     f"the grid has {size:,} alternatives; at most "
                                     f"{MAX_ALTERNATIVES:,} are allowed", None, "--param")])
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(p.values for p in params))]




EXPERIMENT_KEYS = ("run.seed", "run.replications")
"""Keys that belong to the whole experiment, not to one alternative: every alternative runs
the same replications from the same seeds (common random numbers, DOMAIN §6)."""


def refuse_experiment_keys(assignment: Mapping[str, Any], option: str) -> None:
    """Raise :class:`ScenarioError` if ``assignment`` sets an :data:`EXPERIMENT_KEYS` key
    (alone or joined by ``+``): alternatives cannot differ in their seeds or replications."""
    problems = [
        Problem(option, k.strip(), str(value), f"{k.strip()} cannot differ between "
                "alternatives: they all run the same replications from the same seeds "
                "(common random numbers); set it for the whole run with --seed or "
                "--replications")
        for key, value in assignment.items() for k in key.split("+")
        if k.strip() in EXPERIMENT_KEYS]
    if problems:
        raise ScenarioError(problems)


def alternatives(scenario: Scenario, params: Sequence[Param]) -> list[
        tuple[dict[str, Any], Scenario]]:
    """Every alternative of the grid with its validated scenario (all problems at once)."""
    refuse_experiment_keys({p.key: ",".join(map(str, p.values)) for p in params}, "--param")
    out: list[tuple[dict[str, Any], Scenario]] = []
    problems: list[Problem] = []
    for assignment in grid(params):
        try:
            out.append((assignment, apply_params(scenario, assignment)))
        except ScenarioError as exc:
            problems.extend(p for p in exc.problems if p not in problems)
    if problems:
        raise ScenarioError(problems)
    return out


@dataclass(frozen=True)
class Task:
    """One replication of one alternative: everything a worker needs, picklable."""

    alternative: int
    params: tuple[tuple[str, Any], ...]
    replication: int
    root_seed: int
    seed: np.random.SeedSequence
    scenario: Scenario


def make_tasks(items: Sequence[tuple[Mapping[str, Any], Scenario]], replications: int,
               root_seed: int, first_alternative: int = 0) -> list[Task]:
    """Tasks for ``replications`` replications of each alternative, with common seeds."""
    seeds = replication_seeds(root_seed, replications)
    return [Task(first_alternative + i, tuple(assignment.items()), r, root_seed, seeds[r],
                 scenario)
            for i, (assignment, scenario) in enumerate(items) for r in range(replications)]


CHART_RECORD = "chart_record"
"""Key of the record that the row of an alternative's replication 0 carries for the charts
(:func:`chart_record`); :func:`execute` takes it off the row and hands it to ``on_chart``."""


def chart_record(result: ReplicationResult) -> dict[str, Any]:
    """What the charts need of one replication beyond its figures: the order-cycle-time
    histogram (``[upper bin edge in days, orders]`` of the non-empty bins), the units short
    by reaction, units demanded and delivered, gross margin and defections."""
    return {
        "cycle_time_counts": [[edge, count]
                              for edge, count in sorted(result.cycle_time_counts.items())],
        "units_short_by_reaction": dict(result.units_short_by_reaction),
        "units_demanded": result.details["units_demanded"],
        "units_delivered": result.details["units_delivered"],
        "gross_margin": result.kpis["gross_margin"],
        "defections": result.kpis["defections"],
    }


def location_cells(result: ReplicationResult) -> dict[str, float]:
    """A network replication's figures per location as cells ``<location>.<figure>`` (DOMAIN
    §7; none without ``locations``)."""
    return {f"{location}.{figure}": value for location, row in result.by_location.items()
            for figure, value in row.items()}


COLLECT_AFTER_GROWTH_BYTES = 64 * 2**20
"""A worker collects the garbage of the models it dropped once it holds this much more
memory than after its last collection.  A dropped model holds reference cycles (its
processes' generators, samplers built on first use) that only the cyclic collector frees,
and the collector is off during runs: left to its own schedule, a big model's cycles slowed
the next runs in the same worker (a 1-DC, 20-branch, 200-SKU network's runs took 1.22,
1.48, 1.85, 2.05, 2.30, 2.73 s in a row; 0.9 s each with a collection between), and a
1,000-SKU scenario's 0.4 s runs left 9 MiB each (a frontier worker grew to 1.2 GB).  A
collection costs 0.04–0.2 s, too much after every short run."""

COLLECT_AFTER_SECONDS = 2.0
"""A worker also collects after a run this long in CPU time, whatever it left."""


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux; None where ``/proc`` has no answer)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Collector:
    """When a worker collects the garbage of the models it dropped: once it has grown by
    :data:`COLLECT_AFTER_GROWTH_BYTES` since the last collection, or after a run of
    :data:`COLLECT_AFTER_SECONDS` of CPU time (one per process: :data:`COLLECTOR`)."""

    def __init__(self, resident: Callable[[], int | None] = resident_bytes) -> None:
        self.resident = resident
        self.floor: int | None = None

    def after_run(self, cpu_seconds: float) -> bool:
        """Collect if due; whether it did."""
        now = self.resident()
        grown = now is not None and self.floor is not None \
            and now - self.floor >= COLLECT_AFTER_GROWTH_BYTES
        if cpu_seconds < COLLECT_AFTER_SECONDS and not grown:
            if self.floor is None:
                self.floor = now
            return False
        gc.collect()
        self.floor = self.resident()
        return True


COLLECTOR = Collector()
"""This process's :class:`Collector` (a worker's housekeeping, not a model's state)."""


def run_task(task: Task) -> dict[str, Any]:
    """Simulate one task; its tidy row: alternative, parameters, replication, seed, figures
    (a network's per location too: :func:`location_cells`; and, for replication 0, the
    chart record under :data:`CHART_RECORD`)."""
    started = time.process_time()
    result = simulate(task.scenario, task.seed)
    COLLECTOR.after_run(time.process_time() - started)
    row = {"alternative": task.alternative, **dict(task.params),
           "replication": task.replication, "seed": task.root_seed, **result.kpis,
           **location_cells(result)}
    if task.replication == 0:
        row[CHART_RECORD] = chart_record(result)
    return row


MAX_ATTEMPTS = 3
"""How often one task may end the worker process running it before :func:`execute` gives up."""


class WorkerDied(RuntimeError):
    """Worker processes died running a task again and again (a crash that ends the process:
    memory exhausted, a fault in native code); the message names the task.  The rows
    finished before are delivered (``on_row``) and kept by sweeps."""

    def __init__(self, message: str, task: Task | None = None) -> None:
        super().__init__(message)
        self.task = task


class ExecutorLost(WorkerDied):
    """The executor cancelled the runs it held, all at once: a Dask scheduler that stopped,
    or whose connection was lost, does so.  Handled as :class:`WorkerDied`: the rows finished
    before are delivered (``on_row``) and kept by sweeps."""


def _lost(task: Task) -> ExecutorLost:
    return ExecutorLost(
        f"the executor cancelled {describe_task(task)} and every run it still held: the Dask "
        "scheduler stopped or the connection to it was lost.  The finished runs' rows are "
        "kept: check that the scheduler is running, then --resume", task)


def describe_task(task: Task) -> str:
    """``alternative 3 (policy.service_target=0.9), replication 2`` for messages."""
    params = ", ".join(f"{key}={value}" for key, value in task.params) or "base scenario"
    return f"alternative {task.alternative} ({params}), replication {task.replication}"


def _died(task: Task, attempts: int | None, detail: str = "") -> WorkerDied:
    times = "" if attempts is None else f" {attempts} time{'s' if attempts != 1 else ''}"
    return WorkerDied(
        f"{describe_task(task)}: the worker process running it died{times}{detail}, so "
        "it was given up; the other runs' "
        "rows are kept.  A process ends like this when memory runs out or native code "
        "crashes: try fewer --workers, a shorter horizon or fewer SKUs, then --resume",
        task)


def execute(tasks: Iterable[Task], executor: Executor | None = None, workers: int | None = None,
            on_row: Callable[[dict[str, Any]], None] | None = None, *,
            run: Callable[[Task], dict[str, Any]] = run_task,
            max_attempts: int = MAX_ATTEMPTS,
            on_chart: Callable[[int, dict[str, Any]], None] | None = None
            ) -> list[dict[str, Any]]:
    """Run tasks and return their rows sorted by (alternative, replication).

    ``executor`` may be any ``concurrent.futures.Executor`` (a process pool, a Dask
    ``Client.get_executor()``, ...); without one, ``workers=1`` runs serially in this
    process and otherwise a process pool of ``workers`` (default: all cores) is used.
    ``on_row`` is called with each row as soon as it is done (in completion order);
    ``run`` is what a worker calls on a task (default :func:`run_task`).  A row's chart
    record (:data:`CHART_RECORD`) is taken off it and given to ``on_chart`` with the row's
    alternative, so that rows hold figures only.

    A worker process that dies breaks a process pool: the pool is rebuilt and the runs
    it held are run again, each alone, so that the one that ended the worker is found; a
    task that ends its worker ``max_attempts`` times raises :class:`WorkerDied` (after
    every other row came).  Dask reschedules a lost worker's tasks itself and gives up on
    a task that kills several workers (``KilledWorker``), also raised as
    :class:`WorkerDied`.  Every task yields exactly one row.
    """
    tasks = list(tasks)
    rows: list[dict[str, Any]] = []

    def done(row: dict[str, Any]) -> None:
        record = row.pop(CHART_RECORD, None)
        if record is not None and on_chart is not None:
            on_chart(row["alternative"], record)
        rows.append(row)
        if on_row is not None:
            on_row(row)

    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1 (got {max_attempts})")
    if executor is None and (workers == 1 or len(tasks) <= 1):
        for task in tasks:
            done(run(task))
    elif executor is None:
        n = min(workers or os.cpu_count() or 1, len(tasks))
        with ProcessPool(n) as pool:
            for row in _on_pool(pool, tasks, run, max_attempts):
                done(row)
    else:
        for row in _as_done(executor, tasks, run, max_attempts):
            done(row)
    rows.sort(key=lambda r: (r["alternative"], r["replication"]))
    return rows


def _as_done(executor: Executor, tasks: Sequence[Task], run: Callable[[Task], dict[str, Any]],
             max_attempts: int) -> Iterator[dict[str, Any]]:
    if isinstance(executor, ProcessPool):
        yield from _on_pool(executor, tasks, run, max_attempts)
        return
    if isinstance(executor, ProcessPoolExecutor):  # the caller's: replaced if it breaks
        with ProcessPool.adopting(executor) as pool:
            yield from _on_pool(pool, tasks, run, max_attempts)
        return
    futures = {executor.submit(run, task): task for task in tasks}
    given_up: list[tuple[Task, str]] = []
    try:
        for future in as_completed(futures):
            try:
                row = future.result()
            except CancelledError:  # not by us: we cancel only after this loop
                raise _lost(futures[future]) from None
            except Exception as exc:
                given_up.append((futures[future], _killed_worker(exc)))
                continue
            yield row
    finally:
        for future in futures:
            future.cancel()
    if len(given_up) > 1:
        # Dask gives up on every task that was running on a worker each time it died: the
        # bystanders of a task that kills its workers too.  Each is tried again on its own;
        # the one that kills its worker again is given up for good.
        retried, given_up = given_up, []
        for task, _ in retried:
            future = executor.submit(run, task)
            try:
                row = future.result()
            except Exception as exc:
                given_up.append((task, _killed_worker(exc)))
                continue
            finally:
                future.cancel()
            yield row
    if given_up:
        task, text = given_up[0]
        raise _died(task, None, f" (Dask gave up on it: {text})")


def _killed_worker(exc: Exception) -> str:
    """The message of Dask's ``KilledWorker`` (a task that was running on a worker each time
    it died, too often), shortened; any other exception is raised again."""
    if type(exc).__name__ != "KilledWorker":  # distributed.scheduler.KilledWorker
        raise exc
    return " ".join(str(exc).split())[:200]


def _on_pool(pool: ProcessPool, tasks: Sequence[Task], run: Callable[[Task], dict[str, Any]],
             max_attempts: int) -> Iterator[dict[str, Any]]:
    """Rows of ``tasks`` from a restartable process pool, surviving dead workers.

    At most two tasks per worker are in flight, so a broken pool loses few runs.  After a
    break the pool is rebuilt and the lost runs (the suspects) are run one at a time: a
    break while a suspect runs alone is charged to it, and one charged ``max_attempts``
    times is given up (:class:`WorkerDied`, raised when every other task is done).
    Innocent runs are never charged, and every break either charges a task or is
    followed by a row, so this ends.
    """
    waiting: deque[Task] = deque(tasks)
    suspects: deque[Task] = deque()
    charged: dict[tuple[int, int], int] = {}
    given_up: list[WorkerDied] = []
    running: dict[Future[dict[str, Any]], Task] = {}
    window = 2 * pool.workers
    idle_breaks = 0  # breaks since the last row that no task could be charged with

    def submit(task: Task) -> bool:
        try:
            running[pool.submit(run, task)] = task
            return True
        except BrokenExecutor:  # broke before this task was sent: nothing to charge
            suspects.appendleft(task)
            return False

    alone: Task | None = None  # the suspect running by itself, if one is
    try:
        while waiting or suspects or running:
            broken = False
            if suspects:
                if not running:
                    alone = suspects.popleft()
                    broken = not submit(alone)
            else:
                alone = None
                while waiting and len(running) < window and not broken:
                    broken = not submit(waiting.popleft())
            lost: list[Task] = []
            if running and not broken:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = running.pop(future)
                    try:
                        row = future.result()
                    except BrokenExecutor:
                        broken = True
                        lost.append(task)
                    else:
                        idle_breaks = 0
                        yield row
            if not broken:
                continue
            # the pool is broken: every other future fails soon; keep those that finished
            finished, late = wait(running, timeout=60)
            for future in finished:
                task = running.pop(future)
                try:
                    row = future.result()
                except BrokenExecutor:
                    lost.append(task)
                else:
                    idle_breaks = 0
                    yield row
            for future in late:
                future.cancel()
                lost.append(running.pop(future))
            pool.restart()
            if alone is not None and lost == [alone]:
                key = (alone.alternative, alone.replication)
                charged[key] = charged.get(key, 0) + 1
                if charged[key] >= max_attempts:
                    given_up.append(_died(alone, charged[key]))
                    continue
            else:
                idle_breaks += 1
                if idle_breaks > max_attempts + 1:
                    raise WorkerDied(f"the process pool broke {idle_breaks} times in a row "
                                     "without finishing a run; its workers cannot run (out of "
                                     "memory?): try fewer --workers")
            suspects.extendleft(reversed(sorted(lost, key=lambda t: (t.alternative,
                                                                     t.replication))))
    finally:
        for future in running:
            future.cancel()
    if given_up:
        raise given_up[0]


__all__ = ["MAX_ATTEMPTS", "ExecutorLost", "Param", "Task", "WorkerDied", "alternatives",
           "apply_params", "describe_task", "execute", "grid", "make_tasks", "parse_param",
           "refuse_experiment_keys", "run_task"]
