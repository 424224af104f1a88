"""Risk analysis: many replications over random disruptions, the distribution of ROI and
service, and the time to recover (DOMAIN §11).

``risk(scenario, ["policy.service_target=0.95,0.99"])`` runs the scenario as it is and one
alternative per value of each ``--param`` (several make a full grid), every one on the same
replication seeds — replication *r* uses child *r* of ``SeedSequence(seed)`` — so all of
them meet the same disruptions, customers and lead times (common random numbers, DOMAIN §6)
and their differences are paired.  Per alternative it reports the distribution of ROI, the
item fill rate and defections over the replications (mean, median, 5th and 95th
percentiles with confidence intervals; the mean of the worst 5 % of ROI), the time to
recover of every disruption event, and against the first alternative the paired
differences of mean ROI, of its 5th percentile and of its worst-5 % mean
(:mod:`.risk_stats` says how each interval is made), ending with the answer in one
sentence.

Files go to ``<out_dir>/<scenario>/<run id>/``: ``runs.csv``, ``events.csv`` and
``recovery.csv`` (:mod:`.risk_runs`), ``risk.json`` (the summary), ``scenario.yaml`` and
``manifest.json``; the command adds the charts and the report.  ``resume=True`` continues
an interrupted run; a folder holding rows of another run is refused unless
``overwrite=True``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._version import VERSION
from ..errors import NOT_SET, Problem, ScenarioError
from ..files import OutputError, jsonable, safe_folder_name
from ..scenario.schema import Scenario
from ..scenario.serialise import dump_scenario
from .engine import Param, Task, alternatives, execute, parse_param
from .executors import ignoring_interrupts, pool_or_given, signal_number
from .params import apply_params
from .risk_runs import (
    AFTER_DAYS,
    BEFORE_DAYS,
    EVENTS_FILE,
    OFFSETS,
    RECOVERY_FILE,
    WINDOW_DAYS,
    RiskFiles,
    RiskRuns,
    read_runs,
    run_columns,
    run_risk_task,
)
from .risk_stats import (
    BOOTSTRAP_RESAMPLES,
    LEVEL,
    TAIL_SHARE,
    bootstrap_seed,
    distribution,
    paired_risk_difference,
    recovery_summary,
)
from .risk_text import decision_text, format_risk, method_text
from .seeds import replication_seeds
from .store import (
    COMPLETE,
    FAILED,
    INTERRUPTED,
    RUNNING,
    RUNS_FILE,
    SCENARIO_FILE,
    ResultsFolder,
    check_run_id,
    content_id,
    figure_columns,
    utc_now,
)
from .sweep import progress_bar

__all__ = ["DEFAULT_REPLICATIONS", "FIGURES", "MANIFEST", "RiskError", "RiskInterrupted",
           "RiskResult", "SUMMARY_FILE", "risk"]

DEFAULT_REPLICATIONS = 100
"""Replications per alternative by default: enough for a 5th percentile with a
distribution-free interval (its lower end needs at least 72)."""
FIGURES = ("roi", "item_fill_rate", "defections")
"""The figures whose distribution is reported (keys of :mod:`servicesim.kpis`)."""
MANIFEST, SUMMARY_FILE = "manifest.json", "risk.json"
TODAY_LABEL = "as is"
"""The label of the scenario as given, the first alternative."""


class RiskError(OutputError):
    """A risk folder that cannot be used (it holds another run, say)."""


class RiskInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a risk run; the finished runs are kept."""

    def __init__(self, directory: Path | None, done: int, signum: int) -> None:
        super().__init__(f"interrupted; {done} runs kept in {directory}")
        self.directory, self.done, self.signum = directory, done, signum


@dataclass(frozen=True)
class RiskResult:
    """A finished risk analysis: the summary (``risk.json``), the runs and events, and
    where the files are (DOMAIN §11)."""

    directory: Path | None
    summary: dict[str, Any] = field(repr=False)
    runs: list[dict[str, Any]] = field(repr=False)
    """One row per alternative × replication, as ``runs.csv``."""
    events: list[dict[str, Any]] = field(repr=False)
    """One row per event, as ``events.csv`` (with ``alternative`` and ``replication``)."""
    simulations: int
    """Simulations run in this session (a resumed run reuses the others)."""

    @property
    def decision(self) -> str:
        return str(self.summary["decision"])

    @property
    def labels(self) -> list[str]:
        return [a["label"] for a in self.summary["alternatives"]]

    def figure(self, label: str, key: str) -> dict[str, Any]:
        """The distribution of figure ``key`` for the alternative ``label``."""
        for alternative in self.summary["alternatives"]:
            if alternative["label"] == label:
                return dict(alternative["figures"][key])
        raise KeyError(f"no alternative {label!r}")

    def report(self) -> str:
        """The terminal tables: one per alternative, the differences, the decision last."""
        return format_risk(self.summary)


# --------------------------------------------------------------------------- inputs


def _params(params: Sequence[str | Param] | None) -> list[Param]:
    return [p if isinstance(p, Param) else parse_param(p, "--param") for p in params or ()]


def _label(assignment: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={_value(value)}" for key, value in assignment.items())


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _settings(scenario: Scenario, replications: int | None, seed: int | None
              ) -> tuple[int, int]:
    n = DEFAULT_REPLICATIONS if replications is None else replications
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 100_000:
        raise ScenarioError([Problem(
            "--replications", "", replications, "a risk analysis needs 2 to 100,000 "
            f"replications (default {DEFAULT_REPLICATIONS}; a 5th percentile's interval "
            "needs at least 72)")])
    root = scenario.run.seed if seed is None else seed
    if isinstance(root, bool) or not isinstance(root, int) or root < 0:
        raise ScenarioError([Problem("--seed", "", seed, "a seed is a whole number >= 0")])
    if not scenario.disruptions:
        raise ScenarioError([Problem(
            "disruptions", "", NOT_SET, "the scenario has no disruptions: a risk analysis "
            "runs replications over random disruptions; add a disruptions: block (see "
            "scenarios/disruption.yaml)")])
    return n, root


def _identity(scenario: Scenario, params: Sequence[Param], n: int, root: int
              ) -> dict[str, Any]:
    return {"kind": "risk", "scenario": json.loads(scenario.model_dump_json()),
            "params": [[p.key, list(p.values)] for p in params], "replications": n,
            "seed": root, "window": [BEFORE_DAYS, AFTER_DAYS, WINDOW_DAYS]}


def _jsonable_identity(identity: Mapping[str, Any]) -> Any:
    return json.loads(json.dumps(identity, sort_keys=True, default=str))


# --------------------------------------------------------------------------- running


def risk(scenario: Scenario, params: Sequence[str | Param] | None = None, *,
         replications: int | None = None, seed: int | None = None,
         executor: Executor | None = None, workers: int | None = None,
         out_dir: str | Path | None = "results", run_id: str | None = None,
         resume: bool = False, overwrite: bool = False, progress: bool = False,
         command: str | None = None) -> RiskResult:
    """Run a risk analysis of ``scenario`` (DOMAIN §11; this module's docstring).

    ``params``: ``KEY=VALUES`` texts (as ``sweep``'s ``--param``: ``a,b,c`` or
    ``start:stop:step``); each value is an alternative to the scenario as is, all under
    common random numbers.  ``replications`` per alternative (default
    :data:`DEFAULT_REPLICATIONS`), ``seed`` (default the scenario's).  Simulations run on
    ``executor`` or ``workers`` local processes (default all cores, ``1`` serially).  With
    ``out_dir`` the files go to ``out_dir/<scenario>/<run_id>/`` (default id ``risk-`` and
    a hash of what is run); ``resume`` continues a run there, ``overwrite`` replaces
    another one; otherwise a folder holding rows is refused (:class:`RiskError`).  Bad
    input raises :class:`ScenarioError`; Ctrl-C keeps the finished runs and raises
    :class:`RiskInterrupted`.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a servicesim.Scenario, got {scenario!r}")
    swept = _params(params)
    n, root = _settings(scenario, replications, seed)
    plan = _plan(scenario, swept, n, root)
    directory = None
    if out_dir is not None:
        name = run_id or content_id("risk", plan.identity)
        check_run_id(name, error=RiskError)
        directory = Path(out_dir) / safe_folder_name(scenario.name) / name
    with _folder(directory, plan.base, plan.identity, plan.columns, resume,
                 overwrite) as (measured, sessions):
        session = {"command": command, "started": utc_now(), "ended": None, "status": RUNNING}
        _manifest(directory, plan.identity, [*sessions, session], RUNNING, len(measured.runs))
        files = RiskFiles(directory, plan.columns, measured) if directory is not None else None
        done = [0]
        try:
            _simulate(plan, measured, files, executor, workers, progress, done)
        except KeyboardInterrupt as exc:
            with ignoring_interrupts():
                _finish(files, directory, plan.identity, sessions, session, INTERRUPTED,
                        measured, done[0])
            raise RiskInterrupted(directory, len(measured.runs), signal_number(exc)) \
                from None
        except BaseException:
            with suppress(OutputError):
                _finish(files, directory, plan.identity, sessions, session, FAILED, measured,
                        done[0])
            raise
        with ignoring_interrupts():
            if files is not None:
                files.write()
            summary = build_summary(plan.base, plan.items, plan.labels, n, root, measured)
            if directory is not None:
                ResultsFolder(directory, MANIFEST).write_text(
                    SUMMARY_FILE, json.dumps(jsonable(summary), indent=1, ensure_ascii=False,
                                             allow_nan=False) + "\n")
            _finish(None, directory, plan.identity, sessions, session, COMPLETE, measured,
                    done[0])
    runs = [measured.runs[k] for k in sorted(measured.runs)]
    events = [{"alternative": a, "replication": r, "event": i, **e}
              for (a, r) in sorted(measured.events) for i, e in
              enumerate(measured.events[(a, r)])]
    return RiskResult(directory, summary, runs, events, done[0])


@dataclass(frozen=True)
class _Plan:
    """What a risk analysis runs: the scenario as run, the alternatives and their labels,
    the swept keys, the columns of ``runs.csv`` and the identity of the run."""

    base: Scenario
    items: list[tuple[dict[str, Any], Scenario]]
    labels: list[str]
    keys: list[str]
    columns: list[str]
    identity: dict[str, Any]
    replications: int
    root: int


def _plan(scenario: Scenario, swept: Sequence[Param], n: int, root: int) -> _Plan:
    # the scenario as run: the replications and seed of the whole analysis written into it
    base = apply_params(scenario, {"run.replications": n, "run.seed": root}, option="risk")
    items: list[tuple[dict[str, Any], Scenario]] = [({}, base)]
    if swept:
        items += alternatives(base, swept)
    labels = [TODAY_LABEL] + [_label(a) for a, _ in items[1:]]
    keys = list(dict.fromkeys(p.key for p in swept))
    columns = run_columns(keys, list(dict.fromkeys(
        c for _, s in items for c in figure_columns(s))))
    return _Plan(base, items, labels, keys, columns, _identity(base, swept, n, root), n, root)


def _simulate(plan: _Plan, measured: RiskRuns, files: RiskFiles | None,
              executor: Executor | None, workers: int | None, progress: bool,
              done: list[int]) -> None:
    """Run the missing simulations, keeping each row as it comes (``done[0]`` counts
    them)."""
    tasks = _tasks(plan.items, plan.labels, plan.keys, plan.replications, plan.root,
                   measured)
    total = plan.replications * len(plan.items)

    def on_row(row: dict[str, Any]) -> None:
        if files is not None:
            files.add(row)
        else:
            measured.add(row, row.pop("_events"), row.pop("_curves"))
        done[0] += 1
        advance()

    with pool_or_given(executor, workers, len(tasks)) as pool, \
            progress_bar(progress, total, total - len(tasks), desc="risk") as advance:
        execute(tasks, pool, workers=1, on_row=on_row, run=run_risk_task)


def _tasks(items: Sequence[tuple[Mapping[str, Any], Scenario]], labels: Sequence[str],
           keys: Sequence[str], n: int, root: int, measured: RiskRuns) -> list[Task]:
    """The simulations still missing: replication *r* of every alternative on child *r*
    of the root seed."""
    seeds = replication_seeds(root, n)
    tasks = []
    for number, ((assignment, scenario), label) in enumerate(zip(items, labels, strict=True)):
        params = (("label", label), *((k, assignment.get(k)) for k in keys))
        tasks += [Task(number, params, r, root, seeds[r], scenario)
                  for r in range(n) if not measured.has(number, r)]
    return tasks


@contextmanager
def _folder(directory: Path | None, scenario: Scenario, identity: Mapping[str, Any],
            columns: Sequence[str], resume: bool, overwrite: bool
            ) -> Iterator[tuple[RiskRuns, list[dict[str, Any]]]]:
    """The folder held for this run (locked), with the runs of an earlier session of the
    same run (``resume``) and its sessions."""
    if directory is None:
        yield RiskRuns(), []
        return
    folder = ResultsFolder(directory, MANIFEST, RiskError)
    directory.mkdir(parents=True, exist_ok=True)
    with folder.lock():
        manifest = folder.read_manifest()
        same = manifest is not None and manifest.get("identity") == _jsonable_identity(identity)
        if overwrite:
            _clear(directory)
            manifest, same = None, False
        elif folder.has_rows() and not resume:
            raise RiskError(f"{directory} already holds runs (runs.csv); continue them with "
                            "--resume, replace them with --overwrite, or choose another --id "
                            "or --out")
        elif resume and folder.has_rows() and not same:
            raise RiskError(f"cannot resume {directory}: it holds a different run (its "
                            "scenario, --param, --replications or --seed differ); run the "
                            "same command as before, replace it with --overwrite, or choose "
                            "another --id")
        sessions = [s for s in (manifest or {}).get("sessions", []) if isinstance(s, dict)] \
            if resume else []
        folder.write_text(SCENARIO_FILE, dump_scenario(scenario))
        try:
            measured = read_runs(directory, columns) if resume else RiskRuns()
        except OutputError as exc:
            raise RiskError(str(exc)) from None
        yield measured, sessions


def _clear(directory: Path) -> None:
    """Remove what an earlier run wrote, so that nothing of it outlives its replacement."""
    for name in (RUNS_FILE, EVENTS_FILE, RECOVERY_FILE, SUMMARY_FILE, MANIFEST,
                 "report.html", "report.xlsx"):
        try:
            (directory / name).unlink(missing_ok=True)
        except OSError as exc:
            raise RiskError(f"cannot remove {directory / name}: {exc.strerror or exc}") \
                from None


def _manifest(directory: Path | None, identity: Mapping[str, Any],
              sessions: Sequence[Mapping[str, Any]], status: str, runs: int) -> None:
    if directory is None:
        return
    ResultsFolder(directory, MANIFEST).write_manifest({
        "kind": "risk", "version": VERSION, "status": status,
        "identity": _jsonable_identity(identity), "runs": runs, "sessions": list(sessions),
        "files": {"runs": RUNS_FILE, "events": EVENTS_FILE, "recovery": RECOVERY_FILE,
                  "summary": SUMMARY_FILE}})


def _finish(files: RiskFiles | None, directory: Path | None, identity: Mapping[str, Any],
            sessions: list[dict[str, Any]], session: dict[str, Any], status: str,
            measured: RiskRuns, simulations: int) -> None:
    try:
        if files is not None:
            files.write()
    finally:
        session.update(status=status, ended=utc_now(), simulations=simulations)
        _manifest(directory, identity, [*sessions, session], status, len(measured.runs))


# --------------------------------------------------------------------------- summary


def _curve(events: Sequence[tuple[int, dict[str, Any], list[float]]]) -> dict[str, Any]:
    """The trailing fill rate around the events' starts: per day from the start, the mean
    and the 5th and 95th percentiles over the events with a value that day."""
    if not events:
        return {"offsets": list(OFFSETS), "mean": [], "p5": [], "p95": [], "count": [],
                "events": 0}
    values = np.array([curve for _, _, curve in events], dtype=float)
    count = (~np.isnan(values)).sum(axis=0)
    with np.errstate(all="ignore"), _quiet():
        mean = np.nanmean(values, axis=0)
        low = np.nanquantile(values, 0.05, axis=0)
        high = np.nanquantile(values, 0.95, axis=0)
    return {"offsets": list(OFFSETS), "mean": mean.tolist(), "p5": low.tolist(),
            "p95": high.tolist(), "count": count.tolist(), "events": len(events)}


@contextmanager
def _quiet() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _events_summary(events: Sequence[tuple[int, dict[str, Any], list[float]]], n: int
                    ) -> dict[str, Any]:
    """Recovery, events per replication, mean duration and the curve of some events."""
    durations = [e["duration_days"] for _, e, _ in events]
    return {"recovery": recovery_summary([e["time_to_recover_days"] for _, e, _ in events]),
            "events_per_replication": len(events) / n,
            "mean_duration_days": float(np.mean(durations)) if durations else math.nan,
            "curve": _curve(events)}


def _alternative(number: int, label: str, assignment: Mapping[str, Any], n: int, root: int,
                 measured: RiskRuns) -> dict[str, Any]:
    events = measured.all_events(number, n)
    before = [e["before_fill_rate"] for _, e, _ in events if e["before_fill_rate"] is not None]
    kinds = sorted({e["kind"] for _, e, _ in events})
    return {
        "label": label, "params": dict(assignment),
        "figures": {key: distribution(measured.figure(number, n, key), seed=root,
                                      worst_tail=key == "roi") for key in FIGURES},
        **_events_summary(events, n),
        "events_by_kind": {k: sum(e["kind"] == k for _, e, _ in events) for k in kinds},
        "mean_before_fill_rate": float(np.mean(before)) if before else math.nan,
        "by_kind": {k: _events_summary([x for x in events if x[1]["kind"] == k], n)
                    for k in kinds},
    }


def build_summary(scenario: Scenario, items: Sequence[tuple[Mapping[str, Any], Scenario]],
                  labels: Sequence[str], n: int, root: int, measured: RiskRuns
                  ) -> dict[str, Any]:
    """What ``risk.json`` holds: the settings, every alternative's distributions and
    recovery, the paired differences to the first and the decision."""
    rows = [_alternative(i, label, a, n, root, measured)
            for i, ((a, _), label) in enumerate(zip(items, labels, strict=True))]
    reference = measured.figure(0, n, "roi")
    differences = [{"label": labels[i], "against": labels[0],
                    "roi": paired_risk_difference(reference, measured.figure(i, n, "roi"),
                                                  seed=root)}
                   for i in range(1, len(items))]
    summary = {
        "kind": "risk", "scenario": scenario.name, "currency": scenario.finance.currency,
        "replications": n, "seed": root, "bootstrap_seed": bootstrap_seed(root),
        "bootstrap_resamples": BOOTSTRAP_RESAMPLES, "confidence_level": LEVEL,
        "tail_share": TAIL_SHARE, "horizon_days": scenario.run.horizon_days,
        "warmup_days": scenario.run.warmup_days,
        "window": {"before_days": BEFORE_DAYS, "after_days": AFTER_DAYS,
                   "trailing_days": WINDOW_DAYS},
        "disruptions": sorted(scenario.disruptions),
        "figures": list(FIGURES), "alternatives": rows, "differences": differences,
        "simulations": n * len(items),
    }
    summary["decision"] = decision_text(summary)
    summary["method"] = method_text(summary)
    return summary

