"""The simulations of a risk analysis and where they are kept (DOMAIN §11).

Each task simulates one replication of one alternative and returns, beside its figures, its
disruption events (:class:`~servicesim.model.results.DisruptionEvent`) and, for each event,
the trailing :data:`WINDOW_DAYS`-day item fill rate around its start (days
:data:`BEFORE_DAYS` before to :data:`AFTER_DAYS` after), computed in the worker from the
replication's daily series so that only a few numbers travel back.

A risk folder holds three tables of tidy rows, kept whole and rewritten atomically
(:class:`~servicesim.experiment.store.RunsFile`), ``events.csv`` and ``recovery.csv``
before ``runs.csv``, so that every run in ``runs.csv`` has its events' rows whenever the
process stops:

- ``runs.csv``: one row per (alternative, replication): its label and parameters, seed,
  number of events, how many recovered and their mean time to recover, every figure;
- ``events.csv``: one row per event: name, kind, start, end, recovered or not, the day it
  recovered, the fill rate before it and the time to recover;
- ``recovery.csv``: one row per event: the trailing fill rate on each day from
  ``-BEFORE_DAYS`` to ``+AFTER_DAYS`` of its start (empty where the day is outside the
  run or its window had no demand).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..files import OutputError
from ..model.simulation import simulate
from .engine import COLLECTOR, Task, location_cells
from .store import RunsFile, read_table

__all__ = ["AFTER_DAYS", "BEFORE_DAYS", "EVENTS_FILE", "EVENT_COLUMNS", "OFFSETS",
           "RECOVERY_FILE", "RiskFiles", "RiskRuns", "WINDOW_DAYS", "aligned_fill",
           "read_runs", "run_columns", "run_risk_task", "trailing_fill"]

EVENTS_FILE, RECOVERY_FILE = "events.csv", "recovery.csv"
BEFORE_DAYS, AFTER_DAYS, WINDOW_DAYS = 30, 90, 7
"""The recovery chart's window around each event's start, and the trailing window of the
fill rate (DOMAIN §11: trailing 7-day fill rate)."""
OFFSETS = tuple(range(-BEFORE_DAYS, AFTER_DAYS + 1))
EVENT_COLUMNS = ("name", "kind", "start_day", "end_day", "duration_days", "recovered",
                 "recovered_day", "before_fill_rate", "time_to_recover_days")
RUN_FIGURES = ("events", "recovered_events", "recovery_days_mean")
"""The columns of ``runs.csv`` beside the summary figures: events in the replication, how
many recovered by the horizon, the mean time to recover of those (days)."""
EVENTS, CURVES = "_events", "_curves"
"""Keys of a task's row that carry its events and their curves until they are split off."""


def trailing_fill(demanded: np.ndarray, short: np.ndarray, window: int = WINDOW_DAYS
                  ) -> np.ndarray:
    """The item fill rate over the ``window`` whole days ending with each day (fewer at the
    start of the run), 1 − units short ÷ units demanded; NaN where those days had no
    demand.  The same window as the recovery of an event
    (:class:`~servicesim.model.results.DisruptionEvent`)."""
    demanded = np.asarray(demanded, dtype=float)
    short = np.asarray(short, dtype=float)
    kernel = np.ones(window)
    total = np.convolve(demanded, kernel)[: demanded.size]
    lost = np.convolve(short, kernel)[: short.size]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 1.0 - lost / np.maximum(total, 1e-300), math.nan)


def aligned_fill(fill: np.ndarray, start_day: float) -> list[float]:
    """``fill`` (one value per whole day from day 0) on the days :data:`OFFSETS` from the
    day the event starts; NaN outside the series."""
    first = int(math.floor(start_day))
    days = np.asarray(OFFSETS) + first
    inside = (days >= 0) & (days < fill.size)
    out = np.full(days.size, math.nan)
    out[inside] = fill[days[inside]]
    return out.tolist()


def _event_row(event: Any) -> dict[str, Any]:
    recovered_day = getattr(event, "recovered_day", None)
    time_to_recover = getattr(event, "time_to_recover_days", None)
    return {"name": event.name, "kind": event.kind, "start_day": float(event.start_day),
            "end_day": float(event.end_day),
            "duration_days": float(event.end_day) - float(event.start_day),
            "recovered": recovered_day is not None,
            "recovered_day": None if recovered_day is None else float(recovered_day),
            "before_fill_rate": _number(getattr(event, "before_fill_rate", None)),
            "time_to_recover_days": None if time_to_recover is None
            else float(time_to_recover)}


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def run_risk_task(task: Task) -> dict[str, Any]:
    """Simulate one task with its daily series; its row of figures and, under
    :data:`EVENTS` and :data:`CURVES`, its events and their aligned trailing fill rates
    (a picklable function for process pools and Dask)."""
    started = time.process_time()
    result = simulate(task.scenario, task.seed, daily=True)
    COLLECTOR.after_run(time.process_time() - started)
    events = [_event_row(e) for e in result.disruptions]
    curves: list[list[float]] = []
    if events:
        daily = result.daily
        fill = trailing_fill(daily.units_demanded, daily.units_short)
        curves = [aligned_fill(fill, e["start_day"]) for e in events]
    times = [e["time_to_recover_days"] for e in events if e["time_to_recover_days"] is not None]
    return {"alternative": task.alternative, **dict(task.params),
            "replication": task.replication, "seed": task.root_seed,
            "events": len(events), "recovered_events": len(times),
            "recovery_days_mean": float(np.mean(times)) if times else None,
            **result.kpis, **location_cells(result), EVENTS: events, CURVES: curves}


@dataclass
class RiskRuns:
    """The finished runs of a risk analysis in memory, by (alternative, replication): the
    row of figures, the events and each event's aligned fill rate."""

    runs: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    events: dict[tuple[int, int], list[dict[str, Any]]] = field(default_factory=dict)
    curves: dict[tuple[int, int], list[list[float]]] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any], events: Sequence[Mapping[str, Any]],
            curves: Sequence[Sequence[float]]) -> None:
        key = (int(row["alternative"]), int(row["replication"]))
        self.runs[key] = dict(row)
        self.events[key] = [dict(e) for e in events]
        self.curves[key] = [list(c) for c in curves]

    def has(self, alternative: int, replication: int) -> bool:
        return (alternative, replication) in self.runs

    def figure(self, alternative: int, replications: int, name: str) -> list[float]:
        """One figure over the first ``replications`` of an alternative (NaN if missing)."""
        out = []
        for r in range(replications):
            value = self.runs[(alternative, r)].get(name)
            out.append(float(value) if isinstance(value, int | float) else math.nan)
        return out

    def all_events(self, alternative: int, replications: int
                   ) -> list[tuple[int, dict[str, Any], list[float]]]:
        """Every event of an alternative's first ``replications``: (replication, event,
        aligned fill rate)."""
        return [(r, event, curve) for r in range(replications)
                for event, curve in zip(self.events[(alternative, r)],
                                        self.curves[(alternative, r)], strict=True)]


def run_columns(params: Sequence[str], figures: Sequence[str]) -> list[str]:
    return ["alternative", "label", *params, "replication", "seed", *RUN_FIGURES, *figures]


def event_columns() -> list[str]:
    return ["alternative", "replication", "event", *EVENT_COLUMNS]


def recovery_columns() -> list[str]:
    return ["alternative", "replication", "event", *(str(d) for d in OFFSETS)]


class RiskFiles:
    """``runs.csv``, ``events.csv`` and ``recovery.csv`` of a risk folder, kept together."""

    def __init__(self, directory: Path, columns: Sequence[str], measured: RiskRuns) -> None:
        self.measured = measured
        self.event_file = RunsFile(directory / EVENTS_FILE, event_columns(),
                                   key=("alternative", "replication", "event"))
        self.curve_file = RunsFile(directory / RECOVERY_FILE, recovery_columns(),
                                   key=("alternative", "replication", "event"))
        for key in measured.runs:
            self._add_events(key, measured.events[key], measured.curves[key])
        self.run_file = RunsFile(directory / "runs.csv", columns, measured.runs,
                                 before_write=self._write_events)

    def _write_events(self) -> None:
        self.event_file.write()
        self.curve_file.write()

    def _add_events(self, key: tuple[int, int], events: Sequence[Mapping[str, Any]],
                    curves: Sequence[Sequence[float]]) -> None:
        head = {"alternative": key[0], "replication": key[1]}
        for number, (event, curve) in enumerate(zip(events, curves, strict=True)):
            self.event_file.add({**head, "event": number, **event}, write=False)
            self.curve_file.add({**head, "event": number,
                                 **{str(d): None if math.isnan(v) else v
                                    for d, v in zip(OFFSETS, curve, strict=True)}},
                                write=False)

    def add(self, row: dict[str, Any]) -> None:
        """Keep a finished run: its events' rows, then its own."""
        events, curves = row.pop(EVENTS), row.pop(CURVES)
        key = (int(row["alternative"]), int(row["replication"]))
        self._add_events(key, events, curves)
        self.measured.add(row, events, curves)
        self.run_file.add(row)

    def write(self) -> None:
        self.run_file.write()


def read_runs(directory: Path, columns: Sequence[str]) -> RiskRuns:
    """The whole runs of an earlier session in ``directory``: a run counts only with its
    row in ``runs.csv`` and as many rows in ``events.csv`` and ``recovery.csv`` as it had
    events."""
    measured = RiskRuns()
    runs = read_table(directory / "runs.csv")
    if runs is None:
        return measured
    if list(runs.columns) != list(columns):
        raise OutputError(f"{directory} holds runs of another kind (the columns of runs.csv "
                          "differ); choose another --id or --out")
    events = _by_run(directory / EVENTS_FILE, event_columns())
    curves = _by_run(directory / RECOVERY_FILE, recovery_columns())
    for row in runs.rows():
        alternative, replication = row.get("alternative"), row.get("replication")
        if type(alternative) is not int or type(replication) is not int:
            continue
        key = (alternative, replication)
        found, lines = events.get(key, {}), curves.get(key, {})
        count = row.get("events")
        if type(count) is not int or set(found) != set(range(count)) \
                or set(lines) != set(range(count)):
            continue
        measured.add(row, [_event_from(found[i]) for i in range(count)],
                     [[_float(lines[i].get(str(d))) for d in OFFSETS] for i in range(count)])
    return measured


def _by_run(path: Path, columns: Sequence[str]) -> dict[tuple[int, int], dict[int, dict]]:
    table = read_table(path)
    out: dict[tuple[int, int], dict[int, dict[str, Any]]] = {}
    if table is None:
        return out
    if list(table.columns) != list(columns):
        raise OutputError(f"{path} has other columns than a risk analysis writes; choose "
                          "another --id or --out")
    for row in table.rows():
        keys = (row.get("alternative"), row.get("replication"), row.get("event"))
        if all(type(k) is int for k in keys):
            out.setdefault((keys[0], keys[1]), {})[keys[2]] = row
    return out


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else math.nan


def _event_from(row: Mapping[str, Any]) -> dict[str, Any]:
    """An event's fields as :func:`run_risk_task` gives them, from its row of
    ``events.csv`` (a name that looks like a number is read back as text)."""
    event = {k: row.get(k) for k in EVENT_COLUMNS}
    event["name"], event["kind"] = str(event["name"]), str(event["kind"])
    for key in ("start_day", "end_day", "duration_days"):
        event[key] = _float(event[key])
    for key in ("recovered_day", "before_fill_rate", "time_to_recover_days"):
        event[key] = None if event[key] is None else _float(event[key])
    event["recovered"] = bool(event["recovered"])
    return event
