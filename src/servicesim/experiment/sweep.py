"""Sweeps: every alternative of a parameter grid × replications, in files that survive a kill.

``sweep(scenario, ["policy.service_target=0.80:0.99:0.01"])`` runs each alternative (the
scenario with the swept fields set) for the same replications — replication *r* of every
alternative uses child *r* of ``SeedSequence(seed)``, so all alternatives meet the same
customers, quantities and lead times (common random numbers, DOMAIN §6) — and writes
``<out_dir>/<scenario name>/<sweep id>/``:

- ``runs.csv``: one row per alternative × replication (``alternative``, each swept key,
  ``replication``, ``seed``, every figure of :data:`~servicesim.kpis.SUMMARY_KEYS` at full
  precision, and for a network each location's figures ``<location>.<figure>``:
  :func:`~servicesim.experiment.store.figure_columns`), sorted by (alternative,
  replication).  Rows are added as runs finish and the file is rewritten atomically at
  most about once a second, so a kill leaves whole rows;
- ``summary.csv``: mean, 95 % Student-t interval, standard deviation and count per
  alternative and figure, derived from ``runs.csv`` when the sweep completes;
- ``manifest.json``: what was run (scenario, parameters, replications, root seed), by which
  commands, with which servicesim version, when, and its status (``running``, ``complete``,
  ``interrupted`` or ``failed``);
- ``scenario.yaml``: the base scenario as run;
- ``today.csv`` and ``today.json``: the scenario as given (*today*), run for the same
  replications from the same seeds, and the best alternative's paired difference from it
  (:mod:`servicesim.experiment.today`).

The default sweep id is a hash of what is run, so the same sweep finds its folder again:
``resume=True`` runs only the missing (alternative, replication) pairs, and the final
``runs.csv`` is byte for byte that of an uninterrupted run.  :func:`plan_sweep` checks
everything (parameters, folder, an earlier run to resume) before anything runs;
:func:`run_sweep` runs a plan; :func:`sweep` does both.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import VERSION
from ..files import OutputError, csv_cell, safe_folder_name
from ..kpis import SUMMARY_KEYS
from ..scenario.schema import Scenario
from ..scenario.serialise import dump_scenario
from .engine import Param, Task, alternatives, execute, make_tasks, parse_param
from .executors import ignoring_interrupts, make_executor, signal_number
from .params import apply_params, check_disjoint
from .statistics import figure_interval
from .store import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    RUNNING,
    RUNS_FILE,
    SCENARIO_FILE,
    ChartRecords,
    ResultsFolder,
    RunsFile,
    check_run_id,
    content_id,
    csv_line,
    figure_columns,
    read_chart_records,
    with_chart_records,
)
from .today import (
    ALPHA,
    TODAY,
    TODAY_CSV,
    TODAY_JSON,
    Today,
    decision_lines,
    not_worse_ids,
    own_params,
    read_today_rows,
    remove_today,
    summarise_today,
    today_columns,
    write_today,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = [
    "CONFIDENCE_LEVEL",
    "SweepError",
    "SweepInterrupted",
    "SweepPlan",
    "SweepResult",
    "default_sweep_id",
    "plan_sweep",
    "run_sweep",
    "sweep",
    "today_tasks",
]

SUMMARY_FILE, MANIFEST_FILE = "summary.csv", "manifest.json"
CONFIDENCE_LEVEL = 0.95
STATS = ("mean", "ci_low", "ci_high", "std", "n")
"""The statistics of each figure in ``summary.csv``, after the alternative and figure."""

_FLUSH_SECONDS = 1.0
"""How often at most ``runs.csv`` is rewritten while rows come in."""
Key = tuple[int, int]  # (alternative, replication)


class SweepError(OutputError):
    """A sweep's folder cannot be used as asked: it holds rows and ``resume`` was not
    given, or it holds another sweep.  The message says what to do."""


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by Ctrl-C (or SIGTERM) after saving its finished rows (status
    ``interrupted``); ``signum`` is the signal (SIGINT or SIGTERM)."""

    def __init__(self, directory: Path, done: int, total: int,
                 signum: int = int(signal.SIGINT)) -> None:
        super().__init__(f"sweep interrupted: {done} of {total} runs kept in {directory}")
        self.directory, self.done, self.total = directory, done, total
        self.signum = signum


# ----------------------------------------------------------------------------- cells


def _plain(value: Any) -> Any:
    """``value`` as JSON data (tuples become lists), for comparing and hashing."""
    return json.loads(json.dumps(value, allow_nan=False, default=str))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")



# ------------------------------------------------------------------------------ plan


def today_tasks(scenario: Scenario, replications: int, root_seed: int,
                done: Iterable[int] = ()) -> list[Task]:
    """Tasks of the replications of today not ``done``: the scenario as given, numbered
    :data:`~servicesim.experiment.today.TODAY`, replication *r* with the seed that every
    alternative's replication *r* has (common random numbers)."""
    have = set(done)
    tasks = make_tasks([({}, scenario)], replications, root_seed, first_alternative=TODAY)
    return [t for t in tasks if t.replication not in have]


def default_sweep_id(scenario: Scenario, params: Sequence[Param], replications: int,
                     seed: int) -> str:
    """``sweep-`` and 10 hex digits of a SHA-256 over everything that decides the rows."""
    return content_id("sweep", _identity(scenario, params, replications, seed))


def _identity(scenario: Scenario, params: Sequence[Param], replications: int,
              seed: int) -> dict[str, Any]:
    return {"scenario": _plain(scenario.model_dump(mode="json")),
            "params": [{"key": p.key, "values": _plain(list(p.values))} for p in params],
            "replications": replications, "seed": seed}


def _check_sweep_id(sweep_id: str) -> str:
    return check_run_id(sweep_id, "a sweep id names a folder", SweepError)


@dataclass(frozen=True)
class SweepPlan:
    """A checked sweep, ready to run: its alternatives, folder and the rows already done.

    Made by :func:`plan_sweep`; :func:`run_sweep` runs it.
    """

    scenario: Scenario
    """The base scenario as run (``run.replications`` and ``run.seed`` set)."""
    params: tuple[Param, ...]
    items: tuple[tuple[dict[str, Any], Scenario], ...] = field(repr=False)
    """Every alternative: its assignment ``{key: value}`` and its validated scenario."""
    replications: int
    seed: int
    sweep_id: str
    directory: Path
    done: dict[Key, dict[str, Any]] = field(repr=False)
    """Rows found in an earlier run's ``runs.csv`` (resume), by (alternative, replication)."""
    sessions: tuple[dict[str, Any], ...] = field(repr=False, default=())
    """Earlier runs of this sweep, from its manifest (resume)."""
    resume: bool = False
    """Whether the plan continues the rows of an earlier run (else the folder had none)."""
    today_done: dict[int, dict[str, Any]] = field(repr=False, default_factory=dict)
    """Rows of today found in an earlier run's ``today.csv`` (resume), by replication."""

    @property
    def folder(self) -> ResultsFolder:
        """The results folder (its files, manifest and lock)."""
        return ResultsFolder(self.directory, MANIFEST_FILE, SweepError)

    @property
    def n_alternatives(self) -> int:
        return len(self.items)

    @property
    def n_planned(self) -> int:
        """Simulations of the whole sweep (alternatives × replications)."""
        return len(self.items) * self.replications

    @property
    def figures(self) -> tuple[str, ...]:
        """The figure columns of ``runs.csv`` (:func:`~.store.figure_columns`)."""
        return figure_columns(self.scenario)

    @property
    def columns(self) -> list[str]:
        """The columns of ``runs.csv``."""
        return ["alternative", *(p.key for p in self.params), "replication", "seed",
                *self.figures]

    def pending(self) -> list[Task]:
        """The tasks not yet done, in (alternative, replication) order, then today's."""
        tasks = make_tasks(list(self.items), self.replications, self.seed)
        return [t for t in tasks if (t.alternative, t.replication) not in self.done] + \
            today_tasks(self.scenario, self.replications, self.seed, self.today_done)

    def row_cells(self, row: Mapping[str, Any]) -> list[str]:
        return [csv_cell(row.get(column)) for column in self.columns]

    def identity(self) -> dict[str, Any]:
        """What decides the rows; a resumed sweep must match it."""
        return _identity(self.scenario, self.params, self.replications, self.seed)


def plan_sweep(scenario: Scenario, params: Sequence[Param | str], *,
               replications: int | None = None, seed: int | None = None,
               out_dir: str | Path = "results", sweep_id: str | None = None,
               resume: bool = False) -> SweepPlan:
    """Check a sweep and find what is left to run; nothing is run or written.

    ``params`` are :class:`~servicesim.experiment.engine.Param` or ``"key=start:stop:step"`` /
    ``"key=a,b,c"`` strings.  Raises :class:`~servicesim.errors.ScenarioError` for a bad
    parameter (unknown key, empty range, a value the schema refuses) and
    :class:`SweepError` when the folder holds rows and ``resume`` is false, or holds
    another sweep.
    """
    parsed = tuple(parse_param(p) if isinstance(p, str) else p for p in params)
    for p in parsed:
        if not isinstance(p, Param):
            raise TypeError(f"params must be engine.Param or 'key=values' strings, got {p!r}")
    changes: dict[str, Any] = {}
    if replications is not None and replications != scenario.run.replications:
        changes["run.replications"] = replications
    if seed is not None and seed != scenario.run.seed:
        changes["run.seed"] = seed
    for key, value in changes.items():
        option = "--replications" if key == "run.replications" else "--seed"
        scenario = apply_params(scenario, {key: value}, option=option)
    check_disjoint(scenario, [p.key for p in parsed])
    items = tuple(alternatives(scenario, parsed))
    n, root = scenario.run.replications, scenario.run.seed
    sweep_id = _check_sweep_id(sweep_id) if sweep_id is not None else \
        default_sweep_id(scenario, parsed, n, root)
    try:
        directory = Path(out_dir) / safe_folder_name(scenario.name) / sweep_id
    except ValueError as exc:
        raise SweepError(str(exc)) from None
    plan = SweepPlan(scenario, parsed, items, n, root, sweep_id, directory, {})
    done, sessions = _earlier_run(plan, resume)
    # today's rows are this sweep's only when its manifest said so (checked just above)
    today = _earlier_today(plan) if resume and plan.folder.read_manifest() else {}
    return SweepPlan(scenario, parsed, items, n, root, sweep_id, directory, done,
                     tuple(sessions), resume, today)


def _earlier_today(plan: SweepPlan) -> dict[int, dict[str, Any]]:
    """The valid rows of today in the folder of a sweep that is resumed."""
    try:
        return read_today_rows(plan.directory, plan.seed, plan.replications,
                               today_columns(plan.scenario))
    except OutputError as exc:
        raise SweepError(str(exc)) from None


# ---------------------------------------------------------------------- earlier runs


def _differences(old: Any, new: Any, path: str = "", limit: int = 3) -> list[str]:
    """Up to ``limit`` dotted paths where two JSON documents differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        found: list[str] = []
        for key in list(old) + [k for k in new if k not in old]:
            if len(found) >= limit:
                break
            sub = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                found.append(sub)
            else:
                found += _differences(old[key], new[key], sub, limit - len(found))
        return found
    return [] if old == new else [path or "(whole)"]


def _earlier_run(plan: SweepPlan, resume: bool) -> tuple[dict[Key, dict[str, Any]],
                                                       list[dict[str, Any]]]:
    """The rows and sessions of an earlier run in the plan's folder, checked."""
    folder = plan.folder
    if not resume:
        if folder.has_rows():  # whichever sweep they belong to: never overwrite rows
            raise SweepError(
                f"{plan.directory} already holds runs of a sweep ({RUNS_FILE}); continue it "
                "with --resume (resume=True), or choose another --id or --out")
        return {}, []
    done = _read_runs(plan)
    manifest = folder.read_manifest()
    if manifest is None:
        if done:
            raise SweepError(f"{plan.directory} has {RUNS_FILE} but no {MANIFEST_FILE}, so "
                             "its rows cannot be checked against this sweep; choose another "
                             "--id or --out")
        return {}, []
    expected = plan.identity()
    found = {key: manifest.get(key) for key in expected} if manifest else {}
    if found != expected:
        what = []
        for key in expected:
            if found.get(key) != expected[key]:
                paths = _differences(found.get(key), expected[key])
                detail = f" ({', '.join(paths)})" if key == "scenario" and paths else ""
                what.append(f"{key}{detail}")
        raise SweepError(
            f"cannot resume {plan.directory}: it holds a different sweep (differs in "
            f"{'; '.join(what)}); run the same scenario, --param, --replications and --seed "
            "as before, or choose another --id")
    sessions = manifest.get("sessions")
    return done, [s for s in sessions if isinstance(s, dict)] if isinstance(sessions,
                                                                            list) else []


def _read_runs(plan: SweepPlan) -> dict[Key, dict[str, Any]]:
    """The valid rows of an existing ``runs.csv`` (a missing file has none).

    A row is kept only if it belongs to this plan and writes back to exactly the same
    cells; anything else (a torn or foreign line) is ignored and run again.
    """
    table = plan.folder.read_runs()
    if table is None:
        return {}
    if list(table.columns) != plan.columns:
        if not table.lines:
            return {}
        raise SweepError(f"{table.path} has other columns than this sweep's; choose another "
                         "--id or --out")
    rows: dict[Key, dict[str, Any]] = {}
    for cells in table.lines:
        row = _parse_row(list(cells), plan)
        if row is not None:
            rows.setdefault((row["alternative"], row["replication"]), row)
    return with_chart_records(rows, read_chart_records(plan.directory))


def _parse_row(cells: list[str], plan: SweepPlan) -> dict[str, Any] | None:
    columns = plan.columns
    if len(cells) != len(columns):
        return None
    try:
        alternative = int(cells[0])
        replication = int(cells[len(plan.params) + 1])
        seed = int(cells[len(plan.params) + 2])
        figures = [float(c) for c in cells[len(plan.params) + 3:]]
    except ValueError:
        return None
    if not (0 <= alternative < plan.n_alternatives and 0 <= replication < plan.replications
            and seed == plan.seed):
        return None
    row = {"alternative": alternative, **plan.items[alternative][0],
           "replication": replication, "seed": seed,
           **dict(zip(plan.figures, figures, strict=True))}
    return row if plan.row_cells(row) == cells else None


# ------------------------------------------------------------------------------- run


@contextmanager
def progress_bar(enabled: bool, total: int, initial: int, desc: str = "sweep"
                  ) -> Iterator[Callable[[], None]]:
    """A tqdm bar on stderr (with ETA) when enabled and stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield lambda: None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, initial=initial, unit="run", file=sys.stderr, smoothing=0.1,
               dynamic_ncols=True, desc=desc, leave=desc == "sweep")
    try:
        yield lambda: bar.update(1)
    finally:
        bar.close()


def _summary_rows(plan: SweepPlan, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean and confidence interval of each figure per alternative (probabilities clipped)."""
    by_alternative: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_alternative.setdefault(int(row["alternative"]), []).append(row)
    out = []
    for index, group in sorted(by_alternative.items()):
        assignment = plan.items[index][0]
        for key in plan.figures:
            ci = figure_interval(key, (float(r[key]) for r in group), CONFIDENCE_LEVEL)
            out.append({"alternative": index, **assignment, "figure": key,
                        **{stat: ci[stat] for stat in STATS}})
    return out


def _summary_csv(plan: SweepPlan, summary: Sequence[Mapping[str, Any]]) -> str:
    columns = ["alternative", *(p.key for p in plan.params), "figure", *STATS]
    return csv_line(columns) + "".join(csv_line([csv_cell(r.get(c)) for c in columns])
                                       for r in summary)


def _manifest(plan: SweepPlan, status: str, sessions: Sequence[Mapping[str, Any]],
              n_done: int) -> dict[str, Any]:
    first = sessions[0] if sessions else {}
    last = sessions[-1] if sessions else {}
    document = {
        "scenario_name": plan.scenario.name,
        "sweep_id": plan.sweep_id,
        "status": status,
        "started": first.get("started"),
        "ended": last.get("ended"),
        "command": last.get("command"),
        "servicesim_version": VERSION,
        "replications": plan.replications,
        "seed": plan.seed,
        "common_random_numbers": (
            f"every alternative uses the same {plan.replications} replication seeds: "
            "replication r runs with child r of numpy.random.SeedSequence(seed), so all "
            "alternatives meet the same customers, quantities and lead times"),
        "params": plan.identity()["params"],
        "n_alternatives": plan.n_alternatives,
        "n_simulations_planned": plan.n_planned,
        "n_simulations": n_done,
        "confidence_level": CONFIDENCE_LEVEL,
        "files": {"runs": RUNS_FILE, "summary": SUMMARY_FILE, "scenario": SCENARIO_FILE,
                  "today": TODAY_CSV, "today_summary": TODAY_JSON},
        "sessions": list(sessions),
        "scenario": plan.identity()["scenario"],
    }
    return document


def run_sweep(plan: SweepPlan, *, executor: Executor | None = None, workers: int | None = None,
              progress: bool = False, command: str | None = None) -> SweepResult:
    """Run what is left of ``plan`` and write its files; the whole sweep's result.

    ``executor`` may be any ``concurrent.futures.Executor`` (a process pool, a Dask
    ``Client.get_executor()``); without one, ``workers`` local processes run it (default
    all cores, ``1`` serially).  ``progress`` shows a bar on stderr when it is a terminal.
    Ctrl-C (and SIGTERM within :func:`~servicesim.experiment.executors.terminate_as_interrupt`)
    saves
    the finished rows, marks the sweep ``interrupted`` and raises :class:`SweepInterrupted`;
    any other failure (a worker that keeps dying:
    :class:`~servicesim.experiment.engine.WorkerDied`, a
    full disk: :class:`~servicesim.files.OutputError`) saves what it can, marks the sweep
    ``failed`` and is raised.  ``resume=True`` in :func:`plan_sweep` continues either.
    The folder is held for this sweep while it runs: another sweep, optimisation or
    comparison writing it meanwhile is refused
    (:class:`~servicesim.experiment.store.FolderLocked`), and so is this one if another
    run added rows since it was planned.
    """
    with plan.folder.lock():
        if _changed(plan):
            raise SweepError(f"{plan.directory} changed since this sweep was planned (another "
                             "run wrote to it); plan it again")
        return _run_held(plan, executor, workers, progress, command)


def _changed(plan: SweepPlan) -> bool:
    """Whether the folder's rows are no longer those the plan found."""
    if not plan.resume:
        return plan.folder.has_rows()
    return set(_read_runs(plan)) != set(plan.done)


def _run_held(plan: SweepPlan, executor: Executor | None, workers: int | None,
              progress: bool, command: str | None) -> SweepResult:
    """:func:`run_sweep` with the folder held."""
    folder = plan.folder
    session: dict[str, Any] = {"command": command, "started": _now(), "ended": None,
                               "status": RUNNING, "n_simulations": 0}
    sessions = [*plan.sessions, session]
    tasks = plan.pending()
    charts = ChartRecords(folder, keep=plan.resume)
    runs = RunsFile(folder.runs_path, plan.columns, plan.done, interval=_FLUSH_SECONDS,
                    before_write=charts.write)
    # today's rows go to today.csv, written only once it has rows
    today = RunsFile(plan.directory / TODAY_CSV, today_columns(plan.scenario),
                     {(TODAY, r): row for r, row in plan.today_done.items()},
                     interval=_FLUSH_SECONDS)
    folder.write_text(SCENARIO_FILE, dump_scenario(plan.scenario))
    runs.write()
    with suppress(FileNotFoundError):  # a summary of an earlier run is stale until the end
        (plan.directory / SUMMARY_FILE).unlink()
    remove_today(plan.directory, csv_too=not plan.today_done)
    folder.write_manifest(_manifest(plan, RUNNING, sessions, len(runs.rows)))

    def finish(status: str) -> None:
        """Save the rows, then the manifest with ``status`` — also when the rows could not
        be saved (a full disk), so that it never says ``running`` after the run ended."""
        try:
            runs.write()
            if today.rows:
                today.write()
        finally:
            session.update(status=status, ended=_now(),
                           n_simulations=runs.n_written - len(plan.done))
            folder.write_manifest(_manifest(plan, status, sessions, runs.n_written))

    total = plan.n_planned + plan.replications
    with progress_bar(progress, total, len(plan.done) + len(plan.today_done)) as advance:
        def on_row(row: dict[str, Any]) -> None:
            (today if row["alternative"] == TODAY else runs).add(row)
            advance()

        def on_chart(alternative: int, record: dict[str, Any]) -> None:
            if alternative != TODAY:  # the charts draw alternatives only
                charts.add(alternative, record)

        local = min(workers or os.cpu_count() or 1, max(len(tasks), 1))
        try:
            if executor is not None or local == 1:
                execute(tasks, executor, workers=1, on_row=on_row, on_chart=on_chart)
            else:
                with make_executor(workers=local) as (pool, _):
                    execute(tasks, pool, workers=1, on_row=on_row, on_chart=on_chart)
        except KeyboardInterrupt as exc:
            with ignoring_interrupts():  # a second Ctrl-C must not cut the saving short
                finish(INTERRUPTED)
            raise SweepInterrupted(plan.directory, len(runs.rows), plan.n_planned,
                                   signal_number(exc)) from None
        except BaseException:
            with suppress(OutputError):  # a full disk: the first error is the one to tell
                finish(FAILED)
            raise
    rows = [dict(runs.rows[k]) for k in sorted(runs.rows)]
    summary = _summary_rows(plan, rows)
    result = SweepResult(plan=plan, runs=rows, summary=summary,
                         n_simulations=len(rows) - len(plan.done))
    compared = _today(result, [dict(today.rows[k]) for k in sorted(today.rows)],
                      len(today.rows) - len(plan.today_done))
    # every run is done: a Ctrl-C or SIGTERM now would only leave the manifest "running",
    # so the last few milliseconds of writing are finished first
    with ignoring_interrupts():
        try:
            runs.write()  # every row safe before anything else is written
            write_today(folder, compared, today_columns(plan.scenario))
            today.dirty = False  # today.csv was just written whole
            folder.write_text(SUMMARY_FILE, _summary_csv(plan, summary))
            finish(COMPLETE)
        except OutputError:
            with suppress(OutputError):
                finish(FAILED)
            raise
    return replace(result, today=compared)


def _today(result: SweepResult, rows: list[dict[str, Any]], n_simulations: int,
           objective: str = "roi") -> Today:
    """Today's figures and the best alternative's paired difference from them."""
    plan = result.plan
    keys = [p.key for p in plan.params]
    try:
        best = result.best(objective)
    except ValueError:  # no alternative has a defined objective: nothing to compare
        return summarise_today(own_params(plan.scenario, keys), rows, None, [], objective,
                               n_simulations)
    best_rows = [r for r in result.runs if r["alternative"] == best["alternative"]]
    return summarise_today(own_params(plan.scenario, keys), rows, best["params"], best_rows,
                           objective, n_simulations)


def sweep(scenario: Scenario, params: Sequence[Param | str], *,
          replications: int | None = None, seed: int | None = None,
          executor: Executor | None = None, workers: int | None = None,
          out_dir: str | Path = "results", sweep_id: str | None = None, resume: bool = False,
          progress: bool = False, command: str | None = None) -> SweepResult:
    """Run every alternative of the ``params`` grid for the same replications; write files.

    ``replications`` and ``seed`` default to ``scenario.run``; results go to
    ``out_dir/<scenario name>/<sweep id>/`` (see the module docstring).  Raises
    :class:`~servicesim.errors.ScenarioError` for a bad parameter, :class:`SweepError` for a
    folder that cannot be used, :class:`SweepInterrupted` on Ctrl-C (rows kept).
    """
    plan = plan_sweep(scenario, params, replications=replications, seed=seed,
                      out_dir=out_dir, sweep_id=sweep_id, resume=resume)
    return run_sweep(plan, executor=executor, workers=workers, progress=progress,
                     command=command)


# ---------------------------------------------------------------------------- result


@dataclass(frozen=True)
class SweepResult:
    """The rows and per-alternative summary of a finished sweep, and where they are."""

    plan: SweepPlan = field(repr=False)
    runs: list[dict[str, Any]] = field(repr=False)
    """One row per alternative × replication (as in ``runs.csv``)."""
    summary: list[dict[str, Any]] = field(repr=False)
    """One row per alternative × figure: mean, ci_low, ci_high, std, n (as ``summary.csv``)."""
    n_simulations: int
    """Simulations of alternatives run by this call (fewer than the sweep's when it
    resumed); today's are counted in :attr:`today`."""
    today: Today | None = field(default=None, repr=False)
    """The scenario as given and the best alternative against it (``today.json``)."""

    @property
    def directory(self) -> Path:
        return self.plan.directory

    @property
    def sweep_id(self) -> str:
        return self.plan.sweep_id

    def intervals(self) -> dict[int, dict[str, dict[str, Any]]]:
        """``{alternative: {figure: {"mean", "ci_low", "ci_high", "std", "n"}}}``."""
        out: dict[int, dict[str, dict[str, Any]]] = {}
        for row in self.summary:
            out.setdefault(row["alternative"], {})[row["figure"]] = {s: row[s] for s in STATS}
        return out

    def best(self, objective: str = "roi") -> dict[str, Any]:
        """The alternative with the highest mean ``objective``: ``{"alternative", "params",
        "mean", "ci_low", "ci_high", "std", "n"}`` (the first one on a tie)."""
        if objective not in SUMMARY_KEYS:
            raise ValueError(f"unknown objective {objective!r}; one of {', '.join(SUMMARY_KEYS)}")
        candidates = [r for r in self.summary
                      if r["figure"] == objective and not math.isnan(r["mean"])]
        if not candidates:
            raise ValueError(f"no alternative has a defined mean {objective}")
        top = max(candidates, key=lambda r: (r["mean"], -r["alternative"]))
        return {"alternative": top["alternative"],
                "params": dict(self.plan.items[top["alternative"]][0]),
                **{s: top[s] for s in STATS}}

    def not_worse(self, objective: str = "roi", alpha: float = ALPHA) -> list[dict[str, Any]]:
        """The alternatives whose mean ``objective`` is not significantly below the best's
        (one-sided paired t-tests on common replications, Holm-corrected; DOMAIN §6), best
        included, as their ``{key: value}``."""
        best = self.best(objective)["alternative"]
        values: dict[int, list[float]] = {}
        for row in self.runs:
            values.setdefault(int(row["alternative"]), []).append(float(row[objective]))
        return [dict(self.plan.items[i][0]) for i in not_worse_ids(values, best, alpha)]

    def decision(self, alpha: float = ALPHA) -> str:
        """The decision in plain words: today, the best alternative by ROI, the difference,
        the alternatives not significantly below the best, and the simulations it took."""
        if self.today is None:
            return ""
        plan, today = self.plan, self.today
        n_today = len(today.runs)
        simulations = (f"{plan.n_planned + n_today:,} ({plan.n_alternatives:,} "
                       f"alternative{'s' if plan.n_alternatives != 1 else ''} × "
                       f"{plan.replications} replications, and {n_today} of today)")
        earlier = plan.n_planned + n_today - self.n_simulations - today.n_simulations
        if earlier:
            simulations += f"; {earlier:,} of them from an earlier run"
        not_worse = self.not_worse(today.objective, alpha) if today.best else []
        return "\n".join(decision_lines(
            today, [p.key for p in plan.params], plan.scenario.finance.currency, not_worse,
            [assignment for assignment, _ in plan.items], simulations, alpha))

    def to_frames(self) -> tuple[pandas.DataFrame, pandas.DataFrame]:
        """``(runs, summary)`` as pandas DataFrames (``pip install 'servicesim[pandas]'``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("SweepResult.to_frames needs pandas: "
                              "pip install 'servicesim[pandas]'") from None
        keys = [p.key for p in self.plan.params]
        runs = pd.DataFrame(self.runs, columns=self.plan.columns)
        summary = pd.DataFrame(self.summary,
                               columns=["alternative", *keys, "figure", *STATS])
        return runs, summary
