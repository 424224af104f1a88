"""Simulations off the request thread: one job at a time, cancelled by the next.

A job runs in a thread of its own and sends its simulations to a process pool kept warm for
the page.  It hands the public API (:func:`~servicesim.experiment.compare.compare`,
:func:`~servicesim.experiment.sweep.run_sweep`, :func:`~servicesim.experiment.engine.execute`)
a :class:`TrackedExecutor`: every replication submitted through it is counted for the
progress bar, and cancelling the job cancels the replications that have not started.
Cancellation is cooperative, between replications: a replication already running finishes
in its worker and its row is dropped; the job ends as soon as the API sees the cancelled
runs, so the page never waits for a whole experiment.
"""

from __future__ import annotations

import io
import itertools
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future
from dataclasses import dataclass, field
from typing import Any

from ..errors import ScenarioError
from ..experiment.compare import Comparison, compare
from ..experiment.engine import Task, execute, make_tasks
from ..experiment.executors import ProcessPool
from ..experiment.statistics import figure_interval
from ..files import OutputError
from ..model.simulation import simulate
from ..policies.derivation import derive_policies
from ..scenario.schema import Scenario

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"


class Cancelled(Exception):
    """The job was cancelled (a newer request replaced it)."""


class Job:
    """One request's work: its progress, its outcome, and a cancel switch."""

    _ids = itertools.count(1)

    def __init__(self, kind: str) -> None:
        self.id = next(self._ids)
        self.kind = kind
        self.state = RUNNING
        self.done = 0
        self.total = 0
        self.result: Any = None
        self.error = ""
        self.started = time.perf_counter()
        self.seconds = 0.0
        self._cancel = threading.Event()
        self._futures: list[Future[Any]] = []
        self._lock = threading.Lock()
        self.finished = threading.Event()
        self.meta: dict[str, Any] = {}
        """What the page keeps with the job (the edits it ran)."""

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` once the job is cancelled (between steps)."""
        if self._cancel.is_set():
            raise Cancelled

    def cancel(self) -> None:
        """Stop submitting, and cancel the replications that have not started."""
        self._cancel.set()
        with self._lock:
            futures = list(self._futures)
        for future in futures:
            future.cancel()

    def track(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.append(future)
            self.total = max(self.total, len(self._futures))
        if self._cancel.is_set():
            future.cancel()
        future.add_done_callback(self._count)

    def _count(self, future: Future[Any]) -> None:
        if not future.cancelled():
            with self._lock:
                self.done += 1

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def wait(self, timeout: float | None = None) -> bool:
        return self.finished.wait(timeout)


class TrackedExecutor(Executor):
    """An executor that hands work to ``inner`` and lets ``job`` count and cancel it."""

    def __init__(self, inner: Executor, job: Job) -> None:
        self.inner = inner
        self.job = job

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.job.check()
        future = self.inner.submit(fn, *args, **kwargs)
        self.job.track(future)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """The inner pool is the page's: it stays up for the next job."""


class Runner:
    """Runs one job at a time on ``executor`` (the page's warm process pool, shared by
    runners); starting a job cancels the one running."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.current: Job | None = None
        self._lock = threading.Lock()

    def start(self, kind: str, work: Callable[[Job, Executor], Any]) -> Job:
        """Cancel the running job and start ``work(job, executor)`` in a new thread."""
        job = Job(kind)
        with self._lock:
            if self.current is not None:
                self.current.cancel()
            self.current = job
        threading.Thread(target=self._run, args=(job, work), daemon=True,
                         name=f"servicesim-app-{kind}-{job.id}").start()
        return job

    def cancel(self) -> None:
        """Cancel the running job, if any."""
        with self._lock:
            if self.current is not None:
                self.current.cancel()

    def _run(self, job: Job, work: Callable[[Job, Executor], Any]) -> None:
        try:
            job.result = work(job, TrackedExecutor(self.executor, job))
            job.state = CANCELLED if job.cancelled else DONE
        except Exception as exc:  # shown on the page in words, never as a traceback
            if job.cancelled:
                job.state = CANCELLED
            else:
                job.state, job.error = FAILED, failure_text(exc)
                if isinstance(exc, BrokenExecutor) and isinstance(self.executor, ProcessPool):
                    self.executor.restart()
        finally:
            job.seconds = time.perf_counter() - job.started
            job.finished.set()


def make_pool(workers: int | None = None) -> ProcessPool:
    """The page's process pool: ``workers`` processes (default up to 2), started on first
    use and kept warm between requests."""
    return ProcessPool(max(1, workers or min(2, os.cpu_count() or 1)))


def failure_text(exc: BaseException) -> str:
    """An exception in plain words for the page."""
    if isinstance(exc, ScenarioError):
        return "; ".join(str(p) for p in exc.problems[:5])
    if isinstance(exc, OutputError | OSError):
        return f"cannot write the results: {exc}"
    return f"the simulation failed ({type(exc).__name__}: {str(exc)[:300]})"


# ------------------------------------------------------------------------ what-if


THEORY_FIGURE = {"fill_rate": "item_fill_rate", "cycle_service_level": "cycle_service_level"}
"""The per-SKU simulated figure that a service metric predicts (β or α; DOMAIN §3, §5)."""


def sku_service_row(task: Task) -> dict[str, Any]:
    """One replication's per-SKU β and α (the theory check's ``run`` for
    :func:`~servicesim.experiment.engine.execute`)."""
    result = simulate(task.scenario, task.seed)
    return {"alternative": task.alternative, "replication": task.replication,
            "by_sku": {sku: {k: row[k] for k in ("item_fill_rate", "cycle_service_level")}
                       for sku, row in result.by_sku.items()}}


@dataclass(frozen=True)
class TheoryRow:
    """One SKU: the formula's predicted service and the simulated one (mean, 95 % CI)."""

    sku: str
    policy: str
    metric: str
    target: float | None
    predicted: float | None
    simulated: Mapping[str, float]


@dataclass(frozen=True)
class WhatIf:
    """Today against the edited scenario (a :class:`Comparison`) and the theory check of
    the edited one."""

    comparison: Comparison
    theory: tuple[TheoryRow, ...] = field(default=())


def theory_rows(scenario: Scenario, replications: int, seed: int,
                executor: Executor | None) -> tuple[TheoryRow, ...]:
    """The derived policies' predicted α or β per SKU against the simulated one over
    ``replications`` replications (the seeds of the comparison: the same runs)."""
    derived = derive_policies(scenario)
    rows = execute(make_tasks([({}, scenario)], replications, seed), executor, workers=1,
                   run=sku_service_row)
    out = []
    for sku, policy in derived.items():
        figure = THEORY_FIGURE[policy.service_metric]
        values = [r["by_sku"][sku][figure] for r in rows if sku in r["by_sku"]]
        out.append(TheoryRow(sku, policy.type, policy.service_metric, policy.service_target,
                             policy.predicted_service, figure_interval(figure, values)))
    return tuple(out)


def what_if(today: Scenario, edited: Scenario, replications: int, job: Job | None = None,
            executor: Executor | None = None) -> WhatIf:
    """Today and the edited scenario for ``replications`` common replications (today's
    seed), paired (:func:`compare`), and the edited scenario's theory check."""
    seed = today.run.seed
    comparison = compare([today, edited], ["today", "edited"], replications=replications,
                         seed=seed, executor=executor, workers=1, out_dir=None)
    if job is not None:
        job.check()
    theory = theory_rows(edited, replications, seed, executor)
    return WhatIf(comparison, theory)


def what_if_work(today: Scenario, edited: Scenario, replications: int
                 ) -> Callable[[Job, Executor], WhatIf]:
    """The what-if as a :class:`Runner` job."""
    def work(job: Job, executor: Executor) -> WhatIf:
        job.total = 3 * replications
        return what_if(today, edited, replications, job, executor)

    return work


# --------------------------------------------------------------------------- sweep


TARGET_KEY = "policy.service_target"


def sweep_targets(low: float, high: float, points: int) -> list[float]:
    """``points`` service targets evenly from ``low`` to ``high`` (rounded to 0.001)."""
    if not (0 < low < high < 1) or not 3 <= points <= 25:
        raise ValueError("the sweep needs 0 < from < to < 1 and 3 to 25 points "
                         f"(got from {low:g}, to {high:g}, {points} points)")
    step = (high - low) / (points - 1)
    return sorted({round(low + i * step, 3) for i in range(points)})


@dataclass(frozen=True)
class SweepChart:
    """A quick sweep's folder, its best target and not-worse targets, and the chart PNG."""

    directory: str
    best: float
    not_worse: tuple[float, ...]
    png: bytes


def quick_sweep(scenario: Scenario, targets: Sequence[float], replications: int,
                results_dir: str | os.PathLike[str], job: Job | None = None,
                executor: Executor | None = None) -> SweepChart:
    """ROI against the service target over ``targets`` (a sweep written to
    ``results_dir``, resumed where it stopped), drawn by the project's objective chart."""
    from ..experiment.sweep import plan_sweep, run_sweep
    from ..outputs.charts.objective import objective_chart
    from ..outputs.results import load_results

    param = f"{TARGET_KEY}=" + ",".join(repr(t) for t in targets)
    plan = plan_sweep(scenario, [param], replications=replications, seed=scenario.run.seed,
                      out_dir=results_dir, resume=True)
    if job is not None:
        job.total = max(plan.n_planned + plan.replications - len(plan.done), 1)
    result = run_sweep(plan, executor=executor, workers=1, command="servicesim app")
    results = load_results(result.directory)
    figure = objective_chart(results)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=72)
    best = results.best_alternative.params[TARGET_KEY]
    not_worse = tuple(a.params[TARGET_KEY] for a in results.alternatives
                      if a.id in set(results.not_worse))
    return SweepChart(str(result.directory), float(best), tuple(map(float, not_worse)),
                      buffer.getvalue())

