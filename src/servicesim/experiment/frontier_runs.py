"""The simulations of a frontier search and where they are kept (DOMAIN §12).

A frontier folder holds, beside the scenario and the manifest, two tables of tidy rows:

- ``runs.csv``: one row per (alternative, replication) of a whole-scenario simulation, its
  allocation's label, its phase (``search`` or ``confirm``), seed and every figure;
- ``item_runs.csv``: one row per (alternative, replication, stock point) with the figures
  the allocation needs per stock point (:data:`ITEM_FIGURES`).

Both are kept whole and rewritten atomically (:class:`~servicesim.experiment.store.RunsFile`),
``item_runs.csv`` before ``runs.csv``, so that every row of ``runs.csv`` has its stock
points' rows whenever the process stops: resume reads both back and runs only what is
missing.  What the alternatives are lives in ``allocations.json`` (alternative → label and
targets), written before they run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..files import OutputError, csv_cell, restored
from ..model.simulation import simulate
from ..scenario.schema import Scenario
from .engine import COLLECTOR, Task, execute, location_cells
from .frontier_items import Item, allocation_scenario
from .store import ResultsFolder, RunsFile, csv_line, figure_columns, read_table

ITEM_RUNS_FILE = "item_runs.csv"
ALLOCATIONS_FILE = "allocations.json"

ITEM_FIGURES = ("units_ordered", "units_first", "avg_inventory_value", "gross_margin",
                "holding_cost", "revenue", "avg_on_hand_units", "avg_backorder_units")
"""Per stock point: units demanded, units filled at once from stock (β × units demanded),
average inventory value at cost, gross margin, holding cost, revenue, and the time-average
units on hand and backordered (DOMAIN §3, §4)."""

ITEMS = "_items"
"""Key of a row's per-stock-point figures until they are split off into ``item_runs.csv``."""

RUN_PARAMS = ("allocation", "phase")
FIGURE_INDEX = {name: k for k, name in enumerate(ITEM_FIGURES)}
FILL = "item_fill_rate"
INVESTMENT = "avg_inventory_value"


class FrontierError(OutputError):
    """A frontier folder that cannot be used (it holds another run, say)."""


def item_row(figures: Mapping[str, float]) -> list[float]:
    """The :data:`ITEM_FIGURES` of one ``by_sku`` row (a stock point without demand has
    filled nothing)."""
    ordered = figures["units_ordered"]
    first = figures["item_fill_rate"] * ordered if ordered else 0.0
    return [ordered, first, figures["avg_inventory_value"], figures["gross_margin"],
            figures["holding_cost"], figures["revenue"], figures["avg_on_hand_units"],
            figures["avg_backorder_units"]]


def run_items_task(task: Task) -> dict[str, Any]:
    """Simulate one task; its row of figures and, under :data:`ITEMS`, every stock point's
    :data:`ITEM_FIGURES` (a picklable function for process pools and Dask)."""
    started = time.process_time()
    result = simulate(task.scenario, task.seed)
    COLLECTOR.after_run(time.process_time() - started)
    return {"alternative": task.alternative, **dict(task.params),
            "replication": task.replication, "seed": task.root_seed, **result.kpis,
            **location_cells(result),
            ITEMS: {key: item_row(row) for key, row in result.by_sku.items()}}


@dataclass
class Measured:
    """The rows of a frontier run in memory: whole-scenario figures by (alternative,
    replication), and every stock point's figures as one array per run (rows in
    ``points`` order, columns :data:`ITEM_FIGURES`)."""

    points: tuple[str, ...]
    runs: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    items: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any], items: Mapping[str, Sequence[float]]) -> None:
        key = (row["alternative"], row["replication"])
        self.runs[key] = dict(row)
        self.items[key] = np.array([items[p] for p in self.points], dtype=float)

    def has(self, alternative: int, replication: int) -> bool:
        return (alternative, replication) in self.runs

    def stack(self, alternative: int, replications: int) -> np.ndarray:
        """The stock points' figures of one alternative: shape (points, figures, reps)."""
        return np.stack([self.items[(alternative, r)] for r in range(replications)], axis=-1)

    def figure(self, alternative: int, replications: int, name: str) -> np.ndarray:
        """One whole-scenario figure over the replications of an alternative."""
        return np.array([float(self.runs[(alternative, r)][name])
                         for r in range(replications)])


class RunFiles:
    """``runs.csv`` and ``item_runs.csv`` of a frontier folder, kept together."""

    def __init__(self, directory: Path, scenario_columns: Sequence[str],
                 measured: Measured) -> None:
        self.measured = measured
        self.item_file = RunsFile(directory / ITEM_RUNS_FILE, item_columns(),
                                  key=("alternative", "replication", "stock_point"),
                                  keep_rows=False)
        # every stock point's name as one CSV cell, quoted where it must be
        self.names = {p: csv_line([csv_cell(p)]).rstrip("\n") for p in measured.points}
        for (alternative, replication), array in measured.items.items():
            self._add_items(alternative, replication, dict(zip(measured.points, array,
                                                               strict=True)))
        self.run_file = RunsFile(directory / "runs.csv", run_columns(scenario_columns),
                                 measured.runs, before_write=self.item_file.write)

    def add(self, row: dict[str, Any]) -> None:
        """Keep a finished run: its stock points' rows, then its own.  The stock points'
        lines are written here directly (the cells as :func:`~servicesim.files.csv_cell`
        writes them): a 1,000-SKU run has 1,000 of them, and cell by cell they cost a
        quarter of a simulation."""
        items = row.pop(ITEMS)
        self._add_items(row["alternative"], row["replication"], items)
        self.measured.add(row, items)
        self.run_file.add(row)

    def _add_items(self, alternative: int, replication: int,
                   items: Mapping[str, Sequence[float]]) -> None:
        head = f"{alternative},{replication},"
        for point in self.measured.points:
            self.item_file.add_line((alternative, replication, point),
                                    head + self.names[point] + ","
                                    + ",".join(map(repr, map(float, items[point]))) + "\n")

    def write(self) -> None:
        self.run_file.write()


def run_columns(figures: Sequence[str]) -> list[str]:
    return ["alternative", *RUN_PARAMS, "replication", "seed", *figures]


def item_columns() -> list[str]:
    return ["alternative", "replication", "stock_point", *ITEM_FIGURES]


def read_measured(directory: Path, points: Sequence[str], figures: Sequence[str]
                  ) -> Measured:
    """The whole runs of an earlier frontier run in ``directory``: a run counts only with
    its row in ``runs.csv`` and a row for every stock point in ``item_runs.csv``."""
    measured = Measured(tuple(points))
    runs = read_table(directory / "runs.csv")
    items = read_table(directory / ITEM_RUNS_FILE)
    if runs is None or items is None:
        return measured
    if list(runs.columns) != run_columns(figures) or list(items.columns) != item_columns():
        raise OutputError(f"{directory} holds runs of another kind (their columns differ); "
                          "choose another --id or --out")
    by_run: dict[tuple[int, int], dict[str, list[float]]] = {}
    for cells in items.lines:
        try:
            key = (int(cells[0]), int(cells[1]))
            name = restored(cells[2]) if cells[2].startswith("'") else cells[2]
            by_run.setdefault(key, {})[name] = [float(c) for c in cells[3:]]
        except (ValueError, IndexError):
            continue
    wanted = set(points)
    for row in runs.rows():
        alternative, replication = row.get("alternative"), row.get("replication")
        if type(alternative) is not int or type(replication) is not int:
            continue
        found = by_run.get((alternative, replication), {})
        if not wanted <= set(found) or any(len(found[p]) != len(ITEM_FIGURES)
                                           for p in wanted):
            continue
        measured.add(row, found)
    return measured


class Runner:
    """Runs the alternatives of a frontier search and keeps their rows (in a folder, or in
    memory without one)."""

    def __init__(self, scenario: Scenario, items: Sequence[Item], directory: Path | None,
                 measured: Measured) -> None:
        self.scenario, self.items = scenario, list(items)
        self.directory, self.measured = directory, measured
        self.executor: Executor | None = None
        self.advance: Callable[[], None] = lambda: None
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

        def on_row(row: dict[str, Any]) -> None:
            if self.files is not None:
                self.files.add(row)
            else:
                items = row.pop("_items")
                self.measured.add(row, items)
            self.simulations += 1
            self.advance()

        execute(tasks, self.executor, workers=1, on_row=on_row, run=run_items_task)
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
